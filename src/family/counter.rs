//! A monotonic counter, sharded like the histograms.

use crate::core::columns::{Column, Columns};
use crate::core::latest::Latest;
use crate::family::exemplar::{Exemplar, Exemplars};

/// A counter's value: one word for each of the first shard slots (two per
/// core), in a cache line only that slot's owner writes, and a last one
/// for the other threads.
///
/// A thread that owns one of those slots adds with a plain load and store
/// (it is that word's only writer), so an increment is no locked
/// instruction; other threads use `fetch_add` on the shared word. Reading
/// adds the words up. The words of sixteen counters of a family share
/// their lines, one line per slot (see
/// [`docs::families`](crate::docs::families)): `(slots + 1) × 8` bytes a
/// counter (40 on a 2-core machine).
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
    words: Column,
    /// The latest exemplar: 128 bytes from the first one on.
    exemplar: Exemplars,
}

impl Counter {
    /// A counter at zero, its words a column of `columns`.
    pub(crate) fn new(columns: &Columns) -> Self {
        Counter {
            words: columns.take(),
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
        self.words.add(n);
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
        self.words.get()
    }
}
