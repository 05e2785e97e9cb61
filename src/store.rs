//! The storage boundary: a small key-value trait, its sled implementation, and an
//! in-memory one for tests.
//!
//! Owns: [`Store`], [`Space`], [`SledStore`], [`MemoryStore`]; mapping the engine's errors
//! to ours; the single-writer lock.
//! Must not: interpret values (that is `commit` and `projection`), or decide what is
//! durable when (the ledger calls [`Store::flush`]).
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
    /// Derived: one value per group (its observed dates and timelines).
    Groups,
    /// Derived: one value per member (its timelines in each group).
    Members,
    /// Names of groups and members: kept apart from the facts so they can be erased.
    Names,
    /// Small bookkeeping values (how far the derived state has applied the log).
    Meta,
}

impl Space {
    pub const ALL: [Space; 6] = [
        Space::Log,
        Space::Heads,
        Space::Groups,
        Space::Members,
        Space::Names,
        Space::Meta,
    ];

    fn tree_name(self) -> &'static str {
        match self {
            Space::Log => "log",
            Space::Heads => "heads",
            Space::Groups => "groups",
            Space::Members => "members",
            Space::Names => "names",
            Space::Meta => "meta",
        }
    }
}

pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A sorted key-value store with separate spaces. Single writes are atomic; `flush`
/// makes all earlier writes durable.
pub trait Store {
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
        let path = self.directory.join(ANCHOR_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::io(&path, &error)),
        }
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
}

type Spaces = BTreeMap<Space, BTreeMap<Vec<u8>, Vec<u8>>>;

/// An in-memory store for tests. Clones share the same data, so dropping a ledger and
/// opening another on a clone is a "reopen".
#[derive(Clone, Default)]
pub struct MemoryStore {
    spaces: Arc<Mutex<Spaces>>,
    anchor: Arc<Mutex<Option<Vec<u8>>>>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut Spaces) -> T) -> T {
        // A poisoned lock means a test already panicked; carrying on is still sound for
        // plain maps.
        let mut guard = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
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
}
