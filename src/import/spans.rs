//! Membership as spans with an inclusive last day: the `group,member,starts_on,ends_on`
//! files that rosters and terms of office are published as, and that the old Rails app's
//! memberships table held.
//!
//! Owns: reading a spans file ([`read_spans`]: validation, merging overlapping and
//! adjacent spans).
//! Must not: consult the ledger or decide what to record (`plan::spans` turns spans into
//! facts), or format output.

use std::path::Path;

use crate::error::Result;
use crate::import::table::read_table;
use crate::log::source::SourceFile;
use crate::model::InclusiveSpan;

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
