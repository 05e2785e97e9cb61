//! cargo-fuzz target `stored_files`: the body is `muster::fuzzing::stored_files`, which the stable smoke
//! runner (`scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::fuzzing::stored_files(data));
