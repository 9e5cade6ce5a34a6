//! A monotonic counter, sharded like the histograms.

use crossbeam_utils::CachePadded;

use crate::core::latest::Latest;
use crate::core::slot;
use crate::core::sync::{AtomicU64, Ordering};
use crate::family::exemplar::{Exemplar, Exemplars};

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
    /// The latest exemplar: 128 bytes from the first one on.
    exemplar: Exemplars,
}

impl Counter {
    pub(crate) fn new() -> Self {
        Counter {
            words: (0..=slot::slot_count())
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            exemplar: Exemplars::new(1),
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

    /// Adds `n` and makes `exemplar` the counter's latest, with the value
    /// `n`, as the OpenMetrics encoder shows it. Lock-free; the first
    /// exemplar of a counter allocates its cell (128 bytes).
    ///
    /// ```
    /// use rm_metrics::{Exemplar, OpenMetricsEncoder, Opts, Registry};
    ///
    /// let registry = Registry::new();
    /// let requests = registry.counter(Opts::new("requests", "Requests."), [])?;
    /// requests.with([]).inc_by_with_exemplar(2, &Exemplar::new(&[("trace_id", "7f3a")])?);
    /// let text = String::from_utf8(OpenMetricsEncoder::new().encode(&registry).to_vec())?;
    /// assert!(text.contains("requests_total 2 # {trace_id=\"7f3a\"} 2\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn inc_by_with_exemplar(&self, n: u64, exemplar: &Exemplar<'_>) {
        self.inc_by(n);
        if let Some(cell) = self.exemplar.cell(0, 1) {
            exemplar.store(cell, n as f64);
        }
    }

    pub(crate) fn exemplar(&self) -> Option<&Latest> {
        self.exemplar.get(0)
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
