//! A registered family and the handles on its series.

use std::fmt;
use std::ops::Deref;

use crate::core::columns::Columns;
use crate::core::index::{Series, SeriesIndex};
use crate::core::sync::{Arc, StdArc};
use crate::family::bounds::Bounds;
use crate::family::classic_map::ClassicMap;
use crate::family::metric::{Kind, Metric, Values, Visitor};
use crate::family::native_nanos::NativeNanos;
use crate::family::{
    Counter, DurationHistogram, Exemplar, Gauge, Histogram, Native, NativeHistogram,
};

/// What a family is, for the encoders. (`pub` in this private module: the
/// sealed `Metric` trait's signatures name it.)
#[allow(unreachable_pub)]
pub struct Desc {
    pub(crate) name: Box<str>,
    pub(crate) help: Box<str>,
    /// OpenMetrics' `# UNIT`, when declared.
    pub(crate) unit: Option<Box<str>>,
    pub(crate) kind: Kind,
    pub(crate) labels: Box<[Box<str>]>,
    pub(crate) const_labels: Box<[(Box<str>, Box<str>)]>,
    /// A histogram's bounds; empty for the other kinds. Every series of
    /// the family shares them (and their nanoseconds, for durations), so
    /// a bucket search reads lines that are hot for all of them.
    pub(crate) bounds: Bounds<f64>,
    /// The bounds as nanoseconds (see `duration.rs`), for duration
    /// histograms.
    pub(crate) bounds_nanos: Bounds<u64>,
    /// A native histogram's exponential buckets.
    pub(crate) native: Option<Native>,
    /// A native family's classic bucket of each native counter, made once
    /// at registration and shared by its series.
    pub(crate) native_map: Option<ClassicMap>,
    /// A native duration family's native part (its buckets, their ladder
    /// in nanoseconds and the classic map), made once at registration and
    /// shared by its series, which each hold a pointer, not a copy.
    pub(crate) native_nanos: Option<StdArc<NativeNanos>>,
    /// Where a counter family's series get their words (nothing is
    /// allocated until the first counter).
    pub(crate) counter_words: Columns,
    /// Whether each series carries its own label names (`labels` is then
    /// empty and a series' values are `name, value, name, value, …`): the
    /// families of the `metrics` facade, whose label sets vary by call site.
    pub(crate) pairs: bool,
}

impl Desc {
    /// A series' label pairs, constant labels first.
    pub(crate) fn pairs<'a>(
        &'a self,
        values: Values<'a>,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + Clone + 'a {
        let consts = self.const_labels.iter().map(|(n, v)| (&**n, &**v));
        let own = (0..values.len()).filter_map(move |i| {
            if self.pairs {
                // The series carries its names: `name, value, name, value, …`.
                (i % 2 == 0).then(|| (values.get(i), values.get(i + 1)))
            } else {
                Some((&*self.labels[i], values.get(i)))
            }
        });
        consts.chain(own)
    }

    /// Counters a histogram series of this family reads into: its classic
    /// buckets (`+Inf` included), then its native ones.
    pub(crate) fn width(&self) -> usize {
        self.bounds.len() + 1 + self.native.as_ref().map_or(0, Native::width)
    }
}

/// What the registry keeps of each family: something a scrape visits.
pub(crate) trait Collect: Send + Sync {
    fn desc(&self) -> &Desc;
    fn visit(&self, visitor: &mut dyn Visitor);
    /// Calls `f` with the family's help text and unit: the description's,
    /// unless the family can be described after registration.
    fn describe(&self, f: &mut dyn FnMut(&str, Option<&str>)) {
        let desc = self.desc();
        f(&desc.help, desc.unit.as_deref());
    }
}

pub(crate) struct Inner<M> {
    pub(crate) desc: Desc,
    pub(crate) index: SeriesIndex<M>,
}

impl<M: Metric> Collect for Inner<M> {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        for series in &self.index.sorted().series {
            series.metric.visit(Values::Stored(&series.values), visitor);
        }
    }
}

/// A family of metrics of one kind (`M`: [`Counter`], [`Gauge`] or
/// [`Histogram`]) with `N` labels: one series per distinct tuple of label
/// values, created on first use.
///
/// Observing through the family looks the tuple up (lock-free, no
/// allocation once the series exists); [`with`](Family::with) resolves it
/// once into a [`Handle`] that skips the lookup. Cloning is one
/// reference-count increment; clones share the series.
///
/// ```
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let requests = registry.counter(Opts::new("http_requests", "Requests."), ["method", "code"])?;
/// requests.inc(["GET", "200"]);
/// let not_found = requests.with(["GET", "404"]);
/// not_found.inc();
/// assert_eq!(requests.len(), 2);
/// assert!(requests.remove(["GET", "404"]));
/// assert_eq!(requests.len(), 1);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub struct Family<M, const N: usize> {
    inner: StdArc<Inner<M>>,
}

impl<M, const N: usize> Clone for Family<M, N> {
    fn clone(&self) -> Self {
        Family {
            inner: StdArc::clone(&self.inner),
        }
    }
}

impl<M: Metric, const N: usize> Family<M, N> {
    pub(crate) fn new(inner: StdArc<Inner<M>>) -> Self {
        let family = Family { inner };
        if N == 0 {
            // A family without labels has its one series from the start.
            family.with([""; N]);
        }
        family
    }

    #[inline]
    fn make(&self) -> impl Fn() -> M + '_ {
        || M::make(&self.inner.desc)
    }

    /// Runs `f` on the metric of `values` (added if new).
    #[inline]
    fn apply<R>(&self, values: [&str; N], f: impl Fn(&M) -> R) -> R {
        self.inner.index.with(&values, self.make(), f)
    }

    /// A handle on the series of `values`, created if new (past the series
    /// limit: the overflow series).
    pub fn with(&self, values: [&str; N]) -> Handle<M> {
        Handle(self.inner.index.resolve(&values, self.make()))
    }

    /// Removes the series of `values`: it disappears from the exposition,
    /// and a later use of the same values starts a new series from zero.
    /// `false` if there was no such series, and always for a family without
    /// labels, whose one series cannot be removed.
    pub fn remove(&self, values: [&str; N]) -> bool {
        N != 0 && self.inner.index.remove(&values)
    }

    /// Removes every series for which `keep` returns `false`, as
    /// [`remove`](Self::remove) does, in one change of the family; returns
    /// how many it removed. `keep` sees the series of one state of the
    /// family (as [`for_each`](Self::for_each)), without the family's lock
    /// held, so it may use the family; a series removed meanwhile by
    /// another thread is not counted, and one added meanwhile is kept.
    /// Nothing, for a family without labels.
    ///
    /// An expiry sweep: remove the routes no request counted since the
    /// last sweep.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use rm_metrics::{Opts, Registry};
    ///
    /// let registry = Registry::new();
    /// let requests = registry.counter(Opts::new("requests", "Requests."), ["route"])?;
    /// let mut last: HashMap<String, u64> = HashMap::new();
    /// // Each route's count at the last sweep; a route whose count did not
    /// // move since is removed (and forgotten, so it starts afresh).
    /// let mut sweep = |last: &mut HashMap<String, u64>| {
    ///     requests.retain(|s| {
    ///         let (route, count) = (s.values().collect::<String>(), s.get());
    ///         let idle = last.insert(route.clone(), count) == Some(count);
    ///         if idle {
    ///             last.remove(&route);
    ///         }
    ///         !idle
    ///     })
    /// };
    /// requests.inc(["/a"]);
    /// requests.inc(["/b"]);
    /// assert_eq!(sweep(&mut last), 0); // both new since the last sweep
    /// requests.inc(["/a"]);
    /// assert_eq!(sweep(&mut last), 1); // `/b` idle: removed
    /// assert_eq!(requests.len(), 1);
    /// # Ok::<(), rm_metrics::RegisterError>(())
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(SeriesRef<'_, M>) -> bool) -> usize {
        if N == 0 {
            return 0;
        }
        let sorted = self.inner.index.sorted();
        let gone: Vec<_> = sorted
            .series
            .iter()
            .filter(|s| !keep(SeriesRef(s)))
            .cloned()
            .collect();
        self.inner.index.remove_series(gone)
    }

    /// Removes every series (nothing, for a family without labels).
    pub fn clear(&self) {
        if N != 0 {
            self.inner.index.clear();
        }
    }

    /// Calls `f` with each series, in byte order of the label values (the
    /// exposition's order), as of one state of the family: every add and
    /// removal made before some moment of the call, none made after it.
    pub fn for_each(&self, mut f: impl FnMut(SeriesRef<'_, M>)) {
        for series in &self.inner.index.sorted().series {
            f(SeriesRef(series));
        }
    }

    /// Number of series, the overflow series included.
    pub fn len(&self) -> usize {
        self.inner.index.len()
    }

    /// Whether the family has no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.inner.desc.name
    }
}

impl<const N: usize> Family<Counter, N> {
    /// Adds one to the counter of `values`.
    #[inline]
    pub fn inc(&self, values: [&str; N]) {
        self.apply(values, Counter::inc);
    }

    /// Adds `n` to the counter of `values`.
    #[inline]
    pub fn inc_by(&self, values: [&str; N], n: u64) {
        self.apply(values, |c| c.inc_by(n));
    }

    /// Adds `n` to the counter of `values`, with `exemplar` as its latest
    /// (see [`Counter::inc_by_with_exemplar`]).
    #[inline]
    pub fn inc_by_with_exemplar(&self, values: [&str; N], n: u64, exemplar: &Exemplar<'_>) {
        self.apply(values, |c| c.inc_by_with_exemplar(n, exemplar));
    }
}

impl<const N: usize> Family<Gauge, N> {
    /// Sets the gauge of `values`.
    #[inline]
    pub fn set(&self, values: [&str; N], v: f64) {
        self.apply(values, |g| g.set(v));
    }

    /// Adds `v` (which may be negative) to the gauge of `values`.
    #[inline]
    pub fn add(&self, values: [&str; N], v: f64) {
        self.apply(values, |g| g.add(v));
    }
}

impl<const N: usize> Family<Histogram, N> {
    /// Records one observation of `v` in the histogram of `values`.
    #[inline]
    pub fn observe(&self, values: [&str; N], v: f64) {
        self.apply(values, |h| h.observe(v));
    }

    /// Records `v` in the histogram of `values`, with `exemplar` as the
    /// latest of its bucket (see [`Histogram::observe_with_exemplar`]).
    #[inline]
    pub fn observe_with_exemplar(&self, values: [&str; N], v: f64, exemplar: &Exemplar<'_>) {
        self.apply(values, |h| h.observe_with_exemplar(v, exemplar));
    }
}

impl<const N: usize> Family<NativeHistogram, N> {
    /// Records one observation of `v` in the histogram of `values`.
    #[inline]
    pub fn observe(&self, values: [&str; N], v: f64) {
        self.apply(values, |h| h.observe(v));
    }
}

impl<const N: usize> Family<DurationHistogram, N> {
    /// Records one duration in the histogram of `values`.
    #[inline]
    pub fn observe(&self, values: [&str; N], d: std::time::Duration) {
        self.apply(values, |h| h.observe(d));
    }

    /// Records a signed nanosecond count (negative: zero) in the histogram
    /// of `values`.
    #[inline]
    pub fn observe_nanos(&self, values: [&str; N], nanos: i64) {
        self.apply(values, |h| h.observe_nanos(nanos));
    }

    /// Records `d` in the histogram of `values`, with `exemplar` as the
    /// latest of its bucket (see
    /// [`DurationHistogram::observe_with_exemplar`]).
    #[inline]
    pub fn observe_with_exemplar(
        &self,
        values: [&str; N],
        d: std::time::Duration,
        exemplar: &Exemplar<'_>,
    ) {
        self.apply(values, |h| h.observe_with_exemplar(d, exemplar));
    }
}

impl<M, const N: usize> fmt::Debug for Family<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.inner.desc.name)
            .field("kind", &self.inner.desc.kind)
            .finish_non_exhaustive()
    }
}

/// One series of a family during [`Family::for_each`]: its label values,
/// and it dereferences to its metric.
pub struct SeriesRef<'a, M>(&'a Series<M>);

impl<'a, M> SeriesRef<'a, M> {
    /// The series' label values, in the family's label order.
    pub fn values(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.0.values.iter()
    }
}

impl<M> Deref for SeriesRef<'_, M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.0.metric
    }
}

/// One series of a family, resolved: it dereferences to its metric, and
/// using it skips the label lookup. Cloning is one reference-count
/// increment. A handle on a removed series still works, but what it records
/// is no longer exported.
pub struct Handle<M>(Arc<Series<M>>);

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Handle(Arc::clone(&self.0))
    }
}

impl<M> Handle<M> {
    /// The series' label values, in the family's label order.
    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.values.iter()
    }
}

impl<M> Deref for Handle<M> {
    type Target = M;

    #[inline]
    fn deref(&self) -> &M {
        &self.0.metric
    }
}

impl<M> fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&self.0.values).finish()
    }
}
