//! Key retention: how the store forgets settled history.
//!
//! An idempotency key is answered for as long as it is retained. Once a
//! settlement has been terminal for `engine.key_retention_us` (on the store's
//! monotonic clock), the next compaction forgets it and its key expires: a
//! retry under an expired key is answered `KeyExpired`, never with a new
//! settlement. Each client's expired keys are kept as a floor and the keys
//! forgotten above it ([`ExpiredKeys`]); the floor rises to the client's
//! oldest retained key (or just past its newest forgotten one), so a key that
//! never reached the store (every attempt lost) expires once the store has
//! forgotten a later key of its client and holds none earlier. This is what
//! keeps the store's table and log the size of the settlements in flight.
//!
//! Forgetting happens only while compacting, so what the store forgets it
//! forgets durably: the snapshot begins with a horizon record (the next
//! settlement id and every client's expired keys), and a recovery can never
//! bring back a key the store has already called expired.

use super::{Store, StoreEffect};
use crate::engine::codec::Decoder;
use crate::engine::expired_keys::ExpiredKeys;
use crate::engine::settlement::IdempotencyKey;
use crate::sim::Micros;
use std::collections::{BTreeMap, BTreeSet};

/// Marks a horizon record: no settlement id is this large.
const MAGIC: u64 = u64::MAX;

/// The head of a snapshot: what the store remembers of what it forgot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Horizon {
    /// The id the next new settlement gets.
    pub next_id: u64,
    /// How many settlement records of the snapshot follow.
    pub retained: u64,
    /// Each client's expired keys.
    pub expired: BTreeMap<u32, ExpiredKeys>,
}

impl Horizon {
    /// Appends the record's payload to `out`: the magic, the next id, the
    /// count of retained records, then per client its id, its floor, how many
    /// keys are forgotten above the floor, and those keys.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for word in [MAGIC, self.next_id, self.retained] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        for (client, keys) in &self.expired {
            out.extend_from_slice(&client.to_le_bytes());
            out.extend_from_slice(&keys.below().to_le_bytes());
            let above = u32::try_from(keys.above().count()).expect("fewer keys than 2^32");
            out.extend_from_slice(&above.to_le_bytes());
            for seq in keys.above() {
                out.extend_from_slice(&seq.to_le_bytes());
            }
        }
    }

    /// The horizon a payload holds; `None` if it is not a horizon record.
    pub fn decode(bytes: &[u8]) -> Option<Horizon> {
        let mut r = Decoder::new(bytes);
        if r.u64()? != MAGIC {
            return None;
        }
        let (next_id, retained) = (r.u64()?, r.u64()?);
        let mut expired = BTreeMap::new();
        while !r.at_end() {
            let client = r.u32()?;
            let below = r.u64()?;
            let above = (0..r.u32()?)
                .map(|_| r.u64())
                .collect::<Option<Vec<u64>>>()?;
            expired.insert(client, ExpiredKeys::new(below, above));
        }
        Some(Horizon {
            next_id,
            retained,
            expired,
        })
    }
}

impl Store {
    /// True if `key` has expired: answered `KeyExpired`.
    pub(super) fn expired(&self, key: IdempotencyKey) -> bool {
        self.expired
            .get(&key.client)
            .is_some_and(|keys| keys.contains(key.seq))
    }

    /// Drops every settlement that has been terminal for the retention time,
    /// expires its key and raises its client's floor as far as it can go.
    /// Call only while compacting, so the snapshot makes it durable; the walk
    /// is over the retained table, as the snapshot is.
    pub(super) fn forget_expired(&mut self, now: Micros) {
        let retention = self.retention_us;
        let aged: Vec<_> = self
            .settlements
            .iter()
            .filter(|(_, e)| {
                e.retained_since
                    .is_some_and(|t| now.as_u64().saturating_sub(t.as_u64()) >= retention)
            })
            .map(|(id, e)| (id, e.settlement.key))
            .collect();
        let mut clients = BTreeSet::new();
        for (id, key) in aged {
            let entry = self.settlements.remove(id).expect("aged means present");
            // (Only a planted defect maps one key to two settlements.)
            if self.keys.get(&key) == Some(&id) {
                self.keys.remove(&key);
            }
            self.expired.entry(key.client).or_default().insert(key.seq);
            clients.insert(key.client);
            self.effects.push(StoreEffect::Forgotten {
                settlement: entry.settlement,
            });
        }
        // Each touched client's floor: its oldest retained key, or just past
        // its newest forgotten one, whichever is lower.
        for client in clients {
            let oldest_retained = self
                .keys
                .range(IdempotencyKey { client, seq: 0 }..)
                .next()
                .filter(|(k, _)| k.client == client)
                .map_or(u64::MAX, |(k, _)| k.seq);
            let keys = self.expired.get_mut(&client).expect("inserted above");
            keys.raise(oldest_retained.min(keys.end()));
            let floor = keys.below();
            self.effects
                .push(StoreEffect::FloorRaised { client, floor });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_horizon_round_trips_and_nothing_else_reads_as_one() {
        // Proves the horizon record decodes to what was encoded, and that a
        // settlement record (which starts with its id) is never taken for one.
        let horizon = Horizon {
            next_id: 812,
            retained: 37,
            expired: BTreeMap::from([
                (0, ExpiredKeys::new(90, [])),
                (3, ExpiredKeys::new(7, [9, 12])),
            ]),
        };
        let mut bytes = Vec::new();
        horizon.encode(&mut bytes);
        assert_eq!(Horizon::decode(&bytes), Some(horizon));
        bytes[0] = 0;
        assert_eq!(Horizon::decode(&bytes), None);
        let mut short = Vec::new();
        Horizon {
            next_id: 1,
            retained: 0,
            expired: BTreeMap::new(),
        }
        .encode(&mut short);
        short.push(0);
        assert_eq!(Horizon::decode(&short), None);
    }
}
