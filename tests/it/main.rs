//! The integration tests: one binary, one module per boundary.

mod cli;
mod model;
mod storage;
mod support;
