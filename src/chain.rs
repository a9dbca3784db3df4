//! The environment: simulated chains after Circle's CCTP contracts (plus a
//! cancel-and-refund path for the saga), and the attestation service. Ground
//! truth lives here; the checkers judge the engine against it.

pub mod attester;
pub mod ledger;
pub mod node;
pub mod receipt;
pub mod rpc;
pub mod types;

pub use attester::{Attester, AttesterReply, AttesterRequest};
pub use ledger::{ChainParams, Ledger, MempoolFaults};
pub use node::ChainNode;
pub use receipt::{
    ChainClock, Effect, Lookup, Outcome, Receipt, Revert, SlotState, Submitted, TxState,
    UndoneEffect,
};
pub use rpc::{ChainFault, ChainReply, ChainRequest, ChainTimer};
pub use types::{
    Address, Amount, Attestation, BurnMessage, Domain, MessageId, Nonce, Tx, TxBody, TxHash,
};
