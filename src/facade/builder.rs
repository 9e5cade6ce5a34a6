//! How a [`Recorder`] is configured: bucket ladders by metric name, the
//! series limit, and how invalid names are treated.

use std::time::Duration;

use crate::facade::idle::Kinds;
use crate::facade::names::Names;
use crate::facade::recorder::Recorder;
use crate::family::validate;
use crate::{Opts, RegisterError, Registry, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES};

/// Which metric names a bucket ladder applies to, matched against the
/// family name (after sanitizing, see [`Builder::strict_names`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// Exactly this name.
    Full(String),
    /// Names that start with this.
    Prefix(String),
    /// Names that end with this.
    Suffix(String),
}

impl Matcher {
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Full(s) => name == s,
            Matcher::Prefix(s) => name.starts_with(s.as_str()),
            Matcher::Suffix(s) => name.ends_with(s.as_str()),
        }
    }
}

/// Configuration of a [`Recorder`]; [`build`](Builder::build) makes it.
///
/// ```
/// use rm_metrics::facade::{Matcher, Recorder};
/// use rm_metrics::Registry;
///
/// let registry = Registry::new();
/// let recorder = Recorder::builder()
///     .buckets(&[0.001, 0.01, 0.1, 1.0])?
///     .buckets_for(Matcher::Suffix("_bytes".into()), &[1e3, 1e6, 1e9])?
///     .max_series(1000)
///     .build(&registry);
/// # let _ = recorder;
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    pub(crate) default_buckets: Vec<f64>,
    pub(crate) buckets: Vec<(Matcher, Vec<f64>)>,
    pub(crate) max_series: usize,
    pub(crate) names: Names,
    /// Which kinds expire, after how long idle.
    pub(crate) idle: Option<(Kinds, Duration)>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            default_buckets: DEFAULT_BUCKETS.to_vec(),
            buckets: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            names: Names::Sanitize,
            idle: None,
        }
    }
}

impl Builder {
    /// The ladder of histograms no [`buckets_for`](Self::buckets_for)
    /// matches (by default [`DEFAULT_BUCKETS`]): finite, strictly
    /// increasing upper bounds; `+Inf` is implicit.
    pub fn buckets(mut self, bounds: &[f64]) -> Result<Self, RegisterError> {
        check(bounds)?;
        self.default_buckets = bounds.to_vec();
        Ok(self)
    }

    /// The ladder of histograms whose name `matcher` matches. The first
    /// matcher added that matches a name decides its ladder.
    pub fn buckets_for(mut self, matcher: Matcher, bounds: &[f64]) -> Result<Self, RegisterError> {
        check(bounds)?;
        self.buckets.push((matcher, bounds.to_vec()));
        Ok(self)
    }

    /// The most series of each metric name (by default
    /// [`DEFAULT_MAX_SERIES`]); past it, new label sets land in an overflow
    /// series whose label values are all
    /// [`OVERFLOW_LABEL`](crate::OVERFLOW_LABEL), one per set of label
    /// names.
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }

    /// Refuse metric and label names that are not valid Prometheus names
    /// (the macro calls using them record nothing, and
    /// [`Recorder::errors`] lists them) instead of replacing each invalid
    /// character with `_` (`http.requests` → `http_requests`), the
    /// default.
    pub fn strict_names(mut self) -> Self {
        self.names = Names::Strict;
        self
    }

    /// Series of `kinds` that no update touched for `timeout` are removed
    /// by [`Recorder::expire_idle`], which the service calls (before each
    /// scrape, or on a timer): a label set it stopped using then leaves
    /// the exposition, and its next use starts a new series from zero (a
    /// counter reset, to Prometheus). By default nothing expires.
    ///
    /// Idle means that the series' value stayed the same over the calls of
    /// `expire_idle` spanning `timeout`: a counter or histogram is idle
    /// when nothing recorded into it, a gauge also when it was only set to
    /// the value it had. A handle kept across its series' expiry records
    /// into the removed series, which no scrape shows any more: with idle
    /// expiry, record through the macros (or drop handles within the
    /// timeout).
    pub fn idle_timeout(mut self, kinds: Kinds, timeout: Duration) -> Self {
        self.idle = Some((kinds, timeout));
        self
    }

    /// The recorder, registering its families in `registry` (a clone of
    /// it: the registry is shared, and an encoder or the exporter writes
    /// them with the registry's other families).
    pub fn build(self, registry: &Registry) -> Recorder {
        Recorder::new_with(self, registry.clone())
    }

    /// The ladder for the family `name`.
    pub(crate) fn ladder(&self, name: &str) -> &[f64] {
        self.buckets
            .iter()
            .find(|(m, _)| m.matches(name))
            .map_or(&self.default_buckets[..], |(_, b)| &b[..])
    }
}

fn check(bounds: &[f64]) -> Result<(), RegisterError> {
    validate(
        crate::family::Kind::Histogram,
        &Opts::new("ladder", ""),
        &[],
        bounds,
    )
}
