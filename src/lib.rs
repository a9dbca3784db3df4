pub mod sim;
pub mod chain;
pub mod engine;
