//! What a membership chart shows: its title, its date range and a row of bars per member
//! of a group (or per group of a member), as data.
//!
//! Owns: [`Chart`], [`ChartRow`] and [`chart`], the choice of rows, labels, their order and
//! the range.
//! Must not: draw (the binary turns a [`Chart`] into SVG) or write anything.

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::Date;
use crate::query::audit::Scope;
use crate::query::membership::{self, SpanRecord};

/// One row: a label and its bars, each `from` inclusive to `until` exclusive (`None`:
/// still open), earliest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartRow {
    pub label: String,
    pub bars: Vec<(Date, Option<Date>)>,
}

/// Rows over the dates `from` (inclusive) to `to` (inclusive), under a title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub from: Date,
    pub to: Date,
    pub rows: Vec<ChartRow>,
}

/// The chart of a group's members or a member's groups, as the ledger stood after commit
/// `as_of` (`None`: now). A row is labelled with the member's name and id when a name is
/// known; a member's rows are labelled with the group's name and id, or its id alone. Rows
/// are ordered by their first start (then label), so the chart reads as a story from top
/// to bottom. The range defaults to the first start through the last
/// dated change (a year past the start when every span is open); a group's chart keeps
/// only the members who were in it within the range. Refusals name `muster chart`'s
/// flags: it is the one caller, and a person reads them.
pub fn chart(
    ledger: &Ledger,
    scope: &Scope,
    from: Option<Date>,
    to: Option<Date>,
    as_of: Option<u64>,
) -> Result<Chart> {
    let spans = match scope {
        Scope::Group(g) => membership::group_history(ledger, g, as_of)?,
        Scope::Member(m) => membership::member_history(ledger, m, as_of)?,
        Scope::All => Vec::new(),
    };
    chart_of(ledger, scope, &spans, from, to)
}

/// [`chart`] of the given spans (the direct history, or the resolved one).
pub fn chart_of(
    ledger: &Ledger,
    scope: &Scope,
    spans: &[SpanRecord],
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Chart> {
    let title = match scope {
        Scope::Group(g) => match ledger.group_name(g)? {
            Some(name) => format!("Members of {name} ({g})"),
            None => format!("Members of group {g}"),
        },
        Scope::Member(m) => match ledger.member_name(m)? {
            Some(name) => format!("Groups of {name} ({m})"),
            None => format!("Groups of member {m}"),
        },
        Scope::All => {
            return Err(Error::new(
                ErrorKind::Input,
                "chart needs --group or --member",
            ))
        }
    };
    let mut rows: Vec<ChartRow> = Vec::new();
    for record in spans {
        let label = match scope {
            Scope::Group(_) => match ledger.member_name(&record.span.member)? {
                Some(name) => format!("{name} ({})", record.span.member),
                None => record.span.member.to_string(),
            },
            _ => match ledger.group_name(&record.span.group)? {
                Some(name) => format!("{name} ({})", record.span.group),
                None => record.span.group.to_string(),
            },
        };
        // The history lists a row's spans together: consecutive spans share a row.
        match rows.last_mut() {
            Some(row) if row.label == label => row.bars.push((record.span.from, record.span.until)),
            _ => rows.push(ChartRow {
                label,
                bars: vec![(record.span.from, record.span.until)],
            }),
        }
    }
    let first = spans.iter().map(|s| s.span.from).min();
    let last = spans
        .iter()
        .flat_map(|s| [Some(s.span.from), s.span.until.and_then(Date::previous)])
        .flatten()
        .max();
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(Error::new(
                ErrorKind::Input,
                format!("--to {to} is before --from {from}"),
            ));
        }
    }
    let from = from.or(first).ok_or_else(|| {
        Error::new(
            ErrorKind::Input,
            "nothing to draw: no spans (give --from and --to)",
        )
    })?;
    let mut to = to.or(last).unwrap_or(from);
    if to <= from {
        to = from.add_days(365).unwrap_or(from);
    }
    if let Scope::Group(_) = scope {
        // Members who were in the group within the range only.
        rows.retain(|row| {
            row.bars
                .iter()
                .any(|(start, until)| *start <= to && until.is_none_or(|u| u > from))
        });
    }
    for row in &mut rows {
        row.bars.sort();
    }
    // Every row has at least one bar: the span that made it.
    rows.sort_by(|a, b| (a.bars.first(), &a.label).cmp(&(b.bars.first(), &b.label)));
    Ok(Chart {
        title,
        from,
        to,
        rows,
    })
}
