//! What the three metric kinds share: the sealed [`Metric`] trait that a
//! [`Family`](crate::Family) is generic over, and how a scrape visits them.

use std::cell::RefCell;

use crate::core::latest::Latest;
use crate::core::memo::{Memo, Memoized};
use crate::core::sync::{thread_local, LocalKey, StdArc};
use crate::core::tuple::Tuple;
use crate::family::classic_map::ClassicMap;
use crate::family::family::Desc;
use crate::family::native::NativeBuckets;
use crate::family::native_nanos::NativeNanos;
use crate::family::{
    Counter, DurationHistogram, Gauge, Histogram, NativeHistogram, NativeHistogramValue,
};

// `Kind`, `Values` and `Visitor` appear in the sealed trait's signatures,
// so they are `pub` in this private module; nothing outside the crate can
// name them.

/// The kind of a family, as the exposition's `# TYPE` line names it.
#[allow(unreachable_pub)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A family's label values, as stored (series) or as passed (collectors).
#[allow(unreachable_pub)]
#[derive(Clone, Copy)]
pub enum Values<'a> {
    Stored(&'a Tuple),
    Passed(&'a [&'a str]),
}

impl<'a> Values<'a> {
    pub(crate) fn get(&self, i: usize) -> &'a str {
        match *self {
            Values::Stored(v) => v.get(i),
            Values::Passed(v) => v[i],
        }
    }

    pub(crate) fn len(&self) -> usize {
        match *self {
            Values::Stored(v) => v.len(),
            Values::Passed(v) => v.len(),
        }
    }

    /// Calls `f` with each value's bytes, in order.
    #[inline]
    pub(crate) fn for_each_bytes(&self, mut f: impl FnMut(&[u8])) {
        match *self {
            Values::Stored(v) => v.for_each_bytes(f),
            Values::Passed(v) => v.iter().for_each(|v| f(v.as_bytes())),
        }
    }
}

/// What an encoder does with each series of a scrape.
#[allow(unreachable_pub)]
pub trait Visitor {
    /// `exemplar`: the counter's latest, if it ever had one.
    fn counter(&mut self, values: Values<'_>, value: u64, exemplar: Option<&Latest>);
    fn gauge(&mut self, values: Values<'_>, value: f64);
    fn histogram(&mut self, values: Values<'_>, histogram: &dyn ReadHistogram);
}

/// What an encoder reads of a histogram of either kind.
#[allow(unreachable_pub)]
pub trait ReadHistogram {
    /// Adds the per-bucket counts into `acc` (using `pass`, as long, as
    /// scratch; both as long as the family's `Desc::width`, classic buckets
    /// first) and returns the sum in the exposition's unit.
    fn read(&self, pass: &mut [u64], acc: &mut [u64]) -> f64;
    /// The latest exemplar of bucket `bucket`, if it ever had one.
    fn exemplar(&self, bucket: usize) -> Option<&Latest>;
    /// A native histogram's exponential buckets, from the counters after
    /// the classic ones in a [`read`](Self::read): into `out`, `true`.
    /// `false` for a classic histogram.
    fn native(&self, _counts: &[u64], _out: &mut NativeHistogramValue) -> bool {
        false
    }
}

impl ReadHistogram for Histogram {
    fn read(&self, pass: &mut [u64], acc: &mut [u64]) -> f64 {
        let mut sum = 0.0;
        self.read_into(pass, acc, &mut sum);
        sum
    }

    fn exemplar(&self, bucket: usize) -> Option<&Latest> {
        self.exemplars.get(bucket)
    }
}

/// A metric kind a [`Family`](crate::Family) holds: [`Counter`], [`Gauge`],
/// [`Histogram`] or [`DurationHistogram`]. Sealed: the encoders know
/// exactly these.
pub trait Metric: sealed::Sealed + Send + Sync + 'static {}

pub(crate) mod sealed {
    use super::*;

    /// What a family needs to make and visit its series.
    pub trait Sealed: Memoized {
        const KIND: Kind;
        /// Makes what the family's series share, once, at registration.
        fn prepare(_desc: &mut Desc) {}
        /// A new series of the family `desc` describes.
        fn make(desc: &Desc) -> Self;
        fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor);
    }
}

/// Each kind's memo (one per thread, in front of its families' indexes):
/// a thread-local of its own per kind, named by its `Memoized` impl.
macro_rules! memoized {
    ($($kind:ty => $memo:ident),* $(,)?) => {$(
        thread_local! {
            static $memo: RefCell<Memo<$kind>> = RefCell::new(Memo::new());
        }

        impl Memoized for $kind {
            fn memo() -> &'static LocalKey<RefCell<Memo<Self>>> {
                &$memo
            }
        }
    )*};
}

memoized!(
    Counter => COUNTERS,
    Gauge => GAUGES,
    Histogram => HISTOGRAMS,
    NativeHistogram => NATIVES,
    DurationHistogram => DURATIONS,
);

impl Metric for Counter {}
impl sealed::Sealed for Counter {
    const KIND: Kind = Kind::Counter;
    fn make(desc: &Desc) -> Self {
        Counter::new(&desc.counter_words)
    }
    fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor) {
        visitor.counter(values, self.get(), self.exemplar());
    }
}

impl Metric for Gauge {}
impl sealed::Sealed for Gauge {
    const KIND: Kind = Kind::Gauge;
    fn make(_: &Desc) -> Self {
        Gauge::new()
    }
    fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor) {
        visitor.gauge(values, self.get());
    }
}

impl Metric for Histogram {}
impl sealed::Sealed for Histogram {
    const KIND: Kind = Kind::Histogram;
    fn make(desc: &Desc) -> Self {
        Histogram::new(desc.bounds.clone())
    }
    fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor) {
        visitor.histogram(values, self);
    }
}

impl ReadHistogram for NativeHistogram {
    fn read(&self, pass: &mut [u64], acc: &mut [u64]) -> f64 {
        let mut sum = 0.0;
        self.read_into(pass, acc, &mut sum);
        sum
    }

    fn exemplar(&self, _: usize) -> Option<&Latest> {
        None
    }

    fn native(&self, counts: &[u64], out: &mut NativeHistogramValue) -> bool {
        self.native_into(counts, out);
        true
    }
}

impl Metric for NativeHistogram {}
impl sealed::Sealed for NativeHistogram {
    const KIND: Kind = Kind::Histogram;
    fn prepare(desc: &mut Desc) {
        let map = desc
            .native
            .as_ref()
            .map(|n| NativeBuckets::new(n).classic_map(&desc.bounds));
        desc.native_map = map;
    }
    fn make(desc: &Desc) -> Self {
        // Native families are registered with their `Native`.
        let native = desc.native.as_ref().expect("a native family");
        NativeHistogram::new(desc.bounds.clone(), native, native_map(desc))
    }
    fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor) {
        visitor.histogram(values, self);
    }
}

/// The family's classic map (made by `prepare`), or, were it missing, one
/// that reads no bucket (every observation then compares).
fn native_map(desc: &Desc) -> ClassicMap {
    desc.native_map.clone().unwrap_or_else(ClassicMap::none)
}

impl Metric for DurationHistogram {}
impl sealed::Sealed for DurationHistogram {
    const KIND: Kind = Kind::Histogram;
    fn prepare(desc: &mut Desc) {
        let part = desc.native.as_ref().map(|n| {
            let map = NativeNanos::classic_map(n, &desc.bounds_nanos);
            StdArc::new(NativeNanos::new(n, map))
        });
        desc.native_nanos = part;
    }
    fn make(desc: &Desc) -> Self {
        // The family's part, shared; were it not prepared, one of the
        // series' own whose map reads no bucket (every observation then
        // compares).
        let native = desc.native_nanos.clone().or_else(|| {
            let n = desc.native.as_ref()?;
            Some(StdArc::new(NativeNanos::new(n, ClassicMap::none())))
        });
        DurationHistogram::new(desc.bounds_nanos.clone(), native)
    }
    fn visit(&self, values: Values<'_>, visitor: &mut dyn Visitor) {
        visitor.histogram(values, self);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::index::Series;
    use crate::core::lines::Line;
    use crate::core::shared::Shared;
    use crate::core::sync::{Arc, SetOnce};

    /// Keeps the table of `docs::families` true.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn family_memory_is_as_documented() {
        use std::mem::size_of;
        // Arc's two counts + the series.
        assert_eq!(16 + size_of::<Series<Counter>>(), 128);
        assert_eq!(16 + size_of::<Series<Gauge>>(), 104);
        assert_eq!(16 + size_of::<Series<Histogram>>(), 224);
        assert_eq!(16 + size_of::<Series<NativeHistogram>>(), 280);
        assert_eq!(16 + size_of::<Series<DurationHistogram>>(), 232);
        // A place in the table of a histogram's other slots' shards.
        assert_eq!(size_of::<SetOnce<Box<[Line]>>>(), 24);
        assert_eq!(size_of::<SetOnce<Arc<Series<Counter>>>>(), 16);
        assert_eq!(size_of::<Shared<f64>>(), 72);
        assert_eq!(size_of::<Shared<u128>>(), 96);
        assert_eq!(size_of::<Line>(), 128);
        assert_eq!(size_of::<crate::core::latest::Latest>(), 128);
    }
}
