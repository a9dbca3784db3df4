//! The engine-history family: the engine's own claims (store writes, client
//! acknowledgements) held against each other and against the chains' burns.

use super::invariant::{Invariant, Violation};
use crate::chain::BurnMessage;
use crate::engine::{
    ClientEffect, ExpiredByClient, IdempotencyKey, KeyTable, Settlement, SettlementId,
    SettlementRequest, Stage, Window,
};
use crate::sim::{Micros, Step};
use std::collections::BTreeMap;

/// What the store said it created.
#[derive(Clone, Copy, Debug)]
struct Created {
    key: IdempotencyKey,
    request: SettlementRequest,
    /// The newest stage the store accepted.
    stage: Stage,
    /// When it reached that stage (true time): how long a settlement left
    /// unfinished after healing had stood still.
    since: Micros,
}

/// What the checker knows of one key the store retains.
#[derive(Clone, Copy, Debug, Default)]
struct KeyRecord {
    /// The settlement the key was first acknowledged as.
    acknowledged: Option<SettlementId>,
    /// Burns of the key's settlements.
    burns: u32,
}

/// Tracks settlements, keys and burns per key, for as long as the store
/// retains them; of what it forgot, only counts and the expired keys.
#[derive(Default)]
pub struct HistoryChecker {
    created: Window<SettlementId, Created>,
    keys: KeyTable<KeyRecord>,
    unexpected_burns: u64,
    /// Each client's expired keys, as the store's forgetting set them: none
    /// may ever get a settlement again.
    expired: ExpiredByClient,
    /// Forgotten settlements, by their final stage.
    forgotten: BTreeMap<Stage, u64>,
    /// When the store last created a settlement or moved one to a new
    /// stage: the engine's last progress, which the heal phase waits on.
    last_progress: Micros,
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
    /// Settlements the store created, forgotten ones included.
    pub fn requested(&self) -> u64 {
        self.created.len() as u64 + self.forgotten.values().sum::<u64>()
    }

    /// How many created settlements are at `stage` now.
    pub fn count_at(&self, stage: Stage) -> u64 {
        let retained = self.created.values().filter(|c| c.stage == stage).count() as u64;
        retained + self.forgotten.get(&stage).copied().unwrap_or(0)
    }

    /// Burns that belonged to no accepted request.
    pub fn unexpected_burns(&self) -> u64 {
        self.unexpected_burns
    }

    /// When the store last created a settlement or moved one to a new stage.
    pub fn last_progress(&self) -> Micros {
        self.last_progress
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
        if before.is_none() && self.expired.contains(s.key) {
            let detail = format!(
                "key {} has expired, yet the store created {id} for it",
                s.key
            );
            violations.push(violation(
                Invariant::SameKeySameOutcome,
                Some(id),
                at,
                detail,
            ));
        }
        match (before, self.created.get_mut(id)) {
            (None, None) => {
                let created = Created {
                    key: s.key,
                    request: s.request,
                    stage: s.stage,
                    since: at.time,
                };
                self.created.insert(id, created);
                self.last_progress = at.time;
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
                if created.stage != s.stage {
                    created.stage = s.stage;
                    created.since = at.time;
                    self.last_progress = at.time;
                }
            }
        }
    }

    /// The store rebuilt itself from disk: unacknowledged writes it lost are
    /// forgotten, so the next write is judged against what it now holds.
    pub fn on_recovered<'a>(
        &mut self,
        recovered: impl Iterator<Item = &'a Settlement>,
        now: Micros,
    ) {
        let before = std::mem::take(&mut self.created);
        for s in recovered {
            let since = before
                .get(s.id)
                .filter(|c| c.stage == s.stage)
                .map_or(now, |c| c.since);
            let created = Created {
                key: s.key,
                request: s.request,
                stage: s.stage,
                since,
            };
            self.created.insert(s.id, created);
        }
    }

    /// The store forgot `s`, expiring its key: keep the count and the
    /// expired key, drop the rest.
    pub fn on_forgotten(&mut self, s: &Settlement) {
        self.expired.of(s.key.client).insert(s.key.seq);
        self.created.remove(s.id);
        *self.forgotten.entry(s.stage).or_insert(0) += 1;
        self.keys.remove(s.key);
    }

    /// The store expired every key of `client` below `floor`: none may be
    /// the key of a settlement it still holds.
    pub fn on_floor_raised(
        &mut self,
        client: u32,
        floor: u64,
        at: Step,
        violations: &mut Vec<Violation>,
    ) {
        self.expired.of(client).raise(floor);
        let mut below_floor = self.keys.of(client).take_while(|(key, _)| key.seq < floor);
        if let Some((key, id)) =
            below_floor.find_map(|(key, record)| Some((key, record.acknowledged?)))
        {
            let detail =
                format!("key {key} expired (floor {floor}) while the store still holds {id}");
            violations.push(violation(
                Invariant::SameKeySameOutcome,
                Some(id),
                at,
                detail,
            ));
        }
    }

    /// Folds in one thing a client saw.
    pub fn on_client(&mut self, effect: &ClientEffect, at: Step, violations: &mut Vec<Violation>) {
        match *effect {
            ClientEffect::Acknowledged { key, request, id } => {
                if self.expired.contains(key) && !self.created.contains(id) {
                    // Answered just before the store forgot it: what the
                    // answer said was judged while the key was retained.
                    return;
                }
                let record = self.keys.get_or_insert_with(key, KeyRecord::default);
                let first = *record.acknowledged.get_or_insert(id);
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
            ClientEffect::KeyExpired { key } => {
                if !self.expired.contains(key) {
                    let id = self.keys.get(key).and_then(|r| r.acknowledged);
                    let detail =
                        format!("key {key} answered as expired, but the store never forgot it");
                    violations.push(violation(Invariant::SameKeySameOutcome, id, at, detail));
                }
            }
            ClientEffect::KeyConflict { key, altered } => {
                if !altered {
                    let detail = format!(
                        "key {key} refused as a conflict although its request never changed"
                    );
                    let id = self.keys.get(key).and_then(|r| r.acknowledged);
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
        let burns = &mut self
            .keys
            .get_or_insert_with(created.key, KeyRecord::default)
            .burns;
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
        if let Some(record) = key.and_then(|k| self.keys.get_mut(k)) {
            record.burns = record.burns.saturating_sub(1);
        }
    }

    /// Liveness: after healing, every created settlement is terminal.
    /// `why` adds what is known of why one is not (or nothing).
    pub fn check_all_terminal(
        &self,
        at: Step,
        why: impl Fn(SettlementId) -> Option<&'static str>,
        violations: &mut Vec<Violation>,
    ) {
        for (id, c) in self.unfinished() {
            let detail = format!(
                "still {:?} after healing, since {} ({} before the end){}",
                c.stage,
                c.since,
                Micros(at.time.0.saturating_sub(c.since.0)),
                why(id).unwrap_or("")
            );
            violations.push(violation(
                Invariant::EveryRequestTerminal,
                Some(id),
                at,
                detail,
            ));
        }
    }

    /// The created settlements not yet terminal.
    fn unfinished(&self) -> impl Iterator<Item = (SettlementId, &Created)> + '_ {
        self.created.iter().filter(|(_, c)| !c.stage.is_terminal())
    }

    /// Liveness, for a run stopped by its event cap at `at`: the workload
    /// was not finished (else the run would have been quiescent), and what
    /// was in flight never had its heal phase, so it is one failure, named
    /// for the cap, not a list of settlements "after healing".
    pub fn check_cut_short(&self, at: Step, max_events: u64, violations: &mut Vec<Violation>) {
        let unfinished = self.unfinished().count();
        let detail = format!(
            "the run stopped at its cap of {max_events} events (limits.max_events) with its work unfinished: {unfinished} settlements in flight, and any requests not yet made; a runaway, or a cap too low for the scenario"
        );
        violations.push(violation(Invariant::EveryRequestTerminal, None, at, detail));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::NodeId;

    fn at() -> Step {
        at_s(0)
    }

    fn at_s(seconds: u64) -> Step {
        Step {
            n: 1,
            time: Micros(seconds * 1_000_000),
            node: NodeId(0),
        }
    }

    fn settlement(client: u32, seq: u64, id: u64) -> Settlement {
        Settlement::for_test(id, IdempotencyKey { client, seq })
    }

    #[test]
    fn expiry_is_judged_against_what_the_store_forgot() {
        // Proves "expired" is accepted only below the floor the store's own
        // forgetting set, and that a key below it may never be settled again.
        let mut checker = HistoryChecker::default();
        let mut violations = Vec::new();
        let mut s = settlement(2, 5, 0);
        checker.on_written(None, &s, at(), &mut violations);
        let expired = |seq| ClientEffect::KeyExpired {
            key: IdempotencyKey { client: 2, seq },
        };
        checker.on_client(&expired(4), at(), &mut violations);
        assert_eq!(violations.len(), 1, "expired before anything was forgotten");
        s.stage = Stage::Completed;
        checker.on_forgotten(&s);
        checker.on_floor_raised(2, 6, at(), &mut violations);
        checker.on_client(&expired(4), at(), &mut violations);
        checker.on_client(&expired(5), at(), &mut violations);
        assert_eq!(violations.len(), 1, "keys up to the forgotten one expire");
        checker.on_client(&expired(6), at(), &mut violations);
        assert_eq!(violations.len(), 2, "a key above the floor cannot expire");
        checker.on_written(None, &settlement(2, 3, 1), at(), &mut violations);
        assert_eq!(
            violations.len(),
            3,
            "a key below the floor was settled again"
        );
        assert!(violations
            .iter()
            .all(|v| v.invariant == Invariant::SameKeySameOutcome));
        assert_eq!(checker.requested(), 2);
        assert_eq!(checker.count_at(Stage::Completed), 1);
    }

    #[test]
    fn an_unfinished_settlement_says_how_long_it_stood_still() {
        // Proves the liveness detail dates the settlement's stage from the
        // write that moved it there, not from a write that kept it (a
        // claim) nor from a recovery that found it unchanged; and that the
        // engine's last progress, which the heal phase waits on, is that
        // same write.
        let mut checker = HistoryChecker::default();
        let mut violations = Vec::new();
        let mut s = settlement(1, 1, 0);
        checker.on_written(None, &s, at_s(1), &mut violations);
        s.stage = Stage::BurnSigned;
        checker.on_written(Some(Stage::Requested), &s, at_s(5), &mut violations);
        checker.on_written(Some(Stage::BurnSigned), &s, at_s(7), &mut violations);
        checker.on_recovered([s].iter(), Micros(9_000_000));
        assert_eq!(checker.last_progress(), Micros(5_000_000));
        checker.check_all_terminal(at_s(20), |_| None, &mut violations);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(
            violations[0].detail,
            "still BurnSigned after healing, since 5.000000s (15.000000s before the end)"
        );
        // What is known of why it stands still follows, for this one only.
        violations.clear();
        let why = |id| (id == s.id).then_some("; why");
        checker.check_all_terminal(at_s(20), why, &mut violations);
        assert!(violations[0].detail.ends_with("before the end); why"));
        violations.clear();
        let why = |id| (id != s.id).then_some("; why");
        checker.check_all_terminal(at_s(20), why, &mut violations);
        assert!(violations[0].detail.ends_with("before the end)"));
        // A recovery that lost the stage's write dates it from the recovery.
        s.stage = Stage::Requested;
        checker.on_recovered([s].iter(), Micros(9_000_000));
        violations.clear();
        checker.check_all_terminal(at_s(20), |_| None, &mut violations);
        assert!(
            violations[0].detail.contains("since 9.000000s"),
            "{violations:?}"
        );
    }

    #[test]
    fn a_floor_may_not_pass_a_key_the_store_still_holds() {
        // Proves a floor raised past an acknowledged, unforgotten key is a
        // violation: that key's retries would be refused as expired.
        let mut checker = HistoryChecker::default();
        let mut violations = Vec::new();
        let s = settlement(1, 4, 0);
        checker.on_written(None, &s, at(), &mut violations);
        let ack = ClientEffect::Acknowledged {
            key: s.key,
            request: s.request,
            id: s.id,
        };
        checker.on_client(&ack, at(), &mut violations);
        checker.on_floor_raised(1, 4, at(), &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        checker.on_floor_raised(1, 5, at(), &mut violations);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].invariant, Invariant::SameKeySameOutcome);
    }
}
