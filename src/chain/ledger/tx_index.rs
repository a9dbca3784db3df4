//! How the transaction index keeps a transaction's state: in eight bytes,
//! since it holds every transaction of the chain's history. A burn's
//! message is kept once, in the ledger's burns (by nonce); the index keeps
//! only the nonce, and a receipt puts the message back.

use super::burns::Burns;
use crate::chain::receipt::{Outcome, Revert, TxState};
use crate::chain::types::Nonce;

/// A transaction's state in the index, packed: the block's height in the
/// high half (zero while in the mempool: blocks start at one), the outcome
/// in the low half as a tag in the low three bits and, above it, a burn's
/// nonce or a revert's code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Indexed(u64);

const BURNED: u32 = 0;
const MINTED: u32 = 1;
const CANCELLED: u32 = 2;
const REFUNDED: u32 = 3;
const REVERTED: u32 = 4;
const TAG_BITS: u32 = 3;

impl Indexed {
    /// In the mempool.
    pub const PENDING: Indexed = Indexed(0);

    /// In block `height`, having done `outcome`.
    pub fn included(height: u64, outcome: Outcome) -> Indexed {
        let height = u32::try_from(height).expect("more than 2^32 blocks");
        assert!(height > 0, "blocks start at height one");
        let (tag, payload) = match outcome {
            Outcome::Burned(message) => {
                let nonce = u32::try_from(message.id.nonce.0)
                    .ok()
                    .filter(|n| n >> (32 - TAG_BITS) == 0)
                    .expect("more than 2^29 burns on one chain");
                (BURNED, nonce)
            }
            Outcome::Minted => (MINTED, 0),
            Outcome::Cancelled => (CANCELLED, 0),
            Outcome::Refunded => (REFUNDED, 0),
            Outcome::Reverted(revert) => (REVERTED, u32::from(revert.code())),
        };
        Indexed(u64::from(height) << 32 | u64::from(payload << TAG_BITS | tag))
    }

    /// The full state, a burn's message taken from `burns`; `None` if the
    /// burn was forgotten (its transaction is past the chain's history, and
    /// its index entry is only waiting its turn to go).
    pub fn expand(self, burns: &Burns) -> Option<TxState> {
        let height = self.0 >> 32;
        if height == 0 {
            return Some(TxState::Pending);
        }
        let low = self.0 as u32;
        let payload = low >> TAG_BITS;
        let outcome = match low & ((1 << TAG_BITS) - 1) {
            BURNED => Outcome::Burned(burns.get(Nonce(u64::from(payload)))?),
            MINTED => Outcome::Minted,
            CANCELLED => Outcome::Cancelled,
            REFUNDED => Outcome::Refunded,
            REVERTED => Outcome::Reverted(
                u8::try_from(payload)
                    .ok()
                    .and_then(Revert::from_code)
                    .expect("a stored revert code"),
            ),
            tag => unreachable!("no outcome has tag {tag}"),
        };
        Some(TxState::Included { height, outcome })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::types::{Address, Amount, BurnMessage, Domain, MessageId};
    use crate::sim::Micros;

    #[test]
    fn every_outcome_comes_back_as_it_went_in() {
        // Proves the packing loses nothing: each outcome, at small and large
        // heights and nonces, expands to what was stored.
        let mut burns = Burns::new(Domain(0));
        let message = |nonce| BurnMessage {
            id: MessageId {
                source: Domain(0),
                nonce: Nonce(nonce),
            },
            dest: Domain(1),
            sender: Address(2),
            recipient: Address(3),
            amount: Amount(4),
            memo: 5,
        };
        for nonce in 0..3 {
            burns.push(message(nonce), Micros(9));
        }
        let mut outcomes = vec![
            Outcome::Burned(message(0)),
            Outcome::Burned(message(2)),
            Outcome::Minted,
            Outcome::Cancelled,
            Outcome::Refunded,
        ];
        outcomes.extend(Revert::ALL.map(Outcome::Reverted));
        for height in [1, 2, u64::from(u32::MAX)] {
            for &outcome in &outcomes {
                let state = Indexed::included(height, outcome).expand(&burns);
                assert_eq!(state, Some(TxState::Included { height, outcome }));
            }
        }
        assert_eq!(Indexed::PENDING.expand(&burns), Some(TxState::Pending));
        burns.forget_before(Micros(10));
        let forgotten = Indexed::included(1, Outcome::Burned(message(0)));
        assert_eq!(forgotten.expand(&burns), None);
    }
}
