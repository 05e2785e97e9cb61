//! cargo-fuzz target `csv_readers`: the body is `muster::testing::fuzz::csv_readers`, which the stable
//! smoke runner (`tests/it/fuzz_smoke.rs`, `scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::testing::fuzz::csv_readers(data));
