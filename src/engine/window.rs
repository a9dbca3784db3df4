//! A table keyed by recent, densely numbered ids (settlements, requests).
//!
//! A worker's jobs and calls, the store's table and the checkers' records
//! are each a moving band of ids: new ones come in at the top, old ones
//! finish (or are forgotten). Slots for the band from the oldest live id to
//! the newest sit in a ring buffer, so a lookup is an index, iteration is in
//! id order with no hashing, and memory follows the band, not the history.

use crate::engine::SettlementId;
use crate::sim::RequestId;
use std::collections::VecDeque;
use std::marker::PhantomData;

/// An id numbered densely from zero.
pub trait DenseId: Copy {
    /// The id's number.
    fn number(self) -> u64;
    /// The id numbered `n`.
    fn from_number(n: u64) -> Self;
}

impl DenseId for SettlementId {
    fn number(self) -> u64 {
        self.0
    }
    fn from_number(n: u64) -> Self {
        SettlementId(n)
    }
}

/// A group's members (see [`crate::engine::grouped_window`]).
impl DenseId for u64 {
    fn number(self) -> u64 {
        self
    }
    fn from_number(n: u64) -> Self {
        n
    }
}

impl DenseId for RequestId {
    fn number(self) -> u64 {
        self.0
    }
    fn from_number(n: u64) -> Self {
        RequestId(n)
    }
}

/// Values by id, for a band of recent ids.
pub struct Window<K, V> {
    /// The id of `slots[0]`.
    base: u64,
    /// Trimmed so that the first and last slot, if any, are full.
    slots: VecDeque<Option<V>>,
    len: usize,
    key: PhantomData<K>,
}

impl<K: DenseId, V> Default for Window<K, V> {
    fn default() -> Self {
        Window {
            base: 0,
            slots: VecDeque::new(),
            len: 0,
            key: PhantomData,
        }
    }
}

impl<K: DenseId, V> Window<K, V> {
    /// An empty table.
    pub fn new() -> Window<K, V> {
        Window::default()
    }

    /// How many ids have a value.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no id has a value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many slots the window would span with `id` in it.
    pub fn span_with(&self, id: K) -> u64 {
        let n = id.number();
        if self.slots.is_empty() {
            return 1;
        }
        let last = self.base + (self.slots.len() as u64 - 1);
        (last.max(n) - self.base.min(n)).saturating_add(1)
    }

    /// Where `id`'s slot would be; `None` below the band (or beyond memory).
    fn offset(&self, id: K) -> Option<usize> {
        usize::try_from(id.number().checked_sub(self.base)?).ok()
    }

    /// The value of `id`, if any.
    pub fn get(&self, id: K) -> Option<&V> {
        self.slots.get(self.offset(id)?)?.as_ref()
    }

    /// The value of `id`, if any, to change.
    pub fn get_mut(&mut self, id: K) -> Option<&mut V> {
        let i = self.offset(id)?;
        self.slots.get_mut(i)?.as_mut()
    }

    /// True if `id` has a value.
    pub fn contains(&self, id: K) -> bool {
        self.get(id).is_some()
    }

    /// The value of `id`, made with `make` if absent.
    pub fn get_or_insert_with(&mut self, id: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.contains(id) {
            self.insert(id, make());
        }
        self.get_mut(id).expect("just inserted")
    }

    /// Sets the value of `id`, returning the one it replaces.
    pub fn insert(&mut self, id: K, value: V) -> Option<V> {
        let n = id.number();
        if self.slots.is_empty() {
            self.base = n;
        }
        while n < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let i = usize::try_from(n - self.base).expect("a window spans less than memory");
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        let old = self.slots[i].replace(value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Takes the value of `id` out, giving back the slots no live id needs.
    pub fn remove(&mut self, id: K) -> Option<V> {
        let i = self.offset(id)?;
        let old = self.slots.get_mut(i)?.take()?;
        self.len -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            // (Saturating: only the slot of the largest id can be last.)
            self.base = self.base.saturating_add(1);
        }
        while matches!(self.slots.back(), Some(None)) {
            self.slots.pop_back();
        }
        Some(old)
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
    }

    /// Every id with a value, lowest first.
    pub fn ids(&self) -> impl Iterator<Item = K> + '_ {
        self.iter().map(|(id, _)| id)
    }

    /// Every value, by id.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten()
    }

    /// Every id with a value from `from` on, lowest first.
    pub fn ids_from(&self, from: K) -> impl Iterator<Item = K> + '_ {
        self.iter_from(from.number()).map(|(id, _)| id)
    }

    /// Every (id, value), lowest id first.
    pub fn iter(&self) -> impl Iterator<Item = (K, &V)> + '_ {
        self.iter_from(self.base)
    }

    /// Every (id, value) with an id numbered `from` or more, lowest first.
    fn iter_from(&self, from: u64) -> impl Iterator<Item = (K, &V)> + '_ {
        let base = self.base;
        let skip = usize::try_from(from.saturating_sub(base))
            .unwrap_or(usize::MAX)
            .min(self.slots.len());
        self.slots
            .range(skip..)
            .zip(base + skip as u64..)
            .filter_map(|(slot, n)| Some((K::from_number(n), slot.as_ref()?)))
    }
}

impl<K: DenseId, V> std::ops::Index<K> for Window<K, V> {
    type Output = V;

    fn index(&self, id: K) -> &V {
        self.get(id).expect("no entry for this id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    proptest::proptest! {
        #[test]
        fn behaves_like_an_ordered_map(
            ops in proptest::collection::vec((proptest::bool::ANY, 0u64..40), 0..300)
        ) {
            // Proves the window against a B-tree map on any mix of inserts
            // and removals: same lookups, same length, same order, from the
            // start or from any id.
            let mut window = Window::<SettlementId, u64>::new();
            let mut reference = BTreeMap::new();
            for (step, (insert, n)) in ops.into_iter().enumerate() {
                let id = SettlementId(n);
                if insert {
                    let value = step as u64;
                    proptest::prop_assert_eq!(window.insert(id, value), reference.insert(n, value));
                } else {
                    proptest::prop_assert_eq!(window.remove(id), reference.remove(&n));
                }
                proptest::prop_assert_eq!(window.len(), reference.len());
                for probe in 0..41 {
                    proptest::prop_assert_eq!(window.get(SettlementId(probe)), reference.get(&probe));
                }
                let ids: Vec<u64> = window.ids().map(|id| id.0).collect();
                let expected: Vec<u64> = reference.keys().copied().collect();
                proptest::prop_assert_eq!(ids, expected);
                let from = step as u64 % 42;
                let ids: Vec<u64> = window.ids_from(SettlementId(from)).map(|id| id.0).collect();
                let expected: Vec<u64> = reference.range(from..).map(|(n, _)| *n).collect();
                proptest::prop_assert_eq!(ids, expected);
                let values: Vec<u64> = window.values().copied().collect();
                let expected: Vec<u64> = reference.values().copied().collect();
                proptest::prop_assert_eq!(values, expected);
            }
        }
    }

    #[test]
    fn memory_follows_the_band_of_live_ids() {
        // Proves slots below the oldest and above the newest live id are
        // given back: a long run with few live ids stays small.
        let mut window = Window::<RequestId, ()>::new();
        for n in 0..10_000 {
            window.insert(RequestId(n), ());
            if n >= 3 {
                window.remove(RequestId(n - 3));
            }
        }
        assert_eq!(window.len(), 3);
        assert!(window.slots.len() <= 4);
    }
}
