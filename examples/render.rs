//! Reads one snapshot spec (JSON, `shared/README.md`) on stdin, feeds its jobs
//! through a registry in order, and writes the exposition to stdout.
//!
//! ```text
//! cargo run --example render < tests/golden/02-small-fleet.json
//! ```
//!
//! A bad spec exits with status 2 and one line on stderr, writing nothing to
//! stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("render: reading stdin: {e}");
        return ExitCode::from(2);
    }
    match rm_metrics::spec::render_json(&input) {
        Ok(body) => match std::io::stdout().lock().write_all(&body) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("render: writing stdout: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("render: {e}");
            ExitCode::from(2)
        }
    }
}
