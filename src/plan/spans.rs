//! Spans into facts: what `import spans` asks the planner for.
//!
//! Owns: [`span_batch`].
//! Must not: read files or the ledger; the caller hands over the states of the groups
//! named.

use crate::model::{Batch, Change, Date, Fact, GroupId, InclusiveSpan};
use crate::projection::GroupState;

/// The explicit facts that make `spans` hold: a join on each start, a leave the day after
/// each end, and a join on every date inside a span where facts already in the ledger
/// would have the member out (so a span restated longer than before closes the gap).
/// Facts that change nothing are dropped by the planner. `states` gives the current state
/// of a group the spans name (`None` for a new one).
pub fn span_batch<'a>(
    spans: &[InclusiveSpan],
    states: impl Fn(&GroupId) -> Option<&'a GroupState>,
) -> Batch {
    let mut facts = Vec::new();
    for span in spans {
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
        let existing = states(&span.group).and_then(|state| state.members.get(&span.member));
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
    Batch {
        observations: Vec::new(),
        facts,
        nesting: Vec::new(),
    }
}
