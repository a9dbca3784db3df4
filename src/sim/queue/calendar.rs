//! Keys in time order, kept where ordering them is cheapest: a few sorted
//! keys due soon, a wheel of unsorted buckets for the next half minute,
//! and a heap for the rest.
//!
//! A run is sparse in time (about one event every 7 ms of simulated time)
//! while most of what it keeps pending are timers seconds away, which mostly
//! never fire: a reply cancels its timeout. In one heap every such timer
//! costs a sift in and a sift out through all the levels the far timers
//! make. Here a far key costs one link in its bucket's chain, and only
//! reaches the near set when its bucket comes due; a cancelled one is dropped
//! then, without ever being sorted.
//!
//! A bucket is a chain threaded through a table indexed by the key's slot,
//! not a vector of its own: a vector per bucket would keep the largest burst
//! each bucket ever held, so memory would grow with the run's history, while
//! the table is as large as the most keys ever pending at once (the slab's
//! own size) and is allocated once for all buckets.
//!
//! The order keys come out in is exactly the one heap's: every key due
//! before `horizon` is in `near`, and every other key is at or after it, so
//! `near`'s smallest is the smallest of all.

use super::near::Near;
use super::quad_heap::QuadHeap;
use super::Key;
use crate::sim::time::Micros;

/// One bucket spans 2^15 µs (33 ms), about one network latency. Narrower
/// buckets keep `near` smaller but turn more often; by instruction counts
/// over the default scenario 2^15 is the best of 2^13 to 2^19.
const BUCKET_BITS: u32 = 15;
/// Buckets in the wheel: it spans 1,024 × 33 ms, about 33 s, which holds the
/// RPC timeouts, commit delays, block timers and lease renewals.
const BUCKETS: usize = 1024;
const BUCKET_US: u64 = 1 << BUCKET_BITS;
const SPAN_US: u64 = BUCKET_US * BUCKETS as u64;

/// The end of a bucket's chain.
const END: u32 = u32::MAX;

/// A key in a bucket, and the next link of the bucket's chain.
#[derive(Clone, Copy)]
struct Filed {
    key: Key,
    next: u32,
}

/// Pending keys, in three places by how soon they are due.
pub(super) struct Calendar {
    /// Keys due before `horizon`, in order (see `near.rs`).
    near: Near,
    /// Keys due in `horizon .. horizon + SPAN_US`, by bucket: the slot of
    /// the last key filed in each bucket, or `END`.
    heads: Vec<u32>,
    /// By slot: the key filed in a bucket and the slot filed before it.
    filed: Vec<Filed>,
    /// Keys in the wheel's chains.
    in_buckets: usize,
    /// Keys due at or after `horizon + SPAN_US` when they were filed.
    far: QuadHeap,
    /// Where `near` ends and the wheel starts: always a bucket boundary.
    horizon: Micros,
}

impl Calendar {
    /// An empty calendar at time zero.
    pub(super) fn new() -> Calendar {
        Calendar {
            near: Near::new(),
            heads: vec![END; BUCKETS],
            filed: Vec::with_capacity(1024),
            in_buckets: 0,
            far: QuadHeap::with_capacity(256),
            horizon: Micros::ZERO,
        }
    }

    /// Whether `time` falls in the wheel (or before it). The window is cut
    /// short at the end of time rather than wrapping.
    fn before_window_end(&self, time: Micros) -> bool {
        let end = self.horizon.0.saturating_add(SPAN_US);
        time.0 < end || end == u64::MAX
    }

    /// Files `key` by its time.
    // Inlined, like `pop` and the near set's own push and pop: they run on
    // every event, and as calls their register saves and restores cost about
    // as much as their work (2 % of a run's instructions together).
    #[inline]
    pub(super) fn push(&mut self, key: Key) {
        let time = key.time();
        if time < self.horizon {
            self.near.push(key);
        } else if self.before_window_end(time) {
            self.file(key);
        } else {
            self.far.push(key);
        }
    }

    /// The earliest key. `keep` is asked about each key as its bucket comes
    /// due; a key it turns down (a cancelled event) is dropped unsorted.
    #[inline]
    pub(super) fn pop(&mut self, mut keep: impl FnMut(Key) -> bool) -> Option<Key> {
        loop {
            if let Some(key) = self.near.pop() {
                return Some(key);
            }
            if !self.turn(&mut keep) {
                return None;
            }
        }
    }

    /// Moves the horizon one bucket on (or, if the wheel is empty, to the
    /// far heap's earliest key), pouring the bucket it passes into `near`.
    /// False when no key is left anywhere.
    // Out of line, so that the common pop, a key already due soon, stays
    // small enough to inline.
    #[inline(never)]
    fn turn(&mut self, keep: &mut impl FnMut(Key) -> bool) -> bool {
        if self.in_buckets == 0 {
            let Some(next) = self.far.peek() else {
                return false;
            };
            self.horizon = self.horizon.max(Micros(next.time().0 & !(BUCKET_US - 1)));
        }
        // The window now reaches further: take in what the far heap holds
        // for it, before the bucket that may hold some of it is poured.
        while let Some(key) = self.far.peek().filter(|k| self.before_window_end(k.time())) {
            self.far.pop();
            self.file(key);
        }
        // `near` is empty (only an empty `near` turns the wheel), so the
        // bucket is ordered in one go.
        let mut link = std::mem::replace(&mut self.heads[bucket_of(self.horizon)], END);
        let (filed, in_buckets) = (&self.filed, &mut self.in_buckets);
        self.near.refill(std::iter::from_fn(|| {
            while link != END {
                let Filed { key, next } = filed[link as usize];
                link = next;
                *in_buckets -= 1;
                if keep(key) {
                    return Some(key);
                }
            }
            None
        }));
        self.horizon = Micros(self.horizon.0.saturating_add(BUCKET_US));
        true
    }

    /// Puts `key` at the head of its bucket's chain.
    fn file(&mut self, key: Key) {
        let slot = key.slot();
        if slot >= self.filed.len() {
            let blank = Filed { key, next: END };
            self.filed
                .resize((slot + 1).max(2 * self.filed.len()), blank);
        }
        let head = &mut self.heads[bucket_of(key.time())];
        self.filed[slot] = Filed { key, next: *head };
        *head = slot as u32;
        self.in_buckets += 1;
    }
}

fn bucket_of(time: Micros) -> usize {
    (time.0 >> BUCKET_BITS) as usize & (BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(time: u64, slot: u32) -> Key {
        Key::new(Micros(time), 0, slot)
    }

    proptest::proptest! {
        #[test]
        fn the_calendar_pops_what_one_heap_pops(
            ops in proptest::collection::vec(
                proptest::option::weighted(0.6, (0u64..4, 0u64..200_000_000)),
                0..600,
            )
        ) {
            // Proves the calendar gives exactly one heap's order for any mix
            // of pushes and pops, with delays from now (never before it, as in
            // a run) spread over the near set, every bucket and the far heap.
            let mut calendar = Calendar::new();
            let mut reference = std::collections::BinaryHeap::new();
            let mut now = 0u64;
            for (slot, op) in ops.into_iter().enumerate() {
                match op {
                    Some((scale, delay)) => {
                        // Scales from microseconds to days: near, wheel, far.
                        let delay = delay >> (8 * (3 - scale));
                        let k = key(now + delay, slot as u32);
                        calendar.push(k);
                        reference.push(std::cmp::Reverse(k));
                    }
                    None => {
                        let expected = reference.pop().map(|std::cmp::Reverse(k)| k);
                        let got = calendar.pop(|_| true);
                        proptest::prop_assert_eq!(got, expected);
                        if let Some(k) = got {
                            now = k.time().0;
                        }
                    }
                }
            }
            while let Some(std::cmp::Reverse(expected)) = reference.pop() {
                proptest::prop_assert_eq!(calendar.pop(|_| true), Some(expected));
            }
            proptest::prop_assert_eq!(calendar.pop(|_| true), None);
        }
    }

    #[test]
    fn keys_turned_down_as_their_bucket_comes_due_are_never_popped() {
        // Proves a key `keep` refuses when its bucket is poured is dropped
        // (a cancelled far timer), while near keys are left to the caller.
        let mut calendar = Calendar::new();
        calendar.push(key(SPAN_US / 2, 1));
        calendar.push(key(SPAN_US / 2 + 1, 2));
        calendar.push(key(SPAN_US * 5, 3));
        let mut asked = Vec::new();
        let first = calendar.pop(|k| {
            asked.push(k.slot());
            k.slot() != 1
        });
        assert_eq!(first.map(Key::slot), Some(2));
        asked.sort_unstable();
        assert_eq!(asked, vec![1, 2]);
        assert_eq!(calendar.pop(|_| true).map(Key::slot), Some(3));
        assert_eq!(calendar.pop(|_| true), None);
    }

    #[test]
    fn keys_at_the_end_of_time_still_come_out() {
        // Proves the window is cut at the end of time instead of wrapping:
        // a key at the last microsecond is popped, not lost or looped on.
        let mut calendar = Calendar::new();
        calendar.push(key(u64::MAX, 1));
        calendar.push(key(u64::MAX - SPAN_US, 2));
        assert_eq!(calendar.pop(|_| true).map(Key::slot), Some(2));
        assert_eq!(calendar.pop(|_| true).map(Key::slot), Some(1));
        assert_eq!(calendar.pop(|_| true), None);
    }
}
