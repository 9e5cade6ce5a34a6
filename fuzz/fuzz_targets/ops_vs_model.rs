//! Fuzz target: see `fuzz/checks.rs`, `ops_vs_model`.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::ops_vs_model(data));
