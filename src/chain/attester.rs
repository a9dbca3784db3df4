//! The attestation service (Circle's Iris): asked about a burn, it checks the
//! burn on its source chain and signs the message only once the burn is
//! final; asked about a cancel, it checks the cancel on the destination and
//! signs a cancel proof only once the cancel is final. Until then it answers
//! "pending", which is not a failure.
//!
//! A *fast* attestation (as CCTP's fast transfers offer) signs a burn as soon
//! as it is included. Only a planted defect asks for one: a reorg can then
//! take the burn back after the mint.

use super::receipt::{Outcome, TxState};
use super::rpc::{ChainReply, ChainRequest};
use super::types::{Attestation, BurnMessage, MessageId, TxHash};
use crate::sim::{Ctx, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A call to the attester.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "call", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AttesterRequest {
    /// Sign this burn's message, once the burn is final (or included, `fast`).
    Attest {
        /// Correlation id.
        req: RequestId,
        /// The message the caller says the burn emitted.
        message: BurnMessage,
        /// The burn transaction to check it against.
        burn_tx: TxHash,
        /// Sign on inclusion instead of finality.
        fast: bool,
    },
    /// Sign a cancel proof, once the cancel of this message is final.
    AttestCancel {
        /// Correlation id.
        req: RequestId,
        /// The message cancelled.
        message: BurnMessage,
        /// The cancel transaction on the destination.
        cancel_tx: TxHash,
    },
}

/// The attester's answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AttesterReply {
    /// Checked: here is the signature (an attestation or a cancel proof).
    Attested {
        /// Correlation id.
        req: RequestId,
        /// The message signed.
        id: MessageId,
        /// The signature.
        attestation: Attestation,
    },
    /// Not final yet, or the chain did not answer: ask again later.
    Pending {
        /// Correlation id.
        req: RequestId,
    },
    /// The transaction does not exist, reverted, or says something else.
    Refused {
        /// Correlation id.
        req: RequestId,
    },
}

/// What a query to a chain is about.
#[derive(Clone, Copy, Debug)]
enum Purpose {
    Burn { fast: bool },
    Cancel,
}

/// A request waiting for a chain's answer.
struct Query {
    requester: NodeId,
    req: RequestId,
    message: BurnMessage,
    purpose: Purpose,
}

/// The most queries awaiting a chain's answer; the oldest are forgotten
/// beyond it (their callers time out and ask again).
const MAX_QUERIES: usize = 4096;

/// The attester node. Its only state is volatile: a crash forgets queries in
/// flight, and callers ask again.
pub struct Attester {
    key: u64,
    /// Chain nodes by domain.
    chains: Vec<NodeId>,
    next_query: u64,
    queries: BTreeMap<RequestId, Query>,
}

impl Attester {
    /// An attester signing with `key`, reading the chains at `chains`
    /// (indexed by domain).
    pub fn new(key: u64, chains: Vec<NodeId>) -> Attester {
        Attester {
            key,
            chains,
            next_query: 0,
            queries: BTreeMap::new(),
        }
    }

    /// A call arrived.
    pub fn on_request<M: Clone + From<ChainRequest> + From<AttesterReply>>(
        &mut self,
        from: NodeId,
        request: AttesterRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let (req, message, tx, domain, purpose) = match request {
            AttesterRequest::Attest {
                req,
                message,
                burn_tx,
                fast,
            } => (
                req,
                message,
                burn_tx,
                message.id.source,
                Purpose::Burn { fast },
            ),
            AttesterRequest::AttestCancel {
                req,
                message,
                cancel_tx,
            } => (req, message, cancel_tx, message.dest, Purpose::Cancel),
        };
        let Some(&chain) = self.chains.get(domain.index()) else {
            ctx.reply(from, AttesterReply::Refused { req });
            return;
        };
        self.next_query += 1;
        let query = RequestId(self.next_query);
        self.queries.insert(
            query,
            Query {
                requester: from,
                req,
                message,
                purpose,
            },
        );
        if self.queries.len() > MAX_QUERIES {
            self.queries.pop_first();
        }
        ctx.send(
            chain,
            ChainRequest::Receipt {
                req: query,
                hash: tx,
            },
        );
    }

    /// A chain answered one of our queries.
    pub fn on_chain_reply<M: Clone + From<AttesterReply>>(
        &mut self,
        reply: ChainReply,
        ctx: &mut Ctx<'_, M>,
    ) {
        let (req, receipt) = match reply {
            ChainReply::Receipt { req, receipt, .. } => (req, receipt),
            ChainReply::Unavailable { req } => (req, None),
            _ => return,
        };
        let Some(query) = self.queries.remove(&req) else {
            return;
        };
        let pending = AttesterReply::Pending { req: query.req };
        let answer = match (receipt, matches!(reply, ChainReply::Unavailable { .. })) {
            (_, true) => pending,
            (None, false) => AttesterReply::Refused { req: query.req },
            (Some(r), false) => match (r.state, query.purpose) {
                (TxState::Pending, _) => pending,
                (TxState::Included { outcome, .. }, purpose) => {
                    let m = query.message;
                    let (matches, signature, wait_for_final) = match (outcome, purpose) {
                        (Outcome::Burned(burned), Purpose::Burn { fast }) => {
                            (burned == m, Attestation::sign(self.key, &m), !fast)
                        }
                        (Outcome::Cancelled, Purpose::Cancel) => {
                            (true, Attestation::sign_cancel(self.key, &m), true)
                        }
                        _ => (false, Attestation(0), true),
                    };
                    if !matches {
                        AttesterReply::Refused { req: query.req }
                    } else if wait_for_final && !r.is_final {
                        pending
                    } else {
                        AttesterReply::Attested {
                            req: query.req,
                            id: m.id,
                            attestation: signature,
                        }
                    }
                }
            },
        };
        ctx.reply(query.requester, answer);
    }
}
