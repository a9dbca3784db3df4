//! `settlesim shrink FILE`: cut a failing run down and save it as a new
//! repro file (see `campaign/shrink.rs` for how).

use super::args::ShrinkArgs;
use super::run_cmd::describe_plan;
use super::writable::check_file;
use super::CliError;
use crate::campaign::shrink::{shrink, ShrinkError};
use crate::campaign::ReproFile;
use crate::world::Verdict;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn execute(args: ShrinkArgs) -> Result<i32, CliError> {
    let repro = ReproFile::load(&args.file).map_err(CliError::bad_input)?;
    let out = match args.out {
        Some(out) => out,
        None => {
            let out = shrunk_path(&args.file);
            if out.exists() {
                return Err(CliError::bad_input(format!(
                    "{}: exists; name another file with --out",
                    out.display()
                )));
            }
            out
        }
    };
    check_file(&out, "write the shrunk repro file")?;

    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("shrink: {msg}").expect("a valid template"));
        bar
    });
    let shrunk = shrink(&repro, |runs, faults| {
        if let Some(bar) = &spinner {
            bar.set_message(format!("run {runs}, {faults} planned faults in play"));
            bar.tick();
        }
    });
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let shrunk = match shrunk {
        Ok(shrunk) => shrunk,
        Err(ShrinkError::Holds) => {
            println!(
                "{}: every invariant holds with this build: nothing to shrink",
                args.file.display()
            );
            return Ok(Verdict::Held.exit_code());
        }
        Err(ShrinkError::NotExplicit) => {
            return Err(CliError {
                code: Verdict::Nondeterminism.exit_code(),
                message: format!(
                    "{}: the run with its faults written out is not the run the seed gives; this is a bug in settlesim",
                    args.file.display()
                ),
            });
        }
    };

    if !shrunk.reproduced {
        eprintln!(
            "note: {} no longer gives its recorded digest with this build; what was shrunk is the run this build gives",
            args.file.display()
        );
    }
    shrunk
        .repro
        .write(&out)
        .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", out.display())))?;
    let list = |kinds: &[&str]| match kinds {
        [] => "none".to_string(),
        kinds => kinds.join(", "),
    };
    println!(
        "shrunk {} in {} runs: planned faults {} → {}, requests per client {} → {}",
        args.file.display(),
        shrunk.runs,
        shrunk.faults.0,
        shrunk.faults.1,
        shrunk.requests.0,
        shrunk.requests.1,
    );
    println!(
        "random faults switched off: {}; still needed: {}",
        list(&shrunk.calmed),
        list(&shrunk.still_on)
    );
    println!("fault plan: {}", describe_plan(&shrunk.report));
    if let Some(v) = shrunk.report.violations.first() {
        println!("VIOLATION {v}");
    }
    println!(
        "ran {} events over {}; wrote {}",
        shrunk.report.events,
        crate::sim::Micros(shrunk.report.sim_time_us),
        out.display()
    );
    println!("reproduce: settlesim replay {}", out.display());
    Ok(shrunk.report.verdict.exit_code())
}

/// `dir/name.json` → `dir/name-shrunk.json`.
fn shrunk_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "repro".into(), |s| s.to_string_lossy().into_owned());
    file.with_file_name(format!("{stem}-shrunk.json"))
}
