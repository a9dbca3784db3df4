//! The correct engine on the default scenario: no seed may fail.

mod common;

use common::run_default;
use settlesim::world::{Stop, Verdict};

#[test]
fn default_scenario_holds_over_100_seeds_and_every_request_ends_terminal() {
    // Proves the engine is correct under the default faults: every invariant
    // holds, every request is terminal (completed, failed or refunded),
    // nothing is lost or doubled.
    let mut faulty_seeds = 0;
    for seed in 0..100 {
        let r = run_default(seed);
        assert_eq!(r.verdict, Verdict::Held, "seed {seed}: {:?}", r.violations);
        assert_eq!(r.stop, Stop::Quiescent, "seed {seed} did not finish");
        let s = r.summary;
        assert_eq!(s.requested, 200, "seed {seed}");
        assert_eq!(
            s.completed + s.failed + s.refunded,
            s.requested,
            "seed {seed}: {s:?}"
        );
        assert_eq!(s.minted + s.refunded, s.burned, "seed {seed}: {s:?}");
        assert_eq!(
            (s.lost, s.duplicated, s.unexpected),
            (0, 0, 0),
            "seed {seed}: {s:?}"
        );
        if r.messages_lost > 0 {
            faulty_seeds += 1;
        }
    }
    assert!(
        faulty_seeds >= 90,
        "network faults were on for only {faulty_seeds} seeds"
    );
}

#[test]
fn oversized_burns_fail_cleanly_and_others_complete() {
    // Proves the per-message limit turns into Failed with nothing burned,
    // while ordinary requests complete.
    let s = run_default(1).summary;
    assert!(
        s.failed > 0,
        "the default workload asks for some oversized burns"
    );
    assert!(s.completed > s.failed);
    assert_eq!(s.burned, s.completed + s.refunded);
}
