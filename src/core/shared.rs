//! The shared histogram shard of any width: words any number of threads
//! write with atomic read-modify-writes, read exactly by flipping between a
//! hot and a cold half (client_golang's scheme), with a sum of either kind
//! of `core::sum`.
//!
//! Writers count themselves in `started` with one `fetch_add`, whose result
//! also says which half is hot (bit 63), write that half, then count
//! themselves in its `completed` (Release). A reader, holding the `last`
//! lock, flips the hot bit, waits until the now cold half has completed
//! every observation started before the flip (each a few instructions in
//! flight, never new ones: those go to the hot half), reads and zeroes it,
//! and moves its counts into the hot half. Each half, once cold and
//! complete, is the shard's whole history. A shard nobody wrote since the
//! last read returns that read again without a flip.

use crate::core::lines::{self, word, Line};
use crate::core::sum::Sum;
use crate::core::sync::{AtomicU64, Backoff, Mutex, Ordering};

/// Bit 63 of `started`: the index of the hot half.
const HOT: u64 = 1 << 63;

const COMPLETED: usize = 0;
const SUM_LO: usize = 1;
const SUM_HI: usize = 2;
const FIRST_BUCKET: usize = 3;

pub(crate) struct Shared<S> {
    /// Bit 63: the hot half. Bits 0–62: observations ever started here.
    started: AtomicU64,
    /// Two halves of `stride` lines: `completed`, the sum's bits, buckets.
    halves: Box<[Line]>,
    stride: usize,
    /// Held by a reader for the whole flip-wait-move; the last result.
    last: Mutex<LastRead<S>>,
}

struct LastRead<S> {
    /// `started` (without the hot bit) when `buckets` and `sum` were read.
    started: u64,
    buckets: Box<[u64]>,
    sum: S,
}

fn sum_words(half: &[Line]) -> (&AtomicU64, &AtomicU64) {
    (word(half, SUM_LO), word(half, SUM_HI))
}

impl<S: Sum> Shared<S> {
    pub(crate) fn new(buckets: usize) -> Self {
        let stride = lines::lines_for(FIRST_BUCKET + buckets);
        Shared {
            started: AtomicU64::new(0),
            halves: lines::zeroed(2, stride),
            stride,
            last: Mutex::new(LastRead {
                started: 0,
                buckets: vec![0; buckets].into_boxed_slice(),
                sum: S::default(),
            }),
        }
    }

    fn half(&self, hot_bit: bool) -> &[Line] {
        let i = usize::from(hot_bit);
        &self.halves[i * self.stride..(i + 1) * self.stride]
    }

    /// Records one observation: `fetch_add`s, and for an `f64` sum a
    /// compare-exchange loop (the only retry, against other writers of this
    /// half).
    #[inline]
    pub(crate) fn record<const K: usize>(&self, buckets: [usize; K], value: S) {
        // Acquire: pairs with the reader's AcqRel flip, so a writer that
        // sees the flip writes a half whose zeroing (before the flip, under
        // the reader's lock) it also sees.
        let n = self.started.fetch_add(1, Ordering::Acquire);
        let half = self.half(n & HOT != 0);
        for bucket in buckets {
            // Relaxed: published by the Release increment of `completed`.
            word(half, FIRST_BUCKET + bucket).fetch_add(1, Ordering::Relaxed);
        }
        let (lo, hi) = sum_words(half);
        S::shared_add(value, lo, hi);
        // Release: pairs with the reader's Acquire load of `completed`; a
        // reader that counts this observation complete sees its writes.
        word(half, COMPLETED).fetch_add(1, Ordering::Release);
    }

    /// Observations ever started here: grows with every one, for telling
    /// whether any came since (not a consistent read).
    #[cfg(feature = "metrics")] // the facade's idle expiry
    pub(crate) fn started(&self) -> u64 {
        // Relaxed: a progress count; it publishes nothing.
        self.started.load(Ordering::Relaxed) & !HOT
    }

    /// Adds this shard's counts and sum, read exactly, into `acc` and `sum`.
    pub(crate) fn read_into(&self, acc: &mut [u64], sum: &mut S) {
        // Relaxed, as below. A shard no observation ever started in (most
        // series' shared shard: threads that own a slot never write here)
        // adds nothing, and takes no lock.
        if self.started.load(Ordering::Relaxed) & !HOT == 0 {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        // Relaxed: only compared with our own last flip's count; an
        // observation that started after it is simply not in this read.
        let now = self.started.load(Ordering::Relaxed) & !HOT;
        if now != last.started {
            self.flip_and_read(&mut last);
        }
        for (a, c) in acc.iter_mut().zip(last.buckets.iter()) {
            *a = a.wrapping_add(*c);
        }
        *sum += last.sum;
    }

    /// Flips the hot half, waits for the cold one to complete, reads it into
    /// `last` and moves it into the hot one. The caller holds the lock.
    fn flip_and_read(&self, last: &mut LastRead<S>) {
        // AcqRel: Release publishes the cold half's zeroing (done at the
        // last flip) to writers that see this flip; Acquire orders it before
        // the reads below.
        let n = self.started.fetch_xor(HOT, Ordering::AcqRel);
        last.started = n & !HOT;
        let cold = self.half(n & HOT != 0);
        let hot = self.half(n & HOT == 0);
        let backoff = Backoff::new();
        // Acquire: pairs with the writers' Release increments of `completed`.
        while word(cold, COMPLETED).load(Ordering::Acquire) != last.started {
            backoff.snooze();
        }
        // Relaxed swaps and stores on the cold half: ordered by the Acquire
        // load above, and before the next flip by this lock and its AcqRel.
        for (i, out) in last.buckets.iter_mut().enumerate() {
            *out = word(cold, FIRST_BUCKET + i).swap(0, Ordering::Relaxed);
        }
        let (lo, hi) = sum_words(cold);
        last.sum = S::take(lo, hi);
        word(cold, COMPLETED).store(0, Ordering::Relaxed);
        // Writers may be adding to `hot` meanwhile; every write there is an
        // RMW, so nothing is lost. Relaxed: the next reader of `hot` (once
        // cold) synchronizes through `completed` and the lock.
        for (i, &c) in last.buckets.iter().enumerate() {
            if c != 0 {
                word(hot, FIRST_BUCKET + i).fetch_add(c, Ordering::Relaxed);
            }
        }
        let (lo, hi) = sum_words(hot);
        S::shared_add(last.sum, lo, hi);
        // Release: as a writer's increment; the moved counts are then part
        // of what the next reader waits for.
        word(hot, COMPLETED).fetch_add(last.started, Ordering::Release);
    }
}
