//! The vocabulary of the chains, after Circle's CCTP: domains, accounts,
//! amounts, nonces, burn messages, attestations and signed transactions.

use crate::sim::digest::hash_of;
use crate::sim::Micros;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A chain's CCTP domain number; also its index among the run's chains.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Domain(pub u32);

impl Domain {
    /// The index of this chain in per-chain tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An account on a chain. Accounts are numbered from zero on every chain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Address(pub u32);

/// An amount of USDC in its minor unit (10^-6 USDC). Arithmetic is checked:
/// an overflow is a bug, never a wrap.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(pub u64);

impl Amount {
    /// Zero USDC.
    pub const ZERO: Amount = Amount(0);

    /// `self + rhs`, or `None` on overflow.
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).map(Amount)
    }

    /// `self - rhs`, or `None` if `rhs` is larger.
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06} USDC", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// A CCTP message nonce, unique per source domain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Nonce(pub u64);

/// The identity of one burn: (source domain, nonce). The destination's nonce
/// slot for it is the arbiter of mint against cancel.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
pub struct MessageId {
    /// The chain the burn happened on.
    pub source: Domain,
    /// The burn's nonce there.
    pub nonce: Nonce,
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source.0, self.nonce.0)
    }
}

/// The message a burn emits: what may be minted, to whom, where.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct BurnMessage {
    /// (source domain, nonce).
    pub id: MessageId,
    /// Where the mint must happen.
    pub dest: Domain,
    /// Who burned, on the source chain (and who a refund goes to).
    pub sender: Address,
    /// Who receives the mint on the destination chain.
    pub recipient: Address,
    /// How much.
    pub amount: Amount,
    /// Caller data carried by the burn; the engine puts its settlement id
    /// here, so ground truth can be attributed to a request.
    pub memo: u64,
}

/// The attester's signature over a message (a keyed digest in simulation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attestation(pub u64);

impl Attestation {
    /// Signs `message` with the attester's `key`: it may be minted.
    pub fn sign(key: u64, message: &BurnMessage) -> Attestation {
        Attestation(hash_of(&(key, message)))
    }

    /// Signs a cancel proof for `message`: its destination slot is final
    /// Cancelled, so it may be refunded. Domain-separated from [`Attestation::sign`]
    /// so one can never pass for the other.
    pub fn sign_cancel(key: u64, message: &BurnMessage) -> Attestation {
        Attestation(hash_of(&(key, "cancelled", message)))
    }
}

/// A transaction hash. Two transactions are the same transaction exactly
/// when their hashes are equal.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TxHash(pub u64);

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:016x}", self.0)
    }
}

/// What a transaction asks the chain to do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TxBody {
    /// TokenMessenger.depositForBurn: destroy `amount` of `sender`'s USDC here
    /// and emit a message for `dest`.
    Burn {
        /// Whose USDC is burned.
        sender: Address,
        /// How much.
        amount: Amount,
        /// The destination chain.
        dest: Domain,
        /// The recipient there.
        recipient: Address,
        /// Caller data copied into the message.
        memo: u64,
    },
    /// MessageTransmitter.receiveMessage: mint a message's amount, once.
    Mint {
        /// The burn's message.
        message: BurnMessage,
        /// The attester's signature over it.
        attestation: Attestation,
    },
    /// On the destination: flip the message's nonce slot Unused → Cancelled,
    /// so it can never be minted. Reverts if the slot is used.
    Cancel {
        /// The burn's message.
        message: BurnMessage,
    },
    /// On the source: give a burn's amount back to its sender, once per
    /// burn, on the attester's proof that the destination slot is final
    /// Cancelled. Without a proof the chain trusts the operator (the only way
    /// a planted defect refunds).
    Refund {
        /// The burn's message.
        message: BurnMessage,
        /// The attester's cancel proof.
        proof: Option<Attestation>,
    },
}

/// A signed transaction: a body, the time it is valid until, and the hash
/// that identifies it. Signing the same body with another salt makes a
/// *different* transaction; broadcasting the same one twice is harmless.
///
/// A transaction may be included only in a block stamped no later than
/// `valid_until` (as a recent blockhash bounds a transaction's life on
/// Solana). Once that time has passed on the chain, a transaction that is not
/// in it never will be, so its signer may sign a new one for the same intent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Tx {
    /// The identity of this transaction.
    pub hash: TxHash,
    /// What it does.
    pub body: TxBody,
    /// The last chain time at which a block may include it.
    pub valid_until: Micros,
}

impl Tx {
    /// Signs `body`, valid until `valid_until`; `salt` stands for the
    /// signer's account nonce.
    pub fn sign(body: TxBody, valid_until: Micros, salt: u64) -> Tx {
        Tx {
            hash: TxHash(hash_of(&(body, valid_until, salt))),
            body,
            valid_until,
        }
    }
}
