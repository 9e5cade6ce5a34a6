//! A histogram's counters of any width: one owned shard per slot and the
//! shared shard, with a sum of either kind of `core::sum`.

use crate::core::lines::{self, Line};
use crate::core::owned::{Owned, FIRST_BUCKET};
use crate::core::shared::Shared;
use crate::core::slot;
use crate::core::sum::Sum;

pub(crate) struct Shards<S> {
    /// Lines per owned shard.
    stride: usize,
    /// Where the second part of the counters starts (the width, with one).
    split: usize,
    /// `slot_count()` owned shards of `stride` lines.
    owned: Box<[Line]>,
    shared: Box<Shared<S>>,
}

impl<S: Sum> Shards<S> {
    /// Counters for `buckets` buckets (`+Inf` included).
    pub(crate) fn new(buckets: usize) -> Self {
        Self::with_parts(buckets, 0)
    }

    /// Counters in two parts, `first` then `second` buckets: each
    /// observation counts once in each (see `owned.rs`).
    pub(crate) fn with_parts(first: usize, second: usize) -> Self {
        let buckets = first + second;
        let stride = lines::lines_for(FIRST_BUCKET + buckets);
        Shards {
            stride,
            split: first,
            owned: lines::zeroed(slot::slot_count(), stride),
            shared: Box::new(Shared::new(buckets)),
        }
    }

    /// Records `value` in `bucket`: into this thread's own shard, or the
    /// shared one (no slot, or a reader asked the owner to step aside).
    #[inline]
    pub(crate) fn record(&self, bucket: usize, value: S) {
        self.record_in([bucket], value);
    }

    /// Records `value` in one bucket of each part (`second` counts from
    /// the start of the second part).
    #[inline]
    pub(crate) fn record2(&self, first: usize, second: usize, value: S) {
        self.record_in([first, self.split + second], value);
    }

    #[inline]
    fn record_in<const K: usize>(&self, buckets: [usize; K], value: S) {
        let start = slot::current() * self.stride;
        if let Some(lines) = self.owned.get(start..start + self.stride) {
            if Owned::new(lines).try_record(buckets, value) {
                return;
            }
        }
        self.record_shared(buckets, value);
    }

    /// The shared shard's path, a call of its own: it is four locked
    /// read-modify-writes long, and out of line it leaves the owner's path
    /// small enough to inline into every observe.
    #[inline(never)]
    fn record_shared<const K: usize>(&self, buckets: [usize; K], value: S) {
        self.shared.record(buckets, value);
    }

    /// A number that grows with every observation (the shards' counts of
    /// observations, added up without a consistent read): a cheap way to
    /// tell whether any came since it was last taken.
    #[cfg(feature = "metrics")] // the facade's idle expiry
    pub(crate) fn activity(&self) -> u64 {
        let owned = self.owned.chunks(self.stride);
        owned
            .map(|shard| Owned::<S>::new(shard).count())
            .fold(self.shared.started(), u64::wrapping_add)
    }

    /// Adds the per-bucket counts into `acc` and the sum into `sum`, read
    /// exactly, using `pass` (as long as `acc`) as scratch.
    pub(crate) fn read_into(&self, pass: &mut [u64], acc: &mut [u64], sum: &mut S) {
        for shard in self.owned.chunks(self.stride) {
            Owned::new(shard).read_into(pass, acc, sum, self.split);
        }
        // Last: an owner sent to the shared shard while its own was read is
        // then in this read already.
        self.shared.read_into(acc, sum);
    }
}
