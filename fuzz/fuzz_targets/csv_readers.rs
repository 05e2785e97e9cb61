//! cargo-fuzz target `csv_readers`: the body is `muster::fuzzing::csv_readers`, which the stable smoke
//! runner (`scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::fuzzing::csv_readers(data));
