//! The one message type of a settlesim run: every protocol's requests,
//! replies and timers, wrapped so the kernel can carry them.

use crate::chain::{AttesterReply, AttesterRequest, ChainReply, ChainRequest, ChainTimer};
use crate::engine::{
    ClientTimer, LockReply, LockRequest, StoreNotice, StoreReply, StoreRequest, StoreTimer,
    WorkerTimer,
};
use crate::sim::EventKind;
use serde::Serialize;

/// Everything that crosses the simulated network or fires as a timer.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Msg {
    /// To the store.
    Store(StoreRequest),
    /// From the store.
    StoreReply(StoreReply),
    /// From the store, unsolicited.
    StoreNotice(StoreNotice),
    /// To a chain.
    Chain(ChainRequest),
    /// From a chain.
    ChainReply(ChainReply),
    /// To the attester.
    Attester(AttesterRequest),
    /// From the attester.
    AttesterReply(AttesterReply),
    /// A client's timer.
    ClientTimer(ClientTimer),
    /// A worker's timer.
    WorkerTimer(WorkerTimer),
    /// A chain's timer.
    ChainTimer(ChainTimer),
    /// The store's timer.
    StoreTimer(StoreTimer),
    /// To the lease service.
    Lock(LockRequest),
    /// From the lease service.
    LockReply(LockReply),
}

impl Msg {
    /// What kind of event this is: the protocol and the variant, e.g.
    /// `("store", "advance")`.
    pub fn kind(&self) -> EventKind {
        let variant: &'static str = match self {
            Msg::Store(m) => m.into(),
            Msg::StoreReply(m) => m.into(),
            Msg::StoreNotice(m) => m.into(),
            Msg::Chain(m) => m.into(),
            Msg::ChainReply(m) => m.into(),
            Msg::Attester(m) => m.into(),
            Msg::AttesterReply(m) => m.into(),
            Msg::ClientTimer(m) => m.into(),
            Msg::WorkerTimer(m) => m.into(),
            Msg::ChainTimer(m) => m.into(),
            Msg::StoreTimer(m) => m.into(),
            Msg::Lock(m) => m.into(),
            Msg::LockReply(m) => m.into(),
        };
        (self.into(), variant)
    }
}

macro_rules! wrap {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Msg {
            fn from(m: $ty) -> Msg {
                Msg::$variant(m)
            }
        })*
    };
}

wrap!(
    Store(StoreRequest),
    StoreReply(StoreReply),
    StoreNotice(StoreNotice),
    Chain(ChainRequest),
    ChainReply(ChainReply),
    Attester(AttesterRequest),
    AttesterReply(AttesterReply),
    ClientTimer(ClientTimer),
    WorkerTimer(WorkerTimer),
    ChainTimer(ChainTimer),
    StoreTimer(StoreTimer),
    Lock(LockRequest),
    LockReply(LockReply),
);
