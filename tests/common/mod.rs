pub mod exposition;
pub mod fleet;
