//! A destination chain's nonce slots: the permanent record of which messages
//! were minted or cancelled here. One byte per message, by source chain and
//! nonce: each source hands its nonces out densely from zero, so the tables
//! have few holes (the messages that source sent elsewhere).

use crate::chain::receipt::{Revert, SlotState};
use crate::chain::types::MessageId;

/// The slots of every message from every source chain.
pub(super) struct Slots {
    by_source: Vec<Vec<SlotState>>,
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
        self.by_source
            .get(id.source.index())
            .zip(usize::try_from(id.nonce.0).ok())
            .and_then(|(slots, at)| slots.get(at).copied())
            .unwrap_or(SlotState::Unused)
    }

    /// Flips `id`'s slot from unused to `state`, or says why not.
    pub fn take(&mut self, id: MessageId, state: SlotState) -> Result<(), Revert> {
        let slots = self
            .by_source
            .get_mut(id.source.index())
            .ok_or(Revert::WrongDomain)?;
        let at = usize::try_from(id.nonce.0).map_err(|_| Revert::WrongDomain)?;
        if slots.len() <= at {
            slots.resize(at + 1, SlotState::Unused);
        }
        if slots[at] != SlotState::Unused {
            return Err(Revert::NonceAlreadyUsed);
        }
        slots[at] = state;
        Ok(())
    }

    /// Makes `id`'s slot unused again (a reorg undid what took it).
    pub fn clear(&mut self, id: MessageId) {
        let at = usize::try_from(id.nonce.0).expect("a taken slot's nonce fits");
        self.by_source[id.source.index()][at] = SlotState::Unused;
    }
}
