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

pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::log::commit::{Commit, GroupRecord, Hash, SourceKind};
use crate::model::{Change, Date, GroupId, MemberId, MAX_COMMITS};
use crate::projection::timeline::{Entry, Timeline};
use crate::storage::block::BlockWriter;
use crate::storage::derived::{DerivedFile, EncodedBlocks};

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

/// A working set of group and member states: loaded from a store on demand (or built from
/// nothing during a rebuild), changed by applying commits, then written back.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Projection {
    pub groups: BTreeMap<GroupId, GroupState>,
    pub members: BTreeMap<MemberId, MemberState>,
    dirty_groups: BTreeSet<GroupId>,
    dirty_members: BTreeSet<MemberId>,
    /// The fingerprint of each applied commit's input (see [`crate::log::commit::Source::fingerprint`]), with
    /// the commit: what the derived-state file's imports register gains.
    pub recorded: Vec<(Hash, u64)>,
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
        if let Some(fingerprint) = commit.source.fingerprint() {
            self.recorded.push((fingerprint, seq));
        }
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

/// Folds a whole log into derived state at once: the same result as applying every commit
/// in order with [`Projection::apply`] (`verify` compares the two), without growing
/// timelines entry by entry. Ids are interned as they come; facts are kept flat (16 bytes
/// each), then sorted once by group and once by member, on two threads. A rebuild writes
/// the derived-state file straight from the sorted facts ([`Fold::write`]); `verify`
/// builds states in memory from them ([`Fold::finish`]).
#[derive(Default)]
pub struct Fold {
    group_index: FxHashMap<GroupId, u32>,
    groups: Vec<(GroupId, GroupState)>,
    member_index: FxHashMap<MemberId, u32>,
    /// Each member and the last commit that recorded a fact of it.
    members: Vec<(MemberId, u64)>,
    facts: Vec<FlatFact>,
    /// Each commit's input fingerprint, for the imports register.
    recorded: Vec<(Hash, u64)>,
}

/// A fact as the fold keeps it: interned group and member, the date as days from the
/// common era (at least 1), and the commit and change packed as `seq << 1 | join`, as a
/// block stores them.
#[derive(Clone, Copy, Debug)]
struct FlatFact {
    group: u32,
    member: u32,
    days: i32,
    seq_change: u32,
}

impl FlatFact {
    fn entry(self) -> Result<Entry> {
        Ok(Entry {
            date: Date::try_from(self.days)
                .map_err(|_| Error::corrupt("a fact's date is out of range"))?,
            seq: u64::from(self.seq_change >> 1),
            change: match self.seq_change & 1 {
                1 => Change::Join,
                _ => Change::Leave,
            },
        })
    }

    /// The order within one outer id: the inner id, then the date (days are positive, so
    /// they order as unsigned). Facts were added in commit order, and the sort is stable,
    /// so facts of one day stay in commit order.
    fn order(inner: u32, days: i32) -> u64 {
        u64::from(inner) << 32 | u64::from(days as u32)
    }
}

fn intern<K: Clone + Eq + std::hash::Hash, V>(
    index: &mut FxHashMap<K, u32>,
    values: &mut Vec<(K, V)>,
    key: &K,
    new: impl FnOnce() -> V,
) -> u32 {
    if let Some(&position) = index.get(key) {
        return position;
    }
    // Fewer ids than facts, and facts per commit are limited far below u32::MAX.
    let position = values.len() as u32;
    values.push((key.clone(), new()));
    index.insert(key.clone(), position);
    position
}

impl Fold {
    /// Adds the next commit; commits must come in sequence order.
    pub fn add(&mut self, commit: &Commit) -> Result<()> {
        let seq = commit.seq;
        if seq > MAX_COMMITS {
            return Err(Error::new(
                crate::error::ErrorKind::Limit,
                format!("a log of more than {MAX_COMMITS} commits cannot be folded"),
            ));
        }
        if let Some(fingerprint) = commit.source.fingerprint() {
            self.recorded.push((fingerprint, seq));
        }
        for record in &commit.groups {
            let group = intern(
                &mut self.group_index,
                &mut self.groups,
                &record.group,
                GroupState::default,
            );
            let state = &mut self.groups[group as usize].1;
            state.apply_dates(record);
            state.note_commit(seq, commit.source.kind);
            self.facts.reserve(record.facts.len());
            // Facts come sorted by member: consecutive facts mostly share one.
            let mut last: Option<(&MemberId, u32)> = None;
            for fact in &record.facts {
                let member = match last {
                    Some((id, position)) if *id == fact.member => position,
                    _ => intern(
                        &mut self.member_index,
                        &mut self.members,
                        &fact.member,
                        || 0,
                    ),
                };
                last = Some((&fact.member, member));
                self.members[member as usize].1 = seq;
                self.facts.push(FlatFact {
                    group,
                    member,
                    days: fact.date.days_from_ce(),
                    // `seq` is at most MAX_COMMITS (31 bits), checked above.
                    seq_change: (seq as u32) << 1 | u32::from(fact.change == Change::Join),
                });
            }
        }
        Ok(())
    }

    /// The facts added so far.
    pub fn facts(&self) -> u64 {
        self.facts.len() as u64
    }

    /// Ranks ids by their text and sorts the facts both ways, on two threads.
    fn sort(self) -> Result<Sorted> {
        let Fold {
            groups,
            members,
            mut facts,
            recorded,
            ..
        } = self;
        let group_rank = ranks(&groups);
        let member_rank = ranks(&members);
        for fact in &mut facts {
            fact.group = group_rank[fact.group as usize];
            fact.member = member_rank[fact.member as usize];
        }
        let groups = in_rank_order(groups, &group_rank);
        let members = in_rank_order(members, &member_rank);
        let by_member_facts = facts.clone();
        let (by_group, by_member) = std::thread::scope(|scope| {
            let group_count = groups.len();
            let by_group = scope.spawn(move || {
                sort_side(
                    facts,
                    group_count,
                    |f| f.group,
                    |f| FlatFact::order(f.member, f.days),
                )
            });
            let by_member = sort_side(
                by_member_facts,
                members.len(),
                |f| f.member,
                |f| FlatFact::order(f.group, f.days),
            );
            // A panic in the other thread is a bug in this function, not bad input.
            let by_group = by_group
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (by_group, by_member)
        });
        let by_group = Side {
            facts: by_group.0,
            starts: by_group.1,
        };
        let by_member = Side {
            facts: by_member.0,
            starts: by_member.1,
        };
        let key = |f: &FlatFact| (f.group, f.member, f.days, f.seq_change >> 1);
        if by_group
            .facts
            .windows(2)
            .any(|pair| key(&pair[0]) == key(&pair[1]))
        {
            return Err(Error::corrupt(
                "two facts of one commit share a group, member and date",
            ));
        }
        Ok(Sorted {
            groups,
            members,
            by_group,
            by_member,
            recorded,
        })
    }

    /// The derived state of everything added, in memory. Fails only if two facts of one
    /// commit share a (group, member, date), which a checked commit cannot hold.
    pub fn finish(self) -> Result<Projection> {
        let sorted = self.sort()?;
        let mut projection = Projection {
            recorded: sorted.recorded.clone(),
            ..Projection::default()
        };
        for (rank, (group, mut state)) in sorted.groups.iter().cloned().enumerate() {
            state.members = timelines_of(&sorted.by_group, rank, |f| f.member, &sorted.members)?;
            projection.dirty_groups.insert(group.clone());
            projection.groups.insert(group, state);
        }
        for (rank, (member, applied_through)) in sorted.members.iter().enumerate() {
            let groups = timelines_of(&sorted.by_member, rank, |f| f.group, &sorted.groups)?;
            projection.dirty_members.insert(member.clone());
            projection.members.insert(
                member.clone(),
                MemberState {
                    applied_through: *applied_through,
                    groups,
                },
            );
        }
        Ok(projection)
    }

    /// Writes the derived-state file of everything added straight from the sorted facts,
    /// tagged with commit `applied_through` and its `hash`: blocks of the two sides are
    /// encoded on two threads.
    pub fn write(
        self,
        out: &mut dyn crate::storage::store::FileWriter,
        applied_through: u64,
        hash: crate::log::commit::Hash,
    ) -> Result<()> {
        let sorted = self.sort()?;
        let group_ids: Vec<&str> = sorted.groups.iter().map(|(id, _)| id.as_str()).collect();
        let member_ids: Vec<&str> = sorted.members.iter().map(|(id, _)| id.as_str()).collect();
        let (group_blocks, member_blocks) = std::thread::scope(|scope| {
            let groups = scope.spawn(|| {
                encode_side(
                    &sorted.groups,
                    &sorted.by_group,
                    |f| f.member,
                    &member_ids,
                    |(_, state)| {
                        BlockWriter::group(
                            state.applied_through,
                            &state.observed,
                            &state.ended,
                            &state.sources,
                        )
                    },
                )
            });
            let members = encode_side(
                &sorted.members,
                &sorted.by_member,
                |f| f.group,
                &group_ids,
                |(_, applied)| BlockWriter::member(*applied),
            );
            // A panic in the other thread is a bug in this function, not bad input.
            let groups = groups
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (groups, members)
        });
        let (group_blocks, member_blocks) = (group_blocks?, member_blocks?);
        crate::storage::derived::write_whole(
            out,
            [(&group_ids, group_blocks), (&member_ids, member_blocks)],
            sorted.recorded,
            applied_through,
            hash,
        )
    }
}

/// The timelines of outer id `rank`, keyed by the inner ids (`ids[inner]`).
fn timelines_of<K: Ord + Clone, V>(
    side: &Side,
    rank: usize,
    inner: fn(&FlatFact) -> u32,
    ids: &[(K, V)],
) -> Result<BTreeMap<K, Timeline>> {
    side.runs(rank, inner)
        .map(|(id, run)| {
            let entries = run.iter().map(|f| f.entry()).collect::<Result<Vec<_>>>()?;
            let timeline = Timeline::from_sorted(entries).ok_or_else(|| {
                Error::corrupt("two facts of one commit share a group, member and date")
            })?;
            Ok((ids[id as usize].0.clone(), timeline))
        })
        .collect()
}

/// The fold's facts sorted one way: grouped by an outer id (`starts[rank]..starts[rank +
/// 1]` are that id's facts), sorted within by (inner id, date, commit).
struct Side {
    facts: Vec<FlatFact>,
    starts: Vec<usize>,
}

impl Side {
    /// The facts of outer id `rank`, cut into runs of one inner id.
    fn runs(
        &self,
        rank: usize,
        inner: fn(&FlatFact) -> u32,
    ) -> impl Iterator<Item = (u32, &[FlatFact])> + '_ {
        let mut rest = &self.facts[self.starts[rank]..self.starts[rank + 1]];
        std::iter::from_fn(move || {
            let first = rest.first()?;
            let id = inner(first);
            let length = rest.iter().take_while(|f| inner(f) == id).count();
            let (run, after) = rest.split_at(length);
            rest = after;
            Some((id, run))
        })
    }
}

struct Sorted {
    groups: Vec<(GroupId, GroupState)>,
    members: Vec<(MemberId, u64)>,
    by_group: Side,
    by_member: Side,
    recorded: Vec<(Hash, u64)>,
}

/// Each entry's rank when the entries are sorted by key.
fn ranks<K: Ord, V>(entries: &[(K, V)]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..entries.len() as u32).collect();
    order.sort_unstable_by(|a, b| entries[*a as usize].0.cmp(&entries[*b as usize].0));
    let mut rank = vec![0u32; entries.len()];
    for (position, index) in order.into_iter().enumerate() {
        rank[index as usize] = position as u32;
    }
    rank
}

fn in_rank_order<K, V>(entries: Vec<(K, V)>, rank: &[u32]) -> Vec<(K, V)> {
    let mut slots: Vec<Option<(K, V)>> = (0..entries.len()).map(|_| None).collect();
    for (index, entry) in entries.into_iter().enumerate() {
        slots[rank[index] as usize] = Some(entry);
    }
    // `rank` is a permutation: every slot is filled once.
    slots
        .into_iter()
        .map(|slot| slot.expect("a permutation"))
        .collect()
}

/// Counting sort by the outer id, then each outer id's facts sorted by `inner`.
fn sort_side(
    facts: Vec<FlatFact>,
    outer_count: usize,
    outer: fn(&FlatFact) -> u32,
    inner: fn(&FlatFact) -> u64,
) -> (Vec<FlatFact>, Vec<usize>) {
    let mut starts = vec![0usize; outer_count + 1];
    for fact in &facts {
        starts[outer(fact) as usize + 1] += 1;
    }
    for index in 0..outer_count {
        starts[index + 1] += starts[index];
    }
    let Some(&placeholder) = facts.first() else {
        return (facts, starts);
    };
    let mut next = starts.clone();
    let mut sorted = vec![placeholder; facts.len()];
    for fact in facts {
        let slot = &mut next[outer(&fact) as usize];
        sorted[*slot] = fact;
        *slot += 1;
    }
    for index in 0..outer_count {
        // Stable: facts of one inner id and day keep their commit order. Each commit adds
        // an outer id's facts already in this order, so the sort mostly merges runs.
        sorted[starts[index]..starts[index + 1]].sort_by_key(inner);
    }
    (sorted, starts)
}

/// Encodes one side's blocks into one buffer; returns it with each block's length.
fn encode_side<O>(
    outer: &[O],
    side: &Side,
    inner: fn(&FlatFact) -> u32,
    inner_ids: &[&str],
    begin: impl Fn(&O) -> BlockWriter,
) -> Result<EncodedBlocks> {
    let mut bytes = Vec::with_capacity(side.facts.len() * 14 + outer.len() * 32);
    let mut lengths = Vec::with_capacity(outer.len());
    for (rank, item) in outer.iter().enumerate() {
        let mut writer = begin(item);
        for (id, run) in side.runs(rank, inner) {
            writer.packed_timeline(
                inner_ids[id as usize],
                run.iter().map(|f| (f.days, f.seq_change)),
            );
        }
        let block = writer.finish()?;
        lengths.push(u32::try_from(block.len()).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Limit,
                "a derived state is too large",
            )
        })?);
        bytes.extend_from_slice(&block);
    }
    Ok(EncodedBlocks { bytes, lengths })
}
