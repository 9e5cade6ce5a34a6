//! Exemplars: label pairs (a trace id) attached to one observation, so an
//! operator can jump from a bucket on a dashboard to one request in it.

use std::fmt;

use crate::core::latest::{Latest, Words};
use crate::family::opts::is_label_name;

/// OpenMetrics 1.0's limit on an exemplar's label set: the characters of
/// its names and values together.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// A checked exemplar label set, borrowed for one observation.
///
/// Build it with [`Exemplar::new`], which refuses what OpenMetrics 1.0
/// refuses, then pass it to `observe_with_exemplar` or
/// `inc_by_with_exemplar`; those cannot fail. The OpenMetrics encoder
/// shows the latest exemplar of each histogram bucket and of each counter,
/// with the observed value (no timestamp is kept).
///
/// ```
/// use rm_metrics::{Exemplar, ExemplarError, Opts, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.histogram(Opts::new("latency_seconds", "Latency."), [], &[0.1, 1.0])?;
/// let trace = Exemplar::new(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])?;
/// latency.with([]).observe_with_exemplar(0.25, &trace);
///
/// let long = "x".repeat(121);
/// assert_eq!(
///     Exemplar::new(&[("trace_id", &long)]).unwrap_err(),
///     ExemplarError::TooLong(129),
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Exemplar<'a> {
    labels: &'a [(&'a str, &'a str)],
    /// At least the bytes of the escaped `name="value",…` text: exactly
    /// its length when `plain`, else its length with every value byte
    /// escaped.
    max_len: usize,
    /// No value has a byte to escape.
    plain: bool,
}

/// Why an [`Exemplar`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExemplarError {
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName(String),
    /// A label name appears twice.
    DuplicateLabelName(String),
    /// The names and values together have this many characters, more than
    /// [`MAX_EXEMPLAR_CHARS`].
    TooLong(usize),
}

impl fmt::Display for ExemplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExemplarError::InvalidLabelName(n) => write!(f, "invalid exemplar label name {n:?}"),
            ExemplarError::DuplicateLabelName(n) => {
                write!(f, "duplicate exemplar label name {n:?}")
            }
            ExemplarError::TooLong(n) => write!(
                f,
                "exemplar labels have {n} characters, more than {MAX_EXEMPLAR_CHARS}"
            ),
        }
    }
}

impl std::error::Error for ExemplarError {}

impl<'a> Exemplar<'a> {
    /// Checks `labels`: valid, distinct names, and at most
    /// [`MAX_EXEMPLAR_CHARS`] characters (Unicode scalar values) in all
    /// names and values together. An empty set is allowed.
    #[inline]
    pub fn new(labels: &'a [(&'a str, &'a str)]) -> Result<Self, ExemplarError> {
        let mut chars = 0;
        let mut raw_len = 0;
        let mut value_bytes = 0;
        let mut plain = true;
        for (i, &(name, value)) in labels.iter().enumerate() {
            if !is_label_name(name) {
                return Err(ExemplarError::InvalidLabelName(name.into()));
            }
            if labels[..i].iter().any(|(n, _)| *n == name) {
                return Err(ExemplarError::DuplicateLabelName(name.into()));
            }
            let (ascii, special) = scan(value.as_bytes());
            plain &= !special;
            // A UTF-8 character has exactly one byte that is not a
            // continuation byte.
            chars += name.len()
                + if ascii {
                    value.len()
                } else {
                    value.bytes().filter(|&b| (b as i8) >= -0x40).count()
                };
            // `name="value"` and a comma before all but the first.
            raw_len += name.len() + 3 + usize::from(i > 0) + value.len();
            value_bytes += value.len();
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong(chars));
        }
        // Values with bytes to escape get room to escape every byte
        // (counting the escapes would cost more than the room).
        let max_len = raw_len + if plain { 0 } else { value_bytes };
        Ok(Exemplar {
            labels,
            max_len,
            plain,
        })
    }

    /// The label pairs.
    pub fn labels(&self) -> &'a [(&'a str, &'a str)] {
        self.labels
    }

    /// Makes this the latest exemplar of `cell`, with `value`.
    #[inline]
    pub(crate) fn store(&self, cell: &Latest, value: f64) {
        // A concurrent writer may win the cell; then its exemplar is the
        // latest, and this one is dropped (see `core::latest`).
        cell.store(value, self.max_len, |w| self.write(w));
    }

    /// Writes the escaped `name="value",…` text: at most `max_len` bytes,
    /// and at most [`MAX_BYTES`] (5 bytes a character at the limit of 128;
    /// see `core::latest`).
    #[inline]
    fn write(&self, w: &mut Words<'_>) {
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                w.put(b",");
            }
            w.put(name.as_bytes());
            w.put(b"=\"");
            let mut rest = value.as_bytes();
            while let Some(i) = match self.plain {
                true => None,
                false => memchr::memchr3(b'\\', b'"', b'\n', rest),
            } {
                let (plain, special) = rest.split_at(i);
                w.put(plain);
                w.put(match special.first() {
                    Some(b'\\') => b"\\\\",
                    Some(b'"') => b"\\\"",
                    _ => b"\\n",
                });
                rest = special.get(1..).unwrap_or_default();
            }
            w.put(rest);
            w.put(b"\"");
        }
    }
}

/// Whether `bytes` are all ASCII, and whether any is one a label value
/// escapes (`\\`, `"`, line feed): eight bytes at a time, branch-free
/// within a word (the classic "has a zero byte" test on `x ^ c`).
#[inline]
fn scan(bytes: &[u8]) -> (bool, bool) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // High bit of each byte of `x` that is zero (exact for ASCII bytes,
    // which is all that is asked when `high` is clear).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let has = |x: u64| {
        zero(x ^ (ONES * u64::from(b'\\')))
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\n')))
    };
    let (mut high, mut special) = (0, 0);
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        high |= x & HIGH;
        special |= has(x);
    }
    let mut last = [0; 8];
    last[..tail.len()].copy_from_slice(tail);
    let x = u64::from_le_bytes(last);
    // The zero padding bytes match nothing above.
    high |= x & HIGH;
    special |= has(x);
    // A non-ASCII byte can make a false "special" (a borrow from it); then
    // memchr decides, in `write`.
    (high == 0, special != 0 || high != 0)
}

/// The exemplar cells of a metric, allocated on its first exemplar: one
/// pointer until then.
///
/// Under loom the cells are made with the metric: loom must see every
/// atomic's creation ordered before its use, and once_cell's `OnceBox`
/// publishes through a `std` atomic loom cannot see. The models so check
/// the cells' protocol, and take the one-time install from once_cell.
pub(crate) struct Exemplars {
    #[cfg(not(loom))]
    cells: once_cell::race::OnceBox<Box<[Latest]>>,
    #[cfg(loom)]
    cells: Box<[Latest]>,
}

impl Exemplars {
    /// Room for `n` cells.
    pub(crate) fn new(n: usize) -> Self {
        #[cfg(not(loom))]
        let _ = n;
        Exemplars {
            #[cfg(not(loom))]
            cells: once_cell::race::OnceBox::new(),
            #[cfg(loom)]
            cells: (0..n).map(|_| Latest::new()).collect(),
        }
    }

    /// Cell `i` of the `n`, made on first need: racing first callers each
    /// build the cells, one set wins, the others are freed.
    #[inline]
    pub(crate) fn cell(&self, i: usize, n: usize) -> Option<&Latest> {
        #[cfg(not(loom))]
        let cells = self
            .cells
            .get_or_init(|| Box::new((0..n).map(|_| Latest::new()).collect()));
        #[cfg(loom)]
        let (cells, _) = (&self.cells, n);
        cells.get(i)
    }

    /// Cell `i` if any exemplar was ever stored in this metric.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Latest> {
        #[cfg(not(loom))]
        let cells = self.cells.get()?;
        #[cfg(loom)]
        let cells = &self.cells;
        cells.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::latest::MAX_BYTES;

    fn text(ex: &Exemplar<'_>) -> (f64, String) {
        let cell = Latest::new();
        ex.store(&cell, 1.5);
        let mut out = Vec::new();
        let v = cell.load(&mut out).unwrap();
        assert!(out.len() <= ex.max_len);
        (v, String::from_utf8(out).unwrap())
    }

    #[test]
    fn escaped_text_and_its_length() {
        let ex = Exemplar::new(&[("trace_id", "abc"), ("q", "a\"b\\c\nd€")]).unwrap();
        assert_eq!(text(&ex), (1.5, r#"trace_id="abc",q="a\"b\\c\nd€""#.into()));
        assert_eq!(text(&Exemplar::new(&[]).unwrap()), (1.5, String::new()));
    }

    #[test]
    fn the_limit_is_in_characters() {
        let ok = "€".repeat(127);
        assert!(
            Exemplar::new(&[("a", &ok)]).is_ok(),
            "128 characters, 382 bytes"
        );
        let (_, t) = text(&Exemplar::new(&[("a", &ok)]).unwrap());
        assert_eq!(t, format!("a=\"{ok}\""));
        let over = "€".repeat(128);
        assert_eq!(
            Exemplar::new(&[("a", &over)]).unwrap_err(),
            ExemplarError::TooLong(129)
        );
        // Long texts: 4-byte characters, and many pairs of escaped quotes.
        let wide = "😀".repeat(127);
        let quotes: Vec<String> = (0..26).map(|_| "\"".repeat(3)).collect();
        let names: Vec<String> = (0..26).map(|i| char::from(b'a' + i).to_string()).collect();
        let many: Vec<(&str, &str)> = names
            .iter()
            .zip(&quotes)
            .map(|(n, v)| (&**n, &**v))
            .collect();
        for pairs in [&[("a", &*wide)][..], &many] {
            let ex = Exemplar::new(pairs).unwrap();
            let (_, t) = text(&ex);
            assert!(t.len() > 96 && t.len() <= MAX_BYTES, "{}", t.len());
        }
    }

    #[test]
    fn scan_finds_every_special_byte() {
        for s in [
            "",
            "a",
            "abcdefgh",
            "abcdefghi",
            "ü",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ] {
            assert_eq!(scan(s.as_bytes()), (s.is_ascii(), !s.is_ascii()), "{s:?}");
        }
        for len in 0..20 {
            for at in 0..len {
                for c in [b'\\', b'"', b'\n'] {
                    let mut v = vec![b'x'; len];
                    v[at] = c;
                    assert_eq!(scan(&v), (true, true), "{v:?}");
                }
            }
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(
            Exemplar::new(&[("1x", "v")]).unwrap_err(),
            ExemplarError::InvalidLabelName("1x".into())
        );
        assert_eq!(
            Exemplar::new(&[("a", "1"), ("a", "2")]).unwrap_err(),
            ExemplarError::DuplicateLabelName("a".into())
        );
    }
}
