//! Stress: T threads × N observations over existing and new pairs while
//! another thread renders continuously. Every exposition parses and every
//! series in it is self-consistent; counts never go backwards from one
//! render to the next; the final totals are exact. Bounded in count and time.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rm_metrics::{HostRow, JobRegistry, Renderer, Snapshot};

use common::exposition;

const THREADS: u64 = 4;
const N: u64 = 250_000;

fn pair(t: u64, i: u64) -> (String, String) {
    match i % 5 {
        0..=2 => (
            ["backup", "check", "prune"][(i % 3) as usize].to_owned(),
            "succeeded".to_owned(),
        ),
        3 => ("shared".to_owned(), format!("s{}", (i / 5) % 32)), // created by all threads
        _ => (format!("t{t}"), format!("\"q\"\n{}", (i / 5) % 16)), // one thread each, odd labels
    }
}

fn duration(t: u64, i: u64) -> Duration {
    Duration::from_nanos((i * 2_654_435_761 + t * 97) % 100_000_000_000_000)
}

#[test]
fn observers_and_a_continuous_renderer() {
    let registry = JobRegistry::new();
    for k in ["backup", "check", "prune"] {
        registry.handle(k, "succeeded");
    }
    let hosts = [HostRow {
        id: "h",
        name: "n",
        online: true,
        ..HostRow::default()
    }];
    let done = AtomicBool::new(false);
    let barrier = Barrier::new(THREADS as usize + 1);
    let deadline = Instant::now() + Duration::from_secs(60);

    let renders = std::thread::scope(|s| {
        let renderer = s.spawn(|| {
            let mut renderer = Renderer::new();
            let mut last: BTreeMap<(String, String), f64> = BTreeMap::new();
            let mut renders = 0u64;
            barrier.wait();
            // Acquire: pairs with the Release store after the observers joined,
            // so the final render below sees every observation.
            while !done.load(Ordering::Acquire) && Instant::now() < deadline {
                let text = renderer.render(
                    &registry,
                    &Snapshot {
                        hosts: &hosts,
                        ..Snapshot::default()
                    },
                );
                let text = std::str::from_utf8(text).expect("UTF-8");
                let samples =
                    exposition::parse(text).unwrap_or_else(|e| panic!("render {renders}: {e}"));
                let histograms = exposition::histograms(&samples)
                    .unwrap_or_else(|e| panic!("render {renders}: {e}"));
                for (key, (_, _, count)) in histograms {
                    let prev = last.insert(key.clone(), count).unwrap_or(0.0);
                    assert!(count >= prev, "{key:?}: count went from {prev} to {count}");
                }
                renders += 1;
            }
            renders
        });
        let observers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (registry, barrier) = (&registry, &barrier);
                s.spawn(move || {
                    let handle = registry.handle("backup", "succeeded");
                    barrier.wait();
                    for i in 0..N {
                        let (k, st) = pair(t, i);
                        if i % 7 == 0 && k == "backup" {
                            handle.observe(duration(t, i));
                        } else {
                            registry.observe(&k, &st, duration(t, i));
                        }
                    }
                })
            })
            .collect();
        for o in observers {
            o.join().unwrap();
        }
        // Release: see the Acquire load in the renderer loop.
        done.store(true, Ordering::Release);
        renderer.join().unwrap()
    });
    assert!(Instant::now() < deadline, "stress test ran out of time");
    assert!(renders >= 2, "renderer ran only {renders} times");

    let mut want: BTreeMap<(String, String), (u64, u128)> = BTreeMap::new();
    for t in 0..THREADS {
        for i in 0..N {
            let e = want.entry(pair(t, i)).or_default();
            e.0 += 1;
            e.1 += duration(t, i).as_nanos();
        }
    }
    let mut got = BTreeMap::new();
    registry.for_each_series(|k, s, snap| {
        got.insert(
            (k.to_owned(), s.to_owned()),
            (snap.count(), snap.sum_nanos()),
        );
    });
    assert_eq!(got, want);
    // And the final exposition says the same.
    let text = String::from_utf8(
        Renderer::new()
            .render(&registry, &Snapshot::default())
            .to_vec(),
    )
    .unwrap();
    let samples = exposition::parse(&text).unwrap();
    let histograms = exposition::histograms(&samples).unwrap();
    for (key, (count, sum)) in &want {
        let (_, s, c) = &histograms[key];
        assert_eq!(*c, *count as f64, "{key:?}");
        assert!(
            (s - *sum as f64 / 1e9).abs() <= 1e-9 * s.abs().max(1.0),
            "{key:?}: {s} vs {sum}"
        );
    }
    println!(
        "stress: {} observations, {renders} concurrent renders, {} series",
        THREADS * N,
        got.len()
    );
}
