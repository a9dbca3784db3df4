//! The environment: simulated chains after Circle's CCTP contracts, and the
//! attestation service. Ground truth lives here; the checkers judge the
//! engine against it.

pub mod attester;
pub mod ledger;
pub mod node;
pub mod rpc;
pub mod types;

pub use attester::{Attester, AttesterReply, AttesterRequest};
pub use ledger::{
    ChainParams, Effect, Ledger, Outcome, Receipt, Revert, SlotState, Submitted, TxState,
};
pub use node::ChainNode;
pub use rpc::{ChainReply, ChainRequest, ChainTimer};
pub use types::{
    Address, Amount, Attestation, BurnMessage, Domain, MessageId, Nonce, Tx, TxBody, TxHash,
};
