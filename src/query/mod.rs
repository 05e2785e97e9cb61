//! Queries: answers computed from the ledger's states and log.
//!
//! Owns: members and groups on a date, history, as-of resolution, changes in a range,
//! corrections, span export, and the rows of a chart.
//! Must not: write anything, or format output (that is the binary's `cli/render`).

pub mod audit;
pub mod chart;
pub mod membership;
pub mod spans;
