//! A table keyed by idempotency key.
//!
//! A client numbers its keys densely, and the keys anyone still holds are a
//! moving band of each client's recent ones: the store keeps a key until it
//! forgets its settlement, the checkers as long as the store does. So the
//! table is one [`Window`] per client over its sequence numbers: a lookup is
//! two indexes, and a client's oldest live key is the first slot of its
//! window.

use super::settlement::IdempotencyKey;
use super::window::Window;

/// Values by idempotency key.
pub struct KeyTable<V> {
    /// By client number.
    clients: Vec<Window<u64, V>>,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable {
            clients: Vec::new(),
        }
    }
}

impl<V> KeyTable<V> {
    /// The value of `key`, if any.
    pub fn get(&self, key: IdempotencyKey) -> Option<&V> {
        self.clients.get(key.client as usize)?.get(key.seq)
    }

    /// The value of `key`, if any, to change.
    pub fn get_mut(&mut self, key: IdempotencyKey) -> Option<&mut V> {
        self.clients.get_mut(key.client as usize)?.get_mut(key.seq)
    }

    /// `client`'s window, made if it has none yet.
    fn client(&mut self, client: u32) -> &mut Window<u64, V> {
        let i = client as usize;
        if i >= self.clients.len() {
            self.clients.resize_with(i + 1, Window::new);
        }
        &mut self.clients[i]
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: IdempotencyKey, value: V) -> Option<V> {
        self.client(key.client).insert(key.seq, value)
    }

    /// The value of `key`, made with `make` if absent.
    pub fn get_or_insert_with(&mut self, key: IdempotencyKey, make: impl FnOnce() -> V) -> &mut V {
        self.client(key.client).get_or_insert_with(key.seq, make)
    }

    /// Takes the value of `key` out.
    pub fn remove(&mut self, key: IdempotencyKey) -> Option<V> {
        self.clients.get_mut(key.client as usize)?.remove(key.seq)
    }

    /// `client`'s keys with a value, lowest first.
    pub fn of(&self, client: u32) -> impl Iterator<Item = (IdempotencyKey, &V)> + '_ {
        self.clients
            .get(client as usize)
            .into_iter()
            .flat_map(move |w| {
                w.iter()
                    .map(move |(seq, v)| (IdempotencyKey { client, seq }, v))
            })
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.clients.clear();
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
            // and each client's keys in the same order.
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
            }
        }
    }
}
