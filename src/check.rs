//! Invariant checkers. They judge the chains' ground truth first, then hold
//! the engine's claims (store writes, acknowledgements) against it. Safety
//! invariants are checked incrementally after every step; liveness ones after
//! the heal phase. One file per family.

pub mod durability;
pub mod history;
pub mod invariant;
pub mod leases;
pub mod money;
pub mod summary;

pub use invariant::{Invariant, Kind, Violation};
pub use summary::Summary;

use crate::chain::{Effect, UndoneEffect};
use crate::engine::{
    ClientEffect, Settlement, SettlementId, ShardId, Sharding, Stage, Store, StoreEffect,
};
use crate::sim::Step;
use crate::sim::{Micros, NodeId};
use durability::DurabilityChecker;
use history::HistoryChecker;
use leases::LeaseChecker;
pub use money::ChainsView;
use money::MoneyChecker;

/// All checkers of a run, fed with the effects of each step.
pub struct Checker {
    money: MoneyChecker,
    history: HistoryChecker,
    durability: DurabilityChecker,
    leases: LeaseChecker,
    violations: Vec<Violation>,
}

impl Checker {
    /// A checker for chains holding `initial_supply` in all, with leases
    /// taken on the shards of `sharding`.
    pub fn new(initial_supply: u128, sharding: Sharding) -> Checker {
        Checker {
            money: MoneyChecker::new(initial_supply),
            history: HistoryChecker::default(),
            durability: DurabilityChecker::default(),
            leases: LeaseChecker::new(sharding),
            violations: Vec::new(),
        }
    }

    /// Folds in a chain's effect; `chains` answers finality questions.
    pub fn on_chain(&mut self, effect: &Effect, chains: &dyn ChainsView, at: Step) {
        match effect {
            Effect::Burned { message, .. } => {
                self.history.on_burn(message, at, &mut self.violations)
            }
            Effect::Undone(UndoneEffect::Burned(message)) => self.history.on_burn_undone(message),
            _ => {}
        }
        self.money
            .on_effect(effect, chains, at, &mut self.violations);
    }

    /// Checks the supply equation against the chains' Σ supply now.
    pub fn check_supply(&mut self, total_supply: u128, at: Step) {
        self.money
            .check_supply(total_supply, at, &mut self.violations);
    }

    /// Folds in one event of the store's history; `store` is read only on
    /// recovery, for the table it rebuilt.
    pub fn on_store(
        &mut self,
        effect: &StoreEffect,
        store: &Store,
        chains: &dyn ChainsView,
        at: Step,
    ) {
        match effect {
            StoreEffect::Written {
                before,
                settlement,
                writer,
            } => {
                self.history
                    .on_written(*before, settlement, at, &mut self.violations);
                self.durability.on_written(settlement);
                self.leases
                    .on_written(settlement.id, *writer, at, &mut self.violations);
                if settlement.stage.is_terminal() && *before != Some(settlement.stage) {
                    self.check_truthful(settlement, chains, at);
                }
            }
            StoreEffect::Acknowledged { id, version } => {
                self.durability.on_acknowledged(*id, *version)
            }
            StoreEffect::Recovered => {
                self.durability
                    .on_recovered(store, at, &mut self.violations);
                self.history.on_recovered(store.settlements(), at.time);
                self.leases.on_recovered(store.settlements());
            }
            StoreEffect::Forgotten { settlement } => {
                self.durability
                    .on_forgotten(settlement, at, &mut self.violations);
                self.history.on_forgotten(settlement);
                self.money.on_forgotten(settlement, chains);
                self.leases.on_forgotten(settlement.id);
            }
            StoreEffect::FloorRaised { client, floor } => {
                self.history
                    .on_floor_raised(*client, *floor, at, &mut self.violations)
            }
        }
    }

    /// stage_truthful: a terminal stage must say what the chains say.
    fn check_truthful(&mut self, s: &Settlement, chains: &dyn ChainsView, at: Step) {
        let record = s.message.and_then(|m| self.money.burn(&m.id));
        let (truthful, claim) = match s.stage {
            Stage::Completed => (
                record
                    .and_then(|r| r.minted_at)
                    .is_some_and(|h| chains.is_final(s.request.dest, h)),
                "a final mint",
            ),
            Stage::Refunded => (
                record
                    .and_then(|r| r.refunded_at)
                    .is_some_and(|h| chains.is_final(s.request.source, h)),
                "a final refund",
            ),
            Stage::Failed => (self.money.burns_of(s.id) == 0, "no burn"),
            _ => return,
        };
        if !truthful {
            self.violations.push(Violation {
                invariant: Invariant::StageTruthful,
                settlement: Some(s.id),
                event: at.n,
                time_us: at.time,
                detail: format!("stored as {:?}, but the chains show no {claim}", s.stage),
            });
        }
    }

    /// Folds in what a client saw.
    pub fn on_client(&mut self, effect: &ClientEffect, at: Step) {
        self.history.on_client(effect, at, &mut self.violations);
    }

    /// The lease service granted or extended a lease, valid until
    /// `expires_at` in true time.
    pub fn on_lease_granted(
        &mut self,
        shard: ShardId,
        holder: NodeId,
        token: u64,
        expires_at: Micros,
        at: Step,
    ) {
        self.leases
            .on_granted(shard, holder, token, at.time, expires_at);
    }

    /// A lease ended.
    pub fn on_lease_released(&mut self, shard: ShardId, token: u64, at: Step) {
        self.leases.on_released(shard, token, at.time);
    }

    /// The lease service restarted.
    pub fn on_lease_service_restarted(&mut self, at: Step) {
        self.leases.on_service_restarted(at.time);
    }

    /// A worker decided to act on a settlement under a lease token.
    pub fn on_acting(&mut self, id: SettlementId, worker: NodeId, token: u64, at: Step) {
        self.leases
            .on_acting(id, worker, token, at, &mut self.violations);
    }

    /// Judges the liveness invariants; call once, after the heal phase.
    /// `store` and `chains` tell which unfinished settlements only an
    /// operator can settle now.
    pub fn check_liveness(&mut self, at: Step, store: &Store, chains: &dyn ChainsView) {
        self.leases.check_none_stuck(at, &mut self.violations);
        self.money.check_all_resolved(at, &mut self.violations);
        // The stages whose next step needs the source chain's record of the
        // burn: its fate, its attestation, the refund (a mint or a cancel
        // does not, so those stages get no such note).
        let beyond_history = |id| {
            let s = store.settlement(id)?;
            let needs_burn_record = matches!(
                s.stage,
                Stage::BurnSigned
                    | Stage::BurnSubmitted
                    | Stage::BurnFinal
                    | Stage::Cancelled
                    | Stage::RefundSigned
            );
            let forgotten = s.burn_tx?.valid_until < chains.forgotten_before(s.request.source);
            (needs_burn_record && forgotten).then_some(
                "; its burn has passed out of the source chain's history, which its next step needs: only an operator can settle it now",
            )
        };
        self.history
            .check_all_terminal(at, beyond_history, &mut self.violations);
    }

    /// Judges durability against `store` as a crash at the end would leave
    /// it (see
    /// [`crate::world::actors::Actors::store_if_crashed_now`]): whether or
    /// not the seed crashed the store, nothing acknowledged may be lost.
    pub fn check_durable_at_end(&mut self, at: Step, store: &Store) {
        self.durability
            .on_recovered(store, at, &mut self.violations);
    }

    /// Judges a run its event cap stopped (see
    /// [`HistoryChecker::check_cut_short`]) in place of
    /// [`Checker::check_liveness`].
    pub fn check_cut_short(&mut self, at: Step, max_events: u64) {
        self.history
            .check_cut_short(at, max_events, &mut self.violations);
    }

    /// When the store last created a settlement or moved one to a new stage:
    /// the heal phase runs on while that keeps happening.
    pub fn last_progress(&self) -> Micros {
        self.history.last_progress()
    }

    /// True once any safety invariant broke.
    pub fn safety_broken(&self) -> bool {
        self.violations
            .iter()
            .any(|v| v.invariant.kind() == Kind::Safety)
    }

    /// Every violation so far, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The Jepsen-style summary of the run so far.
    pub fn summary(&self) -> Summary {
        Summary {
            requested: self.history.requested(),
            completed: self.history.count_at(Stage::Completed),
            failed: self.history.count_at(Stage::Failed),
            burned: self.money.burned(),
            minted: self.money.minted(),
            refunded: self.money.refunded(),
            lost: self.money.lost(),
            duplicated: self.money.duplicated(),
            unexpected: self.history.unexpected_burns() + self.money.unbacked(),
        }
    }
}
