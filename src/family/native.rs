//! A native histogram: Prometheus' exponential buckets (a schema, a zero
//! bucket) beside classic buckets of the caller's choice, in one sharded
//! set of counters.

use std::fmt;

use crate::core::shards::Shards;
use crate::family::bounds::Bounds;
use crate::family::classic_map::{edges, ClassicMap};
use crate::family::exponential::{self, Ladder, MAX_SCHEMA, MIN_SCHEMA};
use crate::family::histogram::{cumulative, total};
use crate::family::RegisterError;

/// The exponential buckets of a native histogram family: their schema, the
/// zero bucket's threshold, the range kept at full resolution, and the
/// most buckets a scrape shows.
///
/// Each series keeps one counter for every bucket of the schema between the
/// zero threshold and `max` (so that observing never allocates or locks),
/// and a scrape reduces the resolution, as client_golang does, until at
/// most `max_buckets` buckets are populated.
///
/// * A value of magnitude at most the zero threshold counts in the zero
///   bucket.
/// * A value above `max` (or `+Inf`) counts in the highest bucket, the one
///   holding `max`; pick `max` above what you observe.
/// * A NaN, and a negative value unless [`negative`](Native::negative) is
///   set, counts in the count and the sum and in no bucket (as
///   client_golang counts a NaN).
///
/// ```
/// use rm_metrics::Native;
///
/// // Durations from 1 ms to a week, 8 buckets per doubling (schema 3).
/// let native = Native::new(0.001, 7.0 * 86400.0).schema(3).max_buckets(160);
/// assert_eq!(native.buckets(), 234);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Native {
    schema: i8,
    zero_threshold: f64,
    max: f64,
    max_buckets: usize,
    negative: bool,
}

/// Most buckets of one sign a series may keep.
const MAX_WINDOW: usize = 4096;

impl Native {
    /// Exponential buckets for magnitudes in `(zero_threshold, max]`, at
    /// schema 3 (each bucket about 9 % wide), at most 160 buckets a scrape.
    pub fn new(zero_threshold: f64, max: f64) -> Self {
        Native {
            schema: 3,
            zero_threshold,
            max,
            max_buckets: 160,
            negative: false,
        }
    }

    /// The schema, from -4 (each bucket 65536 times as wide as the one
    /// below) to 8 (256 buckets per doubling, 0.27 % wide); 3 by default.
    pub fn schema(mut self, schema: i8) -> Self {
        self.schema = schema;
        self
    }

    /// The most populated buckets a scrape shows (160 by default); with
    /// more, the scrape merges neighbours, lowering the schema, until they
    /// fit. 0: no limit.
    pub fn max_buckets(mut self, max_buckets: usize) -> Self {
        self.max_buckets = max_buckets;
        self
    }

    /// The zero bucket's threshold.
    pub(crate) fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// Keep buckets for negative values too (doubling the counters).
    pub fn negative(mut self) -> Self {
        self.negative = true;
        self
    }

    /// Buckets of one sign each series keeps: those of the schema from the
    /// zero threshold to `max`.
    pub fn buckets(&self) -> usize {
        let ladder = Ladder::new(self.schema);
        (ladder.key(self.max) - ladder.key(self.zero_threshold) + 1) as usize
    }

    pub(crate) fn check(&self) -> Result<(), RegisterError> {
        let bad = |why: String| Err(RegisterError::InvalidNative(why));
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&self.schema) {
            return bad(format!("schema {} is not in -4..=8", self.schema));
        }
        if !(self.zero_threshold >= f64::MIN_POSITIVE && self.zero_threshold.is_finite()) {
            return bad(format!(
                "zero threshold {} is not a positive normal number",
                self.zero_threshold
            ));
        }
        if !(self.max > self.zero_threshold && self.max.is_finite()) {
            return bad(format!(
                "max {} is not finite and above the zero threshold",
                self.max
            ));
        }
        if self.buckets() > MAX_WINDOW {
            return bad(format!(
                "{} buckets between the zero threshold and max at schema {} (at most {MAX_WINDOW})",
                self.buckets(),
                self.schema
            ));
        }
        Ok(())
    }

    /// Counters of the native part: NaN/out-of-range, zero, then buckets.
    pub(crate) fn width(&self) -> usize {
        NativeBuckets::new(self).counters()
    }
}

/// Native part, word 0: observations in no bucket (NaN, unkept negatives).
const NONE: usize = 0;
/// Word 1: the zero bucket.
pub(crate) const ZERO: usize = 1;
/// Word 2 on: positive buckets from the lowest key, then negative ones.
const FIRST: usize = 2;

/// A histogram with classic buckets and native (exponential) buckets,
/// updated together by each observation: lock-free, allocation-free, and
/// read exactly (both ladders hold exactly the same observations; see
/// [`docs::consistency`](crate::docs::consistency)).
///
/// The text formats show its classic buckets; the native ones are read by
/// [`get`](NativeHistogram::get). To time work, register
/// [`native_duration_histogram`](crate::Registry::native_duration_histogram)
/// instead: it takes the `Duration` itself, keeps an exact integer sum,
/// and finds both buckets from the nanoseconds, where this one needs the
/// caller's division into seconds (`BENCHMARKS.md`: 9.4 to 10.7 against
/// 10.3 to 12.7 ns an observation).
///
/// ```
/// use rm_metrics::{Native, Opts, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.native_histogram(
///     Opts::new("latency_seconds", "Request latency."),
///     ["route"],
///     &[0.1, 1.0],
///     Native::new(0.001, 3600.0),
/// )?;
/// latency.observe(["/a"], 0.25);
/// latency.observe(["/a"], 0.0);
/// let read = latency.with(["/a"]).get();
/// assert_eq!(read.count(), 2);
/// assert_eq!(read.zero_count(), 1);
/// // 0.25 = 2^-2 is the top of bucket -2·2^3 at schema 3.
/// assert_eq!(read.positive(), [(-16, 1)]);
/// assert_eq!(read.cumulative(), [1, 2, 2]);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub struct NativeHistogram {
    /// The family's classic bounds, shared by its series.
    bounds: Bounds<f64>,
    native: NativeBuckets,
    /// The classic bucket of each native counter, where it has one.
    map: ClassicMap,
    shards: Shards<f64>,
}

/// The native part of a histogram: which counter of the part an
/// observation takes, and how a read of the part becomes sparse buckets.
#[derive(Clone, Debug)]
pub(crate) struct NativeBuckets {
    ladder: Ladder,
    zero_threshold: f64,
    /// Keys of the lowest and highest kept bucket.
    low: i32,
    high: i32,
    negative: bool,
    max_buckets: usize,
}

impl NativeBuckets {
    pub(crate) fn new(native: &Native) -> Self {
        let ladder = Ladder::new(native.schema);
        NativeBuckets {
            low: ladder.key(native.zero_threshold),
            high: ladder.key(native.max),
            ladder,
            zero_threshold: native.zero_threshold,
            negative: native.negative,
            max_buckets: native.max_buckets,
        }
    }

    /// The part's counter of `v`.
    #[inline]
    pub(crate) fn bucket(&self, v: f64) -> usize {
        let magnitude = v.abs();
        if magnitude > self.zero_threshold {
            // `key` is monotone and `magnitude` above the zero threshold, so
            // at least `low`; above `max`, the highest kept bucket.
            let at = FIRST + (self.ladder.key(magnitude).min(self.high) - self.low) as usize;
            if v > 0.0 {
                at
            } else if self.negative {
                self.width() + at
            } else {
                NONE
            }
        } else if magnitude.is_nan() {
            NONE
        } else {
            ZERO
        }
    }

    /// The part's counter of the positive bucket `key`, found by another
    /// ladder than the part's own (so a key below `low`, from a rounding
    /// of the zero threshold, takes `low`); above `max`, the highest kept
    /// bucket.
    #[inline]
    pub(crate) fn positive(&self, key: i32) -> usize {
        // `max` then `min`, not `clamp`: no `low > high` check to panic on.
        FIRST + (key.max(self.low).min(self.high) - self.low) as usize
    }

    /// The schema.
    pub(crate) fn schema(&self) -> i8 {
        self.ladder.schema()
    }

    /// Buckets of one sign.
    #[inline]
    fn width(&self) -> usize {
        (self.high - self.low + 1) as usize
    }

    /// The classic bucket of each counter of the part, for the classic
    /// `bounds`: made from each counter's exact range of values, found by
    /// a search of the positive `f64`s (whose bits order them).
    pub(crate) fn classic_map(&self, bounds: &Bounds<f64>) -> ClassicMap {
        let value = f64::from_bits;
        let edges = self.positive_edges();
        // The positive values (0 and +Inf included) each counter takes.
        let positive = |c: usize| {
            let (from, to) = (edges[c], edges[c + 1]);
            (from < to).then(|| (value(from), value(to - 1)))
        };
        let classic = |v: f64| bounds.bucket(v);
        ClassicMap::new(self.counters(), |c| match c {
            NONE => None, // NaN, and negatives without negative buckets
            // [-threshold, threshold].
            ZERO => positive(ZERO).map(|(_, top)| (classic(-top), classic(top))),
            c if c < FIRST + self.width() => {
                positive(c).map(|(from, to)| (classic(from), classic(to)))
            }
            // A negative counter takes the negatives of its positive twin.
            c => positive(c - self.width()).map(|(from, to)| (classic(-to), classic(-from))),
        })
    }

    /// The edges of the counters the positive values take (the zero
    /// bucket's and the positive buckets'), as bit patterns of `f64`s, which
    /// order the positive ones: see [`edges`].
    fn positive_edges(&self) -> Vec<u64> {
        let inf = f64::INFINITY.to_bits();
        edges(FIRST + self.width(), inf, |x| {
            self.bucket(f64::from_bits(x))
        })
    }

    /// Counters of the part.
    pub(crate) fn counters(&self) -> usize {
        FIRST + self.width() * (1 + usize::from(self.negative))
    }

    /// A whole read: `read` fills every counter (`classic` of them first,
    /// then this part's) and returns the sum.
    pub(crate) fn value(
        &self,
        classic: usize,
        read: impl FnOnce(&mut [u64], &mut [u64]) -> f64,
    ) -> NativeHistogramValue {
        let all = classic + self.counters();
        let (mut pass, mut counts) = (vec![0; all], vec![0; all]);
        let mut value = NativeHistogramValue::empty();
        value.sum = read(&mut pass, &mut counts);
        value.classic = counts[..classic].to_vec();
        self.read(&counts[classic..], &mut value);
        value
    }

    /// The part's counters of a read (`native`) into `out`'s zero bucket,
    /// schema and buckets (their vectors reused), reduced to at most
    /// `max_buckets` populated buckets.
    pub(crate) fn read(&self, native: &[u64], out: &mut NativeHistogramValue) {
        out.zero_threshold = self.zero_threshold;
        out.zero_count = native[ZERO];
        let width = self.width();
        let sparse = |counts: &[u64], into: &mut Vec<(i32, u64)>| {
            into.clear();
            into.extend(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0)
                    .map(|(i, c)| (self.low + i as i32, *c)),
            );
        };
        sparse(&native[FIRST..FIRST + width], &mut out.positive);
        if self.negative {
            sparse(&native[FIRST + width..], &mut out.negative);
        } else {
            out.negative.clear();
        }
        out.schema = self.ladder.schema();
        while self.max_buckets != 0
            && out.positive.len() + out.negative.len() > self.max_buckets
            && out.schema > MIN_SCHEMA
        {
            halve(&mut out.positive);
            halve(&mut out.negative);
            out.schema -= 1;
        }
    }
}

impl NativeHistogram {
    /// `bounds` and `native`: checked at registration; `map`, the
    /// family's, from [`NativeBuckets::classic_map`].
    pub(crate) fn new(bounds: Bounds<f64>, native: &Native, map: ClassicMap) -> Self {
        let native = NativeBuckets::new(native);
        NativeHistogram {
            shards: Shards::with_parts(bounds.len() + 1, native.counters()),
            bounds,
            native,
            map,
        }
    }

    /// Records one observation of `v` in its classic and native buckets.
    #[inline]
    pub fn observe(&self, v: f64) {
        let counter = self.native.bucket(v);
        let classic = self
            .map
            .get(counter)
            .unwrap_or_else(|| self.bounds.bucket(v));
        self.shards.record2(classic, counter, v);
    }

    /// The classic bounds, `+Inf` not included.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Adds all counters (classic, then native) into `acc` and the sum into
    /// `sum`, using `pass` (as long as `acc`: every counter) as scratch.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut f64) {
        self.shards.read_into(pass, acc, sum);
    }

    /// The current counts and sum, read exactly, the native buckets reduced
    /// to at most the family's `max_buckets`.
    pub fn get(&self) -> NativeHistogramValue {
        self.native.value(self.bounds.len() + 1, |pass, acc| {
            let mut sum = 0.0;
            self.read_into(pass, acc, &mut sum);
            sum
        })
    }

    /// The native part of a read into `out` (see `NativeBuckets::read`).
    pub(crate) fn native_into(&self, native: &[u64], out: &mut NativeHistogramValue) {
        self.native.read(native, out);
    }
}

/// Merges sorted sparse buckets into those one schema lower, in place.
fn halve(buckets: &mut Vec<(i32, u64)>) {
    let mut kept = 0;
    for i in 0..buckets.len() {
        let (key, count) = buckets[i];
        let key = exponential::coarser(key);
        if kept > 0 && buckets[kept - 1].0 == key {
            buckets[kept - 1].1 += count;
        } else {
            buckets[kept] = (key, count);
            kept += 1;
        }
    }
    buckets.truncate(kept);
}

impl fmt::Debug for NativeHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeHistogram")
            .field("bounds", &self.bounds)
            .field("native", &self.native)
            .finish_non_exhaustive()
    }
}

/// A native histogram's counts at one moment, from
/// [`NativeHistogram::get`]: the classic buckets, and the native ones as
/// `(key, count)` pairs of the populated buckets (bucket `k` at schema `s`
/// holds the magnitudes in `(2^((k-1)·2^-s), 2^(k·2^-s)]`).
#[derive(Clone, Debug, PartialEq)]
pub struct NativeHistogramValue {
    classic: Vec<u64>,
    sum: f64,
    schema: i8,
    zero_threshold: f64,
    zero_count: u64,
    positive: Vec<(i32, u64)>,
    negative: Vec<(i32, u64)>,
}

impl NativeHistogramValue {
    /// A value to read into.
    pub(crate) fn empty() -> Self {
        NativeHistogramValue {
            classic: Vec::new(),
            sum: 0.0,
            schema: 0,
            zero_threshold: 0.0,
            zero_count: 0,
            positive: Vec::new(),
            negative: Vec::new(),
        }
    }

    /// Number of observations (NaNs included).
    pub fn count(&self) -> u64 {
        total(&self.classic)
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Cumulative classic counts, one per bound and one for `+Inf`.
    pub fn cumulative(&self) -> Vec<u64> {
        cumulative(&self.classic)
    }

    /// The schema of the native buckets (the family's, or lower after a
    /// reduction).
    pub fn schema(&self) -> i8 {
        self.schema
    }

    /// The zero bucket's threshold.
    pub fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// Observations in the zero bucket.
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// Populated buckets of positive values, by increasing key.
    pub fn positive(&self) -> &[(i32, u64)] {
        &self.positive
    }

    /// Populated buckets of negative values (keys of their magnitudes).
    pub fn negative(&self) -> &[(i32, u64)] {
        &self.negative
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn histogram(native: Native) -> NativeHistogram {
        native.check().unwrap();
        let bounds = Bounds::new(&[1.0, 10.0], f64::INFINITY);
        let map = NativeBuckets::new(&native).classic_map(&bounds);
        NativeHistogram::new(bounds, &native, map)
    }

    /// Every counter's edges (either sign), values at and beside each
    /// bound, and a sweep: the classic bucket the map gives is the one the
    /// bounds give.
    #[test]
    fn the_classic_map_agrees_with_the_bounds() {
        let bounds = Bounds::new(
            &[-5.0, -0.5, 0.0, 0.005, 1.0, 5.0, 30.0, 300.0, 86400.0],
            f64::INFINITY,
        );
        for schema in [-4, -1, 0, 3, 8] {
            for native in [Native::new(0.001, 1e6), Native::new(0.001, 1e6).negative()] {
                let part = NativeBuckets::new(&native.schema(schema));
                let map = part.classic_map(&bounds);
                let check = |v: f64| {
                    if let Some(classic) = map.get(part.bucket(v)) {
                        assert_eq!(classic, bounds.bucket(v), "{v}, schema {schema}");
                    }
                };
                let inf = f64::INFINITY.to_bits();
                let edges = part.positive_edges();
                for &edge in &edges {
                    for x in [edge.saturating_sub(1), edge, edge + 1] {
                        let v = f64::from_bits(x.min(inf));
                        check(v);
                        check(-v);
                    }
                }
                for &b in bounds.iter() {
                    let x = f64::to_bits(b);
                    for v in [b, f64::from_bits(x + 1), f64::from_bits(x.wrapping_sub(1))] {
                        check(v);
                    }
                }
                for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0] {
                    check(v);
                }
                let mut v = 1e-6;
                while v < 1e7 {
                    check(v);
                    check(-v);
                    v *= 1.01;
                }
                // Only counters holding a bound compare: at most one a bound.
                let taken = |c: usize| {
                    let twin = if c >= FIRST + part.width() {
                        c - part.width()
                    } else {
                        c
                    };
                    c != NONE && edges[twin] < edges[twin + 1]
                };
                let split = (0..part.counters())
                    .filter(|&c| taken(c) && map.get(c).is_none())
                    .count();
                assert!(split <= bounds.len(), "schema {schema}: {split} split");
            }
        }
    }

    #[test]
    fn every_observation_lands_once_in_each_ladder() {
        let h = histogram(Native::new(0.01, 1000.0).negative());
        for v in [
            0.0,
            0.005,
            -0.005,
            0.5,
            1.0,
            2.0,
            1e6,
            f64::INFINITY,
            -3.0,
            f64::NAN,
        ] {
            h.observe(v);
        }
        let r = h.get();
        assert_eq!(r.count(), 10);
        assert_eq!(r.zero_count(), 3);
        let native: u64 = r.positive().iter().chain(r.negative()).map(|b| b.1).sum();
        // All but the NaN.
        assert_eq!(native + r.zero_count(), 9);
        // 1e6 and +Inf: the bucket holding max = 1000.
        let top = Ladder::new(3).key(1000.0);
        assert_eq!(r.positive().last(), Some(&(top, 2)));
        assert_eq!(r.positive()[..3], [(-8, 1), (0, 1), (8, 1)]);
        assert_eq!(r.negative(), [(Ladder::new(3).key(3.0), 1)]);
    }

    #[test]
    fn negatives_without_negative_buckets_count_in_no_bucket() {
        let h = histogram(Native::new(0.01, 1000.0));
        h.observe(-5.0);
        h.observe(5.0);
        let r = h.get();
        assert_eq!((r.count(), r.sum()), (2, 0.0));
        assert_eq!(r.positive().len(), 1);
        assert!(r.negative().is_empty());
    }

    #[test]
    fn a_scrape_reduces_to_max_buckets() {
        let h = histogram(Native::new(1e-3, 1e6).schema(3).max_buckets(10));
        // 100 values spread over 2^0 .. 2^10: 80 buckets at schema 3.
        for i in 0..100 {
            h.observe(2f64.powf(f64::from(i) / 10.0));
        }
        let r = h.get();
        assert!(r.positive().len() <= 10, "{:?}", r.positive());
        // 2^0 .. 2^9.9 is 11 buckets at schema 0 (2^0 is the top of bucket
        // 0), 6 at schema -1.
        assert_eq!(r.schema(), -1);
        assert_eq!(r.positive().iter().map(|b| b.1).sum::<u64>(), 100);
        // Each value in the bucket of schema 0 that holds it.
        let mut want = std::collections::BTreeMap::new();
        for i in 0..100 {
            *want
                .entry(Ladder::new(-1).key(2f64.powf(f64::from(i) / 10.0)))
                .or_insert(0) += 1;
        }
        assert_eq!(r.positive(), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn bad_configurations_are_errors() {
        for bad in [
            Native::new(0.0, 1.0),
            Native::new(1.0, 1.0),
            Native::new(1e-3, f64::INFINITY),
            Native::new(1e-3, 1.0).schema(9),
            Native::new(1e-300, 1e300).schema(8),
        ] {
            assert!(
                matches!(bad.check(), Err(RegisterError::InvalidNative(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn window_is_as_documented() {
        assert_eq!(Native::new(0.001, 7.0 * 86400.0).buckets(), 234);
        // 2^-20 .. 2^20 at schema 3: 320 buckets and the one holding 2^-20.
        assert_eq!(Native::new(2f64.powi(-20), 2f64.powi(20)).buckets(), 321);
    }
}
