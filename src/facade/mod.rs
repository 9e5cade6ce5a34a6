//! A [`metrics`] facade recorder: every crate that records through the
//! `metrics` macros (`counter!`, `gauge!`, `histogram!`) counts into
//! rm-metrics families, served with the rest of a [`Registry`](crate::Registry).
//!
//! Install it once, at start-up, on the registry the service exports (here
//! a [`JobRegistry`](crate::JobRegistry)'s, which the
//! [exporter](crate::exporter) serves):
//!
//! ```
//! use rm_metrics::{facade::Recorder, JobRegistry};
//!
//! let jobs = JobRegistry::new();
//! Recorder::new(jobs.registry()).install().expect("a metrics recorder is already installed");
//! metrics::counter!("cache_hits").increment(1);
//! ```
//!
//! See [`Recorder`] for how facade keys become families and series, and
//! [`Builder`] for bucket ladders, limits and idle expiry.

mod builder;
mod handles;
mod idle;
mod names;
mod recorder;

pub use builder::{Builder, Matcher};
pub use idle::Kinds;
pub use recorder::Recorder;
