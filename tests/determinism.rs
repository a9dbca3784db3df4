//! Determinism: a run is a pure function of (seed, scenario).

mod common;

use common::{run_default, run_traced};
use settlesim::scenario::Scenario;
use settlesim::world::{run, RunOptions};
use std::collections::BTreeSet;

#[test]
fn same_seed_twice_gives_the_same_digest_and_an_identical_trace() {
    // Proves replay is bit for bit: digest, report and every trace line.
    let scenario = Scenario::builtin_default();
    let (a, trace_a) = run_traced(17, &scenario);
    let (b, trace_b) = run_traced(17, &scenario);
    assert_eq!(a.digest, b.digest);
    assert_eq!(a, b);
    assert!(
        trace_a.len() > 1000,
        "trace too short: {} bytes",
        trace_a.len()
    );
    assert_eq!(trace_a, trace_b);
    let lines = trace_a
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64;
    assert_eq!(lines, a.events);
}

#[test]
fn tracing_does_not_change_the_run() {
    // Proves observing a run does not perturb it.
    let (traced, _) = run_traced(5, &Scenario::builtin_default());
    assert_eq!(traced, run_default(5));
}

#[test]
fn the_event_census_counts_every_event_and_changes_nothing() {
    // Proves the census is a pure observer: the same report as a plain run,
    // and exactly one count per event, spread over many kinds.
    let options = RunOptions {
        census: true,
        ..RunOptions::default()
    };
    let output = run(5, &Scenario::builtin_default(), options);
    assert_eq!(output.report, run_default(5));
    let census = output.census.expect("a census was asked for");
    assert_eq!(census.total(), output.report.events);
    let kinds: Vec<String> = census.rows().into_iter().map(|r| r.kind).collect();
    for kind in ["store.advance", "chain.receipt", "worker_timer.commit"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }
}

#[test]
fn fifty_seeds_give_at_least_45_distinct_digests() {
    // Proves the seed actually drives the run.
    let digests: BTreeSet<String> = (0..50).map(|seed| run_default(seed).digest).collect();
    assert!(
        digests.len() >= 45,
        "only {} distinct digests",
        digests.len()
    );
}

#[test]
fn a_run_stepped_one_event_at_a_time_ends_as_a_run_driven_to_the_end() {
    // Proves the kernel's run loop (`finish`) and stepping (`step`, what
    // scripted tests use) are the same run: same events, heal, stop and
    // verdict, over runs that heal mid-way and go quiet (one under crashes),
    // one a planted defect stops at a safety violation and one that runs to
    // the deadline.
    use settlesim::engine::{Defect, Defects};
    use settlesim::world::Simulation;
    let cases = [
        (3, Scenario::builtin_default(), Defects::NONE),
        (8, common::sim("crash-storm.json"), Defects::NONE),
        (
            0,
            Scenario::builtin_default(),
            Defects::of(&[Defect::RetryFromScratch]),
        ),
        (
            0,
            Scenario::builtin_default(),
            Defects::of(&[Defect::NoCompensation]),
        ),
    ];
    for (seed, scenario, defects) in cases {
        let options = || RunOptions {
            defects,
            ..RunOptions::default()
        };
        let driven = Simulation::new(seed, &scenario, options()).finish().report;
        let mut stepped = Simulation::new(seed, &scenario, options());
        let mut steps = 0;
        while stepped.step().is_some() {
            steps += 1;
        }
        let stepped = stepped.finish().report;
        assert_eq!(steps, driven.events, "seed {seed}");
        assert_eq!(stepped, driven, "seed {seed}");
    }
}
