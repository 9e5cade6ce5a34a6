//! The native part of a duration histogram: an observation's native
//! counter found from its integer nanoseconds (with [`NanosLadder`], no
//! division into seconds), and its classic bucket read from that counter
//! where the family's [`ClassicMap`] settles it.

use crate::family::bounds::Bounds;
use crate::family::classic_map::{edges, ClassicMap};
use crate::family::duration::nanos_of_bound;
use crate::family::exponential::NanosLadder;
use crate::family::native::{NativeBuckets, ZERO};
use crate::family::Native;

/// A duration histogram's native counters, found from nanoseconds.
#[derive(Clone, Debug)]
pub(crate) struct NativeNanos {
    buckets: NativeBuckets,
    ladder: NanosLadder,
    /// The zero threshold in nanoseconds, as a classic bound is.
    zero: u64,
    map: ClassicMap,
}

/// The longest duration, in nanoseconds.
const END: u64 = i64::MAX as u64;

impl NativeNanos {
    /// `native` checked; `map` the family's, from
    /// [`classic_map`](Self::classic_map).
    pub(crate) fn new(native: &Native, map: ClassicMap) -> Self {
        let buckets = NativeBuckets::new(native);
        NativeNanos {
            ladder: NanosLadder::new(buckets.schema()),
            zero: nanos_of_bound(native.zero_threshold()),
            buckets,
            map,
        }
    }

    /// The map of a family with the native buckets `native` and the
    /// classic bounds `bounds`, in nanoseconds (the family's, as the
    /// duration histogram compares them).
    pub(crate) fn classic_map(native: &Native, bounds: &Bounds<u64>) -> ClassicMap {
        let part = NativeNanos::new(native, ClassicMap::none());
        // `counter` never decreases with the duration, so each counter
        // takes one range of durations.
        let counters = part.buckets.counters();
        let edges = edges(counters, END, |n| part.counter(n));
        ClassicMap::new(counters, |c| {
            let (from, to) = (edges[c], edges[c + 1]);
            (from < to).then(|| (bounds.bucket(from), bounds.bucket(to - 1)))
        })
    }

    /// The native counters' layout and read.
    pub(crate) fn buckets(&self) -> &NativeBuckets {
        &self.buckets
    }

    /// The native counter of `nanos`.
    #[inline]
    pub(crate) fn counter(&self, nanos: u64) -> usize {
        if nanos > self.zero {
            self.buckets.positive(self.ladder.key(nanos))
        } else {
            ZERO
        }
    }

    /// The classic bucket of the durations of native counter `counter`,
    /// if they share one.
    #[inline]
    pub(crate) fn classic(&self, counter: usize) -> Option<usize> {
        self.map.get(counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every counter's edges, and a sweep of durations: the classic bucket
    /// the map gives is the one the bounds give.
    #[test]
    fn the_map_agrees_with_the_bounds() {
        let seconds = [
            0.005, 0.01, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0,
        ];
        let bounds = crate::family::duration::nanos_of_bounds(&seconds);
        for schema in [-4, -1, 0, 1, 3, 8] {
            let native = Native::new(0.001, 1_048_576.0).schema(schema);
            let part = NativeNanos::new(&native, NativeNanos::classic_map(&native, &bounds));
            let check = |n: u64| {
                if let Some(classic) = part.classic(part.counter(n)) {
                    assert_eq!(classic, bounds.bucket(n), "{n} ns, schema {schema}");
                }
            };
            let edges = edges(part.buckets().counters(), END, |n| part.counter(n));
            for &edge in &edges {
                for n in [edge.saturating_sub(1), edge, edge.saturating_add(1)] {
                    check(n.min(i64::MAX as u64));
                }
            }
            for &b in bounds.iter() {
                (b - 2..=b + 2).for_each(check);
            }
            let mut n = 1u64;
            while n < i64::MAX as u64 / 2 {
                check(n);
                n += n / 7 + 1;
            }
            // Of the counters some duration takes, only those holding a
            // classic bound compare: at most one a bound.
            let taken = |c: usize| edges[c] < edges[c + 1];
            let split = (0..part.buckets().counters())
                .filter(|&c| taken(c) && part.classic(c).is_none())
                .count();
            assert!(split <= bounds.len(), "schema {schema}: {split} split");
            let mapped = (0..part.buckets().counters()).filter(|&c| taken(c)).count() - split;
            assert!(mapped > 0, "schema {schema}");
        }
    }
}
