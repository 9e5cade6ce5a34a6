//! The exposition writer: one reusable buffer, no allocation in steady state.

use crate::core::key::same_bytes;
use crate::encode::exposition::{Exposition, Format};
use crate::encode::openmetrics::EOF;
use crate::encode::padded::{append_padded, CHUNK};
use crate::encode::protobuf::{
    gauge_family_with, gauge_metric, gauge_metric_len, put_labels, Writer as ProtoWriter,
};
use crate::family::escape::write_label_value;
use crate::restic::jobs::JobRegistry;
use crate::restic::partition::Partition;
use crate::restic::snapshot::{HostRow, Snapshot};

/// Renders the exposition of a [`Snapshot`] and a [`JobRegistry`]'s
/// histograms into a buffer it keeps: the Prometheus text format 0.0.4
/// ([`Renderer::new`]) or OpenMetrics 1.0 with the job histograms'
/// exemplars ([`Renderer::with_format`]).
///
/// Keep one per scrape loop, like [`itoa::Buffer`]. It keeps what it wrote
/// last: each host's escaped labels, and its last output, from which every
/// host line (protobuf: metric) whose labels and value are unchanged is
/// copied (runs of such lines in one copy) rather than written again.
/// So it holds two buffers the size of the exposition (and lists of the
/// changed hosts, 48 bytes a host on 64-bit targets), and after two
/// scrapes of a given shape (host count, series count, label lengths)
/// rendering again performs no heap allocation.
///
/// ```
/// use std::time::Duration;
/// use rm_metrics::{HostRow, JobRegistry, Renderer, Snapshot};
///
/// let registry = JobRegistry::new();
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
    /// For a partial render, `keep[i]`: host `i` is in this partition
    /// (empty when every host is).
    keep: Vec<bool>,
    /// The raw id, name and status of each host of the last render, back
    /// to back in id order, and their lengths: what its label arena (text:
    /// `labels`, protobuf: `proto_labels`) was built from.
    raw: Vec<u8>,
    raw_lens: Vec<[usize; 3]>,
    /// Every host's escaped `{host_id="…",host="…"} ` and repo status, in
    /// id order, and where each of the two ends.
    labels: Vec<u8>,
    label_ends: Vec<(usize, usize)>,
    /// Every host's gauge values, in id order.
    values: Vec<HostValues>,
    /// The last render: its output, its hosts' values, and where its host
    /// lines are, so that a line whose labels and value are unchanged is
    /// copied from it (with its unchanged neighbours, in one copy) instead
    /// of written again.
    last: LastRender,
    /// The job family's encoder, kept for its scratch buffers; its format
    /// is the renderer's.
    jobs: Exposition,
    /// The protobuf writer, for `Format::Protobuf`.
    proto: ProtoWriter,
    /// Protobuf: each host's encoded `host_id` and `host` label fields,
    /// then its `status` field, kept across scrapes like `labels`, and
    /// their ends, per host in id order.
    proto_labels: Vec<u8>,
    proto_ends: Vec<(usize, usize)>,
    /// Protobuf: each host's metric field's encoded length in a gauge
    /// family and in the status family, per host in id order.
    proto_lens: Vec<[usize; 2]>,
    /// Protobuf: the server families' label fields (each severity, then
    /// the build info) and their ends.
    proto_server: Vec<u8>,
    proto_server_ends: [usize; 4],
}

/// What a render leaves for the next one to copy from.
#[derive(Debug, Default)]
struct LastRender {
    /// The output (the buffer the last render returned).
    out: Vec<u8>,
    /// The hosts' values, in id order.
    values: Vec<HostValues>,
    /// Where each [`HOST_FAMILIES`] family's host lines, and then the repo
    /// status lines, start in `out`.
    starts: [usize; HOST_FAMILIES.len() + 1],
    /// `ends[f * n + j]`: where host `j`'s line of family `f` ends, counted
    /// from the family's start (an absent line is empty).
    ends: Vec<usize>,
    /// The repo status lines' end in `out`.
    status_end: usize,
    /// `changed[f]`: the hosts (in id order) whose line of family `f`
    /// differs from the last render's, when lines are copied from it.
    changed: [Vec<usize>; HOST_FAMILIES.len()],
}

impl LastRender {
    /// Starts a render of the hosts of `values`, after the last render's
    /// values moved to `self.values`. Returns whether lines may be copied
    /// from the last output: `kept` says every host's labels are those it
    /// was written with (the same hosts, in the same order). If so, notes
    /// which hosts' lines changed, family by family: one pass over the
    /// values, so that each family's pass visits only those.
    fn begin(&mut self, values: &[HostValues], kept: bool) -> bool {
        let n = values.len();
        let reuse = kept && self.values.len() == n && self.ends.len() == HOST_FAMILIES.len() * n;
        self.ends.resize(HOST_FAMILIES.len() * n, 0);
        for changed in &mut self.changed {
            changed.clear();
            if reuse {
                // Room for every host, once: a scrape that changes more
                // lines than the last allocates nothing.
                changed.reserve(n);
            }
        }
        if reuse {
            for (j, (now, was)) in values.iter().zip(&self.values).enumerate() {
                for (f, changed) in self.changed.iter_mut().enumerate() {
                    if !now.same(was, f) {
                        changed.push(j);
                    }
                }
            }
        }
        reuse
    }

    /// Writes family `f`'s host lines into `out`, `write(out, j, value)`
    /// writing host `j`'s. With `reuse`, only the lines of the hosts
    /// [`begin`](Self::begin) found changed are written: the runs of lines
    /// between them are copied from the last output, each in one copy.
    /// Records where the lines are.
    fn host_lines(
        &mut self,
        out: &mut Vec<u8>,
        values: &[HostValues],
        f: usize,
        reuse: bool,
        mut write: impl FnMut(&mut Vec<u8>, usize, Int),
    ) {
        let n = values.len();
        let (old, start) = (self.starts[f], out.len());
        self.starts[f] = start;
        let ends = &mut self.ends[f * n..][..n];
        if !reuse {
            for (j, host) in values.iter().enumerate() {
                if let Some(v) = host.get(f) {
                    write(out, j, v);
                }
                ends[j] = out.len() - start;
            }
            return;
        }
        // Hosts `run..` up to the changed one at hand have their lines in
        // `last` (the family in the last output) from `copy` on, and `ends`
        // still holds where they ended there.
        let (mut run, mut copy) = (0, 0);
        let last = &self.out[old..];
        for &j in &self.changed[f] {
            let old_end = ends[j];
            // A changed host right after another has no run before it.
            if j > run {
                copy_run(out, start, last, copy, &mut ends[run..j]);
            }
            if let Some(v) = values[j].get(f) {
                write(out, j, v);
            }
            ends[j] = out.len() - start;
            (run, copy) = (j + 1, old_end);
        }
        // The run after the last changed host, to the family's end.
        copy_run(out, start, last, copy, &mut ends[run..]);
    }

    /// Writes the repo status lines into `out` (with `write`), or with
    /// `reuse` copies them from the last output: they depend on the labels
    /// alone. Records where they are.
    fn status_lines(&mut self, out: &mut Vec<u8>, reuse: bool, write: impl FnOnce(&mut Vec<u8>)) {
        let status = HOST_FAMILIES.len();
        let (old, old_end) = (self.starts[status], self.status_end);
        self.starts[status] = out.len();
        if reuse {
            out.extend_from_slice(&self.out[old..old_end]);
        } else {
            write(out);
        }
        self.status_end = out.len();
    }
}

/// Appends a run of lines of a family in the last output to `out`, where
/// the family started at `start`: the lines of `last` (the family in the
/// last output) from `from` to where the last of them ended. `ends`, where
/// the run's lines ended in `last`, become where they end in `out` (from
/// `start`): the run moves as one.
fn copy_run(out: &mut Vec<u8>, start: usize, last: &[u8], from: usize, ends: &mut [usize]) {
    let to = ends.last().copied().unwrap_or(from);
    let now = out.len() - start;
    out.extend_from_slice(&last[from..to]);
    if now != from {
        // Each line of the run ends at or after where the run starts.
        for end in ends {
            *end = *end - from + now;
        }
    }
}

/// One host's values of the [`HOST_FAMILIES`], copied out of its row.
#[derive(Clone, Copy, Debug)]
struct HostValues {
    /// Bit `f`: family `f` has a line for this host.
    present: u8,
    /// Bit `f`: value `f` is signed.
    signed: u8,
    bits: [u64; HOST_FAMILIES.len()],
}

impl HostValues {
    fn of(h: &HostRow<'_>) -> Self {
        let mut v = HostValues {
            present: 0,
            signed: 0,
            bits: [0; HOST_FAMILIES.len()],
        };
        for (f, (_, _, value)) in HOST_FAMILIES.iter().enumerate() {
            match value(h) {
                Some(Int::I(x)) => {
                    v.present |= 1 << f;
                    v.signed |= 1 << f;
                    v.bits[f] = x as u64; // two's complement, undone in `get`
                }
                Some(Int::U(x)) => {
                    v.present |= 1 << f;
                    v.bits[f] = x;
                }
                None => {}
            }
        }
        v
    }

    /// Whether family `f`'s line for this host writes what `other`'s does.
    #[inline]
    fn same(&self, other: &Self, f: usize) -> bool {
        let flags = (self.present ^ other.present) | (self.signed ^ other.signed);
        flags & (1 << f) == 0 && (self.present & (1 << f) == 0 || self.bits[f] == other.bits[f])
    }

    /// Whether family `f` has a line for this host.
    #[inline]
    fn has(&self, f: usize) -> bool {
        self.present & (1 << f) != 0
    }

    #[inline]
    fn get(&self, f: usize) -> Option<Int> {
        if self.present & (1 << f) == 0 {
            None
        } else if self.signed & (1 << f) != 0 {
            Some(Int::I(self.bits[f] as i64))
        } else {
            Some(Int::U(self.bits[f]))
        }
    }
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
    /// A renderer of the text format 0.0.4, with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A renderer of `format`. In OpenMetrics the gauges are as in the
    /// text format, the job histograms have canonical `le` values and
    /// their exemplars, and the body ends with `# EOF`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rm_metrics::{Exemplar, Format, JobRegistry, Renderer, Snapshot};
    ///
    /// let registry = JobRegistry::new();
    /// let trace = Exemplar::new(&[("trace_id", "5b8aa5a2d2c872e8")])?;
    /// registry.handle("backup", "succeeded").observe_with_exemplar(Duration::from_secs(42), &trace);
    /// let mut renderer = Renderer::with_format(Format::OpenMetrics);
    /// let text = std::str::from_utf8(renderer.render(&registry, &Snapshot::default()))?;
    /// assert!(text.contains(
    ///     r#"rm_job_duration_seconds_bucket{kind="backup",status="succeeded",le="60.0"} 1 # {trace_id="5b8aa5a2d2c872e8"} 42"#
    /// ));
    /// assert!(text.ends_with("# EOF\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_format(format: Format) -> Self {
        Renderer {
            jobs: Exposition::new(format),
            ..Self::default()
        }
    }

    /// Renders the complete exposition and returns it. The bytes stay valid
    /// until the next call.
    pub fn render(&mut self, registry: &JobRegistry, snapshot: &Snapshot<'_>) -> &[u8] {
        self.render_partition(registry, snapshot, Partition::ALL)
    }

    /// Renders one [`Partition`] of the exposition: the per-host families of
    /// the hosts in it, and in part 0 the server-wide families too. Keep one
    /// renderer per partition, so each keeps its own caches across scrapes.
    pub fn render_partition(
        &mut self,
        registry: &JobRegistry,
        snapshot: &Snapshot<'_>,
        part: Partition,
    ) -> &[u8] {
        let hosts = snapshot.hosts;
        self.keep.clear();
        if part.count() > 1 {
            self.keep.extend(hosts.iter().map(|h| part.holds(h.id)));
        }
        let order_kept = sort_by_id(&mut self.order, hosts, &self.keep);
        // The last output and values become `last`, to copy from.
        std::mem::swap(&mut self.buf, &mut self.last.out);
        std::mem::swap(&mut self.values, &mut self.last.values);
        self.buf.clear();
        let labels_kept = self.read_hosts(hosts, order_kept);
        if self.jobs.format() == Format::Protobuf {
            self.render_protobuf(registry, snapshot, part, labels_kept);
            return &self.buf;
        }

        if part.has_server_families() {
            server_gauges(&mut self.buf, snapshot);
        }

        // The hosts' escaped labels and repo status go to an arena, kept
        // from the last scrape while every host's id, name and status are
        // still what it was built from. The family passes below then read
        // it and the values sequentially and write the output once,
        // straight into `buf`.
        if !labels_kept {
            self.labels.clear();
            self.label_ends.clear();
            for &(_, i) in &self.order {
                let (labels, h) = (&mut self.labels, &hosts[i]);
                labels.extend_from_slice(b"{host_id=\"");
                write_label_value(labels, h.id);
                labels.extend_from_slice(b"\",host=\"");
                write_label_value(labels, h.name);
                labels.extend_from_slice(b"\"} ");
                let labels_end = labels.len();
                let status = repo_status(h);
                write_label_value(labels, status);
                self.label_ends.push((labels_end, labels.len()));
            }
            // Room for `append_padded` to read whole chunks past the last host.
            self.labels.extend_from_slice(&[0; CHUNK]);
        }
        // Host `j` (in id order) has its labels at
        // `labels[start..label_ends[j].0]` and its escaped status at
        // `labels[label_ends[j].0..label_ends[j].1]`, where `start` is
        // `label_ends[j - 1].1` (0 for the first).
        let (labels, label_ends) = (&self.labels, &self.label_ends);

        // A line is the family's name, the host's labels and its value. If
        // the labels are those of the last render (the arena was kept, so
        // the hosts are the same, in the same order) and the value is the
        // same, the line is the same: the runs of such lines are copied from
        // the last output, and only the lines between them are written.
        let last = &mut self.last;
        let reuse = last.begin(&self.values, labels_kept);
        let out = &mut self.buf;
        for (f, (name, help, _)) in HOST_FAMILIES.iter().enumerate() {
            header(out, name, help, "gauge");
            let name = Padded::new(name);
            last.host_lines(out, &self.values, f, reuse, |out, j, v| {
                name.append(out);
                let start = if j == 0 { 0 } else { label_ends[j - 1].1 };
                append_padded(out, &labels[start..], label_ends[j].0 - start);
                v.write(out);
                out.push(b'\n');
            });
        }
        header(
            out,
            "rm_host_repo_status",
            "Repo readiness state for the host. Exactly one row per host with status label set.",
            "gauge",
        );
        last.status_lines(out, reuse, |out| {
            for j in 0..label_ends.len() {
                let start = if j == 0 { 0 } else { label_ends[j - 1].1 };
                let (labels_end, end) = label_ends[j];
                out.extend_from_slice(b"rm_host_repo_status");
                // The labels without their closing `} `, then the status.
                append_padded(out, &labels[start..], labels_end - 2 - start);
                out.extend_from_slice(b",status=\"");
                append_padded(out, &labels[labels_end..], end - labels_end);
                out.extend_from_slice(b"\"} 1\n");
            }
        });

        if part.has_server_families() {
            // The job family, through the families API's own encoder.
            self.jobs.write_into(registry.registry(), out);
        }
        if self.jobs.format() == Format::OpenMetrics {
            out.extend_from_slice(EOF);
        }
        &self.buf
    }
}

impl Renderer {
    /// The one pass over the hosts in id order (`order` is sorted), the
    /// only one that reads the caller's rows, at random: their gauge values
    /// go to `values`, and their ids, names and statuses are compared with
    /// the last render's (`raw`). Returns whether every host's are
    /// unchanged (the same hosts, in the same order: `order_kept` says the
    /// order is): the label arena built from them is then still right.
    /// Else `raw` takes the new ones.
    fn read_hosts(&mut self, hosts: &[HostRow<'_>], order_kept: bool) -> bool {
        self.values.clear();
        let mut kept = order_kept && self.raw_lens.len() == self.order.len();
        let mut raw = &self.raw[..];
        for (j, &(_, i)) in self.order.iter().enumerate() {
            let h = &hosts[i];
            self.values.push(HostValues::of(h));
            kept = kept && raw_unchanged(&mut raw, self.raw_lens[j], h);
        }
        if !kept {
            self.raw.clear();
            self.raw_lens.clear();
            for &(_, i) in &self.order {
                let h = &hosts[i];
                let status = repo_status(h);
                for v in [h.id, h.name, status] {
                    self.raw.extend_from_slice(v.as_bytes());
                }
                self.raw_lens.push([h.id.len(), h.name.len(), status.len()]);
            }
        }
        kept
    }

    /// The same families in the protobuf exposition (`order` is sorted,
    /// `values` read; `kept`: the hosts' labels are unchanged): the server
    /// gauges, the host gauges, the job family with its native buckets if
    /// it has them, then the registry's other families.
    fn render_protobuf(
        &mut self,
        registry: &JobRegistry,
        s: &Snapshot<'_>,
        part: Partition,
        kept: bool,
    ) {
        self.proto_labels_of(s, kept);
        let (w, out) = (&mut self.proto, &mut self.buf);
        let (server, ends) = (&self.proto_server[..], self.proto_server_ends);
        // Server label fields `k`: `server[start(k)..ends[k]]`.
        let start = |k: usize| if k == 0 { 0 } else { ends[k - 1] };
        if part.has_server_families() {
            for (name, help, value) in [
                (
                    "rm_hosts_total",
                    "Total number of enrolled hosts (excludes pending announces).",
                    s.hosts.len(),
                ),
                (
                    "rm_hosts_online",
                    "Number of hosts currently online (status='online').",
                    s.hosts_online(),
                ),
            ] {
                let no_labels: &[u8] = &[0; CHUNK];
                w.gauge_family(
                    out,
                    name,
                    help,
                    std::iter::once((no_labels, 0, value as f64)),
                );
            }
            let a = &s.alerts;
            w.gauge_family(
                out,
                "rm_active_alerts",
                "Open alerts grouped by severity.",
                [a.info, a.warning, a.critical]
                    .into_iter()
                    .enumerate()
                    .map(|(k, n)| (&server[start(k)..], ends[k] - start(k), n as f64)),
            );
            w.gauge_family(
                out,
                "rm_build_info",
                "Build identifying labels; value is always 1.",
                std::iter::once((&server[start(3)..], ends[3] - start(3), 1.0)),
            );
        }
        let (values, arena, host_ends) = (&self.values, &self.proto_labels[..], &self.proto_ends);
        let lens = &self.proto_lens;
        // Host `j`'s id and name fields: `arena[at(j)..host_ends[j].0]`,
        // its status field `arena[host_ends[j].0..host_ends[j].1]`.
        let at = |j: usize| if j == 0 { 0 } else { host_ends[j - 1].1 };
        // As in the text formats, unchanged metrics are copied from the
        // last output.
        let last = &mut self.last;
        let reuse = last.begin(values, kept);
        for (f, (name, help, _)) in HOST_FAMILIES.iter().enumerate() {
            let len = (values.iter().zip(lens))
                .filter(|(host, _)| host.has(f))
                .map(|(_, len)| len[0])
                .sum();
            gauge_family_with(out, name, help, len, |out| {
                last.host_lines(out, values, f, reuse, |out, j, v| {
                    let v = match v {
                        Int::I(v) => v as f64,
                        Int::U(v) => v as f64,
                    };
                    gauge_metric(out, &arena[at(j)..], host_ends[j].0 - at(j), v);
                });
            });
        }
        let len = lens.iter().map(|len| len[1]).sum();
        gauge_family_with(
            out,
            "rm_host_repo_status",
            "Repo readiness state for the host. Exactly one row per host with status label set.",
            len,
            |out| {
                last.status_lines(out, reuse, |out| {
                    for j in 0..values.len() {
                        gauge_metric(out, &arena[at(j)..], host_ends[j].1 - at(j), 1.0);
                    }
                });
            },
        );
        if part.has_server_families() {
            w.write_into(registry.registry(), out);
        }
    }

    /// Encodes the server families' label fields into `proto_server`,
    /// and, unless the hosts' labels are `kept`, each host's (in id order)
    /// into `proto_labels`, with their metric lengths. Both end with
    /// `CHUNK` bytes of padding.
    fn proto_labels_of(&mut self, s: &Snapshot<'_>, kept: bool) {
        self.proto_server.clear();
        for (k, severity) in ["info", "warning", "critical"].into_iter().enumerate() {
            put_labels(&mut self.proto_server, [("severity", severity)]);
            self.proto_server_ends[k] = self.proto_server.len();
        }
        let b = &s.build;
        put_labels(
            &mut self.proto_server,
            [
                ("version", b.version),
                ("commit", b.commit),
                ("go_version", b.go_version),
            ],
        );
        self.proto_server_ends[3] = self.proto_server.len();
        self.proto_server.extend_from_slice(&[0; CHUNK]);
        if kept {
            return;
        }
        self.proto_labels.clear();
        self.proto_ends.clear();
        self.proto_lens.clear();
        for &(_, i) in &self.order {
            let h = &s.hosts[i];
            let labels = &mut self.proto_labels;
            let at = labels.len();
            put_labels(labels, [("host_id", h.id), ("host", h.name)]);
            let host_end = labels.len();
            put_labels(labels, [("status", repo_status(h))]);
            self.proto_ends.push((host_end, labels.len()));
            self.proto_lens.push([
                gauge_metric_len(host_end - at),
                gauge_metric_len(labels.len() - at),
            ]);
        }
        self.proto_labels.extend_from_slice(&[0; CHUNK]);
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
/// Sets `order` to the hosts' (id prefix, position) in id order; equal ids
/// keep their input order.
///
/// A scrape loop mostly sees the hosts it saw last time, in the same
/// positions, so the previous order is first checked (one pass) and kept if
/// it still sorts them; only otherwise are the hosts sorted again. An
/// unstable sort on (id, position) is deterministic and, unlike a stable
/// sort, never allocates scratch space. The first eight id bytes,
/// big-endian, order like the ids themselves, so most comparisons are one
/// integer compare; only equal prefixes compare the whole ids.
///
/// Only the hosts with `keep[i]` are ordered (all when `keep` is empty).
/// Returns whether the previous order was kept.
fn sort_by_id(order: &mut Vec<(u64, usize)>, hosts: &[HostRow<'_>], keep: &[bool]) -> bool {
    let cmp = |&(pa, a): &(u64, usize), &(pb, b): &(u64, usize)| {
        pa.cmp(&pb)
            .then_with(|| hosts[a].id.cmp(hosts[b].id))
            .then(a.cmp(&b))
    };
    let kept = |i: usize| keep.is_empty() || keep[i];
    let n = if keep.is_empty() {
        hosts.len()
    } else {
        keep.iter().filter(|&&k| k).count()
    };
    if order.len() == n {
        // As many hosts as last time: `order` holds distinct positions. If
        // every one of them is a kept host, it holds exactly the kept hosts.
        // Refresh its prefixes (ids may have changed) and check it is still
        // strictly increasing.
        let mut sorted = true;
        for j in 0..order.len() {
            let i = order[j].1;
            if i >= hosts.len() || !kept(i) {
                sorted = false;
                break;
            }
            order[j].0 = id_prefix(hosts[i].id);
            if j > 0 && cmp(&order[j - 1], &order[j]).is_ge() {
                sorted = false;
                break;
            }
        }
        if sorted {
            return true;
        }
    }
    order.clear();
    order.extend(
        hosts
            .iter()
            .enumerate()
            .filter(|&(i, _)| kept(i))
            .map(|(i, h)| (id_prefix(h.id), i)),
    );
    order.sort_unstable_by(cmp);
    false
}

/// The repo status a host's line shows.
fn repo_status<'a>(h: &HostRow<'a>) -> &'a str {
    if h.repo_status.is_empty() {
        "unknown"
    } else {
        h.repo_status
    }
}

/// Whether host `h`'s id, name and status are the next ones of `raw`
/// (whose lengths are `lens`), and so its arena entry, built from them, is
/// what it would write now; moves `raw` past them.
fn raw_unchanged(raw: &mut &[u8], lens: [usize; 3], h: &HostRow<'_>) -> bool {
    for (v, len) in [h.id, h.name, repo_status(h)].into_iter().zip(lens) {
        // `same_bytes` checks the lengths too; inline, without a call to
        // `memcmp` for values of up to 64 bytes (ids, names, statuses).
        match raw.split_at_checked(len) {
            Some((was, rest)) if same_bytes(was, v.as_bytes()) => *raw = rest,
            _ => return false,
        }
    }
    true
}

/// A metric name padded for [`append_padded`].
struct Padded {
    bytes: [u8; 2 * CHUNK],
    len: usize,
}

impl Padded {
    fn new(name: &str) -> Self {
        let mut bytes = [0; 2 * CHUNK];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Padded {
            bytes,
            len: name.len(),
        }
    }

    #[inline]
    fn append(&self, out: &mut Vec<u8>) {
        append_padded(out, &self.bytes, self.len);
    }
}

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
    #[inline]
    fn write(self, out: &mut Vec<u8>) {
        // Flags and small counts (agent online, last backup ok, open
        // alerts) are most of the per-host values: one byte, no formatting.
        if let Int::I(v @ 0..=9) = self {
            return out.push(b'0' + v as u8);
        }
        if let Int::U(v @ 0..=9) = self {
            return out.push(b'0' + v as u8);
        }
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
    use crate::{Format, HostRow, JobRegistry, Renderer, Snapshot};

    /// What `reused` writes for these hosts, and what a fresh renderer of
    /// its format does.
    fn reused_and_fresh(
        reused: &mut Renderer,
        registry: &JobRegistry,
        rows: &[HostRow<'_>],
    ) -> (Vec<u8>, Vec<u8>) {
        let snapshot = Snapshot {
            hosts: rows,
            ..Snapshot::default()
        };
        let want = Renderer::with_format(reused.jobs.format())
            .render(registry, &snapshot)
            .to_vec();
        (reused.render(registry, &snapshot).to_vec(), want)
    }

    /// A host's gauge values from a small number: each may be absent,
    /// present, negative, a one-digit or a long number, so that an edit
    /// can add or drop a line, or change its value and its length.
    fn with_values(mut row: HostRow<'_>, v: u8) -> HostRow<'_> {
        let pick = |shift: u8| (v >> shift) & 3;
        row.online = v & 1 == 1;
        row.last_backup_unix = [None, Some(0), Some(-1), Some(1_767_225_600)][pick(1) as usize];
        row.last_backup_succeeded = [None, Some(true), Some(false), None][pick(3) as usize];
        row.repo_size_bytes = [None, Some(9), Some(10), Some(i64::MIN)][pick(5) as usize];
        row.snapshot_count = u64::from(v % 11) * 5;
        row.open_alert_count = u64::from(v >> 4);
        row
    }

    /// The order, labels and lines kept from the last scrape must never
    /// show: a renderer reused over changing hosts and values, in every
    /// format, writes what a fresh one writes.
    #[test]
    fn a_reused_renderer_renders_what_a_fresh_one_does() {
        // Ids from a small alphabet, so that equal ids, shared eight-byte
        // prefixes and ties on the prefix are common; names and statuses
        // that differ in one byte, or only once escaped (`a"` and `a\"`
        // escape to different text of different lengths).
        let pieces = ["", "a", "host-000", "host-0000", "host-001", "b\"", "é"];
        let names = ["even", "evem", "odd", "a\"", "a\\\"", "x\\", "\\\"", "l\n"];
        let statuses = ["", "ready", "init_failed", "a\"b", "a\\\"b", "unknown"];
        let registry = JobRegistry::new();
        let id =
            |rng: &mut fastrand::Rng| format!("{}{}", rng.choice(pieces).unwrap(), rng.u8(..3));
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            let mut rng = fastrand::Rng::with_seed(7);
            let mut hosts: Vec<(String, &str, &str, u8)> = Vec::new();
            let mut reused = Renderer::with_format(format);
            for step in 0..2000 {
                let n = hosts.len();
                match rng.u8(0..10) {
                    0 => rng.shuffle(&mut hosts),
                    1 if n > 0 => hosts.swap(rng.usize(..n), rng.usize(..n)),
                    2 if n > 0 => hosts[rng.usize(..n)].0 = id(&mut rng),
                    3 if n > 0 => hosts[rng.usize(..n)].1 = rng.choice(names).unwrap(),
                    4 if n > 0 => hosts[rng.usize(..n)].2 = rng.choice(statuses).unwrap(),
                    5 => hosts.push((id(&mut rng), rng.choice(names).unwrap(), "", rng.u8(..))),
                    6 if n > 1 => {
                        hosts.pop();
                    }
                    // One host's values, or a few hosts' values.
                    7 if n > 0 => hosts[rng.usize(..n)].3 = rng.u8(..),
                    8 => {
                        for _ in 0..rng.usize(..4) {
                            if n > 0 {
                                hosts[rng.usize(..n)].3 ^= 1 << rng.u8(..8);
                            }
                        }
                    }
                    _ => {} // the same hosts again
                }
                let rows: Vec<HostRow<'_>> = hosts
                    .iter()
                    .map(|(id, name, status, v)| {
                        let row = HostRow {
                            id,
                            name,
                            repo_status: status,
                            ..HostRow::default()
                        };
                        with_values(row, *v)
                    })
                    .collect();
                let (got, want) = reused_and_fresh(&mut reused, &registry, &rows);
                assert_eq!(got, want, "{format:?}, step {step}");
            }
        }
    }

    /// Edits aimed at each check that lets the label arena be kept.
    #[test]
    fn kept_labels_follow_every_edit() {
        type Host = (&'static str, &'static str, &'static str);
        let sequences: [&[&[Host]]; 5] = [
            // An entry that needed escaping, then the same again (kept),
            // then raw bytes that line up with its escaped text (not kept).
            &[
                &[("a\"", "xy", "")],
                &[("a\"", "xy", "")],
                &[("a\\", "\"x", "")],
            ],
            // One byte of the id, the name or the status.
            &[&[("h1", "even", "")], &[("h2", "even", "")]],
            &[&[("h1", "even", "")], &[("h1", "evem", "")]],
            &[&[("h1", "even", "ready")], &[("h1", "even", "reaDy")]],
            // The same total length, split differently.
            &[
                &[("ab", "cd", "")],
                &[("a", "bcd", "")],
                &[("abc", "d", "")],
            ],
        ];
        let registry = JobRegistry::new();
        for sequence in sequences {
            let mut reused = Renderer::new();
            for (step, hosts) in sequence.iter().enumerate() {
                let rows: Vec<HostRow<'_>> = hosts
                    .iter()
                    .map(|&(id, name, repo_status)| HostRow {
                        id,
                        name,
                        repo_status,
                        ..HostRow::default()
                    })
                    .collect();
                let (got, want) = reused_and_fresh(&mut reused, &registry, &rows);
                assert_eq!(got, want, "{hosts:?}, step {step}");
            }
        }
    }

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
