//! The faults the kernel itself injects: partitions, crashes, pauses and clock
//! jumps. They are data, so a run's faults can be drawn from its seed into a
//! plan, printed, edited and replayed. Faults of the environment (a chain
//! halt, a reorg) belong to the environment's own nodes, not to the kernel.

use super::network::Partition;
use super::node::NodeId;
use super::time::Micros;
use serde::{Deserialize, Serialize};

/// One fault the kernel can inject.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KernelFault {
    /// Cut the network between two groups for a while.
    Partition {
        /// Who is cut from whom.
        partition: Partition,
        /// How long the cut lasts.
        duration_us: Micros,
    },
    /// Crash a node: its volatile state is lost, messages and timers for it
    /// vanish, and it restarts (recovering from disk) after `down_us`.
    Crash {
        /// The victim.
        node: NodeId,
        /// How long it stays down.
        down_us: Micros,
    },
    /// Stop the world for one node: it receives nothing for `duration_us`,
    /// then everything that arrived meanwhile, as a paused process would.
    Pause {
        /// The victim.
        node: NodeId,
        /// How long it stays frozen.
        duration_us: Micros,
    },
    /// Step a node's clock forwards or backwards.
    ClockJump {
        /// The victim.
        node: NodeId,
        /// The step, positive forwards.
        by_us: i64,
    },
}
