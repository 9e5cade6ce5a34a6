//! The families API under concurrency, outside loom: histogram reads are
//! exactly consistent while more threads than shard slots observe, counters
//! lose nothing, and removal races with observation without harm. Bounded
//! in count and in time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rm_metrics::{HistogramValue, Opts, Registry, TextEncoder};

/// More than the slots of any machine this runs on (at most 64 slots).
const THREADS: usize = 72;
const BOUNDS: [f64; 3] = [1.0, 2.0, 4.0];

/// The one value observed in each bucket: small integers, so every sum is
/// exact in `f64` whatever the order of additions, and the counts say what
/// the sum must be.
const VALUE_OF_BUCKET: [f64; 4] = [1.0, 2.0, 3.0, 100.0];

fn implied_sum(v: &HistogramValue) -> f64 {
    let c = v.cumulative();
    (0..c.len())
        .map(|i| (c[i] - if i == 0 { 0 } else { c[i - 1] }) as f64 * VALUE_OF_BUCKET[i])
        .sum()
}

#[test]
fn histogram_reads_are_exact_while_many_threads_observe() {
    let registry = Registry::new();
    let family = registry
        .histogram(Opts::new("work_seconds", "Work."), ["kind"], &BOUNDS)
        .unwrap();
    let handle = family.with(["a"]);
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Observers go on until the reader has made this many reads while they
    // ran (with 72 threads on 2 cores one read can take seconds: it waits for
    // preempted writers' observations in flight to be scheduled again), then
    // the total must add up. The deadline bounds the whole test.
    const READS: u64 = 20;
    let reads_done = AtomicU64::new(0);
    let observed = AtomicU64::new(0);
    let mut reads = 0u64;
    std::thread::scope(|s| {
        let observers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (family, reads_done, observed) = (&family, &reads_done, &observed);
                s.spawn(move || {
                    let mut i = 0usize;
                    // Relaxed: a progress signal; the joins order the count.
                    while (reads_done.load(Ordering::Relaxed) < READS || i < 2_000)
                        && Instant::now() < deadline
                    {
                        i += 1;
                        // Half through the family (lookup), half via a handle.
                        let v = VALUE_OF_BUCKET[(t + i) % 4];
                        if i % 2 == 0 {
                            family.observe(["a"], v);
                        } else {
                            family.with(["a"]).observe(v);
                        }
                    }
                    observed.fetch_add(i as u64, Ordering::Relaxed);
                })
            })
            .collect();
        let mut last = handle.get();
        while !stop.load(Ordering::Relaxed) {
            let now = handle.get();
            let c = now.cumulative();
            assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
            assert_eq!(*c.last().unwrap(), now.count());
            assert_eq!(
                now.sum(),
                implied_sum(&now),
                "sum is not exactly the counted ones"
            );
            for (a, b) in last.cumulative().iter().zip(&c) {
                assert!(a <= b, "a count went down");
            }
            assert!(now.sum() >= last.sum(), "the sum went down");
            last = now;
            reads += 1;
            reads_done.store(reads, Ordering::Relaxed);
            stop.store(observers.iter().all(|o| o.is_finished()), Ordering::Relaxed);
        }
    });
    let end = handle.get();
    assert!(Instant::now() < deadline, "took too long");
    assert_eq!(end.count(), observed.load(Ordering::Relaxed));
    assert_eq!(end.sum(), implied_sum(&end));
    assert!(reads >= READS, "only {reads} reads while observers ran");
}

/// Series of the counter test: more than two blocks of sixteen counters,
/// whose words share lines (`core::columns`).
const KEYS: usize = 40;

#[test]
fn counters_lose_nothing_and_never_go_down() {
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("events", "Events."), ["kind"])
        .unwrap();
    let keys: Vec<String> = (0..KEYS).map(|k| format!("k{k}")).collect();
    let per_thread = 50_000usize;
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let observers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (family, keys) = (&family, &keys);
                s.spawn(move || {
                    let handles: Vec<_> = keys.iter().map(|k| family.with([k])).collect();
                    for i in 0..per_thread {
                        // Thread t counts into key (t + i) % KEYS, half
                        // through the family (lookup), half via a handle.
                        let k = (t + i) % KEYS;
                        if (t + i / KEYS) % 2 == 0 {
                            family.inc([&keys[k]]);
                        } else {
                            handles[k].inc();
                        }
                    }
                })
            })
            .collect();
        let handles: Vec<_> = keys.iter().map(|k| family.with([k])).collect();
        let mut last = vec![0; KEYS];
        while !stop.load(Ordering::Relaxed) {
            for (h, last) in handles.iter().zip(&mut last) {
                let now = h.get();
                assert!(now >= *last, "{now} < {last}");
                *last = now;
            }
            stop.store(observers.iter().all(|o| o.is_finished()), Ordering::Relaxed);
        }
    });
    let mut want = vec![0u64; KEYS];
    for t in 0..THREADS {
        for i in 0..per_thread {
            want[(t + i) % KEYS] += 1;
        }
    }
    let got: Vec<u64> = keys.iter().map(|k| family.with([k]).get()).collect();
    assert_eq!(got, want);
}

#[test]
fn removal_races_with_observers_and_scrapes() {
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("routes", "Routes.").max_series(4), ["route"])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let routes = ["a", "b", "c", "d", "e", "f"];
    std::thread::scope(|s| {
        for t in 0..4 {
            let family = &family;
            s.spawn(move || {
                for i in 0..20_000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let route = routes[(t * 7 + i) % routes.len()];
                    if i % 5 == 0 {
                        family.remove([route]);
                    } else {
                        family.inc([route]);
                    }
                }
            });
        }
        let mut encoder = TextEncoder::new();
        for _ in 0..200 {
            let text = std::str::from_utf8(encoder.encode(&registry)).unwrap();
            // At most the limit plus the overflow series, in byte order.
            let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            assert!(lines.len() <= 5, "{text}");
            let mut sorted = lines.clone();
            sorted.sort();
            assert_eq!(lines, sorted);
        }
    });
    assert!(family.len() <= 5);
    family.clear();
    assert!(family.is_empty());
    family.inc(["a"]);
    assert_eq!(family.with(["a"]).get(), 1, "a new series starts from zero");
}

/// Series added in thousands from several threads, some removed while
/// others are counted, with scrapes all along: each tuple has one series
/// (none lost or doubled as adds move from the recent table into the main
/// one), every count is exact, and every scrape lists its series once each,
/// in byte order.
#[test]
fn thousands_of_adds_and_removals_race_with_scrapes() {
    const PER_THREAD: usize = 1500;
    const ADDERS: usize = 4;
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("c", "C.").max_series(10_000), ["route"])
        .unwrap();
    let keys: Vec<Vec<String>> = (0..ADDERS)
        .map(|t| (0..PER_THREAD).map(|i| format!("/t{t}/r{i:05}")).collect())
        .collect();
    let done = AtomicBool::new(false);
    let check_scrape = |text: &[u8]| {
        let text = std::str::from_utf8(text).unwrap();
        let routes: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("c_total{route=\""))
            .map(|l| l.split('"').next().unwrap())
            .collect();
        assert!(routes.windows(2).all(|w| w[0] < w[1]), "unsorted or twice");
        routes.len()
    };
    std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            let mut encoder = TextEncoder::new();
            let (mut scrapes, deadline) = (0, Instant::now() + Duration::from_secs(20));
            while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                check_scrape(encoder.encode(&registry));
                scrapes += 1;
            }
            scrapes
        });
        std::thread::scope(|adders| {
            for (t, keys) in keys.iter().enumerate() {
                let family = &family;
                adders.spawn(move || {
                    // Each key twice, in an order of this thread's own.
                    for round in 0..2 {
                        for i in 0..PER_THREAD {
                            family.inc([&keys[(i * 7 + t + round) % PER_THREAD]]);
                        }
                    }
                });
            }
        });
        // Removals of every third key of the first two threads' sets, while
        // the other two threads count theirs again.
        std::thread::scope(|movers| {
            for keys in &keys[..2] {
                let family = &family;
                movers.spawn(move || {
                    for k in keys.iter().step_by(3) {
                        assert!(family.remove([k]), "{k} was not there");
                    }
                });
            }
            for keys in &keys[2..] {
                let family = &family;
                movers.spawn(move || keys.iter().for_each(|k| family.inc([k])));
            }
        });
        done.store(true, Ordering::Relaxed);
        assert!(scraper.join().unwrap() > 0);
    });
    let mut listed = Vec::new();
    family.for_each(|s| listed.push((s.values().next().unwrap().to_owned(), s.get())));
    let mut want: Vec<(String, u64)> = Vec::new();
    for (t, keys) in keys.iter().enumerate() {
        for (i, k) in keys.iter().enumerate() {
            match (t < 2, i % 3 == 0) {
                (true, true) => {}
                (true, false) => want.push((k.clone(), 2)),
                (false, _) => want.push((k.clone(), 3)),
            }
        }
    }
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(family.len(), want.len());
    let mut encoder = TextEncoder::new();
    assert_eq!(check_scrape(encoder.encode(&registry)), family.len());
}
