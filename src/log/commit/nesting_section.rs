//! Body version 3's nesting section (kind 3): members' exclusions and subgroup facts.
//!
//! Layout (`docs/format.md`, "The nesting section"): group count (`u64`); per group,
//! strictly ascending by id: the group id, a fact count (`u64`, at least 1), and the facts,
//! each element kind (`u8`: 1 member, 2 group), element id, date (`i32`) and change (`u8`:
//! 0 end, 1 include, 2 exclude; a member's fact is always 2, since joins and leaves live
//! in the membership section), strictly ascending by (element kind, id bytes, date).
//!
//! Owns: splitting a commit into what the membership section holds and what this section
//! holds, and putting the two back together when reading.
//! Must not: touch the envelope, the hash or other sections (that is `body_v3`).

use std::borrow::Cow;
use std::fmt::Display;

use super::body_v2::{
    change_byte, date, Reader, Writer, DATE_BYTES, EXCLUDE_BYTE, JOIN_BYTE, LEAVE_BYTE,
    MIN_ID_BYTES,
};
use super::{Commit, GroupRecord, MemberFact, SubgroupFact};
use crate::error::{Error, Result};
use crate::model::{Change, GroupId, MemberId, MAX_FACTS_PER_COMMIT};

/// An element's kind byte.
pub(super) const MEMBER_ELEMENT: u8 = 1;
pub(super) const GROUP_ELEMENT: u8 = 2;

/// Fewest bytes of one group entry (an id, a count) and of one fact (kind, id, date,
/// change).
const MIN_GROUP_BYTES: usize = MIN_ID_BYTES + 8;
const MIN_FACT_BYTES: usize = 1 + MIN_ID_BYTES + DATE_BYTES + 1;

fn damaged(what: impl Display) -> Error {
    Error::corrupt(format!("commit body (version 3), nesting section: {what}"))
}

/// The commit as the membership section sees it: without exclusions and subgroup facts,
/// and without groups left with nothing. Borrowed when the commit holds no nesting (every
/// commit made before nesting, and nearly every one since), so the common case copies
/// nothing.
pub(super) fn membership_view(commit: &Commit, has_nesting: bool) -> Cow<'_, Commit> {
    if !has_nesting {
        return Cow::Borrowed(commit);
    }
    let mut view = commit.clone();
    for record in &mut view.groups {
        record.facts.retain(|fact| fact.change != Change::Exclude);
        record.subgroups.clear();
    }
    view.groups.retain(|record| !record.is_empty());
    Cow::Owned(view)
}

/// Writes the section's bytes, or returns `None` when the commit holds no nesting (the
/// section is then left out). `has_nesting` is [`Commit::has_nesting`], asked once by the
/// caller (it reads every fact).
pub(super) fn write(commit: &Commit, has_nesting: bool) -> Option<Vec<u8>> {
    if !has_nesting {
        return None;
    }
    let mut out = Writer { bytes: Vec::new() };
    let groups: Vec<&GroupRecord> = commit.groups.iter().filter(|g| g.has_nesting()).collect();
    out.count(groups.len());
    for record in groups {
        out.text(record.group.as_str());
        let exclusions: Vec<&MemberFact> = record
            .facts
            .iter()
            .filter(|fact| fact.change == Change::Exclude)
            .collect();
        out.count(exclusions.len() + record.subgroups.len());
        // Members before groups (kind 1 before 2); each side is already in (id, date)
        // order, as `Commit::check` requires.
        for fact in exclusions {
            element(
                &mut out,
                MEMBER_ELEMENT,
                fact.member.as_str(),
                fact.date,
                fact.change,
            );
        }
        for fact in &record.subgroups {
            element(
                &mut out,
                GROUP_ELEMENT,
                fact.subgroup.as_str(),
                fact.date,
                fact.change,
            );
        }
    }
    Some(out.bytes)
}

fn element(out: &mut Writer, kind: u8, id: &str, date: crate::model::Date, change: Change) {
    out.raw(&[kind]);
    out.text(id);
    out.raw(&date.days_from_ce().to_be_bytes());
    out.raw(&[change_byte(change)]);
}

/// Reads the section and merges it into `groups` (the membership section's records,
/// sorted by group): exclusions join their group's facts in (member, date) order, subgroup
/// facts fill `subgroups`, and a group only this section names gets a record of its own.
pub(super) fn read(input: &mut Reader, groups: &mut Vec<GroupRecord>) -> Result<()> {
    let count = input.count("nesting groups", MIN_GROUP_BYTES)?;
    if count == 0 {
        return Err(damaged(
            "a section with no group is left out, never written",
        ));
    }
    let mut previous_group: Option<GroupId> = None;
    let mut total = 0usize;
    for _ in 0..count {
        let group = input.group()?;
        if previous_group.as_ref().is_some_and(|p| *p >= group) {
            return Err(damaged(format!("group {group} out of order or repeated")));
        }
        previous_group = Some(group.clone());
        let facts = input.count("nesting facts", MIN_FACT_BYTES)?;
        if facts == 0 {
            return Err(damaged(format!("group {group} with no fact")));
        }
        total = total.saturating_add(facts);
        if total > MAX_FACTS_PER_COMMIT {
            return Err(damaged(format!("more than {MAX_FACTS_PER_COMMIT} facts")));
        }
        let mut exclusions = Vec::new();
        let mut subgroups = Vec::new();
        let mut previous: Option<(u8, Vec<u8>, i32)> = None;
        for _ in 0..facts {
            let [kind] = input.array()?;
            let id = input.text("an element id")?;
            let days = input.array::<DATE_BYTES>()?;
            let [change_byte] = input.array()?;
            let key = (kind, id.as_bytes().to_vec(), i32::from_be_bytes(days));
            if previous.as_ref().is_some_and(|p| *p >= key) {
                return Err(damaged(format!(
                    "facts of group {group} out of order, or two for one element on one date"
                )));
            }
            previous = Some(key);
            let date = date(days, "a nesting fact's date")?;
            let change = match change_byte {
                LEAVE_BYTE => Change::Leave,
                JOIN_BYTE => Change::Join,
                EXCLUDE_BYTE => Change::Exclude,
                other => return Err(damaged(format!("change byte {other} is not 0, 1 or 2"))),
            };
            match kind {
                MEMBER_ELEMENT => {
                    if change != Change::Exclude {
                        return Err(damaged(format!(
                            "a member's {} belongs in the membership section",
                            change.as_str()
                        )));
                    }
                    let member = MemberId::new(id)
                        .map_err(|error| damaged(format!("member id {id:?}: {error}")))?;
                    exclusions.push(MemberFact {
                        member,
                        date,
                        change,
                    });
                }
                GROUP_ELEMENT => {
                    let subgroup = GroupId::new(id)
                        .map_err(|error| damaged(format!("group id {id:?}: {error}")))?;
                    subgroups.push(SubgroupFact {
                        subgroup,
                        date,
                        change,
                    });
                }
                other => return Err(damaged(format!("element kind {other} is not 1 or 2"))),
            }
        }
        let position = match groups.binary_search_by(|record| record.group.cmp(&group)) {
            Ok(position) => position,
            Err(position) => {
                groups.insert(position, GroupRecord::new(group));
                position
            }
        };
        let record = &mut groups[position];
        if !exclusions.is_empty() {
            record.facts.extend(exclusions);
            // Stable: a (member, date) in both sections stays twice, and
            // `Commit::check` refuses it.
            record
                .facts
                .sort_by(|a, b| (&a.member, a.date).cmp(&(&b.member, b.date)));
        }
        record.subgroups = subgroups;
    }
    Ok(())
}
