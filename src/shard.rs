//! One shard of a histogram: plain atomic counters and an exact 128-bit sum.
//! Its owner thread writes it with atomic loads and stores; a shared shard is
//! written with `fetch_add`s. Neither has a retry loop.
//!
//! # The sum
//!
//! The sum is kept in integer nanoseconds, so it is exact and independent of
//! the order of observations. It is the 128-bit number
//! `hi · 2⁶³ + (lo mod 2⁶³)` where `lo` holds the running total modulo 2⁶⁴
//! and `hi` counts how often bit 63 of `lo` has flipped. Every observation is
//! below 2⁶³ ([`MAX_OBSERVATION_NANOS`](crate::MAX_OBSERVATION_NANOS)), so
//! one add to `lo` flips that bit at most once, and the observer whose
//! add flipped it then bumps `hi`. Until it does, the flip is *pending*; a
//! reader recognizes one pending flip because the parity of `hi` differs from
//! bit 63 of `lo`, and adds it itself. The sum therefore never wraps and is
//! read exactly unless two flips (2⁶⁴ ns ≈ 584 years of job time in one shard)
//! happen while one reader sits between its two loads.

use crate::buckets::BUCKETS;
use crate::sync::{AtomicU64, Ordering};

const TOP: u64 = 1 << 63;

/// Counters of one shard. Wrapped in `CachePadded` by its histogram.
pub(crate) struct Shard {
    /// Non-cumulative: `buckets[i]` counts observations in bucket `i` only,
    /// so a reader derives cumulative counts and `_count` from one load each
    /// and they can never disagree.
    buckets: [AtomicU64; BUCKETS],
    sum_lo: AtomicU64,
    sum_hi: AtomicU64,
}

/// A shard's counters as read at one moment (or several shards added up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) buckets: [u64; BUCKETS],
    pub(crate) sum_nanos: u128,
}

impl Shard {
    pub(crate) fn new() -> Self {
        Shard {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_lo: AtomicU64::new(0),
            sum_hi: AtomicU64::new(0),
        }
    }

    /// Records one observation of `nanos` (< 2⁶³) in bucket `bucket`, for the
    /// thread that owns this shard's slot and is therefore its only writer:
    /// plain loads and stores, no locked read-modify-write.
    #[inline]
    pub(crate) fn record_owned(&self, bucket: usize, nanos: u64) {
        debug_assert!(nanos < TOP);
        let b = &self.buckets[bucket];
        // Relaxed load: the only writer reads its own last store (or, after a
        // slot hand-over, the previous owner's, ordered by the claim's
        // Acquire). Relaxed store: published by the Release store below.
        b.store(b.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        let prev = self.sum_lo.load(Ordering::Relaxed);
        let next = prev.wrapping_add(nanos);
        // Release: pairs with the Acquire load in `read_into` (the sum never
        // runs ahead of the counts), as in `record_shared`.
        self.sum_lo.store(next, Ordering::Release);
        if (prev ^ next) & TOP != 0 {
            let hi = self.sum_hi.load(Ordering::Relaxed);
            // Release: pairs with the Acquire load of `sum_hi` in `read_into`.
            self.sum_hi.store(hi + 1, Ordering::Release);
        }
    }

    /// Records one observation for a thread that may share this shard with
    /// others: two `fetch_add`s, no retry loop.
    #[inline]
    pub(crate) fn record_shared(&self, bucket: usize, nanos: u64) {
        debug_assert!(nanos < TOP);
        // Relaxed: the Release add on `sum_lo` below publishes this increment.
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        // Release: pairs with the Acquire load of `sum_lo` in `read_into`, so
        // a reader whose sum includes `nanos` also sees the bucket increment
        // above (the sum never runs ahead of the counts). Every write to
        // `sum_lo` of a shared shard is an RMW, so each continues the release
        // sequence of the ones before it.
        let prev = self.sum_lo.fetch_add(nanos, Ordering::Release);
        if (prev ^ prev.wrapping_add(nanos)) & TOP != 0 {
            // Release: pairs with the Acquire load of `sum_hi` in `read_into`;
            // a reader that sees this carry also sees the flip of `sum_lo`.
            self.sum_hi.fetch_add(1, Ordering::Release);
        }
    }

    /// Adds this shard's current counts into `acc`.
    ///
    /// The sum is read first, so every observation it includes is also in
    /// the bucket counts read after it; the counts may include observations
    /// whose nanoseconds are not in the sum yet: those recorded while this
    /// read is under way.
    pub(crate) fn read_into(&self, acc: &mut Counts) {
        // Acquire: pairs with the Release carry in `record`; every flip this
        // `hi` counts is visible to the `sum_lo` load below.
        let hi = self.sum_hi.load(Ordering::Acquire);
        // Acquire: pairs with the Release adds in `record` (see there).
        let lo = self.sum_lo.load(Ordering::Acquire);
        // Bit 63 of `lo` is the parity of all flips so far; `hi` has counted
        // all of them but possibly one still pending.
        let pending = (hi & 1) ^ (lo >> 63);
        let flips = u128::from(hi) + u128::from(pending);
        acc.sum_nanos += (flips << 63) + u128::from(lo & !TOP);
        for (out, b) in acc.buckets.iter_mut().zip(&self.buckets) {
            // Relaxed: ordered after the Acquire loads above, which is all
            // the consistency a reader needs (see the method docs).
            *out += b.load(Ordering::Relaxed);
        }
    }
}

impl Counts {
    /// Total number of observations: the sum of the per-bucket counts.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn read(s: &Shard) -> Counts {
        let mut c = Counts::default();
        s.read_into(&mut c);
        c
    }

    #[test]
    fn sum_carries_past_two_to_the_64() {
        let s = Shard::new();
        let big = TOP - 1;
        for _ in 0..5 {
            s.record_shared(9, big);
        }
        s.record_owned(0, 7);
        let c = read(&s);
        assert_eq!(c.sum_nanos, 5 * u128::from(big) + 7);
        assert_eq!(c.count(), 6);
        assert_eq!(c.buckets[9], 5);
    }

    #[test]
    fn a_pending_flip_is_added_by_the_reader() {
        let s = Shard::new();
        // Simulate an observer that flipped bit 63 but has not bumped `hi`.
        s.sum_lo.fetch_add(TOP + 3, Ordering::Relaxed);
        assert_eq!(read(&s).sum_nanos, u128::from(TOP) + 3);
        s.sum_hi.fetch_add(1, Ordering::Relaxed);
        assert_eq!(read(&s).sum_nanos, u128::from(TOP) + 3);
    }
}
