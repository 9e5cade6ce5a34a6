//! The families driver (`../shared/FAMILIES.md`): reads one program (JSON)
//! on stdin, registers its families on a fresh [`Registry`] through the
//! public API, applies its operations in order, and writes the exposition.
//!
//! ```text
//! cargo run -q --example families -- --format text < program.json
//! cargo run -q --example families -- --format openmetrics < program.json
//! ```
//!
//! A bad program (invalid names, wrong label counts, a negative `inc`, …)
//! exits with status 2 and one line on stderr, writing nothing to stdout.
//! A family may have at most 32 labels here (the API has no limit; the
//! driver picks the arity `N` of `Family<M, N>` from a fixed list).

use std::fmt;
use std::io::{Read, Write};
use std::process::ExitCode;

use rm_metrics::{
    Counter, Exemplar, Family, Gauge, Histogram, OpenMetricsEncoder, Opts, RegisterError, Registry,
    TextEncoder, DEFAULT_BUCKETS,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Program {
    families: Vec<FamilySpec>,
    #[serde(default)]
    ops: Vec<Op>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilySpec {
    name: String,
    #[serde(default)]
    help: String,
    #[serde(rename = "type")]
    kind: KindSpec,
    #[serde(default)]
    labels: Vec<String>,
    buckets: Option<Vec<f64>>,
    max_series: Option<usize>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum KindSpec {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Op {
    family: usize,
    #[serde(default)]
    labels: Vec<String>,
    inc: Option<serde_json::Number>,
    set: Option<f64>,
    add: Option<f64>,
    observe: Option<f64>,
    remove: Option<bool>,
    exemplar: Option<Pairs>,
}

/// A JSON object of strings, its pairs in the order written (duplicates
/// kept, for the library to refuse).
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(PairsVisitor)
    }
}

/// What an op does, checked.
enum Action<'a> {
    Inc(u64, Option<Exemplar<'a>>),
    Set(f64),
    Add(f64),
    Observe(f64, Option<Exemplar<'a>>),
    Remove,
}

/// A registered family of any kind and arity.
trait AnyFamily {
    fn apply(&self, values: &[String], action: &Action<'_>) -> Result<(), String>;
}

fn values<const N: usize>(given: &[String]) -> Result<[&str; N], String> {
    let mut out = [""; N];
    if given.len() != N {
        return Err(format!("{} label values for {N} labels", given.len()));
    }
    for (o, v) in out.iter_mut().zip(given) {
        *o = v;
    }
    Ok(out)
}

impl<const N: usize> AnyFamily for Family<Counter, N> {
    fn apply(&self, given: &[String], action: &Action<'_>) -> Result<(), String> {
        let v = values::<N>(given)?;
        match action {
            Action::Inc(n, None) => self.inc_by(v, *n),
            Action::Inc(n, Some(e)) => self.inc_by_with_exemplar(v, *n, e),
            Action::Remove => {
                self.remove(v);
            }
            _ => return Err("a counter takes only inc and remove".into()),
        }
        Ok(())
    }
}

impl<const N: usize> AnyFamily for Family<Gauge, N> {
    fn apply(&self, given: &[String], action: &Action<'_>) -> Result<(), String> {
        let v = values::<N>(given)?;
        match *action {
            Action::Set(x) => self.set(v, x),
            Action::Add(x) => self.add(v, x),
            Action::Remove => {
                self.remove(v);
            }
            _ => return Err("a gauge takes only set, add and remove".into()),
        }
        Ok(())
    }
}

impl<const N: usize> AnyFamily for Family<Histogram, N> {
    fn apply(&self, given: &[String], action: &Action<'_>) -> Result<(), String> {
        let v = values::<N>(given)?;
        match action {
            Action::Observe(x, None) => self.observe(v, *x),
            Action::Observe(x, Some(e)) => self.observe_with_exemplar(v, *x, e),
            Action::Remove => {
                self.remove(v);
            }
            _ => return Err("a histogram takes only observe and remove".into()),
        }
        Ok(())
    }
}

fn register<const N: usize>(
    registry: &Registry,
    spec: &FamilySpec,
) -> Result<Box<dyn AnyFamily>, RegisterError> {
    let mut labels = [""; N];
    for (l, name) in labels.iter_mut().zip(&spec.labels) {
        *l = name;
    }
    let mut opts = Opts::new(&spec.name, &spec.help);
    if let Some(max) = spec.max_series {
        opts = opts.max_series(max);
    }
    Ok(match spec.kind {
        KindSpec::Counter => Box::new(registry.counter(opts, labels)?),
        KindSpec::Gauge => Box::new(registry.gauge(opts, labels)?),
        KindSpec::Histogram => {
            let buckets = spec.buckets.as_deref().unwrap_or(&DEFAULT_BUCKETS);
            Box::new(registry.histogram(opts, labels, buckets)?)
        }
    })
}

macro_rules! register_any {
    ($registry:expr, $spec:expr, $($n:literal)*) => {
        match $spec.labels.len() {
            $($n => register::<$n>($registry, $spec).map_err(|e| e.to_string()),)*
            n => Err(format!("{n} labels: this driver takes at most 32")),
        }
    };
}

fn action<'a>(op: &Op, exemplar: Option<Exemplar<'a>>) -> Result<Action<'a>, String> {
    let mut actions = Vec::new();
    if let Some(n) = &op.inc {
        actions.push(match n.as_u64() {
            Some(n) => Action::Inc(n, exemplar),
            None if n.as_i64().is_some() || n.as_f64().is_some_and(|f| f < 0.0) => {
                return Err(format!("negative inc {n}"));
            }
            None => return Err(format!("inc {n} is not a non-negative integer")),
        });
    }
    if let Some(x) = op.set {
        actions.push(Action::Set(x));
    }
    if let Some(x) = op.add {
        actions.push(Action::Add(x));
    }
    if let Some(x) = op.observe {
        if !(x.is_finite() && x >= 0.0) {
            return Err(format!("observe {x}: must be finite and at least 0"));
        }
        actions.push(Action::Observe(x, exemplar));
    }
    match op.remove {
        Some(true) => actions.push(Action::Remove),
        Some(false) => return Err("remove must be true".into()),
        None => {}
    }
    if op.exemplar.is_some()
        && !matches!(actions.first(), Some(Action::Inc(..) | Action::Observe(..)))
    {
        return Err("an exemplar goes only with inc or observe".into());
    }
    match actions.len() {
        1 => Ok(actions.pop().expect("one action")),
        0 => Err("no action (inc, set, add, observe or remove)".into()),
        _ => Err("more than one action".into()),
    }
}

fn run(input: &[u8], format: Format) -> Result<Vec<u8>, String> {
    let program: Program = serde_json::from_slice(input).map_err(|e| e.to_string())?;
    let registry = Registry::new();
    let mut families = Vec::with_capacity(program.families.len());
    for (i, spec) in program.families.iter().enumerate() {
        if spec.kind != KindSpec::Histogram && spec.buckets.is_some() {
            return Err(format!("family {i}: buckets on a {:?} family", spec.kind));
        }
        let family = register_any!(&registry, spec,
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
            17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32)
        .map_err(|e| format!("family {i}: {e}"))?;
        families.push((family, spec));
    }
    for (i, op) in program.ops.iter().enumerate() {
        let (family, spec) = families
            .get(op.family)
            .ok_or_else(|| format!("op {i}: no family {}", op.family))?;
        let pairs: Vec<(&str, &str)> = op
            .exemplar
            .iter()
            .flat_map(|p| &p.0)
            .map(|(n, v)| (&**n, &**v))
            .collect();
        let exemplar = match op.exemplar {
            Some(_) => Some(Exemplar::new(&pairs).map_err(|e| format!("op {i}: {e}"))?),
            None => None,
        };
        let action = action(op, exemplar).map_err(|e| format!("op {i}: {e}"))?;
        if matches!(action, Action::Remove) && spec.labels.is_empty() {
            return Err(format!(
                "op {i}: remove on {:?}, a family without labels",
                spec.name
            ));
        }
        family
            .apply(&op.labels, &action)
            .map_err(|e| format!("op {i} on {:?}: {e}", spec.name))?;
    }
    Ok(match format {
        Format::Text => TextEncoder::new().encode(&registry).to_vec(),
        Format::OpenMetrics => OpenMetricsEncoder::new().encode(&registry).to_vec(),
    })
}

#[derive(Clone, Copy)]
enum Format {
    Text,
    OpenMetrics,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let format = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--format", "text"] => Format::Text,
        ["--format", "openmetrics"] => Format::OpenMetrics,
        _ => {
            eprintln!("families: usage: families [--format text|openmetrics] < program.json");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("families: reading stdin: {e}");
        return ExitCode::from(2);
    }
    match run(&input, format) {
        Ok(body) => match std::io::stdout().lock().write_all(&body) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("families: writing stdout: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            // One line, whatever the message quotes.
            eprintln!("families: {}", e.replace('\n', "\\n"));
            ExitCode::from(2)
        }
    }
}
