//! Nodes: the processes of a run. A node is a sans-IO state machine: the
//! kernel hands it one [`Input`] and a [`Ctx`](super::Ctx), and the node
//! answers only by emitting commands through the context (send, reply, set or
//! cancel a timer). It never reads a clock, a random source or a socket of its
//! own, so the same state machine could be driven by a production runtime.

use super::queue::EventHandle;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Names one node of a run; also its index in every per-node table.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index of this node in per-node tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// What the kernel delivers to a node.
#[derive(Debug)]
pub enum Input<M> {
    /// The node boots: at time zero, and again after every crash. A node
    /// rebuilds whatever it needs from its durable state here.
    Start,
    /// A message from another node, through the network.
    Message {
        /// The sender.
        from: NodeId,
        /// The payload.
        msg: M,
    },
    /// A timer the node set for itself, or an input from the environment
    /// (a planned chain fault), which bypasses the network.
    Timer(M),
}

/// A timer a node set, so it can cancel it when it is no longer wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId(pub(super) EventHandle);

/// Correlates a reply with its request. Callers number their own requests;
/// a server copies the id into its reply and never interprets it.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct RequestId(pub u64);
