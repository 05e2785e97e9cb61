//! Deciding what to record: turns a batch of observations and explicit facts into the
//! fewest new facts that make every statement hold.
//!
//! Owns: the reconciliation rules (the invariants below), applied to a working copy of the
//! touched groups' state.
//! Must not: write anything, or read anything but the group states it is handed.
//!
//! **Invariant (observations hold):** for every (G, D) ever observed, members(G, D) is
//! the most recently recorded statement about (G, D).
//! **Invariant (carry forward):** between two observed dates of G, membership stays what
//! it was on the earlier one, unless an explicit fact says otherwise.
//! **Invariant (idempotent):** a batch that is already reflected plans nothing.
//! **Invariant (churn-free):** a group's observations in date order plan exactly one fact
//! per real change; a commit holds at most one fact per (group, member, date).
//! **Invariant (order-independent):** the same observations of distinct (G, D), in any
//! order, give the same membership on every date.
//!
//! How: a statement sets member M's state in G on date D. When that changes M's state on
//! D, and G was observed on a later date D' with no fact of M in (D, D'], a compensating
//! fact on D' restores what D' said, so that an earlier observation arriving late cannot
//! overwrite later ones.

use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::log::commit::{GroupRecord, MemberFact};
use crate::log::source::SourceKind;
use crate::model::{Batch, Change, Date, GroupId, MemberId, ObservationKind};
use crate::projection::timeline::{Entry as TimelineEntry, Timeline};
use crate::projection::GroupState;
use numbers::{Numbers, Rows};

pub mod lifecycle;
pub mod nesting;
mod numbers;
pub mod spans;

/// A snapshot's members as planning reads them: numbers in ascending order without
/// repeats. Borrowed from an export's lists when their numbers are planning's own (no
/// member outside the export came in between); otherwise made so once.
#[derive(Debug)]
enum Listed<'a> {
    Sorted(&'a [u32]),
    Owned(Vec<u32>),
}

impl Listed<'_> {
    fn numbers(&self) -> &[u32] {
        match self {
            Listed::Sorted(list) => list,
            Listed::Owned(list) => list,
        }
    }

    /// Adds `other`'s members (two snapshots of one (G, D) are one snapshot).
    fn extend(&mut self, other: &Listed<'_>) {
        let mut union: Vec<u32> = self.numbers().to_vec();
        union.extend_from_slice(other.numbers());
        union.sort_unstable();
        union.dedup();
        *self = Listed::Owned(union);
    }
}

/// A list of numbers as [`Listed`]: borrowed when it is ascending without repeats,
/// otherwise made so once.
fn listed(members: Vec<u32>) -> Listed<'static> {
    let mut members = members;
    if !members.windows(2).all(|pair| pair[0] < pair[1]) {
        members.sort_unstable();
        members.dedup();
    }
    Listed::Owned(members)
}

/// Snapshots as an SB export holds them: each (group, date) with its members as
/// positions in `pupils` (which is in id order without repeats), the lists ascending
/// without repeats (a list out of order is sorted first, never trusted). Planning numbers
/// its members from these positions instead of comparing ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshots<'a> {
    pub pupils: &'a [MemberId],
    pub lists: &'a [((GroupId, Date), Vec<u32>)],
}

impl<'a> Snapshots<'a> {
    /// The ids of one list's members.
    pub fn members(&self, list: &'a [u32]) -> impl Iterator<Item = &'a MemberId> + 'a {
        let pupils = self.pupils;
        list.iter().map(move |&position| &pupils[position as usize])
    }
}

/// What a batch says about one group, before planning, in member numbers.
#[derive(Default, Debug)]
struct GroupStatements<'a> {
    observations: BTreeMap<Date, (ObservationKind, Listed<'a>)>,
    /// The last explicit fact per (date, member) in batch order wins.
    facts: BTreeMap<Date, BTreeMap<u32, Change>>,
}

/// Takes in one observation of `statements`' group. Two snapshots of one (G, D) in one
/// batch are one snapshot: their union. A snapshot outweighs an end or a carry-forward of
/// the same day; between those two, the later in the batch wins.
fn add_observation<'a>(
    statements: &mut GroupStatements<'a>,
    date: Date,
    kind: ObservationKind,
    listed: Listed<'a>,
) {
    match statements.observations.entry(date) {
        Entry::Vacant(slot) => {
            slot.insert((kind, listed));
        }
        Entry::Occupied(mut slot) => {
            let slot = slot.get_mut();
            match (slot.0, kind) {
                (ObservationKind::Snapshot, ObservationKind::Snapshot) => slot.1.extend(&listed),
                (ObservationKind::Snapshot, _) => {}
                (_, kind) => *slot = (kind, listed),
            }
        }
    }
}

/// The statements of a batch (after `snapshots`, which come first) per group, in group
/// order. Grouped through a hash map: a batch of a million facts would otherwise compare
/// group ids a dozen times per fact.
fn by_group<'a>(
    batch: &'a Batch,
    snapshots: Snapshots<'a>,
    numbers: &Numbers,
) -> Vec<(&'a GroupId, GroupStatements<'a>)> {
    let mut groups: HashMap<&GroupId, GroupStatements> = HashMap::new();
    for ((group, date), members) in snapshots.lists {
        let statements = groups.entry(group).or_default();
        let ascending = members.windows(2).all(|pair| pair[0] < pair[1]);
        let listed = if ascending && numbers.keeps_pupil_order() {
            Listed::Sorted(members)
        } else {
            listed(
                members
                    .iter()
                    .map(|&position| numbers.of_pupil(position))
                    .collect(),
            )
        };
        add_observation(statements, *date, ObservationKind::Snapshot, listed);
    }
    for observation in &batch.observations {
        let statements = groups.entry(&observation.group).or_default();
        // A set is in id order, so its numbers come out ascending.
        let listed = Listed::Owned(
            observation
                .members
                .iter()
                .map(|member| numbers.number(member))
                .collect(),
        );
        add_observation(statements, observation.date, observation.kind, listed);
    }
    for fact in &batch.facts {
        groups
            .entry(&fact.group)
            .or_default()
            .facts
            .entry(fact.date)
            .or_default()
            .insert(numbers.number(&fact.member), fact.change);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
    groups
}

/// Facts planned for one group, keyed so that a later statement in the batch can replace
/// an earlier one of the same (member, date).
#[derive(Default)]
struct Pending {
    /// Keyed by member number, in id order.
    facts: BTreeMap<u32, BTreeMap<Date, Change>>,
    /// Every date a fact was planned on (some may since have been replaced): on any other
    /// date no member has a planned fact, and [`needs_change`] looks nobody up.
    dates: BTreeSet<Date>,
    observed: BTreeSet<Date>,
    ended: BTreeSet<Date>,
    reopened: BTreeSet<Date>,
}

/// Plans `batch` as commit `seq` against `states`, which hold the current state of every
/// group the batch names (missing ones are taken as new). Leaves `states` as they will be
/// once the commit is applied, and returns the commit's records. A group whose state
/// does not change keeps its shared state, uncopied.
pub fn plan(
    states: &mut BTreeMap<GroupId, Arc<GroupState>>,
    batch: &Batch,
    seq: u64,
    source: SourceKind,
) -> Vec<GroupRecord> {
    plan_with_snapshots(states, batch, Snapshots::default(), seq, source)
}

/// [`plan`] for a batch whose snapshots are given apart, as an export holds them, before
/// the batch's own statements: the same records as a batch holding them as observations
/// first, without building a set per snapshot.
///
/// How: every member the batch, the snapshots and the touched states name is numbered
/// once, in id order ([`Numbers`]); each group is then planned on rows of (number,
/// timeline), and its state is rebuilt with ids only when it changes.
pub fn plan_with_snapshots(
    states: &mut BTreeMap<GroupId, Arc<GroupState>>,
    batch: &Batch,
    snapshots: Snapshots<'_>,
    seq: u64,
    source: SourceKind,
) -> Vec<GroupRecord> {
    // Every group named gets a state first (an empty one when new), so that the states
    // are numbered with the members they hold, each member looked up once.
    let named_groups = snapshots
        .lists
        .iter()
        .map(|((group, _), _)| group)
        .chain(batch.observations.iter().map(|o| &o.group))
        .chain(batch.facts.iter().map(|fact| &fact.group));
    for group in named_groups {
        if !states.contains_key(group) {
            states.insert(group.clone(), Arc::default());
        }
    }
    let (numbers, state_numbers) = Numbers::new(
        snapshots.pupils,
        states,
        batch
            .observations
            .iter()
            .flat_map(|o| o.members.iter())
            .chain(batch.facts.iter().map(|fact| &fact.member)),
    );
    let statements = by_group(batch, snapshots, &numbers);
    // Each group's statements with its state, both in group order. Groups are planned
    // apart (a group's plan reads and writes its own state only), half of them on a
    // second thread when there are enough to be worth one.
    let mut named = statements.into_iter().peekable();
    let mut work: Vec<GroupWork> = Vec::new();
    for ((group, state), members) in states.iter_mut().zip(state_numbers) {
        if let Some((group, statements)) = named.next_if(|(named, _)| *named == group) {
            work.push((group, statements, state, members));
        }
    }
    let plan_all = |work: &mut [GroupWork]| -> Vec<GroupRecord> {
        work.iter_mut()
            .filter_map(|(group, statements, state, members)| {
                plan_group(group, statements, state, members, &numbers, seq, source)
            })
            .collect()
    };
    let mut records = if work.len() < PARALLEL_GROUPS {
        plan_all(&mut work)
    } else {
        let half = work.len() / 2;
        let (first, second) = work.split_at_mut(half);
        std::thread::scope(|scope| {
            let later = scope.spawn(|| plan_all(second));
            let mut records = plan_all(first);
            // A panic there is a bug in planning: raised here as it would have been in line.
            records.extend(
                later
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
            records
        })
    };
    // Subgroup facts last: they read the member states only to know the groups exist.
    nesting::plan_subgroups(states, batch, seq, source, &mut records);
    records
}

/// Groups in a batch from which planning uses a second thread.
const PARALLEL_GROUPS: usize = 64;

/// One group's statements, its state and the numbers of the state's members, as planning
/// takes them.
type GroupWork<'a, 's> = (
    &'a GroupId,
    GroupStatements<'a>,
    &'s mut Arc<GroupState>,
    Vec<u32>,
);

/// One group while it is planned: its dates (observed, ended; `members` left empty) and
/// its members as numbered rows.
struct Working<'s> {
    dates: GroupState,
    members: Rows<'s>,
}

impl<'s> Working<'s> {
    fn of(state: &'s GroupState, members: &[u32]) -> Working<'s> {
        Working {
            dates: GroupState {
                applied_through: state.applied_through,
                observed: state.observed.clone(),
                ended: state.ended.clone(),
                sources: state.sources.clone(),
                members: BTreeMap::new(),
                subgroups: state.subgroups.clone(),
                parents: state.parents.clone(),
            },
            members: Rows::of(state, members),
        }
    }

    /// Members on `date`, in number order.
    fn members_on(&self, date: Date) -> Vec<u32> {
        self.members
            .iter()
            .filter(|(_, timeline)| timeline.is_member(date, None))
            .map(|(member, _)| member)
            .collect()
    }
}

/// Plans one group's statements against its state (replaced by the state as it will be
/// once the commit is applied): its record, or none when nothing changes.
fn plan_group(
    group: &GroupId,
    statements: &GroupStatements<'_>,
    state: &mut Arc<GroupState>,
    members: &[u32],
    numbers: &Numbers,
    seq: u64,
    source: SourceKind,
) -> Option<GroupRecord> {
    let mut pending = Pending::default();
    let before: &GroupState = state;
    let mut working = Working::of(before, members);
    // Dates in order; on one date the observation first, then explicit facts, which are
    // about single members and so more specific.
    let dates: BTreeSet<Date> = statements
        .observations
        .keys()
        .copied()
        .chain(statements.facts.keys().copied())
        .collect();
    for date in dates {
        if let Some((kind, listed)) = statements.observations.get(&date) {
            let to_change = match kind {
                ObservationKind::Snapshot => {
                    members_to_change(&working, &pending, listed.numbers(), date)
                }
                ObservationKind::End => members_to_change(&working, &pending, &[], date),
                ObservationKind::CarryForward => {
                    // `members_on` is in number order without repeats.
                    let carried = date
                        .previous()
                        .map(|before| working.members_on(before))
                        .unwrap_or_default();
                    members_to_change(&working, &pending, &carried, date)
                }
            };
            let end = *kind == ObservationKind::End;
            for (member, desired) in to_change {
                set_state(&mut working, &mut pending, member, date, desired, seq);
            }
            if working.dates.observe(date) {
                pending.observed.insert(date);
            }
            if working.dates.set_ended(date, end) {
                if end {
                    pending.ended.insert(date);
                } else {
                    pending.reopened.insert(date);
                }
            }
        }
        for (&member, &desired) in statements.facts.get(&date).into_iter().flatten() {
            let timeline = working.members.get(member);
            if needs_change(timeline, &pending, member, date, desired) {
                set_state(&mut working, &mut pending, member, date, desired, seq);
            }
        }
    }
    if pending.facts.is_empty()
        && pending.observed.is_empty()
        && pending.ended.is_empty()
        && pending.reopened.is_empty()
    {
        // Nothing planned: every timeline is as it was (a timeline changes only with a
        // planned fact), so the shared state stands.
        return None;
    }
    working.dates.note_commit(seq, source);
    let planned = working
        .members
        .into_state(working.dates, before, members, numbers);
    *state = planned;
    Some(GroupRecord {
        group: group.clone(),
        observed: pending.observed.into_iter().collect(),
        // Number order is id order.
        facts: pending
            .facts
            .into_iter()
            .flat_map(|(member, dates)| {
                let member = numbers.id(member);
                dates.into_iter().map(move |(date, change)| MemberFact {
                    member: member.clone(),
                    date,
                    change,
                })
            })
            .collect(),
        ended: pending.ended.into_iter().collect(),
        reopened: pending.reopened.into_iter().collect(),
        subgroups: Vec::new(),
    })
}

/// The members whose state on `date` must be set, with the state they must have: the
/// group's known members and the listed ones, walked together in number order (both are
/// sorted) so that no member is looked up. A listed member is directly included (ending a
/// direct exclusion); a known member not listed loses a direct inclusion, and a direct
/// exclusion is left alone (an observation speaks of direct, individual inclusion only).
fn members_to_change(
    working: &Working<'_>,
    pending: &Pending,
    listed: &[u32],
    date: Date,
) -> Vec<(u32, Change)> {
    let mut changes = Vec::new();
    let mut check = |member: u32, timeline: Option<&Timeline>, listed: bool| {
        let desired = match (listed, timeline.map(|t| t.state(date, None))) {
            (true, _) => Change::Join,
            (false, Some(Change::Exclude)) => Change::Exclude,
            (false, _) => Change::Leave,
        };
        if needs_change(timeline, pending, member, date, desired) {
            changes.push((member, desired));
        }
    };
    let mut known = working.members.iter().peekable();
    let mut wanted = listed.iter().copied().peekable();
    loop {
        match (known.peek(), wanted.peek()) {
            (None, None) => break,
            (Some(&(member, timeline)), None) => {
                check(member, Some(timeline), false);
                known.next();
            }
            (None, Some(&member)) => {
                check(member, None, true);
                wanted.next();
            }
            (Some(&(member, timeline)), Some(&other)) => match member.cmp(&other) {
                Ordering::Less => {
                    check(member, Some(timeline), false);
                    known.next();
                }
                Ordering::Greater => {
                    check(other, None, true);
                    wanted.next();
                }
                Ordering::Equal => {
                    check(member, Some(timeline), true);
                    known.next();
                    wanted.next();
                }
            },
        }
    }
    changes
}

/// Whether setting `member`'s direct state on `date` to `desired` would do anything: it
/// differs from the state now, or a fact planned earlier in this batch sits on that day.
fn needs_change(
    timeline: Option<&Timeline>,
    pending: &Pending,
    member: u32,
    date: Date,
    desired: Change,
) -> bool {
    let now = timeline.map_or(Change::Leave, |timeline| timeline.state(date, None));
    now != desired
        || (pending.dates.contains(&date)
            && pending
                .facts
                .get(&member)
                .is_some_and(|dates| dates.contains_key(&date)))
}

/// Gives `member` the direct state `desired` (`Join` included, `Leave` none, `Exclude`
/// excluded) in the group on `date`, recording a fact only when that changes something,
/// and compensating on the next observed date.
fn set_state(
    working: &mut Working<'_>,
    pending: &mut Pending,
    member: u32,
    date: Date,
    desired: Change,
    seq: u64,
) {
    let next_observed = working.dates.observed_after(date);
    let timeline = working.members.entry(member);
    // What the next observed date says now, when no fact of this member decides it.
    let keep = next_observed
        .filter(|&next| !timeline.has_entry_in(date, next))
        .map(|next| (next, timeline.state(next, None)));
    let planned = pending.facts.entry(member).or_default();
    // A fact planned earlier in this batch for the same day is replaced, never stacked.
    if planned.remove(&date).is_some() {
        timeline.remove(date, seq);
    }
    if timeline.state(date, None) != desired {
        let change = desired;
        timeline.insert(TimelineEntry { date, seq, change });
        planned.insert(date, change);
        pending.dates.insert(date);
    }
    if let Some((next, was)) = keep {
        if timeline.state(next, None) != was {
            let change = was;
            timeline.insert(TimelineEntry {
                date: next,
                seq,
                change,
            });
            planned.insert(next, change);
            pending.dates.insert(next);
        }
    }
    if planned.is_empty() {
        pending.facts.remove(&member);
    }
    if timeline.entries().is_empty() {
        // A member the group never had and still does not have leaves no trace.
        working.members.remove(member);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observation;

    fn id(text: String) -> MemberId {
        MemberId::new(&text).expect("a short plain id")
    }

    /// A batch of many groups (planned on two threads) records what planning each group
    /// on its own (in line) records, and leaves the same states.
    #[test]
    fn groups_planned_on_two_threads_plan_as_one_at_a_time() {
        let groups = 3 * PARALLEL_GROUPS;
        let mut batch = Batch::default();
        for g in 0..groups {
            let group = GroupId::new(&format!("g{g:03}")).expect("a short plain id");
            for week in 0..4u32 {
                let date = Date::from_ymd(2020, 1, 1 + 7 * week).expect("a January day");
                let members = (0..(g % 7 + 2))
                    .filter(|m| !(m + week as usize + g).is_multiple_of(3))
                    .map(|m| id(format!("m{m}")))
                    .collect();
                batch
                    .observations
                    .push(Observation::snapshot(date, group.clone(), members));
            }
        }
        let mut together = BTreeMap::new();
        let records = plan(&mut together, &batch, 1, SourceKind::SchoolBase);
        let mut apart = BTreeMap::new();
        let mut one_by_one = Vec::new();
        for group in batch.groups() {
            let alone = Batch {
                observations: batch
                    .observations
                    .iter()
                    .filter(|observation| observation.group == group)
                    .cloned()
                    .collect(),
                facts: Vec::new(),
                nesting: Vec::new(),
            };
            one_by_one.extend(plan(&mut apart, &alone, 1, SourceKind::SchoolBase));
        }
        assert_eq!(records.len(), groups, "every group records something");
        assert_eq!(records, one_by_one);
        assert_eq!(together, apart);
    }
}
