//! Queries: answers computed from the ledger's states and log.
//!
//! Owns: members and groups on a date, history, as-of resolution, changes in a range,
//! corrections, span export, the rows of a chart, and listing and finding groups and
//! members (with suggestions for an unknown id).
//! Must not: write anything, or format output (that is the binary's `cli/render`).

pub mod audit;
pub mod chart;
pub mod find;
pub mod membership;
pub mod nesting;
pub mod resolved_history;
pub mod spans;
