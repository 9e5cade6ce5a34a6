//! Every golden case of `tests/golden/` (copied from `shared/golden/`) through
//! the code path of `examples/render`, compared byte for byte; `_sum` values
//! may differ from the reference's float accumulation by a relative 1e-9.

use std::path::Path;

use rm_metrics::spec::render_json;

fn golden_cases() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let json = std::fs::read(&p).unwrap();
            let prom = std::fs::read(p.with_extension("prom")).unwrap();
            (name, json, prom)
        })
        .collect();
    cases.sort();
    cases
}

/// Compares two expositions line by line; only `_sum` lines get a tolerance.
fn assert_matches(case: &str, got: &[u8], want: &[u8]) {
    let got = std::str::from_utf8(got).expect("output is UTF-8");
    let want = std::str::from_utf8(want).expect("golden is UTF-8");
    let (g, w): (Vec<_>, Vec<_>) = (got.split('\n').collect(), want.split('\n').collect());
    assert_eq!(g.len(), w.len(), "{case}: line count");
    for (n, (gl, wl)) in g.iter().zip(&w).enumerate() {
        if gl == wl {
            continue;
        }
        let (gk, gv) = gl.rsplit_once(' ').unwrap();
        let (wk, wv) = wl.rsplit_once(' ').unwrap();
        assert!(
            gk == wk && gk.starts_with("rm_job_duration_seconds_sum{"),
            "{case}:{}: got {gl:?}, want {wl:?}",
            n + 1
        );
        let (gv, wv): (f64, f64) = (gv.parse().unwrap(), wv.parse().unwrap());
        assert!(
            ((gv - wv) / wv).abs() <= 1e-9,
            "{case}:{}: _sum {gv} not within 1e-9 of {wv}",
            n + 1
        );
    }
}

#[test]
fn all_seven_golden_cases_match() {
    let cases = golden_cases();
    assert_eq!(cases.len(), 7, "golden cases found");
    for (name, json, prom) in &cases {
        let got = render_json(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_matches(name, &got, prom);
    }
}

#[test]
fn sum_of_case_04_is_exact_not_float_accumulated() {
    let (_, json, _) = golden_cases()
        .into_iter()
        .find(|c| c.0.starts_with("04"))
        .unwrap();
    let got = String::from_utf8(render_json(&json).unwrap()).unwrap();
    // The reference prints 4.499999999999999e-08 (float accumulation of 45 ns).
    assert!(
        got.contains("rm_job_duration_seconds_sum{kind=\"unlock\",status=\"succeeded\"} 4.5e-08\n")
    );
}

#[test]
fn bad_specs_are_one_line_errors() {
    let base = r#"{"hosts": [HOSTS], "alerts_by_severity": {}, "build_version": "", "build_commit": "", "go_version": "", "jobs": []}"#;
    let host = |id: &str, count: &str| {
        format!(
            r#"{{"id": "{id}", "name": "n", "online": true, "snapshot_count": {count}, "open_alert_count": 0, "repo_status": ""}}"#
        )
    };
    let cases = [
        ("not json", "{".to_string()),
        (
            "unknown field",
            base.replace("\"jobs\"", "\"extra\": 1, \"jobs\""),
        ),
        ("missing field", base.replace(r#", "go_version": """#, "")),
        ("negative count", base.replace("HOSTS", &host("a", "-1"))),
        (
            "duplicate host id",
            base.replace("HOSTS", &format!("{},{}", host("a", "1"), host("a", "2"))),
        ),
    ];
    for (what, input) in cases {
        let err = render_json(input.as_bytes()).expect_err(what).to_string();
        assert!(!err.contains('\n'), "{what}: {err:?} is not one line");
        eprintln!("{what}: {err}");
    }
    assert!(render_json(base.replace("HOSTS", &host("a", "1")).as_bytes()).is_ok());
}
