//! `settlesim replay FILE`: re-run a repro file and hold it to its digest.

use super::args::ReplayArgs;
use super::run_cmd::{close_trace, open_trace, print_human};
use super::CliError;
use crate::campaign::ReproFile;
use crate::sim::{first_difference, SharedBuffer, Trace};
use crate::world::{run, Verdict};

pub fn execute(args: ReplayArgs) -> Result<i32, CliError> {
    let repro = ReproFile::load(&args.file).map_err(CliError::bad_input)?;
    let version = env!("CARGO_PKG_VERSION");
    if repro.settlesim_version != version {
        eprintln!(
            "note: {} was recorded by settlesim {}; this is {version}",
            args.file.display(),
            repro.settlesim_version
        );
    }
    let mut options = repro.options();
    options.trace = args.trace.as_deref().map(open_trace).transpose()?;
    let output = run(repro.seed, &repro.scenario, options);
    close_trace(output.trace, args.trace.as_deref())?;
    let report = output.report;
    let command = format!("settlesim replay {}", args.file.display());
    print_human(&repro.scenario, &report, &command, repro.options().defects);

    if args.rewrite {
        let rewritten = ReproFile::of(&report, &repro.scenario, &repro.options());
        rewritten.write(&args.file).map_err(|e| {
            CliError::bad_input(format!("{}: cannot write: {e}", args.file.display()))
        })?;
        println!(
            "rewritten: {} now records verdict {} and digest {}",
            args.file.display(),
            report.verdict,
            report.digest
        );
        let (before, now) = (outcome(&repro), outcome(&rewritten));
        if before != now {
            // A re-recorded corpus is reviewed file by file: one that no
            // longer fails, or fails another way, must not pass unseen.
            println!("note: it recorded {before} before; this build's run of it gives {now}");
        }
        return Ok(0);
    }
    if report.digest != repro.digest {
        let (from, to) = repro.first_divergence(&report);
        println!(
            "NONDETERMINISM: recorded digest {}, this run {}; the runs part between events {from} and {to}",
            repro.digest, report.digest
        );
        match divergence_within_this_build(&repro) {
            Some((n, a, b)) => println!("this build is itself nondeterministic; first diverging event {n}:\n  {a}\n  {b}"),
            None => println!("this build repeats itself: the build or the recorded inputs changed since the file was written"),
        }
        return Ok(Verdict::Nondeterminism.exit_code());
    }
    println!(
        "reproduced: verdict {} (recorded {}), digest {}",
        report.verdict, repro.verdict, report.digest
    );
    Ok(report.verdict.exit_code())
}

/// Runs the file twice with full traces and names the first event where the
/// two runs differ, if they do.
fn divergence_within_this_build(repro: &ReproFile) -> Option<(usize, String, String)> {
    let traced = || {
        let buffer = SharedBuffer::default();
        let mut options = repro.options();
        options.trace = Some(Trace::new(Box::new(buffer.clone())));
        let output = run(repro.seed, &repro.scenario, options);
        if let Some(trace) = output.trace {
            trace.finish().expect("in-memory traces do not fail");
        }
        buffer.bytes()
    };
    first_difference(&traced(), &traced())
}

/// A repro file's verdict and, if one broke, the first invariant:
/// `safety (lease_exclusive)`, or `held`.
fn outcome(repro: &ReproFile) -> String {
    match repro.invariant {
        Some(invariant) => format!("{} ({invariant})", repro.verdict),
        None => repro.verdict.to_string(),
    }
}
