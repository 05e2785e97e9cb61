//! Property tests: muster against the deliberately naive reference model
//! (`muster::testing::reference`, shared with the fuzz target `model`).
//!
//! Owns: the strategies (random statements, batches, re-imports, reopens, orders) and the
//! properties; the small spaces they run in (also used by `portable.rs`).
//! Must not: model membership itself; what the answers should be comes from the one model.
//! Ids and dates come from small spaces so that collisions happen.

use muster::storage::memory::MemoryStore;
use muster::testing::reference::{Model, Space};
use muster::testing::{difference, source};
use muster::{Batch, Date, GroupId, Ledger, MemberId, OpenOptions, Verdict};
use proptest::prelude::*;

pub(crate) use muster::testing::reference::Statement;

pub(crate) const GROUPS: usize = 2;
pub(crate) const MEMBERS: usize = 4;
pub(crate) const DAYS: usize = 12;

/// The spaces of these tests. Days lie weeks apart, so that answers cross the buckets of
/// the ledger's span index (64 days each); the model only ever counts them in order.
const SPACE: Space = Space {
    groups: GROUPS,
    members: MEMBERS,
    days: DAYS,
    step: 37,
};

pub(crate) fn group(index: usize) -> GroupId {
    SPACE.group(index)
}

pub(crate) fn member(index: usize) -> MemberId {
    SPACE.member(index)
}

/// Day `index` of the model.
pub(crate) fn day(index: usize) -> Date {
    SPACE.day(index)
}

pub(crate) fn to_batch(statements: &[Statement]) -> Batch {
    muster::testing::to_batch(&SPACE, statements)
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
    match difference(ledger, model) {
        Some(difference) => Err(TestCaseError::fail(difference)),
        None => Ok(()),
    }
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
    let mut model = Model::new(SPACE);
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

/// `statements` in an order drawn from `seed`: a Fisher-Yates shuffle, so that the failing
/// order is reproducible.
pub(crate) fn shuffled(statements: &[Statement], seed: u64) -> Vec<Statement> {
    let mut shuffled = statements.to_vec();
    let mut state = seed | 1;
    for i in (1..shuffled.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        shuffled.swap(i, (state % (i as u64 + 1)) as usize);
    }
    shuffled
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
        let shuffled = shuffled(&snapshots, seed);
        let mut together = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        together.import(&to_batch(&snapshots), source(), false).unwrap();
        let mut one_by_one = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        for statement in &shuffled {
            one_by_one.import(&to_batch(std::slice::from_ref(statement)), source(), false).unwrap();
        }
        let mut model = Model::new(SPACE);
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
        let mut model = Model::new(SPACE);
        model.apply(&snapshots);
        prop_assert_eq!(facts, model.changes());
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
