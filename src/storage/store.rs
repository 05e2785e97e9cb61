//! The storage boundary: a small key-value trait for the log and muster's own files beside
//! the engine's. Its implementations: `sled.rs` (the ledger on disk), `memory.rs` (tests),
//! `files.rs` (`FilesOnly`, what queries open).
//!
//! Owns: [`Store`], [`Space`], [`SideFile`] with reading at an offset ([`ReadAt`]) and
//! writing a replacement ([`FileWriter`]), and the names of the files in a ledger
//! directory.
//! Must not: interpret values (that is `log`, `derived`, `names`), or decide what is
//! durable when (the ledger calls [`Store::flush`] and says which files must be synced).
//!
//! Everything muster keeps lives behind this trait, so that sled (beta software) can be
//! replaced without touching the ledger; the log also exports to a format of our own.

use crate::error::Result;

/// The separate key spaces of a ledger. Keys in `Log` are big-endian sequence numbers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Space {
    /// The append-only log: one commit per key. The only source of truth.
    Log,
    /// The log's index: per commit (same key), its number and hash, written in the same
    /// transaction as the commit, so that opening reads 40 bytes instead of the newest
    /// commit. Derived: `verify` checks it against the log, `rebuild` rewrites it.
    Heads,
    /// Names as ledgers made before `muster.names` kept them (one value per name). Read
    /// once when such a ledger is opened, moved to the names file, then emptied.
    Names,
}

impl Space {
    pub const ALL: [Space; 3] = [Space::Log, Space::Heads, Space::Names];

    pub(crate) fn tree_name(self) -> &'static str {
        match self {
            Space::Log => "log",
            Space::Heads => "heads",
            Space::Names => "names",
        }
    }
}

/// sled trees of ledgers made before derived state moved to `muster.derived`: dropped
/// when such a ledger is opened (everything in them is rebuilt from the log).
pub(crate) const LEGACY_DERIVED_TREES: [&str; 3] = ["groups", "members", "meta"];

pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A sorted key-value store with separate spaces. Single writes are atomic; `flush`
/// makes all earlier writes durable.
pub trait Store: Send + Sync {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>>;
    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()>;
    fn remove(&self, space: Space, key: &[u8]) -> Result<()>;
    /// The entry with the greatest key.
    fn last(&self, space: Space) -> Result<Option<KeyValue>>;
    /// All entries with key >= `from`, in key order.
    fn scan_from<'a>(
        &'a self,
        space: Space,
        from: &[u8],
    ) -> Box<dyn Iterator<Item = Result<KeyValue>> + 'a>;
    fn clear(&self, space: Space) -> Result<()>;
    fn flush(&self) -> Result<()>;
    /// Writes a commit under `key` in [`Space::Log`] and its head record under the same key
    /// in [`Space::Heads`], atomically: after a crash both are there or neither.
    fn append_log(&self, key: &[u8], commit: &[u8], head: &[u8]) -> Result<()>;
    /// The anchor: a small value kept *outside* the storage engine (the newest commit's
    /// number and hash), so that an engine which silently loses its newest writes is
    /// caught on the next open.
    fn read_anchor(&self) -> Result<Option<Vec<u8>>>;
    /// Replaces the anchor durably and atomically.
    fn write_anchor(&self, bytes: &[u8]) -> Result<()>;
    /// Opens one of muster's own files beside the engine's for reading (`None` when it
    /// does not exist). What is read comes from one version of the file, even while
    /// [`Store::replace_file`] puts a new one in its place.
    fn open_file(&self, file: SideFile) -> Result<Option<Box<dyn ReadAt>>>;
    /// Replaces one of muster's own files whole: `write` fills a new file, which then takes
    /// the old one's place atomically (readers see the old file or the new one, never a
    /// mix). With `durable`, the new file and its rename are synced to disk before this
    /// returns.
    fn replace_file(
        &self,
        file: SideFile,
        durable: bool,
        write: &mut dyn FnMut(&mut dyn FileWriter) -> Result<()>,
    ) -> Result<()>;
    /// Refuses, before anything is written, when the device holding the store lacks room
    /// for `bytes` more plus [`FREE_SPACE_MARGIN_BYTES`] (a full disk must refuse an
    /// import, not break it half-way).
    ///
    /// [`FREE_SPACE_MARGIN_BYTES`]: crate::model::limits::FREE_SPACE_MARGIN_BYTES
    fn check_space(&self, bytes: u64) -> Result<()> {
        let _ = bytes;
        Ok(())
    }
    /// Whether opening this store created it (a new ledger directory).
    fn created(&self) -> bool {
        false
    }
    /// Closes a store this process created and removes what it made, so that a command
    /// refused after creating a ledger leaves nothing behind. Does nothing otherwise.
    fn remove_created(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    /// Removes one of muster's own files, and any unfinished replacement of it, durably
    /// (its bytes may be personal data that must not stay).
    fn remove_file(&self, file: SideFile) -> Result<()>;
}

/// muster's own files beside the storage engine's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum SideFile {
    /// The derived state (`muster.derived`): what queries read. Rebuilt from the log.
    Derived,
    /// Display names as ledgers made before the vault kept them (`muster.names`): moved
    /// into the log and the vault once, then removed.
    Names,
    /// The vault (`muster.vault`): personal values and their salts, which the log records
    /// only as salted digests. Rewritten whole; never in the engine, whose old segments
    /// would keep erased bytes.
    Vault,
}

impl SideFile {
    pub fn file_name(self) -> &'static str {
        match self {
            SideFile::Derived => DERIVED_FILE,
            SideFile::Names => NAMES_FILE,
            SideFile::Vault => VAULT_FILE,
        }
    }
}

/// The derived-state file's name inside a ledger directory.
pub const DERIVED_FILE: &str = "muster.derived";
/// The old names file's name inside a ledger directory.
pub const NAMES_FILE: &str = "muster.names";
/// The vault's name inside a ledger directory.
pub const VAULT_FILE: &str = "muster.vault";

/// Reading a file at any offset (`pread`), so that a query reads only the parts it needs.
pub trait ReadAt: Send + Sync {
    /// The file's length in bytes.
    fn length(&self) -> u64;
    /// Fills `buffer` from `offset`; reading past the end is an error.
    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> Result<()>;
    /// Where the bytes come from, for messages.
    fn describe(&self) -> String;
}

/// Where [`Store::replace_file`] writes: a new file, written front to back, with seeks
/// back to fill in a header.
pub trait FileWriter: std::io::Write + std::io::Seek {}
impl<T: std::io::Write + std::io::Seek> FileWriter for T {}

/// The anchor's file name inside a sled ledger directory.
pub const ANCHOR_FILE: &str = "muster.head";

/// The lock file inside a ledger directory.
pub const LOCK_FILE: &str = "muster.lock";
