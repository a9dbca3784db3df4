//! A worker: takes settlements over under a lease and drives each from its
//! persisted recovery point to a terminal stage, one outstanding call per
//! settlement.
//!
//! The rules that make retries exactly-once:
//! - every decision starts from the stage the store holds, never from memory;
//! - a transaction is signed into the store before it is broadcast, so a
//!   retry re-broadcasts the *same* transaction, and a new one replaces it
//!   only once the chain says the old one expired unincluded (it never can
//!   be, now);
//! - after any timeout the worker asks (the chain, the store) before acting
//!   again: a timeout says nothing about whether the call took effect.
//!
//! The rules that keep workers from stepping on each other:
//! - a worker acts on a settlement only under a lease on its shard that it
//!   believes valid by its own monotonic clock, with a margin for drift;
//! - it first claims the settlement with the lease's fencing token (a
//!   compare-and-set that makes the token the settlement's fence), so once a
//!   newer holder has claimed, the store refuses every write of an older one.
//!   A worker paused between deciding and writing is the case this is for:
//!   it cannot know its lease expired meanwhile, and the fence stops it.

mod chain_time;
mod job;
mod lease;
mod saga;
mod sweep;

use super::defects::{Defect, Defects};
use super::lock::LockRequest;
use super::protocol::{ScanPass, StoreReply, StoreRequest};
use super::settlement::{Settlement, SettlementId};
use super::shard::Sharding;
use super::window::Window;
use crate::chain::{AttesterRequest, ChainRequest};
use crate::engine::settlement::Leg;
use crate::sim::{Ctx, Micros, NodeId, RequestId, TimerId};
use chain_time::ChainTimes;
use job::{Call, CallKind, Job};
use lease::ShardSlot;
use serde::{Deserialize, Serialize};

/// How a worker paces itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The most settlements it drives at once.
    pub capacity: u32,
    /// How long it waits for any reply before asking again.
    pub rpc_timeout_us: u64,
    /// Shortest pause between two scans of the store for unfinished work.
    pub sweep_us_min: u64,
    /// Longest pause between two scans (the back-off ceiling when idle).
    pub sweep_us_max: u64,
    /// Pause before asking the attester again after "pending".
    pub attest_retry_us: u64,
    /// How long a signed transaction stays valid.
    pub tx_ttl_us: u64,
    /// Each chain's block time, by domain: how long to wait on a pending
    /// transaction before asking again.
    pub block_time_us: Vec<u64>,
    /// The lease TTL the lease service grants.
    pub lease_ttl_us: u64,
    /// The longest time between deciding a write and sending it (signing,
    /// building the request).
    pub commit_delay_us_max: u64,
    /// How the settlements are split into lease shards.
    pub sharding: Sharding,
    /// How many workers share the shards.
    pub workers: usize,
}

impl WorkerConfig {
    /// The part of a lease held back for clock drift: a worker stops acting
    /// this long before its lease expires by its own clock.
    fn lease_margin(&self) -> Micros {
        Micros(self.lease_ttl_us / 4)
    }

    /// One worker of eight slots over one shard, with no chains: a second
    /// between scans and before asking the attester again, half a second
    /// for a reply, transactions living two minutes, leases twenty seconds,
    /// writes sent at once. The base the unit tests of its rules change.
    #[cfg(test)]
    fn for_test() -> WorkerConfig {
        WorkerConfig {
            capacity: 8,
            rpc_timeout_us: 500_000,
            sweep_us_min: 1_000_000,
            sweep_us_max: 1_000_000,
            attest_retry_us: 1_000_000,
            tx_ttl_us: 120_000_000,
            block_time_us: Vec::new(),
            lease_ttl_us: 20_000_000,
            commit_delay_us_max: 0,
            sharding: Sharding::new(1),
            workers: 1,
        }
    }
}

/// A worker's own timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "timer", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WorkerTimer {
    /// The call `req` for settlement `id` got no answer in time.
    Timeout {
        /// The settlement.
        id: SettlementId,
        /// The call.
        req: RequestId,
    },
    /// Time to look at settlement `id` again.
    Wake {
        /// The settlement.
        id: SettlementId,
    },
    /// The write prepared for settlement `id` is ready to send.
    Commit {
        /// The settlement.
        id: SettlementId,
    },
    /// Time to scan the store for unfinished settlements.
    Sweep,
    /// Time to take, extend or hand back shard leases.
    Leases,
}

/// What the checkers learn of a worker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WorkerEffect {
    /// The worker decided to act on settlement `id` (a write, a broadcast)
    /// under lease `token` (0: none).
    Acting {
        /// The settlement.
        id: SettlementId,
        /// The lease token it acts under.
        token: u64,
    },
}

/// Everything a worker sends or sets: one bound instead of six.
pub trait Msg:
    Clone
    + From<StoreRequest>
    + From<ChainRequest>
    + From<AttesterRequest>
    + From<LockRequest>
    + From<WorkerTimer>
{
}

impl<M> Msg for M where
    M: Clone
        + From<StoreRequest>
        + From<ChainRequest>
        + From<AttesterRequest>
        + From<LockRequest>
        + From<WorkerTimer>
{
}

/// Where a worker finds the other processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peers {
    /// The store.
    pub store: NodeId,
    /// The lease service.
    pub lock: NodeId,
    /// The attester.
    pub attester: NodeId,
    /// The chains, by domain.
    pub chains: Vec<NodeId>,
}

/// The worker node. All of its state is volatile: after a crash it learns
/// everything again from the store.
pub struct Worker {
    cfg: WorkerConfig,
    peers: Peers,
    defects: Defects,
    /// This worker's number among the workers: which shards are its home.
    index: usize,
    /// Each shard's lease, as this worker sees it.
    shards: Vec<ShardSlot>,
    /// Boxed: a job is large, and the window keeps a slot for every id in
    /// its band, live or not.
    jobs: Window<SettlementId, Box<Job>>,
    calls: Window<RequestId, SettlementId>,
    /// What time it is on each chain: transactions are valid until then.
    chain_times: ChainTimes,
    next_req: u64,
    /// The scan's pass and where it resumes: see [`ScanPass`].
    sweep_pass: ScanPass,
    sweep_from: SettlementId,
    /// When the current pass began, by the monotonic clock.
    pass_began: Micros,
    /// The last page of the pass over settlements under way found one no
    /// one is moving and had no room for it: no new settlement is taken on
    /// until that pass has it, or its burn would age while new work took
    /// every slot that came free.
    under_way_waiting: bool,
    sweep_us: u64,
    /// The scan in flight and its page size.
    sweep_call: Option<(RequestId, u32)>,
    /// The timer of the next scan.
    sweep_timer: Option<TimerId>,
    effects: Vec<WorkerEffect>,
}

impl Worker {
    /// Worker number `index`, fresh (at boot, or after a crash).
    pub fn new(cfg: WorkerConfig, peers: Peers, index: usize, defects: Defects) -> Worker {
        assert_eq!(cfg.block_time_us.len(), peers.chains.len());
        let sweep_us = cfg.sweep_us_min;
        let shards = vec![ShardSlot::default(); cfg.sharding.count() as usize];
        let chains = peers.chains.len();
        Worker {
            cfg,
            peers,
            defects,
            index,
            shards,
            jobs: Window::new(),
            calls: Window::new(),
            chain_times: ChainTimes::new(chains),
            next_req: 0,
            sweep_pass: ScanPass::UnderWay,
            sweep_from: SettlementId(0),
            pass_began: Micros::ZERO,
            under_way_waiting: false,
            sweep_us,
            sweep_call: None,
            sweep_timer: None,
            effects: Vec::new(),
        }
    }

    /// Settlements being driven now.
    pub fn active(&self) -> usize {
        self.jobs.len()
    }

    /// Writes prepared but not yet sent (the window a pause can hit).
    pub fn pending_commits(&self) -> usize {
        self.jobs.values().filter(|j| j.commit.is_some()).count()
    }

    /// How many shards this worker holds a lease on (by its own reckoning).
    pub fn shards_held(&self) -> usize {
        self.shards.iter().filter(|s| s.lease.is_some()).count()
    }

    /// Hands over what the worker did since the last call.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, WorkerEffect> {
        self.effects.drain(..)
    }

    /// Boot: ask for the home shards and start scanning (a scan finds work
    /// once a shard is leased). Request ids start at the monotonic clock's
    /// reading, so they keep growing across restarts (a worker sends far
    /// fewer than one request per microsecond).
    pub fn on_start<M: Msg>(&mut self, ctx: &mut Ctx<'_, M>) {
        self.next_req = self.next_req.max(ctx.monotonic().as_u64());
        self.start_leases(ctx);
        self.sweep_soon(ctx);
    }

    /// A timer fired.
    pub fn on_timer<M: Msg>(&mut self, timer: WorkerTimer, ctx: &mut Ctx<'_, M>) {
        match timer {
            WorkerTimer::Sweep => self.sweep(ctx),
            WorkerTimer::Leases => self.on_lease_tick(ctx),
            WorkerTimer::Wake { id } => {
                if let Some(job) = self.jobs.get_mut(id) {
                    job.wake = None;
                    match job.retry.take() {
                        Some(kind) => self.retry(id, kind, ctx),
                        None => self.step(id, ctx),
                    }
                }
            }
            WorkerTimer::Commit { id } => {
                let write = self.jobs.get_mut(id).and_then(|j| j.commit.take());
                if let Some((write, token)) = write {
                    // No second look at the lease here: a pause may have
                    // struck since the decision, and only the fence can tell.
                    self.send_write(id, write, token, ctx);
                }
            }
            WorkerTimer::Timeout { id, req } => self.on_timeout(id, req, ctx),
        }
    }

    fn emit_acting(&mut self, id: SettlementId, token: u64) {
        self.effects.push(WorkerEffect::Acting { id, token });
    }

    fn next_request(&mut self) -> RequestId {
        self.next_req += 1;
        RequestId(self.next_req)
    }

    /// Registers an outstanding call for `id` with its timeout.
    fn begin<M: Msg>(
        &mut self,
        id: SettlementId,
        kind: CallKind,
        ctx: &mut Ctx<'_, M>,
    ) -> RequestId {
        let req = self.next_request();
        let timeout = ctx.set_timer(
            Micros(self.cfg.rpc_timeout_us),
            WorkerTimer::Timeout { id, req },
        );
        let job = self.jobs.get_mut(id).expect("call for an unknown job");
        job.call = Some(Call { req, kind, timeout });
        self.calls.insert(req, id);
        req
    }

    fn store_get<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let req = self.begin(id, CallKind::Get, ctx);
        ctx.send(self.peers.store, StoreRequest::Get { req, id });
    }

    /// Ends the outstanding call `req`; `None` if it is stale (answered or
    /// timed out already, or the job is gone).
    fn finish<M: Msg>(
        &mut self,
        req: RequestId,
        ctx: &mut Ctx<'_, M>,
    ) -> Option<(SettlementId, Call)> {
        let id = self.calls.remove(req)?;
        let job = self.jobs.get_mut(id)?;
        let call = job.call.filter(|c| c.req == req)?;
        job.call = None;
        job.timeouts = 0;
        ctx.cancel_timer(call.timeout);
        Some((id, call))
    }

    /// Looks at `id` again after `after` of local time.
    fn wake_later<M: Msg>(&mut self, id: SettlementId, after: u64, ctx: &mut Ctx<'_, M>) {
        let timer = ctx.set_timer(Micros(after.max(1)), WorkerTimer::Wake { id });
        self.jobs.get_mut(id).expect("waking an unknown job").wake = Some(timer);
    }

    fn on_timeout<M: Msg>(&mut self, id: SettlementId, req: RequestId, ctx: &mut Ctx<'_, M>) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        let Some(call) = job.call.filter(|c| c.req == req) else {
            return;
        };
        job.call = None;
        self.calls.remove(req);
        // The first retry goes at once; after that, back off exponentially
        // (up to a quarter lease), so a paused or cut-off peer is not hammered.
        job.timeouts += 1;
        let backoff = match job.timeouts {
            1 => 0,
            n => (self.cfg.rpc_timeout_us << (n - 1).min(8)).min(self.cfg.lease_ttl_us / 4),
        };
        if backoff == 0 {
            self.retry(id, call.kind, ctx);
        } else {
            job.retry = Some(call.kind);
            self.wake_later(id, backoff, ctx);
        }
    }

    /// Follows up a call that timed out. A timeout says nothing about
    /// whether the call took effect: ask before acting again.
    fn retry<M: Msg>(&mut self, id: SettlementId, kind: CallKind, ctx: &mut Ctx<'_, M>) {
        match kind {
            CallKind::Attest | CallKind::AttestCancel => self.step(id, ctx),
            CallKind::Claim(_) | CallKind::Advance(..) | CallKind::Get => self.store_get(id, ctx),
            CallKind::Submit(Leg::Mint) | CallKind::Receipt(Leg::Mint)
                if self.defects.has(Defect::CompensateOnTimeout) =>
            {
                // Planted defect: an ambiguous mint is taken as failed and
                // refunded at once, with no cancel on the destination.
                self.compensate(id, true, ctx);
            }
            CallKind::Submit(leg) | CallKind::Receipt(leg) => self.query_receipt(id, leg, ctx),
            CallKind::Slot => self.query_slot(id, ctx),
        }
    }

    /// The store answered.
    pub fn on_store_reply<M: Msg>(&mut self, reply: StoreReply, ctx: &mut Ctx<'_, M>) {
        match reply {
            StoreReply::Runnable { req, settlements } => {
                if let Some((sweep, limit)) = self.sweep_call {
                    if sweep == req {
                        self.on_sweep_reply(limit, settlements, ctx);
                    }
                }
            }
            StoreReply::Advanced { req, id, version } => {
                let Some((_, call)) = self.finish(req, ctx) else {
                    return;
                };
                let job = self.jobs.get_mut(id).expect("finished call has a job");
                match call.kind {
                    CallKind::Claim(token) => {
                        job.settlement.fence = token;
                        job.settlement.version = version;
                    }
                    CallKind::Advance(step, token) => {
                        job.broadcast = false;
                        job.settlement
                            .apply(&step)
                            .expect("the store accepted this step from this state");
                        job.settlement.fence = job.settlement.fence.max(token);
                        job.resumed = false;
                        // The store's count wins: a blind claim (a planted
                        // defect) may have bumped it behind this worker's back.
                        job.settlement.version = version;
                    }
                    other => panic!("write reply to {other:?}"),
                }
                self.step(id, ctx);
            }
            StoreReply::Conflict { req, current } => {
                let Some((id, _)) = self.finish(req, ctx) else {
                    return;
                };
                self.refresh(id, *current, ctx);
            }
            StoreReply::Found { req, settlement } => {
                let Some((id, _)) = self.finish(req, ctx) else {
                    return;
                };
                match settlement {
                    Some(s) => self.refresh(id, *s, ctx),
                    None => self.finish_job(id, ctx),
                }
            }
            StoreReply::Initiated { .. }
            | StoreReply::KeyConflict { .. }
            | StoreReply::KeyExpired { .. } => {}
        }
    }

    /// Takes the store's view of a settlement and carries on from it — or
    /// lets it go if a newer lease holder has claimed it.
    fn refresh<M: Msg>(&mut self, id: SettlementId, current: Settlement, ctx: &mut Ctx<'_, M>) {
        let token = self.token_of(id);
        if current.fence > token && token != 0 && !self.defects.has(Defect::LockNone) {
            return self.finish_job(id, ctx);
        }
        let job = self.jobs.get_mut(id).expect("refresh of an unknown job");
        if current.version >= job.settlement.version {
            job.settlement = current;
        }
        self.step(id, ctx);
    }
}
