//! One run: build the world from (seed, scenario), draw its clocks and fault
//! plan, drive the kernel while the checkers watch every step, heal, and
//! judge.

use super::actors::Actors;
use super::layout::Layout;
use super::plan::FaultPlan;
use super::report::{RunReport, Stop, Verdict};
use crate::check::Checker;
use crate::scenario::Scenario;
use crate::sim::{Kernel, Micros, NodeClock, SimRng, Step, Stream, Streams, Trace};
use rand::{Rng, RngCore};

/// Optional inputs of a run beyond (seed, scenario).
#[derive(Default)]
pub struct RunOptions {
    /// Record every event here.
    pub trace: Option<Trace>,
    /// Use this fault plan instead of drawing one from the seed.
    pub plan: Option<FaultPlan>,
}

/// The result of [`run`]: the report, and the trace to flush if one was kept.
pub struct RunOutput {
    /// The outcome.
    pub report: RunReport,
    /// The trace, if one was requested.
    pub trace: Option<Trace>,
}

/// Runs one seed of one scenario to its verdict. A pure function of its
/// inputs: the same (seed, scenario, plan) gives the same report and digest.
pub fn run(seed: u64, scenario: &Scenario, options: RunOptions) -> RunOutput {
    let streams = Streams::new(seed);
    let layout = Layout::new(scenario);
    let clocks = draw_clocks(scenario, &layout, &mut streams.stream(Stream::Clocks));
    let plan = options
        .plan
        .unwrap_or_else(|| FaultPlan::draw(scenario, &layout, &mut streams.stream(Stream::Faults)));
    let attester_key = streams.stream(Stream::Config).next_u64();

    let mut kernel = Kernel::new(&streams, scenario.faults.network.clone(), clocks);
    if let Some(trace) = options.trace {
        kernel.set_trace(trace);
    }
    for planned in &plan.faults {
        kernel.schedule_fault(planned.at_us, planned.fault.clone());
    }
    let mut actors = Actors::new(scenario, &layout, attester_key);
    let mut checker = Checker::new(actors.total_supply());

    let limits = &scenario.limits;
    let heal_at = Micros(limits.fault_window_us);
    let workload_span =
        u64::from(scenario.workload.requests_per_client) * scenario.workload.interval_us_max;
    let deadline = Micros(limits.fault_window_us.max(workload_span)) + Micros(limits.heal_us);
    let mut healed = false;
    let mut last = Step {
        n: 0,
        time: Micros::ZERO,
        node: layout.store,
    };
    let stop = loop {
        let Some(step) = kernel.step(&mut actors) else {
            break Stop::Deadline;
        };
        last = step;
        actors.report_effects(step, &mut checker);
        if checker.safety_broken() {
            break Stop::SafetyViolation;
        }
        if !healed && step.time >= heal_at {
            kernel.calm_network(scenario.faults.network.calm());
            healed = true;
        }
        if actors.quiescent() {
            break Stop::Quiescent;
        }
        if step.time >= deadline {
            break Stop::Deadline;
        }
        if step.n >= limits.max_events {
            break Stop::MaxEvents;
        }
    };
    if stop != Stop::SafetyViolation {
        checker.check_liveness(last);
    }
    let verdict = if checker.safety_broken() {
        Verdict::Safety
    } else if !checker.violations().is_empty() {
        Verdict::Liveness
    } else {
        Verdict::Held
    };
    let stats = kernel.stats();
    let report = RunReport {
        seed,
        scenario: scenario.name.clone(),
        digest: kernel.digest().to_string(),
        verdict,
        violations: checker.violations().to_vec(),
        summary: checker.summary(),
        events: stats.events,
        sim_time_us: kernel.now().as_u64(),
        messages_sent: stats.messages_sent,
        messages_lost: stats.messages_lost,
        stop,
        fault_plan: plan,
    };
    RunOutput {
        report,
        trace: kernel.take_trace(),
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
