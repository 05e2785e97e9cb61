//! An SB export's files as bytes: read from a directory (required files must be there,
//! optional ones are read when present) or held in memory by tests and benchmarks.
//!
//! Owns: [`ExportFiles`].
//! Must not: parse the files.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Place, Result};
use crate::import::sb::{OPTIONAL_FILES, REQUIRED_FILES};
use crate::import::table::Stream;
use crate::import::text::decode;
use crate::log::source::SourceFile;

/// An export's files as bytes, by file name, and the directory they came from (for error
/// messages). Kept in memory so that tests and benchmarks can read generated exports
/// without touching the disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportFiles {
    pub dir: PathBuf,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ExportFiles {
    /// Reads the required files (a missing one is an error naming it) and the optional
    /// ones that exist.
    pub fn read_dir(dir: &Path) -> Result<ExportFiles> {
        if crate::error::is_standard_stream(dir) {
            // Standard input is one stream of bytes; an export is several named files.
            return Err(Error::input(
                Place::file(dir),
                "an SB export is a directory of CSV files and cannot be read from \
                 standard input ('-'); give the export's directory",
            ));
        }
        if !dir.is_dir() {
            return Err(Error::input(
                Place::file(dir),
                "is not a directory (an SB export is a directory of CSV files)",
            ));
        }
        let mut files = BTreeMap::new();
        for name in REQUIRED_FILES {
            let path = dir.join(name);
            let bytes = read_bytes(&path)?
                .ok_or_else(|| Error::input(Place::file(&path), "no such file"))?;
            files.insert(name.to_string(), bytes);
        }
        for name in OPTIONAL_FILES {
            if let Some(bytes) = read_bytes(&dir.join(name))? {
                files.insert(name.to_string(), bytes);
            }
        }
        Ok(ExportFiles {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Writes every file into `dir`, creating it.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, &e))?;
        }
        Ok(())
    }

    /// A file's text (decoded, borrowed when it is UTF-8), or `None` when the export does
    /// not have it.
    pub(super) fn text(&self, name: &str) -> Result<Option<Cow<'_, str>>> {
        let Some(bytes) = self.files.get(name) else {
            return Ok(None);
        };
        if bytes.len() as u64 > crate::model::MAX_INPUT_BYTES {
            return Err(Error::new(
                crate::error::ErrorKind::Limit,
                format!(
                    "is larger than the limit of {} bytes",
                    crate::model::MAX_INPUT_BYTES
                ),
            )
            .at(Place::file(&self.dir.join(name))));
        }
        Ok(Some(decode(bytes)))
    }

    pub(super) fn required_text(&self, name: &str) -> Result<Cow<'_, str>> {
        self.text(name)?
            .ok_or_else(|| Error::input(Place::file(&self.dir.join(name)), "no such file"))
    }

    /// The rows of file `name`, whose text is `text`; a file with no rows is an error (a
    /// reference file with no rows is the wrong file, or a broken export).
    pub(super) fn stream<'t>(&self, name: &str, text: &'t str) -> Result<Stream<'t>> {
        let stream = self.stream_of_sessions(name, text)?;
        if stream.is_empty() {
            let path = self.dir.join(name);
            return Err(Error::input(
                Place::file(&path),
                "the file has a header but no rows",
            ));
        }
        Ok(stream)
    }

    /// The rows of a sessions file (`rtrwgroups.csv`, `rtrwpupils.csv`), which may have
    /// none: an export taken in a holiday week lists no sessions, and a week's sessions may
    /// list no pupils. Its header must still be there, with its columns.
    pub(super) fn stream_of_sessions<'t>(&self, name: &str, text: &'t str) -> Result<Stream<'t>> {
        Stream::open(&self.dir.join(name), text)
    }

    pub(super) fn sources(&self) -> Vec<SourceFile> {
        self.files
            .iter()
            .map(|(name, bytes)| SourceFile::new(name, bytes))
            .collect()
    }
}

/// A file's bytes through the input byte limit, or `None` when it does not exist.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, &e)),
        Ok(_) => {}
    }
    crate::import::text::read_bytes(path).map(Some)
}
