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
                self.runnable.remove(&id);
            } else {
                self.runnable.insert(id);
            }
        }
        if moved(Stage::is_under_way) {
            if stage.is_under_way() {
                self.under_way.insert(id);
            } else {
                self.under_way.remove(&id);
            }
        }
    }

    /// Up to `limit` settlements of `pass` in `shards`, with an id from
    /// `from` on, oldest first.
    pub(super) fn scan(
        &self,
        pass: ScanPass,
        from: SettlementId,
        limit: u32,
        shards: ShardSet,
    ) -> Vec<Settlement> {
        let ids = match pass {
            ScanPass::UnderWay => &self.under_way,
            ScanPass::All => &self.runnable,
        };
        // Sized up front: collected from a filter, the page would grow by
        // doubling, and each growth copies it again.
        let mut page = Vec::with_capacity((limit as usize).min(ids.len()));
        page.extend(
            ids.range(from..)
                .filter(|id| shards.contains(self.sharding.of(**id)))
                .take(limit as usize)
                .map(|id| self.settlements[*id].settlement),
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
}
