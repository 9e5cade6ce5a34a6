//! Content negotiation by request headers.

use mediatype::{MediaTypeList, ReadParams};

use crate::Format;

/// The format for `Accept` values (RFC 9110 §12.5.1), as Prometheus 2.x and
/// 3.x send them: the protobuf exposition when it is named (with
/// `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`, as
/// Prometheus asks for it with native histograms on), acceptable and at
/// least as preferred as the others; else OpenMetrics 1.0.0 when it is
/// acceptable (`q` above 0) and preferred to the text format 0.0.4, or
/// named and as preferred; otherwise, and with no `Accept` or only `*/*`,
/// the text format. Wildcards never select protobuf, a binary format.
///
/// Each format's quality is that of the most specific range naming it:
/// `application/openmetrics-text` with `version=1.0.0` or no version (other
/// versions do not match), then `application/*`, then `*/*`; for text,
/// `text/plain` with `version=0.0.4` or none, then `text/*`, then `*/*`.
/// A range that does not parse is ignored; an unreadable `q` refuses it.
pub(crate) fn negotiate<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Format {
    // Per format: the best quality at each specificity (exact, type/*, */*).
    let mut om = [None::<f32>; 3];
    let mut text = [None::<f32>; 3];
    let mut proto = None::<f32>;
    for value in values {
        let Ok(value) = std::str::from_utf8(value) else {
            continue;
        };
        for range in MediaTypeList::new(value).flatten() {
            let q = match range.get_param(mediatype::names::Q) {
                Some(q) => quality(q.unquoted_str().as_bytes()).unwrap_or(0.0),
                None => 1.0,
            };
            let version = range.get_param(mediatype::Name::new_unchecked("version"));
            let version = version.as_ref().map(|v| v.unquoted_str());
            let (ty, subty) = (range.ty.as_str(), range.subty.as_str());
            let note = |best: &mut Option<f32>| *best = Some(best.map_or(q, |s| s.max(q)));
            match (
                ty.to_ascii_lowercase().as_str(),
                subty.to_ascii_lowercase().as_str(),
            ) {
                ("application", "openmetrics-text")
                    if version.as_deref().is_none_or(|v| v == "1.0.0") =>
                {
                    note(&mut om[0])
                }
                ("text", "plain") if version.as_deref().is_none_or(|v| v == "0.0.4") => {
                    note(&mut text[0])
                }
                ("application", "vnd.google.protobuf") => {
                    let param = |name: &str| {
                        range
                            .get_param(mediatype::Name::new_unchecked(name))
                            .map(|v| v.unquoted_str().into_owned())
                    };
                    if param("proto").as_deref() == Some("io.prometheus.client.MetricFamily")
                        && param("encoding").as_deref() == Some("delimited")
                    {
                        note(&mut proto)
                    }
                }
                ("application", "*") => note(&mut om[1]),
                ("text", "*") => note(&mut text[1]),
                ("*", "*") => {
                    note(&mut om[2]);
                    note(&mut text[2]);
                }
                _ => {}
            }
        }
    }
    let best = |q: [Option<f32>; 3]| q.into_iter().flatten().next().unwrap_or(0.0);
    // A tie goes to OpenMetrics only when the client named it.
    let named = om[0].is_some();
    let (om, text) = (best(om), best(text));
    let proto = proto.unwrap_or(0.0);
    if proto > 0.0 && proto >= om && proto >= text {
        Format::Protobuf
    } else if om > 0.0 && (om > text || (om == text && named)) {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// Whether `Accept-Encoding` values admit gzip (RFC 9110 §12.5.3): an entry
/// naming `gzip` decides by its quality (`q=0` refuses it); without one, a
/// `*` entry decides the same way; without either, no gzip.
pub(crate) fn accepts_gzip<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in values.into_iter().flat_map(|v| v.split(|&b| b == b',')) {
        let mut parts = item.split(|&b| b == b';').map(<[u8]>::trim_ascii);
        let coding = parts.next().unwrap_or_default();
        let best = if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
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
        *best = Some(best.map_or(q, |s: f32| s.max(q)));
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
    use super::{accepts_gzip, negotiate};
    use crate::Format;

    fn format(values: &[&str]) -> Format {
        negotiate(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn accept() {
        const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        const PROMETHEUS_2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        const PROMETHEUS_3_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        const PROTO: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
        for proto in [
            &[PROMETHEUS_2_NATIVE][..],
            &[PROMETHEUS_3_NATIVE],
            &[PROTO],
            &["application/vnd.google.protobuf; encoding=delimited; proto=\"io.prometheus.client.MetricFamily\""],
            &[PROTO, "application/openmetrics-text"],
        ] {
            assert_eq!(format(proto), Format::Protobuf, "{proto:?}");
        }
        for om in [
            &[PROMETHEUS_2][..],
            &[PROMETHEUS_3],
            &["application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text, application/openmetrics-text"],
            &["application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5, application/openmetrics-text"],
            &["application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0, application/*"],
            &["application/openmetrics-text; version=1.0.0"],
            &["application/openmetrics-text; version=\"1.0.0\""],
            &["application/openmetrics-text"],
            &["Application/OpenMetrics-Text; Version=1.0.0"],
            &["text/plain;q=0.5", "application/openmetrics-text"],
            &["application/*"],
            &["text/plain;q=0.3, application/*;q=0.4"],
            &["application/openmetrics-text;q=0.5, text/plain;q=0.5"],
            &["text/plain;q=0, */*"],
        ] {
            assert_eq!(format(om), Format::OpenMetrics, "{om:?}");
        }
        for text in [
            &[][..],
            &[""],
            &["*/*"],
            &["text/plain"],
            &["text/plain;version=0.0.4"],
            &["text/*"],
            &["application/json"],
            &["application/openmetrics-text;version=0.0.1"],
            &["application/openmetrics-text;q=0"],
            &["application/openmetrics-text;q=0.5, text/plain"],
            &["application/openmetrics-text;q=x"],
            &["application/openmetrics-text;version=1.0.0;q=0.2, */*;q=0.9"],
            &["application/*;q=0.4, text/plain;q=0.9"],
            &["application/openmetrics-text;q=0, */*"],
            &["not a media type, also/bad/range"],
            &["application/vnd.google.protobuf"],
            &["\u{0}"],
        ] {
            assert_eq!(format(text), Format::Text, "{text:?}");
        }
    }

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
