//! The public face of the histograms: [`JobRegistry`] and [`JobHandle`].

use std::fmt;
use std::time::Duration;

use crate::buckets::{nanos_of_duration, nanos_of_signed};
use crate::histogram::HistogramSnapshot;
use crate::index::{LabelIndex, Series};
use crate::sync::Arc;
use crate::DEFAULT_MAX_SERIES;

/// Job-duration histograms, one per `(kind, status)` pair.
///
/// Observing is lock-free and allocation-free once a pair exists: a lookup
/// in this thread's memo (or the shared label index, see
/// [`docs::lookup`](crate::docs::lookup)), two plain atomic stores on the
/// shard this thread owns (see [`docs::sharding`](crate::docs::sharding)).
/// Share it by reference or in an `Arc`.
///
/// ```
/// use std::time::Duration;
/// use rm_metrics::JobRegistry;
///
/// let registry = JobRegistry::new();
/// registry.observe("backup", "succeeded", Duration::from_secs(42));
///
/// // On a hot path, resolve the pair once and keep the handle.
/// let checks = registry.handle("check", "failed");
/// checks.observe(Duration::from_millis(1500));
/// assert_eq!(checks.snapshot().count(), 1);
/// assert_eq!(checks.snapshot().cumulative()[..3], [0, 1, 1]); // le 1, 5, 30
/// ```
pub struct JobRegistry {
    index: LabelIndex,
}

impl JobRegistry {
    /// An empty registry with the default series limit
    /// ([`DEFAULT_MAX_SERIES`]) and one shard per available core.
    pub fn new() -> Self {
        Self::with_max_series(DEFAULT_MAX_SERIES)
    }

    /// An empty registry holding at most `max_series` distinct pairs.
    ///
    /// Past the limit, observations of new pairs are still counted, all in one
    /// series labelled [`OVERFLOW_LABEL`](crate::OVERFLOW_LABEL), so label
    /// values from untrusted input cannot grow memory without bound.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rm_metrics::{JobRegistry, OVERFLOW_LABEL};
    ///
    /// let registry = JobRegistry::with_max_series(1);
    /// registry.observe("backup", "ok", Duration::ZERO);
    /// registry.observe("prune", "ok", Duration::ZERO); // over the limit
    /// let overflow = registry.handle("check", "ok");   // over the limit too
    /// assert_eq!((overflow.kind(), overflow.status()), (OVERFLOW_LABEL, OVERFLOW_LABEL));
    /// assert_eq!(overflow.snapshot().count(), 1);
    /// ```
    pub fn with_max_series(max_series: usize) -> Self {
        JobRegistry {
            index: LabelIndex::new(max_series),
        }
    }

    /// Records one job of `kind` that ended with `status` after `duration`.
    /// Durations over `i64::MAX` ns (292 years) saturate.
    #[inline]
    pub fn observe(&self, kind: &str, status: &str, duration: Duration) {
        self.index.record(kind, status, nanos_of_duration(duration));
    }

    /// Like [`observe`](Self::observe), for a signed nanosecond count such as
    /// Go's `time.Duration`; negative values (clock skew) count as zero.
    #[inline]
    pub fn observe_nanos(&self, kind: &str, status: &str, nanos: i64) {
        self.index.record(kind, status, nanos_of_signed(nanos));
    }

    /// A handle on the series of `(kind, status)`, created if new (or the
    /// overflow series, past the limit). Observing through it skips the
    /// label lookup.
    pub fn handle(&self, kind: &str, status: &str) -> JobHandle {
        JobHandle(self.index.resolve(kind, status))
    }

    /// Number of series, the overflow series included.
    pub fn series_count(&self) -> usize {
        self.index.load().sorted.len()
    }

    /// Calls `f` with each series' labels and current state, in exposition
    /// order (kind, then status).
    pub fn for_each_series(&self, mut f: impl FnMut(&str, &str, &HistogramSnapshot)) {
        for series in self.index.load().sorted.iter() {
            f(&series.kind, &series.status, &series.histogram.snapshot());
        }
    }
}

impl Default for JobRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobRegistry")
            .field("series", &self.series_count())
            .finish_non_exhaustive()
    }
}

/// A resolved `(kind, status)` series: observing through it skips the label
/// lookup. Cloning is one reference-count increment.
#[derive(Clone)]
pub struct JobHandle(Arc<Series>);

impl JobHandle {
    /// Records one job of this series. Durations over `i64::MAX` ns saturate.
    #[inline]
    pub fn observe(&self, duration: Duration) {
        self.0.histogram.record(nanos_of_duration(duration));
    }

    /// Records a signed nanosecond duration; negative values count as zero.
    #[inline]
    pub fn observe_nanos(&self, nanos: i64) {
        self.0.histogram.record(nanos_of_signed(nanos));
    }

    /// The `kind` label of this series.
    pub fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The `status` label of this series.
    pub fn status(&self) -> &str {
        &self.0.status
    }

    /// The series' current counts and sum.
    pub fn snapshot(&self) -> HistogramSnapshot {
        self.0.histogram.snapshot()
    }
}

impl fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("kind", &self.kind())
            .field("status", &self.status())
            .finish()
    }
}
