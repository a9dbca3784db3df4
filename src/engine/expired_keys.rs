//! One client's expired idempotency keys, as the store keeps them (and the
//! checkers, to hold the store to them): every sequence number below a
//! floor, and the keys forgotten above it. The floor rises as a client's old
//! settlements are forgotten, so the keys above it are only those forgotten
//! while an older one is still in flight: the set stays the size of the work
//! in flight, not of the history.

use super::settlement::IdempotencyKey;
use std::collections::{BTreeMap, BTreeSet};

/// A client's expired keys, by sequence number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiredKeys {
    /// Every sequence number below this has expired.
    below: u64,
    /// Forgotten sequence numbers at or above `below`.
    above: BTreeSet<u64>,
}

impl ExpiredKeys {
    /// The set of everything below `below` and the given keys above it.
    pub fn new(below: u64, above: impl IntoIterator<Item = u64>) -> ExpiredKeys {
        let mut keys = ExpiredKeys {
            below,
            above: BTreeSet::new(),
        };
        for seq in above {
            keys.insert(seq);
        }
        keys
    }

    /// True if key `seq` has expired.
    pub fn contains(&self, seq: u64) -> bool {
        seq < self.below || self.above.contains(&seq)
    }

    /// The floor: every key below it has expired.
    pub fn below(&self) -> u64 {
        self.below
    }

    /// The expired keys at or above the floor, lowest first.
    pub fn above(&self) -> impl Iterator<Item = u64> + '_ {
        self.above.iter().copied()
    }

    /// One past the highest expired key (zero if none).
    pub fn end(&self) -> u64 {
        self.above.last().map_or(self.below, |s| s + 1)
    }

    /// Key `seq` was forgotten.
    pub fn insert(&mut self, seq: u64) {
        if seq >= self.below {
            self.above.insert(seq);
        }
    }

    /// Raises the floor to `floor` (it never falls).
    pub fn raise(&mut self, floor: u64) {
        if floor > self.below {
            self.below = floor;
            self.above = self.above.split_off(&floor);
        }
    }
}

/// Every client's expired keys: what the store forgot, and what the checkers
/// hold it to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiredByClient(BTreeMap<u32, ExpiredKeys>);

impl ExpiredByClient {
    /// True if `key` has expired.
    pub fn contains(&self, key: IdempotencyKey) -> bool {
        self.0.get(&key.client).is_some_and(|k| k.contains(key.seq))
    }

    /// `client`'s floor: every key of it below this has expired.
    pub fn floor(&self, client: u32) -> u64 {
        self.0.get(&client).map_or(0, ExpiredKeys::below)
    }

    /// `client`'s expired keys, to change.
    pub fn of(&mut self, client: u32) -> &mut ExpiredKeys {
        self.0.entry(client).or_default()
    }

    /// Adds `keys` to `client`'s (the union of the two).
    pub fn merge(&mut self, client: u32, keys: ExpiredKeys) {
        let held = self.of(client);
        held.raise(keys.below());
        for seq in keys.above() {
            held.insert(seq);
        }
    }

    /// Adds every client's keys from `other`.
    pub fn absorb(&mut self, other: ExpiredByClient) {
        for (client, keys) in other.0 {
            self.merge(client, keys);
        }
    }

    /// Each client with its expired keys, by client.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &ExpiredKeys)> + '_ {
        self.0.iter().map(|(client, keys)| (*client, keys))
    }
}

impl FromIterator<(u32, ExpiredKeys)> for ExpiredByClient {
    fn from_iter<I: IntoIterator<Item = (u32, ExpiredKeys)>>(iter: I) -> Self {
        ExpiredByClient(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_swallows_the_keys_below_it_and_never_falls() {
        // Proves membership below and above the floor, and that raising it
        // drops the keys it now covers (and a lower floor changes nothing).
        let mut keys = ExpiredKeys::new(3, [7, 9]);
        assert!(keys.contains(0) && keys.contains(2) && !keys.contains(3));
        assert!(keys.contains(7) && !keys.contains(8) && keys.contains(9));
        assert_eq!(keys.end(), 10);
        keys.raise(8);
        assert_eq!(keys.above().collect::<Vec<_>>(), vec![9]);
        assert!(keys.contains(7) && keys.contains(3) && !keys.contains(8));
        keys.raise(2);
        assert_eq!(keys.below(), 8);
        keys.insert(5);
        assert_eq!(keys, ExpiredKeys::new(8, [9]));
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_the_set_it_compresses(
            ops in proptest::collection::vec((proptest::bool::ANY, 0u64..60), 0..200)
        ) {
            // Proves the floor-and-keys form answers exactly as the plain set
            // of expired keys would, through any mix of forgetting a key and
            // raising the floor, and that it keeps no key below its floor.
            let mut keys = ExpiredKeys::default();
            let mut model = std::collections::BTreeSet::new();
            for (raise, n) in ops {
                if raise {
                    keys.raise(n);
                    model.extend(0..n);
                } else {
                    keys.insert(n);
                    model.insert(n);
                }
                for seq in 0..61 {
                    proptest::prop_assert_eq!(keys.contains(seq), model.contains(&seq));
                }
                proptest::prop_assert!(keys.above().all(|seq| seq >= keys.below()));
                proptest::prop_assert_eq!(keys.end(), model.last().map_or(0, |s| s + 1).max(keys.below()));
            }
        }
    }
}
