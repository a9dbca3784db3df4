//! The attestation service (Circle's Iris): asked about a burn, it checks the
//! burn on its source chain and signs the message only once the burn is
//! final. Until then it answers "pending", which is not a failure.

use super::ledger::{Outcome, TxState};
use super::rpc::{ChainReply, ChainRequest};
use super::types::{Attestation, BurnMessage, MessageId, TxHash};
use crate::sim::{Ctx, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A call to the attester.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum AttesterRequest {
    /// Sign this burn's message, if the burn is final.
    Attest {
        /// Correlation id.
        req: RequestId,
        /// The message the caller says the burn emitted.
        message: BurnMessage,
        /// The burn transaction to check it against.
        burn_tx: TxHash,
    },
}

/// The attester's answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum AttesterReply {
    /// The burn is final and matches: here is the signature.
    Attested {
        /// Correlation id.
        req: RequestId,
        /// The message signed.
        id: MessageId,
        /// The signature.
        attestation: Attestation,
    },
    /// Not final yet, or the source chain did not answer: ask again later.
    Pending {
        /// Correlation id.
        req: RequestId,
    },
    /// The burn does not exist, reverted, or emitted another message.
    Refused {
        /// Correlation id.
        req: RequestId,
    },
}

/// A request waiting for its source chain's answer.
struct Query {
    requester: NodeId,
    req: RequestId,
    message: BurnMessage,
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
        let AttesterRequest::Attest {
            req,
            message,
            burn_tx,
        } = request;
        let Some(&chain) = self.chains.get(message.id.source.index()) else {
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
            },
        );
        if self.queries.len() > MAX_QUERIES {
            self.queries.pop_first();
        }
        ctx.send(
            chain,
            ChainRequest::Receipt {
                req: query,
                hash: burn_tx,
            },
        );
    }

    /// A source chain answered one of our queries.
    pub fn on_chain_reply<M: Clone + From<AttesterReply>>(
        &mut self,
        reply: ChainReply,
        ctx: &mut Ctx<'_, M>,
    ) {
        let ChainReply::Receipt { req, receipt } = reply else {
            return;
        };
        let Some(query) = self.queries.remove(&req) else {
            return;
        };
        let answer = match receipt {
            None => AttesterReply::Refused { req: query.req },
            Some(r) => match r.state {
                TxState::Pending => AttesterReply::Pending { req: query.req },
                TxState::Included { outcome, .. } => match outcome {
                    Outcome::Burned(m) if m == query.message => {
                        if r.is_final {
                            AttesterReply::Attested {
                                req: query.req,
                                id: m.id,
                                attestation: Attestation::sign(self.key, &m),
                            }
                        } else {
                            AttesterReply::Pending { req: query.req }
                        }
                    }
                    _ => AttesterReply::Refused { req: query.req },
                },
            },
        };
        ctx.reply(query.requester, answer);
    }
}
