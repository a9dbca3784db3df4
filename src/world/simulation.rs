//! One run as a handle: build the world from (seed, scenario, defects), draw
//! its clocks and fault plan, drive the kernel while the checkers watch every
//! step, heal, and judge. Scripted tests drive the handle step by step and
//! inject faults through it (`crash`), as madsim and turmoil do; [`run`] just
//! drives it to the end.

use super::actors::Actors;
use super::layout::Layout;
use super::plan::{Fault, FaultPlan};
use super::report::{RunReport, Stop, Verdict};
use super::{drawn, swarm};
use crate::chain::{ChainFault, ChainNode, ChainTimer, Domain};
use crate::check::Checker;
use crate::engine::{Client, Defects, LockService, Sharding, Store, Worker};
use crate::scenario::Scenario;
use crate::sim::{
    Census, Kernel, KernelFault, Micros, NodeClock, NodeId, SimRng, Step, Stream, Streams, Trace,
};
use crate::world::msg::Msg;
use rand::{Rng, RngCore};
use std::ops::ControlFlow;

/// Optional inputs of a run beyond (seed, scenario).
#[derive(Default)]
pub struct RunOptions {
    /// Record every event here.
    pub trace: Option<Trace>,
    /// Use this fault plan instead of drawing one from the seed.
    pub plan: Option<FaultPlan>,
    /// Planted defects to switch on.
    pub defects: Defects,
    /// Swarm testing: draw which fault kinds are on, and how hard, from the
    /// seed (see [`super::swarm`]).
    pub swarm: bool,
    /// Scenario variation: draw the engine's, chains' and workload's
    /// settings around the scenario's from the seed, before swarm draws
    /// the faults (see [`Scenario::varied`]).
    pub vary: bool,
    /// Count the events by kind (see [`Census`]).
    pub census: bool,
}

/// The result of a run: the report, and the trace to flush if one was kept.
pub struct RunOutput {
    /// The outcome.
    pub report: RunReport,
    /// The trace, if one was requested.
    pub trace: Option<Trace>,
    /// The event census, if one was requested.
    pub census: Option<Census>,
}

/// Runs one seed of one scenario to its verdict. A pure function of its
/// inputs: the same (seed, scenario, options) gives the same report.
pub fn run(seed: u64, scenario: &Scenario, options: RunOptions) -> RunOutput {
    Simulation::new(seed, scenario, options).finish()
}

/// A run in progress.
pub struct Simulation {
    seed: u64,
    scenario: Scenario,
    /// The settings scenario variation drew, if it is on.
    varied_shape: Option<String>,
    layout: Layout,
    plan: FaultPlan,
    kernel: Kernel<Msg>,
    actors: Actors,
    checker: Checker,
    heal_at: Micros,
    healed: bool,
    last: Step,
    stop: Option<Stop>,
}

impl Simulation {
    /// Builds the world and schedules the fault plan. Panics if an explicit
    /// plan names nodes the scenario lacks (validate it first with
    /// [`FaultPlan::validate`]).
    pub fn new(seed: u64, scenario: &Scenario, options: RunOptions) -> Simulation {
        let streams = Streams::new(seed);
        let drawn = drawn::draw(scenario, &streams, options.vary, options.swarm);
        let (scenario, varied_shape) = (drawn.scenario.as_ref(), drawn.varied);
        let layout = Layout::new(scenario);
        let clocks = draw_clocks(scenario, &layout, &mut streams.stream(Stream::Clocks));
        let plan = options.plan.unwrap_or_else(|| {
            FaultPlan::draw(scenario, &layout, &mut streams.stream(Stream::Faults))
        });
        plan.validate(&layout)
            .unwrap_or_else(|e| panic!("fault plan: {e}"));
        let attester_key = streams.stream(Stream::Config).next_u64();
        let mut kernel = Kernel::new(&streams, scenario.faults.network.clone(), clocks.clone());
        if options.census {
            kernel.take_census();
        }
        if let Some(trace) = options.trace {
            kernel.set_trace(trace);
        }
        for planned in &plan.faults {
            match &planned.fault {
                Fault::Kernel(fault) => kernel.schedule_fault(planned.at_us, fault.clone()),
                Fault::Chain { domain, fault } => {
                    let chain = layout.chains[domain.index()];
                    kernel.inject(planned.at_us, chain, Msg::from(ChainTimer::Fault(*fault)));
                }
            }
        }
        let actors = Actors::new(
            scenario,
            &layout,
            &streams,
            &clocks,
            attester_key,
            options.defects,
        );
        let checker = Checker::new(
            actors.total_supply(),
            Sharding::new(scenario.engine.lease_shards),
        );
        Simulation {
            seed,
            varied_shape,
            heal_at: Micros(scenario.limits.fault_window_us),
            scenario: scenario.clone(),
            last: Step {
                n: 0,
                time: Micros::ZERO,
                node: layout.store,
            },
            layout,
            plan,
            kernel,
            actors,
            checker,
            healed: false,
            stop: None,
        }
    }

    /// Delivers one event and checks it; `None` once the run has stopped.
    pub fn step(&mut self) -> Option<Step> {
        if self.stop.is_some() {
            return None;
        }
        self.advance::<true>()
    }

    /// Steps to the stop as [`Simulation::step`] does, in one loop of the
    /// kernel's that leaves only to heal.
    fn run_to_stop(&mut self) {
        while self.stop.is_none() {
            self.advance::<false>();
        }
    }

    /// Delivers events, each fed to the checkers and judged, until the run
    /// stops, its heal phase is due, or (`ONE_EVENT`) after the first; the
    /// last event delivered, `None` if the queue was already empty.
    // A constant, so the whole-run loop carries no test for it.
    fn advance<const ONE_EVENT: bool>(&mut self) -> Option<Step> {
        let heal_at = (!self.healed).then_some(self.heal_at);
        let bounds = self.bounds();
        let (checker, last) = (&mut self.checker, &mut self.last);
        let paused = self.kernel.run(&mut self.actors, |actors, kernel, step| {
            *last = step;
            actors.report_effects(step, checker);
            if heal_at.is_some_and(|at| step.time >= at) {
                // Heal, then judge this event, outside the loop.
                return ControlFlow::Break(Pause::Heal);
            }
            match judge(checker, kernel, actors, bounds, step) {
                Some(stop) => ControlFlow::Break(Pause::Stopped(stop)),
                None if ONE_EVENT => ControlFlow::Break(Pause::Stepped),
                None => ControlFlow::Continue(()),
            }
        });
        let Some(paused) = paused else {
            self.stop = Some(Stop::Deadline);
            return None;
        };
        let step = self.last;
        self.stop = match paused {
            Pause::Heal => {
                self.kernel
                    .calm_network(self.scenario.faults.network.calm());
                self.actors.calm(self.scenario.faults.disk.calm());
                self.healed = true;
                judge(&self.checker, &self.kernel, &self.actors, bounds, step)
            }
            Pause::Stopped(stop) => Some(stop),
            Pause::Stepped => None,
        };
        Some(step)
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            store: self.layout.store,
            deadline: Micros(self.scenario.heal_deadline_us()),
            stall: Micros(self.scenario.limits.heal_us),
            max_events: self.scenario.limits.max_events,
        }
    }

    /// Steps until `done` holds (true) or the run stops (false).
    pub fn run_until(&mut self, mut done: impl FnMut(&Simulation) -> bool) -> bool {
        while !done(self) {
            if self.step().is_none() {
                return false;
            }
        }
        true
    }

    /// Freezes `node` now for `duration` (stop the world).
    pub fn pause(&mut self, node: NodeId, duration: Micros) {
        self.strike_now(KernelFault::Pause {
            node,
            duration_us: duration,
        });
    }

    /// Schedules `fault` at the current instant.
    fn strike_now(&mut self, fault: KernelFault) {
        let now = self.kernel.now();
        self.kernel.schedule_fault(now, fault);
    }

    /// Steps `node`'s wall clock by `by_us` now (an NTP correction, a VM
    /// migration); its monotonic clock does not move.
    pub fn jump_clock(&mut self, node: NodeId, by_us: i64) {
        self.strike_now(KernelFault::ClockJump { node, by_us });
    }

    /// The lease service as it is now.
    pub fn lock(&self) -> &LockService {
        self.actors.lock()
    }

    /// Strikes chain `domain` with `fault` now.
    pub fn chain_fault(&mut self, domain: Domain, fault: ChainFault) {
        let now = self.kernel.now();
        let chain = self.layout.chains[domain.index()];
        self.kernel
            .inject(now, chain, Msg::from(ChainTimer::Fault(fault)));
    }

    /// Worker number `i` as it is now.
    pub fn worker(&self, i: usize) -> &Worker {
        self.actors.worker(i)
    }

    /// Crashes `node` now; it restarts after `down`.
    pub fn crash(&mut self, node: NodeId, down: Micros) {
        self.strike_now(KernelFault::Crash {
            node,
            down_us: down,
        });
    }

    /// The scenario this run uses (after swarm drawing, if on).
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Which node is which.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The store as it is now.
    pub fn store(&self) -> &Store {
        self.actors.store()
    }

    /// Client number `i` as it is now.
    pub fn client(&self, i: usize) -> &Client {
        self.actors.client(i)
    }

    /// The chain of `domain` as it is now.
    pub fn chain(&self, domain: Domain) -> &ChainNode {
        self.actors.chain(domain)
    }

    /// True time now.
    pub fn now(&self) -> Micros {
        self.kernel.now()
    }

    /// Runs to the end and judges the run.
    pub fn finish(mut self) -> RunOutput {
        self.run_to_stop();
        let stop = self.stop.expect("the loop ends only when the run stops");
        match stop {
            Stop::SafetyViolation => {}
            Stop::MaxEvents => self
                .checker
                .check_cut_short(self.last, self.scenario.limits.max_events),
            Stop::Quiescent | Stop::Deadline => {
                self.checker
                    .check_liveness(self.last, self.actors.store(), &self.actors)
            }
        }
        if stop != Stop::SafetyViolation {
            let monotonic = self
                .kernel
                .clock(self.layout.store)
                .monotonic(self.kernel.now());
            let store = self.actors.store_if_crashed_now(monotonic);
            self.checker.check_durable_at_end(self.last, &store);
        }
        let verdict = if self.checker.safety_broken() {
            Verdict::Safety
        } else if !self.checker.violations().is_empty() {
            Verdict::Liveness
        } else {
            Verdict::Held
        };
        let stats = self.kernel.stats();
        let report = RunReport {
            seed: self.seed,
            scenario: self.scenario.name.clone(),
            digest: self.kernel.digest().to_string(),
            verdict,
            violations: self.checker.violations().to_vec(),
            summary: self.checker.summary(),
            events: stats.events,
            sim_time_us: self.kernel.now().as_u64(),
            messages_sent: stats.messages_sent,
            messages_lost: stats.messages_lost,
            crashes: stats.crashes,
            receipts_unheard: self.actors.receipts_unheard(),
            lagging_reads: self.actors.lagging_reads(),
            faults: swarm::describe(&self.scenario),
            varied: self.varied_shape,
            stop,
            fault_plan: self.plan,
            checkpoints: self.kernel.checkpoints().to_vec(),
        };
        RunOutput {
            report,
            trace: self.kernel.take_trace(),
            census: self.kernel.census().cloned(),
        }
    }
}

/// Why the kernel's loop handed an event back to [`Simulation::advance`].
enum Pause {
    /// The heal phase is due (the event is judged after healing).
    Heal,
    /// The run stops here.
    Stopped(Stop),
    /// One event was asked for.
    Stepped,
}

/// What ends a run besides a violation or quiescence.
#[derive(Clone, Copy)]
struct Bounds {
    store: NodeId,
    /// The earliest the heal phase may end with work unfinished (see
    /// [`Scenario::heal_deadline_us`]).
    deadline: Micros,
    /// Past the deadline, how long the engine must have made no progress
    /// before the run stops: `limits.heal_us` again.
    stall: Micros,
    max_events: u64,
}

/// Whether the run stops after `step`, and why.
// Inlined into the run loop: it runs after every event.
#[inline(always)]
fn judge(
    checker: &Checker,
    kernel: &Kernel<Msg>,
    actors: &Actors,
    bounds: Bounds,
    step: Step,
) -> Option<Stop> {
    if checker.safety_broken() {
        Some(Stop::SafetyViolation)
    } else if kernel.is_up(bounds.store) && actors.quiescent() {
        Some(Stop::Quiescent)
    } else if step.time >= bounds.deadline
        && step.time >= checker.last_progress().saturating_add(bounds.stall)
    {
        // An engine still moving is given the time to finish: only one that
        // stood still for the whole heal span is stuck (or too slow to tell).
        Some(Stop::Deadline)
    } else if step.n >= bounds.max_events {
        Some(Stop::MaxEvents)
    } else {
        None
    }
}

/// Skewed, drifting clocks for the engine's processes; chains keep true time.
fn draw_clocks(scenario: &Scenario, layout: &Layout, rng: &mut SimRng) -> Vec<NodeClock> {
    let c = &scenario.faults.clocks;
    let mut clocks = vec![NodeClock::default(); layout.len()];
    for node in layout.engine_nodes() {
        let skew = c.skew_us_max as i64;
        let drift = c.drift_ppm_max as i32;
        clocks[node.index()] = NodeClock::new(
            rng.random_range(-skew..=skew),
            rng.random_range(-drift..=drift),
        );
    }
    clocks
}
