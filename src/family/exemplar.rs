//! Exemplars: label pairs (a trace id) attached to one observation, so an
//! operator can jump from a bucket on a dashboard to one request in it.

use std::fmt;

use crate::core::latest::{Latest, Words, MAX_BYTES};
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
    /// Bytes of the escaped `name="value",…` text.
    text_len: usize,
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
    pub fn new(labels: &'a [(&'a str, &'a str)]) -> Result<Self, ExemplarError> {
        let mut chars = 0;
        let mut text_len = 0;
        for (i, &(name, value)) in labels.iter().enumerate() {
            if !is_label_name(name) {
                return Err(ExemplarError::InvalidLabelName(name.into()));
            }
            if labels[..i].iter().any(|(n, _)| *n == name) {
                return Err(ExemplarError::DuplicateLabelName(name.into()));
            }
            chars += name.len()
                + if value.is_ascii() {
                    value.len()
                } else {
                    value.chars().count()
                };
            // `name="value"` and a comma before all but the first.
            text_len += name.len() + 3 + usize::from(i > 0) + value.len() + escapes(value);
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong(chars));
        }
        debug_assert!(text_len <= MAX_BYTES);
        Ok(Exemplar { labels, text_len })
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
        cell.store(value, self.text_len, |w| self.write(w));
    }

    fn write(&self, w: &mut Words<'_>) {
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                w.put(b",");
            }
            w.put(name.as_bytes());
            w.put(b"=\"");
            let mut rest = value.as_bytes();
            while let Some(at) = memchr::memchr3(b'\\', b'"', b'\n', rest) {
                w.put(&rest[..at]);
                w.put(match rest[at] {
                    b'\\' => b"\\\\",
                    b'"' => b"\\\"",
                    _ => b"\\n",
                });
                rest = &rest[at + 1..];
            }
            w.put(rest);
            w.put(b"\"");
        }
    }
}

/// How many bytes escaping adds to `value`: one per `\`, `"` and line feed.
fn escapes(value: &str) -> usize {
    memchr::memchr3_iter(b'\\', b'"', b'\n', value.as_bytes()).count()
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

    fn text(ex: &Exemplar<'_>) -> (f64, String) {
        let cell = Latest::new();
        ex.store(&cell, 1.5);
        let mut out = Vec::new();
        let v = cell.load(&mut out).unwrap();
        assert_eq!(out.len(), ex.text_len);
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
            assert!(ex.text_len > 96 && ex.text_len <= MAX_BYTES);
            assert_eq!(text(&ex).1.len(), ex.text_len);
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
