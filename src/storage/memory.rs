//! An in-memory store for tests, fuzzing and dry runs against a ledger that does not exist
//! yet: the same [`Store`] contract, nothing on disk.
//!
//! Owns: [`MemoryStore`].
//! Must not: be used by a ledger on disk.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::store::{FileWriter, KeyValue, ReadAt, SideFile, Space, Store};

type Spaces = BTreeMap<Space, BTreeMap<Vec<u8>, Vec<u8>>>;

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

    fn remove_file(&self, file: SideFile) -> Result<()> {
        self.set_file_bytes(file, None);
        Ok(())
    }
}
