//! The store's compare-and-set, driven over the simulated network by a
//! scripted caller: whatever else the engine does, of two replacements of
//! one transaction only the first to arrive is recorded.

mod common;

use common::sim;
use settlesim::chain::{Address, Amount, Domain, TxHash};
use settlesim::engine::{
    Advance, IdempotencyKey, Leg, SettlementId, SettlementRequest, Sharding, SignedTx, Stage,
    Store, StoreConfig, StoreReply, StoreRequest,
};
use settlesim::sim::{
    Ctx, EventKind, Input, Kernel, Micros, NodeClock, NodeId, RequestId, SimDisk, Stream, Streams,
    World,
};
use settlesim::world::Msg;
use std::collections::BTreeMap;

const CALLER: NodeId = NodeId(0);
const STORE: NodeId = NodeId(1);
const TOKEN: u64 = 5;

fn tx(hash: u64) -> SignedTx {
    SignedTx {
        hash: TxHash(hash),
        valid_until: Micros(60_000_000),
    }
}

fn sign_burn(hash: u64, replaces: Option<u64>) -> Advance {
    Advance::SignBurn {
        tx: tx(hash),
        replaces: replaces.map(TxHash),
    }
}

/// A caller that creates a settlement, claims it, signs its burn (hash 1),
/// then sends `rivals` at once, each a step from `BurnSigned`; and the
/// store. Keeps every reply by request id.
struct Script {
    store: Store,
    rivals: Vec<Advance>,
    replies: BTreeMap<u64, StoreReply>,
}

impl Script {
    fn advance(id: SettlementId, req: u64, stage: Stage, step: Advance) -> StoreRequest {
        StoreRequest::Advance {
            req: RequestId(req),
            id,
            stage,
            fence: TOKEN,
            step,
        }
    }

    /// The caller's next move after the reply to `req`.
    fn next(&mut self, req: u64, reply: &StoreReply, ctx: &mut Ctx<'_, Msg>) {
        match (req, reply) {
            (1, StoreReply::Initiated { id, .. }) => ctx.send(
                STORE,
                StoreRequest::Claim {
                    req: RequestId(2),
                    id: *id,
                    version: 1,
                    token: TOKEN,
                },
            ),
            (2, StoreReply::Advanced { id, .. }) => {
                let first = Script::advance(*id, 3, Stage::Requested, sign_burn(1, None));
                ctx.send(STORE, first);
            }
            (3, StoreReply::Advanced { id, .. }) => {
                for (n, step) in self.rivals.iter().enumerate() {
                    let rival = Script::advance(*id, 4 + n as u64, Stage::BurnSigned, *step);
                    ctx.send(STORE, rival);
                }
            }
            _ => {}
        }
    }
}

impl World for Script {
    type Msg = Msg;

    fn deliver(&mut self, node: NodeId, input: Input<Msg>, ctx: &mut Ctx<'_, Msg>) {
        match (node, input) {
            (STORE, Input::Start) => self.store.on_start(ctx),
            (STORE, Input::Timer(Msg::StoreTimer(t))) => self.store.on_timer(t, ctx),
            (
                STORE,
                Input::Message {
                    from,
                    msg: Msg::Store(r),
                },
            ) => self.store.on_request(from, r, ctx),
            (CALLER, Input::Start) => {
                let request = SettlementRequest {
                    source: Domain(0),
                    dest: Domain(1),
                    sender: Address(0),
                    recipient: Address(1),
                    amount: Amount(5),
                };
                let key = IdempotencyKey { client: 0, seq: 1 };
                let req = RequestId(1);
                ctx.send(STORE, StoreRequest::Initiate { req, key, request });
            }
            (
                CALLER,
                Input::Message {
                    msg: Msg::StoreReply(reply),
                    ..
                },
            ) => {
                let req = match &reply {
                    StoreReply::Initiated { req, .. }
                    | StoreReply::Advanced { req, .. }
                    | StoreReply::Conflict { req, .. } => req.0,
                    other => panic!("unexpected reply {other:?}"),
                };
                self.next(req, &reply, ctx);
                self.replies.insert(req, reply);
            }
            (node, input) => panic!("{node} got {input:?}"),
        }
    }

    fn crash(&mut self, node: NodeId) {
        panic!("{node} crashed in a run without crashes");
    }

    fn node_name(&self, node: NodeId) -> String {
        node.to_string()
    }

    fn kind_of(&self, msg: &Msg) -> EventKind {
        msg.kind()
    }
}

/// Runs the script on `seed` (which decides the order the rivals arrive
/// in) and returns the replies and the burn the store holds at the end.
fn run(seed: u64, rivals: Vec<Advance>) -> (BTreeMap<u64, StoreReply>, Option<TxHash>) {
    let streams = Streams::new(seed);
    // The default scenario's network and disk, slow but otherwise calm: no
    // loss, so every request is answered once.
    let default = sim("default.json");
    let store = Store::new(
        SimDisk::of_records(default.faults.disk.calm(), streams.stream(Stream::Disk)),
        StoreConfig::alone(
            Sharding::new(1),
            default.engine.settlement_deadline_us,
            default.engine.key_retention_us,
        ),
    );
    let network = default.faults.network.calm();
    let mut kernel = Kernel::new(&streams, network, vec![NodeClock::default(); 2]);
    let mut script = Script {
        store,
        rivals,
        replies: BTreeMap::new(),
    };
    kernel.run(&mut script, |_, _, _| {
        std::ops::ControlFlow::<()>::Continue(())
    });
    let burn = script
        .store
        .settlements()
        .next()
        .and_then(|s| s.held(Leg::Burn));
    (script.replies, burn)
}

fn advanced(reply: &StoreReply) -> bool {
    matches!(reply, StoreReply::Advanced { .. })
}

#[test]
fn of_two_replacements_of_one_transaction_only_the_first_is_recorded() {
    // Proves the guard against a double burn at the store itself: two
    // replacements of burn 1 race (as a retried decision and its delayed
    // first write do); whichever arrives first is recorded, the other is
    // refused with the settlement as it is, on every arrival order.
    let mut orders = [0; 2];
    for seed in 0..20 {
        let (replies, burn) = run(seed, vec![sign_burn(2, Some(1)), sign_burn(3, Some(1))]);
        let (first, second) = (&replies[&4], &replies[&5]);
        assert!(
            advanced(first) != advanced(second),
            "seed {seed}: {first:?} / {second:?}"
        );
        let (winner, loser) = if advanced(first) {
            (2, second)
        } else {
            (3, first)
        };
        orders[winner as usize - 2] += 1;
        assert_eq!(burn, Some(TxHash(winner)), "seed {seed}");
        let StoreReply::Conflict { current, .. } = loser else {
            panic!("seed {seed}: {loser:?}");
        };
        assert_eq!(current.burn_tx, Some(tx(winner)), "seed {seed}");
    }
    assert!(orders.iter().all(|&n| n > 0), "both orders ran: {orders:?}");
}

#[test]
fn a_replacement_must_name_what_the_store_holds() {
    // Proves the other cases of the same check: a second first signing, and
    // a replacement of a transaction the settlement never held, are
    // refused; a replacement of the one it holds is recorded.
    let (replies, burn) = run(
        1,
        vec![
            sign_burn(2, None),
            sign_burn(3, Some(9)),
            sign_burn(4, Some(1)),
        ],
    );
    assert!(
        matches!(replies[&4], StoreReply::Conflict { .. }),
        "{:?}",
        replies[&4]
    );
    assert!(
        matches!(replies[&5], StoreReply::Conflict { .. }),
        "{:?}",
        replies[&5]
    );
    assert!(advanced(&replies[&6]), "{:?}", replies[&6]);
    assert_eq!(burn, Some(TxHash(4)));
}
