//! Label values as the Prometheus text formats escape them.
//!
//! The formats escape exactly three bytes in a label value: backslash,
//! double quote and line feed. Every other character, tab, carriage return,
//! NUL and any other Unicode included, is written raw. (Go's `%q`, which the
//! reference used, escapes far more and produces `\t` or `\x00`, which
//! Prometheus rejects as invalid escape sequences.)
//!
//! The rule lives here, in the family layer, because an exemplar's text is
//! escaped once when it is stored (`family::exemplar`); the encoders escape
//! series' label values with the same function as they write them.

/// The bytes a label value escapes: backslash, double quote, line feed.
pub(crate) const ESCAPED: [u8; 3] = [b'\\', b'"', b'\n'];

/// Where the first byte of `value` to escape is, if any.
#[inline]
pub(crate) fn find_escaped(value: &[u8]) -> Option<usize> {
    let [a, b, c] = ESCAPED;
    // Most values are short and need no escape: a branch-free pass over
    // them costs less than `memchr3`'s set-up (a text encode of 4,000
    // three-label counter series: 12 % less time), and eight bytes a step
    // less than one (2,000 such series: 150 to 154 µs an encode byte by
    // byte, 124 to 127 µs by words).
    if value.len() <= SHORT && is_plain(value) {
        return None;
    }
    memchr::memchr3(a, b, c, value)
}

/// Longest value [`find_escaped`] scans with a plain pass before `memchr3`.
const SHORT: usize = 64;

/// Whether `value` holds no byte to escape, eight bytes a step (see
/// [`fold_words`]); values under eight bytes byte by byte, which costs
/// less than padding them into a word.
#[inline]
fn is_plain(value: &[u8]) -> bool {
    if value.len() < 8 {
        let [a, b, c] = ESCAPED;
        return !value
            .iter()
            .fold(false, |any, &x| any | (x == a) | (x == b) | (x == c));
    }
    fold_words(value, escaped_in_word) == 0
}

/// Eight bytes a step: each byte of `word` that is one of [`ESCAPED`] has
/// its high bit set in the result (a byte above such a one may be marked
/// too), and a word without one gives 0. The classic "has a zero byte"
/// test on the word xored with each escaped byte repeated: subtracting one
/// from every byte borrows into the high bit of each zero byte (and the
/// borrow may run on into the bytes above the lowest one).
#[inline]
pub(crate) fn escaped_in_word(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let [a, b, c] = ESCAPED.map(|e| ONES * u64::from(e));
    zero(word ^ a) | zero(word ^ b) | zero(word ^ c)
}

/// `test` of each eight bytes of `bytes`, or-ed: whole words, then the
/// last eight bytes, overlapping words already tested (testing a byte
/// twice changes nothing), so no tail is copied; fewer than eight bytes
/// padded with zero bytes (which `test` must not mark).
#[inline]
pub(crate) fn fold_words(bytes: &[u8], test: impl Fn(u64) -> u64) -> u64 {
    if let Some(last) = bytes.last_chunk::<8>() {
        let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
        let words = bytes.chunks_exact(8);
        words.fold(test(u64::from_le_bytes(*last)), |f, w| f | test(word(w)))
    } else {
        let mut last = [0; 8];
        last[..bytes.len()].copy_from_slice(bytes);
        test(u64::from_le_bytes(last))
    }
}

/// Calls `put` with the pieces of `value`, escaped, in order (without the
/// surrounding quotes): runs of raw bytes and the escape sequences between
/// them.
#[inline]
pub(crate) fn escape_label_value(value: &[u8], mut put: impl FnMut(&[u8])) {
    let mut rest = value;
    // Most values need no escape: one vectorized scan, one piece.
    while let Some(i) = find_escaped(rest) {
        let (raw, special) = rest.split_at(i);
        put(raw);
        put(match special.first() {
            Some(b'\\') => b"\\\\",
            Some(b'"') => b"\\\"",
            _ => b"\\n",
        });
        rest = special.get(1..).unwrap_or_default();
    }
    put(rest);
}

/// Appends `value`, escaped, to `out` (without the surrounding quotes).
#[inline]
pub(crate) fn write_label_value(out: &mut Vec<u8>, value: &str) {
    escape_label_value(value.as_bytes(), |piece| out.extend_from_slice(piece));
}

#[cfg(test)]
mod tests {
    use super::write_label_value;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        write_label_value(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_only_backslash_quote_and_newline() {
        assert_eq!(esc(""), "");
        assert_eq!(esc("plain"), "plain");
        assert_eq!(esc(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(esc("l1\nl2"), r"l1\nl2");
        assert_eq!(esc("\\\n\""), r#"\\\n\""#);
        for raw in [
            "tab\there",
            "cr\r",
            "nul\0",
            "bell\u{7}",
            "del\u{7f}",
            "zwsp\u{200b}",
            "bom\u{feff}",
            "Zürich 日本 😀",
        ] {
            assert_eq!(esc(raw), raw);
        }
    }

    /// Values on both sides of the short scan's limit, with the byte to
    /// escape anywhere in them, or nowhere.
    #[test]
    fn short_and_long_values_escape_alike() {
        for len in [1, 15, 16, 63, 64, 65, 100, 300] {
            let plain = "x".repeat(len);
            assert_eq!(esc(&plain), plain);
            for at in [0, len / 2, len - 1] {
                for (c, escaped) in [('\\', r"\\"), ('"', r#"\""#), ('\n', r"\n")] {
                    let mut v: Vec<char> = plain.chars().collect();
                    v[at] = c;
                    let v: String = v.into_iter().collect();
                    let want = format!("{}{escaped}{}", &plain[..at], &plain[at + 1..]);
                    assert_eq!(esc(&v), want, "len {len}, at {at}");
                }
            }
        }
    }

    /// The word-at-a-time test agrees with a byte scan: every byte value
    /// at every place of values of every length up to 80 (so every way a
    /// value splits into words, the overlapping last one included).
    #[test]
    fn the_word_test_finds_exactly_the_escaped_bytes() {
        for len in 0..=80 {
            for at in 0..len {
                for byte in 0..=u8::MAX {
                    let mut v = vec![b'x'; len];
                    v[at] = byte;
                    let want = !super::ESCAPED.contains(&byte);
                    assert_eq!(super::is_plain(&v), want, "len {len}, byte {byte} at {at}");
                }
            }
        }
    }

    #[test]
    fn any_unicode_round_trips() {
        // Every scalar value in a sample of each plane, escaped then unescaped.
        for c in (0..0x11_0000u32)
            .step_by(97)
            .filter_map(char::from_u32)
            .chain(['\\', '"', '\n'])
        {
            let s = format!("a{c}b{c}");
            let e = esc(&s);
            assert!(!e.contains('\n'), "raw newline in {e:?}");
            assert_eq!(unescape(&e), s);
        }
    }

    /// The format's unescaping, for the round-trip test.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                other => panic!("invalid escape {other:?} in {s:?}"),
            }
        }
        out
    }
}
