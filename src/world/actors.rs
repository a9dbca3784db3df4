//! The nodes of a settlesim run and the dispatch from kernel inputs to their
//! handlers. This is the only place that knows every node type.

use super::layout::Layout;
use super::msg::Msg;
use crate::chain::Domain;
use crate::chain::{Attester, ChainNode, Effect, Ledger, MempoolFaults};
use crate::check::ChainsView;
use crate::check::Checker;
use crate::engine::{
    Client, ClientConfig, Defects, LockEffect, LockService, Peers, Sharding, Store, StoreConfig,
    StoreDisk, StoreEffect, Worker, WorkerConfig, WorkerEffect,
};
use crate::scenario::Scenario;
use crate::sim::{
    Ctx, DiskFaults, EventKind, Input, Micros, NodeClock, NodeId, SimDisk, Step, Stream, Streams,
    World,
};

/// One node.
enum Actor {
    Client(Client),
    Worker(Worker),
    Store(Box<Store>),
    Lock(Box<LockService>),
    Attester(Attester),
    Chain(ChainNode),
}

/// All nodes of a run.
pub struct Actors {
    nodes: Vec<Actor>,
    names: Vec<String>,
    layout: Layout,
    recipes: Recipes,
    /// The lease service's clock: turns its lease TTLs into true time for
    /// the checkers (its drift is fixed; jumps do not touch monotonic time).
    lock_clock: NodeClock,
    /// Reused buffers for effects (the checker reads the nodes while it
    /// takes them).
    store_effects: Vec<StoreEffect>,
    chain_effects: Vec<Effect>,
}

impl Actors {
    /// Builds every node the scenario describes.
    pub fn new(
        scenario: &Scenario,
        layout: &Layout,
        streams: &Streams,
        clocks: &[NodeClock],
        attester_key: u64,
        defects: Defects,
    ) -> Actors {
        let worker_cfg = WorkerConfig {
            capacity: scenario.engine.worker_capacity,
            rpc_timeout_us: scenario.engine.rpc_timeout_us,
            sweep_us_min: scenario.engine.sweep_us_min,
            sweep_us_max: scenario.engine.sweep_us_max,
            attest_retry_us: scenario.engine.attest_retry_us,
            tx_ttl_us: scenario.engine.tx_ttl_us,
            block_time_us: scenario.chains.iter().map(|c| c.block_time_us).collect(),
            lease_ttl_us: scenario.engine.lease_ttl_us,
            commit_delay_us_max: scenario.engine.commit_delay_us_max,
            sharding: Sharding::new(scenario.engine.lease_shards),
            workers: layout.workers.len(),
        };
        let w = &scenario.workload;
        let client_cfg = ClientConfig {
            requests: w.requests_per_client,
            interval_us_min: w.interval_us_min,
            interval_us_max: w.interval_us_max,
            amount_min: w.amount_min,
            amount_max: w.amount_max,
            resubmit: w.resubmit,
            conflicting: w.conflicting,
            retry_timeout_us: w.retry_timeout_us,
            resend_delay_us_max: w.resend_delay_us_max,
            domains: scenario.chains.len() as u32,
            accounts: scenario
                .chains
                .iter()
                .map(|c| c.accounts)
                .min()
                .expect("chains"),
        };
        let recipes = Recipes {
            peers: Peers {
                store: layout.store,
                lock: layout.lock,
                attester: layout.attester,
                chains: layout.chains.clone(),
            },
            store_cfg: StoreConfig {
                workers: layout.workers.clone(),
                slots: layout.workers.len() * worker_cfg.capacity as usize,
                sharding: worker_cfg.sharding,
                defects,
                deadline_us: scenario.engine.settlement_deadline_us,
                retention_us: scenario.engine.key_retention_us,
            },
            worker_cfg,
            attester_key,
            defects,
        };
        let mut nodes = Vec::with_capacity(layout.len());
        let mut names = Vec::with_capacity(layout.len());
        for (i, _) in layout.clients.iter().enumerate() {
            nodes.push(Actor::Client(Client::new(
                i as u32,
                client_cfg.clone(),
                layout.store,
            )));
            names.push(format!("client-{i}"));
        }
        for (i, _) in layout.workers.iter().enumerate() {
            nodes.push(Actor::Worker(recipes.worker(i)));
            names.push(format!("worker-{i}"));
        }
        let disk =
            StoreDisk::of_records(scenario.faults.disk.clone(), streams.stream(Stream::Disk));
        nodes.push(Actor::Store(Box::new(recipes.store(disk))));
        names.push("store".into());
        let lock_disk = SimDisk::new(
            scenario.faults.disk.calm(),
            streams.stream(Stream::LockDisk),
        );
        nodes.push(Actor::Lock(Box::new(recipes.lock(lock_disk))));
        names.push("lock".into());
        nodes.push(Actor::Attester(recipes.attester()));
        names.push("attester".into());
        let domains = scenario.chains.len() as u32;
        for (d, params) in scenario.chains.iter().enumerate() {
            let ledger = Ledger::new(Domain(d as u32), domains, params.clone(), attester_key);
            let c = &scenario.faults.chains;
            let mempool = MempoolFaults {
                drop: c.mempool_drop,
                stuck: c.mempool_stuck,
                unheard: c.pending_unheard,
            };
            let chain = ChainNode::new(ledger, mempool, c.reorg_loss, c.lagging_reads);
            nodes.push(Actor::Chain(chain));
            names.push(params.name.clone());
        }
        assert_eq!(nodes.len(), layout.len());
        Actors {
            nodes,
            names,
            layout: layout.clone(),
            recipes,
            lock_clock: clocks[layout.lock.index()],
            store_effects: Vec::new(),
            chain_effects: Vec::new(),
        }
    }

    /// Σ supply over all chains now.
    pub fn total_supply(&self) -> u128 {
        self.chains()
            .map(|c| u128::from(c.ledger().supply().0))
            .sum()
    }

    /// Receipt reads of a pending transaction answered "not seen", over
    /// all chains.
    pub fn receipts_unheard(&self) -> u64 {
        self.chains().map(ChainNode::unheard_reads).sum()
    }

    /// Reads answered by a node behind the head, over all chains.
    pub fn lagging_reads(&self) -> u64 {
        self.chains().map(ChainNode::lagging_reads).sum()
    }

    fn chains(&self) -> impl Iterator<Item = &ChainNode> {
        self.nodes.iter().filter_map(|a| match a {
            Actor::Chain(c) => Some(c),
            _ => None,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        match &self.nodes[self.layout.store.index()] {
            Actor::Store(s) => s,
            _ => unreachable!("layout names the store"),
        }
    }

    /// The store as a crash now would leave it, restarted at `now` on the
    /// store's monotonic clock: a copy of its disk crashed and recovered
    /// into a new store. The run goes on with the real one; this one is for
    /// judging, since a write acknowledged must survive every crash, the
    /// ones no seed drew included.
    pub fn store_if_crashed_now(&self, now: Micros) -> Store {
        let mut store = self.recipes.store_after_crash(self.store().disk().clone());
        store.start_at(now);
        store
    }

    /// The lease service.
    pub fn lock(&self) -> &LockService {
        match &self.nodes[self.layout.lock.index()] {
            Actor::Lock(l) => l,
            _ => unreachable!("layout names the lease service"),
        }
    }

    /// Worker number `i`.
    pub fn worker(&self, i: usize) -> &Worker {
        match &self.nodes[self.layout.workers[i].index()] {
            Actor::Worker(w) => w,
            _ => unreachable!("layout names the workers"),
        }
    }

    /// Client number `i`.
    pub fn client(&self, i: usize) -> &Client {
        match &self.nodes[self.layout.clients[i].index()] {
            Actor::Client(c) => c,
            _ => unreachable!("layout names the clients"),
        }
    }

    /// The chain of `domain`.
    pub fn chain(&self, domain: Domain) -> &ChainNode {
        match &self.nodes[self.layout.chains[domain.index()].index()] {
            Actor::Chain(c) => c,
            _ => unreachable!("layout names the chains"),
        }
    }

    /// The heal phase: the store's disk stops failing and the chains'
    /// mempools stop losing transactions.
    pub fn calm(&mut self, calm: DiskFaults) {
        for actor in &mut self.nodes {
            match actor {
                Actor::Store(s) => s.disk_mut().set_faults(calm.clone()),
                Actor::Chain(c) => c.calm(),
                _ => {}
            }
        }
    }

    /// True when every client is done and no settlement is unfinished.
    pub fn quiescent(&self) -> bool {
        self.store().unfinished() == 0
            && self
                .layout
                .clients
                .iter()
                .all(|c| match &self.nodes[c.index()] {
                    Actor::Client(c) => c.done(),
                    _ => unreachable!("layout names clients"),
                })
    }

    /// Feeds the checker whatever `step.node` recorded during the step. Only
    /// the node that handled an event can have new effects, so this is O(1)
    /// per step.
    pub fn report_effects(&mut self, step: Step, checker: &mut Checker) {
        let mut supply_changed = false;
        match &mut self.nodes[step.node.index()] {
            Actor::Chain(chain) => {
                supply_changed = chain.has_effects();
                let mut effects = std::mem::take(&mut self.chain_effects);
                chain.take_effects(&mut effects);
                for effect in &effects {
                    checker.on_chain(effect, &*self, step);
                }
                effects.clear();
                self.chain_effects = effects;
            }
            Actor::Store(store) => {
                let mut effects = std::mem::take(&mut self.store_effects);
                store.take_effects(&mut effects);
                for effect in &effects {
                    checker.on_store(effect, self.store(), &*self, step);
                }
                effects.clear();
                self.store_effects = effects;
            }
            Actor::Client(client) => {
                for effect in client.drain_effects() {
                    checker.on_client(&effect, step);
                }
            }
            Actor::Worker(worker) => {
                for effect in worker.drain_effects() {
                    let WorkerEffect::Acting { id, token } = effect;
                    checker.on_acting(id, step.node, token, step);
                }
            }
            Actor::Lock(lock) => {
                for effect in lock.drain_effects() {
                    match effect {
                        LockEffect::Granted {
                            shard,
                            holder,
                            token,
                            ttl_us,
                        } => {
                            let expires = ttl_us.map_or(Micros::MAX, |ttl| {
                                step.time + self.lock_clock.true_span(Micros(ttl))
                            });
                            checker.on_lease_granted(shard, holder, token, expires, step);
                        }
                        LockEffect::Released { shard, token } => {
                            checker.on_lease_released(shard, token, step)
                        }
                        LockEffect::Restarted => checker.on_lease_service_restarted(step),
                    }
                }
            }
            Actor::Attester(_) => {}
        }
        if supply_changed {
            checker.check_supply(self.total_supply(), step);
        }
    }
}

/// What it takes to build each engine process, at boot and again after a
/// crash (a restarted process starts from its disk, or from nothing).
struct Recipes {
    peers: Peers,
    store_cfg: StoreConfig,
    worker_cfg: WorkerConfig,
    attester_key: u64,
    defects: Defects,
}

impl Recipes {
    /// Worker number `index` (which decides its home shards).
    fn worker(&self, index: usize) -> Worker {
        Worker::new(
            self.worker_cfg.clone(),
            self.peers.clone(),
            index,
            self.defects,
        )
    }

    /// A new store process on `disk` as a crash leaves it: the cache lost,
    /// a prefix of it perhaps written, torn or corrupted.
    fn store_after_crash(&self, mut disk: StoreDisk) -> Store {
        disk.crash();
        self.store(disk)
    }

    fn store(&self, disk: StoreDisk) -> Store {
        Store::new(disk, self.store_cfg.clone())
    }

    fn lock(&self, disk: SimDisk) -> LockService {
        LockService::new(disk, self.worker_cfg.lease_ttl_us, self.defects)
    }

    fn attester(&self) -> Attester {
        Attester::new(self.attester_key, self.peers.chains.clone())
    }
}

/// Node `node` (of `names`) got an input no node of its kind takes: a
/// wiring bug, never a fault a run can inject. The name is looked up here,
/// not on every event.
#[cold]
fn unexpected(names: &[String], node: NodeId, input: impl std::fmt::Debug) -> ! {
    panic!("{} cannot handle {input:?}", names[node.index()])
}

impl World for Actors {
    type Msg = Msg;

    // Matches the node, then its input: a match on the pair built the pair
    // first, a copy of every event's message before any handler ran.
    fn deliver(&mut self, node: NodeId, input: Input<Msg>, ctx: &mut Ctx<'_, Msg>) {
        let names = &self.names;
        match &mut self.nodes[node.index()] {
            Actor::Client(c) => match input {
                Input::Start => c.on_start(ctx),
                Input::Timer(Msg::ClientTimer(t)) => c.on_timer(t, ctx),
                Input::Message {
                    msg: Msg::StoreReply(r),
                    ..
                } => c.on_reply(r, ctx),
                other => unexpected(names, node, other),
            },
            Actor::Worker(w) => match input {
                Input::Start => w.on_start(ctx),
                Input::Timer(Msg::WorkerTimer(t)) => w.on_timer(t, ctx),
                Input::Message { msg, .. } => match msg {
                    Msg::StoreReply(r) => w.on_store_reply(r, ctx),
                    Msg::StoreNotice(n) => w.on_notice(n, ctx),
                    Msg::ChainReply(r) => w.on_chain_reply(r, ctx),
                    Msg::AttesterReply(r) => w.on_attester_reply(r, ctx),
                    Msg::LockReply(r) => w.on_lock_reply(r, ctx),
                    other => unexpected(names, node, other),
                },
                other => unexpected(names, node, other),
            },
            Actor::Store(s) => match input {
                Input::Start => s.on_start(ctx),
                Input::Timer(Msg::StoreTimer(t)) => s.on_timer(t, ctx),
                Input::Message {
                    from,
                    msg: Msg::Store(r),
                } => s.on_request(from, r, ctx),
                other => unexpected(names, node, other),
            },
            Actor::Lock(l) => match input {
                Input::Start => l.on_start(ctx),
                Input::Message {
                    from,
                    msg: Msg::Lock(r),
                } => l.on_request(from, r, ctx),
                other => unexpected(names, node, other),
            },
            Actor::Attester(a) => match input {
                Input::Start => {}
                Input::Message { from, msg } => match msg {
                    Msg::Attester(r) => a.on_request(from, r, ctx),
                    Msg::ChainReply(r) => a.on_chain_reply(r, ctx),
                    other => unexpected(names, node, other),
                },
                other => unexpected(names, node, other),
            },
            Actor::Chain(c) => match input {
                Input::Start => c.on_start(ctx),
                Input::Timer(Msg::ChainTimer(t)) => c.on_timer(t, ctx),
                Input::Message {
                    from,
                    msg: Msg::Chain(r),
                } => c.on_request(from, r, ctx),
                other => unexpected(names, node, other),
            },
        }
    }

    fn crash(&mut self, node: NodeId) {
        let actor = &mut self.nodes[node.index()];
        match actor {
            Actor::Worker(_) => {
                let index = self
                    .layout
                    .workers
                    .iter()
                    .position(|&w| w == node)
                    .expect("a worker node is in the layout");
                *actor = Actor::Worker(self.recipes.worker(index))
            }
            Actor::Attester(_) => {
                *actor = Actor::Attester(self.recipes.attester());
            }
            Actor::Store(_) => {
                // The process dies; its disk outlives it, minus what was
                // never synced.
                let placeholder = Actor::Attester(Attester::new(0, Vec::new()));
                let Actor::Store(store) = std::mem::replace(actor, placeholder) else {
                    unreachable!("matched above")
                };
                let restarted = self.recipes.store_after_crash(store.into_disk());
                *actor = Actor::Store(Box::new(restarted));
            }
            Actor::Lock(_) => {
                let placeholder = Actor::Attester(Attester::new(0, Vec::new()));
                let Actor::Lock(lock) = std::mem::replace(actor, placeholder) else {
                    unreachable!("matched above")
                };
                *actor = Actor::Lock(Box::new(self.recipes.lock(lock.into_disk())));
            }
            Actor::Client(c) => c.on_crash(),
            Actor::Chain(_) => panic!("chains do not crash: {}", self.names[node.index()]),
        }
    }

    fn kind_of(&self, msg: &Msg) -> EventKind {
        msg.kind()
    }

    fn node_name(&self, node: NodeId) -> String {
        self.names[node.index()].clone()
    }
}

impl ChainsView for Actors {
    fn is_final(&self, domain: Domain, height: u64) -> bool {
        self.chain(domain).ledger().is_final(height)
    }

    fn forgotten_before(&self, domain: Domain) -> Micros {
        self.chain(domain).ledger().forgotten_before()
    }
}
