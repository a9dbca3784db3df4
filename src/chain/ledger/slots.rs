//! A destination chain's nonce slots: the permanent record of which messages
//! were minted or cancelled here (a message's attestation never expires, so
//! neither may its slot). Two bits per message, by source chain and nonce:
//! each source hands its nonces out densely from zero, so the tables have
//! few holes (the messages that source sent elsewhere), and a run of two
//! million settlements over four chains keeps them in under 2 MB.

use crate::chain::receipt::{Revert, SlotState};
use crate::chain::types::MessageId;

/// Slots per byte.
const PER_BYTE: usize = 4;

/// The slots of every message from every source chain.
pub(super) struct Slots {
    by_source: Vec<Vec<u8>>,
}

fn code(state: SlotState) -> u8 {
    match state {
        SlotState::Unused => 0,
        SlotState::Minted => 1,
        SlotState::Cancelled => 2,
    }
}

fn state_of(code: u8) -> SlotState {
    match code {
        0 => SlotState::Unused,
        1 => SlotState::Minted,
        2 => SlotState::Cancelled,
        _ => unreachable!("no slot state has code {code}"),
    }
}

/// The byte and the bit offset of slot `at`.
fn place(at: usize) -> (usize, u32) {
    (at / PER_BYTE, 2 * (at % PER_BYTE) as u32)
}

impl Slots {
    /// All slots unused, for messages from `domains` chains.
    pub fn new(domains: u32) -> Slots {
        Slots {
            by_source: vec![Vec::new(); domains as usize],
        }
    }

    /// The state of `id`'s slot.
    pub fn state(&self, id: MessageId) -> SlotState {
        let Some((slots, at)) = self
            .by_source
            .get(id.source.index())
            .zip(usize::try_from(id.nonce.0).ok())
        else {
            return SlotState::Unused;
        };
        let (byte, shift) = place(at);
        slots
            .get(byte)
            .map_or(SlotState::Unused, |b| state_of(b >> shift & 0b11))
    }

    /// Flips `id`'s slot from unused to `state`, or says why not.
    pub fn take(&mut self, id: MessageId, state: SlotState) -> Result<(), Revert> {
        if self.state(id) != SlotState::Unused {
            return Err(Revert::NonceAlreadyUsed);
        }
        let slots = self
            .by_source
            .get_mut(id.source.index())
            .ok_or(Revert::WrongDomain)?;
        let at = usize::try_from(id.nonce.0).map_err(|_| Revert::WrongDomain)?;
        let (byte, shift) = place(at);
        if slots.len() <= byte {
            slots.resize(byte + 1, 0);
        }
        slots[byte] |= code(state) << shift;
        Ok(())
    }

    /// Makes `id`'s slot unused again (a reorg undid what took it).
    pub fn clear(&mut self, id: MessageId) {
        let at = usize::try_from(id.nonce.0).expect("a taken slot's nonce fits");
        let (byte, shift) = place(at);
        self.by_source[id.source.index()][byte] &= !(0b11 << shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::types::{Domain, Nonce};

    fn id(source: u32, nonce: u64) -> MessageId {
        MessageId {
            source: Domain(source),
            nonce: Nonce(nonce),
        }
    }

    #[test]
    fn each_slot_holds_its_own_state_beside_its_neighbours() {
        // Proves slots packed into one byte do not disturb each other:
        // taking, refusing a second take, and clearing one leaves the rest.
        let mut slots = Slots::new(2);
        assert_eq!(slots.take(id(0, 5), SlotState::Minted), Ok(()));
        assert_eq!(slots.take(id(0, 6), SlotState::Cancelled), Ok(()));
        assert_eq!(slots.take(id(1, 5), SlotState::Cancelled), Ok(()));
        assert_eq!(
            slots.take(id(0, 5), SlotState::Cancelled),
            Err(Revert::NonceAlreadyUsed)
        );
        assert_eq!(slots.state(id(0, 4)), SlotState::Unused);
        assert_eq!(slots.state(id(0, 5)), SlotState::Minted);
        assert_eq!(slots.state(id(0, 6)), SlotState::Cancelled);
        assert_eq!(slots.state(id(0, 7)), SlotState::Unused);
        assert_eq!(slots.state(id(0, 900)), SlotState::Unused);
        slots.clear(id(0, 5));
        assert_eq!(slots.state(id(0, 5)), SlotState::Unused);
        assert_eq!(slots.state(id(0, 6)), SlotState::Cancelled);
        assert_eq!(slots.state(id(1, 5)), SlotState::Cancelled);
        assert_eq!(
            slots.take(id(7, 0), SlotState::Minted),
            Err(Revert::WrongDomain)
        );
    }
}
