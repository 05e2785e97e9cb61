//! What the ledger records and is told: [`Change`], [`Fact`], [`Observation`], spans, and
//! the [`Batch`] of statements one import presents.
//!
//! Owns: those types.
//! Must not: decide what a statement means for the ledger (that is `plan`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Place;
use crate::model::{Date, GroupId, MemberId};

/// The three kinds of fact, and so the three *direct states* of an element in a group
/// (see `model::nesting`): leave (none), join (included), exclude (excluded). Persisted as a
/// 4-byte variant index in version 1 (leave = 0, join = 1; version 1 holds no exclusion)
/// and as a byte in versions 2 and 3 (0, 1, and 2 for exclude, only in the nesting
/// section). A subgroup fact uses the same three: `end`, `include`, `exclude`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum Change {
    Leave,
    Join,
    Exclude,
}

impl Change {
    /// The change that makes `member` the state from its date on.
    pub fn to(member: bool) -> Change {
        if member {
            Change::Join
        } else {
            Change::Leave
        }
    }

    /// Whether the member is directly included in the group after this change.
    pub fn is_member(self) -> bool {
        self == Change::Join
    }

    /// A member fact's change as written: `join`, `leave` or `exclude`.
    pub fn parse(text: &str) -> Option<Change> {
        match text {
            "join" => Some(Change::Join),
            "leave" => Some(Change::Leave),
            "exclude" => Some(Change::Exclude),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Change::Join => "join",
            Change::Leave => "leave",
            Change::Exclude => "exclude",
        }
    }

    /// A subgroup fact's change as written: `include`, `end` or `exclude`.
    pub fn parse_subgroup(text: &str) -> Option<Change> {
        match text {
            "include" => Some(Change::Join),
            "end" => Some(Change::Leave),
            "exclude" => Some(Change::Exclude),
            _ => None,
        }
    }

    /// The word a subgroup fact of this change is written with.
    pub fn subgroup_str(self) -> &'static str {
        match self {
            Change::Join => "include",
            Change::Leave => "end",
            Change::Exclude => "exclude",
        }
    }
}

/// On `date`, `group` includes (`Join`), excludes (`Exclude`) or stops naming (`Leave`,
/// written `end`) `subgroup`, and with it the subgroup's resolved members. `place` is the
/// input line it was read from, for a refusal (a cycle) to name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NestingFact {
    pub date: Date,
    pub group: GroupId,
    pub subgroup: GroupId,
    pub change: Change,
    pub place: Option<Place>,
}

/// On `date`, `member` joins or leaves `group`. A join on D: member from D on. A leave on D:
/// D is the first day the member is not in the group.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Fact {
    pub date: Date,
    pub group: GroupId,
    pub member: MemberId,
    pub change: Change,
}

/// "On `date`, `group` had exactly the members `members`" (a snapshot), or one of the two
/// statements a source's lifecycle rule makes (see [`ObservationKind`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Observation {
    pub date: Date,
    pub group: GroupId,
    pub members: BTreeSet<MemberId>,
    pub kind: ObservationKind,
}

impl Observation {
    /// A snapshot: `group` had exactly `members` on `date`.
    pub fn snapshot(date: Date, group: GroupId, members: BTreeSet<MemberId>) -> Observation {
        Observation {
            date,
            group,
            members,
            kind: ObservationKind::Snapshot,
        }
    }
}

/// What an observation says.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum ObservationKind {
    /// The group had exactly the listed members.
    Snapshot,
    /// The group ended on this date: no members from it on. Recorded as an observed date
    /// and remembered as an end, so that a later statement can take it back.
    End,
    /// Takes back an end: the group goes on as it was the day before (members on D equal
    /// members on D - 1). Used when late data shows a group did not end after all.
    CarryForward,
}

/// A membership span of one member in one group: `from` inclusive, `until` exclusive
/// (`None` while open).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Span {
    pub group: GroupId,
    pub member: MemberId,
    pub from: Date,
    pub until: Option<Date>,
}

/// One span: `starts_on` and `ends_on` both inclusive; `ends_on` is `None` while open.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InclusiveSpan {
    pub group: GroupId,
    pub member: MemberId,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

/// A batch of statements to import together as one commit.
#[derive(Default, Debug, Clone)]
pub struct Batch {
    pub observations: Vec<Observation>,
    pub facts: Vec<Fact>,
    /// Subgroup facts (`import nesting`).
    pub nesting: Vec<NestingFact>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty() && self.facts.is_empty() && self.nesting.is_empty()
    }

    /// The groups the batch speaks of, sorted (for a subgroup fact, both groups).
    pub fn groups(&self) -> BTreeSet<GroupId> {
        self.observations
            .iter()
            .map(|o| o.group.clone())
            .chain(self.facts.iter().map(|f| f.group.clone()))
            .chain(
                self.nesting
                    .iter()
                    .flat_map(|n| [n.group.clone(), n.subgroup.clone()]),
            )
            .collect()
    }
}
