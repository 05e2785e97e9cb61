//! Nested groups and exclusions: property tests against the one naive reference model
//! (`muster::testing::reference`), and one test per precedence rule and per way a cycle
//! is refused.
//!
//! Owns: the nesting strategies (exclusions, subgroup facts over small DAGs, observations,
//! re-imports, reopens, import orders) and the named precedence and cycle tests.
//! Must not: model resolution itself; expected answers come from the one model.

use muster::storage::memory::MemoryStore;
use muster::testing::reference::{Direct, Model, Space, Statement};
use muster::testing::{nesting_difference, source};
use muster::{ErrorKind, Ledger, OpenOptions, Verdict};
use proptest::prelude::*;

/// Four groups, so that nesting reaches depth four (g0 > g1 > g2 > g3); few members and
/// days, so that statements collide.
const SPACE: Space = Space {
    groups: 4,
    members: 4,
    days: 7,
    step: 37,
};

fn batch(statements: &[Statement]) -> muster::Batch {
    muster::testing::to_batch(&SPACE, statements)
}

fn direct_state() -> impl Strategy<Value = Direct> {
    prop_oneof![
        3 => Just(Direct::Included),
        1 => Just(Direct::Excluded),
        1 => Just(Direct::None),
    ]
}

fn statement() -> impl Strategy<Value = Statement> {
    let (groups, members, days) = (SPACE.groups, SPACE.members, SPACE.days);
    let listed = proptest::collection::btree_set(0..members, 0..=members);
    prop_oneof![
        4 => (0..groups, 0..days, listed).prop_map(|(group, day, members)| Statement::Snapshot { group, day, members }),
        1 => (0..groups, 0..days).prop_map(|(group, day)| Statement::End { group, day }),
        1 => (0..groups, 0..days).prop_map(|(group, day)| Statement::CarryForward { group, day }),
        3 => (0..groups, 0..members, 0..days, any::<bool>()).prop_map(|(group, member, day, join)| Statement::Fact { group, member, day, join }),
        2 => (0..groups, 0..members, 0..days).prop_map(|(group, member, day)| Statement::Exclude { group, member, day }),
        // Mostly downward (a DAG), sometimes upward (a cycle, to be refused).
        5 => (0..groups, 0..groups, 0..days, direct_state(), 0..6u8)
            .prop_filter("a group is never its own subgroup", |(g, h, ..)| g != h)
            .prop_map(|(g, h, day, state, upward)| {
                let (group, subgroup) = if upward == 0 || g < h { (g, h) } else { (h, g) };
                Statement::Nesting { group, subgroup, day, state }
            }),
    ]
}

#[derive(Clone, Debug)]
enum Operation {
    Import(Vec<Statement>),
    Reimport(usize),
    Reopen,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        6 => proptest::collection::vec(statement(), 1..7).prop_map(Operation::Import),
        1 => any::<usize>().prop_map(Operation::Reimport),
        1 => Just(Operation::Reopen),
    ]
}

/// The ledger against the model now and as of every commit.
fn assert_same(ledger: &Ledger, models: &[Model]) -> Result<(), TestCaseError> {
    let now = models.last().expect("the empty ledger's model is first");
    if let Some(difference) = nesting_difference(ledger, now, None) {
        return Err(TestCaseError::fail(difference));
    }
    for (seq, model) in models.iter().enumerate().skip(1) {
        if let Some(difference) = nesting_difference(ledger, model, Some(seq as u64)) {
            return Err(TestCaseError::fail(difference));
        }
    }
    Ok(())
}

fn run(operations: Vec<Operation>, on_sled: bool) -> Result<(), TestCaseError> {
    run_in(SPACE, operations, on_sled)
}

fn run_in(space: Space, operations: Vec<Operation>, on_sled: bool) -> Result<(), TestCaseError> {
    let batch = |statements: &[Statement]| muster::testing::to_batch(&space, statements);
    let directory = tempfile::tempdir().unwrap();
    let memory = MemoryStore::default();
    let open = || -> Ledger {
        if on_sled {
            Ledger::open(&directory.path().join("ledger"), OpenOptions::default()).unwrap()
        } else {
            Ledger::with_store(Box::new(memory.clone())).unwrap()
        }
    };
    let mut ledger = open();
    // models[n]: the model after commit n (models[0]: the empty ledger).
    let mut models = vec![Model::new(space)];
    let mut history: Vec<Vec<Statement>> = Vec::new();
    for operation in operations {
        let statements = match operation {
            Operation::Reopen => {
                drop(ledger);
                ledger = open();
                assert_same(&ledger, &models)?;
                continue;
            }
            Operation::Import(statements) => statements,
            Operation::Reimport(back) if !history.is_empty() => {
                history[history.len() - 1 - back % history.len()].clone()
            }
            Operation::Reimport(_) => continue,
        };
        let mut model = models.last().unwrap().clone();
        let accepted = model.apply(&statements);
        let before = ledger.head_seq();
        match ledger.import(&batch(&statements), source(), false) {
            Ok(outcome) => {
                prop_assert!(
                    accepted,
                    "the ledger took a batch the model refuses as a cycle"
                );
                if outcome.commit.is_some() {
                    models.push(model);
                } else {
                    // Nothing recorded: the model must not have changed either.
                    let last = models.last().unwrap();
                    if let Some(difference) = nesting_difference(&ledger, &model, None) {
                        return Err(TestCaseError::fail(format!(
                            "nothing recorded, but {difference}"
                        )));
                    }
                    let _ = last;
                }
            }
            Err(error) => {
                prop_assert!(
                    !accepted,
                    "the ledger refused a batch the model takes: {error}"
                );
                prop_assert_eq!(error.kind(), ErrorKind::Input);
                prop_assert!(error.detail().contains("cycle"), "{}", error);
                prop_assert_eq!(ledger.head_seq(), before, "a refused batch wrote a commit");
            }
        }
        prop_assert_eq!(ledger.head_seq() as usize, models.len() - 1);
        assert_same(&ledger, &models)?;
        if accepted {
            let again = ledger.import(&batch(&statements), source(), false).unwrap();
            prop_assert!(again.nothing_to_record(), "re-import appended {:?}", again);
            history.push(statements);
        }
    }
    prop_assert!(
        matches!(ledger.verify().unwrap(), Verdict::Sound { .. }),
        "verify failed"
    );
    ledger.rebuild().unwrap();
    assert_same(&ledger, &models)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Direct and resolved members and groups, subgroups, now and as of every commit,
    /// over random exclusions, observations, subgroup facts (DAGs to depth four, and
    /// cycles to refuse), re-imports and reopens; verify and rebuild agree.
    #[test]
    fn nesting_answers_like_the_naive_model(operations in proptest::collection::vec(operation(), 1..10)) {
        run(operations, false)?;
    }

    /// Order independence keeps holding for the direct state with nesting about: after
    /// the same exclusions and subgroup facts, snapshots of distinct (group, day), one per
    /// commit in any order, give what one batch gives, directly and resolved. (A fact that
    /// changes nothing is not recorded, so explicit facts, of members or subgroups, are
    /// not order-independent; observations are.)
    #[test]
    fn snapshots_in_any_order_resolve_alike(
        first in proptest::collection::vec(statement(), 1..8),
        statements in proptest::collection::vec(statement(), 1..10),
        seed in any::<u64>(),
    ) {
        let first: Vec<Statement> = first
            .into_iter()
            .filter(|s| matches!(s, Statement::Nesting { .. } | Statement::Exclude { .. }))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        let snapshots: Vec<Statement> = statements
            .into_iter()
            .filter(|s| matches!(s, Statement::Snapshot { group, day, .. } if seen.insert((*group, *day))))
            .collect();
        let mut model = Model::new(SPACE);
        prop_assume!(model.apply(&first));
        prop_assert!(model.apply(&snapshots));
        let shuffled = crate::model::shuffled(&snapshots, seed);
        let mut together = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        let mut one_by_one = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
        for ledger in [&mut together, &mut one_by_one] {
            ledger.import(&batch(&first), source(), false).unwrap();
        }
        together.import(&batch(&snapshots), source(), false).unwrap();
        for statement in &shuffled {
            one_by_one.import(&batch(std::slice::from_ref(statement)), source(), false).unwrap();
        }
        for ledger in [&together, &one_by_one] {
            if let Some(difference) = nesting_difference(ledger, &model, None) {
                return Err(TestCaseError::fail(difference));
            }
        }
    }
}

/// Three groups of forty members each staying a short while (one model day is 97
/// calendar days), so that group blocks carry a date index (`docs/format.md`, "The date
/// index") and a one-date read goes through it: g0 includes g1 and, for a while,
/// excludes g2.
const SPARSE: Space = Space {
    groups: 3,
    members: 40,
    days: 32,
    step: 97,
};

/// Short stays, one pattern for nearly every (group, member) (one in thirteen has none):
/// now and then open from a
/// day on; in, then excluded, then out; in and out twice; in for three model days
/// (across a bucket's edge); mostly in and out.
fn short_stays() -> impl Strategy<Value = Vec<Statement>> {
    let patterns = proptest::collection::vec(
        (0..SPARSE.days - 4, 0..13u8),
        SPARSE.groups * SPARSE.members,
    );
    patterns.prop_map(|patterns| {
        let fact = |group, member, day, join| Statement::Fact {
            group,
            member,
            day,
            join,
        };
        let mut statements = Vec::new();
        for (index, (day, pattern)) in patterns.into_iter().enumerate() {
            let (group, member) = (index / SPARSE.members, index % SPARSE.members);
            if pattern == 12 {
                continue;
            }
            statements.push(fact(group, member, day, true));
            match pattern {
                0 => {}
                1 => statements.extend([
                    Statement::Exclude {
                        group,
                        member,
                        day: day + 1,
                    },
                    fact(group, member, day + 2, false),
                ]),
                2 => statements.extend([
                    fact(group, member, day + 1, false),
                    fact(group, member, day + 2, true),
                    fact(group, member, day + 3, false),
                ]),
                3 => statements.push(fact(group, member, day + 3, false)),
                _ => statements.push(fact(group, member, day + 1, false)),
            }
        }
        statements
    })
}

fn sparse_operations() -> impl Strategy<Value = Vec<Operation>> {
    (
        short_stays(),
        0..SPARSE.days,
        any::<u64>(),
        proptest::collection::vec(0..4u8, 8),
    )
        .prop_map(|(stays, excluded_until, seed, cuts)| {
            let mut statements = vec![
                nest(0, 1, 0, Direct::Included),
                nest(0, 2, 1, Direct::Excluded),
                nest(0, 2, excluded_until.max(2), Direct::None),
            ];
            statements.extend(crate::model::shuffled(&stays, seed));
            // Imported in up to eight commits, with a reopen or a re-import between some.
            let mut operations = Vec::new();
            let size = statements.len().div_ceil(cuts.len());
            for (chunk, cut) in statements.chunks(size).zip(cuts) {
                operations.push(Operation::Import(chunk.to_vec()));
                match cut {
                    0 => operations.push(Operation::Reopen),
                    1 => operations.push(Operation::Reimport(0)),
                    _ => {}
                }
            }
            operations
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Groups whose blocks carry a date index answer like the model: a first question
    /// for a date reads only the timelines the index lists; as of an earlier commit, and
    /// on a second question, every timeline.
    #[test]
    fn groups_read_through_their_date_index_answer_like_the_naive_model(operations in sparse_operations()) {
        run_in(SPARSE, operations, false)?;
    }

    /// The same on sled, where a reopen really closes and reopens the files.
    #[test]
    fn nesting_on_sled_answers_like_the_naive_model(operations in proptest::collection::vec(operation(), 1..8)) {
        run(operations, true)?;
    }
}

/// A ledger in memory holding `statements`, imported as one batch each.
fn ledger_with(batches: &[&[Statement]]) -> Ledger {
    let mut ledger = Ledger::with_store(Box::new(MemoryStore::default())).unwrap();
    for statements in batches {
        ledger.import(&batch(statements), source(), false).unwrap();
    }
    ledger
}

fn join(group: usize, member: usize) -> Statement {
    Statement::Fact {
        group,
        member,
        day: 0,
        join: true,
    }
}

fn exclude(group: usize, member: usize) -> Statement {
    Statement::Exclude {
        group,
        member,
        day: 0,
    }
}

fn nest(group: usize, subgroup: usize, day: usize, state: Direct) -> Statement {
    Statement::Nesting {
        group,
        subgroup,
        day,
        state,
    }
}

/// Resolved members of group `g` on day `d`, as member indexes.
fn resolved(ledger: &Ledger, g: usize, d: usize) -> Vec<usize> {
    muster::query::nesting::members_resolved(ledger, &SPACE.group(g), SPACE.day(d), None)
        .unwrap()
        .iter()
        .map(|m| m.as_str()[1..].parse().unwrap())
        .collect()
}

/// m0 is in g1, which g0 includes, and is excluded from g0 itself: out.
#[test]
fn individual_exclusion_beats_group_inclusion() {
    let ledger = ledger_with(&[&[
        join(1, 0),
        join(1, 1),
        nest(0, 1, 0, Direct::Included),
        exclude(0, 0),
    ]]);
    assert_eq!(resolved(&ledger, 0, 0), vec![1]);
    assert_eq!(resolved(&ledger, 1, 0), vec![0, 1]);
}

/// m0 is in g1, which g0 excludes, and joined g0 itself: in.
#[test]
fn individual_inclusion_beats_group_exclusion() {
    let ledger = ledger_with(&[&[
        join(1, 0),
        join(1, 1),
        join(2, 0),
        join(2, 1),
        nest(0, 2, 0, Direct::Included),
        nest(0, 1, 0, Direct::Excluded),
        join(0, 0),
    ]]);
    assert_eq!(resolved(&ledger, 0, 0), vec![0]);
}

/// m0 is in g1 (included in g0) and in g2 (excluded from g0): out; m1, only in g1: in.
#[test]
fn group_exclusion_beats_group_inclusion() {
    let ledger = ledger_with(&[&[
        join(1, 0),
        join(1, 1),
        join(2, 0),
        nest(0, 1, 0, Direct::Included),
        nest(0, 2, 0, Direct::Excluded),
    ]]);
    assert_eq!(resolved(&ledger, 0, 0), vec![1]);
}

/// The Rails model's precedence, in one group: m0 is excluded individually (and joined
/// before: the latest direct fact, the exclusion, holds), m1 joined individually but sits
/// in an excluded subgroup, m2 sits in both an included and an excluded subgroup, m3 only
/// in an included one. Only m1 and m3 are in.
#[test]
fn individual_exclusion_beats_individual_inclusion_beats_group_exclusion_beats_group_inclusion() {
    let later = [
        exclude(0, 0),
        join(0, 1),
        join(1, 0),
        join(1, 2),
        join(1, 3),
        join(2, 0),
        join(2, 1),
        join(2, 2),
        nest(0, 1, 0, Direct::Included),
        nest(0, 2, 0, Direct::Excluded),
    ];
    let ledger = ledger_with(&[&[join(0, 0)], &later]);
    assert_eq!(resolved(&ledger, 0, 0), vec![1, 3]);
    let mut model = Model::new(SPACE);
    assert!(model.apply(&[join(0, 0)]));
    assert!(model.apply(&later));
    assert_eq!(model.resolved(0, 0), [1, 3].into());
}

/// An observation makes a listed, excluded member included again, ends the inclusion of
/// an unlisted one, and leaves an unlisted exclusion and the subgroups alone.
#[test]
fn an_observation_speaks_only_of_direct_individual_inclusion() {
    let ledger = ledger_with(&[
        &[
            exclude(0, 0),
            exclude(0, 1),
            join(0, 2),
            join(1, 3),
            nest(0, 1, 0, Direct::Included),
        ],
        &[Statement::Snapshot {
            group: 0,
            day: 1,
            members: [0].into(),
        }],
    ]);
    assert_eq!(resolved(&ledger, 0, 1), vec![0, 3]);
    let excluded =
        muster::query::nesting::members_resolved(&ledger, &SPACE.group(0), SPACE.day(1), None)
            .unwrap();
    assert!(!excluded.contains(&SPACE.member(1)), "m1 stays excluded");
}

fn refusal(ledger: &mut Ledger, statements: &[Statement]) -> muster::Error {
    let before = ledger.head_seq();
    let error = ledger
        .import(&batch(statements), source(), false)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(ledger.head_seq(), before, "nothing is written");
    error
}

#[test]
fn a_group_containing_itself_directly_is_refused() {
    let mut ledger = ledger_with(&[&[join(0, 0)]]);
    let error = refusal(&mut ledger, &[nest(0, 0, 0, Direct::Included)]);
    assert!(error.detail().contains("g0 > g0"), "{error}");
}

#[test]
fn a_cycle_through_two_groups_is_refused() {
    let mut ledger = ledger_with(&[&[nest(0, 1, 0, Direct::Included)]]);
    let error = refusal(&mut ledger, &[nest(1, 0, 2, Direct::Excluded)]);
    assert!(error.detail().contains("g1 > g0 > g1"), "{error}");
    // In one batch too, and through a third group.
    let mut ledger = ledger_with(&[]);
    let error = refusal(
        &mut ledger,
        &[
            nest(0, 1, 0, Direct::Included),
            nest(1, 2, 0, Direct::Included),
            nest(2, 0, 0, Direct::Included),
        ],
    );
    assert!(error.detail().contains("cycle"), "{error}");
}

/// g0 holds g1 from day 1 until day 4 (its end); g1 may hold g0 from day 4 on, but not
/// from day 3, nor on day 0 for ever.
#[test]
fn a_cycle_only_on_some_dates_is_refused_and_none_is_not() {
    let mut ledger =
        ledger_with(&[&[nest(0, 1, 1, Direct::Included), nest(0, 1, 4, Direct::None)]]);
    let error = refusal(&mut ledger, &[nest(1, 0, 3, Direct::Included)]);
    assert!(error.detail().contains("g1 > g0 > g1"), "{error}");
    refusal(&mut ledger, &[nest(1, 0, 0, Direct::Included)]);
    let outcome = ledger
        .import(&batch(&[nest(1, 0, 4, Direct::Included)]), source(), false)
        .unwrap();
    assert!(outcome.commit.is_some());
    assert_eq!(outcome.subgroup_facts.len(), 1);
    // And now g0 cannot hold g1 again from day 5.
    refusal(&mut ledger, &[nest(0, 1, 5, Direct::Included)]);
}

/// A sandbox holding a small school: football (U14) and chess under a Sports umbrella,
/// which sits under `all`; p2 is excluded from Sports; names for the groups.
fn school() -> crate::support::Sandbox {
    let sandbox = crate::support::Sandbox::new();
    let facts = sandbox.write(
        "facts.csv",
        "date,group,member,change\n\
         2024-01-01,football,p1,join\n\
         2024-01-01,football,p2,join\n\
         2024-01-01,chess,p3,join\n\
         2024-01-01,sports,p2,exclude\n\
         2024-01-01,all,p9,join\n",
    );
    let nesting = sandbox.write(
        "nesting.csv",
        "date,group,subgroup,change\n\
         2024-01-01,sports,football,include\n\
         2024-01-01,sports,chess,include\n\
         2024-01-01,all,sports,include\n\
         2024-03-01,sports,chess,end\n",
    );
    let names = sandbox.write(
        "names.csv",
        "kind,id,name\ngroup,sports,Sports\ngroup,football,Football (U14)\n",
    );
    for (kind, file) in [("facts", &facts), ("nesting", &nesting), ("names", &names)] {
        sandbox
            .muster(&["import", kind, file.to_str().unwrap()])
            .ok();
    }
    sandbox
}

#[test]
fn members_are_resolved_by_default_with_the_path_and_direct_on_request() {
    let sandbox = school();
    let table = sandbox
        .muster(&["members", "all", "--on", "2024-02-01"])
        .ok();
    assert!(
        table.stdout.contains("Sports > Football (U14)"),
        "{}",
        table.stdout
    );
    assert!(
        !table.stdout.contains("p2"),
        "p2 is excluded from Sports: {}",
        table.stdout
    );
    let json = sandbox
        .muster(&["members", "all", "--on", "2024-02-01", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["members"], serde_json::json!(["p1", "p3", "p9"]));
    assert_eq!(json["via"]["p1"], serde_json::json!(["sports", "football"]));
    assert_eq!(json["via"]["p3"], serde_json::json!(["sports", "chess"]));
    assert!(json["via"].get("p9").is_none(), "p9 is in directly");
    assert_eq!(json["group"], "all");
    assert_eq!(json["on"], "2024-02-01");
    let direct = sandbox
        .muster(&[
            "members",
            "all",
            "--on",
            "2024-02-01",
            "--direct",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(direct["members"], serde_json::json!(["p9"]));
    assert!(direct.get("via").is_none());
    // Chess left the umbrella on 2024-03-01: p3 with it.
    let later = sandbox
        .muster(&[
            "members",
            "sports",
            "--on",
            "2024-03-01",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(later["members"], serde_json::json!(["p1"]));
    // As of commit 1 (before any nesting), only the direct members.
    let before = sandbox
        .muster(&[
            "members",
            "all",
            "--on",
            "2024-02-01",
            "--as-of",
            "1",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(before["members"], serde_json::json!(["p9"]));
}

#[test]
fn groups_subgroups_and_resolved_spans() {
    let sandbox = school();
    let groups = sandbox
        .muster(&["groups", "p1", "--on", "2024-02-01", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        groups["groups"],
        serde_json::json!(["all", "football", "sports"])
    );
    let table = sandbox.muster(&["groups", "p1", "--on", "2024-02-01"]).ok();
    assert!(
        table.stdout.contains("nested") && table.stdout.contains("direct"),
        "{}",
        table.stdout
    );
    let direct = sandbox
        .muster(&[
            "groups",
            "p2",
            "--on",
            "2024-02-01",
            "--direct",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(direct["groups"], serde_json::json!(["football"]));
    let subgroups = sandbox
        .muster(&[
            "subgroups",
            "sports",
            "--on",
            "2024-02-01",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        subgroups["included"],
        serde_json::json!(["chess", "football"])
    );
    let spans = sandbox
        .muster(&[
            "export",
            "spans",
            "--resolved",
            "--group",
            "sports",
            "--format",
            "csv",
        ])
        .ok();
    assert_eq!(
        spans.stdout,
        "group,member,starts_on,ends_on\nsports,p1,2024-01-01,\nsports,p3,2024-01-01,2024-02-29\n"
    );
}

#[test]
fn a_cycle_in_a_nesting_file_is_refused_naming_file_line_and_cycle() {
    let sandbox = school();
    let bad = sandbox.write(
        "bad.csv",
        "date,group,subgroup,change\n2024-05-01,chess,football,include\n2024-05-01,football,all,include\n",
    );
    let before = sandbox.muster(&["log", "--format", "json"]).ok().stdout;
    let run = sandbox.muster(&["import", "nesting", bad.to_str().unwrap()]);
    crate::support::assert_code(
        &run,
        2,
        &[
            "bad.csv",
            "line 3",
            "football > all > sports > football",
            "nothing was written",
        ],
    );
    assert_eq!(
        sandbox.muster(&["log", "--format", "json"]).ok().stdout,
        before
    );
    // Itself, on the row's line.
    let itself = sandbox.write(
        "itself.csv",
        "date,group,subgroup,change\n2024-05-01,all,all,include\n",
    );
    let run = sandbox.muster(&["import", "nesting", itself.to_str().unwrap()]);
    crate::support::assert_code(&run, 2, &["itself.csv", "line 2", "all > all"]);
}

#[test]
fn a_nesting_dry_run_reports_the_same_summary_and_writes_nothing() {
    let sandbox = school();
    let more = sandbox.write(
        "more.csv",
        "date,group,subgroup,change\n2024-06-01,all,chess,exclude\n",
    );
    let json = sandbox
        .muster(&[
            "import",
            "nesting",
            more.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        json,
        serde_json::json!({"commit": null, "dry_run": true, "facts": 1, "joins": 0,
            "leaves": 0, "observed_dates": 0})
    );
    let subgroups = sandbox
        .muster(&["subgroups", "all", "--on", "2024-06-01", "--format", "json"])
        .ok()
        .json();
    assert_eq!(subgroups["excluded"], serde_json::json!([]));
}

/// The demo puts activities under an umbrella, excludes a pupil, and the answers show it.
#[test]
fn the_demo_shows_an_umbrella_group_and_an_excluded_pupil() {
    let sandbox = crate::support::Sandbox::new();
    let demo = sandbox.muster(&["demo"]).ok();
    assert!(
        demo.stdout.contains("9. Groups inside groups"),
        "{}",
        demo.stdout
    );
    assert!(
        demo.stdout.contains("is excluded from it"),
        "{}",
        demo.stdout
    );
    assert!(demo.stdout.contains("not clubs."), "{}", demo.stdout);
    assert!(demo.stdout.contains("clubs > "), "{}", demo.stdout);
    assert!(demo.stdout.contains("sound:"), "{}", demo.stdout);
}

#[test]
fn history_changes_and_chart_take_resolved() {
    let sandbox = school();
    let history = sandbox
        .muster(&[
            "history",
            "--group",
            "sports",
            "--resolved",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let rows = history.as_array().expect("an array of spans");
    let members: Vec<&str> = rows.iter().map(|r| r["member"].as_str().unwrap()).collect();
    assert_eq!(members, ["p1", "p3"], "{history}");
    assert_eq!(rows[1]["until"], "2024-03-01", "{history}");
    let direct = sandbox
        .muster(&["history", "--group", "sports", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        direct.as_array().unwrap().len(),
        0,
        "sports has no direct inclusion: {direct}"
    );
    let changes = sandbox
        .muster(&[
            "changes",
            "--from",
            "2024-02-01",
            "--to",
            "2024-12-31",
            "--group",
            "all",
            "--resolved",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let rows = changes.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{changes}");
    assert_eq!(rows[0]["member"], "p3");
    assert_eq!(rows[0]["change"], "leave");
    let chart = sandbox
        .muster(&["chart", "--member", "p1", "--resolved", "-o", "-"])
        .ok();
    for group in ["all", "sports", "football"] {
        assert!(chart.stdout.contains(group), "{group}: {}", chart.stdout);
    }
}

/// The portable log carries exclusions and subgroup facts: a copy made from it answers
/// alike, and `verify` and `rebuild` hold on both.
#[test]
fn the_portable_log_verify_and_rebuild_cover_nesting() {
    let sandbox = school();
    let backup = sandbox.path("backup.jsonl");
    sandbox
        .muster(&["export", "log", "-o", backup.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&backup).unwrap();
    assert!(
        text.contains("\"subgroups\"") && text.contains("\"exclude\""),
        "{text}"
    );
    let copy = sandbox.path("copy.db");
    let on_copy = |args: &[&str]| crate::support::run_in(sandbox.dir.path(), &copy, args);
    on_copy(&["import", "log", backup.to_str().unwrap()]).ok();
    for args in [
        &["members", "all", "--on", "2024-02-01", "--format", "json"][..],
        &[
            "subgroups",
            "sports",
            "--on",
            "2024-02-01",
            "--format",
            "json",
        ],
        &["export", "spans", "--resolved", "--format", "csv"],
    ] {
        let original = sandbox.muster(args).ok().stdout;
        assert_eq!(on_copy(args).ok().stdout, original, "{args:?}");
    }
    for db in [sandbox.db(), copy.clone()] {
        let run = |args: &[&str]| crate::support::run_in(sandbox.dir.path(), &db, args);
        run(&["rebuild"]).ok();
        let verdict = run(&["verify"]).ok();
        assert!(verdict.stdout.contains("sound"), "{}", verdict.stdout);
    }
}
