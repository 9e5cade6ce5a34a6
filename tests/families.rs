//! `examples/families` against a model: random programs (`../shared/FAMILIES.md`)
//! run through the driver in both formats, and the output compared line by
//! line with what an independent model of the contract expects; the
//! OpenMetrics output also parsed by prometheus_client's strict parser and
//! compared with the model sample by sample, exemplars included. Bad
//! programs must exit non-zero with one line on stderr and nothing on stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use fastrand::Rng;
use serde_json::{json, Value};

#[path = "common/python.rs"]
mod python;
use python::python_parse;

/// The driver, built once per test run (a filtered `cargo test --test
/// families` does not build examples, and a stale one would be tested).
fn driver() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "--example", "families"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "building examples/families failed");
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap();
            dir.join("examples")
                .join(format!("families{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    Text,
    OpenMetrics,
}

fn run(program: &Value, format: Format) -> Run {
    let mut child = Command::new(driver())
        .args([
            "--format",
            match format {
                Format::Text => "text",
                Format::OpenMetrics => "openmetrics",
            },
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(program.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

// ---- the model ------------------------------------------------------------

/// Bucket bounds and how Go's `%g` writes them.
const BOUNDS: [(f64, &str); 12] = [
    (-3.0, "-3"),
    (1.5e-7, "1.5e-07"),
    (0.0001234, "0.0001234"),
    (0.005, "0.005"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (1.0, "1"),
    (2.5, "2.5"),
    (10.0, "10"),
    (123456.5, "123456.5"),
    (1e6, "1e+06"),
    (3e9, "3e+09"),
];
const LABEL_NAMES: [&str; 6] = ["method", "code", "route", "a", "_b", "Zz9"];
const VALUES: [&str; 9] = [
    "",
    "GET",
    "200",
    "a\\b",
    "q\"uote",
    "line\nfeed",
    "tab\there",
    "ünï ✓",
    "z",
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

struct Fam {
    name: String,
    help: String,
    kind: Kind,
    labels: Vec<&'static str>,
    /// Indices into BOUNDS.
    bounds: Vec<usize>,
    max_series: usize,
    series: BTreeMap<Vec<String>, State>,
    /// Series the limit counts.
    counted: usize,
}

/// An exemplar: its label pairs, in order, and its value.
type Ex = (Vec<(String, String)>, f64);

#[derive(Clone, Debug)]
enum State {
    Counter(u64, Option<Ex>),
    Gauge(f64),
    Histogram {
        buckets: Vec<u64>,
        sum: f64,
        /// The latest exemplar of each bucket.
        exemplars: Vec<Option<Ex>>,
    },
}

const OVERFLOW: &str = "__overflow__";

impl Fam {
    fn zero(&self) -> State {
        match self.kind {
            Kind::Counter => State::Counter(0, None),
            Kind::Gauge => State::Gauge(0.0),
            Kind::Histogram => State::Histogram {
                buckets: vec![0; self.bounds.len() + 1],
                sum: 0.0,
                exemplars: vec![None; self.bounds.len() + 1],
            },
        }
    }

    /// The series an op on `values` lands in.
    fn series(&mut self, values: &[String]) -> &mut State {
        let key = if self.series.contains_key(values) {
            values.to_vec()
        } else if self.counted < self.max_series {
            self.counted += 1;
            values.to_vec()
        } else {
            vec![OVERFLOW.to_string(); values.len()]
        };
        let zero = self.zero();
        self.series.entry(key).or_insert(zero)
    }

    fn remove(&mut self, values: &[String]) {
        if self.series.remove(values).is_some() {
            self.counted -= 1;
        }
    }
}

/// What a sample line's value must be.
#[derive(Debug)]
enum Expect {
    Int(u64),
    Float(f64),
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn pairs(f: &Fam, values: &[String]) -> String {
    f.labels
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn braces(p: &str) -> String {
    if p.is_empty() {
        String::new()
    } else {
        format!("{{{p}}}")
    }
}

/// One expected line: exact text, or a sample's (prefix, value) and, in
/// OpenMetrics, its exemplar's (`{labels}`, value).
type Line = (String, Option<Expect>, Option<(String, f64)>);

fn exemplar_text(ex: &Option<Ex>) -> Option<(String, f64)> {
    ex.as_ref().map(|(pairs, v)| {
        let p: Vec<String> = pairs
            .iter()
            .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
            .collect();
        (format!("{{{}}}", p.join(",")), *v)
    })
}

/// OpenMetrics' canonical `le`: Go's `%g`, `.0` added to a bare integer.
fn canonical(go: &str) -> String {
    if go.contains(['.', 'e']) || go == "+Inf" {
        go.into()
    } else {
        format!("{go}.0")
    }
}

/// The model's exposition: exact lines, or samples.
fn expected(fams: &[Fam], format: Format) -> Vec<Line> {
    let om = format == Format::OpenMetrics;
    let mut out: Vec<Line> = Vec::new();
    for f in fams {
        let sample_name = match f.kind {
            Kind::Counter => format!("{}_total", f.name),
            _ => f.name.clone(),
        };
        let name = if om {
            f.name.clone()
        } else {
            sample_name.clone()
        };
        let mut help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        if om {
            help = help.replace('"', "\\\"");
        }
        out.push((format!("# HELP {name} {help}"), None, None));
        let kind = format!("{:?}", f.kind).to_lowercase();
        out.push((format!("# TYPE {name} {kind}"), None, None));
        for (values, state) in &f.series {
            let p = pairs(f, values);
            let ex = |e: &Option<Ex>| if om { exemplar_text(e) } else { None };
            match state {
                State::Counter(c, e) => out.push((
                    format!("{sample_name}{}", braces(&p)),
                    Some(Expect::Int(*c)),
                    ex(e),
                )),
                State::Gauge(g) => out.push((
                    format!("{name}{}", braces(&p)),
                    Some(Expect::Float(*g)),
                    None,
                )),
                State::Histogram {
                    buckets,
                    sum,
                    exemplars,
                } => {
                    let mut acc = 0;
                    let sep = if p.is_empty() { "" } else { "," };
                    for (i, c) in buckets.iter().enumerate() {
                        acc += c;
                        let le = f.bounds.get(i).map_or("+Inf", |&b| BOUNDS[b].1);
                        let le = if om { canonical(le) } else { le.into() };
                        out.push((
                            format!("{name}_bucket{{{p}{sep}le=\"{le}\"}}"),
                            Some(Expect::Int(acc)),
                            ex(&exemplars[i]),
                        ));
                    }
                    // OpenMetrics: no `_sum` (nor `_count`) with a negative bound.
                    if om && f.bounds.first().is_some_and(|&b| BOUNDS[b].0 < 0.0) {
                        continue;
                    }
                    out.push((
                        format!("{name}_sum{}", braces(&p)),
                        Some(Expect::Float(*sum)),
                        None,
                    ));
                    out.push((
                        format!("{name}_count{}", braces(&p)),
                        Some(Expect::Int(acc)),
                        None,
                    ));
                }
            }
        }
    }
    if om {
        out.push(("# EOF".into(), None, None));
    }
    out
}

/// Checks a float's text: exactly `v`, in Go's `%g` layout with the
/// shortest digits (`strconv.FormatFloat(v, 'g', -1, 64)`).
fn check_float(text: &str, v: f64, line: &str) {
    let parsed: f64 = text
        .parse()
        .unwrap_or_else(|_| panic!("{line}: not a number"));
    assert_eq!(parsed.to_bits(), v.to_bits(), "{line}: want {v:?}");
    if v == 0.0 {
        assert_eq!(
            text,
            if v.is_sign_negative() { "-0" } else { "0" },
            "{line}"
        );
        return;
    }
    // Rust's `{:e}` has the shortest round-trip digits: d.ddde±x.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits = mantissa.replace('.', "");
    let sign = if v < 0.0 { "-" } else { "" };
    let want = if (-4..6).contains(&exp) {
        if exp < 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if digits.len() as i32 <= exp + 1 {
            format!(
                "{sign}{digits}{}",
                "0".repeat((exp + 1) as usize - digits.len())
            )
        } else {
            let (a, b) = digits.split_at(exp as usize + 1);
            format!("{sign}{a}.{b}")
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { "-" } else { "+" },
            exp.abs()
        )
    };
    assert_eq!(text, want, "{line}: Go %g layout");
}

fn compare(actual: &str, want: &[Line], program: &Value) {
    let lines: Vec<&str> = actual.lines().collect();
    assert!(actual.is_empty() || actual.ends_with('\n'));
    let ctx = || format!("\nprogram: {program}\noutput:\n{actual}");
    assert_eq!(lines.len(), want.len(), "line count{}", ctx());
    for (line, (prefix, value, exemplar)) in lines.iter().zip(want) {
        let Some(v) = value else {
            assert_eq!(line, prefix, "{}", ctx());
            continue;
        };
        let sample = match exemplar {
            Some((labels, ev)) => {
                let (sample, ex) = line
                    .split_once(" # ")
                    .unwrap_or_else(|| panic!("{line}: no exemplar{}", ctx()));
                let (l, text) = ex.rsplit_once(' ').unwrap();
                assert_eq!(l, labels, "{line}{}", ctx());
                check_float(text, *ev, line);
                sample
            }
            None => line,
        };
        let (p, text) = sample.rsplit_once(' ').unwrap();
        assert_eq!(p, prefix, "{}", ctx());
        match v {
            Expect::Int(i) => assert_eq!(text, i.to_string(), "{line}{}", ctx()),
            Expect::Float(f) => check_float(text, *f, line),
        }
    }
}

// ---- random programs ------------------------------------------------------

const EXEMPLAR_NAMES: [&str; 4] = ["trace_id", "span_id", "a", "_b"];
/// The last one is long: with `trace_id` it takes 108 of the 128 characters.
const EXEMPLAR_VALUES: [&str; 7] = [
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "",
    "ünï ✓",
    "back\\slash",
    "line\nfeed",
    "q\"uote",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Sometimes an exemplar of 0 to 2 pairs within the limit, its names in
/// byte order (as serde_json writes an object's keys, so as the driver
/// reads them); with a quote in a value only if `quotes`.
fn random_exemplar(rng: &mut Rng, quotes: bool) -> Option<Vec<(String, String)>> {
    if rng.usize(..3) != 0 {
        return None;
    }
    let mut names = EXEMPLAR_NAMES.to_vec();
    rng.shuffle(&mut names);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for name in &names[..rng.usize(0..=2)] {
        let value = EXEMPLAR_VALUES[rng.usize(..EXEMPLAR_VALUES.len())];
        if value.contains('"') && !quotes {
            continue;
        }
        let chars: usize = pairs
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        if chars + name.len() + value.chars().count() <= 128 {
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    pairs.sort();
    Some(pairs)
}

fn exemplar_json(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(n, v)| (n.clone(), json!(v))).collect())
}

fn random_program(rng: &mut Rng) -> (Value, Vec<Fam>) {
    let mut fams = Vec::new();
    let mut specs = Vec::new();
    for i in 0..rng.usize(1..=5) {
        let kind = [Kind::Counter, Kind::Gauge, Kind::Histogram][rng.usize(..3)];
        let mut names = LABEL_NAMES.to_vec();
        rng.shuffle(&mut names);
        let labels: Vec<&str> = names[..rng.usize(0..=3)].to_vec();
        let mut bounds: Vec<usize> = (0..BOUNDS.len()).filter(|_| rng.bool()).collect();
        bounds.truncate(rng.usize(0..=6));
        let name = format!("fam_{i}{}", ["", ":x", "_seconds"][rng.usize(..3)]);
        let help = ["", "Plain help.", "Back\\slash and\nnewline \"quoted\"."][rng.usize(..3)];
        let max_series = if rng.bool() {
            Some(rng.usize(1..=4))
        } else {
            None
        };
        let mut spec = json!({"name": name, "help": help, "type": format!("{kind:?}").to_lowercase(), "labels": labels});
        if kind == Kind::Histogram {
            spec["buckets"] = json!(bounds.iter().map(|&b| BOUNDS[b].0).collect::<Vec<_>>());
        }
        if let Some(m) = max_series {
            spec["max_series"] = json!(m);
        }
        specs.push(spec);
        let mut f = Fam {
            name,
            help: help.into(),
            kind,
            labels,
            bounds,
            max_series: max_series.unwrap_or(1024),
            series: BTreeMap::new(),
            counted: 0,
        };
        if f.labels.is_empty() {
            f.series(&[]);
        }
        fams.push(f);
    }
    let mut ops = Vec::new();
    // One program in four may quote in exemplar values (see
    // `random_programs_match_the_model`).
    let quotes = rng.usize(..4) == 0;
    for _ in 0..rng.usize(0..40) {
        let fi = rng.usize(..fams.len());
        let f = &mut fams[fi];
        let values: Vec<String> = f
            .labels
            .iter()
            .map(|_| VALUES[rng.usize(..VALUES.len())].to_string())
            .collect();
        if !f.labels.is_empty() && rng.usize(..8) == 0 {
            f.remove(&values);
            ops.push(json!({"family": fi, "labels": values, "remove": true}));
            continue;
        }
        match f.kind {
            Kind::Counter => {
                let n = if rng.usize(..10) == 0 {
                    rng.u64(..1 << 40)
                } else {
                    rng.u64(..5)
                };
                let ex = random_exemplar(rng, quotes);
                if let State::Counter(c, e) = f.series(&values) {
                    *c += n;
                    if let Some(pairs) = &ex {
                        *e = Some((pairs.clone(), n as f64));
                    }
                }
                let mut op = json!({"family": fi, "labels": values, "inc": n});
                if let Some(pairs) = ex {
                    op["exemplar"] = exemplar_json(&pairs);
                }
                ops.push(op);
            }
            Kind::Gauge => {
                let x = [-2.5, 0.1, 3.0, 1e6, -0.0001, 7.25e-9, 1e300][rng.usize(..7)];
                let set = rng.bool();
                if let State::Gauge(g) = f.series(&values) {
                    if set {
                        *g = x;
                    } else {
                        *g += x;
                    }
                }
                let key = if set { "set" } else { "add" };
                ops.push(json!({"family": fi, "labels": values, key: x}));
            }
            Kind::Histogram => {
                // Often exactly on a bound.
                let x = if rng.bool() && !f.bounds.is_empty() {
                    BOUNDS[f.bounds[rng.usize(..f.bounds.len())]].0.max(0.0)
                } else {
                    [0.0, 0.042, 0.3, 7.0, 1e7, 123456.5][rng.usize(..6)]
                };
                let bucket = f.bounds.iter().filter(|&&b| x > BOUNDS[b].0).count();
                let ex = random_exemplar(rng, quotes);
                if let State::Histogram {
                    buckets,
                    sum,
                    exemplars,
                } = f.series(&values)
                {
                    buckets[bucket] += 1;
                    *sum += x;
                    if let Some(pairs) = &ex {
                        exemplars[bucket] = Some((pairs.clone(), x));
                    }
                }
                let mut op = json!({"family": fi, "labels": values, "observe": x});
                if let Some(pairs) = ex {
                    op["exemplar"] = exemplar_json(&pairs);
                }
                ops.push(op);
            }
        }
    }
    (json!({"families": specs, "ops": ops}), fams)
}

#[test]
fn the_spec_example() {
    let program: Value = serde_json::from_str(
        r#"{"families": [
            {"name": "http_requests", "help": "Requests served.", "type": "counter", "labels": ["method", "code"]},
            {"name": "queue_depth", "help": "Jobs waiting.", "type": "gauge", "labels": []},
            {"name": "latency_seconds", "help": "Request latency.", "type": "histogram",
             "labels": ["route"], "buckets": [0.005, 0.05, 0.5, 5], "max_series": 100}],
          "ops": [
            {"family": 0, "labels": ["GET", "200"], "inc": 3},
            {"family": 1, "labels": [], "set": -2.5},
            {"family": 1, "labels": [], "add": 1},
            {"family": 2, "labels": ["/a"], "observe": 0.042},
            {"family": 2, "labels": ["/a"], "observe": 0.3, "exemplar": {"trace_id": "4bf92f35"}},
            {"family": 0, "labels": ["GET", "200"], "remove": true}]}"#,
    )
    .unwrap();
    // The two formats differ in the counter's header, the canonical `le`,
    // the exemplar and `# EOF`.
    let want = |counter: &str, le5: &str, exemplar: &str, eof: &str| {
        format!(
            "# HELP {counter} Requests served.\n\
             # TYPE {counter} counter\n\
             # HELP queue_depth Jobs waiting.\n\
             # TYPE queue_depth gauge\n\
             queue_depth -1.5\n\
             # HELP latency_seconds Request latency.\n\
             # TYPE latency_seconds histogram\n\
             latency_seconds_bucket{{route=\"/a\",le=\"0.005\"}} 0\n\
             latency_seconds_bucket{{route=\"/a\",le=\"0.05\"}} 1\n\
             latency_seconds_bucket{{route=\"/a\",le=\"0.5\"}} 2{exemplar}\n\
             latency_seconds_bucket{{route=\"/a\",le=\"{le5}\"}} 2\n\
             latency_seconds_bucket{{route=\"/a\",le=\"+Inf\"}} 2\n\
             latency_seconds_sum{{route=\"/a\"}} 0.34199999999999997\n\
             latency_seconds_count{{route=\"/a\"}} 2\n{eof}"
        )
    };
    let om = run(&program, Format::OpenMetrics);
    assert_eq!((om.code, om.stderr.as_str()), (0, ""));
    let exemplar = " # {trace_id=\"4bf92f35\"} 0.3";
    assert_eq!(om.stdout, want("http_requests", "5.0", exemplar, "# EOF\n"));
    let text = run(&program, Format::Text);
    assert_eq!((text.code, text.stderr.as_str()), (0, ""));
    assert_eq!(text.stdout, want("http_requests_total", "5", "", ""));
}

#[test]
fn random_programs_match_the_model() {
    let mut rng = Rng::with_seed(0xfa3);
    let mut parse = Vec::new();
    for _ in 0..250 {
        let (program, fams) = random_program(&mut rng);
        for format in [Format::Text, Format::OpenMetrics] {
            let r = run(&program, format);
            assert_eq!(r.code, 0, "{}\nprogram: {program}", r.stderr);
            assert_eq!(r.stderr, "");
            compare(&r.stdout, &expected(&fams, format), &program);
            // prometheus_client's parser toggles its quote state on every
            // `"` after a sample's value, escaped or not, so it cannot read
            // an exemplar value with a quote; the line comparison above
            // checks those.
            if format == Format::OpenMetrics && !quoted_exemplar(&program) {
                parse.push((r.stdout, model_parsed(&fams), program.clone()));
            }
        }
    }
    assert!(parse.len() > 150, "only {} parsed", parse.len());
    let bodies: Vec<&str> = parse.iter().map(|(b, _, _)| b.as_str()).collect();
    let Some(parsed) = python_parse(&bodies) else {
        return;
    };
    let mut exemplars = 0;
    for ((body, want, program), got) in parse.iter().zip(parsed) {
        assert!(
            got.get("error").is_none(),
            "prometheus_client refused: {}\nprogram: {program}\noutput:\n{body}",
            got["error"]
        );
        let got = &got["families"];
        assert_eq!(
            normalized(got),
            normalized(want),
            "parsed != model\nprogram: {program}\noutput:\n{body}"
        );
        exemplars += body.matches(" # {").count();
    }
    assert!(exemplars > 100, "only {exemplars} exemplars parsed");
}

fn quoted_exemplar(program: &Value) -> bool {
    program["ops"].as_array().unwrap().iter().any(|op| {
        op["exemplar"]
            .as_object()
            .is_some_and(|m| m.values().any(|v| v.as_str().unwrap().contains('"')))
    })
}

/// What prometheus_client's parser should make of the model's OpenMetrics
/// exposition (see `tests/oracle/om_parse.py`), values as numbers.
fn model_parsed(fams: &[Fam]) -> Value {
    let labels = |f: &Fam, values: &[String], le: Option<String>| {
        let mut m: serde_json::Map<String, Value> = f
            .labels
            .iter()
            .zip(values)
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        if let Some(le) = le {
            m.insert("le".into(), json!(le));
        }
        Value::Object(m)
    };
    let exemplar = |e: &Option<Ex>| match e {
        Some((pairs, v)) => json!({"labels": exemplar_json(pairs), "value": v}),
        None => Value::Null,
    };
    let sample = |name: String, labels: Value, value: f64, ex: Value| json!({"name": name, "labels": labels, "value": value, "exemplar": ex});
    let families: Vec<Value> = fams
        .iter()
        .map(|f| {
            let mut samples = Vec::new();
            for (values, state) in &f.series {
                match state {
                    State::Counter(c, e) => samples.push(sample(
                        format!("{}_total", f.name),
                        labels(f, values, None),
                        *c as f64,
                        exemplar(e),
                    )),
                    State::Gauge(g) => samples.push(sample(
                        f.name.clone(),
                        labels(f, values, None),
                        *g,
                        Value::Null,
                    )),
                    State::Histogram {
                        buckets,
                        sum,
                        exemplars,
                    } => {
                        let mut acc = 0;
                        for (i, c) in buckets.iter().enumerate() {
                            acc += c;
                            let le = f.bounds.get(i).map_or("+Inf", |&b| BOUNDS[b].1);
                            samples.push(sample(
                                format!("{}_bucket", f.name),
                                labels(f, values, Some(canonical(le))),
                                acc as f64,
                                exemplar(&exemplars[i]),
                            ));
                        }
                        if f.bounds.first().is_some_and(|&b| BOUNDS[b].0 < 0.0) {
                            continue;
                        }
                        let l = labels(f, values, None);
                        samples.push(sample(
                            format!("{}_sum", f.name),
                            l.clone(),
                            *sum,
                            Value::Null,
                        ));
                        samples.push(sample(
                            format!("{}_count", f.name),
                            l,
                            acc as f64,
                            Value::Null,
                        ));
                    }
                }
            }
            json!({
                "name": f.name,
                "type": format!("{:?}", f.kind).to_lowercase(),
                "help": f.help,
                "unit": "",
                "samples": samples,
            })
        })
        .collect();
    Value::Array(families)
}

/// Values (numbers, or Python's repr of a float) as the bits of the `f64`,
/// so both sides compare exactly.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("value", Value::String(s)) => json!(s.parse::<f64>().unwrap().to_bits()),
                        ("value", Value::Number(n)) => json!(n.as_f64().unwrap().to_bits()),
                        _ => normalized(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        v => v.clone(),
    }
}

/// Mutations that make a valid program bad, each with a word its error
/// message must contain.
fn break_program(rng: &mut Rng, p: &mut Value) -> &'static str {
    let fams = p["families"].as_array().unwrap().len();
    let with_labels: Vec<usize> = (0..fams)
        .filter(|&i| !p["families"][i]["labels"].as_array().unwrap().is_empty())
        .collect();
    let histograms: Vec<usize> = (0..fams)
        .filter(|&i| p["families"][i]["type"] == "histogram")
        .collect();
    let mut choice = rng.usize(..13);
    loop {
        match choice {
            0 => {
                p["families"][rng.usize(..fams)]["name"] =
                    json!(["9lives", "a-b", "", "é"][rng.usize(..4)]);
                return "name";
            }
            1 if !with_labels.is_empty() => {
                p["families"][with_labels[0]]["labels"][0] =
                    json!(["__reserved", "1x", "a.b"][rng.usize(..3)]);
                return "label name";
            }
            2 if !histograms.is_empty() => {
                p["families"][histograms[0]]["labels"] = json!(["le"]);
                return "reserved";
            }
            3 => {
                let first = p["families"][0].clone();
                p["families"].as_array_mut().unwrap().push(first);
                return "already registered";
            }
            4 => {
                p["ops"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"family": 0, "labels": vec!["x"; 5], "inc": 1}));
                return "label values";
            }
            5 => {
                p["families"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "neg", "type": "counter", "labels": []}));
                p["ops"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"family": fams, "labels": [], "inc": -1}));
                return "negative";
            }
            6 => {
                p["families"].as_array_mut().unwrap().push(
                    json!({"name": "h_bad", "type": "histogram", "labels": [], "buckets": [1, 1]}),
                );
                return "buckets";
            }
            7 => {
                p["ops"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"family": fams + 3, "labels": [], "inc": 1}));
                return "no family";
            }
            8 => {
                p["families"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "nolabels", "type": "gauge", "labels": []}));
                p["ops"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"family": fams, "labels": [], "remove": true}));
                return "without labels";
            }
            9 => {
                p["families"][rng.usize(..fams)]["colour"] = json!("red");
                return "unknown field";
            }
            10 => {
                if let Some(op) = p["ops"].as_array_mut().unwrap().first_mut() {
                    op["bogus"] = json!(1);
                    return "unknown field";
                }
                choice = 0;
            }
            11 => {
                // A bad exemplar on an inc: too long by one character, a
                // bad label name, or a value that is not a string.
                p["families"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "ex", "type": "counter", "labels": []}));
                let (exemplar, word) = [
                    (json!({"trace_id": "é".repeat(121)}), "129 characters"),
                    (
                        json!({"trace_id": "a", "span_id": "b".repeat(113)}),
                        "129 characters",
                    ),
                    (json!({"1trace": "a"}), "exemplar label name"),
                    (json!({"trace_id": 7}), "string"),
                ][rng.usize(..4)]
                .clone();
                p["ops"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"family": fams, "labels": [], "inc": 1, "exemplar": exemplar}));
                return word;
            }
            12 => {
                p["families"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "g_ex", "type": "gauge", "labels": []}));
                p["ops"].as_array_mut().unwrap().push(
                    json!({"family": fams, "labels": [], "set": 1, "exemplar": {"trace_id": "a"}}),
                );
                return "exemplar goes only";
            }
            _ => choice = (choice + 1) % 13,
        }
    }
}

#[test]
fn bad_programs_fail_cleanly() {
    let mut rng = Rng::with_seed(0xbad);
    for _ in 0..200 {
        let (mut program, _) = random_program(&mut rng);
        let word = break_program(&mut rng, &mut program);
        let format = if rng.bool() {
            Format::Text
        } else {
            Format::OpenMetrics
        };
        let r = run(&program, format);
        assert_ne!(r.code, 0, "accepted a bad program ({word}): {program}");
        assert_eq!(r.stdout, "", "wrote output for a bad program: {program}");
        assert!(
            r.stderr.ends_with('\n') && r.stderr.matches('\n').count() == 1,
            "not one line: {:?}",
            r.stderr
        );
        assert!(
            r.stderr.contains(word),
            "{:?} does not say {word:?}",
            r.stderr
        );
    }
    for bad in ["", "{", "[]", "{\"families\": []} x"] {
        let r = Command::new(driver())
            .args(["--format", "text"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(bad.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(!r.status.success() && r.stdout.is_empty(), "{bad:?}");
    }
}
