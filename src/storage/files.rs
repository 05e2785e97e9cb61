//! muster's own files in a ledger directory, beside the engine's: reading one at any
//! offset, replacing one whole and durably by rename, and [`FilesOnly`], the store a query
//! opens to read them without the engine or the lock.
//!
//! Owns: [`LedgerFile`], `replace_ledger_file`, [`FilesOnly`], [`directory_bytes`] (the disk a
//! ledger uses, for `muster info`).
//! Must not: interpret the bytes (that is `derived`, `names`, `anchor`).

use std::path::Path;

use crate::error::{ledger_path_text, Error, ErrorKind, Result};
use crate::storage::store::{FileWriter, KeyValue, ReadAt, SideFile, Space, Store, ANCHOR_FILE};

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

/// The anchor file of the ledger directory `directory`; `None` when there is none.
pub(crate) fn read_anchor_in(directory: &Path) -> Result<Option<Vec<u8>>> {
    let path = directory.join(ANCHOR_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(&path, &error)),
    }
}

/// One of muster's own files in the ledger directory `directory`, open for reading.
pub(crate) fn open_file_in(directory: &Path, file: SideFile) -> Result<Option<Box<dyn ReadAt>>> {
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
    let fresh = new_file_path(path);
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

/// Removes `path` and its unfinished replacement (`.new`), then syncs the directory, so
/// that neither comes back after a crash.
pub(crate) fn remove_ledger_file(directory: &Path, path: &Path) -> Result<()> {
    let fresh = new_file_path(path);
    for doomed in [&fresh, path] {
        match std::fs::remove_file(doomed) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::io(doomed, &error)),
        }
    }
    std::fs::File::open(directory)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| Error::io(directory, &error))
}

/// Where [`replace_ledger_file`] writes the replacement of `path` before the rename.
fn new_file_path(path: &Path) -> std::path::PathBuf {
    path.with_extension(match path.extension() {
        Some(extension) => format!("{}.new", extension.to_string_lossy()),
        None => "new".to_string(),
    })
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

    fn remove_file(&self, _: SideFile) -> Result<()> {
        Err(self.no_engine())
    }
}

/// Bytes of every file under `directory`, however deep.
pub fn directory_bytes(directory: &Path) -> Result<u64> {
    let mut total = 0u64;
    let entries = std::fs::read_dir(directory).map_err(|e| Error::io(directory, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(directory, &e))?;
        let path = entry.path();
        let metadata = entry.metadata().map_err(|e| Error::io(&path, &e))?;
        total += if metadata.is_dir() {
            directory_bytes(&path)?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}
