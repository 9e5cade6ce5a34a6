//! Soak: the exporter and the observe path over time. Ignored by default;
//! CI runs it bounded: `RM_SOAK_SECS=60 cargo test --release --test soak --
//! --ignored --nocapture`.
//!
//! For the whole run:
//! * 2 observer threads at full rate, through handles and through label
//!   strings, on a set of pairs that keeps gaining new ones until the series
//!   limit, then goes to the overflow series;
//! * a fleet whose hosts join and leave on every scrape (about 1000 hosts,
//!   ids drawn from 1500);
//! * 10 scrapes a second over HTTP with a token, gzip on every other one.
//!
//! Checked: no failed scrape; resident memory after warm-up (the first
//! quarter of the run) grows by less than 5 %; the final scrape's `_count`s
//! add up to exactly the observations made.
//!
//! Series removal is not part of the public API yet (it comes with the
//! general families), so series are only ever added here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rm_metrics::exporter::{Exporter, Gate};
use rm_metrics::{HostRow, JobRegistry, Snapshot};

const TOKEN: &str = "soak-token-0123456789";

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One scrape over a fresh keep-alive-less connection: status and body.
fn scrape(addr: SocketAddr, gzip: bool) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let enc = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    let req = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n{enc}\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, buf[split + 4..].to_vec())
}

fn total_count(body: &str) -> u64 {
    body.lines()
        .filter(|l| l.starts_with("rm_job_duration_seconds_count{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
#[ignore = "soak: run with --ignored, bounded by RM_SOAK_SECS (default 60)"]
fn soak() {
    let secs: u64 = std::env::var("RM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let registry = Arc::new(JobRegistry::with_max_series(200));
    let ids: Vec<String> = (0..1500).map(|i| format!("host-{i:04}")).collect();
    // The fleet of this scrape: which of the 1500 ids are present.
    let present = Arc::new(Mutex::new(vec![false; ids.len()]));
    let source = {
        let present = Arc::clone(&present);
        move |render: &mut dyn FnMut(&Snapshot<'_>)| {
            let present = present.lock().unwrap().clone();
            let rows: Vec<HostRow<'_>> = ids
                .iter()
                .zip(&present)
                .enumerate()
                .filter(|(_, (_, &p))| p)
                .map(|(i, (id, _))| HostRow {
                    id,
                    name: id,
                    online: i % 7 != 0,
                    last_backup_unix: Some(1_767_225_600 + i as i64),
                    last_backup_succeeded: Some(i % 11 != 0),
                    snapshot_count: i as u64,
                    repo_status: "ready",
                    ..HostRow::default()
                })
                .collect();
            render(&Snapshot {
                hosts: &rows,
                ..Snapshot::default()
            })
        }
    };
    let server = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(Gate::new(Some(TOKEN), Some("127.0.0.0/8")).unwrap())
        .spawn(Arc::clone(&registry), source)
        .unwrap();
    let addr = server.local_addr();

    let stop = Arc::new(AtomicBool::new(false));
    let observed = Arc::new(AtomicU64::new(0));
    let observers: Vec<_> = (0..2u64)
        .map(|t| {
            let (registry, stop, observed) = (
                Arc::clone(&registry),
                Arc::clone(&stop),
                Arc::clone(&observed),
            );
            std::thread::spawn(move || {
                let handle = registry.handle("backup", "succeeded");
                let mut n = 0u64;
                let started = Instant::now();
                let mut kind = String::new();
                // Relaxed: a stop flag; the join orders the rest.
                while !stop.load(Ordering::Relaxed) {
                    if n % 2 == 0 {
                        handle.observe(Duration::from_millis(n % 90_000_000));
                    } else {
                        // A new pair every ~50 ms of the run, to the limit and past it.
                        let fresh = started.elapsed().as_millis() as u64 / 50;
                        kind.clear();
                        kind.push_str(["check", "prune", "forget", "restore"][(n % 4) as usize]);
                        let status = format!("s{}", (n / 4 + t) % (fresh + 1));
                        registry.observe(&kind, &status, Duration::from_millis(n % 7_000));
                    }
                    n += 1;
                }
                // Relaxed: summed after the joins.
                observed.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();

    let start = Instant::now();
    let warm = Duration::from_secs(secs / 4);
    let mut baseline = None;
    let mut peak_after_warmup = 0;
    let mut scrapes = 0u64;
    let mut rng = fastrand::Rng::with_seed(7);
    while start.elapsed() < Duration::from_secs(secs) {
        {
            // Hosts join and leave: flip 50 random ids, keep about 1000.
            let mut p = present.lock().unwrap();
            for _ in 0..50 {
                let i = rng.usize(..p.len());
                let live = p.iter().filter(|&&x| x).count();
                p[i] = if live < 1000 {
                    true
                } else {
                    !p[i] && live < 1100
                };
            }
        }
        let (status, body) = scrape(addr, scrapes % 2 == 1);
        assert_eq!(status, 200, "scrape {scrapes} failed");
        assert!(!body.is_empty());
        scrapes += 1;
        if start.elapsed() >= warm {
            let rss = rss_kib();
            let base = *baseline.get_or_insert(rss);
            peak_after_warmup = peak_after_warmup.max(rss);
            assert!(
                rss * 100 < base * 105,
                "resident memory grew from {base} KiB to {rss} KiB after warm-up"
            );
        }
        std::thread::sleep(Duration::from_millis(100).saturating_sub(Duration::from_millis(5)));
    }
    stop.store(true, Ordering::Relaxed);
    for o in observers {
        o.join().unwrap();
    }
    let (status, body) = scrape(addr, false);
    assert_eq!(status, 200);
    let total = total_count(std::str::from_utf8(&body).unwrap());
    let made = observed.load(Ordering::Relaxed);
    let base = baseline.unwrap_or(0);
    println!(
        "soak: {secs} s, {scrapes} scrapes, {made} observations, {} series; resident memory after warm-up {base} KiB, peak {peak_after_warmup} KiB ({:+.2} %)",
        registry.series_count(),
        (peak_after_warmup as f64 / base.max(1) as f64 - 1.0) * 100.0
    );
    assert_eq!(total, made, "observations lost or double counted");
    server.shutdown();
}
