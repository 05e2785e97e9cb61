//! Commit body version 3: the fields of version 2 up to the source, then *sections*, each
//! its kind (`u16`), its length (`u64`) and its bytes. Later content is a new section
//! kind, not a new body version; a reader refuses a kind it does not know, so an older
//! muster never misreads a newer commit.
//!
//! Section kinds, in the order they appear (strictly ascending; an empty one is left out):
//! 1 the interned id dictionary (reserved for the interned ids of issue 14; never written
//! yet), 2 membership (version 2's member dictionary and group records, byte for byte),
//! 3 nesting facts (members' exclusions and subgroup facts, `nesting_section`), 4 personal
//! data (salted digests of the values this commit sets, and the subjects
//! it erases). `docs/format.md` gives every byte.
//!
//! Owns: turning a [`Commit`] into version-3 body bytes and back, and the checks only this
//! layout needs (known kinds, ascending, each length within the body and used exactly).
//! Must not: touch the envelope or the hash (that is `commit`), or skip [`Commit::check`]
//! (the caller runs it after decoding).

use std::fmt::Display;

use super::body_v2::{
    read_head, read_membership, write_head, write_membership, writer_for, Reader, Writer,
    HASH_BYTES, MIN_ID_BYTES,
};
use super::{nesting_section, Commit, COMMIT_VERSION_3};
use crate::error::{Error, Result};
use crate::log::personal::{Field, PersonalRecord, Subject, MEMBER_SUBJECT};
use crate::model::MAX_PERSONAL_VALUES_PER_COMMIT;

/// Section kinds. 1 is reserved (see the module header): a commit holding one is refused
/// until the muster that writes it reads it.
pub(super) const SECTION_ID_DICTIONARY: u16 = 1;
pub(super) const SECTION_MEMBERSHIP: u16 = 2;
pub(super) const SECTION_NESTING: u16 = 3;
pub(super) const SECTION_PERSONAL: u16 = 4;

/// Fewest bytes a personal record takes: kind, an id, field, digest.
const MIN_RECORD_BYTES: usize = 1 + MIN_ID_BYTES + 1 + HASH_BYTES;
/// Fewest bytes an erasure takes: kind and an id.
const MIN_ERASURE_BYTES: usize = 1 + MIN_ID_BYTES;

fn damaged(what: impl Display) -> Error {
    Error::corrupt(format!("commit body (version 3): {what}"))
}

/// Encodes `commit` (already checked by the caller) as a version-3 body.
pub(super) fn encode(commit: &Commit) -> Result<Vec<u8>> {
    let mut out = writer_for(commit);
    write_head(&mut out, commit);
    let has_nesting = commit.has_nesting();
    let membership = nesting_section::membership_view(commit, has_nesting);
    if !membership.groups.is_empty() {
        let mut section = writer_for(&membership);
        write_membership(&mut section, &membership)?;
        put_section(&mut out, SECTION_MEMBERSHIP, &section.bytes);
    }
    if let Some(bytes) = nesting_section::write(commit, has_nesting) {
        put_section(&mut out, SECTION_NESTING, &bytes);
    }
    if !commit.personal.is_empty() || !commit.erased.is_empty() {
        let mut section = Writer { bytes: Vec::new() };
        section.count(commit.personal.len());
        for record in &commit.personal {
            section.raw(&[record.subject.kind_byte()]);
            section.text(record.subject.id());
            section.raw(&[record.field.byte()]);
            section.raw(&record.digest);
        }
        section.count(commit.erased.len());
        for member in &commit.erased {
            section.raw(&[MEMBER_SUBJECT]);
            section.text(member.as_str());
        }
        put_section(&mut out, SECTION_PERSONAL, &section.bytes);
    }
    Ok(out.bytes)
}

fn put_section(out: &mut Writer, kind: u16, bytes: &[u8]) {
    out.raw(&kind.to_be_bytes());
    out.count(bytes.len());
    out.raw(bytes);
}

/// Decodes a whole version-3 body; [`Commit::check`] is the caller's next step.
pub(super) fn decode(body: &[u8]) -> Result<Commit> {
    let mut input = Reader::new(body);
    let mut commit = read_head(&mut input)?;
    commit.format_version = COMMIT_VERSION_3;
    let mut previous_kind = 0u16;
    while !input.at_end() {
        let kind = u16::from_be_bytes(input.array()?);
        let length = input.count("a section", 1)?;
        let bytes = input.take(length)?;
        if kind <= previous_kind {
            return Err(damaged(format!(
                "section kind {kind} after kind {previous_kind}: sections must be in \
                 ascending order, each at most once"
            )));
        }
        previous_kind = kind;
        let mut section = Reader::new(bytes);
        match kind {
            SECTION_MEMBERSHIP => commit.groups = read_membership(&mut section)?,
            SECTION_NESTING => nesting_section::read(&mut section, &mut commit.groups)?,
            SECTION_PERSONAL => read_personal(&mut section, &mut commit)?,
            SECTION_ID_DICTIONARY => {
                return Err(damaged(format!(
                    "section kind {kind} is reserved and not read by this muster \
                     (written by a newer one?)"
                )))
            }
            other => {
                return Err(damaged(format!(
                    "section kind {other} is not one this muster knows (written by a newer \
                     one?)"
                )))
            }
        }
        section.finish()?;
    }
    Ok(commit)
}

fn read_personal(input: &mut Reader, commit: &mut Commit) -> Result<()> {
    let count = input.count("personal values", MIN_RECORD_BYTES)?;
    if count > MAX_PERSONAL_VALUES_PER_COMMIT {
        return Err(damaged(format!(
            "more than {MAX_PERSONAL_VALUES_PER_COMMIT} personal values"
        )));
    }
    let mut personal = Vec::with_capacity(count);
    for _ in 0..count {
        let subject = subject(input)?;
        let [field_byte] = input.array()?;
        let field = Field::from_byte(field_byte)
            .ok_or_else(|| damaged(format!("field byte {field_byte} is unknown")))?;
        personal.push(PersonalRecord {
            subject,
            field,
            digest: input.array()?,
        });
    }
    let count = input.count("erasures", MIN_ERASURE_BYTES)?;
    let mut erased = Vec::with_capacity(count);
    for _ in 0..count {
        match subject(input)? {
            Subject::Member(member) => erased.push(member),
            Subject::Group(group) => {
                return Err(damaged(format!(
                    "an erasure of group {group}: this muster erases members only"
                )))
            }
        }
    }
    commit.personal = personal;
    commit.erased = erased;
    Ok(())
}

fn subject(input: &mut Reader) -> Result<Subject> {
    let [kind] = input.array()?;
    let id = input.text("a subject id")?;
    Subject::from_parts(kind, id)
        .ok_or_else(|| damaged(format!("subject kind {kind} with id {id:?} is not valid")))
}
