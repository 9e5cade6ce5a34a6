//! The protobuf exposition decoded with prost into the full
//! `io.prometheus.client` messages (declared here from metrics.proto, apart
//! from the encoder's own): every family, label, value and bucket, and the
//! native spans and deltas, are those of a model computed from the values
//! observed.

use std::collections::BTreeMap;
use std::time::Duration;

use rm_metrics::{Native, Opts, ProtobufEncoder, Registry};

#[path = "common/proto.rs"]
mod proto;
use proto::{buckets, decode};

/// Bucket `k` at schema 3 holds (2^((k-1)/8), 2^(k/8)].
fn key3(v: f64) -> i32 {
    (v.log2() * 8.0).ceil() as i32
}

#[test]
fn every_family_round_trips_through_prost() {
    let registry = Registry::new();
    let requests = registry
        .counter(
            Opts::new("requests", "Requests \"served\".").const_label("svc", "api"),
            ["code"],
        )
        .unwrap();
    requests.inc_by(["200"], 7);
    requests.inc(["a\"b\\c\nd"]);
    let temp = registry
        .gauge(Opts::new("temp_celsius", "T.").unit("celsius"), [])
        .unwrap();
    temp.set([], -3.5);
    let classic = registry
        .histogram(Opts::new("size_bytes", "S."), [], &[10.0, 100.0])
        .unwrap();
    for v in [5.0, 50.0, 500.0, 7.0] {
        classic.observe([], v);
    }
    let jobs = registry
        .duration_histogram(Opts::new("job_seconds", "J."), ["kind"], &[1.0, 60.0])
        .unwrap();
    jobs.observe(["backup"], Duration::from_millis(1500));
    let native = registry
        .native_histogram(
            Opts::new("latency_seconds", "L."),
            ["route"],
            &[0.1, 1.0],
            Native::new(2f64.powi(-10), 2f64.powi(10))
                .negative()
                .max_buckets(0),
        )
        .unwrap();
    let values: Vec<f64> = (0..500)
        .map(|i| match i % 7 {
            0 => 0.0,
            1 => -(1.0 + f64::from(i) / 64.0),
            _ => 2f64.powf(f64::from(i % 97) / 9.0 - 5.0),
        })
        .collect();
    for &v in &values {
        native.observe(["/a"], v);
    }

    let mut encoder = ProtobufEncoder::new();
    let families = decode(encoder.encode(&registry));
    let names: Vec<_> = families.iter().map(|f| f.name.clone().unwrap()).collect();
    assert_eq!(
        names,
        [
            "requests_total",
            "temp_celsius",
            "size_bytes",
            "job_seconds",
            "latency_seconds"
        ]
    );
    let types: Vec<_> = families.iter().map(|f| f.r#type.unwrap()).collect();
    assert_eq!(types, [0, 1, 4, 4, 4]);

    let r = &families[0];
    assert_eq!(r.help.as_deref(), Some("Requests \"served\"."));
    let got: Vec<_> = r
        .metric
        .iter()
        .map(|m| (proto::labels(m), m.counter.as_ref().unwrap().value))
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        got,
        [
            (vec![pair("svc", "api"), pair("code", "200")], Some(7.0)),
            (
                vec![pair("svc", "api"), pair("code", "a\"b\\c\nd")],
                Some(1.0)
            ),
        ]
    );
    assert_eq!(families[1].unit.as_deref(), Some("celsius"));
    assert_eq!(
        families[1].metric[0].gauge.as_ref().unwrap().value,
        Some(-3.5)
    );

    let h = families[2].metric[0].histogram.as_ref().unwrap();
    assert_eq!((h.sample_count, h.sample_sum), (Some(4), Some(562.0)));
    let b: Vec<_> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound.unwrap(), b.cumulative_count.unwrap()))
        .collect();
    assert_eq!(b, [(10.0, 2), (100.0, 3)]);
    assert!(
        h.schema.is_none() && h.positive_span.is_empty(),
        "a classic histogram is not native"
    );

    let j = families[3].metric[0].histogram.as_ref().unwrap();
    assert_eq!((j.sample_count, j.sample_sum), (Some(1), Some(1.5)));

    // The native histogram against a model of the values.
    let n = families[4].metric[0].histogram.as_ref().unwrap();
    assert_eq!(proto::labels(&families[4].metric[0]), [pair("route", "/a")]);
    let (mut pos, mut neg, mut zero) = (BTreeMap::new(), BTreeMap::new(), 0u64);
    for &v in &values {
        if v.abs() <= 2f64.powi(-10) {
            zero += 1;
        } else {
            *if v > 0.0 { &mut pos } else { &mut neg }
                .entry(key3(v.abs()))
                .or_insert(0u64) += 1;
        }
    }
    assert_eq!(n.schema, Some(3));
    assert_eq!(n.zero_threshold, Some(2f64.powi(-10)));
    assert_eq!(n.zero_count, Some(zero));
    assert_eq!(n.sample_count, Some(values.len() as u64));
    assert_eq!(n.sample_sum, Some(values.iter().sum::<f64>()));
    assert_eq!(
        buckets(&n.positive_span, &n.positive_delta),
        pos.into_iter().collect::<Vec<_>>()
    );
    assert_eq!(
        buckets(&n.negative_span, &n.negative_delta),
        neg.into_iter().collect::<Vec<_>>()
    );
    let classic: Vec<_> = n
        .bucket
        .iter()
        .map(|b| b.cumulative_count.unwrap())
        .collect();
    let below = |x: f64| values.iter().filter(|&&v| v <= x).count() as u64;
    assert_eq!(classic, [below(0.1), below(1.0)]);

    // A second encode of the same state is the same bytes.
    let first = encoder.encode(&registry).to_vec();
    assert_eq!(encoder.encode(&registry), &first[..]);
}

#[test]
fn a_reduced_native_histogram_round_trips() {
    let registry = Registry::new();
    let native = registry
        .native_histogram(
            Opts::new("x", "X."),
            [],
            &[],
            Native::new(1e-3, 1e6).max_buckets(8),
        )
        .unwrap();
    for i in 0..1000 {
        native.observe([], 2f64.powf(f64::from(i) / 50.0));
    }
    let want = native.with([]).get();
    let families = decode(ProtobufEncoder::new().encode(&registry));
    let h = families[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(h.schema, Some(i32::from(want.schema())));
    assert!(want.schema() < 3 && want.positive().len() <= 8);
    assert_eq!(
        buckets(&h.positive_span, &h.positive_delta),
        want.positive()
    );
    assert!(h.bucket.is_empty());
}

mod common;

/// A gauge sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// The restic-manager preset in protobuf shows exactly the samples the
/// text format does, scrape after scrape of a changing fleet (the renderer
/// keeps each host's encoded labels while they still match).
#[test]
fn the_preset_in_protobuf_matches_its_text() {
    use rm_metrics::{AlertCounts, BuildInfo, Format, HostRow, JobRegistry, Renderer, Snapshot};
    let jobs = JobRegistry::with_native(Native::new(0.001, 1_048_576.0)).unwrap();
    jobs.observe("backup", "succeeded", Duration::from_secs(42));
    jobs.observe("check", "failed", Duration::from_millis(1500));
    let mut text = Renderer::new();
    let mut proto = Renderer::with_format(Format::Protobuf);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for round in 0..12 {
        // The last round is large enough for three-byte length prefixes
        // (families over 16 KiB).
        let n = if round == 11 {
            600
        } else {
            1 + next(40) as usize
        };
        let modulus = if n > 50 { 5000 } else { 50 };
        let ids: Vec<String> = (0..n)
            .map(|i| format!("h{:04}", (i * 7 + round) % modulus))
            .collect();
        let names: Vec<String> = (0..n)
            .map(|i| match next(4) {
                0 => format!("node {i} \"q\"\\\n"),
                1 => "é".repeat(next(30) as usize),
                _ => format!("n{i}"),
            })
            .collect();
        let statuses = ["ready", "", "init_failed", "a\"b"];
        let hosts: Vec<HostRow<'_>> = ids
            .iter()
            .zip(&names)
            .map(|(id, name)| HostRow {
                id,
                name,
                online: next(2) == 0,
                last_backup_unix: (next(3) != 0).then(|| next(2_000_000_000) as i64 - 1_000),
                last_backup_succeeded: (next(3) != 0).then(|| next(2) == 0),
                repo_size_bytes: (next(2) == 0).then(|| next(1 << 40) as i64),
                snapshot_count: next(1000),
                open_alert_count: next(5),
                repo_status: statuses[next(4) as usize],
            })
            .collect();
        let snapshot = Snapshot {
            hosts: &hosts,
            alerts: AlertCounts {
                info: 1,
                warning: next(9),
                critical: 3,
            },
            build: BuildInfo {
                version: "1.2",
                commit: "c\"x",
                go_version: "go1",
            },
        };
        let body = String::from_utf8(text.render(&jobs, &snapshot).to_vec()).unwrap();
        let mut want: Vec<Sample> = common::exposition::parse(&body)
            .unwrap()
            .into_iter()
            .filter(|s| {
                s.name.starts_with("rm_h")
                    || s.name.starts_with("rm_a")
                    || s.name.starts_with("rm_b")
            })
            .map(|s| (s.name.clone(), s.labels.clone(), s.value))
            .collect();
        let mut got = Vec::new();
        for f in decode(proto.render(&jobs, &snapshot)) {
            let name = f.name.clone().unwrap();
            for m in &f.metric {
                if let Some(g) = &m.gauge {
                    got.push((name.clone(), proto::labels(m), g.value.unwrap()));
                } else {
                    let h = m.histogram.as_ref().unwrap();
                    assert_eq!(h.schema, Some(3), "the job family is native");
                }
            }
        }
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(got, want, "round {round}");
    }
}

/// An exemplar made from trace and span ids decodes to their hex labels.
#[test]
fn trace_exemplars_decode_to_hex_labels() {
    use rm_metrics::Exemplar;
    let registry = Registry::new();
    let requests = registry.counter(Opts::new("requests", "R."), []).unwrap();
    let (trace, span) = (
        0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        0xb7ad_6b71_6920_3331,
    );
    requests.inc_by_with_exemplar([], 2, &Exemplar::trace_and_span(trace, span));
    let families = decode(ProtobufEncoder::new().encode(&registry));
    let e = families[0].metric[0]
        .counter
        .as_ref()
        .unwrap()
        .exemplar
        .as_ref()
        .unwrap();
    let labels: Vec<_> = e
        .label
        .iter()
        .map(|l| (l.name.as_deref().unwrap(), l.value.as_deref().unwrap()))
        .collect();
    assert_eq!(
        labels,
        [
            ("trace_id", "0af7651916cd43dd8448eb211c80319c"),
            ("span_id", "b7ad6b7169203331")
        ]
    );
    assert_eq!(e.value, Some(2.0));
}

#[test]
fn exemplars_round_trip() {
    use rm_metrics::Exemplar;
    let registry = Registry::new();
    let requests = registry.counter(Opts::new("requests", "R."), []).unwrap();
    let latency = registry
        .histogram(Opts::new("latency", "L."), [], &[1.0, 10.0])
        .unwrap();
    let odd = Exemplar::new(&[("trace_id", "a\"b\\c\nd=e,f"), ("span", "é")]).unwrap();
    requests.inc_by_with_exemplar([], 3, &odd);
    let plain = Exemplar::new(&[("trace_id", "abc")]).unwrap();
    latency.observe_with_exemplar([], 0.5, &plain);
    latency.observe_with_exemplar([], 50.0, &odd);
    latency.observe([], 5.0);
    let mut encoder = ProtobufEncoder::new();
    for _ in 0..2 {
        let families = decode(encoder.encode(&registry));
        let c = families[0].metric[0].counter.as_ref().unwrap();
        assert_eq!(c.value, Some(3.0));
        let e = c.exemplar.as_ref().unwrap();
        let labels: Vec<_> = e
            .label
            .iter()
            .map(|l| (l.name.clone().unwrap(), l.value.clone().unwrap()))
            .collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            labels,
            [pair("trace_id", "a\"b\\c\nd=e,f"), pair("span", "é")]
        );
        assert_eq!(e.value, Some(3.0));
        let h = families[1].metric[0].histogram.as_ref().unwrap();
        // Two bounds and the `+Inf` bucket, written for its exemplar.
        let b: Vec<_> = h
            .bucket
            .iter()
            .map(|b| {
                (
                    b.upper_bound.unwrap(),
                    b.cumulative_count.unwrap(),
                    b.exemplar.as_ref().map(|e| e.value),
                )
            })
            .collect();
        assert_eq!(
            b,
            [
                (1.0, 1, Some(Some(0.5))),
                (10.0, 2, None),
                (f64::INFINITY, 3, Some(Some(50.0)))
            ]
        );
        assert_eq!(
            h.bucket[0].exemplar.as_ref().unwrap().label[0]
                .value
                .as_deref(),
            Some("abc")
        );
    }
}
