//! An owned shard: the counters one thread writes with plain loads and
//! stores, read exactly without making that thread wait or retry.
//!
//! # Exact reads
//!
//! The owner writes each observation's bucket counter, then the sum
//! (Release), then the shard's observation count (Release). A reader loads
//! the count (Acquire), the sum (Acquire), then the bucket counters, and
//! accepts the read when the counters add up to exactly that count:
//!
//! * the Acquire load of count `c` makes every write of the first `c`
//!   observations visible, so each counter reads at least its value after
//!   observation `c`; counters adding up to exactly `c` are then exactly
//!   those values;
//! * had the sum come from a later observation `k > c`, its Release store
//!   would make that observation's counter increment visible to the loads
//!   after it, and the counters would add up to at least `k`.
//!
//! So an accepted read has the counts and the sum of exactly the first `c`
//! observations. The owner pays one load and one store of the count, on a
//! cache line it already holds, and no locked instruction and no fence.
//!
//! A reader whose pass fails (the owner wrote meanwhile) could fail forever
//! under a busy owner. So it then raises `readers`; the owner checks it
//! before each observation and, while it is raised, records into the
//! histogram's shared shard instead ([`try_record`](Shard::try_record)
//! returns `false`). The reader's retries therefore end after at most the
//! one observation in flight when the owner saw the hint. Nothing is lost:
//! that observation is counted in the shared shard, exactly, by its own
//! protocol.
//!
//! # The sum
//!
//! Integer nanoseconds in two words, `hi · 2⁶⁴ + lo`. On a carry the owner
//! stores `hi` (Release) before `lo`, so the argument above covers `hi` too:
//! a `hi` from a later observation makes that observation's counter visible.

use crate::buckets::BUCKETS;
use crate::sync::{AtomicU64, Backoff, Ordering};

/// Counters of one owned shard. Wrapped in `CachePadded` by its histogram;
/// 14 words, so on x86_64 the whole shard is one 128-byte padded block.
pub(crate) struct Shard {
    /// Observations recorded here; stored last by each observation.
    count: AtomicU64,
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
            count: AtomicU64::new(0),
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
        // caught by the count check (the reader retries); exactness never
        // depends on it.
        if self.readers.load(Ordering::Relaxed) != 0 {
            return false;
        }
        // Relaxed loads of our own words: the owner is the only writer and
        // reads its last store (or, after a slot hand-over, the previous
        // owner's, ordered by the claim's Acquire).
        let b = &self.buckets[bucket];
        // Relaxed: published by the Release stores below.
        b.store(b.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        let (lo, carry) = self.sum_lo.load(Ordering::Relaxed).overflowing_add(nanos);
        if carry {
            let hi = self.sum_hi.load(Ordering::Relaxed);
            // Release: pairs with the reader's Acquire load of `sum_hi`; a
            // reader that sees this carry sees the counter increment above.
            self.sum_hi.store(hi.wrapping_add(1), Ordering::Release);
        }
        // Release: pairs with the reader's Acquire load of `sum_lo`, as above.
        self.sum_lo.store(lo, Ordering::Release);
        let count = self.count.load(Ordering::Relaxed);
        // Release: pairs with the reader's Acquire load of `count`; a reader
        // that sees this count sees every write of this observation.
        self.count.store(count.wrapping_add(1), Ordering::Release);
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

    /// One pass: the counts, if they are exactly those of the first `count`
    /// observations (see the module docs).
    fn read(&self) -> Option<Counts> {
        // Acquire: pairs with the owner's Release store of `count`.
        let count = self.count.load(Ordering::Acquire);
        let mut c = Counts::default();
        if count == 0 {
            // Never written (a slot no thread has claimed for this series).
            return Some(c);
        }
        // Acquire, both: pair with the owner's Release stores of the sum, so
        // a sum from a later observation shows in the counters loaded next.
        let lo = self.sum_lo.load(Ordering::Acquire);
        let hi = self.sum_hi.load(Ordering::Acquire);
        c.sum_nanos = (u128::from(hi) << 64) | u128::from(lo);
        // Relaxed: ordered after the Acquire loads above; validated below.
        for (out, b) in c.buckets.iter_mut().zip(&self.buckets) {
            *out = b.load(Ordering::Relaxed);
        }
        (c.count() == count).then_some(c)
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
        // As if the owner were mid-write: a counter ahead of the count.
        s.buckets[2].fetch_add(1, Ordering::Relaxed);
        assert_eq!(s.read(), None);
        s.count.fetch_add(1, Ordering::Relaxed);
        assert_eq!(s.read().map(|c| c.count()), Some(2));
    }
}
