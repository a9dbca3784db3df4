//! Key retention: the store forgets settled history, keeps expired keys
//! expired through restarts, and so stays the size of the work in flight.

mod common;

use common::{default_with, quiet};
use settlesim::scenario::Scenario;
use settlesim::sim::Micros;
use settlesim::world::{RunOptions, Simulation, Verdict};

/// A quiet world of fast chains where clients send `requests` each, fast,
/// and resend every acknowledged key up to `resend_within_s` seconds later,
/// often after a short retention let it go.
fn busy_with_late_resends(requests: u32, resend_within_s: u64) -> Scenario {
    default_with(|v| {
        v["workload"]["resend_delay_us_max"] = (resend_within_s * 1_000_000).into();
        quiet(v);
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["block_time_us"] = 250_000.into();
            chain["finality_depth"] = 2.into();
        }
        v["workload"]["requests_per_client"] = requests.into();
        v["workload"]["interval_us_max"] = 200_000.into();
        v["workload"]["resubmit"] = "1/1".into();
        v["workload"]["conflicting"] = "0/1".into();
        v["engine"]["key_retention_us"] = 2_000_000.into();
    })
}

/// Runs `scenario` to the end; returns the largest number of settlements
/// the store retained at any step, and the report.
fn peak_retained(seed: u64, scenario: &Scenario) -> (usize, settlesim::world::RunReport) {
    let mut sim = Simulation::new(seed, scenario, RunOptions::default());
    let mut peak = 0;
    sim.run_until(|s| {
        peak = peak.max(s.store().retained());
        false
    });
    (peak, sim.finish().report)
}

#[test]
fn the_store_stays_the_size_of_the_work_in_flight() {
    // Proves retention bounds the store: four times the settlements, about
    // the same peak table, and every settlement still accounted for.
    let (small, small_report) = peak_retained(3, &busy_with_late_resends(150, 20));
    let (large, large_report) = peak_retained(3, &busy_with_late_resends(600, 20));
    for report in [&small_report, &large_report] {
        assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    }
    assert_eq!(large_report.summary.requested, 2400);
    assert!(
        large * 2 < small * 3,
        "peak retained {small} for 600 settlements but {large} for 2,400"
    );
    assert!(
        large < 1200,
        "retained {large} of 2,400 settlements at once"
    );
}

#[test]
fn an_expired_key_is_refused_and_never_settled_again() {
    // Proves a resend that arrives after its key was forgotten is answered
    // KeyExpired: no second settlement, no second burn, invariants held.
    let scenario = busy_with_late_resends(300, 60);
    let mut sim = Simulation::new(7, &scenario, RunOptions::default());
    let refused = sim.run_until(|s| (0..4).any(|c| s.client(c).expired() > 0));
    assert!(refused, "no resend ever met an expired key");
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    let s = report.summary;
    assert_eq!(s.requested, 1200);
    assert_eq!(s.burned, s.minted + s.refunded, "{s:?}");
    assert_eq!(s.duplicated + s.unexpected, 0, "{s:?}");
}

#[test]
fn expired_keys_stay_expired_after_a_store_restart() {
    // Proves the floors are durable: the store restarts from its snapshot
    // with every client's floor where it was, and what it forgot stays
    // forgotten, with every invariant held to the end.
    let scenario = busy_with_late_resends(300, 60);
    let mut sim = Simulation::new(9, &scenario, RunOptions::default());
    let forgot = sim.run_until(|s| (0..4).all(|c| s.store().floor(c) > 20));
    assert!(forgot, "the store never forgot enough to test");
    let floors: Vec<u64> = (0..4).map(|c| sim.store().floor(c)).collect();
    let created = sim.store().created();
    let store = sim.layout().store;
    sim.crash(store, Micros::from_millis(20));
    let back = sim.run_until(|s| s.store().created() > created);
    assert!(back, "the store never came back to work");
    for (c, floor) in floors.iter().enumerate() {
        assert!(
            sim.store().floor(c as u32) >= *floor,
            "client {c}'s floor fell from {floor} to {}",
            sim.store().floor(c as u32)
        );
    }
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(report.summary.requested, 1200);
}

#[test]
fn clients_keep_only_the_resends_still_to_come() {
    // Proves a client's memory follows its requests in flight: after a long
    // run, it keeps no acknowledged request whose resends are long done.
    let scenario = busy_with_late_resends(600, 20);
    let mut sim = Simulation::new(4, &scenario, RunOptions::default());
    let mut peak = 0;
    sim.run_until(|s| {
        peak = peak.max(s.client(0).resends_kept());
        false
    });
    assert!(peak > 0, "no resend was ever planned");
    assert!(
        peak < 300,
        "client 0 kept {peak} of 600 requests for resends"
    );
}
