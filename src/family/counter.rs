//! A monotonic counter, sharded like the histograms.

use crossbeam_utils::CachePadded;

use crate::core::slot;
use crate::core::sync::{AtomicU64, Ordering};

/// A counter's value: one word per shard slot, each on a cache line of its
/// own, and a last one for threads without a slot.
///
/// A thread that owns a slot adds with a plain load and store (it is that
/// word's only writer), so an increment is no locked instruction; other
/// threads use `fetch_add` on the shared word. Reading adds the words up.
/// Memory: `(slots + 1) × 128` bytes (640 on a 2-core machine); see
/// [`docs::sharding`](crate::docs::sharding).
///
/// ```
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let jobs = registry.counter(Opts::new("jobs_started", "Jobs started."), [])?;
/// let handle = jobs.with([]);
/// handle.inc();
/// handle.inc_by(2);
/// assert_eq!(handle.get(), 3);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub struct Counter {
    words: Box<[CachePadded<AtomicU64>]>,
}

impl Counter {
    pub(crate) fn new() -> Self {
        Counter {
            words: (0..=slot::slot_count())
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`. The value wraps past `u64::MAX`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        let slot = slot::current();
        let shared = self.words.len() - 1;
        if slot < shared {
            let w = &self.words[slot];
            // Relaxed load and store: this thread is the word's only writer
            // (a slot hand-over is ordered by the claim's Acquire); a reader
            // needs no other write ordered with it.
            w.store(w.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            // Relaxed: a lone count, nothing is published with it.
            self.words[shared].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The current value: every increment that returned before this call is
    /// in it, and a later call never returns less (short of wrapping).
    pub fn get(&self) -> u64 {
        self.words
            .iter()
            // Relaxed: each word only grows; the sum of values each at least
            // as new as in the last read is at least the last read.
            .map(|w| w.load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }
}
