//! Runs the seeds of a campaign on J OS threads, each job's seeds in a child
//! process of its own where the campaign names a binary to run them in
//! ([`super::seed_process`]). Each run is single-threaded and deterministic;
//! threads only decide which seed runs where, and results are put back in
//! seed order, so the report does not depend on scheduling.
//!
//! This and `seed_run.rs` are the places outside the CLI that read the wall
//! clock (for the time budget, progress and the slowest seed): none of it
//! reaches a run.

use super::coverage::Coverage;
use super::report::{CampaignReport, SeedFailure, Slowest};
use super::repro::ReproFile;
use super::seed_process::{self, NoRun, SeedProcess, SeedProcesses};
use super::seed_run::{panic_message, SeedRun, World};
use super::seeds::SeedPlan;
use crate::world::{RunReport, Verdict};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A campaign, ready to run.
pub struct Campaign {
    /// What every seed runs: the scenario, defects, swarm, variation and
    /// how many seeds run twice.
    pub world: World,
    /// The seeds.
    pub plan: SeedPlan,
    /// Stop starting new seeds after this long (the `--time` mode).
    pub time_budget: Option<Duration>,
    /// Stop starting new seeds once this many have failed
    /// (`--max-failures`). Seeds already started still finish, and count.
    pub max_failures: Option<u64>,
    /// Jobs running seeds in parallel.
    pub jobs: usize,
    /// Where to save a repro file per failure; `None` saves nothing.
    pub corpus: Option<PathBuf>,
    /// How the seeds were asked for, for the report.
    pub seeds_label: String,
    /// Builds the reproduction command for a seed.
    pub repro: Box<dyn Fn(u64) -> String + Sync>,
    /// How to run seeds in child processes, one per job (see
    /// [`super::seed_process`]); `None` runs them on this process's threads,
    /// a panic caught where the build unwinds and no seed filed as hung.
    pub seed_process: Option<SeedProcesses>,
}

/// Where a campaign stands, for progress display.
#[derive(Clone, Copy, Debug)]
pub struct Tally {
    /// Seeds finished.
    pub done: u64,
    /// Seeds planned, if known.
    pub total: Option<u64>,
    /// Failing seeds so far.
    pub failures: u64,
    /// Wall time so far.
    pub elapsed: Duration,
}

/// One seed's result.
struct Finished {
    seed: u64,
    /// The run's report, or why there is none: it panicked, its process
    /// died or it hung (a broken assertion of the program itself, or a loop
    /// in it: a finding, never to be lost with the campaign).
    report: Result<RunReport, NoRun>,
    wall: Duration,
    /// Whether the seed was run a second time to compare digests.
    rechecked: bool,
    /// The digest of a second run that disagreed with the first.
    diverged: Option<String>,
}

impl Finished {
    /// Whether the seed failed: it panicked, broke an invariant or gave
    /// another digest when run again.
    fn failed(&self) -> bool {
        self.diverged.is_some() || !matches!(&self.report, Ok(r) if r.verdict == Verdict::Held)
    }
}

/// Where one job runs its seeds: on its own thread, or in a child process.
enum SeedRunner {
    InProcess {
        world: Box<World>,
        queued: Option<u64>,
    },
    Child(SeedProcess),
}

impl SeedRunner {
    fn for_campaign(campaign: &Campaign) -> SeedRunner {
        match &campaign.seed_process {
            None => SeedRunner::InProcess {
                world: Box::new(campaign.world.clone()),
                queued: None,
            },
            Some(how) => SeedRunner::Child(SeedProcess::new(how, &campaign.world)),
        }
    }

    /// Whether it has room for another seed before its next answer.
    fn has_room(&self) -> bool {
        match self {
            SeedRunner::InProcess { queued, .. } => queued.is_none(),
            SeedRunner::Child(process) => process.pending() < seed_process::DEPTH,
        }
    }

    fn submit(&mut self, seed: u64) {
        match self {
            SeedRunner::InProcess { queued, .. } => *queued = Some(seed),
            SeedRunner::Child(process) => process.submit(seed),
        }
    }

    /// The oldest seed submitted and its run, or why it has none; `None` if
    /// none is left.
    fn answer(&mut self) -> Option<(u64, Result<SeedRun, NoRun>)> {
        match self {
            SeedRunner::InProcess { world, queued } => {
                let seed = queued.take()?;
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world.run_seed(seed)))
                        .map_err(|p| {
                            NoRun::Died(format!("the run panicked: {}", panic_message(&*p)))
                        });
                Some((seed, outcome))
            }
            SeedRunner::Child(process) => process.answer(),
        }
    }
}

/// Runs the campaign until its seeds or its time run out, it has failed as
/// often as it may, or `stop` is set (Ctrl-C, SIGTERM). Calls `on_seed`
/// after every finished seed, with the failure if it failed; repro files are
/// written as failures arrive, so an interrupted campaign keeps every one it
/// found. Seeds are started in order and every seed started finishes, so
/// however the campaign ends, the seeds run are the plan's first ones.
#[allow(clippy::disallowed_methods)] // wall time for the budget and progress only
pub fn run_campaign(
    campaign: &Campaign,
    stop: &AtomicBool,
    on_seed: &mut dyn FnMut(&Tally, Option<&SeedFailure>),
) -> CampaignReport {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    // Counted where seeds run, not where results are filed (which saves
    // repro files and lags behind), so that no more seeds start once the
    // campaign has failed `max_failures` times. Apart from `stop`, so that
    // the report does not call the campaign interrupted.
    let failures = AtomicU64::new(0);
    let failed_enough = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Finished>();
    let mut finished: Vec<(Finished, Option<SeedFailure>)> = Vec::new();
    let mut tally = Tally {
        done: 0,
        total: campaign.plan.count(),
        failures: 0,
        elapsed: Duration::ZERO,
    };
    std::thread::scope(|scope| {
        for _ in 0..campaign.jobs.max(1) {
            let tx = tx.clone();
            let (next, failures, failed_enough) = (&next, &failures, &failed_enough);
            scope.spawn(move || {
                let mut runner = SeedRunner::for_campaign(campaign);
                loop {
                    while runner.has_room()
                        && !stop.load(Ordering::Relaxed)
                        && !failed_enough.load(Ordering::Relaxed)
                        && campaign
                            .time_budget
                            .is_none_or(|budget| started.elapsed() < budget)
                    {
                        let Some(seed) = campaign.plan.nth(next.fetch_add(1, Ordering::Relaxed))
                        else {
                            break;
                        };
                        runner.submit(seed);
                    }
                    let Some((seed, outcome)) = runner.answer() else {
                        break;
                    };
                    let finished = match outcome {
                        Ok(run) => Finished {
                            seed,
                            report: Ok(run.report),
                            wall: run.wall,
                            rechecked: run.rechecked,
                            diverged: run.diverged,
                        },
                        Err(why) => Finished {
                            seed,
                            report: Err(why),
                            wall: Duration::ZERO,
                            rechecked: false,
                            diverged: None,
                        },
                    };
                    if finished.failed()
                        && campaign
                            .max_failures
                            .is_some_and(|n| failures.fetch_add(1, Ordering::Relaxed) + 1 >= n)
                    {
                        failed_enough.store(true, Ordering::Relaxed);
                    }
                    if tx.send(finished).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for f in rx {
            tally.done += 1;
            tally.elapsed = started.elapsed();
            let failure = failure_of(&f, campaign);
            tally.failures += u64::from(failure.is_some());
            on_seed(&tally, failure.as_ref());
            finished.push((f, failure));
        }
    });
    let interrupted = stop.load(Ordering::Relaxed);
    summarize(campaign, finished, started.elapsed(), interrupted)
}

/// The failure a finished seed represents, with its repro file saved.
fn failure_of(f: &Finished, campaign: &Campaign) -> Option<SeedFailure> {
    let report = match &f.report {
        Ok(report) => report,
        Err(no_run) => {
            // A run that never ends fails as liveness does; one that breaks
            // the program itself, as safety does.
            let (verdict, detail) = match no_run {
                NoRun::Hung(why) => (Verdict::Liveness, why.clone()),
                NoRun::Died(why) => (Verdict::Safety, why.clone()),
            };
            return Some(SeedFailure {
                seed: f.seed,
                verdict,
                invariant: None,
                settlement: None,
                detail,
                digest: String::new(),
                repro: (campaign.repro)(f.seed),
                repro_file: None,
            });
        }
    };
    if !f.failed() {
        return None;
    }
    let (verdict, invariant, settlement, detail) = match &f.diverged {
        Some(again) => (
            Verdict::Nondeterminism,
            None,
            None,
            format!("the same seed gave digests {} and {again}", report.digest),
        ),
        None => {
            let first = report
                .violations
                .first()
                .expect("a failed run names a violation");
            (
                report.verdict,
                Some(first.invariant),
                first.settlement,
                first.detail.clone(),
            )
        }
    };
    let repro_file = campaign.corpus.as_ref().map(|dir| {
        let world = &campaign.world;
        let file = ReproFile::of(report, &world.scenario, &world.options());
        match file.save(dir) {
            Ok(path) => path.display().to_string(),
            Err(e) => format!("(not saved in {}: {e})", dir.display()),
        }
    });
    Some(SeedFailure {
        seed: report.seed,
        verdict,
        invariant,
        settlement,
        detail,
        digest: report.digest.clone(),
        repro: (campaign.repro)(report.seed),
        repro_file,
    })
}

fn summarize(
    campaign: &Campaign,
    mut finished: Vec<(Finished, Option<SeedFailure>)>,
    wall: Duration,
    interrupted: bool,
) -> CampaignReport {
    finished.sort_by_key(|(f, _)| f.seed);
    let mut failures = Vec::new();
    let mut by_invariant = BTreeMap::new();
    let mut slowest: Option<Slowest> = None;
    let (mut settlements, mut events, mut sim_time_us) = (0, 0, 0);
    let mut coverage = Coverage::default();
    let seeds_run = finished.len() as u64;
    let rechecked = finished.iter().filter(|(f, _)| f.rechecked).count() as u64;
    for (f, failure) in finished {
        if let Ok(r) = &f.report {
            settlements += r.summary.requested;
            events += r.events;
            sim_time_us += r.sim_time_us;
            coverage.add_run(r);
        }
        let wall_ms = f.wall.as_secs_f64() * 1e3;
        if slowest.is_none_or(|s| wall_ms > s.wall_ms) {
            slowest = Some(Slowest {
                seed: f.seed,
                wall_ms,
            });
        }
        if let Some(failure) = failure {
            let name = failure.what();
            *by_invariant.entry(name.to_string()).or_insert(0) += 1;
            failures.push(failure);
        }
    }
    CampaignReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: campaign.world.scenario.name.clone(),
        defects: campaign
            .world
            .defects
            .iter()
            .map(|d| d.name().to_string())
            .collect(),
        seeds: campaign.seeds_label.clone(),
        swarm: campaign.world.swarm,
        vary: campaign.world.vary,
        shard: campaign.plan.shard.to_string(),
        seeds_run,
        rechecked,
        held: seeds_run - failures.len() as u64,
        failures,
        by_invariant,
        slowest,
        settlements,
        events,
        sim_time_us,
        coverage,
        wall_secs: wall.as_secs_f64(),
        interrupted,
    }
}
