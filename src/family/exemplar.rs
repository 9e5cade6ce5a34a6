//! Exemplars: label pairs (a trace id) attached to one observation, so an
//! operator can jump from a bucket on a dashboard to one request in it.

use std::fmt;

use crate::core::latest::{Latest, Words};
use crate::family::escape::{escape_label_value, escaped_in_word, find_escaped, fold_words};
use crate::family::opts::is_label_name;

/// OpenMetrics 1.0's limit on an exemplar's label set: the characters of
/// its names and values together.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// The labels of an exemplar: a checked label set borrowed for one
/// observation, or a trace id (and span id).
///
/// Build it with [`Exemplar::new`], which refuses what OpenMetrics 1.0
/// refuses, or from a trace context's ids with [`Exemplar::trace`] (no
/// check to fail, no string to format), then pass it to
/// `observe_with_exemplar` or `inc_by_with_exemplar`; those cannot fail.
/// The OpenMetrics encoder shows the latest exemplar of each histogram
/// bucket and of each counter, with the observed value (no timestamp is
/// kept).
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
    text: Text<'a>,
    /// At least the bytes of the escaped `name="value",…` text: exactly
    /// its length for a trace or plain labels, else its length with every
    /// value byte escaped.
    max_len: usize,
}

/// What an exemplar's text is written from.
#[derive(Clone, Copy, Debug)]
enum Text<'a> {
    /// Checked label pairs; `plain`: no value has a byte to escape.
    Labels {
        labels: &'a [(&'a str, &'a str)],
        plain: bool,
    },
    /// A trace id and maybe a span id, written in hex.
    Trace {
        trace_id: u128,
        span_id: Option<u64>,
    },
}

/// `trace_id=""`, and `,span_id=""`: the bytes around the hex digits.
const TRACE_NAME: &[u8; 10] = b"trace_id=\"";
const SPAN_NAME: &[u8; 10] = b",span_id=\"";

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
        let mut bytes = 0;
        let mut raw_len = 0;
        let mut unusual = 0;
        for (i, &(name, value)) in labels.iter().enumerate() {
            if !is_label_name(name) {
                return Err(refusal(ExemplarError::InvalidLabelName, name));
            }
            if labels[..i].iter().any(|(n, _)| *n == name) {
                return Err(refusal(ExemplarError::DuplicateLabelName, name));
            }
            unusual |= scan(value.as_bytes());
            bytes += name.len() + value.len();
            // `name="value"` and a comma before all but the first.
            raw_len += name.len() + 3 + usize::from(i > 0) + value.len();
        }
        if unusual != 0 {
            return Self::unusual(labels, raw_len);
        }
        // All ASCII: a character a byte.
        if bytes > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong(bytes));
        }
        Ok(Exemplar {
            text: Text::Labels {
                labels,
                plain: true,
            },
            max_len: raw_len,
        })
    }

    /// [`new`](Self::new) for values with a byte to escape or a character
    /// of more than one byte: the characters counted one by one, and, when
    /// a byte is to be escaped, room to escape every value byte (counting
    /// the escapes would cost more than the room).
    #[cold]
    fn unusual(labels: &'a [(&'a str, &'a str)], raw_len: usize) -> Result<Self, ExemplarError> {
        // A UTF-8 character has exactly one byte that is not a
        // continuation byte.
        let chars = |s: &str| s.bytes().filter(|&b| (b as i8) >= -0x40).count();
        let all = labels.iter().map(|(n, v)| chars(n) + chars(v)).sum();
        if all > MAX_EXEMPLAR_CHARS {
            return Err(ExemplarError::TooLong(all));
        }
        let plain = !labels
            .iter()
            .any(|(_, v)| find_escaped(v.as_bytes()).is_some());
        let value_bytes: usize = labels.iter().map(|(_, v)| v.len()).sum();
        Ok(Exemplar {
            text: Text::Labels { labels, plain },
            max_len: raw_len + if plain { 0 } else { value_bytes },
        })
    }

    /// The exemplar `trace_id="…"` of a W3C trace context's trace id, in 32
    /// lowercase hex digits as tracers write it (the id of 16 bytes `b`,
    /// such as OpenTelemetry's `TraceId::to_bytes()`, is
    /// `u128::from_be_bytes(b)`). Nothing to check, and the digits are
    /// written straight into the exemplar's cell.
    ///
    /// ```
    /// use rm_metrics::{Exemplar, OpenMetricsEncoder, Opts, Registry};
    ///
    /// let registry = Registry::new();
    /// let latency = registry.histogram(Opts::new("latency_seconds", "Latency."), [], &[1.0])?;
    /// let trace = Exemplar::trace(0x4bf92f3577b34da6a3ce929d0e0e4736);
    /// latency.with([]).observe_with_exemplar(0.25, &trace);
    /// let mut encoder = OpenMetricsEncoder::new();
    /// let text = std::str::from_utf8(encoder.encode(&registry))?;
    /// assert!(text.contains(r#"le="1.0"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.25"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn trace(trace_id: u128) -> Exemplar<'static> {
        Exemplar {
            text: Text::Trace {
                trace_id,
                span_id: None,
            },
            max_len: TRACE_NAME.len() + 32 + 1,
        }
    }

    /// [`trace`](Self::trace) and `span_id="…"`, the span id in 16
    /// lowercase hex digits.
    pub const fn trace_and_span(trace_id: u128, span_id: u64) -> Exemplar<'static> {
        Exemplar {
            text: Text::Trace {
                trace_id,
                span_id: Some(span_id),
            },
            max_len: TRACE_NAME.len() + 32 + 1 + SPAN_NAME.len() + 16 + 1,
        }
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
        let (labels, plain) = match self.text {
            Text::Labels { labels, plain } => (labels, plain),
            Text::Trace { trace_id, span_id } => {
                w.put(TRACE_NAME);
                for shift in [96, 64, 32, 0] {
                    w.put(&hex((trace_id >> shift) as u32).to_le_bytes());
                }
                w.put(b"\"");
                if let Some(span_id) = span_id {
                    w.put(SPAN_NAME);
                    w.put(&hex((span_id >> 32) as u32).to_le_bytes());
                    w.put(&hex(span_id as u32).to_le_bytes());
                    w.put(b"\"");
                }
                return;
            }
        };
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                w.put(b",");
            }
            w.put(name.as_bytes());
            w.put(b"=\"");
            if plain {
                w.put(value.as_bytes());
            } else {
                escape_label_value(value.as_bytes(), |piece| w.put(piece));
            }
            w.put(b"\"");
        }
    }
}

/// The error `kind` for `name`, made out of line (it allocates).
#[cold]
fn refusal(kind: fn(String) -> ExemplarError, name: &str) -> ExemplarError {
    kind(name.into())
}

/// The 8 lowercase hex digits of `x`, most significant first, as the bytes
/// of a little-endian word: each nibble spread to a byte, then made a digit
/// eight bytes at a time.
#[inline]
fn hex(x: u32) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    // Nibble k (from the least significant) into byte k.
    let mut n = u64::from(x);
    n = (n | n << 16) & 0x0000_ffff_0000_ffff;
    n = (n | n << 8) & 0x00ff_00ff_00ff_00ff;
    n = (n | n << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // The most significant digit first, in the lowest byte.
    n = n.swap_bytes();
    // Bytes 10 to 15 get the high bit of a nibble from `+ 6`; they take
    // 'a' - '0' - 10 more than the digits.
    let letters = ((n + 6 * ONES) >> 4) & ONES;
    n + u64::from(b'0') * ONES + letters * u64::from(b'a' - b'0' - 10)
}

/// Nonzero when `bytes` has a byte that is not ASCII or that a label
/// value escapes (`\\`, `"`, line feed): eight bytes at a time, branch-free
/// within a word (`escape::escaped_in_word` and the high bits).
#[inline]
fn scan(bytes: &[u8]) -> u64 {
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    fold_words(bytes, |x| x & HIGH | escaped_in_word(x))
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
    fn hex_digits_as_format_writes_them() {
        for x in [0, 1, 9, 10, 15, 16, 0xabcd_ef01, 0x1234_5678, u32::MAX] {
            assert_eq!(
                hex(x).to_le_bytes(),
                *format!("{x:08x}").as_bytes(),
                "{x:x}"
            );
        }
        // Every nibble value at every place.
        for place in 0..8 {
            for nibble in 0..16u32 {
                let x = nibble << (4 * place) | 0x5a5a_5a5a & !(0xf << (4 * place));
                assert_eq!(
                    hex(x).to_le_bytes(),
                    *format!("{x:08x}").as_bytes(),
                    "{x:x}"
                );
            }
        }
    }

    #[test]
    fn trace_and_span_ids_in_hex() {
        let mut x = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835u128;
        for _ in 0..1000 {
            x = x.rotate_left(7) ^ x.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let span = (x >> 17) as u64;
            for (ex, want) in [
                (Exemplar::trace(x), format!("trace_id=\"{x:032x}\"")),
                (
                    Exemplar::trace_and_span(x, span),
                    format!("trace_id=\"{x:032x}\",span_id=\"{span:016x}\""),
                ),
                (Exemplar::trace(0), format!("trace_id=\"{:032}\"", 0)),
                (
                    Exemplar::trace_and_span(u128::MAX, u64::MAX),
                    format!(
                        "trace_id=\"{}\",span_id=\"{}\"",
                        "f".repeat(32),
                        "f".repeat(16)
                    ),
                ),
            ] {
                let (v, t) = text(&ex);
                assert_eq!((v, t.len()), (1.5, ex.max_len));
                assert_eq!(t, want);
            }
        }
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
            assert_eq!(scan(s.as_bytes()) != 0, !s.is_ascii(), "{s:?}");
        }
        for len in 0..20 {
            for at in 0..len {
                for c in [b'\\', b'"', b'\n'] {
                    let mut v = vec![b'x'; len];
                    v[at] = c;
                    assert_ne!(scan(&v), 0, "{v:?}");
                }
                let mut v = vec![b'x'; len];
                v[at] = 0xc3;
                assert_ne!(scan(&v), 0, "{v:?}");
            }
            assert_eq!(scan(&vec![b'x'; len]), 0);
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
