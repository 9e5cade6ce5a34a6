//! JobRegistry behaviour: exact totals under concurrent observes and inserts,
//! the overflow series, clamping, saturation, Unicode labels.

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::time::Duration;

use rm_metrics::{
    DurationHistogramValue, JobRegistry, Renderer, Snapshot, MAX_OBSERVATION_NANOS, OVERFLOW_LABEL,
};

fn series(registry: &JobRegistry) -> BTreeMap<(String, String), DurationHistogramValue> {
    let mut out = BTreeMap::new();
    registry.for_each_series(|k, s, snap| {
        assert!(
            out.insert((k.to_owned(), s.to_owned()), snap.clone())
                .is_none(),
            "duplicate series {k}/{s}"
        );
    });
    out
}

/// Deterministic durations spread over every bucket, including the bounds.
fn duration_ns(thread: u64, i: u64) -> i64 {
    let bounds = [1, 5, 30, 60, 300, 1800, 3600, 21600, 86400, 100_000];
    let b = bounds[((thread * 31 + i) % 10) as usize] as i64 * 1_000_000_000;
    match i % 3 {
        0 => b,
        1 => b + 1,
        _ => (i as i64 * 7_777) % b - 3, // sometimes negative: clamps to 0
    }
}

#[test]
fn concurrent_observes_and_inserts_count_exactly() {
    const THREADS: u64 = 4;
    const N: u64 = 40_000;
    let registry = JobRegistry::new();
    let barrier = Barrier::new(THREADS as usize);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (registry, barrier) = (&registry, &barrier);
            s.spawn(move || {
                let handle = registry.handle("backup", "succeeded");
                barrier.wait();
                for i in 0..N {
                    let d = duration_ns(t, i);
                    match i % 4 {
                        // an existing pair, by handle and by labels
                        0 => handle.observe_nanos(d),
                        1 => registry.observe_nanos("backup", "succeeded", d),
                        // pairs all threads create concurrently
                        2 => registry.observe_nanos("kind", &format!("s{}", (i / 4) % 16), d),
                        // pairs only this thread creates
                        _ => registry.observe_nanos(
                            &format!("t{t}"),
                            &format!("s{}", (i / 4) % 8),
                            d,
                        ),
                    }
                }
            });
        }
    });

    // The same observations, sequentially, with plain integers.
    let mut want: BTreeMap<(String, String), (u64, u128)> = BTreeMap::new();
    for t in 0..THREADS {
        for i in 0..N {
            let key = match i % 4 {
                0 | 1 => ("backup".to_owned(), "succeeded".to_owned()),
                2 => ("kind".to_owned(), format!("s{}", (i / 4) % 16)),
                _ => (format!("t{t}"), format!("s{}", (i / 4) % 8)),
            };
            let e = want.entry(key).or_default();
            e.0 += 1;
            e.1 += duration_ns(t, i).max(0) as u128;
        }
    }
    let got = series(&registry);
    assert_eq!(got.len(), 1 + 16 + THREADS as usize * 8);
    assert_eq!(got.len(), want.len());
    for (key, (count, sum)) in &want {
        let snap = &got[key];
        assert_eq!(snap.count(), *count, "{key:?}");
        assert_eq!(snap.sum_nanos(), *sum, "{key:?}");
        assert_eq!(snap.cumulative()[9], *count);
    }
    let total: u64 = got.values().map(|s| s.count()).sum();
    assert_eq!(total, THREADS * N);
}

#[test]
fn overflow_series_takes_new_pairs_past_the_limit() {
    let registry = JobRegistry::with_max_series(3);
    for status in ["a", "b", "c"] {
        registry.observe("job", status, Duration::from_secs(1));
    }
    // New pairs past the limit: counted, in one series.
    for i in 0..100 {
        registry.observe(&format!("flood{i}"), "x", Duration::from_secs(2));
    }
    // Existing pairs keep their own series.
    registry.observe("job", "a", Duration::from_secs(3));

    let got = series(&registry);
    assert_eq!(got.len(), 4);
    assert_eq!(registry.series_count(), 4);
    let overflow = &got[&(OVERFLOW_LABEL.to_owned(), OVERFLOW_LABEL.to_owned())];
    assert_eq!(overflow.count(), 100);
    assert_eq!(overflow.sum_nanos(), 200_000_000_000);
    assert_eq!(got[&("job".to_owned(), "a".to_owned())].count(), 2);

    let handle = registry.handle("another", "new");
    assert_eq!(
        (handle.kind(), handle.status()),
        (OVERFLOW_LABEL, OVERFLOW_LABEL)
    );

    let text = String::from_utf8(
        Renderer::new()
            .render(&registry, &Snapshot::default())
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains(
        "rm_job_duration_seconds_count{kind=\"__overflow__\",status=\"__overflow__\"} 100\n"
    ));
}

#[test]
fn zero_limit_still_counts_everything() {
    let registry = JobRegistry::with_max_series(0);
    registry.observe("a", "b", Duration::from_secs(1));
    registry.observe("c", "d", Duration::from_secs(1));
    let got = series(&registry);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().unwrap().count(), 2);
}

#[test]
fn clamping_and_saturation() {
    let registry = JobRegistry::new();
    let h = registry.handle("k", "s");
    h.observe_nanos(-1);
    h.observe_nanos(i64::MIN);
    assert_eq!(h.get().sum_nanos(), 0);
    assert_eq!(
        h.get().cumulative()[0],
        2,
        "negative durations land in le=1"
    );

    h.observe(Duration::MAX);
    h.observe(Duration::MAX);
    h.observe(Duration::from_secs(u64::MAX / 2));
    let snap = h.get();
    assert_eq!(snap.count(), 5);
    assert_eq!(
        snap.sum_nanos(),
        3 * u128::from(MAX_OBSERVATION_NANOS),
        "saturated, never wrapped"
    );
    assert_eq!(
        snap.cumulative()[8],
        2,
        "saturated durations are above 86400 s"
    );
    assert!((snap.sum_seconds() - 3.0 * 9.223372036854776e9).abs() < 1.0);
}

#[test]
fn any_unicode_label_renders_one_line_per_sample() {
    let registry = JobRegistry::new();
    let kinds: Vec<String> = (0..0x11_0000u32)
        .step_by(4099)
        .filter_map(char::from_u32)
        .map(|c| format!("{c}\n\\\"\t\r\0{c}"))
        .collect();
    for k in &kinds {
        registry.observe(k, "ok", Duration::from_secs(1));
    }
    let text = String::from_utf8(
        Renderer::new()
            .render(&registry, &Snapshot::default())
            .to_vec(),
    )
    .unwrap();
    let samples = text
        .lines()
        .filter(|l| l.starts_with("rm_job_duration_seconds"))
        .count();
    assert_eq!(samples, kinds.len() * 12);
}
