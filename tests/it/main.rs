//! The integration tests: one binary, one module per boundary.

mod bad_input;
mod cli;
mod concurrency;
mod corruption;
mod crash;
mod fuzz_smoke;
mod model;
mod portable;
mod storage;
mod support;
