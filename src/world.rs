//! A settlesim run: the engine's nodes and the chains wired onto the kernel,
//! the fault plan, the checkers watching every step, and the report.

pub mod actors;
pub mod drawn;
pub mod layout;
pub mod msg;
pub mod plan;
pub mod report;
pub mod simulation;
pub mod swarm;

pub use layout::Layout;
pub use msg::Msg;
pub use plan::{Fault, FaultPlan, PlannedFault};
pub use report::{RunReport, Stop, Verdict};
pub use simulation::{run, RunOptions, RunOutput, Simulation};
