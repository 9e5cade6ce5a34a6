//! A per-thread memo in front of every family's index: label values →
//! series, for one metric kind, with no atomic read-modify-write, no
//! hashing of whole strings and no arc-swap traffic on a hit.
//!
//! An entry names its family (a process-unique id), the family's removal
//! generation when it was made, the keys of the first two values (length
//! and first and last 8 bytes, as `core::key::Key`) and a fingerprint of
//! all, and holds an `Arc` of the series. A hit needs all of: the same
//! family, the same generation as now (so no series of the family was
//! removed or cleared since: a removed series is never found again), the
//! same keys and fingerprint, and equal values: each of the first two
//! values of up to 16 bytes is implied by its key, and every other value
//! is compared with the series' own. So the memo never changes an answer;
//! it only skips the index.
//!
//! 512 entries of 80 bytes per thread and kind (40 KiB), allocated on a
//! thread's first observation of that kind; each tuple may sit in any of
//! the four places of its home's group (aligned on four), and is looked
//! for from its home on. Of 256 label sets cycling, with two places per
//! tuple, 12 % found both taken and missed every time; with four, 3 % (the
//! unit test `a_working_set_of_half_the_memo_fits`). A miss fills an empty
//! or stale place; when all four are taken, only one miss in 16 evicts, so
//! a working set larger than the memo costs few reference-count updates.
//!
//! A working set much larger than the memo (thousands of label sets picked
//! at random) makes most lookups miss, and then the memo only adds its
//! probe and a cache miss on its entry to the index lookup that follows.
//! So the memo counts its misses over windows of [`WINDOW`] consulted
//! lookups: after a window in which more than half missed, it is consulted
//! on only one lookup in [`SAMPLE`] (those still learn, and decide the next
//! window), until a window's hits are half or more again.

use std::cell::RefCell;

use crate::core::index::{Index, Series};
use crate::core::index_cache::IndexCache;
use crate::core::key::Key;
use crate::core::sync::{Arc, LocalKey, SwapCell};

const PLACES: usize = 512;

struct Entry<M> {
    family: u64,
    generation: u64,
    probe: Probe,
    series: Arc<Series<M>>,
}

/// What a lookup compares: the keys of the first two values (for up to two
/// values of up to 16 bytes, equal keys mean equal values, see
/// `core::key::Key`) and a fingerprint of all of them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    keys: [Key; 2],
    fingerprint: u64,
}

impl Probe {
    // Always inlined: it sits on the memo's hit path, and the slow path's
    // second call would otherwise make it a function call on both.
    #[inline(always)]
    pub(crate) fn of(values: &[&str]) -> Probe {
        let key = |i: usize| values.get(i).map_or(Key::EMPTY, |v| Key::of(v));
        let keys = [key(0), key(1)];
        // Xors and rotations only: the one multiply is in `home`, so the
        // place waits on a short chain after the values' bytes load.
        let mut h = keys[0].mix() ^ keys[1].mix().rotate_left(29) ^ values.len() as u64;
        for (i, v) in values.iter().enumerate().skip(2) {
            h ^= Key::of(v).mix().rotate_left((7 * i as u32) % 64);
        }
        Probe {
            keys,
            fingerprint: h,
        }
    }

    /// Whether value `i` is known from an equal probe (no need to
    /// compare it).
    #[inline]
    fn determines(&self, i: usize) -> bool {
        self.keys.get(i).is_some_and(Key::is_exact)
    }

    /// Whether equal probes mean equal values (no need to compare any).
    #[inline]
    fn is_exact(&self, values: &[&str]) -> bool {
        values.len() <= 2 && self.keys.iter().all(Key::is_exact)
    }
}

/// One thread's memo for one kind of series value. (`pub` in this
/// crate-private module: [`Memoized`] names it.)
#[allow(unreachable_pub)]
pub struct Memo<M> {
    places: Places<M>,
    /// Lookups left in the current window: [`WINDOW`] consulted ones, so
    /// `WINDOW × SAMPLE` lookups while sparse.
    left: u32,
    /// Consulted lookups of the window that missed.
    misses: u32,
    /// `SAMPLE - 1` if the last window missed more than half (then only
    /// one lookup in [`SAMPLE`] consults the memo), else 0.
    sparse: u32,
    /// This thread's copies of the kind's main tables, for the lookups
    /// the memo misses.
    indexes: IndexCache<M>,
}

/// The memo's entries.
struct Places<M> {
    entries: Option<Box<[Option<Entry<M>>]>>,
    /// Misses that found all four candidate places taken by live entries.
    crowded: u32,
}

impl<M> Memo<M> {
    pub(crate) const fn new() -> Self {
        Memo {
            places: Places {
                entries: None,
                crowded: 0,
            },
            left: WINDOW,
            misses: 0,
            sparse: 0,
            indexes: IndexCache::new(),
        }
    }
}

/// Consulted lookups per window of the hit-rate count.
const WINDOW: u32 = 256;

/// While the memo misses more often than it hits, one lookup in this many
/// consults it. (A power of two: `consulted` masks with `SAMPLE - 1`.)
const SAMPLE: u32 = 16;
const _: () = assert!(SAMPLE.is_power_of_two() && WINDOW % SAMPLE == 0);

/// Of the misses that find all four places taken, one in this many evicts: a
/// working set larger than the memo then costs its misses no reference-count
/// traffic, and the memo still follows a working set that moves.
const EVICT_ONE_IN: u32 = 16;

#[inline]
fn home(family: u64, fingerprint: u64) -> usize {
    ((fingerprint ^ family.rotate_left(40)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> (64 - PLACES.trailing_zeros())) as usize
}

/// The places a tuple whose home is `at` may sit in, from its home on:
/// the group of four (aligned on four) that holds `at`. (A range mapped,
/// not an array: an array's iterator is built on the stack first.)
#[inline]
fn group(at: usize) -> impl Iterator<Item = usize> {
    (0..4).map(move |k| at ^ k)
}

#[inline]
fn same_values<M>(series: &Series<M>, values: &[&str]) -> bool {
    series.values.is(values)
}

impl<M> Memo<M> {
    /// Whether this lookup should consult the memo (see the module's
    /// notes): every lookup, or while most miss, one in [`SAMPLE`]. A
    /// consulted lookup must then [`get`](Self::get) and, on a miss,
    /// [`remember`](Self::remember).
    #[inline]
    pub(crate) fn consult(&mut self) -> bool {
        self.left -= 1;
        if self.left == 0 {
            self.next_window();
        }
        self.consulted()
    }

    /// What the last [`consult`](Self::consult) answered.
    #[inline]
    fn consulted(&self) -> bool {
        self.left & self.sparse == 0
    }

    /// Ends a window: sparse if more than half of its consulted lookups
    /// missed.
    #[cold]
    #[inline(never)]
    fn next_window(&mut self) {
        let sparse = self.misses > WINDOW / 2;
        self.sparse = if sparse { SAMPLE - 1 } else { 0 };
        self.left = if sparse { WINDOW * SAMPLE } else { WINDOW };
        self.misses = 0;
    }

    /// The remembered metric of `values` in `family` at `generation`.
    #[inline]
    pub(crate) fn get(
        &mut self,
        family: u64,
        generation: u64,
        probe: &Probe,
        values: &[&str],
    ) -> Option<&M> {
        let Some(entries) = self.places.entries.as_ref() else {
            self.misses += 1;
            return None;
        };
        let at = home(family, probe.fingerprint);
        let hit = group(at).find_map(|place| {
            let e = entries[place].as_ref()?;
            (e.probe.fingerprint == probe.fingerprint
                && e.probe == *probe
                && e.family == family
                && e.generation == generation
                && (probe.is_exact(values)
                    || e.series.values.is_unless(values, |i| probe.determines(i))))
            .then_some(&e.series.metric)
        });
        if hit.is_none() {
            self.misses += 1;
        }
        hit
    }

    /// Remembers `series` for `values`, if this lookup consulted the memo
    /// and they are the series' own values (see [`Places::put`]).
    pub(crate) fn remember(
        &mut self,
        family: u64,
        generation: u64,
        values: &[&str],
        series: &Arc<Series<M>>,
    ) {
        if self.consulted() {
            self.places.put(family, generation, values, series);
        }
    }

    /// Looks `values` up with `find` in `family`'s main table, read
    /// through this thread's copy of it (see `index_cache.rs`) from `cell`;
    /// if found, remembers the series as [`remember`](Self::remember) does
    /// and runs `f` on its metric. `find` returns only the series whose
    /// values are exactly `values` (an index lookup compares them all), so
    /// the series is remembered without comparing them again.
    #[inline]
    pub(crate) fn find<R>(
        &mut self,
        (family, generation): (u64, u64),
        cell: &SwapCell<Index<M>>,
        values: &[&str],
        find: impl FnOnce(&Index<M>) -> Option<&Arc<Series<M>>>,
        f: impl FnOnce(&M) -> R,
    ) -> Option<R> {
        let consulted = self.consulted();
        let found = find(self.indexes.load(family, cell)).map(|series| {
            if consulted {
                self.places.put_own(family, generation, values, series);
            }
            f(&series.metric)
        });
        // Under loom no copy outlives its lookup: loom cannot drop one in a
        // thread-local destructor (see `docs::loom`).
        #[cfg(loom)]
        self.indexes.clear();
        found
    }
}

impl<M> Places<M> {
    /// Remembers `series` for `values`, if they are its own values (not the
    /// overflow series, which a later removal could make wrong anyway).
    fn put(&mut self, family: u64, generation: u64, values: &[&str], series: &Arc<Series<M>>) {
        if same_values(series, values) {
            self.put_own(family, generation, values, series);
        }
    }

    /// Remembers `series` for `values`, which are its own values.
    fn put_own(&mut self, family: u64, generation: u64, values: &[&str], series: &Arc<Series<M>>) {
        // Under loom the memo stays empty: the models check the index path
        // on every observation (see `docs::loom`).
        if cfg!(loom) {
            return;
        }
        debug_assert!(same_values(series, values));
        let probe = &Probe::of(values);
        let entries = self
            .entries
            .get_or_insert_with(|| (0..PLACES).map(|_| None).collect());
        let at = home(family, probe.fingerprint);
        // An empty place, or one whose entry a removal in its family made
        // stale, from home on; else, now and then, the home place.
        let free = |e: &Option<Entry<M>>| {
            e.as_ref()
                .is_none_or(|e| e.family == family && e.generation != generation)
        };
        let place = if let Some(place) = group(at).find(|&p| free(&entries[p])) {
            place
        } else {
            self.crowded = self.crowded.wrapping_add(1);
            if self.crowded % EVICT_ONE_IN != 0 {
                return;
            }
            at
        };
        entries[place] = Some(Entry {
            family,
            generation,
            probe: *probe,
            series: Arc::clone(series),
        });
    }
}

/// A kind of series value an index holds, with its memo: each kind has
/// one per thread. (`pub` in this crate-private module: the family layer's
/// sealed `Metric` trait extends it.)
#[allow(unreachable_pub)]
pub trait Memoized: Sized + 'static {
    /// This thread's memo for this kind.
    fn memo() -> &'static LocalKey<RefCell<Memo<Self>>>;
}

/// Runs `op` on this thread's memo of kind `M`, if thread-locals are alive
/// and it is not already borrowed.
#[inline]
pub(crate) fn borrow<M: Memoized, R>(op: impl FnOnce(&mut Memo<M>) -> R) -> Option<R> {
    M::memo()
        .try_with(|m| m.try_borrow_mut().ok().map(|mut m| op(&mut m)))
        .ok()
        .flatten()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::index::test_value::Value;

    /// Consulted lookups among the next `n`, each a miss when `miss`.
    fn run(memo: &mut Memo<Value>, n: u32, miss: bool) -> u32 {
        (0..n)
            .filter(|_| {
                let consulted = memo.consult();
                if consulted && miss {
                    assert!(memo.get(1, 0, &Probe::of(&["a"]), &["a"]).is_none());
                }
                consulted
            })
            .count() as u32
    }

    /// 256 label sets cycling (the `wide256` benchmark's) fit: after two
    /// passes, few lookups miss, whatever the family id.
    #[test]
    fn a_working_set_of_half_the_memo_fits() {
        let index = crate::core::index::SeriesIndex::<Value>::new(1_000);
        let tuples: Vec<[String; 2]> = (0..256)
            .map(|j| [format!("kind-{}", j % 16), format!("status-{}", j / 16)])
            .collect();
        let series: Vec<_> = tuples
            .iter()
            .map(|[k, s]| index.resolve(&[k, s], Value::new))
            .collect();
        let (families, mut missed) = (64u64, 0);
        for family in 0..families {
            let mut memo = Memo::<Value>::new();
            for pass in 0..3 {
                for ([k, s], series) in tuples.iter().zip(&series) {
                    let values = [k.as_str(), s.as_str()];
                    if memo.get(family, 0, &Probe::of(&values), &values).is_none() {
                        memo.remember(family, 0, &values, series);
                        missed += u32::from(pass == 2);
                    }
                }
            }
        }
        let rate = f64::from(missed) / (256.0 * families as f64);
        // Four places per tuple: 3.2 % (two per tuple: 12.2 %; eight: 0.02 %,
        // but a hit then costs more instructions than the misses saved).
        assert!(rate < 0.05, "{missed} missed, {rate}");
    }

    #[test]
    fn a_memo_that_mostly_misses_is_sampled_until_it_hits_again() {
        let mut memo = Memo::<Value>::new();
        // Every lookup consults a new memo; a window of misses makes it
        // sparse.
        assert_eq!(run(&mut memo, WINDOW, true), WINDOW);
        assert_eq!(run(&mut memo, WINDOW * SAMPLE, true), WINDOW);
        assert_eq!(run(&mut memo, WINDOW * SAMPLE, true), WINDOW);
        // A sparse window whose sampled lookups hit (no miss counted) makes
        // it dense again.
        assert_eq!(run(&mut memo, WINDOW * SAMPLE, false), WINDOW);
        assert_eq!(run(&mut memo, WINDOW, false), WINDOW);
        // Exactly half missing keeps it dense.
        let half = (0..WINDOW)
            .filter(|i| {
                assert!(memo.consult());
                i % 2 == 0 && memo.get(1, 0, &Probe::of(&["a"]), &["a"]).is_none()
            })
            .count() as u32;
        assert_eq!(half, WINDOW / 2);
        assert_eq!(run(&mut memo, WINDOW, false), WINDOW);
    }
}
