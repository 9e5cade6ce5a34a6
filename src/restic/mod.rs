//! The restic-manager preset: job-duration histograms as one family of the
//! public API ([`JobRegistry`]), and the per-host and server gauges of a
//! borrowed [`Snapshot`], rendered with the job family in the bytes of the
//! Go original ([`Renderer`], [`Partition`]).

mod jobs;
mod ladder;
mod partition;
mod renderer;
mod snapshot;
#[cfg(feature = "spec")]
#[cfg_attr(docsrs, doc(cfg(feature = "spec")))]
pub mod spec;

pub use jobs::{JobHandle, JobRegistry};
pub use ladder::BUCKET_BOUNDS_SECONDS;
pub use partition::Partition;
pub use renderer::Renderer;
pub use snapshot::{AlertCounts, BuildInfo, HostRow, Snapshot};
