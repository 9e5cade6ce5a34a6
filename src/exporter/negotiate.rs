//! Content negotiation by request headers.

/// Whether `Accept-Encoding` values admit gzip (RFC 9110 §12.5.3): an entry
/// naming `gzip` decides by its quality (`q=0` refuses it); without one, a
/// `*` entry decides the same way; without either, no gzip.
pub(crate) fn accepts_gzip<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in values.into_iter().flat_map(|v| v.split(|&b| b == b',')) {
        let mut parts = item.split(|&b| b == b';').map(<[u8]>::trim_ascii);
        let coding = parts.next().unwrap_or_default();
        let slot = if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
        {
            &mut gzip
        } else if coding == b"*" {
            &mut any
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q=")))
            .map(quality)
            .next_back()
            .unwrap_or(Some(1.0));
        // An unreadable quality refuses, as does 0; the highest entry wins.
        let q = q.unwrap_or(0.0);
        *slot = Some(slot.map_or(q, |s: f32| s.max(q)));
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// An RFC 9110 `qvalue`: `0`, `1`, or up to three decimals.
fn quality(q: &[u8]) -> Option<f32> {
    let s = std::str::from_utf8(q).ok()?;
    let ok = matches!(s.as_bytes(), [b'0' | b'1'] | [b'0' | b'1', b'.', ..])
        && s.len() <= 5
        && s.bytes().skip(2).all(|b| b.is_ascii_digit());
    let v: f32 = s.parse().ok().filter(|_| ok)?;
    (v <= 1.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    fn gz(values: &[&str]) -> bool {
        accepts_gzip(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn accept_encoding() {
        for yes in [
            &["gzip"][..],
            &["GZIP"],
            &["deflate, gzip"],
            &["gzip;q=0.5"],
            &["br;q=1, gzip ; q=0.1"],
            &["*"],
            &["identity", "gzip"],
            &["*;q=0.3, br"],
            &["gzip;q=0, gzip;q=1"],
            &["gzip;q=1.000"],
        ] {
            assert!(gz(yes), "{yes:?}");
        }
        for no in [
            &[""][..],
            &[],
            &["identity"],
            &["deflate, br"],
            &["gzip;q=0"],
            &["gzip;q=0.0"],
            &["gzip;q=0.000"],
            &["gzip;q=0, *"],
            &["*, gzip;q=0"],
            &["*;q=0"],
            &["xgzip"],
            &["gzip;q=x"],
            &["gzip;q=2"],
            &["gzip;q=-1"],
        ] {
            assert!(!gz(no), "{no:?}");
        }
    }
}
