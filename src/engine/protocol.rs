//! What crosses the network to and from the store.

use super::settlement::{
    Advance, IdempotencyKey, Settlement, SettlementId, SettlementRequest, Stage,
};
use super::shard::ShardSet;
use crate::sim::RequestId;
use serde::{Deserialize, Serialize};

/// Which unfinished settlements a scan of the store asks for. A worker
/// scans those under way before the rest, so that a settlement whose burn
/// may be on chain never waits behind a backlog of ones not yet started:
/// waiting, its burn could age out of the source chain's history.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanPass {
    /// Settlements under way ([`Stage::is_under_way`]).
    UnderWay,
    /// Every unfinished settlement.
    All,
}

impl ScanPass {
    /// The pass that follows this one.
    pub fn other(self) -> ScanPass {
        match self {
            ScanPass::UnderWay => ScanPass::All,
            ScanPass::All => ScanPass::UnderWay,
        }
    }
}

/// A call to the store.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "call", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StoreRequest {
    /// initiate_settlement(key, request): idempotent on the key.
    Initiate {
        /// Correlation id.
        req: RequestId,
        /// The caller's idempotency key.
        key: IdempotencyKey,
        /// What is asked.
        request: SettlementRequest,
    },
    /// Non-terminal settlements of the asker's shards with an id from `from`
    /// on, oldest first: the work its shard leases make its own.
    Runnable {
        /// Correlation id.
        req: RequestId,
        /// Only the settlements under way, or all of them.
        pass: ScanPass,
        /// Resume the scan at this id.
        from: SettlementId,
        /// The most to return.
        limit: u32,
        /// Only settlements of these shards (the ones the asker leases).
        shards: ShardSet,
    },
    /// Read one settlement.
    Get {
        /// Correlation id.
        req: RequestId,
        /// Which.
        id: SettlementId,
    },
    /// Take over a settlement: compare-and-set on `version`, and `token`
    /// must be newer than every token the settlement has seen. The token
    /// becomes its fence. (PENDING → PROCESSING, in other words.)
    Claim {
        /// Correlation id.
        req: RequestId,
        /// Which settlement.
        id: SettlementId,
        /// The version the caller read.
        version: u64,
        /// The caller's fencing token.
        token: u64,
    },
    /// Apply `step` only if the settlement is still at `stage` and `fence` is
    /// not older than the settlement's fence.
    Advance {
        /// Correlation id.
        req: RequestId,
        /// Which settlement.
        id: SettlementId,
        /// The stage the caller read.
        stage: Stage,
        /// The caller's fencing token (0 when no lease is held).
        fence: u64,
        /// The step.
        step: Advance,
    },
}

/// The store's answer.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StoreReply {
    /// The key maps to this settlement (new or existing), durably.
    Initiated {
        /// Correlation id.
        req: RequestId,
        /// The settlement.
        id: SettlementId,
    },
    /// The key is already used for a different request.
    KeyConflict {
        /// Correlation id.
        req: RequestId,
        /// The settlement the key belongs to.
        existing: SettlementId,
    },
    /// The key's settlement was settled and forgotten, or the key was never
    /// seen and its client's later keys were: it will never be acted on.
    KeyExpired {
        /// Correlation id.
        req: RequestId,
    },
    /// A page of non-terminal settlements.
    Runnable {
        /// Correlation id.
        req: RequestId,
        /// The page.
        settlements: Vec<Settlement>,
    },
    /// One settlement, if it exists.
    Found {
        /// Correlation id.
        req: RequestId,
        /// The settlement.
        settlement: Option<Box<Settlement>>,
    },
    /// The step was applied; the settlement now has this version.
    Advanced {
        /// Correlation id.
        req: RequestId,
        /// Which settlement.
        id: SettlementId,
        /// Its new version.
        version: u64,
    },
    /// The compare failed or the fence was stale: here is the current state.
    Conflict {
        /// Correlation id.
        req: RequestId,
        /// The settlement as stored.
        current: Box<Settlement>,
    },
}

/// Unsolicited messages from the store to workers.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "notice", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StoreNotice {
    /// A new settlement is waiting; a hint, so workers need not poll hard.
    WorkAvailable {
        /// The new settlement.
        settlement: Box<Settlement>,
    },
}
