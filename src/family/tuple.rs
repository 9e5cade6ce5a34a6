//! A series' label values, stored together: one buffer of the values back
//! to back and their end offsets, so comparing a tuple reads two small
//! allocations instead of one per value.

use std::cmp::Ordering;

/// The label values of one series, in the family's label order. (`pub` in
/// this private module: the sealed `Metric` trait's signatures name it.)
#[allow(unreachable_pub)]
pub struct Tuple {
    joined: Box<str>,
    /// `ends[i]`: where value `i` ends in `joined`.
    ends: Box<[usize]>,
}

impl Tuple {
    pub(crate) fn new(values: &[&str]) -> Self {
        let mut joined = String::with_capacity(values.iter().map(|v| v.len()).sum());
        let ends = values
            .iter()
            .map(|v| {
                joined.push_str(v);
                joined.len()
            })
            .collect();
        Tuple {
            joined: joined.into_boxed_str(),
            ends,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Value `i`; `""` past the end.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(usize::MAX),
        };
        self.ends
            .get(i)
            .and_then(|&end| self.joined.get(start..end))
            .unwrap_or("")
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether the values are exactly `values`.
    #[inline]
    pub(crate) fn is(&self, values: &[&str]) -> bool {
        if values.len() != self.ends.len() {
            return false;
        }
        let mut start = 0;
        for (v, &end) in values.iter().zip(self.ends.iter()) {
            if end - start != v.len()
                || !same_bytes(&self.joined.as_bytes()[start..end], v.as_bytes())
            {
                return false;
            }
            start = end;
        }
        true
    }

    /// Byte order of the tuples, value by value.
    pub(crate) fn cmp_with(&self, values: &[&str]) -> Ordering {
        self.iter().cmp(values.iter().copied())
    }
}

/// Byte equality, inline for the label values services use (routes,
/// methods, ids of up to 32 bytes: a few word compares instead of a call to
/// `memcmp`), by `memcmp` beyond.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap());
    // Overlapping reads from both ends: together they cover every byte.
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=32 => {
            let d = |at: usize| word(a, at) ^ word(b, at);
            d(0) | d(8) | d(n - 16) | d(n - 8) == 0
        }
        _ => a == b,
    }
}

impl std::fmt::Debug for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{same_bytes, Tuple};

    #[test]
    fn values_round_trip_and_compare_exactly() {
        for values in [&[][..], &[""], &["", ""], &["a", "bc", ""], &["ab", "c"]] {
            let t = Tuple::new(values);
            assert_eq!(t.iter().collect::<Vec<_>>(), values);
            assert!(t.is(values));
        }
        // Same bytes, different split: not equal.
        assert!(!Tuple::new(&["ab", "c"]).is(&["a", "bc"]));
        assert!(!Tuple::new(&["a"]).is(&["a", ""]));
        assert_eq!(Tuple::new(&["a", "b"]).get(5), "");
    }

    #[test]
    fn inline_compare_sees_a_difference_at_every_byte() {
        let base: Vec<u8> = (0..48u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(same_bytes(a, a));
            assert!(!same_bytes(a, &base[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "length {n}, byte {at}");
            }
        }
    }
}
