//! Fuzz target: see `fuzz/checks.rs`, `family_ops`.
#![no_main]

#[path = "../checks.rs"]
mod checks;
#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::family_ops(data));
