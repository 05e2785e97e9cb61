//! The sled store: the log and its head index in sled 0.34.7, behind [`Store`].
//!
//! Owns: [`SledStore`], mapping sled's errors to ours, the single-writer lock
//! (`muster.lock`), and the guards against two sled hazards the crash test found: a new
//! ledger is created aside and renamed into place (sled writes `conf` in place), and,
//! holding the lock, unfinished `snap.*.generating` files are removed before sled opens.
//! Must not: interpret values.

use std::path::Path;

use crate::error::{ledger_path_text, Error, ErrorKind, Result};
use crate::storage::files::{open_file_in, read_anchor_in, replace_ledger_file};
use crate::storage::store::{
    FileWriter, KeyValue, ReadAt, SideFile, Space, Store, ANCHOR_FILE, LEGACY_DERIVED_TREES,
    LOCK_FILE,
};

/// The sled-backed store: one sled tree per [`Space`].
pub struct SledStore {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    directory: std::path::PathBuf,
    /// muster's own exclusive lock on the ledger, held as long as the store lives.
    _lock: std::fs::File,
}

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

    fn remove_file(&self, file: SideFile) -> Result<()> {
        let path = self.directory.join(file.file_name());
        crate::storage::files::remove_ledger_file(&self.directory, &path)
    }
}
