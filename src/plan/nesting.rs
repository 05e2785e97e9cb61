//! Planning subgroup facts, and refusing cycles.
//!
//! Owns: which subgroup facts a batch records (the direct state of a subgroup in a group,
//! decided by its facts as a member's is; a fact that changes nothing is not recorded;
//! within a batch the last fact per (group, subgroup, date) wins), and [`find_cycle`]: a
//! batch that would make a group contain itself, directly or through other groups, on any
//! date, is refused.
//! Must not: read anything but the states it is handed (the ledger hands it every group
//! the batch names and every group below them), or write anything.
//!
//! Observations never speak of subgroups, so observed dates are no anchors here: a
//! subgroup fact holds from its date until the next fact of the same (group, subgroup).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::log::commit::{GroupRecord, SubgroupFact};
use crate::log::source::SourceKind;
use crate::model::{Batch, Change, Date, GroupId, NestingFact};
use crate::projection::timeline::Entry;
use crate::projection::GroupState;

/// Plans the batch's subgroup facts as commit `seq` against `states` (which hold every
/// group they name), leaves `states` as they will be once the commit is applied, and adds
/// the facts to `records` (kept sorted by group; a group with no record yet gets one).
pub fn plan_subgroups(
    states: &mut BTreeMap<GroupId, Arc<GroupState>>,
    batch: &Batch,
    seq: u64,
    source: SourceKind,
    records: &mut Vec<GroupRecord>,
) {
    // The last fact per (group, subgroup, date) in batch order wins; then in date order.
    let mut last: BTreeMap<(&GroupId, &GroupId, Date), Change> = BTreeMap::new();
    for fact in &batch.nesting {
        last.insert((&fact.group, &fact.subgroup, fact.date), fact.change);
    }
    let mut by_date: Vec<_> = last.into_iter().collect();
    by_date.sort_by_key(|((group, subgroup, date), _)| (*date, *group, *subgroup));
    let mut planned: BTreeMap<GroupId, Vec<SubgroupFact>> = BTreeMap::new();
    for ((group, subgroup, date), change) in by_date {
        let now = states
            .get(group)
            .and_then(|state| state.subgroups.get(subgroup))
            .map_or(Change::Leave, |timeline| timeline.state(date, None));
        if now == change {
            continue;
        }
        let entry = Entry { date, seq, change };
        let state = Arc::make_mut(states.entry(group.clone()).or_default());
        state
            .subgroups
            .entry(subgroup.clone())
            .or_default()
            .insert(entry);
        state.note_commit(seq, source);
        let below = Arc::make_mut(states.entry(subgroup.clone()).or_default());
        below
            .parents
            .entry(group.clone())
            .or_default()
            .insert(entry);
        below.applied_through = seq;
        planned
            .entry(group.clone())
            .or_default()
            .push(SubgroupFact {
                subgroup: subgroup.clone(),
                date,
                change,
            });
    }
    for (group, mut facts) in planned {
        facts.sort_by(|a, b| (&a.subgroup, a.date).cmp(&(&b.subgroup, b.date)));
        let position = match records.binary_search_by(|record| record.group.cmp(&group)) {
            Ok(position) => position,
            Err(position) => {
                records.insert(position, GroupRecord::new(group));
                position
            }
        };
        records[position].subgroups = facts;
    }
}

/// A cycle a batch would make: the fact that closes it, the date on which it holds, and
/// the groups around it, starting and ending with the fact's group.
#[derive(Debug, PartialEq, Eq)]
pub struct Cycle<'a> {
    pub fact: &'a NestingFact,
    pub date: Date,
    pub path: Vec<GroupId>,
}

/// The groups whose states the cycle check and the plan need, beyond those a batch names:
/// every group below a group the batch's subgroup facts name. `subgroups_of` gives a
/// group's subgroups on any date; the caller loads the states.
pub fn groups_below(
    batch: &Batch,
    mut subgroups_of: impl FnMut(&GroupId) -> crate::error::Result<Vec<GroupId>>,
) -> crate::error::Result<BTreeSet<GroupId>> {
    let mut seen: BTreeSet<GroupId> = BTreeSet::new();
    let mut next: Vec<GroupId> = batch
        .nesting
        .iter()
        .flat_map(|fact| [fact.group.clone(), fact.subgroup.clone()])
        .collect();
    while let Some(group) = next.pop() {
        if seen.insert(group.clone()) {
            next.extend(subgroups_of(&group)?);
        }
    }
    Ok(seen)
}

/// After planning: the first cycle (by date, then batch order) that the batch's subgroup
/// facts would make in `states`, or `None`. A group *contains* a subgroup on a date when
/// the subgroup is included in it or excluded from it then (either way its members are
/// needed to resolve the group's). Direct states change only on the dates of their
/// facts, so checking those dates checks every date.
pub fn find_cycle<'a>(
    states: &BTreeMap<GroupId, Arc<GroupState>>,
    batch: &'a Batch,
) -> Option<Cycle<'a>> {
    if batch.nesting.is_empty() {
        return None;
    }
    let dates: BTreeSet<Date> = states
        .values()
        .flat_map(|state| state.subgroups.values())
        .flat_map(|timeline| timeline.entries().iter().map(|entry| entry.date))
        .collect();
    for date in dates {
        let contains = |group: &GroupId| -> Vec<&GroupId> {
            states.get(group).map_or(Vec::new(), |state| {
                state
                    .subgroups
                    .iter()
                    .filter(|(_, timeline)| timeline.state(date, None) != Change::Leave)
                    .map(|(subgroup, _)| subgroup)
                    .collect()
            })
        };
        for fact in &batch.nesting {
            if !contains(&fact.group).contains(&&fact.subgroup) {
                continue;
            }
            if let Some(mut path) = path_between(&fact.subgroup, &fact.group, &contains) {
                path.insert(0, fact.group.clone());
                return Some(Cycle { fact, date, path });
            }
        }
    }
    None
}

/// A path of groups from `from` down to `to`, both included, by depth-first search.
fn path_between<'s>(
    from: &GroupId,
    to: &GroupId,
    contains: &impl Fn(&GroupId) -> Vec<&'s GroupId>,
) -> Option<Vec<GroupId>> {
    let mut seen: BTreeSet<GroupId> = BTreeSet::new();
    let mut stack: Vec<Vec<GroupId>> = vec![vec![from.clone()]];
    while let Some(path) = stack.pop() {
        // Every path on the stack has at least the group it started from.
        let last = path.last().expect("a path is never empty").clone();
        if last == *to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for below in contains(&last) {
            let mut longer = path.clone();
            longer.push(below.clone());
            stack.push(longer);
        }
    }
    None
}

/// How a refusal names a cycle: `A > B > A`.
pub fn describe(path: &[GroupId]) -> String {
    path.iter()
        .map(GroupId::as_str)
        .collect::<Vec<_>>()
        .join(" > ")
}
