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
//! forgets durably: the snapshot begins with a horizon (the next settlement
//! id and every client's expired keys, in as many records as they need: a
//! settlement stuck for long pins its client's floor), and a recovery can
//! never bring back a key the store has already called expired.

use super::{Store, StoreEffect};
use crate::engine::codec::Decoder;
use crate::engine::expired_keys::{ExpiredByClient, ExpiredKeys};
use crate::engine::wal;
use crate::sim::Micros;
use std::collections::BTreeSet;

/// Marks a horizon's first record: no settlement id is this large.
const MAGIC: u64 = u64::MAX;
/// Marks a horizon's continuation record, for expired keys that did not fit.
const MORE: u64 = u64::MAX - 1;
/// Bytes of one client's entry before its keys: client, floor, key count.
const ENTRY_HEAD: usize = 4 + 8 + 4;

/// The head of a snapshot: what the store remembers of what it forgot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Horizon {
    /// The id the next new settlement gets.
    pub next_id: u64,
    /// How many settlement records of the snapshot follow.
    pub retained: u64,
    /// Each client's expired keys.
    pub expired: ExpiredByClient,
}

/// One record of a horizon, decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HorizonRecord {
    /// The first: the horizon with the expired keys that fit.
    First(Horizon),
    /// A continuation: more expired keys, to merge into the horizon.
    More(ExpiredByClient),
}

impl Horizon {
    /// Hands each record of the horizon to `frame`, in order. The first
    /// holds the magic, the next id and the count of retained records; then,
    /// in it and as many continuation records as they need (each within the
    /// log's record limit), per client its id, its floor, how many keys are
    /// forgotten above the floor, and those keys. A client whose keys do not
    /// fit in one record has an entry in several. Returns how many records.
    pub fn encode(&self, mut frame: impl FnMut(&[u8])) -> u64 {
        let mut records = 1;
        let mut payload = Vec::new();
        for word in [MAGIC, self.next_id, self.retained] {
            payload.extend_from_slice(&word.to_le_bytes());
        }
        for (client, keys) in self.expired.iter() {
            let mut above = keys.above().peekable();
            loop {
                if payload.len() + ENTRY_HEAD + 8 > wal::MAX_PAYLOAD {
                    frame(&payload);
                    records += 1;
                    payload.clear();
                    payload.extend_from_slice(&MORE.to_le_bytes());
                }
                let room = (wal::MAX_PAYLOAD - payload.len() - ENTRY_HEAD) / 8;
                let chunk: Vec<u64> = above.by_ref().take(room).collect();
                payload.extend_from_slice(&client.to_le_bytes());
                payload.extend_from_slice(&keys.below().to_le_bytes());
                let count = u32::try_from(chunk.len()).expect("a record holds fewer keys");
                payload.extend_from_slice(&count.to_le_bytes());
                for seq in chunk {
                    payload.extend_from_slice(&seq.to_le_bytes());
                }
                if above.peek().is_none() {
                    break;
                }
            }
        }
        frame(&payload);
        records
    }

    /// The horizon record a payload holds; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<HorizonRecord> {
        let mut r = Decoder::new(bytes);
        let first = match r.u64()? {
            MAGIC => Some((r.u64()?, r.u64()?)),
            MORE => None,
            _ => return None,
        };
        let mut expired = ExpiredByClient::default();
        while !r.at_end() {
            let client = r.u32()?;
            let below = r.u64()?;
            let above = (0..r.u32()?)
                .map(|_| r.u64())
                .collect::<Option<Vec<u64>>>()?;
            expired.merge(client, ExpiredKeys::new(below, above));
        }
        Some(match first {
            Some((next_id, retained)) => HorizonRecord::First(Horizon {
                next_id,
                retained,
                expired,
            }),
            None => HorizonRecord::More(expired),
        })
    }
}

impl Store {
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
            if self.keys.get(key) == Some(&id) {
                self.keys.remove(key);
            }
            self.expired.of(key.client).insert(key.seq);
            clients.insert(key.client);
            self.effects.push(StoreEffect::Forgotten {
                settlement: entry.settlement,
            });
        }
        // Each touched client's floor: its oldest retained key, or just past
        // its newest forgotten one, whichever is lower.
        for client in clients {
            let oldest_retained = self.keys.of(client).next().map_or(u64::MAX, |(k, _)| k.seq);
            let keys = self.expired.of(client);
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

    /// The records `horizon` encodes to.
    fn records(horizon: &Horizon) -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        let count = horizon.encode(|payload| records.push(payload.to_vec()));
        assert_eq!(count, records.len() as u64);
        records
    }

    #[test]
    fn a_horizon_round_trips_and_nothing_else_reads_as_one() {
        // Proves the horizon record decodes to what was encoded, and that a
        // settlement record (which starts with its id) is never taken for one.
        let horizon = Horizon {
            next_id: 812,
            retained: 37,
            expired: [
                (0, ExpiredKeys::new(90, [])),
                (3, ExpiredKeys::new(7, [9, 12])),
            ]
            .into_iter()
            .collect(),
        };
        let mut bytes = records(&horizon);
        assert_eq!(bytes.len(), 1);
        assert_eq!(
            Horizon::decode(&bytes[0]),
            Some(HorizonRecord::First(horizon))
        );
        bytes[0][0] = 0;
        assert_eq!(Horizon::decode(&bytes[0]), None);
        let mut short = records(&Horizon {
            next_id: 1,
            retained: 0,
            expired: ExpiredByClient::default(),
        })
        .remove(0);
        short.push(0);
        assert_eq!(Horizon::decode(&short), None);
    }

    #[test]
    fn a_horizon_too_large_for_one_record_continues_in_more() {
        // Proves a client with more expired keys than one record holds (a
        // settlement stuck for long pins its floor) is split across records,
        // each within the log's limit, and merges back to the same horizon.
        let horizon = Horizon {
            next_id: 90_000,
            retained: 3,
            expired: [
                (0, ExpiredKeys::new(5, 6..20_000)),
                (1, ExpiredKeys::new(40, [])),
                (2, ExpiredKeys::new(1, (2..12_000).step_by(3))),
            ]
            .into_iter()
            .collect(),
        };
        let records = records(&horizon);
        assert!(records.len() >= 3, "{} records", records.len());
        assert!(records.iter().all(|r| r.len() <= wal::MAX_PAYLOAD));
        let mut decoded = records
            .iter()
            .map(|r| Horizon::decode(r).expect("a horizon record"));
        let Some(HorizonRecord::First(mut merged)) = decoded.next() else {
            panic!("the first record is not a horizon's first");
        };
        for record in decoded {
            let HorizonRecord::More(expired) = record else {
                panic!("a second first record");
            };
            merged.expired.absorb(expired);
        }
        assert_eq!(merged, horizon);
    }
}
