//! Reference scenarios: scripted runs that pin down one recovery guarantee
//! each, asserted on the chains' ground truth.

mod common;

use common::{default_with, quiet, run_until_first, scripted};
use settlesim::engine::{Defect, Defects, Stage};
use settlesim::scenario::Scenario;
use settlesim::sim::Micros;
use settlesim::world::{RunOptions, Simulation, Verdict};

/// One client, one request, no faults but the ones a script injects; a
/// resend, if any, within ten seconds of the acknowledgement.
fn single_request(resubmit: &str, workers: u32) -> Scenario {
    scripted(1, workers, |v| {
        v["workload"]["resubmit"] = resubmit.into();
        v["workload"]["resend_delay_us_max"] = 10_000_000.into();
    })
}

/// The store crashes between two requests with the same key. Returns the
/// burns on chain, the settlements in the store, and the verdict.
fn idempotency_script(defects: Defects) -> (u64, usize, Verdict) {
    let scenario = single_request("1/1", 1);
    let mut sim = Simulation::new(
        11,
        &scenario,
        RunOptions {
            defects,
            ..RunOptions::default()
        },
    );
    // The first request is acknowledged: its key is durable.
    assert!(sim.run_until(|s| s.client(0).acknowledgements() >= 1));
    let store = sim.layout().store;
    sim.crash(store, Micros::from_millis(5));
    // The client sends the same key again after the store restarted.
    assert!(
        sim.run_until(|s| s.client(0).acknowledgements() >= 2),
        "the duplicate was never answered"
    );
    let settlements = sim.store().created() as usize;
    let report = sim.finish().report;
    (report.summary.burned, settlements, report.verdict)
}

#[test]
fn test_idempotency_survives_restart() {
    // Proves a key acknowledged before a store crash maps to the same
    // settlement after it: one settlement, one burn.
    let (burned, settlements, verdict) = idempotency_script(Defects::NONE);
    assert_eq!(verdict, Verdict::Held);
    assert_eq!(settlements, 1);
    assert_eq!(burned, 1);
}

#[test]
fn idempotency_script_catches_keys_kept_in_memory() {
    // Proves the script above would fail on an engine that loses its keys.
    let (_, settlements, verdict) = idempotency_script(Defects::of(&[Defect::IdempotencyInMemory]));
    assert_eq!(settlements, 2);
    assert_eq!(verdict, Verdict::Safety);
}

#[test]
fn test_retry_after_partial_completion() {
    // Proves a worker that dies right after the burn is final is replaced by
    // a retry that mints and never burns again.
    let scenario = single_request("0/1", 1);
    let mut sim = Simulation::new(3, &scenario, RunOptions::default());
    let reached = run_until_first(&mut sim, |s| s.stage == Stage::BurnFinal);
    assert!(reached, "the settlement never reached BurnFinal");
    let worker = sim.layout().workers[0];
    sim.crash(worker, Micros::from_secs(2));
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(report.crashes, 1);
    let s = report.summary;
    assert_eq!((s.burned, s.minted, s.completed), (1, 1, 1), "{s:?}");
}

#[test]
fn test_retry_after_partial_completion_holds_for_every_stage() {
    // Proves resuming works whichever step the worker died in: crash the
    // only worker as soon as the settlement reaches each stage in turn.
    let stages = [
        Stage::Requested,
        Stage::BurnSigned,
        Stage::BurnSubmitted,
        Stage::BurnFinal,
        Stage::Attested,
        Stage::MintSigned,
    ];
    for (i, stage) in stages.into_iter().enumerate() {
        let scenario = single_request("0/1", 1);
        let mut sim = Simulation::new(100 + i as u64, &scenario, RunOptions::default());
        let reached = sim.run_until(|s| {
            s.store()
                .settlements()
                .next()
                .is_some_and(|x| x.stage == stage)
        });
        assert!(reached, "never reached {stage:?}");
        let worker = sim.layout().workers[0];
        sim.crash(worker, Micros::from_millis(500));
        let report = sim.finish().report;
        assert_eq!(
            report.verdict,
            Verdict::Held,
            "{stage:?}: {:?}",
            report.violations
        );
        let s = report.summary;
        assert_eq!((s.burned, s.minted), (1, 1), "{stage:?}: {s:?}");
    }
}

#[test]
fn log_compaction_keeps_the_log_bounded_and_recoverable() {
    // Proves the snapshot rewrite bounds the log by the state, and that a
    // store restarting from a snapshot still holds every invariant.
    let scenario = default_with(|v| {
        quiet(v);
        v["workload"]["requests_per_client"] = 300.into();
        v["workload"]["interval_us_max"] = 200_000.into();
    });
    let mut sim = Simulation::new(5, &scenario, RunOptions::default());
    let compacted = sim.run_until(|s| s.store().log_records() < s.store().records_written());
    assert!(compacted, "the log was never compacted");
    let live = sim.store().settlements().count() as u64;
    assert!(
        sim.store().log_records() <= live.max(1) * 4 + 1,
        "log {} records for {live} settlements",
        sim.store().log_records()
    );
    let store = sim.layout().store;
    sim.crash(store, Micros::from_millis(50));
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(report.summary.requested, 1200);
}
