//! `settlesim defects [--hunt]`: the catalog, and the detection matrix.

use super::args::{DefectsArgs, WorldArgs};
use super::fuzz_cmd::{jobs_or_all, seed_processes, stop_flag};
use super::progress::Progress;
use super::run_cmd::{load_scenario, repro_command};
use super::CliError;
use crate::campaign::seed_process::{SeedProcesses, DEFAULT_CPU_LIMIT};
use crate::campaign::{run_campaign, Campaign, SeedPlan, Shard, World};
use crate::engine::{Defect, Defects, HomeScenario};
use crate::scenario::Scenario;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn execute(args: DefectsArgs) -> Result<i32, CliError> {
    if !args.hunt {
        for d in Defect::ALL {
            let home = match d.home_scenario() {
                HomeScenario::Default => String::new(),
                home => format!(" (hunted on {})", home.name()),
            };
            println!(
                "{:<26} {:<30} {}{home}",
                d.name(),
                d.expected_invariant(),
                d.description()
            );
        }
        return Ok(0);
    }
    let asked = Target {
        scenario: load_scenario(args.sim.as_deref())?,
        sim: args.sim.clone(),
    };
    let pile_up = Target {
        scenario: Scenario::builtin(HomeScenario::PileUp),
        sim: Some(PathBuf::from("sims/pile-up.json")),
    };
    // Without --sim, each defect is hunted on its home scenario; with it,
    // every defect on the scenario asked for.
    let target_of = |defect: Defect| match (&args.sim, defect.home_scenario()) {
        (None, HomeScenario::PileUp) => &pile_up,
        _ => &asked,
    };
    let matrix = Matrix {
        jobs: jobs_or_all(args.jobs)?,
        seed_process: seed_processes(DEFAULT_CPU_LIMIT)?,
        interrupted: stop_flag(),
    };
    println!(
        "detection matrix: scenario {}, seeds {}, swarm on, {} jobs",
        asked.scenario.name, args.seeds, matrix.jobs
    );
    println!(
        "{:<26} {:<6} {:>8} {:>9}  {:<30} expected",
        "defect", "found", "seeds", "wall", "invariant named"
    );
    let mut all_good = true;
    for defect in Defect::ALL {
        let target = target_of(defect);
        let hunt = matrix.hunt(
            target,
            Defects::of(&[defect]),
            args.seeds.start,
            args.seeds.end,
            true,
        );
        if hunt.first_failing_seed.is_none() && matrix.interrupted() {
            return Ok(incomplete(&format!("hunting {}", defect.name())));
        }
        let named = hunt.invariant.clone().unwrap_or_else(|| "-".into());
        let good = hunt.first_failing_seed.is_some() && named == defect.expected_invariant();
        all_good &= good;
        let elsewhere = if target.scenario.name == asked.scenario.name {
            String::new()
        } else {
            format!("  (on {}: its home scenario)", target.scenario.name)
        };
        println!(
            "{:<26} {:<6} {:>8} {:>8.2}s  {:<30} {}{}{}",
            defect.name(),
            if hunt.first_failing_seed.is_some() {
                "yes"
            } else {
                "NO"
            },
            hunt.first_failing_seed
                .map_or("-".to_string(), |s| (s - args.seeds.start + 1).to_string()),
            hunt.wall.as_secs_f64(),
            named,
            defect.expected_invariant(),
            if good { "" } else { "  ✗" },
            elsewhere,
        );
    }
    let clean = matrix.hunt(
        &asked,
        Defects::NONE,
        args.seeds.start,
        args.seeds.start + args.clean_seeds,
        false,
    );
    let stopped = clean.failures == 0 && clean.seeds_run < args.clean_seeds;
    println!(
        "{:<26} {:<6} {:>8} {:>8.2}s  {}",
        "(none)",
        match (clean.failures, stopped) {
            (0, false) => "clean",
            (0, true) => "stopped",
            _ => "FAILED",
        },
        clean.seeds_run,
        clean.wall.as_secs_f64(),
        if clean.failures == 0 {
            "no violation".to_string()
        } else {
            format!("{} failing seeds", clean.failures)
        }
    );
    if stopped {
        return Ok(incomplete("running the clean seeds"));
    }
    Ok(if all_good && clean.failures == 0 {
        0
    } else {
        1
    })
}

/// Said when Ctrl-C stopped the matrix: what it was doing, and that an
/// incomplete matrix passes nothing (exit 1), so no row after it is printed
/// as a defect not found.
fn incomplete(doing: &str) -> i32 {
    eprintln!("interrupted while {doing}: the matrix is incomplete");
    1
}

/// What hunting one defect found.
struct Hunt {
    first_failing_seed: Option<u64>,
    invariant: Option<String>,
    wall: Duration,
    failures: u64,
    seeds_run: u64,
}

/// A scenario to hunt on.
struct Target {
    scenario: Scenario,
    /// The scenario's file, for repro commands (`None`: the built-in one).
    sim: Option<PathBuf>,
}

/// What every hunt of one matrix shares.
struct Matrix {
    jobs: usize,
    /// How every hunt runs its seeds.
    seed_process: SeedProcesses,
    /// Set by Ctrl-C: every hunt stops.
    interrupted: Arc<AtomicBool>,
}

impl Matrix {
    /// True once Ctrl-C or SIGTERM has asked every hunt to stop.
    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Runs seeds `start..end` with `defects` in order, showing its progress;
    /// with `stop_at_first`, stops at the first failure. The first failing
    /// seed is exact: every seed below it was started, and so finished,
    /// before the campaign returned.
    fn hunt(
        &self,
        target: &Target,
        defects: Defects,
        start: u64,
        end: u64,
        stop_at_first: bool,
    ) -> Hunt {
        let planted = defects.list();
        let label = match planted.first() {
            Some(defect) => format!("hunting {}", defect.name()),
            None => "clean seeds".to_string(),
        };
        let world = WorldArgs {
            sim: target.sim.clone(),
            defects: planted,
            no_swarm: false,
            vary: false,
        };
        let campaign = Campaign {
            world: World {
                scenario: target.scenario.clone(),
                defects: defects.list(),
                swarm: true,
                vary: false,
                check_determinism: 0,
            },
            plan: SeedPlan {
                start,
                end: Some(end),
                shard: Shard::WHOLE,
            },
            time_budget: None,
            max_failures: stop_at_first.then_some(1),
            jobs: self.jobs,
            corpus: None,
            seeds_label: format!("{start}.."),
            repro: Box::new(move |seed| repro_command(seed, &world)),
            seed_process: Some(self.seed_process.clone()),
        };
        let mut wall_to_first = None;
        let mut progress = Progress::new(&label, Some(end - start), None);
        let report = run_campaign(&campaign, &self.interrupted, &mut |tally, failure| {
            // A planted defect's failure is what its hunt looks for; a clean
            // seed's is news, printed as found with the command that repeats it.
            progress.update(tally, failure.filter(|_| !stop_at_first));
            if failure.is_some() && wall_to_first.is_none() {
                wall_to_first = Some(tally.elapsed);
            }
        });
        progress.finish();
        let first = report.failures.first();
        Hunt {
            first_failing_seed: first.map(|f| f.seed),
            invariant: first
                .and_then(|f| f.invariant)
                .map(|i| i.name().to_string()),
            wall: wall_to_first.unwrap_or(Duration::from_secs_f64(report.wall_secs)),
            failures: report.failures.len() as u64,
            seeds_run: report.seeds_run,
        }
    }
}
