//! A write the store acknowledged survives every crash, the ones no seed
//! drew included: each run ends by crashing a copy of the store's disk and
//! recovering it, and the durability checker judges what comes back.

mod common;

use common::{campaign, scripted};
use settlesim::check::Invariant;
use settlesim::engine::Defect;
use settlesim::world::{Stop, Verdict};

#[test]
fn writes_lost_to_a_retried_fsync_are_found_with_no_crash_at_all() {
    // Proves the end-of-run crash: with failed fsyncs and no crash, the
    // correct engine (which reloads after a failed fsync) holds, while a
    // store that retries the fsync acknowledges writes the disk dropped, and
    // only the crash at the end can show it.
    let scenario = scripted(30, 2, |v| {
        v["faults"]["disk"]["sync_fail"] = "1/10".into();
    });
    for report in campaign(&scenario, &[], 0..6) {
        assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
        assert_eq!(report.crashes, 0);
    }
    let found: Vec<_> = campaign(&scenario, &[Defect::FsyncRetry], 0..6)
        .into_iter()
        .filter(|r| r.verdict == Verdict::Safety)
        .collect();
    assert!(!found.is_empty(), "no seed lost an acknowledged write");
    for report in found {
        let first = &report.violations[0];
        assert_eq!(first.invariant, Invariant::AcknowledgedDurable);
        assert_ne!(report.stop, Stop::SafetyViolation, "a crash during the run");
        assert_eq!(first.event, report.events, "not judged at the end");
    }
}
