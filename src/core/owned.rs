//! An owned histogram shard of any width: the words one thread writes with
//! plain loads and stores, read exactly without making that thread wait.
//!
//! Over a run of [`Line`]s, with a sum of either kind of `core::sum`:
//!
//! * the owner writes the observation's bucket counter (Relaxed), then the
//!   sum (its last store Release), then the shard's observation count
//!   (Release);
//! * a reader loads the count (Acquire), the sum (Acquire), then the bucket
//!   counters, and accepts the read when the counters add up to exactly the
//!   count. The Acquire load of count `c` makes the first `c` observations'
//!   writes visible; counters adding up to exactly `c` are therefore exactly
//!   theirs, and a sum from any later observation `k` would have made that
//!   observation's counter visible too (its Release store precedes the sum),
//!   so the counters would add up to more than `c`.
//!
//! A shard may hold two ladders of counters (a native histogram's classic
//! and exponential buckets): each observation then writes one counter in
//! each part before the sum, and a read is accepted when *each* part adds
//! up to exactly the count, by the same argument part by part.
//!
//! A reader whose pass fails raises `readers`; while it is raised the owner
//! records into the shared shard instead, so the reader waits for at most
//! the observation in flight.

use std::marker::PhantomData;

use crate::core::lines::{word, Line};
use crate::core::sum::Sum;
use crate::core::sync::{AtomicU64, Backoff, Ordering};

const COUNT: usize = 0;
const READERS: usize = 1;
const SUM_LO: usize = 2;
const SUM_HI: usize = 3;
/// Bucket `b` is word `FIRST_BUCKET + b`.
pub(crate) const FIRST_BUCKET: usize = 4;

/// A view of one owned shard: `FIRST_BUCKET + buckets` words, its sum an
/// `S`.
pub(crate) struct Owned<'a, S>(&'a [Line], PhantomData<S>);

impl<'a, S: Sum> Owned<'a, S> {
    pub(crate) fn new(lines: &'a [Line]) -> Self {
        Owned(lines, PhantomData)
    }

    fn sum_words(&self) -> (&'a AtomicU64, &'a AtomicU64) {
        (self.at(SUM_LO), self.at(SUM_HI))
    }

    #[inline]
    fn at(&self, i: usize) -> &'a AtomicU64 {
        word(self.0, i)
    }

    /// Records `value` in the buckets `buckets` (one per part), for the
    /// thread that owns this shard's slot (its only writer), and returns
    /// the shard's count of observations before this one. `None`,
    /// recording nothing, while a reader asks the owner to write elsewhere.
    #[inline]
    pub(crate) fn try_record<const K: usize>(&self, buckets: [usize; K], value: S) -> Option<u64> {
        // Relaxed: a progress hint only; a stale zero is caught by the
        // reader's count check, which then retries.
        if self.at(READERS).load(Ordering::Relaxed) != 0 {
            return None;
        }
        for bucket in buckets {
            // Relaxed loads of words only this thread writes (or, after a
            // slot hand-over, the previous owner, ordered by the claim's
            // Acquire).
            let b = self.at(FIRST_BUCKET + bucket);
            // Relaxed: published by the Release stores below.
            b.store(b.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
        // Its last store Release: a reader that sees this sum sees the
        // counter increment above.
        let (lo, hi) = self.sum_words();
        S::owner_add(value, lo, hi);
        let count = self.at(COUNT);
        // Relaxed load of a word only this thread writes. Release store:
        // pairs with the reader's Acquire load of the count; a reader that
        // sees this count sees every write of this observation.
        let n = count.load(Ordering::Relaxed);
        count.store(n.wrapping_add(1), Ordering::Release);
        Some(n)
    }

    /// Observations this shard ever counted (not a consistent read).
    #[cfg(feature = "metrics")] // the facade's idle expiry
    pub(crate) fn count(&self) -> u64 {
        // Relaxed: a progress count; the reads that must be exact load it
        // with Acquire (`read`).
        self.at(COUNT).load(Ordering::Relaxed)
    }

    /// Adds this shard's per-bucket counts and sum, read exactly, into
    /// `acc` and `sum`, using `pass` (as long as `acc`) for each attempt;
    /// the second part, if any, starts at bucket `split`. Waits only for
    /// the owner's observation in flight.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut S, split: usize) {
        // Acquire: pairs with the owner's Release store of the count (see
        // `pass`). A shard never written (its slot's threads never observed
        // here: most slots, in most series) adds nothing; a count, once
        // above zero, stays so, so the retries below need no such check.
        let count = self.at(COUNT).load(Ordering::Acquire);
        if count == 0 {
            return;
        }
        let s = match self.pass(count, pass, split) {
            Some(s) => s,
            None => {
                // Relaxed: progress only (see `try_record`), as the
                // decrement below.
                self.at(READERS).fetch_add(1, Ordering::Relaxed);
                let backoff = Backoff::new();
                let s = loop {
                    if let Some(s) = self.read(pass, split) {
                        break s;
                    }
                    backoff.snooze();
                };
                self.at(READERS).fetch_sub(1, Ordering::Relaxed);
                s
            }
        };
        for (a, c) in acc.iter_mut().zip(pass.iter()) {
            *a = a.wrapping_add(*c);
        }
        *sum += s;
    }

    /// One pass into `out` after a fresh load of the count.
    fn read(&self, out: &mut [u64], split: usize) -> Option<S> {
        // Acquire: as in `read_into`.
        self.pass(self.at(COUNT).load(Ordering::Acquire), out, split)
    }

    /// One pass into `out`: the sum, if the counts of each part (before and
    /// from `split`) are exactly those of the first `count` observations,
    /// `count` loaded with Acquire (pairing with the owner's Release store
    /// of the count, so the first `count` observations' writes are
    /// visible).
    fn pass(&self, count: u64, out: &mut [u64], split: usize) -> Option<S> {
        // Acquire: pairs with the owner's Release store of the sum, so a sum
        // from a later observation shows in the counters loaded next.
        let (lo, hi) = self.sum_words();
        let sum = S::load(lo, hi);
        let mut totals = [0u64; 2];
        for (i, c) in out.iter_mut().enumerate() {
            // Relaxed: ordered after the Acquire loads above; validated below.
            *c = self.at(FIRST_BUCKET + i).load(Ordering::Relaxed);
            let part = &mut totals[usize::from(i >= split)];
            *part = part.wrapping_add(*c);
        }
        let second = split >= out.len() || totals[1] == count;
        (totals[0] == count && second).then_some(sum)
    }
}
