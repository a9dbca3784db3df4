//! The raw flags, as clap parses them.

use crate::campaign::{SeedRange, Shard};
use crate::engine::Defect;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deterministic simulation testing for an exactly-once cross-chain USDC
/// settlement engine.
///
/// Every run is a pure function of (seed, scenario): the same seed replays
/// the same run, bit for bit, and prints the same digest.
#[derive(Parser, Debug)]
#[command(name = "settlesim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one seed and judge it against every invariant.
    ///
    /// Exit codes: 0 held, 1 safety invariant broke, 2 bad input,
    /// 3 liveness invariant broke.
    Run(RunArgs),
    /// Run a fuzzing campaign: many seeds in parallel, one verdict.
    ///
    /// Exit codes: 0 every seed held, 1 a seed broke a safety invariant,
    /// 2 bad input, 3 a seed broke only liveness invariants.
    Fuzz(FuzzArgs),
    /// List the catalog of planted defects: name, what it breaks, and the
    /// invariant a campaign should name when it finds it.
    Defects,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The seed: the run's only source of randomness.
    #[arg(long)]
    pub seed: u64,
    /// Scenario file (JSON); the built-in sims/default.json if omitted.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// Switch on a planted defect (repeatable); see `settlesim defects`.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// Write every event to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// Seeds to run, as a half-open range A..B [default: 0..1000].
    #[arg(long, value_name = "A..B", conflicts_with = "time")]
    pub seeds: Option<SeedRange>,
    /// Run seeds from 0 upwards for this many seconds of wall time instead.
    #[arg(long, value_name = "SECS")]
    pub time: Option<u64>,
    /// OS threads running seeds in parallel [default: all cores].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Run only shard K of N (seed number i runs on shard i mod N + 1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Scenario file (JSON); the built-in sims/default.json if omitted.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// Switch on a planted defect (repeatable); see `settlesim defects`.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// Write the campaign's JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}
