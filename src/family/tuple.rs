//! A series' label values, stored together: the values back to back and
//! where each ends. A tuple of up to [`INLINE`] values of up to
//! [`INLINE_BYTES`] bytes in all (the common tuples) holds them in its own
//! room, so in the series' allocation, next to the hash a lookup compares
//! first: finding a series reads no other allocation, and adding one makes
//! one allocation, not two. Longer tuples keep them in a box.

use std::cmp::Ordering;

use arrayvec::ArrayString;

use crate::family::key::same_bytes;

/// The label values of one series, in the family's label order. (`pub` in
/// this private module: the sealed `Metric` trait's signatures name it.)
#[allow(unreachable_pub)]
pub struct Tuple(Repr);

/// Most values a tuple holds in its own room.
const INLINE: usize = 6;

/// Most bytes of values a tuple holds in its own room: what fills it to
/// 64 bytes, a boxed tuple's 32 plus the 32 the box would take.
const INLINE_BYTES: usize = 52;

enum Repr {
    /// `len` values, value `i` ending at `ends[i]` in `joined`.
    Inline {
        len: u8,
        ends: [u8; INLINE],
        joined: ArrayString<INLINE_BYTES>,
    },
    /// Value `i` ends at `ends[i]` in `joined`.
    Boxed {
        joined: Box<str>,
        ends: Box<[usize]>,
    },
}

impl Tuple {
    pub(crate) fn new(values: &[&str]) -> Self {
        let total = values.iter().map(|v| v.len()).sum();
        match (u8::try_from(values.len()), total <= INLINE_BYTES) {
            (Ok(len), true) if values.len() <= INLINE => {
                let (mut joined, mut ends) = (ArrayString::new(), [0u8; INLINE]);
                for (v, end) in values.iter().zip(&mut ends) {
                    // Cannot fail: the values total at most the capacity,
                    // which is under 256.
                    joined.push_str(v);
                    *end = joined.len() as u8;
                }
                Tuple(Repr::Inline { len, ends, joined })
            }
            _ => {
                let mut joined = String::with_capacity(total);
                let ends = values
                    .iter()
                    .map(|v| {
                        joined.push_str(v);
                        joined.len()
                    })
                    .collect();
                Tuple(Repr::Boxed {
                    joined: joined.into_boxed_str(),
                    ends,
                })
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.0 {
            Repr::Inline { len, .. } => usize::from(*len),
            Repr::Boxed { ends, .. } => ends.len(),
        }
    }

    /// Value `i`; `""` past the end.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let (joined, start, end) = match &self.0 {
            Repr::Inline { len, ends, joined } => {
                let ends = &ends[..usize::from(*len)];
                let at = |i: usize| ends.get(i).map(|&e| usize::from(e));
                (joined.as_str(), i.checked_sub(1).map_or(Some(0), at), at(i))
            }
            Repr::Boxed { joined, ends } => {
                let at = |i: usize| ends.get(i).copied();
                (&**joined, i.checked_sub(1).map_or(Some(0), at), at(i))
            }
        };
        start
            .zip(end)
            .and_then(|(start, end)| joined.get(start..end))
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
        match &self.0 {
            Repr::Inline { len, ends, joined } => {
                let ends = &ends[..usize::from(*len)];
                let ends = ends.iter().map(|&e| usize::from(e));
                split_is(joined, ends, usize::from(*len), values, known)
            }
            Repr::Boxed { joined, ends } => {
                split_is(joined, ends.iter().copied(), ends.len(), values, known)
            }
        }
    }

    /// Byte order of the tuples, value by value.
    pub(crate) fn cmp(&self, other: &Tuple) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

/// Whether `joined`, split at the `len` offsets of `ends`, is `values`
/// (bar the `known` ones).
#[inline]
fn split_is(
    joined: &str,
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
        if !known(i) && !same_bytes(&joined.as_bytes()[start..end], v.as_bytes()) {
            return false;
        }
        start = end;
    }
    true
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
    fn a_tuple_takes_one_line_and_holds_the_common_tuples() {
        use super::{Repr, INLINE, INLINE_BYTES};
        assert_eq!(std::mem::size_of::<Tuple>(), 64);
        let inline = |values: &[&str]| matches!(Tuple::new(values).0, Repr::Inline { .. });
        let full = "x".repeat(INLINE_BYTES);
        assert!(inline(&[&full]));
        assert!(!inline(&[&full, "y"]));
        assert!(inline(&[""; INLINE]));
        assert!(!inline(&[""; INLINE + 1]));
        assert!(inline(&[
            "/api/v1/products/:id/purchase",
            "internal",
            "user-1-1999"
        ]));
    }

    #[test]
    fn values_round_trip_and_compare_exactly() {
        let long = "x".repeat(70_000);
        let full = "é".repeat(26);
        let cases: [&[&str]; 12] = [
            &[],
            &[""],
            &["", ""],
            &["a", "bc", ""],
            &["ab", "c"],
            &["a", "b", "c", "d", "e", "f"],
            &["é", &full[2..]],
            // Boxed: seven values, 53 bytes, a tuple past 64 KiB.
            &["a", "b", "c", "d", "e", "f", "g"],
            &[&full, "y"],
            &["a", &long],
            &[&long, "b", "c"],
            &[&long, "b", "c", "d"],
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
        assert_eq!(Tuple::new(&[&long, "b"]).get(5), "");
    }
}
