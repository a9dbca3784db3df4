//! The durability family: what the store acknowledged survives every crash,
//! and what it recovers is something it actually wrote (no phantom state
//! from a torn or corrupt record).

use super::invariant::{Invariant, Violation};
use crate::engine::{Settlement, SettlementId, Store, Window};
use crate::sim::digest::hash_of;
use crate::sim::Step;
use smallvec::{smallvec, SmallVec};

/// Tracks acknowledged versions and the writes that could still be on disk.
#[derive(Default)]
pub struct DurabilityChecker {
    /// The highest version of each settlement a reply revealed.
    acknowledged: Window<SettlementId, u64>,
    /// Per settlement, the (version, content hash) of every write from the
    /// acknowledged version on: the states a recovery may legitimately find.
    /// Rarely more than two, so kept inline: no allocation per settlement.
    written: Window<SettlementId, SmallVec<[(u64, u64); 2]>>,
}

impl DurabilityChecker {
    /// The store applied a write.
    pub fn on_written(&mut self, s: &Settlement) {
        self.written
            .get_or_insert_with(s.id, SmallVec::new)
            .push((s.version, hash_of(s)));
    }

    /// A reply revealed `id` at `version`.
    pub fn on_acknowledged(&mut self, id: SettlementId, version: u64) {
        let acked = self.acknowledged.get_or_insert_with(id, || 0);
        if version > *acked {
            *acked = version;
            if let Some(w) = self.written.get_mut(id) {
                w.retain(|(v, _)| *v >= version);
            }
        }
    }

    /// The store forgot settlement `s`: what it acknowledged must have been
    /// the whole story, and the settlement finished.
    pub fn on_forgotten(&mut self, s: &Settlement, at: Step, violations: &mut Vec<Violation>) {
        let acked = self.acknowledged.remove(s.id).unwrap_or(0);
        self.written.remove(s.id);
        let detail = if !s.stage.is_terminal() {
            format!("forgotten while still {:?}", s.stage)
        } else if s.version < acked {
            format!(
                "acknowledged at version {acked}, forgotten at version {}",
                s.version
            )
        } else {
            return;
        };
        violations.push(Violation {
            invariant: Invariant::AcknowledgedDurable,
            settlement: Some(s.id),
            event: at.n,
            time_us: at.time,
            detail,
        });
    }

    /// The store rebuilt itself as `store` holds now.
    pub fn on_recovered(&mut self, store: &Store, at: Step, violations: &mut Vec<Violation>) {
        let violation = |id, detail| Violation {
            invariant: Invariant::AcknowledgedDurable,
            settlement: Some(id),
            event: at.n,
            time_us: at.time,
            detail,
        };
        for (id, &version) in self.acknowledged.iter() {
            if store.settlement(id).is_none() {
                violations.push(violation(
                    id,
                    format!("acknowledged at version {version}, lost entirely by recovery"),
                ));
            }
        }
        for s in store.settlements() {
            let acked = self.acknowledged.get(s.id).copied().unwrap_or(0);
            let state = (s.version, hash_of(s));
            if s.version < acked {
                let detail = format!(
                    "acknowledged at version {acked}, recovered at version {} ({:?})",
                    s.version, s.stage
                );
                violations.push(violation(s.id, detail));
            } else if !self.written.get(s.id).is_some_and(|w| w.contains(&state)) {
                let detail = format!(
                    "recovered version {} ({:?}) is not a state the store ever wrote",
                    s.version, s.stage
                );
                violations.push(violation(s.id, detail));
            }
        }
        self.written.clear();
        for s in store.settlements() {
            self.written
                .insert(s.id, smallvec![(s.version, hash_of(s))]);
        }
    }
}
