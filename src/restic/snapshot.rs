//! The plain values a scrape renders besides the histograms: hosts, alert
//! counts and build information, borrowed from wherever the caller keeps them.

/// One host's row for the per-host gauges. `None` means "no value yet"; the
/// host then has no line in that family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostRow<'a> {
    /// Stable host identifier (`host_id` label); rows render sorted by it.
    pub id: &'a str,
    /// Display name (`host` label).
    pub name: &'a str,
    /// Whether the host's agent is connected.
    pub online: bool,
    /// Unix time of the most recent backup.
    pub last_backup_unix: Option<i64>,
    /// Whether the most recent backup succeeded.
    pub last_backup_succeeded: Option<bool>,
    /// Latest reported repository size in bytes.
    pub repo_size_bytes: Option<i64>,
    /// Snapshots known in the host's repository.
    pub snapshot_count: u64,
    /// Open alerts attached to the host.
    pub open_alert_count: u64,
    /// Repository state (`"ready"`, `"init_failed"`, …); `""` renders as
    /// `"unknown"`.
    pub repo_status: &'a str,
}

/// Open alerts by severity. Only these three severities are exported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlertCounts {
    /// Open alerts of severity `info`.
    pub info: u64,
    /// Open alerts of severity `warning`.
    pub warning: u64,
    /// Open alerts of severity `critical`.
    pub critical: u64,
}

/// Labels of `rm_build_info`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo<'a> {
    /// Release version (`version` label).
    pub version: &'a str,
    /// Source revision (`commit` label).
    pub commit: &'a str,
    /// Toolchain version, exported as the `go_version` label for
    /// compatibility with the dashboards of the Go original.
    pub go_version: &'a str,
}

/// Everything a scrape renders apart from the registry's histograms.
///
/// `rm_hosts_total` and `rm_hosts_online` are derived from `hosts`.
///
/// ```
/// use rm_metrics::{HostRow, Snapshot};
///
/// let hosts = [HostRow { id: "h1", name: "alpha", online: true, ..HostRow::default() }];
/// let snapshot = Snapshot { hosts: &hosts, ..Snapshot::default() };
/// assert_eq!(snapshot.hosts_online(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot<'a> {
    /// One row per enrolled host, in any order.
    pub hosts: &'a [HostRow<'a>],
    /// Open alerts by severity.
    pub alerts: AlertCounts,
    /// Build labels.
    pub build: BuildInfo<'a>,
}

impl Snapshot<'_> {
    /// Number of hosts whose agent is online.
    pub fn hosts_online(&self) -> usize {
        self.hosts.iter().filter(|h| h.online).count()
    }
}
