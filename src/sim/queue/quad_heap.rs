//! A 4-ary min-heap of queue keys.
//!
//! Half the levels of a binary heap, and the smallest of four siblings
//! (adjacent in memory) is found without a branch, so a pop costs few
//! mispredictions.

use super::Key;

/// A min-heap of keys with four children per node: node `i`'s children are
/// `4i + 1 ..= 4i + 4`.
pub(super) struct QuadHeap {
    keys: Vec<Key>,
}

impl QuadHeap {
    pub(super) fn with_capacity(capacity: usize) -> QuadHeap {
        QuadHeap {
            keys: Vec::with_capacity(capacity),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(super) fn peek(&self) -> Option<Key> {
        self.keys.first().copied()
    }

    pub(super) fn push(&mut self, key: Key) {
        let hole = self.keys.len();
        self.keys.push(key);
        self.sift_up(hole, key);
    }

    /// Fills an empty heap with `keys` at once: Floyd's bottom-up build
    /// costs O(n), where n pushes would cost O(n log n).
    pub(super) fn refill(&mut self, keys: impl Iterator<Item = Key>) {
        debug_assert!(self.keys.is_empty());
        self.keys.extend(keys);
        let len = self.keys.len();
        if len > 1 {
            for parent in (0..=(len - 2) / 4).rev() {
                self.sift_down(parent);
            }
        }
    }

    /// Moves the key at `hole` down below any smaller child.
    fn sift_down(&mut self, mut hole: usize) {
        let keys = &mut self.keys;
        let key = keys[hole];
        loop {
            let first = 4 * hole + 1;
            let Some(child) = (first..keys.len().min(first + 4)).min_by_key(|&c| keys[c]) else {
                break;
            };
            if key <= keys[child] {
                break;
            }
            keys[hole] = keys[child];
            hole = child;
        }
        keys[hole] = key;
    }

    /// Puts `key` at `hole` or, moving parents down, above it.
    fn sift_up(&mut self, mut hole: usize, key: Key) {
        let keys = &mut self.keys;
        while hole > 0 {
            let parent = (hole - 1) / 4;
            if keys[parent] <= key {
                break;
            }
            keys[hole] = keys[parent];
            hole = parent;
        }
        keys[hole] = key;
    }

    pub(super) fn pop(&mut self) -> Option<Key> {
        let last = self.keys.pop()?;
        let keys = &mut self.keys;
        let Some(&top) = keys.first() else {
            return Some(last);
        };
        // Walk the hole down to a leaf along the smallest children, then
        // sift `last` up from there: it came from the bottom, so it rarely
        // climbs, and the walk down needs no comparison with it.
        let len = keys.len();
        let mut hole = 0;
        loop {
            let first = 4 * hole + 1;
            if first + 4 <= len {
                let child = first + smallest_of_four(&keys[first..first + 4]);
                keys[hole] = keys[child];
                hole = child;
            } else {
                if first < len {
                    let child = (first..len)
                        .min_by_key(|&c| keys[c])
                        .expect("at least one child");
                    keys[hole] = keys[child];
                    hole = child;
                }
                break;
            }
        }
        self.sift_up(hole, last);
        Some(top)
    }
}

/// The index (0..4) of the smallest of four keys, by selects rather than
/// branches.
fn smallest_of_four(four: &[Key]) -> usize {
    let (a, b) = (four[0], four[1]);
    let (c, d) = (four[2], four[3]);
    let (ab, ab_at) = if b < a { (b, 1) } else { (a, 0) };
    let (cd, cd_at) = if d < c { (d, 3) } else { (c, 2) };
    if cd < ab {
        cd_at
    } else {
        ab_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_quad_heap_pops_what_a_binary_heap_pops(
            ops in proptest::collection::vec(proptest::option::weighted(0.6, 0u128..64), 0..400)
        ) {
            // Proves the 4-ary heap against the standard library's heap on
            // any mix of pushes (Some) and pops (None), duplicates included.
            let mut quad = QuadHeap::with_capacity(0);
            let mut reference = std::collections::BinaryHeap::new();
            for op in ops {
                match op {
                    Some(key) => {
                        quad.push(Key(key));
                        reference.push(std::cmp::Reverse(key));
                    }
                    None => {
                        let expected = reference.pop().map(|std::cmp::Reverse(k)| k);
                        proptest::prop_assert_eq!(quad.pop().map(|k| k.0), expected);
                    }
                }
                proptest::prop_assert_eq!(quad.len(), reference.len());
                proptest::prop_assert_eq!(
                    quad.peek().map(|k| k.0),
                    reference.peek().map(|std::cmp::Reverse(k)| *k)
                );
            }
        }

        #[test]
        fn a_refilled_heap_pops_its_keys_in_order(
            keys in proptest::collection::vec(0u128..64, 0..300)
        ) {
            // Proves the bottom-up build gives a valid heap: whatever the
            // input order, the keys come out sorted.
            let mut quad = QuadHeap::with_capacity(0);
            quad.refill(keys.iter().map(|&k| Key(k)));
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            let popped: Vec<u128> = std::iter::from_fn(|| quad.pop().map(|k| k.0)).collect();
            proptest::prop_assert_eq!(popped, sorted);
        }
    }
}
