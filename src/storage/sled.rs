//! The sled store: the log and its head index in sled 0.34.7, behind [`Store`].
//!
//! Owns: [`SledStore`], mapping sled's errors to ours, the single-writer lock
//! (`muster.lock`), and the guards against two sled hazards the crash test found: a new
//! ledger is created aside and renamed into place (sled writes `conf` in place), and,
//! holding the lock, unfinished `snap.*.generating` files are removed before sled opens.
//! Must not: interpret values.

use std::path::Path;
use std::time::Duration;

use crate::error::{ledger_path_text, Error, ErrorKind, Result};
use crate::model::limits::{FREE_SPACE_MARGIN_BYTES, STORAGE_WAIT_SECONDS};
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
    /// Whether [`SledStore::open`] made the ledger (it did not exist before).
    created: bool,
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
    /// Opens the ledger directory at `path`; with `create`, makes a new one when `path`
    /// does not exist or is an empty directory. A ledger held by another process is an
    /// [`ErrorKind::Locked`] error; no ledger at `path` (without `create`) is
    /// [`ErrorKind::NoLedger`]; a directory of other files is refused, never written into.
    pub fn open(path: &Path, create: bool) -> Result<SledStore> {
        let mut created = false;
        match ledger_at(path)? {
            LedgerAt::Ledger => {}
            LedgerAt::Nothing if create => {
                created = create_atomically(path)?;
            }
            LedgerAt::Nothing => return Err(no_ledger(path)),
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
            created,
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

/// Runs `work` (a write to sled) on a thread of its own and waits for it at most
/// [`STORAGE_WAIT_SECONDS`]: on a full disk sled 0.34.7 can wait for ever for a write
/// that will not succeed, and the command must end, with the lock released, rather than
/// hang. A thread that does not finish is left behind; the process ends without it.
fn bounded<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    bounded_for(Duration::from_secs(STORAGE_WAIT_SECONDS), what, work)
}

/// [`bounded`] with any wait (the tests use a short one).
fn bounded_for<T: Send + 'static>(
    wait: Duration,
    what: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("muster-storage".to_string())
        .spawn(move || {
            // The receiver is gone only when the wait below gave up.
            let _ = sender.send(work());
        })
        .map_err(|error| Error::new(ErrorKind::Io, format!("{what}: {error}")))?;
    match receiver.recv_timeout(wait) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::new(
            ErrorKind::Io,
            format!(
                "{what}: the storage engine did not finish within {} s (is the disk full?)",
                wait.as_secs_f64()
            ),
        )),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::new(
            ErrorKind::Storage,
            format!("{what}: the storage engine stopped without an answer"),
        )),
    }
}

/// What a ledger path holds.
enum LedgerAt {
    /// A ledger: sled's `conf` and `db` (every ledger, since muster creates them together
    /// and renames them into place).
    Ledger,
    /// Nothing: no such path, or an empty directory (a new ledger may be made there).
    Nothing,
}

/// The files sled keeps in every database directory; a directory with both is a ledger.
const SLED_FILES: [&str; 2] = ["conf", "db"];

/// How long removing a ledger created for a refused command keeps trying, and how often.
const REMOVE_CREATED_FOR: Duration = Duration::from_secs(2);
const REMOVE_CREATED_RETRY: Duration = Duration::from_millis(20);

/// Looks at `path` without changing it. A file, or a directory that holds other files
/// but no ledger (an SB export directory given as `--db`), is refused: writing a ledger
/// into it would mix muster's files with someone else's.
fn ledger_at(path: &Path) -> Result<LedgerAt> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(LedgerAt::Nothing),
        Err(error) => return Err(Error::io(path, &error)),
    };
    if !metadata.is_dir() {
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "{} is a file, not a ledger directory",
                ledger_path_text(path)
            ),
        ));
    }
    if SLED_FILES.iter().all(|name| path.join(name).is_file()) {
        return Ok(LedgerAt::Ledger);
    }
    let mut entries = std::fs::read_dir(path).map_err(|error| Error::io(path, &error))?;
    match entries.next() {
        None => Ok(LedgerAt::Nothing),
        Some(entry) => {
            let example = entry
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .unwrap_or_default();
            Err(Error::new(
                ErrorKind::Input,
                format!(
                    "{} is not a muster ledger: it is a directory of other files (such as \
                     {example:?}); give the path of a ledger, or a new path for an import to \
                     create one",
                    ledger_path_text(path)
                ),
            ))
        }
    }
}

/// The refusal of a command that needs a ledger where there is none.
fn no_ledger(path: &Path) -> Error {
    Error::new(
        ErrorKind::NoLedger,
        format!(
            "no ledger at {} (imports create one)",
            ledger_path_text(path)
        ),
    )
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
///
/// Returns whether this process made the ledger (false when another made it first).
fn create_atomically(path: &Path) -> Result<bool> {
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
    let made = (|| {
        let db = sled::Config::new()
            .path(&staging)
            .open()
            .map_err(sled_error)?;
        for space in Space::ALL {
            db.open_tree(space.tree_name()).map_err(sled_error)?;
        }
        db.flush().map_err(sled_error)?;
        Ok(())
    })();
    if let Err(error) = made {
        // A failed creation (a full disk) leaves nothing behind.
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    // `rename` also replaces an empty directory at `path`.
    match std::fs::rename(&staging, path) {
        Ok(()) => {}
        // Another process created the ledger first: use theirs.
        Err(_) if matches!(ledger_at(path), Ok(LedgerAt::Ledger)) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Ok(false);
        }
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Error::io(path, &error));
        }
    }
    std::fs::File::open(&parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| Error::io(&parent, &error))?;
    Ok(true)
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
        let db = self.db.clone();
        bounded("flushing the log", move || {
            db.flush().map_err(sled_error)?;
            Ok(())
        })
    }

    fn append_log(&self, key: &[u8], commit: &[u8], head: &[u8]) -> Result<()> {
        use sled::transaction::{TransactionError, Transactional};
        let trees = (
            self.tree(Space::Log).clone(),
            self.tree(Space::Heads).clone(),
        );
        let (key, commit, head) = (key.to_vec(), commit.to_vec(), head.to_vec());
        bounded("writing a commit", move || {
            (&trees.0, &trees.1)
                .transaction(|(log, heads)| {
                    log.insert(key.as_slice(), commit.as_slice())?;
                    heads.insert(key.as_slice(), head.as_slice())?;
                    Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
                })
                .map_err(|error| match error {
                    TransactionError::Storage(error) => sled_error(error),
                    TransactionError::Abort(()) => {
                        Error::new(ErrorKind::Storage, "the storage engine aborted a commit")
                    }
                })
        })
    }

    fn check_space(&self, bytes: u64) -> Result<()> {
        let free = fs2::available_space(&self.directory)
            .map_err(|error| Error::io(&self.directory, &error))?;
        let needed = bytes.saturating_add(FREE_SPACE_MARGIN_BYTES);
        if free < needed {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "not enough free space for the ledger {}: {free} bytes free, this commit \
                     needs about {bytes} and muster keeps {FREE_SPACE_MARGIN_BYTES} more free; \
                     nothing was recorded: free some space and run the command again",
                    ledger_path_text(&self.directory)
                ),
            ));
        }
        Ok(())
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

    fn created(&self) -> bool {
        self.created
    }

    fn remove_created(self: Box<Self>) -> Result<()> {
        if !self.created {
            return Ok(());
        }
        let directory = self.directory.clone();
        // Close sled (and release the lock) before removing its files.
        drop(self);
        // sled's background threads may still be finishing a write (a snapshot file) for
        // a moment after the last handle is dropped: a file made while the tree is being
        // removed leaves the directory not empty (seen once in CI, under load). Try again
        // for a short while, so that a refused import leaves nothing behind.
        let started = std::time::Instant::now();
        loop {
            match std::fs::remove_dir_all(&directory) {
                Ok(()) => return Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(_) if started.elapsed() < REMOVE_CREATED_FOR => {
                    std::thread::sleep(REMOVE_CREATED_RETRY);
                }
                Err(error) => return Err(Error::io(&directory, &error)),
            }
        }
    }

    fn remove_file(&self, file: SideFile) -> Result<()> {
        let path = self.directory.join(file.file_name());
        crate::storage::files::remove_ledger_file(&self.directory, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_never_ends_is_given_up_on_within_the_wait() {
        let started = std::time::Instant::now();
        let result: Result<()> = bounded_for(Duration::from_millis(50), "flushing", || {
            // Stands for sled waiting in `make_stable` on a full disk.
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        });
        let error = result.expect_err("given up on");
        assert_eq!(error.kind(), ErrorKind::Io);
        assert!(
            error.detail().contains("did not finish within 0.05 s"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        // A write that ends in time gives its own answer.
        assert_eq!(
            bounded_for(Duration::from_secs(10), "x", || Ok(7)).unwrap(),
            7
        );
    }

    #[test]
    fn a_path_is_a_ledger_nothing_or_refused() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing");
        assert!(matches!(ledger_at(&missing), Ok(LedgerAt::Nothing)));
        let empty = directory.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(ledger_at(&empty), Ok(LedgerAt::Nothing)));
        let other = directory.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("days.csv"), "x").unwrap();
        let error = ledger_at(&other).err().expect("refused");
        assert_eq!(error.kind(), ErrorKind::Input);
        assert!(error.detail().contains("\"days.csv\""), "{error}");
        let error = SledStore::open(&missing, false).err().expect("no ledger");
        assert_eq!(error.kind(), ErrorKind::NoLedger);
        assert!(!missing.exists());
        let store = SledStore::open(&missing, true).unwrap();
        assert!(store.created());
        drop(store);
        assert!(matches!(ledger_at(&missing), Ok(LedgerAt::Ledger)));
        assert!(!SledStore::open(&missing, false).unwrap().created());
    }
}
