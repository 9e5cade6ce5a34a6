//! The Prometheus text exposition: number layout, label escaping, the writer.

pub(crate) mod escape;
pub(crate) mod float;
mod renderer;

pub use renderer::Renderer;
