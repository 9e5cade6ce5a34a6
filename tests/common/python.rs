//! The strict OpenMetrics parser of prometheus_client, run on bodies this
//! crate writes (`tests/oracle/om_parse.py`).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// The parses of `bodies` by `tests/oracle/om_parse.py`. Without python3
/// and prometheus_client (`pip install prometheus_client`) this is a
/// failure under CI and a skip, said on stderr, elsewhere.
pub fn python_parse(bodies: &[&str]) -> Option<Vec<Value>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/om_parse.py");
    let child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let out = child.and_then(|mut c| {
        c.stdin
            .take()
            .unwrap()
            .write_all(json!(bodies).to_string().as_bytes())?;
        c.wait_with_output()
    });
    match out {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).unwrap()),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var_os("CI").is_none(),
                "the OpenMetrics parser check needs python3 and prometheus_client: {why}"
            );
            eprintln!("SKIPPED the prometheus_client OpenMetrics parse (pip install prometheus_client): {why}");
            None
        }
    }
}
