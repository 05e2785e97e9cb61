//! The command line's own modules: the grammar, running a command, rendering answers,
//! writing output, drawing charts, the demo, completions and the manual page, the progress bar and the benchmark's memory
//! report.
//! Must not: decide anything about the ledger; they parse, call the library and present
//! what it answers.

pub mod args;
pub mod chart;
pub mod demo;
pub mod manual;
pub mod output;
pub mod peak_memory;
pub mod progress_bar;
pub mod render;
pub mod run;
