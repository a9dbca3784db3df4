//! Fuzzing campaigns: many seeds of one scenario, run in parallel across OS
//! threads and, from the command line, a child process a job (never inside
//! a run), summarised into one report.
pub mod coverage;
pub mod report;
pub mod repro;
pub mod runner;
pub mod seed_process;
pub mod seed_run;
pub mod seeds;
pub mod shards;
pub mod shrink;

pub use coverage::Coverage;
pub use report::{CampaignReport, SeedFailure, Slowest};
pub use repro::ReproFile;
pub use runner::{run_campaign, Campaign, Tally};
pub use seed_run::World;
pub use seeds::{SeedPlan, SeedRange, SeedSpan, Shard};
pub use shards::ShardSet;
