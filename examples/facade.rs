//! A workload instrumented only with the `metrics` macros, counted by the
//! rm-metrics recorder and scraped from the exporter next to the
//! restic-manager families.
//!
//! ```text
//! cargo run --example facade --features exporter,metrics
//! ```
//!
//! Four threads serve simulated requests for half a second, then the
//! example scrapes its own `/metrics` (loopback only), prints the facade's
//! families and checks that the scraped request count is the number of
//! requests made.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::Unit;
use rm_metrics::exporter::{Exporter, Gate};
use rm_metrics::facade::{Matcher, Recorder};
use rm_metrics::{JobRegistry, Snapshot};

const ROUTES: [&str; 3] = ["/", "/login", "/api/items"];

/// One simulated request: what the service's handler records.
fn handle(n: u64) {
    let route = ROUTES[(n % 3) as usize];
    let code = if n % 17 == 0 { "500" } else { "200" };
    let in_flight = metrics::gauge!("http_in_flight");
    in_flight.increment(1.0);
    let seconds = 0.0005 * (1 + n % 400) as f64;
    metrics::counter!("http_requests_total", "route" => route, "code" => code).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route).record(seconds);
    in_flight.decrement(1.0);
}

fn main() -> ExitCode {
    let jobs = Arc::new(JobRegistry::new());
    // The recorder's families go in the registry the exporter serves.
    let recorder = Recorder::builder()
        .buckets_for(
            Matcher::Suffix("_duration_seconds".into()),
            &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
        )
        .expect("valid buckets")
        .build(jobs.registry());
    recorder
        .clone()
        .install()
        .expect("no other metrics recorder");
    metrics::describe_counter!("http_requests_total", "Requests served, by route and code.");
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to serve a request."
    );
    metrics::describe_gauge!("http_in_flight", "Requests being served.");

    let gate = Gate::new(None, Some("127.0.0.1/32")).expect("valid CIDR");
    let running = Exporter::new("127.0.0.1:0".parse().unwrap())
        .gate(gate)
        .spawn(
            Arc::clone(&jobs),
            |render: &mut dyn FnMut(&Snapshot<'_>)| render(&Snapshot::default()),
        )
        .expect("cannot listen on loopback");

    let made = AtomicU64::new(0);
    let until = Instant::now() + Duration::from_millis(500);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let made = &made;
            s.spawn(move || {
                let mut n = t;
                while Instant::now() < until {
                    handle(n);
                    n += 4;
                    // Relaxed: a tally read after the scope joins the threads.
                    made.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let made = made.into_inner();

    let body = match scrape(running.local_addr()) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("facade: scrape failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    running.shutdown();
    for line in body.lines().filter(|l| l.contains("http_")) {
        println!("{line}");
    }
    let scraped: u64 = body
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    println!("facade: {made} requests made, {scraped} scraped");
    if scraped != made || !recorder.errors().is_empty() {
        eprintln!("facade: mismatch, or errors: {:?}", recorder.errors());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `GET /metrics` over plain HTTP/1.1; the body.
fn scrape(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
        _ => Err(std::io::Error::other(format!(
            "unexpected reply: {reply:.200}"
        ))),
    }
}
