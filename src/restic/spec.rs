//! Snapshot specs: the JSON test-input format of the reference oracle
//! (`shared/README.md`), behind the `spec` feature.
//!
//! A spec holds hosts, alert counts, build labels and a list of jobs. Loading
//! is strict: unknown fields, missing required fields, negative counts and
//! duplicated host ids are errors, each reported in one line.
//!
//! ```
//! use rm_metrics::{spec::Spec, JobRegistry, Renderer};
//!
//! let spec = Spec::from_json(br#"{"hosts": [], "alerts_by_severity": {"warning": 2},
//!     "build_version": "1.0", "build_commit": "abc", "go_version": "go1.22",
//!     "jobs": [{"kind": "backup", "status": "ok", "duration_ns": 2000000000}]}"#).unwrap();
//! let registry = JobRegistry::new();
//! spec.observe_jobs(&registry);
//! let hosts = spec.host_rows();
//! let text = Renderer::new().render(&registry, &spec.snapshot(&hosts)).to_vec();
//! assert!(String::from_utf8(text).unwrap().contains("rm_active_alerts{severity=\"warning\"} 2\n"));
//!
//! let err = Spec::from_json(br#"{"hosts": [], "color": 1}"#).unwrap_err();
//! assert!(err.to_string().contains("unknown field `color`"));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;

use crate::restic::jobs::JobRegistry;
use crate::restic::renderer::Renderer;
use crate::restic::snapshot::{AlertCounts, BuildInfo, HostRow, Snapshot};

/// A parsed, validated snapshot spec.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Host rows.
    pub hosts: Vec<HostSpec>,
    /// Open alerts by severity; severities other than info, warning and
    /// critical are accepted and not rendered (as in the reference).
    pub alerts_by_severity: BTreeMap<String, u64>,
    /// `rm_build_info{version}`.
    pub build_version: String,
    /// `rm_build_info{commit}`.
    pub build_commit: String,
    /// `rm_build_info{go_version}`.
    pub go_version: String,
    /// Jobs to observe, in order.
    pub jobs: Vec<JobSpec>,
}

/// One host of a [`Spec`]; see [`HostRow`] for the meaning of each field.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HostSpec {
    pub id: String,
    pub name: String,
    pub online: bool,
    #[serde(default)]
    pub last_backup_unix: Option<i64>,
    #[serde(default)]
    pub last_backup_succeeded: Option<bool>,
    #[serde(default)]
    pub repo_size_bytes: Option<i64>,
    pub snapshot_count: u64,
    pub open_alert_count: u64,
    pub repo_status: String,
}

/// One job of a [`Spec`]: a signed nanosecond duration, as Go's `time.Duration`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobSpec {
    pub kind: String,
    pub status: String,
    pub duration_ns: i64,
}

/// Why a spec was rejected. Its `Display` is one line.
#[derive(Debug)]
pub enum SpecError {
    /// Not JSON, or not of the spec's shape (unknown or missing field, wrong
    /// type, negative count …), with serde's line and column.
    Json(serde_json::Error),
    /// Two hosts share an id.
    DuplicateHostId(String),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Json(e) => write!(f, "invalid spec: {e}"),
            SpecError::DuplicateHostId(id) => write!(f, "invalid spec: duplicate host id {id:?}"),
        }
    }
}

impl std::error::Error for SpecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpecError::Json(e) => Some(e),
            SpecError::DuplicateHostId(_) => None,
        }
    }
}

/// Parses `input` as a spec, observes its jobs into a fresh [`JobRegistry`] in
/// order, and renders the exposition: what `examples/render` does.
pub fn render_json(input: &[u8]) -> Result<Vec<u8>, SpecError> {
    let spec = Spec::from_json(input)?;
    let registry = JobRegistry::new();
    spec.observe_jobs(&registry);
    let hosts = spec.host_rows();
    Ok(Renderer::new()
        .render(&registry, &spec.snapshot(&hosts))
        .to_vec())
}

impl Spec {
    /// Parses and validates a spec.
    pub fn from_json(bytes: &[u8]) -> Result<Spec, SpecError> {
        let spec: Spec = serde_json::from_slice(bytes).map_err(SpecError::Json)?;
        let mut seen = HashSet::with_capacity(spec.hosts.len());
        for h in &spec.hosts {
            if !seen.insert(h.id.as_str()) {
                return Err(SpecError::DuplicateHostId(h.id.clone()));
            }
        }
        Ok(spec)
    }

    /// Feeds every job through `registry`, in order.
    pub fn observe_jobs(&self, registry: &JobRegistry) {
        for job in &self.jobs {
            registry.observe_nanos(&job.kind, &job.status, job.duration_ns);
        }
    }

    /// The hosts as borrowed rows, for [`Spec::snapshot`].
    pub fn host_rows(&self) -> Vec<HostRow<'_>> {
        self.hosts
            .iter()
            .map(|h| HostRow {
                id: &h.id,
                name: &h.name,
                online: h.online,
                last_backup_unix: h.last_backup_unix,
                last_backup_succeeded: h.last_backup_succeeded,
                repo_size_bytes: h.repo_size_bytes,
                snapshot_count: h.snapshot_count,
                open_alert_count: h.open_alert_count,
                repo_status: &h.repo_status,
            })
            .collect()
    }

    /// The snapshot of this spec over `hosts` (from [`Spec::host_rows`]).
    pub fn snapshot<'a>(&'a self, hosts: &'a [HostRow<'a>]) -> Snapshot<'a> {
        let alert = |s: &str| self.alerts_by_severity.get(s).copied().unwrap_or(0);
        Snapshot {
            hosts,
            alerts: AlertCounts {
                info: alert("info"),
                warning: alert("warning"),
                critical: alert("critical"),
            },
            build: BuildInfo {
                version: &self.build_version,
                commit: &self.build_commit,
                go_version: &self.go_version,
            },
        }
    }
}
