//! The fuzz targets' properties, shared by `fuzz/fuzz_targets/*` and by the
//! corpus replay in `tests/fuzz_corpus.rs` (so `cargo test` re-checks every
//! corpus entry without the fuzzer). Each function takes the raw fuzz input.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use rm_metrics::{
    AlertCounts, BuildInfo, Format, HostRow, JobRegistry, Partition, Renderer, Snapshot,
    OVERFLOW_LABEL,
};

use crate::common::exposition::{self, Sample};

// ---------------------------------------------------------------------------
// (a) arbitrary label strings and host rows → render → strict parse → every
// label value unescapes to the input.

#[derive(Arbitrary, Debug)]
struct HostIn {
    id: String,
    name: String,
    online: bool,
    last_backup_unix: Option<i64>,
    last_backup_succeeded: Option<bool>,
    repo_size_bytes: Option<i64>,
    snapshot_count: u64,
    open_alert_count: u64,
    repo_status: String,
}

#[derive(Arbitrary, Debug)]
struct RenderIn {
    hosts: Vec<HostIn>,
    alerts: (u64, u64, u64),
    build: (String, String, String),
    jobs: Vec<(String, String, i64)>,
}

fn labels_of<'s>(samples: &'s [Sample], name: &str) -> Vec<&'s Vec<(String, String)>> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| &s.labels)
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn render_parse(data: &[u8]) {
    let Ok(input) = RenderIn::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let registry = JobRegistry::new();
    for (k, s, ns) in &input.jobs {
        registry.observe_nanos(k, s, *ns);
    }
    let rows: Vec<HostRow<'_>> = input
        .hosts
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
        .collect();
    let snapshot = Snapshot {
        hosts: &rows,
        alerts: AlertCounts {
            info: input.alerts.0,
            warning: input.alerts.1,
            critical: input.alerts.2,
        },
        build: BuildInfo {
            version: &input.build.0,
            commit: &input.build.1,
            go_version: &input.build.2,
        },
    };
    let mut renderer = Renderer::new();
    let text = std::str::from_utf8(renderer.render(&registry, &snapshot))
        .expect("UTF-8")
        .to_owned();
    let samples =
        exposition::parse(&text).unwrap_or_else(|e| panic!("unparseable exposition: {e}"));

    // Hosts, sorted by id (stable), with their labels intact.
    let mut sorted: Vec<&HostIn> = input.hosts.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let want: Vec<_> = sorted
        .iter()
        .map(|h| owned(&[("host_id", &h.id), ("host", &h.name)]))
        .collect();
    let got: Vec<_> = labels_of(&samples, "rm_host_agent_online")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(got, want, "host labels");
    let want: Vec<_> = sorted
        .iter()
        .map(|h| {
            let st = if h.repo_status.is_empty() {
                "unknown"
            } else {
                &h.repo_status
            };
            owned(&[("host_id", &h.id), ("host", &h.name), ("status", st)])
        })
        .collect();
    let got: Vec<_> = labels_of(&samples, "rm_host_repo_status")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(got, want, "repo status labels");
    let lines = |name: &str| samples.iter().filter(|s| s.name == name).count();
    assert_eq!(
        lines("rm_host_last_backup_timestamp_seconds"),
        sorted
            .iter()
            .filter(|h| h.last_backup_unix.is_some())
            .count()
    );
    assert_eq!(
        lines("rm_host_last_backup_success"),
        sorted
            .iter()
            .filter(|h| h.last_backup_succeeded.is_some())
            .count()
    );
    assert_eq!(
        lines("rm_host_repo_size_bytes"),
        sorted
            .iter()
            .filter(|h| h.repo_size_bytes.is_some())
            .count()
    );
    assert_eq!(lines("rm_host_snapshot_count"), sorted.len());
    let got = labels_of(&samples, "rm_build_info");
    assert_eq!(
        got,
        [&owned(&[
            ("version", &input.build.0),
            ("commit", &input.build.1),
            ("go_version", &input.build.2)
        ])],
        "build labels"
    );

    // Histograms: one per distinct pair, labels intact, counts right.
    let mut want: BTreeMap<(String, String), f64> = BTreeMap::new();
    for (k, s, _) in &input.jobs {
        *want.entry((k.clone(), s.clone())).or_default() += 1.0;
    }
    let got = exposition::histograms(&samples).unwrap_or_else(|e| panic!("{e}"));
    let got: BTreeMap<_, _> = got.into_iter().map(|(k, (_, _, c))| (k, c)).collect();
    assert_eq!(got, want, "histogram series");
}

// ---------------------------------------------------------------------------
// (b) arbitrary operations against a sequential model: a mutex-and-map mirror
// of the reference (float seconds compared with the bounds, as Go does),
// with the same series limit and overflow rule.

const POOL: [&str; 9] = [
    "backup",
    "succeeded",
    "",
    "__overflow__",
    "check",
    "fa\"il\n",
    // Near-duplicates for the per-thread memo's value check: a change in the
    // last byte, and two long values differing only in the middle.
    "backuP",
    "0123456789-middle-A-9876543210",
    "0123456789-middle-B-9876543210",
];

#[derive(Arbitrary, Debug)]
enum Label {
    Pool(u8),
    Any(String),
    /// Copied into a buffer reused by every op: one address, changing
    /// contents, as a caller formatting labels into a scratch `String`.
    InPlace(u8),
}

/// The reused label buffers of [`Label::InPlace`].
struct Scratch {
    kind: String,
    status: String,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            kind: String::with_capacity(64),
            status: String::with_capacity(64),
        }
    }

    fn labels<'a>(&'a mut self, kind: &'a Label, status: &'a Label) -> (&'a str, &'a str) {
        fn get<'a>(label: &'a Label, buf: &'a mut String) -> &'a str {
            match label {
                Label::Pool(i) => POOL[*i as usize % POOL.len()],
                Label::Any(s) => s,
                Label::InPlace(i) => {
                    buf.clear();
                    buf.push_str(POOL[*i as usize % POOL.len()]);
                    buf
                }
            }
        }
        (get(kind, &mut self.kind), get(status, &mut self.status))
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Observe {
        kind: Label,
        status: Label,
        nanos: i64,
    },
    ObserveDuration {
        kind: Label,
        status: Label,
        secs: u64,
        subsec: u32,
    },
    Resolve {
        kind: Label,
        status: Label,
    },
    HandleObserve {
        handle: u8,
        nanos: i64,
    },
    Render,
}

#[derive(Arbitrary, Debug)]
struct OpsIn {
    max_series: u8,
    ops: Vec<Op>,
}

const BOUNDS: [f64; 9] = [
    1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
];

#[derive(Default, Clone, Debug, PartialEq)]
struct ModelHist {
    cumulative: [u64; 10],
    sum_nanos: u128,
}

struct Model {
    max_series: usize,
    regular: usize,
    series: BTreeMap<(String, String), ModelHist>,
}

impl Model {
    /// The key a pair is counted under: itself, or the overflow pair.
    fn key(&mut self, kind: &str, status: &str) -> (String, String) {
        let key = (kind.to_owned(), status.to_owned());
        if self.series.contains_key(&key) {
            return key;
        }
        let overflow = (OVERFLOW_LABEL.to_owned(), OVERFLOW_LABEL.to_owned());
        if key == overflow {
            self.series.insert(key.clone(), ModelHist::default());
            return key;
        }
        if self.regular >= self.max_series {
            self.series.entry(overflow.clone()).or_default();
            return overflow;
        }
        self.regular += 1;
        self.series.insert(key.clone(), ModelHist::default());
        key
    }

    fn observe(&mut self, key: &(String, String), nanos: u64) {
        // As the reference: float seconds, compared with each bound.
        let secs = (nanos / 1_000_000_000) as f64 + (nanos % 1_000_000_000) as f64 / 1e9;
        let h = self.series.get_mut(key).expect("resolved key");
        for (i, &b) in BOUNDS.iter().enumerate() {
            if secs <= b {
                h.cumulative[i] += 1;
            }
        }
        h.cumulative[9] += 1;
        h.sum_nanos += u128::from(nanos);
    }
}

fn registry_state(r: &JobRegistry) -> BTreeMap<(String, String), ModelHist> {
    let mut out = BTreeMap::new();
    r.for_each_series(|k, s, snap| {
        out.insert(
            (k.to_owned(), s.to_owned()),
            ModelHist {
                cumulative: snap.cumulative().try_into().expect("ten buckets"),
                sum_nanos: snap.sum_nanos(),
            },
        );
    });
    out
}

pub fn ops_vs_model(data: &[u8]) {
    let Ok(input) = OpsIn::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let max_series = usize::from(input.max_series % 8);
    let registry = JobRegistry::with_max_series(max_series);
    let mut model = Model {
        max_series,
        regular: 0,
        series: BTreeMap::new(),
    };
    let mut handles = Vec::new();
    let mut renderer = Renderer::new();
    let mut scratch = Scratch::new();
    for op in &input.ops {
        match op {
            Op::Observe {
                kind,
                status,
                nanos,
            } => {
                let (kind, status) = scratch.labels(kind, status);
                registry.observe_nanos(kind, status, *nanos);
                let key = model.key(kind, status);
                model.observe(&key, (*nanos).max(0) as u64);
            }
            Op::ObserveDuration {
                kind,
                status,
                secs,
                subsec,
            } => {
                let d = Duration::new(*secs, subsec % 1_000_000_000);
                let (kind, status) = scratch.labels(kind, status);
                registry.observe(kind, status, d);
                let key = model.key(kind, status);
                model.observe(&key, d.as_nanos().min(i64::MAX as u128) as u64);
            }
            Op::Resolve { kind, status } => {
                let (kind, status) = scratch.labels(kind, status);
                let h = registry.handle(kind, status);
                let key = model.key(kind, status);
                assert_eq!(
                    (h.kind(), h.status()),
                    (key.0.as_str(), key.1.as_str()),
                    "handle labels"
                );
                handles.push((h, key));
            }
            Op::HandleObserve { handle, nanos } => {
                if let Some((h, key)) = handles.get(*handle as usize % handles.len().max(1)) {
                    h.observe_nanos(*nanos);
                    model.observe(key, (*nanos).max(0) as u64);
                }
            }
            Op::Render => {
                // Rendering mid-sequence must not disturb anything; the
                // registry must agree with the model at this point.
                let text = renderer.render(&registry, &Snapshot::default());
                let rows = text.windows(7).filter(|w| w == b"_count{").count();
                assert_eq!(rows, model.series.len(), "rendered rows");
                assert_eq!(registry_state(&registry), model.series, "state at render");
            }
        }
    }
    // The final exposition, parsed strictly, says what the model says.
    let text = std::str::from_utf8(renderer.render(&registry, &Snapshot::default()))
        .unwrap()
        .to_owned();
    let samples = exposition::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let got = exposition::histograms(&samples).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        model.series.keys().collect::<Vec<_>>(),
        "rendered rows"
    );
    for (key, (buckets, sum, count)) in got {
        let m = &model.series[&key];
        let want: Vec<f64> = m.cumulative.iter().map(|&c| c as f64).collect();
        assert_eq!(buckets, want, "{key:?} buckets");
        assert_eq!(count, m.cumulative[9] as f64);
        let exact = m.sum_nanos as f64 / 1e9;
        assert!(
            (sum - exact).abs() <= 1e-9 * exact.abs(),
            "{key:?} sum {sum} vs {exact}"
        );
    }
    assert_eq!(registry_state(&registry), model.series, "final state");
    assert_eq!(registry.series_count(), model.series.len());
}

// ---------------------------------------------------------------------------
// (c) the JSON spec loader of examples/render never panics; what it accepts
// renders to a parseable exposition.

pub fn spec_json(data: &[u8]) {
    let Ok(spec) = rm_metrics::spec::Spec::from_json(data) else {
        return;
    };
    let text = rm_metrics::spec::render_json(data).expect("accepted once, accepted twice");
    let text = String::from_utf8(text).expect("UTF-8");
    let samples = exposition::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let total = samples
        .iter()
        .find(|s| s.name == "rm_hosts_total")
        .expect("rm_hosts_total")
        .value;
    assert_eq!(total, spec.hosts.len() as f64);
    exposition::histograms(&samples).unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------
// (d) one reused renderer through many scrapes of an edited fleet: the
// cross-scrape caches (kept id order, kept label arena) must never change a
// byte. Every scrape of a reused renderer, whole and per partition, equals a
// fresh renderer's. Labels come from a small pool with escapes and
// near-duplicates, so edits hit the cache checks.

const HOST_POOL: [&str; 8] = ["h1", "h2", "h\"3", "h\n4", "alpha", "alphA", "", "γ-ü"];

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Free(String),
}

impl Text {
    fn get(&self) -> String {
        match self {
            Text::Pool(i) => HOST_POOL[usize::from(*i) % HOST_POOL.len()].to_owned(),
            Text::Free(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Add {
        id: Text,
        name: Text,
        status: Text,
    },
    Remove(u8),
    Swap(u8, u8),
    SetId(u8, Text),
    SetName(u8, Text),
    SetStatus(u8, Text),
    Toggle(u8),
    /// A host's gauge values (each may be absent), so the lines the
    /// renderers copy from their last output change too.
    Values(u8, u64),
    /// Observe into a pair, so the histogram part changes too.
    Job(u8, u8, i64),
    /// Scrape now (with `parts` partitions, 1 to 4).
    Scrape {
        parts: u8,
    },
}

#[derive(Clone)]
struct Host {
    id: String,
    name: String,
    status: String,
    online: bool,
    values: u64,
}

/// The row a scrape renders of `h`: the values from bits of `h.values`.
fn host_row(h: &Host) -> HostRow<'_> {
    let v = h.values;
    let field = |at: u32| (v >> at) & 0xff;
    let present = |bit: u32| v & (1 << (56 + bit)) != 0;
    HostRow {
        id: &h.id,
        name: &h.name,
        online: h.online,
        repo_status: &h.status,
        last_backup_unix: present(0).then(|| field(0) as i64 - 128),
        last_backup_succeeded: present(1).then(|| field(8) & 1 == 1),
        repo_size_bytes: present(2).then(|| (field(16) as i64) << 40),
        snapshot_count: field(24),
        open_alert_count: field(32) % 11,
    }
}

pub fn render_reuse(data: &[u8]) {
    let Ok(edits) = Vec::<Edit>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let registry = JobRegistry::new();
    let mut fleet: Vec<Host> = Vec::new();
    const FORMATS: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];
    let mut whole = FORMATS.map(Renderer::with_format);
    let mut parts: Vec<Renderer> = (0..4).map(|_| Renderer::new()).collect();
    let at = |fleet: &Vec<Host>, i: u8| (!fleet.is_empty()).then(|| usize::from(i) % fleet.len());
    for edit in edits.iter().take(256) {
        match edit {
            Edit::Add { id, name, status } => {
                let id = id.get();
                // Host ids are unique in a snapshot (the contract).
                if !fleet.iter().any(|h| h.id == id) {
                    fleet.push(Host {
                        id,
                        name: name.get(),
                        status: status.get(),
                        online: true,
                        values: 0,
                    });
                }
            }
            Edit::Remove(i) => {
                if let Some(i) = at(&fleet, *i) {
                    fleet.remove(i);
                }
            }
            Edit::Swap(a, b) => {
                if let (Some(a), Some(b)) = (at(&fleet, *a), at(&fleet, *b)) {
                    fleet.swap(a, b);
                }
            }
            Edit::SetId(i, id) => {
                let id = id.get();
                if let Some(i) = at(&fleet, *i) {
                    if !fleet.iter().any(|h| h.id == id) {
                        fleet[i].id = id;
                    }
                }
            }
            Edit::SetName(i, t) => {
                if let Some(i) = at(&fleet, *i) {
                    fleet[i].name = t.get();
                }
            }
            Edit::SetStatus(i, t) => {
                if let Some(i) = at(&fleet, *i) {
                    fleet[i].status = t.get();
                }
            }
            Edit::Toggle(i) => {
                if let Some(i) = at(&fleet, *i) {
                    fleet[i].online = !fleet[i].online;
                }
            }
            Edit::Values(i, v) => {
                if let Some(i) = at(&fleet, *i) {
                    fleet[i].values = *v;
                }
            }
            Edit::Job(k, st, ns) => {
                let k = HOST_POOL[usize::from(*k) % HOST_POOL.len()];
                let st = HOST_POOL[usize::from(*st) % HOST_POOL.len()];
                registry.observe_nanos(k, st, *ns);
            }
            Edit::Scrape { parts: n } => {
                let rows: Vec<HostRow<'_>> = fleet.iter().map(host_row).collect();
                let snapshot = Snapshot {
                    hosts: &rows,
                    ..Snapshot::default()
                };
                for (r, format) in whole.iter_mut().zip(FORMATS) {
                    assert_eq!(
                        r.render(&registry, &snapshot),
                        Renderer::with_format(format).render(&registry, &snapshot),
                        "a reused {format:?} renderer differs from a fresh one"
                    );
                }
                let count = 1 + u32::from(*n) % 4;
                for (i, r) in parts.iter_mut().enumerate().take(count as usize) {
                    let part = Partition::new(i as u32, count).expect("i < count");
                    assert_eq!(
                        r.render_partition(&registry, &snapshot, part),
                        Renderer::new().render_partition(&registry, &snapshot, part),
                        "a reused renderer of part {i} of {count} differs from a fresh one"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// (e) arbitrary exemplar label sets and values, on a counter and a histogram
// bucket, read back through the OpenMetrics encoder: `Exemplar::new` refuses
// exactly what OpenMetrics refuses (bad or repeated names, more than 128
// characters), and what it accepts comes back whole, escaped, with its value.

#[derive(Arbitrary, Debug)]
struct ExemplarCase {
    /// Several exemplars in turn: the cell keeps the latest.
    rounds: Vec<ExemplarRound>,
}

/// An exemplar's label pairs and a value; with a trace (and maybe a span)
/// id, the exemplar is made from them instead of the pairs.
type ExemplarRound = (Vec<(String, String)>, u32, Option<(u128, Option<u64>)>);

fn expected_exemplar(pairs: &[(String, String)], value: &str) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{n}=\"{v}\"")
        })
        .collect();
    format!(" # {{{}}} {value}", body.join(","))
}

fn valid_exemplar(pairs: &[(String, String)]) -> bool {
    let name_ok = |n: &str| {
        let mut b = n.bytes();
        matches!(b.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    let chars: usize = pairs
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    pairs.iter().all(|(n, _)| name_ok(n))
        && pairs
            .iter()
            .enumerate()
            .all(|(i, (n, _))| pairs[..i].iter().all(|(m, _)| m != n))
        && chars <= 128
}

pub fn exemplar(data: &[u8]) {
    use rm_metrics::{Exemplar, OpenMetricsEncoder, Opts, Registry};
    let Ok(case) = ExemplarCase::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let registry = Registry::new();
    let counter = registry
        .counter(Opts::new("c", "C."), [])
        .expect("a valid family")
        .with([]);
    let histogram = registry
        .histogram(Opts::new("h", "H."), [], &[10.0])
        .expect("a valid family")
        .with([]);
    let mut encoder = OpenMetricsEncoder::new();
    let mut latest = None;
    for (pairs, n, trace) in case.rounds.iter().take(16) {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (&**a, &**b)).collect();
        let (pairs, result) = match *trace {
            Some((trace, span)) => {
                let mut ids = vec![("trace_id".to_string(), format!("{trace:032x}"))];
                ids.extend(span.map(|s| ("span_id".to_string(), format!("{s:016x}"))));
                let exemplar = match span {
                    Some(span) => Exemplar::trace_and_span(trace, span),
                    None => Exemplar::trace(trace),
                };
                (ids, Ok(exemplar))
            }
            None => {
                let result = Exemplar::new(&borrowed);
                assert_eq!(
                    result.is_ok(),
                    valid_exemplar(pairs),
                    "{pairs:?}: {result:?}"
                );
                (pairs.clone(), result)
            }
        };
        let pairs = &pairs;
        let Ok(exemplar) = result else { continue };
        let n = u64::from(*n % 1000);
        counter.inc_by_with_exemplar(n, &exemplar);
        histogram.observe_with_exemplar(n as f64, &exemplar);
        latest = Some(n);
        let text = String::from_utf8(encoder.encode(&registry).to_vec()).expect("UTF-8");
        let want = expected_exemplar(pairs, &n.to_string());
        let total = counter.get();
        assert!(
            text.contains(&format!("c_total {total}{want}\n")),
            "counter exemplar of {pairs:?} not in\n{text}"
        );
        let bucket = if n <= 10 { "10.0" } else { "+Inf" };
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("h_bucket{{le=\"{bucket}\"}} "))
                    && l.ends_with(&want)),
            "histogram exemplar of {pairs:?} not in\n{text}"
        );
    }
    if latest.is_some() {
        assert!(encoder.encode(&registry).ends_with(b"# EOF\n"));
    }
}

// ---------------------------------------------------------------------------
// (f) a counter family's adds, removals, `retain` sweeps, clears and
// scrapes against a map, with the series limit and its overflow series, at
// sizes where series sit in the main table (marked when removed) as well
// as the recent one.

#[derive(Arbitrary, Debug)]
enum FamilyOp {
    /// Counts key `k{key % space}` `n + 1` times.
    Inc {
        key: u16,
        n: u8,
    },
    /// Counts `count % 64 + 1` keys from `k{first % space}` on, once each.
    Many {
        first: u16,
        count: u8,
    },
    /// Removes a key; `u16::MAX` names the overflow series.
    Remove {
        key: u16,
    },
    /// Removes the `pick`-th series the family has (if any).
    RemoveHeld {
        pick: u16,
    },
    /// Counts again the `pick`-th key removed so far (if any).
    IncRemoved {
        pick: u16,
    },
    /// Removes the series whose count is `r` modulo `m + 2`.
    Retain {
        m: u8,
        r: u8,
    },
    Clear,
    Scrape,
}

#[derive(Arbitrary, Debug)]
struct FamilyOpsIn {
    space: u16,
    max_series: u16,
    ops: Vec<FamilyOp>,
}

/// The family as the map expects it: each series' label value and count,
/// in the exposition's order.
fn family_state(f: &rm_metrics::Family<rm_metrics::Counter, 1>) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    f.for_each(|s| out.push((s.values().collect(), s.get())));
    out
}

pub fn family_ops(data: &[u8]) {
    let Ok(input) = FamilyOpsIn::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let space = u32::from(input.space % 2048) + 1;
    // (At most 256 ops of at most 64 adds each: a run stays short.)
    let max_series = usize::from(input.max_series % 1024) + 1;
    let registry = rm_metrics::Registry::new();
    let f = registry
        .counter(
            rm_metrics::Opts::new("c", "C.").max_series(max_series),
            ["k"],
        )
        .expect("a valid family");
    // Each series' count; `counted`: those the limit counts.
    let mut model: BTreeMap<String, u64> = BTreeMap::new();
    let mut counted = 0usize;
    // Keys removed so far, to count again.
    let mut removed: Vec<String> = Vec::new();
    let key_of = |k: u16| format!("k{}", u32::from(k) % space);
    let inc = |model: &mut BTreeMap<String, u64>, counted: &mut usize, key: String, n: u64| {
        f.inc_by([&key], n);
        if let Some(c) = model.get_mut(&key) {
            *c += n;
        } else if key == OVERFLOW_LABEL {
            // A series whose every value is `__overflow__` is the overflow
            // series, whoever adds it: the limit never counts it (so its
            // removal, below, gives back no room either).
            model.insert(key, n);
        } else if *counted < max_series {
            *counted += 1;
            model.insert(key, n);
        } else {
            *model.entry(OVERFLOW_LABEL.to_owned()).or_default() += n;
        }
    };
    for op in input.ops.iter().take(256) {
        match *op {
            FamilyOp::Inc { key, n } => {
                inc(&mut model, &mut counted, key_of(key), u64::from(n) + 1);
            }
            FamilyOp::Many { first, count } => {
                for k in 0..=u16::from(count % 64) {
                    inc(&mut model, &mut counted, key_of(first.wrapping_add(k)), 1);
                }
            }
            FamilyOp::Remove { .. } | FamilyOp::RemoveHeld { .. } => {
                let key = match *op {
                    FamilyOp::Remove { key: u16::MAX } => OVERFLOW_LABEL.to_owned(),
                    FamilyOp::Remove { key } => key_of(key),
                    FamilyOp::RemoveHeld { pick } if !model.is_empty() => {
                        let at = usize::from(pick) % model.len();
                        model.keys().nth(at).expect("in range").clone()
                    }
                    _ => continue,
                };
                let had = model.remove(&key).is_some();
                if had && key != OVERFLOW_LABEL {
                    counted -= 1;
                }
                assert_eq!(f.remove([&key]), had, "remove {key}");
                removed.push(key);
            }
            FamilyOp::IncRemoved { pick } => {
                if let Some(key) = removed.get(usize::from(pick) % removed.len().max(1)) {
                    inc(&mut model, &mut counted, key.clone(), 1);
                }
            }
            FamilyOp::Retain { m, r } => {
                let m = u64::from(m) + 2;
                let gone = |n: u64| n % m == u64::from(r) % m;
                let swept = f.retain(|s| !gone(s.get()));
                let before = model.len();
                model.retain(|k, n| {
                    let keep = !gone(*n);
                    if !keep && k != OVERFLOW_LABEL {
                        counted -= 1;
                    }
                    keep
                });
                assert_eq!(swept, before - model.len(), "retain");
            }
            FamilyOp::Clear => {
                f.clear();
                model.clear();
                counted = 0;
            }
            FamilyOp::Scrape => {
                let want: Vec<_> = model.iter().map(|(k, &n)| (k.clone(), n)).collect();
                assert_eq!(family_state(&f), want);
            }
        }
        assert_eq!(f.len(), model.len());
    }
    let want: Vec<_> = model.iter().map(|(k, &n)| (k.clone(), n)).collect();
    assert_eq!(family_state(&f), want);
}
