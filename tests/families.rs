//! `examples/families` against a model: random programs (`../shared/FAMILIES.md`)
//! run through the driver, and the output compared line by line with what
//! an independent model of the contract expects; bad programs must exit
//! non-zero with one line on stderr and nothing on stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use fastrand::Rng;
use serde_json::{json, Value};

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

fn run(program: &Value) -> Run {
    let mut child = Command::new(driver())
        .args(["--format", "text"])
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

#[derive(Clone, Debug)]
enum State {
    Counter(u64),
    Gauge(f64),
    Histogram { buckets: Vec<u64>, sum: f64 },
}

const OVERFLOW: &str = "__overflow__";

impl Fam {
    fn zero(&self) -> State {
        match self.kind {
            Kind::Counter => State::Counter(0),
            Kind::Gauge => State::Gauge(0.0),
            Kind::Histogram => State::Histogram {
                buckets: vec![0; self.bounds.len() + 1],
                sum: 0.0,
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

/// The model's exposition: exact lines, or (prefix, value) samples.
fn expected(fams: &[Fam]) -> Vec<(String, Option<Expect>)> {
    let mut out = Vec::new();
    for f in fams {
        let name = match f.kind {
            Kind::Counter => format!("{}_total", f.name),
            _ => f.name.clone(),
        };
        let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        out.push((format!("# HELP {name} {help}"), None));
        let kind = format!("{:?}", f.kind).to_lowercase();
        out.push((format!("# TYPE {name} {kind}"), None));
        for (values, state) in &f.series {
            let p = pairs(f, values);
            match state {
                State::Counter(c) => {
                    out.push((format!("{name}{}", braces(&p)), Some(Expect::Int(*c))))
                }
                State::Gauge(g) => {
                    out.push((format!("{name}{}", braces(&p)), Some(Expect::Float(*g))))
                }
                State::Histogram { buckets, sum } => {
                    let mut acc = 0;
                    let sep = if p.is_empty() { "" } else { "," };
                    for (i, c) in buckets.iter().enumerate() {
                        acc += c;
                        let le = f.bounds.get(i).map_or("+Inf", |&b| BOUNDS[b].1);
                        out.push((
                            format!("{name}_bucket{{{p}{sep}le=\"{le}\"}}"),
                            Some(Expect::Int(acc)),
                        ));
                    }
                    out.push((
                        format!("{name}_sum{}", braces(&p)),
                        Some(Expect::Float(*sum)),
                    ));
                    out.push((
                        format!("{name}_count{}", braces(&p)),
                        Some(Expect::Int(acc)),
                    ));
                }
            }
        }
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

fn compare(actual: &str, want: &[(String, Option<Expect>)], program: &Value) {
    let lines: Vec<&str> = actual.lines().collect();
    assert!(actual.is_empty() || actual.ends_with('\n'));
    let ctx = || format!("\nprogram: {program}\noutput:\n{actual}");
    assert_eq!(lines.len(), want.len(), "line count{}", ctx());
    for (line, (prefix, value)) in lines.iter().zip(want) {
        match value {
            None => assert_eq!(line, prefix, "{}", ctx()),
            Some(v) => {
                let (p, text) = line.rsplit_once(' ').unwrap();
                assert_eq!(p, prefix, "{}", ctx());
                match v {
                    Expect::Int(i) => assert_eq!(text, i.to_string(), "{line}{}", ctx()),
                    Expect::Float(f) => check_float(text, *f, line),
                }
            }
        }
    }
}

// ---- random programs ------------------------------------------------------

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
                if let State::Counter(c) = f.series(&values) {
                    *c += n;
                }
                ops.push(json!({"family": fi, "labels": values, "inc": n}));
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
                if let State::Histogram { buckets, sum } = f.series(&values) {
                    buckets[bucket] += 1;
                    *sum += x;
                }
                let mut op = json!({"family": fi, "labels": values, "observe": x});
                if rng.usize(..4) == 0 {
                    op["exemplar"] = json!({"trace_id": "4bf92f35"});
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
    let r = run(&program);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        "# HELP http_requests_total Requests served.\n\
         # TYPE http_requests_total counter\n\
         # HELP queue_depth Jobs waiting.\n\
         # TYPE queue_depth gauge\n\
         queue_depth -1.5\n\
         # HELP latency_seconds Request latency.\n\
         # TYPE latency_seconds histogram\n\
         latency_seconds_bucket{route=\"/a\",le=\"0.005\"} 0\n\
         latency_seconds_bucket{route=\"/a\",le=\"0.05\"} 1\n\
         latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n\
         latency_seconds_bucket{route=\"/a\",le=\"5\"} 2\n\
         latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n\
         latency_seconds_sum{route=\"/a\"} 0.34199999999999997\n\
         latency_seconds_count{route=\"/a\"} 2\n"
    );
}

#[test]
fn random_programs_match_the_model() {
    let mut rng = Rng::with_seed(0xfa3);
    for _ in 0..250 {
        let (program, fams) = random_program(&mut rng);
        let r = run(&program);
        assert_eq!(r.code, 0, "{}\nprogram: {program}", r.stderr);
        assert_eq!(r.stderr, "");
        compare(&r.stdout, &expected(&fams), &program);
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
    let mut choice = rng.usize(..11);
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
            _ => choice = (choice + 1) % 11,
        }
    }
}

#[test]
fn bad_programs_fail_cleanly() {
    let mut rng = Rng::with_seed(0xbad);
    for _ in 0..150 {
        let (mut program, _) = random_program(&mut rng);
        let word = break_program(&mut rng, &mut program);
        let r = run(&program);
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
