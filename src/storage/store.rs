//! The storage boundary: a small key-value trait for the log, muster's own files beside
//! the engine's, the sled implementation, an in-memory one for tests, and a files-only one
//! for queries.
//!
//! Owns: [`Store`], [`Space`], [`SideFile`] with reading at an offset ([`ReadAt`]) and
//! replacing a file whole by rename, [`SledStore`], [`MemoryStore`], [`FilesOnly`];
//! mapping the engine's errors to ours; the single-writer lock.
//! Must not: interpret values (that is `commit`, `derived`, `stored_names`), or decide
//! what is durable when (the ledger calls [`Store::flush`] and says which files must be
//! synced).
//!
//! Everything muster keeps lives behind this trait, so that sled (beta software) can be
//! replaced without touching the ledger; the log also exports to a format of our own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{ledger_path_text, Error, ErrorKind, Result};

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

    fn tree_name(self) -> &'static str {
        match self {
            Space::Log => "log",
            Space::Heads => "heads",
            Space::Names => "names",
        }
    }
}

/// sled trees of ledgers made before derived state moved to `muster.derived`: dropped
/// when such a ledger is opened (everything in them is rebuilt from the log).
const LEGACY_DERIVED_TREES: [&str; 3] = ["groups", "members", "meta"];

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
}

/// muster's own files beside the storage engine's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum SideFile {
    /// The derived state (`muster.derived`): what queries read. Rebuilt from the log.
    Derived,
    /// Display names (`muster.names`): kept apart from the log so they can be erased.
    Names,
}

impl SideFile {
    pub fn file_name(self) -> &'static str {
        match self {
            SideFile::Derived => DERIVED_FILE,
            SideFile::Names => NAMES_FILE,
        }
    }
}

/// The derived-state file's name inside a ledger directory.
pub const DERIVED_FILE: &str = "muster.derived";
/// The names file's name inside a ledger directory.
pub const NAMES_FILE: &str = "muster.names";

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

/// An open file of a ledger directory.
pub struct LedgerFile {
    file: std::fs::File,
    path: std::path::PathBuf,
    length: u64,
}

impl LedgerFile {
    /// Opens `path` for reading; `None` when it does not exist.
    pub fn open(path: &Path) -> Result<Option<LedgerFile>> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Error::io(path, &error)),
        };
        let length = file
            .metadata()
            .map_err(|error| Error::io(path, &error))?
            .len();
        Ok(Some(LedgerFile {
            file,
            path: path.to_path_buf(),
            length,
        }))
    }
}

impl ReadAt for LedgerFile {
    fn length(&self) -> u64 {
        self.length
    }

    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let end = offset.checked_add(buffer.len() as u64);
        if end.is_none_or(|end| end > self.length) {
            return Err(Error::corrupt(format!(
                "{}: a read of {} bytes at {offset} runs past its end ({} bytes)",
                self.path.display(),
                buffer.len(),
                self.length
            )));
        }
        self.file
            .read_exact_at(buffer, offset)
            .map_err(|error| Error::io(&self.path, &error))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// A file held in memory (the [`MemoryStore`]'s side files).
struct MemoryFile {
    file: SideFile,
    bytes: Arc<Vec<u8>>,
}

impl ReadAt for MemoryFile {
    fn length(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> Result<()> {
        let start = usize::try_from(offset).ok();
        let range = start.and_then(|start| Some(start..start.checked_add(buffer.len())?));
        match range.and_then(|range| self.bytes.get(range)) {
            Some(bytes) => {
                buffer.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(Error::corrupt(format!(
                "{}: a read of {} bytes at {offset} runs past its end ({} bytes)",
                self.describe(),
                buffer.len(),
                self.bytes.len()
            ))),
        }
    }

    fn describe(&self) -> String {
        format!("{} (in memory)", self.file.file_name())
    }
}

/// The anchor file of the ledger directory `directory`; `None` when there is none.
fn read_anchor_in(directory: &Path) -> Result<Option<Vec<u8>>> {
    let path = directory.join(ANCHOR_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(&path, &error)),
    }
}

/// One of muster's own files in the ledger directory `directory`, open for reading.
fn open_file_in(directory: &Path, file: SideFile) -> Result<Option<Box<dyn ReadAt>>> {
    let opened = LedgerFile::open(&directory.join(file.file_name()))?;
    Ok(opened.map(|file| Box::new(file) as Box<dyn ReadAt>))
}

/// Replaces `path` with what `write` writes: a new file beside it, then a rename. With
/// `durable`, the file is synced before the rename and the directory after it.
pub(crate) fn replace_ledger_file(
    directory: &Path,
    path: &Path,
    durable: bool,
    write: &mut dyn FnMut(&mut dyn FileWriter) -> Result<()>,
) -> Result<()> {
    use std::io::Write;
    let fresh = path.with_extension(match path.extension() {
        Some(extension) => format!("{}.new", extension.to_string_lossy()),
        None => "new".to_string(),
    });
    let file = std::fs::File::create(&fresh).map_err(|error| Error::io(&fresh, &error))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    write(&mut writer)?;
    writer.flush().map_err(|error| Error::io(&fresh, &error))?;
    let file = writer
        .into_inner()
        .map_err(|error| Error::io(&fresh, error.error()))?;
    if durable {
        file.sync_all().map_err(|error| Error::io(&fresh, &error))?;
    }
    drop(file);
    std::fs::rename(&fresh, path).map_err(|error| Error::io(path, &error))?;
    if durable {
        std::fs::File::open(directory)
            .and_then(|directory| directory.sync_all())
            .map_err(|error| Error::io(directory, &error))?;
    }
    Ok(())
}

/// The anchor's file name inside a sled ledger directory.
pub const ANCHOR_FILE: &str = "muster.head";

/// The sled-backed store: one sled tree per [`Space`].
pub struct SledStore {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    directory: std::path::PathBuf,
    /// muster's own exclusive lock on the ledger, held as long as the store lives.
    _lock: std::fs::File,
}

/// The lock file inside a ledger directory.
pub const LOCK_FILE: &str = "muster.lock";

fn sled_error(error: sled::Error) -> Error {
    match error {
        sled::Error::Io(io) => Error::new(ErrorKind::Io, format!("storage I/O: {io}")),
        sled::Error::Corruption { at, .. } => Error::corrupt(format!(
            "the storage engine found damage{}",
            at.map(|at| format!(" at {at:?}")).unwrap_or_default()
        )),
        other => Error::new(ErrorKind::Storage, format!("storage engine: {other}")),
    }
}

impl SledStore {
    /// Opens (creating if needed) the ledger directory at `path`. A ledger held by another
    /// process is an [`ErrorKind::Locked`] error.
    pub fn open(path: &Path) -> Result<SledStore> {
        if path.exists() && !path.is_dir() {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "{} is a file, not a ledger directory",
                    ledger_path_text(path)
                ),
            ));
        }
        if !path.exists() {
            create_atomically(path)?;
        }
        let lock = lock(path)?;
        remove_unfinished_snapshots(path)?;
        let db = sled::Config::new().path(path).open().map_err(|error| {
            let text = error.to_string();
            if text.contains("could not acquire lock") || text.contains("WouldBlock") {
                Error::new(
                    ErrorKind::Locked,
                    format!(
                        "the ledger {} is in use by another muster process",
                        ledger_path_text(path)
                    ),
                )
            } else {
                sled_error(error)
            }
        })?;
        let trees = Space::ALL
            .iter()
            .map(|space| db.open_tree(space.tree_name()).map_err(sled_error))
            .collect::<Result<Vec<_>>>()?;
        for name in db.tree_names() {
            if LEGACY_DERIVED_TREES
                .iter()
                .any(|legacy| legacy.as_bytes() == &name[..])
            {
                db.drop_tree(&name).map_err(sled_error)?;
            }
        }
        Ok(SledStore {
            db,
            trees,
            directory: path.to_path_buf(),
            _lock: lock,
        })
    }

    fn tree(&self, space: Space) -> &sled::Tree {
        // `trees` holds one tree per entry of `Space::ALL`, in that order.
        &self.trees[Space::ALL
            .iter()
            .position(|s| *s == space)
            .expect("every Space is in Space::ALL")]
    }
}

/// Takes muster's exclusive lock on the ledger at `path` (a [`LOCK_FILE`] inside it), or
/// says that another process holds it. Taken before sled opens, so that nothing else runs
/// sled on these files while [`remove_unfinished_snapshots`] tidies them.
fn lock(path: &Path) -> Result<std::fs::File> {
    let lock_path = path.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| Error::io(&lock_path, &error))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Locked,
            format!(
                "the ledger {} is in use by another muster process",
                ledger_path_text(path)
            ),
        )),
        Err(std::fs::TryLockError::Error(error)) => Err(Error::io(&lock_path, &error)),
    }
}

/// Removes `snap.*.generating` files: snapshots sled began to write but did not finish
/// (it writes one, syncs it, then renames it, so such a file is never the only copy of
/// anything). sled 0.34.7 does not skip them when it looks for its newest snapshot, so
/// one left by a process killed at that moment made the ledger refuse to open for ever
/// ("the storage engine found damage"; sled issue #1527). Only called with the lock held.
fn remove_unfinished_snapshots(path: &Path) -> Result<()> {
    let entries = std::fs::read_dir(path).map_err(|error| Error::io(path, &error))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path()).map_err(|error| Error::io(&entry.path(), &error))?;
        }
    }
    Ok(())
}

/// Creates a new, empty ledger at `path` so that it appears whole or not at all: sled
/// writes its `conf` file in place when it creates a database, and a process killed
/// in that moment would leave a directory sled refuses to open ever after. So the ledger
/// is made in a fresh sibling directory, opened (which writes `conf` and `db`), flushed
/// and closed there, and then renamed into place. A kill leaves at most a stray
/// `.<name>.creating-*` directory beside it, which nothing opens.
fn create_atomically(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ledger".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    remove_abandoned_staging(&parent, &name);
    let staging = parent.join(format!(".{name}.creating-{}-{nanos}", std::process::id()));
    {
        let db = sled::Config::new()
            .path(&staging)
            .open()
            .map_err(sled_error)?;
        for space in Space::ALL {
            db.open_tree(space.tree_name()).map_err(sled_error)?;
        }
        db.flush().map_err(sled_error)?;
    }
    match std::fs::rename(&staging, path) {
        Ok(()) => {}
        // Another process created the ledger first: use theirs.
        Err(_) if path.is_dir() => {
            let _ = std::fs::remove_dir_all(&staging);
            return Ok(());
        }
        Err(error) => return Err(Error::io(path, &error)),
    }
    std::fs::File::open(&parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| Error::io(&parent, &error))
}

/// Removes staging directories of `name` left by processes that no longer run (killed
/// while creating the ledger). Where process ids cannot be checked (no `/proc`), nothing is
/// removed: a stray directory is untidy, deleting a live one would be wrong.
fn remove_abandoned_staging(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}.creating-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Store for SledStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tree(space)
            .get(key)
            .map_err(sled_error)?
            .map(|value| value.to_vec()))
    }

    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()> {
        self.tree(space).insert(key, value).map_err(sled_error)?;
        Ok(())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<()> {
        self.tree(space).remove(key).map_err(sled_error)?;
        Ok(())
    }

    fn last(&self, space: Space) -> Result<Option<KeyValue>> {
        Ok(self
            .tree(space)
            .last()
            .map_err(sled_error)?
            .map(|(key, value)| (key.to_vec(), value.to_vec())))
    }

    fn scan_from<'a>(
        &'a self,
        space: Space,
        from: &[u8],
    ) -> Box<dyn Iterator<Item = Result<KeyValue>> + 'a> {
        Box::new(self.tree(space).range(from.to_vec()..).map(|item| {
            item.map(|(key, value)| (key.to_vec(), value.to_vec()))
                .map_err(sled_error)
        }))
    }

    fn clear(&self, space: Space) -> Result<()> {
        self.tree(space).clear().map_err(sled_error)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(sled_error)?;
        Ok(())
    }

    fn append_log(&self, key: &[u8], commit: &[u8], head: &[u8]) -> Result<()> {
        use sled::transaction::{TransactionError, Transactional};
        (self.tree(Space::Log), self.tree(Space::Heads))
            .transaction(|(log, heads)| {
                log.insert(key, commit)?;
                heads.insert(key, head)?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|error| match error {
                TransactionError::Storage(error) => sled_error(error),
                TransactionError::Abort(()) => {
                    Error::new(ErrorKind::Storage, "the storage engine aborted a commit")
                }
            })
    }

    fn read_anchor(&self) -> Result<Option<Vec<u8>>> {
        read_anchor_in(&self.directory)
    }

    fn write_anchor(&self, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        // Write a new file, make it durable, then rename it over the old one and make the
        // rename durable: a crash leaves the old anchor or the new one, never a mix.
        let path = self.directory.join(ANCHOR_FILE);
        let fresh = self.directory.join(format!("{ANCHOR_FILE}.new"));
        let written = std::fs::File::create(&fresh).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        written.map_err(|e| Error::io(&fresh, &e))?;
        std::fs::rename(&fresh, &path).map_err(|e| Error::io(&path, &e))?;
        std::fs::File::open(&self.directory)
            .and_then(|directory| directory.sync_all())
            .map_err(|e| Error::io(&self.directory, &e))
    }

    fn open_file(&self, file: SideFile) -> Result<Option<Box<dyn ReadAt>>> {
        open_file_in(&self.directory, file)
    }

    fn replace_file(
        &self,
        file: SideFile,
        durable: bool,
        write: &mut dyn FnMut(&mut dyn FileWriter) -> Result<()>,
    ) -> Result<()> {
        let path = self.directory.join(file.file_name());
        replace_ledger_file(&self.directory, &path, durable, write)
    }
}

type Spaces = BTreeMap<Space, BTreeMap<Vec<u8>, Vec<u8>>>;

/// An in-memory store for tests. Clones share the same data, so dropping a ledger and
/// opening another on a clone is a "reopen".
#[derive(Clone, Default)]
pub struct MemoryStore {
    spaces: Arc<Mutex<Spaces>>,
    anchor: Arc<Mutex<Option<Vec<u8>>>>,
    files: Arc<Mutex<BTreeMap<SideFile, Arc<Vec<u8>>>>>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut Spaces) -> T) -> T {
        // A poisoned lock means a test already panicked; carrying on is still sound for
        // plain maps.
        let mut guard = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// A side file's bytes, for tests that damage them.
    pub fn file_bytes(&self, file: SideFile) -> Option<Vec<u8>> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(&file).map(|bytes| bytes.as_ref().clone())
    }

    /// Puts back (or damages) a side file's bytes, for tests; `None` removes it.
    pub fn set_file_bytes(&self, file: SideFile, bytes: Option<Vec<u8>>) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        match bytes {
            Some(bytes) => files.insert(file, Arc::new(bytes)),
            None => files.remove(&file),
        };
    }
}

impl Store for MemoryStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.with(|s| s.get(&space).and_then(|t| t.get(key)).cloned()))
    }

    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()> {
        self.with(|s| {
            s.entry(space)
                .or_default()
                .insert(key.to_vec(), value.to_vec())
        });
        Ok(())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<()> {
        self.with(|s| s.entry(space).or_default().remove(key));
        Ok(())
    }

    fn last(&self, space: Space) -> Result<Option<KeyValue>> {
        Ok(self.with(|s| {
            s.get(&space)
                .and_then(|t| t.iter().next_back())
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }

    fn scan_from<'a>(
        &'a self,
        space: Space,
        from: &[u8],
    ) -> Box<dyn Iterator<Item = Result<KeyValue>> + 'a> {
        let items: Vec<KeyValue> = self.with(|s| {
            s.get(&space)
                .map(|t| {
                    t.range(from.to_vec()..)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        });
        Box::new(items.into_iter().map(Ok))
    }

    fn clear(&self, space: Space) -> Result<()> {
        self.with(|s| s.remove(&space));
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn append_log(&self, key: &[u8], commit: &[u8], head: &[u8]) -> Result<()> {
        self.with(|s| {
            s.entry(Space::Log)
                .or_default()
                .insert(key.to_vec(), commit.to_vec());
            s.entry(Space::Heads)
                .or_default()
                .insert(key.to_vec(), head.to_vec());
        });
        Ok(())
    }

    fn read_anchor(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .anchor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    fn write_anchor(&self, bytes: &[u8]) -> Result<()> {
        *self.anchor.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes.to_vec());
        Ok(())
    }

    fn open_file(&self, file: SideFile) -> Result<Option<Box<dyn ReadAt>>> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files.get(&file).map(|bytes| {
            Box::new(MemoryFile {
                file,
                bytes: bytes.clone(),
            }) as Box<dyn ReadAt>
        }))
    }

    fn replace_file(
        &self,
        file: SideFile,
        _durable: bool,
        write: &mut dyn FnMut(&mut dyn FileWriter) -> Result<()>,
    ) -> Result<()> {
        let mut cursor = std::io::Cursor::new(Vec::new());
        write(&mut cursor)?;
        self.set_file_bytes(file, Some(cursor.into_inner()));
        Ok(())
    }
}

/// A ledger directory seen through muster's own files only, without the storage engine:
/// what [`crate::Ledger::open_for_queries`] reads. It takes no lock (files are replaced
/// whole, by rename, so a reader always sees whole files); anything that needs the engine
/// is an error.
pub struct FilesOnly {
    directory: std::path::PathBuf,
}

impl FilesOnly {
    pub fn new(directory: &Path) -> FilesOnly {
        FilesOnly {
            directory: directory.to_path_buf(),
        }
    }

    fn no_engine(&self) -> Error {
        Error::new(
            ErrorKind::Storage,
            format!(
                "the ledger {} was opened for queries only; this needs its log",
                ledger_path_text(&self.directory)
            ),
        )
    }
}

impl Store for FilesOnly {
    fn get(&self, _: Space, _: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(self.no_engine())
    }

    fn put(&self, _: Space, _: &[u8], _: &[u8]) -> Result<()> {
        Err(self.no_engine())
    }

    fn remove(&self, _: Space, _: &[u8]) -> Result<()> {
        Err(self.no_engine())
    }

    fn last(&self, _: Space) -> Result<Option<KeyValue>> {
        Err(self.no_engine())
    }

    fn scan_from<'a>(
        &'a self,
        _: Space,
        _: &[u8],
    ) -> Box<dyn Iterator<Item = Result<KeyValue>> + 'a> {
        Box::new(std::iter::once(Err(self.no_engine())))
    }

    fn clear(&self, _: Space) -> Result<()> {
        Err(self.no_engine())
    }

    fn flush(&self) -> Result<()> {
        Err(self.no_engine())
    }

    fn append_log(&self, _: &[u8], _: &[u8], _: &[u8]) -> Result<()> {
        Err(self.no_engine())
    }

    fn read_anchor(&self) -> Result<Option<Vec<u8>>> {
        read_anchor_in(&self.directory)
    }

    fn write_anchor(&self, _: &[u8]) -> Result<()> {
        Err(self.no_engine())
    }

    fn open_file(&self, file: SideFile) -> Result<Option<Box<dyn ReadAt>>> {
        open_file_in(&self.directory, file)
    }

    fn replace_file(
        &self,
        _: SideFile,
        _: bool,
        _: &mut dyn FnMut(&mut dyn FileWriter) -> Result<()>,
    ) -> Result<()> {
        Err(self.no_engine())
    }
}
