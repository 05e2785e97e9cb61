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

use std::collections::{BTreeMap, BTreeSet};

use crate::commit::{GroupRecord, MemberFact, SourceKind};
use crate::model::{Change, Date, Fact, GroupId, MemberId, Observation, ObservationKind};
use crate::projection::GroupState;
use crate::timeline::Entry;

/// What a batch says about one group, before planning.
#[derive(Default, Debug)]
struct GroupStatements {
    observations: BTreeMap<Date, (ObservationKind, BTreeSet<MemberId>)>,
    /// The last explicit fact per (date, member) in batch order wins.
    facts: BTreeMap<Date, BTreeMap<MemberId, Change>>,
}

/// A batch of statements to import together as one commit.
#[derive(Default, Debug, Clone)]
pub struct Batch {
    pub observations: Vec<Observation>,
    pub facts: Vec<Fact>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty() && self.facts.is_empty()
    }

    /// The groups the batch speaks of, sorted.
    pub fn groups(&self) -> BTreeSet<GroupId> {
        self.observations
            .iter()
            .map(|o| o.group.clone())
            .chain(self.facts.iter().map(|f| f.group.clone()))
            .collect()
    }

    fn by_group(&self) -> BTreeMap<GroupId, GroupStatements> {
        let mut groups: BTreeMap<GroupId, GroupStatements> = BTreeMap::new();
        for observation in &self.observations {
            // Two snapshots of one (G, D) in one batch are one snapshot: their union. A
            // snapshot outweighs an end or a carry-forward of the same day; between those
            // two, the later in the batch wins.
            let statements = groups.entry(observation.group.clone()).or_default();
            let slot = statements
                .observations
                .entry(observation.date)
                .or_insert((observation.kind, BTreeSet::new()));
            match (slot.0, observation.kind) {
                (ObservationKind::Snapshot, ObservationKind::Snapshot) => {
                    slot.1.extend(observation.members.iter().cloned())
                }
                (ObservationKind::Snapshot, _) => {}
                (_, kind) => *slot = (kind, observation.members.clone()),
            }
        }
        for fact in &self.facts {
            groups
                .entry(fact.group.clone())
                .or_default()
                .facts
                .entry(fact.date)
                .or_default()
                .insert(fact.member.clone(), fact.change);
        }
        groups
    }
}

/// Facts planned for one group, keyed so that a later statement in the batch can replace
/// an earlier one of the same (member, date).
#[derive(Default)]
struct Pending {
    facts: BTreeMap<(MemberId, Date), Change>,
    observed: BTreeSet<Date>,
    ended: BTreeSet<Date>,
    reopened: BTreeSet<Date>,
}

/// Plans `batch` as commit `seq` against `states`, which hold the current state of every
/// group the batch names (missing ones are taken as new). Leaves `states` as they will be
/// once the commit is applied, and returns the commit's records.
pub fn plan(
    states: &mut BTreeMap<GroupId, GroupState>,
    batch: &Batch,
    seq: u64,
    source: SourceKind,
) -> Vec<GroupRecord> {
    let mut records = Vec::new();
    for (group, statements) in batch.by_group() {
        let state = states.entry(group.clone()).or_default();
        let mut pending = Pending::default();
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
                let members: BTreeSet<MemberId> = match kind {
                    ObservationKind::Snapshot => listed.clone(),
                    ObservationKind::End => BTreeSet::new(),
                    ObservationKind::CarryForward => date
                        .previous()
                        .map(|before| state.members_on(before, None).into_iter().collect())
                        .unwrap_or_default(),
                };
                let known: Vec<MemberId> = state.members.keys().cloned().collect();
                for member in known.iter().chain(members.iter()) {
                    let desired = members.contains(member);
                    set_state(state, &mut pending, member, date, desired, seq);
                }
                if state.observe(date) {
                    pending.observed.insert(date);
                }
                let end = *kind == ObservationKind::End;
                if state.set_ended(date, end) {
                    if end {
                        pending.ended.insert(date);
                    } else {
                        pending.reopened.insert(date);
                    }
                }
            }
            for (member, change) in statements.facts.get(&date).into_iter().flatten() {
                set_state(state, &mut pending, member, date, change.is_member(), seq);
            }
        }
        if !(pending.facts.is_empty()
            && pending.observed.is_empty()
            && pending.ended.is_empty()
            && pending.reopened.is_empty())
        {
            state.applied_through = seq;
            if let Err(position) = state.sources.binary_search(&source) {
                state.sources.insert(position, source);
            }
            records.push(GroupRecord {
                group,
                observed: pending.observed.into_iter().collect(),
                facts: pending
                    .facts
                    .into_iter()
                    .map(|((member, date), change)| MemberFact {
                        member,
                        date,
                        change,
                    })
                    .collect(),
                ended: pending.ended.into_iter().collect(),
                reopened: pending.reopened.into_iter().collect(),
            });
        }
    }
    records
}

/// Makes `member` be (`desired`) or not be a member of the group on `date`, recording a
/// fact only when that changes something, and compensating on the next observed date.
fn set_state(
    state: &mut GroupState,
    pending: &mut Pending,
    member: &MemberId,
    date: Date,
    desired: bool,
    seq: u64,
) {
    let next_observed = state.observed_after(date);
    let timeline = state.members.entry(member.clone()).or_default();
    // What the next observed date says now, when no fact of this member decides it.
    let keep = next_observed
        .filter(|&next| !timeline.has_entry_in(date, next))
        .map(|next| (next, timeline.is_member(next, None)));
    // A fact planned earlier in this batch for the same day is replaced, never stacked.
    if pending.facts.remove(&(member.clone(), date)).is_some() {
        timeline.remove(date, seq);
    }
    if timeline.is_member(date, None) != desired {
        let change = Change::to(desired);
        timeline.insert(Entry { date, seq, change });
        pending.facts.insert((member.clone(), date), change);
    }
    if let Some((next, was)) = keep {
        if timeline.is_member(next, None) != was {
            let change = Change::to(was);
            timeline.insert(Entry {
                date: next,
                seq,
                change,
            });
            pending.facts.insert((member.clone(), next), change);
        }
    }
    if timeline.entries().is_empty() {
        // A member the group never had and still does not have leaves no trace.
        state.members.remove(member);
    }
}
