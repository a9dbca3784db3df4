//! The money family, judged on the chains' ground truth: supply is conserved,
//! every mint or refund is backed by a final burn, every burn is resolved at
//! most once, and a refund only ever follows a final cancel. Each effect costs
//! O(1) (burns sit in a window per chain over its nonces); the supply
//! equation is checked after every step that changed supply. A burn whose
//! one resolution is final is retired once the store has forgotten its
//! settlement: the chains make a second resolution impossible (the slot is
//! spent, or final-Cancelled), and a refund without a final cancel is still
//! caught, by the slot it needs.

use super::invariant::{Invariant, Violation};
use crate::chain::{BurnMessage, Domain, Effect, MessageId, Nonce, UndoneEffect};
use crate::engine::{Grouped, GroupedWindows, Settlement, SettlementId, Window};
use crate::sim::{Micros, Step};

/// What the checkers may ask of the chains while judging an effect.
pub trait ChainsView {
    /// True if a transaction in block `height` of `domain` is final.
    fn is_final(&self, domain: Domain, height: u64) -> bool;
    /// Transactions of `domain` valid until before this, and the burns they
    /// made, are forgotten: past the chain's history.
    fn forgotten_before(&self, domain: Domain) -> Micros;
}

/// A burn's id: its source chain, and its nonce there (dense per chain).
impl Grouped for MessageId {
    fn group(self) -> u32 {
        self.source.0
    }
    fn member(self) -> u64 {
        self.nonce.0
    }
    fn from_parts(source: u32, nonce: u64) -> Self {
        MessageId {
            source: Domain(source),
            nonce: Nonce(nonce),
        }
    }
}

/// What the checker knows of one burn.
#[derive(Clone, Copy, Debug)]
pub struct BurnRecord {
    /// The message it emitted.
    pub message: BurnMessage,
    /// The source block holding the burn.
    pub height: u64,
    /// How many mints or refunds resolved it so far.
    pub resolutions: u32,
    /// The destination block of its mint, if minted.
    pub minted_at: Option<u64>,
    /// The source block of its refund, if refunded.
    pub refunded_at: Option<u64>,
    /// The destination block of its cancel, if cancelled.
    pub cancelled_at: Option<u64>,
}

/// Tracks burns and their resolutions.
pub struct MoneyChecker {
    initial_supply: u128,
    /// By message id: per source chain, a window over its nonces. Boxed, so
    /// a burn that stays unresolved for long pins its chain's window at eight
    /// bytes a later burn, not a whole record.
    burns: GroupedWindows<MessageId, Box<BurnRecord>>,
    /// Burns per settlement (by the memo), for `stage_truthful`'s Failed.
    by_settlement: Window<SettlementId, u32>,
    /// Σ amount of burns with no resolution yet.
    unresolved: u128,
    minted: u64,
    refunded: u64,
    /// Mints and refunds of messages no burn emitted.
    unbacked: u64,
    /// Burns settled for good and retired.
    retired: u64,
}

fn violation(invariant: Invariant, message: &BurnMessage, at: Step, detail: String) -> Violation {
    Violation {
        invariant,
        settlement: Some(SettlementId(message.memo)),
        event: at.n,
        time_us: at.time,
        detail,
    }
}

impl MoneyChecker {
    /// A checker for chains that start with `initial_supply` in all.
    pub fn new(initial_supply: u128) -> MoneyChecker {
        MoneyChecker {
            initial_supply,
            burns: GroupedWindows::default(),
            by_settlement: Window::new(),
            unresolved: 0,
            minted: 0,
            refunded: 0,
            unbacked: 0,
            retired: 0,
        }
    }

    /// Burns seen (and not undone), retired ones included.
    pub fn burned(&self) -> u64 {
        self.burns.len() as u64 + self.retired
    }

    /// Burns with no resolution.
    pub fn lost(&self) -> u64 {
        self.burns.values().filter(|b| b.resolutions == 0).count() as u64
    }

    /// Resolutions beyond the first, over all burns.
    pub fn duplicated(&self) -> u64 {
        self.burns
            .values()
            .map(|b| u64::from(b.resolutions.saturating_sub(1)))
            .sum()
    }

    /// Mints on the chains now.
    pub fn minted(&self) -> u64 {
        self.minted
    }

    /// Refunds on the chains now.
    pub fn refunded(&self) -> u64 {
        self.refunded
    }

    /// Mints and refunds of messages no burn emitted.
    pub fn unbacked(&self) -> u64 {
        self.unbacked
    }

    /// Burns that name settlement `id`.
    pub fn burns_of(&self, id: SettlementId) -> u32 {
        self.by_settlement.get(id).copied().unwrap_or(0)
    }

    /// The burn of message `id`, if any.
    pub fn burn(&self, id: &MessageId) -> Option<&BurnRecord> {
        self.burns.get(*id).map(|b| &**b)
    }

    /// Folds in one effect.
    pub fn on_effect(
        &mut self,
        effect: &Effect,
        chains: &dyn ChainsView,
        at: Step,
        violations: &mut Vec<Violation>,
    ) {
        match *effect {
            Effect::Burned { message, height } => {
                let record = BurnRecord {
                    message,
                    height,
                    resolutions: 0,
                    minted_at: None,
                    refunded_at: None,
                    cancelled_at: None,
                };
                let previous = self.burns.insert(message.id, Box::new(record));
                assert!(
                    previous.is_none(),
                    "chain emitted message {} twice",
                    message.id
                );
                *self
                    .by_settlement
                    .get_or_insert_with(SettlementId(message.memo), || 0) += 1;
                self.unresolved += u128::from(message.amount.0);
            }
            Effect::Minted {
                message, height, ..
            } => {
                self.minted += 1;
                self.resolve(message, chains, at, violations, "minted");
                if let Some(r) = self.burns.get_mut(message.id) {
                    r.minted_at = Some(height);
                }
            }
            Effect::Refunded { message, height } => {
                self.refunded += 1;
                let cancelled = self.burns.get(message.id).and_then(|r| r.cancelled_at);
                if !cancelled.is_some_and(|h| chains.is_final(message.dest, h)) {
                    let detail = format!(
                        "message {} refunded while its destination slot is not final-Cancelled",
                        message.id
                    );
                    violations.push(violation(
                        Invariant::RefundOnlyAfterCancel,
                        &message,
                        at,
                        detail,
                    ));
                }
                self.resolve(message, chains, at, violations, "refunded");
                if let Some(r) = self.burns.get_mut(message.id) {
                    r.refunded_at = Some(height);
                }
            }
            Effect::Cancelled { message, height } => {
                if let Some(r) = self.burns.get_mut(message.id) {
                    r.cancelled_at = Some(height);
                }
            }
            Effect::Undone(undone) => self.undo(undone),
        }
    }

    /// A mint or refund of `message`: it must be backed by a final burn, and
    /// be the burn's only resolution.
    fn resolve(
        &mut self,
        message: BurnMessage,
        chains: &dyn ChainsView,
        at: Step,
        violations: &mut Vec<Violation>,
        how: &str,
    ) {
        let Some(burn) = self.burns.get_mut(message.id) else {
            self.unbacked += 1;
            let detail = format!(
                "message {} {how} without any burn on record (none, or one settled and retired)",
                message.id
            );
            violations.push(violation(Invariant::NoUnbackedMint, &message, at, detail));
            return;
        };
        if burn.message != message || !chains.is_final(message.id.source, burn.height) {
            let detail = format!(
                "message {} {how} before its burn was final (or unlike it)",
                message.id
            );
            violations.push(violation(Invariant::NoUnbackedMint, &message, at, detail));
        }
        burn.resolutions += 1;
        if burn.resolutions == 1 {
            self.unresolved -= u128::from(burn.message.amount.0);
        } else {
            let detail = format!(
                "message {} {how}: its resolution number {}",
                message.id, burn.resolutions
            );
            violations.push(violation(
                Invariant::AtMostOneResolution,
                &message,
                at,
                detail,
            ));
        }
    }

    fn undo(&mut self, undone: UndoneEffect) {
        match undone {
            UndoneEffect::Burned(m) => {
                if let Some(r) = self.burns.remove(m.id) {
                    if r.resolutions == 0 {
                        self.unresolved -= u128::from(m.amount.0);
                    }
                    if let Some(n) = self.by_settlement.get_mut(SettlementId(m.memo)) {
                        *n -= 1;
                    }
                }
            }
            UndoneEffect::Minted(m) | UndoneEffect::Refunded(m) => {
                let minted = matches!(undone, UndoneEffect::Minted(_));
                if minted {
                    self.minted -= 1;
                } else {
                    self.refunded -= 1;
                }
                let Some(r) = self.burns.get_mut(m.id) else {
                    self.unbacked -= 1;
                    return;
                };
                if minted {
                    r.minted_at = None;
                } else {
                    r.refunded_at = None;
                }
                r.resolutions -= 1;
                if r.resolutions == 0 {
                    self.unresolved += u128::from(m.amount.0);
                }
            }
            UndoneEffect::Cancelled(m) => {
                if let Some(r) = self.burns.get_mut(m.id) {
                    r.cancelled_at = None;
                }
            }
        }
    }

    /// The store forgot `s`: retire its burn if its one resolution is final.
    pub fn on_forgotten(&mut self, s: &Settlement, chains: &dyn ChainsView) {
        self.by_settlement.remove(s.id);
        let Some(id) = s.message.map(|m| m.id) else {
            return;
        };
        let settled = self.burns.get(id).is_some_and(|r| {
            let minted = r.minted_at.map(|h| (r.message.dest, h));
            let refunded = r.refunded_at.map(|h| (r.message.id.source, h));
            r.resolutions == 1
                && minted
                    .or(refunded)
                    .is_some_and(|(domain, h)| chains.is_final(domain, h))
        });
        if settled {
            self.burns.remove(id);
            self.retired += 1;
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
            let detail = format!(
                "message {} has {} resolutions after healing",
                burn.message.id, burn.resolutions
            );
            violations.push(violation(
                Invariant::EveryBurnResolved,
                &burn.message,
                at,
                detail,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Address, Amount, Nonce, TxHash};
    use crate::engine::{IdempotencyKey, SettlementRequest, Stage};
    use crate::sim::NodeId;

    /// Chains on which every block is final.
    struct AllFinal;

    impl ChainsView for AllFinal {
        fn is_final(&self, _: Domain, _: u64) -> bool {
            true
        }
        fn forgotten_before(&self, _: Domain) -> Micros {
            Micros::ZERO
        }
    }

    fn at(n: u64) -> Step {
        Step {
            n,
            time: Micros(n),
            node: NodeId(0),
        }
    }

    #[test]
    fn a_settled_burn_is_retired_and_a_late_refund_still_caught() {
        // Proves a burn with a final mint is retired when its settlement is
        // forgotten (counts kept, nothing left unresolved), and that a refund
        // of it afterwards, with no cancel, is still a violation.
        let message = BurnMessage {
            id: MessageId {
                source: Domain(0),
                nonce: Nonce(3),
            },
            dest: Domain(1),
            sender: Address(0),
            recipient: Address(1),
            amount: Amount(50),
            memo: 7,
        };
        let mut checker = MoneyChecker::new(1_000);
        let mut violations = Vec::new();
        let burned = Effect::Burned { message, height: 1 };
        let minted = Effect::Minted {
            message,
            tx: TxHash(9),
            height: 2,
        };
        checker.on_effect(&burned, &AllFinal, at(1), &mut violations);
        checker.on_effect(&minted, &AllFinal, at(2), &mut violations);
        let request = SettlementRequest {
            source: Domain(0),
            dest: Domain(1),
            sender: Address(0),
            recipient: Address(1),
            amount: Amount(50),
        };
        let key = IdempotencyKey { client: 0, seq: 0 };
        let mut settlement = Settlement::new(SettlementId(7), key, request, 0);
        settlement.message = Some(message);
        settlement.stage = Stage::Completed;
        checker.on_forgotten(&settlement, &AllFinal);
        assert!(violations.is_empty(), "{violations:?}");
        assert!(checker.burn(&message.id).is_none(), "not retired");
        assert_eq!(
            (checker.burned(), checker.lost(), checker.minted()),
            (1, 0, 1)
        );
        let refunded = Effect::Refunded { message, height: 3 };
        checker.on_effect(&refunded, &AllFinal, at(3), &mut violations);
        assert_eq!(
            violations.first().map(|v| v.invariant),
            Some(Invariant::RefundOnlyAfterCancel)
        );
    }
}
