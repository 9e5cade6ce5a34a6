//! Fuzz target: see `fuzz/protobuf_check.rs`.
#![no_main]

#[path = "../protobuf_check.rs"]
mod check;
#[path = "../../tests/common/proto.rs"]
mod proto;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::protobuf(data));
