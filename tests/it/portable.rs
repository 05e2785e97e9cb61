//! The portable log: a copy plus a catch-up equals a full copy; re-importing appends
//! nothing; forks, gaps and tampered lines are refused with the line named and nothing
//! written.

use std::path::Path;

use muster::log::commit::{COMMIT_VERSION_1, COMMIT_VERSION_2, COMMIT_VERSION_3};
use muster::log::source::{Source, SourceKind};
use muster::storage::memory::MemoryStore;
use muster::{ErrorKind, Ledger, Verdict};
use proptest::prelude::*;

use crate::model::{day, group, member, statement, to_batch, Statement, DAYS, GROUPS, MEMBERS};
use muster::query::membership;

fn source() -> Source {
    Source {
        kind: SourceKind::Facts,
        files: vec![],
        options: Vec::new(),
    }
}

fn fresh() -> Ledger {
    Ledger::with_store(Box::new(MemoryStore::default())).unwrap()
}

fn import(ledger: &mut Ledger, statements: &[Statement]) {
    ledger
        .import(&to_batch(statements), source(), false)
        .unwrap();
}

fn export(ledger: &Ledger, since: Option<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    ledger.export_log(since, &mut bytes).unwrap();
    bytes
}

fn replay(
    ledger: &mut Ledger,
    bytes: &[u8],
) -> muster::Result<muster::ledger::replay::ReplayOutcome> {
    ledger.import_log(&mut &bytes[..], Path::new("backup.jsonl"))
}

/// Every answer the ledger gives over the small id and date spaces, as text.
fn answers(ledger: &Ledger) -> Vec<String> {
    let mut out = Vec::new();
    for g in 0..GROUPS {
        out.push(format!(
            "{:?}",
            membership::group_history(ledger, &group(g), None)
        ));
        for d in 0..DAYS {
            out.push(format!(
                "{:?}",
                membership::members(ledger, &group(g), day(d), None)
            ));
        }
    }
    for m in 0..MEMBERS {
        out.push(format!(
            "{:?}",
            membership::member_history(ledger, &member(m), None)
        ));
        for d in 0..DAYS {
            out.push(format!(
                "{:?}",
                membership::groups(ledger, &member(m), day(d), None)
            ));
        }
    }
    out
}

fn batches() -> impl Strategy<Value = Vec<Vec<Statement>>> {
    proptest::collection::vec(proptest::collection::vec(statement(), 1..5), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_copy_plus_a_catch_up_equals_a_full_copy(batches in batches(), split in 0usize..8) {
        let split = split.min(batches.len());
        let mut original = fresh();
        for statements in &batches[..split] {
            import(&mut original, statements);
        }
        let mut copy = fresh();
        replay(&mut copy, &export(&original, None)).unwrap();
        for statements in &batches[split..] {
            import(&mut original, statements);
        }
        let catch_up = export(&original, Some(copy.head_seq()));
        let outcome = replay(&mut copy, &catch_up).unwrap();
        prop_assert_eq!(outcome.skipped, 0);

        prop_assert_eq!(copy.log().unwrap(), original.log().unwrap());
        prop_assert_eq!(export(&copy, None), export(&original, None));
        prop_assert_eq!(answers(&copy), answers(&original));
        let sound = matches!(copy.verify().unwrap(), Verdict::Sound { .. });
        prop_assert!(sound);

        // Replaying the same export, or the whole log, appends nothing.
        let head = copy.head_seq();
        prop_assert!(replay(&mut copy, &catch_up).unwrap().appended.is_empty());
        let again = replay(&mut copy, &export(&original, None)).unwrap();
        prop_assert!(again.appended.is_empty());
        prop_assert_eq!(again.skipped as u64, head);
        prop_assert_eq!(copy.head_seq(), head);
    }
}

fn two_commits() -> Ledger {
    let mut ledger = fresh();
    import(
        &mut ledger,
        &[Statement::Fact {
            group: 0,
            member: 0,
            day: 1,
            join: true,
        }],
    );
    import(
        &mut ledger,
        &[Statement::Fact {
            group: 1,
            member: 1,
            day: 2,
            join: true,
        }],
    );
    ledger
}

/// Asserts the replay is refused as bad input naming `line`, and that nothing was written.
fn assert_refused(ledger: &mut Ledger, bytes: &[u8], line: u64, words: &str) {
    let before = export(ledger, None);
    let error = replay(ledger, bytes).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert_eq!(error.place().and_then(|p| p.line), Some(line), "{error}");
    assert!(error.to_string().contains(words), "{error}");
    assert_eq!(export(ledger, None), before, "something was written");
}

#[test]
fn a_gap_is_refused_naming_the_line() {
    let original = two_commits();
    let mut copy = fresh();
    assert_refused(&mut copy, &export(&original, Some(1)), 1, "gap");
}

#[test]
fn a_fork_is_refused_naming_the_line() {
    let original = two_commits();
    let mut other = fresh();
    import(
        &mut other,
        &[Statement::Fact {
            group: 0,
            member: 2,
            day: 1,
            join: true,
        }],
    );
    // Same number, different commit.
    assert_refused(&mut other, &export(&original, None), 1, "forked");
    // A next commit whose previous hash is not our head.
    assert_refused(&mut other, &export(&original, Some(1)), 1, "forked");
}

#[test]
fn a_tampered_line_is_refused_and_nothing_is_written() {
    let original = two_commits();
    let text = String::from_utf8(export(&original, None)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Change a fact's date on line 2: the line still parses but its hash no longer fits.
    let tampered = format!(
        "{}\n{}\n",
        lines[0],
        lines[1].replace(&day(2).to_string(), &day(3).to_string())
    );
    assert_ne!(tampered, text);
    let mut copy = fresh();
    assert_refused(&mut copy, tampered.as_bytes(), 2, "hash does not match");
    assert_eq!(
        copy.head_seq(),
        0,
        "line 1 was valid but must not be written alone"
    );

    let garbage = format!("{}\nnot json\n", lines[0]);
    assert_refused(&mut copy, garbage.as_bytes(), 2, "not a portable commit");
}

fn join(group: usize, member: usize, day: usize) -> Statement {
    Statement::Fact {
        group,
        member,
        day,
        join: true,
    }
}

/// A ledger from before commit body versions 2 and 3 that was then upgraded: commit 1 is
/// stored as version 1 and commit 2 as version 2 (made as older musters made them),
/// commit 3 is imported as today.
fn mixed_versions() -> Ledger {
    let mut older = fresh();
    import(&mut older, &[join(0, 0, 1), join(1, 0, 1)]);
    import(&mut older, &[join(0, 1, 2)]);
    let (mut first, _) = older.commit_at(1).unwrap();
    first.format_version = COMMIT_VERSION_1;
    let (mut second, _) = older.commit_at(2).unwrap();
    second.format_version = COMMIT_VERSION_2;
    second.previous_hash = first.hash().unwrap();
    let mut ledger = fresh();
    ledger.append_replayed(&first, &[]).unwrap();
    ledger.append_replayed(&second, &[]).unwrap();
    import(&mut ledger, &[join(1, 1, 3), join(1, 2, 3)]);
    ledger
}

/// Each commit with its hash, as stored.
fn stored(ledger: &Ledger) -> Vec<(muster::log::commit::Commit, muster::log::hash::Hash)> {
    (1..=ledger.head_seq())
        .map(|seq| ledger.commit_at(seq).unwrap())
        .collect()
}

#[test]
fn a_log_of_version_1_2_and_3_commits_round_trips_with_every_hash() {
    let original = mixed_versions();
    let commits = stored(&original);
    let versions: Vec<u16> = commits.iter().map(|(c, _)| c.format_version).collect();
    assert_eq!(
        versions,
        [COMMIT_VERSION_1, COMMIT_VERSION_2, COMMIT_VERSION_3]
    );
    let exported = export(&original, None);
    let text = String::from_utf8(exported.clone()).unwrap();
    for (line, version) in text.lines().zip(&versions) {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["portable_version"], 2);
        assert_eq!(line["format_version"], *version);
    }

    let mut copy = fresh();
    assert_eq!(replay(&mut copy, &exported).unwrap().appended, [1, 2, 3]);
    // Same commits, versions and hashes, so the chain and every later commit still fit.
    assert_eq!(stored(&copy), commits);
    assert_eq!(copy.head_hash(), original.head_hash());
    assert_eq!(export(&copy, None), exported);
    assert_eq!(answers(&copy), answers(&original));
    assert!(matches!(
        copy.verify().unwrap(),
        Verdict::Sound { commits: 3, .. }
    ));
}

/// The version-1 spelling of a line: `portable_version` 1 and no `format_version`.
fn as_portable_version_1(line: &str, format_version: u16) -> String {
    let prefix = format!("{{\"portable_version\":2,\"format_version\":{format_version},");
    assert!(line.starts_with(&prefix), "{line}");
    line.replacen(&prefix, "{\"portable_version\":1,", 1)
}

#[test]
fn a_portable_version_1_line_holds_a_version_1_commit() {
    let original = mixed_versions();
    let text = String::from_utf8(export(&original, None)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let old_first = as_portable_version_1(lines[0], COMMIT_VERSION_1);

    let mut copy = fresh();
    replay(&mut copy, format!("{old_first}\n{}\n", lines[1]).as_bytes()).unwrap();
    assert_eq!(stored(&copy), stored(&original)[..2]);

    // A version-2 commit read as version 1 has another hash than the line claims.
    let old_second = as_portable_version_1(lines[1], COMMIT_VERSION_2);
    let mut copy = fresh();
    let file = format!("{old_first}\n{old_second}\n");
    assert_refused(&mut copy, file.as_bytes(), 2, "hash does not match");
}

#[test]
fn a_line_with_a_missing_or_unknown_version_is_refused() {
    let original = mixed_versions();
    let text = String::from_utf8(export(&original, None)).unwrap();
    let first = text.lines().next().unwrap();
    let v2 = "{\"portable_version\":2,\"format_version\":1,";
    let cases = [
        ("{\"portable_version\":2,", "must name its format_version"),
        (
            "{\"portable_version\":1,\"format_version\":1,",
            "has no format_version",
        ),
        (
            "{\"portable_version\":2,\"format_version\":4,",
            "commit body version 4",
        ),
        (
            "{\"portable_version\":3,\"format_version\":1,",
            "portable format version 3",
        ),
    ];
    for (prefix, words) in cases {
        let line = first.replacen(v2, prefix, 1);
        assert_ne!(line, first);
        assert_refused(&mut fresh(), format!("{line}\n").as_bytes(), 1, words);
    }
}

#[test]
fn the_cli_exports_and_imports() {
    let sandbox = crate::support::Sandbox::new();
    let facts = sandbox.write(
        "facts.csv",
        "date,group,member,change\n2021-03-01,g,a,join\n2021-03-05,g,a,leave\n",
    );
    sandbox
        .muster(&["import", "facts", facts.to_str().unwrap()])
        .ok();
    let backup = sandbox.path("backup.jsonl");
    sandbox
        .muster(&["export", "log", "-o", backup.to_str().unwrap()])
        .ok();
    let stdout = sandbox.muster(&["export", "log"]).ok().stdout;
    assert_eq!(stdout, std::fs::read_to_string(&backup).unwrap());
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["seq"], 1);
    assert!(line["recorded_at"].as_str().unwrap().ends_with('Z'));

    let copy = sandbox.path("copy.db");
    let run = |args: &[&str]| crate::support::run_in(sandbox.dir.path(), &copy, args);
    let first = run(&["import", "log", backup.to_str().unwrap()]).ok();
    assert!(first.stdout.contains("1 appended"), "{}", first.stdout);
    let second = run(&[
        "import",
        "log",
        "--format",
        "json",
        backup.to_str().unwrap(),
    ])
    .ok()
    .json();
    // `--format` is the answer's format, as for every import (the file is JSON lines).
    assert_eq!(
        second,
        serde_json::json!({"read": 1, "already_present": 1, "appended": [], "restored_names": 0})
    );
    run(&["verify"]).ok();
    assert_eq!(run(&["export", "log"]).ok().stdout, stdout);

    // A gap exits 2 and names the file and line.
    let fresh_db = sandbox.path("fresh.db");
    let gap = sandbox.write("gap.jsonl", stdout.lines().next().unwrap());
    let gap_text = std::fs::read_to_string(&gap)
        .unwrap()
        .replace("\"seq\":1", "\"seq\":2");
    std::fs::write(&gap, gap_text).unwrap();
    let refused = crate::support::run_in(
        sandbox.dir.path(),
        &fresh_db,
        &["import", "log", gap.to_str().unwrap()],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("line 1 of"), "{}", refused.stderr);
}
