//! The catalog of planted defects: named, documented bugs the engine can be
//! built with at run time. The harness is only as good as the bugs it finds:
//! with none switched on no seed may fail; with any one on, the campaign of
//! its home scenario (the default, for all but two) must find it and name
//! the right invariant.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One planted defect.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// The store keeps idempotency keys in memory only: after a store crash a
    /// retried key creates a second settlement.
    IdempotencyInMemory,
    /// The store acknowledges writes before they are synced: a crash loses
    /// writes callers were told are durable.
    AckBeforeFsync,
    /// Workers broadcast a burn before its signing is durable: after a crash
    /// the settlement is signed, and burned, again.
    BroadcastBeforePersist,
    /// A worker resuming an in-flight burn signs a fresh one instead of
    /// re-broadcasting the persisted transaction.
    RetryFromScratch,
    /// The store's recovery trusts records without verifying checksums.
    WalNoChecksum,
    /// A worker claims a settlement by reading it, then writing blindly: the
    /// claim is no compare-and-set, so a stale worker can claim over a newer one.
    StatusCheckThenAct,
    /// Workers take no lease at all: every worker acts on every settlement.
    LockNone,
    /// Leases never expire: a holder that crashes blocks its settlement forever.
    LockNoTtl,
    /// The store ignores fencing tokens: a paused worker whose lease expired
    /// still gets its writes in.
    NoFencing,
    /// Workers never compensate: a mint the destination rejects for good is
    /// retried forever and the burn is never refunded.
    NoCompensation,
    /// A mint that times out is refunded straight away (by the operator, with
    /// no cancel): if the mint had in fact landed, the burn is paid twice.
    CompensateOnTimeout,
    /// Workers take a fast (pre-finality) attestation: a reorg can then take
    /// the burn back after its mint.
    MintBeforeFinality,
    /// The store times key retention from a settlement's creation instead of
    /// its end, so it forgets settlements still in flight.
    RetentionFromCreation,
    /// The store keeps its expired keys in memory only (the snapshot leaves
    /// them out): after a restart, a late retry of a forgotten key is taken
    /// for a new request.
    ExpiryInMemory,
    /// A worker that finds its burn still pending replaces it with a newly
    /// signed one at once, instead of waiting until it lands or the chain
    /// says it expired: both can land.
    ReplaceBeforeExpiry,
    /// A worker counts its lease from when the grant arrives, not from when
    /// it asked: a grant held up on the way (a pause, a slow link) leaves it
    /// acting after the service has let the lease go.
    LeaseFromReply,
    /// A worker told its burn is not seen takes it for dropped and replaces
    /// it at once, instead of re-broadcasting it until the chain's clock
    /// says it expired: the node asked may only not have heard of it yet.
    UnseenAsDropped,
    /// The store retries a failed fsync as if the writes were still cached:
    /// the kernel dropped them, and the retry's success acknowledges them.
    FsyncRetry,
    /// A worker judges a transaction the node asked has not seen against the
    /// newest chain time it has heard, not the clock that node answered
    /// with: a node behind the head has not synced the block that includes
    /// it, and the replacement lands too.
    ExpiryByNewestClock,
    /// The lease service starts granting as soon as it restarts, instead of
    /// waiting out one TTL: leases it granted before its crash, which it
    /// has forgotten, may still be held, and a second worker is granted
    /// the same shard.
    LockRestartNoGrace,
    /// The lease service judges expiry by its wall clock, not its monotonic
    /// one: a step forward (an NTP correction, a VM migration) ends every
    /// lease early, and the shard goes to a second worker while the first
    /// still holds it.
    LeaseByWallClock,
}

impl Defect {
    /// Every defect, in catalog order.
    pub const ALL: [Defect; 21] = [
        Defect::IdempotencyInMemory,
        Defect::AckBeforeFsync,
        Defect::BroadcastBeforePersist,
        Defect::RetryFromScratch,
        Defect::WalNoChecksum,
        Defect::StatusCheckThenAct,
        Defect::LockNone,
        Defect::LockNoTtl,
        Defect::NoFencing,
        Defect::NoCompensation,
        Defect::CompensateOnTimeout,
        Defect::MintBeforeFinality,
        Defect::RetentionFromCreation,
        Defect::ExpiryInMemory,
        Defect::ReplaceBeforeExpiry,
        Defect::LeaseFromReply,
        Defect::UnseenAsDropped,
        Defect::FsyncRetry,
        Defect::ExpiryByNewestClock,
        Defect::LockRestartNoGrace,
        Defect::LeaseByWallClock,
    ];

    /// The defect's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Defect::IdempotencyInMemory => "idempotency-in-memory",
            Defect::AckBeforeFsync => "ack-before-fsync",
            Defect::BroadcastBeforePersist => "broadcast-before-persist",
            Defect::RetryFromScratch => "retry-from-scratch",
            Defect::WalNoChecksum => "wal-no-checksum",
            Defect::StatusCheckThenAct => "status-check-then-act",
            Defect::LockNone => "lock-none",
            Defect::LockNoTtl => "lock-no-ttl",
            Defect::NoFencing => "no-fencing",
            Defect::NoCompensation => "no-compensation",
            Defect::CompensateOnTimeout => "compensate-on-timeout",
            Defect::MintBeforeFinality => "mint-before-finality",
            Defect::RetentionFromCreation => "retention-from-creation",
            Defect::ExpiryInMemory => "expiry-in-memory",
            Defect::ReplaceBeforeExpiry => "replace-before-expiry",
            Defect::LeaseFromReply => "lease-from-reply",
            Defect::UnseenAsDropped => "unseen-as-dropped",
            Defect::FsyncRetry => "fsync-retry",
            Defect::ExpiryByNewestClock => "expiry-by-newest-clock",
            Defect::LockRestartNoGrace => "lock-restart-no-grace",
            Defect::LeaseByWallClock => "lease-by-wall-clock",
        }
    }

    /// What the defect does and what it breaks, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Defect::IdempotencyInMemory => "idempotency keys live only in the store's memory; a retry after a store crash creates a second settlement and a second burn",
            Defect::AckBeforeFsync => "the store acknowledges writes before fsync; a crash loses acknowledged writes",
            Defect::BroadcastBeforePersist => "workers broadcast the burn before its signing is durable; a crash leads to a second, differently signed burn",
            Defect::RetryFromScratch => "a worker resuming an in-flight burn signs a new one instead of re-broadcasting the persisted transaction",
            Defect::WalNoChecksum => "WAL recovery skips checksums and accepts a corrupt record as state",
            Defect::StatusCheckThenAct => "the claim reads the settlement, then writes blindly instead of compare-and-set; a stale worker claims over a newer one",
            Defect::LockNone => "workers take no lease; several act on one settlement at once",
            Defect::LockNoTtl => "leases never expire; a settlement whose holder crashed is stuck forever",
            Defect::NoFencing => "the store ignores fencing tokens; a worker paused past its lease still writes",
            Defect::NoCompensation => "a mint rejected for good is retried forever; the burn is never refunded",
            Defect::CompensateOnTimeout => "a mint that times out is refunded without a cancel; if it had landed, the burn is paid twice",
            Defect::MintBeforeFinality => "mints on a pre-finality attestation; a reorg can take the burn back after the mint",
            Defect::RetentionFromCreation => "the store starts a key's retention at creation, not at the end; it forgets settlements still in flight",
            Defect::ExpiryInMemory => "the snapshot leaves out the expired keys; after a restart a late retry of a forgotten key settles again",
            Defect::ReplaceBeforeExpiry => "a burn still pending is replaced by a newly signed one at once, not once the chain says it expired; both land",
            Defect::LeaseFromReply => "a worker times its lease from the grant's arrival, not its request; a grant held up on the way lets it act after the lease has gone to another",
            Defect::UnseenAsDropped => "a burn the node asked has not seen is taken for dropped and replaced at once, not once the chain says it expired; the original, pending elsewhere, lands too",
            Defect::FsyncRetry => "a failed fsync is retried as if the writes were still cached; they were dropped, and the retry's success acknowledges writes no crash will find",
            Defect::ExpiryByNewestClock => "a transaction the node asked has not seen is judged expired by the newest chain time heard, not the node's own clock; a node behind the head has not synced its block, and the replacement lands too",
            Defect::LockRestartNoGrace => "the lease service grants as soon as it restarts, not after one TTL; a lease it granted before its crash and forgot is still held, and a second worker gets the same shard",
            Defect::LeaseByWallClock => "the lease service judges expiry by its wall clock, not its monotonic one; a clock stepped forward ends leases early, and a second worker gets a shard the first still holds",
        }
    }

    /// The shipped scenario the detection matrix hunts this defect on: the
    /// default, unless the bug can only show in a window the default leaves
    /// too narrow. A transaction judged expired by a clock newer than the
    /// answering node's can only burn twice where a transaction lives less
    /// long than its block takes to be final: `pile-up`'s 70 s against the
    /// 72 s of its slowest chain (the default's transactions live 120 s).
    /// A lease service's wall clock stepped forward hands a shard to a
    /// second worker only where a step is long against a lease: `pile-up`
    /// steps clocks by up to 10 s against 3.2 s leases, the default by up
    /// to 5 s against 20 s.
    pub fn home_scenario(self) -> HomeScenario {
        match self {
            Defect::ExpiryByNewestClock | Defect::LeaseByWallClock => HomeScenario::PileUp,
            _ => HomeScenario::Default,
        }
    }

    /// The invariant a campaign should name when it finds this defect.
    pub fn expected_invariant(self) -> &'static str {
        match self {
            Defect::IdempotencyInMemory => "same_key_same_outcome",
            Defect::AckBeforeFsync => "acknowledged_durable",
            Defect::BroadcastBeforePersist => "at_most_one_burn_per_intent",
            Defect::RetryFromScratch => "at_most_one_burn_per_intent",
            Defect::WalNoChecksum => "acknowledged_durable",
            Defect::StatusCheckThenAct => "fencing_monotonic",
            Defect::LockNone => "lease_exclusive",
            Defect::LockNoTtl => "no_stuck_leases",
            Defect::NoFencing => "fencing_monotonic",
            Defect::NoCompensation => "every_burn_resolved",
            Defect::CompensateOnTimeout => "refund_only_after_cancel",
            Defect::MintBeforeFinality => "no_unbacked_mint",
            Defect::RetentionFromCreation => "acknowledged_durable",
            Defect::ExpiryInMemory => "same_key_same_outcome",
            Defect::ReplaceBeforeExpiry => "at_most_one_burn_per_intent",
            Defect::LeaseFromReply => "lease_exclusive",
            Defect::UnseenAsDropped => "at_most_one_burn_per_intent",
            Defect::FsyncRetry => "acknowledged_durable",
            Defect::ExpiryByNewestClock => "at_most_one_burn_per_intent",
            Defect::LockRestartNoGrace => "lease_exclusive",
            Defect::LeaseByWallClock => "lease_exclusive",
        }
    }
}

/// Where the detection matrix hunts a defect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HomeScenario {
    /// The built-in default.
    Default,
    /// `sims/pile-up.json` (built in as well).
    PileUp,
}

impl HomeScenario {
    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            HomeScenario::Default => "default",
            HomeScenario::PileUp => "pile-up",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = String;
    fn from_str(s: &str) -> Result<Defect, String> {
        Defect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown defect `{s}` (known: {})",
                    names(&Defect::ALL, ", ")
                )
            })
    }
}

/// The defects' names, in order, joined by `separator`. Kept out of line:
/// inlined into the parse above, its pushes, unrolled over the whole catalog
/// beside the parse's unrolled search, made LLVM's constraint elimination
/// superlinear, and at 21 defects that one function, with the test that
/// parses every name, took 16 of a release test build's CPU-minutes.
#[cold]
#[inline(never)]
pub fn names(list: &[Defect], separator: &str) -> String {
    let names: Vec<&str> = list.iter().map(|d| d.name()).collect();
    names.join(separator)
}

/// A set of switched-on defects.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Defects(u32);

impl Defects {
    /// No defects: the correct engine.
    pub const NONE: Defects = Defects(0);

    /// The set holding exactly `list`.
    pub fn of(list: &[Defect]) -> Defects {
        Defects(list.iter().fold(0, |bits, d| bits | (1 << *d as u32)))
    }

    /// True if `defect` is switched on.
    pub fn has(self, defect: Defect) -> bool {
        self.0 & (1 << defect as u32) != 0
    }

    /// The switched-on defects, in catalog order.
    pub fn list(self) -> Vec<Defect> {
        Defect::ALL.into_iter().filter(|d| self.has(*d)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_catalog() {
        // Proves every defect parses from its name and a typo names the options.
        for d in Defect::ALL {
            assert_eq!(d.name().parse::<Defect>(), Ok(d));
        }
        let e = "ack-before-sync".parse::<Defect>().unwrap_err();
        assert!(e.contains("ack-before-fsync"), "{e}");
    }

    #[test]
    fn names_join_a_list_in_its_order() {
        // Proves the join a repro file's name and `run`'s report use: each
        // name once, in the list's order, the separator only between them.
        let list = [Defect::LockNone, Defect::AckBeforeFsync];
        assert_eq!(names(&list, "+"), "lock-none+ack-before-fsync");
        assert_eq!(names(&list[..1], ", "), "lock-none");
        assert_eq!(names(&[], "+"), "");
    }

    #[test]
    fn sets_hold_exactly_their_members() {
        // Proves the bit set neither drops nor invents members.
        let set = Defects::of(&[Defect::WalNoChecksum, Defect::AckBeforeFsync]);
        assert!(set.has(Defect::WalNoChecksum));
        assert!(!set.has(Defect::RetryFromScratch));
        assert_eq!(
            set.list(),
            vec![Defect::AckBeforeFsync, Defect::WalNoChecksum]
        );
        assert_eq!(Defects::NONE.list(), vec![]);
    }
}
