//! Replays the checked-in fuzz corpora (`fuzz/corpus/<target>/`) through the
//! fuzz targets' own checks, so `cargo test` catches regressions without
//! the fuzzer.

#[path = "../fuzz/checks.rs"]
mod checks;
mod common;
#[path = "common/proto.rs"]
mod proto;
#[path = "../fuzz/protobuf_check.rs"]
mod protobuf_check;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(
            result.is_ok(),
            "{target}: corpus entry {} fails",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 8, "{target}: only {n} corpus entries");
    println!("{target}: {n} corpus entries replayed");
}

#[test]
fn render_parse_corpus() {
    replay("render_parse", checks::render_parse);
}

#[test]
fn ops_vs_model_corpus() {
    replay("ops_vs_model", checks::ops_vs_model);
}

#[test]
fn spec_json_corpus() {
    replay("spec_json", checks::spec_json);
}

#[test]
fn render_reuse_corpus() {
    replay("render_reuse", checks::render_reuse);
}

#[test]
fn exemplar_corpus() {
    replay("exemplar", checks::exemplar);
}

#[test]
fn protobuf_corpus() {
    replay("protobuf", protobuf_check::protobuf);
}

#[test]
fn family_ops_corpus() {
    replay("family_ops", checks::family_ops);
}
