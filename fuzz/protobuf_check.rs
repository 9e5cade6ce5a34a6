//! The `protobuf` fuzz target's property, shared with the corpus replay in
//! `tests/fuzz_corpus.rs`: arbitrary families (counters and gauges with
//! arbitrary label values, classic and native histograms with arbitrary
//! settings and values) → the protobuf exposition → decoded by prost into
//! the full `io.prometheus.client` messages (`tests/common/proto.rs`) → every
//! name, label, value and bucket is what was recorded, and the native
//! buckets are those of a model; the same for a native duration histogram
//! of the same settings, observing the values as durations.
#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use std::time::Duration;

use rm_metrics::{Exemplar, Native, Opts, ProtobufEncoder, Registry};

use crate::proto::{self, buckets, decode};

#[derive(Arbitrary, Debug)]
struct Input {
    schema: i8,
    zero_exp: u8,
    max_exp: u8,
    negative: bool,
    max_buckets: u8,
    bounds: Vec<f64>,
    values: Vec<f64>,
    counters: Vec<(String, u32)>,
    gauges: Vec<(String, f64)>,
    exemplar: Vec<String>,
}

pub fn protobuf(data: &[u8]) {
    let Ok(input) = Input::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let zero = 2f64.powi(i32::from(input.zero_exp % 80) - 60);
    let max = zero * 2f64.powi(i32::from(input.max_exp % 40) + 1);
    let mut native = Native::new(zero, max)
        .schema(input.schema % 9)
        .max_buckets(usize::from(input.max_buckets));
    if input.negative {
        native = native.negative();
    }
    let registry = Registry::new();
    let mut bounds: Vec<f64> = input
        .bounds
        .iter()
        .copied()
        .filter(|b| b.is_finite())
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let histogram =
        match registry.native_histogram(Opts::new("h", "H."), ["l"], &bounds, native.clone()) {
            Ok(h) => h,
            // Settings out of range (a window too wide for the schema).
            Err(e) => return assert!(e.to_string().contains("native"), "{e}"),
        };
    let counters = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
    let gauges = registry.gauge(Opts::new("g", "G."), ["k"]).unwrap();
    let values: Vec<f64> = input.values.iter().take(2000).copied().collect();
    for &v in &values {
        histogram.observe(["a"], v);
    }
    let mut want_counters = std::collections::BTreeMap::new();
    for (k, n) in &input.counters {
        counters.inc_by([k], u64::from(*n));
        *want_counters.entry(k.clone()).or_insert(0u64) += u64::from(*n);
    }
    let mut want_gauges = std::collections::BTreeMap::new();
    for (k, v) in &input.gauges {
        gauges.set([k], *v);
        want_gauges.insert(k.clone(), *v);
    }

    // An exemplar of arbitrary label values, if valid (≤ 128 characters).
    const NAMES: [&str; 3] = ["trace_id", "span", "x"];
    let pairs: Vec<(&str, &str)> = NAMES
        .iter()
        .copied()
        .zip(input.exemplar.iter().map(String::as_str))
        .collect();
    let exemplar = Exemplar::new(&pairs).ok();
    let with_exemplar = registry.counter(Opts::new("e", "E."), []).unwrap();
    if let Some(e) = &exemplar {
        with_exemplar.inc_by_with_exemplar([], 2, e);
    }

    let mut encoder = ProtobufEncoder::new();
    let body = encoder.encode(&registry).to_vec();
    assert_eq!(
        encoder.encode(&registry),
        &body[..],
        "a second encode differs"
    );
    let families = decode(&body);
    let names: Vec<_> = families.iter().map(|f| f.name.clone().unwrap()).collect();
    assert_eq!(names, ["h", "c_total", "g", "e_total"]);
    let e = families[3].metric[0].counter.as_ref().unwrap();
    match &exemplar {
        Some(_) => {
            let e = e.exemplar.as_ref().expect("the exemplar");
            let got: Vec<(String, String)> = e
                .label
                .iter()
                .map(|l| (l.name.clone().unwrap(), l.value.clone().unwrap()))
                .collect();
            let want: Vec<(String, String)> = pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want);
            assert_eq!(e.value, Some(2.0));
        }
        None => assert!(e.exemplar.is_none()),
    }

    // Counters and gauges, label values byte for byte.
    let got: Vec<(String, f64)> = families[1]
        .metric
        .iter()
        .map(|m| {
            (
                proto::labels(m)[0].1.clone(),
                m.counter.as_ref().unwrap().value.unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, f64)> = want_counters
        .into_iter()
        .map(|(k, n)| (k, n as f64))
        .collect();
    assert_eq!(got, want);
    let got: Vec<(String, u64)> = families[2]
        .metric
        .iter()
        .map(|m| {
            (
                proto::labels(m)[0].1.clone(),
                m.gauge.as_ref().unwrap().value.unwrap().to_bits(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = want_gauges
        .into_iter()
        .map(|(k, v)| (k, v.to_bits()))
        .collect();
    assert_eq!(got, want);

    durations(&native, (input.schema % 9, max), &bounds, &values);

    // The histogram.
    if values.is_empty() {
        assert!(families[0].metric.is_empty());
        return;
    }
    let h = families[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(h.sample_count, Some(values.len() as u64));
    let sum: f64 = values.iter().sum();
    let got_sum = h.sample_sum.unwrap();
    assert!(
        got_sum.to_bits() == sum.to_bits() || (got_sum.is_nan() && sum.is_nan()),
        "{got_sum} vs {sum}"
    );
    let want: Vec<(f64, u64)> = bounds
        .iter()
        .map(|&b| (b, values.iter().filter(|&&v| v <= b).count() as u64))
        .collect();
    assert_eq!(classic(h), want);

    let read = histogram.with(["a"]).get();
    assert_eq!(h.schema, Some(i32::from(read.schema())));
    assert_eq!(h.zero_threshold, Some(zero));
    let positive = buckets(&h.positive_span, &h.positive_delta);
    let negative = buckets(&h.negative_span, &h.negative_delta);
    assert_eq!(positive, read.positive());
    assert_eq!(negative, read.negative());
    // The model: where each value belongs.
    let zeros = values.iter().filter(|v| v.abs() <= zero).count() as u64;
    let above = values.iter().filter(|&&v| v > zero).count() as u64;
    let below = values.iter().filter(|&&v| v < -zero).count() as u64;
    assert_eq!(h.zero_count, Some(zeros));
    assert_eq!(positive.iter().map(|b| b.1).sum::<u64>(), above);
    let want_negative = if input.negative { below } else { 0 };
    assert_eq!(negative.iter().map(|b| b.1).sum::<u64>(), want_negative);
    let populated = positive.len() + negative.len();
    let limit = usize::from(input.max_buckets);
    assert!(
        limit == 0 || populated <= limit || read.schema() == -4,
        "{populated} buckets"
    );
    for w in positive.windows(2).chain(negative.windows(2)) {
        assert!(w[0].0 < w[1].0, "keys out of order");
    }
    // Unreduced: each value in the bucket whose bounds hold it (within
    // rounding of a bound), values above `max` in the highest kept one.
    if read.schema() == input.schema % 9 {
        let s = f64::from(read.schema());
        let top = (max.log2() * 2f64.powf(s)).ceil();
        for &v in values.iter().filter(|&&v| v > zero && v.is_finite()) {
            let exact = v.log2() * 2f64.powf(s);
            if (exact - exact.round()).abs() < 1e-6 {
                continue;
            }
            let key = exact.ceil().min(top) as i32;
            assert!(
                positive.iter().any(|b| b.0 == key),
                "{v}: no bucket {key} in {positive:?}"
            );
        }
    }
}

/// The values as durations (negatives and NaN as 0, saturating at
/// `i64::MAX` ns) in a native duration histogram with the non-negative
/// `bounds`: classic counts compared in whole nanoseconds, native buckets
/// those of `n / 10⁹` seconds away from rounding at a bucket bound
/// (`schema` and `max` those `native` was made with).
fn durations(native: &Native, (schema, max): (i8, f64), bounds: &[f64], values: &[f64]) {
    let bounds: Vec<f64> = bounds.iter().copied().filter(|&b| b >= 0.0).collect();
    let registry = Registry::new();
    let family = registry
        .native_duration_histogram(Opts::new("d", "D."), ["l"], &bounds, native.clone())
        .expect("settings the f64 family took");
    let nanos: Vec<u64> = values
        .iter()
        .map(|&v| (v * 1e9).clamp(0.0, i64::MAX as f64) as u64)
        .collect();
    for &n in &nanos {
        family.observe(["a"], Duration::from_nanos(n));
    }
    let body = ProtobufEncoder::new().encode(&registry).to_vec();
    let families = decode(&body);
    if nanos.is_empty() {
        assert!(families[0].metric.is_empty());
        return;
    }
    let h = families[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(h.sample_count, Some(nanos.len() as u64));
    // A bound of `b` seconds holds the durations of at most `⌊b · 10⁹⌋` ns.
    let want: Vec<(f64, u64)> = bounds
        .iter()
        .map(|&b| {
            let top = (b * 1e9).floor() as u64;
            (b, nanos.iter().filter(|&&n| n <= top).count() as u64)
        })
        .collect();
    assert_eq!(classic(h), want, "durations' classic buckets");
    let zero = h.zero_threshold.unwrap();
    let zero_nanos = (zero * 1e9).floor() as u64;
    let zeros = nanos.iter().filter(|&&n| n <= zero_nanos).count() as u64;
    assert_eq!(h.zero_count, Some(zeros));
    let positive = buckets(&h.positive_span, &h.positive_delta);
    assert_eq!(
        positive.iter().map(|b| b.1).sum::<u64>(),
        nanos.len() as u64 - zeros
    );
    let read = family.with(["a"]).native().unwrap();
    assert_eq!(positive, read.positive());
    if read.schema() == schema {
        let s = 2f64.powi(i32::from(schema));
        let top = (max.log2() * s).ceil();
        for &n in nanos.iter().filter(|&&n| n > zero_nanos) {
            let exact = (n as f64 / 1e9).log2() * s;
            if (exact - exact.round()).abs() < 1e-6 {
                continue;
            }
            let key = exact.ceil().min(top) as i32;
            assert!(
                positive.iter().any(|b| b.0 == key),
                "{n} ns: no bucket {key} in {positive:?}"
            );
        }
    }
}

/// A decoded histogram's classic buckets: (upper bound, cumulative count).
fn classic(h: &proto::Histogram) -> Vec<(f64, u64)> {
    h.bucket
        .iter()
        .map(|b| (b.upper_bound.unwrap(), b.cumulative_count.unwrap()))
        .collect()
}
