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
//!
//! A settlement records a transaction by its hash and validity only
//! ([`SignedTx`]): its body follows from what the settlement already holds
//! (the request, the burn's message, the attestation, the cancel proof), so
//! [`Settlement::tx`] rebuilds the very transaction that was signed. That
//! keeps a settlement, and each record of the store's log, about half the
//! size they would be with four bodies in them.

use crate::chain::{Address, Amount, Attestation, BurnMessage, Domain, Revert, Tx, TxBody, TxHash};
use crate::sim::Micros;
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

    /// True once a burn may exist on the source chain and until the
    /// settlement ends: money is in flight, and the burn can age out of the
    /// chain's history if the settlement is left waiting.
    pub fn is_under_way(self) -> bool {
        self != Stage::Requested && !self.is_terminal()
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

/// Which transaction of a settlement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Leg {
    /// The burn, on the source chain.
    Burn,
    /// The mint, on the destination chain.
    Mint,
    /// The cancel of the message's nonce slot, on the destination chain.
    Cancel,
    /// The refund, on the source chain.
    Refund,
}

/// A signed transaction as a settlement records it: what identifies it and
/// until when it may be included. Its body is the settlement's to rebuild.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SignedTx {
    /// The transaction's hash.
    pub hash: TxHash,
    /// The last chain time at which a block may include it.
    pub valid_until: Micros,
}

impl From<Tx> for SignedTx {
    fn from(tx: Tx) -> SignedTx {
        SignedTx {
            hash: tx.hash,
            valid_until: tx.valid_until,
        }
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
        tx: SignedTx,
        /// The transaction of this leg it takes the place of, as the signer
        /// last saw the settlement (`None` for the first). The store
        /// refuses the step if the settlement holds another: see
        /// [`Settlement::still_holds`].
        replaces: Option<TxHash>,
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
        tx: SignedTx,
        /// The transaction it takes the place of, as for a burn.
        replaces: Option<TxHash>,
    },
    /// Record the signed cancel, before it is broadcast.
    SignCancel {
        /// The signed cancel.
        tx: SignedTx,
        /// The transaction it takes the place of, as for a burn.
        replaces: Option<TxHash>,
    },
    /// The cancel is final.
    CancelFinal,
    /// Record the signed refund (carrying its cancel proof).
    SignRefund {
        /// The signed refund.
        tx: SignedTx,
        /// The transaction it takes the place of, as for a burn.
        replaces: Option<TxHash>,
        /// The attester's cancel proof it carries (`None` only for an
        /// operator refund, a planted defect).
        proof: Option<Attestation>,
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

    /// A signing step's leg and the transaction it takes the place of.
    fn replacing(&self) -> Option<(Leg, Option<TxHash>)> {
        match *self {
            Advance::SignBurn { replaces, .. } => Some((Leg::Burn, replaces)),
            Advance::SignMint { replaces, .. } => Some((Leg::Mint, replaces)),
            Advance::SignCancel { replaces, .. } => Some((Leg::Cancel, replaces)),
            Advance::SignRefund { replaces, .. } => Some((Leg::Refund, replaces)),
            _ => None,
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
    pub burn_tx: Option<SignedTx>,
    /// The burn's message, once `BurnFinal`.
    pub message: Option<BurnMessage>,
    /// The attester's signature, once `Attested`.
    pub attestation: Option<Attestation>,
    /// The signed mint, once `MintSigned`.
    pub mint_tx: Option<SignedTx>,
    /// Why it failed, once `Failed`.
    pub failure: Option<Revert>,
    /// After this instant (by the store's wall clock at creation, plus the
    /// engine's deadline) a destination that cannot mint is given up on.
    pub deadline_us: u64,
    /// The signed cancel, once `CancelSigned`.
    pub cancel_tx: Option<SignedTx>,
    /// The signed refund, once `RefundSigned`.
    pub refund_tx: Option<SignedTx>,
    /// The cancel proof the refund carries, once `RefundSigned`.
    pub refund_proof: Option<Attestation>,
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
            refund_proof: None,
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
            Advance::SignBurn { tx, .. } => self.burn_tx = Some(tx),
            Advance::BurnFinal { message } => self.message = Some(message),
            Advance::Attested { attestation } => self.attestation = Some(attestation),
            Advance::SignMint { tx, .. } => self.mint_tx = Some(tx),
            Advance::Fail { reason } => self.failure = Some(reason),
            Advance::SignCancel { tx, .. } => self.cancel_tx = Some(tx),
            Advance::SignRefund { tx, proof, .. } => {
                self.refund_tx = Some(tx);
                self.refund_proof = proof;
            }
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

    /// The body of `leg`'s transaction, once the settlement holds what it
    /// takes (the mint needs the message and attestation, the cancel and
    /// refund the message).
    pub fn body(&self, leg: Leg) -> Option<TxBody> {
        match leg {
            Leg::Burn => Some(self.burn_body()),
            Leg::Mint => Some(TxBody::Mint {
                message: self.message?,
                attestation: self.attestation?,
            }),
            Leg::Cancel => Some(TxBody::Cancel {
                message: self.message?,
            }),
            Leg::Refund => self.refund_body(self.refund_proof),
        }
    }

    /// The refund this settlement calls for, carrying `proof`, once its burn
    /// is final. (Its signing records the proof, so [`Settlement::body`]
    /// gives the same body afterwards.)
    pub fn refund_body(&self, proof: Option<Attestation>) -> Option<TxBody> {
        Some(TxBody::Refund {
            message: self.message?,
            proof,
        })
    }

    /// The record of `leg`'s signed transaction, once signed: its hash and
    /// validity, all a receipt query needs.
    pub fn signed(&self, leg: Leg) -> Option<SignedTx> {
        match leg {
            Leg::Burn => self.burn_tx,
            Leg::Mint => self.mint_tx,
            Leg::Cancel => self.cancel_tx,
            Leg::Refund => self.refund_tx,
        }
    }

    /// False if `step` signs a transaction in place of one this settlement
    /// no longer holds. A worker replaces a transaction once the chain says
    /// it expired; two replacements of the same one (a retried decision
    /// whose first write arrived late) must not both be recorded, or the
    /// first, broadcast meanwhile, and the second can both land. The stage
    /// alone does not tell them apart: a replacement keeps it.
    pub fn still_holds(&self, step: &Advance) -> bool {
        step.replacing()
            .is_none_or(|(leg, replaces)| self.held(leg) == replaces)
    }

    /// The hash of `leg`'s signed transaction, once signed: what a step
    /// signing another in its place names as replaced.
    pub fn held(&self, leg: Leg) -> Option<TxHash> {
        self.signed(leg).map(|tx| tx.hash)
    }

    /// The signed transaction of `leg`, rebuilt whole, once signed.
    pub fn tx(&self, leg: Leg) -> Option<Tx> {
        let signed = self.signed(leg)?;
        Some(Tx {
            hash: signed.hash,
            body: self.body(leg)?,
            valid_until: signed.valid_until,
        })
    }
}

#[cfg(test)]
impl Settlement {
    /// A fresh settlement of 5 units from domain 0 to domain 1, for unit
    /// tests that care only about its id and key.
    pub(crate) fn for_test(id: u64, key: IdempotencyKey) -> Settlement {
        let request = SettlementRequest {
            source: Domain(0),
            dest: Domain(1),
            sender: Address(0),
            recipient: Address(1),
            amount: Amount(5),
        };
        Settlement::new(SettlementId(id), key, request, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{MessageId, Nonce};

    fn settlement() -> Settlement {
        Settlement::for_test(1, IdempotencyKey::default())
    }

    #[test]
    fn happy_path_is_legal_and_bumps_versions() {
        // Proves the documented path is accepted step by step.
        let mut s = settlement();
        let tx = Tx::sign(s.burn_body(), Micros(1), 1);
        s.apply(&Advance::SignBurn {
            tx: tx.into(),
            replaces: None,
        })
        .unwrap();
        s.apply(&Advance::BurnSubmitted).unwrap();
        assert_eq!(s.stage, Stage::BurnSubmitted);
        assert_eq!(s.version, 3);
        assert_eq!(s.tx(Leg::Burn), Some(tx));
    }

    #[test]
    fn terminal_stages_are_absorbing_and_skips_are_refused() {
        // Proves illegal moves are refused and leave the settlement as it was.
        let mut s = settlement();
        let before = s;
        assert!(s.apply(&Advance::Complete).is_err());
        assert_eq!(s, before);
        s.apply(&Advance::SignBurn {
            tx: Tx::sign(s.burn_body(), Micros(1), 1).into(),
            replaces: None,
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

    #[test]
    fn every_leg_is_rebuilt_as_it_was_signed() {
        // Proves the settlement keeps enough to rebuild each transaction
        // whole: hash, validity and the body that was signed, the refund's
        // proof included, whichever way the refund went.
        let message = BurnMessage {
            id: MessageId {
                source: Domain(0),
                nonce: Nonce(3),
            },
            dest: Domain(1),
            sender: Address(0),
            recipient: Address(1),
            amount: Amount(10),
            memo: 1,
        };
        let attestation = Attestation(7);
        for proof in [Some(Attestation(8)), None] {
            let mut s = settlement();
            let burn = Tx::sign(s.burn_body(), Micros(1), 1);
            let mint = Tx::sign(
                TxBody::Mint {
                    message,
                    attestation,
                },
                Micros(2),
                2,
            );
            let cancel = Tx::sign(TxBody::Cancel { message }, Micros(3), 3);
            let refund = Tx::sign(TxBody::Refund { message, proof }, Micros(4), 4);
            for step in [
                Advance::SignBurn {
                    tx: burn.into(),
                    replaces: None,
                },
                Advance::BurnFinal { message },
                Advance::Attested { attestation },
                Advance::SignMint {
                    tx: mint.into(),
                    replaces: None,
                },
                Advance::SignCancel {
                    tx: cancel.into(),
                    replaces: None,
                },
                Advance::CancelFinal,
                Advance::SignRefund {
                    tx: refund.into(),
                    proof,
                    replaces: None,
                },
            ] {
                s.apply(&step).unwrap();
            }
            assert_eq!(s.tx(Leg::Burn), Some(burn));
            assert_eq!(s.tx(Leg::Mint), Some(mint));
            assert_eq!(s.tx(Leg::Cancel), Some(cancel));
            assert_eq!(s.tx(Leg::Refund), Some(refund));
        }
    }

    #[test]
    fn a_replacement_must_name_the_transaction_held_now() {
        // Proves the store's compare-and-set on a replaced transaction: of
        // two replacements of one expired burn, only the first holds, and
        // a late copy of it cannot undo the second.
        let mut s = settlement();
        let body = s.burn_body();
        let sign = |seed, replaces: Option<TxHash>| Advance::SignBurn {
            tx: Tx::sign(body, Micros(seed), seed).into(),
            replaces,
        };
        let (first, second, third) = (sign(1, None), sign(2, None), sign(3, None));
        let hash = |step: &Advance| match step {
            Advance::SignBurn { tx, .. } => tx.hash,
            _ => unreachable!(),
        };
        assert!(s.still_holds(&first));
        s.apply(&first).unwrap();
        assert!(!s.still_holds(&second), "a second first signing");
        let expired = Some(hash(&first));
        let (replacement, rival) = (sign(2, expired), sign(3, expired));
        assert!(s.still_holds(&replacement));
        s.apply(&replacement).unwrap();
        assert!(
            !s.still_holds(&rival),
            "two replacements of one transaction"
        );
        assert!(!s.still_holds(&third), "a replacement of nothing");
        assert!(s.still_holds(&sign(4, Some(hash(&replacement)))));
        // Steps that sign nothing carry no such condition.
        assert!(s.still_holds(&Advance::BurnSubmitted));
    }

    #[test]
    fn an_unsigned_leg_has_no_transaction() {
        // Proves nothing is made up for a leg that was never signed.
        let s = settlement();
        for leg in [Leg::Burn, Leg::Mint, Leg::Cancel, Leg::Refund] {
            assert_eq!(s.tx(leg), None);
        }
    }
}
