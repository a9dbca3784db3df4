//! What a chain answers about transactions and nonce slots, and the ground
//! truth it reports to the checkers.

use super::types::{BurnMessage, TxHash};
use crate::sim::Micros;
use serde::{Deserialize, Serialize};

/// Why an included transaction did nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revert {
    /// The burn was above the per-message limit, or zero.
    OverLimit,
    /// The sender had too little USDC.
    InsufficientBalance,
    /// The message's nonce slot was already used: someone else already won.
    NonceAlreadyUsed,
    /// The attestation (or cancel proof) did not verify.
    BadAttestation,
    /// The transaction named the wrong chain.
    WrongDomain,
    /// The recipient may not receive USDC here: permanent.
    RecipientDenied,
    /// Minting is paused on this chain for now: temporary.
    MintPaused,
    /// The burn was already refunded, or never happened here.
    NotRefundable,
    /// The burn is older than the chain's history: a refund can no longer be
    /// checked against it.
    BeyondHistory,
}

impl Revert {
    /// Every revert, in a fixed order: a revert's place here is its code
    /// wherever one is stored compactly.
    pub const ALL: [Revert; 9] = [
        Revert::OverLimit,
        Revert::InsufficientBalance,
        Revert::NonceAlreadyUsed,
        Revert::BadAttestation,
        Revert::WrongDomain,
        Revert::RecipientDenied,
        Revert::MintPaused,
        Revert::NotRefundable,
        Revert::BeyondHistory,
    ];

    /// This revert's place in [`Revert::ALL`].
    pub fn code(self) -> u8 {
        Revert::ALL
            .iter()
            .position(|r| *r == self)
            .expect("every revert is listed") as u8
    }

    /// The revert with place `code` in [`Revert::ALL`].
    pub fn from_code(code: u8) -> Option<Revert> {
        Revert::ALL.get(usize::from(code)).copied()
    }

    /// True if retrying the same mint can never succeed.
    pub fn is_permanent_for_mint(self) -> bool {
        matches!(
            self,
            Revert::RecipientDenied | Revert::WrongDomain | Revert::BadAttestation
        )
    }
}

/// What an included transaction did.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A burn succeeded and emitted this message.
    Burned(BurnMessage),
    /// A mint succeeded.
    Minted,
    /// A cancel flipped the slot to Cancelled.
    Cancelled,
    /// A refund gave the amount back.
    Refunded,
    /// The transaction reverted.
    Reverted(Revert),
}

/// Where a transaction is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// In the mempool, not yet in a block.
    Pending,
    /// In a block at `height`.
    Included {
        /// The block.
        height: u64,
        /// What it did.
        outcome: Outcome,
    },
}

/// The answer to "what happened to transaction H?".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction.
    pub hash: TxHash,
    /// Where it is.
    pub state: TxState,
    /// True once it can no longer be undone.
    pub is_final: bool,
    /// Roughly how long until it is final (zero once final).
    pub final_in_us: Micros,
}

/// The state of a destination nonce slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    /// Nothing happened to this message here.
    Unused,
    /// The message was minted here.
    Minted,
    /// The message was cancelled here: it can never be minted.
    Cancelled,
}

/// The answer to a broadcast.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submitted {
    /// New: now in the mempool.
    Accepted,
    /// Already known (pending or included): the re-broadcast was harmless.
    Known,
    /// The mempool is full; try again later.
    MempoolFull,
    /// Not here, and its time has passed: it never was included and never
    /// will be. A new transaction may take its place.
    Expired,
    /// Not here, and its time passed longer ago than the chain's history
    /// reaches: whether it was included can no longer be told from its hash.
    Forgotten,
}

/// The chain's clock as every broadcast and receipt answer carries it: what
/// a caller needs to tell "not yet seen" from "never will be" from
/// "forgotten", and to sign by the chain's time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ChainClock {
    /// The chain's time now: no block from now on is stamped earlier.
    pub now: Micros,
    /// Transactions valid until before this time are forgotten, included or
    /// not: the chain answers for them no more.
    pub forgotten_before: Micros,
}

/// What a receipt answer means for one transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lookup {
    /// The chain has it: here is where.
    Found(Receipt),
    /// Not seen, and it may still be included: broadcast it again.
    Unknown,
    /// Not seen, and it never will be: a new transaction may replace it.
    Expired,
    /// Its fate is beyond the chain's history.
    Forgotten,
}

impl Lookup {
    /// What the answer `receipt`, given with `clock`, says about a
    /// transaction valid until `valid_until`.
    pub fn of(valid_until: Micros, receipt: Option<Receipt>, clock: ChainClock) -> Lookup {
        match receipt {
            Some(receipt) => Lookup::Found(receipt),
            None if valid_until < clock.forgotten_before => Lookup::Forgotten,
            None if valid_until < clock.now => Lookup::Expired,
            None => Lookup::Unknown,
        }
    }
}

/// Ground truth the checkers consume: every change of supply or of a nonce
/// slot, as it happens, and its undoing by a reorg.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    /// A burn took `message.amount` out of circulation on its source.
    Burned {
        /// The emitted message.
        message: BurnMessage,
        /// The block it is in.
        height: u64,
    },
    /// A mint put `message.amount` into circulation on its destination.
    Minted {
        /// The message minted.
        message: BurnMessage,
        /// The mint transaction.
        tx: TxHash,
        /// The block it is in.
        height: u64,
    },
    /// A message's destination slot was cancelled.
    Cancelled {
        /// The message.
        message: BurnMessage,
        /// The block it is in.
        height: u64,
    },
    /// A burn's amount went back to its sender on the source.
    Refunded {
        /// The message refunded.
        message: BurnMessage,
        /// The block it is in.
        height: u64,
    },
    /// A reorg undid one of the effects above.
    Undone(UndoneEffect),
}

/// An effect a reorg undid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UndoneEffect {
    /// The burn of this message is gone.
    Burned(BurnMessage),
    /// The mint of this message is gone.
    Minted(BurnMessage),
    /// The cancel of this message is gone.
    Cancelled(BurnMessage),
    /// The refund of this message is gone.
    Refunded(BurnMessage),
}
