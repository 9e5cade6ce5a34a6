//! The shared shard: counters any number of threads write with `fetch_add`,
//! read exactly by flipping between two halves (client_golang's hot/cold
//! scheme).
//!
//! Writers count themselves in `started` with one `fetch_add`, whose result
//! also says which half is *hot*, write into that half, then count
//! themselves in that half's `completed`. A reader flips the hot bit, so new
//! observations go to the other half, waits until the now *cold* half has
//! completed every observation that started before the flip, reads it (no
//! writer touches it any more), and moves its counts into the hot half. Each
//! half is therefore, once cold and complete, the whole history of the
//! shard: its counts and sum describe exactly the same observations, and a
//! later read can only see more of them.
//!
//! The wait is for observations already in flight, each a handful of
//! instructions, never for observers in general: a stream of new
//! observations goes to the hot half and cannot hold a reader back.
//! Readers are serialized by a mutex that also keeps the last result, so a
//! shard that nobody wrote since the last read costs no flip.

use crate::buckets::BUCKETS;
use crate::shard::Counts;
use crate::sync::{AtomicU64, Backoff, Mutex, Ordering};

/// Bit 63 of `started`: the index of the hot half.
const HOT: u64 = 1 << 63;

/// Its histogram keeps it in one `CachePadded` block of its own: its writers
/// contend with each other anyway, but never with the owned shards.
pub(crate) struct SharedShard {
    /// Bit 63: the hot half. Bits 0–62: observations ever started here.
    started: AtomicU64,
    halves: [Half; 2],
    /// Held by a reader for the whole flip-wait-move; the last result.
    last: Mutex<LastRead>,
}

struct Half {
    buckets: [AtomicU64; BUCKETS],
    /// The sum is `hi · 2⁶⁴ + lo` once the half is cold and complete.
    sum_lo: AtomicU64,
    sum_hi: AtomicU64,
    /// Observations completed in this half, plus those moved into it.
    completed: AtomicU64,
}

#[derive(Default)]
struct LastRead {
    /// `started` (without the hot bit) when `counts` was read.
    started: u64,
    counts: Counts,
}

impl SharedShard {
    pub(crate) fn new() -> Self {
        SharedShard {
            started: AtomicU64::new(0),
            halves: [Half::new(), Half::new()],
            last: Mutex::new(LastRead::default()),
        }
    }

    /// Records one observation: four or five `fetch_add`s, no retry loop.
    #[inline]
    pub(crate) fn record(&self, bucket: usize, nanos: u64) {
        // Acquire: pairs with the reader's AcqRel flip, so a writer that
        // sees the flip writes a half whose reset (before the flip, under
        // the reader's lock) it also sees.
        let n = self.started.fetch_add(1, Ordering::Acquire);
        let half = &self.halves[usize::from(n & HOT != 0)];
        // Relaxed: published by the Release increment of `completed`.
        half.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        half.add_sum(u128::from(nanos));
        // Release: pairs with the reader's Acquire load of `completed`; a
        // reader that counts this observation complete sees its writes.
        half.completed.fetch_add(1, Ordering::Release);
    }

    /// Adds this shard's counts, read exactly, into `acc`.
    pub(crate) fn read_into(&self, acc: &mut Counts) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        // Relaxed: only compared with our own last flip's count; an
        // observation that started after it is simply not in this read.
        let now = self.started.load(Ordering::Relaxed) & !HOT;
        if now != last.started {
            last.counts = self.flip_and_read(&mut last.started);
        }
        acc.add(&last.counts);
    }

    /// Flips the hot half, waits for the cold one to complete, reads it and
    /// moves it into the hot one. The caller holds the `last` lock.
    fn flip_and_read(&self, started: &mut u64) -> Counts {
        // AcqRel: Release publishes the cold half's reset (done at the last
        // flip) to writers that see this flip; Acquire orders it before the
        // reads below.
        let n = self.started.fetch_xor(HOT, Ordering::AcqRel);
        *started = n & !HOT;
        let cold = &self.halves[usize::from(n & HOT != 0)];
        let hot = &self.halves[usize::from(n & HOT == 0)];
        let backoff = Backoff::new();
        // Acquire: pairs with the writers' Release increments of `completed`.
        while cold.completed.load(Ordering::Acquire) != *started {
            backoff.snooze();
        }
        let counts = cold.take();
        // Writers may be adding to `hot` meanwhile; every write there is an
        // RMW, so nothing is lost. Relaxed: the next reader that reads
        // `hot` (once cold) synchronizes through `completed` and the lock.
        for (b, &c) in hot.buckets.iter().zip(&counts.buckets) {
            if c != 0 {
                b.fetch_add(c, Ordering::Relaxed);
            }
        }
        hot.add_sum(counts.sum_nanos);
        // Release: as each writer's increment; the moved counts are then
        // part of what the next reader waits for.
        hot.completed.fetch_add(*started, Ordering::Release);
        counts
    }
}

impl Half {
    fn new() -> Self {
        Half {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_lo: AtomicU64::new(0),
            sum_hi: AtomicU64::new(0),
            completed: AtomicU64::new(0),
        }
    }

    /// Adds `nanos` to the two sum words with `fetch_add`s: the carry into
    /// `hi` may land after `lo`, which is why only a cold, complete half is
    /// ever read.
    #[inline]
    fn add_sum(&self, nanos: u128) {
        // Relaxed, both: published by the caller's Release on `completed`.
        let lo = nanos as u64;
        let prev = self.sum_lo.fetch_add(lo, Ordering::Relaxed);
        let carry = u64::from(prev.overflowing_add(lo).1);
        let hi = (nanos >> 64) as u64 + carry;
        if hi != 0 {
            self.sum_hi.fetch_add(hi, Ordering::Relaxed);
        }
    }

    /// Reads and zeroes a cold, complete half: no writer touches it until
    /// the next flip, which the reader's lock orders after this.
    fn take(&self) -> Counts {
        // Relaxed loads and stores throughout: ordered by the Acquire load
        // of `completed` before, and by the lock and the next flip after.
        let mut c = Counts::default();
        for (out, b) in c.buckets.iter_mut().zip(&self.buckets) {
            *out = b.swap(0, Ordering::Relaxed);
        }
        let lo = self.sum_lo.swap(0, Ordering::Relaxed);
        let hi = self.sum_hi.swap(0, Ordering::Relaxed);
        c.sum_nanos = (u128::from(hi) << 64) | u128::from(lo);
        self.completed.store(0, Ordering::Relaxed);
        c
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::buckets::MAX_OBSERVATION_NANOS;

    fn read(s: &SharedShard) -> Counts {
        let mut c = Counts::default();
        s.read_into(&mut c);
        c
    }

    #[test]
    fn reads_are_cumulative_across_flips() {
        let s = SharedShard::new();
        s.record(0, 5);
        assert_eq!(read(&s).sum_nanos, 5);
        s.record(9, MAX_OBSERVATION_NANOS);
        s.record(9, MAX_OBSERVATION_NANOS);
        s.record(9, MAX_OBSERVATION_NANOS);
        let c = read(&s);
        assert_eq!(c.count(), 4);
        assert_eq!(c.sum_nanos, 5 + 3 * u128::from(MAX_OBSERVATION_NANOS));
        // No new observation: the cached read, no flip.
        let before = s.started.load(Ordering::Relaxed);
        assert_eq!(read(&s), c);
        assert_eq!(s.started.load(Ordering::Relaxed), before);
        s.record(1, 1);
        assert_eq!(read(&s).count(), 5);
    }
}
