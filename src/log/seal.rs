//! The sealed envelope every stored value is wrapped in: magic, format version, body
//! length, body, CRC-32 of all before it.
//!
//! Owns: [`Magic`] (the four bytes that say what a value is), `seal` and `unseal` and
//! their versioned forms, and `hex` for hashes in text.
//! Must not: know what a body means; each value's own module encodes its body.

use crate::error::{Error, Result};
use crate::model::MAX_BODY_BYTES;

/// The version of every sealed value other than a commit and a group block (member
/// states, head records, names, the applied-through marker, directories, the register,
/// the vault): each has only ever had this one. A group block is at
/// `storage::block::GROUP_BLOCK_VERSION`.
pub const VALUE_VERSION: u16 = 1;

/// Length of the envelope before the body: magic (4), version (2), body length (4).
pub(crate) const HEADER_BYTES: usize = 10;

/// Length of the trailing CRC-32.
pub(crate) const CHECKSUM_BYTES: usize = 4;

/// The four bytes that open each kind of stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Commit,
    GroupState,
    MemberState,
    /// A head record: a commit's number and hash (the `heads` index and the anchor file).
    Head,
    /// A display name (UTF-8).
    Name,
    /// The derived state's applied-through marker (`u64` big-endian); only in ledgers
    /// made before derived state moved to `muster.derived`.
    Marker,
    /// A directory of the derived-state file.
    Directory,
    /// The names file of ledgers made before the vault: every stored name.
    Names,
    /// The derived-state file's register of imported inputs (fingerprint and commit).
    Imports,
    /// The vault (`muster.vault`): every live personal value with its salt.
    Vault,
}

impl Magic {
    pub fn bytes(self) -> [u8; 4] {
        match self {
            Magic::Commit => *b"MUSC",
            Magic::GroupState => *b"MUSG",
            Magic::MemberState => *b"MUSM",
            Magic::Head => *b"MUSH",
            Magic::Name => *b"MUSN",
            Magic::Marker => *b"MUSA",
            Magic::Directory => *b"MUSI",
            Magic::Names => *b"MUSB",
            Magic::Imports => *b"MUSF",
            Magic::Vault => *b"MUSV",
        }
    }
}

/// Wraps a body in the envelope: magic, `version`, length, body, CRC-32 of all before it.
pub(crate) fn seal_versioned(magic: Magic, version: u16, body: &[u8]) -> Result<Vec<u8>> {
    let length = u32::try_from(body.len())
        .ok()
        .filter(|&length| length as usize <= MAX_BODY_BYTES)
        .ok_or_else(|| Error::corrupt(format!("a body of {} bytes is too large", body.len())))?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES + body.len() + CHECKSUM_BYTES);
    bytes.extend_from_slice(&magic.bytes());
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(body);
    let checksum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&checksum.to_be_bytes());
    Ok(bytes)
}

/// Checks the envelope of a value whose version must be one of `accepted`; returns the
/// version found and the body. Any other version is "corrupt", naming the version found,
/// so that an old muster never misreads a newer value.
pub(crate) fn unseal_versioned<'a>(
    magic: Magic,
    accepted: &[u16],
    bytes: &'a [u8],
) -> Result<(u16, &'a [u8])> {
    if bytes.len() < HEADER_BYTES + CHECKSUM_BYTES {
        return Err(Error::corrupt(format!(
            "a stored value of {} bytes is too short",
            bytes.len()
        )));
    }
    let (sealed, checksum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    let stored = u32::from_be_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
    if crc32fast::hash(sealed) != stored {
        return Err(Error::corrupt("checksum mismatch"));
    }
    if sealed[0..4] != magic.bytes() {
        return Err(Error::corrupt(format!(
            "expected a {magic:?} value, found magic {:?}",
            String::from_utf8_lossy(&sealed[0..4])
        )));
    }
    let version = u16::from_be_bytes([sealed[4], sealed[5]]);
    if !accepted.contains(&version) {
        let known: Vec<String> = accepted.iter().map(u16::to_string).collect();
        return Err(Error::corrupt(format!(
            "a {magic:?} value of format version {version}; this muster reads version {}",
            known.join(" or ")
        )));
    }
    let length = u32::from_be_bytes([sealed[6], sealed[7], sealed[8], sealed[9]]) as usize;
    let body = &sealed[HEADER_BYTES..];
    if body.len() != length {
        return Err(Error::corrupt(format!(
            "length field says {length} bytes, the value holds {}",
            body.len()
        )));
    }
    Ok((version, body))
}

/// [`seal_versioned`] at [`VALUE_VERSION`]: for the values that have only ever had one
/// version (everything but a commit).
pub(crate) fn seal(magic: Magic, body: &[u8]) -> Result<Vec<u8>> {
    seal_versioned(magic, VALUE_VERSION, body)
}

/// [`unseal_versioned`] accepting only [`VALUE_VERSION`]: for the values that have only
/// ever had one version (everything but a commit).
pub(crate) fn unseal(magic: Magic, bytes: &[u8]) -> Result<&[u8]> {
    unseal_versioned(magic, &[VALUE_VERSION], bytes).map(|(_, body)| body)
}
