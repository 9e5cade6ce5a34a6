//! A simulated fleet: agents come online and go offline, run backups,
//! checks and prunes that succeed or fail, and every finished job is observed
//! into the registry from the simulating threads, with a simulated trace id
//! as its exemplar (shown in the OpenMetrics exposition).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rm_metrics::{AlertCounts, BuildInfo, Exemplar, HostRow, JobRegistry, Snapshot};

struct Host {
    id: String,
    name: String,
    online: bool,
    last_backup_unix: Option<i64>,
    last_backup_succeeded: Option<bool>,
    repo_size_bytes: Option<i64>,
    snapshot_count: u64,
    open_alert_count: u64,
    repo_status: &'static str,
}

/// The fleet's state, shared by the simulating threads and the scrapes.
/// Alerts live on the hosts, as in restic-manager: a failed backup opens one
/// (at most three per host), a successful backup resolves them; the
/// server-wide counts by severity are derived from the hosts at each scrape,
/// so they stay bounded by the fleet and rise and fall as it does.
pub struct Fleet {
    hosts: Mutex<Vec<Host>>,
}

/// Most open alerts one simulated host carries.
const MAX_HOST_ALERTS: u64 = 3;

const KINDS: [(&str, u32, f64); 5] = [
    // (kind, weight, median duration in seconds)
    ("backup", 60, 900.0),
    ("check", 20, 120.0),
    ("prune", 10, 2400.0),
    ("forget", 5, 20.0),
    ("unlock", 5, 0.8),
];

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Fleet {
    /// `n` hosts in a plausible mixed state.
    pub fn new(n: usize, rng: &mut fastrand::Rng) -> Fleet {
        let now = now_unix();
        let hosts = (0..n)
            .map(|i| {
                let has_backup = rng.f64() < 0.9;
                Host {
                    id: format!("host-{:04}", i + 1),
                    name: format!("node{}.example.org", i + 1),
                    online: rng.f64() < 0.85,
                    last_backup_unix: has_backup.then(|| now - rng.i64(600..172_800)),
                    last_backup_succeeded: has_backup.then(|| rng.f64() < 0.9),
                    repo_size_bytes: (rng.f64() < 0.95).then(|| rng.i64(1 << 30..1 << 40)),
                    snapshot_count: rng.u64(0..400),
                    open_alert_count: if rng.f64() < 0.2 { rng.u64(1..4) } else { 0 },
                    repo_status: ["ready", "ready", "ready", "ready", "", "init_failed"]
                        [rng.usize(0..6)],
                }
            })
            .collect();
        Fleet {
            hosts: Mutex::new(hosts),
        }
    }

    /// Simulates until `stop` is set: a job finishes every few milliseconds.
    pub fn simulate(&self, registry: &JobRegistry, stop: &AtomicBool, seed: u64) {
        let mut rng = fastrand::Rng::with_seed(seed);
        // Relaxed: a stop flag; nothing else is published through it.
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_micros(rng.u64(500..5_000)));
            let mut hosts = self.hosts.lock().unwrap();
            let n = hosts.len();
            let host = &mut hosts[rng.usize(0..n)];
            // Agents drop off now and then and mostly reconnect soon.
            if rng.f64() < if host.online { 0.01 } else { 0.2 } {
                host.online = !host.online;
                continue;
            }
            if !host.online {
                continue;
            }
            let mut pick = rng.u32(0..100);
            let &(kind, _, median) = KINDS
                .iter()
                .find(|(_, w, _)| {
                    pick < *w || {
                        pick -= w;
                        false
                    }
                })
                .unwrap_or(&KINDS[0]);
            let status = match rng.u32(0..100) {
                0..=84 => "succeeded",
                85..=96 => "failed",
                _ => "canceled",
            };
            // Log-normal-ish spread around the median, from sub-second to a day.
            let secs = median * (rng.f64() * 4.0 - 2.0).exp2().powi(2);
            if kind == "backup" && status != "canceled" {
                let ok = status == "succeeded";
                host.last_backup_unix = Some(now_unix());
                host.last_backup_succeeded = Some(ok);
                if ok {
                    host.snapshot_count += 1;
                    *host.repo_size_bytes.get_or_insert(0) += rng.i64(0..1 << 26);
                    host.repo_status = "ready";
                    host.open_alert_count = 0; // a good backup resolves them
                } else {
                    host.open_alert_count = (host.open_alert_count + 1).min(MAX_HOST_ALERTS);
                }
            }
            drop(hosts);
            // A W3C trace id, as a tracer holds it (written as 32 hex digits).
            let exemplar = Exemplar::trace(rng.u128(..));
            registry.observe_with_exemplar(kind, status, Duration::from_secs_f64(secs), &exemplar);
        }
    }

    /// Builds this moment's snapshot and hands it to `render` (a scrape).
    pub fn scrape(&self, render: &mut dyn FnMut(&Snapshot<'_>)) {
        let hosts = self.hosts.lock().unwrap();
        let rows: Vec<HostRow<'_>> = hosts
            .iter()
            .map(|h| HostRow {
                id: &h.id,
                name: &h.name,
                online: h.online,
                last_backup_unix: h.last_backup_unix,
                last_backup_succeeded: h.last_backup_succeeded,
                repo_size_bytes: h.repo_size_bytes,
                snapshot_count: h.snapshot_count,
                open_alert_count: h.open_alert_count,
                repo_status: h.repo_status,
            })
            .collect();
        // Offline agents are informational; one open alert on a host is a
        // warning, repeated failures (two or more) are critical.
        let mut alerts = AlertCounts::default();
        for h in hosts.iter() {
            alerts.info += u64::from(!h.online);
            match h.open_alert_count {
                0 => {}
                1 => alerts.warning += 1,
                n => alerts.critical += n,
            }
        }
        render(&Snapshot {
            hosts: &rows,
            alerts,
            build: BuildInfo {
                version: env!("CARGO_PKG_VERSION"),
                commit: option_env!("RM_BUILD_COMMIT").unwrap_or("dev"),
                go_version: "n/a (rust)",
            },
        });
    }
}

/// Starts `threads` simulating threads; they stop when `stop` is set.
pub fn spawn(
    fleet: &Arc<Fleet>,
    registry: &Arc<JobRegistry>,
    stop: &Arc<AtomicBool>,
    threads: usize,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let (fleet, registry, stop) =
                (Arc::clone(fleet), Arc::clone(registry), Arc::clone(stop));
            std::thread::Builder::new()
                .name(format!("fleet-sim-{t}"))
                .spawn(move || fleet.simulate(&registry, &stop, 0x5eed + t as u64))
                .expect("spawn simulator thread")
        })
        .collect()
}
