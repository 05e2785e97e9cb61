//! Commit body version 2: the fields of version 1, plus a per-commit member dictionary
//! after the source, with each fact naming its member by index into it. Written by hand,
//! big-endian and fixed-width, because the fact arrays are most of a large commit's bytes
//! and of its decoding time.
//!
//! Owns: turning a [`Commit`] into version-2 body bytes and back, and the checks only this
//! layout needs (every member index in range; the dictionary sorted, unique and used; no
//! bytes left over). Version 3 (`body_v3`) reuses its parts: the fields up to the source
//! (`write_head`, `read_head`) and the membership (`write_membership`, `read_membership`).
//! Must not: touch the envelope or the hash (that is `commit`), or skip [`Commit::check`]
//! (the caller runs it after decoding, for the invariants every version shares).
//!
//! Decoding allocates each dictionary member once; every fact shares its member's text.

use std::collections::hash_map::Entry;
use std::fmt::Display;

use rustc_hash::FxHashMap;

use super::COMMIT_VERSION_2;
use super::{Commit, GroupRecord, Hash, MemberFact};
use crate::error::{Error, Result};
use crate::log::source::{Source, SourceFile, SourceKind};
use crate::model::MAX_BODY_BYTES;
use crate::model::{Change, Date, GroupId, MemberId, MAX_FACTS_PER_COMMIT};

/// Bytes of a count or a length prefix (`u64`).
pub(super) const COUNT_BYTES: usize = 8;
/// Bytes of a date (`i32`).
pub(super) const DATE_BYTES: usize = 4;
/// Bytes of a hash or a digest.
pub(super) const HASH_BYTES: usize = 32;
/// Bytes of one fact: member index (`u32`), date (`i32`), change (`u8`).
const FACT_BYTES: usize = 9;
/// Fewest bytes an id takes: its length prefix and one byte (an id is never empty).
pub(super) const MIN_ID_BYTES: usize = COUNT_BYTES + 1;
/// Fewest bytes a source file takes: an empty name's length prefix and the digest.
const MIN_SOURCE_FILE_BYTES: usize = COUNT_BYTES + HASH_BYTES;
/// Fewest bytes a group record takes: its id and four empty lists.
const MIN_GROUP_BYTES: usize = MIN_ID_BYTES + 4 * COUNT_BYTES;
/// A fact's change byte.
pub(super) const LEAVE_BYTE: u8 = 0;
pub(super) const JOIN_BYTE: u8 = 1;
/// Only body version 3's nesting section holds it (`nesting_section`).
pub(super) const EXCLUDE_BYTE: u8 = 2;

pub(super) fn change_byte(change: Change) -> u8 {
    match change {
        Change::Leave => LEAVE_BYTE,
        Change::Join => JOIN_BYTE,
        Change::Exclude => EXCLUDE_BYTE,
    }
}

fn damaged(what: impl Display) -> Error {
    Error::corrupt(format!("commit body (version 2): {what}"))
}

/// The members a commit's facts name, sorted, and each fact's index into them, facts in
/// commit order (group by group, each group's facts in order).
struct Dictionary<'a> {
    members: Vec<&'a MemberId>,
    fact_indexes: Vec<u32>,
}

impl<'a> Dictionary<'a> {
    /// Numbers the members in the order first seen, then sorts only the distinct members
    /// and renumbers: far cheaper than sorting every fact's member. Most facts of one
    /// member share its text (every decoded commit's do, and an import's usually), so
    /// members are looked up by the text's address first, which hashes and compares one
    /// integer; only a new address is looked up by the text itself. Every text borrowed
    /// here lives until the end, and ids are never empty, so two texts at one address
    /// are one text.
    fn of(commit: &'a Commit) -> Result<Dictionary<'a>> {
        let mut by_address: FxHashMap<*const u8, u32> = FxHashMap::default();
        let mut by_text: FxHashMap<&'a str, u32> = FxHashMap::default();
        let mut members: Vec<&'a MemberId> = Vec::new();
        let mut fact_indexes = Vec::with_capacity(commit.fact_count());
        for fact in commit.groups.iter().flat_map(|group| &group.facts) {
            let text = fact.member.as_str();
            let index = match by_address.entry(text.as_ptr()) {
                Entry::Occupied(found) => *found.get(),
                Entry::Vacant(address) => {
                    let next = u32::try_from(members.len()).map_err(|_| {
                        Error::corrupt(format!(
                            "commit {}: more members than a u32 index can name",
                            commit.seq
                        ))
                    })?;
                    let index = *by_text.entry(text).or_insert_with(|| {
                        members.push(&fact.member);
                        next
                    });
                    *address.insert(index)
                }
            };
            fact_indexes.push(index);
        }
        // `members.len()` fitted a u32 above, so every position does. `order` is a
        // permutation of the positions in `members`, and every index pushed above is one of
        // them, so the indexing below stays in range.
        let mut order: Vec<u32> = (0..members.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| members[a as usize].cmp(members[b as usize]));
        let mut rank = vec![0u32; members.len()];
        for (position, &first) in order.iter().enumerate() {
            rank[first as usize] = position as u32;
        }
        for index in &mut fact_indexes {
            *index = rank[*index as usize];
        }
        Ok(Dictionary {
            members: order.iter().map(|&first| members[first as usize]).collect(),
            fact_indexes,
        })
    }
}

/// The body being written.
pub(super) struct Writer {
    pub(super) bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(super) fn u32(&mut self, value: u32) {
        self.raw(&value.to_be_bytes());
    }

    pub(super) fn u64(&mut self, value: u64) {
        self.raw(&value.to_be_bytes());
    }

    pub(super) fn i64(&mut self, value: i64) {
        self.raw(&value.to_be_bytes());
    }

    pub(super) fn count(&mut self, count: usize) {
        // A usize fits a u64 on every target Rust supports.
        self.u64(count as u64);
    }

    pub(super) fn text(&mut self, text: &str) {
        self.count(text.len());
        self.raw(text.as_bytes());
    }

    pub(super) fn dates(&mut self, dates: &[Date]) {
        self.count(dates.len());
        for date in dates {
            self.raw(&date.days_from_ce().to_be_bytes());
        }
    }

    pub(super) fn fact(&mut self, index: u32, fact: &MemberFact) {
        let mut record = [0u8; FACT_BYTES];
        record[0..4].copy_from_slice(&index.to_be_bytes());
        record[4..8].copy_from_slice(&fact.date.days_from_ce().to_be_bytes());
        record[8] = change_byte(fact.change);
        self.raw(&record);
    }
}

/// Encodes `commit` (already checked by the caller) as a version-2 body.
pub(super) fn encode(commit: &Commit) -> Result<Vec<u8>> {
    let mut out = writer_for(commit);
    write_head(&mut out, commit);
    write_membership(&mut out, commit)?;
    out.count(commit.erased.len());
    for member in &commit.erased {
        out.text(member.as_str());
    }
    Ok(out.bytes)
}

/// An empty writer with room for most of `commit`'s bytes.
pub(super) fn writer_for(commit: &Commit) -> Writer {
    // Facts dominate a large commit; the rest is a guess that saves a few regrowths.
    let capacity = commit.fact_count() * FACT_BYTES;
    Writer {
        bytes: Vec::with_capacity(capacity.min(MAX_BODY_BYTES)),
    }
}

/// The fields every hand-written version shares, up to and including the source's
/// options.
pub(super) fn write_head(out: &mut Writer, commit: &Commit) {
    out.u64(commit.seq);
    out.i64(commit.recorded_at_ms);
    out.raw(&commit.previous_hash);
    out.u32(u32::from(commit.source.kind.number()));
    out.count(commit.source.files.len());
    for file in &commit.source.files {
        out.text(&file.name);
        out.raw(&file.digest);
    }
    out.count(commit.source.options.len());
    for option in &commit.source.options {
        out.text(option);
    }
}

/// The member dictionary and the group records.
pub(super) fn write_membership(out: &mut Writer, commit: &Commit) -> Result<()> {
    let dictionary = Dictionary::of(commit)?;
    out.count(dictionary.members.len());
    for member in &dictionary.members {
        out.text(member.as_str());
    }
    out.count(commit.groups.len());
    // One index per fact, in the order the loop below visits the facts (`Dictionary::of`
    // walks them the same way).
    let mut indexes = dictionary.fact_indexes.iter().copied();
    for group in &commit.groups {
        out.text(group.group.as_str());
        out.dates(&group.observed);
        out.count(group.facts.len());
        for (fact, index) in group.facts.iter().zip(&mut indexes) {
            out.fact(index, fact);
        }
        out.dates(&group.ended);
        out.dates(&group.reopened);
    }
    Ok(())
}

/// The body being read; every read is bounded by the bytes left.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
    length: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(body: &'a [u8]) -> Reader<'a> {
        Reader {
            rest: body,
            length: body.len(),
        }
    }

    fn ends_early(&self, wanted: usize) -> Error {
        damaged(format!(
            "ends early: {wanted} bytes wanted at byte {}, {} left",
            self.length - self.rest.len(),
            self.rest.len()
        ))
    }

    pub(super) fn take(&mut self, length: usize) -> Result<&'a [u8]> {
        let (taken, rest) = self
            .rest
            .split_at_checked(length)
            .ok_or_else(|| self.ends_early(length))?;
        self.rest = rest;
        Ok(taken)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (taken, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.ends_early(N))?;
        self.rest = rest;
        Ok(*taken)
    }

    pub(super) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    pub(super) fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    /// A count of elements each at least `element_bytes` long. A count claiming more than
    /// the bytes left could hold is refused before anything is reserved for it.
    pub(super) fn count(&mut self, what: &str, element_bytes: usize) -> Result<usize> {
        let claimed = self.u64()?;
        let most = self.rest.len() / element_bytes;
        match usize::try_from(claimed) {
            Ok(count) if count <= most => Ok(count),
            _ => Err(damaged(format!(
                "{what}: a count of {claimed}, but only {} bytes are left",
                self.rest.len()
            ))),
        }
    }

    pub(super) fn text(&mut self, what: &str) -> Result<&'a str> {
        let length = self.count(what, 1)?;
        std::str::from_utf8(self.take(length)?).map_err(|_| damaged(format!("{what}: not UTF-8")))
    }

    pub(super) fn member(&mut self) -> Result<MemberId> {
        let text = self.text("a member id")?;
        MemberId::new(text).map_err(|error| damaged(format!("member id {text:?}: {error}")))
    }

    pub(super) fn group(&mut self) -> Result<GroupId> {
        let text = self.text("a group id")?;
        GroupId::new(text).map_err(|error| damaged(format!("group id {text:?}: {error}")))
    }

    pub(super) fn dates(&mut self, what: &str) -> Result<Vec<Date>> {
        let count = self.count(what, DATE_BYTES)?;
        // `count` dates fit in the bytes left (checked by `count`).
        let (dates, _) = self.take(count * DATE_BYTES)?.as_chunks::<DATE_BYTES>();
        dates.iter().map(|&days| date(days, what)).collect()
    }

    pub(super) fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// Refuses bytes after the last field.
    pub(super) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(damaged(format!("{} trailing bytes", self.rest.len())))
        }
    }
}

pub(super) fn date(days: [u8; DATE_BYTES], what: &str) -> Result<Date> {
    let days = i32::from_be_bytes(days);
    Date::try_from(days).map_err(|error| damaged(format!("{what}: day number {days}: {error}")))
}

/// A dictionary member, and whether any fact has named it yet.
struct DictionaryEntry {
    member: MemberId,
    used: bool,
}

fn read_dictionary(input: &mut Reader) -> Result<Vec<DictionaryEntry>> {
    let count = input.count("member dictionary", MIN_ID_BYTES)?;
    let mut dictionary: Vec<DictionaryEntry> = Vec::with_capacity(count);
    for _ in 0..count {
        let member = input.member()?;
        if let Some(previous) = dictionary.last() {
            if previous.member >= member {
                return Err(damaged(format!(
                    "member dictionary not sorted, or {member} repeats"
                )));
            }
        }
        dictionary.push(DictionaryEntry {
            member,
            used: false,
        });
    }
    Ok(dictionary)
}

/// One group's facts: `count` records of [`FACT_BYTES`], members taken from `dictionary`.
fn read_facts(
    input: &mut Reader,
    count: usize,
    dictionary: &mut [DictionaryEntry],
) -> Result<Vec<MemberFact>> {
    // `count` records fit in the bytes left (checked by `Reader::count`).
    let (records, _) = input.take(count * FACT_BYTES)?.as_chunks::<FACT_BYTES>();
    let mut facts = Vec::with_capacity(count);
    let held = dictionary.len();
    for &[i0, i1, i2, i3, d0, d1, d2, d3, change] in records {
        let index = u32::from_be_bytes([i0, i1, i2, i3]);
        let entry = usize::try_from(index)
            .ok()
            .and_then(|index| dictionary.get_mut(index))
            .ok_or_else(|| {
                damaged(format!(
                    "member index {index}, but the dictionary holds {held}"
                ))
            })?;
        entry.used = true;
        let change = match change {
            LEAVE_BYTE => Change::Leave,
            JOIN_BYTE => Change::Join,
            other => return Err(damaged(format!("change byte {other} is not 0 or 1"))),
        };
        facts.push(MemberFact {
            member: entry.member.clone(),
            date: date([d0, d1, d2, d3], "a fact's date")?,
            change,
        });
    }
    Ok(facts)
}

/// Decodes a whole version-2 body; [`Commit::check`] is the caller's next step.
pub(super) fn decode(body: &[u8]) -> Result<Commit> {
    let mut input = Reader::new(body);
    let mut commit = read_head(&mut input)?;
    commit.groups = read_membership(&mut input)?;
    let erased_count = input.count("erased members", MIN_ID_BYTES)?;
    commit.erased = (0..erased_count)
        .map(|_| input.member())
        .collect::<Result<Vec<_>>>()?;
    input.finish()?;
    Ok(commit)
}

/// The fields up to and including the source's options, in a commit of version 2 with
/// nothing else yet.
pub(super) fn read_head(input: &mut Reader) -> Result<Commit> {
    let seq = input.u64()?;
    let recorded_at_ms = input.i64()?;
    let previous_hash: Hash = input.array()?;
    let kind_number = input.u32()?;
    let kind = SourceKind::from_number(kind_number)
        .ok_or_else(|| damaged(format!("source kind {kind_number} is unknown")))?;
    let file_count = input.count("source files", MIN_SOURCE_FILE_BYTES)?;
    let mut files = Vec::with_capacity(file_count);
    for _ in 0..file_count {
        let name = input.text("a source file name")?.to_string();
        files.push(SourceFile {
            name,
            digest: input.array()?,
        });
    }
    let option_count = input.count("source options", COUNT_BYTES)?;
    let mut options = Vec::with_capacity(option_count);
    for _ in 0..option_count {
        options.push(input.text("a source option")?.to_string());
    }
    Ok(Commit {
        format_version: COMMIT_VERSION_2,
        seq,
        recorded_at_ms,
        previous_hash,
        source: Source {
            kind,
            files,
            options,
        },
        groups: Vec::new(),
        erased: Vec::new(),
        personal: Vec::new(),
    })
}

/// The member dictionary and the group records; every dictionary member must be named
/// by a fact.
pub(super) fn read_membership(input: &mut Reader) -> Result<Vec<GroupRecord>> {
    let mut dictionary = read_dictionary(input)?;
    let group_count = input.count("groups", MIN_GROUP_BYTES)?;
    let mut groups = Vec::with_capacity(group_count);
    let mut fact_total = 0usize;
    for _ in 0..group_count {
        let group = input.group()?;
        let observed = input.dates("observed dates")?;
        let fact_count = input.count("facts", FACT_BYTES)?;
        // Refused here, before reading, rather than only by `Commit::check` afterwards.
        fact_total = fact_total.saturating_add(fact_count);
        if fact_total > MAX_FACTS_PER_COMMIT {
            return Err(damaged(format!("more than {MAX_FACTS_PER_COMMIT} facts")));
        }
        let facts = read_facts(input, fact_count, &mut dictionary)?;
        let ended = input.dates("end dates")?;
        let reopened = input.dates("reopened dates")?;
        groups.push(GroupRecord {
            group,
            observed,
            facts,
            ended,
            reopened,
            subgroups: Vec::new(),
        });
    }
    if let Some(unused) = dictionary.iter().find(|entry| !entry.used) {
        return Err(damaged(format!(
            "dictionary member {} is named by no fact",
            unused.member
        )));
    }
    Ok(groups)
}
