//! Metric families: counters, gauges and histograms with labels and
//! buckets of the caller's choice, in a [`Registry`].

mod bounds;
mod classic_map;
mod collector;
mod counter;
mod duration;
#[cfg(all(feature = "metrics", not(loom)))]
mod dynamic;
pub(crate) mod escape;
mod exemplar;
mod exponential;
#[allow(clippy::module_inception)]
mod family;
mod fixed;
mod gauge;
mod histogram;
mod metric;
mod native;
mod native_nanos;
mod opts;
mod registry;

pub use crate::core::index::OVERFLOW_LABEL;
pub use collector::Emit;
pub use counter::Counter;
pub use duration::{DurationHistogram, DurationHistogramValue, MAX_OBSERVATION_NANOS};
pub use exemplar::{Exemplar, ExemplarError, MAX_EXEMPLAR_CHARS};
pub use family::{Family, Handle, SeriesRef};
pub use fixed::{Fixed, FixedLabels};
pub use gauge::Gauge;
pub use histogram::{Histogram, HistogramValue};
pub use metric::Metric;
pub use native::{Native, NativeHistogram, NativeHistogramValue};
pub use opts::{Opts, RegisterError, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES};
pub use registry::Registry;

pub(crate) use family::{Collect, Desc};
pub(crate) use metric::{Kind, ReadHistogram, Values, Visitor};
// What the `metrics` facade recorder builds on.
#[cfg(all(feature = "metrics", not(loom)))]
pub(crate) use {
    crate::core::index::Series,
    dynamic::DynamicFamily,
    opts::{is_label_name, is_metric_name, validate},
};
