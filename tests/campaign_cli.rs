//! Campaigns from the command line: repro files that replay, shards that
//! merge, an interrupted campaign that keeps its results, campaigns cut
//! short by time or by failures, and clear errors.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn settlesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_settlesim"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Runs `settlesim fuzz ARGS --corpus CORPUS`. Every campaign a test runs
/// keeps its repro files in the test's own folder: one left in the
/// repository's `seeds/` would be replayed by every later `cargo test`.
fn fuzz(corpus: &Path, args: &[&str]) -> Output {
    let mut all = vec!["fuzz"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--corpus", corpus.to_str().unwrap()]);
    settlesim(&all)
}

/// A directory of its own for one test, removed when the test ends.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("settlesim-{name}-"))
        .tempdir()
        .unwrap()
}

/// Runs settlesim with `args` in a process group of its own, sends the
/// group SIGINT after a second and a half (as Ctrl-C in a terminal stops a
/// long job) and returns what it printed.
fn interrupted_after_a_while(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_settlesim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_failing_campaign_writes_repro_files_that_replay_exactly() {
    // Proves a campaign with a defect saves one repro file per failure and
    // names the commands that replay and shrink one, that replaying one
    // reproduces its verdict (exit 1), and that a tampered digest is
    // reported as nondeterminism (exit 4).
    let scratch = scratch("repro");
    let dir = scratch.path();
    let corpus = dir.join("corpus");
    let o = fuzz(
        &corpus,
        &[
            "--seeds",
            "0..8",
            "--jobs",
            "2",
            "--defect",
            "ack-before-fsync",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    assert!(
        text(&o.stdout).contains("settlesim replay"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("settlesim shrink"),
        "{}",
        text(&o.stdout)
    );

    let file = files[0].to_str().unwrap();
    let replay = settlesim(&["replay", file]);
    assert_eq!(replay.status.code(), Some(1), "{}", text(&replay.stdout));
    assert!(text(&replay.stdout).contains("reproduced: verdict safety"));

    let mut v = json(&files[0]);
    // The run crossed from its seed process with the checkpoints that
    // locate a divergence, which a report's JSON leaves out.
    let checkpoints = v["checkpoints"].as_array().map_or(0, Vec::len);
    assert!(checkpoints > 0, "no digest checkpoints: {v}");
    v["digest"] = "0000000000000000".into();
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, v.to_string()).unwrap();
    let o = settlesim(&["replay", tampered.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o.stdout).contains("NONDETERMINISM"));
}

#[test]
fn rewriting_a_repro_file_says_when_its_verdict_changed() {
    // Proves `replay --rewrite` re-records a file's verdict and digest, and
    // names a verdict that differs from the one recorded (a corpus
    // re-recorded after a change is reviewed file by file), and says
    // nothing more when the verdict is the same.
    let scratch = scratch("rewrite");
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/default-lock-none-seed0.json");
    let mut v = json(&committed);
    v["verdict"] = "held".into();
    v["invariant"] = serde_json::Value::Null;
    v["digest"] = "0000000000000000".into();
    let file = scratch.path().join("lock-none.json");
    std::fs::write(&file, v.to_string()).unwrap();
    let path = file.to_str().unwrap();

    let o = settlesim(&["replay", "--rewrite", path]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "note: it recorded held before; this build's run of it gives safety (lease_exclusive)"
        ),
        "{out}"
    );
    let rewritten = json(&file);
    assert_eq!(rewritten["verdict"], "safety");
    assert_eq!(rewritten["digest"], json(&committed)["digest"]);

    let again = settlesim(&["replay", "--rewrite", path]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        !text(&again.stdout).contains("note:"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn a_varied_seed_keeps_its_settings_through_run_replay_and_shrink() {
    // Proves --vary gives each seed settings of its own, named on `run`'s
    // report and carried by the repro command, the report and the repro
    // file; that the file replays to the same digest; and that `shrink`
    // writes the drawn settings out as the scenario, variation off, for the
    // same run.
    let scratch = scratch("vary");
    let dir = scratch.path();
    let report = dir.join("report.json");
    let o = fuzz(
        dir,
        &[
            "--vary",
            "--seeds",
            "0..40",
            "--defect",
            "ack-before-fsync",
            "--max-failures",
            "1",
            "--jobs",
            "1",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(json(&report)["vary"], true);
    let failure = &json(&report)["failures"][0];
    let seed = failure["seed"].as_u64().unwrap().to_string();
    assert!(
        failure["repro"].as_str().unwrap().ends_with(" --vary"),
        "{failure}"
    );
    let file = PathBuf::from(failure["repro_file"].as_str().unwrap());
    assert_eq!(json(&file)["vary"], true);

    let plain = settlesim(&["run", "--seed", &seed, "--defect", "ack-before-fsync"]);
    let varied = settlesim(&[
        "run",
        "--seed",
        &seed,
        "--defect",
        "ack-before-fsync",
        "--vary",
    ]);
    let settings = text(&varied.stdout)
        .lines()
        .find(|l| l.starts_with("settings: clients "))
        .map(str::to_string);
    assert!(settings.is_some(), "{}", text(&varied.stdout));
    assert!(!text(&plain.stdout).contains("settings:"));
    let digest = |o: &Output| text(&o.stdout).lines().last().unwrap().to_string();
    assert_ne!(
        digest(&plain),
        digest(&varied),
        "the settings changed nothing"
    );

    let replay = settlesim(&["replay", file.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", text(&replay.stdout));
    assert!(text(&replay.stdout).contains(&digest(&varied)));

    let shrunk = dir.join("shrunk.json");
    let o = settlesim(&[
        "shrink",
        file.to_str().unwrap(),
        "--out",
        shrunk.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let written = json(&shrunk);
    assert_eq!(
        written["vary"],
        serde_json::Value::Null,
        "variation stays off"
    );
    let as_written = json(&file)["scenario"]["engine"].clone();
    assert_ne!(
        written["scenario"]["engine"], as_written,
        "the drawn settings were not written out"
    );
}

#[test]
fn shard_reports_merge_into_the_whole_campaign() {
    // Proves --shard splits seeds without overlap and merge adds them back up
    // to what one machine running every seed reports, the seeds re-run for
    // determinism included.
    let scratch = scratch("shards");
    let dir = scratch.path();
    let corpus = dir.join("corpus");
    let report = |name: &str, extra: &[&str]| {
        let path = dir.join(name);
        let mut args = vec![
            "--seeds",
            "0..30",
            "--jobs",
            "1",
            "--defect",
            "retry-from-scratch",
            "--check-determinism",
            "20",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--report", path.to_str().unwrap()]);
        fuzz(&corpus, &args);
        path
    };
    let whole = json(&report("whole.json", &[]));
    let a = report("a.json", &["--shard", "1/2"]);
    let b = report("b.json", &["--shard", "2/2"]);
    let merged_path = dir.join("merged.json");
    let o = settlesim(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--output",
        merged_path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // The shards ran on machines of their own: the rate is theirs together.
    assert!(
        text(&o.stdout).contains("seeds/s over shards 1-2/2)"),
        "{}",
        text(&o.stdout)
    );
    let merged = json(&merged_path);
    assert_eq!(json(&a)["seeds_run"], 15);
    // Seeds 0..20 are re-run: the even ones on shard 1.
    assert_eq!(json(&a)["rechecked"], 10);
    assert_eq!(whole["rechecked"], 20);
    for key in [
        "seeds_run",
        "rechecked",
        "held",
        "settlements",
        "events",
        "by_invariant",
        "coverage",
    ] {
        assert_eq!(merged[key], whole[key], "{key}");
    }
    let seeds = |v: &serde_json::Value| {
        v["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["seed"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seeds(&merged), seeds(&whole));
    assert_eq!(merged["shard"], "1-2/2");

    // Each shard once, and all of them unless --partial.
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    for (args, says) in [
        (
            vec!["merge", a, a, b],
            "shard 1/2 is in more than one report",
        ),
        (vec!["merge", a], "shards missing: 2/2"),
    ] {
        let o = settlesim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    }
    // A shard with no seed of the range runs nothing, and says so.
    let o = fuzz(&corpus, &["--seeds", "0..3", "--shard", "5/8"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("shard 5/8 of seeds 0..3 holds no seed"));
    let o = settlesim(&["merge", a, "--partial"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("a partial merge: shards 1/2; missing 2/2"));
    // A report whose shard field says nothing of its shards (an older
    // build's merge) is refused, naming its file.
    let mut old = json(&merged_path);
    old["shard"] = "merged".into();
    let old_path = dir.join("old.json");
    std::fs::write(&old_path, old.to_string()).unwrap();
    let o = settlesim(&["merge", old_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("old.json: shard `merged`"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn merge_refuses_reports_of_different_campaigns() {
    // Proves merging unrelated reports is bad input, not a silent sum.
    let scratch = scratch("mismatch");
    let dir = scratch.path();
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    fuzz(dir, &["--seeds", "0..2", "--report", a.to_str().unwrap()]);
    fuzz(dir, &["--seeds", "0..3", "--report", b.to_str().unwrap()]);
    let o = settlesim(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("disagree on seeds"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn an_interrupted_campaign_stops_cleanly_and_keeps_its_report() {
    // Proves Ctrl-C ends a campaign with its results written, not lost, and
    // that the seeds under way finish rather than fail: the processes they
    // run in do not take the signal for the campaign.
    let scratch = scratch("interrupt");
    let dir = scratch.path();
    let report = dir.join("report.json");
    let o = interrupted_after_a_while(&[
        "fuzz",
        "--seeds",
        "0..1000000",
        "--jobs",
        "1",
        "--report",
        report.to_str().unwrap(),
        "--corpus",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = json(&report);
    assert_eq!(r["interrupted"], true);
    assert!(r["seeds_run"].as_u64().unwrap() > 0);
    assert!(r["seeds_run"].as_u64().unwrap() < 1_000_000);
    assert_eq!(r["failures"], serde_json::json!([]), "{}", text(&o.stderr));
}

/// Runs `fuzz` on seeds 0..12, with `extra` arguments, with seed 5 made
/// to end as `how` says (`campaign::seed_process`'s planted crash), and
/// checks that the campaign exits `code`, that seed 5 alone failed, filed
/// as `what` with a detail starting `detail`, and that every other seed ran
/// and held.
fn assert_a_seed_that_ends_fails_alone(
    how: &str,
    extra: &[&str],
    what: &str,
    code: i32,
    detail: &str,
) {
    let scratch = scratch("dies");
    let dir = scratch.path();
    let report = dir.join("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_settlesim"))
        .args(["fuzz", "--seeds", "0..12", "--jobs", "2", "--report"])
        .arg(&report)
        .arg("--corpus")
        .arg(dir)
        .args(extra)
        .env("SETTLESIM_CRASH_SEED", format!("5:{how}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A campaign that lost track of which seed its new process answers, or
    // that never gives up on a seed, waits for ever: fail, rather than hang
    // the suite (polled 6,000 times 20 ms apart: two minutes, for a run of
    // a second or two).
    let status = (0..6000)
        .find_map(|_| {
            let status = child.try_wait().unwrap();
            if status.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            status
        })
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the campaign with seed 5 made to {how} did not end");
        });
    assert_eq!(status.code(), Some(code));
    let r = json(&report);
    assert_eq!(r["seeds_run"], 12, "{r}");
    assert_eq!(r["held"], 11, "{r}");
    assert_eq!(r["failures"][0]["seed"], 5, "{r}");
    assert_eq!(r["by_invariant"][what], 1, "{r}");
    let filed = r["failures"][0]["detail"].as_str().unwrap();
    assert!(filed.starts_with(detail), "{filed}");
}

#[test]
fn a_seed_that_panics_fails_alone_and_the_campaign_goes_on() {
    // Proves a panic in one seed's run is filed as that seed's failure,
    // with its message and place, and every other seed still runs and is
    // judged: the release build aborts on a panic, so this holds only
    // because seeds run in child processes that the campaign replaces.
    let detail = "the run panicked: SETTLESIM_CRASH_SEED asked seed 5 to panic (at src/";
    assert_a_seed_that_ends_fails_alone("panic", &[], "panic", 1, detail);
}

#[test]
fn a_seed_whose_process_dies_fails_alone_and_the_campaign_goes_on() {
    // Proves a run that dies without a panic (an abort, a stack overflow)
    // is filed as its seed's failure with how it died, and costs no other
    // seed, not even the one queued behind it in the same process.
    let detail = "the run's process died (signal: 6 (SIGABRT)";
    assert_a_seed_that_ends_fails_alone("abort", &[], "panic", 1, detail);
}

#[test]
fn a_seed_that_never_ends_is_killed_and_fails_alone_as_hung() {
    // Proves a run caught in a loop is killed once it has spent the
    // --seed-timeout of CPU time, filed as its seed's liveness failure
    // (`hung`, exit 3) with the time it spent, and that the seed queued
    // behind it in the same process still runs: without the limit this
    // campaign never ends.
    let detail = "the run spent 1 s of CPU time without finishing";
    assert_a_seed_that_ends_fails_alone("hang", &["--seed-timeout", "1"], "hung", 3, detail);
}

/// The state letter and parent of process `pid` (`/proc/PID/stat`), if it
/// is still there.
#[cfg(target_os = "linux")]
fn state_and_parent(pid: &str) -> Option<(String, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    Some((fields.next()?.to_string(), fields.next()?.to_string()))
}

#[cfg(target_os = "linux")]
#[test]
fn a_campaign_killed_outright_takes_its_seed_processes_with_it() {
    // Proves a seed process caught in a loop dies with the campaign that
    // started it: it never reads the end of its input, so without the
    // parent-death signal it would spin on, orphaned, for ever (as a
    // second Ctrl-C, or a CI job's timeout, leaves it).
    let scratch = scratch("killed");
    let mut campaign = Command::new(env!("CARGO_BIN_EXE_settlesim"))
        .args(["fuzz", "--seeds", "0..12", "--jobs", "1", "--corpus"])
        .arg(scratch.path())
        .env("SETTLESIM_CRASH_SEED", "5:hang")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = campaign.id().to_string();
    let seed_process = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .find(|pid| state_and_parent(pid).is_some_and(|(_, ppid)| ppid == parent))
    };
    // Polled 20 ms apart for up to a minute: the campaign starts its one
    // process, which runs seeds 0 to 4 in milliseconds and then spins.
    let child = (0..3000)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            seed_process()
        })
        .expect("the campaign started a seed process");
    std::thread::sleep(std::time::Duration::from_millis(500));
    campaign.kill().unwrap();
    campaign.wait().unwrap();
    let gone = (0..3000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        state_and_parent(&child).is_none_or(|(state, _)| state == "Z")
    });
    if !gone {
        let _ = Command::new("kill").args(["-9", &child]).status();
    }
    assert!(gone, "seed process {child} outlived its campaign");
}

#[test]
fn a_timed_campaign_starts_where_asked_and_says_where_to_go_on() {
    // Proves --time with --seeds A.. runs the seeds from A on, in order,
    // names both in its report, and says which seed comes next; and that a
    // range cut short by time says how much of it ran.
    let scratch = scratch("timed");
    let dir = scratch.path();
    let report = dir.join("report.json");
    let run = |seeds: &str| {
        fuzz(
            dir,
            &[
                "--seeds",
                seeds,
                "--time",
                "1s",
                "--jobs",
                "1",
                "--report",
                report.to_str().unwrap(),
            ],
        )
    };
    let o = run("7000..");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = json(&report);
    assert_eq!(r["seeds"], "7000.., time 1s");
    let ran = r["seeds_run"].as_u64().unwrap();
    let slowest = r["slowest"]["seed"].as_u64().unwrap();
    assert!((7000..7000 + ran).contains(&slowest), "{r}");
    let next = format!(
        "the next was {}: --seeds {}.. goes on",
        7000 + ran,
        7000 + ran
    );
    assert!(text(&o.stderr).contains(&next), "{}", text(&o.stderr));

    let o = run("0..100000000");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let ran = json(&report)["seeds_run"].as_u64().unwrap();
    let cut =
        format!("after {ran} seeds of 100000000; the next was {ran}: --seeds {ran}..100000000");
    assert!(text(&o.stderr).contains(&cut), "{}", text(&o.stderr));
}

#[test]
fn a_campaign_stops_starting_seeds_once_it_has_failed_enough() {
    // Proves --max-failures stops a campaign at its Nth failure, give or
    // take the seeds already started (two a job); that what ran is still
    // the first seeds of the range, each failure with its repro file; that
    // it says where to go on; and that a campaign that never fails that
    // often runs every seed and says nothing of it.
    let scratch = scratch("max-failures");
    let dir = scratch.path();
    let report = dir.join("report.json");
    let report_arg = report.to_str().unwrap();
    // lock-none breaks every seed of the default.
    let o = fuzz(
        dir,
        &[
            "--seeds",
            "0..1000",
            "--defect",
            "lock-none",
            "--max-failures",
            "3",
            "--jobs",
            "2",
            "--report",
            report_arg,
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = json(&report);
    assert_eq!(r["seeds"], "0..1000, max failures 3");
    assert_eq!(r["interrupted"], false);
    let ran = r["seeds_run"].as_u64().unwrap();
    assert!(
        (3..=6).contains(&ran),
        "3 failures and three more seeds started at most (two a job): {r}"
    );
    let failed: Vec<u64> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, (0..ran).collect::<Vec<_>>());
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "report.json")
        .count();
    assert_eq!(files as u64, ran, "one repro file per failure");
    let next = format!(
        "--max-failures 3 reached after {ran} seeds of 1000; the next was {ran}: --seeds {ran}..1000 goes on from there"
    );
    assert!(text(&o.stderr).contains(&next), "{}", text(&o.stderr));

    let o = fuzz(
        dir,
        &[
            "--seeds",
            "0..20",
            "--max-failures",
            "1",
            "--report",
            report_arg,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(json(&report)["seeds_run"], 20);
    assert!(!text(&o.stderr).contains("reached"), "{}", text(&o.stderr));
}

#[test]
fn a_campaign_says_what_its_seeds_exercised() {
    // Proves the report counts how settlements ended (every one of a held
    // campaign completed, refunded or failed before a burn) and which faults
    // struck; and that a scenario whose fault window is empty is seen to
    // have injected none, though it holds just the same.
    let scratch = scratch("coverage");
    let dir = scratch.path();
    let campaign = |name: &str, sim: Option<&Path>| {
        let report = dir.join(name);
        let mut args = vec!["--seeds", "0..20", "--jobs", "1"];
        if let Some(sim) = sim {
            args.extend_from_slice(&["--sim", sim.to_str().unwrap()]);
        }
        args.extend_from_slice(&["--report", report.to_str().unwrap()]);
        let o = fuzz(&dir.join("corpus"), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        (text(&o.stdout), json(&report))
    };
    let (stdout, faulty) = campaign("default.json", None);
    let c = &faulty["coverage"];
    let count = |c: &serde_json::Value, key: &str| c[key].as_u64().unwrap();
    assert_eq!(
        count(c, "completed") + count(c, "refunded") + count(c, "failed"),
        faulty["settlements"].as_u64().unwrap()
    );
    for kind in ["crashes", "partitions", "reorgs", "messages_lost"] {
        assert!(count(c, kind) > 0, "no {kind} in 20 seeds of the default");
    }
    assert!(stdout.contains(&format!(
        "  outcomes   {} completed,",
        count(c, "completed")
    )));
    assert!(stdout.contains(&format!("  faults     {} crashes,", count(c, "crashes"))));

    let mut calm: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sims/default.json"))
            .unwrap(),
    )
    .unwrap();
    calm["limits"]["fault_window_us"] = 0.into();
    let calm_path = dir.join("calm.json");
    std::fs::write(&calm_path, calm.to_string()).unwrap();
    let (_, calm) = campaign("calm.json", Some(&calm_path));
    let c = &calm["coverage"];
    for kind in [
        "crashes",
        "pauses",
        "partitions",
        "clock_jumps",
        "halts",
        "reorgs",
        "mint_pauses",
    ] {
        assert_eq!(count(c, kind), 0, "{kind} with no fault window");
    }
    assert!(count(c, "completed") > 0);
}

#[test]
fn determinism_self_check_passes_on_a_correct_build() {
    // Proves --check-determinism re-runs seeds, finds them equal and says
    // how many it re-ran; without it, nothing is re-run.
    let scratch = scratch("determinism");
    let dir = scratch.path();
    let o = fuzz(dir, &["--seeds", "0..10", "--check-determinism", "100"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("held             10"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("re-run           10  to compare digests: every digest the same"),
        "{}",
        text(&o.stdout)
    );
    let o = fuzz(dir, &["--seeds", "0..10"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(!text(&o.stdout).contains("re-run"), "{}", text(&o.stdout));
    // A range the percentage picks no seed of is said, not passed over.
    let o = fuzz(dir, &["--seeds", "17..20", "--check-determinism", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("re-ran none of these seeds"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn bad_campaign_input_is_one_line_and_exit_2() {
    // Proves nonsense ranges, shards, defects, times, seed time limits,
    // failure counts and repro files are refused, and a range with no end unless a time ends
    // it.
    for args in [
        vec!["fuzz", "--seeds", "9..3"],
        vec!["fuzz", "--shard", "3/2"],
        vec!["fuzz", "--defect", "no-such-bug"],
        vec!["fuzz", "--jobs", "0"],
        vec!["fuzz", "--check-determinism", "101"],
        vec!["fuzz", "--time", "10x"],
        vec!["fuzz", "--time", "0m"],
        vec!["fuzz", "--seed-timeout", "0"],
        vec!["fuzz", "--seed-timeout", "forever"],
        vec!["fuzz", "--max-failures", "0"],
        vec!["fuzz", "--max-failures", "many"],
        vec!["fuzz", "--seeds", "5000.."],
        vec!["replay", "/no/such/repro.json"],
    ] {
        let o = settlesim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(!text(&o.stderr).contains("panicked"), "{args:?}");
    }
}

#[test]
fn outputs_that_cannot_be_written_are_refused_before_any_seed_runs() {
    // Proves a corpus that is a file and a report with no folder (or that is
    // a folder) stop the campaign at once with one line naming the path, not
    // after its seeds ran; and that a corpus not made yet is fine and made
    // only when a repro file needs it.
    let scratch = scratch("outputs");
    let dir = scratch.path();
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let missing = dir.join("missing").join("report.json");
    for (flag, path) in [
        ("--corpus", &file),
        ("--corpus", &file.join("below")),
        ("--report", &missing),
        ("--report", &dir.to_path_buf()),
    ] {
        let path = path.to_str().unwrap();
        let o = settlesim(&["fuzz", "--seeds", "0..2", flag, path]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {path}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(path), "{err}");
        assert!(o.stdout.is_empty(), "a seed ran: {}", text(&o.stdout));
    }

    let corpus = dir.join("not").join("yet");
    let corpus = corpus.to_str().unwrap();
    let o = settlesim(&["fuzz", "--seeds", "0..2", "--corpus", corpus]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        !dir.join("not").exists(),
        "a clean campaign made its corpus"
    );
    let o = fuzz(
        Path::new(corpus),
        &["--seeds", "0..1", "--defect", "lock-none"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_dir(corpus).unwrap().count(), 1);
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "the checks left files behind: {left:?}");
}

#[test]
fn the_detection_matrix_finds_every_defect_and_marks_one_it_missed() {
    // Proves `defects --hunt` finds each planted defect under its own
    // invariant and runs the clean seeds, keeping the failures it hunts for
    // off stderr; and that a defect not found in the range is marked and
    // fails the matrix (one seed is too few for `no-fencing`).
    // (`expiry-by-newest-clock` first breaks seed 819 of `pile-up`.)
    let o = settlesim(&[
        "defects",
        "--hunt",
        "--seeds",
        "0..1000",
        "--clean-seeds",
        "40",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for d in settlesim::engine::Defect::ALL {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{} ", d.name())))
            .unwrap_or_else(|| panic!("no row for {}: {out}", d.name()));
        assert!(
            row.contains(" yes ") && row.contains(d.expected_invariant()),
            "{row}"
        );
        // A defect hunted off the default says where.
        let elsewhere = format!("(on {}: its home scenario)", d.home_scenario().name());
        assert_eq!(
            row.ends_with(&elsewhere),
            d.home_scenario() != settlesim::engine::HomeScenario::Default,
            "{row}"
        );
    }
    assert!(out.contains("clean") && out.contains(" 40 "), "{out}");
    assert!(!text(&o.stderr).contains("FAIL"), "{}", text(&o.stderr));

    let o = settlesim(&["defects", "--hunt", "--seeds", "0..1", "--clean-seeds", "1"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let row = out.lines().find(|l| l.starts_with("no-fencing ")).unwrap();
    assert!(row.contains(" NO ") && row.ends_with('✗'), "{row}");
}

#[test]
fn an_interrupted_matrix_says_it_is_incomplete_instead_of_failing_rows() {
    // Proves Ctrl-C stops the detection matrix with exit 1 and a line
    // saying it is incomplete, not with defects marked unfound or clean seeds
    // marked failed that were only cut short. Every defect is found within
    // 0..400 (`lease-from-reply` last, at seed 299), so a row marked unfound
    // could only be one the signal cut short.
    let o = interrupted_after_a_while(&[
        "defects",
        "--hunt",
        "--seeds",
        "0..400",
        "--clean-seeds",
        "1000000",
        "--jobs",
        "1",
    ]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("the matrix is incomplete"), "{err}");
    assert!(!out.contains(" NO ") && !out.contains("FAILED"), "{out}");
}

#[test]
fn defects_lists_the_catalog() {
    // Proves `settlesim defects` names every defect with its invariant, and
    // where one not hunted on the default is hunted.
    use settlesim::engine::HomeScenario;
    let o = settlesim(&["defects"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    for d in settlesim::engine::Defect::ALL {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{} ", d.name())))
            .unwrap_or_else(|| panic!("no row for {}: {out}", d.name()));
        assert!(row.contains(d.expected_invariant()), "{row}");
        let home = format!("(hunted on {})", d.home_scenario().name());
        assert_eq!(
            row.ends_with(&home),
            d.home_scenario() != HomeScenario::Default,
            "{row}"
        );
    }
}
