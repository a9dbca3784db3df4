//! One chain's state machine: blocks, mempool, balances, supply, the burn
//! nonce counter, the destination nonce slots and the refunds. Pure: the
//! chain node drives it from the network, its block timer and chain faults.
//!
//! State changes happen when a block includes a transaction; a transaction is
//! final once `finality_depth` blocks sit on top of its block. Until then a
//! reorg can undo it: every non-final block keeps an undo record per
//! transaction, and a reorg replays them backwards, putting the transactions
//! back in the mempool (or losing them).
//!
//! Blocks are stamped with the chain's time, and a transaction is included
//! only up to its `valid_until`. That lets the chain keep a bounded history:
//! `history_us` after a transaction's validity has passed on a final block,
//! its hash, its receipt and the burn it made are forgotten. Nothing can
//! replay it (it is expired), and the answers say when a hash is forgotten
//! rather than unknown. What is never forgotten is the nonce slots: a
//! message's attestation does not expire.

mod burns;
mod reorg;
mod slots;
mod tx_index;

use super::receipt::{ChainClock, Effect, Outcome, Receipt, Revert, SlotState, Submitted, TxState};
use super::types::{
    Address, Amount, Attestation, BurnMessage, Domain, MessageId, Nonce, Tx, TxBody, TxHash,
};
use crate::sim::{Micros, Ratio, SimRng};
use burns::Burns;
use rand::Rng;
use serde::{Deserialize, Serialize};
use slots::Slots;
use std::collections::{BTreeSet, VecDeque};
use tx_index::Indexed;

/// The fixed shape of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainParams {
    /// A human name (`ethereum`, `base`).
    pub name: String,
    /// Time between blocks.
    pub block_time_us: u64,
    /// Blocks on top of a transaction's block before it is final.
    pub finality_depth: u64,
    /// The largest amount one burn may move; larger burns revert.
    pub burn_limit: u64,
    /// How many user accounts exist.
    pub accounts: u32,
    /// Every account's starting balance.
    pub initial_balance: u64,
    /// The most transactions one block includes.
    pub block_capacity: u32,
    /// The most transactions the mempool holds; more are refused.
    pub mempool_capacity: u32,
    /// Accounts that may not receive USDC here: a mint to one reverts,
    /// permanently (a sanctions list).
    #[serde(default)]
    pub denied_recipients: Vec<u32>,
    /// How long after a transaction's validity has passed (on a final block)
    /// the chain still answers for it, as a node's transaction-lookup limit;
    /// then its hash, receipt and burn are forgotten.
    pub history_us: u64,
}

/// What can go wrong in a chain's mempool: per transaction per block
/// (dropped, stuck), and per receipt read (unheard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolFaults {
    /// Share of pending transactions dropped from the mempool.
    pub drop: Ratio,
    /// Share of pending transactions left out of the block (stuck).
    pub stuck: Ratio,
    /// Share of receipt reads of a pending transaction answered as by a
    /// node whose mempool never got it.
    pub unheard: Ratio,
}

/// How to undo one executed transaction.
#[derive(Clone, Copy, Debug)]
enum Undo {
    Nothing,
    Burn(BurnMessage),
    Mint(BurnMessage),
    Cancel(BurnMessage),
    Refund(BurnMessage),
}

/// A block that is not final yet.
struct Block {
    height: u64,
    time: Micros,
    txs: Vec<(Tx, Undo)>,
}

/// One chain's state.
pub struct Ledger {
    domain: Domain,
    domains: u32,
    params: ChainParams,
    attester_key: u64,
    head: u64,
    supply: Amount,
    balances: Vec<Amount>,
    mempool: VecDeque<Tx>,
    /// Every transaction the chain still answers for, by hash (forgotten in
    /// the order of `expiring`): only ever looked up, never iterated,
    /// so a hash map with a fixed, seedless hasher keeps the run
    /// deterministic (STYLE.md rule 1) and spares a tree walk per call.
    #[allow(clippy::disallowed_types)]
    txs: std::collections::HashMap<TxHash, Indexed, rustc_hash::FxBuildHasher>,
    /// Destination slots (whether one is final is told by the blocks
    /// above `finalized`: a slot none of them took was taken in a final
    /// block).
    slots: Slots,
    /// This chain's burns, by nonce (refunds check against them).
    burns: Burns,
    refunded: BTreeSet<Nonce>,
    /// The newest final height: it only grows, even when a reorg lowers the
    /// head (a final block stays final).
    finalized: u64,
    /// The blocks above `finalized`, oldest first: all a reorg may undo.
    recent: VecDeque<Block>,
    /// The transaction list of the last block to become final, emptied, for
    /// the next block to fill: a block a few milliseconds apart needs no
    /// allocation of its own.
    spare_txs: Vec<(Tx, Undo)>,
    /// The stamp of the newest final block.
    final_time: Micros,
    /// Every indexed transaction's validity and hash, in order of first
    /// submission: forgotten from the front.
    expiring: VecDeque<(Micros, TxHash)>,
    halted: bool,
    mint_paused: bool,
}

impl Ledger {
    /// A chain at height zero with every account funded. `domains` is how
    /// many chains exist; `attester_key` verifies attestations.
    pub fn new(domain: Domain, domains: u32, params: ChainParams, attester_key: u64) -> Ledger {
        let balance = Amount(params.initial_balance);
        let supply = Amount(
            params
                .initial_balance
                .checked_mul(u64::from(params.accounts))
                .expect("initial supply overflows"),
        );
        Ledger {
            domain,
            domains,
            balances: vec![balance; params.accounts as usize],
            params,
            attester_key,
            head: 0,
            supply,
            mempool: VecDeque::new(),
            txs: Default::default(),
            slots: Slots::new(domains),
            burns: Burns::new(domain),
            refunded: BTreeSet::new(),
            finalized: 0,
            recent: VecDeque::new(),
            spare_txs: Vec::new(),
            final_time: Micros::ZERO,
            expiring: VecDeque::new(),
            halted: false,
            mint_paused: false,
        }
    }

    /// This chain's domain.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// This chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// USDC in circulation here now.
    pub fn supply(&self) -> Amount {
        self.supply
    }

    /// How many transactions this chain still answers for: the history it
    /// keeps (what `history_us` bounds).
    pub fn remembered(&self) -> usize {
        self.txs.len()
    }

    /// The height of the newest block.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// True if a transaction in block `height` can no longer be undone.
    pub fn is_final(&self, height: u64) -> bool {
        height > 0 && height <= self.finalized
    }

    /// True while the chain is halted: no blocks, no RPC.
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// Halts or resumes the chain.
    pub fn set_halted(&mut self, halted: bool) {
        self.halted = halted;
    }

    /// Pauses or resumes minting (mints revert with `MintPaused` meanwhile).
    pub fn set_mint_paused(&mut self, paused: bool) {
        self.mint_paused = paused;
    }

    /// Accepts a signed transaction into the mempool at chain time `now`,
    /// or recognises it, or says it is past its time.
    pub fn submit(&mut self, tx: Tx, now: Micros) -> Submitted {
        if self.txs.contains_key(&tx.hash) {
            return Submitted::Known;
        }
        if tx.valid_until < self.forgotten_before() {
            return Submitted::Forgotten;
        }
        if tx.valid_until < now {
            return Submitted::Expired;
        }
        if self.mempool.len() >= self.params.mempool_capacity as usize {
            return Submitted::MempoolFull;
        }
        self.txs.insert(tx.hash, Indexed::PENDING);
        self.expiring.push_back((tx.valid_until, tx.hash));
        self.mempool.push_back(tx);
        Submitted::Accepted
    }

    /// Transactions valid until before this are forgotten.
    pub fn forgotten_before(&self) -> Micros {
        Micros(self.final_time.0.saturating_sub(self.params.history_us))
    }

    /// The chain's clock at `now`, as broadcast and receipt answers carry it.
    pub fn clock(&self, now: Micros) -> ChainClock {
        ChainClock {
            now,
            forgotten_before: self.forgotten_before(),
        }
    }

    /// Seals the next block, stamped `now`: executes up to `block_capacity`
    /// mempool transactions in order (some dropped or left stuck, as `faults`
    /// say; the expired dropped), reporting every effect, then forgets what
    /// has passed out of history. A halted chain seals nothing.
    pub fn produce_block(
        &mut self,
        now: Micros,
        faults: MempoolFaults,
        rng: &mut SimRng,
        effects: &mut Vec<Effect>,
    ) {
        if self.halted {
            return;
        }
        self.head += 1;
        let mut block = Block {
            height: self.head,
            time: now,
            txs: std::mem::take(&mut self.spare_txs),
        };
        // Each waiting transaction once, in order; what stays goes round to
        // the back, so the pool keeps its order without a second deque.
        for _ in 0..self.mempool.len() {
            let tx = self.mempool.pop_front().expect("counted");
            if tx.valid_until < now {
                self.txs.remove(&tx.hash);
            } else if block.txs.len() >= self.params.block_capacity as usize
                || faults.stuck.chance(rng)
            {
                self.mempool.push_back(tx);
            } else if faults.drop.chance(rng) {
                self.txs.remove(&tx.hash);
            } else {
                let (outcome, undo) = self.execute(&tx, effects);
                let state = Indexed::included(self.head, outcome);
                let previous = self.txs.insert(tx.hash, state);
                assert_eq!(
                    previous,
                    Some(Indexed::PENDING),
                    "executed a transaction twice"
                );
                block.txs.push((tx, undo));
            }
        }
        self.recent.push_back(block);
        self.finalized = self
            .finalized
            .max(self.head.saturating_sub(self.params.finality_depth));
        while let Some(block) = self.recent.front() {
            if block.height > self.finalized {
                break;
            }
            self.final_time = block.time;
            let mut txs = self.recent.pop_front().expect("just seen").txs;
            txs.clear();
            self.spare_txs = txs;
        }
        self.forget();
    }

    /// Forgets the transactions, burns and refunds that passed out of
    /// history.
    fn forget(&mut self) {
        let horizon = self.forgotten_before();
        while let Some(&(valid_until, hash)) = self.expiring.front() {
            if valid_until >= horizon {
                break;
            }
            self.txs.remove(&hash);
            self.expiring.pop_front();
        }
        self.burns.forget_before(horizon);
        let first = self.burns.first_kept();
        if self.refunded.first().is_some_and(|n| *n < first) {
            self.refunded = self.refunded.split_off(&first);
        }
    }

    fn execute(&mut self, tx: &Tx, effects: &mut Vec<Effect>) -> (Outcome, Undo) {
        let result = match tx.body {
            TxBody::Burn { .. } => self.burn(tx, effects),
            TxBody::Mint {
                message,
                attestation,
            } => self.mint(tx.hash, message, attestation, effects),
            TxBody::Cancel { message } => self.cancel(message, effects),
            TxBody::Refund { message, proof } => self.refund(message, proof, effects),
        };
        result.unwrap_or_else(|revert| (Outcome::Reverted(revert), Undo::Nothing))
    }

    fn burn(&mut self, tx: &Tx, effects: &mut Vec<Effect>) -> Result<(Outcome, Undo), Revert> {
        let TxBody::Burn {
            sender,
            amount,
            dest,
            recipient,
            memo,
        } = tx.body
        else {
            unreachable!("burn called with a {:?}", tx.body);
        };
        if dest == self.domain || dest.0 >= self.domains {
            return Err(Revert::WrongDomain);
        }
        if amount == Amount::ZERO || amount.0 > self.params.burn_limit {
            return Err(Revert::OverLimit);
        }
        let balance = self
            .balances
            .get_mut(sender.0 as usize)
            .ok_or(Revert::InsufficientBalance)?;
        *balance = balance
            .checked_sub(amount)
            .ok_or(Revert::InsufficientBalance)?;
        self.supply = self
            .supply
            .checked_sub(amount)
            .expect("supply below a balance");
        let message = BurnMessage {
            id: MessageId {
                source: self.domain,
                nonce: self.burns.next_nonce(),
            },
            dest,
            sender,
            recipient,
            amount,
            memo,
        };
        self.burns.push(message, tx.valid_until);
        effects.push(Effect::Burned {
            message,
            height: self.head,
        });
        Ok((Outcome::Burned(message), Undo::Burn(message)))
    }

    fn mint(
        &mut self,
        hash: TxHash,
        message: BurnMessage,
        attestation: Attestation,
        effects: &mut Vec<Effect>,
    ) -> Result<(Outcome, Undo), Revert> {
        if message.dest != self.domain || message.recipient.0 as usize >= self.balances.len() {
            return Err(Revert::WrongDomain);
        }
        if attestation != Attestation::sign(self.attester_key, &message) {
            return Err(Revert::BadAttestation);
        }
        if self.params.denied_recipients.contains(&message.recipient.0) {
            return Err(Revert::RecipientDenied);
        }
        if self.mint_paused {
            return Err(Revert::MintPaused);
        }
        // The slot flip and the mint are one atomic step: the check and the
        // write cannot be separated by anything else on the chain.
        self.slots.take(message.id, SlotState::Minted)?;
        self.credit(message.recipient, message.amount);
        effects.push(Effect::Minted {
            message,
            tx: hash,
            height: self.head,
        });
        Ok((Outcome::Minted, Undo::Mint(message)))
    }

    fn cancel(
        &mut self,
        message: BurnMessage,
        effects: &mut Vec<Effect>,
    ) -> Result<(Outcome, Undo), Revert> {
        if message.dest != self.domain {
            return Err(Revert::WrongDomain);
        }
        self.slots.take(message.id, SlotState::Cancelled)?;
        effects.push(Effect::Cancelled {
            message,
            height: self.head,
        });
        Ok((Outcome::Cancelled, Undo::Cancel(message)))
    }

    fn refund(
        &mut self,
        message: BurnMessage,
        proof: Option<Attestation>,
        effects: &mut Vec<Effect>,
    ) -> Result<(Outcome, Undo), Revert> {
        if message.id.source != self.domain {
            return Err(Revert::WrongDomain);
        }
        if proof.is_some_and(|p| p != Attestation::sign_cancel(self.attester_key, &message)) {
            return Err(Revert::BadAttestation);
        }
        if self.burns.forgot(message.id.nonce) {
            return Err(Revert::BeyondHistory);
        }
        let burned = self.burns.get(message.id.nonce) == Some(message);
        if !burned || !self.refunded.insert(message.id.nonce) {
            return Err(Revert::NotRefundable);
        }
        self.credit(message.sender, message.amount);
        effects.push(Effect::Refunded {
            message,
            height: self.head,
        });
        Ok((Outcome::Refunded, Undo::Refund(message)))
    }

    fn credit(&mut self, to: Address, amount: Amount) {
        let balance = &mut self.balances[to.0 as usize];
        *balance = balance.checked_add(amount).expect("balance overflow");
        self.supply = self.supply.checked_add(amount).expect("supply overflow");
    }

    fn debit(&mut self, from: Address, amount: Amount) {
        let balance = &mut self.balances[from.0 as usize];
        *balance = balance
            .checked_sub(amount)
            .expect("undoing more than was credited");
        self.supply = self
            .supply
            .checked_sub(amount)
            .expect("supply below a balance");
    }

    /// What happened to a transaction, if this chain has seen it.
    pub fn receipt(&self, hash: TxHash) -> Option<Receipt> {
        self.receipt_synced_to(hash, self.head)
    }

    /// The receipt of `hash` as a node that has synced the chain up to block
    /// `synced` (at least the newest final one) tells it: a transaction in a
    /// later block is still pending there, and nearer its finality than the
    /// node can see.
    pub fn receipt_synced_to(&self, hash: TxHash, synced: u64) -> Option<Receipt> {
        debug_assert!(self.finalized <= synced && synced <= self.head);
        let state = match self.txs.get(&hash)?.expand(&self.burns)? {
            TxState::Included { height, .. } if height > synced => TxState::Pending,
            state => state,
        };
        let (is_final, blocks_left) = match state {
            TxState::Pending => (false, self.params.finality_depth + 1),
            TxState::Included { height, .. } => {
                let final_at = height + self.params.finality_depth;
                (self.is_final(height), final_at.saturating_sub(synced))
            }
        };
        Some(Receipt {
            hash,
            state,
            is_final,
            final_in_us: Micros(blocks_left * self.params.block_time_us),
        })
    }

    /// A height a node that has not synced the newest blocks may have
    /// reached: one of the non-final blocks below the head, or the newest
    /// final one (nodes fall behind by blocks, not by finality). `None` if
    /// no block is above the newest final one.
    pub fn height_behind(&self, rng: &mut SimRng) -> Option<u64> {
        (self.head > self.finalized).then(|| rng.random_range(self.finalized..self.head))
    }

    /// The chain's clock as a node synced up to block `synced` (at least the
    /// newest final one) reads it: the stamp of that block, since every
    /// block it has yet to see is stamped later.
    pub fn clock_synced_to(&self, synced: u64) -> ChainClock {
        debug_assert!(self.finalized <= synced && synced <= self.head);
        let now = match synced.checked_sub(self.finalized + 1) {
            None => self.final_time,
            Some(above_final) => self.recent[above_final as usize].time,
        };
        ChainClock {
            now,
            forgotten_before: self.forgotten_before(),
        }
    }

    /// The state of the nonce slot for `id` on this (destination) chain, and
    /// whether that state is final.
    pub fn slot(&self, id: MessageId) -> (SlotState, bool) {
        self.slot_synced_to(id, self.head)
    }

    /// The state of the nonce slot for `id` as a node synced up to block
    /// `synced` (at least the newest final one) tells it: a slot taken in a
    /// later block is still unused there.
    pub fn slot_synced_to(&self, id: MessageId, synced: u64) -> (SlotState, bool) {
        let state = self.slots.state(id);
        if state == SlotState::Unused {
            return (state, false);
        }
        let taken_in = self.recent.iter().find(|b| {
            b.txs
                .iter()
                .any(|(_, undo)| matches!(undo, Undo::Mint(m) | Undo::Cancel(m) if m.id == id))
        });
        match taken_in {
            None => (state, true),
            Some(block) if block.height > synced => (SlotState::Unused, false),
            Some(_) => (state, false),
        }
    }
}

#[cfg(test)]
impl ChainParams {
    /// A small, fast chain for unit tests: 1 ms blocks, final after two,
    /// three accounts (the third denied), room for ten transactions.
    pub(crate) fn small() -> ChainParams {
        ChainParams {
            name: "test".into(),
            block_time_us: 1_000,
            finality_depth: 2,
            burn_limit: 1_000,
            accounts: 3,
            initial_balance: 5_000,
            block_capacity: 10,
            mempool_capacity: 10,
            denied_recipients: vec![2],
            history_us: 10_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Lookup, UndoneEffect};
    use crate::sim::{Stream, Streams};

    const KEY: u64 = 99;
    const CALM: MempoolFaults = MempoolFaults {
        drop: Ratio::NEVER,
        stuck: Ratio::NEVER,
        unheard: Ratio::NEVER,
    };

    fn rng() -> SimRng {
        Streams::new(1).stream(Stream::Faults)
    }

    /// The chain's time: one block time per block so far.
    fn now(l: &Ledger) -> Micros {
        Micros(l.head() * 1_000)
    }

    fn block(l: &mut Ledger) -> Vec<Effect> {
        let mut effects = Vec::new();
        l.produce_block(
            Micros((l.head() + 1) * 1_000),
            CALM,
            &mut rng(),
            &mut effects,
        );
        effects
    }

    fn submit(l: &mut Ledger, tx: Tx) -> Submitted {
        l.submit(tx, now(l))
    }

    /// A transaction that never expires.
    fn sign(body: TxBody, salt: u64) -> Tx {
        Tx::sign(body, Micros::MAX, salt)
    }

    fn burn(amount: u64, salt: u64) -> Tx {
        sign(
            TxBody::Burn {
                sender: Address(0),
                amount: Amount(amount),
                dest: Domain(1),
                recipient: Address(1),
                memo: 7,
            },
            salt,
        )
    }

    fn outcome(l: &Ledger, tx: Tx) -> Outcome {
        match l.receipt(tx.hash).expect("known").state {
            TxState::Included { outcome, .. } => outcome,
            TxState::Pending => panic!("still pending"),
        }
    }

    fn burned_message(src: &mut Ledger, tx: Tx) -> BurnMessage {
        submit(src, tx);
        block(src);
        match outcome(src, tx) {
            Outcome::Burned(m) => m,
            other => panic!("burn did not succeed: {other:?}"),
        }
    }

    fn mint(m: BurnMessage, salt: u64) -> Tx {
        let attestation = Attestation::sign(KEY, &m);
        sign(
            TxBody::Mint {
                message: m,
                attestation,
            },
            salt,
        )
    }

    #[test]
    fn burn_reduces_supply_and_assigns_unique_nonces() {
        // Proves a burn leaves circulation and each burn gets its own nonce.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let a = burned_message(&mut src, burn(100, 1));
        let b = burned_message(&mut src, burn(100, 2));
        assert_eq!(src.supply(), Amount(15_000 - 200));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn rebroadcast_of_the_same_transaction_is_harmless() {
        // Proves the same signed burn broadcast twice burns once.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = burn(100, 1);
        assert_eq!(submit(&mut src, tx), Submitted::Accepted);
        assert_eq!(submit(&mut src, tx), Submitted::Known);
        block(&mut src);
        assert_eq!(submit(&mut src, tx), Submitted::Known);
        block(&mut src);
        assert_eq!(src.supply(), Amount(15_000 - 100));
    }

    #[test]
    fn burns_above_the_limit_revert() {
        // Proves the per-message limit is enforced on chain.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = burn(1_001, 1);
        submit(&mut src, tx);
        block(&mut src);
        assert_eq!(outcome(&src, tx), Outcome::Reverted(Revert::OverLimit));
        assert_eq!(src.supply(), Amount(15_000));
    }

    #[test]
    fn second_mint_of_a_message_reverts_with_nonce_already_used() {
        // Proves the nonce slot admits exactly one mint per message.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let (mint1, mint2) = (mint(m, 1), mint(m, 2));
        submit(&mut dst, mint1);
        submit(&mut dst, mint2);
        assert_eq!(block(&mut dst).len(), 1);
        assert_eq!(dst.slot(m.id).0, SlotState::Minted);
        assert_eq!(
            outcome(&dst, mint2),
            Outcome::Reverted(Revert::NonceAlreadyUsed)
        );
        assert_eq!(dst.supply(), Amount(15_100));
    }

    #[test]
    fn a_slot_is_final_with_its_block_and_a_reorg_frees_it() {
        // Proves the slot's finality follows the block that took it, and a
        // reorg of that block makes the slot unused again.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        submit(&mut dst, mint(m, 1));
        block(&mut dst);
        assert_eq!(dst.slot(m.id), (SlotState::Minted, false));
        let mut effects = Vec::new();
        dst.unwind(1, Ratio::NEVER, &mut rng(), &mut effects);
        assert_eq!(dst.slot(m.id), (SlotState::Unused, false));
        for _ in 0..3 {
            block(&mut dst);
        }
        assert_eq!(dst.slot(m.id), (SlotState::Minted, true));
    }

    #[test]
    fn forged_attestation_and_denied_recipient_are_refused() {
        // Proves a mint needs the attester's signature and an allowed recipient.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let forged = sign(
            TxBody::Mint {
                message: m,
                attestation: Attestation(1),
            },
            1,
        );
        submit(&mut dst, forged);
        block(&mut dst);
        assert_eq!(
            outcome(&dst, forged),
            Outcome::Reverted(Revert::BadAttestation)
        );
        let denied = BurnMessage {
            recipient: Address(2),
            ..m
        };
        let tx = mint(denied, 2);
        submit(&mut dst, tx);
        block(&mut dst);
        assert_eq!(
            outcome(&dst, tx),
            Outcome::Reverted(Revert::RecipientDenied)
        );
        assert_eq!(dst.slot(m.id).0, SlotState::Unused);
    }

    #[test]
    fn cancel_and_mint_race_for_the_slot_and_exactly_one_wins() {
        // Proves the slot arbitrates: a cancel after a mint reverts, a mint
        // after a cancel reverts.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let cancel = sign(TxBody::Cancel { message: m }, 3);
        submit(&mut dst, cancel);
        submit(&mut dst, mint(m, 4));
        block(&mut dst);
        assert_eq!(outcome(&dst, cancel), Outcome::Cancelled);
        assert_eq!(
            outcome(&dst, mint(m, 4)),
            Outcome::Reverted(Revert::NonceAlreadyUsed)
        );
        assert_eq!(dst.supply(), Amount(15_000));
    }

    #[test]
    fn refund_needs_a_cancel_proof_and_happens_once() {
        // Proves a refund returns the amount to the sender once, on a valid
        // cancel proof only.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let bad = sign(
            TxBody::Refund {
                message: m,
                proof: Some(Attestation::sign(KEY, &m)),
            },
            1,
        );
        let good = sign(
            TxBody::Refund {
                message: m,
                proof: Some(Attestation::sign_cancel(KEY, &m)),
            },
            2,
        );
        let again = sign(
            TxBody::Refund {
                message: m,
                proof: Some(Attestation::sign_cancel(KEY, &m)),
            },
            3,
        );
        for tx in [bad, good, again] {
            submit(&mut src, tx);
        }
        block(&mut src);
        assert_eq!(
            outcome(&src, bad),
            Outcome::Reverted(Revert::BadAttestation)
        );
        assert_eq!(outcome(&src, good), Outcome::Refunded);
        assert_eq!(
            outcome(&src, again),
            Outcome::Reverted(Revert::NotRefundable)
        );
        assert_eq!(src.supply(), Amount(15_000));
    }

    #[test]
    fn finality_comes_after_depth_blocks() {
        // Proves a receipt turns final exactly finality_depth blocks later.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = burn(100, 1);
        submit(&mut src, tx);
        block(&mut src);
        assert!(!src.receipt(tx.hash).unwrap().is_final);
        block(&mut src);
        assert!(!src.receipt(tx.hash).unwrap().is_final);
        block(&mut src);
        let r = src.receipt(tx.hash).unwrap();
        assert!(r.is_final);
        assert_eq!(r.final_in_us, Micros::ZERO);
    }

    #[test]
    fn a_node_behind_the_head_answers_as_of_its_last_block() {
        // Proves a node synced to a block below the head sees a transaction
        // of a later block as pending, tells its time by its last block's
        // stamp, and so never calls expired what a later block included.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        block(&mut src); // height 1, stamped 1,000
        let tx = Tx::sign(burn(100, 1).body, Micros(2_000), 1);
        submit(&mut src, tx);
        block(&mut src); // height 2, stamped 2,000: includes it
        let behind = src.receipt_synced_to(tx.hash, 1).expect("known");
        assert_eq!(behind.state, TxState::Pending);
        assert!(!behind.is_final);
        let head = src.receipt(tx.hash).expect("known");
        assert!(matches!(head.state, TxState::Included { height: 2, .. }));
        assert_eq!(head.final_in_us, Micros(2_000));
        assert_eq!(src.clock_synced_to(1).now, Micros(1_000));
        assert_eq!(src.clock_synced_to(0).now, Micros::ZERO);
        // Not seen by that node: still "may be included" by its clock, where
        // the head's clock, past the validity, would say "never will be".
        assert_eq!(
            Lookup::of(tx.valid_until, None, src.clock_synced_to(1)),
            Lookup::Unknown
        );
        assert_eq!(
            Lookup::of(tx.valid_until, None, src.clock(Micros(2_500))),
            Lookup::Expired
        );
    }

    #[test]
    fn a_node_falls_behind_by_non_final_blocks_only() {
        // Proves the heights a node behind may be at run from the newest
        // final block up to, not including, the head.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut rng = rng();
        assert_eq!(src.height_behind(&mut rng), None);
        for _ in 0..5 {
            block(&mut src);
        }
        let seen: BTreeSet<u64> = (0..100)
            .map(|_| src.height_behind(&mut rng).expect("blocks above final"))
            .collect();
        assert_eq!(seen, BTreeSet::from([3, 4]));
        assert_eq!(src.clock_synced_to(3).now, Micros(3_000));
        assert_eq!(src.clock_synced_to(4).now, Micros(4_000));
    }

    #[test]
    fn a_node_behind_has_not_seen_a_slot_taken_above_it() {
        // Proves a slot read by a node synced below the mint's block is
        // unused there, and not final anywhere until the block is.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, ChainParams::small(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        block(&mut dst);
        submit(&mut dst, mint(m, 1));
        block(&mut dst); // height 2 takes the slot
        assert_eq!(dst.slot_synced_to(m.id, 1), (SlotState::Unused, false));
        assert_eq!(dst.slot_synced_to(m.id, 2), (SlotState::Minted, false));
        block(&mut dst);
        block(&mut dst);
        assert_eq!(dst.slot_synced_to(m.id, 4), (SlotState::Minted, true));
    }

    #[test]
    fn a_reorg_undoes_non_final_blocks_and_returns_their_transactions() {
        // Proves a reorg restores supply, nonces and slots, reports each undo,
        // and puts the transactions back to be included again.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = burn(100, 1);
        submit(&mut src, tx);
        block(&mut src);
        let mut effects = Vec::new();
        src.unwind(1, Ratio::NEVER, &mut rng(), &mut effects);
        assert!(matches!(
            effects[..],
            [Effect::Undone(UndoneEffect::Burned(_))]
        ));
        assert_eq!(src.supply(), Amount(15_000));
        assert_eq!(src.receipt(tx.hash).unwrap().state, TxState::Pending);
        let again = block(&mut src);
        assert!(matches!(again[..], [Effect::Burned { .. }]));
        assert_eq!(src.supply(), Amount(15_000 - 100));
    }

    #[test]
    fn a_reorg_replaces_its_blocks_with_a_fork_at_the_same_heights() {
        // Proves a reorg keeps the head's height: the fork's first block
        // takes the undone burn again at once (reported undone, then burned
        // anew), while a halted chain builds no fork and its head goes back.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = burn(100, 1);
        submit(&mut src, tx);
        block(&mut src);
        block(&mut src);
        let mut effects = Vec::new();
        src.reorg(2, Ratio::NEVER, now(&src), CALM, &mut rng(), &mut effects);
        assert_eq!(src.head(), 2);
        assert!(matches!(
            effects[..],
            [
                Effect::Undone(UndoneEffect::Burned(_)),
                Effect::Burned { .. }
            ]
        ));
        assert_eq!(src.supply(), Amount(15_000 - 100));
        assert!(matches!(
            src.receipt(tx.hash).unwrap().state,
            TxState::Included { height: 1, .. }
        ));
        src.set_halted(true);
        src.reorg(2, Ratio::NEVER, now(&src), CALM, &mut rng(), &mut effects);
        assert_eq!(src.head(), 0);
        assert_eq!(src.receipt(tx.hash).unwrap().state, TxState::Pending);
    }

    #[test]
    fn an_expired_transaction_is_dropped_unincluded_and_refused() {
        // Proves a transaction is included only up to its validity: one
        // stuck in the mempool past it leaves unincluded, a late broadcast
        // is answered Expired, and a lookup says Expired too.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = Tx::sign(burn(100, 1).body, Micros(1_500), 1);
        assert_eq!(submit(&mut src, tx), Submitted::Accepted);
        let always_stuck = MempoolFaults {
            drop: Ratio::NEVER,
            stuck: Ratio::ALWAYS,
            unheard: Ratio::NEVER,
        };
        let mut effects = Vec::new();
        src.produce_block(Micros(1_000), always_stuck, &mut rng(), &mut effects);
        assert_eq!(src.receipt(tx.hash).unwrap().state, TxState::Pending);
        block(&mut src); // stamped 2,000: past its validity
        assert_eq!(src.receipt(tx.hash), None);
        assert_eq!(src.supply(), Amount(15_000));
        assert_eq!(submit(&mut src, tx), Submitted::Expired);
        let clock = src.clock(now(&src));
        assert_eq!(Lookup::of(tx.valid_until, None, clock), Lookup::Expired);
        let fresh = Tx::sign(tx.body, Micros(2_500), 2);
        assert_eq!(Lookup::of(fresh.valid_until, None, clock), Lookup::Unknown);
    }

    #[test]
    fn history_is_forgotten_after_its_time_and_answered_as_forgotten() {
        // Proves a transaction, its receipt and its burn are forgotten once
        // its validity is history_us behind the newest final block: lookups
        // say Forgotten, a replay is refused, and a refund of the burn
        // reverts BeyondHistory instead of paying twice or wrongly.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        let tx = Tx::sign(burn(100, 1).body, Micros(1_000), 1);
        submit(&mut src, tx);
        block(&mut src);
        let m = match outcome(&src, tx) {
            Outcome::Burned(m) => m,
            other => panic!("burn did not succeed: {other:?}"),
        };
        // Final at height 3 (stamped 3,000); forgotten once a final block is
        // stamped after 1,000 + history_us.
        while src.clock(now(&src)).forgotten_before <= Micros(1_000) {
            assert!(src.receipt(tx.hash).is_some(), "forgotten too early");
            block(&mut src);
        }
        assert_eq!(src.receipt(tx.hash), None);
        let clock = src.clock(now(&src));
        assert_eq!(Lookup::of(tx.valid_until, None, clock), Lookup::Forgotten);
        assert_eq!(submit(&mut src, tx), Submitted::Forgotten);
        let refund = sign(
            TxBody::Refund {
                message: m,
                proof: Some(Attestation::sign_cancel(KEY, &m)),
            },
            2,
        );
        submit(&mut src, refund);
        block(&mut src);
        assert_eq!(
            outcome(&src, refund),
            Outcome::Reverted(Revert::BeyondHistory)
        );
        assert_eq!(src.supply(), Amount(15_000 - 100));
    }

    #[test]
    fn halted_chains_seal_nothing() {
        // Proves a halt stops blocks until it ends.
        let mut src = Ledger::new(Domain(0), 2, ChainParams::small(), KEY);
        src.set_halted(true);
        block(&mut src);
        assert_eq!(src.head(), 0);
        src.set_halted(false);
        block(&mut src);
        assert_eq!(src.head(), 1);
    }
}
