//! The log: what a commit is and how its bytes look.
//!
//! Owns: [`commit::Commit`] and its body versions, the checks run before encoding and after
//! decoding, the sealed envelope every stored value uses, the SHA-256 hash chain, and the
//! portable JSON-lines format.
//! Must not: touch disk, or know about derived state.

pub mod commit;
pub mod hash;
pub mod head;
pub mod personal;
pub mod portable;
pub mod seal;
pub mod source;
