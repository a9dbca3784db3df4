//! Runs the seeds of a campaign on J OS threads. Each run is single-threaded
//! and deterministic; threads only decide which seed runs where, and results
//! are put back in seed order, so the report does not depend on scheduling.
//!
//! This is the one place outside the CLI that reads the wall clock (for the
//! time budget, progress and the slowest seed): none of it reaches a run.

use super::report::{CampaignReport, SeedFailure, Slowest};
use super::seeds::SeedPlan;
use crate::engine::Defects;
use crate::scenario::Scenario;
use crate::world::{run, RunOptions, RunReport, Verdict};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A campaign, ready to run.
pub struct Campaign {
    /// The scenario every seed runs.
    pub scenario: Scenario,
    /// The seeds.
    pub plan: SeedPlan,
    /// Stop starting new seeds after this long (the `--time` mode).
    pub time_budget: Option<Duration>,
    /// OS threads.
    pub jobs: usize,
    /// Planted defects switched on for every seed.
    pub defects: Defects,
    /// How the seeds were asked for, for the report.
    pub seeds_label: String,
    /// Builds the reproduction command for a seed.
    pub repro: Box<dyn Fn(u64) -> String + Sync>,
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

/// One seed's result and its wall time.
struct Finished {
    report: RunReport,
    wall: Duration,
}

/// Runs the campaign until its seeds or its time run out, or `stop` is set
/// (Ctrl-C). Calls `on_seed` after every finished seed, with the failure if
/// it failed. What finished before a stop is kept.
#[allow(clippy::disallowed_methods)] // wall time for the budget and progress only
pub fn run_campaign(
    campaign: &Campaign,
    stop: &AtomicBool,
    on_seed: &mut dyn FnMut(&Tally, Option<&SeedFailure>),
) -> CampaignReport {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<Finished>();
    let mut finished: Vec<Finished> = Vec::new();
    let mut tally = Tally {
        done: 0,
        total: campaign.plan.count(),
        failures: 0,
        elapsed: Duration::ZERO,
    };
    std::thread::scope(|scope| {
        for _ in 0..campaign.jobs.max(1) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if campaign
                    .time_budget
                    .is_some_and(|budget| started.elapsed() >= budget)
                {
                    break;
                }
                let Some(seed) = campaign.plan.nth(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let t0 = Instant::now();
                let options = RunOptions {
                    defects: campaign.defects,
                    ..RunOptions::default()
                };
                let report = run(seed, &campaign.scenario, options).report;
                if tx
                    .send(Finished {
                        report,
                        wall: t0.elapsed(),
                    })
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        for f in rx {
            tally.done += 1;
            tally.elapsed = started.elapsed();
            let failure = failure_of(&f.report, campaign);
            tally.failures += u64::from(failure.is_some());
            on_seed(&tally, failure.as_ref());
            finished.push(f);
        }
    });
    let interrupted = stop.load(Ordering::Relaxed);
    summarize(campaign, finished, started.elapsed(), interrupted)
}

fn failure_of(report: &RunReport, campaign: &Campaign) -> Option<SeedFailure> {
    if report.verdict == Verdict::Held {
        return None;
    }
    let first = report
        .violations
        .first()
        .expect("a failed run names a violation");
    Some(SeedFailure {
        seed: report.seed,
        verdict: report.verdict,
        invariant: first.invariant,
        settlement: first.settlement,
        detail: first.detail.clone(),
        digest: report.digest.clone(),
        repro: (campaign.repro)(report.seed),
    })
}

fn summarize(
    campaign: &Campaign,
    mut finished: Vec<Finished>,
    wall: Duration,
    interrupted: bool,
) -> CampaignReport {
    finished.sort_by_key(|f| f.report.seed);
    let mut failures = Vec::new();
    let mut by_invariant = BTreeMap::new();
    let mut slowest: Option<Slowest> = None;
    let (mut settlements, mut events, mut sim_time_us) = (0, 0, 0);
    for f in &finished {
        let r = &f.report;
        settlements += r.summary.requested;
        events += r.events;
        sim_time_us += r.sim_time_us;
        let wall_ms = f.wall.as_secs_f64() * 1e3;
        if slowest.is_none_or(|s| wall_ms > s.wall_ms) {
            slowest = Some(Slowest {
                seed: r.seed,
                wall_ms,
            });
        }
        if let Some(failure) = failure_of(r, campaign) {
            *by_invariant
                .entry(failure.invariant.name().to_string())
                .or_insert(0) += 1;
            failures.push(failure);
        }
    }
    CampaignReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: campaign.scenario.name.clone(),
        defects: campaign
            .defects
            .list()
            .iter()
            .map(|d| d.name().to_string())
            .collect(),
        seeds: campaign.seeds_label.clone(),
        shard: campaign.plan.shard.to_string(),
        seeds_run: finished.len() as u64,
        held: (finished.len() - failures.len()) as u64,
        failures,
        by_invariant,
        slowest,
        settlements,
        events,
        sim_time_us,
        wall_secs: wall.as_secs_f64(),
        interrupted,
    }
}
