//! Fuzz target: see `fuzz/checks.rs`, `ops_vs_model`.
#![no_main]

#[path = "../checks.rs"]
mod checks;
#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::ops_vs_model(data));
