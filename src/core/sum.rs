//! How a histogram shard keeps its sum: two words per shard, used as one
//! `f64` (values of any kind) or as one `u128` of integer nanoseconds
//! (durations: exact, and never wrapping).
//!
//! Each kind says how the owner of a shard adds to it (plain loads and
//! Release stores, so the count check of `owned.rs` covers the sum), how
//! writers of the shared shard add to it (atomic read-modify-writes, read
//! only once the half is cold and complete, see `shared.rs`), and how it is
//! read and taken.

use crate::core::sync::{AtomicU64, Ordering};

/// A sum two words hold.
pub(crate) trait Sum:
    Copy + Default + PartialEq + std::ops::AddAssign + Send + Sync + 'static
{
    /// Adds `v`, by the shard's only writer. The last store is Release, so a
    /// reader's Acquire load of it sees the observation's counter.
    fn owner_add(v: Self, lo: &AtomicU64, hi: &AtomicU64);
    /// Loads the sum with Acquire, pairing with `owner_add`'s Release.
    fn load(lo: &AtomicU64, hi: &AtomicU64) -> Self;
    /// Adds `v` with read-modify-writes, for any number of writers.
    fn shared_add(v: Self, lo: &AtomicU64, hi: &AtomicU64);
    /// Reads and zeroes a half no writer touches any more.
    fn take(lo: &AtomicU64, hi: &AtomicU64) -> Self;
}

impl Sum for f64 {
    #[inline]
    fn owner_add(v: f64, lo: &AtomicU64, _: &AtomicU64) {
        let next = f64::from_bits(lo.load(Ordering::Relaxed)) + v;
        // Release: pairs with the Acquire in `load`; a reader that sees
        // this sum sees the counter increment stored before it.
        lo.store(next.to_bits(), Ordering::Release);
    }

    #[inline]
    fn load(lo: &AtomicU64, _: &AtomicU64) -> f64 {
        // Acquire: pairs with the Release in `owner_add`.
        f64::from_bits(lo.load(Ordering::Acquire))
    }

    #[inline]
    fn shared_add(v: f64, lo: &AtomicU64, _: &AtomicU64) {
        // Relaxed, both: published by the writer's Release on `completed`.
        let mut old = lo.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match lo.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => old = now,
            }
        }
    }

    fn take(lo: &AtomicU64, _: &AtomicU64) -> f64 {
        // Relaxed: ordered by the reader's Acquire load of `completed`.
        f64::from_bits(lo.swap(0, Ordering::Relaxed))
    }
}

/// Integer nanoseconds, `hi · 2⁶⁴ + lo`. Every observation is below 2⁶³
/// (durations saturate there), so the owner carries without a CAS.
impl Sum for u128 {
    #[inline]
    fn owner_add(v: u128, lo: &AtomicU64, hi: &AtomicU64) {
        // Relaxed loads of words only this thread writes.
        let (next, carry) = lo.load(Ordering::Relaxed).overflowing_add(v as u64);
        let up = (v >> 64) as u64 + u64::from(carry);
        if up != 0 {
            let h = hi.load(Ordering::Relaxed);
            // Release: pairs with the Acquire in `load`; stored before `lo`,
            // so a reader never takes half a carry for a whole sum.
            hi.store(h.wrapping_add(up), Ordering::Release);
        }
        // Release: pairs with the Acquire in `load`.
        lo.store(next, Ordering::Release);
    }

    #[inline]
    fn load(lo: &AtomicU64, hi: &AtomicU64) -> u128 {
        // Acquire, both: pair with the owner's Release stores, so a sum
        // from a later observation shows in the counters loaded next.
        let l = lo.load(Ordering::Acquire);
        let h = hi.load(Ordering::Acquire);
        (u128::from(h) << 64) | u128::from(l)
    }

    #[inline]
    fn shared_add(v: u128, lo: &AtomicU64, hi: &AtomicU64) {
        // Relaxed, both: published by the writer's Release on `completed`;
        // the carry may land after `lo`, which is why only a cold, complete
        // half is read.
        let low = v as u64;
        let prev = lo.fetch_add(low, Ordering::Relaxed);
        let up = (v >> 64) as u64 + u64::from(prev.overflowing_add(low).1);
        if up != 0 {
            hi.fetch_add(up, Ordering::Relaxed);
        }
    }

    fn take(lo: &AtomicU64, hi: &AtomicU64) -> u128 {
        // Relaxed: ordered by the reader's Acquire load of `completed`.
        let l = lo.swap(0, Ordering::Relaxed);
        let h = hi.swap(0, Ordering::Relaxed);
        (u128::from(h) << 64) | u128::from(l)
    }
}
