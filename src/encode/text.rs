//! The Prometheus text exposition format 0.0.4.

use crate::encode::escape::write_label_value;
use crate::encode::float::write_go_g;
use crate::family::{Desc, Kind, ReadHistogram, Registry, Values, Visitor};

/// Writes a [`Registry`]'s families in the Prometheus text format (0.0.4)
/// into a buffer it keeps.
///
/// Keep one per scrape loop, like an [`itoa::Buffer`]: once the buffer has
/// grown to the size of a scrape, encoding again allocates nothing.
///
/// Families come in registration order, each with `# HELP` and `# TYPE`
/// even without series; the series of a family in byte order of their
/// label values (a collector's in the order it wrote them). A counter
/// family `x` is written `x_total`. Label values escape `\`, `"` and line
/// feed only. Counts are written as integers; gauge values, sums and `le`
/// bounds as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them, as
/// client_golang does (`3`, `0.25`, `1e+06`, `+Inf`, `-Inf`, `NaN`).
///
/// ```
/// use rm_metrics::{Opts, Registry, TextEncoder};
///
/// let registry = Registry::new();
/// let latency = registry.histogram(Opts::new("latency_seconds", "Latency."), [], &[0.1, 1.0])?;
/// latency.observe([], 0.25);
/// let mut encoder = TextEncoder::new();
/// let text = std::str::from_utf8(encoder.encode(&registry)).unwrap();
/// assert_eq!(
///     text.lines().collect::<Vec<_>>(),
///     [
///         "# HELP latency_seconds Latency.",
///         "# TYPE latency_seconds histogram",
///         r#"latency_seconds_bucket{le="0.1"} 0"#,
///         r#"latency_seconds_bucket{le="1"} 1"#,
///         r#"latency_seconds_bucket{le="+Inf"} 1"#,
///         "latency_seconds_sum 0.25",
///         "latency_seconds_count 1",
///     ]
/// );
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
#[derive(Debug, Default)]
pub struct TextEncoder {
    buf: Vec<u8>,
    /// A series' escaped `name="value",…` pairs, without braces.
    labels: Vec<u8>,
    /// Histogram reads: one pass, and the counts added up.
    pass: Vec<u64>,
    counts: Vec<u64>,
    /// Each bound of the current histogram family, as written in `le`.
    les: Vec<u8>,
    le_ends: Vec<usize>,
}

impl TextEncoder {
    /// An encoder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The exposition of every family of `registry`.
    pub fn encode(&mut self, registry: &Registry) -> &[u8] {
        self.buf.clear();
        self.write(registry);
        &self.buf
    }

    /// Appends the exposition of every family of `registry` to `out`, for a
    /// caller that writes more around it (this encoder's scratch buffers are
    /// still reused; its own output buffer is not used).
    ///
    /// ```
    /// use rm_metrics::{Opts, Registry, TextEncoder};
    ///
    /// let registry = Registry::new();
    /// registry.gauge(Opts::new("up", "Up."), [])?.set([], 1.0);
    /// let mut out = b"# my own lines first\n".to_vec();
    /// TextEncoder::new().encode_into(&registry, &mut out);
    /// assert!(out.ends_with(b"# TYPE up gauge\nup 1\n"));
    /// # Ok::<(), rm_metrics::RegisterError>(())
    /// ```
    pub fn encode_into(&mut self, registry: &Registry, out: &mut Vec<u8>) {
        // Write through `buf`, which is `out` for the duration.
        std::mem::swap(&mut self.buf, out);
        self.write(registry);
        std::mem::swap(&mut self.buf, out);
    }

    fn write(&mut self, registry: &Registry) {
        for family in registry.families().iter() {
            let desc = family.desc();
            self.header(desc);
            if desc.kind == Kind::Histogram {
                self.prepare_histogram(desc);
            }
            family.visit(&mut Family { enc: self, desc });
        }
    }

    fn header(&mut self, desc: &Desc) {
        let suffix: &[u8] = if desc.kind == Kind::Counter {
            b"_total"
        } else {
            b""
        };
        let out = &mut self.buf;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(desc.name.as_bytes());
        out.extend_from_slice(suffix);
        out.push(b' ');
        write_help(out, &desc.help);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(desc.name.as_bytes());
        out.extend_from_slice(suffix);
        out.extend_from_slice(match desc.kind {
            Kind::Counter => b" counter\n",
            Kind::Gauge => b" gauge\n",
            Kind::Histogram => b" histogram\n",
        });
    }

    fn prepare_histogram(&mut self, desc: &Desc) {
        let n = desc.bounds.len() + 1;
        self.pass.resize(n, 0);
        self.counts.resize(n, 0);
        self.les.clear();
        self.le_ends.clear();
        for &b in desc.bounds.iter() {
            write_go_g(&mut self.les, b);
            self.le_ends.push(self.les.len());
        }
    }

    /// Fills `labels` with the series' pairs: constant labels first.
    fn labels(&mut self, desc: &Desc, values: Values<'_>) {
        self.labels.clear();
        let pairs = desc.const_labels.iter().map(|(n, v)| (&**n, &**v)).chain(
            desc.labels
                .iter()
                .enumerate()
                .map(|(i, n)| (&**n, values.get(i))),
        );
        for (i, (name, value)) in pairs.enumerate() {
            if i > 0 {
                self.labels.push(b',');
            }
            self.labels.extend_from_slice(name.as_bytes());
            self.labels.extend_from_slice(b"=\"");
            write_label_value(&mut self.labels, value);
            self.labels.push(b'"');
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
}

/// The visit of one family's series.
struct Family<'a> {
    enc: &'a mut TextEncoder,
    desc: &'a Desc,
}

impl Visitor for Family<'_> {
    fn counter(&mut self, values: Values<'_>, value: u64) {
        self.enc.labels(self.desc, values);
        self.enc.sample_start(&self.desc.name, b"_total");
        write_u64(&mut self.enc.buf, value);
        self.enc.buf.push(b'\n');
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
        let mut cumulative = 0u64;
        let mut le_start = 0;
        for (i, &c) in enc.counts.iter().enumerate() {
            cumulative = cumulative.wrapping_add(c);
            let out = &mut enc.buf;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"_bucket{");
            if !enc.labels.is_empty() {
                out.extend_from_slice(&enc.labels);
                out.push(b',');
            }
            out.extend_from_slice(b"le=\"");
            match enc.le_ends.get(i) {
                Some(&end) => {
                    out.extend_from_slice(&enc.les[le_start..end]);
                    le_start = end;
                }
                None => out.extend_from_slice(b"+Inf"),
            }
            out.extend_from_slice(b"\"} ");
            write_u64(out, cumulative);
            out.push(b'\n');
        }
        enc.sample_start(name, b"_sum");
        write_go_g(&mut enc.buf, sum);
        enc.buf.push(b'\n');
        enc.sample_start(name, b"_count");
        write_u64(&mut enc.buf, cumulative);
        enc.buf.push(b'\n');
    }
}

/// `# HELP` text escapes backslash and line feed.
fn write_help(out: &mut Vec<u8>, help: &str) {
    for &b in help.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}
