//! What a family is registered with, and what registration checks.

use std::fmt;

use crate::family::metric::Kind;

/// Default for [`Opts::max_series`]: far above the label sets a service
/// should export per family, far below what would hurt a scrape.
pub const DEFAULT_MAX_SERIES: usize = 1024;

/// client_golang's default bucket bounds (`DefBuckets`), in seconds: for
/// network request latencies from 5 ms to 10 s.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The name, help text and options of a family to register.
///
/// ```
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let requests = registry.counter(
///     Opts::new("http_requests", "Requests served.")
///         .const_label("service", "api")
///         .max_series(100),
///     ["method", "code"],
/// )?;
/// requests.inc(["GET", "200"]);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Opts<'a> {
    pub(crate) name: &'a str,
    pub(crate) help: &'a str,
    pub(crate) const_labels: Vec<(&'a str, &'a str)>,
    pub(crate) max_series: usize,
    pub(crate) unit: Option<&'a str>,
}

impl<'a> Opts<'a> {
    /// A family called `name` (counters: the exposition appends `_total`),
    /// described by `help`.
    pub fn new(name: &'a str, help: &'a str) -> Self {
        Opts {
            name,
            help,
            const_labels: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            unit: None,
        }
    }

    /// Adds a label with the same value on every series, written before the
    /// family's own labels.
    pub fn const_label(mut self, name: &'a str, value: &'a str) -> Self {
        self.const_labels.push((name, value));
        self
    }

    /// At most `max_series` series of its own per family (default
    /// [`DEFAULT_MAX_SERIES`]). While the family holds that many, a label
    /// set without a series of its own is counted in one overflow series
    /// whose every label value is [`OVERFLOW_LABEL`](crate::OVERFLOW_LABEL):
    /// nothing is dropped, and memory stays bounded. Removing a series makes
    /// room again. See [`docs::cardinality`](crate::docs::cardinality).
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }
}

impl<'a> Opts<'a> {
    /// Declares the family's unit (`seconds`, `bytes`), written as
    /// OpenMetrics' `# UNIT` line (the text format 0.0.4 has none). The
    /// name must end with `_` and the unit, as OpenMetrics requires.
    ///
    /// ```
    /// use rm_metrics::{Opts, RegisterError, Registry};
    ///
    /// let registry = Registry::new();
    /// registry.gauge(Opts::new("disk_bytes", "Disk used.").unit("bytes"), [])?;
    /// let err = registry.gauge(Opts::new("disk_used", "Disk used.").unit("bytes"), []);
    /// assert_eq!(err.unwrap_err(), RegisterError::InvalidUnit("bytes".into()));
    /// # Ok::<(), RegisterError>(())
    /// ```
    pub fn unit(mut self, unit: &'a str) -> Self {
        self.unit = Some(unit);
        self
    }
}

/// Why a family could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// The metric name is not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidName(String),
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName(String),
    /// A label name starts with `__` (reserved for Prometheus' own use), or
    /// is `le` on a histogram.
    ReservedLabelName(String),
    /// A label name appears twice (family and constant labels together).
    DuplicateLabelName(String),
    /// A family of this registry already writes this name.
    DuplicateName(String),
    /// A histogram's bounds are not finite and strictly increasing.
    InvalidBuckets(String),
    /// The unit is empty, not `[a-zA-Z0-9_]*`, or not the end of the name
    /// after a `_`.
    InvalidUnit(String),
    /// A native histogram's [`Native`](crate::Native) settings are out of
    /// range.
    InvalidNative(String),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::InvalidName(n) => write!(f, "invalid metric name {n:?}"),
            RegisterError::InvalidLabelName(n) => write!(f, "invalid label name {n:?}"),
            RegisterError::ReservedLabelName(n) => write!(f, "reserved label name {n:?}"),
            RegisterError::DuplicateLabelName(n) => write!(f, "duplicate label name {n:?}"),
            RegisterError::DuplicateName(n) => {
                write!(f, "a family named {n:?} is already registered")
            }
            RegisterError::InvalidBuckets(why) => write!(f, "invalid buckets: {why}"),
            RegisterError::InvalidNative(why) => write!(f, "invalid native buckets: {why}"),
            RegisterError::InvalidUnit(u) => {
                write!(f, "invalid unit {u:?}: the name must end with \"_{u}\"")
            }
        }
    }
}

impl std::error::Error for RegisterError {}

pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, a table lookup a byte (on the exemplar path).
#[inline]
pub(crate) fn is_label_name(name: &str) -> bool {
    const fn table() -> [u8; 256] {
        // Bit 0: may start a name; bit 1: may continue one.
        let mut t = [0; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            if c.is_ascii_alphabetic() || c == b'_' {
                t[b] = 3;
            } else if c.is_ascii_digit() {
                t[b] = 2;
            }
            b += 1;
        }
        t
    }
    static CLASS: [u8; 256] = table();
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    // `&` over all bytes, no early exit: branch-free for short names.
    let rest = rest.iter().fold(2, |acc, &b| acc & CLASS[usize::from(b)]);
    CLASS[usize::from(first)] & 1 != 0 && rest != 0
}

/// Checks a family's name, labels and bounds.
pub(crate) fn validate(
    kind: Kind,
    opts: &Opts<'_>,
    labels: &[&str],
    bounds: &[f64],
) -> Result<(), RegisterError> {
    if !is_metric_name(opts.name) {
        return Err(RegisterError::InvalidName(opts.name.into()));
    }
    let names = opts
        .const_labels
        .iter()
        .map(|(n, _)| *n)
        .chain(labels.iter().copied());
    for (i, name) in names.clone().enumerate() {
        if !is_label_name(name) {
            return Err(RegisterError::InvalidLabelName(name.into()));
        }
        if name.starts_with("__") || (kind == Kind::Histogram && name == "le") {
            return Err(RegisterError::ReservedLabelName(name.into()));
        }
        if names.clone().take(i).any(|earlier| earlier == name) {
            return Err(RegisterError::DuplicateLabelName(name.into()));
        }
    }
    if let Some(unit) = opts.unit {
        let valid = !unit.is_empty()
            && unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && opts
                .name
                .strip_suffix(unit)
                .is_some_and(|head| head.len() > 1 && head.ends_with('_'));
        if !valid {
            return Err(RegisterError::InvalidUnit(unit.into()));
        }
    }
    if let Some(b) = bounds.iter().find(|b| !b.is_finite()) {
        return Err(RegisterError::InvalidBuckets(format!("{b} is not finite")));
    }
    if let Some(w) = bounds.windows(2).find(|w| w[0] >= w[1]) {
        return Err(RegisterError::InvalidBuckets(format!(
            "{} is not above {}",
            w[1], w[0]
        )));
    }
    Ok(())
}

/// The names a family's samples are written under, for the duplicate check:
/// two families must not write one name.
pub(crate) fn sample_names(kind: Kind, name: &str) -> Vec<String> {
    match kind {
        // `_created` too: OpenMetrics reserves it for counters and
        // histograms, and its parsers refuse a family that writes it.
        Kind::Counter => vec![
            name.into(),
            format!("{name}_total"),
            format!("{name}_created"),
        ],
        Kind::Gauge => vec![name.into()],
        Kind::Histogram => vec![
            name.into(),
            format!("{name}_bucket"),
            format!("{name}_sum"),
            format!("{name}_count"),
            format!("{name}_created"),
        ],
    }
}
