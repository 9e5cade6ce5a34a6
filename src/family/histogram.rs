//! A histogram on a bucket ladder of the caller's choice.

use crate::core::shards::Shards;
use crate::family::bounds::Bounds;
use crate::family::exemplar::{Exemplar, Exemplars};

/// A histogram's counts: per-bucket counters and the sum of the observed
/// values, sharded like a counter and read exactly.
///
/// Each owned shard is `3 + buckets` words on cache lines of its own (one
/// 128-byte line up to 13 buckets); the shared shard two such halves and a
/// lock. Every read (a scrape, [`get`](Histogram::get)) is exactly
/// consistent, as for the job histograms: the `+Inf` bucket equals the
/// count, the sum is the sum of exactly the counted observations, and
/// nothing ever decreases between reads (see
/// [`docs::consistency`](crate::docs::consistency)).
///
/// ```
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.histogram(
///     Opts::new("latency_seconds", "Request latency."),
///     ["route"],
///     &[0.005, 0.05, 0.5, 5.0],
/// )?;
/// latency.observe(["/a"], 0.04);
/// latency.observe(["/a"], 0.25);
/// let read = latency.with(["/a"]).get();
/// assert_eq!(read.cumulative(), [0, 1, 2, 2, 2]);
/// assert_eq!((read.count(), read.sum()), (2, 0.29));
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub struct Histogram {
    /// The family's bounds, shared by its series.
    bounds: Bounds<f64>,
    shards: Shards<f64>,
    /// The latest exemplar of each bucket, from the first one on.
    pub(crate) exemplars: Exemplars,
}

impl Histogram {
    /// `bounds`: finite, strictly increasing (checked at registration).
    pub(crate) fn new(bounds: Bounds<f64>) -> Self {
        Histogram {
            shards: Shards::new(bounds.len() + 1),
            exemplars: Exemplars::new(bounds.len() + 1),
            bounds,
        }
    }

    /// Records one observation of `v`. A value exactly on a bound counts in
    /// that bound's bucket; NaN counts in `+Inf` (and makes the sum NaN).
    #[inline]
    pub fn observe(&self, v: f64) {
        self.shards.record(self.bounds.bucket(v), v);
    }

    /// Records `v` and makes `exemplar` the latest of `v`'s bucket, as the
    /// OpenMetrics encoder shows it. Lock-free; a histogram's first
    /// exemplar allocates its cells (128 bytes a bucket).
    #[inline]
    pub fn observe_with_exemplar(&self, v: f64, exemplar: &Exemplar<'_>) {
        let bucket = self.bounds.bucket(v);
        self.shards.record(bucket, v);
        if let Some(cell) = self.exemplars.cell(bucket, self.bounds.len() + 1) {
            exemplar.store(cell, v);
        }
    }

    /// A number that grows with every observation (see `Shards::activity`).
    #[cfg(feature = "metrics")]
    pub(crate) fn activity(&self) -> u64 {
        self.shards.activity()
    }

    /// The upper bounds of the buckets, `+Inf` not included.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Adds the per-bucket (not cumulative) counts into `acc` (one more
    /// than the bounds) and the sum into `sum`, using `pass` (as long as
    /// `acc`) as scratch: no allocation.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut f64) {
        self.shards.read_into(pass, acc, sum);
    }

    /// The current counts and sum, read exactly.
    pub fn get(&self) -> HistogramValue {
        let n = self.bounds.len() + 1;
        let mut pass = vec![0; n];
        let mut buckets = vec![0; n];
        let mut sum = 0.0;
        self.read_into(&mut pass, &mut buckets, &mut sum);
        HistogramValue { buckets, sum }
    }
}

/// A histogram's counts and sum at one moment, from [`Histogram::get`].
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramValue {
    buckets: Vec<u64>,
    sum: f64,
}

impl HistogramValue {
    /// Cumulative counts, one per bound and a last one for `+Inf`, as the
    /// exposition's `_bucket` lines show them.
    pub fn cumulative(&self) -> Vec<u64> {
        cumulative(&self.buckets)
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        total(&self.buckets)
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.sum
    }
}

/// Running totals of per-bucket counts.
pub(crate) fn cumulative(buckets: &[u64]) -> Vec<u64> {
    let mut acc = 0u64;
    buckets
        .iter()
        .map(|c| {
            acc = acc.wrapping_add(*c);
            acc
        })
        .collect()
}

/// The sum of per-bucket counts.
pub(crate) fn total(buckets: &[u64]) -> u64 {
    buckets.iter().fold(0, |a, c| a.wrapping_add(*c))
}
