//! The store's log on disk: recovery (rebuild every table from the durable
//! records, cut off a torn or corrupt tail) and compaction (rewrite the log
//! as a snapshot when it has grown well past the state it describes,
//! forgetting what the key retention lets go).

use super::retention::{Horizon, HorizonRecord};
use super::{Entry, Store, StoreEffect, COMPACT_MIN_RECORDS, COMPACT_RATIO};
use crate::engine::codec;
use crate::engine::defects::Defect;
use crate::engine::expired_keys::ExpiredByClient;
use crate::engine::settlement::Settlement;
use crate::engine::wal;
use crate::sim::{LogDisk, Micros, Record};

/// A settlement's state as the log holds it: framed and encoded. The
/// store appends settlements as values; the disk renders them through this
/// when their bytes are needed (see [`crate::sim::SimDisk`]).
impl Record for Settlement {
    fn render(&self, file: &mut Vec<u8>) {
        wal::frame_with(file, |payload| codec::encode(self, payload));
    }
}

impl Store {
    /// Rebuilds every table from the durable log, cutting off a torn or
    /// corrupt tail. Settlements recovered terminal count as terminal since
    /// `now`: their retention starts again.
    pub(super) fn recover(&mut self, now: Micros) {
        let log = self.disk.read_all().expect("simulated reads do not fail");
        let scanned = wal::scan(&log, !self.defects.has(Defect::WalNoChecksum));
        self.settlements.clear();
        self.keys.clear();
        self.expired = ExpiredByClient::default();
        self.runnable.clear();
        self.under_way.clear();
        self.next_id = 0;
        let mut snapshot_left = 0;
        let mut valid_len = 0;
        let mut records = 0;
        // True while the records read so far are all the horizon's.
        let mut in_horizon = false;
        for payload in scanned.payloads {
            let loaded = match Horizon::decode(payload) {
                Some(HorizonRecord::First(horizon)) if records == 0 => {
                    self.next_id = horizon.next_id;
                    self.expired = horizon.expired;
                    snapshot_left = horizon.retained;
                    in_horizon = true;
                    true
                }
                Some(HorizonRecord::More(expired)) if in_horizon => {
                    self.expired.absorb(expired);
                    true
                }
                Some(_) => false,
                None => codec::decode(payload).is_some_and(|s| {
                    in_horizon = false;
                    let from_snapshot = snapshot_left > 0;
                    snapshot_left = snapshot_left.saturating_sub(1);
                    self.load(s, from_snapshot, now)
                }),
            };
            if !loaded {
                break;
            }
            valid_len += wal::HEADER + payload.len();
            records += 1;
        }
        // Filed once each, by the stage its last record left it in, rather
        // than again at every record: recovery reads many records an id.
        let stages: Vec<_> = self
            .settlements
            .iter()
            .map(|(id, entry)| (id, entry.settlement.stage))
            .collect();
        for (id, stage) in stages {
            self.file(id, None, stage);
        }
        if valid_len < log.len() {
            self.disk
                .truncate(valid_len as u64)
                .expect("simulated truncate");
        }
        self.appended = 0;
        self.durable = 0;
        self.log_records = records;
        self.sync = None;
        self.outbox.clear();
        self.effects.push(StoreEffect::Recovered);
    }

    /// Loads one recovered record; false if it cannot belong to this log. A
    /// snapshot's records are retained settlements below the next id; after
    /// them, a record either updates a retained settlement or creates the
    /// next one.
    fn load(&mut self, s: Settlement, from_snapshot: bool, now: Micros) -> bool {
        let id = s.id;
        let fits = if from_snapshot {
            id.0 < self.next_id && !self.settlements.contains(id)
        } else {
            id.0 == self.next_id || self.settlements.contains(id)
        };
        if !fits {
            return false;
        }
        self.next_id = self.next_id.max(id.0 + 1);
        let retained = s.stage.is_terminal() || self.defects.has(Defect::RetentionFromCreation);
        let entry = Entry {
            settlement: s,
            retained_since: retained.then_some(now),
        };
        // Most records replace an earlier one of the same id: in place.
        match self.settlements.get_mut(id) {
            Some(existing) => **existing = entry,
            None => {
                self.settlements.insert(id, Box::new(entry));
            }
        }
        if !self.defects.has(Defect::IdempotencyInMemory) {
            self.keys.insert(s.key, id);
        }
        true
    }

    /// Once the log has grown well past the state it describes, forgets
    /// what has been terminal past the key retention and rewrites the log as
    /// a snapshot: the horizon's records, then every retained settlement.
    /// Only between syncs, so the snapshot holds exactly the durable state.
    pub(super) fn maybe_compact(&mut self, now: Micros) {
        let live = self.settlements.len() as u64;
        if self.appended != self.durable
            || self.log_records < (live * COMPACT_RATIO).max(COMPACT_MIN_RECORDS)
        {
            return;
        }
        self.forget_expired(now);
        let horizon = Horizon {
            next_id: self.next_id,
            retained: self.settlements.len() as u64,
            // Planted defect: what expired is not written down.
            expired: if self.defects.has(Defect::ExpiryInMemory) {
                ExpiredByClient::default()
            } else {
                self.expired.clone()
            },
        };
        let settlements = &self.settlements;
        let mut horizon_records = 0;
        self.disk.rewrite_with(
            |snapshot| horizon_records = horizon.encode(|payload| wal::frame(payload, snapshot)),
            settlements.values().map(|entry| entry.settlement),
        );
        self.log_records = horizon.retained + horizon_records;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::expired_keys::ExpiredKeys;

    #[test]
    fn recovery_reads_a_horizon_spread_over_several_records() {
        // Proves a snapshot whose horizon needed continuation records comes
        // back whole: every expired key, the next id, and all its records
        // counted as the log's.
        let mut store = Store::on_a_sound_disk(1);
        let horizon = Horizon {
            next_id: 30_000,
            retained: 0,
            expired: [
                (0, ExpiredKeys::new(3, 4..25_000)),
                (1, ExpiredKeys::new(9, [])),
            ]
            .into_iter()
            .collect(),
        };
        let mut records = 0;
        store.disk.rewrite_with(
            |log| records = horizon.encode(|payload| wal::frame(payload, log)),
            [],
        );
        assert!(records > 2, "{records} records");
        store.recover(Micros::ZERO);
        assert_eq!(store.expired, horizon.expired);
        assert_eq!(store.next_id, 30_000);
        assert_eq!(store.log_records, records);
    }
}
