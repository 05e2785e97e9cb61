//! Span export: every span of a group (or of all groups) with an inclusive last day, the
//! shape SQL users load (`export spans`).
//!
//! Owns: [`export_spans`].
//! Must not: write anything.

use crate::error::Result;
use crate::ledger::Ledger;
use crate::model::{Date, GroupId, InclusiveSpan};
use crate::query::membership;

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
        for record in membership::group_history(ledger, group, as_of)? {
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
