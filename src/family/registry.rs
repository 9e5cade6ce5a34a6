//! The registry: the families a scrape writes, in registration order.

use std::fmt;
use std::marker::PhantomData;

use crate::core::columns::Columns;
use crate::core::index::SeriesIndex;
use crate::core::sync::{Arc, Loaded, Mutex, StdArc, SwapCell};
use crate::family::bounds::Bounds;
use crate::family::collector::{Collected, Emit};
use crate::family::duration::nanos_of_bounds;
use crate::family::family::{Collect, Desc, Family, Inner};
use crate::family::metric::{Kind, Metric};
use crate::family::opts::{sample_names, validate, Opts, RegisterError};
use crate::family::{Counter, DurationHistogram, Gauge, Histogram, Native, NativeHistogram};

/// A set of metric families: counters, gauges and histograms with labels
/// of your own, and collectors that write families from your data at
/// scrape time. An encoder (such as [`TextEncoder`](crate::TextEncoder))
/// writes them all, in registration order.
///
/// Registration checks the names, labels and buckets and returns an error
/// for a bad one; it is the only step that can fail. Observing never fails,
/// never panics and, once a series exists, never allocates.
///
/// ```
/// use rm_metrics::{Opts, Registry, TextEncoder};
///
/// let registry = Registry::new();
/// let requests = registry.counter(Opts::new("http_requests", "Requests served."), ["code"])?;
/// let in_flight = registry.gauge(Opts::new("in_flight", "Requests in progress."), [])?;
/// requests.inc(["200"]);
/// in_flight.set([], 3.0);
///
/// let mut encoder = TextEncoder::new();
/// let text = std::str::from_utf8(encoder.encode(&registry)).unwrap();
/// assert!(text.contains("http_requests_total{code=\"200\"} 1\n"));
/// assert!(text.contains("in_flight 3\n"));
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
///
/// Cloning is one reference-count increment: clones share the families, so
/// one registry can be handed to several owners (a
/// [`JobRegistry`](crate::JobRegistry), the `metrics` recorder, the
/// service's own code) and every family shows in one exposition.
#[derive(Clone)]
pub struct Registry(StdArc<Families>);

struct Families {
    families: SwapCell<Vec<StdArc<dyn Collect>>>,
    /// Serializes registrations; scrapes never touch it.
    writer: Mutex<()>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry(StdArc::new(Families {
            families: SwapCell::new(Vec::new()),
            writer: Mutex::new(()),
        }))
    }

    /// Registers a counter family with the label names `labels`.
    pub fn counter<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
    ) -> Result<Family<Counter, N>, RegisterError> {
        self.family(opts, labels, &[])
    }

    /// Registers a gauge family with the label names `labels`.
    pub fn gauge<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
    ) -> Result<Family<Gauge, N>, RegisterError> {
        self.family(opts, labels, &[])
    }

    /// Registers a histogram family with the label names `labels` and the
    /// upper bounds `buckets` (finite, strictly increasing; `+Inf` is
    /// implicit).
    pub fn histogram<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        buckets: &[f64],
    ) -> Result<Family<Histogram, N>, RegisterError> {
        self.family(opts, labels, buckets)
    }

    /// Registers a family of [`NativeHistogram`]s with the label names
    /// `labels`, the classic upper bounds `buckets` (as
    /// [`histogram`](Self::histogram)'s, what the text formats show) and
    /// the exponential buckets `native`.
    pub fn native_histogram<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        buckets: &[f64],
        native: Native,
    ) -> Result<Family<NativeHistogram, N>, RegisterError> {
        native.check()?;
        self.family_with(opts, labels, buckets, Some(native))
    }

    /// Registers a family of [`DurationHistogram`]s with the label names
    /// `labels` and the upper bounds `buckets` in seconds (finite,
    /// non-negative, strictly increasing; `+Inf` is implicit).
    pub fn duration_histogram<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        buckets: &[f64],
    ) -> Result<Family<DurationHistogram, N>, RegisterError> {
        check_durations(buckets)?;
        self.family(opts, labels, buckets)
    }

    /// Registers a family of [`DurationHistogram`]s with native
    /// (exponential) buckets in seconds beside the classic `buckets`: what
    /// [`duration_histogram`](Self::duration_histogram) registers, plus
    /// [`DurationHistogram::native`] and the protobuf exposition's native
    /// histogram. Each observation's native bucket is found from its
    /// integer nanoseconds (no division into seconds), and its classic
    /// bucket from the native one wherever that settles it (see
    /// [`docs::families`](crate::docs::families) for the memory).
    pub fn native_duration_histogram<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        buckets: &[f64],
        native: Native,
    ) -> Result<Family<DurationHistogram, N>, RegisterError> {
        native.check()?;
        check_durations(buckets)?;
        self.family_with(opts, labels, buckets, Some(native))
    }

    /// Registers a gauge family whose samples `collect` writes at each
    /// scrape, from the caller's own data.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use rm_metrics::{Opts, Registry, TextEncoder};
    ///
    /// let queues = Arc::new(Mutex::new(vec![("mail", 3), ("sms", 0)]));
    /// let registry = Registry::new();
    /// let source = Arc::clone(&queues);
    /// registry.gauge_fn(Opts::new("queue_depth", "Jobs waiting."), ["queue"], move |out| {
    ///     for (name, depth) in source.lock().unwrap().iter() {
    ///         out.sample([name], f64::from(*depth));
    ///     }
    /// })?;
    /// let text = TextEncoder::new().encode(&registry).to_vec();
    /// assert!(String::from_utf8(text).unwrap().contains("queue_depth{queue=\"mail\"} 3\n"));
    /// # Ok::<(), rm_metrics::RegisterError>(())
    /// ```
    pub fn gauge_fn<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        collect: impl Fn(&mut Emit<'_, N, f64>) + Send + Sync + 'static,
    ) -> Result<(), RegisterError> {
        self.collected(Kind::Gauge, opts, labels, collect)
    }

    /// Registers a counter family whose samples `collect` writes at each
    /// scrape (counts the caller keeps itself).
    pub fn counter_fn<const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        collect: impl Fn(&mut Emit<'_, N, u64>) + Send + Sync + 'static,
    ) -> Result<(), RegisterError> {
        self.collected(Kind::Counter, opts, labels, collect)
    }

    fn collected<const N: usize, T: 'static>(
        &self,
        kind: Kind,
        opts: Opts<'_>,
        labels: [&str; N],
        collect: impl Fn(&mut Emit<'_, N, T>) + Send + Sync + 'static,
    ) -> Result<(), RegisterError> {
        self.add(kind, &opts, &labels, &[], |desc| {
            StdArc::new(Collected {
                desc,
                collect,
                value: PhantomData,
            })
        })
        .map(drop)
    }

    fn family<M: Metric, const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        bounds: &[f64],
    ) -> Result<Family<M, N>, RegisterError> {
        self.family_with(opts, labels, bounds, None)
    }

    fn family_with<M: Metric, const N: usize>(
        &self,
        opts: Opts<'_>,
        labels: [&str; N],
        bounds: &[f64],
        native: Option<Native>,
    ) -> Result<Family<M, N>, RegisterError> {
        let max_series = opts.max_series;
        let mut inner = None;
        self.add(M::KIND, &opts, &labels, bounds, |mut desc| {
            desc.native = native;
            M::prepare(&mut desc);
            let family = StdArc::new(Inner {
                desc,
                index: SeriesIndex::<M>::new(max_series),
            });
            inner = Some(StdArc::clone(&family));
            family
        })?;
        // `add` succeeded, so it made the family.
        Ok(Family::new(inner.expect("registered")))
    }

    /// Validates, checks the names are free, and publishes what `make`
    /// builds from the description.
    pub(crate) fn add(
        &self,
        kind: Kind,
        opts: &Opts<'_>,
        labels: &[&str],
        bounds: &[f64],
        make: impl FnOnce(Desc) -> StdArc<dyn Collect>,
    ) -> Result<(), RegisterError> {
        validate(kind, opts, labels, bounds)?;
        // The list is only ever replaced whole: poisoning is moot.
        let _writer = self.0.writer.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.0.families.load();
        let taken = sample_names(kind, opts.name);
        for family in current.iter() {
            let desc = family.desc();
            if sample_names(desc.kind, &desc.name)
                .iter()
                .any(|n| taken.contains(n))
            {
                return Err(RegisterError::DuplicateName(opts.name.into()));
            }
        }
        let desc = Desc {
            name: opts.name.into(),
            help: opts.help.into(),
            unit: opts.unit.map(Box::from),
            kind,
            labels: labels.iter().map(|l| Box::from(*l)).collect(),
            const_labels: opts
                .const_labels
                .iter()
                .map(|(n, v)| (Box::from(*n), Box::from(*v)))
                .collect(),
            bounds: Bounds::new(bounds, f64::INFINITY),
            bounds_nanos: nanos_of_bounds(bounds),
            native: None,
            native_map: None,
            native_nanos: None,
            counter_words: Columns::new(),
            pairs: false,
        };
        let mut next = Vec::clone(&current);
        next.push(make(desc));
        self.0.families.store(Arc::new(next));
        Ok(())
    }

    /// The families, for a scrape.
    pub(crate) fn families(&self) -> Loaded<Vec<StdArc<dyn Collect>>> {
        self.0.families.load()
    }
}

fn check_durations(buckets: &[f64]) -> Result<(), RegisterError> {
    match buckets.iter().find(|b| **b < 0.0) {
        Some(b) => Err(RegisterError::InvalidBuckets(format!(
            "{b} is a negative duration"
        ))),
        None => Ok(()),
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("families", &self.families().len())
            .finish_non_exhaustive()
    }
}
