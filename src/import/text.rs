//! Reading an input file's bytes and decoding them to text.
//!
//! Owns: [`file_to_read`] (a missing file, a directory, a device or a FIFO is bad input,
//! named), [`read_bytes`] (every input's bytes, read through [`MAX_INPUT_BYTES`] whatever
//! the file is), [`read_text`] (a BOM, UTF-8 else Windows-1252, the source record with the
//! bytes' digest; `-` is standard input, through the same limit), [`decode`].
//! Must not: interpret the text (that is `table` and the readers).

use std::borrow::Cow;
use std::io::Read as _;
use std::path::Path;

use crate::error::{is_standard_stream, Error, ErrorKind, Place, Result, STANDARD_INPUT_NAME};
use crate::log::source::SourceFile;
use crate::model::MAX_INPUT_BYTES;

/// A file's bytes decoded to text, and the source record that names it in a commit.
pub struct Text {
    pub text: String,
    pub source: SourceFile,
}

/// The metadata of an input file (symbolic links followed). A missing file, a directory,
/// and anything but a regular file (a device such as `/dev/zero`, a FIFO, a socket) is bad
/// input, named: a device never ends and a FIFO with no writer blocks for ever on open, so
/// neither is ever opened.
pub fn file_to_read(path: &Path) -> Result<std::fs::Metadata> {
    let place = Place::file(path);
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(place.clone(), "no such file"),
        _ => Error::io(path, &e),
    })?;
    if metadata.is_dir() {
        return Err(Error::input(place, "is a directory, not a file"));
    }
    if !metadata.is_file() {
        return Err(Error::input(
            place,
            "is not a regular file (a device, a FIFO or a socket); give a file",
        ));
    }
    Ok(metadata)
}

fn too_large(path: &Path) -> Error {
    Error::new(
        ErrorKind::Limit,
        format!("is larger than the limit of {MAX_INPUT_BYTES} bytes"),
    )
    .at(Place::file(path))
}

/// Reads a whole input file through [`MAX_INPUT_BYTES`]: only a regular file is opened
/// ([`file_to_read`]), and then at most one byte past the limit is read whatever the file
/// turns out to be (a file swapped or growing after the check), so memory stays bounded.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let metadata = file_to_read(path)?;
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large(path));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    // The opened file itself must still be a regular file.
    let opened = file.metadata().map_err(|e| Error::io(path, &e))?;
    if !opened.is_file() {
        return Err(Error::input(
            Place::file(path),
            "is not a regular file (a device, a FIFO or a socket); give a file",
        ));
    }
    // The length is at most `MAX_INPUT_BYTES`, which fits a `usize` (see limits.rs).
    let mut bytes = Vec::with_capacity(opened.len().min(MAX_INPUT_BYTES) as usize);
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, &e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(path));
    }
    Ok(bytes)
}

/// Reads a whole file through [`read_bytes`]; strips a UTF-8 byte-order mark; reads UTF-8,
/// and falls back to Windows-1252 for files that are not valid UTF-8 (the encodings SB
/// exports are seen in). `-` reads standard input, through the same limit, named
/// `<stdin>` in errors and in the commit's source.
pub fn read_text(path: &Path) -> Result<Text> {
    let (bytes, name) = if is_standard_stream(path) {
        let bytes = read_limited(&mut std::io::stdin().lock(), MAX_INPUT_BYTES)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{STANDARD_INPUT_NAME}: {e}")))?
            .ok_or_else(|| too_large(path))?;
        (bytes, STANDARD_INPUT_NAME.to_string())
    } else {
        let bytes = read_bytes(path)?;
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        (bytes, name)
    };
    let source = SourceFile::new(&name, &bytes);
    Ok(Text {
        text: decode_text(&bytes),
        source,
    })
}

/// Reads a stream whole, or `None` when it holds more than `limit` bytes: a stream has no
/// length to ask for first, and one byte past the limit is enough to know, without holding
/// more of it.
fn read_limited(reader: &mut impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_read_through_the_limit() {
        let read = |bytes: &[u8], limit| read_limited(&mut &bytes[..], limit).unwrap();
        assert_eq!(read(b"abcd", 4), Some(b"abcd".to_vec()));
        assert_eq!(read(b"abcde", 4), None);
        assert_eq!(read(b"", 0), Some(Vec::new()));
        assert_eq!(read(b"a", 0), None);
    }
}
