//! cargo-fuzz target `stored_files`: the body is `muster::testing::fuzz::stored_files`, which the stable
//! smoke runner (`tests/it/fuzz_smoke.rs`, `scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::testing::fuzz::stored_files(data));
