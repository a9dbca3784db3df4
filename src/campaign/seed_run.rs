//! One seed of a campaign, run as the campaign files it: its report, how
//! long it took, and for a seed picked to be run twice, whether the second
//! run agreed. The same code runs it on a campaign's own threads and in a
//! seed process ([`super::seed_process`]).

use crate::engine::{Defect, Defects};
use crate::scenario::Scenario;
use crate::world::{run, RunOptions, RunReport};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::time::{Duration, Instant};

/// What every seed of a campaign runs.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    pub scenario: Scenario,
    /// Planted defects switched on.
    pub defects: Vec<Defect>,
    /// Swarm testing: each seed draws its fault configuration.
    pub swarm: bool,
    /// Scenario variation: each seed draws its settings too.
    pub vary: bool,
    /// Run each seed whose number modulo 100 is below this twice.
    pub check_determinism: u32,
}

/// One seed's run.
#[derive(Serialize, Deserialize)]
pub struct SeedRun {
    pub report: RunReport,
    /// Wall time of the run (of the first, if it ran twice).
    pub wall: Duration,
    /// Whether it ran a second time to compare digests.
    pub rechecked: bool,
    /// The second run's digest, where it disagreed with the first.
    pub diverged: Option<String>,
}

/// A panic's message, from its payload (`panic!` makes a `String` or a
/// `&str`).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic with no message")
}

impl World {
    /// The options every seed runs with.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            defects: Defects::of(&self.defects),
            swarm: self.swarm,
            vary: self.vary,
            ..RunOptions::default()
        }
    }

    /// Runs `seed`, and again if it is picked to be checked for determinism.
    #[allow(clippy::disallowed_methods)] // wall time for the slowest seed only
    pub fn run_seed(&self, seed: u64) -> SeedRun {
        let t0 = Instant::now();
        let report = run(seed, &self.scenario, self.options()).report;
        let wall = t0.elapsed();
        let rechecked = seed % 100 < u64::from(self.check_determinism);
        let diverged = rechecked
            .then(|| run(seed, &self.scenario, self.options()).report.digest)
            .filter(|again| *again != report.digest);
        SeedRun {
            report,
            wall,
            rechecked,
            diverged,
        }
    }
}
