//! A family's label-value tuples → series: an immutable index behind an
//! atomic pointer, replaced whole on every add and removal.
//!
//! Observers load the current [`Index`] lock-free and look their tuple up
//! by `&str`s with a precomputed hash, allocating nothing. An add or a
//! removal copies the index under the writers' mutex, changes the copy and
//! publishes it: readers see either the old or the new index, never a torn
//! one, and two threads adding one tuple agree on one series because the
//! re-check and the publish happen under one lock.
//!
//! A removed series stays alive while someone holds it (a handle, a scrape
//! in progress); what is recorded into it after its removal is published by
//! no index, as if recorded before the removal. An add after the removal
//! makes a new series, from zero.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::hash_table::HashTable;
use hashbrown::DefaultHashBuilder;

use crate::core::sync::{Arc, AtomicU64, Loaded, Mutex, Ordering, SwapCell};
use crate::family::memo::{self, Probe};
use crate::family::metric::Metric;
use crate::family::tuple::Tuple;

/// The label value of every label of the series that takes the
/// observations of new label sets once a family holds its maximum number of
/// series (see [`Opts::max_series`](crate::Opts::max_series)).
pub const OVERFLOW_LABEL: &str = "__overflow__";

/// One series: its label values (in the family's label order) and metric.
pub(crate) struct Series<M> {
    pub(crate) values: Tuple,
    /// The index's hash of `values`.
    hash: u64,
    /// `false` for the overflow series, which the limit does not count.
    counted: bool,
    pub(crate) metric: M,
}

#[cfg(all(feature = "metrics", not(loom)))]
impl<M> Series<M> {
    /// Whether this is an overflow series, which the limit does not count.
    pub(crate) fn is_overflow(&self) -> bool {
        !self.counted
    }
}

/// One immutable version of a family's index.
pub(crate) struct Index<M> {
    by_values: HashTable<Arc<Series<M>>>,
    /// Every series, in byte order of the value tuples: the exposition's.
    pub(crate) sorted: Vec<Arc<Series<M>>>,
    /// Series the limit counts (all but the overflow series).
    counted: usize,
    /// The overflow series, once it exists.
    overflow: Option<Arc<Series<M>>>,
}

impl<M> Clone for Index<M> {
    fn clone(&self) -> Self {
        Index {
            by_values: self.by_values.clone(),
            sorted: self.sorted.clone(),
            counted: self.counted,
            overflow: self.overflow.clone(),
        }
    }
}

impl<M> Index<M> {
    fn empty() -> Self {
        Index {
            by_values: HashTable::new(),
            sorted: Vec::new(),
            counted: 0,
            overflow: None,
        }
    }

    /// The series of `values`, or, with the family at its limit, the
    /// overflow series (if it exists yet): where an operation on `values`
    /// lands without adding a series.
    #[inline]
    fn find_or_overflow(
        &self,
        hash: u64,
        values: &[&str],
        max_series: usize,
    ) -> Option<&Arc<Series<M>>> {
        match self.find(hash, values) {
            Some(series) => Some(series),
            None if self.counted >= max_series => self.overflow.as_ref(),
            None => None,
        }
    }

    #[inline]
    fn find(&self, hash: u64, values: &[&str]) -> Option<&Arc<Series<M>>> {
        self.by_values
            .find(hash, |s| s.hash == hash && s.values.is(values))
    }
}

pub(crate) struct SeriesIndex<M> {
    current: SwapCell<Index<M>>,
    /// Serializes adds and removals; observers never touch it.
    writer: Mutex<()>,
    hasher: DefaultHashBuilder,
    max_series: usize,
    /// Whether values are `name, value, …` pairs (see `Desc::pairs`): the
    /// overflow series then keeps the names, one per set of names.
    pairs: bool,
    /// Bumped after every removal and clear: memo entries made before it
    /// are stale (see `memo.rs`).
    generation: AtomicU64,
}

impl<M: Metric> SeriesIndex<M> {
    /// Runs `f` on the series of `values`, added if new (or the overflow
    /// series, past the limit): from this thread's memo if it has it, else
    /// from the index, remembering it.
    #[inline]
    pub(crate) fn with<R>(&self, values: &[&str], make: impl Fn() -> M, f: impl Fn(&M) -> R) -> R {
        let family = self.current.id();
        // Acquire: pairs with the Release bump in `removed`; the index
        // loaded below is then at least the one the generation names.
        let generation = self.generation.load(Ordering::Acquire);
        let hit = memo::borrow(M::memo(), |m| {
            if !m.consult() {
                return None;
            }
            m.get(family, generation, &Probe::of(values), values)
                .map(&f)
        });
        if let Some(Some(r)) = hit {
            return r;
        }
        self.with_slow(values, generation, make, f)
    }

    /// [`with`](Self::with) without a memo hit: the index, then the memo
    /// learns the series (if this lookup consulted it and it has room, see
    /// `memo.rs`).
    #[inline(never)]
    fn with_slow<R>(
        &self,
        values: &[&str],
        generation: u64,
        make: impl Fn() -> M,
        f: impl Fn(&M) -> R,
    ) -> R {
        let family = self.current.id();
        let hash = self.hash(values);
        let max = self.max_series;
        // Through this thread's copy of the index (see `index_cache.rs`);
        // without the thread-local (thread exit) through the cell.
        let found = memo::borrow(M::memo(), |m| {
            m.find(
                (family, generation),
                &self.current,
                values,
                |index| index.find_or_overflow(hash, values, max),
                &f,
            )
        });
        match found {
            Some(Some(r)) => return r,
            Some(None) => {}
            None => {
                if let Some(series) = self.current.load().find_or_overflow(hash, values, max) {
                    return f(&series.metric);
                }
            }
        }
        let series = self.insert(hash, values, make);
        memo::borrow(M::memo(), |m| {
            m.remember(family, generation, values, &series)
        });
        f(&series.metric)
    }
}

impl<M> SeriesIndex<M> {
    pub(crate) fn new(max_series: usize) -> Self {
        SeriesIndex {
            current: SwapCell::new(Index::empty()),
            writer: Mutex::new(()),
            hasher: DefaultHashBuilder::default(),
            max_series,
            pairs: false,
            generation: AtomicU64::new(0),
        }
    }

    /// An index of `name, value, …` tuples, whose series each carry their
    /// own label names.
    #[cfg(all(feature = "metrics", not(loom)))]
    pub(crate) fn with_pairs(max_series: usize) -> Self {
        SeriesIndex {
            pairs: true,
            ..Self::new(max_series)
        }
    }

    /// The values of the overflow series that takes `values` past the
    /// limit: every value `__overflow__` (the names kept, with pairs).
    fn overflow_values<'a>(&self, values: &[&'a str]) -> Vec<&'a str> {
        let mut out = vec![OVERFLOW_LABEL; values.len()];
        if self.pairs {
            for (o, v) in out.iter_mut().zip(values).step_by(2) {
                *o = v;
            }
        }
        out
    }

    /// Whether `values` are those of an overflow series.
    fn is_overflow(&self, values: &[&str]) -> bool {
        if self.pairs {
            !values.is_empty()
                && values
                    .iter()
                    .skip(1)
                    .step_by(2)
                    .all(|v| *v == OVERFLOW_LABEL)
        } else {
            values.iter().all(|v| *v == OVERFLOW_LABEL)
        }
    }

    #[inline]
    fn hash(&self, values: &[&str]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for v in values {
            v.hash(&mut h);
        }
        h.finish()
    }

    /// The current index, for a scrape.
    pub(crate) fn load(&self) -> Loaded<Index<M>> {
        self.current.load()
    }

    /// Bumps the generation after a removal was published.
    fn removed(&self) {
        // Release: pairs with the Acquire load in `with`; a thread that sees
        // the new generation loads the index stored before it.
        self.generation.fetch_add(1, Ordering::Release);
    }
    /// The series of `values`, added if new (or the overflow series).
    pub(crate) fn resolve(&self, values: &[&str], make: impl FnOnce() -> M) -> Arc<Series<M>> {
        let hash = self.hash(values);
        let index = self.current.load();
        if let Some(series) = index.find_or_overflow(hash, values, self.max_series) {
            return Arc::clone(series);
        }
        if self.pairs && index.counted >= self.max_series {
            // Past the limit, the overflow series of these names, if it
            // exists, without the writers' lock.
            let overflow = self.overflow_values(values);
            if let Some(series) = index.find(self.hash(&overflow), &overflow) {
                return Arc::clone(series);
            }
        }
        drop(index);
        self.insert(hash, values, make)
    }

    fn lock(&self) -> crate::core::sync::MutexGuard<'_, ()> {
        // The index is only ever replaced whole, so a panic while holding
        // the lock cannot leave it half-written: poisoning is moot.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cold]
    #[inline(never)]
    fn insert(&self, hash: u64, values: &[&str], make: impl FnOnce() -> M) -> Arc<Series<M>> {
        let _writer = self.lock();
        let current = self.current.load();
        if let Some(series) = current.find_or_overflow(hash, values, self.max_series) {
            // Another writer added it (or the overflow series) since our
            // lookup.
            return Arc::clone(series);
        }
        let full = current.counted >= self.max_series;
        let overflow_values: Vec<&str>;
        let (values, hash) = if full {
            overflow_values = self.overflow_values(values);
            let hash = self.hash(&overflow_values);
            if let Some(series) = current.find(hash, &overflow_values) {
                // With pairs: the overflow series of these names exists.
                return Arc::clone(series);
            }
            (&overflow_values[..], hash)
        } else {
            (values, hash)
        };
        let mut next = Index::clone(&current);
        drop(current);
        // A series whose every value is `__overflow__` is an overflow
        // series, whoever made it: the limit never counts it. Without pairs
        // there is one, and `overflow` names it while it exists; with pairs,
        // one per set of label names, found by their values.
        let overflow = self.is_overflow(values);
        let series = Arc::new(Series {
            values: Tuple::new(values),
            hash,
            counted: !overflow,
            metric: make(),
        });
        next.by_values
            .insert_unique(hash, Arc::clone(&series), |s| s.hash);
        let at = next
            .sorted
            .partition_point(|s| s.values.cmp_with(values).is_lt());
        next.sorted.insert(at, Arc::clone(&series));
        next.counted += usize::from(!overflow);
        if overflow && !self.pairs {
            next.overflow = Some(Arc::clone(&series));
        }
        self.current.store(Arc::new(next));
        series
    }

    /// Removes the series of `values`; `false` if there was none.
    pub(crate) fn remove(&self, values: &[&str]) -> bool {
        let hash = self.hash(values);
        let _writer = self.lock();
        let current = self.current.load();
        let Some(series) = current.find(hash, values).cloned() else {
            return false;
        };
        let mut next = Index::clone(&current);
        drop(current);
        if let Ok(entry) = next.by_values.find_entry(hash, |s| Arc::ptr_eq(s, &series)) {
            entry.remove();
        }
        next.sorted.retain(|s| !Arc::ptr_eq(s, &series));
        next.counted -= usize::from(series.counted);
        if next
            .overflow
            .as_ref()
            .is_some_and(|o| Arc::ptr_eq(o, &series))
        {
            next.overflow = None;
        }
        self.current.store(Arc::new(next));
        self.removed();
        true
    }

    /// Removes every series.
    pub(crate) fn clear(&self) {
        let _writer = self.lock();
        self.current.store(Arc::new(Index::empty()));
        self.removed();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::shared::Shared;
    use crate::family::{Counter, DurationHistogram, Gauge, Histogram, NativeHistogram};

    /// Keeps the table of `docs::families` true.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn family_memory_is_as_documented() {
        use std::mem::size_of;
        // Arc's two counts + the series.
        assert_eq!(16 + size_of::<Series<Counter>>(), 96);
        assert_eq!(16 + size_of::<Series<Gauge>>(), 72);
        assert_eq!(16 + size_of::<Series<Histogram>>(), 128);
        assert_eq!(16 + size_of::<Series<NativeHistogram>>(), 184);
        assert_eq!(16 + size_of::<Series<DurationHistogram>>(), 216);
        assert_eq!(size_of::<Shared<f64>>(), 72);
        assert_eq!(size_of::<Shared<u128>>(), 96);
        assert_eq!(size_of::<crate::core::lines::Line>(), 128);
        assert_eq!(size_of::<crate::core::latest::Latest>(), 128);
    }
}
