//! The settlement store: the engine's source of truth for recovery points,
//! idempotency keys and fencing.
//!
//! Every write is a compare-and-set on (version, stage) carrying a fencing
//! token, and is applied through [`Settlement::apply`], so the state machine
//! is enforced where the data lives, not only by well-behaved callers.

use super::protocol::{StoreNotice, StoreReply, StoreRequest};
use super::settlement::{
    Advance, IdempotencyKey, Settlement, SettlementId, SettlementRequest, Stage,
};
use crate::sim::{Ctx, NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// Every accepted write, for the checkers' view of the engine's history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreEffect {
    /// A key was bound to a new settlement.
    Created {
        /// The new settlement.
        id: SettlementId,
        /// The key it is bound to.
        key: IdempotencyKey,
        /// What it asks for.
        request: SettlementRequest,
    },
    /// A step was applied.
    Advanced {
        /// Which settlement.
        id: SettlementId,
        /// The stage before.
        from: Stage,
        /// The stage after.
        to: Stage,
        /// The fencing token the write carried.
        fence: u64,
    },
}

/// The store node.
pub struct Store {
    /// Settlements by id; ids are dense from zero.
    settlements: Vec<Settlement>,
    keys: BTreeMap<IdempotencyKey, SettlementId>,
    /// Ids of non-terminal settlements.
    runnable: BTreeSet<SettlementId>,
    /// Workers to hint about new work, in turn.
    workers: Vec<NodeId>,
    next_hint: usize,
    effects: Vec<StoreEffect>,
}

impl Store {
    /// An empty store that hints `workers` about new settlements.
    pub fn new(workers: Vec<NodeId>) -> Store {
        Store {
            settlements: Vec::new(),
            keys: BTreeMap::new(),
            runnable: BTreeSet::new(),
            workers,
            next_hint: 0,
            effects: Vec::new(),
        }
    }

    /// How many settlements are not yet terminal.
    pub fn unfinished(&self) -> usize {
        self.runnable.len()
    }

    /// Every settlement, by id.
    pub fn settlements(&self) -> &[Settlement] {
        &self.settlements
    }

    /// Hands over the writes accepted since the last call.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, StoreEffect> {
        self.effects.drain(..)
    }

    /// A call arrived.
    pub fn on_request<M: Clone + From<StoreReply> + From<StoreNotice>>(
        &mut self,
        from: NodeId,
        request: StoreRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let reply = match request {
            StoreRequest::Initiate { req, key, request } => self.initiate(req, key, request, ctx),
            StoreRequest::Runnable { req, from, limit } => StoreReply::Runnable {
                req,
                settlements: self
                    .runnable
                    .range(from..)
                    .take(limit as usize)
                    .map(|id| self.settlements[id.0 as usize])
                    .collect(),
            },
            StoreRequest::Get { req, id } => StoreReply::Found {
                req,
                settlement: self.settlements.get(id.0 as usize).map(|s| Box::new(*s)),
            },
            StoreRequest::Advance {
                req,
                id,
                version,
                stage,
                fence,
                step,
            } => self.advance(req, id, version, stage, fence, step),
        };
        ctx.reply(from, reply);
    }

    fn initiate<M: Clone + From<StoreNotice>>(
        &mut self,
        req: RequestId,
        key: IdempotencyKey,
        request: SettlementRequest,
        ctx: &mut Ctx<'_, M>,
    ) -> StoreReply {
        if let Some(&id) = self.keys.get(&key) {
            return if self.settlements[id.0 as usize].request == request {
                StoreReply::Initiated { req, id }
            } else {
                StoreReply::KeyConflict { req, existing: id }
            };
        }
        let id = SettlementId(self.settlements.len() as u64);
        let settlement = Settlement::new(id, key, request);
        self.settlements.push(settlement);
        self.keys.insert(key, id);
        self.runnable.insert(id);
        self.effects.push(StoreEffect::Created { id, key, request });
        if !self.workers.is_empty() {
            let worker = self.workers[self.next_hint % self.workers.len()];
            self.next_hint += 1;
            ctx.send(
                worker,
                StoreNotice::WorkAvailable {
                    settlement: Box::new(settlement),
                },
            );
        }
        StoreReply::Initiated { req, id }
    }

    #[allow(clippy::too_many_arguments)]
    fn advance(
        &mut self,
        req: RequestId,
        id: SettlementId,
        version: u64,
        stage: Stage,
        fence: u64,
        step: Advance,
    ) -> StoreReply {
        let Some(current) = self.settlements.get_mut(id.0 as usize) else {
            panic!("advance of unknown settlement {id}: callers only learn ids from the store");
        };
        let fresh = current.version == version && current.stage == stage && fence >= current.fence;
        let mut next = *current;
        if !fresh || next.apply(&step).is_err() {
            return StoreReply::Conflict {
                req,
                current: Box::new(*current),
            };
        }
        next.fence = fence;
        *current = next;
        if next.stage.is_terminal() {
            self.runnable.remove(&id);
        }
        self.effects.push(StoreEffect::Advanced {
            id,
            from: stage,
            to: next.stage,
            fence,
        });
        StoreReply::Advanced {
            req,
            id,
            version: next.version,
        }
    }
}
