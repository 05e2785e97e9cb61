//! The integration tests: one binary, one module per boundary.

mod audit;
mod cli;
mod model;
mod sb;
mod storage;
mod support;
