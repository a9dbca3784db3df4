//! A table keyed by (group, densely numbered member): a client's idempotency
//! keys, a chain's burns by nonce.
//!
//! Each group numbers its members densely, and the members anyone still
//! holds are a moving band of each group's recent ones: the store keeps a key
//! until it forgets its settlement, the checkers a key or a burn as long as
//! the store or the chains need it. So the table is one [`Window`] per group:
//! a lookup is two indexes, and a group's oldest live member is the first
//! slot of its window.

use super::settlement::IdempotencyKey;
use super::window::Window;

/// A key made of a small group number and a member numbered densely within
/// its group.
pub trait Grouped: Copy {
    /// The group's number: groups are few and numbered from zero.
    fn group(self) -> u32;
    /// The member's number within its group.
    fn member(self) -> u64;
    /// The key of member `member` of group `group`.
    fn from_parts(group: u32, member: u64) -> Self;
}

impl Grouped for IdempotencyKey {
    fn group(self) -> u32 {
        self.client
    }
    fn member(self) -> u64 {
        self.seq
    }
    fn from_parts(client: u32, seq: u64) -> Self {
        IdempotencyKey { client, seq }
    }
}

/// Values by idempotency key.
pub type KeyTable<V> = GroupedWindows<IdempotencyKey, V>;

/// Values by grouped key.
pub struct GroupedWindows<K, V> {
    /// By group number.
    groups: Vec<Window<u64, V>>,
    len: usize,
    key: std::marker::PhantomData<K>,
}

impl<K, V> Default for GroupedWindows<K, V> {
    fn default() -> Self {
        GroupedWindows {
            groups: Vec::new(),
            len: 0,
            key: std::marker::PhantomData,
        }
    }
}

impl<K: Grouped, V> GroupedWindows<K, V> {
    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no key has a value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: K) -> Option<&V> {
        self.groups.get(key.group() as usize)?.get(key.member())
    }

    /// The value of `key`, if any, to change.
    pub fn get_mut(&mut self, key: K) -> Option<&mut V> {
        self.groups
            .get_mut(key.group() as usize)?
            .get_mut(key.member())
    }

    /// `group`'s window, made if it has none yet.
    fn group(&mut self, group: u32) -> &mut Window<u64, V> {
        let i = group as usize;
        if i >= self.groups.len() {
            self.groups.resize_with(i + 1, Window::new);
        }
        &mut self.groups[i]
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.group(key.group()).insert(key.member(), value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// The value of `key`, made with `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if self.get(key).is_none() {
            self.insert(key, make());
        }
        self.get_mut(key).expect("just inserted")
    }

    /// Takes the value of `key` out.
    pub fn remove(&mut self, key: K) -> Option<V> {
        let old = self
            .groups
            .get_mut(key.group() as usize)?
            .remove(key.member());
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// `group`'s keys with a value, lowest first.
    pub fn of(&self, group: u32) -> impl Iterator<Item = (K, &V)> + '_ {
        self.groups
            .get(group as usize)
            .into_iter()
            .flat_map(move |w| {
                w.iter()
                    .map(move |(member, v)| (K::from_parts(group, member), v))
            })
    }

    /// Every value, by group, then by member.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.groups.iter().flat_map(Window::values)
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.groups.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    proptest::proptest! {
        #[test]
        fn behaves_like_an_ordered_map(
            ops in proptest::collection::vec((0u8..3, 0u32..4, 0u64..30), 0..300)
        ) {
            // Proves the table against a B-tree map keyed the same way on any
            // mix of inserts, removals and insert-if-absent: same lookups,
            // same length, each group's keys and all values in the same order.
            let mut table = KeyTable::default();
            let mut reference = BTreeMap::new();
            for (step, (op, client, seq)) in ops.into_iter().enumerate() {
                let key = IdempotencyKey { client, seq };
                match op {
                    0 => proptest::prop_assert_eq!(table.insert(key, step), reference.insert(key, step)),
                    1 => proptest::prop_assert_eq!(table.remove(key), reference.remove(&key)),
                    _ => proptest::prop_assert_eq!(
                        *table.get_or_insert_with(key, || step),
                        *reference.entry(key).or_insert(step)
                    ),
                }
                for client in 0..5 {
                    let ours: Vec<_> = table.of(client).map(|(k, v)| (k, *v)).collect();
                    let theirs: Vec<_> = reference
                        .range(IdempotencyKey { client, seq: 0 }..=IdempotencyKey { client, seq: u64::MAX })
                        .map(|(k, v)| (*k, *v))
                        .collect();
                    proptest::prop_assert_eq!(ours, theirs);
                }
                proptest::prop_assert_eq!(table.get(key), reference.get(&key));
                proptest::prop_assert_eq!(table.len(), reference.len());
                let values: Vec<_> = table.values().copied().collect();
                let expected: Vec<_> = reference.values().copied().collect();
                proptest::prop_assert_eq!(values, expected);
            }
        }
    }
}
