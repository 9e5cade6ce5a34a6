//! Lock-free counters, gauges and histograms (classic and native) with
//! exact reads and exemplars, and a Prometheus exporter (text 0.0.4,
//! OpenMetrics 1.0 or protobuf) that holds under hostile load.
//!
//! `rm-metrics` is the metrics core a latency-sensitive service links in:
//!
//! * a [`Registry`] of the service's own [`Family`]s: [`Counter`]s,
//!   [`Gauge`]s and [`Histogram`]s with any labels and buckets, constant
//!   labels, a per-family series limit with an overflow series, removal,
//!   and scrape-time collectors ([`Registry::gauge_fn`]). Registration
//!   returns an error for bad input; observing cannot fail, takes no lock
//!   and, once a series exists, allocates nothing;
//! * [`NativeHistogram`]s: Prometheus' exponential buckets ([`Native`])
//!   beside classic ones, updated together by each observation, lock-free;
//! * a [`TextEncoder`] that writes the text exposition (format 0.0.4), an
//!   [`OpenMetricsEncoder`] that writes OpenMetrics 1.0 with
//!   [`Exemplar`]s (a trace id on a histogram bucket or a counter, replaced
//!   without a lock), and a [`ProtobufEncoder`] that writes the protobuf
//!   exposition with native histograms, all into buffers they reuse;
//! * the restic-manager schema: a [`JobRegistry`] of job-duration
//!   histograms, per-host and server gauges from a borrowed [`Snapshot`],
//!   and its [`Renderer`];
//! * with the `metrics` feature, a recorder for the `metrics` facade (the
//!   `facade` module): what any crate records with its macros lands in
//!   these families;
//! * with the `exporter` feature, a gated `/metrics` HTTP endpoint
//!   (the `exporter` module) that serves each format as the scraper's
//!   `Accept` asks.
//!
//! ```
//! use rm_metrics::{Opts, Registry, TextEncoder};
//!
//! let registry = Registry::new();
//! let jobs = registry.histogram(Opts::new("job_seconds", "Job time."), ["kind"], &[1.0, 60.0])?;
//! // From any thread, on every finished job:
//! jobs.observe(["backup"], 42.0);
//!
//! // At scrape time:
//! let mut encoder = TextEncoder::new();
//! let body = encoder.encode(&registry);
//! assert!(body.starts_with(b"# HELP job_seconds Job time."));
//! # Ok::<(), rm_metrics::RegisterError>(())
//! ```
//!
//! The design notes in [`docs`] say how families find their series, why
//! the counters are sharded, how a scrape reads them exactly, what a series
//! costs in memory, and what the loom models prove.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(rust_2018_idioms, unreachable_pub)]

// The layers, each depending only on those above it.
mod core;
pub mod docs;
mod encode;
mod family;
mod restic;

#[cfg(all(feature = "metrics", not(loom)))]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod facade;

#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub mod exporter;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
#[cfg(feature = "spec")]
#[cfg_attr(docsrs, doc(cfg(feature = "spec")))]
pub use restic::spec;

pub use crate::core::slot::{set_shard_slots, shard_slots, SlotsError};
pub use encode::exposition::Format;
pub use encode::openmetrics::OpenMetricsEncoder;
pub use encode::protobuf::ProtobufEncoder;
pub use encode::text::TextEncoder;
pub use family::{
    Counter, DurationHistogram, DurationHistogramValue, Emit, Exemplar, ExemplarError, Family,
    Fixed, FixedLabels, Gauge, Handle, Histogram, HistogramValue, Metric, Opts, RegisterError,
    Registry, SeriesRef, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES, MAX_EXEMPLAR_CHARS,
    MAX_OBSERVATION_NANOS, OVERFLOW_LABEL,
};
pub use family::{Native, NativeHistogram, NativeHistogramValue};
pub use restic::{
    AlertCounts, BuildInfo, HostRow, JobHandle, JobRegistry, Partition, Renderer, Snapshot,
    BUCKET_BOUNDS_SECONDS,
};
