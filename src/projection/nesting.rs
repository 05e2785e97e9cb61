//! Applying a commit's subgroup facts to the derived state: each fact goes into the
//! group's subgroup timeline and, keyed the other way, into the subgroup's parent
//! timeline.
//!
//! Owns: that part of [`Projection::apply`] and of the whole-log [`crate::projection::Fold`]
//! (the exclusions and subgroup facts a fold keeps aside, [`Aside`]).
//! Must not: do I/O, or decide what is recorded (that is `plan::nesting`).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::model::{Change, Date, GroupId, MemberId};
use crate::projection::timeline::{Entry, Timeline};
use crate::projection::Projection;

/// The groups of `commit`'s subgroup facts (both sides) whose states do not reflect it
/// yet: only they take its subgroup facts. Computed before anything is applied, since
/// applying a commit moves `applied_through` on.
pub(super) fn fresh_groups(projection: &Projection, commit: &Commit) -> BTreeSet<GroupId> {
    let mut fresh = BTreeSet::new();
    for record in commit.groups.iter().filter(|r| !r.subgroups.is_empty()) {
        let named = std::iter::once(&record.group)
            .chain(record.subgroups.iter().map(|fact| &fact.subgroup));
        for group in named {
            let is_fresh = projection
                .groups
                .get(group)
                .is_none_or(|state| state.applied_through < commit.seq);
            if is_fresh {
                fresh.insert(group.clone());
            }
        }
    }
    fresh
}

/// Applies `commit`'s subgroup facts to the groups in `fresh` (see [`fresh_groups`]): a
/// subgroup's own state is touched too (its parent timeline), and moves on to the commit.
pub(super) fn apply_subgroups(
    projection: &mut Projection,
    commit: &Commit,
    fresh: &BTreeSet<GroupId>,
) -> Result<()> {
    let seq = commit.seq;
    for record in &commit.groups {
        for fact in &record.subgroups {
            let entry = Entry {
                date: fact.date,
                seq,
                change: fact.change,
            };
            if fresh.contains(&record.group) {
                let state = projection.groups.entry(record.group.clone()).or_default();
                let timeline = state.subgroups.entry(fact.subgroup.clone()).or_default();
                if !timeline.insert(entry) {
                    return Err(repeated(seq, &record.group, &fact.subgroup));
                }
            }
            if fresh.contains(&fact.subgroup) {
                let state = projection.groups.entry(fact.subgroup.clone()).or_default();
                state
                    .parents
                    .entry(record.group.clone())
                    .or_default()
                    .insert(entry);
                state.applied_through = seq;
                projection.dirty_groups.insert(fact.subgroup.clone());
            }
        }
    }
    Ok(())
}

fn repeated(seq: u64, group: &GroupId, subgroup: &GroupId) -> Error {
    Error::corrupt(format!(
        "commit {seq} repeats a fact of subgroup {subgroup} in group {group}"
    ))
}

/// What a whole-log fold keeps aside from its flat facts (which hold only joins and
/// leaves): members' exclusions and subgroup facts, in commit order. Few, so kept plainly.
#[derive(Default)]
pub struct Aside {
    exclusions: Vec<(GroupId, MemberId, Entry)>,
    subgroups: Vec<(GroupId, GroupId, Entry)>,
}

impl Aside {
    pub fn is_empty(&self) -> bool {
        self.exclusions.is_empty() && self.subgroups.is_empty()
    }

    /// How many facts are kept aside.
    pub fn len(&self) -> usize {
        self.exclusions.len() + self.subgroups.len()
    }

    pub fn exclusion(&mut self, group: &GroupId, member: &MemberId, date: Date, seq: u64) {
        let entry = Entry {
            date,
            seq,
            change: Change::Exclude,
        };
        self.exclusions.push((group.clone(), member.clone(), entry));
    }

    pub fn subgroup(&mut self, group: &GroupId, subgroup: &GroupId, entry: Entry) {
        self.subgroups
            .push((group.clone(), subgroup.clone(), entry));
    }

    /// Puts what was kept aside into the fold's states (every group and member it names
    /// is already there).
    pub fn finish(self, projection: &mut Projection) -> Result<()> {
        for (group, member, entry) in self.exclusions {
            let inserted = insert(
                projection.groups.get_mut(&group).map(|s| &mut s.members),
                &member,
                entry,
            ) && insert(
                projection.members.get_mut(&member).map(|s| &mut s.groups),
                &group,
                entry,
            );
            if !inserted {
                return Err(Error::corrupt(format!(
                    "commit {} repeats a fact of member {member} in group {group}",
                    entry.seq
                )));
            }
        }
        for (group, subgroup, entry) in self.subgroups {
            let inserted = insert(
                projection.groups.get_mut(&group).map(|s| &mut s.subgroups),
                &subgroup,
                entry,
            ) && insert(
                projection.groups.get_mut(&subgroup).map(|s| &mut s.parents),
                &group,
                entry,
            );
            if !inserted {
                return Err(repeated(entry.seq, &group, &subgroup));
            }
        }
        Ok(())
    }
}

fn insert<K: Ord + Clone>(
    timelines: Option<&mut BTreeMap<K, Timeline>>,
    key: &K,
    entry: Entry,
) -> bool {
    timelines.is_some_and(|timelines| timelines.entry(key.clone()).or_default().insert(entry))
}
