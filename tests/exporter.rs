//! The `/metrics` endpoint over real sockets on loopback: the auth matrix,
//! methods and paths, gzip, bounded header reads, graceful shutdown, and a
//! bounded load test (8 scrapers for 10 s at 1000 hosts while observing).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rm_metrics::exporter::{Exporter, Gate, Running, CONTENT_TYPE};
use rm_metrics::{HostRow, JobRegistry, Snapshot};

use common::{exposition, fleet};

#[path = "common/proto.rs"]
mod proto;

const TOKEN: &str = "test-token-0123456789";

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(addr: SocketAddr, headers: &[(&str, &str)]) -> Reply {
    runtime().block_on(send(addr, "GET", "/metrics", headers))
}

fn start(listen: &str, gate: Option<Gate>) -> Running {
    let registry = Arc::new(JobRegistry::new());
    registry.observe("backup", "succeeded", Duration::from_secs(3));
    Exporter::new(listen.parse().unwrap())
        .gate(gate)
        .header_read_timeout(Duration::from_millis(300))
        .spawn(registry, |render: &mut dyn FnMut(&Snapshot<'_>)| {
            let hosts = [HostRow {
                id: "h1",
                name: "alpha",
                online: true,
                ..HostRow::default()
            }];
            render(&Snapshot {
                hosts: &hosts,
                ..Snapshot::default()
            })
        })
        .unwrap()
}

fn gate(token: Option<&str>, cidr: Option<&str>) -> Option<Gate> {
    Gate::new(token, cidr).unwrap()
}

const BEARER: &str = "Bearer test-token-0123456789";

fn assert_metrics(r: &Reply) {
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], CONTENT_TYPE);
    let text = std::str::from_utf8(&r.body).unwrap();
    let samples = exposition::parse(text).unwrap();
    assert!(samples
        .iter()
        .any(|s| s.name == "rm_hosts_total" && s.value == 1.0));
}

fn assert_refused(r: &Reply, status: u16) {
    assert_eq!(r.status, status);
    assert!(
        !String::from_utf8_lossy(&r.body).contains("rm_"),
        "metrics leaked in a {status}"
    );
}

#[test]
fn no_gate_means_no_route() {
    let s = start("127.0.0.1:0", None);
    assert_refused(&get(s.local_addr(), &[]), 404);
    assert_refused(&get(s.local_addr(), &[("authorization", BEARER)]), 404);
}

#[test]
fn token_gate() {
    let s = start("127.0.0.1:0", gate(Some(TOKEN), None));
    let a = s.local_addr();
    assert_metrics(&get(a, &[("authorization", BEARER)]));
    let missing = get(a, &[]);
    assert_refused(&missing, 401);
    assert_eq!(
        missing.headers["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    assert_refused(
        &get(a, &[("authorization", "Bearer test-token-0123456780")]),
        401,
    );
    assert_refused(
        &get(a, &[("authorization", "Bearer test-token-012345678")]),
        401,
    );
    assert_refused(&get(a, &[("authorization", "Basic dGVzdA==")]), 401);
}

#[test]
fn cidr_gate_uses_the_tcp_peer() {
    let inside = start("127.0.0.1:0", gate(None, Some("127.0.0.0/8")));
    assert_metrics(&get(inside.local_addr(), &[]));
    let outside = start("127.0.0.1:0", gate(None, Some("10.0.0.0/8, fd00::/8")));
    // A forwarded header claiming a trusted address changes nothing.
    assert_refused(
        &get(outside.local_addr(), &[("x-forwarded-for", "10.1.2.3")]),
        403,
    );
}

#[test]
fn both_gates_are_required() {
    let s = start("127.0.0.1:0", gate(Some(TOKEN), Some("127.0.0.1/32")));
    assert_metrics(&get(s.local_addr(), &[("authorization", BEARER)]));
    assert_refused(&get(s.local_addr(), &[]), 401);
    assert_refused(
        &get(
            s.local_addr(),
            &[("authorization", "Bearer nope-nope-nope-nope")],
        ),
        401,
    );
    // Right token, peer outside the network.
    let s = start("127.0.0.1:0", gate(Some(TOKEN), Some("192.0.2.0/24")));
    assert_refused(&get(s.local_addr(), &[("authorization", BEARER)]), 403);
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let s = start("[::1]:0", gate(Some(TOKEN), Some("::1/128")));
    assert_metrics(&get(s.local_addr(), &[("authorization", BEARER)]));
    let s = start("[::1]:0", gate(None, Some("127.0.0.0/8")));
    assert_refused(&get(s.local_addr(), &[]), 403);
}

#[test]
fn malformed_configuration_fails_at_start_up() {
    for (token, cidr) in [
        (Some(""), None),
        (Some("short"), None),
        (Some("has space in the token"), None),
        (None, Some("")),
        (None, Some("10.0.0.0/8,,fd00::/8")),
        (None, Some("10.0.0.256/8")),
        (None, Some("localhost")),
        (Some(TOKEN), Some("10.0.0.0/40")),
    ] {
        let err = Gate::new(token, cidr).expect_err("must not start");
        assert!(err.to_string().starts_with("RM_METRICS_"), "{err}");
    }
}

#[test]
fn methods_paths_head_and_gzip() {
    let s = start("127.0.0.1:0", gate(None, Some("127.0.0.1/32")));
    let a = s.local_addr();
    let rt = runtime();
    let plain = rt.block_on(send(a, "GET", "/metrics", &[]));
    assert_metrics(&plain);

    assert_refused(&rt.block_on(send(a, "GET", "/", &[])), 404);
    assert_refused(&rt.block_on(send(a, "GET", "/metrics/x", &[])), 404);
    let post = rt.block_on(send(a, "POST", "/metrics", &[]));
    assert_refused(&post, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");

    let head = rt.block_on(send(a, "HEAD", "/metrics", &[]));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-type"], CONTENT_TYPE);

    let gz = rt.block_on(send(a, "GET", "/metrics", &[("accept-encoding", "gzip")]));
    assert_eq!(gz.status, 200);
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    assert!(gz.body.len() < plain.body.len());
}

/// What Prometheus 2.42 sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[test]
fn negotiates_openmetrics_with_exemplars() {
    let registry = Arc::new(JobRegistry::new());
    let trace =
        rm_metrics::Exemplar::new(&[("trace_id", "0af7651916cd43dd8448eb211c80319c")]).unwrap();
    registry.observe_with_exemplar("backup", "failed", Duration::from_secs(45), &trace);
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(gate(None, Some("127.0.0.1/32")))
        .partitions(2)
        .spawn(registry, |render: &mut dyn FnMut(&Snapshot<'_>)| {
            render(&Snapshot::default())
        })
        .unwrap();
    let a = s.local_addr();
    let rt = runtime();
    for (accept, om) in [
        (None, false),
        (Some("*/*"), false),
        (Some("text/plain; version=0.0.4"), false),
        (Some(PROMETHEUS_ACCEPT), true),
        (Some("application/openmetrics-text; version=1.0.0"), true),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|v| ("accept", *v)).collect();
        for method in ["GET", "HEAD"] {
            for path in ["/metrics", "/metrics?partition=0", "/metrics?partition=1"] {
                let r = rt.block_on(send(a, method, path, &headers));
                assert_eq!(r.status, 200);
                let want = if om { OPENMETRICS } else { CONTENT_TYPE };
                assert_eq!(r.headers["content-type"], want, "{accept:?}");
                assert_eq!(r.headers["vary"], "Accept, Accept-Encoding");
                if method == "HEAD" {
                    continue;
                }
                let body = String::from_utf8(r.body).unwrap();
                assert_eq!(body.ends_with("# EOF\n"), om, "{accept:?} {path}");
                assert_eq!(body.matches("# EOF").count(), usize::from(om));
                let exemplar = r#"rm_job_duration_seconds_bucket{kind="backup",status="failed",le="60.0"} 1 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 45"#;
                let whole = !path.ends_with("=1");
                assert_eq!(body.contains(exemplar), om && whole, "{accept:?} {path}");
                if !om {
                    assert!(!body.contains(" # {"), "an exemplar in the text format");
                    exposition::parse(&body).unwrap();
                }
            }
        }
    }
    s.shutdown();
}

#[test]
fn slow_or_huge_headers_are_cut_off() {
    let s = start("127.0.0.1:0", gate(None, Some("127.0.0.1/32")));
    // Slow: half a request, then silence; the server closes within the timeout.
    let mut c = TcpStream::connect(s.local_addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "slow client held the connection {:?}",
        t.elapsed()
    );
    assert!(!String::from_utf8_lossy(&buf).contains("rm_"));

    // Huge: 64 KiB of headers is refused, not buffered.
    let mut c = TcpStream::connect(s.local_addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = c.write_all(big.as_bytes());
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let reply = String::from_utf8_lossy(&buf);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
        "{reply:.80}"
    );
}

#[test]
fn shutdown_is_graceful_and_prompt() {
    let s = start("127.0.0.1:0", gate(None, Some("127.0.0.1/32")));
    let a = s.local_addr();
    // An idle keep-alive connection must not hold the shutdown up.
    let idle = TcpStream::connect(a).unwrap();
    assert_metrics(&get(a, &[]));
    let t = Instant::now();
    s.shutdown();
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "shutdown took {:?}",
        t.elapsed()
    );
    assert!(
        TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_err(),
        "still accepting"
    );
    drop(idle);
}

/// 8 concurrent scrapers for `RM_LOAD_SECS` (default 10) seconds against 1000
/// hosts while two threads observe: no failed scrape, every body parses and
/// is self-consistent. Prints scrapes per second and latency percentiles.
#[test]
fn load_8_scrapers_1000_hosts() {
    const HOSTS: usize = 1000;
    let secs: u64 = std::env::var("RM_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let ids: Vec<String> = (0..HOSTS)
        .map(|i| format!("host-{:04}", (i * 7) % HOSTS))
        .collect();
    let names: Vec<String> = (0..HOSTS).map(|i| format!("node{i}.example.org")).collect();
    let registry = Arc::new(JobRegistry::new());
    let stop = Arc::new(AtomicBool::new(false));
    let observers: Vec<_> = (0..2)
        .map(|t| {
            let (registry, stop) = (Arc::clone(&registry), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0u64;
                // Relaxed: a stop flag; the join orders the rest.
                while !stop.load(Ordering::Relaxed) {
                    let kind = ["backup", "check", "prune", "forget"][(n % 4) as usize];
                    let status = ["succeeded", "failed", "canceled"][((n / 4 + t) % 3) as usize];
                    registry.observe(kind, status, Duration::from_millis(n % 100_000_000));
                    n += 1;
                    if n % 1024 == 0 {
                        std::thread::yield_now();
                    }
                }
                n
            })
        })
        .collect();
    let source = move |render: &mut dyn FnMut(&Snapshot<'_>)| {
        let rows: Vec<HostRow<'_>> = ids
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, (id, name))| HostRow {
                id,
                name,
                online: i % 5 != 0,
                last_backup_unix: Some(1_767_225_600 + i as i64),
                last_backup_succeeded: Some(i % 9 != 0),
                repo_size_bytes: Some((i as i64) << 30),
                snapshot_count: i as u64,
                open_alert_count: (i % 3) as u64,
                repo_status: "ready",
            })
            .collect();
        render(&Snapshot {
            hosts: &rows,
            ..Snapshot::default()
        })
    };
    let server = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(gate(Some(TOKEN), Some("127.0.0.1/32")))
        .spawn(Arc::clone(&registry), source)
        .unwrap();
    let addr = server.local_addr();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let scrapers: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .unwrap();
                    tokio::spawn(conn);
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let req = Request::get("/metrics")
                            .header("host", "x")
                            .header("authorization", BEARER)
                            .body(Empty::<Bytes>::new())
                            .unwrap();
                        let t = Instant::now();
                        let resp = sender.send_request(req).await.expect("scrape failed");
                        assert_eq!(resp.status(), 200);
                        let body = resp.into_body().collect().await.unwrap().to_bytes();
                        latencies.push(t.elapsed());
                        let text = std::str::from_utf8(&body).unwrap();
                        let samples = exposition::parse(text).unwrap();
                        exposition::histograms(&samples).unwrap();
                        let hosts = samples
                            .iter()
                            .filter(|s| s.name == "rm_host_agent_online")
                            .count();
                        assert_eq!(hosts, HOSTS);
                    }
                    latencies
                })
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = scrapers
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    stop.store(true, Ordering::Relaxed);
    let observed: u64 = observers.into_iter().map(|o| o.join().unwrap()).sum();
    server.shutdown();

    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let n = latencies.len();
    println!(
        "load: {n} scrapes in {secs} s = {:.0} scrapes/s; latency p50 {:?} p99 {:?} max {:?}; {observed} observations meanwhile",
        n as f64 / secs as f64,
        pct(0.5),
        pct(0.99),
        latencies[n - 1]
    );
    assert!(n >= 8, "only {n} scrapes");
    let total: u64 = {
        let mut t = 0;
        registry.for_each_series(|_, _, s| t += s.count());
        t
    };
    assert_eq!(total, observed, "observations lost");
}

#[test]
fn serves_the_facade_recorders_families_next_to_the_preset() {
    let registry = Arc::new(JobRegistry::new());
    registry.observe("backup", "succeeded", Duration::from_secs(2));
    let recorder = rm_metrics::facade::Recorder::new(registry.registry());
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("cache_hits", "Cache hits.");
        metrics::counter!("cache_hits", "cache" => "users").increment(41);
        metrics::histogram!("query_seconds").record(0.02);
    });
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(gate(None, Some("127.0.0.1/32")))
        .spawn(registry, |render: &mut dyn FnMut(&Snapshot<'_>)| {
            render(&Snapshot::default())
        })
        .unwrap();
    // Recorded after the exporter started: served by the next scrape.
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("cache_hits", "cache" => "users").increment(1);
    });
    for accept in [None, Some(PROMETHEUS_ACCEPT)] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|v| ("accept", *v)).collect();
        let r = get(s.local_addr(), &headers);
        assert_eq!(r.status, 200);
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("rm_hosts_total 0\n"), "{body}");
        assert!(body
            .contains("rm_job_duration_seconds_count{kind=\"backup\",status=\"succeeded\"} 1\n"));
        assert!(
            body.contains("cache_hits_total{cache=\"users\"} 42\n"),
            "{body}"
        );
        assert!(body.contains("query_seconds_count 1\n"), "{body}");
        if accept.is_some() {
            assert!(body.ends_with("# EOF\n"));
            assert!(body.contains("# TYPE cache_hits counter\n"));
        } else {
            exposition::parse(&body).unwrap();
            assert!(body.contains("# HELP cache_hits_total Cache hits.\n"));
        }
    }
    s.shutdown();
}

#[test]
fn negotiates_protobuf_with_native_histograms() {
    let registry =
        Arc::new(JobRegistry::with_native(rm_metrics::Native::new(0.001, 1_048_576.0)).unwrap());
    registry.observe("backup", "succeeded", Duration::from_secs(300));
    registry.observe("backup", "succeeded", Duration::from_secs(310));
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(gate(None, Some("127.0.0.1/32")))
        .partitions(2)
        .spawn(registry, fleet::source(fleet::ids(3)))
        .unwrap();
    const PROMETHEUS_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let rt = runtime();
    let mut hosts = 0;
    for path in ["/metrics", "/metrics?partition=0", "/metrics?partition=1"] {
        let r = rt.block_on(send(
            s.local_addr(),
            "GET",
            path,
            &[("accept", PROMETHEUS_NATIVE)],
        ));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers["content-type"],
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        );
        let families = proto::decode(&r.body);
        let names: Vec<_> = families.iter().map(|f| f.name.clone().unwrap()).collect();
        let job = families
            .iter()
            .find(|f| f.name.as_deref() == Some("rm_job_duration_seconds"));
        if path.ends_with("=1") {
            assert!(
                job.is_none() && !names.contains(&"rm_hosts_total".to_string()),
                "{names:?}"
            );
        } else {
            let h = job.unwrap().metric[0].histogram.as_ref().unwrap();
            assert_eq!(
                (h.sample_count, h.sample_sum, h.schema),
                (Some(2), Some(610.0), Some(3))
            );
            // 300 s and 310 s: buckets ceil(8 log2 v) = 66 and 67, adjacent.
            assert_eq!(
                proto::buckets(&h.positive_span, &h.positive_delta),
                [(66, 1), (67, 1)]
            );
            assert_eq!(h.bucket.len(), 9, "the classic ladder too");
        }
        if path != "/metrics" {
            let status = families
                .iter()
                .find(|f| f.name.as_deref() == Some("rm_host_repo_status"));
            hosts += status.map_or(0, |f| f.metric.len());
        }
    }
    assert_eq!(hosts, 3, "the partitions split the hosts");
    s.shutdown();
}
