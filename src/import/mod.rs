//! Readers: input files in, statements out.
//!
//! Owns: reading files through a byte limit, decoding text, CSV tables with columns found
//! by header name, and the readers for every input kind (observations, facts, spans,
//! names, SchoolBase exports). Every refusal names file, line and column.
//! Must not: open or consult the ledger, or decide what to record (that is `plan`).

pub mod names;
pub mod nesting;
pub mod portable;
pub mod sb;
pub mod spans;
pub mod statements;
pub mod table;
pub mod text;
