//! The `metrics` facade recorder, driven only through the `metrics` macros
//! from more threads than cores: every total in the text and OpenMetrics
//! expositions is exact, and keys that cannot be registered are refused
//! once, without a panic.

mod common;
#[path = "common/python.rs"]
mod python;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use metrics::Unit;
use metrics_util::layers::{FilterLayer, Layer, PrefixLayer};
use rm_metrics::facade::{Kinds, Matcher, Recorder};
use rm_metrics::{OpenMetricsEncoder, Opts, RegisterError, Registry, TextEncoder, OVERFLOW_LABEL};
use serde_json::Value;

const THREADS: usize = 6;
const ROUNDS: usize = 4000;
/// Label values that need every escape, one of them long.
const ROUTES: [&str; 5] = [
    "/",
    "/api/v1/users",
    "/say \"hi\"",
    "C:\\temp\nnext",
    "/a/very/long/route/that/goes/on/and/on/past/sixteen/bytes",
];
const CODES: [&str; 3] = ["200", "404", "500"];
/// Dyadic values: their sums are exact in any order.
const VALUES: [f64; 6] = [0.001953125, 0.03125, 0.25, 1.5, 12.0, 96.0];
const BOUNDS: [f64; 4] = [0.01, 0.5, 10.0, 100.0];

/// Series key: sample name and its labels (`le` as a number's text, made
/// canonical by parsing).
type Series = (String, BTreeMap<String, String>);

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), canonical(k, v)))
        .collect();
    (name.to_string(), labels)
}

/// `le="12"` and `le="12.0"` are one bound.
fn canonical(name: &str, value: &str) -> String {
    match (name, value.parse::<f64>()) {
        ("le", Ok(v)) => format!("{v:?}"),
        _ => value.to_string(),
    }
}

/// What round `i` of thread `t` records.
fn round(t: usize, i: usize) -> (&'static str, &'static str, u64, f64) {
    (
        ROUTES[(t + i) % ROUTES.len()],
        CODES[(i * 7 + t) % CODES.len()],
        (i % 3 + 1) as u64,
        VALUES[(i + 2 * t) % VALUES.len()],
    )
}

/// The model: every sample the workload must produce, by replaying it.
fn model() -> BTreeMap<Series, f64> {
    let mut m = BTreeMap::new();
    let mut hist: BTreeMap<&str, (Vec<u64>, f64)> = BTreeMap::new();
    let mut record = |route: &'static str, v: f64| {
        let (counts, sum) = hist
            .entry(route)
            .or_insert((vec![0; BOUNDS.len() + 1], 0.0));
        let at = BOUNDS.iter().position(|b| v <= *b).unwrap_or(BOUNDS.len());
        counts[at] += 1;
        *sum += v;
    };
    for t in 0..THREADS {
        for i in 0..ROUNDS {
            let (route, code, n, v) = round(t, i);
            *m.entry(series(
                "http_requests_total",
                &[("route", route), ("code", code)],
            ))
            .or_insert(0.0) += n as f64;
            if i % 2 == 0 {
                *m.entry(series("in_flight", &[("route", route)]))
                    .or_insert(0.0) += 1.0;
            } else {
                m.entry(series("in_flight", &[("route", route)]))
                    .or_insert(0.0);
            }
            record(route, v);
            record("/handle", v);
        }
    }
    *m.entry(series("ticks_total", &[])).or_insert(0.0) += (THREADS * ROUNDS) as f64;
    for (route, (counts, sum)) in hist {
        let mut cumulative = 0;
        for (i, c) in counts.iter().enumerate() {
            cumulative += c;
            let le = BOUNDS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            m.insert(
                series("latency_seconds_bucket", &[("route", route), ("le", &le)]),
                cumulative as f64,
            );
        }
        m.insert(
            series("latency_seconds_count", &[("route", route)]),
            cumulative as f64,
        );
        m.insert(series("latency_seconds_sum", &[("route", route)]), sum);
    }
    m
}

/// The workload, through the macros only, from `THREADS` threads at once.
fn run(recorder: &Recorder) {
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let start = &start;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    // A handle resolved once, as services keep them.
                    let handle = metrics::histogram!("latency_seconds", "route" => "/handle");
                    start.wait();
                    for i in 0..ROUNDS {
                        let (route, code, n, v) = round(t, i);
                        // Owned label values, in either order: one series.
                        if i % 2 == 0 {
                            metrics::counter!("http.requests_total", "route" => route.to_string(), "code" => code)
                                .increment(n);
                        } else {
                            metrics::counter!("http.requests_total", "code" => code.to_string(), "route" => route)
                                .increment(n);
                        }
                        let in_flight = metrics::gauge!("in_flight", "route" => route);
                        in_flight.increment(1.0);
                        if i % 2 == 1 {
                            in_flight.decrement(1.0);
                        }
                        metrics::histogram!("latency_seconds", "route" => route).record(v);
                        handle.record(v);
                        metrics::counter!("ticks").increment(1);
                        if i == ROUNDS / 2 {
                            // Described after first use: the HELP text follows.
                            metrics::describe_counter!("ticks", "Rounds run.");
                        }
                    }
                });
            });
        }
    });
}

fn recorder(registry: &Registry) -> Recorder {
    Recorder::builder()
        .buckets_for(Matcher::Suffix("_seconds".into()), &BOUNDS)
        .unwrap()
        .build(registry)
}

/// `samples` must be exactly the model.
fn check(what: &str, samples: BTreeMap<Series, f64>, want: &BTreeMap<Series, f64>) {
    for (k, v) in want {
        match samples.get(k) {
            Some(got) => assert_eq!(got, v, "{what}: {k:?}"),
            None => panic!("{what}: no sample {k:?}"),
        }
    }
    for k in samples.keys() {
        assert!(want.contains_key(k), "{what}: unexpected sample {k:?}");
    }
}

#[test]
fn macros_from_many_threads_count_exactly_in_text() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_histogram!("latency_seconds", Unit::Seconds, "Request latency.");
    });
    run(&recorder);
    assert_eq!(recorder.errors(), []);

    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    let parsed = common::exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    common::exposition::histograms(&parsed).unwrap();
    let samples = parsed
        .iter()
        .map(|s| {
            let labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            (series(&s.name, &labels), s.value)
        })
        .collect();
    check("text", samples, &model());
    assert!(text.contains("# HELP ticks_total Rounds run.\n# TYPE ticks_total counter\n"));
    assert!(text.contains("# HELP latency_seconds Request latency.\n"));
    assert!(text.contains("# HELP http_requests_total \n"));
}

#[test]
fn macros_from_many_threads_count_exactly_in_openmetrics() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_histogram!("latency_seconds", Unit::Seconds, "Request latency.");
        // A unit the name does not end with is left out.
        metrics::describe_gauge!("in_flight", Unit::Bytes, "Requests in progress.");
    });
    run(&recorder);
    let body = String::from_utf8(OpenMetricsEncoder::new().encode(&registry).to_vec()).unwrap();
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("# TYPE latency_seconds histogram\n# UNIT latency_seconds seconds\n"));
    assert!(!body.contains("# UNIT in_flight"));
    assert!(body.contains("# TYPE http_requests counter\n"));

    let Some(parsed) = python::python_parse(&[&body]) else {
        return;
    };
    let families = parsed[0]["families"]
        .as_array()
        .unwrap_or_else(|| panic!("prometheus_client refused the body: {}\n{body}", parsed[0]));
    let mut samples = BTreeMap::new();
    for f in families {
        for s in f["samples"].as_array().unwrap() {
            let labels: Vec<(String, String)> = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let value: f64 = s["value"].as_str().unwrap().parse().unwrap();
            samples.insert(series(s["name"].as_str().unwrap(), &labels), value);
        }
    }
    check("openmetrics", samples, &model());
    let unit = families
        .iter()
        .find(|f| f["name"] == "latency_seconds")
        .map(|f| f["unit"].clone());
    assert_eq!(unit, Some(Value::from("seconds")));
}

#[test]
fn refusals_are_reported_once_and_record_nothing() {
    let registry = Registry::new();
    // A family of the service's own that a facade name then clashes with.
    let own = registry
        .gauge(Opts::new("queue_depth", "Own."), [])
        .unwrap();
    own.set([], 7.0);
    let recorder = Recorder::new(&registry);
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..3 {
            metrics::counter!("jobs", "__reserved" => "x").increment(1);
            metrics::histogram!("sizes", "le" => "1").record(1.0);
            metrics::counter!("jobs", "a" => "1", "a" => "2").increment(1);
            metrics::gauge!("queue_depth").set(1.0);
            metrics::counter!("jobs").increment(1);
            // Same name, another kind.
            metrics::gauge!("jobs").set(5.0);
            metrics::counter!("").increment(1);
        }
    });
    assert_eq!(
        recorder.errors(),
        [
            RegisterError::ReservedLabelName("__reserved".into()),
            RegisterError::ReservedLabelName("le".into()),
            RegisterError::DuplicateLabelName("a".into()),
            RegisterError::DuplicateName("queue_depth".into()),
            RegisterError::DuplicateName("jobs".into()),
            RegisterError::InvalidName("".into()),
        ]
    );
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    assert!(text.contains("queue_depth 7\n"), "{text}");
    assert!(text.contains("jobs_total 3\n"), "{text}");
    assert!(!text.contains("sizes"), "{text}");
    assert!(!text.contains("jobs{"), "{text}");
}

#[test]
fn strict_names_refuse_what_the_default_sanitizes() {
    let registry = Registry::new();
    let strict = Recorder::builder().strict_names().build(&registry);
    metrics::with_local_recorder(&strict, || {
        metrics::counter!("http.requests", "a.b" => "1").increment(1);
        metrics::counter!("ok", "a.b" => "1").increment(1);
    });
    assert_eq!(
        strict.errors(),
        [
            RegisterError::InvalidName("http.requests".into()),
            RegisterError::InvalidLabelName("a.b".into()),
        ]
    );
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    assert_eq!(text, "");
}

#[test]
fn the_series_limit_overflows_without_losing_a_count() {
    let registry = Registry::new();
    let recorder = Recorder::builder().max_series(3).build(&registry);
    metrics::with_local_recorder(&recorder, || {
        for i in 0..10u64 {
            metrics::counter!("hits", "user" => i.to_string()).increment(i + 1);
            metrics::counter!("hits", "user" => i.to_string(), "kind" => "x").increment(100);
            metrics::counter!("hits").increment(1000);
        }
    });
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    let samples = common::exposition::parse(&text).unwrap();
    let total: f64 = samples.iter().map(|s| s.value).sum();
    assert_eq!(
        total,
        (1..=10).sum::<u64>() as f64 + 10.0 * 100.0 + 10.0 * 1000.0
    );
    // The first round makes three series (the label-free one counts
    // too); every later label set lands in the overflow series of its
    // label names.
    assert_eq!(samples.len(), 5, "{text}");
    assert!(text.contains("hits_total 10000\n"), "{text}");
    assert!(text.contains("hits_total{user=\"0\"} 1\n"), "{text}");
    assert!(
        text.contains("hits_total{kind=\"x\",user=\"0\"} 100\n"),
        "{text}"
    );
    assert!(text.contains(&format!("hits_total{{user=\"{OVERFLOW_LABEL}\"}} 54\n")));
    assert!(text.contains(&format!(
        "hits_total{{kind=\"{OVERFLOW_LABEL}\",user=\"{OVERFLOW_LABEL}\"}} 900\n"
    )));
    assert_eq!(recorder.errors(), []);
}

#[test]
fn gauges_set_and_counters_absolute() {
    let registry = Registry::new();
    let recorder = Recorder::new(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::gauge!("temperature").set(21.5);
        metrics::gauge!("temperature").decrement(0.25);
        let bytes = metrics::counter!("bytes_total");
        bytes.absolute(100);
        bytes.increment(5);
        bytes.absolute(50); // below: a counter never goes down
        bytes.absolute(200);
    });
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    assert!(text.contains("temperature 21.25\n"), "{text}");
    assert!(text.contains("bytes_total 200\n"), "{text}");
}

#[test]
fn absolute_racing_increments_loses_nothing() {
    let registry = Registry::new();
    let recorder = Recorder::new(&registry);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    let c = metrics::counter!("mixed");
                    for i in 0..2000u64 {
                        if t == 0 {
                            c.absolute(i);
                        } else {
                            c.increment(1);
                        }
                    }
                })
            });
        }
    });
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    let v: f64 = common::exposition::parse(&text).unwrap()[0].value;
    // At least every increment, and at least the last absolute value.
    assert!((6000.0..=6000.0 + 1999.0).contains(&v), "{v}");
}

#[test]
fn metrics_util_layers_stack_in_front() {
    let registry = Registry::new();
    let recorder = Recorder::new(&registry);
    let layered = FilterLayer::from_patterns(["secret"])
        .layer(PrefixLayer::new("app").layer(recorder.clone()));
    metrics::with_local_recorder(&layered, || {
        metrics::describe_counter!("requests", "Requests.");
        metrics::counter!("requests", "code" => "200").increment(3);
        metrics::gauge!("secret_sauce").set(1.0);
    });
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    // The prefix layer joins with `.`, which the recorder makes `_`.
    assert!(
        text.contains("# HELP app_requests_total Requests.\n"),
        "{text}"
    );
    assert!(
        text.contains("app_requests_total{code=\"200\"} 3\n"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(recorder.errors(), []);
}

fn text_of(registry: &Registry) -> String {
    String::from_utf8(TextEncoder::new().encode(registry).to_vec()).unwrap()
}

#[test]
fn idle_series_of_the_chosen_kinds_expire_and_come_back_from_zero() {
    let registry = Registry::new();
    // Long enough that no pause of this thread between two sweeps below
    // (a loaded machine) makes a just-seen series idle.
    let timeout = Duration::from_millis(300);
    let recorder = Recorder::builder()
        .idle_timeout(Kinds::COUNTERS | Kinds::HISTOGRAMS, timeout)
        .build(&registry);
    let record = |busy_only: bool| {
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("hits", "route" => "/busy").increment(1);
            metrics::histogram!("latency", "route" => "/busy").record(0.25);
            if !busy_only {
                metrics::counter!("hits", "route" => "/idle").increment(5);
                metrics::gauge!("queue", "name" => "mail").set(3.0);
                metrics::histogram!("latency", "route" => "/idle").record(0.5);
            }
        })
    };
    record(false);
    assert_eq!(recorder.expire_idle(), 0, "every series just seen");
    std::thread::sleep(timeout + Duration::from_millis(10));
    record(true);
    // The idle counter and histogram go; the busy ones stay, and the
    // gauge too: gauges were not asked for.
    assert_eq!(recorder.expire_idle(), 2);
    let text = text_of(&registry);
    assert!(text.contains("hits_total{route=\"/busy\"} 2\n"), "{text}");
    assert!(
        text.contains("latency_count{route=\"/busy\"} 2\n"),
        "{text}"
    );
    assert!(!text.contains("/idle"), "{text}");
    assert!(text.contains("queue{name=\"mail\"} 3\n"), "{text}");
    assert_eq!(recorder.expire_idle(), 0);
    // The key's next use starts a new series, exported from zero.
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("hits", "route" => "/idle").increment(1);
    });
    let text = text_of(&registry);
    assert!(text.contains("hits_total{route=\"/idle\"} 1\n"), "{text}");
    // Without an idle timeout, nothing ever expires.
    let other = Registry::new();
    let plain = Recorder::new(&other);
    metrics::with_local_recorder(&plain, || metrics::counter!("x").increment(1));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(plain.expire_idle(), 0);
    assert!(text_of(&other).contains("x_total 1\n"));
}

/// Sweeps every 2 ms while two threads count into keys of their own
/// through the macros: the busy keys never expire and lose no count, and
/// the key used once expires.
#[test]
fn sweeps_racing_macro_calls_lose_no_count_of_busy_series() {
    let registry = Registry::new();
    let timeout = Duration::from_millis(400);
    let recorder = Recorder::builder()
        .idle_timeout(Kinds::ALL, timeout)
        .build(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("work", "worker" => "once").increment(1);
    });
    let stop = AtomicBool::new(false);
    let (counts, expired) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (recorder, stop) = (&recorder, &stop);
                s.spawn(move || {
                    let worker = format!("w{w}");
                    let mut n = 0u64;
                    metrics::with_local_recorder(recorder, || {
                        // Relaxed: a stop flag; the join orders the rest.
                        while !stop.load(Ordering::Relaxed) {
                            metrics::counter!("work", "worker" => worker.clone()).increment(1);
                            n += 1;
                        }
                    });
                    n
                })
            })
            .collect();
        let start = Instant::now();
        let mut expired = 0;
        while start.elapsed() < timeout * 3 {
            expired += recorder.expire_idle();
            std::thread::sleep(Duration::from_millis(2));
        }
        // Relaxed: see above.
        stop.store(true, Ordering::Relaxed);
        let counts: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        (counts, expired)
    });
    assert_eq!(expired, 1, "only the key used once");
    let text = text_of(&registry);
    assert!(!text.contains("once"), "{text}");
    for (w, n) in counts.iter().enumerate() {
        assert!(*n > 0);
        assert!(
            text.contains(&format!("work_total{{worker=\"w{w}\"}} {n}\n")),
            "worker {w} counted {n}: {text}"
        );
    }
}
