//! The integration tests: one binary, one module per boundary.

mod sb;
mod support;
