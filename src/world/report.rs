//! What one run reports: the verdict, the violations, the summary and the
//! determinism fingerprint.

use super::plan::FaultPlan;
use crate::check::{Summary, Violation};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a run ended, worst first.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every invariant held.
    Held,
    /// A safety invariant broke.
    Safety,
    /// A liveness invariant broke after healing.
    Liveness,
    /// The same inputs gave different runs.
    Nondeterminism,
}

impl Verdict {
    /// The process exit code for this verdict (DESIGN §7).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Held => 0,
            Verdict::Safety => 1,
            Verdict::Liveness => 3,
            Verdict::Nondeterminism => 4,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Held => "held",
            Verdict::Safety => "safety",
            Verdict::Liveness => "liveness",
            Verdict::Nondeterminism => "nondeterminism",
        })
    }
}

/// Why the event loop stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Every request was acknowledged and every settlement is terminal.
    Quiescent,
    /// A safety invariant broke; the run stopped at once.
    SafetyViolation,
    /// Work was left unfinished, the heal phase had lasted `limits.heal_us`,
    /// and the engine had made no progress for as long.
    Deadline,
    /// The scenario's event cap was reached.
    MaxEvents,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// The scenario's name.
    pub scenario: String,
    /// The determinism fingerprint, 16 hex digits.
    pub digest: String,
    /// How it ended.
    pub verdict: Verdict,
    /// What broke, in the order found.
    pub violations: Vec<Violation>,
    /// Jepsen-style counts.
    pub summary: Summary,
    /// Events delivered.
    pub events: u64,
    /// Simulated time covered.
    pub sim_time_us: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages that never arrived.
    pub messages_lost: u64,
    /// Process crashes.
    pub crashes: u64,
    /// Receipt reads of a pending transaction answered "not seen" (the
    /// `pending_unheard` fault). Reports of builds before it read as zero.
    #[serde(default)]
    pub receipts_unheard: u64,
    /// Reads answered by a node behind the head (the `lagging_reads`
    /// fault). Reports of builds before it read as zero.
    #[serde(default)]
    pub lagging_reads: u64,
    /// The fault configuration the run used (swarm-drawn, if on).
    pub faults: String,
    /// With scenario variation on, the settings this seed drew (see
    /// [`crate::scenario::Scenario::varied`]); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub varied: Option<String>,
    /// Why the loop stopped.
    pub stop: Stop,
    /// The faults injected.
    pub fault_plan: FaultPlan,
    /// The digest after every 4096 events, to locate a divergence.
    #[serde(skip)]
    pub checkpoints: Vec<u64>,
}
