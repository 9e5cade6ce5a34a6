//! Label values as the Prometheus text format escapes them.
//!
//! The format escapes exactly three bytes in a label value: backslash,
//! double quote and line feed. Every other character, tab, carriage return,
//! NUL and any other Unicode included, is written raw. (Go's `%q`, which the
//! reference used, escapes far more and produces `\t` or `\x00`, which
//! Prometheus rejects as invalid escape sequences.)

/// Appends `value`, escaped, to `out` (without the surrounding quotes).
#[inline]
pub(crate) fn write_label_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let mut start = 0;
    // Most values need no escape: one vectorized scan, one copy.
    while let Some(found) = memchr::memchr3(b'\\', b'"', b'\n', &bytes[start..]) {
        let i = start + found;
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(match bytes[i] {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            _ => b"\\n",
        });
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
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
