//! Native histograms under concurrency: every read exactly consistent
//! between its classic and native buckets, no observation lost, and the
//! text formats showing the classic buckets.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use rm_metrics::{Native, NativeHistogramValue, OpenMetricsEncoder, Opts, Registry, TextEncoder};

const THREADS: usize = 8;
const EACH: usize = 20_000;

/// Thread `t`'s `i`th value: log-uniform over 2^-12 .. 2^12, some zeros
/// and negatives, dyadic so that sums are exact in any order.
fn value(t: usize, i: usize) -> f64 {
    let k = (t * 7919 + i * 104_729) % 4099;
    match k % 50 {
        0 => 0.0,
        1 => -((k % 64) as f64) / 8.0,
        _ => 2f64.powi((k % 24) as i32 - 12) * (1.0 + (k % 16) as f64 / 16.0),
    }
}

fn native_total(r: &NativeHistogramValue) -> u64 {
    r.zero_count()
        + r.positive()
            .iter()
            .chain(r.negative())
            .map(|b| b.1)
            .sum::<u64>()
}

#[test]
fn reads_agree_between_ladders_and_nothing_is_lost() {
    let registry = Registry::new();
    let native = Native::new(2f64.powi(-10), 2f64.powi(13))
        .negative()
        .max_buckets(0);
    let family = registry
        .native_histogram(Opts::new("x", "X."), ["k"], &[0.01, 1.0, 100.0], native)
        .unwrap();
    let handle = family.with(["a"]);
    let done = AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0;
            let mut last = 0;
            // Relaxed: a stop flag; the scope's join orders the rest.
            while !done.load(Ordering::Relaxed) {
                let r = handle.get();
                assert_eq!(native_total(&r), r.count(), "the ladders disagree");
                assert!(r.count() >= last, "the count went down");
                last = r.count();
                reads += 1;
            }
            reads
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let family = family.clone();
                s.spawn(move || {
                    for i in 0..EACH {
                        family.observe(["a"], value(t, i));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 0);

    // The model: every value in the bucket its key says.
    let r = handle.get();
    let ladder_key = |v: f64| (v.log2() * 8.0).ceil() as i32;
    let (mut pos, mut neg, mut zero, mut sum) = (BTreeMap::new(), BTreeMap::new(), 0, 0.0);
    for t in 0..THREADS {
        for i in 0..EACH {
            let v = value(t, i);
            sum += v;
            if v.abs() <= 2f64.powi(-10) {
                zero += 1;
            } else {
                let key = ladder_key(v.abs()).min(ladder_key(2f64.powi(13)));
                *if v > 0.0 { &mut pos } else { &mut neg }
                    .entry(key)
                    .or_insert(0u64) += 1;
            }
        }
    }
    assert_eq!(r.count(), (THREADS * EACH) as u64);
    assert_eq!(r.sum(), sum);
    assert_eq!(r.zero_count(), zero);
    assert_eq!(r.positive(), pos.into_iter().collect::<Vec<_>>());
    assert_eq!(r.negative(), neg.into_iter().collect::<Vec<_>>());
    assert_eq!(r.schema(), 3);
}

#[test]
fn text_formats_show_the_classic_buckets() {
    let registry = Registry::new();
    let family = registry
        .native_histogram(
            Opts::new("latency_seconds", "Latency."),
            [],
            &[0.1, 1.0],
            Native::new(0.001, 60.0),
        )
        .unwrap();
    for v in [0.05, 0.5, 5.0] {
        family.observe([], v);
    }
    let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    assert_eq!(
        text,
        "# HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n\
         latency_seconds_bucket{le=\"0.1\"} 1\nlatency_seconds_bucket{le=\"1\"} 2\n\
         latency_seconds_bucket{le=\"+Inf\"} 3\nlatency_seconds_sum 5.55\nlatency_seconds_count 3\n"
    );
    let om = String::from_utf8(OpenMetricsEncoder::new().encode(&registry).to_vec()).unwrap();
    assert!(om.contains("latency_seconds_bucket{le=\"1.0\"} 2\n") && om.ends_with("# EOF\n"));
}

#[test]
fn bad_native_settings_are_registration_errors() {
    let registry = Registry::new();
    let err = registry
        .native_histogram(Opts::new("x", "X."), [], &[1.0], Native::new(1.0, 0.5))
        .unwrap_err();
    assert!(err.to_string().contains("max 0.5"), "{err}");
}
