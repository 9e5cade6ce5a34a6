//! A job-duration histogram: its counters spread over cache-padded shards.

use crossbeam_utils::CachePadded;

use crate::buckets::{bucket_index, BUCKETS};
use crate::shard::{Counts, Shard};
use crate::shared_shard::SharedShard;
use crate::slot;

/// The counters of one `(kind, status)` series: one owned shard per slot
/// plus a shared one, so that threads never write each other's cache lines.
pub(crate) struct Histogram {
    /// `owned[i]` is written only by the thread owning slot `i`.
    owned: Box<[CachePadded<Shard>]>,
    /// Written by threads without a slot, and by an owner while a reader
    /// holds its shard (see `shard.rs`). Boxed, so the series header that
    /// every observation reads stays small and unpadded.
    shared: Box<CachePadded<SharedShard>>,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            owned: (0..slot::slot_count())
                .map(|_| CachePadded::new(Shard::new()))
                .collect(),
            shared: Box::new(CachePadded::new(SharedShard::new())),
        }
    }

    /// Records one observation of `nanos` (already clamped and saturated).
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        let bucket = bucket_index(nanos);
        // `slot::current()` is an owned slot, or `slot_count()` (past the
        // end) for a thread that shares.
        match self.owned.get(slot::current()) {
            Some(shard) if shard.try_record(bucket, nanos) => {}
            _ => self.shared.record(bucket, nanos),
        }
    }

    /// Adds up every shard, each read exactly.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = Counts::default();
        for shard in self.owned.iter() {
            shard.read_into(&mut counts);
        }
        // Last: an owner sent here while its shard was read is then in this
        // snapshot already (it would be in the next one otherwise).
        self.shared.read_into(&mut counts);
        HistogramSnapshot { counts }
    }
}

/// The state of one series at one moment, as a scrape sees it.
///
/// Exactly consistent, even when taken while other threads observe:
/// cumulative counts never decrease along the ladder, the `+Inf` bucket equals
/// [`count`](Self::count), [`sum_nanos`](Self::sum_nanos) is the sum of
/// exactly the observations the counts include, every observation that
/// returned before the snapshot began is in it, and a later snapshot of the
/// same series never has less, in any count or in the sum. See
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
