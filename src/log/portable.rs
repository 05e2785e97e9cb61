//! The portable log: commits as JSON lines, for backups and for catching one ledger up
//! with another.
//!
//! Owns: the JSON-lines shape of a commit (`docs/portable-log.md`), [`Ledger::export_log`]
//! and [`Ledger::import_log`], and the checks an imported file must pass before anything
//! is written (each line's hash recomputed, no gap, no fork).
//! Must not: write to the store itself (appending goes through
//! [`Ledger::append_replayed`], which keeps the import's write/flush discipline), or make
//! new commits: a replayed commit keeps its sequence number, time and hashes.
//!
//! The format is ours and independent of sled and bincode, so a ledger can be moved to
//! another storage engine by exporting and importing.

use std::io::{BufRead, Write};
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Place, Result};
use crate::ledger::Ledger;
use crate::log::commit::{
    hex, Commit, GroupRecord, Hash, MemberFact, Source, SourceFile, SourceKind, COMMIT_VERSIONS,
    COMMIT_VERSION_1, GENESIS_HASH,
};
use crate::model::{Change, Date, GroupId, MemberId};

/// The version of the portable format written today: each line names its commit's body
/// version (`format_version`), because the hash a reader recomputes depends on it.
pub const PORTABLE_VERSION: u32 = 2;
/// The first portable version, still read: its lines have no `format_version` and were
/// all written when every commit had body version 1.
pub const PORTABLE_VERSION_1: u32 = 1;
/// Longest line accepted, in bytes. A commit of the largest import is far smaller in
/// bincode; a longer line is damage or not our file, and reading it whole would only
/// exhaust memory.
pub const MAX_PORTABLE_LINE_BYTES: u64 = 1 << 30;
/// Length of a hash or digest in hex characters.
const HASH_HEX_CHARS: usize = 64;

/// One line of the portable log.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableCommit {
    portable_version: u32,
    /// The commit's body version (`docs/format.md`); absent from portable version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format_version: Option<u16>,
    seq: u64,
    /// RFC 3339, UTC, milliseconds: `2021-03-01T12:00:00.000Z`.
    recorded_at: String,
    previous_hash: String,
    /// The commit's own hash; the reader recomputes it and refuses a mismatch.
    hash: String,
    source: PortableSource,
    groups: Vec<PortableGroup>,
    erased: Vec<MemberId>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableSource {
    kind: String,
    files: Vec<PortableFile>,
    /// Absent in lines written before options were kept: none.
    #[serde(default)]
    options: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableFile {
    name: String,
    digest: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableGroup {
    group: GroupId,
    observed: Vec<String>,
    facts: Vec<PortableFact>,
    ended: Vec<String>,
    reopened: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableFact {
    member: MemberId,
    date: String,
    change: String,
}

/// A portable log read and checked on its own (each line's shape and hash, and the chain
/// between lines), ready to be replayed into a ledger. Reading it needs no ledger, so a
/// bad file is refused before the ledger is even opened.
pub struct PortableLog {
    commits: Vec<(u64, Commit, Hash)>,
    origin: std::path::PathBuf,
}

impl PortableLog {
    /// Reads every line; `origin` names the file in errors.
    pub fn read(reader: &mut impl BufRead, origin: &Path) -> Result<PortableLog> {
        Ok(PortableLog {
            commits: read_all(reader, origin)?,
            origin: origin.to_path_buf(),
        })
    }

    /// Reads a file, refusing a directory or a missing file as bad input.
    pub fn read_file(path: &Path) -> Result<PortableLog> {
        crate::import::input::file_to_read(path)?;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        PortableLog::read(&mut std::io::BufReader::new(file), path)
    }
}

/// What [`Ledger::replay`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOutcome {
    /// Commits in the file.
    pub read: usize,
    /// Commits the ledger already held (same number, same hash).
    pub skipped: usize,
    /// Sequence numbers appended, in order.
    pub appended: Vec<u64>,
}

fn dates_text(dates: &[Date]) -> Vec<String> {
    dates.iter().map(Date::to_string).collect()
}

fn to_portable(commit: &Commit, hash: &Hash) -> Result<PortableCommit> {
    let recorded_at = DateTime::<Utc>::from_timestamp_millis(commit.recorded_at_ms)
        .ok_or_else(|| {
            Error::corrupt(format!(
                "commit {}: its time {} ms is out of range",
                commit.seq, commit.recorded_at_ms
            ))
        })?
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    Ok(PortableCommit {
        portable_version: PORTABLE_VERSION,
        format_version: Some(commit.format_version),
        seq: commit.seq,
        recorded_at,
        previous_hash: hex(&commit.previous_hash),
        hash: hex(hash),
        source: PortableSource {
            kind: commit.source.kind.as_str().to_string(),
            files: commit
                .source
                .files
                .iter()
                .map(|file| PortableFile {
                    name: file.name.clone(),
                    digest: hex(&file.digest),
                })
                .collect(),
            options: commit.source.options.clone(),
        },
        groups: commit
            .groups
            .iter()
            .map(|group| PortableGroup {
                group: group.group.clone(),
                observed: dates_text(&group.observed),
                facts: group
                    .facts
                    .iter()
                    .map(|fact| PortableFact {
                        member: fact.member.clone(),
                        date: fact.date.to_string(),
                        change: fact.change.as_str().to_string(),
                    })
                    .collect(),
                ended: dates_text(&group.ended),
                reopened: dates_text(&group.reopened),
            })
            .collect(),
        erased: commit.erased.clone(),
    })
}

fn parse_hash(text: &str, what: &str) -> std::result::Result<Hash, String> {
    if text.len() != HASH_HEX_CHARS || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{what} is not {HASH_HEX_CHARS} hex digits"));
    }
    let mut hash = [0u8; 32];
    for (index, byte) in hash.iter_mut().enumerate() {
        // Checked just above: ASCII hex digits, so the slice is on char boundaries.
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16)
            .map_err(|_| format!("{what} is not hex"))?;
    }
    Ok(hash)
}

/// Dates must be written exactly `YYYY-MM-DD`, so that the text maps to one date only.
fn parse_date(text: &str) -> std::result::Result<Date, String> {
    match Date::parse(text) {
        Ok(date) if date.to_string() == text => Ok(date),
        _ => Err(format!("{text:?} is not a date written YYYY-MM-DD")),
    }
}

fn parse_dates(texts: &[String]) -> std::result::Result<Vec<Date>, String> {
    texts.iter().map(|text| parse_date(text)).collect()
}

/// The commit body version a line's commit has: named by a portable version 2 line, always
/// 1 for a portable version 1 line.
fn body_version(line: &PortableCommit) -> std::result::Result<u16, String> {
    match (line.portable_version, line.format_version) {
        (PORTABLE_VERSION_1, None) => Ok(COMMIT_VERSION_1),
        (PORTABLE_VERSION_1, Some(_)) => Err(format!(
            "a portable version {PORTABLE_VERSION_1} line has no format_version"
        )),
        (PORTABLE_VERSION, Some(version)) if COMMIT_VERSIONS.contains(&version) => Ok(version),
        (PORTABLE_VERSION, Some(version)) => Err(format!(
            "commit body version {version} is not one this muster reads"
        )),
        (PORTABLE_VERSION, None) => Err(format!(
            "a portable version {PORTABLE_VERSION} line must name its format_version"
        )),
        (other, _) => Err(format!(
            "portable format version {other}; this muster reads version {PORTABLE_VERSION_1} \
             or {PORTABLE_VERSION}"
        )),
    }
}

/// Turns a parsed line back into the commit and the hash it claims.
fn from_portable(line: PortableCommit) -> std::result::Result<(Commit, Hash), String> {
    let format_version = body_version(&line)?;
    let recorded_at_ms = DateTime::parse_from_rfc3339(&line.recorded_at)
        .map_err(|e| format!("recorded_at {:?}: {e}", line.recorded_at))?
        .timestamp_millis();
    // One spelling only (UTC, milliseconds), so that the text maps to one instant.
    let canonical = DateTime::<Utc>::from_timestamp_millis(recorded_at_ms)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true));
    if canonical.as_deref() != Some(line.recorded_at.as_str()) {
        return Err(format!(
            "recorded_at {:?} is not RFC 3339 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ)",
            line.recorded_at
        ));
    }
    let kind = SourceKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == line.source.kind)
        .ok_or_else(|| format!("unknown source kind {:?}", line.source.kind))?;
    let files = line
        .source
        .files
        .into_iter()
        .map(|file| {
            Ok(SourceFile {
                digest: parse_hash(&file.digest, "a source digest")?,
                name: file.name,
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let groups = line
        .groups
        .into_iter()
        .map(|group| {
            let facts = group
                .facts
                .into_iter()
                .map(|fact| {
                    Ok(MemberFact {
                        date: parse_date(&fact.date)?,
                        change: Change::parse(&fact.change)
                            .filter(|change| change.as_str() == fact.change)
                            .ok_or_else(|| format!("{:?} is not join or leave", fact.change))?,
                        member: fact.member,
                    })
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            Ok(GroupRecord {
                group: group.group,
                observed: parse_dates(&group.observed)?,
                facts,
                ended: parse_dates(&group.ended)?,
                reopened: parse_dates(&group.reopened)?,
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let commit = Commit {
        format_version,
        seq: line.seq,
        recorded_at_ms,
        previous_hash: parse_hash(&line.previous_hash, "previous_hash")?,
        source: Source {
            kind,
            files,
            options: line.source.options,
        },
        groups,
        erased: line.erased,
    };
    let claimed = parse_hash(&line.hash, "hash")?;
    Ok((commit, claimed))
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
fn read_all(reader: &mut impl BufRead, origin: &Path) -> Result<Vec<(u64, Commit, Hash)>> {
    let mut commits: Vec<(u64, Commit, Hash)> = Vec::new();
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
        let parsed: PortableCommit = serde_json::from_str(text)
            .map_err(|e| Error::input(place.clone(), format!("not a portable commit: {e}")))?;
        let (commit, claimed) =
            from_portable(parsed).map_err(|e| Error::input(place.clone(), e))?;
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
        commits.push((line_number, commit, hash));
    }
    Ok(commits)
}

impl Ledger {
    /// Writes the commits after `since` (all when `None`) as JSON lines, oldest first.
    /// Returns how many were written.
    pub fn export_log(&self, since: Option<u64>, writer: &mut dyn Write) -> Result<usize> {
        let after = since.unwrap_or(0);
        let mut written = 0;
        for item in self.commits() {
            let (commit, hash) = item?;
            if commit.seq <= after {
                continue;
            }
            let line = serde_json::to_string(&to_portable(&commit, &hash)?)
                .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write JSON: {e}")))?;
            writeln!(writer, "{line}")
                .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the log: {e}")))?;
            written += 1;
        }
        writer
            .flush()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the log: {e}")))?;
        Ok(written)
    }

    /// Replays a portable log. Commits the ledger already holds are skipped; the rest must
    /// continue this ledger's chain. The whole file is checked before anything is
    /// written; `origin` names the file in errors.
    pub fn import_log(
        &mut self,
        reader: &mut impl BufRead,
        origin: &Path,
    ) -> Result<ReplayOutcome> {
        let log = PortableLog::read(reader, origin)?;
        self.replay(&log)
    }

    /// Appends the commits of `log` this ledger lacks, after checking every one against
    /// the ledger (skipped, new, or refused as a fork or a gap) before writing any.
    pub fn replay(&mut self, log: &PortableLog) -> Result<ReplayOutcome> {
        let (commits, origin) = (&log.commits, log.origin.as_path());
        let mut outcome = ReplayOutcome {
            read: commits.len(),
            skipped: 0,
            appended: Vec::new(),
        };
        // Decide for every line before writing: present, new, or refused.
        let mut head = self.head_seq();
        let mut head_hash = self.head_hash();
        let mut new_from = commits.len();
        for (index, (line_number, commit, hash)) in commits.iter().enumerate() {
            let place = Place::file(origin).line(*line_number);
            if commit.seq <= self.head_seq() {
                let (_, ours) = self.commit_at(commit.seq)?;
                if ours != *hash {
                    return Err(Error::input(
                        place,
                        format!(
                            "commit {} differs from this ledger's commit {} (the logs have \
                             forked); nothing was imported",
                            commit.seq, commit.seq
                        ),
                    ));
                }
                outcome.skipped += 1;
                continue;
            }
            if commit.seq > head + 1 {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {} would leave a gap: this ledger ends at commit {head}; \
                         export with --since {head}; nothing was imported",
                        commit.seq
                    ),
                ));
            }
            if commit.previous_hash != head_hash {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {} does not follow this ledger's commit {head} (the logs have \
                         forked); nothing was imported",
                        commit.seq
                    ),
                ));
            }
            new_from = new_from.min(index);
            head = commit.seq;
            head_hash = *hash;
        }
        // Every new commit must also apply cleanly to the derived state.
        self.check_replay(commits[new_from..].iter().map(|(_, commit, _)| commit))?;
        for (_, commit, _) in &commits[new_from..] {
            self.append_replayed(commit)?;
            outcome.appended.push(commit.seq);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_back() {
        let hash = [0xab; 32];
        assert_eq!(parse_hash(&hex(&hash), "hash"), Ok(hash));
        assert!(parse_hash("ab", "hash").is_err());
        assert!(parse_hash(&"zz".repeat(32), "hash").is_err());
    }

    #[test]
    fn dates_must_be_written_one_way() {
        assert!(parse_date("2021-03-01").is_ok());
        assert!(parse_date("2021-3-1").is_err());
        assert!(parse_date(" 2021-03-01").is_err());
    }

    #[test]
    fn every_source_kind_reads_back() {
        for kind in SourceKind::ALL {
            assert_eq!(
                SourceKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind.as_str()),
                Some(kind)
            );
        }
    }
}
