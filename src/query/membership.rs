//! Membership on a date and its history: who was in a group, which groups a member was in,
//! and every span with the commits that opened and closed it.
//!
//! Owns: [`members`], [`groups`], [`group_history`], [`member_history`], [`SpanRecord`].
//! Must not: write anything. As the ledger stands now, `members` of a group asked about
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
    match ledger.cached_group_spans(group) {
        (Some(spans), _) => Ok(spans.members_on(on)),
        // Asked before in this process: worth an index (and the member numbers it names
        // members by), kept for next time.
        (None, true) => match ledger.group_spans(group)? {
            Some(spans) => Ok(spans.members_on(on)),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("no group {group} in the ledger"),
            )),
        },
        // A first question: one pass over the timelines costs less than the index, and
        // far less than the ledger-wide dictionary of member numbers the index needs.
        (None, false) => Ok(ledger.group_state(group)?.members_on(on, None)),
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
