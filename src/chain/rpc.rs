//! What crosses the network to and from a chain: the RPC of a node provider.
//! Every request can time out with an ambiguous outcome (the network decides),
//! so every request is safe to repeat.

use super::receipt::{ChainClock, Receipt, SlotState, Submitted};
use super::types::{MessageId, Tx, TxHash};
use crate::sim::RequestId;
use serde::{Deserialize, Serialize};

/// A call to a chain's RPC endpoint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "call", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChainRequest {
    /// eth_sendRawTransaction: broadcast a signed transaction.
    Submit {
        /// Correlation id.
        req: RequestId,
        /// The signed transaction.
        tx: Tx,
    },
    /// eth_getTransactionReceipt, with confirmations.
    Receipt {
        /// Correlation id.
        req: RequestId,
        /// Which transaction.
        hash: TxHash,
    },
    /// Read a destination nonce slot (usedNonces).
    Slot {
        /// Correlation id.
        req: RequestId,
        /// Which message.
        id: MessageId,
    },
}

/// A chain's answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChainReply {
    /// The broadcast's result.
    Submitted {
        /// Correlation id.
        req: RequestId,
        /// What the mempool did with it.
        result: Submitted,
        /// The chain's clock when it answered.
        clock: ChainClock,
    },
    /// A receipt, or `None` if the chain does not have the transaction
    /// (never seen, dropped, or forgotten: `clock` tells which, with the
    /// transaction's validity, see [`crate::chain::Lookup`]).
    Receipt {
        /// Correlation id.
        req: RequestId,
        /// What happened, if anything.
        receipt: Option<Receipt>,
        /// The chain's clock when it answered.
        clock: ChainClock,
    },
    /// A nonce slot's state.
    Slot {
        /// Correlation id.
        req: RequestId,
        /// Which message.
        id: MessageId,
        /// Its state.
        state: SlotState,
        /// Whether that state can still be undone by a reorg.
        is_final: bool,
    },
    /// The chain is halted: the call did nothing.
    Unavailable {
        /// Correlation id.
        req: RequestId,
    },
}

/// A chain's own timers, and the faults the environment throws at it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChainTimer {
    /// Time to seal the next block.
    Block,
    /// A planned fault strikes.
    Fault(ChainFault),
    /// A halt ends.
    Resume,
    /// A mint pause ends.
    Unpause,
}

/// A fault of a chain itself (not of the network to it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChainFault {
    /// No blocks and no RPC for a while.
    Halt {
        /// How long.
        duration_us: u64,
    },
    /// The newest `depth` non-final blocks are replaced.
    Reorg {
        /// How many blocks (at most the non-final ones).
        depth: u64,
    },
    /// Mints revert (temporarily) for a while.
    MintPause {
        /// How long.
        duration_us: u64,
    },
}
