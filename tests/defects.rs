//! Every planted defect is found by a fixed seed range and the right
//! invariant is named; the same range is clean without it.

mod common;

use common::{campaign, sim};
use settlesim::engine::Defect;
use settlesim::world::Verdict;
use std::collections::BTreeMap;

const SEEDS: std::ops::Range<u64> = 0..40;

/// Failing seeds per first-named invariant.
fn hunt(defect: Defect, scenario: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for r in campaign(&sim(scenario), &[defect], SEEDS) {
        if r.verdict != Verdict::Held {
            *found
                .entry(r.violations[0].invariant.name().to_string())
                .or_insert(0) += 1;
        }
    }
    found
}

fn assert_found(defect: Defect, scenario: &str) {
    let found = hunt(defect, scenario);
    let expected = defect.expected_invariant();
    assert!(
        found.get(expected).copied().unwrap_or(0) > 0,
        "{defect} on {scenario} seeds {SEEDS:?}: expected {expected}, found {found:?}"
    );
}

#[test]
fn crash_storm_range_is_clean_without_defects() {
    // Proves the seed range the defect tests use holds every invariant with
    // the correct engine, so a failure under a defect is the defect's doing.
    for r in campaign(&sim("crash-storm.json"), &[], SEEDS) {
        assert_eq!(
            r.verdict,
            Verdict::Held,
            "seed {}: {:?}",
            r.seed,
            r.violations.first()
        );
    }
}

#[test]
fn idempotency_in_memory_gives_a_retried_key_a_second_settlement() {
    // Proves losing the key table in a store crash is caught.
    assert_found(Defect::IdempotencyInMemory, "crash-storm.json");
}

#[test]
fn ack_before_fsync_loses_acknowledged_writes() {
    // Proves acknowledging unsynced writes is caught at the next store crash.
    assert_found(Defect::AckBeforeFsync, "crash-storm.json");
}

#[test]
fn broadcast_before_persist_burns_twice() {
    // Proves broadcasting an unpersisted burn is caught as a second burn.
    assert_found(Defect::BroadcastBeforePersist, "crash-storm.json");
}

#[test]
fn retry_from_scratch_burns_twice() {
    // Proves re-signing an in-flight burn on resume is caught.
    assert_found(Defect::RetryFromScratch, "crash-storm.json");
}

#[test]
fn wal_without_checksums_recovers_phantom_state() {
    // Proves trusting a corrupt record at recovery is caught.
    assert_found(Defect::WalNoChecksum, "crash-storm.json");
}
