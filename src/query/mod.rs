//! Queries: answers computed from the ledger's derived state and log.
//!
//! Owns: as-of resolution, changes in a range, corrections, span export.
//! Must not: write anything.

pub mod audit;
pub mod chart;
