//! Commit body version 1: bincode 2 over serde (big-endian, fixed-width integers), each
//! fact naming its member in full.
//!
//! Owns: turning a [`Commit`] into version-1 body bytes and back. New commits are never
//! written in this version; it is kept so that every version-1 commit already in a log
//! decodes, and re-encodes to exactly its stored bytes (its hash is in the chain).
//! Must not: change a single byte of what it writes (every stored version-1 commit depends
//! on it), touch the envelope or the hash, or skip [`Commit::check`] (the caller runs it).

use super::{Commit, COMMIT_VERSION_1};
use crate::error::{Error, Result};
use crate::model::MAX_BODY_BYTES;

/// The version a commit decoded through serde has: serde only ever reads version 1.
pub(super) fn version() -> u16 {
    COMMIT_VERSION_1
}

pub(super) fn encode(commit: &Commit) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(commit, body_config())
        .map_err(|error| Error::corrupt(format!("commit {}: cannot encode: {error}", commit.seq)))
}

/// Decodes a whole body; bytes left over are damage.
pub(super) fn decode(body: &[u8]) -> Result<Commit> {
    let (commit, used): (Commit, usize) = bincode::serde::decode_from_slice(body, body_config())
        .map_err(|error| Error::corrupt(format!("commit body does not decode: {error}")))?;
    if used != body.len() {
        return Err(Error::corrupt("commit body has trailing bytes"));
    }
    Ok(commit)
}

/// bincode settings for commit body version 1, the one bincode body:
/// big-endian, fixed-width integers, and a cap on what a length prefix may claim.
pub(crate) fn body_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_big_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_BODY_BYTES>()
}
