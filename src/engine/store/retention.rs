//! Key retention: how the store forgets settled history.
//!
//! An idempotency key is answered for as long as it is retained. Once a
//! settlement has been terminal for `engine.key_retention_us` (on the store's
//! monotonic clock), the next compaction drops it, and its client's floor
//! rises past its key: a key below its client's floor is answered
//! `KeyExpired`, never with a new settlement. Floors only rise, and a client's
//! keys are forgotten in sequence order, so a key that was never seen (every
//! attempt lost) expires with the ones after it rather than being taken as
//! new. This is what keeps the store's table and log proportional to the
//! settlements in flight.
//!
//! Forgetting happens only while compacting, so what the store forgets it
//! forgets durably: the snapshot begins with a horizon record (the next
//! settlement id and every floor), and a recovery can never bring back a key
//! the store has already called expired.

use super::{Store, StoreEffect};
use crate::engine::settlement::IdempotencyKey;
use crate::sim::Micros;
use std::collections::BTreeMap;

/// Marks a horizon record: no settlement id is this large.
const MAGIC: u64 = u64::MAX;

/// The head of a snapshot: what the store remembers of what it forgot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Horizon {
    /// The id the next new settlement gets.
    pub next_id: u64,
    /// How many settlement records of the snapshot follow.
    pub retained: u64,
    /// Per client, the lowest key sequence number still answered.
    pub floors: BTreeMap<u32, u64>,
}

impl Horizon {
    /// Appends the record's payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&self.next_id.to_le_bytes());
        out.extend_from_slice(&self.retained.to_le_bytes());
        for (client, floor) in &self.floors {
            out.extend_from_slice(&client.to_le_bytes());
            out.extend_from_slice(&floor.to_le_bytes());
        }
    }

    /// The horizon a payload holds; `None` if it is not a horizon record.
    pub fn decode(bytes: &[u8]) -> Option<Horizon> {
        let (head, rest) = bytes.split_at_checked(24)?;
        let word = |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().expect("8"));
        if word(0) != MAGIC || rest.len() % 12 != 0 {
            return None;
        }
        let floors = rest
            .chunks_exact(12)
            .map(|c| {
                let client = u32::from_le_bytes(c[..4].try_into().expect("4"));
                (client, u64::from_le_bytes(c[4..].try_into().expect("8")))
            })
            .collect();
        Some(Horizon {
            next_id: word(1),
            retained: word(2),
            floors,
        })
    }
}

impl Store {
    /// True if `key` fell below its client's floor: answered `KeyExpired`.
    pub(super) fn expired(&self, key: IdempotencyKey) -> bool {
        self.floors.get(&key.client).is_some_and(|f| key.seq < *f)
    }

    /// Drops every settlement that has been terminal for the retention time,
    /// each client's keys in sequence order, and raises the floors past them.
    /// Call only while compacting, so the snapshot makes it durable; the walk
    /// is over the retained keys, as the snapshot is over the retained table.
    pub(super) fn forget_expired(&mut self, now: Micros) {
        let mut forgettable = Vec::new();
        let mut held_back = None;
        for (&key, &id) in &self.keys {
            if held_back == Some(key.client) {
                continue;
            }
            let aged = self.settlements.get(id).is_some_and(|entry| {
                entry
                    .retained_since
                    .is_some_and(|t| now.as_u64().saturating_sub(t.as_u64()) >= self.retention_us)
            });
            if aged {
                forgettable.push((key, id));
            } else {
                // A later key of this client must wait for this one.
                held_back = Some(key.client);
            }
        }
        for (key, id) in forgettable {
            self.keys.remove(&key);
            let entry = self.settlements.remove(id).expect("aged means present");
            self.floors.insert(key.client, key.seq + 1);
            self.effects.push(StoreEffect::Forgotten {
                settlement: entry.settlement,
            });
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
            floors: BTreeMap::from([(0, 90), (3, 7)]),
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
            floors: BTreeMap::new(),
        }
        .encode(&mut short);
        short.push(0);
        assert_eq!(Horizon::decode(&short), None);
    }
}
