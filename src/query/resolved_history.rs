//! Resolved membership over time: a group's or a member's spans through nesting, the
//! changes in a date range, and the span export (`history`, `changes`, `chart` with
//! `--resolved`, `export spans --resolved`).
//!
//! Owns: finding the dates on which resolved membership can change, resolving on each,
//! and turning the answers into spans with provenance.
//! Must not: resolve by any rule of its own (it asks `query::nesting`), write anything, or
//! replay the log.
//!
//! Resolved membership of M in G can change only on a date that some fact of G or of a
//! group below it names (for a member: a fact of M, or a subgroup fact of a group at or
//! above M's groups). A span's `opened_by` (`closed_by`) is the last commit that recorded a
//! fact dated on its first day (its first day out) among those facts: the commit whose
//! fact decides that day.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::ledger::Ledger;
use crate::model::{Date, GroupId, InclusiveSpan, MemberId, Span};
use crate::projection::timeline::{Interval, Timeline};
use crate::query::audit::{push_span_changes, ChangeRecord, Scope};
use crate::query::membership::SpanRecord;
use crate::query::nesting::{groups_resolved, members_resolved};

/// Adds to `dates` each entry date of `timeline` (commits up to `as_of`), with the last
/// commit that recorded an entry on it.
fn note_dates(dates: &mut BTreeMap<Date, u64>, timeline: &Timeline, as_of: Option<u64>) {
    for entry in timeline.entries() {
        if as_of.is_none_or(|limit| entry.seq <= limit) {
            let seq = dates.entry(entry.date).or_insert(entry.seq);
            *seq = (*seq).max(entry.seq);
        }
    }
}

/// A key's span: from, until, and the commits that opened and closed it.
type KeySpan<K> = (K, Date, Option<Date>, u64, Option<u64>);

/// Spans of the keys `answer` gives on each of `dates` (in order): a key in on one date
/// and out on the next closes a span there. Sorted by key, then start.
fn spans_over<K: Ord + Clone>(
    dates: &BTreeMap<Date, u64>,
    mut answer: impl FnMut(Date) -> Result<Vec<K>>,
) -> Result<Vec<KeySpan<K>>> {
    let mut open: BTreeMap<K, (Date, u64)> = BTreeMap::new();
    let mut spans = Vec::new();
    for (&date, &seq) in dates {
        let now: BTreeSet<K> = answer(date)?.into_iter().collect();
        let closed: Vec<K> = open.keys().filter(|k| !now.contains(*k)).cloned().collect();
        for key in closed {
            if let Some((from, opened_by)) = open.remove(&key) {
                spans.push((key, from, Some(date), opened_by, Some(seq)));
            }
        }
        for key in now {
            open.entry(key).or_insert((date, seq));
        }
    }
    spans.extend(
        open.into_iter()
            .map(|(key, (from, opened_by))| (key, from, None, opened_by, None)),
    );
    spans.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(spans)
}

/// Every group `group` holds through its subgroups on any date (itself included).
fn groups_below(ledger: &Ledger, group: &GroupId) -> Result<BTreeSet<GroupId>> {
    let mut seen = BTreeSet::new();
    let mut next = vec![group.clone()];
    while let Some(group) = next.pop() {
        if seen.insert(group.clone()) {
            next.extend(ledger.group_state(&group)?.subgroups.keys().cloned());
        }
    }
    Ok(seen)
}

/// The resolved spans of every member of `group`, sorted by member then start, as of
/// commit `as_of`.
pub fn group_history(
    ledger: &Ledger,
    group: &GroupId,
    as_of: Option<u64>,
) -> Result<Vec<SpanRecord>> {
    let mut dates = BTreeMap::new();
    for below in groups_below(ledger, group)? {
        let state = ledger.group_state(&below)?;
        for timeline in state.members.values().chain(state.subgroups.values()) {
            note_dates(&mut dates, timeline, as_of);
        }
    }
    let spans = spans_over(&dates, |date| members_resolved(ledger, group, date, as_of))?;
    Ok(spans
        .into_iter()
        .map(|(member, from, until, opened_by, closed_by)| {
            record(group.clone(), member, from, until, opened_by, closed_by)
        })
        .collect())
}

/// The resolved spans of `member` in every group, sorted by group then start, as of commit
/// `as_of`.
pub fn member_history(
    ledger: &Ledger,
    member: &MemberId,
    as_of: Option<u64>,
) -> Result<Vec<SpanRecord>> {
    let state = ledger.member_state(member)?;
    let mut dates = BTreeMap::new();
    let mut above: BTreeSet<GroupId> = BTreeSet::new();
    let mut next: Vec<GroupId> = state.groups.keys().cloned().collect();
    for timeline in state.groups.values() {
        note_dates(&mut dates, timeline, as_of);
    }
    while let Some(group) = next.pop() {
        if above.insert(group.clone()) {
            let group_state = ledger.group_state(&group)?;
            for timeline in group_state.subgroups.values() {
                note_dates(&mut dates, timeline, as_of);
            }
            next.extend(group_state.parents.keys().cloned());
        }
    }
    let spans = spans_over(&dates, |date| {
        Ok(groups_resolved(ledger, member, date, as_of)?
            .into_iter()
            .map(|found| found.group)
            .collect())
    })?;
    Ok(spans
        .into_iter()
        .map(|(group, from, until, opened_by, closed_by)| {
            record(group, member.clone(), from, until, opened_by, closed_by)
        })
        .collect())
}

fn record(
    group: GroupId,
    member: MemberId,
    from: Date,
    until: Option<Date>,
    opened_by: u64,
    closed_by: Option<u64>,
) -> SpanRecord {
    SpanRecord {
        span: Span {
            group,
            member,
            from,
            until,
        },
        opened_by,
        closed_by,
    }
}

/// The resolved history of a scope: a group's, a member's, or every group's.
pub fn history(ledger: &Ledger, scope: &Scope, as_of: Option<u64>) -> Result<Vec<SpanRecord>> {
    match scope {
        Scope::Group(group) => group_history(ledger, group, as_of),
        Scope::Member(member) => member_history(ledger, member, as_of),
        Scope::All => {
            let mut all = Vec::new();
            for group in ledger.group_ids()? {
                all.extend(group_history(ledger, &group, as_of)?);
            }
            Ok(all)
        }
    }
}

/// Every resolved join and leave dated in `[from, to]` (a leave's date is the first day
/// out), sorted by date, group, member, as of commit `as_of`.
pub fn changes(
    ledger: &Ledger,
    from: Date,
    to: Date,
    scope: &Scope,
    as_of: Option<u64>,
) -> Result<Vec<ChangeRecord>> {
    crate::query::audit::check_range(from, to)?;
    let mut changes = Vec::new();
    for record in history(ledger, scope, as_of)? {
        let interval = Interval {
            from: record.span.from,
            until: record.span.until,
            opened_by: record.opened_by,
            closed_by: record.closed_by,
        };
        let (group, member) = (&record.span.group, &record.span.member);
        push_span_changes(&mut changes, group, member, &interval, (from, to));
    }
    changes.sort();
    Ok(changes)
}

/// Every resolved span of `group` (all groups when `None`) as the ledger stood after
/// `as_of`, with an inclusive last day, sorted by group, member, start (`export spans
/// --resolved`).
pub fn export_spans(
    ledger: &Ledger,
    group: Option<&GroupId>,
    as_of: Option<u64>,
) -> Result<Vec<InclusiveSpan>> {
    let scope = match group {
        Some(group) => Scope::Group(group.clone()),
        None => Scope::All,
    };
    let mut out: Vec<InclusiveSpan> = history(ledger, &scope, as_of)?
        .into_iter()
        .map(|record| InclusiveSpan {
            group: record.span.group,
            member: record.span.member,
            starts_on: record.span.from,
            // `until` is the first day out, so it always has a day before it.
            ends_on: record.span.until.and_then(Date::previous),
        })
        .collect();
    out.sort();
    Ok(out)
}
