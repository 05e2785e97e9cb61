//! The log record: one [`Commit`] per import, and the bytes it is stored as.
//!
//! Owns: the commit's shape, its canonical order, the envelope (magic, format version,
//! length, CRC-32), which body version a commit is encoded in (the two body codecs live in
//! `body_v1` and `body_v2`), and the hash chain (SHA-256 of the body, which carries the
//! previous commit's hash).
//! Must not: decide which facts to record (that is `plan`), or touch storage.
//!
//! `docs/format.md` describes every byte. A commit is checked right before it is encoded
//! and right after it is decoded.

mod body_v1;
mod body_v2;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{
    Change, Date, GroupId, MemberId, MAX_COMMITS, MAX_FACTS_PER_COMMIT, MAX_ID_BYTES,
};

/// Commit body version 1: bincode over serde, every fact naming its member in full. Read,
/// and re-encoded for a commit decoded from it (its hash must never change), but never
/// written for a new commit.
pub const COMMIT_VERSION_1: u16 = 1;
/// Commit body version 2: a per-commit member dictionary, each fact naming its member by
/// index into it.
pub const COMMIT_VERSION_2: u16 = 2;
/// The body version new commits are written in.
pub const COMMIT_VERSION: u16 = COMMIT_VERSION_2;
/// Every commit body version this muster reads (see docs/format.md for how a later
/// version upgrades).
pub const COMMIT_VERSIONS: [u16; 2] = [COMMIT_VERSION_1, COMMIT_VERSION_2];
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
    /// The derived state's applied-through marker (`u64` big-endian); only in ledgers
    /// made before derived state moved to `muster.derived`.
    Marker,
    /// A directory of the derived-state file.
    Directory,
    /// The names file: every stored name.
    Names,
    /// The derived-state file's register of imported inputs (fingerprint and commit).
    Imports,
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
            Magic::Directory => *b"MUSI",
            Magic::Names => *b"MUSB",
            Magic::Imports => *b"MUSF",
        }
    }
}

/// What an import read: its kind, the files with their SHA-256 digests, and the options
/// that changed how they were read.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    pub files: Vec<SourceFile>,
    /// Options that changed what was read from the files, as `name=value` (for `import sb`,
    /// `start=DATE`); empty for a plain import. Body version 2 only: version 1 has no
    /// place for them (its serde layout must not change), so a version-1 commit has none.
    #[serde(skip)]
    pub options: Vec<String>,
}

/// Most options one source may name.
pub const MAX_SOURCE_OPTIONS: usize = 16;
/// Longest option kept in a commit, in bytes.
pub const MAX_SOURCE_OPTION_BYTES: usize = 256;

impl Source {
    /// A source without options.
    pub fn new(kind: SourceKind, files: Vec<SourceFile>) -> Source {
        Source {
            kind,
            files,
            options: Vec::new(),
        }
    }

    /// What identifies this input: SHA-256 over the kind, the options and every file's
    /// name and digest. Importing input with a fingerprint the log already holds records
    /// nothing (imports are idempotent), so it need not be read again. `None` for a source
    /// with no files (nothing identifies it) and for an erasure.
    pub fn fingerprint(&self) -> Option<Hash> {
        if self.files.is_empty() || self.kind == SourceKind::Forget {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(self.kind.as_str().as_bytes());
        hasher.update([0]);
        for (count, texts) in [
            (
                self.options.len(),
                self.options.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            (
                self.files.len(),
                self.files.iter().map(|f| f.name.as_str()).collect(),
            ),
        ] {
            hasher.update((count as u64).to_be_bytes());
            for text in texts {
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
        for file in &self.files {
            hasher.update(file.digest);
        }
        Some(hasher.finalize().into())
    }
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
    /// The kind's stored number: its place in [`SourceKind::ALL`], which is its position in
    /// declaration order (serde's variant index, what a version-1 commit writes), so every
    /// format spells a kind alike.
    pub fn number(self) -> u8 {
        match self {
            SourceKind::Observations => 0,
            SourceKind::Facts => 1,
            SourceKind::Spans => 2,
            SourceKind::SchoolBase => 3,
            SourceKind::Forget => 4,
        }
    }

    /// The kind stored as `number`, if there is one.
    pub fn from_number(number: u32) -> Option<SourceKind> {
        usize::try_from(number)
            .ok()
            .and_then(|index| SourceKind::ALL.get(index).copied())
    }

    /// Every kind, in the order of their stored numbers.
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Observations,
        SourceKind::Facts,
        SourceKind::Spans,
        SourceKind::SchoolBase,
        SourceKind::Forget,
    ];

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
            COMMIT_VERSION_2 => body_v2::encode(self),
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

    fn day(month: u32, day: u32) -> Date {
        Date::from_ymd(2015, month, day).unwrap()
    }

    fn member(id: &str) -> MemberId {
        MemberId::new(id).unwrap()
    }

    fn fact(id: &str, date: Date, change: Change) -> MemberFact {
        MemberFact {
            member: member(id),
            date,
            change,
        }
    }

    /// Two groups, member "b" in both, so the version-2 dictionary is shared across
    /// groups; written as version 2, like every new commit.
    fn sample() -> Commit {
        let mut commit = Commit {
            format_version: COMMIT_VERSION,
            seq: 3,
            recorded_at_ms: 1_447_318_056_000,
            previous_hash: [7; 32],
            source: Source {
                kind: SourceKind::Observations,
                files: vec![SourceFile::new("week.csv", b"date,group,member\n")],
                options: Vec::new(),
            },
            groups: vec![
                GroupRecord {
                    group: GroupId::new("34341").unwrap(),
                    observed: vec![day(11, 23)],
                    facts: vec![fact("b", day(11, 23), Change::Leave)],
                    ended: vec![day(11, 23)],
                    reopened: vec![],
                },
                GroupRecord {
                    group: GroupId::new("34340").unwrap(),
                    observed: vec![day(11, 16)],
                    facts: vec![
                        fact("b", day(11, 16), Change::Join),
                        fact("a", day(11, 16), Change::Leave),
                    ],
                    ended: vec![],
                    reopened: vec![],
                },
            ],
            erased: vec![],
        };
        commit.canonicalize();
        commit
    }

    /// The same content, stored as version 1 (as every commit made before version 2 was).
    fn sample_v1() -> Commit {
        Commit {
            format_version: COMMIT_VERSION_1,
            ..sample()
        }
    }

    /// Writers for the hand-built bodies, from the rules in docs/format.md.
    fn put_string(body: &mut Vec<u8>, text: &str) {
        body.extend_from_slice(&(text.len() as u64).to_be_bytes());
        body.extend_from_slice(text.as_bytes());
    }

    fn put_count(body: &mut Vec<u8>, count: u64) {
        body.extend_from_slice(&count.to_be_bytes());
    }

    fn put_date(body: &mut Vec<u8>, date: Date) {
        body.extend_from_slice(&date.days_from_ce().to_be_bytes());
    }

    /// The fields both versions share, up to and including `source`.
    fn put_head(body: &mut Vec<u8>) {
        body.extend_from_slice(&3u64.to_be_bytes()); // seq
        body.extend_from_slice(&1_447_318_056_000i64.to_be_bytes()); // recorded_at_ms
        body.extend_from_slice(&[7; 32]); // previous_hash
        body.extend_from_slice(&0u32.to_be_bytes()); // source.kind: Observations
        put_count(body, 1); // source.files
        put_string(body, "week.csv");
        body.extend_from_slice(&Sha256::digest(b"date,group,member\n"));
    }

    /// The sample's version-2 body with the given dictionary and facts (member index, date,
    /// change byte) for group 34340; group 34341's one fact names dictionary entry
    /// `b_index`.
    fn sample_v2_body(
        dictionary: &[&str],
        facts_34340: &[(u32, Date, u8)],
        b_index: u32,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        put_head(&mut body);
        put_count(&mut body, 0); // source.options (version 2 only)
        put_count(&mut body, dictionary.len() as u64); // member dictionary
        for member in dictionary {
            put_string(&mut body, member);
        }
        put_count(&mut body, 2); // groups, sorted by id
        put_string(&mut body, "34340");
        put_count(&mut body, 1); // observed
        put_date(&mut body, day(11, 16));
        put_count(&mut body, facts_34340.len() as u64); // facts
        for &(index, date, change) in facts_34340 {
            body.extend_from_slice(&index.to_be_bytes());
            put_date(&mut body, date);
            body.push(change);
        }
        put_count(&mut body, 0); // ended
        put_count(&mut body, 0); // reopened
        put_string(&mut body, "34341");
        put_count(&mut body, 1); // observed
        put_date(&mut body, day(11, 23));
        put_count(&mut body, 1); // facts
        body.extend_from_slice(&b_index.to_be_bytes());
        put_date(&mut body, day(11, 23));
        body.push(0); // leave
        put_count(&mut body, 1); // ended
        put_date(&mut body, day(11, 23));
        put_count(&mut body, 0); // reopened
        put_count(&mut body, 0); // erased
        body
    }

    /// The envelope around a hand-built body, from the rules in docs/format.md.
    fn envelope(version: u16, body: &[u8]) -> Vec<u8> {
        let mut bytes = b"MUSC".to_vec();
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(body);
        let checksum = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&checksum.to_be_bytes());
        bytes
    }

    /// The error a body decodes to once sealed correctly (so the body decoder, not the
    /// envelope, is what refuses it).
    fn refusal(version: u16, body: &[u8]) -> Error {
        Commit::decode(&envelope(version, body)).expect_err("a damaged body must be refused")
    }

    /// Builds the expected bytes by hand from the rules in docs/format.md, so that an
    /// accidental change of the format (a field, an order, an integer width) fails here.
    #[test]
    fn encoding_follows_docs_format_md() {
        let (a, b) = (0, 1);
        let body = sample_v2_body(&["a", "b"], &[(a, day(11, 16), 0), (b, day(11, 16), 1)], b);
        let (bytes, hash) = sample().encode().unwrap();
        assert_eq!(bytes, envelope(2, &body));
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&body)));
    }

    /// Version 1 is read for ever: bytes built by hand from its rules decode to the right
    /// commit with the hash of those bytes, and re-encode to exactly them.
    #[test]
    fn a_version_1_commit_made_by_hand_decodes_with_its_hash_and_re_encodes_as_it_was() {
        let mut body = Vec::new();
        put_head(&mut body);
        let v1_fact = |body: &mut Vec<u8>, member: &str, date: Date, change: u32| {
            put_string(body, member);
            put_date(body, date);
            body.extend_from_slice(&change.to_be_bytes()); // enum: variant index, u32
        };
        put_count(&mut body, 2); // groups, sorted by id
        put_string(&mut body, "34340");
        put_count(&mut body, 1); // observed
        put_date(&mut body, day(11, 16));
        put_count(&mut body, 2); // facts, sorted by member
        v1_fact(&mut body, "a", day(11, 16), 0); // leave
        v1_fact(&mut body, "b", day(11, 16), 1); // join
        put_count(&mut body, 0); // ended
        put_count(&mut body, 0); // reopened
        put_string(&mut body, "34341");
        put_count(&mut body, 1); // observed
        put_date(&mut body, day(11, 23));
        put_count(&mut body, 1); // facts
        v1_fact(&mut body, "b", day(11, 23), 0); // leave
        put_count(&mut body, 1); // ended
        put_date(&mut body, day(11, 23));
        put_count(&mut body, 0); // reopened
        put_count(&mut body, 0); // erased
        let stored = envelope(1, &body);
        let expected_hash = <[u8; 32]>::from(Sha256::digest(&body));

        let (commit, hash) = Commit::decode(&stored).unwrap();
        assert_eq!(commit, sample_v1());
        assert_eq!(commit.format_version, COMMIT_VERSION_1);
        assert_eq!(hash, expected_hash);
        assert_eq!(commit.hash().unwrap(), expected_hash);
        assert_eq!(commit.encode().unwrap(), (stored, expected_hash));
    }

    #[test]
    fn round_trip_keeps_commit_version_and_hash() {
        for commit in [sample(), sample_v1()] {
            let (bytes, hash) = commit.encode().unwrap();
            assert_eq!(bytes[4..6], commit.format_version.to_be_bytes());
            let (decoded, decoded_hash) = Commit::decode(&bytes).unwrap();
            assert_eq!(decoded, commit);
            assert_eq!(decoded_hash, hash);
            assert_eq!(decoded.encode().unwrap(), (bytes, hash));
        }
    }

    /// Source options (how the files were read) are kept by version 2, round trip, and
    /// change the input's fingerprint; version 1 has no place for them and refuses them.
    #[test]
    fn source_options_round_trip_in_version_2_and_are_refused_by_version_1() {
        let mut commit = sample();
        let plain = commit.source.fingerprint();
        commit.source.options = vec!["start=2015-11-15".to_string()];
        assert_ne!(commit.source.fingerprint(), plain);
        assert!(plain.is_some());
        let (bytes, _) = commit.encode().unwrap();
        assert_eq!(Commit::decode(&bytes).unwrap().0, commit);
        commit.format_version = COMMIT_VERSION_1;
        assert!(commit.encode().is_err());
    }

    #[test]
    fn source_numbers_are_places_in_all() {
        for (place, kind) in SourceKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(kind.number()), place, "{kind:?}");
            assert_eq!(SourceKind::from_number(place as u32), Some(*kind));
        }
        assert_eq!(SourceKind::from_number(SourceKind::ALL.len() as u32), None);
    }

    /// Derived state packs a commit number into 31 bits: a larger one is never written.
    #[test]
    fn a_commit_number_past_max_commits_is_refused() {
        let mut commit = sample();
        commit.seq = MAX_COMMITS;
        assert!(commit.check().is_ok());
        commit.seq = MAX_COMMITS + 1;
        assert!(commit.encode().is_err());
    }

    #[test]
    fn the_two_versions_of_one_content_differ_in_bytes_and_hash() {
        let (v1_bytes, v1_hash) = sample_v1().encode().unwrap();
        let (v2_bytes, v2_hash) = sample().encode().unwrap();
        assert_ne!(v1_bytes, v2_bytes);
        assert_ne!(v1_hash, v2_hash);
    }

    /// Apart from the facts, version 2 writes every field as version 1 does: a commit with
    /// no facts differs only by the (empty) dictionary's count after the source.
    #[test]
    fn version_2_writes_the_other_fields_as_version_1_does() {
        for kind in [
            SourceKind::Observations,
            SourceKind::Facts,
            SourceKind::Spans,
            SourceKind::SchoolBase,
            SourceKind::Forget,
        ] {
            let mut commit = sample();
            commit.source.kind = kind;
            for group in &mut commit.groups {
                group.facts.clear();
            }
            commit.erased = vec![member("x"), member("y")];
            let v2 = commit.encode_body().unwrap();
            commit.format_version = COMMIT_VERSION_1;
            let v1 = commit.encode_body().unwrap();
            let source_end = 8 + 8 + 32 + 4 + 8 + (8 + "week.csv".len()) + 32;
            let mut expected = v1[..source_end].to_vec();
            put_count(&mut expected, 0); // the source's options
            put_count(&mut expected, 0); // the dictionary
            expected.extend_from_slice(&v1[source_end..]);
            assert_eq!(v2, expected, "{kind:?}");
        }
    }

    #[test]
    fn a_decoded_version_2_commit_shares_one_text_per_member() {
        let (bytes, _) = sample().encode().unwrap();
        let (commit, _) = Commit::decode(&bytes).unwrap();
        let b_texts: Vec<*const u8> = commit
            .groups
            .iter()
            .flat_map(|group| &group.facts)
            .filter(|fact| fact.member.as_str() == "b")
            .map(|fact| fact.member.as_str().as_ptr())
            .collect();
        assert_eq!(b_texts.len(), 2);
        assert_eq!(b_texts[0], b_texts[1]);
    }

    /// Canonical: members that are equal text but separate allocations encode exactly as
    /// shared ones, whatever order the content came in.
    #[test]
    fn the_same_content_always_encodes_to_the_same_bytes() {
        let mut shuffled = sample();
        shuffled.groups.reverse();
        for group in &mut shuffled.groups {
            group.facts.reverse();
            for fact in &mut group.facts {
                fact.member = member(fact.member.as_str());
            }
        }
        shuffled.canonicalize();
        assert_eq!(shuffled.encode().unwrap(), sample().encode().unwrap());
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        for commit in [sample(), sample_v1()] {
            let (bytes, _) = commit.encode().unwrap();
            for position in 0..bytes.len() {
                let mut damaged = bytes.clone();
                damaged[position] ^= 0x10;
                assert!(
                    Commit::decode(&damaged).is_err(),
                    "version {}: flip at {position} passed",
                    commit.format_version
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        for commit in [sample(), sample_v1()] {
            let (bytes, _) = commit.encode().unwrap();
            for length in 0..bytes.len() {
                assert!(
                    Commit::decode(&bytes[..length]).is_err(),
                    "version {}: length {length} passed",
                    commit.format_version
                );
            }
        }
    }

    /// Damage behind a correct envelope: the body decoder must refuse it, naming why.
    #[test]
    fn a_damaged_version_2_dictionary_or_index_is_refused() {
        let on = day(11, 16);
        let cases: [(&str, Vec<u8>, &str); 6] = [
            (
                "an index past the dictionary",
                sample_v2_body(&["a", "b"], &[(0, on, 0), (2, on, 1)], 1),
                "member index 2, but the dictionary holds 2",
            ),
            (
                "an index far past the dictionary",
                sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 1)], u32::MAX),
                "member index 4294967295",
            ),
            (
                "an unsorted dictionary",
                sample_v2_body(&["b", "a"], &[(1, on, 0), (0, on, 1)], 0),
                "member dictionary not sorted",
            ),
            (
                "a repeated dictionary entry",
                sample_v2_body(&["a", "b", "b"], &[(0, on, 0), (1, on, 1)], 2),
                "member dictionary not sorted, or b repeats",
            ),
            (
                "a dictionary entry no fact names",
                sample_v2_body(&["a", "b", "c"], &[(0, on, 0), (1, on, 1)], 1),
                "dictionary member c is named by no fact",
            ),
            (
                "a change byte that is neither leave nor join",
                sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 2)], 1),
                "change byte 2",
            ),
        ];
        // The unchanged body decodes, so each refusal below is the damage's doing.
        let sound = sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 1)], 1);
        assert_eq!(Commit::decode(&envelope(2, &sound)).unwrap().0, sample());
        for (what, body, reason) in cases {
            let error = refusal(2, &body);
            assert_eq!(error.kind(), ErrorKind::Corrupt, "{what}");
            assert!(error.detail().contains(reason), "{what}: {error}");
        }
    }

    /// The commit invariants hold for version 2 as for version 1: facts of one member out
    /// of date order pass the body decoder but not `Commit::check`.
    #[test]
    fn a_version_2_body_breaking_a_commit_invariant_is_refused() {
        let body = sample_v2_body(&["a", "b"], &[(1, day(11, 16), 1), (0, day(11, 16), 0)], 1);
        let error = refusal(2, &body);
        assert!(
            error.detail().contains("facts of 34340 not sorted"),
            "{error}"
        );
    }

    #[test]
    fn a_version_2_body_with_trailing_bytes_is_refused() {
        let mut body = sample_v2_body(&["a", "b"], &[(0, day(11, 16), 0), (1, day(11, 16), 1)], 1);
        body.push(0);
        assert!(refusal(2, &body).detail().contains("1 trailing bytes"));
    }

    #[test]
    fn a_commit_version_this_muster_does_not_know_is_corrupt_and_named() {
        let (bytes, _) = sample().encode().unwrap();
        let body = &bytes[HEADER_BYTES..bytes.len() - CHECKSUM_BYTES];
        for version in [0, 3, u16::MAX] {
            let error = refusal(version, body);
            assert_eq!(error.kind(), ErrorKind::Corrupt);
            assert!(
                error
                    .detail()
                    .contains(&format!("format version {version};")),
                "{error}"
            );
        }
        let mut commit = sample();
        commit.format_version = 3;
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
    fn unsorted_facts_are_refused_before_writing() {
        for mut commit in [sample(), sample_v1()] {
            commit.groups[0].facts.reverse(); // group 34340: two facts
            assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
        }
    }
}
