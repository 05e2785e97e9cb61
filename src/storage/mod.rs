//! Storage: everything that touches disk.
//!
//! Owns: the [`store::Store`] boundary (sled, memory, files only), muster's own files beside
//! the engine (the derived-state file and its blocks, the vault, the old names file, the
//! head anchor), the lock.
//! Must not: decide what to record or fold commits; it stores and reads what it is handed.

pub mod anchor;
pub mod block;
pub mod derived;
pub mod files;
pub mod memory;
pub mod names;
pub mod sled;
pub mod store;
pub mod vault;
