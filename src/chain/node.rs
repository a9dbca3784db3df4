//! A chain as a node of the simulation: it seals a block every block time,
//! answers RPC calls from its ledger as a provider's nodes would (one may
//! not have heard of a pending transaction, one may not have synced the
//! newest blocks), and suffers the chain faults planned for it (halts,
//! reorgs, mint pauses). Chains do not crash: an outage is a halt, not a
//! process crash. A chain's clock is true time (chains agree on time by
//! consensus; skew is the engine's problem).

use super::ledger::{Ledger, MempoolFaults};
use super::receipt::{ChainClock, Effect, Receipt, TxState};
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
    /// Share of reads (receipts, slots) that reach a node behind the head.
    lagging: Ratio,
    /// Effects since the checkers last looked.
    effects: Vec<Effect>,
    /// Receipt reads of a pending transaction answered "not seen".
    unheard_reads: u64,
    /// Reads answered by a node behind the head.
    lagging_reads: u64,
}

impl ChainNode {
    /// A chain node around its ledger.
    pub fn new(
        ledger: Ledger,
        mempool: MempoolFaults,
        reorg_loss: Ratio,
        lagging: Ratio,
    ) -> ChainNode {
        ChainNode {
            ledger,
            mempool,
            reorg_loss,
            lagging,
            effects: Vec::new(),
            unheard_reads: 0,
            lagging_reads: 0,
        }
    }

    /// The chain's state, for the checkers' ground truth.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The heal phase: the mempool stops losing transactions, and every
    /// read reaches a node that has heard and synced everything.
    pub fn calm(&mut self) {
        self.mempool = MempoolFaults {
            drop: Ratio::NEVER,
            stuck: Ratio::NEVER,
            unheard: Ratio::NEVER,
        };
        self.lagging = Ratio::NEVER;
    }

    /// Receipt reads of a pending transaction answered "not seen" so far.
    pub fn unheard_reads(&self) -> u64 {
        self.unheard_reads
    }

    /// Reads answered by a node behind the head so far.
    pub fn lagging_reads(&self) -> u64 {
        self.lagging_reads
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
                self.ledger.reorg(
                    depth,
                    self.reorg_loss,
                    ctx.now(),
                    self.mempool,
                    ctx.rng(),
                    &mut self.effects,
                );
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
            ChainRequest::Receipt { req, hash } => {
                let synced = self.synced_height(ctx.rng());
                ChainReply::Receipt {
                    req,
                    receipt: self.receipt_as_heard(hash, synced, ctx.rng()),
                    clock: self.clock_as_synced(synced, ctx.now()),
                }
            }
            ChainRequest::Slot { req, id } => {
                let synced = self.synced_height(ctx.rng());
                let (state, is_final) = self.ledger.slot_synced_to(id, synced);
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

    /// How far the node a read reaches has synced: the head, or, as the
    /// lagging fault says, a block below it that is not final yet.
    fn synced_height(&mut self, rng: &mut SimRng) -> u64 {
        if self.lagging.chance(rng) {
            if let Some(height) = self.ledger.height_behind(rng) {
                self.lagging_reads += 1;
                return height;
            }
        }
        self.ledger.head()
    }

    /// The chain's clock as a node synced up to block `synced` reads it: the
    /// time now at the head; behind it, the stamp of the last block it has.
    /// Either way no block it has yet to see is stamped earlier, which is
    /// what lets a caller tell "not seen yet" from "never will be".
    fn clock_as_synced(&self, synced: u64, now: Micros) -> ChainClock {
        if synced == self.ledger.head() {
            self.ledger.clock(now)
        } else {
            self.ledger.clock_synced_to(synced)
        }
    }

    /// The receipt of `hash` as the node a read reaches knows it, synced up
    /// to block `synced`. Mempools differ from node to node, so a pending
    /// transaction (or one in a block the node has not synced) may be
    /// unknown to the node asked while another node's block includes it:
    /// "not seen" never means "never will be" until that node's clock says
    /// the transaction expired.
    fn receipt_as_heard(&mut self, hash: TxHash, synced: u64, rng: &mut SimRng) -> Option<Receipt> {
        let receipt = self.ledger.receipt_synced_to(hash, synced)?;
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
        node_with(unheard, Ratio::NEVER)
    }

    fn node_with(unheard: Ratio, lagging: Ratio) -> ChainNode {
        let mempool = MempoolFaults {
            drop: Ratio::NEVER,
            stuck: Ratio::NEVER,
            unheard,
        };
        ChainNode::new(
            Ledger::new(Domain(0), 2, ChainParams::small(), 7),
            mempool,
            Ratio::NEVER,
            lagging,
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
        assert_eq!(
            chain.receipt_as_heard(hash, chain.ledger.head(), &mut rng),
            None
        );
        assert_eq!(
            chain.receipt_as_heard(hash, chain.ledger.head(), &mut rng),
            None
        );
        assert_eq!(chain.unheard_reads(), 2);
        let calm = MempoolFaults {
            unheard: Ratio::NEVER,
            ..chain.mempool
        };
        let mut effects = Vec::new();
        chain
            .ledger
            .produce_block(Micros(1_000), calm, &mut rng, &mut effects);
        let receipt = chain
            .receipt_as_heard(hash, chain.ledger.head(), &mut rng)
            .expect("included");
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
        let receipt = chain
            .receipt_as_heard(hash, chain.ledger.head(), &mut rng)
            .expect("seen");
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
        assert!(chain
            .receipt_as_heard(hash, chain.ledger.head(), &mut rng)
            .is_some());
    }

    #[test]
    fn a_read_behind_the_head_is_answered_as_of_that_block_and_counted() {
        // Proves the lagging fault: a read reaches a node synced below the
        // head (here the only choice, block 0), which has the included burn
        // as pending and tells the time of its last block; each such read is
        // counted, and the heal phase ends the fault.
        let mut rng = Streams::new(1).stream(Stream::Faults);
        let mut chain = node_with(Ratio::NEVER, Ratio::ALWAYS);
        let hash = pending_burn(&mut chain);
        let mut effects = Vec::new();
        let calm = chain.mempool;
        chain
            .ledger
            .produce_block(Micros(1_000), calm, &mut rng, &mut effects);
        let synced = chain.synced_height(&mut rng);
        assert_eq!(synced, 0);
        let receipt = chain.receipt_as_heard(hash, synced, &mut rng);
        assert_eq!(receipt.map(|r| r.state), Some(TxState::Pending));
        assert_eq!(
            chain.clock_as_synced(synced, Micros(1_500)).now,
            Micros::ZERO
        );
        assert_eq!(chain.lagging_reads(), 1);
        chain.calm();
        assert_eq!(chain.synced_height(&mut rng), 1);
        assert_eq!(chain.clock_as_synced(1, Micros(1_500)).now, Micros(1_500));
        assert_eq!(chain.lagging_reads(), 1);
    }

    #[test]
    fn with_the_lagging_fault_off_a_read_draws_nothing() {
        // Proves scenarios without the fault run as before it existed: no
        // read consumes randomness to decide how far its node has synced.
        let mut chain = node(Ratio::NEVER);
        pending_burn(&mut chain);
        let mut effects = Vec::new();
        let calm = chain.mempool;
        let mut rng = Streams::new(1).stream(Stream::Faults);
        chain
            .ledger
            .produce_block(Micros(1_000), calm, &mut rng, &mut effects);
        let mut untouched = rng.clone();
        assert_eq!(chain.synced_height(&mut rng), 1);
        assert_eq!(rng.next_u64(), untouched.next_u64());
    }
}
