//! SHA-256 hashes as muster keeps them: the hash chain between commits, input
//! fingerprints, file digests.
//!
//! Owns: [`Hash`](type@Hash) and [`hex`], its text form.
//! Must not: decide what is hashed (commits and sources do).

/// A 32-byte SHA-256 hash.
pub type Hash = [u8; 32];

/// Lower-case hex, for hashes in output.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
