//! Scenario files: the topology, workload, fault profile and limits of a run,
//! as JSON. Unknown fields are refused, and every value is checked for sense
//! before anything runs, so a typo is one clear line, never a silent default.
//!
//! `sims/default.json` is compiled into the binary and is the default of
//! every command.

use crate::chain::ChainParams;
use crate::engine::HomeScenario;
use crate::sim::{DiskFaults, NetworkFaults, Ratio};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

mod validate;
mod vary;

/// The built-in default scenario's text.
pub const DEFAULT_SCENARIO: &str = include_str!("../sims/default.json");

/// The built-in copy of `sims/pile-up.json`, where the detection matrix
/// hunts the defects whose window the default leaves too narrow.
pub const PILE_UP_SCENARIO: &str = include_str!("../sims/pile-up.json");

/// Everything that shapes a run except its seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, printed in reports.
    pub name: String,
    /// What this scenario is for.
    #[serde(default)]
    pub description: String,
    /// The chains, in domain order.
    pub chains: Vec<ChainParams>,
    /// The engine's processes and pacing.
    pub engine: EngineShape,
    /// What the clients ask for.
    pub workload: Workload,
    /// What goes wrong.
    pub faults: Faults,
    /// When faults stop and how long the run may go on.
    pub limits: Limits,
}

/// The engine's processes and how they pace themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineShape {
    /// Client processes.
    pub clients: u32,
    /// Worker processes.
    pub workers: u32,
    /// Settlements one worker drives at once.
    pub worker_capacity: u32,
    /// How long a worker waits for any reply.
    pub rpc_timeout_us: u64,
    /// Shortest pause between scans for unfinished work.
    pub sweep_us_min: u64,
    /// Longest pause between scans when idle.
    pub sweep_us_max: u64,
    /// Pause before asking the attester again.
    pub attest_retry_us: u64,
    /// How long a lease lasts.
    pub lease_ttl_us: u64,
    /// How many shards the settlements are split into for leasing (1 to 64):
    /// a worker leases whole shards.
    pub lease_shards: u32,
    /// The longest time a worker takes to prepare a write it decided on.
    pub commit_delay_us_max: u64,
    /// How long after its creation a settlement whose destination cannot
    /// mint is given up on (cancelled and refunded).
    pub settlement_deadline_us: u64,
    /// How long the store keeps answering for a key once its settlement is
    /// terminal; after that the settlement is forgotten and the key answered
    /// `KeyExpired` (this is what keeps the store's memory flat).
    pub key_retention_us: u64,
    /// How long a signed transaction stays valid, from its signing, by the
    /// chain's time as the worker reckons it (its wall clock until it has
    /// heard from the chain): past it, a chain that has not included it
    /// never will, and the worker signs a new one.
    pub tx_ttl_us: u64,
}

/// What the clients ask for, and how fast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Requests each client submits.
    pub requests_per_client: u32,
    /// Shortest pause between a client's requests.
    pub interval_us_min: u64,
    /// Longest pause between a client's requests.
    pub interval_us_max: u64,
    /// Smallest amount (minor units).
    pub amount_min: u64,
    /// Largest amount (minor units); above a chain's burn limit, burns revert.
    pub amount_max: u64,
    /// Share of acknowledged requests sent again under the same key.
    pub resubmit: Ratio,
    /// Share of acknowledged requests whose key is reused later for a
    /// different request, which must be refused as a conflict.
    pub conflicting: Ratio,
    /// How long a client waits for an acknowledgement before resending.
    pub retry_timeout_us: u64,
    /// The longest wait, after the acknowledgement, before a planned resend
    /// (`resubmit`, `conflicting`) goes out; longer than the key retention,
    /// some resends find their key expired.
    pub resend_delay_us_max: u64,
}

/// The fault profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Per-message network faults.
    pub network: NetworkFaults,
    /// Network partitions.
    pub partitions: PartitionFaults,
    /// Clock skew and drift of the engine's processes.
    pub clocks: ClockFaults,
    /// The store's disk.
    pub disk: DiskFaults,
    /// Process crashes.
    pub crashes: CrashFaults,
    /// Stop-the-world pauses.
    pub pauses: PauseFaults,
    /// Faults of the chains themselves.
    pub chains: ChainFaults,
}

/// What the chains themselves do wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainFaults {
    /// The most chain halts in one run (no blocks, no RPC).
    pub halt_count_max: u32,
    /// Longest halt.
    pub halt_us_max: u64,
    /// The most reorgs in one run.
    pub reorg_count_max: u32,
    /// Deepest reorg, in blocks (never past a chain's non-final blocks).
    pub reorg_depth_max: u64,
    /// Share of a reorged block's transactions that never come back.
    pub reorg_loss: Ratio,
    /// The most mint pauses in one run (mints revert, temporarily).
    pub mint_pause_count_max: u32,
    /// Longest mint pause.
    pub mint_pause_us_max: u64,
    /// Share of pending transactions dropped from a mempool, per block.
    pub mempool_drop: Ratio,
    /// Share of pending transactions left out of a block (stuck), per block.
    pub mempool_stuck: Ratio,
    /// Share of receipt reads of a pending transaction answered "not seen":
    /// the read reached one of the provider's nodes whose mempool never got
    /// the transaction, while another node's block may still include it.
    /// Off in scenario files written before this fault existed, as the
    /// builds that wrote them ran without it.
    #[serde(default = "Ratio::never")]
    pub pending_unheard: Ratio,
    /// Share of reads (receipts, nonce slots) that reach one of the
    /// provider's nodes that has not synced the newest blocks: it answers
    /// as of a non-final block below the head, with that block's time.
    /// Off in scenario files written before this fault existed.
    #[serde(default = "Ratio::never")]
    pub lagging_reads: Ratio,
}

/// How many stop-the-world pauses a run gets, of whom, and for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseFaults {
    /// The most pauses in one run (the plan draws 0 to this many).
    pub count_max: u32,
    /// Shortest pause.
    pub duration_us_min: u64,
    /// Longest pause (longer than a lease is what tests fencing).
    pub duration_us_max: u64,
    /// The roles that may pause.
    pub targets: Vec<Role>,
}

/// Which processes can crash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A client (its record of outstanding requests survives; its timers do not).
    Client,
    /// A worker (all of its state is volatile).
    Worker,
    /// The store (its disk survives, minus what was never synced).
    Store,
    /// The lease service (it forgets its leases; its epoch survives).
    Lock,
    /// The attester (all of its state is volatile).
    Attester,
}

/// How many crashes a run gets, of whom, and for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashFaults {
    /// The most crashes in one run (the plan draws 0 to this many).
    pub count_max: u32,
    /// Shortest time down.
    pub down_us_min: u64,
    /// Longest time down.
    pub down_us_max: u64,
    /// The roles that may crash; each crash picks a role, then a process.
    pub targets: Vec<Role>,
}

/// How many partitions a run gets, and how long they last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionFaults {
    /// The most partitions in one run (the plan draws 0 to this many).
    pub count_max: u32,
    /// Shortest partition.
    pub duration_us_min: u64,
    /// Longest partition.
    pub duration_us_max: u64,
    /// Share of partitions that cut one direction only.
    pub one_way: Ratio,
}

/// Clock faults of the engine's processes (chains keep true time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockFaults {
    /// Largest constant offset from true time, either way.
    pub skew_us_max: u64,
    /// Largest rate error, either way, in parts per million.
    pub drift_ppm_max: u32,
    /// The most wall-clock jumps in one run (monotonic clocks never jump).
    pub jump_count_max: u32,
    /// Largest jump, either way.
    pub jump_us_max: u64,
}

/// When faults stop and how long the run may go on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Faults happen only in `[0, fault_window_us)`; then the heal phase.
    pub fault_window_us: u64,
    /// How long the heal phase lasts at least, and how long the engine must
    /// then have made no progress (no settlement created or moved to a new
    /// stage) before unfinished work is a liveness violation: an engine still
    /// moving is given the time to finish. Longer than the slowest single
    /// step (a finality wait), or a slow step reads as a stuck one.
    pub heal_us: u64,
    /// A hard cap on events, against runaway runs.
    pub max_events: u64,
}

/// A scenario that could not be read or makes no sense: one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// The built-in default scenario.
    pub fn builtin_default() -> Scenario {
        Scenario::from_json(DEFAULT_SCENARIO, "built-in default")
            .expect("the built-in default scenario is valid")
    }

    /// A planted defect's home scenario, built in.
    pub fn builtin(home: HomeScenario) -> Scenario {
        match home {
            HomeScenario::Default => Scenario::builtin_default(),
            HomeScenario::PileUp => Scenario::from_json(PILE_UP_SCENARIO, "built-in pile-up")
                .expect("the built-in pile-up scenario is valid"),
        }
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("{origin}: cannot read: {e}")))?;
        Scenario::from_json(&text, &origin)
    }

    /// Parses and validates scenario JSON; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario =
            serde_json::from_str(text).map_err(|e| ScenarioError(format!("{origin}: {e}")))?;
        scenario
            .validate()
            .map_err(|(field, problem)| ScenarioError(format!("{origin}: {field}: {problem}")))?;
        Ok(scenario)
    }

    /// The number of requests the whole run submits.
    pub fn total_requests(&self) -> u64 {
        u64::from(self.engine.clients) * u64::from(self.workload.requests_per_client)
    }

    /// The earliest the heal phase may end with work unfinished: the end of
    /// the faults (or of the workload's requests, if later) plus
    /// `limits.heal_us`; the end of time if that is past it.
    pub fn heal_deadline_us(&self) -> u64 {
        self.limits
            .fault_window_us
            .max(self.workload_span_us())
            .saturating_add(self.limits.heal_us)
    }

    /// The longest a client's requests may take to send: each of them up
    /// to `interval_us_max` after the last; the end of time if past it.
    pub fn workload_span_us(&self) -> u64 {
        u64::from(self.workload.requests_per_client).saturating_mul(self.workload.interval_us_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_default_is_valid_and_round_trips() {
        // Proves the shipped default parses, validates and serialises back to
        // an equal scenario (ratios included).
        let s = Scenario::builtin_default();
        let again = Scenario::from_json(&serde_json::to_string(&s).unwrap(), "again").unwrap();
        assert_eq!(s, again);
    }

    #[test]
    fn unknown_field_is_named() {
        // Proves a typo'd field is refused with its name, not ignored.
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT_SCENARIO).unwrap();
        v["workload"]["requests_per_clinet"] = 3.into();
        let e = Scenario::from_json(&v.to_string(), "x.json").unwrap_err().0;
        assert!(
            e.starts_with("x.json: unknown field `requests_per_clinet`"),
            "{e}"
        );
    }
}
