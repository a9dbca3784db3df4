//! A settlement: one request to move USDC from a source chain to a
//! destination chain, and its persisted recovery point.
//!
//! The stage is the recovery point. Each stage records exactly what a worker
//! needs to resume after a crash, whatever step it died in:
//!
//! ```text
//! Requested → BurnSigned → BurnSubmitted → BurnFinal → Attested → MintSigned → Completed
//!     └──────────┴──────────────┴─→ Failed   (only when the burn definitely did nothing)
//!
//! Attested / MintSigned → CancelSigned → Cancelled → RefundSigned → Refunded   (the saga)
//!                              └─→ Completed   (the cancel found the slot minted: the mint won)
//! ```
//!
//! A `…Signed` stage may also be signed again, with a new transaction: a
//! mint after a temporary rejection, and any transaction once the chain says
//! the old one expired without being included (it never can be, now).
//!
//! The saga starts when the destination rejects the mint for good, or stays
//! unusable past the settlement's deadline. The refund goes out only once the
//! destination's nonce slot is final-Cancelled, attested by a cancel proof:
//! the slot is the arbiter, so a mint and a refund can never both happen.
//!
//! A signed transaction is part of the stage that follows its signing, so it is
//! durable before it is ever broadcast: a retry re-broadcasts the same
//! transaction, and a new one replaces it only once the old one expired
//! unincluded, so a settlement can never burn twice.

use crate::chain::{Address, Amount, Attestation, BurnMessage, Domain, Revert, Tx, TxBody};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Names one settlement; assigned densely by the store.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SettlementId(pub u64);

impl fmt::Display for SettlementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}", self.0)
    }
}

/// The caller's idempotency key: one per intent, reused on every retry.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
pub struct IdempotencyKey {
    /// The client that owns the key.
    pub client: u32,
    /// The client's sequence number for this intent.
    pub seq: u64,
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}-{}", self.client, self.seq)
    }
}

/// What the caller asks for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SettlementRequest {
    /// Where USDC is burned.
    pub source: Domain,
    /// Where it is minted.
    pub dest: Domain,
    /// Whose USDC, on the source chain.
    pub sender: Address,
    /// Who receives it, on the destination chain.
    pub recipient: Address,
    /// How much.
    pub amount: Amount,
}

/// The persisted recovery point of a settlement.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Accepted; nothing signed yet.
    Requested,
    /// The burn transaction is signed and durable; it may have been broadcast.
    BurnSigned,
    /// The burn was accepted by the source chain's mempool at least once.
    BurnSubmitted,
    /// The burn is final; its message is known.
    BurnFinal,
    /// The attester signed the message.
    Attested,
    /// The mint transaction is signed and durable; it may have been broadcast.
    MintSigned,
    /// The mint is final. Terminal.
    Completed,
    /// The burn reverted: nothing moved. Terminal.
    Failed,
    /// The cancel transaction is signed and durable; it may have been broadcast.
    CancelSigned,
    /// The destination slot is final-Cancelled: the mint can never happen.
    Cancelled,
    /// The refund transaction (with its cancel proof) is signed and durable.
    RefundSigned,
    /// The refund is final: the sender has the amount back. Terminal.
    Refunded,
}

impl Stage {
    /// True for the absorbing stages.
    pub fn is_terminal(self) -> bool {
        matches!(self, Stage::Completed | Stage::Failed | Stage::Refunded)
    }

    /// The stages a settlement may move to from `self`.
    pub fn may_become(self, next: Stage) -> bool {
        use Stage::*;
        matches!(
            (self, next),
            (Requested, BurnSigned)
                | (BurnSigned | BurnSubmitted, BurnSigned)
                | (BurnSigned, BurnSubmitted)
                | (BurnSigned | BurnSubmitted, BurnFinal)
                | (BurnSigned | BurnSubmitted, Failed)
                | (BurnFinal, Attested)
                | (Attested, MintSigned)
                | (MintSigned, MintSigned)
                | (MintSigned, Completed)
                | (Attested | MintSigned, CancelSigned)
                | (CancelSigned, CancelSigned | Cancelled | Completed)
                | (Cancelled, RefundSigned)
                | (RefundSigned, RefundSigned | Refunded)
        )
    }
}

/// One persisted step of a settlement: the new stage and what it records.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Advance {
    /// Record the signed burn, before it is broadcast (again, with a new
    /// transaction, once the old one expired unincluded).
    SignBurn {
        /// The signed burn.
        tx: Tx,
    },
    /// The source mempool accepted the burn.
    BurnSubmitted,
    /// The burn is final and emitted `message`.
    BurnFinal {
        /// The emitted message.
        message: BurnMessage,
    },
    /// The attester signed.
    Attested {
        /// The signature.
        attestation: Attestation,
    },
    /// Record the signed mint, before it is broadcast (again, with a new
    /// transaction, after a temporary rejection).
    SignMint {
        /// The signed mint.
        tx: Tx,
    },
    /// Record the signed cancel, before it is broadcast.
    SignCancel {
        /// The signed cancel.
        tx: Tx,
    },
    /// The cancel is final.
    CancelFinal,
    /// Record the signed refund (carrying its cancel proof).
    SignRefund {
        /// The signed refund.
        tx: Tx,
    },
    /// The refund is final.
    Refund,
    /// The mint is final.
    Complete,
    /// The burn reverted on chain.
    Fail {
        /// Why.
        reason: Revert,
    },
}

impl Advance {
    /// The stage this step moves to.
    pub fn target(&self) -> Stage {
        match self {
            Advance::SignBurn { .. } => Stage::BurnSigned,
            Advance::BurnSubmitted => Stage::BurnSubmitted,
            Advance::BurnFinal { .. } => Stage::BurnFinal,
            Advance::Attested { .. } => Stage::Attested,
            Advance::SignMint { .. } => Stage::MintSigned,
            Advance::Complete => Stage::Completed,
            Advance::Fail { .. } => Stage::Failed,
            Advance::SignCancel { .. } => Stage::CancelSigned,
            Advance::CancelFinal => Stage::Cancelled,
            Advance::SignRefund { .. } => Stage::RefundSigned,
            Advance::Refund => Stage::Refunded,
        }
    }
}

/// Why a step was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IllegalAdvance {
    /// The stage the settlement was in.
    pub from: Stage,
    /// The stage the step wanted.
    pub to: Stage,
}

/// A settlement as the store persists it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Settlement {
    /// Its id.
    pub id: SettlementId,
    /// The idempotency key it was created under.
    pub key: IdempotencyKey,
    /// What was asked.
    pub request: SettlementRequest,
    /// The recovery point.
    pub stage: Stage,
    /// Bumped by every accepted write: the compare in compare-and-set.
    pub version: u64,
    /// The newest fencing token the store accepted a write under.
    pub fence: u64,
    /// The signed burn, once `BurnSigned`.
    pub burn_tx: Option<Tx>,
    /// The burn's message, once `BurnFinal`.
    pub message: Option<BurnMessage>,
    /// The attester's signature, once `Attested`.
    pub attestation: Option<Attestation>,
    /// The signed mint, once `MintSigned`.
    pub mint_tx: Option<Tx>,
    /// Why it failed, once `Failed`.
    pub failure: Option<Revert>,
    /// After this instant (by the store's wall clock at creation, plus the
    /// engine's deadline) a destination that cannot mint is given up on.
    pub deadline_us: u64,
    /// The signed cancel, once `CancelSigned`.
    pub cancel_tx: Option<Tx>,
    /// The signed refund, once `RefundSigned`.
    pub refund_tx: Option<Tx>,
}

impl Settlement {
    /// A new settlement at `Requested`, version 1, to be given up on (if its
    /// destination cannot mint) after `deadline_us`.
    pub fn new(
        id: SettlementId,
        key: IdempotencyKey,
        request: SettlementRequest,
        deadline_us: u64,
    ) -> Settlement {
        Settlement {
            id,
            key,
            request,
            stage: Stage::Requested,
            version: 1,
            fence: 0,
            burn_tx: None,
            message: None,
            attestation: None,
            mint_tx: None,
            failure: None,
            deadline_us,
            cancel_tx: None,
            refund_tx: None,
        }
    }

    /// Applies one step if the state machine allows it, bumping the version.
    pub fn apply(&mut self, step: &Advance) -> Result<(), IllegalAdvance> {
        let to = step.target();
        if !self.stage.may_become(to) {
            return Err(IllegalAdvance {
                from: self.stage,
                to,
            });
        }
        match *step {
            Advance::SignBurn { tx } => self.burn_tx = Some(tx),
            Advance::BurnFinal { message } => self.message = Some(message),
            Advance::Attested { attestation } => self.attestation = Some(attestation),
            Advance::SignMint { tx } => self.mint_tx = Some(tx),
            Advance::Fail { reason } => self.failure = Some(reason),
            Advance::SignCancel { tx } => self.cancel_tx = Some(tx),
            Advance::SignRefund { tx } => self.refund_tx = Some(tx),
            Advance::BurnSubmitted | Advance::Complete | Advance::CancelFinal | Advance::Refund => {
            }
        }
        self.stage = to;
        self.version += 1;
        Ok(())
    }

    /// The burn this settlement calls for, unsigned.
    pub fn burn_body(&self) -> TxBody {
        TxBody::Burn {
            sender: self.request.sender,
            amount: self.request.amount,
            dest: self.request.dest,
            recipient: self.request.recipient,
            memo: self.id.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Micros;

    fn settlement() -> Settlement {
        let request = SettlementRequest {
            source: Domain(0),
            dest: Domain(1),
            sender: Address(0),
            recipient: Address(1),
            amount: Amount(10),
        };
        Settlement::new(SettlementId(1), IdempotencyKey::default(), request, 0)
    }

    #[test]
    fn happy_path_is_legal_and_bumps_versions() {
        // Proves the documented path is accepted step by step.
        let mut s = settlement();
        let tx = Tx::sign(s.burn_body(), Micros(1), 1);
        s.apply(&Advance::SignBurn { tx }).unwrap();
        s.apply(&Advance::BurnSubmitted).unwrap();
        assert_eq!(s.stage, Stage::BurnSubmitted);
        assert_eq!(s.version, 3);
        assert_eq!(s.burn_tx, Some(tx));
    }

    #[test]
    fn terminal_stages_are_absorbing_and_skips_are_refused() {
        // Proves illegal moves are refused and leave the settlement as it was.
        let mut s = settlement();
        let before = s;
        assert!(s.apply(&Advance::Complete).is_err());
        assert_eq!(s, before);
        s.apply(&Advance::SignBurn {
            tx: Tx::sign(s.burn_body(), Micros(1), 1),
        })
        .unwrap();
        s.apply(&Advance::Fail {
            reason: Revert::OverLimit,
        })
        .unwrap();
        for step in [
            Advance::BurnSubmitted,
            Advance::Complete,
            Advance::Fail {
                reason: Revert::OverLimit,
            },
        ] {
            assert!(s.apply(&step).is_err());
        }
    }
}
