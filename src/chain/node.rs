//! A chain as a node of the simulation: it seals a block every block time,
//! answers RPC calls from its ledger, and suffers the chain faults planned
//! for it (halts, reorgs, mint pauses). Chains do not crash: an outage is a
//! halt, not a process crash. A chain's clock is true time (chains agree on
//! time by consensus; skew is the engine's problem).

use super::ledger::{Ledger, MempoolFaults};
use super::receipt::Effect;
use super::rpc::{ChainFault, ChainReply, ChainRequest, ChainTimer};
use crate::sim::{Ctx, Micros, NodeId, Ratio};
use rand::Rng;

/// One simulated chain.
pub struct ChainNode {
    ledger: Ledger,
    mempool: MempoolFaults,
    /// Share of a reorged block's transactions that never come back.
    reorg_loss: Ratio,
    /// Effects since the checkers last looked.
    effects: Vec<Effect>,
}

impl ChainNode {
    /// A chain node around its ledger.
    pub fn new(ledger: Ledger, mempool: MempoolFaults, reorg_loss: Ratio) -> ChainNode {
        ChainNode {
            ledger,
            mempool,
            reorg_loss,
            effects: Vec::new(),
        }
    }

    /// The chain's state, for the checkers' ground truth.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The heal phase: the mempool stops losing transactions.
    pub fn calm(&mut self) {
        self.mempool = MempoolFaults {
            drop: Ratio::NEVER,
            stuck: Ratio::NEVER,
        };
    }

    /// Hands over the effects since the last call by swapping them into
    /// `into` (which must be empty): no effect is copied.
    pub fn take_effects(&mut self, into: &mut Vec<Effect>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.effects, into);
    }

    /// True if anything happened since the checkers last looked.
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

    /// A timer fired, or a fault struck.
    pub fn on_timer<M: Clone + From<ChainTimer>>(
        &mut self,
        timer: ChainTimer,
        ctx: &mut Ctx<'_, M>,
    ) {
        match timer {
            ChainTimer::Block => {
                self.ledger
                    .produce_block(ctx.now(), self.mempool, ctx.rng(), &mut self.effects);
                ctx.set_timer(
                    Micros(self.ledger.params().block_time_us),
                    ChainTimer::Block,
                );
            }
            ChainTimer::Fault(ChainFault::Halt { duration_us }) => {
                self.ledger.set_halted(true);
                ctx.set_timer(Micros(duration_us), ChainTimer::Resume);
            }
            ChainTimer::Fault(ChainFault::Reorg { depth }) => {
                self.ledger
                    .reorg(depth, self.reorg_loss, ctx.rng(), &mut self.effects);
            }
            ChainTimer::Fault(ChainFault::MintPause { duration_us }) => {
                self.ledger.set_mint_paused(true);
                ctx.set_timer(Micros(duration_us), ChainTimer::Unpause);
            }
            ChainTimer::Resume => self.ledger.set_halted(false),
            ChainTimer::Unpause => self.ledger.set_mint_paused(false),
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
            ChainRequest::Submit { req, .. }
            | ChainRequest::Receipt { req, .. }
            | ChainRequest::Slot { req, .. }
                if self.ledger.halted() =>
            {
                ChainReply::Unavailable { req }
            }
            ChainRequest::Submit { req, tx } => ChainReply::Submitted {
                req,
                result: self.ledger.submit(tx, ctx.now()),
                clock: self.ledger.clock(ctx.now()),
            },
            ChainRequest::Receipt { req, hash } => ChainReply::Receipt {
                req,
                receipt: self.ledger.receipt(hash),
                clock: self.ledger.clock(ctx.now()),
            },
            ChainRequest::Slot { req, id } => {
                let (state, is_final) = self.ledger.slot(id);
                ChainReply::Slot {
                    req,
                    id,
                    state,
                    is_final,
                }
            }
        };
        ctx.reply(from, reply);
    }
}
