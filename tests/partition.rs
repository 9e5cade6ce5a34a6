//! Partitions: the parts of one scrape are disjoint, each parses on its own,
//! and their union is exactly the full scrape, sample for sample. Random
//! fleets, 1 to 7 parts, renderers reused across edits (so each part's
//! cached order and labels are exercised), hosts joining and leaving.

mod common;

use std::time::Duration;

use rm_metrics::{HostRow, JobRegistry, Partition, Renderer, Snapshot};

use common::exposition;

struct Host {
    id: String,
    name: String,
    online: bool,
    status: &'static str,
}

fn row(h: &Host) -> HostRow<'_> {
    HostRow {
        id: &h.id,
        name: &h.name,
        online: h.online,
        snapshot_count: h.id.len() as u64,
        repo_status: h.status,
        ..HostRow::default()
    }
}

/// Sample lines (no comments), sorted: the exposition as a multiset.
fn samples(text: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(text).unwrap();
    exposition::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_union_of_the_parts_is_the_full_scrape() {
    let registry = JobRegistry::new();
    registry.observe("backup", "succeeded", Duration::from_secs(7));
    registry.observe("check", "failed", Duration::from_millis(300));
    let mut rng = fastrand::Rng::with_seed(0x9a7);
    for count in 1..=7u32 {
        let mut full = Renderer::new();
        let mut parts: Vec<Renderer> = (0..count).map(|_| Renderer::new()).collect();
        let mut fleet: Vec<Host> = Vec::new();
        for round in 0..60 {
            // Edit the fleet: join, leave, rename, reorder, change status.
            for _ in 0..rng.usize(0..6) {
                match rng.u8(0..5) {
                    0 | 1 => fleet.push(Host {
                        id: format!("h-{}", rng.u32(0..500)),
                        name: ["alpha", "b\"eta", "γ"][rng.usize(0..3)].to_owned(),
                        online: rng.bool(),
                        status: ["ready", "", "init_failed"][rng.usize(0..3)],
                    }),
                    2 if !fleet.is_empty() => {
                        let i = rng.usize(0..fleet.len());
                        fleet.swap_remove(i);
                    }
                    3 if fleet.len() > 1 => {
                        let (a, b) = (rng.usize(0..fleet.len()), rng.usize(0..fleet.len()));
                        fleet.swap(a, b);
                    }
                    _ if !fleet.is_empty() => {
                        let i = rng.usize(0..fleet.len());
                        fleet[i].online = !fleet[i].online;
                        fleet[i].status = "ready";
                    }
                    _ => {}
                }
            }
            fleet.sort_by(|a, b| a.id.cmp(&b.id));
            fleet.dedup_by(|a, b| a.id == b.id);
            rng.shuffle(&mut fleet);
            let rows: Vec<HostRow<'_>> = fleet.iter().map(row).collect();
            let snapshot = Snapshot {
                hosts: &rows,
                ..Snapshot::default()
            };
            let want = samples(full.render(&registry, &snapshot));
            let mut union = Vec::new();
            for (i, r) in parts.iter_mut().enumerate() {
                let part = Partition::new(i as u32, count).unwrap();
                let text = r.render_partition(&registry, &snapshot, part).to_vec();
                let got = samples(&text);
                let s = std::str::from_utf8(&text).unwrap();
                assert_eq!(
                    s.contains("rm_hosts_total"),
                    i == 0,
                    "round {round}, part {i}/{count}"
                );
                assert_eq!(s.contains("rm_job_duration_seconds_count"), i == 0);
                for h in &fleet {
                    let escaped_id = format!("host_id=\"{}\"", h.id);
                    assert_eq!(
                        s.contains(&escaped_id),
                        Partition::of_host(&h.id, count) == i as u32,
                        "host {} in part {i} of {count}",
                        h.id
                    );
                }
                // Every part carries the HELP and TYPE of the host families.
                assert!(s.contains("# TYPE rm_host_agent_online gauge\n"));
                union.extend(got);
            }
            union.sort();
            assert_eq!(
                union, want,
                "round {round}, {count} parts: the union differs"
            );
        }
    }
}

/// Over HTTP: `/metrics?partition=i` for i < 3 together serve exactly what
/// `/metrics` serves; a partition past the count, or another query, is 400.
#[test]
fn the_exporter_serves_partitions() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use rm_metrics::exporter::{Exporter, Gate};

    let registry = Arc::new(JobRegistry::new());
    registry.observe("backup", "succeeded", Duration::from_secs(9));
    let server = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(Gate::new(None, Some("127.0.0.1/32")).unwrap())
        .partitions(3)
        .spawn(registry, common::fleet::source(common::fleet::ids(300)))
        .unwrap();
    let get = |target: &str| -> (u16, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(server.local_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap();
        (status, buf[split + 4..].to_vec())
    };
    let (status, full) = get("/metrics");
    assert_eq!(status, 200);
    let mut union = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..3 {
        let (status, body) = get(&format!("/metrics?partition={i}"));
        assert_eq!(status, 200);
        sizes.push(body.len());
        union.extend(samples(&body));
    }
    union.sort();
    assert_eq!(union, samples(&full));
    // 300 hosts spread over 3 parts: none empty, none with nearly all.
    assert!(sizes.iter().all(|&n| n > full.len() / 6), "{sizes:?}");
    assert_eq!(get("/metrics?partition=3").0, 400);
    assert_eq!(get("/metrics?shard=1").0, 400);
}
