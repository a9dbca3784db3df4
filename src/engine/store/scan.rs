//! What a worker's scan of the store finds: the unfinished settlements of
//! the shards it leases, in two passes (see [`ScanPass`]), those under way
//! before the rest.

use super::Store;
use crate::engine::protocol::ScanPass;
use crate::engine::settlement::{Settlement, SettlementId, Stage};
use crate::engine::shard::ShardSet;

impl Store {
    /// Files a settlement under the scans it belongs to now: unfinished ones
    /// in `runnable`, those under way in `under_way` too. `before` is its
    /// stage before this write, if it had one: most writes leave it where
    /// it was filed, and the sets are then not touched.
    pub(super) fn file(&mut self, id: SettlementId, before: Option<Stage>, stage: Stage) {
        let moved = |class: fn(Stage) -> bool| before.is_none_or(|b| class(b) != class(stage));
        if moved(Stage::is_terminal) {
            if stage.is_terminal() {
                self.runnable.remove(id);
            } else {
                self.runnable.insert(id, ());
            }
        }
        if moved(Stage::is_under_way) {
            if stage.is_under_way() {
                self.under_way.insert(id, ());
            } else {
                self.under_way.remove(id);
            }
        }
    }

    /// Whether a settlement not yet under way may be handed out to be
    /// started: while fewer are under way than the workers have slots.
    /// Every settlement under way has its burn on a chain, or about to be,
    /// and must get a slot before its burn ages out of the chain's history.
    /// A worker that frees slots, by handing a shard back or losing its
    /// lease, cannot take the settlements waiting in the shards it no longer
    /// leases; without this cap it would start new ones, and lease churn
    /// would grow the work under way past what the workers can move.
    pub(super) fn admits_new(&self) -> bool {
        self.under_way.len() < self.slots
    }

    /// Up to `limit` settlements of `pass` in `shards`, with an id from
    /// `from` on, oldest first; the pass over all of them finds only those
    /// under way while no new one is admitted.
    pub(super) fn scan(
        &self,
        pass: ScanPass,
        from: SettlementId,
        limit: u32,
        shards: ShardSet,
    ) -> Vec<Settlement> {
        let ids = match pass {
            ScanPass::All if self.admits_new() => &self.runnable,
            ScanPass::UnderWay | ScanPass::All => &self.under_way,
        };
        // Sized up front: collected from a filter, the page would grow by
        // doubling, and each growth copies it again.
        let mut page = Vec::with_capacity((limit as usize).min(ids.len()));
        page.extend(
            ids.ids_from(from)
                .filter(|id| shards.contains(self.sharding.of(*id)))
                .take(limit as usize)
                .map(|id| self.settlements[id].settlement),
        );
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settlement::IdempotencyKey;
    use crate::engine::shard::ShardId;
    use crate::sim::Micros;

    /// A store whose log holds settlements 0..8 at these stages (shard = id
    /// mod 2), recovered from it as after a restart.
    fn store_with(stages: [Stage; 8]) -> Store {
        let mut store = Store::on_a_sound_disk(2);
        for (id, stage) in stages.into_iter().enumerate() {
            let key = IdempotencyKey {
                client: 0,
                seq: id as u64,
            };
            let mut settlement = Settlement::for_test(id as u64, key);
            settlement.stage = stage;
            store.write(None, settlement, None);
        }
        let sync = store.disk.begin_sync();
        store.disk.finish_sync(sync).expect("this disk never fails");
        store.recover(Micros::ZERO);
        store
    }

    fn ids(page: Vec<Settlement>) -> Vec<u64> {
        page.iter().map(|s| s.id.0).collect()
    }

    #[test]
    fn the_under_way_pass_finds_only_settlements_whose_burn_may_be_on_chain() {
        // Proves each pass finds what it names, in id order, from `from`, in
        // the shards asked, up to the limit; that the sets come back whole
        // from the log; and that a settlement leaves them as it moves on.
        use Stage::*;
        let mut store = store_with([
            Requested,
            BurnSubmitted,
            Completed,
            MintSigned,
            Requested,
            RefundSigned,
            Failed,
            BurnSigned,
        ]);
        let both = ShardSet::NONE.with(ShardId(0)).with(ShardId(1));
        let odd = ShardSet::NONE.with(ShardId(1));
        let zero = SettlementId(0);
        assert_eq!(
            ids(store.scan(ScanPass::All, zero, 32, both)),
            [0, 1, 3, 4, 5, 7]
        );
        assert_eq!(
            ids(store.scan(ScanPass::UnderWay, zero, 32, both)),
            [1, 3, 5, 7]
        );
        assert_eq!(
            ids(store.scan(ScanPass::UnderWay, SettlementId(2), 2, both)),
            [3, 5]
        );
        assert!(store
            .scan(ScanPass::All, zero, 32, ShardSet::NONE)
            .is_empty());
        let even = ShardSet::NONE.with(ShardId(0));
        assert_eq!(ids(store.scan(ScanPass::All, zero, 32, even)), [0, 4]);
        assert_eq!(
            ids(store.scan(ScanPass::UnderWay, zero, 32, odd)),
            [1, 3, 5, 7]
        );
        store.file(SettlementId(4), Some(Requested), BurnSigned);
        store.file(SettlementId(3), Some(MintSigned), Completed);
        assert_eq!(
            ids(store.scan(ScanPass::UnderWay, zero, 32, both)),
            [1, 4, 5, 7]
        );
        assert_eq!(
            ids(store.scan(ScanPass::All, zero, 32, both)),
            [0, 1, 4, 5, 7]
        );
    }

    #[test]
    fn no_new_settlement_is_handed_out_while_the_work_under_way_fills_the_slots() {
        // Proves the cap: with as many settlements under way as the workers
        // have slots, the pass over everything finds only those under way,
        // and it finds the rest again once one of them ends.
        use Stage::*;
        let mut store = store_with([
            Requested,
            BurnSubmitted,
            Requested,
            MintSigned,
            Requested,
            RefundSigned,
            Requested,
            Completed,
        ]);
        let both = ShardSet::NONE.with(ShardId(0)).with(ShardId(1));
        let zero = SettlementId(0);
        store.slots = 3;
        assert!(!store.admits_new());
        assert_eq!(ids(store.scan(ScanPass::All, zero, 32, both)), [1, 3, 5]);
        store.file(SettlementId(5), Some(RefundSigned), Refunded);
        assert!(store.admits_new());
        assert_eq!(
            ids(store.scan(ScanPass::All, zero, 32, both)),
            [0, 1, 2, 3, 4, 6]
        );
    }
}
