//! The discrete-event queue: events ordered by (time, seeded tie-break,
//! sequence).
//!
//! Events due at the same instant come out in a seeded random order: each
//! event draws a 32-bit tie-break when it is pushed, which makes the order
//! among equal times a uniform random permutation. That is how the
//! interleavings of concurrent nodes are explored. The slot number makes the
//! order total even when two draws collide (no two pending events share a
//! slot, and slots are handed out deterministically), so nothing ever depends
//! on an address or a hash.
//!
//! Payloads live in a slab beside the heap, and a key is one `u128` (time,
//! tie-break, slot), so the heap moves and compares 16 bytes and a
//! steady-state run allocates nothing per event. The heap is 4-ary: half the
//! levels of a binary heap, and the smallest of four siblings (adjacent in
//! memory) is found without a branch, so a pop costs few mispredictions.
//!
//! A pushed event can be cancelled through its handle (a timer that is no
//! longer wanted); the slot stays reserved until its key comes out, so a
//! handle never reaches a newer event.

use super::rng::SimRng;
use super::time::Micros;
use rand::RngCore;

/// (time << 64) | (tie-break << 32) | slot: ordered as the triple.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Key(u128);

impl Key {
    fn new(time: Micros, tiebreak: u32, slot: u32) -> Key {
        Key(u128::from(time.0) << 64 | u128::from(tiebreak) << 32 | u128::from(slot))
    }

    fn time(self) -> Micros {
        Micros((self.0 >> 64) as u64)
    }

    fn slot(self) -> usize {
        (self.0 as u32) as usize
    }
}

struct Slot<E> {
    event: Option<E>,
    generation: u32,
}

/// Names one pushed event, so it can be cancelled before it is due.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EventHandle {
    slot: u32,
    generation: u32,
}

/// A priority queue of future events with a seeded order among ties.
pub struct EventQueue<E> {
    heap: QuadHeap,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    tiebreak: SimRng,
}

impl<E> EventQueue<E> {
    /// An empty queue whose ties are broken by draws from `tiebreak`.
    pub fn new(tiebreak: SimRng) -> EventQueue<E> {
        EventQueue {
            heap: QuadHeap::with_capacity(1024),
            slots: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            tiebreak,
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: Micros, event: E) -> EventHandle {
        let slot = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot as usize];
                debug_assert!(entry.event.is_none());
                entry.event = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("more than 2^32 pending events");
                self.slots.push(Slot {
                    event: Some(event),
                    generation: 0,
                });
                slot
            }
        };
        self.heap
            .push(Key::new(time, self.tiebreak.next_u32(), slot));
        EventHandle {
            slot,
            generation: self.slots[slot as usize].generation,
        }
    }

    /// Cancels a pushed event that has not come out yet. Returns whether it
    /// was still pending.
    pub fn cancel(&mut self, handle: EventHandle) -> bool {
        let entry = &mut self.slots[handle.slot as usize];
        entry.generation == handle.generation && entry.event.take().is_some()
    }

    /// The earliest live event and its time, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        while let Some(key) = self.heap.pop() {
            let slot = key.slot();
            let entry = &mut self.slots[slot];
            let event = entry.event.take();
            entry.generation = entry.generation.wrapping_add(1);
            self.free.push(slot as u32);
            if let Some(event) = event {
                return Some((key.time(), event));
            }
        }
        None
    }

    /// The time of the earliest key (which may belong to a cancelled event).
    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(Key::time)
    }

    /// Keys in the heap, cancelled ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no key is left.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// A min-heap of keys with four children per node: node `i`'s children are
/// `4i + 1 ..= 4i + 4`.
struct QuadHeap {
    keys: Vec<Key>,
}

impl QuadHeap {
    fn with_capacity(capacity: usize) -> QuadHeap {
        QuadHeap {
            keys: Vec::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn peek(&self) -> Option<Key> {
        self.keys.first().copied()
    }

    fn push(&mut self, key: Key) {
        let hole = self.keys.len();
        self.keys.push(key);
        self.sift_up(hole, key);
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

    fn pop(&mut self) -> Option<Key> {
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
    use crate::sim::rng::{Stream, Streams};

    fn queue(seed: u64) -> EventQueue<u32> {
        EventQueue::new(Streams::new(seed).stream(Stream::Scheduler))
    }

    fn drain(q: &mut EventQueue<u32>) -> Vec<(u64, u32)> {
        std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect()
    }

    #[test]
    fn pops_in_time_order() {
        // Proves events come out by time whatever the push order.
        let mut q = queue(1);
        for (t, e) in [(30, 3), (10, 1), (20, 2), (5, 0)] {
            q.push(Micros(t), e);
        }
        assert_eq!(drain(&mut q), vec![(5, 0), (10, 1), (20, 2), (30, 3)]);
    }

    #[test]
    fn ties_are_shuffled_by_the_seed_and_repeat_for_the_same_seed() {
        // Proves same-instant events get a seeded order: identical for one
        // seed, different across seeds.
        let order = |seed| {
            let mut q = queue(seed);
            for e in 0..16 {
                q.push(Micros(100), e);
            }
            drain(&mut q)
                .into_iter()
                .map(|(_, e)| e)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(9), order(9));
        let distinct: std::collections::BTreeSet<Vec<u32>> = (0..8).map(order).collect();
        assert!(distinct.len() > 1);
        assert_ne!(order(9), (0..16).collect::<Vec<_>>());
    }

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
    }

    #[test]
    fn cancelled_events_never_come_out_and_slots_are_reused_safely() {
        // Proves cancel removes exactly the named event, and a stale handle
        // cannot cancel the event that later reuses its slot.
        let mut q = queue(2);
        let a = q.push(Micros(1), 1);
        q.push(Micros(2), 2);
        assert!(q.cancel(a));
        assert!(!q.cancel(a));
        assert_eq!(drain(&mut q), vec![(2, 2)]);
        q.push(Micros(3), 3);
        assert!(!q.cancel(a));
        assert_eq!(drain(&mut q), vec![(3, 3)]);
    }
}
