//! A strict parser of the text exposition format (0.0.4) as this crate
//! writes it, for tests and fuzz targets: every line must be a HELP, a TYPE
//! or a sample; label values must use only the three escapes the format
//! defines; histogram series must be self-consistent.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Parses `{a="x",b="y"}` at the start of `s`; returns labels and the rest.
/// Label pairs in order of appearance.
pub type Labels = Vec<(String, String)>;

fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    let mut labels = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        if !labels.is_empty() {
            rest = rest
                .strip_prefix(',')
                .ok_or_else(|| format!("expected , or }} at {rest:?}"))?;
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value must be quoted")?;
        // Copy runs of plain bytes whole; only `"`, `\\` and a line feed
        // need a look (all ASCII, so runs end on character boundaries).
        let bytes = rest.as_bytes();
        let mut value = String::new();
        let mut i = 0;
        let end = loop {
            let run = bytes[i..]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
                .ok_or("unterminated label value")?;
            value.push_str(&rest[i..i + run]);
            i += run;
            match bytes[i] {
                b'"' => break i,
                b'\\' => {
                    value.push(match bytes.get(i + 1) {
                        Some(b'\\') => '\\',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        other => {
                            return Err(format!("invalid escape {:?}", other.map(|&b| b as char)))
                        }
                    });
                    i += 2;
                }
                _ => return Err("raw newline in label value".into()),
            }
        };
        labels.push((name.to_owned(), value));
        rest = &rest[end + 1..];
    }
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s
            .parse::<f64>()
            .map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// Parses a whole exposition; checks that every sample belongs to the family
/// of the TYPE line before it.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let body = text
        .strip_suffix('\n')
        .ok_or("exposition must end with a newline")?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut family: Option<(String, String)> = None; // (name, type)
    let mut samples = Vec::new();
    for (n, line) in body.split('\n').enumerate() {
        let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            if !is_name(name) {
                return Err(err("bad HELP name".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or_else(|| err("bad TYPE".into()))?;
            if !is_name(name)
                || !["gauge", "counter", "histogram", "summary", "untyped"].contains(&kind)
            {
                return Err(err("bad TYPE".into()));
            }
            family = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with('#') {
            return Err(err("unexpected comment".into()));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name) {
            return Err(err(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(err)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let value = parse_value(
            rest.strip_prefix(' ')
                .ok_or_else(|| err("expected space".into()))?,
        )
        .map_err(err)?;
        let (fam, kind) = family
            .as_ref()
            .ok_or_else(|| err("sample before TYPE".into()))?;
        let belongs = name == fam
            || (kind == "histogram"
                && name
                    .strip_prefix(fam.as_str())
                    .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix)));
        if !belongs {
            return Err(err(format!("sample outside its family {fam}")));
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// Per (kind, status): cumulative buckets in order, sum, count.
pub type Histograms = BTreeMap<(String, String), (Vec<f64>, f64, f64)>;

/// Collects `rm_job_duration_seconds` and checks each series: ten buckets in
/// ladder order, non-decreasing, `+Inf` == `_count`.
pub fn histograms(samples: &[Sample]) -> Result<Histograms, String> {
    const LE: [&str; 10] = [
        "1", "5", "30", "60", "300", "1800", "3600", "21600", "86400", "+Inf",
    ];
    let mut out: Histograms = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name.starts_with("rm_job_duration_seconds"))
    {
        let key = (
            s.label("kind").ok_or("no kind")?.to_owned(),
            s.label("status").ok_or("no status")?.to_owned(),
        );
        let e = out.entry(key.clone()).or_default();
        match s.name.as_str() {
            "rm_job_duration_seconds_bucket" => {
                let le = s.label("le").ok_or("no le")?;
                if LE.get(e.0.len()) != Some(&le) {
                    return Err(format!("{key:?}: bucket le={le} out of order"));
                }
                if e.0.last().is_some_and(|&prev| prev > s.value) {
                    return Err(format!("{key:?}: cumulative count decreases at le={le}"));
                }
                e.0.push(s.value);
            }
            "rm_job_duration_seconds_sum" => e.1 = s.value,
            "rm_job_duration_seconds_count" => e.2 = s.value,
            other => return Err(format!("unexpected {other}")),
        }
    }
    for (key, (buckets, _, count)) in &out {
        if buckets.len() != 10 || buckets[9] != *count {
            return Err(format!(
                "{key:?}: {} buckets, +Inf {:?} vs count {count}",
                buckets.len(),
                buckets.last()
            ));
        }
    }
    Ok(out)
}
