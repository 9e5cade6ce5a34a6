//! The exposition writer: one reusable buffer, no allocation in steady state.

use crate::buckets::LE_LABELS;
use crate::registry::Registry;
use crate::render::escape::write_label_value;
use crate::render::float::write_go_g;
use crate::snapshot::{HostRow, Snapshot};

/// Renders the Prometheus text exposition (format 0.0.4) of a [`Snapshot`]
/// and a [`Registry`]'s histograms into a buffer it keeps.
///
/// Keep one per scrape loop, like [`itoa::Buffer`]: after the first scrape of
/// a given shape (host count, series count, label lengths), rendering again
/// performs no heap allocation.
///
/// ```
/// use std::time::Duration;
/// use rm_metrics::{HostRow, Registry, Renderer, Snapshot};
///
/// let registry = Registry::new();
/// registry.observe("backup", "succeeded", Duration::from_millis(1500));
///
/// let hosts = [HostRow { id: "h1", name: "alpha", online: true, ..HostRow::default() }];
/// let mut renderer = Renderer::new();
/// let text = renderer.render(&registry, &Snapshot { hosts: &hosts, ..Snapshot::default() });
///
/// let text = std::str::from_utf8(text).unwrap();
/// assert!(text.contains("rm_hosts_online 1\n"));
/// assert!(text.contains(r#"rm_host_agent_online{host_id="h1",host="alpha"} 1"#));
/// assert!(text.contains(r#"rm_job_duration_seconds_bucket{kind="backup",status="succeeded",le="5"} 1"#));
/// assert!(text.contains(r#"rm_job_duration_seconds_sum{kind="backup",status="succeeded"} 1.5"#));
/// ```
#[derive(Debug, Default)]
pub struct Renderer {
    buf: Vec<u8>,
    /// (id prefix, host position), sorted by id; reused across scrapes.
    order: Vec<(u64, usize)>,
    /// Every host's escaped `{host_id="…",host="…"} `, in id order, and
    /// where each ends: built once per scrape, then read sequentially by
    /// each family, so the output is written once, straight into `buf`.
    labels: Vec<u8>,
    label_ends: Vec<usize>,
}

/// The gauge families with one line per host, in exposition order.
const HOST_FAMILIES: [(&str, &str, HostValue); 6] = [
    (
        "rm_host_agent_online",
        "1 if the agent is currently online, 0 otherwise.",
        |h| Some(Int::I(i64::from(h.online))),
    ),
    (
        "rm_host_last_backup_timestamp_seconds",
        "Unix timestamp of the host's most recent backup. Omitted for hosts with no backup yet.",
        |h| h.last_backup_unix.map(Int::I),
    ),
    (
        "rm_host_last_backup_success",
        "1 if the host's most recent backup succeeded, 0 otherwise. Omitted for hosts with no backup yet.",
        |h| h.last_backup_succeeded.map(|ok| Int::I(i64::from(ok))),
    ),
    (
        "rm_host_repo_size_bytes",
        "Latest reported repo size from `restic stats --mode raw-data`. Omitted for hosts with no stats yet.",
        |h| h.repo_size_bytes.map(Int::I),
    ),
    (
        "rm_host_snapshot_count",
        "Number of restic snapshots known on the host's repo.",
        |h| Some(Int::U(h.snapshot_count)),
    ),
    (
        "rm_host_open_alerts",
        "Number of currently open alerts attached to this host.",
        |h| Some(Int::U(h.open_alert_count)),
    ),
];

/// A family's value for one host; `None` omits the host's line.
type HostValue = fn(&HostRow<'_>) -> Option<Int>;

impl Renderer {
    /// A renderer with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders the complete exposition and returns it. The bytes stay valid
    /// until the next call.
    pub fn render(&mut self, registry: &Registry, snapshot: &Snapshot<'_>) -> &[u8] {
        self.buf.clear();
        let hosts = snapshot.hosts;
        // Hosts by id; equal ids keep their input order. An unstable sort on
        // (id, position) is deterministic and, unlike a stable sort, never
        // allocates scratch space. The first eight id bytes, big-endian,
        // order like the ids themselves, so most comparisons are one integer
        // compare; only equal prefixes compare the whole ids.
        self.order.clear();
        self.order
            .extend(hosts.iter().enumerate().map(|(i, h)| (id_prefix(h.id), i)));
        self.order.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb)
                .then_with(|| hosts[a].id.cmp(hosts[b].id))
                .then(a.cmp(&b))
        });

        server_gauges(&mut self.buf, snapshot);

        self.labels.clear();
        self.label_ends.clear();
        for &(_, i) in &self.order {
            let (labels, h) = (&mut self.labels, &hosts[i]);
            labels.extend_from_slice(b"{host_id=\"");
            write_label_value(labels, h.id);
            labels.extend_from_slice(b"\",host=\"");
            write_label_value(labels, h.name);
            labels.extend_from_slice(b"\"} ");
            self.label_ends.push(labels.len());
        }
        // Host `j` (in id order): its labels and its row.
        let (labels, ends, order) = (&self.labels, &self.label_ends, &self.order);
        let host = |j: usize| {
            let start = if j == 0 { 0 } else { ends[j - 1] };
            (&labels[start..ends[j]], &hosts[order[j].1])
        };

        let out = &mut self.buf;
        for (name, help, value) in HOST_FAMILIES {
            header(out, name, help, "gauge");
            for j in 0..order.len() {
                let (labels, h) = host(j);
                if let Some(v) = value(h) {
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(labels);
                    v.write(out);
                    out.push(b'\n');
                }
            }
        }
        header(
            out,
            "rm_host_repo_status",
            "Repo readiness state for the host. Exactly one row per host with status label set.",
            "gauge",
        );
        for j in 0..order.len() {
            let (labels, h) = host(j);
            out.extend_from_slice(b"rm_host_repo_status");
            // The labels without their closing `} `.
            out.extend_from_slice(&labels[..labels.len() - 2]);
            out.extend_from_slice(b",status=\"");
            let status = if h.repo_status.is_empty() {
                "unknown"
            } else {
                h.repo_status
            };
            write_label_value(out, status);
            out.extend_from_slice(b"\"} 1\n");
        }

        histograms(out, registry);
        &self.buf
    }
}

fn server_gauges(out: &mut Vec<u8>, s: &Snapshot<'_>) {
    header(
        out,
        "rm_hosts_total",
        "Total number of enrolled hosts (excludes pending announces).",
        "gauge",
    );
    out.extend_from_slice(b"rm_hosts_total ");
    Int::U(s.hosts.len() as u64).write(out);
    out.push(b'\n');
    header(
        out,
        "rm_hosts_online",
        "Number of hosts currently online (status='online').",
        "gauge",
    );
    out.extend_from_slice(b"rm_hosts_online ");
    Int::U(s.hosts_online() as u64).write(out);
    out.push(b'\n');

    header(
        out,
        "rm_active_alerts",
        "Open alerts grouped by severity.",
        "gauge",
    );
    let a = &s.alerts;
    for (severity, n) in [
        ("info", a.info),
        ("warning", a.warning),
        ("critical", a.critical),
    ] {
        out.extend_from_slice(b"rm_active_alerts{severity=\"");
        out.extend_from_slice(severity.as_bytes());
        out.extend_from_slice(b"\"} ");
        Int::U(n).write(out);
        out.push(b'\n');
    }

    header(
        out,
        "rm_build_info",
        "Build identifying labels; value is always 1.",
        "gauge",
    );
    out.extend_from_slice(b"rm_build_info{version=\"");
    write_label_value(out, s.build.version);
    out.extend_from_slice(b"\",commit=\"");
    write_label_value(out, s.build.commit);
    out.extend_from_slice(b"\",go_version=\"");
    write_label_value(out, s.build.go_version);
    out.extend_from_slice(b"\"} 1\n");
}

fn histograms(out: &mut Vec<u8>, registry: &Registry) {
    const NAME: &str = "rm_job_duration_seconds";
    header(
        out,
        NAME,
        "End-to-end duration of completed jobs, by kind and terminal status.",
        "histogram",
    );
    // Series come sorted by (kind, status) from the index: no sort here.
    for series in registry.index().load().sorted.iter() {
        let snap = series.histogram.snapshot();
        let labels = |out: &mut Vec<u8>, suffix: &str| {
            out.extend_from_slice(NAME.as_bytes());
            out.extend_from_slice(suffix.as_bytes());
            out.extend_from_slice(b"{kind=\"");
            write_label_value(out, &series.kind);
            out.extend_from_slice(b"\",status=\"");
            write_label_value(out, &series.status);
            out.push(b'"');
        };
        for (le, count) in LE_LABELS.iter().zip(snap.cumulative()) {
            labels(out, "_bucket");
            out.extend_from_slice(b",le=\"");
            out.extend_from_slice(le.as_bytes());
            out.extend_from_slice(b"\"} ");
            Int::U(count).write(out);
            out.push(b'\n');
        }
        labels(out, "_sum");
        out.extend_from_slice(b"} ");
        write_go_g(out, snap.sum_seconds());
        out.push(b'\n');
        labels(out, "_count");
        out.extend_from_slice(b"} ");
        Int::U(snap.count()).write(out);
        out.push(b'\n');
    }
}

fn header(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    for part in [
        "# HELP ",
        name,
        " ",
        help,
        "\n# TYPE ",
        name,
        " ",
        kind,
        "\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
}

/// The first eight bytes of `id`, zero-padded, as a big-endian integer:
/// `id_prefix(a) < id_prefix(b)` implies `a < b` as byte strings.
fn id_prefix(id: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = id.len().min(8);
    b[..n].copy_from_slice(&id.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

/// A sample value: gauges carry signed timestamps and sizes or unsigned counts.
#[derive(Clone, Copy, Debug)]
enum Int {
    I(i64),
    U(u64),
}

impl Int {
    fn write(self, out: &mut Vec<u8>) {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(
            match self {
                Int::I(v) => b.format(v),
                Int::U(v) => b.format(v),
            }
            .as_bytes(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::id_prefix;

    #[test]
    fn id_prefix_orders_like_the_ids() {
        let ids = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0\x01",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgi",
            "b",
            "host-020",
            "host-0200",
            "host-021",
            "é",
            "\u{10ffff}",
            "zzzzzzzzzzzz",
        ];
        for a in ids {
            for b in ids {
                if id_prefix(a) < id_prefix(b) {
                    assert!(a < b, "{a:?} {b:?}");
                }
                if a < b {
                    assert!(id_prefix(a) <= id_prefix(b), "{a:?} {b:?}");
                }
            }
        }
    }
}
