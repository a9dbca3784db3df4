//! The settlement store: the engine's source of truth for recovery points,
//! idempotency keys and fencing, kept in a write-ahead log on its own disk.
//!
//! - A worker takes a settlement over with a claim: a compare-and-set on the
//!   version with a fencing token newer than any before, which becomes the
//!   settlement's fence. Every later step is a compare-and-set on the stage
//!   (and, for a transaction signed in place of another, on the one it
//!   replaces: see [`Settlement::still_holds`]), refused if its token is
//!   older than the fence, and applied through [`Settlement::apply`], so the
//!   state machine is enforced where the data lives.
//! - Every write is appended to the log as the settlement's whole new state,
//!   so recovery is "last record per id wins".
//! - No reply leaves the store before every write made so far is synced
//!   (group commit): a caller never acts on state a crash could take back.
//! - A failed fsync is treated as a crash of the in-memory state: the store
//!   reloads from what is durable and drops the replies it was holding.
//! - When the log holds many more records than settlements it is rewritten
//!   as a snapshot, so it stays proportional to the state, not the history.
//! - Settlements terminal for longer than the key retention are forgotten at
//!   compaction, and their keys expire (see `retention`): the state itself
//!   stays proportional to the settlements in flight.

mod log;
mod retention;
mod scan;

use super::defects::{Defect, Defects};
use super::expired_keys::ExpiredByClient;
use super::grouped_window::KeyTable;
use super::protocol::{StoreNotice, StoreReply, StoreRequest};
use super::settlement::{
    Advance, IdempotencyKey, Settlement, SettlementId, SettlementRequest, Stage,
};
use super::shard::Sharding;
use super::window::Window;
use crate::sim::{Ctx, Micros, NodeId, RequestId, SimDisk, SyncTicket};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The store's disk: its log takes settlements as records.
pub type StoreDisk = SimDisk<Settlement>;

/// What the checkers learn of the store's history.
// Effects live for one step in a reused buffer; boxing the big variant would
// cost an allocation per write for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreEffect {
    /// A write was applied (and appended, maybe not yet synced).
    Written {
        /// The stage before; `None` when the write created the settlement.
        before: Option<Stage>,
        /// The settlement after the write.
        settlement: Settlement,
        /// The worker that wrote it and its token; `None` for a client's
        /// request.
        writer: Option<Writer>,
    },
    /// A reply revealed settlement `id` at `version` to a caller, who may now
    /// act on it: from here on it must survive any crash.
    Acknowledged {
        /// Which settlement.
        id: SettlementId,
        /// The version revealed.
        version: u64,
    },
    /// The store rebuilt its state from its disk (restart, or failed fsync).
    Recovered,
    /// The store durably forgot a settlement (in its final state): its key
    /// is answered `KeyExpired` from now on.
    Forgotten {
        /// The settlement as last stored.
        settlement: Settlement,
    },
    /// After forgetting, a client's floor: every key of `client` below
    /// `floor` is answered `KeyExpired` from now on.
    FloorRaised {
        /// The client.
        client: u32,
        /// Its floor now.
        floor: u64,
    },
}

/// Who made a write, under which fencing token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Writer {
    /// The worker.
    pub node: NodeId,
    /// The token its write carried.
    pub token: u64,
}

/// The store's own timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StoreTimer {
    /// The sync in flight completed.
    Synced,
}

/// Something to send once the writes before it are durable.
enum Outgoing {
    Reply(NodeId, StoreReply),
    Notice(NodeId, StoreNotice),
}

/// The log is compacted when it holds this many times more records than
/// there are retained settlements (and at least [`COMPACT_MIN_RECORDS`]):
/// often enough that short runs forget and compact too.
const COMPACT_RATIO: u64 = 4;
const COMPACT_MIN_RECORDS: u64 = 512;

/// A retained settlement.
struct Entry {
    settlement: Settlement,
    /// When its retention started, on the store's monotonic clock: when it
    /// became terminal (or was recovered terminal from the log).
    retained_since: Option<Micros>,
}

/// The store node.
pub struct Store {
    disk: StoreDisk,
    /// How long after its creation a settlement's destination is given up on.
    deadline_us: u64,
    /// How long a terminal settlement's key is still answered.
    retention_us: u64,
    defects: Defects,
    /// Retained settlements by id (boxed: the band of ids can have holes
    /// where settlements were forgotten). Includes unsynced writes.
    settlements: Window<SettlementId, Box<Entry>>,
    /// The id the next new settlement gets.
    next_id: u64,
    /// The settlement of each retained key.
    keys: KeyTable<SettlementId>,
    /// Each client's expired keys.
    expired: ExpiredByClient,
    /// Ids of non-terminal settlements: a window, not a B-tree, since they
    /// are dense and recent, so filing one is an index (1 % of a run's
    /// instructions went to filing them in a B-tree).
    runnable: Window<SettlementId, ()>,
    /// The part of `runnable` under way ([`Stage::is_under_way`]), scanned
    /// first by workers.
    under_way: Window<SettlementId, ()>,
    /// Writes refused for carrying an older fencing token.
    stale_fences: u64,
    /// The workers, told of each new settlement by the home worker of its
    /// shard.
    workers: Vec<NodeId>,
    sharding: Sharding,
    /// The workers' slots, all told. While as many settlements are under
    /// way, none is handed out to be started (see [`Store::admits_new`]).
    slots: usize,
    /// Records appended since boot (a log sequence number).
    appended: u64,
    /// Records known durable.
    durable: u64,
    /// Records in the log file now.
    log_records: u64,
    /// The sync in flight and the record count it covers.
    sync: Option<(SyncTicket, u64)>,
    /// Messages held until the record count they depend on is durable.
    outbox: VecDeque<(u64, Outgoing)>,
    effects: Vec<StoreEffect>,
}

/// What a store is told when it is made: whom it serves and its policies.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The workers it hints about new settlements.
    pub workers: Vec<NodeId>,
    /// The workers' slots in all: it hands out new settlements only while
    /// fewer are under way (see [`Store::admits_new`]).
    pub slots: usize,
    /// How the settlements are split into lease shards.
    pub sharding: Sharding,
    /// The planted defects switched on.
    pub defects: Defects,
    /// A new settlement's deadline, from its creation.
    pub deadline_us: u64,
    /// How long a finished settlement's key is kept.
    pub retention_us: u64,
}

impl StoreConfig {
    /// A store with no workers to hint and no cap on the work under way:
    /// one driven by a script or a unit test.
    pub fn alone(sharding: Sharding, deadline_us: u64, retention_us: u64) -> StoreConfig {
        StoreConfig {
            workers: Vec::new(),
            slots: usize::MAX,
            sharding,
            defects: Defects::NONE,
            deadline_us,
            retention_us,
        }
    }
}

impl Store {
    /// A store on `disk` as `cfg` says. Its state is loaded from the disk
    /// when it starts.
    pub fn new(disk: StoreDisk, cfg: StoreConfig) -> Store {
        let StoreConfig {
            workers,
            slots,
            sharding,
            defects,
            deadline_us,
            retention_us,
        } = cfg;
        Store {
            deadline_us,
            retention_us,
            disk,
            defects,
            settlements: Window::new(),
            next_id: 0,
            keys: KeyTable::default(),
            expired: ExpiredByClient::default(),
            runnable: Window::new(),
            under_way: Window::new(),
            stale_fences: 0,
            workers,
            sharding,
            slots,
            appended: 0,
            durable: 0,
            log_records: 0,
            sync: None,
            outbox: VecDeque::new(),
            effects: Vec::new(),
        }
    }

    /// A store on a disk that never fails and syncs in a microsecond, with
    /// `shards` shards and no workers, for unit tests.
    #[cfg(test)]
    fn on_a_sound_disk(shards: u32) -> Store {
        use crate::sim::rng::{Stream, Streams};
        use crate::sim::{DiskFaults, Ratio};
        let faults = DiskFaults {
            sync_us_min: 1,
            sync_us_max: 1,
            sync_fail: Ratio::NEVER,
            torn_write: Ratio::NEVER,
            corrupt_sector: Ratio::NEVER,
        };
        let disk = SimDisk::of_records(faults, Streams::new(1).stream(Stream::Disk));
        Store::new(disk, StoreConfig::alone(Sharding::new(shards), 1, 1))
    }

    /// The disk, taken back when the process crashes (it outlives the process).
    pub fn into_disk(self) -> StoreDisk {
        self.disk
    }

    /// The disk.
    pub fn disk(&self) -> &StoreDisk {
        &self.disk
    }

    /// The disk, e.g. to calm it in the heal phase.
    pub fn disk_mut(&mut self) -> &mut StoreDisk {
        &mut self.disk
    }

    /// How many settlements are not yet terminal.
    pub fn unfinished(&self) -> usize {
        self.runnable.len()
    }

    /// Every retained settlement, by id.
    pub fn settlements(&self) -> impl Iterator<Item = &Settlement> + '_ {
        self.settlements.values().map(|e| &e.settlement)
    }

    /// Settlement `id`, if retained.
    pub fn settlement(&self, id: SettlementId) -> Option<&Settlement> {
        self.settlements.get(id).map(|e| &e.settlement)
    }

    /// How many settlements are retained (not yet forgotten).
    pub fn retained(&self) -> usize {
        self.settlements.len()
    }

    /// The floor of `client`'s keys: every key below it has expired.
    pub fn floor(&self, client: u32) -> u64 {
        self.expired.floor(client)
    }

    /// Settlements created so far, forgotten ones included.
    pub fn created(&self) -> u64 {
        self.next_id
    }

    /// Writes refused since this process started for carrying a fencing
    /// token older than the settlement's.
    pub fn stale_fences(&self) -> u64 {
        self.stale_fences
    }

    /// Records appended since this process started.
    pub fn records_written(&self) -> u64 {
        self.appended
    }

    /// Records in the log file now.
    pub fn log_records(&self) -> u64 {
        self.log_records
    }

    /// Hands over the history since the last call by swapping it into
    /// `into` (which must be empty): no effect is copied.
    pub fn take_effects(&mut self, into: &mut Vec<StoreEffect>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.effects, into);
    }

    /// Boot: rebuild the state from the log.
    pub fn on_start<M: Clone>(&mut self, ctx: &mut Ctx<'_, M>) {
        self.start_at(ctx.monotonic());
    }

    /// Starts up outside a run, as [`Store::on_start`] does at `now` on the
    /// store's clock: for a store built to be looked at, not run.
    pub fn start_at(&mut self, now: Micros) {
        self.recover(now);
    }

    /// A timer fired.
    pub fn on_timer<M: Clone + From<StoreReply> + From<StoreNotice> + From<StoreTimer>>(
        &mut self,
        timer: StoreTimer,
        ctx: &mut Ctx<'_, M>,
    ) {
        let StoreTimer::Synced = timer;
        let (ticket, upto) = self.sync.take().expect("a sync was in flight");
        match self.disk.finish_sync(ticket) {
            Ok(()) => {
                self.durable = upto;
                self.maybe_compact(ctx.monotonic());
            }
            // Planted defect: sync again, as if the writes were still
            // cached (the flush below starts the new sync).
            Err(_) if self.defects.has(Defect::FsyncRetry) => {}
            // The unsynced writes are gone and the in-memory state is ahead
            // of the disk: reload, as a restart would, and answer nothing
            // that depended on the lost writes.
            Err(_) => self.recover(ctx.monotonic()),
        }
        self.flush(ctx);
    }

    /// A call arrived.
    pub fn on_request<M: Clone + From<StoreReply> + From<StoreNotice> + From<StoreTimer>>(
        &mut self,
        from: NodeId,
        request: StoreRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let reply = match request {
            StoreRequest::Initiate { req, key, request } => {
                self.initiate(req, key, request, ctx.now(), ctx.monotonic())
            }
            StoreRequest::Runnable {
                req,
                pass,
                from,
                limit,
                shards,
            } => StoreReply::Runnable {
                req,
                settlements: self.scan(pass, from, limit, shards),
            },
            StoreRequest::Get { req, id } => StoreReply::Found {
                req,
                settlement: self.settlement(id).map(|s| Box::new(*s)),
            },
            StoreRequest::Claim {
                req,
                id,
                version,
                token,
            } => self.claim(req, id, version, token, from, ctx.monotonic()),
            StoreRequest::Advance {
                req,
                id,
                stage,
                fence,
                step,
            } => self.advance(req, id, stage, fence, step, from, ctx.monotonic()),
        };
        self.outbox
            .push_back((self.appended, Outgoing::Reply(from, reply)));
        self.flush(ctx);
    }

    fn initiate(
        &mut self,
        req: RequestId,
        key: IdempotencyKey,
        request: SettlementRequest,
        wall_now: Micros,
        now: Micros,
    ) -> StoreReply {
        if let Some(&id) = self.keys.get(key) {
            return if self.settlements[id].settlement.request == request {
                StoreReply::Initiated { req, id }
            } else {
                StoreReply::KeyConflict { req, existing: id }
            };
        }
        if self.expired.contains(key) {
            return StoreReply::KeyExpired { req };
        }
        let id = SettlementId(self.next_id);
        self.next_id += 1;
        let deadline = wall_now.as_u64().saturating_add(self.deadline_us);
        let settlement = Settlement::new(id, key, request, deadline);
        self.settlements.insert(
            id,
            Box::new(Entry {
                settlement,
                // Planted defect: the retention clock starts at creation.
                retained_since: self
                    .defects
                    .has(Defect::RetentionFromCreation)
                    .then_some(now),
            }),
        );
        self.keys.insert(key, id);
        self.file(id, None, Stage::Requested);
        self.write(None, settlement, None);
        if !self.workers.is_empty() && self.admits_new() {
            let home = self.sharding.home(self.sharding.of(id), self.workers.len());
            let worker = self.workers[home];
            let notice = StoreNotice::WorkAvailable {
                settlement: Box::new(settlement),
            };
            self.outbox
                .push_back((self.appended, Outgoing::Notice(worker, notice)));
        }
        StoreReply::Initiated { req, id }
    }

    /// The settlement a write names, or the reply saying it does not exist
    /// (it was forgotten, or, under a planted defect, a worker saw a
    /// settlement that a crash then took back).
    fn current(&self, req: RequestId, id: SettlementId) -> Result<&Settlement, StoreReply> {
        self.settlement(id).ok_or(StoreReply::Found {
            req,
            settlement: None,
        })
    }

    /// PENDING → PROCESSING: a compare-and-set on the version, with a token
    /// newer than any the settlement has seen.
    fn claim(
        &mut self,
        req: RequestId,
        id: SettlementId,
        version: u64,
        token: u64,
        from: NodeId,
        now: Micros,
    ) -> StoreReply {
        let current = match self.current(req, id) {
            Ok(current) => current,
            Err(missing) => return missing,
        };
        // Planted defect: the worker checked the status before; the write
        // itself checks nothing.
        let blind = self.defects.has(Defect::StatusCheckThenAct);
        let fresh =
            current.version == version && token > current.fence && !current.stage.is_terminal();
        if !(fresh || blind) {
            return StoreReply::Conflict {
                req,
                current: Box::new(*current),
            };
        }
        let mut next = *current;
        next.fence = token;
        next.version += 1;
        let before = current.stage;
        self.commit(next, Some(before), Writer { node: from, token }, now);
        StoreReply::Advanced {
            req,
            id,
            version: next.version,
        }
    }

    /// A step by the lease holder: compare-and-set on the stage and on any
    /// transaction it replaces, fenced.
    #[allow(clippy::too_many_arguments)]
    fn advance(
        &mut self,
        req: RequestId,
        id: SettlementId,
        stage: Stage,
        fence: u64,
        step: Advance,
        from: NodeId,
        now: Micros,
    ) -> StoreReply {
        let current = match self.current(req, id) {
            Ok(current) => current,
            Err(missing) => return missing,
        };
        let fenced = fence >= current.fence || self.defects.has(Defect::NoFencing);
        // One copy, to become the next state; the stored one is looked up
        // again only to answer a conflict.
        let mut next = *current;
        let stored_fence = current.fence;
        if !fenced {
            self.stale_fences += 1;
        }
        if next.stage != stage || !fenced || !next.still_holds(&step) || next.apply(&step).is_err()
        {
            let current = *self.settlement(id).expect("looked up above");
            return StoreReply::Conflict {
                req,
                current: Box::new(current),
            };
        }
        next.fence = fence.max(stored_fence);
        self.commit(
            next,
            Some(stage),
            Writer {
                node: from,
                token: fence,
            },
            now,
        );
        StoreReply::Advanced {
            req,
            id,
            version: next.version,
        }
    }

    /// Installs a settlement's new state and appends it to the log.
    fn commit(&mut self, next: Settlement, before: Option<Stage>, writer: Writer, now: Micros) {
        let id = next.id;
        let entry = self
            .settlements
            .get_mut(id)
            .expect("a write names a retained settlement");
        entry.settlement = next;
        if next.stage.is_terminal() {
            entry.retained_since.get_or_insert(now);
        } else if !self.defects.has(Defect::RetentionFromCreation) {
            entry.retained_since = None;
        }
        self.file(id, before, next.stage);
        self.write(before, next, Some(writer));
    }

    /// Appends the settlement's new state to the log.
    fn write(&mut self, before: Option<Stage>, settlement: Settlement, writer: Option<Writer>) {
        self.disk.append_record(settlement);
        self.appended += 1;
        self.log_records += 1;
        self.effects.push(StoreEffect::Written {
            before,
            settlement,
            writer,
        });
    }

    /// Sends what is durable; starts a sync for what is not.
    fn flush<M: Clone + From<StoreReply> + From<StoreNotice> + From<StoreTimer>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
    ) {
        let ack_early = self.defects.has(Defect::AckBeforeFsync);
        while let Some((needs, _)) = self.outbox.front() {
            if *needs > self.durable && !ack_early {
                break;
            }
            let (_, outgoing) = self.outbox.pop_front().expect("peeked");
            self.send(outgoing, ctx);
        }
        if self.sync.is_none() && self.appended > self.durable {
            let ticket = self.disk.begin_sync();
            self.sync = Some((ticket, self.appended));
            ctx.set_timer(ticket.latency.max(Micros(1)), StoreTimer::Synced);
        }
    }

    fn send<M: Clone + From<StoreReply> + From<StoreNotice>>(
        &mut self,
        outgoing: Outgoing,
        ctx: &mut Ctx<'_, M>,
    ) {
        match outgoing {
            Outgoing::Reply(to, reply) => {
                self.acknowledge_reply(&reply);
                ctx.reply(to, reply);
            }
            Outgoing::Notice(to, notice) => {
                let StoreNotice::WorkAvailable { settlement } = &notice;
                self.acknowledge(settlement.id, settlement.version);
                ctx.send(to, notice);
            }
        }
    }

    /// Records what a reply reveals: the caller may act on it from now on.
    fn acknowledge_reply(&mut self, reply: &StoreReply) {
        match reply {
            StoreReply::Initiated { id, .. } | StoreReply::KeyConflict { existing: id, .. } => {
                self.acknowledge(*id, 1)
            }
            StoreReply::KeyExpired { .. } => {}
            StoreReply::Advanced { id, version, .. } => self.acknowledge(*id, *version),
            StoreReply::Conflict { current, .. } => self.acknowledge(current.id, current.version),
            StoreReply::Found { settlement, .. } => {
                if let Some(s) = settlement {
                    self.acknowledge(s.id, s.version);
                }
            }
            StoreReply::Runnable { settlements, .. } => {
                for s in settlements {
                    self.acknowledge(s.id, s.version);
                }
            }
        }
    }

    /// A reply about a settlement forgotten since it was queued acknowledges
    /// nothing: its forgetting was already judged on its final state.
    fn acknowledge(&mut self, id: SettlementId, version: u64) {
        if self.settlements.contains(id) {
            self.effects.push(StoreEffect::Acknowledged { id, version });
        }
    }
}
