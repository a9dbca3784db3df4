//! The command line's contract: output shape, exit codes, and one clear line
//! for bad input.

use std::process::{Command, Output};

fn settlesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_settlesim"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file holding `contents` in a directory removed when the returned
/// guard drops, so keep the guard for as long as the file is used.
fn temp_file(name: &str, contents: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("settlesim-cli-")
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

#[test]
fn run_prints_summary_verdict_and_a_stable_digest() {
    // Proves `run` ends with the summary, the verdict and a 16-hex digest
    // that repeats for the same seed and differs for another.
    let a = settlesim(&["run", "--seed", "1"]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let out = stdout(&a);
    assert!(
        out.contains("summary:") && out.contains("completed"),
        "{out}"
    );
    assert!(out.contains("verdict: held"), "{out}");
    let digest = out.lines().last().unwrap();
    assert!(
        digest.starts_with("digest: ") && digest.len() == "digest: ".len() + 16,
        "{digest}"
    );
    assert_eq!(
        stdout(&settlesim(&["run", "--seed", "1"]))
            .lines()
            .last()
            .unwrap(),
        digest
    );
    assert_ne!(
        stdout(&settlesim(&["run", "--seed", "2"]))
            .lines()
            .last()
            .unwrap(),
        digest
    );
}

#[test]
fn run_json_has_the_promised_fields() {
    // Proves --json prints one object with the documented keys.
    let o = settlesim(&["run", "--seed", "3", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    for key in [
        "seed",
        "digest",
        "verdict",
        "violations",
        "summary",
        "events",
        "sim_time_us",
        "repro",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seed"], 3);
    assert_eq!(v["verdict"], "held");
    for key in [
        "requested",
        "burned",
        "minted",
        "refunded",
        "lost",
        "duplicated",
        "unexpected",
    ] {
        assert!(v["summary"].get(key).is_some(), "summary lacks {key}");
    }
}

#[test]
fn a_long_fault_plan_names_the_faults_nearest_the_stop_and_counts_the_rest() {
    // Proves the human report keeps a plan of a hundred faults to one
    // readable line: soak's seed 0 with a lease service that grants without
    // an end stops at 865 s; the line names the twelve faults last before
    // that, counts the earlier ones and those planned after the stop, and
    // the three add up to the plan the JSON report lists.
    let args = [
        "run",
        "--sim",
        "sims/soak.json",
        "--seed",
        "0",
        "--defect",
        "lock-no-ttl",
    ];
    let human = stdout(&settlesim(&args));
    let line = human
        .lines()
        .find_map(|l| l.strip_prefix("fault plan: "))
        .expect("a fault plan line");
    let (earlier, rest) = line
        .split_once(" earlier faults, then ")
        .expect("earlier faults counted");
    let (named, after) = rest.rsplit_once("; ").expect("faults after the stop");
    let after = after
        .strip_suffix(" more planned after the run stopped")
        .expect("faults after the stop counted");
    assert_eq!(named.split("; ").count(), 12, "{line}");
    let json = stdout(&settlesim(&[&args[..], &["--json"]].concat()));
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    let planned = v["fault_plan"]["faults"].as_array().unwrap().len();
    let counted: usize = earlier.parse::<usize>().unwrap() + 12 + after.parse::<usize>().unwrap();
    assert_eq!(counted, planned, "{line}");
}

#[test]
fn run_writes_a_json_lines_trace() {
    // Proves --trace writes one JSON object per event.
    let (_dir, path) = temp_file("trace.jsonl", "");
    let o = settlesim(&[
        "run",
        "--seed",
        "4",
        "--json",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let events = serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).unwrap()["events"]
        .as_u64()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count() as u64, events);
    for line in text.lines().take(50) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.get("t_us").is_some() && v.get("node").is_some());
    }
}

#[test]
fn unknown_scenario_field_is_one_line_and_exit_2() {
    // Proves a typo in a scenario is named, on one line, with exit code 2.
    let mut v: serde_json::Value =
        serde_json::from_str(settlesim::scenario::DEFAULT_SCENARIO).unwrap();
    v["limits"]["heal_seconds"] = 5.into();
    let (_dir, path) = temp_file("typo.json", &v.to_string());
    let o = settlesim(&["run", "--seed", "1", "--sim", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unknown field `heal_seconds`"), "{err}");
}

#[test]
fn senseless_value_missing_file_and_bad_flag_exit_2() {
    // Proves each kind of bad input gets exit code 2 and no panic.
    let mut v: serde_json::Value =
        serde_json::from_str(settlesim::scenario::DEFAULT_SCENARIO).unwrap();
    v["engine"]["workers"] = 0.into();
    let (_dir, path) = temp_file("zero.json", &v.to_string());
    let o = settlesim(&["run", "--seed", "1", "--sim", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("engine.workers"), "{}", stderr(&o));

    let o = settlesim(&["run", "--seed", "1", "--sim", "/no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));

    let o = settlesim(&["run", "--seed", "minus-one"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bench_prints_figures_for_the_full_flow() {
    // Proves `bench` runs the full flow at the asked size and reports its
    // figures, the bare heap's and the kernel's alone beside them (no timing
    // is asserted: a test proves behaviour).
    let o = settlesim(&["bench", "--settlements", "200", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["settlements"], 200);
    for key in [
        "events",
        "wall_s",
        "settlements_per_s",
        "events_per_s",
        "bare_heap_events_per_s",
        "events_vs_bare_heap",
        "kernel_events_per_s",
        "kernel_vs_bare_heap",
    ] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    assert!(v.get("census").is_none(), "a census only when asked: {v}");
    assert!(
        v.get("queue_depth").is_none(),
        "a depth only when asked: {v}"
    );
    let o = settlesim(&["bench", "--settlements", "200", "--json", "--census"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let counted: u64 = v["census"]
        .as_array()
        .expect("a census")
        .iter()
        .map(|line| line["events"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(counted), v["events"].as_u64());
    let (mean, peak) = (&v["queue_depth"]["mean"], &v["queue_depth"]["peak"]);
    assert!(
        mean.as_f64()
            .is_some_and(|m| m >= 1.0 && m <= peak.as_f64().unwrap()),
        "a queue depth with the census: {v}"
    );
    let o = settlesim(&["bench", "--settlements", "100", "--json", "--runs", "3"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["runs"], 3);
    // Each ratio is the median of three taken run by run, inside their range.
    for ratio in ["events_vs_bare_heap", "kernel_vs_bare_heap"] {
        let range = &v[format!("{ratio}_range")];
        let (low, high) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
        let median = v[ratio].as_f64().unwrap();
        assert!(0.0 < low && low <= median && median <= high, "{ratio}: {v}");
    }
    // The figures name the machine they were taken on, where Linux says.
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if cpuinfo.contains("model name") {
        assert!(v["machine"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // What it is timing is shown on a terminal only, never in a log.
    assert_eq!(stderr(&o), "", "no status off a terminal");
    for bad in [["--settlements", "0"], ["--runs", "0"]] {
        let o = settlesim(&["bench", bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&o).contains(bad[0]), "{}", stderr(&o));
    }
}
