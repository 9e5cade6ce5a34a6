//! Fuzz target: see `fuzz/checks.rs`, `spec_json`.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::spec_json(data));
