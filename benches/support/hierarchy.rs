//! Issue 15's three-level hierarchy over the synthetic groups, for the nesting benchmarks:
//! every group in one of [`UMBRELLAS`] umbrella groups, those in [`DIVISIONS`] divisions,
//! those in one group `all`.
//!
//! Owns: that hierarchy's ids and subgroup facts. Must not: time anything.

use muster::{Batch, Change, Date, GroupId};

use super::synthetic::{group_id, Shape, FIRST_YEAR};

/// How many umbrella groups, and how many divisions over them.
pub const UMBRELLAS: u32 = 100;
pub const DIVISIONS: u32 = 10;

pub fn umbrella_id(index: u32) -> GroupId {
    GroupId::new(&format!("U{index:03}")).expect("a generated id is valid")
}

pub fn division_id(index: u32) -> GroupId {
    GroupId::new(&format!("D{index:02}")).expect("a generated id is valid")
}

pub fn top_id() -> GroupId {
    GroupId::new("all").expect("a generated id is valid")
}

/// The subgroup facts of the three-level hierarchy, all from the first day of the first
/// year: group `g` in umbrella `g % UMBRELLAS`, umbrella `u` in division `u % DIVISIONS`,
/// every division in `all`.
pub fn hierarchy_batch(shape: Shape) -> Batch {
    let start = Date::from_ymd(FIRST_YEAR, 1, 1).expect("a valid date");
    let include = |group: GroupId, subgroup: GroupId| muster::NestingFact {
        date: start,
        group,
        subgroup,
        change: Change::Join,
        place: None,
    };
    let mut nesting = Vec::new();
    for g in 0..shape.groups {
        nesting.push(include(umbrella_id(g % UMBRELLAS), group_id(g)));
    }
    for u in 0..UMBRELLAS {
        nesting.push(include(division_id(u % DIVISIONS), umbrella_id(u)));
    }
    for d in 0..DIVISIONS {
        nesting.push(include(top_id(), division_id(d)));
    }
    Batch {
        observations: Vec::new(),
        facts: Vec::new(),
        nesting,
    }
}
