//! cargo-fuzz target `model`: the body is `muster::fuzzing::model`, which the stable smoke
//! runner (`scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::fuzzing::model(data));
