//! The lease service: acquire, extend, release a lease on a shard of the
//! settlements (see [`super::shard`]); leases expire after their TTL
//! so a crashed holder never blocks forever; every grant carries a fencing
//! token that only ever increases.
//!
//! Expiry is judged by the service's own monotonic clock. Holders judge it by
//! theirs, conservatively: from the moment they *sent* the request, minus a
//! margin that covers the drift between two clocks.
//!
//! A holder's request ids only grow, across its restarts too, so the service
//! can tell a late duplicate or an overtaken request from a new one.
//!
//! A restart forgets every lease (they live in memory). Safety then rests on
//! two things: tokens embed an epoch kept on the service's disk and bumped at
//! every boot, so they keep increasing across restarts; and after a restart
//! the service grants nothing for one maximum TTL, by which time every lease
//! it may have granted before has expired.

use super::defects::{Defect, Defects};
use super::shard::ShardId;
use crate::sim::{Ctx, LogDisk, Micros, NodeId, RequestId, SimDisk};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A call to the lease service.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "call", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LockRequest {
    /// Grant me the lease on `shard` (or refresh the one I hold).
    Acquire {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
    },
    /// Extend my lease `token` on `shard`.
    Extend {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
        /// The lease.
        token: u64,
    },
    /// I am done with lease `token` on `shard`.
    Release {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
        /// The lease.
        token: u64,
    },
}

/// The lease service's answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LockReply {
    /// You hold `token` on `shard` for `ttl_us` from when you asked.
    Granted {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
        /// The fencing token.
        token: u64,
        /// How long the lease lasts.
        ttl_us: u64,
    },
    /// Someone else holds it.
    Held {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
    },
    /// Your lease is gone (expired and taken, or forgotten by a restart).
    Lost {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
    },
    /// Released (or was not held).
    Released {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
    },
    /// Restarting: no grants until every earlier lease has surely expired.
    Unavailable {
        /// Correlation id.
        req: RequestId,
        /// The shard.
        shard: ShardId,
    },
}

/// What the checkers learn of the leases.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LockEffect {
    /// `holder` holds `token` on `shard` for `ttl_us` of the service's clock from
    /// now (`None`: forever).
    Granted {
        /// The shard.
        shard: ShardId,
        /// The holder.
        holder: NodeId,
        /// The fencing token.
        token: u64,
        /// How long, by the service's monotonic clock.
        ttl_us: Option<u64>,
    },
    /// The lease `token` on `shard` ended.
    Released {
        /// The shard.
        shard: ShardId,
        /// The lease.
        token: u64,
    },
    /// The service restarted and forgot every lease.
    Restarted,
}

#[derive(Clone, Copy, Debug)]
struct Lease {
    token: u64,
    holder: NodeId,
    /// The request that won it: a duplicate of that request gets the same
    /// answer, any other request a fresh token.
    request: RequestId,
    /// By the service's monotonic clock; `Micros::MAX` without a TTL.
    expires: Micros,
}

/// The lease service node.
pub struct LockService {
    disk: SimDisk,
    ttl_us: u64,
    defects: Defects,
    epoch: u64,
    counter: u64,
    serving_from: Micros,
    leases: BTreeMap<ShardId, Lease>,
    /// Acquires refused because another worker held the lease.
    refusals: u64,
    effects: Vec<LockEffect>,
}

impl LockService {
    /// A service granting leases of `ttl_us`, keeping its epoch on `disk`.
    pub fn new(disk: SimDisk, ttl_us: u64, defects: Defects) -> LockService {
        LockService {
            disk,
            ttl_us,
            defects,
            epoch: 0,
            counter: 0,
            serving_from: Micros::ZERO,
            leases: BTreeMap::new(),
            refusals: 0,
            effects: Vec::new(),
        }
    }

    /// The disk, taken back when the process crashes.
    pub fn into_disk(self) -> SimDisk {
        self.disk
    }

    /// Acquires refused since this process started because another worker
    /// held the lease: how hard workers raced.
    pub fn refusals(&self) -> u64 {
        self.refusals
    }

    /// Hands over what happened since the last call.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, LockEffect> {
        self.effects.drain(..)
    }

    /// Boot: bump the epoch durably; after a restart, wait out one TTL.
    pub fn on_start<M: Clone>(&mut self, ctx: &mut Ctx<'_, M>) {
        let stored = self.disk.read_all().expect("simulated reads do not fail");
        let previous = stored
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        self.epoch = previous.map_or(1, |e| e + 1);
        self.disk
            .rewrite(&self.epoch.to_le_bytes())
            .expect("simulated rewrite");
        if previous.is_some() {
            if !self.defects.has(Defect::LockRestartNoGrace) {
                self.serving_from = self.clock(ctx) + Micros(self.ttl_us);
            }
            self.effects.push(LockEffect::Restarted);
        }
    }

    /// A call arrived.
    pub fn on_request<M: Clone + From<LockReply>>(
        &mut self,
        from: NodeId,
        request: LockRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let now = self.clock(ctx);
        let reply = match request {
            LockRequest::Acquire { req, shard } => self.acquire(req, shard, from, now),
            LockRequest::Extend { req, shard, token } => match self.leases.get_mut(&shard) {
                Some(lease)
                    if lease.token == token && lease.holder == from && lease.expires > now =>
                {
                    lease.expires = if self.defects.has(Defect::LockNoTtl) {
                        Micros::MAX
                    } else {
                        now + Micros(self.ttl_us)
                    };
                    let lease = *lease;
                    self.granted(req, shard, lease)
                }
                _ => LockReply::Lost { req, shard },
            },
            LockRequest::Release { req, shard, token } => {
                if self
                    .leases
                    .get(&shard)
                    .is_some_and(|l| l.token == token && l.holder == from)
                {
                    self.leases.remove(&shard);
                    self.effects.push(LockEffect::Released { shard, token });
                }
                LockReply::Released { req, shard }
            }
        };
        ctx.reply(from, reply);
    }

    /// The clock leases are judged by: the monotonic one, which only
    /// drifts. (The planted defect reads the wall clock, which jumps.)
    fn clock<M: Clone>(&self, ctx: &Ctx<'_, M>) -> Micros {
        if self.defects.has(Defect::LeaseByWallClock) {
            ctx.now()
        } else {
            ctx.monotonic()
        }
    }

    fn acquire(&mut self, req: RequestId, shard: ShardId, from: NodeId, now: Micros) -> LockReply {
        if now < self.serving_from {
            return LockReply::Unavailable { req, shard };
        }
        match self.leases.get(&shard).copied() {
            Some(lease) if lease.holder != from && lease.expires > now => {
                self.refusals += 1;
                LockReply::Held { req, shard }
            }
            // The network delivered this very request twice.
            Some(lease) if lease.holder == from && lease.request == req && lease.expires > now => {
                self.granted(req, shard, lease)
            }
            // An older request of the holder, overtaken by a newer one that
            // already won: it must not take the lease from under it.
            Some(lease) if lease.holder == from && req < lease.request && lease.expires > now => {
                LockReply::Held { req, shard }
            }
            // Free, expired, or asked again by its own holder: a fresh grant.
            // A holder asking again may have lost the grant, or released
            // the lease in a message still on its way; a new token makes that
            // late release miss, where refreshing the old one would let it
            // end a lease the holder believes it has.
            previous => {
                if let Some(old) = previous {
                    self.effects.push(LockEffect::Released {
                        shard,
                        token: old.token,
                    });
                }
                self.counter += 1;
                let lease = Lease {
                    token: (self.epoch << 32) | self.counter,
                    holder: from,
                    request: req,
                    expires: self.expiry(now),
                };
                self.leases.insert(shard, lease);
                self.granted(req, shard, lease)
            }
        }
    }

    fn expiry(&self, now: Micros) -> Micros {
        if self.defects.has(Defect::LockNoTtl) {
            Micros::MAX
        } else {
            now + Micros(self.ttl_us)
        }
    }

    fn granted(&mut self, req: RequestId, shard: ShardId, lease: Lease) -> LockReply {
        let ttl_us = (lease.expires != Micros::MAX).then_some(self.ttl_us);
        self.effects.push(LockEffect::Granted {
            shard,
            holder: lease.holder,
            token: lease.token,
            ttl_us,
        });
        LockReply::Granted {
            req,
            shard,
            token: lease.token,
            ttl_us: self.ttl_us,
        }
    }
}
