//! The sweep's rules, proved on one worker beside a scripted store: no seed
//! proves them any more, since the store's cap on the work under way keeps
//! every shipped seed clear of the backlogs they are for.

use super::super::{Worker, WorkerConfig};
use crate::engine::protocol::{ScanPass, StoreNotice, StoreReply, StoreRequest};
use crate::engine::settlement::{IdempotencyKey, Settlement, SettlementId, Stage};
use crate::sim::{
    Ctx, EventKind, Input, Kernel, Micros, NetworkFaults, NodeClock, NodeId, Streams, World,
};
use crate::world::Msg;
use std::collections::{BTreeMap, BTreeSet};

const WORKER: NodeId = NodeId(0);
const STORE: NodeId = NodeId(1);
const SECOND: u64 = 1_000_000;

/// One scan as the store saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scan {
    at: Micros,
    pass: ScanPass,
    from: SettlementId,
    limit: u32,
}

/// A worker (node 0) that leases the only shard, beside a store (node 1)
/// that answers scans from the settlements it holds and records them. It
/// completes the settlements in `finishing` when they are claimed and
/// answers nothing else, so any other job holds its slot for good.
struct Bench {
    worker: Worker,
    held: BTreeMap<SettlementId, Settlement>,
    finishing: BTreeSet<SettlementId>,
    scans: Vec<Scan>,
    /// When each settlement was claimed first.
    claimed: BTreeMap<SettlementId, Micros>,
}

fn settlement(id: u64, stage: Stage) -> Settlement {
    let key = IdempotencyKey { client: 0, seq: id };
    let mut settlement = Settlement::for_test(id, key);
    settlement.stage = stage;
    settlement
}

impl Bench {
    /// A worker with `capacity` slots and a transaction lifetime of
    /// `tx_ttl_s`, scanning every second, beside a store holding `held`.
    fn new(capacity: u32, tx_ttl_s: u64, held: impl IntoIterator<Item = Settlement>) -> Bench {
        let worker = Worker::holding_every_shard(WorkerConfig {
            capacity,
            tx_ttl_us: tx_ttl_s * SECOND,
            ..WorkerConfig::for_test()
        });
        Bench {
            worker,
            held: held.into_iter().map(|s| (s.id, s)).collect(),
            finishing: BTreeSet::new(),
            scans: Vec::new(),
            claimed: BTreeMap::new(),
        }
    }

    fn on_store_request(&mut self, request: StoreRequest, ctx: &mut Ctx<'_, Msg>) {
        match request {
            StoreRequest::Runnable {
                req,
                pass,
                from,
                limit,
                ..
            } => {
                self.scans.push(Scan {
                    at: ctx.monotonic(),
                    pass,
                    from,
                    limit,
                });
                let settlements = self
                    .held
                    .range(from..)
                    .map(|(_, s)| *s)
                    .filter(|s| pass == ScanPass::All || s.stage.is_under_way())
                    .take(limit as usize)
                    .collect();
                ctx.reply(WORKER, StoreReply::Runnable { req, settlements });
            }
            StoreRequest::Claim { req, id, .. } => {
                self.claimed.entry(id).or_insert(ctx.monotonic());
                if self.finishing.contains(&id) {
                    let mut current = self.held.remove(&id).expect("claimed one it holds");
                    current.stage = Stage::Completed;
                    current.version += 1;
                    let current = Box::new(current);
                    ctx.reply(WORKER, StoreReply::Conflict { req, current });
                }
            }
            _ => {}
        }
    }

    /// Runs the world until `until`.
    fn run_until(&mut self, kernel: &mut Kernel<Msg>, until: Micros) {
        while kernel.now() < until && kernel.step(self).is_some() {}
    }
}

impl World for Bench {
    type Msg = Msg;

    fn deliver(&mut self, node: NodeId, input: Input<Msg>, ctx: &mut Ctx<'_, Msg>) {
        match (node, input) {
            (WORKER, Input::Start) => self.worker.on_start(ctx),
            (WORKER, Input::Timer(Msg::WorkerTimer(timer))) => self.worker.on_timer(timer, ctx),
            (WORKER, Input::Timer(Msg::StoreNotice(notice))) => self.worker.on_notice(notice, ctx),
            (
                WORKER,
                Input::Message {
                    msg: Msg::StoreReply(reply),
                    ..
                },
            ) => self.worker.on_store_reply(reply, ctx),
            (
                STORE,
                Input::Message {
                    msg: Msg::Store(request),
                    ..
                },
            ) => self.on_store_request(request, ctx),
            // A settlement written behind the worker's back.
            (STORE, Input::Timer(Msg::StoreNotice(StoreNotice::WorkAvailable { settlement }))) => {
                self.held.insert(settlement.id, *settlement);
            }
            _ => {}
        }
    }

    fn crash(&mut self, _node: NodeId) {}

    fn node_name(&self, node: NodeId) -> String {
        node.to_string()
    }

    fn kind_of(&self, msg: &Msg) -> EventKind {
        msg.kind()
    }
}

fn calm_kernel() -> Kernel<Msg> {
    let calm = NetworkFaults::delaying(10, 20);
    Kernel::new(&Streams::new(1), calm, vec![NodeClock::default(); 4])
}

fn notice(settlement: Settlement) -> Msg {
    Msg::StoreNotice(StoreNotice::WorkAvailable {
        settlement: Box::new(settlement),
    })
}

/// A worker with four slots beside a store holding `under_way` settlements
/// under way, the first of which ends once claimed, told at half a second
/// of a new request (settlement 10); run for a second and a half.
fn a_notice_among(under_way: u64) -> Bench {
    let mut bench = Bench::new(
        4,
        120,
        (0..under_way).map(|id| settlement(id, Stage::BurnSigned)),
    );
    bench.finishing.insert(SettlementId(0));
    let mut kernel = calm_kernel();
    kernel.inject(
        Micros(SECOND / 2),
        WORKER,
        notice(settlement(10, Stage::Requested)),
    );
    bench.run_until(&mut kernel, Micros(SECOND * 3 / 2));
    bench
}

fn jobs(bench: &Bench) -> Vec<u64> {
    bench.worker.jobs.ids().map(|id| id.0).collect()
}

#[test]
fn a_settlement_under_way_left_without_a_slot_holds_new_work_back() {
    // Proves the pass over settlements under way: it comes first, asks for a
    // whole page with one slot free, and a settlement it found no slot for
    // keeps new work out of the next slot that frees, so the settlement,
    // whose burn ages in the chain's history, has it. Without the pass, a
    // backlog of new requests held settlements a holder had left under way
    // until their burns aged out (`backlog` seeds 94500002, 94500020 and
    // 94500050, before the store capped the work under way).
    let bench = a_notice_among(6);
    let scan = |pass, from, limit| (pass, SettlementId(from), limit);
    let seen: Vec<_> = bench
        .scans
        .iter()
        .map(|s| (s.pass, s.from, s.limit))
        .collect();
    assert_eq!(
        seen[..2],
        [
            scan(ScanPass::UnderWay, 0, 32),
            scan(ScanPass::UnderWay, 4, 32)
        ],
        "four slots, then one: a whole page each time, resuming at the first left"
    );
    assert_eq!(
        jobs(&bench),
        [1, 2, 3, 4],
        "the slot settlement 0 freed went to settlement 4, not the new request 10"
    );
    // With nothing under way left waiting, the same notice is taken.
    assert_eq!(jobs(&a_notice_among(2)), [1, 10]);
}

#[test]
fn a_long_pass_over_everything_gives_way_to_settlements_under_way() {
    // Proves the pass over every settlement gives way to the pass over those
    // under way once it has run for a transaction's lifetime: a settlement
    // can come under way behind the worker's back (its own write from before
    // a crash, applied late) where the long pass has looked already, and
    // must not wait for the end of the backlog while its burn ages.
    let backlog = (10..410).map(|id| settlement(id, Stage::Requested));
    let mut bench = Bench::new(8, 10, backlog);
    bench.finishing = (0..410).map(SettlementId).collect();
    let mut kernel = calm_kernel();
    kernel.inject(
        Micros(3 * SECOND),
        STORE,
        notice(settlement(5, Stage::BurnSigned)),
    );
    bench.run_until(&mut kernel, Micros(13 * SECOND));
    let taken_at = bench.claimed.get(&SettlementId(5)).copied();
    assert!(
        taken_at.is_some_and(|at| at >= Micros(10 * SECOND) && at < Micros(12 * SECOND)),
        "settlement 5 was taken at {taken_at:?}, not once the pass over everything had run ten seconds"
    );
    let gave_way = bench
        .scans
        .iter()
        .find(|s| s.pass == ScanPass::UnderWay && s.at > Micros(SECOND))
        .expect("a pass over settlements under way after the first");
    assert_eq!(gave_way.from, SettlementId(0));
    assert!(
        bench.held.len() > 200,
        "the pass over everything gave way early, not at its end: {} left",
        bench.held.len()
    );
}
