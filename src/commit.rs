//! The log record: one [`Commit`] per import, and the bytes it is stored as.
//!
//! Owns: the commit's shape, its canonical order, the envelope (magic, format version,
//! length, CRC-32), which body version a commit is encoded in (the body codec lives in
//! `body_v1`), and the hash chain (SHA-256 of the body, which carries the
//! previous commit's hash).
//! Must not: decide which facts to record (that is `plan`), or touch storage.
//!
//! `docs/format.md` describes every byte. A commit is checked right before it is encoded
//! and right after it is decoded.

mod body_v1;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Change, Date, GroupId, MemberId, MAX_FACTS_PER_COMMIT, MAX_ID_BYTES};

/// Commit body version 1: bincode over serde, every fact naming its member in full.
pub const COMMIT_VERSION_1: u16 = 1;
/// The body version new commits are written in.
pub const COMMIT_VERSION: u16 = COMMIT_VERSION_1;
/// Every commit body version this muster reads (see docs/format.md for how a later
/// version upgrades).
pub const COMMIT_VERSIONS: [u16; 1] = [COMMIT_VERSION_1];
/// The version of every sealed value other than a commit (group and member states, head
/// records, names, the applied-through marker): each has only ever had this one.
pub const VALUE_VERSION: u16 = 1;
/// Largest encoded body. A commit of the largest import (`MAX_FACTS_PER_COMMIT` facts)
/// fits; anything claiming more is damage.
pub const MAX_BODY_BYTES: usize = 1 << 30;
/// Most files one commit may name as its source.
pub const MAX_SOURCE_FILES: usize = 10_000;
/// Longest source file name kept in a commit, in bytes.
pub const MAX_SOURCE_NAME_BYTES: usize = 1024;

/// Length of the envelope before the body: magic (4), version (2), body length (4).
const HEADER_BYTES: usize = 10;
/// Length of the trailing CRC-32.
const CHECKSUM_BYTES: usize = 4;

/// A 32-byte SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash the first commit names as its predecessor.
pub const GENESIS_HASH: Hash = [0; 32];

/// The four bytes that open each kind of stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Commit,
    GroupState,
    MemberState,
    /// A head record: a commit's number and hash (the `heads` index and the anchor file).
    Head,
    /// A display name (UTF-8).
    Name,
    /// The derived state's applied-through marker (`u64` big-endian).
    Marker,
}

impl Magic {
    pub fn bytes(self) -> [u8; 4] {
        match self {
            Magic::Commit => *b"MUSC",
            Magic::GroupState => *b"MUSG",
            Magic::MemberState => *b"MUSM",
            Magic::Head => *b"MUSH",
            Magic::Name => *b"MUSN",
            Magic::Marker => *b"MUSA",
        }
    }
}

/// What an import read: its kind and the files with their SHA-256 digests.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    pub files: Vec<SourceFile>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum SourceKind {
    Observations,
    Facts,
    Spans,
    SchoolBase,
    Forget,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Observations => "observations",
            SourceKind::Facts => "facts",
            SourceKind::Spans => "spans",
            SourceKind::SchoolBase => "sb",
            SourceKind::Forget => "forget",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub digest: Hash,
}

impl SourceFile {
    pub fn new(name: &str, content: &[u8]) -> SourceFile {
        SourceFile {
            name: truncate_to_char_boundary(name, MAX_SOURCE_NAME_BYTES).to_string(),
            digest: Sha256::digest(content).into(),
        }
    }
}

fn truncate_to_char_boundary(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One member's fact inside a [`GroupRecord`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MemberFact {
    pub member: MemberId,
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
}

/// One log record: all that one import recorded.
///
/// The serde derive is the version-1 body (`body_v1`).
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
    /// Members whose personal data was erased by this commit (names live outside the log;
    /// the log only says that it was done). Sorted, no repeats.
    pub erased: Vec<MemberId>,
}

impl Commit {
    pub fn fact_count(&self) -> usize {
        self.groups.iter().map(|group| group.facts.len()).sum()
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
        }
        self.erased.sort();
        self.erased.dedup();
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
        if self.seq == 0 {
            return bad("sequence number 0".into());
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
            if group.observed.is_empty()
                && group.facts.is_empty()
                && group.ended.is_empty()
                && group.reopened.is_empty()
            {
                return bad(format!("group {} is recorded with nothing", group.group));
            }
        }
        if !self.erased.windows(2).all(|w| w[0] < w[1]) {
            return bad("erased members not sorted".into());
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

/// bincode settings for every bincode body (derived values, commit body version 1):
/// big-endian, fixed-width integers, and a cap on what a length prefix may claim.
pub(crate) fn body_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_big_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_BODY_BYTES>()
}

/// Wraps a body in the envelope: magic, `version`, length, body, CRC-32 of all before it.
pub(crate) fn seal_versioned(magic: Magic, version: u16, body: &[u8]) -> Result<Vec<u8>> {
    let length = u32::try_from(body.len())
        .ok()
        .filter(|&length| length as usize <= MAX_BODY_BYTES)
        .ok_or_else(|| Error::corrupt(format!("a body of {} bytes is too large", body.len())))?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES + body.len() + CHECKSUM_BYTES);
    bytes.extend_from_slice(&magic.bytes());
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(body);
    let checksum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&checksum.to_be_bytes());
    Ok(bytes)
}

/// Checks the envelope of a value whose version must be one of `accepted`; returns the
/// version found and the body. Any other version is "corrupt", naming the version found,
/// so that an old muster never misreads a newer value.
pub(crate) fn unseal_versioned<'a>(
    magic: Magic,
    accepted: &[u16],
    bytes: &'a [u8],
) -> Result<(u16, &'a [u8])> {
    if bytes.len() < HEADER_BYTES + CHECKSUM_BYTES {
        return Err(Error::corrupt(format!(
            "a stored value of {} bytes is too short",
            bytes.len()
        )));
    }
    let (sealed, checksum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    let stored = u32::from_be_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
    if crc32fast::hash(sealed) != stored {
        return Err(Error::corrupt("checksum mismatch"));
    }
    if sealed[0..4] != magic.bytes() {
        return Err(Error::corrupt(format!(
            "expected a {magic:?} value, found magic {:?}",
            String::from_utf8_lossy(&sealed[0..4])
        )));
    }
    let version = u16::from_be_bytes([sealed[4], sealed[5]]);
    if !accepted.contains(&version) {
        let known: Vec<String> = accepted.iter().map(u16::to_string).collect();
        return Err(Error::corrupt(format!(
            "a {magic:?} value of format version {version}; this muster reads version {}",
            known.join(" or ")
        )));
    }
    let length = u32::from_be_bytes([sealed[6], sealed[7], sealed[8], sealed[9]]) as usize;
    let body = &sealed[HEADER_BYTES..];
    if body.len() != length {
        return Err(Error::corrupt(format!(
            "length field says {length} bytes, the value holds {}",
            body.len()
        )));
    }
    Ok((version, body))
}

/// [`seal_versioned`] at [`VALUE_VERSION`]: for the values that have only ever had one
/// version (everything but a commit).
pub(crate) fn seal(magic: Magic, body: &[u8]) -> Result<Vec<u8>> {
    seal_versioned(magic, VALUE_VERSION, body)
}

/// [`unseal_versioned`] accepting only [`VALUE_VERSION`]: for the values that have only
/// ever had one version (everything but a commit).
pub(crate) fn unseal(magic: Magic, bytes: &[u8]) -> Result<&[u8]> {
    unseal_versioned(magic, &[VALUE_VERSION], bytes).map(|(_, body)| body)
}

/// Lower-case hex, for hashes in output.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn sample() -> Commit {
        let mut commit = Commit {
            format_version: COMMIT_VERSION,
            seq: 3,
            recorded_at_ms: 1_447_318_056_000,
            previous_hash: [7; 32],
            source: Source {
                kind: SourceKind::Observations,
                files: vec![SourceFile::new("week.csv", b"date,group,member\n")],
            },
            groups: vec![GroupRecord {
                group: GroupId::new("34340").unwrap(),
                observed: vec![Date::from_ymd(2015, 11, 16).unwrap()],
                facts: vec![
                    MemberFact {
                        member: MemberId::new("b").unwrap(),
                        date: Date::from_ymd(2015, 11, 16).unwrap(),
                        change: Change::Join,
                    },
                    MemberFact {
                        member: MemberId::new("a").unwrap(),
                        date: Date::from_ymd(2015, 11, 16).unwrap(),
                        change: Change::Leave,
                    },
                ],
                ended: vec![],
                reopened: vec![],
            }],
            erased: vec![],
        };
        commit.canonicalize();
        commit
    }

    /// Builds the expected bytes by hand from the rules in docs/format.md, so that an
    /// accidental change of the format (a field, an order, an integer width) fails here.
    #[test]
    fn encoding_follows_docs_format_md() {
        let commit = sample();
        let mut body = Vec::new();
        let string = |body: &mut Vec<u8>, text: &str| {
            body.extend_from_slice(&(text.len() as u64).to_be_bytes());
            body.extend_from_slice(text.as_bytes());
        };
        let date =
            |body: &mut Vec<u8>, d: Date| body.extend_from_slice(&d.days_from_ce().to_be_bytes());
        body.extend_from_slice(&3u64.to_be_bytes()); // seq
        body.extend_from_slice(&1_447_318_056_000i64.to_be_bytes()); // recorded_at_ms
        body.extend_from_slice(&[7; 32]); // previous_hash
        body.extend_from_slice(&0u32.to_be_bytes()); // source.kind: Observations
        body.extend_from_slice(&1u64.to_be_bytes()); // source.files: 1
        string(&mut body, "week.csv");
        body.extend_from_slice(&Sha256::digest(b"date,group,member\n"));
        body.extend_from_slice(&1u64.to_be_bytes()); // groups: 1
        string(&mut body, "34340");
        body.extend_from_slice(&1u64.to_be_bytes()); // observed: 1
        let day = Date::from_ymd(2015, 11, 16).unwrap();
        date(&mut body, day);
        body.extend_from_slice(&2u64.to_be_bytes()); // facts: 2, sorted by member
        string(&mut body, "a");
        date(&mut body, day);
        body.extend_from_slice(&0u32.to_be_bytes()); // Leave
        string(&mut body, "b");
        date(&mut body, day);
        body.extend_from_slice(&1u32.to_be_bytes()); // Join
        body.extend_from_slice(&0u64.to_be_bytes()); // ended
        body.extend_from_slice(&0u64.to_be_bytes()); // reopened
        body.extend_from_slice(&0u64.to_be_bytes()); // erased
        let mut expected = b"MUSC".to_vec();
        expected.extend_from_slice(&1u16.to_be_bytes());
        expected.extend_from_slice(&(body.len() as u32).to_be_bytes());
        expected.extend_from_slice(&body);
        let checksum = crc32fast::hash(&expected);
        expected.extend_from_slice(&checksum.to_be_bytes());
        let (bytes, hash) = commit.encode().unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&body)));
    }

    #[test]
    fn round_trip_keeps_commit_version_and_hash() {
        let commit = sample();
        let (bytes, hash) = commit.encode().unwrap();
        let (decoded, decoded_hash) = Commit::decode(&bytes).unwrap();
        assert_eq!(decoded, commit);
        assert_eq!(decoded.format_version, COMMIT_VERSION_1);
        assert_eq!(decoded_hash, hash);
        assert_eq!(decoded.encode().unwrap(), (bytes, hash));
    }

    #[test]
    fn a_commit_version_this_muster_does_not_know_is_corrupt_and_named() {
        let (bytes, _) = sample().encode().unwrap();
        let body = &bytes[HEADER_BYTES..bytes.len() - CHECKSUM_BYTES];
        for version in [0, 2, u16::MAX] {
            let error =
                Commit::decode(&seal_versioned(Magic::Commit, version, body).unwrap()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Corrupt);
            assert!(
                error
                    .detail()
                    .contains(&format!("format version {version};")),
                "{error}"
            );
        }
        let mut commit = sample();
        commit.format_version = 2;
        assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn other_values_read_only_their_one_version() {
        let sealed = seal(Magic::Head, b"x").unwrap();
        assert_eq!(sealed[4..6], VALUE_VERSION.to_be_bytes());
        assert_eq!(unseal(Magic::Head, &sealed).unwrap(), b"x");
        let newer = seal_versioned(Magic::Head, VALUE_VERSION + 1, b"x").unwrap();
        assert!(unseal(Magic::Head, &newer)
            .unwrap_err()
            .detail()
            .contains("format version 2; this muster reads version 1"));
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let (bytes, _) = sample().encode().unwrap();
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            assert!(
                Commit::decode(&damaged).is_err(),
                "flip at {position} passed"
            );
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let (bytes, _) = sample().encode().unwrap();
        for length in 0..bytes.len() {
            assert!(
                Commit::decode(&bytes[..length]).is_err(),
                "length {length} passed"
            );
        }
    }

    #[test]
    fn unsorted_facts_are_refused_before_writing() {
        let mut commit = sample();
        commit.groups[0].facts.reverse();
        assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
    }
}
