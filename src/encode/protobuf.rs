//! The Prometheus protobuf exposition (`io.prometheus.client.MetricFamily`,
//! length-delimited): every family, classic histograms with their buckets
//! and native histograms with their spans and deltas, exemplars, encoded
//! with prost into buffers and messages reused from scrape to scrape.
//!
//! The numeric messages are prost-derived structs (reused, so their vectors
//! keep their room); label pairs, names and help text are written from the
//! borrowed strings with prost's key and varint encoders, so that a scrape
//! copies no string into an owned one.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;

use crate::core::latest::Latest;
use crate::encode::padded::append_padded;
use crate::family::{
    Collect, Desc, Kind, NativeHistogramValue, ReadHistogram, Registry, Values, Visitor,
};

/// The `Content-Type` of the delimited protobuf exposition.
pub(crate) const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// `io.prometheus.client.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 4,
}

/// `io.prometheus.client.Gauge` (and `Counter`: the same field).
#[derive(Clone, PartialEq, Message)]
struct Value {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
}

/// `io.prometheus.client.Histogram`, the fields this crate writes.
#[derive(Clone, PartialEq, Message)]
struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    bucket: Vec<Bucket>,
    #[prost(sint32, optional, tag = "5")]
    schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    zero_count: Option<u64>,
    #[prost(message, repeated, tag = "9")]
    negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    negative_delta: Vec<i64>,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    positive_delta: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    upper_bound: Option<f64>,
    #[prost(message, optional, tag = "3")]
    exemplar: Option<Exemplar>,
}

/// `io.prometheus.client.Counter`.
#[derive(Clone, PartialEq, Message)]
struct Counter {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
    #[prost(message, optional, tag = "2")]
    exemplar: Option<Exemplar>,
}

/// `io.prometheus.client.Exemplar`, without a timestamp (none is kept).
#[derive(Clone, PartialEq, Message)]
struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(double, optional, tag = "2")]
    value: Option<f64>,
}

/// `io.prometheus.client.LabelPair`. Its `string` fields are declared as
/// bytes, which are encoded the same (length-delimited): their contents
/// are UTF-8 already (a cell's text is, and unescaping maps ASCII to
/// ASCII), so this skips a check per string.
#[derive(Clone, PartialEq, Message)]
struct LabelPair {
    #[prost(bytes = "vec", optional, tag = "1")]
    name: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    value: Option<Vec<u8>>,
}

/// Exemplar messages kept from scrape to scrape: filled from a cell's
/// text, lent to a bucket or counter for one encode, then taken back, so
/// their strings keep their room.
#[derive(Debug, Default)]
struct Exemplars {
    free: Vec<Exemplar>,
    free_pairs: Vec<LabelPair>,
    /// A cell's text, as `Latest::load` writes it.
    text: Vec<u8>,
}

impl Exemplars {
    /// The exemplar in `cell`, if it holds one (its labels unescaped).
    fn load(&mut self, cell: Option<&Latest>) -> Option<Exemplar> {
        self.text.clear();
        let value = cell?.load(&mut self.text)?;
        let mut e = self.free.pop().unwrap_or_default();
        e.value = Some(value);
        // `name="value",…`: names are plain; values escape `\`, `"` and
        // line feed as `\\`, `\"` and `\n`.
        let mut rest = &self.text[..];
        while let Some(eq) = memchr::memchr(b'=', rest) {
            let mut pair = self.free_pairs.pop().unwrap_or_default();
            let name = pair.name.get_or_insert_with(Vec::new);
            name.clear();
            name.extend_from_slice(&rest[..eq]);
            let value = pair.value.get_or_insert_with(Vec::new);
            value.clear();
            // Runs up to the next quote or backslash, copied whole.
            let mut i = eq + 2;
            while let Some(at) = memchr::memchr2(b'"', b'\\', &rest[i.min(rest.len())..]) {
                value.extend_from_slice(&rest[i..i + at]);
                i += at;
                if rest[i] == b'"' {
                    break;
                }
                value.push(match rest.get(i + 1) {
                    Some(b'n') => b'\n',
                    Some(&c) => c,
                    None => break,
                });
                i += 2;
            }
            e.label.push(pair);
            // Past the closing quote and the comma.
            rest = rest.get(i + 2..).unwrap_or(&[]);
        }
        Some(e)
    }

    /// Takes back a lent exemplar.
    fn put(&mut self, e: Option<Exemplar>) {
        if let Some(mut e) = e {
            self.free_pairs.append(&mut e.label);
            self.free.push(e);
        }
    }
}

#[derive(Clone, PartialEq, Message)]
struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    length: Option<u32>,
}

/// Field numbers of `MetricFamily` and `Metric`.
mod field {
    pub(super) const FAMILY_NAME: u32 = 1;
    pub(super) const FAMILY_HELP: u32 = 2;
    pub(super) const FAMILY_TYPE: u32 = 3;
    pub(super) const FAMILY_METRIC: u32 = 4;
    pub(super) const FAMILY_UNIT: u32 = 5;
    pub(super) const METRIC_LABEL: u32 = 1;
    pub(super) const METRIC_GAUGE: u32 = 2;
    pub(super) const METRIC_COUNTER: u32 = 3;
    pub(super) const METRIC_HISTOGRAM: u32 = 7;
    pub(super) const LABEL_NAME: u32 = 1;
    pub(super) const LABEL_VALUE: u32 = 2;
}

/// The delimited writer. A family of the registry is written one metric
/// at a time into a reused buffer (its metrics are read once, so its length
/// is known only at its end), then copied behind its header; the
/// restic-manager renderer's gauge families, whose rows do not change
/// during a scrape, are sized in a first pass and written in place.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    /// The current family's `metric` fields.
    body: Vec<u8>,
    histogram: Histogram,
    native: Option<NativeHistogramValue>,
    pass: Vec<u64>,
    counts: Vec<u64>,
    counter: Counter,
    exemplars: Exemplars,
}

/// Encoded length of a length-delimited field of `len` bytes.
fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Encoded length of a label pair's message.
fn pair_len(name: &str, value: &str) -> usize {
    field_len(field::LABEL_NAME, name.len()) + field_len(field::LABEL_VALUE, value.len())
}

/// Encoded length of a `Metric` with these labels and a value message of
/// `value_len` bytes in field `tag`.
fn metric_len<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    tag: u32,
    value_len: usize,
) -> usize {
    pairs
        .map(|(n, v)| field_len(field::METRIC_LABEL, pair_len(n, v)))
        .sum::<usize>()
        + field_len(tag, value_len)
}

/// Writes a `metric` field: its length, its label pairs, then the value
/// message (written by `value`, `value_len` bytes, in field `tag`).
fn put_metric<'a>(
    out: &mut Vec<u8>,
    pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    tag: u32,
    value_len: usize,
    value: impl FnOnce(&mut Vec<u8>),
) {
    let len = metric_len(pairs.clone(), tag, value_len);
    encode_key(field::FAMILY_METRIC, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
    put_labels(out, pairs);
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(value_len as u64, out);
    value(out);
}

/// A `Gauge` or `Counter` message: its one double.
const VALUE_LEN: usize = 9;

fn put_value(out: &mut Vec<u8>, v: f64) {
    prost::encoding::double::encode(1, &v, out);
}

/// Writes a family's header fields (not its length).
fn put_header(
    out: &mut Vec<u8>,
    name: (&str, &str),
    help: &str,
    kind: MetricType,
    unit: Option<&str>,
) {
    encode_key(field::FAMILY_NAME, WireType::LengthDelimited, out);
    encode_varint((name.0.len() + name.1.len()) as u64, out);
    out.extend_from_slice(name.0.as_bytes());
    out.extend_from_slice(name.1.as_bytes());
    put_string(out, field::FAMILY_HELP, help);
    encode_key(field::FAMILY_TYPE, WireType::Varint, out);
    encode_varint(kind as u64, out);
    if let Some(unit) = unit {
        put_string(out, field::FAMILY_UNIT, unit);
    }
}

fn header_len(name: (&str, &str), help: &str, kind: MetricType, unit: Option<&str>) -> usize {
    field_len(field::FAMILY_NAME, name.0.len() + name.1.len())
        + field_len(field::FAMILY_HELP, help.len())
        + key_len(field::FAMILY_TYPE)
        + encoded_len_varint(kind as u64)
        + unit.map_or(0, |u| field_len(field::FAMILY_UNIT, u.len()))
}

/// Appends the `label` fields of a metric with these pairs to `out`: what
/// a caller may keep across scrapes and give
/// [`gauge_family`](Writer::gauge_family).
pub(crate) fn put_labels<'a>(
    out: &mut Vec<u8>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (name, value) in pairs {
        encode_key(field::METRIC_LABEL, WireType::LengthDelimited, out);
        encode_varint(pair_len(name, value) as u64, out);
        put_string(out, field::LABEL_NAME, name);
        put_string(out, field::LABEL_VALUE, value);
    }
}

/// Writes a gauge family straight into `out`: its length and header, then
/// the metric fields `metrics` writes (with [`gauge_metric`], or copied from
/// an earlier output), `metrics_len` bytes in all.
pub(crate) fn gauge_family_with(
    out: &mut Vec<u8>,
    name: &str,
    help: &str,
    metrics_len: usize,
    metrics: impl FnOnce(&mut Vec<u8>),
) {
    let header = header_len((name, ""), help, MetricType::Gauge, None);
    encode_varint((header + metrics_len) as u64, out);
    put_header(out, (name, ""), help, MetricType::Gauge, None);
    let start = out.len();
    metrics(out);
    debug_assert_eq!(out.len() - start, metrics_len, "{name}");
}

/// The encoded length of the metric field [`gauge_metric`] writes with
/// label fields `labels` bytes long.
#[inline]
pub(crate) fn gauge_metric_len(labels: usize) -> usize {
    field_len(
        field::FAMILY_METRIC,
        labels + field_len(field::METRIC_GAUGE, VALUE_LEN),
    )
}

/// Writes one metric field of a gauge family: its label fields
/// `src[..labels]` (`src` has `CHUNK - 1` readable bytes more, for a padded
/// copy), then its gauge field (key, length, value).
#[inline]
pub(crate) fn gauge_metric(out: &mut Vec<u8>, src: &[u8], labels: usize, v: f64) {
    let gauge_len = field_len(field::METRIC_GAUGE, VALUE_LEN);
    encode_key(field::FAMILY_METRIC, WireType::LengthDelimited, out);
    encode_varint((labels + gauge_len) as u64, out);
    append_padded(out, src, labels);
    encode_key(field::METRIC_GAUGE, WireType::LengthDelimited, out);
    encode_varint(VALUE_LEN as u64, out);
    put_value(out, v);
}

impl Writer {
    /// Writes a gauge family straight into `out`. `rows` are its metrics:
    /// each one's label fields (as [`put_labels`] encodes them:
    /// `src[..len]`, where `src` has `CHUNK - 1` readable bytes more, for a
    /// padded copy) and value.
    pub(crate) fn gauge_family<'s>(
        &mut self,
        out: &mut Vec<u8>,
        name: &str,
        help: &str,
        rows: impl Iterator<Item = (&'s [u8], usize, f64)> + Clone,
    ) {
        let len = rows
            .clone()
            .map(|(_, labels, _)| gauge_metric_len(labels))
            .sum();
        gauge_family_with(out, name, help, len, |out| {
            for (src, labels, v) in rows {
                gauge_metric(out, src, labels, v);
            }
        });
    }

    /// Writes every family of `registry` into `out`.
    pub(crate) fn write_into(&mut self, registry: &Registry, out: &mut Vec<u8>) {
        for family in registry.families().iter() {
            self.family(&**family, out);
        }
    }

    fn family(&mut self, family: &dyn Collect, out: &mut Vec<u8>) {
        let desc = family.desc();
        self.body.clear();
        family.visit(&mut Series { w: self, desc });
        let (kind, suffix) = match desc.kind {
            Kind::Counter => (MetricType::Counter, "_total"),
            Kind::Gauge => (MetricType::Gauge, ""),
            Kind::Histogram => (MetricType::Histogram, ""),
        };
        let body = &self.body;
        family.describe(&mut |help, unit| {
            let name = (&*desc.name, suffix);
            encode_varint(
                (header_len(name, help, kind, unit) + body.len()) as u64,
                out,
            );
            put_header(out, name, help, kind, unit);
            out.extend_from_slice(body);
        });
    }

    /// A histogram metric: its classic buckets (`bounds`, without `+Inf`),
    /// and its native ones if it has them.
    fn histogram<'a>(
        &mut self,
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
        bounds: &[f64],
        width: usize,
        read: &dyn ReadHistogram,
    ) {
        self.pass.resize(width, 0);
        self.counts.clear();
        self.counts.resize(width, 0);
        let sum = read.read(&mut self.pass, &mut self.counts);
        let h = &mut self.histogram;
        let classic = bounds.len() + 1;
        let count = self.counts[..classic]
            .iter()
            .fold(0u64, |a, c| a.wrapping_add(*c));
        // The `+Inf` bucket is written only to carry its exemplar, as
        // client_golang does.
        let inf = self.exemplars.load(read.exemplar(bounds.len()));
        h.bucket
            .resize(bounds.len() + usize::from(inf.is_some()), Bucket::default());
        let mut cumulative = 0u64;
        for (i, bucket) in h.bucket.iter_mut().enumerate() {
            cumulative = cumulative.wrapping_add(self.counts[i]);
            bucket.cumulative_count = Some(cumulative);
            bucket.upper_bound = Some(bounds.get(i).copied().unwrap_or(f64::INFINITY));
            bucket.exemplar = match bounds.get(i) {
                Some(_) => self.exemplars.load(read.exemplar(i)),
                None => None,
            };
        }
        if let Some(last) = h.bucket.get_mut(bounds.len()) {
            last.exemplar = inf;
        }
        h.sample_count = Some(count);
        h.sample_sum = Some(sum);
        let native = self.native.get_or_insert_with(NativeHistogramValue::empty);
        if read.native(&self.counts[classic..], native) {
            h.schema = Some(i32::from(native.schema()));
            h.zero_threshold = Some(native.zero_threshold());
            h.zero_count = Some(native.zero_count());
            spans(
                native.positive(),
                &mut h.positive_span,
                &mut h.positive_delta,
            );
            spans(
                native.negative(),
                &mut h.negative_span,
                &mut h.negative_delta,
            );
        } else {
            h.schema = None;
            h.zero_threshold = None;
            h.zero_count = None;
            h.positive_span.clear();
            h.positive_delta.clear();
            h.negative_span.clear();
            h.negative_delta.clear();
        }
        let h = &self.histogram;
        put_metric(
            &mut self.body,
            pairs,
            field::METRIC_HISTOGRAM,
            h.encoded_len(),
            |out| h.encode_raw(out),
        );
        for bucket in self.histogram.bucket.iter_mut() {
            self.exemplars.put(bucket.exemplar.take());
        }
    }
}

/// Sorted sparse buckets as spans (a gap between two populated buckets
/// starts a new span) and count deltas.
fn spans(buckets: &[(i32, u64)], spans: &mut Vec<BucketSpan>, deltas: &mut Vec<i64>) {
    spans.clear();
    deltas.clear();
    let mut previous: Option<(i32, u64)> = None;
    for &(key, count) in buckets {
        match previous {
            Some((p, _)) if key == p + 1 => {
                if let Some(span) = spans.last_mut() {
                    span.length = Some(span.length.unwrap_or(0) + 1);
                }
            }
            _ => spans.push(BucketSpan {
                offset: Some(previous.map_or(key, |(p, _)| key - p - 1)),
                length: Some(1),
            }),
        }
        deltas.push(count as i64 - previous.map_or(0, |(_, c)| c as i64));
        previous = Some((key, count));
    }
}

fn put_string(out: &mut Vec<u8>, tag: u32, s: &str) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// Encodes a [`Registry`] in the Prometheus protobuf exposition
/// (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
/// encoding=delimited`), the format Prometheus needs for native
/// histograms: every family, histograms with their classic buckets, native
/// histograms with their exponential buckets too, and the latest exemplar
/// of each counter and classic bucket (the `+Inf` bucket is written when it
/// has one, as client_golang does). Keep one encoder: it
/// reuses its buffers, so a steady-state encode allocates nothing.
///
/// ```
/// use rm_metrics::{Native, Opts, ProtobufEncoder, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.native_histogram(
///     Opts::new("latency_seconds", "Latency."), [], &[0.1, 1.0], Native::new(0.001, 60.0),
/// )?;
/// latency.observe([], 0.25);
/// let body = ProtobufEncoder::new().encode(&registry).to_vec();
/// // One length-delimited MetricFamily.
/// assert_eq!(usize::from(body[0]) + 1, body.len());
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
#[derive(Debug, Default)]
pub struct ProtobufEncoder {
    writer: Writer,
    out: Vec<u8>,
}

impl ProtobufEncoder {
    /// An encoder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes every family of `registry`, in registration order.
    pub fn encode(&mut self, registry: &Registry) -> &[u8] {
        self.out.clear();
        self.writer.write_into(registry, &mut self.out);
        &self.out
    }
}

struct Series<'a> {
    w: &'a mut Writer,
    desc: &'a Desc,
}

impl Visitor for Series<'_> {
    fn counter(&mut self, values: Values<'_>, value: u64, exemplar: Option<&Latest>) {
        let pairs = self.desc.pairs(values);
        let w = &mut *self.w;
        if let Some(e) = w.exemplars.load(exemplar) {
            // The exposition's counters are doubles.
            w.counter.value = Some(value as f64);
            w.counter.exemplar = Some(e);
            let c = &w.counter;
            put_metric(
                &mut w.body,
                pairs,
                field::METRIC_COUNTER,
                c.encoded_len(),
                |out| c.encode_raw(out),
            );
            w.exemplars.put(w.counter.exemplar.take());
            return;
        }
        put_metric(
            &mut self.w.body,
            pairs,
            field::METRIC_COUNTER,
            VALUE_LEN,
            |out| put_value(out, value as f64),
        );
    }

    fn gauge(&mut self, values: Values<'_>, value: f64) {
        let pairs = self.desc.pairs(values);
        put_metric(
            &mut self.w.body,
            pairs,
            field::METRIC_GAUGE,
            VALUE_LEN,
            |out| put_value(out, value),
        );
    }

    fn histogram(&mut self, values: Values<'_>, histogram: &dyn ReadHistogram) {
        let pairs = self.desc.pairs(values);
        self.w
            .histogram(pairs, &self.desc.bounds, self.desc.width(), histogram);
    }
}
