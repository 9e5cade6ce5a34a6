//! Fuzz target: see `fuzz/checks.rs`, `render_parse`.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::render_parse(data));
