//! The kernel: one seeded, single-threaded event loop that owns true time,
//! the event queue, the network, the per-node clocks and process faults, and
//! drives a [`World`] of nodes one event at a time.
//!
//! The kernel knows nothing of settlements. It is generic over the message
//! type, and the world dispatches each input to the node it names.

use super::census::{Census, EventKind};
use super::clock::NodeClock;
use super::digest::Digest;
use super::fault::KernelFault;
use super::network::{Network, NetworkFaults, Partition};
use super::node::{Input, NodeId, TimerId};
use super::queue::EventQueue;
use super::rng::{SimRng, Stream, Streams};
use super::time::Micros;
use super::trace::Trace;
use serde::Serialize;
use std::hash::Hash;
use std::ops::ControlFlow;

/// The nodes of a run, as the kernel sees them.
pub trait World {
    /// The one message type every node of this world speaks.
    type Msg: Clone + Hash + Serialize;

    /// Hands one input to a node.
    fn deliver(&mut self, node: NodeId, input: Input<Self::Msg>, ctx: &mut Ctx<'_, Self::Msg>);

    /// The node crashed: drop its volatile state. It receives
    /// [`Input::Start`] when it restarts.
    fn crash(&mut self, node: NodeId);

    /// A stable human name for a node (`store`, `worker-2`), for traces.
    fn node_name(&self, node: NodeId) -> String;

    /// What kind of event `msg` is, for an event census.
    fn kind_of(&self, msg: &Self::Msg) -> EventKind;
}

/// What the queue holds.
enum Event<M> {
    Start {
        node: NodeId,
    },
    Deliver {
        to: NodeId,
        from: NodeId,
        incarnation: u32,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        msg: M,
    },
    Fault(KernelFault),
    Heal(Partition),
    Restart(NodeId),
}

/// Counters the kernel keeps about a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KernelStats {
    /// Events handed to nodes (and faults applied).
    pub events: u64,
    /// Messages sent by nodes.
    pub messages_sent: u64,
    /// Copies that never arrived: dropped, cut, or for a crashed node.
    pub messages_lost: u64,
    /// Node crashes.
    pub crashes: u64,
}

/// What the kernel keeps of one node: read on every event it gets, so kept
/// together.
#[derive(Clone, Copy)]
struct NodeState {
    clock: NodeClock,
    /// Bumped on every crash: messages and timers addressed to an older
    /// incarnation are silently dropped, as a broken connection would.
    incarnation: u32,
    up: bool,
    paused_until: Micros,
}

/// Everything the kernel owns except the nodes' own random streams, so a
/// [`Ctx`] can borrow it alongside one node's stream.
struct Core<M> {
    now: Micros,
    queue: EventQueue<Event<M>>,
    network: Network,
    nodes: Vec<NodeState>,
    stats: KernelStats,
}

/// The port through which a node acts during one input: its local time, its
/// own random stream, and commands to send, reply and set timers. Commands
/// take effect when issued; the node never touches the kernel otherwise.
pub struct Ctx<'a, M> {
    me: NodeId,
    /// This node's clock and incarnation: neither changes during its input.
    clock: NodeClock,
    incarnation: u32,
    core: &'a mut Core<M>,
    rng: &'a mut SimRng,
}

impl<M: Clone> Ctx<'_, M> {
    /// This node.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's local clock reading (skewed, drifting, jumping).
    pub fn now(&self) -> Micros {
        self.clock.local(self.core.now)
    }

    /// This node's monotonic clock: drifts, never jumps. Measure leases and
    /// timeouts with it.
    pub fn monotonic(&self) -> Micros {
        self.clock.monotonic(self.core.now)
    }

    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Sends a request (or a one-way message) to `to`.
    pub fn send(&mut self, to: NodeId, msg: impl Into<M>) {
        self.transmit(to, msg.into(), false);
    }

    /// Sends a reply to `to`; the network may lose it after the request took
    /// effect (a lost response).
    pub fn reply(&mut self, to: NodeId, msg: impl Into<M>) {
        self.transmit(to, msg.into(), true);
    }

    fn transmit(&mut self, to: NodeId, msg: M, reply: bool) {
        let core = &mut *self.core;
        core.stats.messages_sent += 1;
        let fate = core.network.route(reply);
        let incarnation = core.nodes[to.index()].incarnation;
        let event = |msg| Event::Deliver {
            to,
            from: self.me,
            incarnation,
            msg,
        };
        match fate.copies {
            [None, None] => core.stats.messages_lost += 1,
            [Some(d), None] | [None, Some(d)] => {
                core.queue.push(core.now + d, event(msg));
            }
            [Some(d1), Some(d2)] => {
                core.queue.push(core.now + d1, event(msg.clone()));
                core.queue.push(core.now + d2, event(msg));
            }
        }
    }

    /// Delivers `msg` to this node after `after` of its *local* time.
    pub fn set_timer(&mut self, after: Micros, msg: impl Into<M>) -> TimerId {
        let core = &mut *self.core;
        let span = self.clock.true_span(after);
        let event = Event::Timer {
            node: self.me,
            incarnation: self.incarnation,
            msg: msg.into(),
        };
        TimerId(core.queue.push(core.now + span, event))
    }

    /// Cancels a timer that has not fired. Cancelling a fired one is a no-op.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.core.queue.cancel(timer.0);
    }
}

/// What one [`Kernel::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The event's number in the run, from 1.
    pub n: u64,
    /// True time of the event.
    pub time: Micros,
    /// The node it concerned.
    pub node: NodeId,
}

/// The event loop of one run.
pub struct Kernel<M> {
    core: Core<M>,
    rngs: Vec<SimRng>,
    digest: Digest,
    /// The digest after every [`CHECKPOINT_EVERY`] events: where two runs
    /// that should be equal first part, to within that many events.
    checkpoints: Vec<u64>,
    trace: Option<Trace>,
    census: Option<Census>,
}

/// Events between two digest checkpoints.
pub const CHECKPOINT_EVERY: u64 = 4096;

impl Step {
    /// The event's time and node in one word, for the digest.
    fn when_and_where(&self) -> u64 {
        self.time.0 ^ (u64::from(self.node.0) << 48)
    }
}

impl<M: Clone + Hash + Serialize> Kernel<M> {
    /// A kernel for `clocks.len()` nodes; each node boots at time zero.
    pub fn new(streams: &Streams, network: NetworkFaults, clocks: Vec<NodeClock>) -> Kernel<M> {
        let nodes = clocks.len();
        let mut queue = EventQueue::new(streams.stream(Stream::Scheduler));
        for node in 0..nodes {
            let node = NodeId(u32::try_from(node).expect("node count"));
            queue.push(Micros::ZERO, Event::Start { node });
        }
        Kernel {
            core: Core {
                now: Micros::ZERO,
                queue,
                network: Network::new(nodes, network, streams.stream(Stream::Network)),
                nodes: clocks
                    .into_iter()
                    .map(|clock| NodeState {
                        clock,
                        incarnation: 0,
                        up: true,
                        paused_until: Micros::ZERO,
                    })
                    .collect(),
                stats: KernelStats::default(),
            },
            rngs: (0..nodes)
                .map(|n| streams.stream(Stream::Node(n as u32)))
                .collect(),
            digest: Digest::default(),
            checkpoints: Vec::new(),
            trace: None,
            census: None,
        }
    }

    /// Counts every event by kind from now on.
    pub fn take_census(&mut self) {
        self.census = Some(Census::default());
    }

    /// The event census, if one is being taken.
    pub fn census(&self) -> Option<&Census> {
        self.census.as_ref()
    }

    /// Records every delivered event to `trace` from now on.
    pub fn set_trace(&mut self, trace: Trace) {
        self.trace = Some(trace);
    }

    /// Stops tracing and hands the trace back (to flush it).
    pub fn take_trace(&mut self) -> Option<Trace> {
        self.trace.take()
    }

    /// True time now.
    pub fn now(&self) -> Micros {
        self.core.now
    }

    /// The determinism fingerprint so far.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The digest after every [`CHECKPOINT_EVERY`] events so far.
    pub fn checkpoints(&self) -> &[u64] {
        &self.checkpoints
    }

    /// The run's counters so far.
    pub fn stats(&self) -> KernelStats {
        self.core.stats
    }

    /// `node`'s clocks as they are now.
    pub fn clock(&self, node: NodeId) -> NodeClock {
        self.core.nodes[node.index()].clock
    }

    /// True if `node` is running (not crashed).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.core.nodes[node.index()].up
    }

    /// Schedules a fault at true time `at`.
    pub fn schedule_fault(&mut self, at: Micros, fault: KernelFault) {
        self.core.queue.push(at, Event::Fault(fault));
    }

    /// Schedules an input from the environment to `node` at `at`; it bypasses
    /// the network and survives the node's crashes.
    pub fn inject(&mut self, at: Micros, node: NodeId, msg: M) {
        self.core.queue.push(
            at,
            Event::Timer {
                node,
                incarnation: u32::MAX,
                msg,
            },
        );
    }

    /// The heal phase: heals every partition and calms the network. Faults
    /// still in the queue are the caller's to not schedule.
    pub fn calm_network(&mut self, calm: NetworkFaults) {
        self.core.network.heal_all();
        self.core.network.set_faults(calm);
    }

    /// Runs until one event is delivered or applied; `None` once the queue is
    /// empty.
    pub fn step<W: World<Msg = M>>(&mut self, world: &mut W) -> Option<Step> {
        self.run(world, |_, _, step| ControlFlow::Break(step))
    }

    /// Delivers events one after another, handing each to `after` with the
    /// world and the kernel as they are then, until `after` breaks (its
    /// value) or the queue is empty (`None`). One call for a whole run, not
    /// one per event: the loop's setup is paid once.
    pub fn run<W: World<Msg = M>, B>(
        &mut self,
        world: &mut W,
        mut after: impl FnMut(&mut W, &Kernel<M>, Step) -> ControlFlow<B>,
    ) -> Option<B> {
        loop {
            let (time, event) = self.core.queue.pop()?;
            debug_assert!(time >= self.core.now, "time went backwards");
            self.core.now = time;
            if let Some(step) = self.apply(world, event) {
                if let ControlFlow::Break(value) = after(world, self, step) {
                    return Some(value);
                }
            }
        }
    }

    /// Applies one event; `None` if it evaporated (stale, cut, deferred).
    // Inlined into the run loop, the one place it is called from: behind a
    // call it pays a prologue and a copy of the event on every event.
    #[inline(always)]
    fn apply<W: World<Msg = M>>(&mut self, world: &mut W, event: Event<M>) -> Option<Step> {
        match event {
            Event::Start { node } => self.dispatch(world, node, Input::Start, None),
            Event::Deliver {
                to,
                from,
                incarnation,
                msg,
            } => {
                let core = &mut self.core;
                let state = core.nodes[to.index()];
                if !state.up || state.incarnation != incarnation || !core.network.link_up(from, to)
                {
                    core.stats.messages_lost += 1;
                    return None;
                }
                if state.paused_until > core.now {
                    let at = state.paused_until;
                    core.queue.push(
                        at,
                        Event::Deliver {
                            to,
                            from,
                            incarnation,
                            msg,
                        },
                    );
                    return None;
                }
                self.dispatch(world, to, Input::Message { from, msg }, Some(from))
            }
            Event::Timer {
                node,
                incarnation,
                msg,
            } => {
                let core = &mut self.core;
                let state = core.nodes[node.index()];
                let injected = incarnation == u32::MAX;
                if !injected && (!state.up || state.incarnation != incarnation) {
                    return None;
                }
                if state.paused_until > core.now {
                    let at = state.paused_until;
                    core.queue.push(
                        at,
                        Event::Timer {
                            node,
                            incarnation,
                            msg,
                        },
                    );
                    return None;
                }
                if !state.up {
                    return None;
                }
                self.dispatch(world, node, Input::Timer(msg), None)
            }
            Event::Fault(fault) => Some(self.apply_fault(world, fault)),
            Event::Heal(partition) => {
                self.core.network.heal(&partition);
                Some(self.fold_kernel_event(world, NodeId(0), "heal", &partition))
            }
            Event::Restart(node) => {
                self.core.nodes[node.index()].up = true;
                self.dispatch(world, node, Input::Start, None)
            }
        }
    }

    fn apply_fault<W: World<Msg = M>>(&mut self, world: &mut W, fault: KernelFault) -> Step {
        let core = &mut self.core;
        let node = match &fault {
            KernelFault::Partition {
                partition,
                duration_us,
            } => {
                core.network.cut(partition);
                core.queue
                    .push(core.now + *duration_us, Event::Heal(partition.clone()));
                NodeId(0)
            }
            KernelFault::Crash { node, down_us } => {
                let state = &mut core.nodes[node.index()];
                if state.up {
                    state.up = false;
                    state.incarnation += 1;
                    state.paused_until = Micros::ZERO;
                    core.stats.crashes += 1;
                    core.queue.push(core.now + *down_us, Event::Restart(*node));
                    world.crash(*node);
                }
                *node
            }
            KernelFault::Pause { node, duration_us } => {
                let until = core.now + *duration_us;
                let slot = &mut core.nodes[node.index()].paused_until;
                *slot = (*slot).max(until);
                *node
            }
            KernelFault::ClockJump { node, by_us } => {
                core.nodes[node.index()].clock.jump(*by_us);
                *node
            }
        };
        self.fold_kernel_event(world, node, "fault", &fault)
    }

    fn fold_kernel_event<W: World<Msg = M>, P: Serialize + Hash>(
        &mut self,
        world: &W,
        node: NodeId,
        kind: &'static str,
        payload: &P,
    ) -> Step {
        let step = self.count(node);
        self.digest
            .fold_hashed([step.when_and_where()], Some(&(kind, payload)));
        if let Some(census) = &mut self.census {
            census.count(("kernel", kind), self.core.queue.depth());
        }
        if let Some(trace) = &mut self.trace {
            trace.record(
                step.n,
                step.time,
                &world.node_name(node),
                kind,
                None,
                Some(payload),
            );
        }
        step
    }

    /// Numbers the event (and keeps a checkpoint every
    /// [`CHECKPOINT_EVERY`]); the caller folds it into the digest.
    fn count(&mut self, node: NodeId) -> Step {
        let done = self.core.stats.events;
        if done > 0 && done % CHECKPOINT_EVERY == 0 {
            self.checkpoints.push(self.digest.value());
        }
        self.core.stats.events += 1;
        Step {
            n: self.core.stats.events,
            time: self.core.now,
            node,
        }
    }

    /// Hands one input to its node: numbers the event, folds it into the
    /// digest, records it, delivers it.
    // Inlined into each arm of `apply`: a message's arm then knows its
    // sender and kind, and no event pays a call (3 % of all instructions).
    #[inline(always)]
    fn dispatch<W: World<Msg = M>>(
        &mut self,
        world: &mut W,
        node: NodeId,
        input: Input<M>,
        from: Option<NodeId>,
    ) -> Option<Step> {
        let step = self.count(node);
        if let Some(census) = &mut self.census {
            let kind = match &input {
                Input::Start => ("kernel", "start"),
                Input::Message { msg, .. } | Input::Timer(msg) => world.kind_of(msg),
            };
            census.count(kind, self.core.queue.depth());
        }
        let (kind, code, payload) = match &input {
            Input::Start => ("start", 0, None),
            Input::Message { msg, .. } => ("msg", 1, Some(msg)),
            Input::Timer(msg) => ("timer", 2, Some(msg)),
        };
        // The kind's code in the low byte, then the sender (if any) above it.
        let head = code | from.map_or(0, |f| (u64::from(f.0) + 1) << 8);
        self.digest
            .fold_hashed([step.when_and_where(), head], payload);
        if let Some(trace) = &mut self.trace {
            let from_name = from.map(|f| world.node_name(f));
            let node_name = world.node_name(node);
            trace.record(
                step.n,
                step.time,
                &node_name,
                kind,
                from_name.as_deref(),
                payload,
            );
        }
        let state = self.core.nodes[node.index()];
        let mut ctx = Ctx {
            me: node,
            clock: state.clock,
            incarnation: state.incarnation,
            core: &mut self.core,
            rng: &mut self.rngs[node.index()],
        };
        world.deliver(node, input, &mut ctx);
        Some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::Ratio;

    /// A two-node world: node 0 pings node 1 once at start; node 1 counts
    /// pings and replies; node 0 counts pongs.
    #[derive(Default)]
    struct PingPong {
        pings_applied: u32,
        pongs_received: u32,
    }

    #[derive(Clone, Hash, Serialize, Debug, PartialEq)]
    enum Ping {
        Ping,
        Pong,
    }

    impl World for PingPong {
        type Msg = Ping;
        fn deliver(&mut self, node: NodeId, input: Input<Ping>, ctx: &mut Ctx<'_, Ping>) {
            match (node.0, input) {
                (0, Input::Start) => ctx.send(NodeId(1), Ping::Ping),
                (
                    1,
                    Input::Message {
                        from,
                        msg: Ping::Ping,
                    },
                ) => {
                    self.pings_applied += 1;
                    ctx.reply(from, Ping::Pong);
                }
                (
                    0,
                    Input::Message {
                        msg: Ping::Pong, ..
                    },
                ) => self.pongs_received += 1,
                _ => {}
            }
        }
        fn crash(&mut self, _node: NodeId) {}
        fn node_name(&self, node: NodeId) -> String {
            node.to_string()
        }

        fn kind_of(&self, msg: &Ping) -> EventKind {
            ("ping", if *msg == Ping::Ping { "ping" } else { "pong" })
        }
    }

    fn calm() -> NetworkFaults {
        NetworkFaults::delaying(10, 20)
    }

    fn run(net: NetworkFaults, faults: Vec<(u64, KernelFault)>) -> (PingPong, Kernel<Ping>) {
        let mut kernel = Kernel::new(&Streams::new(1), net, vec![NodeClock::default(); 2]);
        for (at, f) in faults {
            kernel.schedule_fault(Micros(at), f);
        }
        let mut world = PingPong::default();
        while kernel.step(&mut world).is_some() {}
        (world, kernel)
    }

    #[test]
    fn a_lost_response_applies_the_request_but_never_answers() {
        // Proves the lost-response fault: the server acted, the caller heard
        // nothing, and nothing distinguishes that from a lost request.
        let (world, _) = run(
            NetworkFaults {
                lost_response: Ratio::ALWAYS,
                ..calm()
            },
            vec![],
        );
        assert_eq!(world.pings_applied, 1);
        assert_eq!(world.pongs_received, 0);
    }

    #[test]
    fn a_partition_cuts_messages_in_flight() {
        // Proves links are judged on arrival: a cut that starts after the send
        // still stops the message.
        let cut = KernelFault::Partition {
            partition: Partition {
                side_a: vec![NodeId(0)],
                side_b: vec![NodeId(1)],
                one_way: false,
            },
            duration_us: Micros(1_000),
        };
        let (world, kernel) = run(calm(), vec![(1, cut)]);
        assert_eq!(world.pings_applied, 0);
        assert_eq!(kernel.stats().messages_lost, 1);
    }

    #[test]
    fn a_one_way_partition_loses_only_the_reply() {
        // Proves a one-way cut from 1 to 0 lets the request through and
        // stops the answer.
        let cut = KernelFault::Partition {
            partition: Partition {
                side_a: vec![NodeId(1)],
                side_b: vec![NodeId(0)],
                one_way: true,
            },
            duration_us: Micros(1_000),
        };
        let (world, _) = run(calm(), vec![(0, cut)]);
        assert_eq!(world.pings_applied, 1);
        assert_eq!(world.pongs_received, 0);
    }

    #[test]
    fn messages_to_a_crashed_node_vanish() {
        // Proves a crash drops what was in flight to the victim.
        let crash = KernelFault::Crash {
            node: NodeId(1),
            down_us: Micros(1_000),
        };
        let (world, kernel) = run(calm(), vec![(1, crash)]);
        assert_eq!(world.pings_applied, 0);
        assert_eq!(kernel.stats().crashes, 1);
    }

    #[test]
    fn a_paused_node_gets_its_messages_late_not_never() {
        // Proves a pause defers delivery until the pause ends.
        let pause = KernelFault::Pause {
            node: NodeId(1),
            duration_us: Micros(5_000),
        };
        let (world, kernel) = run(calm(), vec![(0, pause)]);
        assert_eq!(world.pongs_received, 1);
        assert!(kernel.now() >= Micros(5_000));
    }
}
