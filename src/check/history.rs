//! The engine-history family: the engine's own claims (store writes, client
//! acknowledgements) held against each other and against the chains' burns.

use super::by_id::ById;
use super::invariant::{Invariant, Violation};
use crate::chain::BurnMessage;
use crate::engine::{
    ClientEffect, IdempotencyKey, Settlement, SettlementId, SettlementRequest, Stage,
};
use crate::sim::Step;
use std::collections::BTreeMap;

/// What the store said it created.
#[derive(Clone, Copy, Debug)]
struct Created {
    key: IdempotencyKey,
    request: SettlementRequest,
    /// The newest stage the store accepted.
    stage: Stage,
}

/// Tracks settlements, keys and burns per key.
#[derive(Default)]
pub struct HistoryChecker {
    created: ById<Created>,
    /// The settlement each key was acknowledged as.
    acknowledged: BTreeMap<IdempotencyKey, SettlementId>,
    burns_per_key: BTreeMap<IdempotencyKey, u32>,
    unexpected_burns: u64,
}

fn violation(
    invariant: Invariant,
    id: Option<SettlementId>,
    at: Step,
    detail: String,
) -> Violation {
    Violation {
        invariant,
        settlement: id,
        event: at.n,
        time_us: at.time,
        detail,
    }
}

impl HistoryChecker {
    /// Settlements the store created.
    pub fn requested(&self) -> u64 {
        self.created.len() as u64
    }

    /// How many created settlements are at `stage` now.
    pub fn count_at(&self, stage: Stage) -> u64 {
        self.created
            .iter()
            .filter(|(_, c)| c.stage == stage)
            .count() as u64
    }

    /// Burns that belonged to no accepted request.
    pub fn unexpected_burns(&self) -> u64 {
        self.unexpected_burns
    }

    /// Folds in one applied store write.
    pub fn on_written(
        &mut self,
        before: Option<Stage>,
        s: &Settlement,
        at: Step,
        violations: &mut Vec<Violation>,
    ) {
        let id = s.id;
        match (before, self.created.get_mut(id)) {
            (None, None) => {
                let created = Created {
                    key: s.key,
                    request: s.request,
                    stage: s.stage,
                };
                self.created.insert(id, created);
            }
            (None, Some(_)) => {
                let detail = format!("settlement id {id} created twice");
                violations.push(violation(Invariant::StageMonotonic, Some(id), at, detail));
            }
            (Some(_), None) => {
                let detail = format!("{id} advanced before it was created");
                violations.push(violation(Invariant::StageMonotonic, Some(id), at, detail));
            }
            (Some(from), Some(created)) => {
                // A claim rewrites the fence and keeps the stage.
                if created.stage != from || !(from == s.stage || from.may_become(s.stage)) {
                    let detail = format!(
                        "stored stage was {:?}; write moved {:?} → {:?}",
                        created.stage, from, s.stage
                    );
                    violations.push(violation(Invariant::StageMonotonic, Some(id), at, detail));
                }
                created.stage = s.stage;
            }
        }
    }

    /// The store rebuilt itself from disk: unacknowledged writes it lost are
    /// forgotten, so the next write is judged against what it now holds.
    pub fn on_recovered(&mut self, recovered: &[Settlement]) {
        self.created.clear();
        for s in recovered {
            let created = Created {
                key: s.key,
                request: s.request,
                stage: s.stage,
            };
            self.created.insert(s.id, created);
        }
    }

    /// Folds in one thing a client saw.
    pub fn on_client(&mut self, effect: &ClientEffect, at: Step, violations: &mut Vec<Violation>) {
        match *effect {
            ClientEffect::Acknowledged { key, request, id } => {
                let first = *self.acknowledged.entry(key).or_insert(id);
                if first != id {
                    let detail = format!("key {key} acknowledged as {first} and then as {id}");
                    violations.push(violation(
                        Invariant::SameKeySameOutcome,
                        Some(id),
                        at,
                        detail,
                    ));
                }
                match self.created.get(id) {
                    Some(c) if c.key == key && c.request == request => {}
                    _ => {
                        let detail = format!("key {key} acknowledged as {id}, which the store holds under another key or request");
                        violations.push(violation(
                            Invariant::SameKeySameOutcome,
                            Some(id),
                            at,
                            detail,
                        ));
                    }
                }
            }
            ClientEffect::KeyConflict { key, altered } => {
                if !altered {
                    let detail = format!(
                        "key {key} refused as a conflict although its request never changed"
                    );
                    let id = self.acknowledged.get(&key).copied();
                    violations.push(violation(Invariant::SameKeySameOutcome, id, at, detail));
                }
            }
        }
    }

    /// Folds in one burn from the chains' ground truth.
    pub fn on_burn(&mut self, message: &BurnMessage, at: Step, violations: &mut Vec<Violation>) {
        let id = SettlementId(message.memo);
        let Some(created) = self.created.get(id) else {
            self.unexpected_burns += 1;
            let detail = format!(
                "burn {} names {id}, which the store never created",
                message.id
            );
            violations.push(violation(Invariant::NoUnexpectedBurn, Some(id), at, detail));
            return;
        };
        let r = created.request;
        let matches = r.source == message.id.source
            && r.dest == message.dest
            && r.sender == message.sender
            && r.recipient == message.recipient
            && r.amount == message.amount;
        if !matches {
            self.unexpected_burns += 1;
            let detail = format!("burn {} does not match the request of {id}", message.id);
            violations.push(violation(Invariant::NoUnexpectedBurn, Some(id), at, detail));
        }
        let burns = self.burns_per_key.entry(created.key).or_insert(0);
        *burns += 1;
        if *burns > 1 {
            let detail = format!(
                "key {} has {} burns (latest {})",
                created.key, burns, message.id
            );
            violations.push(violation(
                Invariant::AtMostOneBurnPerIntent,
                Some(id),
                at,
                detail,
            ));
        }
    }

    /// A reorg took a burn back.
    pub fn on_burn_undone(&mut self, message: &BurnMessage) {
        let key = self.created.get(SettlementId(message.memo)).map(|c| c.key);
        if let Some(n) = key.and_then(|k| self.burns_per_key.get_mut(&k)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Liveness: after healing, every created settlement is terminal.
    pub fn check_all_terminal(&self, at: Step, violations: &mut Vec<Violation>) {
        for (id, c) in self.created.iter().filter(|(_, c)| !c.stage.is_terminal()) {
            let detail = format!("still {:?} after healing", c.stage);
            violations.push(violation(
                Invariant::EveryRequestTerminal,
                Some(id),
                at,
                detail,
            ));
        }
    }
}
