//! Membership as spans with an inclusive last day: the `group,member,starts_on,ends_on`
//! files that rosters and terms of office are published as, and that the old Rails app's
//! memberships table held.
//!
//! Owns: reading a spans file ([`read_spans`]: validation, merging overlapping and
//! adjacent spans), turning spans into the explicit facts that make them hold
//! ([`span_batch`]), and the export rows ([`export_spans`]).
//! Must not: decide what to record (the planner skips facts that change nothing, which is
//! what makes a re-import append nothing), or format output.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::import::input::read_table;
use crate::ledger::Ledger;
use crate::log::commit::SourceFile;
use crate::model::{Change, Date, Fact, GroupId, MemberId};
use crate::plan::Batch;

/// One span: `starts_on` and `ends_on` both inclusive; `ends_on` is `None` while open.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InclusiveSpan {
    pub group: GroupId,
    pub member: MemberId,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

/// Reads a spans file (header `group,member,starts_on,ends_on`, columns found by name,
/// `ends_on` blank for a span still open) and merges the spans of each member in each
/// group that overlap or touch (one ends the day before the next starts). Returns the
/// merged spans sorted by group, member, start.
pub fn read_spans(path: &Path) -> Result<(Vec<InclusiveSpan>, SourceFile)> {
    let (table, source) = read_table(path)?;
    let [group_column, member_column, starts_column, ends_column] =
        table.columns(["group", "member", "starts_on", "ends_on"])?;
    let mut spans = Vec::new();
    for row in table.rows() {
        let starts_on = row.date(starts_column)?;
        let ends_on = if row.text(ends_column).is_empty() {
            None
        } else {
            Some(row.date(ends_column)?)
        };
        if let Some(ends_on) = ends_on {
            if ends_on < starts_on {
                return Err(row.error(
                    ends_column,
                    format!("ends_on {ends_on} is before starts_on {starts_on}"),
                ));
            }
            // The leave is dated the day after; the last day of the calendar has none.
            if ends_on.add_days(1).is_none() {
                return Err(row.error(
                    ends_column,
                    format!("ends_on {ends_on} is the last representable day; leave it blank"),
                ));
            }
        }
        spans.push(InclusiveSpan {
            group: row.group(group_column)?,
            member: row.member(member_column)?,
            starts_on,
            ends_on,
        });
    }
    Ok((merge(spans), source))
}

/// Merges overlapping and adjacent spans of one member in one group. An open span
/// swallows every span that starts after it.
pub fn merge(mut spans: Vec<InclusiveSpan>) -> Vec<InclusiveSpan> {
    spans.sort();
    let mut merged: Vec<InclusiveSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        if let Some(last) = merged.last_mut() {
            let same = last.group == span.group && last.member == span.member;
            // The day after `last` ends; `None` for an open span (it reaches everything).
            let reaches = match last.ends_on {
                None => true,
                Some(end) => end.add_days(1).is_none_or(|next| span.starts_on <= next),
            };
            if same && reaches {
                last.ends_on = match (last.ends_on, span.ends_on) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                continue;
            }
        }
        merged.push(span);
    }
    merged
}

/// The explicit facts that make `spans` hold: a join on each start, a leave the day after
/// each end, and a join on every date inside a span where facts already in the ledger
/// would have the member out (so a span restated longer than before closes the gap).
/// Facts that change nothing are dropped by the planner.
pub fn span_batch(ledger: &Ledger, spans: &[InclusiveSpan]) -> Result<Batch> {
    let mut facts = Vec::new();
    let mut groups: BTreeMap<GroupId, Option<crate::projection::GroupState>> = BTreeMap::new();
    for span in spans {
        if !groups.contains_key(&span.group) {
            groups.insert(span.group.clone(), ledger.find_group(&span.group)?);
        }
        let fact = |date: Date, change: Change| Fact {
            date,
            group: span.group.clone(),
            member: span.member.clone(),
            change,
        };
        facts.push(fact(span.starts_on, Change::Join));
        let leave = span.ends_on.and_then(|end| end.add_days(1));
        if let Some(leave) = leave {
            facts.push(fact(leave, Change::Leave));
        }
        let existing = groups[&span.group]
            .as_ref()
            .and_then(|state| state.members.get(&span.member));
        if let Some(timeline) = existing {
            for entry in timeline.entries() {
                let inside =
                    entry.date > span.starts_on && leave.is_none_or(|leave| entry.date < leave);
                if inside && !timeline.is_member(entry.date, None) {
                    facts.push(fact(entry.date, Change::Join));
                }
            }
        }
    }
    facts.sort();
    facts.dedup();
    Ok(Batch {
        observations: Vec::new(),
        facts,
    })
}

/// Every span of `group` (all groups when `None`) as the ledger stood after `as_of`, with
/// an inclusive last day, sorted by group, member, start.
pub fn export_spans(
    ledger: &Ledger,
    group: Option<&GroupId>,
    as_of: Option<u64>,
) -> Result<Vec<InclusiveSpan>> {
    let groups = match group {
        Some(group) => vec![group.clone()],
        None => ledger.group_ids()?,
    };
    let mut out = Vec::new();
    for group in &groups {
        for record in ledger.group_history(group, as_of)? {
            out.push(InclusiveSpan {
                group: record.span.group,
                member: record.span.member,
                starts_on: record.span.from,
                // `until` is the first day out, so it always has a day before it.
                ends_on: record.span.until.and_then(Date::previous),
            });
        }
    }
    out.sort();
    Ok(out)
}
