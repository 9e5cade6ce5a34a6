//! A histogram's counters of any width: one owned shard per slot and the
//! shared shard, with a sum of either kind of `core::sum`.
//!
//! A read visits only the owned shards whose slot's owners ever recorded
//! here, as a mask of slots says: a series most threads never observe
//! (most series, in a family of many) is read in as many shards as threads
//! wrote it, not in all of the process' slots (up to 64). The owner sets
//! its slot's bit on its first record into its shard: one more branch on
//! the shard's count, which the owner loads anyway, and one
//! read-modify-write in a slot's lifetime.

use crate::core::lines::{self, Line};
use crate::core::owned::{Owned, FIRST_BUCKET};
use crate::core::shared::Shared;
use crate::core::slot;
use crate::core::sum::Sum;
use crate::core::sync::{AtomicU64, Ordering};

pub(crate) struct Shards<S> {
    /// Lines per owned shard.
    stride: usize,
    /// Where the second part of the counters starts (the width, with one).
    split: usize,
    /// Bit `i`: slot `i`'s owner recorded into shard `i` (set on its first
    /// record there, before it returns; never cleared). The other shards
    /// hold zeros.
    written: AtomicU64,
    /// `slot_count()` owned shards of `stride` lines.
    owned: Box<[Line]>,
    shared: Box<Shared<S>>,
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
        Shards {
            stride,
            split: first,
            written: AtomicU64::new(0),
            owned: lines::zeroed(slot::slot_count(), stride),
            shared: Box::new(Shared::new(buckets)),
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

    #[inline]
    fn record_in<const K: usize>(&self, buckets: [usize; K], value: S) {
        let slot = slot::current();
        let start = slot * self.stride;
        if let Some(lines) = self.owned.get(start..start + self.stride) {
            match Owned::new(lines).try_record(buckets, value) {
                // The shard's first record marks its slot written. A shard
                // exists, so `slot < slot_count() <= 64`: the shift never
                // wraps.
                Some(0) => return self.mark_written(1u64.wrapping_shl(slot as u32)),
                Some(_) => return,
                None => {}
            }
        }
        self.record_shared(buckets, value);
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

    /// The shared shard's path, a call of its own: it is four locked
    /// read-modify-writes long, and out of line it leaves the owner's path
    /// small enough to inline into every observe.
    #[inline(never)]
    fn record_shared<const K: usize>(&self, buckets: [usize; K], value: S) {
        self.shared.record(buckets, value);
    }

    /// A number that grows with every observation (the shards' counts of
    /// observations, added up without a consistent read): a cheap way to
    /// tell whether any came since it was last taken.
    #[cfg(feature = "metrics")] // the facade's idle expiry
    pub(crate) fn activity(&self) -> u64 {
        self.written_shards()
            .map(|shard| Owned::<S>::new(shard).count())
            .fold(self.shared.started(), u64::wrapping_add)
    }

    /// The owned shards whose slots' owners ever recorded here (the others
    /// hold zeros), as of this call.
    fn written_shards(&self) -> impl Iterator<Item = &[Line]> {
        // Relaxed: see `record_in`; a shard's counts are then loaded with
        // their own orderings.
        let written = self.written.load(Ordering::Relaxed);
        // `slot < slot_count() <= 64`: the shift never wraps.
        let marked = move |slot: usize| written.wrapping_shr(slot as u32) & 1 != 0;
        self.owned
            .chunks(self.stride)
            .enumerate()
            .filter_map(move |(slot, shard)| marked(slot).then_some(shard))
    }

    /// Adds the per-bucket counts into `acc` and the sum into `sum`, read
    /// exactly, using `pass` (as long as `acc`) as scratch.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut S) {
        for shard in self.written_shards() {
            Owned::new(shard).read_into(pass, acc, sum, self.split);
        }
        // Last: an owner sent to the shared shard while its own was read is
        // then in this read already.
        self.shared.read_into(acc, sum);
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

    #[test]
    fn a_read_visits_the_written_shards_and_misses_no_count() {
        let shards = Shards::<f64>::new(3);
        assert_eq!(shards.written_shards().count(), 0);
        shards.record(0, 1.0);
        std::thread::scope(|s| {
            s.spawn(|| {
                shards.record(2, 2.0);
                shards.record(2, 0.5);
            });
        });
        // Two threads, each in a slot of its own or (every slot taken by
        // the other tests' threads) the shared shard.
        let visited: Vec<*const Line> = shards.written_shards().map(|s| s.as_ptr()).collect();
        assert!(visited.len() <= 2);
        for shard in shards.owned.chunks(shards.stride) {
            let marked = visited.contains(&shard.as_ptr());
            assert_eq!(marked, touched(shard), "mask and counts disagree");
        }
        let (mut pass, mut acc, mut sum) = (vec![0; 3], vec![0; 3], 0.0);
        shards.read_into(&mut pass, &mut acc, &mut sum);
        assert_eq!((acc, sum), (vec![1, 0, 2], 3.5));
    }
}
