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
/// operator before workers scanned for settlements under way first and
/// resumed a scan where its page ran out of room: 1,530 of the 12,000 from
/// 94,500,000 did. In the first, a restarted worker found its burned
/// settlement behind 89 not yet started. In 94500364, a worker with no room
/// let its scan move past a burned settlement and came back to it hours
/// later. The last two still failed with the under-way pass alone (25 of
/// the 12,000 did): they need the scan to resume where its page ran out.
const ONCE_STRANDED_A_BURN: [u64; 7] = [
    94500000, 94500002, 94500005, 94500011, 94500364, 94500057, 94500063,
];

#[test]
fn seeds_that_once_stranded_a_burn_hold() {
    // Proves the fix where the bug was found: each of these seeds failed
    // `every_burn_resolved` or `every_request_terminal` before it, and
    // holds every invariant now, though its backlog still outlasts the
    // chains' history.
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
    // Proves the pass over settlements under way comes back while the pass
    // over everything walks the backlog. With clock-chaos's clocks, seed
    // 61009489 (swarm) pauses the store from 48.6 s to 88.3 s while the
    // worker crashes and restarts; the store then applies the dead
    // incarnation's signing of S115's burn after the restarted worker's
    // pass over settlements under way, and the worker, walking a two-hour
    // backlog, reached S115 only once its burn had aged out of the chain's
    // history: every_request_terminal broke. It holds now.
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
