//! Helpers shared by the integration tests.
#![allow(dead_code)]

use settlesim::engine::Settlement;
use settlesim::scenario::Scenario;
use settlesim::sim::Trace;
use settlesim::world::{run, RunOptions, RunReport, Simulation, Verdict};
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

/// An in-memory sink for a trace, readable after the run.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs one seed of the built-in default scenario.
pub fn run_default(seed: u64) -> RunReport {
    run(seed, &Scenario::builtin_default(), RunOptions::default()).report
}

/// Runs one seed of `scenario` as written and fails, naming the seed and
/// the first broken invariant, unless every invariant held.
pub fn run_holding(seed: u64, scenario: &Scenario) -> RunReport {
    let report = run(seed, scenario, RunOptions::default()).report;
    assert_eq!(
        report.verdict,
        Verdict::Held,
        "seed {seed}: {:?}",
        report.violations.first()
    );
    report
}

/// Runs one seed and returns its report and its full trace.
pub fn run_traced(seed: u64, scenario: &Scenario) -> (RunReport, Vec<u8>) {
    let buf = SharedBuf::default();
    let options = RunOptions {
        trace: Some(Trace::new(Box::new(buf.clone()))),
        ..RunOptions::default()
    };
    let output = run(seed, scenario, options);
    output
        .trace
        .expect("trace kept")
        .finish()
        .expect("in-memory trace");
    let bytes = buf.0.borrow().clone();
    (output.report, bytes)
}

/// Loads a scenario from `sims/`.
pub fn sim(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sims")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs seed `seed` of `sims/soak.json` varied (as `fuzz --vary` does), swarm
/// or as written: the settings the liveness bugs of a long run showed under.
pub fn soak_varied(seed: u64, swarm: bool) -> RunReport {
    let options = RunOptions {
        swarm,
        vary: true,
        ..RunOptions::default()
    };
    run(seed, &sim("soak.json"), options).report
}

/// The built-in default scenario with `edit` applied to its JSON.
pub fn default_with(edit: impl FnOnce(&mut serde_json::Value)) -> Scenario {
    let mut v: serde_json::Value =
        serde_json::from_str(settlesim::scenario::DEFAULT_SCENARIO).unwrap();
    edit(&mut v);
    Scenario::from_json(&v.to_string(), "edited default").unwrap_or_else(|e| panic!("{e}"))
}

/// Turns off every drawn fault of a scenario's JSON: a quiet world for
/// scripts, which inject the faults they are about.
pub fn quiet(v: &mut serde_json::Value) {
    let f = &mut v["faults"];
    for key in ["drop", "duplicate", "reorder", "lost_response"] {
        f["network"][key] = "0/1".into();
    }
    for kind in ["partitions", "crashes", "pauses"] {
        f[kind]["count_max"] = 0.into();
    }
    f["clocks"]["jump_count_max"] = 0.into();
    for key in ["sync_fail", "torn_write", "corrupt_sector"] {
        f["disk"][key] = "0/1".into();
    }
    for key in ["halt_count_max", "reorg_count_max", "mint_pause_count_max"] {
        f["chains"][key] = 0.into();
    }
    for key in [
        "mempool_drop",
        "mempool_stuck",
        "pending_unheard",
        "lagging_reads",
    ] {
        f["chains"][key] = "0/1".into();
    }
}

/// A quiet world with one client sending `requests` plain requests (no
/// duplicates, no reused keys, no oversized burns) to `workers` workers;
/// `edit` adjusts the rest.
pub fn scripted(
    requests: u32,
    workers: u32,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Scenario {
    default_with(|v| {
        quiet(v);
        v["engine"]["clients"] = 1.into();
        v["engine"]["workers"] = workers.into();
        v["workload"]["requests_per_client"] = requests.into();
        v["workload"]["resubmit"] = "0/1".into();
        v["workload"]["conflicting"] = "0/1".into();
        v["workload"]["amount_max"] = 1_000_000_000.into();
        edit(v);
    })
}

/// Runs `seeds` of `scenario` with `defects`; returns the reports.
pub fn campaign(
    scenario: &Scenario,
    defects: &[settlesim::engine::Defect],
    seeds: std::ops::Range<u64>,
) -> Vec<RunReport> {
    let options = || RunOptions {
        defects: settlesim::engine::Defects::of(defects),
        ..RunOptions::default()
    };
    seeds
        .map(|seed| run(seed, scenario, options()).report)
        .collect()
}

/// Steps `sim` until its first settlement satisfies `reached`; false if the
/// run stopped first.
pub fn run_until_first(sim: &mut Simulation, reached: impl Fn(&Settlement) -> bool) -> bool {
    sim.run_until(|s| s.store().settlements().next().is_some_and(&reached))
}
