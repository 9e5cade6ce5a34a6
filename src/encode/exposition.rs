//! What the two text formats share: one visit of a registry's series,
//! written into reusable buffers, with the few differences of OpenMetrics
//! 1.0 from the text format 0.0.4 decided per family or per sample.

use crate::core::latest::Latest;
use crate::encode::float::write_go_g;
use crate::encode::padded::{append_padded, CHUNK};
use crate::family::escape::{escape_label_value, write_label_value};
use crate::family::{Collect, Desc, Kind, ReadHistogram, Registry, Values, Visitor};

/// An exposition format, as a [`Renderer`](crate::Renderer) or the exporter
/// writes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format 0.0.4 ([`TextEncoder`](crate::TextEncoder)).
    #[default]
    Text,
    /// OpenMetrics 1.0 text, with exemplars
    /// ([`OpenMetricsEncoder`](crate::OpenMetricsEncoder)).
    OpenMetrics,
    /// The Prometheus protobuf exposition, with native histograms
    /// ([`ProtobufEncoder`](crate::ProtobufEncoder)).
    Protobuf,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => crate::encode::protobuf::CONTENT_TYPE,
        }
    }
}

/// The buffers of an encoder, reused from scrape to scrape.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    format: Format,
    /// The caller's output, swapped in for the duration of a write.
    buf: Vec<u8>,
    /// A series' escaped `name="value",…` pairs, without braces.
    labels: Vec<u8>,
    /// The current family's label text but its series' values: the
    /// constant labels, then before value `i` (ending at `head_ends[i]`)
    /// a comma (after a quote, but before the first), the name and `="`.
    /// Empty ends for a family of names carried by its series (the
    /// facade's), which [`labels`](Self::labels) writes pair by pair.
    /// For a family of names, then [`CHUNK`] bytes of padding: its pieces
    /// are copied by `append_padded`, whole chunks, not a `memcpy` call
    /// each (a text encode of 4,000 three-label counter series: 234–238 →
    /// 221–225 µs, builds alternated).
    heads: Vec<u8>,
    head_ends: Vec<usize>,
    /// Whether `heads` holds the current family's names.
    named: bool,
    /// Histogram reads: one pass, and the counts added up.
    pass: Vec<u64>,
    counts: Vec<u64>,
    /// Each bucket's `le="…"} ` of the current histogram family (`+Inf`
    /// last), back to back, and where each ends; then [`CHUNK`] bytes of
    /// padding for `append_padded` (a copy of a dozen bytes as a `memcpy`
    /// call was a tenth of a histogram encode: 4,000 series of 8 bounds,
    /// 964–1,001 → 884–910 µs, builds alternated).
    les: Vec<u8>,
    le_ends: Vec<usize>,
    /// The current histogram series' bucket lines' start:
    /// `name_bucket{labels,` (no comma without labels).
    bucket_start: Vec<u8>,
    /// Whether the current histogram family has a negative bound.
    negative_bound: bool,
}

impl Exposition {
    pub(crate) fn new(format: Format) -> Self {
        Exposition {
            format,
            ..Self::default()
        }
    }

    pub(crate) fn format(&self) -> Format {
        self.format
    }

    /// Writes every family of `registry` into `out` (through `buf`, which is
    /// `out` for the duration). No `# EOF`: the caller ends the body.
    pub(crate) fn write_into(&mut self, registry: &Registry, out: &mut Vec<u8>) {
        std::mem::swap(&mut self.buf, out);
        for family in registry.families().iter() {
            let desc = family.desc();
            self.header(&**family);
            self.prepare_labels(desc);
            if desc.kind == Kind::Histogram {
                self.prepare_histogram(desc);
            }
            family.visit(&mut Family { enc: self, desc });
        }
        std::mem::swap(&mut self.buf, out);
    }

    fn header(&mut self, family: &dyn Collect) {
        let desc = family.desc();
        // Text 0.0.4 names a counter family by its sample, `x_total`;
        // OpenMetrics by its own name `x`.
        let suffix: &[u8] = if desc.kind == Kind::Counter && self.format == Format::Text {
            b"_total"
        } else {
            b""
        };
        let om = self.format == Format::OpenMetrics;
        let out = &mut self.buf;
        family.describe(&mut |help, unit| {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(desc.name.as_bytes());
            out.extend_from_slice(suffix);
            out.push(b' ');
            write_help(out, help, om);
            out.extend_from_slice(b"\n# TYPE ");
            out.extend_from_slice(desc.name.as_bytes());
            out.extend_from_slice(suffix);
            out.extend_from_slice(match desc.kind {
                Kind::Counter => b" counter\n",
                Kind::Gauge => b" gauge\n",
                Kind::Histogram => b" histogram\n",
            });
            if let (true, Some(unit)) = (om, unit) {
                out.extend_from_slice(b"# UNIT ");
                out.extend_from_slice(desc.name.as_bytes());
                out.push(b' ');
                out.extend_from_slice(unit.as_bytes());
                out.push(b'\n');
            }
        });
    }

    fn prepare_histogram(&mut self, desc: &Desc) {
        // Every counter of a series (a native histogram's too); the text
        // formats write the classic ones.
        let n = desc.width();
        self.pass.resize(n, 0);
        self.counts.resize(n, 0);
        self.les.clear();
        self.le_ends.clear();
        for &b in desc.bounds.iter() {
            self.les.extend_from_slice(b"le=\"");
            let at = self.les.len();
            write_go_g(&mut self.les, b);
            // OpenMetrics' canonical number: Go's `%g`, with `.0` when that
            // has neither a point nor an exponent (`1.0`, `300.0`, `1e+06`).
            if self.format == Format::OpenMetrics
                && !self.les[at..].iter().any(|&c| c == b'.' || c == b'e')
            {
                self.les.extend_from_slice(b".0");
            }
            self.les.extend_from_slice(b"\"} ");
            self.le_ends.push(self.les.len());
        }
        self.les.extend_from_slice(b"le=\"+Inf\"} ");
        self.le_ends.push(self.les.len());
        self.les.extend_from_slice(&[0; CHUNK]);
        self.negative_bound = desc.bounds.first().is_some_and(|&b| b < 0.0);
    }

    /// Writes the current family's label text but its series' values into
    /// `heads` (see there), once per family and scrape.
    fn prepare_labels(&mut self, desc: &Desc) {
        let (heads, ends) = (&mut self.heads, &mut self.head_ends);
        heads.clear();
        ends.clear();
        self.named = !desc.pairs;
        if !self.named {
            return;
        }
        for (i, (name, value)) in desc.const_labels.iter().enumerate() {
            write_pair(heads, i > 0, name, value);
        }
        for (i, name) in desc.labels.iter().enumerate() {
            if i > 0 {
                heads.extend_from_slice(b"\",");
            } else if !heads.is_empty() {
                heads.push(b',');
            }
            heads.extend_from_slice(name.as_bytes());
            heads.extend_from_slice(b"=\"");
            ends.push(heads.len());
        }
        heads.extend_from_slice(&[0; CHUNK]);
    }

    /// Fills `labels` with the series' pairs: constant labels first.
    fn labels(&mut self, desc: &Desc, values: Values<'_>) {
        self.labels.clear();
        if self.named && values.len() == self.head_ends.len() {
            let (out, heads) = (&mut self.labels, &self.heads);
            let (mut ends, mut start) = (self.head_ends.iter(), 0);
            values.for_each_bytes(|value| {
                // As many ends as values (checked above): always one.
                let end = ends.next().copied().unwrap_or(start);
                append_padded(out, &heads[start..], end - start);
                escape_label_value(value, |piece| out.extend_from_slice(piece));
                start = end;
            });
            if self.head_ends.is_empty() {
                // Named: `heads` ends with its padding.
                out.extend_from_slice(&heads[..heads.len() - CHUNK]);
            } else {
                out.push(b'"');
            }
            return;
        }
        for (i, (name, value)) in desc.pairs(values).enumerate() {
            write_pair(&mut self.labels, i > 0, name, value);
        }
    }

    /// `name` + `suffix` + `{labels}` (no braces without labels) + space.
    fn sample_start(&mut self, name: &str, suffix: &[u8]) {
        let out = &mut self.buf;
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix);
        if !self.labels.is_empty() {
            out.push(b'{');
            out.extend_from_slice(&self.labels);
            out.push(b'}');
        }
        out.push(b' ');
    }

    /// OpenMetrics only: ` # {labels} value` for a cell that holds an
    /// exemplar, then the line feed.
    #[inline]
    fn end_sample(&mut self, exemplar: Option<&Latest>) {
        if let (Format::OpenMetrics, Some(cell)) = (self.format, exemplar) {
            let out = &mut self.buf;
            let mark = out.len();
            out.extend_from_slice(b" # {");
            match cell.load(out) {
                Some(value) => {
                    out.extend_from_slice(b"} ");
                    write_go_g(out, value);
                }
                None => out.truncate(mark),
            }
        }
        self.buf.push(b'\n');
    }
}

/// The visit of one family's series.
struct Family<'a> {
    enc: &'a mut Exposition,
    desc: &'a Desc,
}

impl Visitor for Family<'_> {
    fn counter(&mut self, values: Values<'_>, value: u64, exemplar: Option<&Latest>) {
        self.enc.labels(self.desc, values);
        self.enc.sample_start(&self.desc.name, b"_total");
        write_u64(&mut self.enc.buf, value);
        self.enc.end_sample(exemplar);
    }

    fn gauge(&mut self, values: Values<'_>, value: f64) {
        self.enc.labels(self.desc, values);
        self.enc.sample_start(&self.desc.name, b"");
        write_go_g(&mut self.enc.buf, value);
        self.enc.buf.push(b'\n');
    }

    fn histogram(&mut self, values: Values<'_>, histogram: &dyn ReadHistogram) {
        let enc = &mut *self.enc;
        let name = &*self.desc.name;
        enc.labels(self.desc, values);
        enc.counts.fill(0);
        let sum = histogram.read(&mut enc.pass, &mut enc.counts);
        // What every bucket line starts with, put together once.
        let start = &mut enc.bucket_start;
        start.clear();
        start.extend_from_slice(name.as_bytes());
        start.extend_from_slice(b"_bucket{");
        if !enc.labels.is_empty() {
            start.extend_from_slice(&enc.labels);
            start.push(b',');
        }
        let mut cumulative = 0u64;
        let mut le_start = 0;
        for i in 0..enc.le_ends.len() {
            let le_end = enc.le_ends[i];
            cumulative = cumulative.wrapping_add(enc.counts[i]);
            let out = &mut enc.buf;
            out.extend_from_slice(&enc.bucket_start);
            append_padded(out, &enc.les[le_start..], le_end - le_start);
            le_start = le_end;
            write_u64(out, cumulative);
            // Only OpenMetrics shows exemplars: the text format skips the read.
            if enc.format == Format::OpenMetrics {
                enc.end_sample(histogram.exemplar(i));
            } else {
                out.push(b'\n');
            }
        }
        // OpenMetrics writes `_sum` only where it is a counter: no negative
        // bound, and not negative or NaN now; `_count` only beside it.
        if enc.format == Format::OpenMetrics && (enc.negative_bound || sum.is_nan() || sum < 0.0) {
            return;
        }
        enc.sample_start(name, b"_sum");
        write_go_g(&mut enc.buf, sum);
        enc.buf.push(b'\n');
        enc.sample_start(name, b"_count");
        write_u64(&mut enc.buf, cumulative);
        enc.buf.push(b'\n');
    }
}

/// `# HELP` text escapes backslash and line feed, and in OpenMetrics also
/// the double quote.
fn write_help(out: &mut Vec<u8>, help: &str, quote: bool) {
    for &b in help.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends one label pair, `name="value"` with the value escaped, after a
/// comma when `comma`.
fn write_pair(out: &mut Vec<u8>, comma: bool, name: &str, value: &str) {
    if comma {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    write_label_value(out, value);
    out.push(b'"');
}
