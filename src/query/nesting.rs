//! Nested groups resolved: who is in a group on a date through its subgroups, which groups
//! a member is in through nesting, a group's subgroups, and resolved spans.
//!
//! Owns: the resolution rule (ARCHITECTURE.md, "resolution"): members(G, D) =
//! ((⋃ members(H, D), H included in G) − (⋃ members(H, D), H excluded from G) ∪ I) − X,
//! with I and X the members directly included in and excluded from G on D. So an
//! individual exclusion beats everything, an individual inclusion beats a group
//! exclusion, and a group exclusion beats a group inclusion.
//! Must not: write anything, or replay the log: it reads the derived state (as the ledger
//! stands now, each group's cached span index; as of an earlier commit, its timelines).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::{Change, Date, GroupId, MemberId, Span};
use crate::projection::timeline::Timeline;

/// A group's subgroups on a date: those included in it and those excluded from it, each
/// sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subgroups {
    pub included: Vec<GroupId>,
    pub excluded: Vec<GroupId>,
}

/// What one group says directly on a date.
struct Direct {
    included: Vec<MemberId>,
    excluded: Vec<MemberId>,
    subgroups: Subgroups,
}

/// The subgroups of `timelines` in state `Join` and `Exclude` on `on`.
fn subgroups_of(
    timelines: &BTreeMap<GroupId, Timeline>,
    on: Date,
    as_of: Option<u64>,
) -> Subgroups {
    let mut subgroups = Subgroups::default();
    for (subgroup, timeline) in timelines {
        match timeline.state(on, as_of) {
            Change::Join => subgroups.included.push(subgroup.clone()),
            Change::Exclude => subgroups.excluded.push(subgroup.clone()),
            Change::Leave => {}
        }
    }
    subgroups
}

/// The subgroups included in and excluded from `group` on `on`, as of commit `as_of`.
pub fn subgroups(
    ledger: &Ledger,
    group: &GroupId,
    on: Date,
    as_of: Option<u64>,
) -> Result<Subgroups> {
    Ok(subgroups_of(
        &ledger.group_state(group)?.subgroups,
        on,
        as_of,
    ))
}

/// Resolves groups on one date, as of one commit, remembering every group it resolved
/// (a group reached through two paths is resolved once).
pub struct Resolver<'l> {
    ledger: &'l Ledger,
    on: Date,
    as_of: Option<u64>,
    resolved: HashMap<GroupId, Arc<Vec<MemberId>>>,
    direct: HashMap<GroupId, Arc<Direct>>,
    /// Groups being resolved: meeting one again is a cycle, which a checked ledger never
    /// holds (refused as corrupt rather than recursing for ever).
    open: BTreeSet<GroupId>,
}

impl<'l> Resolver<'l> {
    pub fn new(ledger: &'l Ledger, on: Date, as_of: Option<u64>) -> Resolver<'l> {
        // As of the head is now: the span indexes answer.
        let as_of = as_of.filter(|as_of| *as_of < ledger.head_seq());
        Resolver {
            ledger,
            on,
            as_of,
            resolved: HashMap::new(),
            direct: HashMap::new(),
            open: BTreeSet::new(),
        }
    }

    fn direct(&mut self, group: &GroupId) -> Result<Arc<Direct>> {
        if let Some(direct) = self.direct.get(group) {
            return Ok(direct.clone());
        }
        let state = self.ledger.group_state(group)?;
        let (on, as_of) = (self.on, self.as_of);
        let (included, excluded) = match as_of {
            None => {
                let spans = self
                    .ledger
                    .group_spans(group)?
                    .ok_or_else(|| unknown(group))?;
                (spans.members_on(on), spans.excluded_on(on))
            }
            Some(_) => (
                state.members_on(on, as_of),
                state
                    .members
                    .iter()
                    .filter(|(_, timeline)| timeline.state(on, as_of) == Change::Exclude)
                    .map(|(member, _)| member.clone())
                    .collect(),
            ),
        };
        let direct = Arc::new(Direct {
            included,
            excluded,
            subgroups: subgroups_of(&state.subgroups, on, as_of),
        });
        self.direct.insert(group.clone(), direct.clone());
        Ok(direct)
    }

    /// The resolved members of `group`, sorted.
    pub fn members(&mut self, group: &GroupId) -> Result<Arc<Vec<MemberId>>> {
        if let Some(members) = self.resolved.get(group) {
            return Ok(members.clone());
        }
        if !self.open.insert(group.clone()) {
            return Err(Error::corrupt(format!(
                "group {group} contains itself through its subgroups"
            )));
        }
        let direct = self.direct(group)?;
        let members = if direct.subgroups.included.is_empty() {
            // Nothing comes in through nesting: an excluded subgroup takes nothing away
            // from nothing, and the direct states are one per member.
            direct.included.clone()
        } else {
            let mut runs = Vec::with_capacity(direct.subgroups.included.len());
            for subgroup in &direct.subgroups.included {
                runs.push(self.members(subgroup)?);
            }
            let mut through = union(&runs);
            if !direct.subgroups.excluded.is_empty() {
                let mut runs = Vec::with_capacity(direct.subgroups.excluded.len());
                for subgroup in &direct.subgroups.excluded {
                    runs.push(self.members(subgroup)?);
                }
                through = difference(&through, &union(&runs));
            }
            let with_own = union(&[Arc::new(through), Arc::new(direct.included.clone())]);
            difference(&with_own, &direct.excluded)
        };
        self.open.remove(group);
        let members = Arc::new(members);
        self.resolved.insert(group.clone(), members.clone());
        Ok(members)
    }

    /// For a resolved member of `group` not directly included in it, the subgroups it
    /// comes in through, from `group`'s subgroup down to the one that includes it
    /// directly (the first such path in id order); `None` when it is directly included.
    pub fn via(&mut self, group: &GroupId, member: &MemberId) -> Result<Option<Vec<GroupId>>> {
        let direct = self.direct(group)?;
        if direct.included.binary_search(member).is_ok() {
            return Ok(None);
        }
        for subgroup in &direct.subgroups.included {
            if self.members(subgroup)?.binary_search(member).is_ok() {
                let mut path = vec![subgroup.clone()];
                if let Some(below) = self.via(subgroup, member)? {
                    path.extend(below);
                }
                return Ok(Some(path));
            }
        }
        Ok(None)
    }
}

fn unknown(group: &GroupId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no group {group} in the ledger"),
    )
}

/// The union of sorted runs, sorted, merged pairwise.
fn union(runs: &[Arc<Vec<MemberId>>]) -> Vec<MemberId> {
    let mut merged: Vec<Vec<MemberId>> = runs.iter().map(|run| run.as_ref().clone()).collect();
    while merged.len() > 1 {
        let mut next = Vec::with_capacity(merged.len().div_ceil(2));
        let mut pairs = merged.into_iter();
        while let Some(first) = pairs.next() {
            match pairs.next() {
                Some(second) => next.push(merge(&first, &second)),
                None => next.push(first),
            }
        }
        merged = next;
    }
    merged.pop().unwrap_or_default()
}

fn merge(a: &[MemberId], b: &[MemberId]) -> Vec<MemberId> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i].clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// `a` without `b`, both sorted.
fn difference(a: &[MemberId], b: &[MemberId]) -> Vec<MemberId> {
    if b.is_empty() {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for member in a {
        while j < b.len() && b[j] < *member {
            j += 1;
        }
        if b.get(j) != Some(member) {
            out.push(member.clone());
        }
    }
    out
}

/// The resolved members of `group` on `on`, sorted, as of commit `as_of`.
pub fn members_resolved(
    ledger: &Ledger,
    group: &GroupId,
    on: Date,
    as_of: Option<u64>,
) -> Result<Vec<MemberId>> {
    let members = Resolver::new(ledger, on, as_of).members(group)?;
    Ok(Arc::try_unwrap(members).unwrap_or_else(|shared| shared.as_ref().clone()))
}

/// A group a member is in on a date, and whether directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupIn {
    pub group: GroupId,
    pub direct: bool,
}

/// Every group `member` is in on `on`, directly or through nesting, sorted, as of commit
/// `as_of`. Only groups at or above the member's own groups can hold it: those are walked
/// up through the parent timelines, and each is decided for this member alone.
pub fn groups_resolved(
    ledger: &Ledger,
    member: &MemberId,
    on: Date,
    as_of: Option<u64>,
) -> Result<Vec<GroupIn>> {
    let state = ledger.member_state(member)?;
    let mut candidates: BTreeSet<GroupId> = BTreeSet::new();
    let mut next: Vec<GroupId> = state.groups.keys().cloned().collect();
    while let Some(group) = next.pop() {
        if candidates.insert(group.clone()) {
            if let Some(group_state) = ledger.group(&group)? {
                next.extend(group_state.parents.keys().cloned());
            }
        }
    }
    let mut decided: HashMap<GroupId, bool> = HashMap::new();
    let mut answer = Vec::new();
    for group in &candidates {
        let direct = state
            .groups
            .get(group)
            .is_some_and(|timeline| timeline.state(on, as_of) == Change::Join);
        if contains(
            ledger,
            group,
            &state.groups,
            &candidates,
            on,
            as_of,
            &mut decided,
            0,
        )? {
            answer.push(GroupIn {
                group: group.clone(),
                direct,
            });
        }
    }
    Ok(answer)
}

/// Most levels of nesting walked for one member: deeper means a cycle, which a checked
/// ledger never holds.
const MAX_DEPTH: usize = 10_000;

/// Whether `group` holds the member whose timelines are `own` (resolution for one
/// member), remembering each group decided.
#[allow(clippy::too_many_arguments)]
fn contains(
    ledger: &Ledger,
    group: &GroupId,
    own: &BTreeMap<GroupId, Timeline>,
    candidates: &BTreeSet<GroupId>,
    on: Date,
    as_of: Option<u64>,
    decided: &mut HashMap<GroupId, bool>,
    depth: usize,
) -> Result<bool> {
    if let Some(&answer) = decided.get(group) {
        return Ok(answer);
    }
    if depth > MAX_DEPTH {
        return Err(Error::corrupt(format!(
            "group {group} contains itself through its subgroups"
        )));
    }
    let answer = match own.get(group).map(|t| t.state(on, as_of)) {
        Some(Change::Join) => true,
        Some(Change::Exclude) => false,
        _ => {
            let state = ledger.group_state(group)?;
            let subgroups = subgroups_of(&state.subgroups, on, as_of);
            let mut holds = |subgroups: &[GroupId]| -> Result<bool> {
                for subgroup in subgroups.iter().filter(|g| candidates.contains(*g)) {
                    if contains(
                        ledger,
                        subgroup,
                        own,
                        candidates,
                        on,
                        as_of,
                        decided,
                        depth + 1,
                    )? {
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            holds(&subgroups.included)? && !holds(&subgroups.excluded)?
        }
    };
    decided.insert(group.clone(), answer);
    Ok(answer)
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

/// The resolved membership of `group` as spans (`from` inclusive, `until` exclusive),
/// sorted by member then start, as of commit `as_of`. Resolved membership can change only
/// on a date some fact of the group or a group below it names, so it is resolved on each
/// such date.
pub fn resolved_spans(ledger: &Ledger, group: &GroupId, as_of: Option<u64>) -> Result<Vec<Span>> {
    let mut dates: BTreeSet<Date> = BTreeSet::new();
    for below in groups_below(ledger, group)? {
        let state = ledger.group_state(&below)?;
        for timeline in state.members.values().chain(state.subgroups.values()) {
            dates.extend(
                timeline
                    .entries()
                    .iter()
                    .filter(|e| as_of.is_none_or(|limit| e.seq <= limit))
                    .map(|e| e.date),
            );
        }
    }
    let mut open: BTreeMap<MemberId, Date> = BTreeMap::new();
    let mut spans = Vec::new();
    for date in dates {
        let now = members_resolved(ledger, group, date, as_of)?;
        let now_set: BTreeSet<&MemberId> = now.iter().collect();
        let closed: Vec<MemberId> = open
            .keys()
            .filter(|member| !now_set.contains(member))
            .cloned()
            .collect();
        for member in closed {
            if let Some(from) = open.remove(&member) {
                spans.push(Span {
                    group: group.clone(),
                    member,
                    from,
                    until: Some(date),
                });
            }
        }
        for member in now {
            open.entry(member).or_insert(date);
        }
    }
    spans.extend(open.into_iter().map(|(member, from)| Span {
        group: group.clone(),
        member,
        from,
        until: None,
    }));
    spans.sort();
    Ok(spans)
}

/// Every resolved span of `group` (all groups when `None`) as the ledger stood after
/// `as_of`, with an inclusive last day, sorted by group, member, start (`export spans
/// --resolved`).
pub fn export_resolved_spans(
    ledger: &Ledger,
    group: Option<&GroupId>,
    as_of: Option<u64>,
) -> Result<Vec<crate::model::InclusiveSpan>> {
    let groups = match group {
        Some(group) => vec![group.clone()],
        None => ledger.group_ids()?,
    };
    let mut out = Vec::new();
    for group in &groups {
        for span in resolved_spans(ledger, group, as_of)? {
            out.push(crate::model::InclusiveSpan {
                group: span.group,
                member: span.member,
                starts_on: span.from,
                // `until` is the first day out, so it always has a day before it.
                ends_on: span.until.and_then(Date::previous),
            });
        }
    }
    out.sort();
    Ok(out)
}
