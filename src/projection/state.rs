//! The state the ledger derives for one group and one member: observed dates, ends, the
//! kinds of source, and a timeline per member (or per group).
//!
//! Owns: [`GroupState`], [`MemberState`] and the questions they answer for a date.
//! Must not: read or write files (that is `storage`), or decide what to record (`plan`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::log::commit::GroupRecord;
use crate::log::source::SourceKind;
use crate::model::{Change, Date, GroupId, MemberId};
use crate::projection::timeline::Timeline;

/// What the ledger knows of one group.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
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
    /// Per subgroup H, the facts of H in this group (`Join` include, `Exclude` exclude,
    /// `Leave` end): the direct state of H as an element of this group.
    pub subgroups: BTreeMap<GroupId, Timeline>,
    /// The same timelines keyed the other way round: per group P that has a fact naming
    /// this group as a subgroup, P's timeline of it. So resolution walks up as well as
    /// down without reading every group.
    pub parents: BTreeMap<GroupId, Timeline>,
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
        if !self
            .members
            .values()
            .chain(self.subgroups.values())
            .chain(self.parents.values())
            .all(Timeline::is_sorted)
        {
            return Err(Error::corrupt(format!(
                "derived state of group {group}: a timeline is out of order"
            )));
        }
        if self.subgroups.contains_key(group) || self.parents.contains_key(group) {
            return Err(Error::corrupt(format!(
                "derived state of group {group}: the group names itself as a subgroup"
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

/// What a group says on one date, as of one commit: the members directly included and
/// directly excluded, each in id order, and the subgroup timelines. What resolving nested
/// groups needs of each group below the one asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupOnDate {
    pub included: Vec<MemberId>,
    pub excluded: Vec<MemberId>,
    pub subgroups: BTreeMap<GroupId, Timeline>,
}

/// A group's nesting timelines alone: its subgroups and the groups that name it as a
/// subgroup. What resolving a member's groups needs of each group on the way up, most of
/// which it never needs the members of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupNesting {
    pub subgroups: BTreeMap<GroupId, Timeline>,
    pub parents: BTreeMap<GroupId, Timeline>,
}

impl GroupState {
    /// This group's nesting timelines (see [`GroupNesting`]).
    pub fn nesting(&self) -> GroupNesting {
        GroupNesting {
            subgroups: self.subgroups.clone(),
            parents: self.parents.clone(),
        }
    }

    /// What this group says on `date` as of commit `as_of` (see [`GroupOnDate`]).
    pub fn on_date(&self, date: Date, as_of: Option<u64>) -> GroupOnDate {
        let mut answer = GroupOnDate {
            subgroups: self.subgroups.clone(),
            ..GroupOnDate::default()
        };
        for (member, timeline) in &self.members {
            match timeline.state(date, as_of) {
                Change::Join => answer.included.push(member.clone()),
                Change::Exclude => answer.excluded.push(member.clone()),
                Change::Leave => {}
            }
        }
        answer
    }
}

/// What the ledger knows of one member: a copy of its timeline in each group, so that
/// "which groups was M in" reads one value.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
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
