//! The one message type of a settlesim run: every protocol's requests,
//! replies and timers, wrapped so the kernel can carry them.

use crate::chain::{AttesterReply, AttesterRequest, ChainReply, ChainRequest, ChainTimer};
use crate::engine::{
    ClientTimer, LockReply, LockRequest, StoreNotice, StoreReply, StoreRequest, StoreTimer,
    WorkerTimer,
};
use crate::sim::EventKind;
use serde::Serialize;

/// Declares [`Msg`] from one list of (variant, payload type): the enum, a
/// `From` per payload, and [`Msg::kind`], so a new protocol is added once.
macro_rules! messages {
    ($($(#[$doc:meta])* $variant:ident($ty:ty)),* $(,)?) => {
        /// Everything that crosses the simulated network or fires as a timer.
        #[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, strum::IntoStaticStr)]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum Msg {
            $($(#[$doc])* $variant($ty),)*
        }

        $(impl From<$ty> for Msg {
            fn from(m: $ty) -> Msg {
                Msg::$variant(m)
            }
        })*

        impl Msg {
            /// What kind of event this is: the protocol and the variant,
            /// e.g. `("store", "advance")`.
            pub fn kind(&self) -> EventKind {
                let variant: &'static str = match self {
                    $(Msg::$variant(m) => m.into(),)*
                };
                (self.into(), variant)
            }
        }
    };
}

messages!(
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
);
