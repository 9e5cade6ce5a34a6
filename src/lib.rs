//! Lock-free job-duration histograms and a Prometheus text exporter.
//!
//! `rm-metrics` is the metrics core a latency-sensitive service links in to
//! count its jobs and expose them to Prometheus:
//!
//! * a [`JobRegistry`] of job-duration histograms, one per `(kind, status)`, on
//!   the fixed ladder [`BUCKET_BOUNDS_SECONDS`] (+Inf implicit). Observing is
//!   lock-free and, after a thread's first observation, allocation-free: a
//!   per-thread memo (or the shared label index) finds the series, then
//!   plain atomic loads and stores on the cache-padded shard this thread
//!   owns, with no locked instruction. A [`JobHandle`] skips the lookup.
//!   Every scrape is exactly consistent ([`docs::consistency`]);
//! * plain [`Snapshot`] values for the per-host and server gauges, borrowed
//!   from wherever the caller keeps its data;
//! * a [`Renderer`] that writes the text exposition (format 0.0.4) into a
//!   buffer it reuses, so a steady-state scrape allocates nothing;
//! * with the `exporter` feature, a gated `/metrics` HTTP endpoint
//!   (the `exporter` module).
//!
//! ```
//! use std::time::Duration;
//! use rm_metrics::{HostRow, JobRegistry, Renderer, Snapshot};
//!
//! let registry = JobRegistry::new();
//! // From any thread, on every finished job:
//! registry.observe("backup", "succeeded", Duration::from_secs(90));
//!
//! // At scrape time:
//! let hosts = [HostRow { id: "h1", name: "alpha", online: true, ..HostRow::default() }];
//! let mut renderer = Renderer::new();
//! let body = renderer.render(&registry, &Snapshot { hosts: &hosts, ..Snapshot::default() });
//! assert!(body.starts_with(b"# HELP rm_hosts_total"));
//! ```
//!
//! The design notes in [`docs`] say why the histograms are sharded, how a
//! scrape reads them exactly, what a series costs in memory, and what the
//! loom models prove.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(rust_2018_idioms, unreachable_pub)]

mod buckets;
mod core;
pub mod docs;
mod encode;
mod family;
mod histogram;
mod index;
mod memo;
mod registry;
mod render;
mod shard;
mod shared_shard;
mod slot;
mod snapshot;
mod sync;

#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub mod exporter;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
#[cfg(feature = "spec")]
#[cfg_attr(docsrs, doc(cfg(feature = "spec")))]
pub mod spec;

pub use buckets::{BUCKET_BOUNDS_SECONDS, MAX_OBSERVATION_NANOS};
pub use encode::text::TextEncoder;
pub use family::{
    Counter, Emit, Family, Gauge, Handle, Histogram, HistogramValue, Metric, Opts, RegisterError,
    Registry, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES,
};
pub use histogram::HistogramSnapshot;
pub use index::OVERFLOW_LABEL;
pub use registry::{JobHandle, JobRegistry};
pub use render::{Partition, Renderer};
pub use snapshot::{AlertCounts, BuildInfo, HostRow, Snapshot};
