//! A histogram family's bucket bounds, laid out for the bucket search.
//!
//! An observation's bucket is the number of bounds below its value (not at
//! or above it: a value on a bound counts in that bound's bucket, NaN in
//! `+Inf`), found without a branch on the value up to 63 bounds:
//!
//! * up to 16 bounds, by counting the bounds below it;
//! * 17 to 63 bounds, in a table padded to 32 or 64 entries with a value
//!   no observation exceeds, by two rounds of compares: three (or seven)
//!   pivots pick a block of eight entries, whose first seven are then
//!   counted. Ten (or fourteen) compares, two loads in a row.
//! * past 63 bounds, by a binary search.
//!
//! Measured here (a `Histogram` handle, one observation a call, 64 values
//! spread over the ladder, fastest of 30 runs of a million, builds
//! alternated): the two rounds took 10.8–11.5 ns at 25 bounds, 11.8–13.7
//! at 40 and 13.5–14.5 at 63, where the binary search they replace took
//! 15.3–15.5, 21.0–21.1 and 16.5–21.1. At 11 bounds the two rounds took
//! 11.7–11.9 ns where the count takes 8.1–8.7, and a branch-free binary
//! search of a table of 16 (four loads in a row) was no faster than the
//! count for the 9-bound job ladder: the count stays up to 16 bounds.

use std::fmt;
use std::ops::Deref;

use crate::core::sync::StdArc;

/// A family's bounds, sorted ascending, shared by its series.
#[derive(Clone)]
pub(crate) struct Bounds<T> {
    /// The bounds; then, for 17 to 63 bounds, the padding value up to 32
    /// or 64 entries, and past 63 bounds one entry of it.
    table: StdArc<[T]>,
    /// The number of bounds.
    len: usize,
}

impl<T: PartialOrd + Copy> Bounds<T> {
    /// `bounds`, sorted ascending, padded with `pad`, a value at or above
    /// every bound and every value an observation may have but NaN
    /// (`u64::MAX` for nanoseconds, `+∞` for `f64`).
    pub(crate) fn new(bounds: &[T], pad: T) -> Self {
        let width = match bounds.len() {
            n @ 0..=16 => n,
            17..32 => 32,
            32..64 => 64,
            // One entry of padding, so that only 17 to 63 bounds make 32
            // or 64.
            n => n + 1,
        };
        let table = bounds
            .iter()
            .copied()
            .chain(std::iter::repeat(pad))
            .take(width)
            .collect();
        Bounds {
            table,
            len: bounds.len(),
        }
    }

    /// The number of bounds (`+Inf` not included).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bucket of `v`: the number of bounds below it (a value on a
    /// bound counts in that bound's bucket; NaN, which is below nothing
    /// and above nothing, counts in `+Inf`, bucket `len`).
    #[inline]
    pub(crate) fn bucket(&self, v: T) -> usize {
        // "Not at or above `v`": below it, or unordered with it (NaN).
        let below = |b: &T| usize::from(!b.ge(&v));
        let t = &self.table[..];
        if t.len() <= 16 {
            // Up to 16 bounds, the table is the bounds: a count of those
            // below, without a branch.
            return t.iter().map(below).sum();
        }
        let i = if let Ok(t) = <&[T; 32]>::try_from(t) {
            two_rounds(t, below)
        } else if let Ok(t) = <&[T; 64]>::try_from(t) {
            two_rounds(t, below)
        } else {
            t.partition_point(|b| below(b) == 1)
        };
        // Only NaN is below the padding: its bucket is `+Inf`.
        i.min(self.len)
    }
}

/// The number of entries of the sorted `table` that are `below` (1 for
/// those, 0 for the rest), for tables of up to 63 entries below and at
/// least one not (the padding): two rounds of independent compares, so the
/// answer waits on two loads in a row. The pivots (every eighth entry) say
/// which block of eight holds the first entry not below, then the block's
/// first seven are counted. The mask keeps every index in the table, so no
/// bounds check is left.
#[inline]
fn two_rounds<T, const W: usize>(table: &[T; W], below: impl Fn(&T) -> usize) -> usize {
    let block = (0..W / 8 - 1)
        .map(|k| below(&table[8 * k + 7]))
        .sum::<usize>()
        * 8;
    block
        + (0..7)
            .map(|k| below(&table[(block + k) & (W - 1)]))
            .sum::<usize>()
}

impl<T: fmt::Debug> fmt::Debug for Bounds<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Deref for Bounds<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.table[..self.len]
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Bounds;

    /// The bucket by its definition: the number of bounds not at or above
    /// `v`.
    fn count<T: PartialOrd>(bounds: &[T], v: T) -> usize {
        bounds.iter().filter(|b| !b.ge(&&v)).count()
    }

    #[test]
    fn every_width_agrees_with_the_definition() {
        for len in 0..=80u64 {
            let nanos: Vec<u64> = (1..=len).map(|i| i * 10).collect();
            let seconds: Vec<f64> = (1..=len).map(|i| i as f64 - 5.5).collect();
            let b = Bounds::new(&nanos, u64::MAX);
            let f = Bounds::new(&seconds, f64::INFINITY);
            assert_eq!((b.len(), &b[..]), (nanos.len(), &nanos[..]));
            assert_eq!(&f[..], &seconds[..]);
            for v in (0..=len * 10 + 11).chain([u64::MAX - 1, u64::MAX]) {
                assert_eq!(b.bucket(v), count(&nanos, v), "{len} bounds, {v}");
            }
            let values = (-80..=(len as i32 + 1) * 8).map(|q| f64::from(q) / 8.0);
            for v in values.chain([f64::INFINITY, f64::NEG_INFINITY, -0.0]) {
                assert_eq!(f.bucket(v), count(&seconds, v), "{len} bounds, {v}");
            }
            assert_eq!(f.bucket(f64::NAN), len as usize, "NaN: +Inf");
        }
    }
}
