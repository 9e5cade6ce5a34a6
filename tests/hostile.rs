//! The exporter under hostile load, over real loopback sockets: floods of
//! untrusted and of unauthenticated peers, per-peer caps, the in-flight cap,
//! a source that hangs or panics, a client that stops reading, and HEAD.
//! Every loop is bounded in count and time.
//!
//! Peers take distinct loopback source addresses (127.0.0.2, 127.0.0.3, …),
//! which Linux routes to `lo` without configuration.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rm_metrics::exporter::{Exporter, Gate, Running, SnapshotSource};
use rm_metrics::{JobRegistry, Snapshot};

const TOKEN: &str = "hostile-test-token-0123";

fn hosts_source(n: usize) -> impl SnapshotSource {
    common::fleet::source(common::fleet::ids(n))
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A blocking TCP connection from source address `from`.
fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// One HTTP/1.1 request on a fresh connection from `from`; the status and
/// the whole reply. `Connection: close`, so the reply ends at EOF.
fn request(from: IpAddr, to: SocketAddr, method: &str, headers: &str) -> (u16, String) {
    let mut s = connect_from(from, to);
    let req =
        format!("{method} /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Connections from `from` that dribble one header byte every 100 ms and
/// never finish their request, kept open by a thread until `stop` closes.
fn dribblers(from: &[IpAddr], each: usize, to: SocketAddr) -> (Vec<TcpStream>, usize) {
    let mut held = Vec::new();
    let mut refused = 0;
    for &ip in from {
        for _ in 0..each {
            let mut s = connect_from(ip, to);
            if s.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ").is_ok() {
                held.push(s);
            } else {
                refused += 1;
            }
        }
    }
    (held, refused)
}

fn keep_dribbling(conns: Vec<TcpStream>, stop: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut conns = conns;
        let deadline = Instant::now() + Duration::from_secs(30);
        while stop.recv_timeout(Duration::from_millis(100)).is_err() && Instant::now() < deadline {
            for c in &mut conns {
                let _ = c.write_all(b"a");
            }
        }
    })
}

fn start(gate: Option<Gate>, configure: impl FnOnce(Exporter) -> Exporter) -> Running {
    let registry = Arc::new(JobRegistry::new());
    registry.observe("backup", "succeeded", Duration::from_secs(3));
    configure(Exporter::new("127.0.0.1:0".parse().unwrap()).gate(gate))
        .spawn(registry, hosts_source(50))
        .unwrap()
}

/// Ten scrapes from `from`, each answered 200 within 2 s.
fn ten_scrapes_succeed(from: IpAddr, to: SocketAddr, headers: &str) {
    for i in 0..10 {
        let t = Instant::now();
        let (status, body) = request(from, to, "GET", headers);
        assert_eq!(status, 200, "scrape {i}: {body:.200}");
        assert!(body.contains("rm_hosts_total 50\n"), "scrape {i}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "scrape {i} took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn an_untrusted_flood_does_not_starve_a_trusted_scraper() {
    let s = start(Gate::new(None, Some("127.0.0.2/32")).unwrap(), |e| e);
    let to = s.local_addr();
    // 120 connections from 6 untrusted addresses: twice the connection cap.
    let flood: Vec<IpAddr> = (3..9).map(ip).collect();
    let (held, _) = dribblers(&flood, 20, to);
    let (stop, stopped) = mpsc::channel();
    let dribbling = keep_dribbling(held, stopped);
    ten_scrapes_succeed(ip(2), to, "");
    // An untrusted peer is answered 403 at accept.
    assert_eq!(request(ip(3), to, "GET", "").0, 403);
    stop.send(()).unwrap();
    dribbling.join().unwrap();
}

#[test]
fn an_unauthenticated_flood_gives_way_to_an_authorized_scraper() {
    // Token only: every peer may connect, so the flood takes connections;
    // unauthorized ones are evicted for newcomers.
    let s = start(Gate::new(Some(TOKEN), None).unwrap(), |e| {
        e.max_connections(16).max_connections_per_peer(4)
    });
    let to = s.local_addr();
    let flood: Vec<IpAddr> = (3..13).map(ip).collect();
    let (held, _) = dribblers(&flood, 4, to); // 40 > 16
    let (stop, stopped) = mpsc::channel();
    let dribbling = keep_dribbling(held, stopped);
    ten_scrapes_succeed(ip(2), to, &format!("Authorization: Bearer {TOKEN}\r\n"));
    stop.send(()).unwrap();
    dribbling.join().unwrap();
}

#[test]
fn one_peer_is_capped() {
    let s = start(Gate::new(None, Some("127.0.0.0/8")).unwrap(), |e| {
        e.max_connections_per_peer(3)
    });
    let to = s.local_addr();
    let (held, _) = dribblers(&[ip(5)], 3, to);
    let (status, reply) = request(ip(5), to, "GET", "");
    assert_eq!(status, 503, "{reply:.200}");
    assert!(reply.to_ascii_lowercase().contains("retry-after: 1"));
    // Another address is not affected.
    assert_eq!(request(ip(6), to, "GET", "").0, 200);
    drop(held);
}

/// A source that waits until told to go on; counts its calls.
struct Gated {
    calls: Arc<AtomicUsize>,
    go: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl SnapshotSource for Gated {
    fn scrape(&mut self, render: &mut dyn FnMut(&Snapshot<'_>)) {
        // Relaxed: a counter read after the test's joins or waits.
        self.calls.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .go
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20));
        render(&Snapshot::default());
    }
}

#[test]
fn the_in_flight_cap_and_the_scrape_timeout_answer_503() {
    let (go, wait) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = Gated {
        calls: Arc::clone(&calls),
        go: Arc::new(Mutex::new(wait)),
    };
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(Gate::new(None, Some("127.0.0.0/8")).unwrap())
        .max_scrapes_in_flight(1)
        .scrape_timeout(Duration::from_millis(500))
        .spawn(Arc::new(JobRegistry::new()), source)
        .unwrap();
    let to = s.local_addr();
    // The first scrape hangs in the source and times out after 500 ms...
    let first = std::thread::spawn(move || request(ip(2), to, "GET", ""));
    while calls.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // ...meanwhile the cap answers 503 at once, HEAD is served without the
    // source, and the server keeps accepting.
    let t = Instant::now();
    let (status, reply) = request(ip(3), to, "GET", "");
    assert_eq!(status, 503, "{reply:.200}");
    assert!(reply.to_ascii_lowercase().contains("retry-after: 1"));
    assert!(t.elapsed() < Duration::from_millis(400));
    let (status, head) = request(ip(3), to, "HEAD", "");
    assert_eq!(status, 200, "{head}");
    assert!(!head.contains("rm_"), "HEAD sent a body");
    let (status, reply) = first.join().unwrap();
    assert_eq!(status, 503, "{reply:.200}");
    assert!(reply.contains("timed out"));
    assert_eq!(calls.load(Ordering::Relaxed), 1, "HEAD called the source");
    // The source is still stuck: the cap holds until it returns.
    assert_eq!(request(ip(3), to, "GET", "").0, 503);
    // Let the stuck call and every later one through.
    for _ in 0..100 {
        go.send(()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while request(ip(3), to, "GET", "").0 != 200 {
        assert!(Instant::now() < deadline, "never recovered");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Shutdown is bounded even with a scrape stuck in the source.
    let t = Instant::now();
    s.shutdown();
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "shutdown took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_panicking_source_answers_500_and_the_server_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(Gate::new(None, Some("127.0.0.0/8")).unwrap())
        .spawn(
            Arc::new(JobRegistry::new()),
            move |render: &mut dyn FnMut(&Snapshot<'_>)| {
                // Relaxed: a counter on the one scrape thread.
                if c.fetch_add(1, Ordering::Relaxed) == 0 {
                    panic!("source failed (expected by the test)");
                }
                render(&Snapshot::default())
            },
        )
        .unwrap();
    assert_eq!(request(ip(2), s.local_addr(), "GET", "").0, 500);
    assert_eq!(request(ip(2), s.local_addr(), "GET", "").0, 200);
}

#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let registry = Arc::new(JobRegistry::new());
    let s = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(Gate::new(None, Some("127.0.0.0/8")).unwrap())
        .max_connections_per_peer(1)
        .write_timeout(Duration::from_millis(300))
        .spawn(registry, hosts_source(20_000)) // a body of megabytes
        .unwrap();
    let to = s.local_addr();
    let mut stuck = connect_from(ip(4), to);
    stuck
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // It never reads. While its connection is open, the peer is at its cap.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(request(ip(4), to, "GET", "").0, 503);
    let deadline = Instant::now() + Duration::from_secs(5);
    while request(ip(4), to, "HEAD", "").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the stuck connection was never cut"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stuck);
}

#[test]
fn gzip_with_quality_zero_is_not_gzip() {
    let s = start(Gate::new(None, Some("127.0.0.0/8")).unwrap(), |e| e);
    let to = s.local_addr();
    let (_, plain) = request(ip(2), to, "GET", "Accept-Encoding: gzip;q=0\r\n");
    assert!(!plain.to_ascii_lowercase().contains("content-encoding"));
    assert!(plain.contains("rm_hosts_total 50\n"));
    let (_, zipped) = request(ip(2), to, "GET", "Accept-Encoding: *, gzip;q=0.5\r\n");
    assert!(zipped
        .to_ascii_lowercase()
        .contains("content-encoding: gzip"));
}
