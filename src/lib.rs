pub mod campaign;
pub mod chain;
pub mod check;
pub mod cli;
pub mod engine;
pub mod scenario;
pub mod sim;
pub mod world;
