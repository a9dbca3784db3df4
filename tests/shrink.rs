//! Shrinking a failing run (`settlesim shrink`): fewer faults, the same
//! broken invariant, and a repro file that replays it exactly.

use settlesim::campaign::shrink::{shrink, ShrinkError};
use settlesim::campaign::ReproFile;
use settlesim::world::{run, Verdict};
use std::path::Path;
use std::process::Command;

fn committed(name: &str) -> ReproFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(name);
    ReproFile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_shrunk_run_breaks_the_same_invariant_with_no_more_faults() {
    // Proves, on committed failures, that shrinking keeps the first broken
    // invariant, never adds a fault or a request, cuts something, and
    // writes a file whose replay gives its recorded digest.
    for name in [
        "default-no-fencing-seed114.json",
        "default-status-check-then-act-seed11.json",
        "default-compensate-on-timeout-seed1.json",
    ] {
        let original = committed(name);
        let shrunk = shrink(&original, |_, _| {}).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(shrunk.repro.invariant, original.invariant, "{name}");
        assert!(shrunk.faults.1 <= shrunk.faults.0, "{name}");
        assert!(shrunk.requests.1 <= shrunk.requests.0, "{name}");
        let cut = shrunk.faults.1 < shrunk.faults.0
            || shrunk.requests.1 < shrunk.requests.0
            || !shrunk.calmed.is_empty();
        assert!(cut, "{name}: nothing was cut");
        assert!(shrunk.reproduced, "{name}");
        assert!(!shrunk.repro.swarm && shrunk.repro.plan.is_some(), "{name}");
        let replayed = run(
            shrunk.repro.seed,
            &shrunk.repro.scenario,
            shrunk.repro.options(),
        );
        assert_eq!(replayed.report.digest, shrunk.repro.digest, "{name}");
        assert_eq!(
            replayed.report.violations.first().map(|v| v.invariant),
            original.invariant,
            "{name}"
        );
    }
}

#[test]
fn a_run_that_holds_has_nothing_to_shrink() {
    // Proves a file whose run breaks nothing is refused, not "shrunk".
    let mut holds = committed("default-no-fencing-seed114.json");
    holds.defects.clear();
    assert_eq!(holds.options().defects.list(), vec![]);
    assert_eq!(
        run(holds.seed, &holds.scenario, holds.options())
            .report
            .verdict,
        Verdict::Held
    );
    assert_eq!(shrink(&holds, |_, _| {}).err(), Some(ShrinkError::Holds));
}

#[test]
fn the_command_writes_beside_the_input_and_never_over_a_file() {
    // Proves the CLI's contract: the shrunk file lands beside the input
    // under `-shrunk`, the exit code is the shrunk run's verdict, its replay
    // reproduces it, and a second shrink refuses to overwrite it (exit 2)
    // unless `--out` names the file.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("no-fencing.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/default-no-fencing-seed114.json"),
        &input,
    )
    .unwrap();
    let settlesim = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_settlesim"))
            .args(args)
            .output()
            .expect("binary runs")
    };
    let input_arg = input.to_str().unwrap();
    let first = settlesim(&["shrink", input_arg]);
    let out = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{out}");
    assert!(out.contains("VIOLATION fencing_monotonic"), "{out}");
    let shrunk = dir.path().join("no-fencing-shrunk.json");
    assert!(
        out.contains(&format!("wrote {}", shrunk.display())),
        "{out}"
    );
    let replay = settlesim(&["replay", shrunk.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replay.stdout).contains("reproduced: verdict safety"));

    let again = settlesim(&["shrink", input_arg]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("exists") && err.lines().count() == 1, "{err}");
    let named = settlesim(&["shrink", input_arg, "--out", shrunk.to_str().unwrap()]);
    assert_eq!(named.status.code(), Some(1));

    let missing = settlesim(&["shrink", "no-such-file.json"]);
    assert_eq!(missing.status.code(), Some(2));
}
