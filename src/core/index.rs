//! A family's label-value tuples → series: an immutable main table and an
//! append-only table of the series added since, behind one atomic
//! pointer, replaced whole only by merges and clears.
//!
//! Observers load the current index lock-free and look their tuple up by
//! `&str`s with a precomputed hash, allocating nothing. Writers (adds,
//! removals, merges) take the writers' mutex, so two threads adding one
//! tuple agree on one series: the re-check and the add happen under one
//! lock.
//!
//! The index is two tables: the *main* table, an immutable hash table
//! where most lookups find their series, and the *recent* one, of the
//! series added since the main table was built: an open-addressing array
//! of cells, each set once (`SetOnce`: `std`'s `OnceLock`), filled in
//! place. An add sets one cell (Release; a lookup reads cells with
//! Acquire), so it copies nothing; once the recent cells taken reach an
//! eighth of the main table's size (at least four times its square root,
//! and 32), the add merges both into a new main table with fresh cells and
//! publishes that index. So the main table grows geometrically, and adding
//! `n` series one by one copies at most about nine entries an add (5.3 at
//! 1,000, 8.3 at 10,000, 8.5 at 1,000,000), each an `Arc` clone and, when
//! the old index goes, a drop. (Merging at
//! four times the square root alone, as before, copied 16.7 an add at
//! 10,000 and about `√n / 4` beyond; the clones alone, a cache miss on
//! each series, took 17 % of an add's time at 10,000 (perf), the drops
//! more. In back-to-back `add/*` runs of the `compare` bench, 10,000 adds
//! took 4.36 ms before, 2.66 and 2.95 ms after, prometheus-client 3.36,
//! 2.99 and 3.10 ms. Every add copied the recent table as well before
//! that, and 10,000 added took 1 s when every add copied one whole
//! table.) Lookups read the main table, then the recent cells, both
//! through the thread's copy of the index (`index_cache.rs`), which an
//! add leaves current.
//!
//! A series the main table lacks costs a lookup that misses the memo a
//! probe of the main table first, so a family that stops changing should
//! not keep many series in its recent cells: a scrape that finds the
//! family unchanged since the previous scrape merges them, when they are
//! at least a quarter of what an add merges at ([`SeriesIndex::settle`]).
//!
//! A removal marks the series removed (a flag in the series, set under the
//! lock): no lookup and no scrape takes a marked series. It stays in its
//! table, marked, until a merge leaves it out, so a removal copies
//! nothing. Once the index holds a sixteenth of the main table's size in
//! removed series (at least 32), the removal merges: removing 1,000 of
//! 10,000 series one by one went from 100 ms (a copy of the main table
//! each) to 0.23 to 0.37 ms (`remove/*` in the `compare` bench, two runs;
//! prometheus-client: 0.24 ms).
//!
//! The exposition's order (byte order of the tuples) is not kept by the
//! tables: a scrape sorts the family once per version (every add, removal
//! and clear makes a new one), and later scrapes reuse that order until
//! the family changes ([`SeriesIndex::sorted`]).
//!
//! A removed series stays alive while someone holds it (a handle, a scrape
//! in progress, the order the last scrape sorted, a table that still holds
//! it marked); what is recorded into it after its removal is published by
//! no scrape, as if recorded before the removal. An add after the removal
//! makes a new series, from zero.

use std::hash::{BuildHasher, Hasher};
use std::sync::TryLockError;

use hashbrown::hash_table::HashTable;

use crate::core::memo::{self, Memoized, Probe};
use crate::core::retired::Retired;
use crate::core::sync::{
    fence, Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering, SetOnce, SwapCell,
};
use crate::core::tuple::Tuple;

/// The label value of every label of the series that takes the
/// observations of new label sets once a family holds its maximum number of
/// series (see [`Opts::max_series`](crate::Opts::max_series)).
pub const OVERFLOW_LABEL: &str = "__overflow__";

/// One series: its label values (in the family's label order) and metric.
///
/// `repr(C)`, so the hash and the values a lookup compares come first, in
/// the allocation's first line or two, before the metric.
#[repr(C)]
pub(crate) struct Series<M> {
    /// The index's hash of `values`.
    hash: u64,
    pub(crate) values: Tuple,
    /// `false` for the overflow series, which the limit does not count.
    counted: bool,
    /// Set (under the writers' lock) when the series is removed: the main
    /// table may still hold it until the next merge, but no lookup and no
    /// scrape takes it any more.
    removed: AtomicBool,
    pub(crate) metric: M,
}

impl<M> Series<M> {
    /// Whether the series was removed from its family.
    #[inline]
    pub(crate) fn is_removed(&self) -> bool {
        // Relaxed: nothing is published with the flag. A lookup or scrape
        // that loaded the family's generation or version after the removal
        // bumped it (Acquire, paired with those Release bumps, which come
        // after the mark) sees it set; one racing with the removal may
        // take the series either way, as it may from a table loaded before
        // the removal. A scrape orders the marks it read before its second
        // read of the version with an Acquire fence (see `sorted`).
        self.removed.load(Ordering::Relaxed)
    }
}

#[cfg(all(feature = "metrics", not(loom)))]
impl<M> Series<M> {
    /// Whether this is an overflow series, which the limit does not count.
    pub(crate) fn is_overflow(&self) -> bool {
        !self.counted
    }
}

/// The hash of a family's tuples: seeded per family (hashbrown's
/// default); under loom fixed, so that a model's tables iterate in the same
/// order in every execution (loom explores only deterministic models).
#[cfg(not(loom))]
type TupleHasher = hashbrown::DefaultHashBuilder;
#[cfg(loom)]
type TupleHasher = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

/// Series by their values' hash.
type Table<M> = HashTable<Arc<Series<M>>>;

/// One version of a family's index: the main table as of the last merge
/// (see the module's notes), where most lookups find their series, and the
/// cells the adds since fill.
pub(crate) struct Index<M> {
    by_values: Table<M>,
    recent: Recent<M>,
    /// Recent series at which an add merges ([`merge_at`] of the main
    /// table), and at which a quiet scrape does ([`settle_at`]): fixed
    /// with the main table, so worked out once per index, not per add.
    merge_at: usize,
    settle_at: usize,
}

impl<M> Index<M> {
    /// An index of `main` with room for the adds until the next merge.
    fn new(main: Table<M>) -> Self {
        let room = merge_at(main.len());
        Index {
            settle_at: settle_at(main.len()),
            by_values: main,
            recent: Recent::with_room(room),
            merge_at: room,
        }
    }

    /// The live series of `values`: in the main table, else among the
    /// recent ones.
    #[inline]
    fn find(&self, hash: u64, values: &[&str]) -> Option<&Arc<Series<M>>> {
        find_in(&self.by_values, hash, values).or_else(|| self.recent.find(hash, values))
    }

    /// Whether the index holds `series` (marked or not).
    fn holds(&self, series: &Arc<Series<M>>) -> bool {
        let is = |s: &Arc<Series<M>>| Arc::ptr_eq(s, series);
        self.by_values.find(series.hash, is).is_some() || self.recent.holds(series)
    }

    /// Every series of the index, marked ones included.
    fn iter(&self) -> impl Iterator<Item = &Arc<Series<M>>> {
        self.by_values.iter().chain(self.recent.iter())
    }
}

/// The live series of `values` in `table` (a removed one the table still
/// holds is passed over).
#[inline]
fn find_in<'a, M>(table: &'a Table<M>, hash: u64, values: &[&str]) -> Option<&'a Arc<Series<M>>> {
    table.find(hash, |s| is_live(s, hash, values))
}

/// Whether `s` is the live series of `values` (of hash `hash`).
#[inline]
fn is_live<M>(s: &Series<M>, hash: u64, values: &[&str]) -> bool {
    s.hash == hash && s.values.is(values) && !s.is_removed()
}

/// The series added since the last merge: an open-addressing table
/// (linear probing from the hash) whose cells are each set once, under the
/// writers' lock, and never cleared; a merge replaces the whole index. It
/// has twice the room a merge waits for, so a probe meets an empty cell
/// soon.
struct Recent<M> {
    cells: Box<[SetOnce<Arc<Series<M>>>]>,
}

impl<M> Recent<M> {
    /// Cells for `room` series, at most half full.
    fn with_room(room: usize) -> Self {
        let n = (2 * room).next_power_of_two();
        Recent {
            cells: (0..n).map(|_| SetOnce::new()).collect(),
        }
    }

    /// The cells a lookup of `hash` probes, in order.
    #[inline]
    fn probe(&self, hash: u64) -> impl Iterator<Item = &SetOnce<Arc<Series<M>>>> {
        let mask = self.cells.len() - 1;
        // Truncation is fine: only the low bits pick the first cell.
        let start = hash as usize & mask;
        (0..self.cells.len()).map(move |k| &self.cells[(start + k) & mask])
    }

    /// The live series of `values`, if an add set its cell before this
    /// lookup read it.
    #[inline]
    fn find(&self, hash: u64, values: &[&str]) -> Option<&Arc<Series<M>>> {
        self.probe(hash)
            .map_while(SetOnce::get)
            .find(|s| is_live(s, hash, values))
    }

    /// Adds `series` (under the writers' lock, with room left: see
    /// [`with_room`](Self::with_room)).
    fn insert(&self, series: Arc<Series<M>>) {
        let hash = series.hash;
        // Under the lock only this thread sets cells, so the first it reads
        // empty stays empty until it sets it.
        if let Some(cell) = self.probe(hash).find(|cell| cell.get().is_none()) {
            cell.set(series);
        }
    }

    /// Whether a cell holds `series` (marked or not).
    fn holds(&self, series: &Arc<Series<M>>) -> bool {
        self.probe(series.hash)
            .map_while(SetOnce::get)
            .any(|s| Arc::ptr_eq(s, series))
    }

    /// The series set so far, marked ones included.
    fn iter(&self) -> impl Iterator<Item = &Arc<Series<M>>> {
        self.cells.iter().filter_map(SetOnce::get)
    }
}

/// The main table after a merge: the live series of `index`, both tables.
/// Without removed series to leave out, the main table is copied whole;
/// with fewer than a quarter of it, copied and the removed ones then left
/// out (a copy of its control bytes and an `Arc` clone an entry: no
/// rehash, 19 % fewer instructions a removal in the `remove` bench); with
/// more, rebuilt, so that a family that shrank gets a smaller table.
fn merged<M>(index: &Index<M>, removed: usize) -> Table<M> {
    let main = &index.by_values;
    let mut out = if removed == 0 {
        Table::clone(main)
    } else if removed < main.len() / 4 {
        let mut out = Table::clone(main);
        out.retain(|s| !s.is_removed());
        out
    } else {
        let mut out = Table::with_capacity(main.len());
        for s in main.iter().filter(|s| !s.is_removed()) {
            out.insert_unique(s.hash, Arc::clone(s), |s| s.hash);
        }
        out
    };
    for s in index.recent.iter().filter(|s| !s.is_removed()) {
        out.insert_unique(s.hash, Arc::clone(s), |s| s.hash);
    }
    out
}

/// What only writers read and change, under the writers' lock.
struct Writer<M> {
    /// The index in the family's cell: only writers replace it, under
    /// their lock, so they read it here, without arc-swap's load and its
    /// debt (callgrind: 59 instructions fewer a removal, 46 an add, at
    /// 10,000 series).
    current: Arc<Index<M>>,
    /// The indexes merges and clears replaced, until no one else holds
    /// them (see `core/retired.rs`: at most a main table and
    /// [`removed_merge_at`] removed series more than the current index).
    retired: Retired<Index<M>>,
    /// Removed series the index still holds (until the next merge).
    removed: usize,
    /// Recent cells taken (by live or removed series).
    used: usize,
}

/// Recent series that start a merge into a main table of `main` series:
/// an eighth of it, at least four times its square root and 32 (see the
/// module's notes). Under loom every third recent series merges, so that
/// the models' few adds meet both tables and the merge (and the older
/// models, of two series, none).
fn merge_at(main: usize) -> usize {
    if cfg!(loom) {
        3
    } else {
        (main / 8).max(4 * main.isqrt()).max(32)
    }
}

/// Recent series a quiet scrape merges ([`SeriesIndex::settle`]): a
/// quarter of [`merge_at`], so that a family that adds a few series now
/// and then does not copy its main table at every scrape.
fn settle_at(main: usize) -> usize {
    (merge_at(main) / 4).max(1)
}

/// Removed series an index whose main table has `main` entries holds
/// before a removal merges: a sixteenth of them, at least 32 (under loom,
/// as [`merge_at`]), so a removal copies `O(1)` entries on average,
/// counting its share of the merges.
fn removed_merge_at(main: usize) -> usize {
    if cfg!(loom) {
        merge_at(main)
    } else {
        (main / 16).max(32)
    }
}

/// Collections a scrape makes while the family changes under it before it
/// collects under the writers' lock (see [`SeriesIndex::sorted`]).
const RETRIES: u32 = 3;

/// The series of one version of a family, in byte order of their tuples:
/// the exposition's.
pub(crate) struct Sorted<M> {
    version: u64,
    pub(crate) series: Vec<Arc<Series<M>>>,
}

pub(crate) struct SeriesIndex<M> {
    /// The main table and the recent cells.
    current: SwapCell<Index<M>>,
    /// Series in the family, the overflow series included.
    len: AtomicUsize,
    /// Series the limit counts (all but the overflow series).
    counted: AtomicUsize,
    /// The overflow series, once it exists (without pairs: see
    /// [`insert`](Self::insert)). Stored only when it is added, removed or
    /// cleared.
    overflow: SwapCell<Option<Arc<Series<M>>>>,
    /// The series of a recent version of the family, sorted (see
    /// [`sorted`](Self::sorted)).
    sorted: SwapCell<Sorted<M>>,
    /// Bumped after every add, removal and clear is published (not by a
    /// merge, which moves series without changing them).
    version: AtomicU64,
    /// Whether the recent cells hold at least [`settle_at`] series: a
    /// scrape that finds the family unchanged then merges them (see
    /// [`settle`](Self::settle)). Set and cleared under the writers' lock.
    unsettled: AtomicBool,
    /// Serializes adds, removals and merges; observers never touch it.
    /// The counts above change only under it.
    writer: Mutex<Writer<M>>,
    hasher: TupleHasher,
    max_series: usize,
    /// Whether values are `name, value, …` pairs (see `Desc::pairs`): the
    /// overflow series then keeps the names, one per set of names.
    pairs: bool,
    /// Bumped after every removal and clear: memo entries made before it
    /// are stale (see `memo.rs`).
    generation: AtomicU64,
}

impl<M: Memoized> SeriesIndex<M> {
    /// Runs `f` on the series of `values`, added if new (or the overflow
    /// series, past the limit): from this thread's memo if it has it, else
    /// from the index, remembering it.
    #[inline]
    pub(crate) fn with<R>(&self, values: &[&str], make: impl Fn() -> M, f: impl Fn(&M) -> R) -> R {
        let family = self.current.id();
        // Acquire: pairs with the Release bump in `removed`; the tables
        // loaded below are then at least the ones the generation names.
        let generation = self.generation.load(Ordering::Acquire);
        let hit = memo::borrow::<M, _>(|m| {
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

    /// [`with`](Self::with) without a memo hit: the main table, then the
    /// recent one; the memo then learns the series (if this lookup
    /// consulted it and it has room, see `memo.rs`).
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
        // Through this thread's copy of the main table (see
        // `index_cache.rs`); without the thread-local (thread exit) through
        // the cell.
        let found = memo::borrow::<M, _>(|m| {
            m.find(
                (family, generation),
                &self.current,
                values,
                |main| main.find(hash, values),
                &f,
            )
        });
        match found {
            Some(Some(r)) => return r,
            Some(None) => {}
            None => {
                if let Some(series) = self.current.load().find(hash, values) {
                    return f(&series.metric);
                }
            }
        }
        if let Some(r) = self.at_overflow(|series| f(&series.metric)) {
            return r;
        }
        let series = self.insert(hash, values, make);
        memo::borrow::<M, _>(|m| m.remember(family, generation, values, &series));
        f(&series.metric)
    }
}

impl<M> SeriesIndex<M> {
    pub(crate) fn new(max_series: usize) -> Self {
        let current = SwapCell::new(Index::new(Table::new()));
        SeriesIndex {
            writer: Mutex::new(Writer {
                current: current.load_full(),
                retired: Retired::new(),
                removed: 0,
                used: 0,
            }),
            current,
            len: AtomicUsize::new(0),
            counted: AtomicUsize::new(0),
            overflow: SwapCell::new(None),
            sorted: SwapCell::new(Sorted {
                version: 0,
                series: Vec::new(),
            }),
            version: AtomicU64::new(0),
            unsettled: AtomicBool::new(false),
            hasher: TupleHasher::default(),
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

    /// The seeded hash of a tuple: each value's bytes, one `write` each.
    /// No separator after each value (`str`'s `Hash` writes a `0xff`
    /// byte, which foldhash shifts into a 128-bit buffer: callgrind
    /// counted a lookup of three values at 490 instructions with the
    /// separators, 424 without): foldhash
    /// rotates its state by a write's length before folding the bytes in,
    /// so tuples that join to the same bytes but split them differently
    /// (`["ab", "c"]`, `["a", "bc"]`) still hash apart, and every byte
    /// of every value is hashed, so the seed still decides every
    /// collision. (Equal hashes never make tuples equal: a lookup
    /// compares the values.)
    #[inline]
    fn hash(&self, values: &[&str]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for v in values {
            h.write(v.as_bytes());
        }
        h.finish()
    }

    /// The family's series in byte order of their tuples (the
    /// exposition's): sorted once per version of the family, and kept for
    /// the scrapes after it until an add, a removal or a clear changes it.
    /// A scrape that finds the order current allocates nothing.
    ///
    /// The list is one state of the family: the series as of one version,
    /// or of the change after it in progress. Collecting reads two tables
    /// and each series' mark, so a family that changes meanwhile could mix
    /// states (one removal seen, an earlier one not); so the version is
    /// read again after the collection, and a collection it does not
    /// confirm is made again. After [`RETRIES`] such, the family is
    /// collected under the writers' lock, where it cannot change: a family
    /// that changes without pause delays its adds by one collection, never
    /// starves the scrape.
    pub(crate) fn sorted(&self) -> Arc<Sorted<M>> {
        // Acquire: pairs with the Release bump in `changed`; the tables
        // and marks read below are then at least those of `version`.
        let mut version = self.version.load(Ordering::Acquire);
        let kept = self.sorted.load_full();
        if kept.version == version {
            // Relaxed: a hint; `settle` checks under the writers' lock.
            if self.unsettled.load(Ordering::Relaxed) {
                self.settle(version);
            }
            return kept;
        }
        drop(kept);
        let mut series = Vec::new();
        let mut tries = 0;
        loop {
            if tries == RETRIES {
                let _writer = self.lock();
                // Relaxed: under the lock, which orders every change.
                version = self.version.load(Ordering::Relaxed);
                self.collect(&mut series);
                break;
            }
            tries += 1;
            self.collect(&mut series);
            // Acquire fence: the collection's loads come before the
            // version's second load. A table store or a mark (Release)
            // the collection saw brings every earlier change's bump with
            // it, so an unchanged version means every change the
            // collection saw part of is the one in progress after it.
            fence(Ordering::Acquire);
            // Acquire too: a retry collects at `now`, so its loads must see
            // every change up to `now` (marks included), as the first
            // collection's do after the first load. (Relaxed here let a
            // retry read a removal's mark stale and another's fresh, and
            // pass: the loom model `a_scrape_sees_one_state_of_removals`
            // found it once the removals stopped loading the cell, whose
            // loom stand-in, a lock, had ordered them.)
            let now = self.version.load(Ordering::Acquire);
            if now == version {
                break;
            }
            version = now;
        }
        series.sort_unstable_by(|a, b| a.values.cmp(&b.values));
        let sorted = Arc::new(Sorted { version, series });
        // A concurrent scrape may store the order of another version; the
        // next scrape then sorts again. Each scrape uses its own.
        self.sorted.store(Arc::clone(&sorted));
        sorted
    }

    /// Merges the recent cells into the main table when the family has
    /// not changed since the previous scrape (still at `version`) and they
    /// hold at least [`settle_at`] series (it also leaves out the removed
    /// series the tables still hold): so a family that stopped changing has
    /// its lookups find (nearly) every series in the main table. A merge
    /// changes no series, so the sorted order stays current. Never waits:
    /// a scrape that finds a writer at work leaves the merge to a later
    /// scrape.
    fn settle(&self, version: u64) {
        let mut writer = match self.writer.try_lock() {
            Ok(writer) => Self::swept(writer),
            // Poisoning is moot (see `lock`).
            Err(TryLockError::Poisoned(p)) => Self::swept(p.into_inner()),
            Err(TryLockError::WouldBlock) => return,
        };
        let index = Arc::clone(&writer.current);
        // Relaxed: under the lock, which orders every change.
        if self.version.load(Ordering::Relaxed) == version && writer.used >= index.settle_at {
            self.merge(&mut writer, &index);
        }
    }

    /// Sets `into` to the family's live series.
    fn collect(&self, into: &mut Vec<Arc<Series<M>>>) {
        into.clear();
        let index = self.current.load();
        into.extend(index.iter().filter(|s| !s.is_removed()).cloned());
    }

    /// Series in the family, the overflow series included.
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a count, which publishes nothing.
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the family holds as many series as the limit counts.
    #[inline]
    fn is_full(&self) -> bool {
        // Relaxed: the count publishes nothing. A lookup that reads it
        // stale takes the overflow series as if before a removal, or adds
        // under the writers' lock, which reads it exactly.
        self.counted.load(Ordering::Relaxed) >= self.max_series
    }

    /// With the family at its limit, `f` of the overflow series (if it
    /// exists yet): where an operation on values the index lacks lands
    /// without adding a series. The cell is loaded only at the limit.
    #[inline]
    fn at_overflow<R>(&self, f: impl FnOnce(&Arc<Series<M>>) -> R) -> Option<R> {
        if !self.is_full() {
            return None;
        }
        self.overflow.load().as_ref().as_ref().map(f)
    }

    /// Bumps the generation after a removal was published (under the
    /// writers' lock, the only place it changes: a load and a store, no
    /// locked read-modify-write).
    fn removed(&self) {
        // Relaxed load: under the lock, which orders every bump. Release
        // store: pairs with the Acquire load in `with`; a thread that sees
        // the new generation loads the tables stored before it.
        let next = self.generation.load(Ordering::Relaxed).wrapping_add(1);
        self.generation.store(next, Ordering::Release);
    }

    /// Bumps the version after an add, a removal or a clear was published
    /// (under the writers' lock, the only place it changes).
    fn changed(&self) {
        // Relaxed load: under the lock, as in `removed`. Release store:
        // pairs with the Acquire load in `sorted`.
        let next = self.version.load(Ordering::Relaxed).wrapping_add(1);
        self.version.store(next, Ordering::Release);
    }

    /// The series of `values`, added if new (or the overflow series).
    pub(crate) fn resolve(&self, values: &[&str], make: impl FnOnce() -> M) -> Arc<Series<M>> {
        let hash = self.hash(values);
        let index = self.current.load();
        if let Some(series) = index.find(hash, values) {
            return Arc::clone(series);
        }
        if let Some(series) = self.at_overflow(Arc::clone) {
            return series;
        }
        if self.pairs && self.is_full() {
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

    fn lock(&self) -> crate::core::sync::MutexGuard<'_, Writer<M>> {
        // The tables are only ever replaced whole, and nothing between a
        // change and its counts' update can panic (a failed allocation
        // aborts), so no holder leaves them half-written: poisoning is moot.
        Self::swept(self.writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The writers' lock, just taken, once it dropped the replaced indexes
    /// no one else holds any more (see `core/retired.rs`).
    fn swept(
        mut writer: crate::core::sync::MutexGuard<'_, Writer<M>>,
    ) -> crate::core::sync::MutexGuard<'_, Writer<M>> {
        writer.retired.sweep();
        writer
    }

    /// Sets a count (under the writers' lock, the only place counts
    /// change) to `f` of its value.
    fn count(count: &AtomicUsize, f: impl FnOnce(usize) -> usize) {
        // Relaxed, both: under the lock, which orders every change; a count
        // publishes nothing (see `is_full`).
        count.store(f(count.load(Ordering::Relaxed)), Ordering::Relaxed);
    }

    #[cold]
    #[inline(never)]
    fn insert(&self, hash: u64, values: &[&str], make: impl FnOnce() -> M) -> Arc<Series<M>> {
        let mut writer = self.lock();
        // Under the lock, exact: only writers set cells and replace the
        // index and change the counts.
        let index = Arc::clone(&writer.current);
        if let Some(series) = index.find(hash, values) {
            // Another writer added it since our lookup.
            return Arc::clone(series);
        }
        let overflow_values: Vec<&str>;
        let (values, hash) = if self.is_full() {
            overflow_values = self.overflow_values(values);
            let hash = self.hash(&overflow_values);
            if let Some(series) = index.find(hash, &overflow_values) {
                // The overflow series (of these names, with pairs) exists.
                return Arc::clone(series);
            }
            (&overflow_values[..], hash)
        } else {
            (values, hash)
        };
        // A series whose every value is `__overflow__` is an overflow
        // series, whoever made it: the limit never counts it. Without pairs
        // there is one, and `overflow` names it while it exists; with pairs,
        // one per set of label names, found by their values.
        let overflow = self.is_overflow(values);
        let series = Arc::new(Series {
            values: Tuple::new(values),
            hash,
            counted: !overflow,
            removed: AtomicBool::new(false),
            metric: make(),
        });
        // Published by the cell (Release, see `SetOnce`): a lookup that
        // reads the cell sees the series whole.
        index.recent.insert(Arc::clone(&series));
        writer.used += 1;
        if writer.used >= index.settle_at {
            // Relaxed: a hint for `sorted` (see `settle`).
            self.unsettled.store(true, Ordering::Relaxed);
        }
        Self::count(&self.len, |n| n + 1);
        if !overflow {
            Self::count(&self.counted, |n| n + 1);
        } else if !self.pairs {
            self.overflow.store(Arc::new(Some(Arc::clone(&series))));
        }
        if writer.used >= index.merge_at {
            self.merge(&mut writer, &index);
        }
        drop(index);
        self.changed();
        series
    }

    /// Stores `index` in the cell `current` (under the writers' lock),
    /// keeping the index it replaces until no one else holds it.
    fn replace(writer: &mut Writer<M>, current: &SwapCell<Index<M>>, index: Index<M>) {
        let index = Arc::new(index);
        writer.retired.replace(current, Arc::clone(&index));
        writer.current = index;
    }

    /// Merges `index`'s live series into a new main table, with fresh
    /// recent cells, and publishes it (under the writers' lock): no
    /// recent cell is then taken, and no removed series held.
    fn merge(&self, writer: &mut Writer<M>, index: &Index<M>) {
        let main = merged(index, writer.removed);
        Self::replace(writer, &self.current, Index::new(main));
        writer.used = 0;
        writer.removed = 0;
        // Relaxed: a hint (see `settle`), under the lock.
        self.unsettled.store(false, Ordering::Relaxed);
    }

    /// Removes the series of `values`; `false` if there was none.
    ///
    /// The series is only marked removed (no lookup or scrape takes it
    /// again) and left in its table until the next merge, so that a
    /// removal copies no table; once the index holds [`removed_merge_at`]
    /// removed series, the removal merges.
    pub(crate) fn remove(&self, values: &[&str]) -> bool {
        let hash = self.hash(values);
        let mut writer = self.lock();
        // Under the lock, exact: only writers replace the index and mark
        // series removed. What `find` returns is live and in the index, so
        // it is marked at once, through the writer's own reference (no
        // reference count taken, no second lookup).
        match writer.current.find(hash, values) {
            Some(series) => self.mark(series),
            None => return false,
        }
        writer.removed += 1;
        self.removed_from(&mut writer);
        true
    }

    /// Removes each of `series` that the family still holds, as
    /// [`remove`](Self::remove) does, in one change; returns how many.
    pub(crate) fn remove_series(&self, series: impl IntoIterator<Item = Arc<Series<M>>>) -> usize {
        let mut writer = self.lock();
        let index = Arc::clone(&writer.current);
        self.remove_locked(&mut writer, index, series)
    }

    /// [`remove_series`](Self::remove_series) under the writers' lock, with
    /// the index loaded under it.
    fn remove_locked(
        &self,
        writer: &mut Writer<M>,
        index: Arc<Index<M>>,
        series: impl IntoIterator<Item = Arc<Series<M>>>,
    ) -> usize {
        let mut removed = 0;
        for series in series {
            // Under the lock, exact: a series marked, or not in the index
            // (removed, or cleared), is not the family's any more.
            if series.is_removed() || !index.holds(&series) {
                continue;
            }
            self.mark(&series);
            removed += 1;
        }
        drop(index);
        if removed == 0 {
            return 0;
        }
        writer.removed += removed;
        self.removed_from(writer);
        removed
    }

    /// Marks `series`, a live series of the index, removed, and updates
    /// the counts (under the writers' lock).
    fn mark(&self, series: &Arc<Series<M>>) {
        // Release: a scrape that sees the mark sees the bumps of every
        // earlier change (see `sorted`); lookups need no more than the
        // bumps of the generation and the version that follow, which
        // publish it (see `Series::is_removed`).
        series.removed.store(true, Ordering::Release);
        Self::count(&self.len, |n| n - 1);
        if series.counted {
            Self::count(&self.counted, |n| n - 1);
        } else if (self.overflow.load().as_ref().as_ref()).is_some_and(|o| Arc::ptr_eq(o, series)) {
            self.overflow.store(Arc::new(None));
        }
    }

    /// After series were marked (and counted in `writer.removed`): merges
    /// once the index holds [`removed_merge_at`] removed series, then
    /// publishes the removal (under the writers' lock).
    fn removed_from(&self, writer: &mut Writer<M>) {
        if writer.removed >= removed_merge_at(writer.current.by_values.len()) {
            let index = Arc::clone(&writer.current);
            self.merge(writer, &index);
        }
        self.removed();
        self.changed();
    }

    /// Removes every series.
    pub(crate) fn clear(&self) {
        let mut writer = self.lock();
        Self::replace(&mut writer, &self.current, Index::new(Table::new()));
        (writer.removed, writer.used) = (0, 0);
        // Relaxed: a hint (see `settle`), under the lock.
        self.unsettled.store(false, Ordering::Relaxed);
        Self::count(&self.len, |_| 0);
        Self::count(&self.counted, |_| 0);
        self.overflow.store(Arc::new(None));
        self.removed();
        self.changed();
    }
}

/// A series value for the core's own tests: a count, with a memo of its
/// own (the metric kinds live in the family layer, above this one).
#[cfg(all(test, not(loom)))]
pub(crate) mod test_value {
    use std::cell::RefCell;

    use crate::core::memo::{Memo, Memoized};
    use crate::core::sync::{thread_local, AtomicU64, LocalKey, Ordering};

    pub(crate) struct Value(AtomicU64);

    impl Value {
        pub(crate) fn new() -> Self {
            Value(AtomicU64::new(0))
        }

        pub(crate) fn add(&self, n: u64) {
            // Relaxed: a lone count, read after the test's threads joined.
            self.0.fetch_add(n, Ordering::Relaxed);
        }

        pub(crate) fn get(&self) -> u64 {
            // Relaxed: as in `add`.
            self.0.load(Ordering::Relaxed)
        }
    }

    thread_local! {
        static VALUES: RefCell<Memo<Value>> = RefCell::new(Memo::new());
    }

    impl Memoized for Value {
        fn memo() -> &'static LocalKey<RefCell<Memo<Self>>> {
            &VALUES
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::test_value::Value;
    use super::*;

    /// Tuples that join to the same bytes, split differently (an empty
    /// value included), hash apart: the hash has no separators, and
    /// relies on each write's length entering the state.
    #[test]
    fn tuples_split_differently_hash_apart() {
        let index = SeriesIndex::<Value>::new(10);
        let bytes = "abcdef";
        let mut tuples: Vec<Vec<&str>> = vec![vec![bytes]];
        for i in 0..=bytes.len() {
            tuples.push(vec![&bytes[..i], &bytes[i..]]);
            for j in i..=bytes.len() {
                tuples.push(vec![&bytes[..i], &bytes[i..j], &bytes[j..]]);
            }
        }
        let mut seen = std::collections::HashMap::new();
        for t in &tuples {
            if let Some(other) = seen.insert(index.hash(t), t) {
                panic!("{t:?} and {other:?} hash alike");
            }
        }
        assert_eq!(seen.len(), 1 + 7 + 28);
    }

    /// After a merge, an observer whose copy of the index held the last
    /// reference but the writers' releases it without dropping the index
    /// (a walk over every series); the writers drop it when they next
    /// take their lock.
    #[test]
    fn observers_never_drop_a_replaced_index() {
        let index = Arc::new(SeriesIndex::<Value>::new(100_000));
        // Writes on threads of their own, whose copies go when they exit:
        // `join` returns after the thread-local destructors ran (a scope's
        // end may not).
        let write = |keys: std::ops::Range<u32>| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                for i in keys {
                    index.with(&[&format!("k{i}")], Value::new, |_| ());
                }
            })
            .join()
            .unwrap()
        };
        write(0..100);
        let mut observer = index.current.cache();
        let old = Arc::downgrade(observer.load());
        write(100..300); // merges
        assert!(!Arc::ptr_eq(
            &index.current.load_full(),
            &old.upgrade().unwrap()
        ));
        // The observer moves on: its reload is not the last reference.
        let _ = observer.load();
        assert!(old.upgrade().is_some(), "the writers still hold it");
        // The next writer to take the lock drops it.
        write(300..301);
        assert!(old.upgrade().is_none(), "dropped by the writers");
    }

    /// Removed series the tables still hold stay under the bound
    /// `docs::families` states (32, or a sixteenth of the main table), and
    /// the family's count follows every add and removal.
    #[test]
    fn removed_series_held_stay_bounded() {
        let index = SeriesIndex::<Value>::new(100_000);
        let key = |i: u32| format!("k{i}");
        // (main table entries, recent ones, the family's count)
        let held = |index: &SeriesIndex<Value>| {
            let main = index.current.load();
            (
                main.by_values.len(),
                main.recent.iter().count(),
                index.len(),
            )
        };
        for i in 0..20_000 {
            index.with(&[&key(i)], Value::new, |_| ());
        }
        let mut live = 20_000;
        // Remove in bursts, re-adding some in between.
        for (n, i) in (0..20_000).step_by(3).enumerate() {
            assert!(index.remove(&[&key(i)]));
            live -= 1;
            if n % 50 == 0 {
                index.with(&[&format!("new{i}")], Value::new, |_| ());
                live += 1;
            }
            let (main, recent, len) = held(&index);
            assert_eq!(len, live);
            let removed = main + recent - live;
            assert!(
                removed < (main / 16).max(32),
                "{removed} removed held in {main}"
            );
        }
    }

    /// Adds merge when the recent cells reach an eighth of the main table
    /// (at least four times its square root, and 32), so the cells stay at
    /// most half full and every series is found in one table or the other.
    #[test]
    fn recent_cells_merge_on_time_and_find_every_series() {
        let index = SeriesIndex::<Value>::new(100_000);
        let key = |i: u32| format!("k{i}");
        let mut merges = 0;
        let mut last_main = 0;
        for i in 0..20_000 {
            index.with(&[&key(i)], Value::new, |g| g.add(u64::from(i)));
            let main = index.current.load();
            let recent = main.recent.iter().count();
            assert_eq!(recent, index.lock().used);
            assert_eq!(main.by_values.len() + recent, index.len());
            assert!(recent < merge_at(main.by_values.len()), "{i}");
            assert!(2 * recent <= main.recent.cells.len());
            if main.by_values.len() != last_main {
                merges += 1;
                last_main = main.by_values.len();
            }
        }
        // 32 at first, then 4 √n, then n / 8 from 1,024 on: 20,000 series
        // in 40 merges (70 at 4 √n throughout).
        assert_eq!(merges, 40);
        let main = index.current.load();
        for i in 0..20_000 {
            let found = main.find(index.hash(&[&key(i)]), &[&key(i)]);
            assert_eq!(found.map(|s| s.metric.get()), Some(u64::from(i)));
        }
    }

    /// A scrape that finds the family unchanged since the previous one
    /// merges its recent cells, once they hold a quarter of what an add
    /// merges at; fewer, or a family that changed in between, it leaves.
    #[test]
    fn a_quiet_scrape_settles_the_recent_cells() {
        let index = SeriesIndex::<Value>::new(100_000);
        let key = |i: u32| format!("k{i}");
        let add = |range: std::ops::Range<u32>| {
            for i in range {
                index.with(&[&key(i)], Value::new, |g| g.add(u64::from(i)));
            }
        };
        let split = || {
            let index = index.current.load();
            (index.by_values.len(), index.recent.iter().count())
        };
        // 2,000 series: the last merge at 1,845 (n / 8 = 230 > 155 left).
        add(0..2_000);
        assert_eq!(split(), (1_845, 155));
        assert_eq!(settle_at(1_845), 57);
        let first = index.sorted();
        assert_eq!(first.series.len(), 2_000);
        // The family changed since no earlier scrape: this one sorted it.
        assert_eq!(split(), (1_845, 155));
        // Unchanged since: the next scrape settles, and keeps the order.
        let second = index.sorted();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(split(), (2_000, 0));
        let settled = index.current.load();
        for i in 0..2_000 {
            let k = key(i);
            let found = find_in(&settled.by_values, index.hash(&[&k]), &[&k]);
            assert_eq!(found.map(|s| s.metric.get()), Some(u64::from(i)));
        }
        drop(settled);
        // A few adds (below 62, a quarter of 250) stay where they are.
        add(2_000..2_050);
        index.sorted();
        index.sorted();
        assert_eq!(split(), (2_000, 50));
        // More, but with an add between the two scrapes: no merge yet.
        add(2_050..2_070);
        index.sorted();
        add(2_070..2_071);
        index.sorted();
        assert_eq!(split(), (2_000, 71));
        index.sorted();
        assert_eq!(split(), (2_071, 0));
        assert_eq!(index.sorted().series.len(), 2_071);
    }
}
