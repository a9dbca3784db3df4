//! The raw flags, as clap parses them.

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
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The seed: the run's only source of randomness.
    #[arg(long)]
    pub seed: u64,
    /// Scenario file (JSON); the built-in sims/default.json if omitted.
    #[arg(long, value_name = "FILE")]
    pub sim: Option<PathBuf>,
    /// Write every event to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
}
