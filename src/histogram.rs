//! A job-duration histogram: its counters spread over cache-padded shards.

use crossbeam_utils::CachePadded;

use crate::buckets::{bucket_index, BUCKETS};
use crate::shard::{Counts, Shard};
use crate::slot;

/// The counters of one `(kind, status)` series, one shard per slot plus a
/// shared one, so that threads never write each other's cache lines.
pub(crate) struct Histogram {
    /// `shards[i]` for `i < slot_count()` is written only by the thread
    /// owning slot `i`; the last one is shared by threads without a slot.
    shards: Box<[CachePadded<Shard>]>,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            shards: (0..=slot::slot_count())
                .map(|_| CachePadded::new(Shard::new()))
                .collect(),
        }
    }

    /// Records one observation of `nanos` (already clamped and saturated).
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        let slot = slot::current();
        let bucket = bucket_index(nanos);
        // `slot <= slot_count() == shards.len() - 1`.
        let shard = &self.shards[slot];
        if slot + 1 < self.shards.len() {
            shard.record_owned(bucket, nanos);
        } else {
            shard.record_shared(bucket, nanos);
        }
    }

    /// Adds up every shard.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = Counts::default();
        for shard in self.shards.iter() {
            shard.read_into(&mut counts);
        }
        HistogramSnapshot { counts }
    }
}

/// The state of one series at one moment, as a scrape sees it.
///
/// Always self-consistent, even when taken while other threads observe:
/// cumulative counts never decrease along the ladder, the `+Inf` bucket equals
/// [`count`](Self::count), and [`sum_nanos`](Self::sum_nanos) includes only
/// observations that the counts include, and every observation that returned
/// before the snapshot began (it may lag the counts by observations that
/// complete while the snapshot reads). See
/// [`docs::consistency`](crate::docs::consistency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    counts: Counts,
}

impl HistogramSnapshot {
    /// Cumulative bucket counts, one per bound of
    /// [`BUCKET_BOUNDS_SECONDS`](crate::BUCKET_BOUNDS_SECONDS) and a last one
    /// for `+Inf`, as they appear in the exposition's `_bucket` lines.
    pub fn cumulative(&self) -> [u64; BUCKETS] {
        let mut acc = 0u64;
        self.counts.buckets.map(|c| {
            acc += c;
            acc
        })
    }

    /// Number of observations (`_count`).
    pub fn count(&self) -> u64 {
        self.counts.count()
    }

    /// Exact sum of the observed durations, in nanoseconds.
    pub fn sum_nanos(&self) -> u128 {
        self.counts.sum_nanos
    }

    /// The sum in seconds, as `_sum` renders it: the `f64` nearest the exact
    /// value for sums below 2⁵³ ns (104 days); within one rounding above.
    pub fn sum_seconds(&self) -> f64 {
        self.counts.sum_nanos as f64 / 1e9
    }
}
