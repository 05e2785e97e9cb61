//! cargo-fuzz target `commit_decode`: the body is `muster::fuzzing::commit_decode`, which the stable smoke
//! runner (`scripts/fuzz-smoke`) also calls.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster::fuzzing::commit_decode(data));
