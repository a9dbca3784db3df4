//! The store's log on disk: recovery (rebuild every table from the durable
//! records, cut off a torn or corrupt tail) and compaction (rewrite the log
//! as a snapshot when it has grown well past the state it describes).

use super::{Store, StoreEffect, COMPACT_MIN_RECORDS, COMPACT_RATIO};
use crate::engine::codec;
use crate::engine::defects::Defect;
use crate::engine::settlement::Settlement;
use crate::engine::wal;
use crate::sim::LogDisk;

impl Store {
    /// Rebuilds every table from the durable log, cutting off a torn or
    /// corrupt tail.
    pub(super) fn recover(&mut self) {
        let log = self.disk.read_all().expect("simulated reads do not fail");
        let scanned = wal::scan(&log, !self.defects.has(Defect::WalNoChecksum));
        self.settlements.clear();
        self.keys.clear();
        self.runnable.clear();
        let mut valid_len = 0;
        let mut records = 0;
        for payload in scanned.payloads {
            let Some(s) = codec::decode(payload) else {
                break;
            };
            if !self.load(s) {
                break;
            }
            valid_len += wal::HEADER + payload.len();
            records += 1;
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

    /// Loads one recovered record; false if it cannot belong to this log.
    fn load(&mut self, s: Settlement) -> bool {
        let index = s.id.0 as usize;
        match index.cmp(&self.settlements.len()) {
            std::cmp::Ordering::Less => self.settlements[index] = s,
            std::cmp::Ordering::Equal => self.settlements.push(s),
            std::cmp::Ordering::Greater => return false,
        }
        if !self.defects.has(Defect::IdempotencyInMemory) {
            self.keys.insert(s.key, s.id);
        }
        if s.stage.is_terminal() {
            self.runnable.remove(&s.id);
        } else {
            self.runnable.insert(s.id);
        }
        true
    }

    /// Rewrites the log as a snapshot of every settlement once it has grown
    /// well past the state it describes. Only between syncs, so the snapshot
    /// holds exactly the durable state.
    pub(super) fn maybe_compact(&mut self) {
        let live = self.settlements.len() as u64;
        if self.appended != self.durable
            || self.log_records < (live * COMPACT_RATIO).max(COMPACT_MIN_RECORDS)
        {
            return;
        }
        let settlements = &self.settlements;
        let payload = &mut self.scratch;
        self.disk.rewrite_with(|snapshot| {
            for s in settlements {
                payload.clear();
                codec::encode(s, payload);
                wal::frame(payload, snapshot);
            }
        });
        self.log_records = live;
    }
}
