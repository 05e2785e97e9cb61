//! The projection: the derived state that queries read, as a pure fold of commits.
//!
//! Owns: [`Projection`] (a working set of group and member states) and how one commit is
//! applied to it; [`state`] (the states), [`timeline`] (one member's facts in one group),
//! [`fold`] (all of a log at once).
//! Must not: do any I/O (the caller hands it the states a commit touches, see
//! [`Projection::missing`]), decide what to record (that is `plan`), or be the truth: every
//! state can be rebuilt from the log.
//!
//! **Invariant (derived state is a fold):** the stored group and member states equal the
//! fold of every commit in the log, in sequence order, applied with [`Projection::apply`].
//! `muster verify` checks it; `muster rebuild` restores it.
//!
//! **Invariant (apply once):** each state records `applied_through`, the last commit it
//! reflects; applying a commit at or below it changes nothing.

pub mod fold;
pub mod nesting;
pub mod state;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::log::hash::Hash;
use crate::model::{GroupId, MemberId};
use crate::projection::timeline::Entry;

pub use fold::Fold;
pub use state::{GroupNesting, GroupOnDate, GroupState, MemberState};

/// A working set of group and member states: loaded from a store on demand (or built from
/// nothing during a rebuild), changed by applying commits, then written back.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Projection {
    pub groups: BTreeMap<GroupId, GroupState>,
    pub members: BTreeMap<MemberId, MemberState>,
    dirty_groups: BTreeSet<GroupId>,
    dirty_members: BTreeSet<MemberId>,
    /// The fingerprint of each applied commit's input (see [`crate::log::source::Source::fingerprint`]), with
    /// the commit: what the derived-state file's imports register gains.
    pub recorded: Vec<(Hash, u64)>,
}

impl Projection {
    /// The groups and members `commit` touches that this working set does not hold yet:
    /// the caller loads their stored states (or none, for new ones) with
    /// [`Projection::hold_group`] and [`Projection::hold_member`] before [`Projection::apply`].
    pub fn missing(&self, commit: &Commit) -> (Vec<GroupId>, Vec<MemberId>) {
        let groups: BTreeSet<&GroupId> = commit
            .groups
            .iter()
            .flat_map(|record| {
                std::iter::once(&record.group)
                    .chain(record.subgroups.iter().map(|fact| &fact.subgroup))
            })
            .filter(|group| !self.groups.contains_key(*group))
            .collect();
        let groups = groups.into_iter().cloned().collect();
        let members: BTreeSet<&MemberId> = commit
            .groups
            .iter()
            .flat_map(|record| record.facts.iter().map(|fact| &fact.member))
            .filter(|member| !self.members.contains_key(*member))
            .collect();
        (groups, members.into_iter().cloned().collect())
    }

    /// Takes a group's stored state into the working set (unchanged: nothing to write).
    pub fn hold_group(&mut self, group: GroupId, state: GroupState) {
        self.groups.insert(group, state);
    }

    /// Takes a member's stored state into the working set (unchanged: nothing to write).
    pub fn hold_member(&mut self, member: MemberId, state: MemberState) {
        self.members.insert(member, state);
    }

    /// Applies one commit. States it touches that the working set does not hold start
    /// empty: hold their stored states first (see [`Projection::missing`]). States that
    /// already reflect the commit are skipped.
    pub fn apply(&mut self, commit: &Commit) -> Result<()> {
        let seq = commit.seq;
        for fingerprint in commit.source.fingerprints() {
            self.recorded.push((fingerprint, seq));
        }
        let fresh_for_subgroups = nesting::fresh_groups(self, commit);
        // Hashed, then sorted once: a million-fact commit would otherwise compare member ids
        // a dozen times per fact.
        let mut by_member: FxHashMap<&MemberId, Vec<(&GroupId, Entry)>> = FxHashMap::default();
        for record in &commit.groups {
            let state = self.groups.entry(record.group.clone()).or_default();
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
        let mut by_member: Vec<(&MemberId, Vec<(&GroupId, Entry)>)> =
            by_member.into_iter().collect();
        by_member.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (member, entries) in by_member {
            let state = self.members.entry(member.clone()).or_default();
            if state.applied_through >= seq {
                continue;
            }
            for (group, entry) in entries {
                state.groups.entry(group.clone()).or_default().insert(entry);
            }
            state.applied_through = seq;
            self.dirty_members.insert(member.clone());
        }
        nesting::apply_subgroups(self, commit, &fresh_for_subgroups)
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

    /// Marks every state held as changed (to write them all).
    pub fn all_changed(&mut self) {
        self.dirty_groups = self.groups.keys().cloned().collect();
        self.dirty_members = self.members.keys().cloned().collect();
    }

    /// Marks every change as written.
    pub fn written(&mut self) {
        self.dirty_groups.clear();
        self.dirty_members.clear();
        self.recorded.clear();
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
