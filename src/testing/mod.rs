//! Test support shared by the integration tests (`tests/it/`) and the cargo-fuzz crate
//! (`fuzz/`), so that both check muster against the same things.
//!
//! Owns: the fuzz target bodies ([`fuzz`]).
//! Must not: be used by the ledger or the CLI; it is hidden from the docs and is not part
//! of muster's interface.

pub mod fuzz;
