//! A histogram of durations: bounds in seconds, counts and an exact sum in
//! integer nanoseconds.

use std::time::Duration;

use crate::core::latest::Latest;
use crate::core::shards::Shards;
use crate::core::sync::StdArc;
use crate::family::bounds::Bounds;
use crate::family::exemplar::{Exemplar, Exemplars};
use crate::family::histogram::{cumulative, total};
use crate::family::metric::ReadHistogram;
use crate::family::native_nanos::NativeNanos;
use crate::family::NativeHistogramValue;

/// The longest duration one observation carries: `i64::MAX` nanoseconds
/// (about 292 years), the range of Go's `time.Duration`. Longer durations
/// saturate to it, which also keeps every observation below 2⁶³, so a
/// shard carries its 128-bit sum without a compare-exchange loop.
pub const MAX_OBSERVATION_NANOS: u64 = i64::MAX as u64;

/// A histogram of [`Duration`]s, for timing work: sharded and read exactly
/// like [`Histogram`](crate::Histogram), with bucket bounds given in seconds
/// and compared in integer nanoseconds, and a sum kept as exact 128-bit
/// integer nanoseconds (so `_sum` never drifts with float rounding and
/// never wraps). The exposition writes the sum in seconds.
///
/// ```
/// use std::time::Duration;
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let jobs = registry.duration_histogram(Opts::new("job_seconds", "Jobs."), ["kind"], &[1.0, 60.0])?;
/// jobs.observe(["backup"], Duration::from_millis(1500));
/// jobs.with(["backup"]).observe_nanos(-3); // negative: counts as 0
/// let read = jobs.with(["backup"]).get();
/// assert_eq!(read.cumulative(), [1, 2, 2]);
/// assert_eq!(read.sum_nanos(), 1_500_000_000);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
// `repr(C)`, in this order: what an observation reads (the bounds, whether
// there is a native part, then the shards' first fields) comes first, next
// to the series' hash and values, so a lookup and an observation touch
// fewer of the series' lines; the exemplars, read on a scrape, last.
#[repr(C)]
pub struct DurationHistogram {
    /// The bounds in nanoseconds: an integer duration is at most bound `b`
    /// seconds exactly when it is at most `⌊b · 10⁹⌋` nanoseconds. The
    /// family's, shared by its series.
    bounds: Bounds<u64>,
    /// Native (exponential) buckets in seconds, for a family registered
    /// with them: the family's, shared by its series (a pointer here, not
    /// the 88 bytes of a copy in every series).
    native: Option<StdArc<NativeNanos>>,
    shards: Shards<u128>,
    /// The latest exemplar of each bucket, from the first one on.
    exemplars: Exemplars,
}

impl DurationHistogram {
    /// `bounds`: nanoseconds of bounds in seconds that are finite,
    /// non-negative and strictly increasing (checked at registration, and
    /// made by [`nanos_of_bounds`]); `native`, the family's native part
    /// (made for the same bounds).
    pub(crate) fn new(bounds: Bounds<u64>, native: Option<StdArc<NativeNanos>>) -> Self {
        let counters = native.as_ref().map_or(0, |n| n.buckets().counters());
        DurationHistogram {
            shards: Shards::with_parts(bounds.len() + 1, counters),
            exemplars: Exemplars::new(bounds.len() + 1),
            bounds,
            native,
        }
    }

    /// Records one duration; over `i64::MAX` ns (292 years) it saturates.
    /// A duration exactly on a bound counts in that bound's bucket.
    #[inline]
    pub fn observe(&self, d: Duration) {
        self.record(nanos_of_duration(d));
    }

    /// Records a signed nanosecond count, as Go's `time.Duration`; negative
    /// values (clock skew) count as zero.
    #[inline]
    pub fn observe_nanos(&self, nanos: i64) {
        self.record(nanos.max(0) as u64);
    }

    /// Records `d` and makes `exemplar` the latest of its bucket, with the
    /// value in seconds, as the OpenMetrics encoder shows it. Lock-free; a
    /// histogram's first exemplar allocates its cells (128 bytes a bucket).
    #[inline]
    pub fn observe_with_exemplar(&self, d: Duration, exemplar: &Exemplar<'_>) {
        let nanos = nanos_of_duration(d);
        let bucket = self.record(nanos);
        if let Some(cell) = self.exemplars.cell(bucket, self.bounds.len() + 1) {
            exemplar.store(cell, seconds(u128::from(nanos)));
        }
    }

    /// Records `nanos`; returns its classic bucket.
    #[inline]
    fn record(&self, nanos: u64) -> usize {
        match &self.native {
            None => {
                let bucket = self.bounds.bucket(nanos);
                self.shards.record(bucket, u128::from(nanos));
                bucket
            }
            Some(native) => self.record_native(native, nanos),
        }
    }

    /// [`record`](Self::record) with native buckets: a call of its own, so
    /// that the classic path stays small enough to inline. The classic
    /// bucket comes from the native counter where that settles it.
    #[inline(never)]
    fn record_native(&self, native: &NativeNanos, nanos: u64) -> usize {
        let counter = native.counter(nanos);
        let bucket = native
            .classic(counter)
            .unwrap_or_else(|| self.bounds.bucket(nanos));
        self.shards.record2(bucket, counter, u128::from(nanos));
        bucket
    }

    /// The native buckets (in seconds), read exactly with the same
    /// observations as [`get`](Self::get) would see at that moment;
    /// `None` for a family registered without them.
    pub fn native(&self) -> Option<NativeHistogramValue> {
        let native = self.native.as_ref()?.buckets();
        Some(native.value(self.bounds.len() + 1, |pass, acc| {
            ReadHistogram::read(self, pass, acc)
        }))
    }

    /// Adds the per-bucket counts into `acc` and the exact sum into `sum`.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut u128) {
        self.shards.read_into(pass, acc, sum);
    }

    /// The current counts and exact sum.
    pub fn get(&self) -> DurationHistogramValue {
        let n = self.bounds.len() + 1;
        let mut pass = vec![0; n];
        let mut buckets = vec![0; n];
        let mut sum_nanos = 0;
        self.read_into(&mut pass, &mut buckets, &mut sum_nanos);
        DurationHistogramValue { buckets, sum_nanos }
    }
}

impl ReadHistogram for DurationHistogram {
    fn read(&self, pass: &mut [u64], acc: &mut [u64]) -> f64 {
        let mut nanos = 0u128;
        self.read_into(pass, acc, &mut nanos);
        seconds(nanos)
    }

    fn exemplar(&self, bucket: usize) -> Option<&Latest> {
        self.exemplars.get(bucket)
    }

    fn native(&self, counts: &[u64], out: &mut NativeHistogramValue) -> bool {
        match &self.native {
            Some(native) => {
                native.buckets().read(counts, out);
                true
            }
            None => false,
        }
    }
}

/// Exact nanoseconds as seconds: the `f64` nearest the exact value below
/// 2⁵³ ns (104 days), within one rounding above.
fn seconds(nanos: u128) -> f64 {
    nanos as f64 / 1e9
}

/// `⌊b · 10⁹⌋` for a bound of `b` seconds, saturating at `u64::MAX`.
pub(crate) fn nanos_of_bound(b: f64) -> u64 {
    // `as` saturates, and NaN (refused at registration) would give 0.
    (b * 1e9).floor() as u64
}

/// The nanoseconds of bounds in seconds, as [`DurationHistogram::new`]
/// takes them (a family makes them once for all its series).
pub(crate) fn nanos_of_bounds(seconds: &[f64]) -> Bounds<u64> {
    let nanos: Vec<u64> = seconds.iter().map(|&b| nanos_of_bound(b)).collect();
    // No observation exceeds `MAX_OBSERVATION_NANOS`, below the padding.
    Bounds::new(&nanos, u64::MAX)
}

/// Nanoseconds of a `Duration`, saturating at [`MAX_OBSERVATION_NANOS`].
#[inline]
pub(crate) fn nanos_of_duration(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(MAX_OBSERVATION_NANOS, |n| n.min(MAX_OBSERVATION_NANOS))
}

/// A duration histogram's counts and exact sum at one moment, from
/// [`DurationHistogram::get`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationHistogramValue {
    buckets: Vec<u64>,
    sum_nanos: u128,
}

impl DurationHistogramValue {
    /// Cumulative counts, one per bound and a last one for `+Inf`.
    pub fn cumulative(&self) -> Vec<u64> {
        cumulative(&self.buckets)
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        total(&self.buckets)
    }

    /// The exact sum of the observed durations, in nanoseconds.
    pub fn sum_nanos(&self) -> u128 {
        self.sum_nanos
    }

    /// The sum in seconds, as the exposition writes it.
    pub fn sum_seconds(&self) -> f64 {
        seconds(self.sum_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_on_a_bound_counts_in_that_bucket() {
        let h = DurationHistogram::new(nanos_of_bounds(&[1.0, 5.0, 0.25]), None);
        assert_eq!(h.bounds[..], [1_000_000_000, 5_000_000_000, 250_000_000]);
        let h = DurationHistogram::new(nanos_of_bounds(&[0.005, 1.0, 86400.0]), None);
        for (i, &b) in h.bounds.iter().enumerate() {
            assert_eq!(h.bounds.bucket(b), i);
            assert_eq!(h.bounds.bucket(b + 1), i + 1);
        }
        assert_eq!(h.bounds.bucket(0), 0);
        assert_eq!(h.bounds.bucket(MAX_OBSERVATION_NANOS), 3);
    }

    #[test]
    fn long_durations_saturate() {
        assert_eq!(nanos_of_duration(Duration::MAX), MAX_OBSERVATION_NANOS);
        assert_eq!(
            nanos_of_duration(Duration::from_nanos(u64::MAX)),
            MAX_OBSERVATION_NANOS
        );
        assert_eq!(
            nanos_of_duration(Duration::from_millis(1500)),
            1_500_000_000
        );
        assert_eq!(nanos_of_bound(1e300), u64::MAX);
    }

    #[test]
    fn the_sum_carries_past_two_to_the_64() {
        let h = DurationHistogram::new(nanos_of_bounds(&[1.0]), None);
        for _ in 0..5 {
            h.observe(Duration::MAX);
        }
        h.observe_nanos(7);
        let v = h.get();
        assert_eq!(v.sum_nanos(), 5 * u128::from(MAX_OBSERVATION_NANOS) + 7);
        assert_eq!(v.cumulative(), [1, 6]);
    }
}
