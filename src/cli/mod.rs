//! The command line's own modules: rendering answers, drawing charts, the demo.
//! Must not: decide anything about the ledger; they only present what the library answers.

pub mod chart;
pub mod demo;
pub mod render;
