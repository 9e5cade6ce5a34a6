//! A histogram's counters of any width: owned shards, made for the slots
//! whose owners record here, and the shared shard, with a sum of either
//! kind of `core::sum`.
//!
//! A series holds one owned shard from the start, the *first*: the first
//! slot whose owner records into the series claims it (one
//! compare-exchange in the series' lifetime) and writes it from then on.
//! Each other slot gets a shard of its own on its owner's first record
//! here, in a table of the slots' shards made when a second slot records.
//! Most series of a family of many are written by one thread, or by few:
//! they hold one shard or few, not one for each of the process' slots (up
//! to 64; a histogram of 8 bounds on 64 slots took 8.2 kB of shards, now
//! 128 bytes and a table's 1.5 kB once a second slot writes it). The first
//! slot's owner finds its shard in as many dependent loads as before, with
//! one more load (the claim, in the series' header) and a compare; the
//! other slots' owners through one more dependent load (their place in
//! the table). What it costs: `docs::sharding`. The table and each place
//! are `std` one-time cells (`SetOnce`): a place only its slot's owner
//! makes; two slots that make the table at once (their first records into
//! one series) wait for one another, once, as two threads that add one
//! series do for the family's lock.
//!
//! The shared shard (for threads without a slot, and owners a read sends
//! aside) is made on its first record too: a series whose writers all own
//! slots, most series in a process with no more observing threads than
//! slots, never holds one. Its first record may then wait for another
//! thread making it at once, as above.
//!
//! A read visits the first shard and those of the other slots whose owners
//! ever recorded here, as a mask of slots says. The owner sets its slot's
//! bit on its first record into its shard: one more branch on the shard's
//! count, which the owner loads anyway, and one read-modify-write in a
//! slot's lifetime.

use crate::core::lines::{self, Line};
use crate::core::owned::{Owned, FIRST_BUCKET};
use crate::core::shared::Shared;
use crate::core::slot;
use crate::core::sum::Sum;
use crate::core::sync::{AtomicU64, AtomicUsize, Ordering, SetOnce};

/// `first_slot` before a slot claims the first shard: no slot's number,
/// and no number `slot::current` returns (at most `slot_count()`).
const NO_SLOT: usize = usize::MAX;

/// `first_slot` in a model that checks the other slots' path: no slot
/// claims the first shard.
#[cfg(loom)]
const NEVER: usize = usize::MAX - 1;

/// What `first_slot` starts as: [`NO_SLOT`]; under loom with
/// `RM_METRICS_LOOM_PLACES` set, a value no claim replaces, so that the
/// models' one slot records into a place of its own (see `docs::loom`).
fn first_free() -> usize {
    #[cfg(loom)]
    if std::env::var_os("RM_METRICS_LOOM_PLACES").is_some() {
        return NEVER;
    }
    NO_SLOT
}

/// A slot's own shard, made on its owner's first record.
type Place = SetOnce<Box<[Line]>>;

pub(crate) struct Shards<S> {
    /// Lines per owned shard.
    stride: usize,
    /// Where the second part of the counters starts (the width, with one).
    split: usize,
    /// The slot whose owners write `first`; [`NO_SLOT`] until some slot's
    /// owner records here. Set once, never changed.
    first_slot: AtomicUsize,
    /// Bit `i`: slot `i`'s owner recorded into its shard (set on its first
    /// record there, before it returns; never cleared).
    written: AtomicU64,
    /// The first slot's shard, `stride` lines.
    first: Box<[Line]>,
    /// The other slots' shards (`slot_count()` places, the first slot's
    /// never made), once a second slot records here.
    others: SetOnce<Box<[Place]>>,
    /// Buckets in all (both parts): the shared shard's width.
    width: usize,
    /// The shared shard, made on its first record (see the module's notes).
    shared: SetOnce<Box<Shared<S>>>,
}

impl<S: Sum> Shards<S> {
    /// Counters for `buckets` buckets (`+Inf` included).
    pub(crate) fn new(buckets: usize) -> Self {
        Self::with_parts(buckets, 0)
    }

    /// Counters in two parts, `first` then `second` buckets: each
    /// observation counts once in each (see `owned.rs`).
    pub(crate) fn with_parts(first: usize, second: usize) -> Self {
        let buckets = first + second;
        let stride = lines::lines_for(FIRST_BUCKET + buckets);
        // The process' first ask of the slot count reads cgroup files,
        // allocating: made here, with the series, it is no observation's.
        slot::slot_count();
        Shards {
            stride,
            split: first,
            first_slot: AtomicUsize::new(first_free()),
            written: AtomicU64::new(0),
            first: lines::zeroed(1, stride),
            others: SetOnce::new(),
            width: buckets,
            shared: SetOnce::new(),
        }
    }

    /// Records `value` in `bucket`: into this thread's own shard, or the
    /// shared one (no slot, or a reader asked the owner to step aside).
    #[inline]
    pub(crate) fn record(&self, bucket: usize, value: S) {
        self.record_in([bucket], value);
    }

    /// Records `value` in one bucket of each part (`second` counts from
    /// the start of the second part).
    #[inline]
    pub(crate) fn record2(&self, first: usize, second: usize, value: S) {
        self.record_in([first, self.split + second], value);
    }

    /// Always inlined (and [`other_shard`](Self::other_shard) into it):
    /// left to the compiler, the first slot's path became a call of its
    /// own, +1 ns on one thread observing one series (criterion, builds
    /// alternated), and the other slots' path a second call, +4 to 8 µs in
    /// `contended/rm_metrics/2`.
    #[inline(always)]
    fn record_in<const K: usize>(&self, buckets: [usize; K], value: S) {
        let slot = slot::current();
        // Relaxed: the claim publishes nothing (the first shard is zeroed
        // before the series is shared); only the owners of `slot` store
        // `slot`, and a later owner of the slot sees it through the slot's
        // hand-over (see `slot.rs`). The shared shard's threads never
        // store theirs.
        let lines = if self.first_slot.load(Ordering::Relaxed) == slot {
            &self.first
        } else if let Some(lines) = self.other_shard(slot) {
            lines
        } else {
            return self.record_shared(buckets, value);
        };
        match Owned::new(lines).try_record(buckets, value) {
            // The shard's first record marks its slot written. A shard
            // exists, so `slot < slot_count() <= 64`: the shift never
            // wraps.
            Some(0) => self.mark_written(1u64.wrapping_shl(slot as u32)),
            Some(_) => {}
            None => self.record_shared(buckets, value),
        }
    }

    /// The shard of `slot`, not the first slot: its place's, or made now
    /// (the first shard, if no slot claimed it yet); `None` for the shared
    /// shard's threads.
    #[inline(always)]
    fn other_shard(&self, slot: usize) -> Option<&[Line]> {
        if let Some(places) = self.others.get() {
            match places.get(slot) {
                Some(place) => {
                    if let Some(lines) = place.get() {
                        return Some(lines);
                    }
                }
                // Past the table (`slot == slot_count()`): a thread without
                // a slot, for the shared shard without the cold call.
                None => return None,
            }
        }
        self.make_shard(slot)
    }

    /// [`other_shard`](Self::other_shard) on the first record of `slot`:
    /// claims the first shard if it is free, else makes the slot's own.
    #[cold]
    #[inline(never)]
    fn make_shard(&self, slot: usize) -> Option<&[Line]> {
        let slots = slot::slot_count();
        if slot >= slots {
            return None;
        }
        // Relaxed: see `record_in`. One slot's owners claim it; a failed
        // claim means another slot holds it for good.
        let claimed =
            self.first_slot
                .compare_exchange(NO_SLOT, slot, Ordering::Relaxed, Ordering::Relaxed);
        if claimed.is_ok() {
            return Some(&self.first);
        }
        let places = self
            .others
            .get_or_init(|| (0..slots).map(|_| Place::new()).collect());
        // Only `slot`'s owner makes its place's shard (published to readers
        // by the place, see `SetOnce`).
        let lines = places
            .get(slot)?
            .get_or_init(|| lines::zeroed(1, self.stride));
        Some(lines)
    }

    /// Marks slot `bit`'s shard as written, on its first record (before
    /// the observation returns).
    #[cold]
    fn mark_written(&self, bit: u64) {
        // Relaxed: a read that must include the record happens after the
        // observation returned, so after this store, which its load of the
        // mask then sees (coherence), and a later read sees it too; a read
        // that races with it may skip the shard and so the observation in
        // flight, as it may skip any observation in flight. Nothing else
        // is published with the bit.
        self.written.fetch_or(bit, Ordering::Relaxed);
    }

    /// The shared shard's path, made on its first record, a call of its
    /// own: it is four locked read-modify-writes long, and out of line it
    /// leaves the owner's path small enough to inline into every observe.
    #[inline(never)]
    fn record_shared<const K: usize>(&self, buckets: [usize; K], value: S) {
        self.shared
            .get_or_init(|| Box::new(Shared::new(self.width)))
            .record(buckets, value);
    }

    /// A number that grows with every observation (the shards' counts of
    /// observations, added up without a consistent read): a cheap way to
    /// tell whether any came since it was last taken.
    #[cfg(feature = "metrics")] // the facade's idle expiry
    pub(crate) fn activity(&self) -> u64 {
        self.written_shards()
            .map(|shard| Owned::<S>::new(shard).count())
            .fold(
                self.shared.get().map_or(0, |shared| shared.started()),
                u64::wrapping_add,
            )
    }

    /// The first shard, and the other slots' shards whose owners ever
    /// recorded here, as of this call (an unwritten shard adds nothing).
    fn written_shards(&self) -> impl Iterator<Item = &[Line]> {
        // Relaxed: see `mark_written`; a shard's counts are then loaded
        // with their own orderings. A place's shard is published by the
        // place (Acquire in `SetOnce::get`): one whose owner's record a
        // read must include was made before that record returned.
        let written = self.written.load(Ordering::Relaxed);
        // `slot < slot_count() <= 64`: the shift never wraps.
        let marked = move |slot: usize| written.wrapping_shr(slot as u32) & 1 != 0;
        let others = self.others.get().map_or(&[][..], |places| &places[..]);
        let others = others
            .iter()
            .enumerate()
            .filter(move |&(slot, _)| marked(slot))
            .filter_map(|(_, place)| place.get().map(|lines| &lines[..]));
        std::iter::once(&self.first[..]).chain(others)
    }

    /// Adds the per-bucket counts into `acc` and the sum into `sum`, read
    /// exactly, using `pass` (as long as `acc`) as scratch.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut S) {
        for shard in self.written_shards() {
            Owned::new(shard).read_into(pass, acc, sum, self.split);
        }
        // Last: an owner sent to the shared shard while its own was read is
        // then in this read already. A shared shard not made (yet, for this
        // read) holds nothing it must include: one made for an
        // observation that returned before the read began is published to
        // it (`SetOnce`, Release then Acquire), and a later read of this
        // thread sees it too; one in flight may be left out, as any
        // observation in flight.
        if let Some(shared) = self.shared.get() {
            shared.read_into(acc, sum);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Whether any word of a shard is not zero.
    fn touched(shard: &[Line]) -> bool {
        shard
            .iter()
            .flat_map(|line| line.iter())
            .any(|w| w.load(Ordering::Relaxed) != 0)
    }

    /// Every shard of `shards` that exists, with whether a read visits it.
    fn shards_made(shards: &Shards<f64>) -> Vec<(&[Line], bool)> {
        let visited: Vec<*const Line> = shards.written_shards().map(|s| s.as_ptr()).collect();
        let places = shards.others.get().map_or(&[][..], |p| &p[..]);
        std::iter::once(&shards.first[..])
            .chain(places.iter().filter_map(|p| p.get().map(|l| &l[..])))
            .map(|s| (s, visited.contains(&s.as_ptr())))
            .collect()
    }

    #[test]
    fn a_read_visits_the_written_shards_and_misses_no_count() {
        let shards = Shards::<f64>::new(3);
        // Nothing made but the first shard, which holds zeros.
        assert_eq!(shards.written_shards().count(), 1);
        assert!(shards.others.get().is_none());
        shards.record(0, 1.0);
        std::thread::scope(|s| {
            s.spawn(|| {
                shards.record(2, 2.0);
                shards.record(2, 0.5);
            });
        });
        std::thread::scope(|s| {
            s.spawn(|| shards.record(1, 4.0));
        });
        // Three threads, each in a slot of its own or (every slot taken by
        // the other tests' threads) the shared shard: the first shard, and
        // at most two more made, each for a slot that recorded.
        let made = shards_made(&shards);
        assert!(made.len() <= 3, "{} shards made", made.len());
        for (shard, visited) in made {
            assert!(visited || !touched(shard), "a written shard not read");
        }
        let (mut pass, mut acc, mut sum) = (vec![0; 3], vec![0; 3], 0.0);
        shards.read_into(&mut pass, &mut acc, &mut sum);
        assert_eq!((acc, sum), (vec![1, 1, 2], 7.5));
    }
}
