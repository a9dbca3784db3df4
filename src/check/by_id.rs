//! A table indexed by settlement id. Ids are dense from zero, so a `Vec` does
//! what a map would in O(1), with no hashing and a fixed iteration order.

use crate::engine::SettlementId;

/// One `T` per settlement id seen so far; ids never written read as absent.
#[derive(Clone, Debug)]
pub struct ById<T> {
    items: Vec<Option<T>>,
}

impl<T> Default for ById<T> {
    fn default() -> Self {
        ById { items: Vec::new() }
    }
}

impl<T> ById<T> {
    /// The entry of `id`, if any.
    pub fn get(&self, id: SettlementId) -> Option<&T> {
        self.items.get(Self::index(id))?.as_ref()
    }

    /// The entry of `id`, if any, to change.
    pub fn get_mut(&mut self, id: SettlementId) -> Option<&mut T> {
        self.items.get_mut(Self::index(id))?.as_mut()
    }

    /// The entry of `id`, made with `make` if absent.
    pub fn get_or_insert_with(&mut self, id: SettlementId, make: impl FnOnce() -> T) -> &mut T {
        self.slot(id).get_or_insert_with(make)
    }

    /// Sets the entry of `id`.
    pub fn insert(&mut self, id: SettlementId, value: T) {
        *self.slot(id) = Some(value);
    }

    fn slot(&mut self, id: SettlementId) -> &mut Option<T> {
        let i = Self::index(id);
        if i >= self.items.len() {
            self.items.resize_with(i + 1, || None);
        }
        &mut self.items[i]
    }

    /// How many ids have an entry.
    pub fn len(&self) -> usize {
        self.items.iter().filter(|x| x.is_some()).count()
    }

    /// True if no id has an entry.
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(Option::is_none)
    }

    /// Every entry, by id.
    pub fn iter(&self) -> impl Iterator<Item = (SettlementId, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| Some((SettlementId(i as u64), x.as_ref()?)))
    }

    /// The entries of ids from `from` on.
    pub fn iter_from(&self, from: SettlementId) -> impl Iterator<Item = (SettlementId, &T)> {
        let start = Self::index(from).min(self.items.len());
        self.items[start..]
            .iter()
            .enumerate()
            .filter_map(move |(i, x)| Some((SettlementId((start + i) as u64), x.as_ref()?)))
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    fn index(id: SettlementId) -> usize {
        usize::try_from(id.0).expect("settlement ids fit in memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_and_gaps_read_as_absent() {
        // Proves insert, lookup, gaps, counting and ordered iteration.
        let mut t = ById::default();
        t.insert(SettlementId(3), "c");
        *t.get_or_insert_with(SettlementId(1), || "a") = "A";
        assert_eq!(t.get(SettlementId(1)), Some(&"A"));
        assert_eq!(t.get(SettlementId(2)), None);
        assert_eq!(t.get(SettlementId(99)), None);
        assert_eq!(t.len(), 2);
        let ids: Vec<u64> = t.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [1, 3]);
        let later: Vec<u64> = t.iter_from(SettlementId(2)).map(|(id, _)| id.0).collect();
        assert_eq!(later, [3]);
        assert_eq!(t.iter_from(SettlementId(50)).count(), 0);
        t.clear();
        assert!(t.is_empty());
    }
}
