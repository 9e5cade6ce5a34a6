//! A series' label values, stored together: the values back to back and
//! where each ends. A tuple of up to [`INLINE`] values of up to
//! [`INLINE_BYTES`] bytes in all (the common tuples) holds them in its own
//! room, so in the series' allocation, next to the hash a lookup compares
//! first: finding a series reads no other allocation, and adding one makes
//! one allocation, not two. Longer tuples keep the values in a box (and,
//! past six values or 64 KiB, their ends in another).

use std::cmp::Ordering;

use arrayvec::ArrayString;

use crate::core::key::same_bytes;

/// The label values of one series, in the family's label order. (`pub` in
/// this crate-private module: the family layer's sealed `Metric` trait's
/// signatures name it.)
#[allow(unreachable_pub)]
pub struct Tuple(Repr);

/// Most values whose ends a tuple holds in its own room.
const INLINE: usize = 6;

/// Most bytes of values a tuple holds in its own room: what fills it to
/// 64 bytes.
const INLINE_BYTES: usize = 52;

/// In each variant, value `i` ends at `ends[i]` in `joined`.
enum Repr {
    /// Up to [`INLINE`] values of up to [`INLINE_BYTES`] in all.
    Inline {
        len: u8,
        ends: [u8; INLINE],
        joined: ArrayString<INLINE_BYTES>,
    },
    /// Up to [`INLINE`] values of under 64 KiB in all.
    Boxed {
        len: u8,
        ends: [u16; INLINE],
        joined: Box<str>,
    },
    /// Any other.
    Wide {
        ends: Box<[usize]>,
        joined: Box<str>,
    },
}

/// A tuple's value ends, whatever their width.
#[derive(Clone, Copy)]
enum Ends<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    Usize(&'a [usize]),
}

impl Ends<'_> {
    #[inline]
    fn len(self) -> usize {
        match self {
            Ends::U8(e) => e.len(),
            Ends::U16(e) => e.len(),
            Ends::Usize(e) => e.len(),
        }
    }

    /// End `i`, if `i < len`.
    #[inline]
    fn get(self, i: usize) -> Option<usize> {
        match self {
            Ends::U8(e) => e.get(i).map(|&e| usize::from(e)),
            Ends::U16(e) => e.get(i).map(|&e| usize::from(e)),
            Ends::Usize(e) => e.get(i).copied(),
        }
    }
}

impl Tuple {
    pub(crate) fn new(values: &[&str]) -> Self {
        let total = values.iter().map(|v| v.len()).sum();
        let len = u8::try_from(values.len())
            .ok()
            .filter(|&n| usize::from(n) <= INLINE);
        match len {
            Some(len) if total <= INLINE_BYTES => {
                let (mut joined, mut ends) = (ArrayString::new(), [0; INLINE]);
                for (v, end) in values.iter().zip(&mut ends) {
                    // Cannot fail: the values total at most the capacity,
                    // which is under 256.
                    joined.push_str(v);
                    *end = joined.len() as u8;
                }
                return Tuple(Repr::Inline { len, ends, joined });
            }
            _ => {}
        }
        let mut joined = String::with_capacity(total);
        let ends: Vec<usize> = values
            .iter()
            .map(|v| {
                joined.push_str(v);
                joined.len()
            })
            .collect();
        let joined = joined.into_boxed_str();
        let mut short = [0u16; INLINE];
        let fits = ends
            .iter()
            .zip(&mut short)
            .all(|(&e, s)| u16::try_from(e).map(|e| *s = e).is_ok());
        match len {
            Some(len) if fits => Tuple(Repr::Boxed {
                len,
                ends: short,
                joined,
            }),
            _ => Tuple(Repr::Wide {
                ends: ends.into_boxed_slice(),
                joined,
            }),
        }
    }

    /// The joined values and where each ends.
    #[inline]
    fn parts(&self) -> (&str, Ends<'_>) {
        match &self.0 {
            Repr::Inline { len, ends, joined } => {
                (joined.as_str(), Ends::U8(&ends[..usize::from(*len)]))
            }
            Repr::Boxed { len, ends, joined } => (joined, Ends::U16(&ends[..usize::from(*len)])),
            Repr::Wide { ends, joined } => (joined, Ends::Usize(ends)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.parts().1.len()
    }

    /// Calls `f` with each value's bytes, in order: one walk of the ends,
    /// where [`get`](Self::get) finds each value's start again.
    #[inline]
    pub(crate) fn for_each_bytes(&self, f: impl FnMut(&[u8])) {
        match self.parts() {
            (joined, Ends::U8(ends)) => walk(joined.as_bytes(), ends, f),
            (joined, Ends::U16(ends)) => walk(joined.as_bytes(), ends, f),
            (joined, Ends::Usize(ends)) => walk(joined.as_bytes(), ends, f),
        }
    }

    /// Value `i`; `""` past the end.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let (joined, ends) = self.parts();
        let start = i.checked_sub(1).map_or(Some(0), |i| ends.get(i));
        start
            .zip(ends.get(i))
            .and_then(|(start, end)| joined.get(start..end))
            .unwrap_or("")
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether the values are exactly `values`, each compared by `==` (a
    /// call to `memcmp`). An index lookup compares every value, whatever
    /// its length, and `memcmp`'s branches on the length cost less than
    /// `same_bytes`' when the lengths vary from one lookup to the next
    /// (builds alternated: `counters_high`'s shape on one thread, 40,000
    /// lookups a round, 1.79–1.84 → 1.65–1.69 ms in the fastest four runs
    /// of six; `observe/family_wide2048` 55.1–58.1 → 48.3–53.1 ns).
    #[inline]
    pub(crate) fn is(&self, values: &[&str]) -> bool {
        self.is_by(values, |_| false, |a, b| a == b)
    }

    /// Whether the values are exactly `values`, comparing only those for
    /// which `known` is false: value `i` with `known(i)` is taken as equal
    /// (the caller knows it from a key). The memo's check, by `same_bytes`
    /// (inline, no call): the values its keys leave to compare are mostly
    /// of one length class from one lookup to the next (of the first two,
    /// only those over 16 bytes), where `memcmp`'s call costs more
    /// (`counters_fixed`'s shape on one thread, best of 300 rounds, three
    /// alternated runs: 13.6 ns an increment with `same_bytes`, 14.0 to
    /// 19.3 with `memcmp`).
    #[inline]
    pub(crate) fn is_unless(&self, values: &[&str], known: impl Fn(usize) -> bool) -> bool {
        self.is_by(values, known, same_bytes)
    }

    /// Whether the values are exactly `values`, each not `known` compared
    /// by `same`.
    #[inline]
    fn is_by(
        &self,
        values: &[&str],
        known: impl Fn(usize) -> bool,
        same: impl Fn(&[u8], &[u8]) -> bool,
    ) -> bool {
        match self.parts() {
            (joined, Ends::U8(ends)) => split_is(joined, ends, values, known, same),
            (joined, Ends::U16(ends)) => split_is(joined, ends, values, known, same),
            (joined, Ends::Usize(ends)) => split_is(joined, ends, values, known, same),
        }
    }

    /// Byte order of the tuples, value by value.
    pub(crate) fn cmp(&self, other: &Tuple) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

/// Calls `f` with each piece of `joined` split at the offsets `ends`.
#[inline]
fn walk<E: Copy + Into<usize>>(joined: &[u8], ends: &[E], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    for &end in ends {
        let end = end.into();
        // The ends rise within `joined`, so `get` always finds the piece;
        // the default only spares a panic path.
        f(joined.get(start..end).unwrap_or_default());
        start = end;
    }
}

/// Whether `joined`, split at the offsets `ends`, is `values` (bar the
/// `known` ones), each piece compared by `same`.
#[inline]
fn split_is<E: Copy + Into<usize>>(
    joined: &str,
    ends: &[E],
    values: &[&str],
    known: impl Fn(usize) -> bool,
    same: impl Fn(&[u8], &[u8]) -> bool,
) -> bool {
    if values.len() != ends.len() {
        return false;
    }
    let mut start = 0;
    for (i, (v, &end)) in values.iter().zip(ends).enumerate() {
        let end = end.into();
        if !known(i) && !same(&joined.as_bytes()[start..end], v.as_bytes()) {
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
        // 0: inline, 1: boxed values, inline ends, 2: both boxed.
        let kind = |values: &[&str]| match Tuple::new(values).0 {
            Repr::Inline { .. } => 0,
            Repr::Boxed { .. } => 1,
            Repr::Wide { .. } => 2,
        };
        let inline = |values: &[&str]| kind(values) == 0;
        let full = "x".repeat(INLINE_BYTES);
        assert!(inline(&[&full]));
        assert_eq!(kind(&[&full, "y"]), 1);
        assert!(inline(&[""; INLINE]));
        assert_eq!(kind(&[""; INLINE + 1]), 2);
        let long = "x".repeat(usize::from(u16::MAX));
        assert_eq!(kind(&[&long]), 1);
        assert_eq!(kind(&[&long, "y"]), 2);
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
            // Boxed: 53 bytes; and ends boxed too: seven values, a tuple
            // past 64 KiB.
            &[&full, "y"],
            &["a", "b", "c", "d", "e", "f", "g"],
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
