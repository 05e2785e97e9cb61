//! Head records and log keys: a commit's number and hash, sealed, as the `heads` index
//! and the anchor file keep them; the big-endian key a commit is stored under.
//!
//! Owns: `Head`, its codec, and the commit-number key codec.
//! Must not: touch disk.

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::log::hash::Hash;
use crate::log::seal::{seal, unseal, Magic};

/// The newest commit: its number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: Hash,
}

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn key_seq(key: &[u8]) -> Result<u64> {
    let array: [u8; 8] = key
        .try_into()
        .map_err(|_| Error::corrupt("a log key is not an 8-byte sequence number"))?;
    Ok(u64::from_be_bytes(array))
}

/// A head record (the `heads` index and the anchor file): a sealed body of the commit's
/// number (`u64` big-endian) and hash.
pub(crate) fn encode_head(head: Head) -> Result<Vec<u8>> {
    let mut body = head.seq.to_be_bytes().to_vec();
    body.extend_from_slice(&head.hash);
    seal(Magic::Head, &body)
}

pub(crate) fn decode_head(bytes: &[u8]) -> Result<Head> {
    let body = unseal(Magic::Head, bytes)?;
    let (seq, hash) = body
        .split_first_chunk::<8>()
        .filter(|(_, hash)| hash.len() == 32)
        .ok_or_else(|| Error::corrupt("a head record has the wrong length"))?;
    let mut array = [0; 32];
    array.copy_from_slice(hash);
    Ok(Head {
        seq: u64::from_be_bytes(*seq),
        hash: array,
    })
}

pub(crate) fn decode_at(key: &[u8], bytes: &[u8]) -> Result<Commit> {
    let seq = key_seq(key)?;
    let (commit, _) = Commit::decode(bytes)
        .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
    Ok(commit)
}
