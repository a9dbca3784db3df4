//! The heal phase: how long a run goes on after its faults before unfinished
//! work is judged stuck. `limits.heal_us` is the least it lasts, and also how
//! long the engine must stand still before the run gives up on it: an engine
//! still moving at the deadline is given the time to finish.

mod common;

use common::default_with;
use settlesim::check::Invariant;
use settlesim::engine::defects::{Defect, Defects};
use settlesim::scenario::Scenario;
use settlesim::world::{run, RunOptions, Stop, Verdict};

/// The least heal span the scenario check allows the default (364 s: its
/// longest chain fault, a stuck transaction's validity and two slow steps).
const HEAL_US: u64 = 364_000_000;

/// The default with that heal span and workers that move four settlements
/// at a time: the work outlasts the deadline by far.
fn short_heal() -> Scenario {
    default_with(|v| {
        v["limits"]["heal_us"] = HEAL_US.into();
        v["engine"]["worker_capacity"] = 4.into();
    })
}

#[test]
fn an_engine_still_moving_at_the_deadline_is_given_the_time_to_finish() {
    // Proves a run is not cut short while its settlements still move: each of
    // the first dozen seeds finishes, and some only after the deadline (all
    // of them, by 1,100–1,400 s, as measured), where a run that stopped at
    // the deadline would have failed liveness.
    let scenario = short_heal();
    let deadline = scenario.heal_deadline_us();
    let mut ran_past = 0;
    for seed in 0..12 {
        let report = run(seed, &scenario, RunOptions::default()).report;
        assert_eq!(
            (report.verdict, report.stop),
            (Verdict::Held, Stop::Quiescent),
            "seed {seed}: {:?}",
            report.violations.first()
        );
        if report.sim_time_us > deadline {
            ran_past += 1;
        }
    }
    assert!(ran_past > 0, "no seed needed more than the deadline");
}

#[test]
fn an_engine_that_stands_still_is_still_judged_stuck() {
    // Proves the extension ends: with compensation planted out, a rejected
    // mint waits forever while every other settlement finishes, and the run
    // stops once nothing has moved for the heal span, failing liveness on
    // the settlement that stood still all along, with no excuse.
    let scenario = common::sim("chain-outage.json");
    let options = || RunOptions {
        defects: Defects::of(&[Defect::NoCompensation]),
        ..RunOptions::default()
    };
    let stuck = (0..20)
        .map(|seed| run(seed, &scenario, options()).report)
        .find(|r| r.verdict == Verdict::Liveness)
        .expect("no-compensation leaves a settlement stuck within 20 seeds");
    assert_eq!(stuck.stop, Stop::Deadline);
    assert!(stuck.sim_time_us >= scenario.heal_deadline_us());
    assert!(
        stuck
            .violations
            .iter()
            .any(|v| v.detail.contains("still MintSigned after healing")),
        "{:?}",
        stuck.violations
    );
    // A stuck engine is not excused as waiting for an operator.
    assert!(
        stuck
            .violations
            .iter()
            .all(|v| !v.detail.contains("operator")),
        "{:?}",
        stuck.violations
    );
}

#[test]
fn the_longest_heal_span_is_taken_as_never_giving_up() {
    // Proves a heal span at the end of time neither overflows the deadline
    // (it once panicked) nor keeps a finished run going.
    let scenario = default_with(|v| v["limits"]["heal_us"] = u64::MAX.into());
    let report = run(0, &scenario, RunOptions::default()).report;
    assert_eq!(
        (report.verdict, report.stop),
        (Verdict::Held, Stop::Quiescent)
    );
}

#[test]
fn a_run_its_event_cap_stops_fails_liveness_once_by_name() {
    // Proves a run cut short by `limits.max_events` is not called held, nor
    // its settlements in flight judged "after healing" that never came: it
    // fails liveness once, naming the cap. A cap of one event stops the run
    // before any request is made, which once read as held.
    for (max_events, in_flight) in [(5_000u64, true), (1, false)] {
        let scenario = default_with(|v| v["limits"]["max_events"] = max_events.into());
        let report = run(3, &scenario, RunOptions::default()).report;
        assert_eq!(
            (report.verdict, report.stop),
            (Verdict::Liveness, Stop::MaxEvents)
        );
        let [violation] = report.violations.as_slice() else {
            panic!("one violation, not {:?}", report.violations);
        };
        assert_eq!(violation.invariant, Invariant::EveryRequestTerminal);
        assert_eq!(violation.settlement, None);
        assert!(
            violation
                .detail
                .contains(&format!("cap of {max_events} events")),
            "{}",
            violation.detail
        );
        assert_eq!(
            report.summary.requested > 0,
            in_flight,
            "{:?}",
            report.summary
        );
    }
}
