//! A chain as a node of the simulation: it seals a block every block time and
//! answers RPC calls from its ledger. Chains are the environment: they do not
//! crash (an outage is a chain fault, not a process crash).

use super::ledger::{Effect, Ledger};
use super::rpc::{ChainReply, ChainRequest, ChainTimer};
use crate::sim::{Ctx, Micros, NodeId};
use rand::Rng;

/// One simulated chain.
pub struct ChainNode {
    ledger: Ledger,
    /// Supply changes since the checkers last looked.
    effects: Vec<Effect>,
}

impl ChainNode {
    /// A chain node around its ledger.
    pub fn new(ledger: Ledger) -> ChainNode {
        ChainNode {
            ledger,
            effects: Vec::new(),
        }
    }

    /// The chain's state, for the checkers' ground truth.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Hands over the supply changes since the last call.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, Effect> {
        self.effects.drain(..)
    }

    /// True if supply changed since the checkers last looked.
    pub fn has_effects(&self) -> bool {
        !self.effects.is_empty()
    }

    /// Boot: the first block comes at a random phase, so chains with equal
    /// block times do not tick in lockstep.
    pub fn on_start<M: Clone + From<ChainTimer>>(&mut self, ctx: &mut Ctx<'_, M>) {
        let block_time = self.ledger.params().block_time_us;
        let phase = ctx.rng().random_range(1..=block_time);
        ctx.set_timer(Micros(phase), ChainTimer::Block);
    }

    /// A timer fired.
    pub fn on_timer<M: Clone + From<ChainTimer>>(
        &mut self,
        timer: ChainTimer,
        ctx: &mut Ctx<'_, M>,
    ) {
        match timer {
            ChainTimer::Block => {
                self.ledger.produce_block(&mut self.effects);
                ctx.set_timer(
                    Micros(self.ledger.params().block_time_us),
                    ChainTimer::Block,
                );
            }
        }
    }

    /// An RPC call arrived.
    pub fn on_request<M: Clone + From<ChainReply>>(
        &mut self,
        from: NodeId,
        request: ChainRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let reply = match request {
            ChainRequest::Submit { req, tx } => ChainReply::Submitted {
                req,
                result: self.ledger.submit(tx),
            },
            ChainRequest::Receipt { req, hash } => ChainReply::Receipt {
                req,
                receipt: self.ledger.receipt(hash),
            },
            ChainRequest::Slot { req, id } => ChainReply::Slot {
                req,
                id,
                state: self.ledger.slot(id),
            },
        };
        ctx.reply(from, reply);
    }
}
