//! The raw flags, as clap parses them.

use super::wall_time::WallTime;
use crate::campaign::{SeedRange, SeedSpan, Shard};
use crate::engine::Defect;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deterministic simulation testing for an exactly-once cross-chain USDC
/// settlement engine.
///
/// Every run is a pure function of (seed, scenario, defects, build): the same
/// seed replays the same run, bit for bit, and prints the same digest.
/// Exit codes: 0 every invariant held, 1 a safety invariant broke, 2 bad
/// input, 3 a liveness invariant broke, 4 nondeterminism detected.
#[derive(Parser, Debug)]
#[command(name = "settlesim", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one seed and judge it against every invariant.
    Run(RunArgs),
    /// Run a fuzzing campaign: many seeds in parallel, one verdict, a repro
    /// file per failure.
    Fuzz(FuzzArgs),
    /// Re-run a repro file and check that it reproduces its digest
    /// (exit 4 if it does not, else the verdict's code).
    Replay(ReplayArgs),
    /// Cut a repro file's run down to the fewest faults, the calmest fault
    /// rates and the smallest workload that still break the same invariant,
    /// and write that run as a new repro file.
    Shrink(ShrinkArgs),
    /// List the catalog of planted defects; --hunt runs the detection matrix.
    Defects(DefectsArgs),
    /// Merge the JSON reports of a sharded campaign into one.
    Merge(MergeArgs),
    /// Time the full settlement flow at a chosen size, beside a bare event
    /// heap and the kernel on its own, measured in the same process.
    Bench(BenchArgs),
    /// Runs seeds for a campaign's parent process, over stdin and stdout
    /// (`campaign::seed_process`); not for use by hand.
    #[command(name = crate::campaign::seed_process::SUBCOMMAND, hide = true)]
    SeedWorker,
}

/// What a run is made of, shared by `run` and `fuzz`.
#[derive(Args, Debug)]
pub struct WorldArgs {
    /// Scenario file (JSON); the built-in sims/default.json if omitted.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// Switch on a planted defect (repeatable); see `settlesim defects`.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// Use the scenario's fault rates as they are, instead of letting each
    /// seed draw which fault kinds are on and how hard (swarm testing).
    #[arg(long)]
    pub no_swarm: bool,
    /// Let each seed also draw the scenario's settings around its own:
    /// clients, workers and their capacity, shards, timeouts, lease TTL,
    /// transaction lifetime, block times and finality, requests. Only
    /// settings the scenario check accepts are kept.
    #[arg(long)]
    pub vary: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The seed: the run's only source of randomness.
    #[arg(long)]
    pub seed: u64,
    #[command(flatten)]
    pub world: WorldArgs,
    /// Write every event to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// Seeds to run, as a half-open range A..B [default: 0..1000]; with
    /// --time, also A.. (every seed from A on, until the time is up).
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<SeedSpan>,
    /// Stop starting seeds after this much wall time: seconds (600) or a
    /// number with s, m or h (10m). Without --seeds, runs seeds from 0 on.
    #[arg(long, value_name = "TIME")]
    pub time: Option<WallTime>,
    /// Stop starting seeds once N have failed (the seeds already started, up
    /// to two a job, finish, and their failures count too): fast feedback,
    /// and a bounded corpus when a bug breaks most seeds.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<u64>,
    /// Jobs running seeds in parallel, each in a child process of its own
    /// [default: all cores].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Kill a seed's process once it has spent this much CPU time on the
    /// seed, and file the seed as `hung` (a loop that never ends): seconds
    /// (600) or a number with s, m or h. CPU time, so a busy or suspended
    /// machine hangs no seed; Linux only [default: 10m].
    #[arg(long, value_name = "TIME")]
    pub seed_timeout: Option<WallTime>,
    /// Run only shard K of N (seed number i runs on shard i mod N + 1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub world: WorldArgs,
    /// Write the campaign's JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Where to save a repro file per failure.
    #[arg(long, value_name = "DIR", default_value = "seeds")]
    pub corpus: PathBuf,
    /// Re-run this percentage of seeds and compare digests (exit 4 on a
    /// mismatch): each seed whose number modulo 100 is below PERCENT.
    #[arg(long, value_name = "PERCENT", default_value_t = 0)]
    pub check_determinism: u32,
}

#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// The repro file of a failing run (from `fuzz --corpus`, or `seeds/`).
    pub file: PathBuf,
    /// Where to write the shrunk repro file [default: FILE with `-shrunk`
    /// before `.json`, never over an existing file]. A file named here is
    /// replaced.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The repro file.
    pub file: PathBuf,
    /// Write every event of the re-run to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Re-record the file's digest and verdict with this build (after a
    /// deliberate change to the simulation), saying so if the verdict or
    /// first invariant is not the one recorded.
    #[arg(long)]
    pub rewrite: bool,
}

#[derive(Args, Debug)]
pub struct DefectsArgs {
    /// Run a campaign once per defect, on its home scenario (the default, for
    /// all but two), and print, per defect: found or not, seeds to the first
    /// failure, wall time, invariant named; then the clean seeds.
    #[arg(long)]
    pub hunt: bool,
    /// With --hunt: the seeds each defect is hunted over.
    #[arg(long, value_name = "A..B", default_value = "0..1000")]
    pub seeds: SeedRange,
    /// With --hunt: how many seeds the correct engine must run clean.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub clean_seeds: u64,
    /// With --hunt: scenario file to hunt every defect on, and to run the
    /// clean seeds on; without it, each defect's home scenario and the
    /// built-in default.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// With --hunt: jobs running seeds in parallel [default: all cores].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report to FILE (else only the table is printed).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Merge even if some shards of the campaign are missing (the merged
    /// report's `shard` says which it covers); without it that is an error.
    #[arg(long)]
    pub partial: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Scenario file (JSON); the built-in sims/default.json if omitted.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// How many settlements to run (spread over the scenario's clients).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub settlements: u64,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also count the events by kind and show where they go (per settlement
    /// and as a share), and how deep the event queue runs; the count itself
    /// slows the run a little.
    #[arg(long)]
    pub census: bool,
    /// Time the run (and both baselines) this many times and report the
    /// medians, each ratio taken run by run: on a shared machine one timing
    /// can be a quarter off the next.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub runs: u32,
}
