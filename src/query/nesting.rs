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

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::cache::GroupSpans;
use crate::ledger::numbers::{sort_by_id, MemberSet, Numbering};
use crate::ledger::Ledger;
use crate::model::{Change, Date, GroupId, MemberId};
use crate::projection::timeline::Timeline;
use crate::query::membership;

/// A group's subgroups on a date: those included in it and those excluded from it, each
/// sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subgroups {
    pub included: Vec<GroupId>,
    pub excluded: Vec<GroupId>,
}

/// The subgroups a member comes into a group through, from the group's subgroup down to
/// the one that includes it directly; shared by the members that come in the same way.
pub type Path = Arc<[GroupId]>;

/// The paths of a group's members that come in through subgroups, by member number.
type Paths = Arc<FxHashMap<u32, Path>>;

/// What one group says directly on a date, its members named by number.
struct Direct {
    /// The members directly included: read from the group's span index as the ledger
    /// stands now, or evaluated from its timelines as of an earlier commit.
    included: Included,
    /// The members directly excluded, ascending.
    excluded: Vec<u32>,
    subgroups: Subgroups,
}

enum Included {
    Now(Arc<GroupSpans>, Date),
    /// Ascending.
    AsOf(Vec<u32>),
}

impl Included {
    /// The members' numbers, ascending.
    fn numbers(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            Included::Now(spans, on) => Box::new(spans.numbers_on(*on)),
            Included::AsOf(numbers) => Box::new(numbers.iter().copied()),
        }
    }

    fn contains(&self, number: u32) -> bool {
        match self {
            Included::Now(spans, on) => spans.holds_on(*on, number),
            Included::AsOf(numbers) => numbers.binary_search(&number).is_ok(),
        }
    }

    /// Adds the members to `set`.
    fn add_to(&self, set: &mut MemberSet) {
        for number in self.numbers() {
            set.insert(number);
        }
    }
}

/// The subgroups of `timelines` in state `Join` and `Exclude` on `on`.
pub(crate) fn subgroups_of(
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
/// (a group reached through two paths is resolved once). Member sets are bitsets over the
/// ledger's member numbers; ids appear only in what [`Resolver::members`] returns.
pub struct Resolver<'l> {
    ledger: &'l Ledger,
    on: Date,
    as_of: Option<u64>,
    /// How members are numbered: every number here is from it.
    numbering: Numbering,
    /// Whether to take the ledger's dictionary before the first number is given.
    wants_ledger_dictionary: bool,
    /// Groups with subgroups, resolved (a group without is its direct inclusions).
    resolved: FxHashMap<GroupId, Arc<MemberSet>>,
    direct: FxHashMap<GroupId, Arc<Direct>>,
    /// Per group asked `via` about, its members' paths (see [`Resolver::paths`]).
    paths: FxHashMap<GroupId, Paths>,
    without_exclusions: FxHashMap<GroupId, bool>,
    open_checks: BTreeSet<GroupId>,
    /// Groups being resolved: meeting one again is a cycle, which a checked ledger never
    /// holds (refused as corrupt rather than recursing for ever).
    open: BTreeSet<GroupId>,
}

impl<'l> Resolver<'l> {
    pub fn new(ledger: &'l Ledger, on: Date, as_of: Option<u64>) -> Resolver<'l> {
        // As of the head is now: the span indexes answer.
        let as_of = as_of.filter(|as_of| *as_of < ledger.head_seq());
        let asked_before = ledger.note_question();
        let (numbering, wants_ledger_dictionary) = match ledger.held_member_numbers() {
            Some(numbers) => (Numbering::Ledger(numbers), false),
            None => (Numbering::met(), asked_before),
        };
        Resolver {
            ledger,
            on,
            as_of,
            numbering,
            wants_ledger_dictionary,
            resolved: FxHashMap::default(),
            direct: FxHashMap::default(),
            paths: FxHashMap::default(),
            without_exclusions: FxHashMap::default(),
            open_checks: BTreeSet::new(),
            open: BTreeSet::new(),
        }
    }

    /// The numbering this resolution names members by (see [`Numbering`]): the ledger's
    /// dictionary when it is built already or this process has resolved before; else
    /// numbers for the members met.
    fn numbering(&mut self) -> Result<&mut Numbering> {
        if self.wants_ledger_dictionary {
            self.wants_ledger_dictionary = false;
            self.numbering = Numbering::Ledger(self.ledger.member_numbers()?);
        }
        Ok(&mut self.numbering)
    }

    fn direct(&mut self, group: &GroupId) -> Result<Arc<Direct>> {
        if let Some(direct) = self.direct.get(group) {
            return Ok(direct.clone());
        }
        let ledger = self.ledger;
        let (on, as_of) = (self.on, self.as_of);
        let numbering = self.numbering()?;
        let direct = match (as_of, &*numbering) {
            // As the ledger stands now, in a process that asks again: the group's span
            // index (built on first use and kept), numbered by the ledger's dictionary.
            (None, Numbering::Ledger(numbers)) => {
                let spans = ledger.group_spans(group)?.ok_or_else(|| unknown(group))?;
                let shared = Arc::ptr_eq(spans.numbers(), numbers);
                let state = ledger.group_state(group)?;
                let excluded = numbered(numbering, &spans.excluded_on(on), group)?;
                let included = match shared {
                    true => Included::Now(spans, on),
                    // An index numbered by another dictionary (one replaced since): its
                    // members by id, renumbered.
                    false => Included::AsOf(numbered(numbering, &spans.members_on(on), group)?),
                };
                Direct {
                    included,
                    excluded,
                    subgroups: subgroups_of(&state.subgroups, on, as_of),
                }
            }
            // A first question, or one as of an earlier commit: the group's block read for
            // this date alone.
            _ => {
                let said = ledger
                    .group_on(group, on, as_of)?
                    .ok_or_else(|| unknown(group))?;
                Direct {
                    included: Included::AsOf(numbered(numbering, &said.included, group)?),
                    excluded: numbered(numbering, &said.excluded, group)?,
                    subgroups: subgroups_of(&said.subgroups, on, as_of),
                }
            }
        };
        let direct = Arc::new(direct);
        self.direct.insert(group.clone(), direct.clone());
        Ok(direct)
    }

    /// The resolved members of `group`, sorted: the set's numbers turned into ids.
    pub fn members(&mut self, group: &GroupId) -> Result<Arc<Vec<MemberId>>> {
        let direct = self.direct(group)?;
        if direct.subgroups.included.is_empty() {
            return Ok(Arc::new(self.numbering.ids(direct.included.numbers())));
        }
        let set = self.set(group)?;
        Ok(Arc::new(set.ids(&self.numbering)))
    }

    /// Adds the resolved members of `group` to `set`, or takes them away from it.
    fn apply(&mut self, group: &GroupId, set: &mut MemberSet, add: bool) -> Result<()> {
        let direct = self.direct(group)?;
        if direct.subgroups.included.is_empty() {
            // Nothing comes in through nesting: an excluded subgroup takes nothing away
            // from nothing, and the direct states are one per member.
            for number in direct.included.numbers() {
                match add {
                    true => set.insert(number),
                    false => set.remove(number),
                }
            }
            return Ok(());
        }
        let resolved = self.set(group)?;
        match add {
            true => set.union_with(&resolved),
            false => set.difference_with(&resolved),
        }
        Ok(())
    }

    /// The resolved members of `group`, a group with subgroups, as a set.
    fn set(&mut self, group: &GroupId) -> Result<Arc<MemberSet>> {
        if let Some(members) = self.resolved.get(group) {
            return Ok(members.clone());
        }
        if !self.open.insert(group.clone()) {
            return Err(cycle(group));
        }
        let direct = self.direct(group)?;
        let mut members = MemberSet::empty(self.numbering()?.len());
        if self.without_exclusions(group)? {
            // No exclusion anywhere below: the union of every direct inclusion below,
            // gathered once, without building each level's set.
            let mut below = Vec::new();
            self.gather(group, &mut FxHashSet::default(), &mut below)?;
            for direct in &below {
                direct.included.add_to(&mut members);
            }
        } else {
            for subgroup in &direct.subgroups.included {
                self.apply(subgroup, &mut members, true)?;
            }
            for subgroup in &direct.subgroups.excluded {
                self.apply(subgroup, &mut members, false)?;
            }
            direct.included.add_to(&mut members);
            for number in &direct.excluded {
                members.remove(*number);
            }
        }
        self.open.remove(group);
        let members = Arc::new(members);
        self.resolved.insert(group.clone(), members.clone());
        Ok(members)
    }

    /// Whether no member and no subgroup is excluded from `group` or any group below it.
    fn without_exclusions(&mut self, group: &GroupId) -> Result<bool> {
        if let Some(&answer) = self.without_exclusions.get(group) {
            return Ok(answer);
        }
        if !self.open_checks.insert(group.clone()) {
            return Err(cycle(group));
        }
        let direct = self.direct(group)?;
        let mut answer = direct.excluded.is_empty() && direct.subgroups.excluded.is_empty();
        for subgroup in &direct.subgroups.included {
            if !answer {
                break;
            }
            answer = self.without_exclusions(subgroup)?;
        }
        self.open_checks.remove(group);
        self.without_exclusions.insert(group.clone(), answer);
        Ok(answer)
    }

    /// What `group` and every group included below it say directly, each once.
    fn gather(
        &mut self,
        group: &GroupId,
        seen: &mut FxHashSet<GroupId>,
        below: &mut Vec<Arc<Direct>>,
    ) -> Result<()> {
        if !seen.insert(group.clone()) {
            return Ok(());
        }
        let direct = self.direct(group)?;
        for subgroup in &direct.subgroups.included {
            self.gather(subgroup, seen, below)?;
        }
        below.push(direct);
        Ok(())
    }

    /// For a resolved member of `group` not directly included in it, the subgroups it
    /// comes in through, from `group`'s subgroup down to the one that includes it
    /// directly (the first such path in id order); `None` when it is directly included.
    pub fn via(&mut self, group: &GroupId, member: &MemberId) -> Result<Option<Vec<GroupId>>> {
        // Worked out before the member is looked up: numbers met are given as groups are
        // read.
        let direct = self.direct(group)?;
        let paths = self.paths(group)?;
        let Some(number) = self.numbering()?.existing(member) else {
            // In none of the groups read: in no path.
            return Ok(None);
        };
        if direct.included.contains(number) {
            return Ok(None);
        }
        Ok(paths.get(&number).map(|path| path.to_vec()))
    }

    /// For `group`, the path of every member some included subgroup holds, other than its
    /// direct inclusions: the first such subgroup in id order, then that subgroup's own
    /// path (empty when the member is included in it directly). Worked out once per group
    /// for all its members: a table of a group's members asks it of each of them. Members
    /// that come in the same way share one path.
    fn paths(&mut self, group: &GroupId) -> Result<Paths> {
        if let Some(paths) = self.paths.get(group) {
            return Ok(paths.clone());
        }
        if !self.open.insert(group.clone()) {
            return Err(cycle(group));
        }
        let direct = self.direct(group)?;
        let mut paths: FxHashMap<u32, Path> = FxHashMap::default();
        for subgroup in &direct.subgroups.included {
            let (held, below_paths) = self.numbers_and_paths(subgroup)?;
            let own: Path = Arc::from([subgroup.clone()]);
            // Per path below (by address: each is one shared allocation), this group's.
            let mut extended: FxHashMap<*const GroupId, Path> = FxHashMap::default();
            for number in held {
                if paths.contains_key(&number) || direct.included.contains(number) {
                    continue;
                }
                let path = match below_paths.as_ref().and_then(|paths| paths.get(&number)) {
                    None => own.clone(),
                    Some(further) => extended
                        .entry(further.as_ptr())
                        .or_insert_with(|| {
                            std::iter::once(subgroup.clone())
                                .chain(further.iter().cloned())
                                .collect()
                        })
                        .clone(),
                };
                paths.insert(number, path);
            }
        }
        self.open.remove(group);
        let paths = Arc::new(paths);
        self.paths.insert(group.clone(), paths.clone());
        Ok(paths)
    }

    /// The numbers of `group`'s resolved members, ascending, and for a group with
    /// subgroups their paths (a group without has none: every member is in directly).
    fn numbers_and_paths(&mut self, group: &GroupId) -> Result<(Vec<u32>, Option<Paths>)> {
        let direct = self.direct(group)?;
        if direct.subgroups.included.is_empty() {
            return Ok((direct.included.numbers().collect(), None));
        }
        let numbers = self.set(group)?.numbers().collect();
        Ok((numbers, Some(self.paths(group)?)))
    }

    /// The resolved members of `group`, sorted, each with its path (what [`Self::via`]
    /// says of it), worked out in one pass: what a table of the members shows.
    pub fn members_with_paths(&mut self, group: &GroupId) -> Result<Vec<(MemberId, Option<Path>)>> {
        let direct = self.direct(group)?;
        let (numbers, paths) = self.numbers_and_paths(group)?;
        let mut rows: Vec<(MemberId, Option<Path>)> = numbers
            .into_iter()
            .filter_map(|number| {
                let id = self.numbering.id(number)?.clone();
                let path = paths
                    .as_ref()
                    .filter(|_| !direct.included.contains(number))
                    .and_then(|paths| paths.get(&number).cloned());
                Some((id, path))
            })
            .collect();
        if !self.numbering.in_id_order() {
            sort_by_id(&mut rows, |row| &row.0);
        }
        Ok(rows)
    }
}

/// The numbers of `members` (members of `group`), ascending.
fn numbered(numbering: &mut Numbering, members: &[MemberId], group: &GroupId) -> Result<Vec<u32>> {
    let mut numbers = members
        .iter()
        .map(|member| {
            numbering.number(member).ok_or_else(|| {
                Error::corrupt(format!(
                    "member {member} of group {group} is missing from the derived state's \
                     member list"
                ))
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    // Already ascending with the ledger's dictionary (number order is id order), not
    // with met numbers.
    numbers.sort_unstable();
    Ok(numbers)
}

fn cycle(group: &GroupId) -> Error {
    Error::corrupt(format!(
        "group {group} contains itself through its subgroups"
    ))
}

fn unknown(group: &GroupId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no group {group} in the ledger"),
    )
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
    // No group of the member's is anyone's subgroup: nothing comes in through nesting, and
    // a direct inclusion is only ever taken away by the member's own exclusion, which
    // their timeline says. The direct answer, without decoding any group's members.
    let mut nested = false;
    for group in state.groups.keys() {
        if ledger.has_parents(group)? {
            nested = true;
            break;
        }
    }
    if !nested {
        return Ok(membership::groups(ledger, member, on, as_of)?
            .into_iter()
            .map(|group| GroupIn {
                group,
                direct: true,
            })
            .collect());
    }
    let mut candidates: BTreeSet<GroupId> = BTreeSet::new();
    let mut next: Vec<GroupId> = state.groups.keys().cloned().collect();
    while let Some(group) = next.pop() {
        if candidates.insert(group.clone()) {
            // Only the nesting timelines: whether the member is directly in a group is
            // their own timeline's to say, so no group's members are decoded.
            if let Some(nesting) = ledger.nesting(&group)? {
                next.extend(nesting.parents.into_keys());
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
            // Only the group's subgroups: its members are the member's own timeline's
            // business, already read.
            let nesting = ledger.nesting(group)?.unwrap_or_default();
            let subgroups = subgroups_of(&nesting.subgroups, on, as_of);
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
