//! The derived state: per group and per member, the timelines that queries read.
//!
//! Owns: [`GroupState`], [`MemberState`], [`Projection`] (a working set of them), how a
//! commit is applied to them, [`Fold`] (all of a log at once), and how one state is
//! encoded (a sealed value, stamped with the last commit applied to it).
//! Must not: decide what to record (that is `plan`), lay out the file the states are kept
//! in (that is `derived`), or be the truth: every byte here can be rebuilt from the log.
//!
//! **Invariant (derived state is a fold):** the stored group and member states equal the
//! fold of every commit in the log, in sequence order, applied with [`Projection::apply`].
//! `muster verify` checks it; `muster rebuild` restores it.
//!
//! **Invariant (apply once):** each state records `applied_through`, the last commit it
//! reflects; applying a commit at or below it changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::commit::{body_config, seal, unseal, Commit, GroupRecord, Magic, SourceKind};
use crate::derived::DerivedFile;
use crate::error::{Error, Result};
use crate::model::{Date, GroupId, MemberId};
use crate::timeline::{Entry, Timeline};

/// What the ledger knows of one group.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct GroupState {
    pub applied_through: u64,
    /// Every date the group's whole membership was observed on. Sorted, no repeats.
    pub observed: Vec<Date>,
    /// The observed dates that currently stand as the group's end. Sorted, a subset of
    /// `observed`.
    pub ended: Vec<Date>,
    /// The kinds of source that have recorded anything about the group. Sorted.
    pub sources: Vec<SourceKind>,
    pub members: BTreeMap<MemberId, Timeline>,
}

impl GroupState {
    pub fn is_observed(&self, date: Date) -> bool {
        self.observed.binary_search(&date).is_ok()
    }

    /// The first observed date after `date`.
    pub fn observed_after(&self, date: Date) -> Option<Date> {
        let position = self.observed.partition_point(|d| *d <= date);
        self.observed.get(position).copied()
    }

    pub fn observe(&mut self, date: Date) -> bool {
        match self.observed.binary_search(&date) {
            Ok(_) => false,
            Err(position) => {
                self.observed.insert(position, date);
                true
            }
        }
    }

    pub fn is_ended(&self, date: Date) -> bool {
        self.ended.binary_search(&date).is_ok()
    }

    /// Marks or unmarks `date` as an end; returns whether that changed anything.
    pub fn set_ended(&mut self, date: Date, ended: bool) -> bool {
        match (self.ended.binary_search(&date), ended) {
            (Err(position), true) => {
                self.ended.insert(position, date);
                true
            }
            (Ok(position), false) => {
                self.ended.remove(position);
                true
            }
            _ => false,
        }
    }

    /// Takes in a commit's observed dates, ends taken back, and ends, in that order.
    pub fn apply_dates(&mut self, record: &GroupRecord) {
        for &date in &record.observed {
            self.observe(date);
        }
        for &date in &record.reopened {
            self.set_ended(date, false);
        }
        for &date in &record.ended {
            self.set_ended(date, true);
        }
    }

    /// Records that commit `seq`, from a source of `kind`, recorded something here.
    pub fn note_commit(&mut self, seq: u64, kind: SourceKind) {
        if let Err(position) = self.sources.binary_search(&kind) {
            self.sources.insert(position, kind);
        }
        self.applied_through = seq;
    }

    /// Members on `date`, sorted.
    pub fn members_on(&self, date: Date, as_of: Option<u64>) -> Vec<MemberId> {
        self.members
            .iter()
            .filter(|(_, timeline)| timeline.is_member(date, as_of))
            .map(|(member, _)| member.clone())
            .collect()
    }

    pub(crate) fn check(&self, group: &GroupId) -> Result<()> {
        if !self.observed.windows(2).all(|w| w[0] < w[1]) {
            return Err(Error::corrupt(format!(
                "derived state of group {group}: observed dates out of order"
            )));
        }
        if !self.members.values().all(Timeline::is_sorted) {
            return Err(Error::corrupt(format!(
                "derived state of group {group}: a timeline is out of order"
            )));
        }
        if !self.ended.windows(2).all(|w| w[0] < w[1])
            || !self.ended.iter().all(|d| self.is_observed(*d))
        {
            return Err(Error::corrupt(format!(
                "derived state of group {group}: end dates out of order or not observed"
            )));
        }
        Ok(())
    }
}

/// What the ledger knows of one member: a copy of its timeline in each group, so that
/// "which groups was M in" reads one value.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct MemberState {
    pub applied_through: u64,
    pub groups: BTreeMap<GroupId, Timeline>,
}

impl MemberState {
    pub fn groups_on(&self, date: Date, as_of: Option<u64>) -> Vec<GroupId> {
        self.groups
            .iter()
            .filter(|(_, timeline)| timeline.is_member(date, as_of))
            .map(|(group, _)| group.clone())
            .collect()
    }

    pub(crate) fn check(&self, member: &MemberId) -> Result<()> {
        if !self.groups.values().all(Timeline::is_sorted) {
            return Err(Error::corrupt(format!(
                "derived state of member {member}: a timeline is out of order"
            )));
        }
        Ok(())
    }
}

pub(crate) fn encode_value<T: Serialize>(magic: Magic, value: &T) -> Result<Vec<u8>> {
    let body = bincode::serde::encode_to_vec(value, body_config())
        .map_err(|error| Error::corrupt(format!("cannot encode derived state: {error}")))?;
    seal(magic, &body)
}

pub(crate) fn decode_value<T: for<'de> Deserialize<'de>>(magic: Magic, bytes: &[u8]) -> Result<T> {
    let body = unseal(magic, bytes)?;
    let (value, used) = bincode::serde::decode_from_slice(body, body_config())
        .map_err(|error| Error::corrupt(format!("derived state does not decode: {error}")))?;
    if used != body.len() {
        return Err(Error::corrupt("derived state has trailing bytes"));
    }
    Ok(value)
}

/// A working set of group and member states: loaded from a store on demand (or built from
/// nothing during a rebuild), changed by applying commits, then written back.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Projection {
    pub groups: BTreeMap<GroupId, GroupState>,
    pub members: BTreeMap<MemberId, MemberState>,
    dirty_groups: BTreeSet<GroupId>,
    dirty_members: BTreeSet<MemberId>,
}

impl Projection {
    /// The group's state, loaded from `stored` the first time (empty when unknown).
    pub fn group_mut(
        &mut self,
        stored: Option<&DerivedFile>,
        group: &GroupId,
    ) -> Result<&mut GroupState> {
        if !self.groups.contains_key(group) {
            let state = match stored {
                Some(stored) => stored.group(group)?.unwrap_or_default(),
                None => GroupState::default(),
            };
            self.groups.insert(group.clone(), state);
        }
        Ok(self
            .groups
            .get_mut(group)
            .expect("inserted just above when missing"))
    }

    fn member_mut(
        &mut self,
        stored: Option<&DerivedFile>,
        member: &MemberId,
    ) -> Result<&mut MemberState> {
        if !self.members.contains_key(member) {
            let state = match stored {
                Some(stored) => stored.member(member)?.unwrap_or_default(),
                None => MemberState::default(),
            };
            self.members.insert(member.clone(), state);
        }
        Ok(self
            .members
            .get_mut(member)
            .expect("inserted just above when missing"))
    }

    /// Applies one commit. States it touches are loaded from `stored` first (pass `None`
    /// when building from nothing). States that already reflect the commit are skipped.
    pub fn apply(&mut self, stored: Option<&DerivedFile>, commit: &Commit) -> Result<()> {
        let seq = commit.seq;
        let mut by_member: BTreeMap<&MemberId, Vec<(&GroupId, Entry)>> = BTreeMap::new();
        for record in &commit.groups {
            let state = self.group_mut(stored, &record.group)?;
            let fresh = state.applied_through < seq;
            for fact in &record.facts {
                let entry = Entry {
                    date: fact.date,
                    seq,
                    change: fact.change,
                };
                if fresh {
                    let timeline = state.members.entry(fact.member.clone()).or_default();
                    if !timeline.insert(entry) {
                        return Err(Error::corrupt(format!(
                            "commit {seq} repeats a fact of member {} in group {}",
                            fact.member, record.group
                        )));
                    }
                }
                by_member
                    .entry(&fact.member)
                    .or_default()
                    .push((&record.group, entry));
            }
            if fresh {
                state.apply_dates(record);
                state.note_commit(seq, commit.source.kind);
                self.dirty_groups.insert(record.group.clone());
            }
        }
        for (member, entries) in by_member {
            let state = self.member_mut(stored, member)?;
            if state.applied_through >= seq {
                continue;
            }
            for (group, entry) in entries {
                state.groups.entry(group.clone()).or_default().insert(entry);
            }
            state.applied_through = seq;
            self.dirty_members.insert(member.clone());
        }
        Ok(())
    }

    /// The states changed since the last [`Projection::written`], sorted by group.
    pub fn changed_groups(&self) -> impl Iterator<Item = (&GroupId, &GroupState)> + '_ {
        self.dirty_groups
            .iter()
            .filter_map(|group| Some((group, self.groups.get(group)?)))
    }

    /// The member states changed since the last [`Projection::written`], sorted.
    pub fn changed_members(&self) -> impl Iterator<Item = (&MemberId, &MemberState)> + '_ {
        self.dirty_members
            .iter()
            .filter_map(|member| Some((member, self.members.get(member)?)))
    }

    /// Marks every change as written.
    pub fn written(&mut self) {
        self.dirty_groups.clear();
        self.dirty_members.clear();
    }

    /// Compares two projections by content, ignoring what is pending a write. Returns the
    /// first difference in words.
    pub fn first_difference(&self, other: &Projection) -> Option<String> {
        for (group, state) in &self.groups {
            match other.groups.get(group) {
                None => return Some(format!("group {group} is missing")),
                Some(theirs) if theirs != state => return Some(format!("group {group} differs")),
                Some(_) => {}
            }
        }
        if let Some(group) = other.groups.keys().find(|g| !self.groups.contains_key(*g)) {
            return Some(format!("group {group} should not exist"));
        }
        for (member, state) in &self.members {
            match other.members.get(member) {
                None => return Some(format!("member {member} is missing")),
                Some(theirs) if theirs != state => return Some(format!("member {member} differs")),
                Some(_) => {}
            }
        }
        if let Some(member) = other
            .members
            .keys()
            .find(|m| !self.members.contains_key(*m))
        {
            return Some(format!("member {member} should not exist"));
        }
        None
    }
}

/// Folds a whole log into derived state at once: the same result as applying every commit
/// in order with [`Projection::apply`] (`verify` compares the two), but each timeline is
/// built in one go from its facts sorted once, instead of growing entry by entry, and the
/// group side and the member side are built on two threads.
#[derive(Default)]
pub struct Fold {
    groups: HashMap<GroupId, GroupFold>,
    members: HashMap<MemberId, MemberFold>,
    facts: u64,
}

#[derive(Default)]
struct GroupFold {
    state: GroupState,
    facts: Vec<(MemberId, Entry)>,
}

#[derive(Default)]
struct MemberFold {
    applied_through: u64,
    facts: Vec<(GroupId, Entry)>,
}

impl Fold {
    /// Adds the next commit; commits must come in sequence order.
    pub fn add(&mut self, commit: &Commit) {
        let seq = commit.seq;
        for record in &commit.groups {
            let group = self.groups.entry(record.group.clone()).or_default();
            group.state.apply_dates(record);
            group.state.note_commit(seq, commit.source.kind);
            for fact in &record.facts {
                let entry = Entry {
                    date: fact.date,
                    seq,
                    change: fact.change,
                };
                group.facts.push((fact.member.clone(), entry));
                let member = self.members.entry(fact.member.clone()).or_default();
                member.applied_through = seq;
                member.facts.push((record.group.clone(), entry));
            }
            self.facts += record.facts.len() as u64;
        }
    }

    /// The facts added so far.
    pub fn facts(&self) -> u64 {
        self.facts
    }

    /// The derived state of everything added. Fails only if two facts of one commit share
    /// a (group, member, date), which a checked commit cannot hold.
    pub fn finish(self) -> Result<Projection> {
        let Fold {
            groups, members, ..
        } = self;
        let (groups, members) = std::thread::scope(|scope| {
            let groups = scope.spawn(move || {
                groups
                    .into_iter()
                    .map(|(id, fold)| {
                        let mut state = fold.state;
                        state.members = timelines(fold.facts)?;
                        Ok((id, state))
                    })
                    .collect::<Result<BTreeMap<GroupId, GroupState>>>()
            });
            let members = members
                .into_iter()
                .map(|(id, fold)| {
                    let state = MemberState {
                        applied_through: fold.applied_through,
                        groups: timelines(fold.facts)?,
                    };
                    Ok((id, state))
                })
                .collect::<Result<BTreeMap<MemberId, MemberState>>>();
            // A panic in the other thread is a bug in this function, not bad input.
            let groups = groups
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (groups, members)
        });
        let (groups, members) = (groups?, members?);
        // Everything folded is new: all of it is to be written.
        Ok(Projection {
            dirty_groups: groups.keys().cloned().collect(),
            dirty_members: members.keys().cloned().collect(),
            groups,
            members,
        })
    }
}

/// Sorts one side's facts by (key, date, seq) and cuts them into a timeline per key.
fn timelines<K: Ord + Clone>(mut facts: Vec<(K, Entry)>) -> Result<BTreeMap<K, Timeline>> {
    // Facts were added in sequence order, so a stable sort by (key, date) leaves the
    // entries of one day in sequence order.
    facts.sort_by(|a, b| (&a.0, a.1.date).cmp(&(&b.0, b.1.date)));
    let mut out = BTreeMap::new();
    let mut facts = facts.into_iter().peekable();
    while let Some((key, first)) = facts.next() {
        let mut entries = vec![first];
        while let Some((_, entry)) = facts.next_if(|(next, _)| *next == key) {
            entries.push(entry);
        }
        let timeline = Timeline::from_sorted(entries).ok_or_else(|| {
            Error::corrupt("two facts of one commit share a group, member and date")
        })?;
        out.insert(key, timeline);
    }
    Ok(out)
}
