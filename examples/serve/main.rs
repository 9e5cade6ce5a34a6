//! The demo exporter: a simulated fleet observed live into an rm-metrics
//! registry, served on a gated `/metrics` endpoint.
//!
//! ```text
//! cargo run --release --example serve [-- --listen 127.0.0.1:9184 --hosts 50 --partitions 1]
//! ```
//!
//! The gate comes from `RM_METRICS_TOKEN` / `RM_METRICS_TRUSTED_CIDR`; with
//! neither set, the demo trusts loopback, 127.0.0.1/32 and ::1/128 (and says so). Stops on Ctrl-C
//! or SIGTERM.

mod fleet;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rm_metrics::exporter::{Exporter, Gate, TOKEN_ENV, TRUSTED_CIDR_ENV};
use rm_metrics::{JobRegistry, Native};

const USAGE: &str = "usage: serve [--listen ADDR] [--hosts N]
  --listen ADDR  address to serve /metrics on (default 127.0.0.1:9184)
  --hosts N      simulated fleet size (default 50)
  --partitions N split the exposition into N scrape targets,
                 /metrics?partition=0..N-1 (default 1: /metrics only)
environment: RM_METRICS_TOKEN (bearer token, >= 16 bytes), RM_METRICS_TRUSTED_CIDR
(comma-separated CIDRs), RM_METRICS_TOKEN_FILE (a file holding the token);
with none, only loopback (127.0.0.1/32, ::1/128) may scrape";

struct Args {
    listen: SocketAddr,
    hosts: usize,
    partitions: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:9184".parse().unwrap(),
        hosts: 50,
        partitions: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                args.listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--hosts" => {
                let v = value("--hosts")?;
                args.hosts = v.parse().map_err(|e| format!("--hosts {v:?}: {e}"))?;
                if args.hosts == 0 {
                    return Err("--hosts must be at least 1".into());
                }
            }
            "--partitions" => {
                let v = value("--partitions")?;
                args.partitions = v.parse().map_err(|e| format!("--partitions {v:?}: {e}"))?;
                if args.partitions == 0 {
                    return Err("--partitions must be at least 1".into());
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("serve: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let gate = match Gate::from_env() {
        Ok(Some(gate)) => gate,
        Ok(None) => {
            println!("serve: neither {TOKEN_ENV} nor {TRUSTED_CIDR_ENV} is set; trusting loopback only (127.0.0.1/32, ::1/128)");
            Gate::new(None, Some("127.0.0.1/32, ::1/128"))
                .unwrap()
                .unwrap()
        }
        Err(e) => {
            eprintln!("serve: refusing to start: {e}");
            return ExitCode::from(2);
        }
    };
    let has_token = gate.has_token();
    let networks = gate.trusted_networks().to_vec();

    // Job histograms with native buckets too (1 ms to 12 days, schema 3):
    // Prometheus with native histograms on scrapes them in protobuf.
    let native = Native::new(0.001, 1_048_576.0);
    let registry = Arc::new(JobRegistry::with_native(native).expect("valid native buckets"));
    let fleet = Arc::new(fleet::Fleet::new(
        args.hosts,
        &mut fastrand::Rng::with_seed(7),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let simulators = fleet::spawn(&fleet, &registry, &stop, 3);

    let source = {
        let fleet = Arc::clone(&fleet);
        move |render: &mut dyn FnMut(&rm_metrics::Snapshot<'_>)| fleet.scrape(render)
    };
    let running = match Exporter::new(args.listen)
        .gate(Some(gate))
        .partitions(args.partitions)
        .spawn(Arc::clone(&registry), source)
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("serve: cannot listen on {}: {e}", args.listen);
            stop.store(true, Ordering::Relaxed);
            return ExitCode::from(1);
        }
    };
    let url = format!("http://{}/metrics", running.local_addr());
    println!("serve: {} simulated hosts; metrics at {url}", args.hosts);
    if !networks.is_empty() {
        let list: Vec<String> = networks.iter().map(ToString::to_string).collect();
        println!("serve: trusted networks: {}", list.join(", "));
    }
    if has_token {
        println!("serve: try  curl -H \"Authorization: Bearer ${TOKEN_ENV}\" {url}");
    } else {
        println!("serve: try  curl {url}");
    }

    wait_for_signal();
    println!("serve: stopping");
    // Relaxed: a stop flag; the joins below order everything else.
    stop.store(true, Ordering::Relaxed);
    for t in simulators {
        let _ = t.join();
    }
    running.shutdown();
    ExitCode::SUCCESS
}

/// Blocks until SIGINT (Ctrl-C) or SIGTERM.
fn wait_for_signal() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("signal runtime");
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
}
