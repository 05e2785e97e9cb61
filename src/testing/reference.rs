//! The deliberately naive reference model that muster is compared with, by the property
//! tests (`tests/it/model.rs`, `tests/it/portable.rs`) and the fuzz target `model`.
//!
//! Owns: the small id and date spaces ([`Space`]), the statements in small-space indexes
//! ([`Statement`]), and the model ([`Model`]): for every (group, member), one boolean per
//! day, with statements folded in a plain loop straight from ARCHITECTURE.md's invariants.
//! Must not: use muster's machinery (plan, projection, timelines, the log, storage, the
//! ledger) or be clever: only the vocabulary types `GroupId`, `MemberId` and `Date`, and
//! std collections. Speed does not matter here; obviousness does.
//!
//! The rules, as the model applies them to a statement about group G on day D:
//! - a statement *sets* M's state on D: the days from D up to, not including, the next
//!   *anchor* of (G, M) take the new state; an anchor is a later observed date of G or a
//!   later day on which an explicit fact of (G, M) was recorded (compensation: a late
//!   statement never overwrites what a later anchor says);
//! - a snapshot sets every member (listed: in, others: out) and makes D an observed date;
//!   an end is a snapshot of nobody; a carry-forward is a snapshot of the members on the
//!   day before (nobody before the first day);
//! - an explicit fact that changes nothing is not recorded and so is no anchor;
//! - a batch is folded per group, days in order; on one day the observation first
//!   (snapshots of the day united; a snapshot outweighs an end or a carry-forward; between
//!   those two the later wins), then the explicit facts (the last per member wins).
//!
//! Nesting, as the model applies it:
//! - each (group, member) and each (group, subgroup) has a *direct state* per day: none,
//!   included or excluded ([`Direct`]); a member's join, leave and exclude set it to
//!   included, none and excluded; a subgroup's include, end and exclude likewise;
//! - a snapshot makes its listed members included, and every unlisted member that is
//!   included on the day none; an unlisted excluded member stays excluded; it never
//!   touches subgroups;
//! - a subgroup fact sets the state from its day up to the next day on which a subgroup
//!   fact of the same (group, subgroup) was recorded (observations are no anchors for
//!   subgroups); one that changes nothing is not recorded; the last of one day wins;
//! - a batch that would leave any day on which a group contains itself (through included
//!   or excluded subgroups, at any depth) is refused whole: the model does not change;
//! - resolved(G, D) = ((⋃ resolved(H, D), H included) − (⋃ resolved(H, D), H excluded)
//!   ∪ included members) − excluded members, by plain recursion over sets.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Date, GroupId, MemberId};

/// The small spaces a model runs in: groups `g0..`, members `m0..`, and `days` dates,
/// `step` calendar days apart from 2020-01-01. Small, so that statements collide.
#[derive(Clone, Copy, Debug)]
pub struct Space {
    pub groups: usize,
    pub members: usize,
    pub days: usize,
    /// Calendar days between model day `i` and day `i + 1`, at least 1. The model only
    /// counts days in order; the step matters to the ledger (for example, a step of 37
    /// crosses the 64-day buckets of its span index; a step of 1 makes "the day before"
    /// of a carry-forward the previous model day itself).
    pub step: i64,
}

impl Space {
    /// Group `index`.
    pub fn group(&self, index: usize) -> GroupId {
        assert!(index < self.groups, "group {index} is outside the space");
        GroupId::new(&format!("g{index}")).expect("a short plain id is valid")
    }

    /// Member `index`.
    pub fn member(&self, index: usize) -> MemberId {
        assert!(index < self.members, "member {index} is outside the space");
        MemberId::new(&format!("m{index}")).expect("a short plain id is valid")
    }

    /// Day `index`.
    pub fn day(&self, index: usize) -> Date {
        assert!(index < self.days, "day {index} is outside the space");
        assert!(self.step >= 1, "days must be in order");
        Date::from_ymd(2020, 1, 1)
            .expect("a valid date")
            .add_days(index as i64 * self.step)
            .expect("a small space stays within the calendar")
    }
}

/// A direct state of an element in a group on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direct {
    None,
    Included,
    Excluded,
}

/// One statement of a batch, in small-space indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// On `day`, `group` had exactly `members`.
    Snapshot {
        group: usize,
        day: usize,
        members: BTreeSet<usize>,
    },
    /// `group` ended on `day`: nobody from it on.
    End { group: usize, day: usize },
    /// Takes back an end: members on `day` are those of the day before.
    CarryForward { group: usize, day: usize },
    /// On `day`, `member` joins (`join`) or leaves `group`.
    Fact {
        group: usize,
        member: usize,
        day: usize,
        join: bool,
    },
    /// On `day`, `member` is excluded from `group`.
    Exclude {
        group: usize,
        member: usize,
        day: usize,
    },
    /// On `day`, `group` includes (`Included`), excludes (`Excluded`) or ends (`None`)
    /// `subgroup`.
    Nesting {
        group: usize,
        subgroup: usize,
        day: usize,
        state: Direct,
    },
}

impl Statement {
    /// The group the statement is about.
    pub fn group(&self) -> usize {
        match self {
            Statement::Snapshot { group, .. }
            | Statement::End { group, .. }
            | Statement::CarryForward { group, .. }
            | Statement::Fact { group, .. }
            | Statement::Exclude { group, .. }
            | Statement::Nesting { group, .. } => *group,
        }
    }

    /// The day the statement is about.
    pub fn day(&self) -> usize {
        match self {
            Statement::Snapshot { day, .. }
            | Statement::End { day, .. }
            | Statement::CarryForward { day, .. }
            | Statement::Fact { day, .. }
            | Statement::Exclude { day, .. }
            | Statement::Nesting { day, .. } => *day,
        }
    }
}

/// The naive reference: a boolean per (group, member, day).
#[derive(Clone, Debug)]
pub struct Model {
    space: Space,
    /// Per (group, member): the direct state on each day. Missing: none on every day.
    days: BTreeMap<(usize, usize), Vec<Direct>>,
    /// Per (group, subgroup): the direct state on each day. Missing: none on every day.
    nesting: BTreeMap<(usize, usize), Vec<Direct>>,
    /// Per (group, subgroup): the days on which a subgroup fact was recorded.
    nesting_recorded: BTreeMap<(usize, usize), BTreeSet<usize>>,
    /// Per group: its observed days.
    observed: BTreeMap<usize, BTreeSet<usize>>,
    /// Per (group, member): the days on which an explicit fact was recorded.
    explicit: BTreeMap<(usize, usize), BTreeSet<usize>>,
}

impl Model {
    /// A model of an empty ledger.
    pub fn new(space: Space) -> Model {
        Model {
            space,
            days: BTreeMap::new(),
            nesting: BTreeMap::new(),
            nesting_recorded: BTreeMap::new(),
            observed: BTreeMap::new(),
            explicit: BTreeMap::new(),
        }
    }

    /// The direct state of member `m` in group `g` on day `d`.
    pub fn direct(&self, g: usize, m: usize, d: usize) -> Direct {
        self.days.get(&(g, m)).map_or(Direct::None, |days| days[d])
    }

    /// The direct state of subgroup `h` in group `g` on day `d`.
    pub fn subgroup(&self, g: usize, h: usize, d: usize) -> Direct {
        self.nesting
            .get(&(g, h))
            .map_or(Direct::None, |days| days[d])
    }

    /// Members directly excluded from group `g` on day `d`.
    pub fn excluded(&self, g: usize, d: usize) -> BTreeSet<usize> {
        (0..self.space.members)
            .filter(|&m| self.direct(g, m, d) == Direct::Excluded)
            .collect()
    }

    /// The subgroups of `g` in state `state` on day `d`.
    pub fn subgroups(&self, g: usize, d: usize, state: Direct) -> BTreeSet<usize> {
        (0..self.space.groups)
            .filter(|&h| self.subgroup(g, h, d) == state)
            .collect()
    }

    /// The resolved members of group `g` on day `d`, by plain recursion (the model never
    /// holds a cycle: batches that would make one are refused).
    pub fn resolved(&self, g: usize, d: usize) -> BTreeSet<usize> {
        let mut through: BTreeSet<usize> = BTreeSet::new();
        for h in self.subgroups(g, d, Direct::Included) {
            through.extend(self.resolved(h, d));
        }
        for h in self.subgroups(g, d, Direct::Excluded) {
            for m in self.resolved(h, d) {
                through.remove(&m);
            }
        }
        through.extend(self.members(g, d));
        for m in self.excluded(g, d) {
            through.remove(&m);
        }
        through
    }

    /// Every group member `m` is in on day `d`, directly or through nesting.
    /// For a resolved member `m` of `g` on day `d` not directly included in it, the path
    /// it comes in by: the first included subgroup (in id order: `g0` < `g1` < ..., one
    /// digit in the spaces tests use) that resolves to hold it, then that subgroup's own
    /// path. `None` for a member included directly, or not resolved into `g` at all.
    pub fn via(&self, g: usize, m: usize, d: usize) -> Option<Vec<usize>> {
        if self.is_member(g, m, d) || !self.resolved(g, d).contains(&m) {
            return None;
        }
        let mut by_id: Vec<usize> = self.subgroups(g, d, Direct::Included).into_iter().collect();
        by_id.sort_by_key(|h| self.space.group(*h));
        let h = by_id
            .into_iter()
            .find(|&h| self.resolved(h, d).contains(&m))?;
        let mut path = vec![h];
        path.extend(self.via(h, m, d).unwrap_or_default());
        Some(path)
    }

    pub fn resolved_groups(&self, m: usize, d: usize) -> BTreeSet<usize> {
        (0..self.space.groups)
            .filter(|&g| self.resolved(g, d).contains(&m))
            .collect()
    }

    /// Whether some group contains itself on some day.
    fn has_cycle(&self) -> bool {
        (0..self.space.days).any(|d| (0..self.space.groups).any(|g| self.reaches(g, g, d, 0)))
    }

    /// Whether `to` is below `from` on day `d` (through included or excluded subgroups).
    fn reaches(&self, from: usize, to: usize, d: usize, depth: usize) -> bool {
        if depth > self.space.groups {
            return true;
        }
        (0..self.space.groups).any(|h| {
            self.subgroup(from, h, d) != Direct::None
                && (h == to || self.reaches(h, to, d, depth + 1))
        })
    }

    pub fn space(&self) -> Space {
        self.space
    }

    /// Whether member `m` is in group `g` on day `d`.
    pub fn is_member(&self, g: usize, m: usize, d: usize) -> bool {
        self.direct(g, m, d) == Direct::Included
    }

    /// The members of group `g` on day `d`.
    pub fn members(&self, g: usize, d: usize) -> BTreeSet<usize> {
        (0..self.space.members)
            .filter(|&m| self.is_member(g, m, d))
            .collect()
    }

    /// The groups member `m` is in on day `d`.
    pub fn groups(&self, m: usize, d: usize) -> BTreeSet<usize> {
        (0..self.space.groups)
            .filter(|&g| self.is_member(g, m, d))
            .collect()
    }

    /// How many times membership changes, counted day by day over every (group, member)
    /// from "not a member" before the first day: the fewest facts that describe it.
    pub fn changes(&self) -> usize {
        let mut count = 0;
        for days in self.days.values() {
            let mut before = Direct::None;
            for &now in days {
                if now != before {
                    count += 1;
                }
                before = now;
            }
        }
        count
    }

    /// The first anchor of (g, m) after day `d`, or the end of the space.
    fn next_anchor(&self, g: usize, m: usize, d: usize) -> usize {
        let mut next = self.space.days;
        for later in d + 1..self.space.days {
            let observed = self.observed.get(&g).is_some_and(|s| s.contains(&later));
            let explicit = self
                .explicit
                .get(&(g, m))
                .is_some_and(|s| s.contains(&later));
            if observed || explicit {
                next = later;
                break;
            }
        }
        next
    }

    /// Sets member `m`'s state in group `g` from day `d` up to the next anchor.
    fn set(&mut self, g: usize, m: usize, d: usize, state: Direct) {
        let until = self.next_anchor(g, m, d);
        let days = self
            .days
            .entry((g, m))
            .or_insert(vec![Direct::None; self.space.days]);
        for slot in &mut days[d..until] {
            *slot = state;
        }
    }

    /// Group `g` had exactly `members` on day `d`: the listed are included, the unlisted
    /// included are none, the unlisted excluded stay excluded.
    fn observe(&mut self, g: usize, d: usize, members: &BTreeSet<usize>) {
        for m in 0..self.space.members {
            if members.contains(&m) {
                self.set(g, m, d, Direct::Included);
            } else if self.direct(g, m, d) != Direct::Excluded {
                self.set(g, m, d, Direct::None);
            }
        }
        self.observed.entry(g).or_default().insert(d);
    }

    /// Folds one batch (one import) into the model; returns false, changing nothing, when
    /// the batch would make a cycle on some day.
    pub fn apply(&mut self, statements: &[Statement]) -> bool {
        let mut next = self.clone();
        for g in 0..self.space.groups {
            for d in 0..self.space.days {
                let on_day: Vec<&Statement> = statements
                    .iter()
                    .filter(|s| s.group() == g && s.day() == d)
                    .collect();
                next.apply_day(g, d, &on_day);
                next.apply_nesting(g, d, &on_day);
            }
        }
        if next.has_cycle() {
            return false;
        }
        *self = next;
        true
    }

    /// The subgroup facts of one batch about group `g` on day `d`, the last per subgroup
    /// winning.
    fn apply_nesting(&mut self, g: usize, d: usize, on_day: &[&Statement]) {
        let mut last: BTreeMap<usize, Direct> = BTreeMap::new();
        for statement in on_day {
            if let Statement::Nesting {
                subgroup, state, ..
            } = statement
            {
                last.insert(*subgroup, *state);
            }
        }
        for (h, state) in last {
            if self.subgroup(g, h, d) == state {
                continue;
            }
            let recorded = self.nesting_recorded.entry((g, h)).or_default();
            let until = recorded
                .iter()
                .copied()
                .find(|later| *later > d)
                .unwrap_or(self.space.days);
            recorded.insert(d);
            let days = self
                .nesting
                .entry((g, h))
                .or_insert(vec![Direct::None; self.space.days]);
            for slot in &mut days[d..until] {
                *slot = state;
            }
        }
    }

    /// Folds the statements of one batch about group `g` on day `d`, in batch order.
    fn apply_day(&mut self, g: usize, d: usize, on_day: &[&Statement]) {
        // The observation: snapshots united; else the last end or carry-forward.
        let mut snapshot: Option<BTreeSet<usize>> = None;
        let mut lifecycle: Option<&Statement> = None;
        for statement in on_day {
            match statement {
                Statement::Snapshot { members, .. } => {
                    let union = snapshot.get_or_insert_with(BTreeSet::new);
                    union.extend(members.iter().copied());
                }
                Statement::End { .. } | Statement::CarryForward { .. } => {
                    lifecycle = Some(statement);
                }
                Statement::Fact { .. } | Statement::Exclude { .. } | Statement::Nesting { .. } => {}
            }
        }
        let observed = match (snapshot, lifecycle) {
            (Some(members), _) => Some(members),
            (None, Some(Statement::End { .. })) => Some(BTreeSet::new()),
            (None, Some(_)) if d == 0 => Some(BTreeSet::new()),
            (None, Some(_)) => Some(self.members(g, d - 1)),
            (None, None) => None,
        };
        if let Some(members) = observed {
            self.observe(g, d, &members);
        }
        // Then the explicit facts, the last per member winning.
        let mut facts: BTreeMap<usize, Direct> = BTreeMap::new();
        for statement in on_day {
            match statement {
                Statement::Fact { member, join, .. } => {
                    let state = if *join {
                        Direct::Included
                    } else {
                        Direct::None
                    };
                    facts.insert(*member, state);
                }
                Statement::Exclude { member, .. } => {
                    facts.insert(*member, Direct::Excluded);
                }
                _ => {}
            }
        }
        for (m, state) in facts {
            if self.direct(g, m, d) != state {
                self.set(g, m, d, state);
                self.explicit.entry((g, m)).or_default().insert(d);
            }
        }
    }
}
