//! A steady-state scrape and the observe path perform no heap allocation.
//!
//! A counting global allocator counts the allocations made by the current
//! thread only (other test threads may allocate meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use rm_metrics::{AlertCounts, BuildInfo, HostRow, JobRegistry, Renderer, Snapshot};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread-locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f`.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCS.with(|n| n.get())
}

fn fleet(n: usize) -> (Vec<String>, Vec<String>) {
    // Ids deliberately out of order, so the renderer has to sort.
    let ids = (0..n)
        .map(|i| format!("host-{:05}", (i * 7919) % n))
        .collect();
    let names = (0..n)
        .map(|i| format!("node{i}.example.org \"ü\"\n"))
        .collect();
    (ids, names)
}

/// Host rows over `ids` and `names`, every optional value present on some.
fn rows<'a>(ids: &'a [String], names: &'a [String]) -> Vec<HostRow<'a>> {
    ids.iter()
        .zip(names)
        .enumerate()
        .map(|(i, (id, name))| HostRow {
            id,
            name,
            online: i % 3 != 0,
            last_backup_unix: (i % 4 != 0).then_some(1_767_225_600 + i as i64),
            last_backup_succeeded: (i % 4 != 0).then_some(i % 5 != 0),
            repo_size_bytes: (i % 2 == 0).then_some((i as i64) << 30),
            snapshot_count: i as u64,
            open_alert_count: (i % 7) as u64,
            repo_status: ["ready", "", "init_failed"][i % 3],
        })
        .collect()
}

#[test]
fn the_allocator_counts() {
    // Guard against a test that cannot fail: the counter must see this.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}

#[test]
fn steady_state_render_allocates_nothing() {
    let registry = JobRegistry::new();
    for kind in ["backup", "check", "prune", "unlock"] {
        for status in ["succeeded", "failed", "canceled"] {
            registry.observe(kind, status, Duration::from_secs(7));
        }
    }
    let (ids, names) = fleet(1000);
    let hosts = rows(&ids, &names);
    let snapshot = Snapshot {
        hosts: &hosts,
        alerts: AlertCounts {
            info: 1,
            warning: 2,
            critical: 3,
        },
        build: BuildInfo {
            version: "1.0.0",
            commit: "abc",
            go_version: "rustc 1.95",
        },
    };

    // The renderer writes each scrape into one of two buffers and copies
    // unchanged lines from the other, so both are sized after two scrapes.
    let mut renderer = Renderer::new();
    let first = renderer.render(&registry, &snapshot).to_vec();
    assert!(first.len() > 100_000);
    assert_eq!(renderer.render(&registry, &snapshot), first);

    let n = allocations(|| {
        for round in 0..20u64 {
            // Observations between scrapes change counts and sums, as in life.
            registry.observe("backup", "succeeded", Duration::from_millis(1234 * round));
            let body = renderer.render(&registry, &snapshot);
            assert!(body.len() >= first.len() - 64);
        }
    });
    assert_eq!(n, 0, "steady-state renders allocated {n} times");
}

/// The same hosts with values that move between scrapes, a growing share
/// of them (the renderer notes each family's changed lines): no allocation
/// once the host count is steady. Each value moves to one of as many
/// digits, so the output keeps its length and its buffers their size.
#[test]
fn renders_whose_values_change_allocate_nothing() {
    let registry = JobRegistry::new();
    let (ids, names) = fleet(1000);
    let scrapes: Vec<Vec<HostRow<'_>>> = (0..20u64)
        .map(|round| {
            let mut hosts = rows(&ids, &names);
            for (i, h) in hosts.iter_mut().enumerate() {
                // Round r moves the values of hosts with i % 20 < r, back
                // and forth: more hosts every round, up to all of them.
                if (i as u64 % 20) < round && round % 2 == 1 {
                    h.online = !h.online;
                    h.snapshot_count ^= 1; // as many digits
                    h.open_alert_count = (h.open_alert_count + 1) % 10;
                }
            }
            hosts
        })
        .collect();
    let snapshot = |hosts| Snapshot {
        hosts,
        ..Snapshot::default()
    };
    let want: Vec<Vec<u8>> = scrapes
        .iter()
        .map(|hosts| Renderer::new().render(&registry, &snapshot(hosts)).to_vec())
        .collect();
    let mut renderer = Renderer::new();
    // Two scrapes size both buffers (the second copies from the first).
    for _ in 0..2 {
        renderer.render(&registry, &snapshot(&scrapes[0]));
    }
    let mut same = 0;
    let n = allocations(|| {
        for (hosts, want) in scrapes.iter().zip(&want) {
            same += usize::from(renderer.render(&registry, &snapshot(hosts)) == &want[..]);
        }
    });
    assert_eq!(
        same,
        scrapes.len(),
        "a reused render differs from a fresh one"
    );
    assert_eq!(n, 0, "renders of changing values allocated {n} times");
}

#[test]
fn observing_existing_pairs_allocates_nothing() {
    let registry = JobRegistry::new();
    let handle = registry.handle("check", "failed");
    registry.observe("backup", "succeeded", Duration::ZERO); // creates the pair
    let n = allocations(|| {
        for i in 0..10_000u64 {
            registry.observe("backup", "succeeded", Duration::from_nanos(i * 1_000_003));
            registry.observe_nanos("backup", "succeeded", -1);
            handle.observe(Duration::from_secs(i));
        }
    });
    assert_eq!(n, 0, "observing allocated {n} times");
    assert_eq!(handle.get().count(), 10_000);
}

/// A fresh thread's first observation is counted, and what it allocates is
/// what the README says: once per thread, arc-swap's per-thread debt node
/// (192 bytes; arc-swap reuses one left by an exited thread when it can),
/// on the first load of the family's index, and the thread's memo table for
/// duration histograms (512 entries, 40 KiB); and, as the main thread
/// recorded into the pair first, this thread's shard of it and the pair's
/// table of its slots' shards (neither, if every slot is taken by
/// other tests' threads: the thread then records into the shared shard).
/// The slot is in thread-local storage and allocates nothing. The first
/// observation into a series no thread recorded into yet takes its first
/// shard and allocates nothing; every observation after the first
/// allocates nothing.
#[test]
fn a_fresh_threads_first_observation_is_counted_then_allocation_free() {
    let registry = JobRegistry::new();
    let handle = registry.handle("backup", "succeeded");
    registry.observe("check", "failed", Duration::from_secs(1)); // the pair exists
    let (first, later, first_handle) = std::thread::scope(|s| {
        s.spawn(|| {
            let first = allocations(|| {
                registry.observe("check", "failed", Duration::from_secs(2));
            });
            let first_handle = allocations(|| handle.observe(Duration::from_secs(3)));
            let later = allocations(|| {
                for i in 0..1000u64 {
                    registry.observe("check", "failed", Duration::from_millis(i));
                    handle.observe(Duration::from_millis(i));
                }
            });
            (first, later, first_handle)
        })
        .join()
        .unwrap()
    });
    println!("first labelled observation on a fresh thread: {first} allocations; first handle observation after it: {first_handle}");
    assert!(
        first <= 4,
        "{first} allocations on a thread's first observation"
    );
    assert_eq!(first_handle, 0);
    assert_eq!(later, 0, "observations after the first allocated");
    let mut counts = std::collections::BTreeMap::new();
    registry.for_each_series(|k, s, snap| {
        counts.insert((k.to_owned(), s.to_owned()), snap.count());
    });
    assert_eq!(counts[&("check".to_owned(), "failed".to_owned())], 1002);
    assert_eq!(counts[&("backup".to_owned(), "succeeded".to_owned())], 1001);
}

/// The same through a handle alone: a handle skips the label index, so a
/// thread that only ever uses a `JobHandle` allocates nothing at all.
#[test]
fn a_fresh_threads_first_handle_observation() {
    let registry = JobRegistry::new();
    let handle = registry.handle("backup", "succeeded");
    let first = std::thread::scope(|s| {
        s.spawn(|| allocations(|| handle.observe(Duration::from_secs(3))))
            .join()
            .unwrap()
    });
    println!("first handle observation on a fresh thread: {first} allocations");
    assert_eq!(first, 0, "{first} allocations");
    assert_eq!(handle.get().count(), 1);
}

#[test]
fn families_observe_and_encode_allocate_nothing_in_steady_state() {
    use rm_metrics::{Opts, Registry, TextEncoder};
    let registry = Registry::new();
    let requests = registry
        .counter(
            Opts::new("requests", "Requests.").const_label("svc", "api"),
            ["method", "code"],
        )
        .unwrap();
    let depth = registry.gauge(Opts::new("depth", "Depth."), []).unwrap();
    let latency = registry
        .histogram(
            Opts::new("latency_seconds", "Latency."),
            ["route"],
            &[0.01, 0.1, 1.0, 1e6],
        )
        .unwrap();
    registry
        .gauge_fn(Opts::new("queue", "Queue."), ["name"], |out| {
            out.sample(["mail"], 3.5);
        })
        .unwrap();
    let routes: Vec<String> = (0..20).map(|i| format!("/route/{i}")).collect();
    let mut encoder = TextEncoder::new();
    let mut round = || {
        for (i, r) in routes.iter().enumerate() {
            requests.inc(["GET", if i % 2 == 0 { "200" } else { "500" }]);
            depth.add([], 1.5);
            latency.observe([r], i as f64 * 0.013);
        }
        std::hint::black_box(encoder.encode(&registry).len());
    };
    // First rounds: series, memo tables and buffers are made.
    round();
    round();
    assert_eq!(allocations(&mut round), 0);
    // The output is what it should be.
    let text = String::from_utf8(encoder.encode(&registry).to_vec()).unwrap();
    assert!(
        text.contains("requests_total{svc=\"api\",method=\"GET\",code=\"200\"} 30\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_bucket{route=\"/route/19\",le=\"1e+06\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("queue{name=\"mail\"} 3.5\n"), "{text}");
}

#[test]
fn openmetrics_with_exemplars_allocates_nothing_in_steady_state() {
    use rm_metrics::{Exemplar, Format, OpenMetricsEncoder, Opts, Registry};
    let registry = Registry::new();
    let requests = registry
        .counter(Opts::new("requests", "Requests."), ["code"])
        .unwrap();
    let latency = registry
        .histogram(
            Opts::new("latency_seconds", "Latency.").unit("seconds"),
            ["route"],
            &[0.01, 0.1, 1.0],
        )
        .unwrap();
    let jobs = JobRegistry::new();
    let routes: Vec<String> = (0..20).map(|i| format!("/route/{i}")).collect();
    // Fresh trace ids every round; some exemplars longer than a cell's
    // inline room, which allocates its long block once.
    let ids: Vec<String> = (0..64).map(|i| format!("{i:032x}")).collect();
    let long = "s".repeat(60);
    let mut encoder = OpenMetricsEncoder::new();
    let mut renderer = Renderer::with_format(Format::OpenMetrics);
    let mut n = 0usize;
    let mut round = || {
        for (i, r) in routes.iter().enumerate() {
            n += 1;
            let id = ids[n % ids.len()].as_str();
            let pairs = [
                ("trace_id", id),
                ("span", if n % 3 == 0 { &long[..] } else { "s" }),
            ];
            let exemplar = Exemplar::new(&pairs).unwrap();
            requests.inc_by_with_exemplar([if i % 2 == 0 { "200" } else { "500" }], 1, &exemplar);
            latency.observe_with_exemplar([r], i as f64 * 0.013, &exemplar);
            jobs.observe_with_exemplar(
                "backup",
                "failed",
                Duration::from_millis(n as u64),
                &exemplar,
            );
        }
        std::hint::black_box(encoder.encode(&registry).len());
        std::hint::black_box(renderer.render(&jobs, &Snapshot::default()).len());
    };
    // First rounds: series, exemplar cells and buffers are made.
    round();
    round();
    round();
    assert_eq!(allocations(&mut round), 0);
    let text = String::from_utf8(encoder.encode(&registry).to_vec()).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("requests_total{code=\"200\"} 40 # {trace_id=\""),
        "{text}"
    );
    assert!(text.contains("# UNIT latency_seconds seconds\n"), "{text}");
    let jobs_text =
        String::from_utf8(renderer.render(&jobs, &Snapshot::default()).to_vec()).unwrap();
    assert!(jobs_text.contains(",le=\"1.0\"} "), "{jobs_text}");
    assert_eq!(jobs_text.matches(" # {trace_id=").count(), 1, "{jobs_text}");
}

#[test]
fn protobuf_with_native_histograms_allocates_nothing_in_steady_state() {
    use rm_metrics::{Exemplar, Format, Native, Opts, ProtobufEncoder, Registry};
    let ids_hex: Vec<String> = (0..64).map(|i| format!("{i:032x}")).collect();
    let registry = Registry::new();
    let requests = registry
        .counter(Opts::new("requests", "Requests."), ["code"])
        .unwrap();
    let latency = registry
        .native_histogram(
            Opts::new("latency_seconds", "Latency."),
            ["route"],
            &[0.01, 0.1, 1.0],
            Native::new(1e-4, 1e4).negative().max_buckets(20),
        )
        .unwrap();
    let jobs = JobRegistry::with_native(Native::new(0.001, 1_048_576.0)).unwrap();
    let routes: Vec<String> = (0..20).map(|i| format!("/route/{i}")).collect();
    let (ids, names) = fleet(200);
    let hosts = rows(&ids, &names);
    let snapshot = Snapshot {
        hosts: &hosts,
        ..Snapshot::default()
    };
    let mut encoder = ProtobufEncoder::new();
    let mut renderer = Renderer::with_format(Format::Protobuf);
    let mut n = 0u64;
    let mut round = || {
        for r in &routes {
            n += 1;
            // Exemplars with one or two labels in turn: the protobuf
            // writer's pooled messages must not churn.
            let id = ids_hex[(n % 64) as usize].as_str();
            let one = [("trace_id", id)];
            let two = [("trace_id", id), ("span", "s\"1")];
            let exemplar = Exemplar::new(if n % 3 == 0 { &two[..] } else { &one[..] }).unwrap();
            requests.inc_by_with_exemplar([if n % 2 == 0 { "200" } else { "500" }], 1, &exemplar);
            jobs.observe_with_exemplar(
                "check",
                "failed",
                Duration::from_millis(n % 900),
                &exemplar,
            );
            // 400 distinct values over 40 buckets or so: the reduction to
            // 20 runs on every read.
            let v = 1e-3 * 1.01f64.powi((n % 400) as i32);
            latency.observe([r], if n % 5 == 0 { -v } else { v });
            jobs.observe(
                "backup",
                "succeeded",
                Duration::from_millis((n % 1000) * 37),
            );
        }
        std::hint::black_box(encoder.encode(&registry).len());
        std::hint::black_box(renderer.render(&jobs, &snapshot).len());
    };
    // 25 rounds make every series and bucket, and size every buffer.
    for _ in 0..25 {
        round();
    }
    assert_eq!(allocations(&mut round), 0);
    assert!(encoder.encode(&registry).len() > 1000);
}
