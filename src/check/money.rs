//! The money family, judged on the chains' ground truth: supply is conserved
//! and every burn is resolved at most once. Each effect costs O(log n); the
//! supply equation is checked after every step that changed supply.

use super::invariant::{Invariant, Violation};
use crate::chain::{BurnMessage, Effect, MessageId};
use crate::engine::SettlementId;
use crate::sim::Step;
use std::collections::BTreeMap;

/// What the checker knows of one burn.
#[derive(Clone, Copy, Debug)]
pub struct BurnRecord {
    /// The message it emitted.
    pub message: BurnMessage,
    /// How many mints or refunds resolved it so far.
    pub resolutions: u32,
}

/// Tracks burns and their resolutions.
pub struct MoneyChecker {
    initial_supply: u128,
    burns: BTreeMap<MessageId, BurnRecord>,
    /// Σ amount of burns with no resolution yet.
    unresolved: u128,
    minted: u64,
    /// Mints of messages no burn emitted.
    unbacked: u64,
}

impl MoneyChecker {
    /// A checker for chains that start with `initial_supply` in all.
    pub fn new(initial_supply: u128) -> MoneyChecker {
        MoneyChecker {
            initial_supply,
            burns: BTreeMap::new(),
            unresolved: 0,
            minted: 0,
            unbacked: 0,
        }
    }

    /// Every burn seen, by message.
    pub fn burns(&self) -> &BTreeMap<MessageId, BurnRecord> {
        &self.burns
    }

    /// Successful mints seen.
    pub fn minted(&self) -> u64 {
        self.minted
    }

    /// Mints of messages no burn emitted.
    pub fn unbacked(&self) -> u64 {
        self.unbacked
    }

    /// Folds in one supply change.
    pub fn on_effect(&mut self, effect: &Effect, at: Step, violations: &mut Vec<Violation>) {
        match *effect {
            Effect::Burned { message, .. } => {
                let previous = self.burns.insert(
                    message.id,
                    BurnRecord {
                        message,
                        resolutions: 0,
                    },
                );
                assert!(
                    previous.is_none(),
                    "chain emitted message {} twice",
                    message.id
                );
                self.unresolved += u128::from(message.amount.0);
            }
            Effect::Minted { message, tx } => {
                self.minted += 1;
                let Some(burn) = self.burns.get_mut(&message.id) else {
                    self.unbacked += 1;
                    return;
                };
                burn.resolutions += 1;
                if burn.resolutions == 1 {
                    self.unresolved -= u128::from(burn.message.amount.0);
                } else {
                    violations.push(Violation {
                        invariant: Invariant::AtMostOneResolution,
                        settlement: Some(SettlementId(message.memo)),
                        event: at.n,
                        time_us: at.time,
                        detail: format!(
                            "message {} resolved {} times (mint tx {tx})",
                            message.id, burn.resolutions
                        ),
                    });
                }
            }
        }
    }

    /// Checks Σ supply + unresolved = initial, given the chains' Σ supply now.
    pub fn check_supply(&self, total_supply: u128, at: Step, violations: &mut Vec<Violation>) {
        let accounted = total_supply + self.unresolved;
        if accounted != self.initial_supply {
            violations.push(Violation {
                invariant: Invariant::SupplyConserved,
                settlement: None,
                event: at.n,
                time_us: at.time,
                detail: format!(
                    "supply {total_supply} + unresolved burns {} = {accounted}, expected {}",
                    self.unresolved, self.initial_supply
                ),
            });
        }
    }

    /// Liveness: after healing, every burn has exactly one resolution.
    pub fn check_all_resolved(&self, at: Step, violations: &mut Vec<Violation>) {
        for burn in self.burns.values().filter(|b| b.resolutions != 1) {
            violations.push(Violation {
                invariant: Invariant::EveryBurnResolved,
                settlement: Some(SettlementId(burn.message.memo)),
                event: at.n,
                time_us: at.time,
                detail: format!(
                    "message {} has {} resolutions after healing",
                    burn.message.id, burn.resolutions
                ),
            });
        }
    }
}
