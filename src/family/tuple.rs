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
            if end - start != v.len() || self.joined.as_bytes()[start..end] != *v.as_bytes() {
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

impl std::fmt::Debug for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Tuple;

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
}
