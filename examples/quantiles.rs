//! A known set of job durations in native buckets, served for a
//! Prometheus to compute quantiles from (CI compares them with the exact
//! ones, `.ci/native_e2e.py`).
//!
//! ```text
//! cargo run --release --example quantiles --features exporter -- [--listen 127.0.0.1:19284] [--count 10000] [--seed 7]
//! ```
//!
//! Observes `count` durations log-uniform between 1 s and 1 day into a
//! [`JobRegistry`] with native buckets (schema 3, 1 ms to 12 days), prints
//! one JSON line with the exact 0.5, 0.9 and 0.99 quantiles of that set,
//! then serves `/metrics` on loopback until stdin closes or it is killed.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use rm_metrics::exporter::{Exporter, Gate};
use rm_metrics::{JobRegistry, Native, Snapshot};

fn main() {
    let mut listen = "127.0.0.1:19284".to_string();
    let (mut count, mut seed) = (10_000usize, 7u64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value,
            "--count" => count = value.parse().expect("--count: a number"),
            "--seed" => seed = value.parse().expect("--seed: a number"),
            _ => panic!("unknown argument {flag}"),
        }
    }
    let registry = Arc::new(
        JobRegistry::with_native(Native::new(0.001, 1_048_576.0)).expect("valid native buckets"),
    );
    let backups = registry.handle("backup", "succeeded");
    // xorshift64*: a fixed, reproducible set.
    let mut state = seed.max(1);
    let mut durations: Vec<Duration> = (0..count)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let u = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            Duration::from_secs_f64(86_400f64.powf(u))
        })
        .collect();
    for (i, d) in durations.iter().enumerate() {
        // Every 1000th with a trace id, for Prometheus' exemplar storage.
        if i % 1000 == 0 {
            let trace = rm_metrics::Exemplar::trace(i as u128);
            backups.observe_with_exemplar(*d, &trace);
        } else {
            backups.observe(*d);
        }
    }
    durations.sort();
    // The exact quantile: the smallest value with at least q·n at or below.
    let exact = |q: f64| durations[((q * count as f64).ceil() as usize).max(1) - 1].as_secs_f64();
    println!(
        "{{\"count\": {count}, \"exact\": {{\"0.5\": {}, \"0.9\": {}, \"0.99\": {}}}}}",
        exact(0.5),
        exact(0.9),
        exact(0.99)
    );

    let gate = Gate::new(None, Some("127.0.0.1/32")).expect("valid CIDR");
    let running = Exporter::new(listen.parse().expect("--listen: an address"))
        .gate(gate)
        .spawn(
            Arc::clone(&registry),
            |render: &mut dyn FnMut(&Snapshot<'_>)| render(&Snapshot::default()),
        )
        .expect("cannot listen");
    eprintln!(
        "quantiles: serving http://{}/metrics until stdin closes",
        running.local_addr()
    );
    // Serve until the parent closes our stdin (or kills us).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    running.shutdown();
}
