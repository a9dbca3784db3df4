//! A table keyed by (group, densely numbered member): a client's idempotency
//! keys, a chain's burns by nonce.
//!
//! Each group numbers its members densely, and the members anyone still
//! holds are a moving band of each group's recent ones: the store keeps a key
//! until it forgets its settlement, the checkers a key or a burn as long as
//! the store or the chains need it. So the table is one [`Window`] per group:
//! a lookup is two indexes, and a group's oldest live member is the first
//! slot of its window.
//!
//! A key far from its group's band (or of a group numbered beyond the
//! table) goes to an ordered map instead, so no key can make a window span
//! memory: a corrupt log record accepted without its checksum (a planted
//! defect) can carry any key at all, and a settlement stuck for long can
//! stretch its client's band. Such keys only cost a B-tree's lookups.

use super::settlement::IdempotencyKey;
use super::window::Window;
use std::collections::BTreeMap;
use std::iter::Peekable;

/// Groups numbered below this have a window.
const MAX_GROUPS: u32 = 1 << 10;
/// The most slots one group's window may span.
const MAX_SPAN: u64 = 1 << 16;

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
    /// The keys no window could take, by (group, member).
    far: BTreeMap<(u32, u64), V>,
    len: usize,
    key: std::marker::PhantomData<K>,
}

impl<K, V> Default for GroupedWindows<K, V> {
    fn default() -> Self {
        GroupedWindows {
            groups: Vec::new(),
            far: BTreeMap::new(),
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
        let near = self
            .groups
            .get(key.group() as usize)
            .and_then(|w| w.get(key.member()));
        if near.is_some() || self.far.is_empty() {
            return near;
        }
        self.far.get(&(key.group(), key.member()))
    }

    /// The value of `key`, if any, to change.
    pub fn get_mut(&mut self, key: K) -> Option<&mut V> {
        let (group, member) = (key.group(), key.member());
        // Looked up twice: the borrow checker does not yet let the first
        // look's borrow be returned.
        if self.far_mut(group, member).is_some() {
            return self.far_mut(group, member);
        }
        self.groups.get_mut(group as usize)?.get_mut(member)
    }

    /// The value of a key kept far, if it is one. (Almost always there are
    /// none: the check is one comparison.)
    fn far_mut(&mut self, group: u32, member: u64) -> Option<&mut V> {
        if self.far.is_empty() {
            return None;
        }
        self.far.get_mut(&(group, member))
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let (group, member) = (key.group(), key.member());
        if let Some(held) = self.far_mut(group, member) {
            return Some(std::mem::replace(held, value));
        }
        let near = group < MAX_GROUPS
            && self
                .groups
                .get(group as usize)
                .is_none_or(|w| w.span_with(member) <= MAX_SPAN);
        let old = if near {
            let i = group as usize;
            if i >= self.groups.len() {
                self.groups.resize_with(i + 1, Window::new);
            }
            self.groups[i].insert(member, value)
        } else {
            self.far.insert((group, member), value)
        };
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
        let (group, member) = (key.group(), key.member());
        let old = match self
            .groups
            .get_mut(group as usize)
            .and_then(|w| w.remove(member))
        {
            Some(old) => Some(old),
            None if !self.far.is_empty() => self.far.remove(&(group, member)),
            None => None,
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// `group`'s keys with a value, lowest first.
    pub fn of(&self, group: u32) -> impl Iterator<Item = (K, &V)> + '_ {
        let near = self
            .groups
            .get(group as usize)
            .into_iter()
            .flat_map(Window::iter);
        let far = self
            .far
            .range((group, 0)..=(group, u64::MAX))
            .map(|(&(_, member), v)| (member, v));
        Merged {
            a: near.peekable(),
            b: far.peekable(),
        }
        .map(move |(member, v)| (K::from_parts(group, member), v))
    }

    /// Every value, by group, then by member.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        let tabled = self.groups.len() as u32;
        let near = (0..tabled).flat_map(move |g| self.of(g).map(|(_, v)| v));
        let beyond = self.far.range((tabled, 0)..).map(|(_, v)| v);
        near.chain(beyond)
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.groups.clear();
        self.far.clear();
        self.len = 0;
    }
}

/// Two iterators sorted by member, merged into one (no member is in both).
struct Merged<A: Iterator, B: Iterator> {
    a: Peekable<A>,
    b: Peekable<B>,
}

impl<'a, V: 'a, A, B> Iterator for Merged<A, B>
where
    A: Iterator<Item = (u64, &'a V)>,
    B: Iterator<Item = (u64, &'a V)>,
{
    type Item = (u64, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some((x, _)), Some((y, _))) if y < x => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Just;

    proptest::proptest! {
        #[test]
        fn behaves_like_an_ordered_map(
            ops in proptest::collection::vec(
                (
                    0u8..3,
                    proptest::prop_oneof![0u32..4, Just(MAX_GROUPS), Just(u32::MAX)],
                    proptest::prop_oneof![0u64..30, Just(MAX_SPAN * 3), Just(u64::MAX)],
                ),
                0..300,
            )
        ) {
            // Proves the table against a B-tree map keyed the same way on any
            // mix of inserts, removals and insert-if-absent, with keys near
            // and far from their group's band and groups beyond the table:
            // same lookups, same length, each group's keys and all values in
            // the same order.
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
                for client in [0, 1, 2, 3, 4, MAX_GROUPS, u32::MAX] {
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

    #[test]
    fn a_far_key_takes_no_memory_for_the_gap() {
        // Proves a key far beyond its group's band, as a corrupt record can
        // carry, is held without stretching the window over the gap.
        let mut table = KeyTable::default();
        table.insert(IdempotencyKey { client: 0, seq: 5 }, 1);
        table.insert(
            IdempotencyKey {
                client: 0,
                seq: u64::MAX,
            },
            2,
        );
        table.insert(
            IdempotencyKey {
                client: u32::MAX,
                seq: 7,
            },
            3,
        );
        assert!(table.groups.len() == 1 && table.groups[0].span_with(5) == 1);
        assert_eq!(table.far.len(), 2);
        assert_eq!(
            table.get(IdempotencyKey {
                client: 0,
                seq: u64::MAX
            }),
            Some(&2)
        );
        assert_eq!(table.values().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    }
}
