//! The backlog scenario (`sims/backlog.json`): one worker that moves one
//! settlement at a time, so the backlog behind it lasts hours, longer than
//! the source chains keep their history. A settlement whose burn is on
//! chain must not wait behind that backlog, or its burn ages out of the
//! history it needs and only an operator can settle it.

mod common;

use common::{run_holding, sim};
use settlesim::scenario::Scenario;
use settlesim::world::{run, RunOptions, Verdict};

/// Seeds of the scenario as written (no swarm) that left a burn for an
/// operator without the workers' pass over settlements under way (scanning
/// everything in id order): 1,344 of the 12,000 from 94,500,000 did before
/// the store capped the work under way. Before that pass and a scan that
/// resumes where its page ran out of room, 1,530 did: a restarted worker
/// found its burned settlement behind 89 not yet started, or a worker with
/// no room let its scan move past a burned settlement and came back to it
/// hours later. With the cap, none of the 12,000 fail with the pass or
/// without it: these seeds now guard against a regression, and the pass
/// has its own unit test (`src/engine/worker/sweep/tests.rs`).
const ONCE_STRANDED_A_BURN: [u64; 7] = [
    94500002, 94500004, 94500013, 94500020, 94500028, 94500043, 94500050,
];

#[test]
fn seeds_that_once_stranded_a_burn_hold() {
    // Guards the seeds the fix was proved on: each once failed
    // `every_burn_resolved` or `every_request_terminal`, and holds every
    // invariant now, though its backlog still outlasts the chains' history.
    let scenario = sim("backlog.json");
    let history_us = scenario.chains.iter().map(|c| c.history_us).max().unwrap();
    for seed in ONCE_STRANDED_A_BURN {
        let report = run_holding(seed, &scenario);
        assert!(
            report.sim_time_us > 2 * history_us,
            "seed {seed}: the backlog was cleared in {} µs, within twice the chains' history",
            report.sim_time_us
        );
    }
}

#[test]
fn a_burn_signed_by_a_write_applied_after_the_restart_scan_is_not_left_behind() {
    // Guards the seed that proved the pass over settlements under way comes
    // back while the pass over everything walks the backlog. With
    // clock-chaos's clocks, seed
    // 61009489 (swarm) pauses the store from 48.6 s to 88.3 s while the
    // worker crashes and restarts; the store then applies the dead
    // incarnation's signing of S115's burn after the restarted worker's
    // pass over settlements under way, and the worker, walking a two-hour
    // backlog, reached S115 only once its burn had aged out of the chain's
    // history: every_request_terminal broke. It holds now, and since the
    // store caps the work under way it holds without the rule too.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/backlog.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["faults"]["clocks"] = serde_json::json!({
        "skew_us_max": 5_000_000u64,
        "drift_ppm_max": 50_000,
        "jump_count_max": 10,
        "jump_us_max": 30_000_000u64,
    });
    v["engine"]["tx_ttl_us"] = 329_000_000u64.into();
    let scenario = Scenario::from_json(&v.to_string(), "backlog with clock-chaos's clocks")
        .unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        swarm: true,
        ..RunOptions::default()
    };
    let report = run(61009489, &scenario, options).report;
    assert_eq!(
        report.verdict,
        Verdict::Held,
        "{:?}",
        report.violations.first()
    );
    let history_us = scenario.chains.iter().map(|c| c.history_us).max().unwrap();
    assert!(
        report.sim_time_us > history_us,
        "the backlog was cleared in {} µs, within the chains' history",
        report.sim_time_us
    );
}
