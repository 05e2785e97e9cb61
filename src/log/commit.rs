//! The log record: one [`Commit`] per import, and the bytes it is stored as.
//!
//! Owns: the commit's shape, its canonical order, the envelope (magic, format version,
//! length, CRC-32), which body version a commit is encoded in (the body codecs live in
//! `body_v1`, `body_v2` and `body_v3`), and the hash chain (SHA-256 of the body, which carries the
//! previous commit's hash).
//! Must not: decide which facts to record (that is `plan`), or touch storage.
//!
//! `docs/format.md` describes every byte. A commit is checked right before it is encoded
//! and right after it is decoded.

mod body_v1;
mod body_v2;
mod body_v3;
mod nesting_section;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::log::hash::Hash;
use crate::log::personal::PersonalRecord;
use crate::log::seal::{seal_versioned, unseal_versioned, Magic};
use crate::log::source::Source;
use crate::model::{
    Change, Date, GroupId, MemberId, MAX_COMMITS, MAX_FACTS_PER_COMMIT, MAX_ID_BYTES,
    MAX_PERSONAL_VALUES_PER_COMMIT, MAX_SOURCE_FILES, MAX_SOURCE_NAME_BYTES, MAX_SOURCE_OPTIONS,
    MAX_SOURCE_OPTION_BYTES,
};

/// Commit body version 1: bincode over serde, every fact naming its member in full. Read,
/// and re-encoded for a commit decoded from it (its hash must never change), but never
/// written for a new commit.
pub const COMMIT_VERSION_1: u16 = 1;
/// Commit body version 2: a per-commit member dictionary, each fact naming its member by
/// index into it.
pub const COMMIT_VERSION_2: u16 = 2;
/// Commit body version 3: sections (kind, length, bytes), so that later content (nesting
/// facts, an interned id dictionary) is a new section kind, not a new body version. Its
/// personal-data section records salted digests of names, and erasures.
pub const COMMIT_VERSION_3: u16 = 3;
/// The body version new commits are written in.
pub const COMMIT_VERSION: u16 = COMMIT_VERSION_3;
/// Every commit body version this muster reads (see docs/format.md for how a later
/// version upgrades).
pub const COMMIT_VERSIONS: [u16; 3] = [COMMIT_VERSION_1, COMMIT_VERSION_2, COMMIT_VERSION_3];

/// The hash the first commit names as its predecessor.
pub const GENESIS_HASH: Hash = [0; 32];

/// One member's fact inside a [`GroupRecord`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MemberFact {
    pub member: MemberId,
    pub date: Date,
    pub change: Change,
}

/// One subgroup's fact inside a [`GroupRecord`]: on `date` the group includes (`Join`),
/// excludes (`Exclude`) or stops naming (`Leave`, written `end`) `subgroup`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SubgroupFact {
    pub subgroup: GroupId,
    pub date: Date,
    pub change: Change,
}

/// Everything one commit records about one group: the dates it was observed on, and its
/// facts.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GroupRecord {
    pub group: GroupId,
    /// Dates on which the group's whole membership was observed and that were not
    /// observed before. Sorted, no repeats.
    pub observed: Vec<Date>,
    /// Sorted by (member, date); at most one fact per (member, date).
    pub facts: Vec<MemberFact>,
    /// Observed dates that this commit marks as the group's end. Sorted, no repeats.
    pub ended: Vec<Date>,
    /// Ends taken back by this commit (dates re-observed as not an end). Sorted, no
    /// repeats, none also in `ended`.
    pub reopened: Vec<Date>,
    /// Subgroup facts (body version 3's nesting section). Sorted by (subgroup, date); at
    /// most one per (subgroup, date); never the group itself.
    #[serde(skip)]
    pub subgroups: Vec<SubgroupFact>,
}

impl GroupRecord {
    /// A record of `group` holding nothing yet.
    pub fn new(group: GroupId) -> GroupRecord {
        GroupRecord {
            group,
            observed: Vec::new(),
            facts: Vec::new(),
            ended: Vec::new(),
            reopened: Vec::new(),
            subgroups: Vec::new(),
        }
    }

    /// Whether the record holds nothing.
    pub fn is_empty(&self) -> bool {
        self.observed.is_empty()
            && self.facts.is_empty()
            && self.ended.is_empty()
            && self.reopened.is_empty()
            && self.subgroups.is_empty()
    }

    /// Whether the record holds anything only body version 3's nesting section can: a
    /// member's exclusion or a subgroup fact.
    pub fn has_nesting(&self) -> bool {
        !self.subgroups.is_empty() || self.facts.iter().any(|f| f.change == Change::Exclude)
    }
}

/// One log record: all that one import recorded.
///
/// The serde derive is the version-1 body (`body_v1`); version 2 is written by hand.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Commit {
    /// The body version this commit is stored in: [`COMMIT_VERSION`] for a new commit, the
    /// envelope's version for a decoded one. Not itself in the body (the envelope carries
    /// it), but it decides the body's bytes and so the commit's hash, which is why a
    /// decoded commit keeps its version when it is written again (a replayed backup).
    #[serde(skip, default = "body_v1::version")]
    pub format_version: u16,
    /// 1 for the first commit, then each one more.
    pub seq: u64,
    /// When the commit was made: UTC milliseconds since 1970-01-01.
    pub recorded_at_ms: i64,
    /// The hash of commit `seq - 1`, or [`GENESIS_HASH`].
    pub previous_hash: Hash,
    pub source: Source,
    /// Sorted by group, no repeats.
    pub groups: Vec<GroupRecord>,
    /// Members whose personal data was erased by this commit (values live in the vault,
    /// outside the log; the log only says that it was done). Sorted, no repeats.
    pub erased: Vec<MemberId>,
    /// Personal values this commit sets, each as a salted digest (the value and its salt
    /// live in the vault). Sorted by (subject, field), no repeats. Version 3 only.
    #[serde(skip)]
    pub personal: Vec<PersonalRecord>,
}

impl Commit {
    pub fn fact_count(&self) -> usize {
        self.groups.iter().map(|group| group.facts.len()).sum()
    }

    /// How many subgroup facts the commit records.
    pub fn subgroup_fact_count(&self) -> usize {
        self.groups.iter().map(|group| group.subgroups.len()).sum()
    }

    /// Whether the commit records a member's exclusion or a subgroup fact.
    pub fn has_nesting(&self) -> bool {
        self.groups.iter().any(GroupRecord::has_nesting)
    }

    pub fn observed_count(&self) -> usize {
        self.groups.iter().map(|group| group.observed.len()).sum()
    }

    /// Puts groups, observed dates and facts in canonical order, so the same content
    /// always encodes to the same bytes.
    pub fn canonicalize(&mut self) {
        self.groups.sort_by(|a, b| a.group.cmp(&b.group));
        for group in &mut self.groups {
            for dates in [&mut group.observed, &mut group.ended, &mut group.reopened] {
                dates.sort();
                dates.dedup();
            }
            group
                .facts
                .sort_by(|a, b| (&a.member, a.date).cmp(&(&b.member, b.date)));
            group
                .subgroups
                .sort_by(|a, b| (&a.subgroup, a.date).cmp(&(&b.subgroup, b.date)));
        }
        self.erased.sort();
        self.erased.dedup();
        self.personal
            .sort_by(|a, b| (&a.subject, a.field).cmp(&(&b.subject, b.field)));
        self.personal
            .dedup_by(|a, b| (&a.subject, a.field) == (&b.subject, b.field));
    }

    /// The commit's invariants; checked before encoding and after decoding.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::corrupt(format!("commit {}: {what}", self.seq)));
        if !COMMIT_VERSIONS.contains(&self.format_version) {
            return bad(format!(
                "body version {} is not one this muster knows",
                self.format_version
            ));
        }
        if self.seq == 0 || self.seq > MAX_COMMITS {
            return bad(format!("sequence number outside 1..={MAX_COMMITS}"));
        }
        if self.fact_count() > MAX_FACTS_PER_COMMIT {
            return bad(format!("more than {MAX_FACTS_PER_COMMIT} facts"));
        }
        if self.source.files.len() > MAX_SOURCE_FILES {
            return bad(format!("more than {MAX_SOURCE_FILES} source files"));
        }
        if self
            .source
            .files
            .iter()
            .any(|file| file.name.len() > MAX_SOURCE_NAME_BYTES)
        {
            return bad("a source file name is too long".into());
        }
        if self.source.options.len() > MAX_SOURCE_OPTIONS
            || self
                .source
                .options
                .iter()
                .any(|option| option.is_empty() || option.len() > MAX_SOURCE_OPTION_BYTES)
        {
            return bad("too many source options, or one blank or too long".into());
        }
        if self.format_version == COMMIT_VERSION_1 && !self.source.options.is_empty() {
            return bad("a version-1 commit cannot hold source options".into());
        }
        if !self.groups.windows(2).all(|w| w[0].group < w[1].group) {
            return bad("groups are not sorted or repeat".into());
        }
        for group in &self.groups {
            if !group.observed.windows(2).all(|w| w[0] < w[1]) {
                return bad(format!("observed dates of {} not sorted", group.group));
            }
            let ordered = group
                .facts
                .windows(2)
                .all(|w| (&w[0].member, w[0].date) < (&w[1].member, w[1].date));
            if !ordered {
                return bad(format!(
                    "facts of {} not sorted, or two facts for one member on one date",
                    group.group
                ));
            }
            let sorted = |dates: &[Date]| dates.windows(2).all(|w| w[0] < w[1]);
            if !sorted(&group.ended) || !sorted(&group.reopened) {
                return bad(format!("end dates of {} not sorted", group.group));
            }
            if group
                .ended
                .iter()
                .any(|d| group.reopened.binary_search(d).is_ok())
            {
                return bad(format!("a date of {} both ended and reopened", group.group));
            }
            if group.is_empty() {
                return bad(format!("group {} is recorded with nothing", group.group));
            }
            if !group
                .subgroups
                .windows(2)
                .all(|w| (&w[0].subgroup, w[0].date) < (&w[1].subgroup, w[1].date))
            {
                return bad(format!(
                    "subgroup facts of {} not sorted, or two for one subgroup on one date",
                    group.group
                ));
            }
            if group.subgroups.iter().any(|f| f.subgroup == group.group) {
                return bad(format!("group {} names itself as a subgroup", group.group));
            }
            if self.format_version < COMMIT_VERSION_3 && group.has_nesting() {
                return bad(format!(
                    "a version-{} commit cannot hold exclusions or subgroup facts",
                    self.format_version
                ));
            }
        }
        if !self.erased.windows(2).all(|w| w[0] < w[1]) {
            return bad("erased members not sorted".into());
        }
        if self.format_version < COMMIT_VERSION_3 && !self.personal.is_empty() {
            return bad(format!(
                "a version-{} commit cannot hold personal values",
                self.format_version
            ));
        }
        if self.personal.len() > MAX_PERSONAL_VALUES_PER_COMMIT {
            return bad(format!(
                "more than {MAX_PERSONAL_VALUES_PER_COMMIT} personal values"
            ));
        }
        if !self
            .personal
            .windows(2)
            .all(|w| (&w[0].subject, w[0].field) < (&w[1].subject, w[1].field))
        {
            return bad("personal values not sorted, or one set twice".into());
        }
        debug_assert!(self
            .groups
            .iter()
            .all(|g| g.group.as_str().len() <= MAX_ID_BYTES));
        Ok(())
    }

    /// Encodes the body (the bytes the hash covers) in the commit's own body version.
    fn encode_body(&self) -> Result<Vec<u8>> {
        match self.format_version {
            COMMIT_VERSION_1 => body_v1::encode(self),
            COMMIT_VERSION_2 => body_v2::encode(self),
            COMMIT_VERSION_3 => body_v3::encode(self),
            other => Err(Error::corrupt(format!(
                "commit {}: cannot encode body version {other}",
                self.seq
            ))),
        }
    }

    /// The commit's hash: SHA-256 of its body. The next commit names it.
    pub fn hash(&self) -> Result<Hash> {
        Ok(Sha256::digest(self.encode_body()?).into())
    }

    /// Checks and encodes the whole stored value (envelope included), and returns it with
    /// the commit's hash.
    pub fn encode(&self) -> Result<(Vec<u8>, Hash)> {
        self.check()?;
        let body = self.encode_body()?;
        let hash = Sha256::digest(&body).into();
        Ok((
            seal_versioned(Magic::Commit, self.format_version, &body)?,
            hash,
        ))
    }

    /// Decodes and checks a stored value of any version in [`COMMIT_VERSIONS`]; returns the
    /// commit (which remembers its version) and its hash.
    pub fn decode(bytes: &[u8]) -> Result<(Commit, Hash)> {
        let (version, body) = unseal_versioned(Magic::Commit, &COMMIT_VERSIONS, bytes)?;
        let commit = match version {
            COMMIT_VERSION_1 => body_v1::decode(body)?,
            COMMIT_VERSION_2 => body_v2::decode(body)?,
            COMMIT_VERSION_3 => body_v3::decode(body)?,
            other => {
                return Err(Error::corrupt(format!(
                    "commit body version {other} has no decoder"
                )))
            }
        };
        commit.check()?;
        Ok((commit, Sha256::digest(body).into()))
    }
}

#[cfg(test)]
mod nesting_tests;
#[cfg(test)]
mod tests;
