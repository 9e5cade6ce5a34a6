//! The shared workload of `compare.rs`: label cycles, durations spread over
//! the buckets, and a realistic fleet for the render benchmarks.

use std::time::Duration;

/// 4 kinds × 2 statuses, cycled by the observe benchmarks.
pub const KINDS: [&str; 4] = ["backup", "check", "prune", "forget"];
/// See [`KINDS`].
pub const STATUSES: [&str; 2] = ["succeeded", "failed"];

/// Durations that land in different buckets, one per bucket and +Inf, plus
/// values exactly on a bound.
pub const DURATIONS: [Duration; 16] = [
    Duration::from_millis(250),
    Duration::from_secs(3),
    Duration::from_secs(12),
    Duration::from_secs(45),
    Duration::from_secs(240),
    Duration::from_secs(1200),
    Duration::from_secs(3000),
    Duration::from_secs(9000),
    Duration::from_secs(50_000),
    Duration::from_secs(100_000),
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_millis(4_999),
    Duration::from_secs(300),
    Duration::from_secs(86_400),
    Duration::from_millis(17_500),
];

/// The `i`-th observation of the cycle: (kind, status, duration).
#[inline]
pub fn observation(i: usize) -> (&'static str, &'static str, Duration) {
    (
        KINDS[i % 4],
        STATUSES[(i / 4) % 2],
        DURATIONS[i % DURATIONS.len()],
    )
}

/// One host of the render fleet, owning its strings as a service would.
pub struct Host {
    pub id: String,
    pub name: String,
    pub online: bool,
    pub last_backup_unix: Option<i64>,
    pub last_backup_succeeded: Option<bool>,
    pub repo_size_bytes: Option<i64>,
    pub snapshot_count: u64,
    pub open_alert_count: u64,
    pub repo_status: &'static str,
}

/// A host's value in one gauge family; `None`: no line.
pub type GaugeValue = fn(&Host) -> Option<i64>;

/// The six per-host gauge families and each host's value in them (`None`:
/// no line), for loading the peers' registries.
pub const HOST_GAUGES: [(&str, GaugeValue); 6] = [
    ("rm_host_agent_online", |h| Some(h.online as i64)),
    ("rm_host_last_backup_timestamp_seconds", |h| {
        h.last_backup_unix
    }),
    ("rm_host_last_backup_success", |h| {
        h.last_backup_succeeded.map(i64::from)
    }),
    ("rm_host_repo_size_bytes", |h| h.repo_size_bytes),
    ("rm_host_snapshot_count", |h| Some(h.snapshot_count as i64)),
    ("rm_host_open_alerts", |h| Some(h.open_alert_count as i64)),
];

impl Host {
    /// The row a scrape renders, borrowed from the host's own data.
    pub fn row(&self) -> rm_metrics::HostRow<'_> {
        rm_metrics::HostRow {
            id: &self.id,
            name: &self.name,
            online: self.online,
            last_backup_unix: self.last_backup_unix,
            last_backup_succeeded: self.last_backup_succeeded,
            repo_size_bytes: self.repo_size_bytes,
            snapshot_count: self.snapshot_count,
            open_alert_count: self.open_alert_count,
            repo_status: self.repo_status,
        }
    }

    /// The same host a scrape later with every value it has changed (flags
    /// flipped, numbers moved); absent values stay absent.
    pub fn changed(&self) -> Host {
        Host {
            id: self.id.clone(),
            name: self.name.clone(),
            online: !self.online,
            last_backup_unix: self.last_backup_unix.map(|t| t + 60),
            last_backup_succeeded: self.last_backup_succeeded.map(|ok| !ok),
            repo_size_bytes: self.repo_size_bytes.map(|b| b + 4096),
            snapshot_count: self.snapshot_count + 1,
            open_alert_count: self.open_alert_count ^ 1,
            repo_status: self.repo_status,
        }
    }
}

/// `n` hosts with realistic ids (UUID-like) and names, in random-ish order.
pub fn fleet(n: usize) -> Vec<Host> {
    (0..n)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            Host {
                id: format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    h >> 32,
                    (h >> 16) & 0xffff,
                    h & 0xfff,
                    (h >> 20) & 0xfff,
                    h & 0xffff_ffff_ffff
                ),
                name: format!("backup-{:03}.dc{}.example.org", i, i % 3 + 1),
                online: i % 10 != 0,
                last_backup_unix: (i % 17 != 0).then_some(1_767_225_600 + (h % 86_400) as i64),
                last_backup_succeeded: (i % 17 != 0).then_some(i % 11 != 0),
                repo_size_bytes: (i % 13 != 0).then_some((h % (1 << 40)) as i64),
                snapshot_count: h % 1000,
                open_alert_count: (h >> 40) % 4,
                repo_status: ["ready", "ready", "ready", "init_failed", ""][i % 5],
            }
        })
        .collect()
}

/// The 24 histogram rows of the render benchmarks: 6 kinds × 4 statuses.
pub fn histogram_rows() -> impl Iterator<Item = (&'static str, &'static str)> {
    ["backup", "check", "prune", "forget", "unlock", "init"]
        .into_iter()
        .flat_map(|k| {
            ["succeeded", "failed", "canceled", "timeout"]
                .into_iter()
                .map(move |s| (k, s))
        })
}

pub mod reference {
    //! A faithful Rust mirror of the Go reference's registry: one
    //! `Mutex<HashMap>` keyed by (kind, status), cumulative bucket counts
    //! incremented in a loop over the bounds, a float sum.

    use std::hash::{Hash, Hasher};
    use std::sync::Mutex;
    use std::time::Duration;

    use hashbrown::{Equivalent, HashMap};

    const BOUNDS: [f64; 9] = [
        1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
    ];

    #[derive(PartialEq, Eq, Hash)]
    struct Key(String, String);

    /// Borrowed lookup key, hashing like `Key` (Go's map lookup of a struct
    /// of strings allocates nothing, so neither does the mirror).
    struct KeyRef<'a>(&'a str, &'a str);

    impl Hash for KeyRef<'_> {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.0.hash(state);
            self.1.hash(state);
        }
    }

    impl Equivalent<Key> for KeyRef<'_> {
        fn equivalent(&self, key: &Key) -> bool {
            self.0 == key.0 && self.1 == key.1
        }
    }

    #[derive(Default)]
    struct State {
        counts: [u64; 10],
        sum: f64,
        count: u64,
    }

    /// The reference's `Registry`.
    #[derive(Default)]
    pub struct Registry {
        jobs: Mutex<HashMap<Key, State>>,
    }

    impl Registry {
        /// The reference's `ObserveJob`.
        pub fn observe_job(&self, kind: &str, status: &str, dur: Duration) {
            let secs = dur.as_secs_f64();
            let mut jobs = self.jobs.lock().unwrap();
            let hs = match jobs.get_mut(&KeyRef(kind, status)) {
                Some(hs) => hs,
                None => jobs
                    .entry(Key(kind.to_owned(), status.to_owned()))
                    .or_default(),
            };
            for (i, ub) in BOUNDS.iter().enumerate() {
                if secs <= *ub {
                    hs.counts[i] += 1;
                }
            }
            hs.counts[9] += 1;
            hs.sum += secs;
            hs.count += 1;
        }
    }
}

/// A worker's calls: `work(thread, j)`.
pub type Work<'a> = dyn Fn(usize, usize) + Sync + 'a;

/// `threads` worker threads parked on a barrier for as long as `body`
/// runs (as a service's workers live on, and as divan reuses its threads):
/// [`Workers::run`] releases them, each calls `work(thread, j)` for `j` in
/// `0..per_thread`, and waits for all of them.
pub fn with_workers<R>(
    threads: usize,
    per_thread: usize,
    work: &Work<'_>,
    body: impl FnOnce(&Workers<'_>) -> R,
) -> R {
    team(threads, per_thread, work, false, body)
}

/// `threads` threads of which the calling thread is thread 0, as in
/// divan's thread pool (measured's harness: it runs a task on the main
/// thread and `threads - 1` auxiliary ones): [`Workers::run`] releases
/// the other `threads - 1`, makes thread 0's calls itself and waits for
/// the others. So no more threads are runnable than `threads`. With the
/// caller waiting aside instead ([`with_workers`]), two workers woken by
/// a caller that had just encoded (or spun) for about a millisecond on
/// two cores made rounds that outlasted their work: in a probe of
/// `histograms_high`'s shape, a round took 2.77 to 3.00 ms while each
/// worker spent 2.13 to 2.22 ms observing (0.07 ms over when the caller
/// slept instead); with the caller as thread 0, 2.19 to 2.54 ms. In the
/// bench, `histograms_high` then took every library less time: rm-metrics
/// 3.64–3.74 → 2.84–2.87 ms, measured 12.2 → 10.1 ms, prometheus-client
/// 14.6–15.3 → 13.6–14.0 ms (builds alternated).
pub fn with_team<R>(
    threads: usize,
    per_thread: usize,
    work: &Work<'_>,
    body: impl FnOnce(&Workers<'_>) -> R,
) -> R {
    team(threads, per_thread, work, true, body)
}

/// `threads` threads' calls, thread 0's made by the caller of
/// [`Workers::run`] if `caller_works`, the others' by spawned workers.
fn team<R>(
    threads: usize,
    per_thread: usize,
    work: &Work<'_>,
    caller_works: bool,
    body: impl FnOnce(&Workers<'_>) -> R,
) -> R {
    let first = usize::from(caller_works);
    let spawned = threads - first;
    let workers = Workers {
        start: std::sync::Barrier::new(spawned + 1),
        done: std::sync::Barrier::new(spawned + 1),
        stop: std::sync::atomic::AtomicBool::new(false),
        caller: caller_works.then_some(work),
        per_thread,
    };
    std::thread::scope(|s| {
        for t in first..threads {
            let w = &workers;
            s.spawn(move || loop {
                w.start.wait();
                // Relaxed: the barrier orders the store before this load.
                if w.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                (0..per_thread).for_each(|j| work(t, j));
                w.done.wait();
            });
        }
        let r = body(&workers);
        // Relaxed: the workers read it after the barrier below.
        workers
            .stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        workers.start.wait();
        r
    })
}

/// The workers of [`with_workers`] or [`with_team`].
pub struct Workers<'w> {
    start: std::sync::Barrier,
    done: std::sync::Barrier,
    stop: std::sync::atomic::AtomicBool,
    /// Thread 0's calls, made by the caller of [`Workers::run`] (`with_team`).
    caller: Option<&'w Work<'w>>,
    per_thread: usize,
}

impl Workers<'_> {
    /// `iters` rounds of every worker's calls, each followed by `after` on
    /// this thread; the total time.
    pub fn run(&self, iters: u64, mut after: impl FnMut()) -> Duration {
        let begin = std::time::Instant::now();
        for _ in 0..iters {
            self.start.wait();
            if let Some(work) = self.caller {
                (0..self.per_thread).for_each(|j| work(0, j));
            }
            self.done.wait();
            after();
        }
        begin.elapsed()
    }
}
