//! The restic-manager job histograms, built on the families API:
//! [`JobRegistry`] and [`JobHandle`].

use std::fmt;
use std::time::Duration;

use crate::restic::ladder::BUCKET_BOUNDS_SECONDS;
use crate::{
    DurationHistogram, DurationHistogramValue, Exemplar, Family, Handle, Native,
    NativeHistogramValue, Opts, RegisterError, Registry, DEFAULT_MAX_SERIES,
};

/// The family's name and help text, as the Go original exports them.
pub(crate) const NAME: &str = "rm_job_duration_seconds";
const HELP: &str = "End-to-end duration of completed jobs, by kind and terminal status.";

/// Job-duration histograms, one per `(kind, status)` pair: a preset of the
/// families API, a [`Registry`] holding one family of
/// [`DurationHistogram`]s, `rm_job_duration_seconds{kind, status}`, on the
/// ladder [`BUCKET_BOUNDS_SECONDS`].
///
/// Observing is lock-free and allocation-free once a pair exists (see
/// [`docs::families`](crate::docs::families)). Share it by reference or in
/// an `Arc`.
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
/// assert_eq!(checks.get().count(), 1);
/// assert_eq!(checks.get().cumulative()[..3], [0, 1, 1]); // le 1, 5, 30
/// ```
pub struct JobRegistry {
    registry: Registry,
    jobs: Family<DurationHistogram, 2>,
}

impl JobRegistry {
    /// An empty registry with the default series limit
    /// ([`DEFAULT_MAX_SERIES`]).
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
    /// assert_eq!(overflow.get().count(), 1);
    /// ```
    pub fn with_max_series(max_series: usize) -> Self {
        match Self::build(max_series, None) {
            Ok(registry) => registry,
            // The name, labels and ladder are constants a test checks.
            Err(e) => unreachable!("the job family's constants are invalid: {e}"),
        }
    }

    /// An empty registry whose job histograms also keep native
    /// (exponential) buckets, in seconds: served in the protobuf
    /// exposition as native histograms, whose quantiles are within the
    /// schema's bucket width, beside the classic ladder that the text
    /// formats show. Each series then costs the memory of its native
    /// counters too (see [`docs::families`](crate::docs::families)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rm_metrics::{JobRegistry, Native};
    ///
    /// // 1 ms to 12 days, 8 buckets per doubling.
    /// let registry = JobRegistry::with_native(Native::new(0.001, 1_048_576.0))?;
    /// registry.observe("backup", "succeeded", Duration::from_secs(754));
    /// let native = registry.handle("backup", "succeeded").native().unwrap();
    /// assert_eq!((native.schema(), native.positive().len()), (3, 1));
    /// # Ok::<(), rm_metrics::RegisterError>(())
    /// ```
    pub fn with_native(native: Native) -> Result<Self, RegisterError> {
        Self::build(DEFAULT_MAX_SERIES, Some(native))
    }

    fn build(max_series: usize, native: Option<Native>) -> Result<Self, RegisterError> {
        let registry = Registry::new();
        let opts = Opts::new(NAME, HELP).max_series(max_series);
        let labels = ["kind", "status"];
        let jobs = match native {
            None => registry.duration_histogram(opts, labels, &BUCKET_BOUNDS_SECONDS),
            Some(native) => {
                registry.native_duration_histogram(opts, labels, &BUCKET_BOUNDS_SECONDS, native)
            }
        };
        Ok(JobRegistry {
            jobs: jobs?,
            registry,
        })
    }

    /// Records one job of `kind` that ended with `status` after `duration`.
    /// Durations over `i64::MAX` ns (292 years) saturate.
    #[inline]
    pub fn observe(&self, kind: &str, status: &str, duration: Duration) {
        self.jobs.observe([kind, status], duration);
    }

    /// Like [`observe`](Self::observe), for a signed nanosecond count such as
    /// Go's `time.Duration`; negative values (clock skew) count as zero.
    #[inline]
    pub fn observe_nanos(&self, kind: &str, status: &str, nanos: i64) {
        self.jobs.observe_nanos([kind, status], nanos);
    }

    /// Records one finished job with an exemplar (its trace id), which the
    /// OpenMetrics exposition shows on the job's bucket.
    pub fn observe_with_exemplar(
        &self,
        kind: &str,
        status: &str,
        duration: Duration,
        exemplar: &Exemplar<'_>,
    ) {
        self.jobs
            .observe_with_exemplar([kind, status], duration, exemplar);
    }

    /// A handle on the series of `(kind, status)`, created if new (or the
    /// overflow series, past the limit). Observing through it skips the
    /// label lookup.
    pub fn handle(&self, kind: &str, status: &str) -> JobHandle {
        JobHandle(self.jobs.with([kind, status]))
    }

    /// Number of series, the overflow series included.
    pub fn series_count(&self) -> usize {
        self.jobs.len()
    }

    /// Calls `f` with each series' labels and current state, in exposition
    /// order (kind, then status).
    pub fn for_each_series(&self, mut f: impl FnMut(&str, &str, &DurationHistogramValue)) {
        self.jobs.for_each(|series| {
            let mut values = series.values();
            let (kind, status) = (values.next().unwrap_or(""), values.next().unwrap_or(""));
            f(kind, status, &series.get());
        });
    }

    /// The registry holding the job family. Families registered in it too
    /// (the service's own, or a `metrics` facade recorder's) are written
    /// after the job family by a [`Renderer`](crate::Renderer) (in
    /// partition 0), and so served by the exporter.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The job family itself.
    pub fn family(&self) -> &Family<DurationHistogram, 2> {
        &self.jobs
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
pub struct JobHandle(Handle<DurationHistogram>);

impl JobHandle {
    /// Records one job of this series. Durations over `i64::MAX` ns saturate.
    #[inline]
    pub fn observe(&self, duration: Duration) {
        self.0.observe(duration);
    }

    /// Records a signed nanosecond duration; negative values count as zero.
    #[inline]
    pub fn observe_nanos(&self, nanos: i64) {
        self.0.observe_nanos(nanos);
    }

    /// Records one job of this series with an exemplar (its trace id).
    #[inline]
    pub fn observe_with_exemplar(&self, duration: Duration, exemplar: &Exemplar<'_>) {
        self.0.observe_with_exemplar(duration, exemplar);
    }

    /// The `kind` label of this series.
    pub fn kind(&self) -> &str {
        self.0.values().next().unwrap_or("")
    }

    /// The `status` label of this series.
    pub fn status(&self) -> &str {
        self.0.values().nth(1).unwrap_or("")
    }

    /// The native buckets, for a registry made
    /// [`with_native`](JobRegistry::with_native).
    pub fn native(&self) -> Option<NativeHistogramValue> {
        self.0.native()
    }

    /// The series' current counts and exact sum, read exactly (see
    /// [`docs::consistency`](crate::docs::consistency)).
    pub fn get(&self) -> DurationHistogramValue {
        self.0.get()
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_job_family_registers() {
        let r = JobRegistry::with_max_series(3);
        assert_eq!(r.family().name(), NAME);
        r.observe("a", "b", Duration::from_secs(1));
        assert_eq!(r.handle("a", "b").get().cumulative()[0], 1);
    }
}
