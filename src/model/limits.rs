//! Every limit muster enforces, in one place, with the relations between them checked at
//! compile time. A limit is a promise about what muster accepts and stores: input past it
//! is refused with a `Limit` error before anything is written, and stored bytes past it
//! are damage.
//!
//! Owns: the limit constants and the asserts on how they relate.
//! Must not: hold tuning knobs that change no promise (cache and buffer sizes live beside
//! the code they tune).

// ---- Values --------------------------------------------------------------------------

/// Longest group or member identifier, in bytes. SB idents are short integers, congress
/// bioguide ids seven characters; 64 leaves room for UUIDs and e-mail-like keys.
pub const MAX_ID_BYTES: usize = 64;
/// Longest name (group or member display name), in bytes.
pub const MAX_NAME_BYTES: usize = 512;
/// Earliest and latest year a date may carry. Year 0 and five-digit years are typos.
pub const MIN_YEAR: i32 = 1;
pub const MAX_YEAR: i32 = 9999;

// ---- Inputs --------------------------------------------------------------------------

/// Largest input file, in bytes.
pub const MAX_INPUT_BYTES: u64 = 4 << 30;
/// Most rows one input file may hold.
pub const MAX_INPUT_ROWS: u64 = 50_000_000;
/// Longest single field of an input row, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;
/// Longest line of a portable log, in bytes. A commit of the largest import is far
/// smaller; a longer line is damage or not our file, and reading it whole would only
/// exhaust memory.
pub const MAX_PORTABLE_LINE_BYTES: u64 = 1 << 30;

// ---- The log ---------------------------------------------------------------------------

/// Most commits a ledger may hold: a commit number fits 31 bits, so that derived state
/// packs it with a fact's change into 32 (a commit a day would take six million years).
pub const MAX_COMMITS: u64 = (1 << 31) - 1;
/// Most facts one commit may hold (the decoder refuses more).
pub const MAX_FACTS_PER_COMMIT: usize = 20_000_000;
/// Largest body of a sealed value. A version-2 commit of `MAX_FACTS_PER_COMMIT` facts
/// (9 bytes each, plus each member's id once) fits while its members' ids are short; a
/// larger body is refused before it is written, and a stored one claiming more is damage.
pub const MAX_BODY_BYTES: usize = 1 << 30;
/// Most files one commit may name as its source.
pub const MAX_SOURCE_FILES: usize = 10_000;
/// Longest source file name kept in a commit, in bytes.
pub const MAX_SOURCE_NAME_BYTES: usize = 1024;
/// Most options one source may name.
pub const MAX_SOURCE_OPTIONS: usize = 16;
/// Most personal values (names today) one commit may set: every member and group of the
/// largest import, with room to spare.
pub const MAX_PERSONAL_VALUES_PER_COMMIT: usize = 10_000_000;
/// Most personal values a vault may hold (one per subject and field, plus those a commit
/// in flight is setting).
pub const MAX_VAULT_ENTRIES: usize = 100_000_000;
/// Longest option kept in a commit, in bytes.
pub const MAX_SOURCE_OPTION_BYTES: usize = 256;

// ---- The device ------------------------------------------------------------------------

/// Free space an import leaves on the ledger's device beyond what it writes, in bytes:
/// room for the storage engine's own bookkeeping (sled writes segments of 512 KiB and
/// snapshots), so that a commit is refused for want of space before it starts, rather
/// than failing inside the engine.
pub const FREE_SPACE_MARGIN_BYTES: u64 = 32 << 20;
/// Longest wait, in seconds, for the storage engine to write or flush a commit. On a full
/// disk sled 0.34.7 can wait for ever for a write that will never succeed (while the
/// ledger is locked); past this the command fails, saying the commit's fate is unknown.
pub const STORAGE_WAIT_SECONDS: u64 = 20;
/// sled's segment size: the margin holds several.
const SLED_SEGMENT_BYTES: u64 = 512 << 10;

// ---- Derived state ---------------------------------------------------------------------

/// Most entries one directory of the derived-state file may hold (every group, or every
/// member, of a ledger).
pub const MAX_DIRECTORY_ENTRIES: usize = 100_000_000;

// ---- How they relate ---------------------------------------------------------------------

/// Bytes of one version-2 fact: member index (`u32`), date (`i32`), change (`u8`).
const V2_FACT_BYTES: usize = 9;

// The margin holds the engine's segments being rewritten, many times over.
const _: () = assert!(FREE_SPACE_MARGIN_BYTES >= 16 * SLED_SEGMENT_BYTES);
// A wait on the engine is bounded, and shorter than a minute ("fails within seconds").
const _: () = assert!(STORAGE_WAIT_SECONDS > 0 && STORAGE_WAIT_SECONDS < 60);
// An id and a name are each read from one input field.
const _: () = assert!(MAX_ID_BYTES <= MAX_FIELD_BYTES);
const _: () = assert!(MAX_NAME_BYTES <= MAX_FIELD_BYTES);
// Derived blocks pack a commit number and a change into 32 bits.
const _: () = assert!(MAX_COMMITS < 1 << 31);
// A commit's facts alone fit a body; the envelope's length field is a `u32`.
const _: () = assert!(MAX_FACTS_PER_COMMIT * V2_FACT_BYTES <= MAX_BODY_BYTES);
const _: () = assert!(MAX_BODY_BYTES <= u32::MAX as usize);
// Version-2 member indexes are `u32`, at most one dictionary entry per fact.
const _: () = assert!(MAX_FACTS_PER_COMMIT <= u32::MAX as usize);
// A vault's entry count is a `u32`, and it holds at least one commit's values.
const _: () = assert!(MAX_VAULT_ENTRIES <= u32::MAX as usize);
const _: () = assert!(MAX_PERSONAL_VALUES_PER_COMMIT <= MAX_VAULT_ENTRIES);
// A directory's count is a `u32`.
const _: () = assert!(MAX_DIRECTORY_ENTRIES <= u32::MAX as usize);
// A portable line is read whole into memory, as an input file is.
const _: () = assert!(MAX_PORTABLE_LINE_BYTES <= MAX_INPUT_BYTES);
// An input file's length is held in a `usize` (this build is 64-bit).
const _: () = assert!(MAX_INPUT_BYTES <= usize::MAX as u64);
