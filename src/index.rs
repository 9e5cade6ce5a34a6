//! `(kind, status)` → series: an immutable index behind an atomic pointer.
//!
//! Readers load the current [`Index`] (lock-free) and look the pair up by
//! `&str` with a precomputed hash, allocating nothing. A missing pair is added
//! by copy-and-swap: under the writers' mutex, re-check, copy the index, add
//! the new series, publish the copy. Because the re-check and the publish
//! happen under one lock, two threads adding the same pair agree on one
//! series, and because a series is only reachable once published, no
//! observation can land in a series that is then thrown away.

use hashbrown::hash_table::HashTable;
use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

use crate::histogram::Histogram;
use crate::memo;
use std::cell::RefCell;

use crate::sync::{thread_local, Arc, CachedLoad, Mutex, SwapCell};

/// Label value of both `kind` and `status` on the series that takes every
/// observation of a new pair once the registry holds its maximum number of
/// series.
pub const OVERFLOW_LABEL: &str = "__overflow__";

/// One `(kind, status)` histogram and its labels.
pub(crate) struct Series {
    pub(crate) kind: Box<str>,
    pub(crate) status: Box<str>,
    pub(crate) histogram: Histogram,
}

/// One immutable version of the index.
#[derive(Clone)]
pub(crate) struct Index {
    by_labels: HashTable<Arc<Series>>,
    /// Every series, sorted by kind then status: the order of the exposition,
    /// kept here so a scrape never sorts.
    pub(crate) sorted: Vec<Arc<Series>>,
    /// Number of series other than the overflow series.
    regular: usize,
}

thread_local! {
    /// The index this thread observed into last, cached. Holding it keeps
    /// that index (not the registry) alive until the thread observes into
    /// another registry or exits.
    static CACHE: RefCell<Option<CachedLoad<Index>>> = RefCell::new(None);
}

pub(crate) struct LabelIndex {
    current: SwapCell<Index>,
    /// Serializes writers; readers never touch it.
    writer: Mutex<()>,
    hasher: DefaultHashBuilder,
    max_series: usize,
}

impl Index {
    fn find(&self, hash: u64, kind: &str, status: &str) -> Option<&Arc<Series>> {
        self.by_labels
            .find(hash, |s| &*s.kind == kind && &*s.status == status)
    }
}

impl LabelIndex {
    pub(crate) fn new(max_series: usize) -> Self {
        LabelIndex {
            current: SwapCell::new(Index {
                by_labels: HashTable::new(),
                sorted: Vec::new(),
                regular: 0,
            }),
            writer: Mutex::new(()),
            hasher: DefaultHashBuilder::default(),
            max_series,
        }
    }

    #[inline]
    fn hash(&self, kind: &str, status: &str) -> u64 {
        self.hasher.hash_one((kind, status))
    }

    /// Records `nanos` into the series of `(kind, status)`, adding it if new.
    #[inline]
    pub(crate) fn record(&self, kind: &str, status: &str, nanos: u64) {
        let id = self.current.id();
        // Pairs this thread observed before: no hashing, no index.
        if memo::with(id, kind, status, |series| series.histogram.record(nanos)).is_some() {
            return;
        }
        self.with_series(kind, status, |series| {
            series.histogram.record(nanos);
            memo::remember(id, kind, status, series);
        });
    }

    /// Runs `f` on the series of `(kind, status)`, found through this
    /// thread's cached load of the index, or added if new.
    #[inline(never)]
    fn with_series(&self, kind: &str, status: &str, f: impl FnOnce(&Arc<Series>)) {
        let hash = self.hash(kind, status);
        let mut f = Some(f);
        // This thread's cache of the index: while no pair is added, a load is
        // one Acquire load and a compare (see `sync::CachedLoad`). `None`:
        // no cache; `Some(found)` otherwise.
        let cached = CACHE
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                let cache = match &mut *cache {
                    Some(c) if c.id() == self.current.id() => c,
                    other => other.insert(self.current.cached()),
                };
                Some(
                    match self.find_or_overflow(cache.load(), hash, kind, status) {
                        Some(series) => {
                            if let Some(f) = f.take() {
                                f(series);
                            }
                            true
                        }
                        None => false,
                    },
                )
            })
            .ok()
            .flatten();
        let Some(f) = f else {
            return;
        };
        if cached == Some(false) {
            // Not in the current index (the cached load is current): add it.
            return f(&self.insert(hash, kind, status));
        }
        // Thread-locals torn down (observing from a destructor): no cache.
        match self.find_or_overflow(&self.current.load(), hash, kind, status) {
            Some(series) => f(series),
            None => f(&self.insert(hash, kind, status)),
        }
    }

    /// The pair's series in `index`, or the overflow series if `index` is
    /// full (pairs are never added past the limit, and the limit is never
    /// un-reached, so the pair can only ever go there: no need for the lock).
    #[inline]
    fn find_or_overflow<'a>(
        &self,
        index: &'a Index,
        hash: u64,
        kind: &str,
        status: &str,
    ) -> Option<&'a Arc<Series>> {
        match index.find(hash, kind, status) {
            Some(series) => Some(series),
            None if index.regular >= self.max_series => index.find(
                self.hash(OVERFLOW_LABEL, OVERFLOW_LABEL),
                OVERFLOW_LABEL,
                OVERFLOW_LABEL,
            ),
            None => None,
        }
    }

    /// The series of `(kind, status)`, added if new.
    pub(crate) fn resolve(&self, kind: &str, status: &str) -> Arc<Series> {
        let hash = self.hash(kind, status);
        if let Some(series) = self.current.load().find(hash, kind, status) {
            return Arc::clone(series);
        }
        self.insert(hash, kind, status)
    }

    /// The current index, for a scrape.
    pub(crate) fn load(&self) -> crate::sync::Loaded<Index> {
        self.current.load()
    }

    #[cold]
    fn insert(&self, hash: u64, kind: &str, status: &str) -> Arc<Series> {
        // A panic elsewhere while holding this lock cannot leave the index
        // half-written (it is only ever replaced whole), so poisoning is moot.
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.current.load();
        if let Some(series) = current.find(hash, kind, status) {
            // Another writer added it since our lookup.
            return Arc::clone(series);
        }
        let (kind, status, hash) = if current.regular < self.max_series {
            (kind, status, hash)
        } else {
            let hash = self.hash(OVERFLOW_LABEL, OVERFLOW_LABEL);
            if let Some(series) = current.find(hash, OVERFLOW_LABEL, OVERFLOW_LABEL) {
                return Arc::clone(series);
            }
            (OVERFLOW_LABEL, OVERFLOW_LABEL, hash)
        };
        let series = Arc::new(Series {
            kind: kind.into(),
            status: status.into(),
            histogram: Histogram::new(),
        });
        let mut next = Index::clone(&current);
        next.by_labels
            .insert_unique(hash, Arc::clone(&series), |s| self.hash(&s.kind, &s.status));
        let at = next
            .sorted
            .partition_point(|s| (&*s.kind, &*s.status) < (kind, status));
        next.sorted.insert(at, Arc::clone(&series));
        if kind != OVERFLOW_LABEL || status != OVERFLOW_LABEL {
            next.regular += 1;
        }
        drop(current);
        self.current.store(Arc::new(next));
        series
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Keeps the table of `docs::sharding` true.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn memory_per_series_is_as_documented() {
        use crate::shared_shard::SharedShard;
        use crossbeam_utils::CachePadded;
        assert_eq!(std::mem::size_of::<crate::shard::Shard>(), 112);
        assert_eq!(std::mem::size_of::<CachePadded<crate::shard::Shard>>(), 128);
        assert_eq!(std::mem::size_of::<SharedShard>(), 352);
        assert_eq!(std::mem::size_of::<CachePadded<SharedShard>>(), 384);
        // Arc's two counts + the series itself.
        assert_eq!(16 + std::mem::size_of::<Series>(), 72);
    }

    #[test]
    fn index_stays_sorted_and_findable() {
        let index = LabelIndex::new(100);
        for (k, s) in [("b", "x"), ("a", "z"), ("a", "y"), ("c", ""), ("", "q")] {
            index.resolve(k, s);
        }
        let current = index.load();
        let order: Vec<_> = current
            .sorted
            .iter()
            .map(|s| (&*s.kind, &*s.status))
            .collect();
        assert_eq!(
            order,
            [("", "q"), ("a", "y"), ("a", "z"), ("b", "x"), ("c", "")]
        );
        for (k, s) in order {
            assert!(current.find(index.hash(k, s), k, s).is_some());
        }
        // Same pair again: the same series.
        assert!(Arc::ptr_eq(
            &index.resolve("a", "y"),
            &index.resolve("a", "y")
        ));
        assert_eq!(index.load().sorted.len(), 5);
    }
}
