//! OpenMetrics 1.0 text, with exemplars.

use crate::encode::exposition::{Exposition, Format};
use crate::family::Registry;

/// Writes a [`Registry`]'s families as OpenMetrics 1.0 text, exemplars
/// included, into a buffer it keeps. Serve it as
/// [`Format::OpenMetrics.content_type()`](crate::Format::content_type).
///
/// What differs from the [`TextEncoder`](crate::TextEncoder)'s output:
/// a counter family `x` is declared as `x` (its sample is still
/// `x_total`); `# HELP` also escapes `"`; a declared
/// [unit](crate::Opts::unit) gets a `# UNIT` line; `le` values are
/// canonical (`1.0`, `0.005`, `1e+06`, `+Inf`); the body ends with
/// `# EOF`. The latest exemplar of each counter and of each histogram
/// bucket follows its sample, with its value (no timestamp). A histogram
/// writes `_sum` and `_count` only while they are counters, as OpenMetrics
/// requires: not with a negative bound, nor while its sum is negative or
/// NaN (its buckets are always written).
///
/// A scrape never waits for an observer: an exemplar being replaced at
/// the moment of the scrape is shown whole, old or new, or (if writers
/// replace it through every retry) not shown in that scrape; never torn.
///
/// ```
/// use rm_metrics::{Exemplar, OpenMetricsEncoder, Opts, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.histogram(
///     Opts::new("latency_seconds", "Latency.").unit("seconds"),
///     [],
///     &[0.1, 1.0],
/// )?;
/// latency.observe_with_exemplar([], 0.25, &Exemplar::new(&[("trace_id", "4bf92f35")])?);
/// let mut encoder = OpenMetricsEncoder::new();
/// let text = std::str::from_utf8(encoder.encode(&registry))?;
/// assert_eq!(
///     text.lines().collect::<Vec<_>>(),
///     [
///         "# HELP latency_seconds Latency.",
///         "# TYPE latency_seconds histogram",
///         "# UNIT latency_seconds seconds",
///         r#"latency_seconds_bucket{le="0.1"} 0"#,
///         r#"latency_seconds_bucket{le="1.0"} 1 # {trace_id="4bf92f35"} 0.25"#,
///         r#"latency_seconds_bucket{le="+Inf"} 1"#,
///         "latency_seconds_sum 0.25",
///         "latency_seconds_count 1",
///         "# EOF",
///     ]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OpenMetricsEncoder {
    exposition: Exposition,
    out: Vec<u8>,
}

impl Default for OpenMetricsEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenMetricsEncoder {
    /// An encoder with empty buffers.
    pub fn new() -> Self {
        OpenMetricsEncoder {
            exposition: Exposition::new(Format::OpenMetrics),
            out: Vec::new(),
        }
    }

    /// The exposition of every family of `registry`, ending with `# EOF`.
    pub fn encode(&mut self, registry: &Registry) -> &[u8] {
        self.out.clear();
        self.exposition.write_into(registry, &mut self.out);
        self.out.extend_from_slice(EOF);
        &self.out
    }

    /// Appends a whole exposition of `registry`, `# EOF` included, to `out`
    /// (nothing may follow it).
    pub fn encode_into(&mut self, registry: &Registry, out: &mut Vec<u8>) {
        self.exposition.write_into(registry, out);
        out.extend_from_slice(EOF);
    }
}

/// The last line of every OpenMetrics body.
pub(crate) const EOF: &[u8] = b"# EOF\n";
