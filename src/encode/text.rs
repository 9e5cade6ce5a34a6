//! The Prometheus text exposition format 0.0.4.

use crate::encode::exposition::{Exposition, Format};
use crate::family::Registry;

/// Writes a [`Registry`]'s families in the Prometheus text format (0.0.4)
/// into a buffer it keeps. Serve it as
/// [`Format::Text.content_type()`](crate::Format::content_type).
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
#[derive(Debug)]
pub struct TextEncoder {
    exposition: Exposition,
    out: Vec<u8>,
}

impl Default for TextEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TextEncoder {
    /// An encoder with empty buffers.
    pub fn new() -> Self {
        TextEncoder {
            exposition: Exposition::new(Format::Text),
            out: Vec::new(),
        }
    }

    /// The exposition of every family of `registry`.
    pub fn encode(&mut self, registry: &Registry) -> &[u8] {
        self.out.clear();
        self.exposition.write_into(registry, &mut self.out);
        &self.out
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
        self.exposition.write_into(registry, out);
    }
}
