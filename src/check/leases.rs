//! The lease family: workers act only under their own valid lease, no two
//! holders overlap, the store's accepted writes never go back in fencing
//! token, and after healing no lease is stuck.

use super::invariant::{Invariant, Violation};
use crate::engine::{Settlement, SettlementId, ShardId, Sharding, Window, Writer};
use crate::sim::{Micros, NodeId, Step};

/// One lease as granted, in true time.
#[derive(Clone, Copy, Debug)]
struct Record {
    token: u64,
    holder: NodeId,
    granted_at: Micros,
    /// When the service will consider it expired (`Micros::MAX`: never).
    expires_at: Micros,
    released_at: Option<Micros>,
}

impl Record {
    fn valid_at(&self, t: Micros) -> bool {
        self.granted_at <= t && t < self.expires_at && self.released_at.is_none_or(|r| t < r)
    }
}

/// Leases kept per shard: the newest few are all a check looks at.
const KEPT: usize = 4;

/// Tracks grants, releases, actions and fenced writes.
pub struct LeaseChecker {
    sharding: Sharding,
    /// By shard number: a table, not a map, since every action looks its
    /// shard up.
    leases: Vec<Vec<Record>>,
    /// The newest fencing token among a settlement's accepted writes.
    newest_token: Window<SettlementId, u64>,
}

fn violation(invariant: Invariant, id: SettlementId, at: Step, detail: String) -> Violation {
    Violation {
        invariant,
        settlement: Some(id),
        event: at.n,
        time_us: at.time,
        detail,
    }
}

impl LeaseChecker {
    /// A checker for leases on the shards of `sharding`.
    pub fn new(sharding: Sharding) -> LeaseChecker {
        LeaseChecker {
            sharding,
            leases: vec![Vec::new(); sharding.count() as usize],
            newest_token: Window::new(),
        }
    }

    /// The service granted (or extended) `token` on `shard` to `holder`.
    pub fn on_granted(
        &mut self,
        shard: ShardId,
        holder: NodeId,
        token: u64,
        at: Micros,
        expires_at: Micros,
    ) {
        let records = &mut self.leases[shard.0 as usize];
        match records.iter_mut().find(|r| r.token == token) {
            Some(r) => r.expires_at = expires_at,
            None => {
                records.push(Record {
                    token,
                    holder,
                    granted_at: at,
                    expires_at,
                    released_at: None,
                });
                if records.len() > KEPT {
                    records.remove(0);
                }
            }
        }
    }

    /// The lease `token` on `shard` ended.
    pub fn on_released(&mut self, shard: ShardId, token: u64, at: Micros) {
        if let Some(r) = self.leases[shard.0 as usize]
            .iter_mut()
            .find(|r| r.token == token)
        {
            r.released_at.get_or_insert(at);
        }
    }

    /// The service restarted: leases without a TTL are gone with it; the
    /// others run out as granted (the service waits them out).
    pub fn on_service_restarted(&mut self, at: Micros) {
        for r in self.leases.iter_mut().flatten() {
            if r.expires_at == Micros::MAX {
                r.expires_at = at;
            }
        }
    }

    /// `worker` decided to act on `id` under `token`, a lease on its shard.
    pub fn on_acting(
        &mut self,
        id: SettlementId,
        worker: NodeId,
        token: u64,
        at: Step,
        violations: &mut Vec<Violation>,
    ) {
        let shard = self.sharding.of(id);
        let records = &self.leases[shard.0 as usize];
        let Some(own) = records.iter().find(|r| r.token == token && token != 0) else {
            let detail = format!("{worker} acted on {id} without a lease (token {token})");
            violations.push(violation(Invariant::LeaseExclusive, id, at, detail));
            return;
        };
        if own.holder != worker || !own.valid_at(at.time) {
            // A lease ends at its expiry, or sooner if it was released (or
            // granted to another in its place).
            let ended = own
                .released_at
                .map_or(own.expires_at, |r| r.min(own.expires_at));
            let detail = format!(
                "{worker} acted on {id} under lease {token} on {shard} of {}, valid {}..{ended}",
                own.holder, own.granted_at
            );
            violations.push(violation(Invariant::LeaseExclusive, id, at, detail));
        }
        // Another worker's lease, valid now. A lease of this same worker
        // does not count: one process holding two tokens (an old lease a
        // restarted service forgot, and the new one) acts as one, and a
        // stale token of its own is judged above.
        if let Some(other) = records
            .iter()
            .find(|r| r.holder != worker && r.valid_at(at.time))
        {
            let detail = format!(
                "{worker} acted on {id} while lease {} on {shard} of {} was valid",
                other.token, other.holder
            );
            violations.push(violation(Invariant::LeaseExclusive, id, at, detail));
        }
    }

    /// The store accepted a write.
    pub fn on_written(
        &mut self,
        id: SettlementId,
        writer: Option<Writer>,
        at: Step,
        violations: &mut Vec<Violation>,
    ) {
        let Some(w) = writer else { return };
        let newest = self.newest_token.get_or_insert_with(id, || 0);
        if w.token < *newest {
            let detail = format!(
                "write by {} under token {} accepted after token {}",
                w.node, w.token, newest
            );
            violations.push(violation(Invariant::FencingMonotonic, id, at, detail));
        }
        *newest = (*newest).max(w.token);
    }

    /// The store rebuilt itself: only the tokens that survived count.
    pub fn on_recovered<'a>(&mut self, recovered: impl Iterator<Item = &'a Settlement>) {
        self.newest_token.clear();
        for s in recovered {
            self.newest_token.insert(s.id, s.fence);
        }
    }

    /// The store forgot settlement `id`: no write to it can be accepted
    /// again.
    pub fn on_forgotten(&mut self, id: SettlementId) {
        self.newest_token.remove(id);
    }

    /// Liveness: after healing, no lease is held forever.
    pub fn check_none_stuck(&self, at: Step, violations: &mut Vec<Violation>) {
        for (shard, records) in self.sharding.all().zip(&self.leases) {
            for r in records
                .iter()
                .filter(|r| r.released_at.is_none() && r.expires_at == Micros::MAX)
            {
                let detail = format!(
                    "lease {} on {shard} held by {} never expires and was never released",
                    r.token, r.holder
                );
                violations.push(Violation {
                    invariant: Invariant::NoStuckLeases,
                    settlement: None,
                    event: at.n,
                    time_us: at.time,
                    detail,
                });
            }
        }
    }
}
