//! Membership on a date and its history: who was in a group, which groups a member was in,
//! and every span with the commits that opened and closed it.
//!
//! Owns: [`members`], [`groups`], [`group_history`], [`member_history`], [`SpanRecord`].
//! Must not: write anything. As the ledger stands now, `members` in a process that asked
//! before reads one bucket of the group's span index (`ledger/cache.rs`); a first question,
//! and any as of an earlier commit, evaluates the timelines.

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::{Date, GroupId, MemberId, Span};
use crate::projection::timeline::Interval;

/// One span with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    pub span: Span,
    pub opened_by: u64,
    pub closed_by: Option<u64>,
}

/// Members of `group` on `on`, sorted, as the ledger stood after commit `as_of`
/// (now when `None`).
pub fn members(
    ledger: &Ledger,
    group: &GroupId,
    on: Date,
    as_of: Option<u64>,
) -> Result<Vec<MemberId>> {
    if as_of.is_some_and(|as_of| as_of < ledger.head_seq()) {
        return Ok(ledger.group_state(group)?.members_on(on, as_of));
    }
    if !ledger.note_question() {
        // A first question: one pass over the timelines costs less than the index, and
        // far less than the ledger-wide dictionary of member numbers the index needs.
        return Ok(ledger.group_state(group)?.members_on(on, None));
    }
    match ledger.group_spans(group)? {
        Some(spans) => Ok(spans.members_on(on)),
        None => Err(Error::new(
            ErrorKind::NotFound,
            format!("no group {group} in the ledger"),
        )),
    }
}

/// Groups `member` was in on `on`, sorted.
pub fn groups(
    ledger: &Ledger,
    member: &MemberId,
    on: Date,
    as_of: Option<u64>,
) -> Result<Vec<GroupId>> {
    Ok(ledger.member_state(member)?.groups_on(on, as_of))
}

/// Every span of every member of `group`, sorted by member then start.
pub fn group_history(
    ledger: &Ledger,
    group: &GroupId,
    as_of: Option<u64>,
) -> Result<Vec<SpanRecord>> {
    let state = ledger.group_state(group)?;
    Ok(state
        .members
        .iter()
        .flat_map(|(member, timeline)| spans(group, member, timeline.intervals(as_of)))
        .collect())
}

/// Every span of `member` in every group, sorted by group then start.
pub fn member_history(
    ledger: &Ledger,
    member: &MemberId,
    as_of: Option<u64>,
) -> Result<Vec<SpanRecord>> {
    let state = ledger.member_state(member)?;
    Ok(state
        .groups
        .iter()
        .flat_map(|(group, timeline)| spans(group, member, timeline.intervals(as_of)))
        .collect())
}

fn spans(group: &GroupId, member: &MemberId, intervals: Vec<Interval>) -> Vec<SpanRecord> {
    intervals
        .into_iter()
        .map(|interval| SpanRecord {
            span: Span {
                group: group.clone(),
                member: member.clone(),
                from: interval.from,
                until: interval.until,
            },
            opened_by: interval.opened_by,
            closed_by: interval.closed_by,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStore;
    use crate::testing::reference::{Space, Statement};
    use crate::testing::{source, to_batch};

    const SPACE: Space = Space {
        groups: 2,
        members: 3,
        days: 2,
        step: 1,
    };

    /// A process asking one question must not pay for the ledger-wide dictionary of member
    /// numbers (at 10M facts it tripled `members --direct`, whose group the CLI had already
    /// decoded to check it exists); a process asking again gets the span indexes.
    #[test]
    fn a_first_question_builds_no_dictionary_and_a_second_does() {
        let mut ledger = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        let statements = [Statement::Snapshot {
            group: 0,
            day: 0,
            members: [0, 2].into_iter().collect(),
        }];
        ledger
            .import(&to_batch(&SPACE, &statements), source(), false)
            .unwrap();
        ledger.drop_caches();
        let group = SPACE.group(0);
        // What the CLI does first: check the group exists, which decodes and holds it.
        crate::query::find::require_group(&ledger, &group).unwrap();
        let first = members(&ledger, &group, SPACE.day(0), None).unwrap();
        assert_eq!(first, vec![SPACE.member(0), SPACE.member(2)]);
        assert!(ledger.held_member_numbers().is_none());
        let again = members(&ledger, &group, SPACE.day(0), None).unwrap();
        assert_eq!(again, first);
        assert!(ledger.held_member_numbers().is_some());

        // The same for resolving: a first question numbers only the members it meets.
        ledger.drop_caches();
        let resolve =
            || crate::query::nesting::members_resolved(&ledger, &group, SPACE.day(0), None);
        assert_eq!(resolve().unwrap(), first);
        assert!(ledger.held_member_numbers().is_none());
        assert_eq!(resolve().unwrap(), first);
        assert!(ledger.held_member_numbers().is_some());
    }
}
