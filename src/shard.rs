//! An owned shard: the counters one thread writes with plain loads and
//! stores, read exactly by a sequence lock.
//!
//! # Exact reads
//!
//! The owner brackets each observation with two stores of `seq`: odd while
//! it writes, even after. A reader loads `seq`, the counters, then `seq`
//! again; equal even values mean no write overlapped the read, so the bucket
//! counts and the sum it read describe exactly the same observations. That
//! costs the owner one load and two stores on a cache line it already holds,
//! and no locked instruction.
//!
//! A plain sequence lock lets a busy writer starve its readers. Here a
//! reader whose first pass fails raises `readers`; the owner checks it
//! before each observation and, while it is raised, records into the
//! histogram's shared shard instead ([`record`](Shard::try_record) returns
//! `false`). The reader's retries therefore end after at most the one
//! observation in flight when the owner saw the hint. Nothing is lost: the
//! observation is counted in the shared shard, exactly, by its own protocol.
//!
//! # The sum
//!
//! Integer nanoseconds in two words, `hi · 2⁶⁴ + lo`, with the carry
//! propagated by the owner inside the bracket: a reader never sees half a
//! carry, so the sum never reads low and never goes down.

use crate::buckets::BUCKETS;
use crate::sync::{fence, AtomicU64, Backoff, Ordering};

/// Counters of one owned shard. Wrapped in `CachePadded` by its histogram;
/// 14 words, so on x86_64 the whole shard is one 128-byte padded block.
pub(crate) struct Shard {
    /// Odd while the owner writes; `2 ×` the observations recorded here.
    seq: AtomicU64,
    /// Readers that asked the owner to write elsewhere (see module docs).
    readers: AtomicU64,
    /// Non-cumulative: `buckets[i]` counts observations in bucket `i` only,
    /// so cumulative counts and `_count` are derived from one read of each.
    buckets: [AtomicU64; BUCKETS],
    sum_lo: AtomicU64,
    sum_hi: AtomicU64,
}

/// Counters as read at one moment (or several shards added up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) buckets: [u64; BUCKETS],
    pub(crate) sum_nanos: u128,
}

impl Counts {
    /// Total number of observations: the sum of the per-bucket counts.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Adds `other` into `self`.
    pub(crate) fn add(&mut self, other: &Counts) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_nanos += other.sum_nanos;
    }
}

impl Shard {
    pub(crate) fn new() -> Self {
        Shard {
            seq: AtomicU64::new(0),
            readers: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_lo: AtomicU64::new(0),
            sum_hi: AtomicU64::new(0),
        }
    }

    /// Records one observation of `nanos` in bucket `bucket`, for the thread
    /// that owns this shard's slot and is therefore its only writer. Returns
    /// `false`, recording nothing, while a reader asks the owner to write
    /// elsewhere.
    #[inline]
    pub(crate) fn try_record(&self, bucket: usize, nanos: u64) -> bool {
        // Relaxed: a hint for the reader's progress only; a stale zero is
        // caught by `seq` (the reader retries), exactness never depends on it.
        if self.readers.load(Ordering::Relaxed) != 0 {
            return false;
        }
        // Relaxed loads of our own words, here and below: the owner is the
        // only writer and reads its last store (or, after a slot hand-over,
        // the previous owner's, ordered by the claim's Acquire).
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Release fence: a reader that loads any counter store below also
        // sees the odd `seq` above (pairs with the Acquire fence in `read`).
        fence(Ordering::Release);
        let b = &self.buckets[bucket];
        b.store(b.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        let (lo, carry) = self.sum_lo.load(Ordering::Relaxed).overflowing_add(nanos);
        self.sum_lo.store(lo, Ordering::Relaxed);
        if carry {
            let hi = self.sum_hi.load(Ordering::Relaxed);
            self.sum_hi.store(hi.wrapping_add(1), Ordering::Relaxed);
        }
        // Release: pairs with the Acquire load of `seq` in `read`; a reader
        // that sees this even value sees every counter store above.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
        true
    }

    /// Adds this shard's counts, read exactly, into `acc`. Waits only for
    /// the owner's observation in flight, if any (see the module docs).
    pub(crate) fn read_into(&self, acc: &mut Counts) {
        // An idle owner, the common case, is read in one pass.
        if let Some(c) = self.read() {
            acc.add(&c);
            return;
        }
        // Relaxed: progress only (see `try_record`); the Relaxed decrement
        // below likewise.
        self.readers.fetch_add(1, Ordering::Relaxed);
        let backoff = Backoff::new();
        let c = loop {
            if let Some(c) = self.read() {
                break c;
            }
            backoff.snooze();
        };
        self.readers.fetch_sub(1, Ordering::Relaxed);
        acc.add(&c);
    }

    /// One pass of the sequence lock: the counts if no write overlapped it.
    fn read(&self) -> Option<Counts> {
        // Acquire: pairs with the owner's Release store of an even `seq`.
        let before = self.seq.load(Ordering::Acquire);
        if before & 1 != 0 {
            return None;
        }
        let mut c = Counts::default();
        if before == 0 {
            // Never written (a slot no thread has claimed for this series).
            return Some(c);
        }
        // Relaxed loads: validated by the second `seq` load below.
        for (out, b) in c.buckets.iter_mut().zip(&self.buckets) {
            *out = b.load(Ordering::Relaxed);
        }
        let lo = self.sum_lo.load(Ordering::Relaxed);
        let hi = self.sum_hi.load(Ordering::Relaxed);
        c.sum_nanos = (u128::from(hi) << 64) | u128::from(lo);
        // Acquire fence: if a load above saw a store of a later observation,
        // the load below sees that observation's odd `seq` (pairs with the
        // Release fence in `try_record`).
        fence(Ordering::Acquire);
        // Relaxed: ordered after the counter loads by the fence above.
        let after = self.seq.load(Ordering::Relaxed);
        (before == after).then_some(c)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::buckets::MAX_OBSERVATION_NANOS;

    fn read(s: &Shard) -> Counts {
        let mut c = Counts::default();
        s.read_into(&mut c);
        c
    }

    #[test]
    fn sum_carries_past_two_to_the_64() {
        let s = Shard::new();
        for _ in 0..5 {
            assert!(s.try_record(9, MAX_OBSERVATION_NANOS));
        }
        assert!(s.try_record(0, 7));
        let c = read(&s);
        assert_eq!(c.sum_nanos, 5 * u128::from(MAX_OBSERVATION_NANOS) + 7);
        assert_eq!(c.count(), 6);
        assert_eq!(c.buckets[9], 5);
    }

    #[test]
    fn a_raised_reader_hint_sends_the_owner_elsewhere() {
        let s = Shard::new();
        assert!(s.try_record(1, 3));
        s.readers.fetch_add(1, Ordering::Relaxed);
        assert!(!s.try_record(1, 3), "recorded while a reader asked not to");
        s.readers.fetch_sub(1, Ordering::Relaxed);
        assert!(s.try_record(1, 3));
        assert_eq!(read(&s).count(), 2);
    }

    #[test]
    fn a_write_in_progress_fails_one_pass() {
        let s = Shard::new();
        assert!(s.try_record(1, 3));
        s.seq.fetch_add(1, Ordering::Relaxed); // as if the owner were mid-write
        assert_eq!(s.read(), None);
        s.seq.fetch_add(1, Ordering::Relaxed);
        assert_eq!(s.read().map(|c| c.count()), Some(1));
    }
}
