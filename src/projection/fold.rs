//! Folding a whole log at once, for `rebuild` and `verify`.
//!
//! Owns: [`Fold`]: ids interned as they come, facts kept flat (16 bytes each), then sorted
//! once by group and once by member, on two threads; [`SortedFold`], the sorted result,
//! which `verify` turns into states in memory ([`Fold::finish`]) and `rebuild` hands to
//! storage to write blocks straight from ([`Fold::sort`]).
//! Must not: read or write files; it gives the same states as applying every commit in
//! order with [`crate::projection::Projection::apply`].

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::log::hash::Hash;
use crate::model::{Change, Date, GroupId, MemberId, MAX_COMMITS};
use crate::projection::nesting::Aside;
use crate::projection::state::{GroupState, MemberState};
use crate::projection::timeline::{Entry, Timeline, INLINE_ENTRIES};
use crate::projection::Projection;

/// Folds a whole log into derived state at once: the same result as applying every commit
/// in order with [`Projection::apply`] (`verify` compares the two), without growing
/// timelines entry by entry. Ids are interned as they come; facts are kept flat (16 bytes
/// each), then sorted once by group and once by member, on two threads. A rebuild writes
/// the derived-state file straight from the sorted facts ([`Fold::sort`], then
/// `storage::derived::write_fold`); `verify`
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
    /// Exclusions and subgroup facts, kept aside from the flat facts.
    aside: Aside,
}

/// A fact as the fold keeps it: interned group and member, the date as days from the
/// common era (at least 1), and the commit and change packed as `seq << 1 | join`, as a
/// block stores them.
#[derive(Clone, Copy, Debug)]
pub struct FlatFact {
    pub group: u32,
    pub member: u32,
    pub days: i32,
    pub seq_change: u32,
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
        for fingerprint in commit.source.fingerprints() {
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
                if fact.change == Change::Exclude {
                    let member = intern(
                        &mut self.member_index,
                        &mut self.members,
                        &fact.member,
                        || 0,
                    );
                    self.members[member as usize].1 = seq;
                    self.aside
                        .exclusion(&record.group, &fact.member, fact.date, seq);
                    continue;
                }
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
            for fact in &record.subgroups {
                let subgroup = intern(
                    &mut self.group_index,
                    &mut self.groups,
                    &fact.subgroup,
                    GroupState::default,
                );
                self.groups[subgroup as usize].1.applied_through = seq;
                let entry = Entry {
                    date: fact.date,
                    seq,
                    change: fact.change,
                };
                self.aside.subgroup(&record.group, &fact.subgroup, entry);
            }
        }
        Ok(())
    }

    /// Whether the log holds exclusions or subgroup facts: then a rebuild writes from
    /// [`Fold::finish`], since [`Fold::sort`] keeps only joins and leaves.
    pub fn has_nesting(&self) -> bool {
        !self.aside.is_empty()
    }

    /// The facts added so far.
    pub fn facts(&self) -> u64 {
        (self.facts.len() + self.aside.len()) as u64
    }

    /// Ranks ids by their text and sorts the facts both ways, on two threads.
    /// Sorts what was added, for storage to write blocks from (a rebuild).
    pub fn sort(self) -> Result<SortedFold> {
        let Fold {
            groups,
            members,
            mut facts,
            recorded,
            aside,
            ..
        } = self;
        if !aside.is_empty() {
            return Err(Error::corrupt(
                "a fold holding exclusions or subgroup facts cannot be written from sorted facts",
            ));
        }
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
        Ok(SortedFold {
            groups,
            members,
            by_group,
            by_member,
            recorded,
        })
    }

    /// The derived state of everything added, in memory. Fails only if two facts of one
    /// commit share a (group, member, date), which a checked commit cannot hold.
    pub fn finish(mut self) -> Result<Projection> {
        let aside = std::mem::take(&mut self.aside);
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
        aside.finish(&mut projection)?;
        Ok(projection)
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
            let out_of_order =
                || Error::corrupt("two facts of one commit share a group, member and date");
            // A short run is built in place (no list to copy from), a long one from a list.
            let timeline = if run.len() <= INLINE_ENTRIES {
                let mut timeline = Timeline::default();
                for fact in run {
                    if !timeline.push(fact.entry()?) {
                        return Err(out_of_order());
                    }
                }
                timeline
            } else {
                let entries = run.iter().map(|f| f.entry()).collect::<Result<Vec<_>>>()?;
                Timeline::from_sorted(entries).ok_or_else(out_of_order)?
            };
            Ok((ids[id as usize].0.clone(), timeline))
        })
        .collect()
}

/// The fold's facts sorted one way: grouped by an outer id (`starts[rank]..starts[rank +
/// 1]` are that id's facts), sorted within by (inner id, date, commit).
pub struct Side {
    facts: Vec<FlatFact>,
    starts: Vec<usize>,
}

impl Side {
    /// How many facts the side holds.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether the side holds no fact.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// The facts of outer id `rank`, cut into runs of one inner id.
    pub fn runs(
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

/// A fold's ids in text order and its facts sorted both ways.
pub struct SortedFold {
    /// Every group, by rank, with its dates and sources (timelines are in `by_group`).
    pub groups: Vec<(GroupId, GroupState)>,
    /// Every member, by rank, with the last commit that recorded a fact of it.
    pub members: Vec<(MemberId, u64)>,
    pub by_group: Side,
    pub by_member: Side,
    /// Each commit's input fingerprint, for the imports register.
    pub recorded: Vec<(Hash, u64)>,
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
