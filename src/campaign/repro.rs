//! Repro files: everything needed to re-run one failing seed, bit for bit —
//! the seed, the scenario itself (embedded, so the file outlives edits to
//! `sims/`), the defects, whether scenario variation and swarm drawing were
//! on — and what the run gave: verdict, first invariant, digest and digest
//! checkpoints. A file that `shrink` wrote also carries its fault plan, cut
//! down from the one the seed drew.

use crate::check::Invariant;
use crate::engine::{defects, Defect, Defects};
use crate::scenario::Scenario;
use crate::world::{FaultPlan, Layout, RunOptions, RunReport, Verdict};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One failing run, reproducible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReproFile {
    /// The settlesim version that recorded it.
    pub settlesim_version: String,
    /// The seed.
    pub seed: u64,
    /// Whether the seed drew its fault configuration (swarm testing).
    pub swarm: bool,
    /// Whether the seed drew its settings around the scenario's (scenario
    /// variation). Absent from files of older builds, which did not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vary: bool,
    /// The planted defects that were on.
    pub defects: Vec<Defect>,
    /// How the run ended.
    pub verdict: Verdict,
    /// The first invariant that broke.
    pub invariant: Option<Invariant>,
    /// The run's digest.
    pub digest: String,
    /// The digest after every 4096 events.
    pub checkpoints: Vec<String>,
    /// The scenario, embedded.
    pub scenario: Scenario,
    /// The faults to inject, in place of the plan the seed draws (absent
    /// unless the file was shrunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<FaultPlan>,
}

impl ReproFile {
    /// The repro file for a finished run.
    pub fn of(report: &RunReport, scenario: &Scenario, options: &RunOptions) -> ReproFile {
        ReproFile {
            settlesim_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: report.seed,
            swarm: options.swarm,
            vary: options.vary,
            defects: options.defects.list(),
            verdict: report.verdict,
            invariant: report.violations.first().map(|v| v.invariant),
            digest: report.digest.clone(),
            checkpoints: report
                .checkpoints
                .iter()
                .map(|c| format!("{c:016x}"))
                .collect(),
            scenario: scenario.clone(),
            plan: options.plan.clone(),
        }
    }

    /// The options that re-run it.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            defects: Defects::of(&self.defects),
            swarm: self.swarm,
            vary: self.vary,
            plan: self.plan.clone(),
            ..RunOptions::default()
        }
    }

    /// Reads and checks a repro file; one line on failure.
    pub fn load(path: &Path) -> Result<ReproFile, String> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let repro: ReproFile =
            serde_json::from_str(&text).map_err(|e| format!("{shown}: not a repro file: {e}"))?;
        Scenario::from_json(
            &serde_json::to_string(&repro.scenario).expect("scenarios serialise"),
            &shown.to_string(),
        )
        .map_err(|e| e.0)?;
        if let Some(plan) = &repro.plan {
            plan.validate(&Layout::new(&repro.scenario))
                .map_err(|e| format!("{shown}: plan: {e}"))?;
        }
        Ok(repro)
    }

    /// A file name that says what failed: scenario, seed and defects.
    pub fn file_name(&self) -> String {
        let defects = if self.defects.is_empty() {
            "correct".to_string()
        } else {
            defects::names(&self.defects, "+")
        };
        format!("{}-{}-seed{}.json", self.scenario.name, defects, self.seed)
    }

    /// Writes the file into `dir` (created if needed); returns its path.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(self.file_name());
        self.write(&path)?;
        Ok(path)
    }

    /// Writes the file at `path`, replacing what is there.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("repro files serialise");
        std::fs::write(path, json + "\n")
    }

    /// Where a re-run first parts from this recording: the event window of
    /// the first checkpoint that differs, or `None` if all that both have
    /// agree (the runs then part within the last window).
    pub fn first_divergence(&self, rerun: &RunReport) -> (u64, u64) {
        let every = crate::sim::kernel::CHECKPOINT_EVERY;
        let mismatch = self
            .checkpoints
            .iter()
            .zip(&rerun.checkpoints)
            .position(|(a, b)| *a != format!("{b:016x}"));
        let k = mismatch.unwrap_or(self.checkpoints.len().min(rerun.checkpoints.len())) as u64;
        (k * every + 1, (k + 1) * every)
    }
}
