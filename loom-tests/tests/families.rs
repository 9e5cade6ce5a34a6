//! Models of the families API: histogram reads of any width (native ones
//! too), counters whose words share lines, removal (of recent and of main
//! table series, one by one or by `retain`, and the state a scrape sees
//! meanwhile), adds (through the merge of the recent table), a quiet
//! scrape's merge of the recent table, and registration during a scrape. (Under loom a process has one owned shard
//! slot, so of two observers one may own it while the other shares.)
#![cfg(loom)]

use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;

use loom::sync::atomic::AtomicBool;

use loom_tests::model;
use rm_metrics::{Counter, Family, Native, Opts, Registry, TextEncoder};

/// The sample lines of a text exposition (its `#` lines left out).
fn sample_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

/// A thread that counts `key` once (adding its series if new), and the
/// flag it raises (Release) once that returned.
fn add_flagged(
    family: &Family<Counter, 1>,
    key: &'static str,
) -> (loom::thread::JoinHandle<()>, Arc<AtomicBool>) {
    let added = Arc::new(AtomicBool::new(false));
    let (family, flag) = (family.clone(), Arc::clone(&added));
    let add = loom::thread::spawn(move || {
        family.inc([key]);
        flag.store(true, Release);
    });
    (add, added)
}

/// Two observers of one family histogram, one value in the first bucket and
/// one in `+Inf`, while the main thread reads twice. Invariant: each read is
/// exactly consistent (the sum is that of exactly the counted values), has
/// every observation that returned before it began, and the second read has
/// no less than the first.
#[test]
fn family_histogram_reads_exactly() {
    model("family_histogram_reads_exactly", 4, || {
        let registry = Registry::new();
        let family = registry
            .histogram(Opts::new("h", "H."), [], &[1.0])
            .unwrap();
        let handle = family.with([]);
        let returned = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let values = [0.5, 8.0];
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let (h, returned) = (handle.clone(), Arc::clone(&returned));
                loom::thread::spawn(move || {
                    h.observe(values[i]);
                    returned[i].store(true, Release);
                })
            })
            .collect();
        loom::thread::yield_now();
        let before = [returned[0].load(Acquire), returned[1].load(Acquire)];
        let first = handle.get();
        let c = first.cumulative();
        let counted = [c[0] == 1, c[1] - c[0] == 1];
        assert_eq!(c[1], first.count());
        let want: f64 = (0..2).filter(|&i| counted[i]).map(|i| values[i]).sum();
        assert_eq!(
            first.sum(),
            want,
            "sum is not exactly the counted observations"
        );
        for i in 0..2 {
            assert!(
                !before[i] || counted[i],
                "observation {i} returned but is missing"
            );
        }
        let second = handle.get();
        assert!(second.count() >= first.count() && second.sum() >= first.sum());
        for t in threads {
            t.join().unwrap();
        }
        let end = handle.get();
        assert_eq!((end.cumulative(), end.sum()), (vec![1, 2], 8.5));
    });
}

/// Two counters of one family, whose words share their block's lines, are
/// incremented by two threads each (the slot's owner and a sharer, each
/// writing one line of the block) while the main thread reads both twice.
/// Invariant: each read has every increment of its own counter that
/// returned before it began and none of the other's, and never goes back.
#[test]
fn counters_sharing_lines_count_apart() {
    model("counters_sharing_lines_count_apart", 4, || {
        let registry = Registry::new();
        let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
        let handles = [family.with(["a"]), family.with(["b"])];
        let returned = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (handles, returned) = (handles.clone(), Arc::clone(&returned));
                loom::thread::spawn(move || {
                    // Thread t adds 1 to "a" and 10 to "b", times t + 1.
                    handles[0].inc_by(t + 1);
                    handles[1].inc_by(10 * (t + 1));
                    returned[t as usize].store(true, Release);
                })
            })
            .collect();
        loom::thread::yield_now();
        let before = [returned[0].load(Acquire), returned[1].load(Acquire)];
        let first = [handles[0].get(), handles[1].get()];
        for (i, &v) in first.iter().enumerate() {
            let unit = [1, 10][i];
            // Only sums of this counter's own increments: 0, 1, 2 or 3 units.
            assert!(v % unit == 0 && v / unit <= 3, "counter {i} read {v}");
            for t in 0..2u64 {
                if before[t as usize] {
                    let own = unit * (t + 1);
                    assert!(
                        v == own || v == 3 * unit,
                        "counter {i} lost thread {t}: {v}"
                    );
                }
            }
        }
        let second = [handles[0].get(), handles[1].get()];
        assert!(second[0] >= first[0] && second[1] >= first[1]);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!([handles[0].get(), handles[1].get()], [3, 30]);
    });
}

/// A series with 5 counts is removed while another thread increments it
/// and the main thread scrapes. Invariant: a scrape shows the series whole
/// or not at all; afterwards it is either gone (the increment went to the
/// removed series) or a new series holding exactly that increment, never the
/// old count plus one.
#[test]
fn remove_while_observing_and_scraping() {
    model("remove_while_observing_and_scraping", 4, || {
        let registry = Arc::new(Registry::new());
        let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
        family.inc_by(["a"], 5);
        let inc = {
            let family = family.clone();
            loom::thread::spawn(move || family.inc(["a"]))
        };
        let remove = {
            let family = family.clone();
            loom::thread::spawn(move || assert!(family.remove(["a"]), "\"a\" always exists"))
        };
        let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
        let samples = sample_lines(&text);
        assert!(
            samples.is_empty()
                || matches!(
                    samples[..],
                    ["c_total{k=\"a\"} 5"
                        | "c_total{k=\"a\"} 6"
                        | "c_total{k=\"a\"} 0"
                        | "c_total{k=\"a\"} 1"]
                ),
            "{text}"
        );
        inc.join().unwrap();
        remove.join().unwrap();
        // Gone (0 on a fresh series) or the new series with exactly the
        // increment: never the removed one's count.
        let series = family.len();
        let value = family.with(["a"]).get();
        assert!(
            (series, value) == (0, 0) || (series, value) == (1, 1),
            "{series} series, value {value}"
        );
    });
}

/// A series is added (under loom the third series of the recent table:
/// the add merges it, with `a` and `c`, into the main table) while the main
/// thread scrapes. Invariant: the scrape lists `a` once and `b` once (never twice,
/// whichever tables it read), or `b` not at all if its add had not
/// returned when the scrape began; afterwards each tuple has one series
/// with exactly its count.
#[test]
fn add_while_scraping() {
    model("add_while_scraping", 3, || {
        let registry = Arc::new(Registry::new());
        let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
        family.inc_by(["a"], 5);
        family.inc_by(["c"], 2);
        let (add, added) = add_flagged(&family, "b");
        let b_returned = added.load(Acquire);
        let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
        let samples = sample_lines(&text);
        let (a, c) = ("c_total{k=\"a\"} 5", "c_total{k=\"c\"} 2");
        // An add that returned before the scrape began is in it.
        assert!(
            matches!(samples[..], [x, "c_total{k=\"b\"} 0" | "c_total{k=\"b\"} 1", y] if x == a && y == c)
                || (samples[..] == [a, c] && !b_returned),
            "{text}"
        );
        add.join().unwrap();
        assert_eq!(family.len(), 3);
        assert_eq!(family.with(["a"]).get(), 5);
        assert_eq!(family.with(["b"]).get(), 1);
    });
}

/// A series is counted while another thread's add merges it (with `c`
/// and the new one) from the recent table into the main one. Invariant: the count
/// lands in the one series of its tuple, whichever tables the lookup read.
#[test]
fn count_while_a_merge_moves_the_series() {
    model("count_while_a_merge_moves_the_series", 3, || {
        let registry = Registry::new();
        let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
        family.inc_by(["a"], 5);
        family.inc(["c"]);
        let add = {
            let family = family.clone();
            loom::thread::spawn(move || family.inc(["b"]))
        };
        family.inc(["a"]);
        add.join().unwrap();
        assert_eq!(family.len(), 3);
        assert_eq!(family.with(["a"]).get(), 6);
        assert_eq!(family.with(["b"]).get(), 1);
    });
}

/// A scrape that finds the family unchanged since the previous one merges
/// its recent series into the main table (it settles them), while another
/// thread counts one of them and a third adds a series, whose add merges
/// too (under loom every third recent series does). The scrape either
/// settles (it took the writers' lock first, with the family unchanged),
/// leaves it to a writer at work, or lists the changed family anew.
/// Invariant: the scrape shows `a` whole (5 or 6), `b` as 2, and `c` once
/// (0 or 1) or not at all if its add had not returned when the scrape
/// began; the
/// count lands in the one series of `a`, whichever tables its lookup read;
/// afterwards each tuple has one series with exactly its count.
#[test]
fn a_quiet_scrape_settles_while_counting_and_adding() {
    model(
        "a_quiet_scrape_settles_while_counting_and_adding",
        2,
        || {
            let registry = Arc::new(Registry::new());
            let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
            family.inc_by(["a"], 5);
            family.inc_by(["b"], 2);
            let mut encoder = TextEncoder::new();
            // Lists and sorts `a` and `b`, both in the recent cells.
            encoder.encode(&registry);
            let count = {
                let family = family.clone();
                loom::thread::spawn(move || family.inc(["a"]))
            };
            let (add, added) = add_flagged(&family, "c");
            let c_returned = added.load(Acquire);
            let text = String::from_utf8(encoder.encode(&registry).to_vec()).unwrap();
            let samples = sample_lines(&text);
            let a = ["c_total{k=\"a\"} 5", "c_total{k=\"a\"} 6"];
            let b = "c_total{k=\"b\"} 2";
            // An add publishes its series, then counts into it.
            let c = ["c_total{k=\"c\"} 0", "c_total{k=\"c\"} 1"];
            assert!(
                matches!(samples[..], [x, y, z] if a.contains(&x) && y == b && c.contains(&z))
                    || (matches!(samples[..], [x, y] if a.contains(&x) && y == b) && !c_returned),
                "{text}"
            );
            count.join().unwrap();
            add.join().unwrap();
            assert_eq!(family.len(), 3);
            let text = String::from_utf8(encoder.encode(&registry).to_vec()).unwrap();
            let samples = sample_lines(&text);
            assert_eq!(samples, [a[1], b, c[1]], "{text}");
        },
    );
}

/// A series of the main table is removed while another thread increments
/// it and the main thread scrapes. Under loom the first three adds merge,
/// so `a`, `b` and `c` are in the main table and `d`, `e` in the recent
/// one. `c` is removed first; the removal of `a` marks it removed and
/// leaves it in the main table; the removal of `b` after it, the third,
/// merges (a new main table of `d` and `e`). Invariant: a lookup of `a`
/// right after its removal finds a new series (holding the increment or
/// not), never the removed one; the scrape shows `d` and `e` whole, `a`
/// and `b` whole or not at all, never `c`; afterwards `a` is the new
/// series, with the increment or not (it went to the removed one), never
/// the old count plus one, and `d` and `e` keep their counts.
#[test]
fn remove_from_the_main_table_while_observing_and_scraping() {
    model(
        "remove_from_the_main_table_while_observing_and_scraping",
        3,
        || {
            let registry = Arc::new(Registry::new());
            let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
            for (k, n) in [("a", 5), ("b", 1), ("c", 1), ("d", 2), ("e", 3)] {
                family.inc_by([k], n);
            }
            assert!(family.remove(["c"]));
            let inc = {
                let family = family.clone();
                loom::thread::spawn(move || family.inc(["a"]))
            };
            let remove = {
                let family = family.clone();
                loom::thread::spawn(move || {
                    assert!(family.remove(["a"]), "\"a\" always exists");
                    let a = family.with(["a"]).get();
                    assert!(a <= 1, "the removed series found again: {a}");
                    assert!(family.remove(["b"]), "\"b\" always exists");
                })
            };
            let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
            let samples = sample_lines(&text);
            let a = |l: &str| {
                ["5", "6", "0", "1"]
                    .map(|v| format!("c_total{{k=\"a\"}} {v}"))
                    .contains(&l.to_owned())
            };
            let b = "c_total{k=\"b\"} 1";
            let rest = ["c_total{k=\"d\"} 2", "c_total{k=\"e\"} 3"];
            assert!(
                match samples[..] {
                    [x, y, d, e] => a(x) && y == b && [d, e] == rest,
                    [x, d, e] => (a(x) || x == b) && [d, e] == rest,
                    [d, e] => [d, e] == rest,
                    _ => false,
                },
                "{text}"
            );
            inc.join().unwrap();
            remove.join().unwrap();
            let series = family.len();
            let value = family.with(["a"]).get();
            assert!(series == 3 && value <= 1, "{series} series, value {value}");
            assert_eq!((family.with(["d"]).get(), family.with(["e"]).get()), (2, 3));
        },
    );
}

/// Two series of the main table are removed one after the other (marked,
/// left in the table) while the main thread scrapes: `a` then `b`, and `b`
/// then `a` (so that one of the two orders is against the order the
/// scrape reads the marks in). Invariant: the scrape is one state of the
/// family: all three series, or without the first removed, or without
/// both; never without the second but with the first, though the scrape
/// may read the first's mark before its removal and the second's after.
#[test]
fn a_scrape_sees_one_state_of_removals() {
    for (first, second) in [("a", "b"), ("b", "a")] {
        model("a_scrape_sees_one_state_of_removals", 3, move || {
            let registry = Arc::new(Registry::new());
            let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
            for k in ["a", "b", "c"] {
                family.inc([k]);
            }
            let remove = {
                let family = family.clone();
                loom::thread::spawn(move || {
                    assert!(family.remove([first]) && family.remove([second]));
                })
            };
            let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
            let samples = sample_lines(&text);
            let line = |k: &str| format!("c_total{{k=\"{k}\"}} 1");
            let (a, b, c) = (line("a"), line("b"), line("c"));
            let without_first = if first == "a" { &b } else { &a };
            let states = [vec![&*a, &*b, &*c], vec![&**without_first, &*c], vec![&*c]];
            assert!(states.contains(&samples), "{first} then {second}: {text}");
            remove.join().unwrap();
            assert_eq!(family.len(), 1);
        });
    }
}

/// `retain` removes `a` (of the main table) and `d` (of the recent one) in
/// one change while another thread increments `d`. Invariant: the two
/// go together, and afterwards `d` is gone (the increment went to the
/// removed series) or a new series holding exactly the increment, never
/// the old count plus one; `b` and `c` keep theirs.
#[test]
fn retain_while_observing() {
    model("retain_while_observing", 3, || {
        let registry = Registry::new();
        let family = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
        for (k, n) in [("a", 5), ("b", 1), ("c", 1), ("d", 2)] {
            family.inc_by([k], n);
        }
        let inc = {
            let family = family.clone();
            loom::thread::spawn(move || family.inc(["d"]))
        };
        let removed = family.retain(|s| !matches!(s.values().next(), Some("a" | "d")));
        assert_eq!(removed, 2);
        inc.join().unwrap();
        let series = family.len();
        let (a, d) = (family.with(["a"]).get(), family.with(["d"]).get());
        assert!(
            (series, a, d) == (2, 0, 0) || (series, a, d) == (3, 0, 1),
            "{series} series, a {a}, d {d}"
        );
        assert_eq!((family.with(["b"]).get(), family.with(["c"]).get()), (1, 1));
    });
}

/// A collector family is registered while the main thread scrapes.
/// Invariant: the scrape has the first family whole, and the new one whole
/// or not at all.
#[test]
fn register_collector_while_scraping() {
    model("register_collector_while_scraping", 3, || {
        let registry = Arc::new(Registry::new());
        let first = registry.gauge(Opts::new("g", "G."), []).unwrap();
        first.set([], 2.0);
        let adder = {
            let registry = Arc::clone(&registry);
            loom::thread::spawn(move || {
                registry
                    .gauge_fn(Opts::new("q", "Q."), ["n"], |out| out.sample(["x"], 7.0))
                    .unwrap();
            })
        };
        let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
        let first = "# HELP g G.\n# TYPE g gauge\ng 2\n";
        let second = "# HELP q Q.\n# TYPE q gauge\nq{n=\"x\"} 7\n";
        assert!(
            text == first || text == format!("{first}{second}"),
            "{text}"
        );
        adder.join().unwrap();
        let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
        assert_eq!(text, format!("{first}{second}"));
    });
}

/// Two observers: one records 0.75 (classic bucket 0, native bucket 0)
/// then 3.0 (classic `+Inf`, native bucket 2), so that a read may meet it
/// between the two; the other records 3.0. The main thread reads twice.
/// Invariant: in each read the classic counts, the native counts and the
/// sum are exactly those of the same observations, every observation that
/// returned before the read began is in it, and the second read has no
/// less than the first.
#[test]
fn native_reads_are_exact_in_both_ladders() {
    model("native_reads_are_exact_in_both_ladders", 3, || {
        let registry = Registry::new();
        // Schema 0, magnitudes (0.5, 4]: three native buckets.
        let family = registry
            .native_histogram(
                Opts::new("h", "H."),
                [],
                &[1.0],
                Native::new(0.5, 4.0).schema(0),
            )
            .unwrap();
        let handle = family.with([]);
        let returned = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let work: [&[f64]; 2] = [&[0.75, 3.0], &[3.0]];
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let (h, returned) = (handle.clone(), Arc::clone(&returned));
                loom::thread::spawn(move || {
                    for &v in work[i] {
                        h.observe(v);
                    }
                    returned[i].store(true, Release);
                })
            })
            .collect();
        loom::thread::yield_now();
        let before = [returned[0].load(Acquire), returned[1].load(Acquire)];
        let first = handle.get();
        let c = first.cumulative();
        let (small, large) = (c[0], c[1] - c[0]);
        // 0.75 is in native bucket 0 ((0.5, 1]), 3.0 in bucket 2 ((2, 4]).
        let native = |key: i32| {
            first
                .positive()
                .iter()
                .find(|b| b.0 == key)
                .map_or(0, |b| b.1)
        };
        assert_eq!(
            (small, large),
            (native(0), native(2)),
            "the ladders hold different observations"
        );
        assert_eq!(
            first.sum(),
            0.75 * small as f64 + 3.0 * large as f64,
            "sum is not exactly the counted observations"
        );
        assert!(
            !before[0] || (small == 1 && large >= 1),
            "returned but missing"
        );
        assert!(!before[1] || large >= 1, "returned but missing");
        let second = handle.get();
        assert!(second.count() >= first.count());
        for t in threads {
            t.join().unwrap();
        }
        let end = handle.get();
        assert_eq!(end.positive(), [(0, 1), (2, 2)]);
        assert_eq!((end.cumulative(), end.sum()), (vec![1, 3], 6.75));
    });
}
