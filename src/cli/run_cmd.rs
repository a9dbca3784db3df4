//! `settlesim run`: one seed, one verdict.

use super::args::RunArgs;
use super::CliError;
use crate::engine::Defects;
use crate::scenario::Scenario;
use crate::sim::{KernelFault, Micros, Trace};
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

/// The exact command that reproduces a run.
pub fn repro_command(seed: u64, sim: Option<&Path>, defects: Defects) -> String {
    let mut cmd = format!("settlesim run --seed {seed}");
    if let Some(sim) = sim {
        cmd.push_str(&format!(" --sim {}", sim.display()));
    }
    for d in defects.list() {
        cmd.push_str(&format!(" --defect {d}"));
    }
    cmd
}

pub fn execute(args: RunArgs) -> Result<i32, CliError> {
    let scenario = load_scenario(args.sim.as_deref())?;
    let trace = match &args.trace {
        Some(path) => {
            let file = File::create(path).map_err(|e| {
                CliError::bad_input(format!("{}: cannot create trace: {e}", path.display()))
            })?;
            Some(Trace::new(Box::new(file)))
        }
        None => None,
    };
    let defects = Defects::of(&args.defects);
    let output = run(
        args.seed,
        &scenario,
        RunOptions {
            trace,
            plan: None,
            defects,
        },
    );
    if let (Some(trace), Some(path)) = (output.trace, &args.trace) {
        trace.finish().map_err(|e| {
            CliError::bad_input(format!("{}: writing trace failed: {e}", path.display()))
        })?;
    }
    let report = output.report;
    let repro = repro_command(args.seed, args.sim.as_deref(), defects);
    if args.json {
        let mut value = serde_json::to_value(&report).expect("reports serialise");
        value["repro"] = repro.into();
        println!("{value}");
    } else {
        print_human(&scenario, &report, &repro, defects);
    }
    Ok(report.verdict.exit_code())
}

fn print_human(scenario: &Scenario, report: &RunReport, repro: &str, defects: Defects) {
    println!(
        "settlesim run: seed {}, scenario {} ({} chains, {} clients, {} workers, {} requests)",
        report.seed,
        scenario.name,
        scenario.chains.len(),
        scenario.engine.clients,
        scenario.engine.workers,
        scenario.total_requests(),
    );
    if !defects.list().is_empty() {
        let names: Vec<&str> = defects.list().iter().map(|d| d.name()).collect();
        println!("planted defects: {}", names.join(", "));
    }
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

fn describe_plan(report: &RunReport) -> String {
    if report.fault_plan.faults.is_empty() {
        return "no kernel faults".into();
    }
    let parts: Vec<String> = report
        .fault_plan
        .faults
        .iter()
        .map(|f| match &f.fault {
            KernelFault::Partition {
                partition,
                duration_us,
            } => format!(
                "{} partition of {} node(s) at {} for {}",
                if partition.one_way {
                    "one-way"
                } else {
                    "two-way"
                },
                partition.side_a.len(),
                f.at_us,
                duration_us
            ),
            KernelFault::Crash { node, down_us } => {
                format!("crash {node} at {} for {down_us}", f.at_us)
            }
            KernelFault::Pause { node, duration_us } => {
                format!("pause {node} at {} for {duration_us}", f.at_us)
            }
            KernelFault::ClockJump { node, by_us } => {
                format!("clock jump {node} by {by_us}µs at {}", f.at_us)
            }
        })
        .collect();
    parts.join("; ")
}
