//! The integration tests: one binary, one module per boundary.

mod audit;
mod cli;
mod model;
mod storage;
mod support;
