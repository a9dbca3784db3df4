//! Reorgs: a competing fork replaces the newest non-final blocks. Their
//! transactions are undone one by one, newest first, every undone effect is
//! reported to the checkers, and the fork's blocks take their heights.

use super::tx_index::Indexed;
use super::{Ledger, MempoolFaults, Undo};
use crate::chain::receipt::{Effect, UndoneEffect};
use crate::sim::{Micros, Ratio, SimRng};

impl Ledger {
    /// Replaces the newest `depth` non-final blocks with a competing fork's,
    /// built at once from the mempool: the undone transactions go back to it
    /// first (except those `lose` says are gone for good), so a fork's block
    /// takes most of them again, and the faults that strike any block (stuck,
    /// dropped) strike these too. The head keeps its height, as it does on a
    /// real chain when a longer fork wins, so the chain keeps its pace and a
    /// reorg delays only what it undid and did not take back. A halted chain
    /// builds no fork: its head goes back until it resumes.
    pub fn reorg(
        &mut self,
        depth: u64,
        lose: Ratio,
        now: Micros,
        faults: MempoolFaults,
        rng: &mut SimRng,
        effects: &mut Vec<Effect>,
    ) {
        let before = self.head;
        self.unwind(depth, lose, rng, effects);
        for _ in self.head..before {
            self.produce_block(now, faults, rng, effects);
        }
    }

    /// Undoes the newest `depth` non-final blocks. Their transactions go back
    /// to the mempool, except those `lose` says are gone for good.
    pub(super) fn unwind(
        &mut self,
        depth: u64,
        lose: Ratio,
        rng: &mut SimRng,
        effects: &mut Vec<Effect>,
    ) {
        for _ in 0..depth {
            let Some(block) = self.recent.pop_back() else {
                return;
            };
            assert_eq!(block.height, self.head, "reorgs unwind from the head");
            let mut returned = Vec::new();
            for (tx, undo) in block.txs.into_iter().rev() {
                self.undo(undo, effects);
                if lose.chance(rng) {
                    self.txs.remove(&tx.hash);
                } else {
                    self.txs.insert(tx.hash, Indexed::PENDING);
                    returned.push(tx);
                }
            }
            for tx in returned {
                self.mempool.push_front(tx);
            }
            self.head -= 1;
        }
    }

    pub(super) fn undo(&mut self, undo: Undo, effects: &mut Vec<Effect>) {
        let undone = match undo {
            Undo::Nothing => return,
            Undo::Burn(m) => {
                let balance = &mut self.balances[m.sender.0 as usize];
                *balance = balance.checked_add(m.amount).expect("balance overflow");
                self.supply = self.supply.checked_add(m.amount).expect("supply overflow");
                assert_eq!(self.burns.pop(), Some(m), "burns unwind in order");
                UndoneEffect::Burned(m)
            }
            Undo::Mint(m) => {
                self.slots.clear(m.id);
                self.debit(m.recipient, m.amount);
                UndoneEffect::Minted(m)
            }
            Undo::Cancel(m) => {
                self.slots.clear(m.id);
                UndoneEffect::Cancelled(m)
            }
            Undo::Refund(m) => {
                self.refunded.remove(&m.id.nonce);
                self.debit(m.sender, m.amount);
                UndoneEffect::Refunded(m)
            }
        };
        effects.push(Effect::Undone(undone));
    }
}
