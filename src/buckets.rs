//! The fixed bucket ladder and the conversion of durations to nanoseconds.

use std::time::Duration;

/// Upper bounds of the job-duration buckets, in seconds: admin commands that
/// finish in a second up to backups that run for a day. `+Inf` is implicit.
pub const BUCKET_BOUNDS_SECONDS: [f64; 9] = [
    1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
];

/// Number of counters per histogram: one per bound plus `+Inf`.
pub(crate) const BUCKETS: usize = BUCKET_BOUNDS_SECONDS.len() + 1;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The bounds in integer nanoseconds. Every bound is a whole number of
/// seconds, so `nanos <= bound` is exactly the reference's
/// `seconds <= bound` on `float64` (its seconds are exact to the nanosecond
/// below 86 400 s, the largest bound).
const BOUNDS_NANOS: [u64; 9] = {
    let mut out = [0u64; 9];
    let mut i = 0;
    while i < out.len() {
        out[i] = BUCKET_BOUNDS_SECONDS[i] as u64 * NANOS_PER_SEC;
        i += 1;
    }
    out
};

/// The `le` label of each counter, as Go's `%g` writes the bounds
/// (checked against the float formatter in the tests).
pub(crate) const LE_LABELS: [&str; BUCKETS] = [
    "1", "5", "30", "60", "300", "1800", "3600", "21600", "86400", "+Inf",
];

/// The largest duration one observation can carry: `i64::MAX` nanoseconds
/// (about 292 years), the range of Go's `time.Duration`. Longer
/// [`Duration`]s saturate to it. Keeping every observation below 2⁶³ is also
/// what lets a shard carry its 128-bit sum without a CAS loop.
pub const MAX_OBSERVATION_NANOS: u64 = i64::MAX as u64;

/// Index of the bucket a duration falls in: the first bound `>=` it, or
/// `+Inf`. A duration exactly on a bound counts in that bound's bucket.
#[inline]
pub(crate) fn bucket_index(nanos: u64) -> usize {
    // Counting the bounds below `nanos` is nine compares and adds with no
    // data-dependent branch, faster here than a binary search.
    BOUNDS_NANOS.iter().map(|&b| usize::from(nanos > b)).sum()
}

/// Nanoseconds of a `Duration`, saturating at [`MAX_OBSERVATION_NANOS`].
#[inline]
pub(crate) fn nanos_of_duration(d: Duration) -> u64 {
    let n = d.as_nanos();
    if n > u128::from(MAX_OBSERVATION_NANOS) {
        MAX_OBSERVATION_NANOS
    } else {
        n as u64
    }
}

/// Nanoseconds of a signed count as Go's `time.Duration`: negative values
/// (clock-skew artefacts) clamp to zero, as the reference does.
#[inline]
pub(crate) fn nanos_of_signed(ns: i64) -> u64 {
    ns.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_on_a_bound_counts_in_that_bucket() {
        for (i, &b) in BOUNDS_NANOS.iter().enumerate() {
            assert_eq!(bucket_index(b), i, "bound {b}");
            assert_eq!(bucket_index(b - 1), i, "just below {b}");
            assert_eq!(bucket_index(b + 1), i + 1, "just above {b}");
        }
        assert_eq!(bucket_index(0), 0);
        assert_eq!(bucket_index(MAX_OBSERVATION_NANOS), BUCKETS - 1);
    }

    #[test]
    fn negative_durations_clamp_to_zero() {
        assert_eq!(nanos_of_signed(-5), 0);
        assert_eq!(nanos_of_signed(i64::MIN), 0);
        assert_eq!(nanos_of_signed(0), 0);
        assert_eq!(nanos_of_signed(7), 7);
        assert_eq!(nanos_of_signed(i64::MAX), MAX_OBSERVATION_NANOS);
    }

    #[test]
    fn long_durations_saturate() {
        assert_eq!(nanos_of_duration(Duration::MAX), MAX_OBSERVATION_NANOS);
        assert_eq!(
            nanos_of_duration(Duration::from_nanos(u64::MAX)),
            MAX_OBSERVATION_NANOS
        );
        assert_eq!(
            nanos_of_duration(Duration::from_nanos(MAX_OBSERVATION_NANOS)),
            MAX_OBSERVATION_NANOS
        );
        assert_eq!(
            nanos_of_duration(Duration::from_millis(1500)),
            1_500_000_000
        );
    }

    #[test]
    fn le_labels_are_go_g_of_the_bounds() {
        let mut out = Vec::new();
        for (i, &b) in BUCKET_BOUNDS_SECONDS.iter().enumerate() {
            out.clear();
            crate::render::float::write_go_g(&mut out, b);
            assert_eq!(std::str::from_utf8(&out).unwrap(), LE_LABELS[i]);
        }
    }
}
