//! The keys due within the calendar's current bucket.
//!
//! A bucket holds a handful of keys (at two pops in three, two or fewer), so
//! they are kept sorted, latest first, in a vector: a pop takes the last
//! element, a push shifts the few keys due after it. A burst that fills a
//! bucket with many keys turns the set into a 4-ary heap until it drains,
//! so no push ever shifts more than [`SORTED_MAX`] keys.

use super::quad_heap::QuadHeap;
use super::Key;

/// The most keys kept sorted; more go to the heap.
const SORTED_MAX: usize = 32;

/// Keys in time order, sorted while few, a heap while many.
pub(super) struct Near {
    /// Latest first, so the earliest is popped off the end. Empty while
    /// `heap` holds keys.
    sorted: Vec<Key>,
    heap: QuadHeap,
}

impl Near {
    pub(super) fn new() -> Near {
        Near {
            sorted: Vec::with_capacity(SORTED_MAX),
            heap: QuadHeap::with_capacity(256),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, key: Key) {
        if self.sorted.len() >= SORTED_MAX {
            self.heap.refill(self.sorted.drain(..));
        }
        if !self.heap.is_empty() {
            return self.heap.push(key);
        }
        let at = self.sorted.partition_point(|k| *k > key);
        self.sorted.insert(at, key);
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<Key> {
        match self.sorted.pop() {
            Some(key) => Some(key),
            None => self.heap.pop(),
        }
    }

    /// Fills an empty set with `keys` at once.
    pub(super) fn refill(&mut self, keys: impl Iterator<Item = Key>) {
        debug_assert!(self.sorted.is_empty() && self.heap.is_empty());
        self.sorted.extend(keys);
        if self.sorted.len() > SORTED_MAX {
            self.heap.refill(self.sorted.drain(..));
        } else if self.sorted.len() <= RANKED_MAX {
            sort_by_rank(&mut self.sorted);
        } else {
            self.sorted.sort_unstable_by(|a, b| b.cmp(a));
        }
    }
}

/// The most keys a refill sorts by rank; more are sorted by comparison.
const RANKED_MAX: usize = 16;

/// Sorts a few distinct keys latest first by counting, for each, the keys
/// after it: every comparison is made, none is branched on. A bucket pours
/// about five keys in a random order, and an insertion sort's branches on
/// them are mispredicted about as often as not; counting costs more
/// instructions (2 % more in a run) and runs 1-2 % more events a second,
/// on one digest.
fn sort_by_rank(keys: &mut [Key]) {
    debug_assert!(keys.len() <= RANKED_MAX);
    let mut ranked = [Key(0); RANKED_MAX];
    for &key in keys.iter() {
        let later = keys.iter().map(|&k| usize::from(k > key)).sum::<usize>();
        ranked[later] = key;
    }
    keys.copy_from_slice(&ranked[..keys.len()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn pops_what_a_binary_heap_pops(
            first in proptest::collection::vec(0u128..1_000, 0..80),
            ops in proptest::collection::vec(proptest::option::weighted(0.6, 0u128..1_000), 0..400)
        ) {
            // Proves the set against the standard library's heap from any
            // refill (few keys or a burst) through any mix of pushes (Some)
            // and pops (None), crossing from sorted to heap and back.
            let mut near = Near::new();
            let mut reference = std::collections::BinaryHeap::new();
            // Distinct keys, as the queue's are (the slot makes them so).
            let mut seen = std::collections::BTreeSet::new();
            let first: Vec<u128> = first.into_iter().filter(|k| seen.insert(*k)).collect();
            near.refill(first.iter().map(|&k| Key(k)));
            reference.extend(first.iter().map(|&k| std::cmp::Reverse(k)));
            for op in ops {
                match op {
                    Some(key) if seen.insert(key) => {
                        near.push(Key(key));
                        reference.push(std::cmp::Reverse(key));
                    }
                    Some(_) => {}
                    None => {
                        let expected = reference.pop().map(|std::cmp::Reverse(k)| k);
                        let got = near.pop().map(|k| k.0);
                        proptest::prop_assert_eq!(got, expected);
                        if near.sorted.is_empty() && near.heap.is_empty() {
                            // Empty again: the calendar may refill it.
                            proptest::prop_assert!(reference.is_empty());
                        }
                    }
                }
            }
            while let Some(std::cmp::Reverse(expected)) = reference.pop() {
                proptest::prop_assert_eq!(near.pop().map(|k| k.0), Some(expected));
            }
            proptest::prop_assert_eq!(near.pop(), None);
        }
    }
}
