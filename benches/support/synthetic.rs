//! A synthetic ledger for scale benchmarks: members joining and leaving groups over years,
//! as explicit facts, one commit per year. Deterministic for a seed.
//!
//! Owns: the shape of the synthetic data. Must not: time anything.

use muster::import::sb::generate::SplitMix64;
use muster::{Batch, Change, Date, Fact, GroupId, MemberId};

/// The first year of the synthetic ledger.
pub const FIRST_YEAR: i32 = 2016;

/// The size of a synthetic ledger.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub members: u32,
    pub groups: u32,
    pub years: u32,
    /// Spans each member has per year (each a join and a leave).
    pub spans_per_member_year: u32,
}

impl Shape {
    /// About ten million facts: 50,000 members, 5,000 groups, 10 years.
    pub const TEN_MILLION: Shape = Shape {
        members: 50_000,
        groups: 5_000,
        years: 10,
        spans_per_member_year: 10,
    };

    pub fn facts(&self) -> u64 {
        u64::from(self.members) * u64::from(self.years) * u64::from(self.spans_per_member_year) * 2
    }
}

pub fn group_id(index: u32) -> GroupId {
    GroupId::new(&format!("G{index:05}")).expect("a generated id is valid")
}

pub fn member_id(index: u32) -> MemberId {
    MemberId::new(&format!("M{index:06}")).expect("a generated id is valid")
}

/// The batch of year `year` (0-based): every member joins `spans_per_member_year` distinct
/// groups on a random day of the year and leaves each later that year.
pub fn year_batch(shape: Shape, year: u32, seed: u64) -> Batch {
    let mut random = SplitMix64::new(seed ^ (u64::from(year) << 32));
    let start = Date::from_ymd(FIRST_YEAR + year as i32, 1, 1).expect("a valid date");
    let groups: Vec<GroupId> = (0..shape.groups).map(group_id).collect();
    let mut facts = Vec::with_capacity((shape.members * shape.spans_per_member_year * 2) as usize);
    for member_index in 0..shape.members {
        let member = member_id(member_index);
        let mut chosen: Vec<u32> = Vec::new();
        while chosen.len() < shape.spans_per_member_year as usize {
            let group = random.below(u64::from(shape.groups)) as u32;
            if !chosen.contains(&group) {
                chosen.push(group);
            }
        }
        for group in chosen {
            let join = random.below(300) as i64;
            let leave = join + 1 + random.below(364 - join as u64) as i64;
            for (offset, change) in [(join, Change::Join), (leave, Change::Leave)] {
                facts.push(Fact {
                    date: start.add_days(offset).expect("within the year"),
                    group: groups[group as usize].clone(),
                    member: member.clone(),
                    change,
                });
            }
        }
    }
    Batch {
        observations: Vec::new(),
        facts,
        nesting: Vec::new(),
    }
}
