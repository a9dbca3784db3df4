pub mod sim;
pub mod chain;
