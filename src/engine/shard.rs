//! Lease shards: settlements are split into a fixed number of shards by id,
//! and a worker leases a whole shard, not each settlement. The lease traffic
//! then grows with the number of shards and the run's length, not with the
//! number of settlements, and a worker knows which settlements are its own
//! without asking anyone.
//!
//! Fencing stays per settlement: a worker claims each settlement with its
//! shard lease's token, and the store refuses writes under an older token.

use super::settlement::SettlementId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most shards a run may have (a shard set is one 64-bit mask).
pub const MAX_SHARDS: u32 = 64;

/// One shard of the settlements.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ShardId(pub u32);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard-{}", self.0)
    }
}

/// How settlements are split: `count` shards, by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Sharding {
    count: u32,
}

impl Sharding {
    /// `count` shards (1 to [`MAX_SHARDS`]).
    pub fn new(count: u32) -> Sharding {
        assert!(
            (1..=MAX_SHARDS).contains(&count),
            "{count} shards is out of range"
        );
        Sharding { count }
    }

    /// How many shards there are.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Every shard, in order.
    pub fn all(self) -> impl Iterator<Item = ShardId> {
        (0..self.count).map(ShardId)
    }

    /// The shard settlement `id` belongs to.
    pub fn of(self, id: SettlementId) -> ShardId {
        ShardId((id.0 % u64::from(self.count)) as u32)
    }

    /// The worker (by index among `workers`) that takes `shard` first; the
    /// others take it only when it is left free.
    pub fn home(self, shard: ShardId, workers: usize) -> usize {
        shard.0 as usize % workers.max(1)
    }
}

/// A set of shards, as a scan of the store names them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct ShardSet(u64);

impl ShardSet {
    /// No shard.
    pub const NONE: ShardSet = ShardSet(0);

    /// This set with `shard` in it.
    pub fn with(self, shard: ShardId) -> ShardSet {
        ShardSet(self.0 | 1 << shard.0)
    }

    /// True if `shard` is in the set.
    pub fn contains(self, shard: ShardId) -> bool {
        self.0 & (1 << shard.0) != 0
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_settlement_falls_in_exactly_one_shard() {
        // Proves the split is total and even over consecutive ids.
        let sharding = Sharding::new(8);
        let mut counts = [0u32; 8];
        for id in 0..800 {
            let shard = sharding.of(SettlementId(id));
            assert!(shard.0 < 8);
            counts[shard.0 as usize] += 1;
        }
        assert_eq!(counts, [100; 8]);
    }

    #[test]
    fn shard_sets_hold_what_was_put_in_them() {
        // Proves membership, the full set at the 64-shard edge, and emptiness.
        let set = ShardSet::NONE.with(ShardId(3)).with(ShardId(63));
        assert!(set.contains(ShardId(3)) && set.contains(ShardId(63)));
        assert!(!set.contains(ShardId(4)));
        assert!(ShardSet::NONE.is_empty() && !set.is_empty());
        let sharding = Sharding::new(64);
        let all = sharding.all().fold(ShardSet::NONE, ShardSet::with);
        assert!(sharding.all().all(|s| all.contains(s)));
    }

    #[test]
    fn home_shards_spread_over_the_workers() {
        // Proves each worker is home to its share of shards.
        let sharding = Sharding::new(16);
        let homes: Vec<usize> = sharding.all().map(|s| sharding.home(s, 3)).collect();
        for w in 0..3 {
            let n = homes.iter().filter(|&&h| h == w).count();
            assert!((5..=6).contains(&n), "worker {w} is home to {n} shards");
        }
    }
}
