//! The Prometheus text exposition: number layout, label escaping, the writer.

pub(crate) mod escape;
pub(crate) mod float;
mod partition;
mod renderer;

pub use partition::Partition;
pub use renderer::Renderer;
