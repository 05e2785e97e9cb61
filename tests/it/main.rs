//! The integration tests: one binary, one module per boundary.

mod audit;
mod bad_input;
mod bench_peer;
mod chart;
mod cli;
mod concurrency;
mod corruption;
mod crash;
mod disk_full;
mod finding;
mod fuzz_smoke;
mod input_matrix;
mod model;
mod nesting;
mod outcomes;
mod output;
mod personal;
mod portable;
mod sb;
mod storage;
mod support;
mod sync;
