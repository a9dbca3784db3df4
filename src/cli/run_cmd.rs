//! `settlesim run`: one seed, one verdict.

use super::args::{RunArgs, WorldArgs};
use super::CliError;
use crate::engine::Defects;
use crate::scenario::Scenario;
use crate::sim::{Micros, Trace};
use crate::world::{run, RunOptions, RunReport};
use std::fs::File;
use std::path::Path;

/// Loads the scenario named by `--sim`, or the built-in default.
pub fn load_scenario(sim: Option<&Path>) -> Result<Scenario, CliError> {
    match sim {
        Some(path) => Scenario::load(path).map_err(|e| CliError::bad_input(e.0)),
        None => Ok(Scenario::builtin_default()),
    }
}

/// The run options `--defect`, `--no-swarm` and `--vary` ask for.
pub fn options_of(world: &WorldArgs) -> RunOptions {
    RunOptions {
        defects: Defects::of(&world.defects),
        swarm: !world.no_swarm,
        vary: world.vary,
        ..RunOptions::default()
    }
}

/// The exact command that reproduces one seed of a run or campaign.
pub fn repro_command(seed: u64, world: &WorldArgs) -> String {
    let mut cmd = format!("settlesim run --seed {seed}");
    if let Some(sim) = &world.sim {
        cmd.push_str(&format!(" --sim {}", sim.display()));
    }
    for d in Defects::of(&world.defects).list() {
        cmd.push_str(&format!(" --defect {d}"));
    }
    if world.no_swarm {
        cmd.push_str(" --no-swarm");
    }
    if world.vary {
        cmd.push_str(" --vary");
    }
    cmd
}

/// Opens a trace file for writing.
pub fn open_trace(path: &Path) -> Result<Trace, CliError> {
    let file = File::create(path).map_err(|e| {
        CliError::bad_input(format!("{}: cannot create trace: {e}", path.display()))
    })?;
    Ok(Trace::new(Box::new(file)))
}

/// Flushes a trace, turning a write error into one line.
pub fn close_trace(trace: Option<Trace>, path: Option<&Path>) -> Result<(), CliError> {
    if let (Some(trace), Some(path)) = (trace, path) {
        trace.finish().map_err(|e| {
            CliError::bad_input(format!("{}: writing trace failed: {e}", path.display()))
        })?;
    }
    Ok(())
}

pub fn execute(args: RunArgs) -> Result<i32, CliError> {
    let scenario = load_scenario(args.world.sim.as_deref())?;
    let mut options = options_of(&args.world);
    options.trace = args.trace.as_deref().map(open_trace).transpose()?;
    let defects = options.defects;
    let output = run(args.seed, &scenario, options);
    close_trace(output.trace, args.trace.as_deref())?;
    let report = output.report;
    let repro = repro_command(args.seed, &args.world);
    if args.json {
        let mut value = serde_json::to_value(&report).expect("reports serialise");
        value["repro"] = repro.into();
        println!("{value}");
    } else {
        print_human(&scenario, &report, &repro, defects);
    }
    Ok(report.verdict.exit_code())
}

/// The human report of one run.
pub fn print_human(scenario: &Scenario, report: &RunReport, repro: &str, defects: Defects) {
    match &report.varied {
        Some(settings) => {
            println!(
                "settlesim run: seed {}, scenario {} as the seed varied it",
                report.seed, scenario.name
            );
            println!("settings: {settings}");
        }
        None => println!(
            "settlesim run: seed {}, scenario {} ({} chains, {} clients, {} workers, {} requests)",
            report.seed,
            scenario.name,
            scenario.chains.len(),
            scenario.engine.clients,
            scenario.engine.workers,
            scenario.total_requests(),
        ),
    }
    let planted = defects.list();
    if !planted.is_empty() {
        println!(
            "planted defects: {}",
            crate::engine::defects::names(&planted, ", ")
        );
    }
    println!("faults: {}", report.faults);
    println!("fault plan: {}", describe_plan(report));
    println!(
        "ran {} events over {} simulated; {} messages, {} lost; {} crashes; stopped: {:?}",
        report.events,
        Micros(report.sim_time_us),
        report.messages_sent,
        report.messages_lost,
        report.crashes,
        report.stop,
    );
    println!("summary:\n{}", report.summary);
    for v in &report.violations {
        println!("VIOLATION {v}");
    }
    if !report.violations.is_empty() {
        println!("reproduce: {repro}");
    }
    println!("verdict: {}", report.verdict);
    println!("digest: {}", report.digest);
}

/// The most faults the human report names one by one.
const LISTED_FAULTS: usize = 12;

/// The fault plan in one line: the faults that struck, the latest
/// [`LISTED_FAULTS`] by name (those nearest where the run stopped, so
/// nearest a violation) and the earlier ones counted, then how many were
/// planned after the run stopped and never struck. A `soak` seed plans 50
/// to 160; `--json` lists every one.
pub(super) fn describe_plan(report: &RunReport) -> String {
    let faults = &report.fault_plan.faults;
    if faults.is_empty() {
        return "no planned faults".into();
    }
    let end = Micros(report.sim_time_us);
    let struck: Vec<_> = faults.iter().filter(|f| f.at_us <= end).collect();
    if struck.is_empty() {
        return format!("{} planned, none before the run stopped", faults.len());
    }
    let earlier = struck.len().saturating_sub(LISTED_FAULTS);
    let named: Vec<String> = struck[earlier..].iter().map(|f| f.to_string()).collect();
    let mut line = named.join("; ");
    if earlier > 0 {
        line = format!("{earlier} earlier faults, then {line}");
    }
    let after = faults.len() - struck.len();
    if after > 0 {
        line += &format!("; {after} more planned after the run stopped");
    }
    line
}
