//! The end-of-run summary, in the style of Jepsen's total-queue checker: what
//! was asked for, what the chains did, and what went missing or doubled.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Counts over one run, judged on ground truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Settlements the store accepted.
    pub requested: u64,
    /// Settlements that reached Completed.
    pub completed: u64,
    /// Settlements that reached Failed (nothing burned).
    pub failed: u64,
    /// Successful burns on the chains.
    pub burned: u64,
    /// Successful mints on the chains.
    pub minted: u64,
    /// Refunds on the chains.
    pub refunded: u64,
    /// Burns with no mint and no refund at the end.
    pub lost: u64,
    /// Resolutions beyond the first of a burn.
    pub duplicated: u64,
    /// Burns no accepted request asked for, and mints no burn backs.
    pub unexpected: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  requested   {:>8}   completed {:>8}   failed {:>8}",
            self.requested, self.completed, self.failed
        )?;
        writeln!(
            f,
            "  burned      {:>8}   minted    {:>8}   refunded {:>6}",
            self.burned, self.minted, self.refunded
        )?;
        write!(
            f,
            "  lost        {:>8}   duplicated {:>7}   unexpected {:>4}",
            self.lost, self.duplicated, self.unexpected
        )
    }
}
