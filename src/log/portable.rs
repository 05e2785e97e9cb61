//! The portable log: commits as JSON lines, for backups and for catching one ledger up
//! with another.
//!
//! Owns: the JSON-lines shape of a commit (`docs/portable-log.md`): [`line()`] writes one,
//! [`parse_line`] reads one back with the hash it claims.
//! Must not: read files or touch a ledger (`import::portable` reads and checks a whole
//! file, `ledger::replay` appends it), or make new commits: a replayed commit keeps its
//! sequence number, time and hashes.
//!
//! The format is ours and independent of sled and bincode, so a ledger can be moved to
//! another storage engine by exporting and importing.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::log::commit::{
    Commit, GroupRecord, MemberFact, SubgroupFact, COMMIT_VERSIONS, COMMIT_VERSION_1,
};
use crate::log::hash::Hash;
use crate::log::hash::{from_hex, hex};
use crate::log::personal::{Field, PersonalRecord, PersonalValue, Salt, Subject, SALT_BYTES};
use crate::log::source::{Source, SourceFile, SourceKind};
use crate::model::{Change, Date, GroupId, MemberId};

/// The version of the portable format written today: each line names its commit's body
/// version (`format_version`), because the hash a reader recomputes depends on it.
pub const PORTABLE_VERSION: u32 = 2;
/// The first portable version, still read: its lines have no `format_version` and were
/// all written when every commit had body version 1.
pub const PORTABLE_VERSION_1: u32 = 1;
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
    /// The personal values the commit sets (body version 3): each record's digest, with
    /// the value and its salt unless the value was erased (or lost) when the line was
    /// written. Absent when the commit sets none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    personal: Vec<PortablePersonal>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortablePersonal {
    /// `member` or `group`.
    subject: String,
    id: String,
    field: String,
    digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
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
    /// Subgroup facts (body version 3); absent when the group has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    subgroups: Vec<PortableSubgroupFact>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableSubgroupFact {
    subgroup: GroupId,
    date: String,
    /// `include`, `exclude` or `end`.
    change: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortableFact {
    member: MemberId,
    date: String,
    change: String,
}

fn dates_text(dates: &[Date]) -> Vec<String> {
    dates.iter().map(Date::to_string).collect()
}

fn to_portable(commit: &Commit, hash: &Hash, values: &[PersonalValue]) -> Result<PortableCommit> {
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
                subgroups: group
                    .subgroups
                    .iter()
                    .map(|fact| PortableSubgroupFact {
                        subgroup: fact.subgroup.clone(),
                        date: fact.date.to_string(),
                        change: fact.change.subgroup_str().to_string(),
                    })
                    .collect(),
            })
            .collect(),
        erased: commit.erased.clone(),
        personal: commit
            .personal
            .iter()
            .map(|record| {
                let value = values
                    .iter()
                    .find(|value| value.subject == record.subject && value.field == record.field)
                    .filter(|value| value.digest() == record.digest);
                PortablePersonal {
                    subject: record.subject.kind_name().to_string(),
                    id: record.subject.id().to_string(),
                    field: record.field.as_str().to_string(),
                    digest: hex(&record.digest),
                    salt: value.map(|value| hex(&value.salt)),
                    value: value.map(|value| value.value.clone()),
                }
            })
            .collect(),
    })
}

fn parse_hash(text: &str, what: &str) -> std::result::Result<Hash, String> {
    from_hex(text).ok_or_else(|| format!("{what} is not {HASH_HEX_CHARS} hex digits"))
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

/// One commit as a line of JSON (without the newline), carrying those of `values` that
/// match the commit's personal records (an erased or lost value is simply not given).
pub fn line(commit: &Commit, hash: &Hash, values: &[PersonalValue]) -> Result<String> {
    serde_json::to_string(&to_portable(commit, hash, values)?)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write JSON: {e}")))
}

/// A parsed line: the commit, the hash it claims, and the personal values it carries
/// (each checked against its record's digest).
pub type ParsedLine = (Commit, Hash, Vec<PersonalValue>);

/// Parses one line's text into the commit, the hash it claims and the values it carries;
/// the error says what is wrong with the line (the caller names the place).
pub fn parse_line(text: &str) -> std::result::Result<ParsedLine, String> {
    let parsed: PortableCommit =
        serde_json::from_str(text).map_err(|e| format!("not a portable commit: {e}"))?;
    from_portable(parsed)
}

/// Turns a parsed line back into the commit and the hash it claims.
fn from_portable(line: PortableCommit) -> std::result::Result<ParsedLine, String> {
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
                            .ok_or_else(|| {
                                format!("{:?} is not join, leave or exclude", fact.change)
                            })?,
                        member: fact.member,
                    })
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            let subgroups = group
                .subgroups
                .into_iter()
                .map(|fact| {
                    Ok(SubgroupFact {
                        date: parse_date(&fact.date)?,
                        change: Change::parse_subgroup(&fact.change).ok_or_else(|| {
                            format!("{:?} is not include, exclude or end", fact.change)
                        })?,
                        subgroup: fact.subgroup,
                    })
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            Ok(GroupRecord {
                group: group.group,
                observed: parse_dates(&group.observed)?,
                facts,
                ended: parse_dates(&group.ended)?,
                reopened: parse_dates(&group.reopened)?,
                subgroups,
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let (personal, values) = parse_personal(line.personal)?;
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
        personal,
    };
    let claimed = parse_hash(&line.hash, "hash")?;
    Ok((commit, claimed, values))
}

/// The personal records of a line, and the values it carries, each checked against its
/// digest: a value that does not match is refused, never stored.
fn parse_personal(
    personal: Vec<PortablePersonal>,
) -> std::result::Result<(Vec<PersonalRecord>, Vec<PersonalValue>), String> {
    let mut records = Vec::with_capacity(personal.len());
    let mut values = Vec::new();
    for item in personal {
        let kind = match item.subject.as_str() {
            "member" => crate::log::personal::MEMBER_SUBJECT,
            "group" => crate::log::personal::GROUP_SUBJECT,
            other => return Err(format!("{other:?} is not a subject kind (member or group)")),
        };
        let subject = Subject::from_parts(kind, &item.id)
            .ok_or_else(|| format!("{:?} is not a valid {} id", item.id, item.subject))?;
        let field = Field::from_name(&item.field)
            .ok_or_else(|| format!("{:?} is not a personal field", item.field))?;
        let digest = parse_hash(&item.digest, "a personal value's digest")?;
        match (item.salt, item.value) {
            (Some(salt), Some(value)) => {
                let salt = parse_salt(&salt)?;
                let value = PersonalValue {
                    subject: subject.clone(),
                    field,
                    salt,
                    value,
                };
                if value.digest() != digest {
                    return Err(format!(
                        "the {} of {subject} does not match its digest",
                        field.as_str()
                    ));
                }
                values.push(value);
            }
            (None, None) => {}
            _ => {
                return Err(format!(
                    "the {} of {subject} has a salt or a value but not both",
                    field.as_str()
                ))
            }
        }
        records.push(PersonalRecord {
            subject,
            field,
            digest,
        });
    }
    Ok((records, values))
}

fn parse_salt(text: &str) -> std::result::Result<Salt, String> {
    from_hex(text).ok_or_else(|| format!("a salt is not {} hex digits", 2 * SALT_BYTES))
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
