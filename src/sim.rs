//! The deterministic kernel. It knows nothing of settlements: time, seeded
//! randomness, the event queue, nodes as sans-IO state machines, the network,
//! per-node clocks, process faults, the digest and the trace.

pub mod census;
pub mod clock;
pub mod digest;
pub mod disk;
pub mod fault;
pub mod kernel;
pub mod network;
pub mod node;
pub mod queue;
pub mod relay;
pub mod rng;
pub mod time;
pub mod trace;

pub use census::{Census, CensusRow, EventKind};
pub use clock::NodeClock;
pub use digest::Digest;
pub use disk::{DiskFaults, LogDisk, Record, SimDisk, SyncTicket};
pub use fault::KernelFault;
pub use kernel::{Ctx, Kernel, KernelStats, Step, World};
pub use network::{NetworkFaults, Partition};
pub use node::{Input, NodeId, RequestId, TimerId};
pub use rng::{Ratio, SimRng, Stream, Streams, UniformDraw};
pub use time::Micros;
pub use trace::{first_difference, SharedBuffer, Trace};
