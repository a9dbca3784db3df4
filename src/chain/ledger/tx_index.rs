//! How the transaction index keeps a transaction's state: compactly, since
//! it holds every transaction the chain has seen. A burn's message is kept
//! once, in the ledger's burns (by nonce); the index keeps only the nonce, and
//! a receipt puts the message back.

use crate::chain::receipt::{Outcome, Revert, TxState};
use crate::chain::types::{BurnMessage, Nonce};

/// A transaction's state in the index.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Indexed {
    /// In the mempool.
    Pending,
    /// In block `height`, with what it did.
    Included {
        /// The block.
        height: u64,
        /// What it did.
        outcome: Kept,
    },
}

/// What an included transaction did, with a burn's message by its nonce.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kept {
    Burned(Nonce),
    Minted,
    Cancelled,
    Refunded,
    Reverted(Revert),
}

impl Kept {
    /// The compact form of `outcome`.
    pub fn of(outcome: Outcome) -> Kept {
        match outcome {
            Outcome::Burned(message) => Kept::Burned(message.id.nonce),
            Outcome::Minted => Kept::Minted,
            Outcome::Cancelled => Kept::Cancelled,
            Outcome::Refunded => Kept::Refunded,
            Outcome::Reverted(revert) => Kept::Reverted(revert),
        }
    }
}

impl Indexed {
    /// The full state, a burn's message taken from `burns` (an included burn
    /// is there until a reorg undoes it, which makes it pending again).
    pub fn expand(self, burns: &[BurnMessage]) -> TxState {
        let Indexed::Included { height, outcome } = self else {
            return TxState::Pending;
        };
        let outcome = match outcome {
            Kept::Burned(nonce) => Outcome::Burned(burns[nonce.0 as usize]),
            Kept::Minted => Outcome::Minted,
            Kept::Cancelled => Outcome::Cancelled,
            Kept::Refunded => Outcome::Refunded,
            Kept::Reverted(revert) => Outcome::Reverted(revert),
        };
        TxState::Included { height, outcome }
    }
}
