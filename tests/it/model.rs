//! Property tests: muster against a deliberately naive reference model.
//!
//! The model keeps, for every (group, member), one boolean per day of a small date space,
//! and folds each statement in a plain loop: a statement about (G, D) sets the days from D
//! up to the next *anchor* (the next observed date of G, or the next recorded explicit
//! fact of (G, M)). Ids and dates come from small spaces so that collisions happen.

use std::collections::{BTreeMap, BTreeSet};

use muster::log::source::{Source, SourceKind};
use muster::storage::memory::MemoryStore;
use muster::{
    Batch, Change, Date, Fact, GroupId, Ledger, MemberId, Observation, ObservationKind,
    OpenOptions, Verdict,
};
use proptest::prelude::*;

pub(crate) const GROUPS: usize = 2;
pub(crate) const MEMBERS: usize = 4;
pub(crate) const DAYS: usize = 12;

pub(crate) fn group(index: usize) -> GroupId {
    GroupId::new(&format!("g{index}")).unwrap()
}

pub(crate) fn member(index: usize) -> MemberId {
    MemberId::new(&format!("m{index}")).unwrap()
}

/// Day `index` of the model. Days lie weeks apart, so that answers cross the buckets of
/// the ledger's span index (64 days each); the model only ever counts them in order.
pub(crate) fn day(index: usize) -> Date {
    Date::from_ymd(2020, 1, 1)
        .unwrap()
        .add_days(index as i64 * 37)
        .unwrap()
}

fn source() -> Source {
    Source {
        kind: SourceKind::Observations,
        files: vec![],
        options: Vec::new(),
    }
}

/// One statement of a batch, in small-space indexes.
#[derive(Clone, Debug)]
pub(crate) enum Statement {
    Snapshot {
        group: usize,
        day: usize,
        members: BTreeSet<usize>,
    },
    End {
        group: usize,
        day: usize,
    },
    CarryForward {
        group: usize,
        day: usize,
    },
    Fact {
        group: usize,
        member: usize,
        day: usize,
        join: bool,
    },
}

impl Statement {
    fn group(&self) -> usize {
        match self {
            Statement::Snapshot { group, .. }
            | Statement::End { group, .. }
            | Statement::CarryForward { group, .. }
            | Statement::Fact { group, .. } => *group,
        }
    }

    fn day(&self) -> usize {
        match self {
            Statement::Snapshot { day, .. }
            | Statement::End { day, .. }
            | Statement::CarryForward { day, .. }
            | Statement::Fact { day, .. } => *day,
        }
    }
}

pub(crate) fn to_batch(statements: &[Statement]) -> Batch {
    let mut batch = Batch::default();
    for statement in statements {
        match statement {
            Statement::Snapshot {
                group: g,
                day: d,
                members,
            } => batch.observations.push(Observation::snapshot(
                day(*d),
                group(*g),
                members.iter().map(|m| member(*m)).collect(),
            )),
            Statement::End { group: g, day: d } | Statement::CarryForward { group: g, day: d } => {
                let kind = if matches!(statement, Statement::End { .. }) {
                    ObservationKind::End
                } else {
                    ObservationKind::CarryForward
                };
                batch.observations.push(Observation {
                    date: day(*d),
                    group: group(*g),
                    members: BTreeSet::new(),
                    kind,
                })
            }
            Statement::Fact {
                group: g,
                member: m,
                day: d,
                join,
            } => batch.facts.push(Fact {
                date: day(*d),
                group: group(*g),
                member: member(*m),
                change: if *join { Change::Join } else { Change::Leave },
            }),
        }
    }
    batch
}

/// The naive reference: a boolean per (group, member, day).
#[derive(Clone, Default)]
struct Model {
    days: BTreeMap<(usize, usize), [bool; DAYS]>,
    observed: BTreeMap<usize, BTreeSet<usize>>,
    anchors: BTreeMap<(usize, usize), BTreeSet<usize>>,
}

impl Model {
    fn is_member(&self, g: usize, m: usize, d: usize) -> bool {
        self.days.get(&(g, m)).is_some_and(|days| days[d])
    }

    fn members(&self, g: usize, d: usize) -> BTreeSet<usize> {
        (0..MEMBERS).filter(|&m| self.is_member(g, m, d)).collect()
    }

    fn next_anchor(&self, g: usize, m: usize, d: usize) -> usize {
        let observed = self
            .observed
            .get(&g)
            .and_then(|s| s.range(d + 1..).next().copied());
        let explicit = self
            .anchors
            .get(&(g, m))
            .and_then(|s| s.range(d + 1..).next().copied());
        observed.into_iter().chain(explicit).min().unwrap_or(DAYS)
    }

    fn set(&mut self, g: usize, m: usize, d: usize, member: bool) {
        let until = self.next_anchor(g, m, d);
        let days = self.days.entry((g, m)).or_insert([false; DAYS]);
        for slot in &mut days[d..until] {
            *slot = member;
        }
    }

    fn observe(&mut self, g: usize, d: usize, members: &BTreeSet<usize>) {
        for m in 0..MEMBERS {
            self.set(g, m, d, members.contains(&m));
        }
        self.observed.entry(g).or_default().insert(d);
    }

    /// Folds a batch the way the ledger documents it: per group, dates in order; on one
    /// date the observation (snapshots of one date united) first, then explicit facts, the
    /// last of one (member, date) winning; a fact that changes nothing is no anchor.
    fn apply(&mut self, statements: &[Statement]) {
        for g in 0..GROUPS {
            let mine: Vec<&Statement> = statements.iter().filter(|s| s.group() == g).collect();
            let dates: BTreeSet<usize> = mine.iter().map(|s| s.day()).collect();
            for d in dates {
                let on_day: Vec<&&Statement> = mine.iter().filter(|s| s.day() == d).collect();
                let snapshots: Vec<&BTreeSet<usize>> = on_day
                    .iter()
                    .filter_map(|s| match s {
                        Statement::Snapshot { members, .. } => Some(members),
                        _ => None,
                    })
                    .collect();
                let lifecycle = on_day
                    .iter()
                    .rfind(|s| matches!(s, Statement::End { .. } | Statement::CarryForward { .. }));
                if !snapshots.is_empty() {
                    let union: BTreeSet<usize> = snapshots.into_iter().flatten().copied().collect();
                    self.observe(g, d, &union);
                } else if let Some(statement) = lifecycle {
                    let members = match statement {
                        Statement::End { .. } => BTreeSet::new(),
                        _ if d == 0 => BTreeSet::new(),
                        _ => self.members(g, d - 1),
                    };
                    self.observe(g, d, &members);
                }
                let mut facts: BTreeMap<usize, bool> = BTreeMap::new();
                for statement in &on_day {
                    if let Statement::Fact { member, join, .. } = statement {
                        facts.insert(*member, *join);
                    }
                }
                for (m, join) in facts {
                    if self.is_member(g, m, d) != join {
                        self.set(g, m, d, join);
                        self.anchors.entry((g, m)).or_default().insert(d);
                    }
                }
            }
        }
    }
}

pub(crate) fn statement() -> impl Strategy<Value = Statement> {
    let members = proptest::collection::btree_set(0..MEMBERS, 0..=MEMBERS);
    prop_oneof![
        6 => (0..GROUPS, 0..DAYS, members).prop_map(|(group, day, members)| Statement::Snapshot { group, day, members }),
        1 => (0..GROUPS, 0..DAYS).prop_map(|(group, day)| Statement::End { group, day }),
        1 => (0..GROUPS, 0..DAYS).prop_map(|(group, day)| Statement::CarryForward { group, day }),
        3 => (0..GROUPS, 0..MEMBERS, 0..DAYS, any::<bool>()).prop_map(|(group, member, day, join)| Statement::Fact { group, member, day, join }),
    ]
}

#[derive(Clone, Debug)]
enum Operation {
    Import(Vec<Statement>),
    /// Import again the batch imported `n` operations ago (modulo the history).
    Reimport(usize),
    Reopen,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        6 => proptest::collection::vec(statement(), 1..6).prop_map(Operation::Import),
        2 => any::<usize>().prop_map(Operation::Reimport),
        1 => Just(Operation::Reopen),
    ]
}

/// Asserts that the ledger answers like the model for every group, member and day, both
/// ways round (members of a group, groups of a member).
fn assert_same(ledger: &Ledger, model: &Model) -> Result<(), TestCaseError> {
    for g in 0..GROUPS {
        if ledger
            .find_group(&group(g))
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .is_none()
        {
            for d in 0..DAYS {
                prop_assert!(
                    model.members(g, d).is_empty(),
                    "group g{g} unknown but model has members on day {d}"
                );
            }
            continue;
        }
        for d in 0..DAYS {
            let got: BTreeSet<MemberId> = ledger
                .members(&group(g), day(d), None)
                .unwrap()
                .into_iter()
                .collect();
            let expected: BTreeSet<MemberId> =
                model.members(g, d).into_iter().map(member).collect();
            prop_assert_eq!(got, expected, "members of g{} on day {}", g, d);
        }
    }
    for m in 0..MEMBERS {
        let Ok(_) = ledger.member_history(&member(m), None) else {
            continue;
        };
        for d in 0..DAYS {
            let got: BTreeSet<GroupId> = ledger
                .groups(&member(m), day(d), None)
                .unwrap()
                .into_iter()
                .collect();
            let expected: BTreeSet<GroupId> = (0..GROUPS)
                .filter(|&g| model.is_member(g, m, d))
                .map(group)
                .collect();
            prop_assert_eq!(got, expected, "groups of m{} on day {}", m, d);
        }
    }
    Ok(())
}

fn run_operations(operations: Vec<Operation>, store_is_sled: bool) -> Result<(), TestCaseError> {
    let directory = tempfile::tempdir().unwrap();
    let memory = MemoryStore::default();
    let open = || -> Ledger {
        if store_is_sled {
            Ledger::open(&directory.path().join("ledger"), OpenOptions::default()).unwrap()
        } else {
            Ledger::with_store(Box::new(memory.clone())).unwrap()
        }
    };
    let mut ledger = open();
    let mut model = Model::default();
    let mut history: Vec<Vec<Statement>> = Vec::new();
    for operation in operations {
        let statements = match operation {
            Operation::Reopen => {
                drop(ledger);
                ledger = open();
                assert_same(&ledger, &model)?;
                continue;
            }
            Operation::Import(statements) => statements,
            Operation::Reimport(back) if !history.is_empty() => {
                history[history.len() - 1 - back % history.len()].clone()
            }
            Operation::Reimport(_) => continue,
        };
        let before = ledger.head_seq();
        let outcome = ledger
            .import(&to_batch(&statements), source(), false)
            .unwrap();
        model.apply(&statements);
        assert_same(&ledger, &model)?;
        prop_assert_eq!(outcome.commit.is_some(), ledger.head_seq() == before + 1);
        // Idempotent: the same batch again appends nothing.
        let again = ledger
            .import(&to_batch(&statements), source(), false)
            .unwrap();
        prop_assert!(
            again.commit.is_none() && again.nothing_to_record(),
            "re-import appended {:?}",
            again
        );
        history.push(statements);
    }
    prop_assert!(
        matches!(ledger.verify().unwrap(), Verdict::Sound { .. }),
        "verify failed"
    );
    Ok(())
}

/// A snapshot per distinct (group, day).
fn distinct_snapshots() -> impl Strategy<Value = Vec<Statement>> {
    proptest::collection::btree_map(
        (0..GROUPS, 0..DAYS),
        proptest::collection::btree_set(0..MEMBERS, 0..=MEMBERS),
        1..12,
    )
    .prop_map(|map| {
        map.into_iter()
            .map(|((group, day), members)| Statement::Snapshot {
                group,
                day,
                members,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Observations hold, carry forward, idempotence, and verify, over random imports,
    /// re-imports and reopens (in memory: many cases).
    #[test]
    fn ledger_answers_like_the_naive_model(operations in proptest::collection::vec(operation(), 1..14)) {
        run_operations(operations, false)?;
    }

    /// Order independence: the same snapshots of distinct (group, day), imported one per
    /// commit in any order, give the same membership as one batch, on every day.
    #[test]
    fn import_order_does_not_matter(snapshots in distinct_snapshots(), seed in any::<u64>()) {
        let mut shuffled = snapshots.clone();
        // A Fisher-Yates shuffle driven by `seed`, so the failing order is reproducible.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut together = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        together.import(&to_batch(&snapshots), source(), false).unwrap();
        let mut one_by_one = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        for statement in &shuffled {
            one_by_one.import(&to_batch(std::slice::from_ref(statement)), source(), false).unwrap();
        }
        let mut model = Model::default();
        model.apply(&snapshots);
        assert_same(&together, &model)?;
        assert_same(&one_by_one, &model)?;
    }

    /// Churn-free and minimal: in date order, exactly one fact per real change.
    #[test]
    fn in_date_order_one_fact_per_real_change(snapshots in distinct_snapshots()) {
        let mut ordered = snapshots.clone();
        ordered.sort_by_key(|s| (s.day(), s.group()));
        let mut ledger = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        let mut facts = 0;
        for statement in &ordered {
            facts += ledger.import(&to_batch(std::slice::from_ref(statement)), source(), false).unwrap().facts.len();
        }
        let mut model = Model::default();
        model.apply(&snapshots);
        let real_changes: usize = model
            .days
            .values()
            .map(|days| (0..DAYS).filter(|&d| days[d] != (d > 0 && days[d - 1])).count())
            .sum();
        prop_assert_eq!(facts, real_changes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same on sled, where a reopen really closes and reopens the files.
    #[test]
    fn ledger_on_sled_answers_like_the_naive_model(operations in proptest::collection::vec(operation(), 1..10)) {
        run_operations(operations, true)?;
    }
}
