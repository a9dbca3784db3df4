//! The command line: raw flags are parsed by clap, turned into one validated
//! configuration, run, and the outcome mapped to an exit code (DESIGN §7):
//! 0 every invariant held, 1 a safety invariant broke, 2 bad input,
//! 3 a liveness invariant broke, 4 nondeterminism detected.

mod args;
mod bench_cmd;
mod defects_cmd;
mod fuzz_cmd;
mod merge_cmd;
mod progress;
mod replay_cmd;
mod run_cmd;
mod shrink_cmd;
mod wall_time;
mod writable;

use clap::Parser;
use std::fmt;

/// The exit code for bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

/// What went wrong at the CLI's edge: a kind (which decides the exit code)
/// and one line for the user.
#[derive(Debug)]
pub struct CliError {
    /// The process exit code.
    pub code: i32,
    /// One line naming the problem.
    pub message: String,
}

impl CliError {
    /// Bad input: a flag, a file or a value that makes no sense.
    pub fn bad_input(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = args::Cli::parse();
    let outcome = match cli.command {
        args::Command::Run(run) => run_cmd::execute(run),
        args::Command::Fuzz(fuzz) => fuzz_cmd::execute(fuzz),
        args::Command::Replay(replay) => replay_cmd::execute(replay),
        args::Command::Shrink(shrink) => shrink_cmd::execute(shrink),
        args::Command::Defects(defects) => defects_cmd::execute(defects),
        args::Command::Merge(merge) => merge_cmd::execute(merge),
        args::Command::Bench(bench) => bench_cmd::execute(bench),
        args::Command::SeedWorker => crate::campaign::seed_process::serve()
            .map(|()| 0)
            .map_err(CliError::bad_input),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("settlesim: error: {e}");
            e.code
        }
    }
}
