//! Invariants as named values, and what a broken one reports.

use crate::engine::SettlementId;
use crate::sim::Micros;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether an invariant must hold at every step or only after healing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Nothing bad ever happens: checked after every step.
    Safety,
    /// Something good eventually happens: checked after the heal phase.
    Liveness,
}

/// The invariants settlesim judges runs by.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Σ supply on all chains + Σ burned-and-unresolved = initial supply.
    SupplyConserved,
    /// Per burn, at most one of {mint, refund}.
    AtMostOneResolution,
    /// Every mint or refund refers to a final burn of the same message.
    NoUnbackedMint,
    /// A refund exists only if the destination slot is final-Cancelled.
    RefundOnlyAfterCancel,
    /// Completed ⇔ final mint; Refunded ⇔ final refund; Failed ⇔ nothing burned.
    StageTruthful,
    /// One idempotency key leads to at most one burn.
    AtMostOneBurnPerIntent,
    /// Every burn belongs to an accepted request and matches it.
    NoUnexpectedBurn,
    /// Persisted stages follow the state machine; terminal stages absorb.
    StageMonotonic,
    /// A repeated key gets the same settlement, or a clear rejection when the
    /// request differs.
    SameKeySameOutcome,
    /// Every acknowledged store write survives any crash, and recovery
    /// yields only states the store actually wrote.
    AcknowledgedDurable,
    /// Accepted store writes never go back in fencing token.
    FencingMonotonic,
    /// No two workers act on one settlement under overlapping valid leases;
    /// a worker acts only under a valid lease of its own.
    LeaseExclusive,
    /// After healing, every lease is released or expires.
    NoStuckLeases,
    /// After healing, each burn has exactly one resolution.
    EveryBurnResolved,
    /// After healing, every accepted request is terminal.
    EveryRequestTerminal,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 15] = [
        Invariant::SupplyConserved,
        Invariant::AtMostOneResolution,
        Invariant::NoUnbackedMint,
        Invariant::RefundOnlyAfterCancel,
        Invariant::StageTruthful,
        Invariant::AtMostOneBurnPerIntent,
        Invariant::NoUnexpectedBurn,
        Invariant::StageMonotonic,
        Invariant::SameKeySameOutcome,
        Invariant::AcknowledgedDurable,
        Invariant::FencingMonotonic,
        Invariant::LeaseExclusive,
        Invariant::NoStuckLeases,
        Invariant::EveryBurnResolved,
        Invariant::EveryRequestTerminal,
    ];

    /// The invariant's name, as printed and as written in reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::SupplyConserved => "supply_conserved",
            Invariant::AtMostOneResolution => "at_most_one_resolution",
            Invariant::NoUnbackedMint => "no_unbacked_mint",
            Invariant::RefundOnlyAfterCancel => "refund_only_after_cancel",
            Invariant::StageTruthful => "stage_truthful",
            Invariant::AtMostOneBurnPerIntent => "at_most_one_burn_per_intent",
            Invariant::NoUnexpectedBurn => "no_unexpected_burn",
            Invariant::StageMonotonic => "stage_monotonic",
            Invariant::SameKeySameOutcome => "same_key_same_outcome",
            Invariant::AcknowledgedDurable => "acknowledged_durable",
            Invariant::FencingMonotonic => "fencing_monotonic",
            Invariant::LeaseExclusive => "lease_exclusive",
            Invariant::NoStuckLeases => "no_stuck_leases",
            Invariant::EveryBurnResolved => "every_burn_resolved",
            Invariant::EveryRequestTerminal => "every_request_terminal",
        }
    }

    /// Safety or liveness.
    pub fn kind(self) -> Kind {
        match self {
            Invariant::EveryBurnResolved
            | Invariant::EveryRequestTerminal
            | Invariant::NoStuckLeases => Kind::Liveness,
            _ => Kind::Safety,
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken invariant: what, for which settlement, and where it first broke.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// The settlement concerned, when one is.
    pub settlement: Option<SettlementId>,
    /// The number of the event at which it was first seen broken.
    pub event: u64,
    /// The true time of that event.
    pub time_us: Micros,
    /// What exactly was wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.invariant)?;
        if let Some(s) = self.settlement {
            write!(f, " [{s}]")?;
        }
        write!(
            f,
            " at event {} ({}): {}",
            self.event, self.time_us, self.detail
        )
    }
}

impl std::str::FromStr for Invariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Invariant, String> {
        Invariant::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown invariant `{s}`"))
    }
}
