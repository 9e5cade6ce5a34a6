//! rm-metrics against the Rust metrics crates users already know, on one
//! workload, in one criterion run: `cargo bench --bench compare`.
//!
//! * `observe/*`: one observation per iteration, labels cycling over
//!   4 kinds × 2 statuses, durations cycling over every bucket. `floor` is
//!   the physical floor measured in the same run: the same bucket search and
//!   one relaxed `fetch_add` on an uncontended `AtomicU64`; `floor_owned`
//!   the single-writer floor: the same search, then one relaxed load and
//!   store of a counter only this thread writes; `floor_owned_sum` that and
//!   a sum only this thread writes (the least a histogram keeping `_sum`
//!   writes); `floor_owned_exact` that, in one shard, with the readers'
//!   flag and observation count that make this crate's reads exact;
//!   `floor_lookup*` one hash-map lookup (hashbrown, foldhash) of
//!   the pair, then `floor`'s increment: the floor of finding a series by
//!   its label strings. `*_owned8`: the 8 pairs
//!   read from 1024 job records that own their label `String`s (as a
//!   service's records do); `*_wide256`: 256 distinct pairs cycling;
//!   `*_wide2048`: 2,048 distinct pairs picked at random.
//! * `ladder/*/N`: one histogram handle, values spread over a ladder of N
//!   bounds: the bucket search alone.
//! * `contended/*/T`: T threads (1 or 2) each make 10,000 observations into
//!   the *same* series per iteration; throughput in observations.
//! * `render/*/N`: N hosts (six per-host gauge families plus repo status)
//!   and 24 histogram rows encoded to text.
//! * `add/*/N`: a fresh counter family, then N new label values, each
//!   counted once (N series added one by one).
//! * `remove/*/N`: a family of N series, then every tenth removed one by
//!   one.
//!
//! BENCHMARKS.md has the numbers and how they were taken.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rm_metrics::{
    AlertCounts, BuildInfo, Exemplar, Format, HostRow, JobRegistry, Renderer, Snapshot,
    BUCKET_BOUNDS_SECONDS,
};
use rm_metrics_benches::{
    fleet, histogram_rows, observation, reference, with_workers, Host, DURATIONS, KINDS, STATUSES,
};

// ---------------------------------------------------------------------------
// observe

/// `observation(i)`'s (kind, status) as typed labels: indexes into
/// `KINDS` and `STATUSES`, as an enum pair would be.
#[derive(Clone, Copy)]
struct JobLabels(usize, usize);

impl rm_metrics::FixedLabels<2> for JobLabels {
    const CARDINALITY: usize = KINDS.len() * STATUSES.len();
    fn index(self) -> usize {
        self.0 * STATUSES.len() + self.1
    }
    fn values(index: usize) -> [&'static str; 2] {
        [
            KINDS[index / STATUSES.len()],
            STATUSES[index % STATUSES.len()],
        ]
    }
}

/// The bounds in nanoseconds, and the search rm-metrics uses (count of
/// bounds below the value), for the floor.
fn bucket_of(d: Duration) -> usize {
    const B: [u64; 9] = {
        let mut b = [0; 9];
        let mut i = 0;
        while i < 9 {
            b[i] = BUCKET_BOUNDS_SECONDS[i] as u64 * 1_000_000_000;
            i += 1;
        }
        b
    };
    let ns = d.as_nanos().min(i64::MAX as u128) as u64;
    B.iter().map(|&b| usize::from(ns > b)).sum()
}

mod peers {
    use prometheus_client::encoding::EncodeLabelSet;

    pub const BOUNDS: [f64; 9] = rm_metrics::BUCKET_BOUNDS_SECONDS;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct JobLabels {
        pub kind: &'static str,
        pub status: &'static str,
    }

    pub fn client_histograms() -> prometheus_client::metrics::family::Family<
        JobLabels,
        prometheus_client::metrics::histogram::Histogram,
    > {
        prometheus_client::metrics::family::Family::new_with_constructor(|| {
            prometheus_client::metrics::histogram::Histogram::new(BOUNDS)
        })
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Trace {
        pub trace_id: String,
    }

    pub fn client_exemplar_histogram(
    ) -> prometheus_client::metrics::exemplar::HistogramWithExemplars<Trace> {
        prometheus_client::metrics::exemplar::HistogramWithExemplars::new(BOUNDS.iter().copied())
    }

    pub fn prometheus_histograms() -> prometheus::HistogramVec {
        prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("rm_job_duration_seconds", "Job durations.")
                .buckets(BOUNDS.to_vec()),
            &["kind", "status"],
        )
        .unwrap()
    }
}

/// A `metrics` recorder that does the least a recorder can: every key gets
/// the same one-counter histogram, with no lookup.
mod facade_floor {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use metrics::{
        Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString,
        Unit,
    };

    #[derive(Default)]
    pub struct Count(AtomicU64);

    impl HistogramFn for Count {
        fn record(&self, _: f64) {
            // Relaxed: a count read by nobody; the floor of a recording.
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[derive(Default)]
    pub struct FacadeFloor(Arc<Count>);

    impl Recorder for FacadeFloor {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::clone(&self.0))
        }
    }
}

/// The `floor_lookup*` ids: series found by a hash-map lookup of their
/// (kind, status) strings, each series `floor`'s bucket counters.
struct LookupFloor<'a> {
    index: hashbrown::HashMap<(&'a str, &'a str), usize>,
    buckets: Vec<[AtomicU64; 10]>,
}

impl<'a> LookupFloor<'a> {
    fn new(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut index = hashbrown::HashMap::new();
        for pair in pairs {
            let next = index.len();
            index.entry(pair).or_insert(next);
        }
        let buckets = (0..index.len()).map(|_| Default::default()).collect();
        LookupFloor { index, buckets }
    }

    #[inline]
    fn inc(&self, kind: &str, status: &str, d: Duration) {
        if let Some(&j) = self.index.get(&(kind, status)) {
            // Relaxed: as in `floor`.
            self.buckets[j][bucket_of(d)].fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("observe");

    let counters: [AtomicU64; 10] = Default::default();
    let mut i = 0usize;
    g.bench_function("floor", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            i = i.wrapping_add(1);
            // Relaxed: the floor is one uncontended atomic increment.
            counters[bucket_of(black_box(d))].fetch_add(1, Ordering::Relaxed);
        })
    });

    let owned: [AtomicU64; 10] = Default::default();
    g.bench_function("floor_owned", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            i = i.wrapping_add(1);
            let c = &owned[bucket_of(black_box(d))];
            // Relaxed: one writer; the single-writer floor is a load and a store.
            c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        })
    });

    // What any histogram that keeps a `_sum` writes at least: `floor_owned`,
    // then one more load, add and store, of a sum only this thread writes.
    let owned_sum = AtomicU64::new(0);
    g.bench_function("floor_owned_sum", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            i = i.wrapping_add(1);
            let d = black_box(d);
            let c = &owned[bucket_of(d)];
            // Relaxed, both: one writer, as in `floor_owned`.
            c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            let ns = d.as_nanos() as u64;
            owned_sum.store(owned_sum.load(Ordering::Relaxed) + ns, Ordering::Relaxed);
        })
    });
    // What a single-writer histogram whose reads are exact writes at least,
    // in this crate's protocol (`core::owned`): `floor_owned_sum`'s words in
    // one shard, a readers' flag loaded first and an observation count
    // stored last, by which a reader checks that the buckets it read add up
    // to the count it read. A reader's flag sends the writer to a shared
    // counter, as it sends rm-metrics' owner to the shared shard.
    let shard: crossbeam_utils::CachePadded<[AtomicU64; 16]> = Default::default();
    let aside = AtomicU64::new(0);
    g.bench_function("floor_owned_exact", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            i = i.wrapping_add(1);
            let d = black_box(d);
            let [count, readers, sum, buckets @ ..] = &*shard;
            // Relaxed: nothing is published with the flag (as in `core::owned`).
            if readers.load(Ordering::Relaxed) != 0 {
                // Relaxed: a counter of many writers.
                aside.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let c = &buckets[bucket_of(d)];
            // Relaxed: one writer, as in `floor_owned`.
            c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            let ns = d.as_nanos() as u64;
            // Relaxed: one writer.
            sum.store(sum.load(Ordering::Relaxed) + ns, Ordering::Relaxed);
            // Relaxed load: one writer. Release store: a reader that loads
            // the count with Acquire sees the bucket and sum stores before it.
            count.store(count.load(Ordering::Relaxed) + 1, Ordering::Release);
        })
    });
    // The floor of finding a series by its label strings: one lookup of the
    // (kind, status) pair in a hash map (hashbrown, foldhash), then `floor`'s
    // increment in that series' bucket. No histogram, no sharding, no
    // removal: a bound on any design that hashes the strings it is given.
    let lookups = LookupFloor::new((0..8).map(|j| (observation(j).0, observation(j).1)));
    g.bench_function("floor_lookup8", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            i = i.wrapping_add(1);
            lookups.inc(black_box(k), black_box(s), black_box(d));
        })
    });

    let registry = JobRegistry::new();
    g.bench_function("rm_metrics_labelled", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            i = i.wrapping_add(1);
            registry.observe(black_box(k), black_box(s), black_box(d));
        })
    });
    let handles: Vec<_> = (0..8)
        .map(|j| registry.handle(observation(j).0, observation(j).1))
        .collect();
    g.bench_function("rm_metrics_handle", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            handles[i % 8].observe(black_box(d));
            i = i.wrapping_add(1);
        })
    });

    // Native buckets (schema 3, 1 ms to 12 days) beside the same classic
    // ladder: the restic-manager preset's handles with native buckets on,
    // the same call as `rm_metrics_handle`; two counters an observation.
    let native_jobs =
        JobRegistry::with_native(rm_metrics::Native::new(0.001, 1_048_576.0)).unwrap();
    let native_handles: Vec<_> = (0..8)
        .map(|j| native_jobs.handle(observation(j).0, observation(j).1))
        .collect();
    g.bench_function("rm_metrics_native", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            native_handles[i % 8].observe(black_box(d));
            i = i.wrapping_add(1);
        })
    });
    // The same through a `NativeHistogram` family, which takes `f64`
    // seconds: the caller converts each duration.
    let natives = rm_metrics::Registry::new();
    let native_family = natives
        .native_histogram(
            rm_metrics::Opts::new("job_seconds", "Jobs."),
            ["kind", "status"],
            &peers::BOUNDS,
            rm_metrics::Native::new(0.001, 1_048_576.0),
        )
        .unwrap();
    let f64_handles: Vec<_> = (0..8)
        .map(|j| native_family.with([observation(j).0, observation(j).1]))
        .collect();
    g.bench_function("rm_metrics_native_f64", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            f64_handles[i % 8].observe(black_box(d).as_secs_f64());
            i = i.wrapping_add(1);
        })
    });

    // Exemplars: a fresh trace id on every observation (1024 owned ids in
    // turn), checked by `Exemplar::new` and stored through the same handles.
    let trace_ids: Vec<String> = (0..1024u64)
        .map(|j| {
            format!(
                "{:032x}",
                u128::from(j).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            )
        })
        .collect();
    g.bench_function("rm_metrics_exemplar", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            let labels = [("trace_id", trace_ids[i % 1024].as_str())];
            if let Ok(exemplar) = Exemplar::new(black_box(&labels)) {
                handles[i % 8].observe_with_exemplar(black_box(d), &exemplar);
            }
            i = i.wrapping_add(1);
        })
    });
    // The floor of an exemplar store that any thread may make: `floor`,
    // then the latest-record protocol at its barest, on one record per
    // bucket: claim it with a compare-exchange, store the text's words
    // (`trace_id="…"`, 43 bytes: 6 words), the value and the length, and
    // release it. No validation, no escaping, no retry.
    struct Record {
        seq: AtomicU64,
        words: [AtomicU64; 8],
    }
    let records: Vec<Record> = (0..10)
        .map(|_| Record {
            seq: AtomicU64::new(0),
            words: Default::default(),
        })
        .collect();
    let text: Vec<u64> = format!("trace_id=\"{}\"", trace_ids[0])
        .as_bytes()
        .chunks(8)
        .map(|c| {
            let mut w = [0; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect();
    g.bench_function("floor_exemplar", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            i = i.wrapping_add(1);
            let bucket = bucket_of(black_box(d));
            // Relaxed: as `floor`.
            counters[bucket].fetch_add(1, Ordering::Relaxed);
            let r = &records[bucket];
            // Relaxed, then Acquire on the claim, Release on the data and
            // the release of `seq`: the orderings of `core::latest`.
            let seq = r.seq.load(Ordering::Relaxed);
            if seq & 1 == 0
                && r.seq
                    .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                for (w, &t) in r.words.iter().zip(black_box(&text)) {
                    w.store(t, Ordering::Release);
                }
                r.words[6].store(black_box(d).as_nanos() as u64, Ordering::Release);
                r.words[7].store(43, Ordering::Release);
                r.seq.store(seq + 2, Ordering::Release);
            }
        })
    });

    // The same fresh trace ids as numbers, as a tracer holds them
    // (`Exemplar::trace`: no check, the hex digits written into the cell).
    let trace_numbers: Vec<u128> = (0..1024u64)
        .map(|j| u128::from(j).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
        .collect();
    g.bench_function("rm_metrics_exemplar_trace", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            let exemplar = Exemplar::trace(black_box(trace_numbers[i % 1024]));
            handles[i % 8].observe_with_exemplar(black_box(d), &exemplar);
            i = i.wrapping_add(1);
        })
    });

    // One checked exemplar reused (a request's trace id on all its
    // observations): the store alone.
    let reused_labels = [("trace_id", trace_ids[0].as_str())];
    let reused = Exemplar::new(&reused_labels).expect("a valid exemplar");
    g.bench_function("rm_metrics_exemplar_reused", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            handles[i % 8].observe_with_exemplar(black_box(d), black_box(&reused));
            i = i.wrapping_add(1);
        })
    });
    g.bench_function("rm_metrics_exemplar_labelled", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            let labels = [("trace_id", trace_ids[i % 1024].as_str())];
            if let Ok(exemplar) = Exemplar::new(black_box(&labels)) {
                registry.observe_with_exemplar(black_box(k), black_box(s), black_box(d), &exemplar);
            }
            i = i.wrapping_add(1);
        })
    });

    // Job records that own their labels, as a service's records do: the
    // same 8 pairs, 1024 separate allocations of them.
    let jobs: Vec<(String, String, Duration)> = (0..1024)
        .map(|j| {
            let (k, s, d) = observation(j);
            (k.to_owned(), s.to_owned(), d)
        })
        .collect();
    g.bench_function("rm_metrics_owned8", |b| {
        b.iter(|| {
            let (k, s, d) = &jobs[i % 1024];
            i = i.wrapping_add(1);
            registry.observe(black_box(k), black_box(s), black_box(*d));
        })
    });
    g.bench_function("floor_lookup_owned8", |b| {
        b.iter(|| {
            let (k, s, d) = &jobs[i % 1024];
            i = i.wrapping_add(1);
            lookups.inc(black_box(k), black_box(s), black_box(*d));
        })
    });
    // 256 distinct (kind, status) pairs, 16 × 16, owned strings.
    let wide: Vec<(String, String)> = (0..256)
        .map(|j| (format!("kind-{}", j % 16), format!("status-{}", j / 16)))
        .collect();
    let wide_lookups = LookupFloor::new(wide.iter().map(|(k, s)| (k.as_str(), s.as_str())));
    g.bench_function("floor_lookup_wide256", |b| {
        b.iter(|| {
            let (k, s) = &wide[i % 256];
            let d = DURATIONS[i % DURATIONS.len()];
            i = i.wrapping_add(1);
            wide_lookups.inc(black_box(k), black_box(s), black_box(d));
        })
    });
    let wide_registry = JobRegistry::new();
    g.bench_function("rm_metrics_wide256", |b| {
        b.iter(|| {
            let (k, s) = &wide[i % 256];
            let d = DURATIONS[i % DURATIONS.len()];
            i = i.wrapping_add(1);
            wide_registry.observe(black_box(k), black_box(s), black_box(d));
        })
    });

    // The same workloads through the general families API: a histogram
    // family with two labels on the job ladder, observed in seconds.
    let families = rm_metrics::Registry::new();
    let family = families
        .histogram(
            rm_metrics::Opts::new("job_seconds", "Jobs."),
            ["kind", "status"],
            &BUCKET_BOUNDS_SECONDS,
        )
        .unwrap();
    g.bench_function("family_labelled", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            i = i.wrapping_add(1);
            family.observe([black_box(k), black_box(s)], black_box(d).as_secs_f64());
        })
    });
    let family_handles: Vec<_> = (0..8)
        .map(|j| family.with([observation(j).0, observation(j).1]))
        .collect();
    g.bench_function("family_handle", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            family_handles[i % 8].observe(black_box(d).as_secs_f64());
            i = i.wrapping_add(1);
        })
    });
    // The same family through typed labels (`Family::fixed`): the pair as
    // two enum indexes, its series found in a dense array, no hashing.
    let family_fixed = family.fixed::<JobLabels>();
    g.bench_function("family_fixed8", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            let labels = JobLabels(i % 4, (i / 4) % 2);
            i = i.wrapping_add(1);
            family_fixed
                .get(black_box(labels))
                .observe(black_box(d).as_secs_f64());
        })
    });
    g.bench_function("family_owned8", |b| {
        b.iter(|| {
            let (k, s, d) = &jobs[i % 1024];
            i = i.wrapping_add(1);
            family.observe([black_box(k), black_box(s)], black_box(*d).as_secs_f64());
        })
    });
    // Working sets of owned pairs: 256 cycling (the memo holds them all),
    // and 2,048 picked at random (a fixed sequence of 4,096 picks), four
    // times what a thread's memo holds.
    wide_rows(&mut g, "wide256", &wide, |i| i % 256, &family);
    let wider: Vec<(String, String)> = (0..2048)
        .map(|j| (format!("kind-{}", j % 64), format!("status-{}", j / 64)))
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let picks: Vec<usize> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize % wider.len()
        })
        .collect();
    let wider_family = families
        .histogram(
            rm_metrics::Opts::new("wide_job_seconds", "Jobs.").max_series(4096),
            ["kind", "status"],
            &BUCKET_BOUNDS_SECONDS,
        )
        .unwrap();
    wide_rows(
        &mut g,
        "wide2048",
        &wider,
        |i| picks[i % 4096],
        &wider_family,
    );

    let vec = peers::prometheus_histograms();
    g.bench_function("prometheus_labelled", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            i = i.wrapping_add(1);
            vec.with_label_values(&[black_box(k), black_box(s)])
                .observe(black_box(d).as_secs_f64());
        })
    });
    let handles: Vec<_> = (0..8)
        .map(|j| vec.with_label_values(&[observation(j).0, observation(j).1]))
        .collect();
    g.bench_function("prometheus_handle", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            handles[i % 8].observe(black_box(d).as_secs_f64());
            i = i.wrapping_add(1);
        })
    });

    let family = peers::client_histograms();
    g.bench_function("prometheus_client_labelled", |b| {
        b.iter(|| {
            let (kind, status, d) = observation(i);
            i = i.wrapping_add(1);
            family
                .get_or_create(&peers::JobLabels {
                    kind: black_box(kind),
                    status: black_box(status),
                })
                .observe(black_box(d).as_secs_f64());
        })
    });
    let handles: Vec<_> = (0..8)
        .map(|j| {
            let (kind, status, _) = observation(j);
            family
                .get_or_create(&peers::JobLabels { kind, status })
                .clone()
        })
        .collect();
    g.bench_function("prometheus_client_handle", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            handles[i % 8].observe(black_box(d).as_secs_f64());
            i = i.wrapping_add(1);
        })
    });
    // prometheus-client's exemplar histogram (a lock per observation), with
    // the same fresh trace ids, owned as its label set requires.
    let with_exemplars: Vec<_> = (0..8).map(|_| peers::client_exemplar_histogram()).collect();
    g.bench_function("prometheus_client_exemplar", |b| {
        b.iter(|| {
            let (_, _, d) = observation(i);
            let trace = peers::Trace {
                trace_id: trace_ids[i % 1024].clone(),
            };
            with_exemplars[i % 8].observe(black_box(d).as_secs_f64(), Some(trace), None);
            i = i.wrapping_add(1);
        })
    });

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&peers::BOUNDS)
        .unwrap()
        .install_recorder()
        .unwrap();
    // With `install_recorder` the caller must run the recorder's upkeep
    // periodically (its crate docs, "Upkeep and maintenance"); without it
    // every histogram sample is kept until a render, and the process grows
    // by hundreds of MB, which slowed the benchmarks that follow.
    let upkeep_stop = Arc::new(AtomicBool::new(false));
    let upkeep = {
        let (handle, stop) = (recorder.clone(), Arc::clone(&upkeep_stop));
        std::thread::spawn(move || {
            // Relaxed: a stop flag; the join below orders the rest.
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                handle.run_upkeep();
            }
        })
    };
    g.bench_function("metrics_labelled", |b| {
        b.iter(|| {
            let (kind, status, d) = observation(i);
            i = i.wrapping_add(1);
            metrics::histogram!("rm_job_duration_seconds", "kind" => black_box(kind), "status" => black_box(status))
                .record(black_box(d).as_secs_f64());
        })
    });
    // The rm-metrics recorder behind the same macro call (a local recorder
    // takes precedence over the global one above).
    let facade_registry = rm_metrics::Registry::new();
    let facade = rm_metrics::facade::Recorder::builder()
        .buckets(&peers::BOUNDS)
        .unwrap()
        .build(&facade_registry);
    metrics::with_local_recorder(&facade, || {
        g.bench_function("metrics_facade_rm_labelled", |b| {
            b.iter(|| {
                let (kind, status, d) = observation(i);
                i = i.wrapping_add(1);
                metrics::histogram!("rm_job_duration_seconds", "kind" => black_box(kind), "status" => black_box(status))
                    .record(black_box(d).as_secs_f64());
            })
        });
        let handles: Vec<metrics::Histogram> = (0..8)
            .map(|j| {
                let (kind, status, _) = observation(j);
                metrics::histogram!("rm_job_duration_seconds", "kind" => kind, "status" => status)
            })
            .collect();
        g.bench_function("metrics_facade_rm_handle", |b| {
            b.iter(|| {
                let (_, _, d) = observation(i);
                handles[i % 8].record(black_box(d).as_secs_f64());
                i = i.wrapping_add(1);
            })
        });
    });
    // What any recorder pays for the macro call itself: the key (a `Vec`
    // of labels, hashed), the recorder lookup, the returned handle's
    // reference count and the dynamic call, into one atomic counter.
    let floor = facade_floor::FacadeFloor::default();
    metrics::with_local_recorder(&floor, || {
        g.bench_function("metrics_facade_floor", |b| {
            b.iter(|| {
                let (kind, status, d) = observation(i);
                i = i.wrapping_add(1);
                metrics::histogram!("rm_job_duration_seconds", "kind" => black_box(kind), "status" => black_box(status))
                    .record(black_box(d).as_secs_f64());
            })
        });
    });
    black_box(
        rm_metrics::TextEncoder::new()
            .encode(&facade_registry)
            .len(),
    );

    // Relaxed: see the loop; `join` waits for its last upkeep.
    upkeep_stop.store(true, Ordering::Relaxed);
    upkeep.join().unwrap();
    black_box(recorder.render().len());

    let mirror = reference::Registry::default();
    g.bench_function("reference_design", |b| {
        b.iter(|| {
            let (k, s, d) = observation(i);
            i = i.wrapping_add(1);
            mirror.observe_job(black_box(k), black_box(s), black_box(d));
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// contended

const PER_THREAD: u64 = 10_000;

/// `family_<name>`, `prometheus_<name>` and `prometheus_client_<name>`:
/// one observation per iteration into the pair `pairs[pick(i)]` (owned
/// strings), through `family` and the two peers' histogram vectors.
fn wide_rows(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    pairs: &[(String, String)],
    pick: impl Fn(usize) -> usize,
    family: &rm_metrics::Family<rm_metrics::Histogram, 2>,
) {
    let mut i = 0usize;
    let mut next = || {
        let (k, s) = &pairs[pick(i)];
        let d = DURATIONS[i % DURATIONS.len()];
        i = i.wrapping_add(1);
        (k, s, d)
    };
    g.bench_function(format!("family_{name}"), |b| {
        b.iter(|| {
            let (k, s, d) = next();
            family.observe([black_box(k), black_box(s)], black_box(d).as_secs_f64());
        })
    });
    let vec = peers::prometheus_histograms();
    g.bench_function(format!("prometheus_{name}"), |b| {
        b.iter(|| {
            let (k, s, d) = next();
            vec.with_label_values(&[black_box(k.as_str()), black_box(s.as_str())])
                .observe(black_box(d).as_secs_f64());
        })
    });
    // prometheus-client's label set type takes `&'static str`: the strings
    // leaked once, and picked by the same sequence.
    let client = peers::client_histograms();
    let leaked: Vec<(&'static str, &'static str)> = pairs
        .iter()
        .map(|(k, s)| (&*k.clone().leak(), &*s.clone().leak()))
        .collect();
    let mut i = 0usize;
    g.bench_function(format!("prometheus_client_{name}"), |b| {
        b.iter(|| {
            let (kind, status) = leaked[pick(i)];
            let d = DURATIONS[i % DURATIONS.len()];
            i = i.wrapping_add(1);
            client
                .get_or_create(&peers::JobLabels {
                    kind: black_box(kind),
                    status: black_box(status),
                })
                .observe(black_box(d).as_secs_f64());
        })
    });
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("contended");
    // 8 threads: more observing threads than cores (2 here), as many as
    // the shard slots (8 here; in a full run the bench's own thread holds
    // one since the observe group, so one worker writes the shared shard).
    // 16: twice the slots, so about half of them write the shared shard.
    for threads in [1usize, 2, 8, 16] {
        g.throughput(Throughput::Elements(PER_THREAD * threads as u64));

        // Baseline: the same harness, each thread incrementing a counter of
        // its own cache line (the same bucket search first): what 2 threads
        // can gain on this machine at all.
        let counters: Arc<Vec<crossbeam_utils::CachePadded<AtomicU64>>> =
            Arc::new((0..threads).map(|_| Default::default()).collect());
        let next = Arc::new(AtomicU64::new(0));
        let floor = move |_: usize, j: usize| {
            thread_local!(static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) });
            let mine = MINE.with(|m| {
                if m.get() == usize::MAX {
                    // Relaxed: a ticket; it orders nothing.
                    m.set(next.fetch_add(1, Ordering::Relaxed) as usize % threads);
                }
                m.get()
            });
            black_box(bucket_of(black_box(DURATIONS[j % DURATIONS.len()])));
            // Relaxed: an independent counter per thread.
            counters[mine].fetch_add(1, Ordering::Relaxed);
        };
        let registry = Arc::new(JobRegistry::new());
        let handle = registry.handle("backup", "succeeded");
        let rm =
            move |_: usize, j: usize| handle.observe(black_box(DURATIONS[j % DURATIONS.len()]));
        let handle = peers::prometheus_histograms().with_label_values(&["backup", "succeeded"]);
        let prometheus = move |_: usize, j: usize| {
            handle.observe(black_box(DURATIONS[j % DURATIONS.len()]).as_secs_f64())
        };
        let rows: [(&str, &rm_metrics_benches::Work<'_>); 3] = [
            ("floor", &floor),
            ("rm_metrics", &rm),
            ("prometheus", &prometheus),
        ];
        for (id, work) in rows {
            with_workers(threads, PER_THREAD as usize, work, |workers| {
                g.bench_function(BenchmarkId::new(id, threads), |b| {
                    b.iter_custom(|iters| workers.run(iters, || ()))
                });
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// render

/// Job histograms of every shape, each observation with a trace id, so
/// the OpenMetrics render writes an exemplar on every non-empty bucket.
fn populated_registry() -> JobRegistry {
    let registry = JobRegistry::new();
    for (n, (k, s)) in histogram_rows().enumerate() {
        for j in 0..=n {
            let trace_id = format!("{:032x}", (n * 1000 + j) as u128 * 0x9e37_79b9_7f4a_7c15);
            let labels = [("trace_id", trace_id.as_str())];
            let exemplar = Exemplar::new(&labels).expect("a valid exemplar");
            registry.observe_with_exemplar(k, s, DURATIONS[j % DURATIONS.len()], &exemplar);
        }
    }
    registry
}

mod client_render {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct HostLabels {
        host_id: String,
        host: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct StatusLabels {
        host_id: String,
        host: String,
        status: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Severity {
        severity: &'static str,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Build {
        version: &'static str,
        commit: &'static str,
        go_version: &'static str,
    }

    /// A prometheus-client registry holding the same families and values.
    pub fn registry(hosts: &[rm_metrics_benches::Host]) -> Registry {
        let mut r = Registry::default();
        let total = Gauge::<i64>::default();
        total.set(hosts.len() as i64);
        r.register("rm_hosts_total", "Total number of enrolled hosts.", total);
        let online = Gauge::<i64>::default();
        online.set(hosts.iter().filter(|h| h.online).count() as i64);
        r.register(
            "rm_hosts_online",
            "Number of hosts currently online.",
            online,
        );
        let alerts = Family::<Severity, Gauge>::default();
        for (s, v) in [("info", 0), ("warning", 2), ("critical", 1)] {
            alerts.get_or_create(&Severity { severity: s }).set(v);
        }
        r.register(
            "rm_active_alerts",
            "Open alerts grouped by severity.",
            alerts,
        );
        let build = Family::<Build, Gauge>::default();
        build
            .get_or_create(&Build {
                version: "1.0.0",
                commit: "abc",
                go_version: "n/a",
            })
            .set(1);
        r.register("rm_build_info", "Build identifying labels.", build);

        for (name, value) in rm_metrics_benches::HOST_GAUGES {
            let family = Family::<HostLabels, Gauge>::default();
            for h in hosts {
                if let Some(v) = value(h) {
                    family
                        .get_or_create(&HostLabels {
                            host_id: h.id.clone(),
                            host: h.name.clone(),
                        })
                        .set(v);
                }
            }
            r.register(name, "Per-host gauge.", family);
        }
        let status = Family::<StatusLabels, Gauge>::default();
        for h in hosts {
            let st = if h.repo_status.is_empty() {
                "unknown"
            } else {
                h.repo_status
            };
            status
                .get_or_create(&StatusLabels {
                    host_id: h.id.clone(),
                    host: h.name.clone(),
                    status: st.to_owned(),
                })
                .set(1);
        }
        r.register(
            "rm_host_repo_status",
            "Repo readiness state for the host.",
            status,
        );

        let jobs = super::peers::client_histograms();
        for (n, (kind, status)) in rm_metrics_benches::histogram_rows().enumerate() {
            for j in 0..=n {
                let d = rm_metrics_benches::DURATIONS[j % rm_metrics_benches::DURATIONS.len()];
                jobs.get_or_create(&super::peers::JobLabels { kind, status })
                    .observe(d.as_secs_f64());
            }
        }
        r.register(
            "rm_job_duration_seconds",
            "End-to-end duration of completed jobs.",
            jobs,
        );
        r
    }
}

/// A prometheus (tikv) registry holding the same families and values.
fn prometheus_registry(hosts: &[rm_metrics_benches::Host]) -> prometheus::Registry {
    use prometheus::{IntGauge, IntGaugeVec, Opts};
    let r = prometheus::Registry::new();
    let gauge = |name: &str, v: i64| {
        let g = IntGauge::new(name, "help").unwrap();
        g.set(v);
        r.register(Box::new(g)).unwrap();
    };
    gauge("rm_hosts_total", hosts.len() as i64);
    gauge(
        "rm_hosts_online",
        hosts.iter().filter(|h| h.online).count() as i64,
    );
    let alerts = IntGaugeVec::new(Opts::new("rm_active_alerts", "help"), &["severity"]).unwrap();
    for (s, v) in [("info", 0), ("warning", 2), ("critical", 1)] {
        alerts.with_label_values(&[s]).set(v);
    }
    r.register(Box::new(alerts)).unwrap();
    let build = IntGaugeVec::new(
        Opts::new("rm_build_info", "help"),
        &["version", "commit", "go_version"],
    )
    .unwrap();
    build.with_label_values(&["1.0.0", "abc", "n/a"]).set(1);
    r.register(Box::new(build)).unwrap();
    for (name, value) in rm_metrics_benches::HOST_GAUGES {
        let v = IntGaugeVec::new(Opts::new(name, "help"), &["host_id", "host"]).unwrap();
        for h in hosts {
            if let Some(x) = value(h) {
                v.with_label_values(&[h.id.as_str(), h.name.as_str()])
                    .set(x);
            }
        }
        r.register(Box::new(v)).unwrap();
    }
    let status = IntGaugeVec::new(
        Opts::new("rm_host_repo_status", "help"),
        &["host_id", "host", "status"],
    )
    .unwrap();
    for h in hosts {
        let st = if h.repo_status.is_empty() {
            "unknown"
        } else {
            h.repo_status
        };
        status
            .with_label_values(&[h.id.as_str(), h.name.as_str(), st])
            .set(1);
    }
    r.register(Box::new(status)).unwrap();
    let jobs = peers::prometheus_histograms();
    for (n, (k, s)) in histogram_rows().enumerate() {
        for j in 0..=n {
            jobs.with_label_values(&[k, s])
                .observe(DURATIONS[j % DURATIONS.len()].as_secs_f64());
        }
    }
    r.register(Box::new(jobs)).unwrap();
    r
}

/// The snapshot of a scrape: the fleet's rows and fixed server gauges.
fn snapshot<'a>(rows: &'a [HostRow<'a>]) -> Snapshot<'a> {
    Snapshot {
        hosts: rows,
        alerts: AlertCounts {
            info: 0,
            warning: 2,
            critical: 1,
        },
        build: BuildInfo {
            version: "1.0.0",
            commit: "abc",
            go_version: "n/a",
        },
    }
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    let registry = populated_registry();
    for n in [100usize, 1000, 10_000, 100_000] {
        let hosts = fleet(n);
        g.throughput(Throughput::Elements(n as u64));
        if n == 100_000 {
            // 70 MB bodies: fewer samples, or this size alone takes minutes.
            g.sample_size(10);
        }

        // rm-metrics: the snapshot rows are built from the service's own
        // data on every scrape (that cost is included); the renderer and its
        // buffer are kept across scrapes.
        let mut renderer = Renderer::new();
        g.bench_function(BenchmarkId::new("rm_metrics", n), |b| {
            b.iter(|| {
                let rows: Vec<HostRow<'_>> = hosts.iter().map(Host::row).collect();
                let snapshot = snapshot(&rows);
                black_box(renderer.render(&registry, &snapshot).len())
            })
        });
        // The renderer's worst case: every value of every host differs from
        // the last scrape's (two fleets in turn), so no line is copied from
        // the last output.
        let changed: Vec<Host> = hosts.iter().map(Host::changed).collect();
        let mut flip = false;
        let mut renderer = Renderer::new();
        g.bench_function(BenchmarkId::new("rm_metrics_changed", n), |b| {
            b.iter(|| {
                flip = !flip;
                let fleet = if flip { &changed } else { &hosts };
                let rows: Vec<HostRow<'_>> = fleet.iter().map(Host::row).collect();
                let snapshot = snapshot(&rows);
                black_box(renderer.render(&registry, &snapshot).len())
            })
        });
        // The same in OpenMetrics, with an exemplar on every non-empty bucket.
        let mut om = Renderer::with_format(Format::OpenMetrics);
        g.bench_function(BenchmarkId::new("rm_metrics_om", n), |b| {
            b.iter(|| {
                let rows: Vec<HostRow<'_>> = hosts.iter().map(Host::row).collect();
                let snapshot = snapshot(&rows);
                black_box(om.render(&registry, &snapshot).len())
            })
        });
        // The same in the protobuf exposition.
        let mut proto = Renderer::with_format(Format::Protobuf);
        g.bench_function(BenchmarkId::new("rm_metrics_protobuf", n), |b| {
            b.iter(|| {
                let rows: Vec<HostRow<'_>> = hosts.iter().map(Host::row).collect();
                let snapshot = snapshot(&rows);
                black_box(proto.render(&registry, &snapshot).len())
            })
        });

        // The copy floor: what merely appending this much text costs here,
        // cache and memory effects included. The lines of the output for
        // min(N, 1000) hosts (a source that stays in cache), appended one by
        // one to a buffer reused across iterations, max(1, N / 1000) times:
        // about the size of the output for N hosts.
        let base = {
            let rows: Vec<HostRow<'_>> = hosts[..n.min(1000)].iter().map(Host::row).collect();
            Renderer::new().render(&registry, &snapshot(&rows)).to_vec()
        };
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, &b) in base.iter().enumerate() {
            if b == b'\n' {
                lines.push(start..i + 1);
                start = i + 1;
            }
        }
        let mut copy = Vec::new();
        g.bench_function(BenchmarkId::new("copy_floor", n), |b| {
            b.iter(|| {
                copy.clear();
                for _ in 0..(n / 1000).max(1) {
                    for line in &lines {
                        copy.extend_from_slice(&base[line.clone()]);
                    }
                }
                black_box(copy.len())
            })
        });

        if n > 10_000 {
            continue; // the scale point: ours against the copy floor only
        }
        // prometheus-client: values already in its registry; only encoding
        // is measured, into a String reused across iterations.
        let client = client_render::registry(&hosts);
        let mut text = String::new();
        g.bench_function(BenchmarkId::new("prometheus_client", n), |b| {
            b.iter(|| {
                text.clear();
                prometheus_client::encoding::text::encode(&mut text, &client).unwrap();
                black_box(text.len())
            })
        });

        if n == 1000 {
            let prom = prometheus_registry(&hosts);
            let encoder = prometheus::TextEncoder::new();
            let mut buf = Vec::new();
            g.bench_function(BenchmarkId::new("prometheus", n), |b| {
                b.iter(|| {
                    buf.clear();
                    prometheus::Encoder::encode(&encoder, &prom.gather(), &mut buf).unwrap();
                    black_box(buf.len())
                })
            });
        }
    }
    g.finish();
}

/// One histogram handle observing 64 values spread over a ladder of `n`
/// bounds (1 ms × 1.5ᵏ), one value a call: the bucket search, for ladders
/// shorter and longer than the job ladder.
fn ladder(c: &mut Criterion) {
    let mut g = c.benchmark_group("ladder");
    for n in [11usize, 25, 40, 63] {
        let bounds: Vec<f64> = (0..n).map(|k| 0.001 * 1.5f64.powi(k as i32)).collect();
        // Spread over every bucket, `+Inf` included, in a scrambled order.
        let values: Vec<f64> = (0..64)
            .map(|j| 0.001 * 1.5f64.powf(((j * 37) % 64) as f64 * (n + 1) as f64 / 64.0 - 0.5))
            .collect();
        let mut i = 0usize;

        let registry = rm_metrics::Registry::new();
        let h = registry
            .histogram(
                rm_metrics::Opts::new("latency", "Latency."),
                ["route"],
                &bounds,
            )
            .unwrap()
            .with(["/a"]);
        g.bench_function(BenchmarkId::new("rm_metrics", n), |b| {
            b.iter(|| {
                h.observe(black_box(values[i % 64]));
                i = i.wrapping_add(1);
            })
        });

        let h = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new("latency", "Latency.").buckets(bounds.clone()),
        )
        .unwrap();
        g.bench_function(BenchmarkId::new("prometheus", n), |b| {
            b.iter(|| {
                h.observe(black_box(values[i % 64]));
                i = i.wrapping_add(1);
            })
        });

        let h = prometheus_client::metrics::histogram::Histogram::new(bounds.iter().copied());
        g.bench_function(BenchmarkId::new("prometheus_client", n), |b| {
            b.iter(|| {
                h.observe(black_box(values[i % 64]));
                i = i.wrapping_add(1);
            })
        });
    }
    g.finish();
}

/// A counter family of one label, `requests{route}`, each of `routes`
/// counted once (so each is added): rm-metrics.
fn rm_routes(
    routes: &[String],
) -> (
    rm_metrics::Registry,
    rm_metrics::Family<rm_metrics::Counter, 1>,
) {
    let registry = rm_metrics::Registry::new();
    let opts = rm_metrics::Opts::new("requests", "Requests.").max_series(routes.len() + 1);
    let family = registry.counter(opts, ["route"]).unwrap();
    for r in routes {
        family.inc([r]);
    }
    (registry, family)
}

/// prometheus-client's label set of one route.
type ClientRoute<'a> = Vec<(&'a str, String)>;

/// [`rm_routes`] in prometheus-client, its label `Vec`s built beforehand.
fn client_routes<'a>(
    labels: &[ClientRoute<'a>],
) -> prometheus_client::metrics::family::Family<
    ClientRoute<'a>,
    prometheus_client::metrics::counter::Counter,
> {
    let family = prometheus_client::metrics::family::Family::<
        ClientRoute<'a>,
        prometheus_client::metrics::counter::Counter,
    >::default();
    for l in labels {
        family.get_or_create(l).inc();
    }
    family
}

/// [`rm_routes`] in prometheus.
fn prometheus_routes(routes: &[String]) -> prometheus::IntCounterVec {
    let family =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests", "Requests."), &["route"])
            .unwrap();
    for r in routes {
        family.with_label_values(&[r.as_str()]).inc();
    }
    family
}

/// `n` routes, and prometheus-client's label sets of them.
fn routes(n: usize) -> (Vec<String>, Vec<ClientRoute<'static>>) {
    let routes: Vec<String> = (0..n).map(|i| format!("/api/v1/route/{i}")).collect();
    let labels = routes.iter().map(|r| vec![("route", r.clone())]).collect();
    (routes, labels)
}

/// Adding series: a fresh counter family with one label, then `n` new
/// routes (owned strings, built beforehand) each counted once, so each
/// call adds a series. Hosts and routes come and go; this is what a
/// family pays for each that comes.
fn add(c: &mut Criterion) {
    let mut g = c.benchmark_group("add");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        let (routes, labels) = routes(n);
        g.bench_with_input(BenchmarkId::new("rm_metrics", n), &n, |b, _| {
            b.iter(|| black_box(rm_routes(&routes).1.len()))
        });
        g.bench_with_input(BenchmarkId::new("prometheus_client", n), &n, |b, _| {
            b.iter(|| black_box(client_routes(&labels)))
        });
        g.bench_with_input(BenchmarkId::new("prometheus", n), &n, |b, _| {
            b.iter(|| black_box(prometheus_routes(&routes)))
        });
    }
    g.finish();
}

/// Removing series: a counter family of `n` routes, then every tenth
/// removed one by one (the family built outside the timed part). Hosts and
/// routes come and go; this is what a family pays for each that goes.
fn remove(c: &mut Criterion) {
    let mut g = c.benchmark_group("remove");
    g.sample_size(10);
    let n = 10_000usize;
    g.throughput(Throughput::Elements(n as u64 / 10));
    let (routes, labels) = routes(n);
    removals(
        &mut g,
        "rm_metrics",
        n,
        || rm_routes(&routes),
        |(_, f), i| {
            assert!(f.remove([&routes[i]]));
        },
    );
    removals(
        &mut g,
        "prometheus_client",
        n,
        || client_routes(&labels),
        |f, i| {
            assert!(f.remove(&labels[i]));
        },
    );
    removals(
        &mut g,
        "prometheus",
        n,
        || prometheus_routes(&routes),
        |f, i| {
            f.remove_label_values(&[routes[i].as_str()]).unwrap();
        },
    );
    g.finish();
}

/// One id of [`remove`]: `setup` builds a family of `n` routes (not
/// timed), then `remove(family, i)` removes every tenth route `i`.
fn removals<F>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    lib: &str,
    n: usize,
    setup: impl Fn() -> F,
    remove: impl Fn(&F, usize),
) {
    g.bench_with_input(BenchmarkId::new(lib, n), &n, |b, _| {
        b.iter_batched(
            &setup,
            |family| {
                (0..n).step_by(10).for_each(|i| remove(&family, i));
                family
            },
            BatchSize::LargeInput,
        )
    });
}

mod workloads;

criterion_group!(
    benches,
    observe,
    ladder,
    contended,
    render,
    add,
    remove,
    workloads::measured_workloads
);
criterion_main!(benches);
