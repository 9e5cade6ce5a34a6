//! The native part of a duration histogram: an observation's native
//! counter found from its integer nanoseconds, and its classic bucket read
//! from that counter.
//!
//! Both steps avoid work the seconds path does. The key comes from
//! [`NanosLadder`], with no division into seconds. And the classic bucket,
//! which a classic histogram finds by comparing the duration with every
//! bound, is known from the native counter alone whenever all the
//! durations that counter takes lie in one classic bucket. With the
//! default schema 3 that is every counter but the few whose range holds a
//! classic bound; those compare as before. The map is built at
//! registration from each counter's exact range of nanoseconds, so it
//! never changes an answer (the test below checks every counter's edges).

use crate::core::sync::StdArc;
use crate::family::duration::nanos_of_bound;
use crate::family::exponential::NanosLadder;
use crate::family::histogram::bucket_of;
use crate::family::native::{NativeBuckets, ZERO};
use crate::family::Native;

/// A duration histogram's native counters, found from nanoseconds.
#[derive(Clone, Debug)]
pub(crate) struct NativeNanos {
    buckets: NativeBuckets,
    ladder: NanosLadder,
    /// The zero threshold in nanoseconds, as a classic bound is.
    zero: u64,
    /// For each native counter, the classic bucket of every duration it
    /// takes, or `SPLIT` where they are in more than one (or none); one
    /// map a family, its series sharing it.
    classic: StdArc<[u32]>,
}

/// A counter whose durations do not share one classic bucket.
const SPLIT: u32 = u32::MAX;

impl NativeNanos {
    /// `native` checked; `seconds` the classic bounds (each compared in
    /// nanoseconds, as the duration histogram compares them).
    pub(crate) fn new(native: &Native, seconds: &[f64]) -> Self {
        let bounds: Vec<u64> = seconds.iter().map(|&b| nanos_of_bound(b)).collect();
        let buckets = NativeBuckets::new(native);
        let mut part = NativeNanos {
            ladder: NanosLadder::new(buckets.schema()),
            zero: nanos_of_bound(native.zero_threshold()),
            classic: StdArc::new([]),
            buckets,
        };
        // `counter` never decreases with the duration, so each counter
        // takes one range of durations: from the first duration at or
        // above it to the one before the first above it.
        let first = |c: usize| first_at_least(|n| part.counter(n) >= c);
        let counters = part.buckets.counters();
        part.classic = (0..counters)
            .map(|c| {
                let (from, to) = (first(c), first(c + 1));
                if from == to {
                    return SPLIT; // no duration takes it
                }
                let (low, high) = (bucket_of(&bounds, from), bucket_of(&bounds, to - 1));
                match u32::try_from(low) {
                    Ok(low) if low as usize == high => low,
                    _ => SPLIT,
                }
            })
            .collect();
        part
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
        match self.classic.get(counter) {
            Some(&c) if c != SPLIT => Some(c as usize),
            _ => None,
        }
    }
}

/// The least duration (up to `i64::MAX` ns) for which `at_least` holds,
/// `at_least` false then true as durations grow; one past `i64::MAX` if it
/// never holds.
fn first_at_least(at_least: impl Fn(u64) -> bool) -> u64 {
    let (mut below, mut at) = (0u64, i64::MAX as u64 + 1);
    if at_least(0) {
        return 0;
    }
    // `at_least(below)` is false, and `at_least(at)` true or `at` the end.
    while at - below > 1 {
        let mid = below + (at - below) / 2;
        if at_least(mid) {
            at = mid;
        } else {
            below = mid;
        }
    }
    at
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
        let bounds: Vec<u64> = seconds.iter().map(|&b| nanos_of_bound(b)).collect();
        for schema in [-4, -1, 0, 1, 3, 8] {
            let native = Native::new(0.001, 1_048_576.0).schema(schema);
            let part = NativeNanos::new(&native, &seconds);
            let check = |n: u64| {
                if let Some(classic) = part.classic(part.counter(n)) {
                    assert_eq!(classic, bucket_of(&bounds, n), "{n} ns, schema {schema}");
                }
            };
            let edges: Vec<u64> = (0..=part.buckets().counters())
                .map(|c| first_at_least(|n| part.counter(n) >= c))
                .collect();
            for &edge in &edges {
                for n in [edge.saturating_sub(1), edge, edge.saturating_add(1)] {
                    check(n.min(i64::MAX as u64));
                }
            }
            for &b in &bounds {
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
