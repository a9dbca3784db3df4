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

/// Asserts the seed range holds every invariant on `scenario` with the
/// correct engine.
fn assert_clean(scenario: &str) {
    for r in campaign(&sim(scenario), &[], SEEDS) {
        assert_eq!(
            r.verdict,
            Verdict::Held,
            "{scenario} seed {}: {:?}",
            r.seed,
            r.violations.first()
        );
    }
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
    assert_clean("crash-storm.json");
}

#[test]
fn fsync_retry_acknowledges_writes_the_disk_dropped() {
    // Proves a store that retries a failed fsync, instead of reloading, is
    // caught: the writes the failure dropped were acknowledged.
    assert_found(Defect::FsyncRetry, "crash-storm.json");
}

#[test]
fn lock_restart_no_grace_gives_a_held_shard_to_another_worker() {
    // Proves a lease service that grants as soon as it restarts is caught:
    // crash-storm crashes it often, well inside a lease's TTL, and a worker
    // acts while the lease the service forgot is still another's.
    assert_found(Defect::LockRestartNoGrace, "crash-storm.json");
}

#[test]
fn lease_by_wall_clock_gives_a_held_shard_to_another_worker() {
    // Proves a lease service that judges expiry by its wall clock is
    // caught: clock-chaos steps clocks by up to 30 s against 20 s leases,
    // so a step forward ends a lease the holder still uses, and another
    // worker is granted the shard.
    assert_found(Defect::LeaseByWallClock, "clock-chaos.json");
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

#[test]
fn every_defect_is_found_within_1000_seeds_of_its_home_campaign() {
    // Proves the campaign of each defect's home scenario (swarm on: the
    // default for all but two) finds it within 1,000 seeds and names its
    // expected invariant first.
    use settlesim::campaign::{run_campaign, Campaign, SeedPlan, Shard, World};
    use settlesim::scenario::Scenario;
    use std::sync::atomic::AtomicBool;
    for defect in Defect::ALL {
        let campaign = Campaign {
            world: World {
                scenario: Scenario::builtin(defect.home_scenario()),
                defects: vec![defect],
                swarm: true,
                vary: false,
                check_determinism: 0,
            },
            plan: SeedPlan {
                start: 0,
                end: Some(1000),
                shard: Shard::WHOLE,
            },
            time_budget: None,
            max_failures: Some(1),
            jobs: 2,
            corpus: None,
            seeds_label: "0..1000".into(),
            repro: Box::new(|_| String::new()),
            seed_process: None,
        };
        let report = run_campaign(&campaign, &AtomicBool::new(false), &mut |_, _| {});
        let first = report
            .failures
            .first()
            .unwrap_or_else(|| panic!("{defect} not found in 1000 seeds"));
        assert_eq!(
            first.invariant.map(|i| i.name()),
            Some(defect.expected_invariant()),
            "{defect} at seed {}",
            first.seed
        );
    }
}

#[test]
fn status_check_then_act_lets_a_stale_claim_lower_the_fence() {
    // Proves a claim that reads then writes blindly is caught.
    assert_found(Defect::StatusCheckThenAct, "many-workers.json");
}

#[test]
fn lock_none_lets_workers_act_without_a_lease() {
    // Proves workers acting with no lease are caught.
    assert_found(Defect::LockNone, "many-workers.json");
}

#[test]
fn lock_no_ttl_leaves_a_crashed_holders_lease_stuck() {
    // Proves leases that never expire are caught after healing.
    assert_found(Defect::LockNoTtl, "many-workers.json");
}

#[test]
fn no_fencing_lets_a_paused_holders_write_in() {
    // Proves a store that ignores fencing tokens is caught.
    assert_found(Defect::NoFencing, "clock-chaos.json");
}

#[test]
fn lease_from_reply_lets_a_worker_act_on_a_lease_gone_to_another() {
    // Proves a holder that times its lease from the grant's arrival is
    // caught acting outside it: pile-up's pauses hold grants up.
    assert_found(Defect::LeaseFromReply, "pile-up.json");
}

#[test]
fn many_workers_and_clock_chaos_ranges_are_clean_without_defects() {
    // Proves the ranges the lease-defect tests use hold every invariant with
    // the correct engine.
    assert_clean("many-workers.json");
    assert_clean("clock-chaos.json");
}

#[test]
fn no_compensation_leaves_a_rejected_burn_unresolved() {
    // Proves a saga that never compensates is caught after healing.
    assert_found(Defect::NoCompensation, "chain-outage.json");
}

#[test]
fn compensate_on_timeout_refunds_without_a_cancel() {
    // Proves refunding a mint that merely timed out is caught.
    assert_found(Defect::CompensateOnTimeout, "chain-outage.json");
}

#[test]
fn mint_before_finality_mints_a_burn_a_reorg_takes_back() {
    // Proves minting on a pre-finality attestation is caught.
    assert_found(Defect::MintBeforeFinality, "reorg-storm.json");
}

#[test]
fn unseen_as_dropped_burns_twice_when_a_node_has_not_heard() {
    // Proves taking a burn the node asked has not seen for dropped is
    // caught: reorg-storm's nodes often have not heard of a pending burn,
    // and the original lands beside its replacement.
    assert_found(Defect::UnseenAsDropped, "reorg-storm.json");
}

#[test]
fn expiry_by_newest_clock_burns_twice_when_a_node_is_behind() {
    // Proves judging a burn a node has not seen by the newest chain time
    // heard, not that node's clock, is caught on its home scenario: pile-up's
    // transactions live less long than its slowest chain takes to be final,
    // so a node behind the head can miss a block that included a burn past
    // its validity, and the replacement lands beside it. The correct engine
    // holds the same range.
    assert_clean("pile-up.json");
    assert_found(Defect::ExpiryByNewestClock, "pile-up.json");
}

#[test]
fn reorg_storm_and_chain_outage_ranges_are_clean_without_defects() {
    // Proves the ranges the saga-defect tests use hold every invariant with
    // the correct engine.
    assert_clean("reorg-storm.json");
    assert_clean("chain-outage.json");
}
