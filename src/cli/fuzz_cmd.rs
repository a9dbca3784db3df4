//! `settlesim fuzz`: a campaign over many seeds.

use super::args::FuzzArgs;
use super::progress::Progress;
use super::run_cmd::{load_scenario, options_of, repro_command};
use super::wall_time::WallTime;
use super::writable;
use super::CliError;
use crate::campaign::seed_process::{SeedProcesses, DEFAULT_CPU_LIMIT};
use crate::campaign::{
    run_campaign, Campaign, CampaignReport, SeedPlan, SeedRange, SeedSpan, Shard, World,
};
use crate::sim::Micros;
use crate::world::Verdict;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The seeds a campaign runs when neither `--seeds` nor `--time` is given.
pub const DEFAULT_SEEDS: SeedRange = SeedRange {
    start: 0,
    end: 1000,
};

/// `--jobs`, or every core.
pub fn jobs_or_all(jobs: Option<usize>) -> Result<usize, CliError> {
    match jobs {
        Some(0) => Err(CliError::bad_input("--jobs must be at least 1")),
        Some(j) => Ok(j),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// How a campaign runs its seeds: in child processes of this binary, so
/// that a panicking seed costs its child, not the campaign, each killed
/// once it has spent `cpu_limit` on one seed (`campaign::seed_process`).
/// Where the system offers it, the running binary itself rather than the
/// file it came from: a rebuild during a long campaign replaces the file,
/// and a child of another build would run other runs under the same seeds.
pub fn seed_processes(cpu_limit: Duration) -> Result<SeedProcesses, CliError> {
    let running = Path::new("/proc/self/exe");
    let exe = if running.exists() {
        running.to_path_buf()
    } else {
        std::env::current_exe().map_err(|e| CliError {
            code: 1,
            message: format!("cannot find this program's own file to run seeds in: {e}"),
        })?
    };
    Ok(SeedProcesses { exe, cpu_limit })
}

/// A stop flag set by Ctrl-C or SIGTERM. A second signal is not caught and
/// kills the process as usual.
pub fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}

pub fn execute(args: FuzzArgs) -> Result<i32, CliError> {
    let scenario = load_scenario(args.world.sim.as_deref())?;
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let (seeds, seeds_label) = match (args.seeds, args.time) {
        (Some(SeedSpan { end: None, .. }), None) => {
            return Err(CliError::bad_input(
                "--seeds A.. has no end: give --time too, or a range A..B",
            ))
        }
        (Some(seeds), Some(time)) => (seeds, format!("{seeds}, time {time}")),
        (Some(seeds), None) => (seeds, seeds.to_string()),
        // Labelled as reports have always named a campaign of --time alone.
        (None, Some(time)) => (
            SeedSpan {
                start: 0,
                end: None,
            },
            format!("time {time}"),
        ),
        (None, None) => (DEFAULT_SEEDS.into(), DEFAULT_SEEDS.to_string()),
    };
    let seeds_label = match args.max_failures {
        Some(0) => return Err(CliError::bad_input("--max-failures must be at least 1")),
        Some(n) => format!("{seeds_label}, max failures {n}"),
        None => seeds_label,
    };
    let plan = SeedPlan {
        start: seeds.start,
        end: seeds.end,
        shard,
    };
    if args.check_determinism > 100 {
        return Err(CliError::bad_input(
            "--check-determinism takes a percentage from 0 to 100",
        ));
    }
    let jobs = jobs_or_all(args.jobs)?;
    writable::check_dir(&args.corpus, "save repro files")?;
    if let Some(report) = &args.report {
        writable::check_file(report, "write the report")?;
    }
    let options = options_of(&args.world);
    let world = args.world;
    let campaign = Campaign {
        world: World {
            scenario,
            defects: options.defects.list(),
            swarm: options.swarm,
            vary: options.vary,
            check_determinism: args.check_determinism,
        },
        plan,
        time_budget: args.time.map(WallTime::duration),
        max_failures: args.max_failures,
        jobs,
        corpus: Some(args.corpus),
        seeds_label,
        repro: Box::new(move |seed| repro_command(seed, &world)),
        seed_process: Some(seed_processes(
            args.seed_timeout
                .map_or(DEFAULT_CPU_LIMIT, WallTime::duration),
        )?),
    };
    let stop = stop_flag();
    eprintln!(
        "settlesim fuzz: scenario {}{}, seeds {}, shard {}, {}, swarm {}",
        campaign.world.scenario.name,
        if campaign.world.vary {
            " varied seed by seed"
        } else {
            ""
        },
        campaign.seeds_label,
        shard,
        jobs_text(jobs),
        if campaign.world.swarm { "on" } else { "off" }
    );
    let mut progress = Progress::new("fuzz", plan.count(), args.time);
    let report = run_campaign(&campaign, &stop, &mut |tally, failure| {
        progress.update(tally, failure)
    });
    progress.finish();
    print_table(&report, Some(jobs));
    if plan.count() == Some(0) {
        // Not an error: a CI matrix of more shards than seeds leaves some empty.
        eprintln!(
            "note: shard {shard} of seeds {} holds no seed: nothing was run",
            campaign.seeds_label
        );
    } else if campaign.world.check_determinism > 0 && report.rechecked == 0 && !report.interrupted {
        eprintln!(
            "note: --check-determinism {} re-ran none of these seeds: it takes each seed whose \
             number modulo 100 is below {0}",
            campaign.world.check_determinism
        );
    }
    if let Some(why) = why_it_stopped_early(&report, args.max_failures, args.time) {
        note_where_it_stopped(&why, &plan, report.seeds_run);
    }
    if let Some(path) = &args.report {
        write_report(&report, path)?;
    }
    Ok(report.verdict().exit_code())
}

/// What may have ended a campaign before its last seed, other than Ctrl-C:
/// its failures, or else its time.
fn why_it_stopped_early(
    report: &CampaignReport,
    max_failures: Option<u64>,
    time: Option<WallTime>,
) -> Option<String> {
    if report.interrupted {
        return None;
    }
    match max_failures {
        Some(n) if report.failures.len() as u64 >= n => Some(format!("--max-failures {n} reached")),
        _ => time.map(|time| format!("--time {time} ran out")),
    }
}

/// Says which seed a campaign cut short (`why`: by `--time` or
/// `--max-failures`) stopped before, and on one machine, how to go on from
/// it: seeds are taken in order, so the ones run are the plan's first
/// `seeds_run`. Says nothing if every seed ran.
fn note_where_it_stopped(why: &str, plan: &SeedPlan, seeds_run: u64) {
    let Some(next) = plan.nth(seeds_run) else {
        return;
    };
    let of_all = plan.count().map_or(String::new(), |n| format!(" of {n}"));
    // A shard's seeds are not a range of their own, so only a whole
    // campaign can be taken up again with --seeds.
    let go_on = if plan.shard == Shard::WHOLE {
        let rest = SeedSpan {
            start: next,
            end: plan.end,
        };
        format!(": --seeds {rest} goes on from there")
    } else {
        String::new()
    };
    eprintln!("note: {why} after {seeds_run} seeds{of_all}; the next was {next}{go_on}");
}

/// Writes a campaign report as JSON.
pub fn write_report(report: &CampaignReport, path: &std::path::Path) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(report).expect("reports serialise");
    std::fs::write(path, json + "\n").map_err(|e| {
        CliError::bad_input(format!("{}: cannot write report: {e}", path.display()))
    })?;
    println!("report: {}", path.display());
    Ok(())
}

/// `1 job`, `2 jobs`.
fn jobs_text(jobs: usize) -> String {
    match jobs {
        1 => "1 job".to_string(),
        n => format!("{n} jobs"),
    }
}

/// The closing table; `jobs` is `None` for a merged report, whose shards
/// ran side by side on machines of their own.
pub fn print_table(r: &CampaignReport, jobs: Option<usize>) {
    let rate = r.seeds_run as f64 / r.wall_secs.max(1e-9);
    let on = match jobs {
        Some(jobs) => format!(" on {}", jobs_text(jobs)),
        None => format!(" over shards {}", r.shard),
    };
    println!(
        "campaign: {} seeds of {} in {:.1}s ({rate:.0} seeds/s{on}){}",
        r.seeds_run,
        r.scenario,
        r.wall_secs,
        if r.interrupted {
            " — interrupted, results kept"
        } else {
            ""
        }
    );
    if !r.defects.is_empty() {
        println!("  defects    {}", r.defects.join(", "));
    }
    println!("  held       {:>8}", r.held);
    println!("  failed     {:>8}", r.failures.len());
    for (name, n) in &r.by_invariant {
        println!("    {name:<32} {n:>6}");
    }
    if r.rechecked > 0 {
        let differed = r
            .failures
            .iter()
            .filter(|f| f.verdict == Verdict::Nondeterminism)
            .count();
        let outcome = match differed {
            0 => "every digest the same".to_string(),
            n => format!("{n} gave another digest"),
        };
        println!(
            "  re-run     {:>8}  to compare digests: {outcome}",
            r.rechecked
        );
    }
    if let Some(s) = r.slowest {
        println!("  slowest seed {} ({:.1} ms)", s.seed, s.wall_ms);
    }
    println!(
        "  covered    {} settlements, {} events, {:.0} s simulated",
        r.settlements,
        r.events,
        Micros(r.sim_time_us).as_secs_f64()
    );
    let c = &r.coverage;
    println!(
        "  outcomes   {} completed, {} refunded, {} failed before a burn",
        c.completed, c.refunded, c.failed
    );
    println!(
        "  faults     {} crashes, {} pauses, {} partitions, {} clock jumps; {} halts, {} reorgs, {} mint pauses; {} messages lost, {} receipts unheard, {} lagging reads",
        c.crashes, c.pauses, c.partitions, c.clock_jumps, c.halts, c.reorgs, c.mint_pauses, c.messages_lost, c.receipts_unheard, c.lagging_reads
    );
    for f in r.failures.iter().take(20) {
        let what = f.what();
        match &f.repro_file {
            Some(file) => println!(
                "  FAIL seed {:<8} {:<28} settlesim replay {file}",
                f.seed, what
            ),
            None => println!("  FAIL seed {:<8} {:<28} {}", f.seed, what, f.repro),
        }
    }
    if r.failures.len() > 20 {
        println!(
            "  … and {} more failures (see the JSON report)",
            r.failures.len() - 20
        );
    }
    if let Some(file) = r.failures.iter().find_map(|f| f.repro_file.as_ref()) {
        println!("  to cut a failure down to its fewest faults: settlesim shrink {file}");
    }
    println!("verdict: {}", r.verdict());
}
