//! cargo-fuzz target `commit_decode`: the body is `muster::testing::fuzz::commit_decode`, which the stable
//! smoke runner (`tests/it/fuzz_smoke.rs`, `scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::testing::fuzz::commit_decode(data));
