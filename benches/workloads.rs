//! Group `measured_workloads`: the benchmark shapes of neon's `measured`
//! (its `counters`, `high_cardinality` and `histograms` benches), on two
//! threads, with one text encoding of the family per iteration.
//!
//! * `counters_fixed`: 2 labels (an error kind of 3 values, a route of 6),
//!   18 label sets, picked at random by each thread;
//! * `counters_high`: 3 labels (kind, route, a user name), 2,000 label sets
//!   per thread (4,000 in all), user names owned `String`s;
//! * `histograms_fixed`, `histograms_high`: the same label sets, observing
//!   a latency into 8 exponential buckets (1 ms × 2ᵏ);
//! * `*_high/floor_map`: the floor of any design that finds a series by
//!   hashing its label strings (each thread its own map and words, no
//!   encode).
//!
//! An iteration: two threads, the bench's own and one worker started once
//! per benchmark id (divan's way, measured's harness), make `OPS`
//! operations each, then the bench's thread encodes the family. Each
//! library is used as its docs advise: `measured` with typed labels (an
//! enum, an interned route set, a dynamic interner for user names),
//! prometheus-client with a label struct borrowed per call
//! (built once, so no allocation per call), rm-metrics with `&str` values.

// measured's `MetricGroup` derive passes `()` to a function.
#![allow(clippy::unit_arg)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use lasso::{Rodeo, RodeoReader, Spur, ThreadedRodeo};
use measured::label::StaticLabelSet;
use measured::metric::histogram::Thresholds;
use measured::text::BufferedTextEncoder;
use measured::{FixedCardinalityLabel, LabelGroup, MetricGroup};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};

/// Operations per thread per iteration.
const OPS: usize = 40_000;
const USERS_PER_THREAD: usize = 2000;
/// Length of each thread's sequence of picks and latencies: a power of
/// two, so that `i % PICKS` is a mask, not a division in every operation.
const PICKS: usize = 4096;
const BUCKETS: usize = 8;

const ROUTES: [&str; 6] = [
    "/api/v1/users",
    "/api/v1/users/:id",
    "/api/v1/products",
    "/api/v1/products/:id",
    "/api/v1/products/:id/owner",
    "/api/v1/products/:id/purchase",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, FixedCardinalityLabel, EncodeLabelValue)]
enum ErrorKind {
    User,
    Internal,
    Network,
}

impl ErrorKind {
    const ALL: [ErrorKind; 3] = [ErrorKind::User, ErrorKind::Internal, ErrorKind::Network];

    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::User => "user",
            ErrorKind::Internal => "internal",
            ErrorKind::Network => "network",
        }
    }
}

#[derive(Clone, Copy, LabelGroup)]
#[label(set = FixedSet)]
struct Fixed<'a> {
    kind: ErrorKind,
    #[label(fixed_with = RodeoReader)]
    route: &'a str,
}

#[derive(Clone, Copy, LabelGroup)]
#[label(set = HighSet)]
struct High<'a> {
    kind: ErrorKind,
    #[label(fixed_with = RodeoReader)]
    route: &'a str,
    #[label(dynamic_with = ThreadedRodeo<Spur>)]
    user_name: &'a str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientFixed {
    kind: ErrorKind,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientHigh {
    kind: ErrorKind,
    route: &'static str,
    user_name: String,
}

#[derive(MetricGroup)]
#[metric(new(routes: RodeoReader))]
struct FixedCounters {
    /// Errors.
    #[metric(label_set = FixedSet { kind: StaticLabelSet::new(), route: routes })]
    errors: measured::CounterVec<FixedSet>,
}

#[derive(MetricGroup)]
#[metric(new(routes: RodeoReader))]
struct FixedHistograms {
    /// Latency.
    #[metric(label_set = FixedSet { kind: StaticLabelSet::new(), route: routes }, metadata = Thresholds::exponential_buckets(0.001, 2.0))]
    latency: measured::HistogramVec<FixedSet, BUCKETS>,
}

#[derive(MetricGroup)]
#[metric(new(routes: RodeoReader))]
struct HighCounters {
    /// Errors.
    #[metric(label_set = HighSet { kind: StaticLabelSet::new(), route: routes, user_name: ThreadedRodeo::new() })]
    errors: measured::CounterVec<HighSet>,
}

#[derive(MetricGroup)]
#[metric(new(routes: RodeoReader))]
struct HighHistograms {
    /// Latency.
    #[metric(label_set = HighSet { kind: StaticLabelSet::new(), route: routes, user_name: ThreadedRodeo::new() }, metadata = Thresholds::exponential_buckets(0.001, 2.0))]
    latency: measured::HistogramVec<HighSet, BUCKETS>,
}

/// The fixed label sets as an rm-metrics typed label set: kind × route.
#[derive(Clone, Copy)]
struct Typed(ErrorKind, usize);

impl rm_metrics::FixedLabels<2> for Typed {
    const CARDINALITY: usize = 3 * ROUTES.len();
    fn index(self) -> usize {
        self.0 as usize * ROUTES.len() + self.1
    }
    fn values(index: usize) -> [&'static str; 2] {
        [
            ErrorKind::ALL[index / ROUTES.len()].as_str(),
            ROUTES[index % ROUTES.len()],
        ]
    }
}

/// One thread's `floor_map`: its label sets → its own words (a counter, or
/// `BUCKETS + 1` bucket counters and an `f64` sum's bits).
struct MapFloor<'a> {
    index: hashbrown::HashMap<(&'a str, &'a str, &'a str), usize>,
    words: Vec<[AtomicU64; BUCKETS + 2]>,
    bounds: [f64; BUCKETS],
}

impl<'a> MapFloor<'a> {
    fn new(plan: &'a Plan) -> Self {
        let index: hashbrown::HashMap<_, _> = plan
            .sets
            .iter()
            .enumerate()
            .map(|(j, (k, r, u))| ((k.as_str(), ROUTES[*r], u.as_str()), j))
            .collect();
        MapFloor {
            words: (0..index.len()).map(|_| Default::default()).collect(),
            index,
            bounds: std::array::from_fn(|k| 0.001 * f64::from(1u32 << k)),
        }
    }

    /// Counts one operation of the label set `(kind, route, user)`: a
    /// counter increment, or with `value` a histogram observation.
    #[inline]
    fn record(&self, kind: &str, route: &str, user: &str, value: Option<f64>) {
        let Some(&j) = self.index.get(&(kind, route, user)) else {
            return;
        };
        let w = &self.words[j];
        // Relaxed, every load and store here: one writer per map.
        let bump = |c: &AtomicU64| c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        match value {
            None => bump(&w[0]),
            Some(v) => {
                bump(
                    &w[self
                        .bounds
                        .iter()
                        .map(|&b| usize::from(b < v))
                        .sum::<usize>()],
                );
                let sum = &w[BUCKETS + 1];
                let next = f64::from_bits(sum.load(Ordering::Relaxed)) + v;
                sum.store(next.to_bits(), Ordering::Relaxed);
            }
        }
    }
}

/// One thread's label sets and the order it uses them in.
struct Plan {
    /// (kind, route index, user name) per label set.
    sets: Vec<(ErrorKind, usize, String)>,
    /// Index into `sets` for operation `i % PICKS`.
    picks: Vec<usize>,
    latencies: Vec<f64>,
}

fn plans(high: bool) -> [Plan; 2] {
    let mut rng = fastrand_like(0x5eed);
    std::array::from_fn(|t| {
        let sets: Vec<_> = if high {
            (0..USERS_PER_THREAD)
                .map(|j| {
                    (
                        ErrorKind::ALL[j % 3],
                        j % ROUTES.len(),
                        format!("user-{t}-{j}"),
                    )
                })
                .collect()
        } else {
            (0..18)
                .map(|j| (ErrorKind::ALL[j % 3], j / 3, String::new()))
                .collect()
        };
        let picks = (0..PICKS).map(|_| rng() as usize % sets.len()).collect();
        let latencies = (0..PICKS)
            .map(|_| (rng() % 300_000) as f64 * 1e-6)
            .collect();
        Plan {
            sets,
            picks,
            latencies,
        }
    })
}

/// prometheus-client's histogram on the same 8 buckets.
fn client_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(
        (0..BUCKETS).map(|k| 0.001 * f64::from(1u32 << k)),
    )
}

/// One benchmark id: two threads, the bench's own (thread 0) and a
/// worker that lives as long as the id (as a service's workers do, and as
/// divan, measured's harness, keeps its threads since 0.1.16), each making
/// `OPS` calls of `op(thread, i)` per iteration, then `encode()` on the
/// bench's thread. Spawning the worker every iteration instead would add
/// its start and exit to every library's time, and make every iteration a
/// new thread's first calls: for rm-metrics, an empty memo and index copy,
/// refilled 40,000 calls later only to be dropped. Two workers with the
/// bench's thread waiting aside (the harness of the runs up to 81a50fd)
/// made three threads runnable on two cores, and each round then took
/// longer than its workers' own work, for every library (see
/// `rm_metrics_benches::with_team`).
fn bench_two(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    op: impl Fn(usize, usize) + Sync,
    mut encode: impl FnMut(),
) {
    rm_metrics_benches::with_team(2, OPS, &op, |workers| {
        g.bench_function(id, |b| {
            b.iter_custom(|iters| workers.run(iters, &mut encode))
        });
    });
}

/// Each thread's label sets as prometheus-client label structs.
fn client_sets<L>(plans: &[Plan; 2], make: impl Fn(ErrorKind, usize, &str) -> L) -> Vec<Vec<L>> {
    plans
        .iter()
        .map(|p| p.sets.iter().map(|(k, r, u)| make(*k, *r, u)).collect())
        .collect()
}

/// prometheus-client on a plan: counters or histograms, label structs
/// built beforehand and borrowed per call.
fn client_bench<L>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    plans: &[Plan; 2],
    sets: &[Vec<L>],
    histogram: bool,
) where
    L: EncodeLabelSet + Clone + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static,
{
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    let mut registry = prometheus_client::registry::Registry::default();
    let counters = Family::<L, Counter>::default();
    let hists = Family::<L, Histogram>::new_with_constructor(client_histogram);
    if histogram {
        registry.register("latency", "Latency.", hists.clone());
    } else {
        registry.register("errors", "Errors.", counters.clone());
    }
    let mut out = String::new();
    bench_two(
        g,
        id,
        |t, i| {
            let p = &plans[t];
            let s = &sets[t][p.picks[i % PICKS]];
            if histogram {
                hists.get_or_create(s).observe(p.latencies[i % PICKS]);
            } else {
                counters.get_or_create(s).inc();
            }
        },
        || {
            out.clear();
            prometheus_client::encoding::text::encode(&mut out, &registry).ok();
        },
    );
}

/// A small deterministic generator (xorshift), so every library sees the
/// same sequence.
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

pub fn measured_workloads(c: &mut Criterion) {
    let mut g = c.benchmark_group("measured_workloads");
    g.throughput(Throughput::Elements(2 * OPS as u64));
    g.sample_size(20);
    let routes = || Rodeo::from_iter(ROUTES).into_reader();
    let buckets: Vec<f64> = (0..BUCKETS).map(|k| 0.001 * f64::from(1u32 << k)).collect();

    for (shape, high, histogram) in [
        ("counters_fixed", false, false),
        ("counters_high", true, false),
        ("histograms_fixed", false, true),
        ("histograms_high", true, true),
    ] {
        let plans = plans(high);
        let pick = |t: usize, i: usize| {
            let p = &plans[t];
            (&p.sets[p.picks[i % PICKS]], p.latencies[i % PICKS])
        };

        // rm-metrics: `&str` label values.
        {
            let registry = rm_metrics::Registry::new();
            let opts = || rm_metrics::Opts::new("errors", "Errors.").max_series(10_000);
            let mut encoder = rm_metrics::TextEncoder::new();
            let id = format!("{shape}/rm_metrics");
            match (high, histogram) {
                (false, false) => {
                    let f = registry.counter(opts(), ["kind", "route"]).unwrap();
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let ((k, r, _), _) = pick(t, i);
                            f.inc([k.as_str(), ROUTES[*r]]);
                        },
                        || {
                            black_box(encoder.encode(&registry));
                        },
                    );
                }
                (false, true) => {
                    let f = registry
                        .histogram(opts(), ["kind", "route"], &buckets)
                        .unwrap();
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let ((k, r, _), v) = pick(t, i);
                            f.observe([k.as_str(), ROUTES[*r]], v);
                        },
                        || {
                            black_box(encoder.encode(&registry));
                        },
                    );
                }
                (true, false) => {
                    let f = registry
                        .counter(opts(), ["kind", "route", "user_name"])
                        .unwrap();
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let ((k, r, u), _) = pick(t, i);
                            f.inc([k.as_str(), ROUTES[*r], u]);
                        },
                        || {
                            black_box(encoder.encode(&registry));
                        },
                    );
                }
                (true, true) => {
                    let f = registry
                        .histogram(opts(), ["kind", "route", "user_name"], &buckets)
                        .unwrap();
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let ((k, r, u), v) = pick(t, i);
                            f.observe([k.as_str(), ROUTES[*r], u], v);
                        },
                        || {
                            black_box(encoder.encode(&registry));
                        },
                    );
                }
            }
        }

        // rm-metrics with typed labels: the 18 fixed label sets as a dense
        // array (`Family::fixed`), no hashing.
        if !high {
            let registry = rm_metrics::Registry::new();
            let opts = rm_metrics::Opts::new("errors", "Errors.");
            let mut encoder = rm_metrics::TextEncoder::new();
            let id = format!("{shape}/rm_metrics_typed");
            let label = |t: usize, i: usize| {
                let ((kind, r, _), v) = pick(t, i);
                (Typed(*kind, *r), v)
            };
            if histogram {
                let f = registry
                    .histogram(opts, ["kind", "route"], &buckets)
                    .unwrap()
                    .fixed::<Typed>();
                bench_two(
                    &mut g,
                    id,
                    |t, i| {
                        let (l, v) = label(t, i);
                        f.get(l).observe(v);
                    },
                    || {
                        black_box(encoder.encode(&registry));
                    },
                );
            } else {
                let f = registry
                    .counter(opts, ["kind", "route"])
                    .unwrap()
                    .fixed::<Typed>();
                bench_two(
                    &mut g,
                    id,
                    |t, i| f.get(label(t, i).0).inc(),
                    || {
                        black_box(encoder.encode(&registry));
                    },
                );
            }
        }

        // measured: typed labels.
        {
            let mut enc = BufferedTextEncoder::new();
            let id = format!("{shape}/measured");
            let label = |t: usize, i: usize| {
                let ((kind, r, u), v) = pick(t, i);
                (*kind, ROUTES[*r], u.as_str(), v)
            };
            match (high, histogram) {
                (false, false) => {
                    let m = FixedCounters::new(routes());
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let (kind, route, _, _) = label(t, i);
                            m.errors.inc(Fixed { kind, route });
                        },
                        || drop(m.collect_group_into(&mut enc).map(|()| enc.finish())),
                    );
                }
                (false, true) => {
                    let m = FixedHistograms::new(routes());
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let (kind, route, _, v) = label(t, i);
                            m.latency.observe(Fixed { kind, route }, v);
                        },
                        || drop(m.collect_group_into(&mut enc).map(|()| enc.finish())),
                    );
                }
                (true, false) => {
                    let m = HighCounters::new(routes());
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let (kind, route, user_name, _) = label(t, i);
                            m.errors.inc(High {
                                kind,
                                route,
                                user_name,
                            });
                        },
                        || drop(m.collect_group_into(&mut enc).map(|()| enc.finish())),
                    );
                }
                (true, true) => {
                    let m = HighHistograms::new(routes());
                    bench_two(
                        &mut g,
                        id,
                        |t, i| {
                            let (kind, route, user_name, v) = label(t, i);
                            m.latency.observe(
                                High {
                                    kind,
                                    route,
                                    user_name,
                                },
                                v,
                            );
                        },
                        || drop(m.collect_group_into(&mut enc).map(|()| enc.finish())),
                    );
                }
            }
        }

        // The floor of any design that finds a series by hashing its label
        // strings: each thread its own hash map (hashbrown, foldhash) from
        // its label sets to its own words, written with a plain load and
        // store (a counter; for a histogram the bucket search, the bucket
        // and an `f64` sum), and no encode. Nothing shared, nothing exposed:
        // `prometheus_client / floor_map` bounds what such a design can
        // reach against prometheus-client here.
        if high {
            let maps: Vec<MapFloor<'_>> = plans.iter().map(MapFloor::new).collect();
            bench_two(
                &mut g,
                format!("{shape}/floor_map"),
                |t, i| {
                    let ((k, r, u), v) = pick(t, i);
                    maps[t].record(k.as_str(), ROUTES[*r], u, histogram.then_some(v));
                },
                || {},
            );
        }

        // prometheus-client: a label struct per call, borrowed.
        let id = format!("{shape}/prometheus_client");
        if high {
            let sets = client_sets(&plans, |k, r, u| ClientHigh {
                kind: k,
                route: ROUTES[r],
                user_name: u.to_owned(),
            });
            client_bench(&mut g, id, &plans, &sets, histogram);
        } else {
            let sets = client_sets(&plans, |k, r, _| ClientFixed {
                kind: k,
                route: ROUTES[r],
            });
            client_bench(&mut g, id, &plans, &sets, histogram);
        }
    }
    g.finish();
}
