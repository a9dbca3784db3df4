//! A chain as a node of the simulation: it seals a block every block time,
//! answers RPC calls from its ledger as a provider's nodes would (one may
//! not have heard of a pending transaction), and suffers the chain faults
//! planned for it (halts, reorgs, mint pauses). Chains do not crash: an
//! outage is a halt, not a process crash. A chain's clock is true time
//! (chains agree on time by consensus; skew is the engine's problem).

use super::ledger::{Ledger, MempoolFaults};
use super::receipt::{Effect, Receipt, TxState};
use super::rpc::{ChainFault, ChainReply, ChainRequest, ChainTimer};
use super::types::TxHash;
use crate::sim::{Ctx, Micros, NodeId, Ratio, SimRng};
use rand::Rng;

/// One simulated chain.
pub struct ChainNode {
    ledger: Ledger,
    mempool: MempoolFaults,
    /// Share of a reorged block's transactions that never come back.
    reorg_loss: Ratio,
    /// Effects since the checkers last looked.
    effects: Vec<Effect>,
    /// Receipt reads of a pending transaction answered "not seen".
    unheard_reads: u64,
}

impl ChainNode {
    /// A chain node around its ledger.
    pub fn new(ledger: Ledger, mempool: MempoolFaults, reorg_loss: Ratio) -> ChainNode {
        ChainNode {
            ledger,
            mempool,
            reorg_loss,
            effects: Vec::new(),
            unheard_reads: 0,
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
            unheard: Ratio::NEVER,
        };
    }

    /// Receipt reads of a pending transaction answered "not seen" so far.
    pub fn unheard_reads(&self) -> u64 {
        self.unheard_reads
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
                receipt: self.receipt_as_heard(hash, ctx.rng()),
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

    /// The receipt of `hash` as the node a read reaches knows it. Mempools
    /// differ from node to node, so a pending transaction may be unknown to
    /// the node asked while another node's block still includes it: "not
    /// seen" never means "never will be" until the chain's clock says the
    /// transaction expired. Included transactions every node knows.
    fn receipt_as_heard(&mut self, hash: TxHash, rng: &mut SimRng) -> Option<Receipt> {
        let receipt = self.ledger.receipt(hash)?;
        if receipt.state == TxState::Pending && self.mempool.unheard.chance(rng) {
            self.unheard_reads += 1;
            return None;
        }
        Some(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Address, Amount, ChainParams, Domain, Tx, TxBody};
    use crate::sim::{Stream, Streams};
    use rand::RngCore;

    fn node(unheard: Ratio) -> ChainNode {
        let mempool = MempoolFaults {
            drop: Ratio::NEVER,
            stuck: Ratio::NEVER,
            unheard,
        };
        ChainNode::new(
            Ledger::new(Domain(0), 2, ChainParams::small(), 7),
            mempool,
            Ratio::NEVER,
        )
    }

    fn pending_burn(node: &mut ChainNode) -> TxHash {
        let body = TxBody::Burn {
            sender: Address(0),
            amount: Amount(100),
            dest: Domain(1),
            recipient: Address(1),
            memo: 1,
        };
        let tx = Tx::sign(body, Micros::MAX, 1);
        node.ledger.submit(tx, Micros::ZERO);
        tx.hash
    }

    #[test]
    fn a_node_that_has_not_heard_says_not_seen_only_while_pending() {
        // Proves the unheard fault hides a pending transaction, counts each
        // hidden read, and never hides one a block has included.
        let mut rng = Streams::new(1).stream(Stream::Faults);
        let mut chain = node(Ratio::ALWAYS);
        let hash = pending_burn(&mut chain);
        assert_eq!(chain.receipt_as_heard(hash, &mut rng), None);
        assert_eq!(chain.receipt_as_heard(hash, &mut rng), None);
        assert_eq!(chain.unheard_reads(), 2);
        let calm = MempoolFaults {
            unheard: Ratio::NEVER,
            ..chain.mempool
        };
        let mut effects = Vec::new();
        chain
            .ledger
            .produce_block(Micros(1_000), calm, &mut rng, &mut effects);
        let receipt = chain.receipt_as_heard(hash, &mut rng).expect("included");
        assert!(matches!(receipt.state, TxState::Included { .. }));
        assert_eq!(chain.unheard_reads(), 2);
    }

    #[test]
    fn with_the_fault_off_a_read_draws_nothing() {
        // Proves a scenario without the fault runs as builds before it did:
        // no read of a pending transaction consumes randomness.
        let mut chain = node(Ratio::NEVER);
        let hash = pending_burn(&mut chain);
        let mut rng = Streams::new(1).stream(Stream::Faults);
        let mut untouched = rng.clone();
        let receipt = chain.receipt_as_heard(hash, &mut rng).expect("seen");
        assert_eq!(receipt.state, TxState::Pending);
        assert_eq!(rng.next_u64(), untouched.next_u64());
        assert_eq!(chain.unheard_reads(), 0);
    }

    #[test]
    fn the_heal_phase_ends_the_fault() {
        // Proves calm() switches the unheard fault off with the others, so a
        // healed chain answers every read truly.
        let mut rng = Streams::new(1).stream(Stream::Faults);
        let mut chain = node(Ratio::ALWAYS);
        let hash = pending_burn(&mut chain);
        chain.calm();
        assert!(chain.receipt_as_heard(hash, &mut rng).is_some());
    }
}
