//! A series' label values, stored together: one buffer of the values back
//! to back, and where each ends, inline for the common tuples, so
//! comparing a tuple reads one small allocation instead of one per value.

use std::cmp::Ordering;

use crate::family::key::same_bytes;

/// The label values of one series, in the family's label order. (`pub` in
/// this private module: the sealed `Metric` trait's signatures name it.)
#[allow(unreachable_pub)]
pub struct Tuple {
    joined: Box<str>,
    /// Where each value ends in `joined`.
    ends: Ends,
}

/// Most values whose ends a tuple keeps inline.
const INLINE: usize = 3;

/// A tuple's value ends: inline for up to [`INLINE`] values joined in
/// under 64 KiB (the common tuples, compared without loading a second
/// allocation, in no more room than the box's pointer), else boxed.
enum Ends {
    Inline { len: u8, ends: [u16; INLINE] },
    Boxed(Box<[usize]>),
}

impl Ends {
    fn new(ends: Vec<usize>) -> Self {
        let mut inline = [0u16; INLINE];
        let fits = ends.len() <= INLINE
            && ends
                .iter()
                .zip(&mut inline)
                .all(|(&e, i)| u16::try_from(e).map(|e| *i = e).is_ok());
        match u8::try_from(ends.len()) {
            Ok(len) if fits => Ends::Inline { len, ends: inline },
            _ => Ends::Boxed(ends.into_boxed_slice()),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            Ends::Inline { len, .. } => usize::from(*len),
            Ends::Boxed(ends) => ends.len(),
        }
    }

    /// End `i`, if `i < len`.
    #[inline]
    fn get(&self, i: usize) -> Option<usize> {
        match self {
            Ends::Inline { len, ends } => ends[..usize::from(*len)].get(i).map(|&e| usize::from(e)),
            Ends::Boxed(ends) => ends.get(i).copied(),
        }
    }
}

impl Tuple {
    pub(crate) fn new(values: &[&str]) -> Self {
        let mut joined = String::with_capacity(values.iter().map(|v| v.len()).sum());
        let ends: Vec<usize> = values
            .iter()
            .map(|v| {
                joined.push_str(v);
                joined.len()
            })
            .collect();
        Tuple {
            joined: joined.into_boxed_str(),
            ends: Ends::new(ends),
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
            _ => self.ends.get(i - 1).unwrap_or(usize::MAX),
        };
        self.ends
            .get(i)
            .and_then(|end| self.joined.get(start..end))
            .unwrap_or("")
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether the values are exactly `values`.
    #[inline]
    pub(crate) fn is(&self, values: &[&str]) -> bool {
        self.is_unless(values, |_| false)
    }

    /// Whether the values are exactly `values`, comparing only those for
    /// which `known` is false: value `i` with `known(i)` is taken as equal
    /// (the caller knows it from a key).
    #[inline]
    pub(crate) fn is_unless(&self, values: &[&str], known: impl Fn(usize) -> bool) -> bool {
        match &self.ends {
            Ends::Inline { len, ends } => {
                let ends = &ends[..usize::from(*len)];
                self.split_is(
                    ends.iter().map(|&e| usize::from(e)),
                    ends.len(),
                    values,
                    known,
                )
            }
            Ends::Boxed(ends) => self.split_is(ends.iter().copied(), ends.len(), values, known),
        }
    }

    /// Whether `joined`, split at the `len` offsets of `ends`, is `values`
    /// (bar the `known` ones).
    #[inline]
    fn split_is(
        &self,
        ends: impl Iterator<Item = usize>,
        len: usize,
        values: &[&str],
        known: impl Fn(usize) -> bool,
    ) -> bool {
        if values.len() != len {
            return false;
        }
        let mut start = 0;
        for (i, (v, end)) in values.iter().zip(ends).enumerate() {
            if !known(i) && !same_bytes(&self.joined.as_bytes()[start..end], v.as_bytes()) {
                return false;
            }
            start = end;
        }
        true
    }

    /// Byte order of the tuples, value by value.
    pub(crate) fn cmp(&self, other: &Tuple) -> Ordering {
        self.iter().cmp(other.iter())
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
    fn inline_ends_take_no_more_room_than_a_box() {
        assert_eq!(std::mem::size_of::<super::Ends>(), 16);
    }

    #[test]
    fn values_round_trip_and_compare_exactly() {
        let long = "x".repeat(70_000);
        let cases: [&[&str]; 8] = [
            &[],
            &[""],
            &["", ""],
            &["a", "bc", ""],
            &["ab", "c"],
            // Boxed ends: four values, and a tuple past 64 KiB.
            &["a", "b", "c", "d"],
            &["a", &long],
            &[&long, "b", "c"],
        ];
        for values in cases {
            let t = Tuple::new(values);
            assert_eq!(t.iter().collect::<Vec<_>>(), values);
            assert!(t.is(values));
            let mut other = values.to_vec();
            if let Some(last) = other.last_mut() {
                *last = "other";
                assert!(!t.is(&other), "{values:.20?}");
            }
        }
        // Values a key determines are not compared.
        let t = Tuple::new(&["a", "b"]);
        assert!(t.is_unless(&["z", "b"], |i| i == 0));
        assert!(!t.is_unless(&["a", "z"], |i| i == 0));
        // Same bytes, different split: not equal.
        assert!(!Tuple::new(&["ab", "c"]).is(&["a", "bc"]));
        assert!(!Tuple::new(&["a"]).is(&["a", ""]));
        assert_eq!(Tuple::new(&["a", "b"]).get(5), "");
    }
}
