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

/// The bytes `text` spells in hex (either case), or `None` when it is not exactly `2 * N`
/// hex digits: [`hex`] read back.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; N];
    for (index, byte) in bytes.iter_mut().enumerate() {
        // Checked just above: ASCII hex digits, so the slice is on char boundaries.
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(bytes)
}
