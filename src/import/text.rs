//! Reading an input file's bytes and decoding them to text.
//!
//! Owns: [`file_to_read`] (a missing file or a directory is bad input, named),
//! [`read_text`] (the size limit, a BOM, UTF-8 else Windows-1252, the source record with
//! the bytes' digest), [`decode`].
//! Must not: interpret the text (that is `table` and the readers).

use std::borrow::Cow;
use std::path::Path;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::log::source::SourceFile;
use crate::model::MAX_INPUT_BYTES;

/// A file's bytes decoded to text, and the source record that names it in a commit.
pub struct Text {
    pub text: String,
    pub source: SourceFile,
}

/// The metadata of an input file; a missing file or a directory is bad input, named.
pub fn file_to_read(path: &Path) -> Result<std::fs::Metadata> {
    let place = Place::file(path);
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(place.clone(), "no such file"),
        _ => Error::io(path, &e),
    })?;
    if metadata.is_dir() {
        return Err(Error::input(place, "is a directory, not a file"));
    }
    Ok(metadata)
}

/// Reads a whole file: refuses directories and files over [`MAX_INPUT_BYTES`]; strips a
/// UTF-8 byte-order mark; reads UTF-8, and falls back to Windows-1252 for files that are
/// not valid UTF-8 (the encodings SB exports are seen in).
pub fn read_text(path: &Path) -> Result<Text> {
    let place = Place::file(path);
    let metadata = file_to_read(path)?;
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("is larger than the limit of {MAX_INPUT_BYTES} bytes"),
        )
        .at(place));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let source = SourceFile::new(&name, &bytes);
    Ok(Text {
        text: decode_text(&bytes),
        source,
    })
}

/// UTF-8 (with or without a BOM), else Windows-1252.
pub fn decode_text(bytes: &[u8]) -> String {
    decode(bytes).into_owned()
}

/// As [`decode_text`], borrowing the bytes when they are UTF-8 (no copy of a large file).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}
