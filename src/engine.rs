//! The system under test: the settlement engine. Clients submit requests to
//! the store; workers drive each settlement from its persisted recovery point
//! through burn, finality, attestation and mint.

pub mod client;
pub mod protocol;
pub mod settlement;
pub mod shard;
pub mod store;
pub mod window;
pub mod worker;

pub use client::{Client, ClientConfig, ClientEffect, ClientTimer};
pub use protocol::{ScanPass, StoreNotice, StoreReply, StoreRequest};
pub use settlement::{
    Advance, IdempotencyKey, Leg, Settlement, SettlementId, SettlementRequest, SignedTx, Stage,
};
pub use shard::{ShardId, ShardSet, Sharding, MAX_SHARDS};
pub use store::{Store, StoreConfig, StoreDisk, StoreEffect, StoreTimer, Writer};
pub use window::{DenseId, Window};
pub use worker::{Peers, Worker, WorkerConfig, WorkerEffect, WorkerTimer};
pub mod codec;
pub mod defects;
pub mod expired_keys;
pub mod grouped_window;
pub mod lock;
pub mod wal;
pub use defects::{Defect, Defects, HomeScenario};
pub use expired_keys::{ExpiredByClient, ExpiredKeys};
pub use grouped_window::{Grouped, GroupedWindows, KeyTable};
pub use lock::{LockEffect, LockReply, LockRequest, LockService};
