//! Reading a portable log file (`muster export log`'s JSON lines) and checking it on its
//! own, before any ledger is opened.
//!
//! Owns: [`PortableLog`]: every line parsed through a byte limit, each commit's own
//! invariants and hash recomputed, and the chain between lines.
//! Must not: consult a ledger (`ledger::replay` decides which commits are new, and refuses
//! gaps and forks), or make commits.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::log::commit::{Commit, GENESIS_HASH};
use crate::log::hash::hex;
use crate::log::hash::Hash;
use crate::log::personal::PersonalValue;
use crate::log::portable::parse_line;
use crate::model::MAX_PORTABLE_LINE_BYTES;

/// A portable log read and checked on its own (each line's shape and hash, and the chain
/// between lines), ready to be replayed into a ledger. Reading it needs no ledger, so a
/// bad file is refused before the ledger is even opened.
pub struct PortableLog {
    /// Each commit with the line it was read from, and its hash.
    pub commits: Vec<(u64, Commit, Hash)>,
    /// The personal values each line carries (checked against their digests), by commit
    /// number.
    pub values: BTreeMap<u64, Vec<PersonalValue>>,
    /// The file read, for errors.
    pub origin: std::path::PathBuf,
}

impl PortableLog {
    /// Reads every line; `origin` names the file in errors.
    pub fn read(reader: &mut impl BufRead, origin: &Path) -> Result<PortableLog> {
        let (commits, values) = read_all(reader, origin)?;
        Ok(PortableLog {
            commits,
            values,
            origin: origin.to_path_buf(),
        })
    }

    /// Reads a file, refusing a directory, a device, a FIFO or a missing file as bad
    /// input; `-` reads standard input. Each line is read through
    /// [`MAX_PORTABLE_LINE_BYTES`].
    pub fn read_file(path: &Path) -> Result<PortableLog> {
        if crate::error::is_standard_stream(path) {
            return PortableLog::read(&mut std::io::stdin().lock(), path);
        }
        crate::import::text::file_to_read(path)?;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        PortableLog::read(&mut std::io::BufReader::new(file), path)
    }
}

/// Reads one line of at most [`MAX_PORTABLE_LINE_BYTES`]; `None` at the end.
fn read_line(reader: &mut impl BufRead, place: &Place) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = std::io::Read::take(&mut *reader, MAX_PORTABLE_LINE_BYTES + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::new(ErrorKind::Io, format!("{place}: {e}")))?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() as u64 > MAX_PORTABLE_LINE_BYTES {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("a line is longer than {MAX_PORTABLE_LINE_BYTES} bytes"),
        )
        .at(place.clone()));
    }
    Ok(Some(line))
}

/// Parses and checks every line: JSON shape, the commit's own invariants, the stored hash
/// against one recomputed, and that each line follows the one before it.
type Lines = (Vec<(u64, Commit, Hash)>, BTreeMap<u64, Vec<PersonalValue>>);

fn read_all(reader: &mut impl BufRead, origin: &Path) -> Result<Lines> {
    let mut commits: Vec<(u64, Commit, Hash)> = Vec::new();
    let mut values = BTreeMap::new();
    let mut line_number = 0u64;
    loop {
        line_number += 1;
        let place = Place::file(origin).line(line_number);
        let Some(bytes) = read_line(reader, &place)? else {
            break;
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::input(place.clone(), "the line is not valid UTF-8"))?;
        if text.trim().is_empty() {
            continue; // a blank line (a trailing newline, say) carries nothing
        }
        let (commit, claimed, carried) =
            parse_line(text).map_err(|e| Error::input(place.clone(), e))?;
        commit
            .check()
            .map_err(|e| Error::input(place.clone(), e.detail()))?;
        let hash = commit
            .hash()
            .map_err(|e| Error::input(place.clone(), e.detail()))?;
        if hash != claimed {
            return Err(Error::input(
                place,
                format!(
                    "commit {}: the stored hash does not match the commit (recomputed {})",
                    commit.seq,
                    hex(&hash)
                ),
            ));
        }
        if let Some((_, previous, previous_hash)) = commits.last() {
            if commit.seq != previous.seq + 1 {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {} follows commit {} (the file must hold consecutive commits)",
                        commit.seq, previous.seq
                    ),
                ));
            }
            if commit.previous_hash != *previous_hash {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {}: its previous_hash is not the hash of the line before",
                        commit.seq
                    ),
                ));
            }
        } else if commit.seq == 1 && commit.previous_hash != GENESIS_HASH {
            return Err(Error::input(
                place,
                "commit 1 must name the genesis hash (all zeros) as its previous_hash",
            ));
        }
        if !carried.is_empty() {
            values.insert(commit.seq, carried);
        }
        commits.push((line_number, commit, hash));
    }
    Ok((commits, values))
}
