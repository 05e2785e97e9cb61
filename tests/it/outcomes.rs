//! Outcomes told truthfully, through the binary: a path with no ledger is refused by the
//! commands that need one (exit 7) and nothing is created; an import never writes into a
//! directory that is not a ledger; a dry run or a refused import creates nothing; a
//! commit that landed is reported as recorded even when a later step failed (exit 8); a
//! closed output pipe does not change the status; a damaged anchor is refused with a way
//! out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{run_in, Run, Sandbox, LATE_WEEK, WEEK_ONE};

/// Every file under `path` (relative name → bytes): a directory compared byte for byte.
fn tree(path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).expect("read a directory") {
            let entry = entry.expect("a directory entry");
            let path_of = entry.path();
            if path_of.is_dir() {
                stack.push(path_of);
            } else {
                let relative = path_of.strip_prefix(path).expect("under").to_path_buf();
                files.insert(relative, std::fs::read(&path_of).expect("read a file"));
            }
        }
    }
    files
}

fn assert_code(run: &Run, code: i32, texts: &[&str]) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for text in texts {
        assert!(
            run.stderr.contains(text),
            "stderr lacks {text:?}: {}",
            run.stderr
        );
    }
}

/// Every command that needs a ledger, with the arguments it needs.
const NEEDS_A_LEDGER: &[&[&str]] = &[
    &["log"],
    &["verify"],
    &["rebuild"],
    &["members", "chess", "--on", "2015-11-20"],
    &["members", "chess", "--on", "2015-11-20", "--as-of", "1"],
    &["groups", "1001", "--on", "2015-11-20"],
    &["history", "--group", "chess"],
    &["history", "--group", "chess", "--corrections"],
    &[
        "changes",
        "--from",
        "2015-11-01",
        "--to",
        "2015-11-30",
        "--group",
        "chess",
    ],
    &["export", "spans"],
    &["export", "log"],
    &["forget", "1001"],
    &["chart", "--group", "chess", "-o", "chart.svg"],
];

#[test]
fn a_command_on_a_path_with_no_ledger_is_refused_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let typo = sandbox.path("typo.db");
    for args in NEEDS_A_LEDGER {
        let run = run_in(sandbox.dir.path(), &typo, args);
        assert_code(
            &run,
            7,
            &[&format!(
                "no ledger at {} (imports create one)",
                typo.display()
            )],
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    // An empty directory holds no ledger either, and stays empty.
    std::fs::create_dir(&typo).unwrap();
    for args in NEEDS_A_LEDGER {
        let run = run_in(sandbox.dir.path(), &typo, args);
        assert_code(&run, 7, &["no ledger at"]);
        assert_eq!(std::fs::read_dir(&typo).unwrap().count(), 0, "{args:?}");
    }
    // An import creates one there.
    let week = sandbox.write("week.csv", WEEK_ONE);
    run_in(
        sandbox.dir.path(),
        &typo,
        &["import", "observations", week.to_str().unwrap()],
    )
    .ok();
    run_in(sandbox.dir.path(), &typo, &["verify"]).ok();
}

#[test]
fn an_import_never_writes_into_a_directory_that_is_not_a_ledger() {
    let sandbox = Sandbox::new();
    let export = sandbox.path("export");
    run_in(
        sandbox.dir.path(),
        &sandbox.db(),
        &[
            "gen",
            "sb",
            export.to_str().unwrap(),
            "--seed",
            "3",
            "--pupils",
            "40",
            "--activities",
            "4",
            "--weeks",
            "2",
        ],
    )
    .ok();
    let before = tree(&export);
    let week = sandbox.write("week.csv", WEEK_ONE);
    let export_text = export.to_str().unwrap();
    for args in [
        vec!["import", "observations", week.to_str().unwrap()],
        vec!["import", "sb", export_text],
        vec!["import", "sb", export_text, "--dry-run"],
        vec!["log"],
    ] {
        let run = run_in(sandbox.dir.path(), &export, &args);
        assert_code(
            &run,
            2,
            &["is not a muster ledger: it is a directory of other files"],
        );
        assert_eq!(tree(&export), before, "{args:?} wrote into the export");
    }
}

#[test]
fn a_dry_run_creates_nothing_not_even_the_directory() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("new.db");
    let week = sandbox.write("week.csv", WEEK_ONE);
    let facts = sandbox.write(
        "facts.csv",
        "date,group,member,change\n2015-11-16,chess,1001,join\n",
    );
    let spans = sandbox.write(
        "spans.csv",
        "group,member,starts_on,ends_on\nchess,1001,2015-11-16,\n",
    );
    let export = sandbox.path("export");
    run_in(
        sandbox.dir.path(),
        &db,
        &[
            "gen",
            "sb",
            export.to_str().unwrap(),
            "--seed",
            "3",
            "--pupils",
            "40",
            "--activities",
            "4",
            "--weeks",
            "2",
        ],
    )
    .ok();
    for (args, says) in [
        (
            vec![
                "import",
                "observations",
                week.to_str().unwrap(),
                "--dry-run",
            ],
            "would record 5 facts",
        ),
        (
            vec!["import", "facts", facts.to_str().unwrap(), "--dry-run"],
            "would record 1 facts",
        ),
        (
            vec!["import", "spans", spans.to_str().unwrap(), "--dry-run"],
            "would record 1 facts",
        ),
        (
            vec!["import", "sb", export.to_str().unwrap(), "--dry-run"],
            "dry run",
        ),
    ] {
        let run = run_in(sandbox.dir.path(), &db, &args).ok();
        assert!(run.stdout.contains(says), "{args:?}: {}", run.stdout);
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
}

#[test]
fn a_refused_import_creates_nothing() {
    let sandbox = crate::support::two_commits();
    // A portable log that starts at commit 2: a gap for a new ledger, found only once the
    // ledger is open.
    let tail = sandbox.path("tail.jsonl");
    sandbox
        .muster(&[
            "export",
            "log",
            "--since",
            "1",
            "-o",
            tail.to_str().unwrap(),
        ])
        .ok();
    let fresh = sandbox.path("fresh.db");
    let run = run_in(
        sandbox.dir.path(),
        &fresh,
        &["import", "log", tail.to_str().unwrap()],
    );
    assert_code(&run, 2, &["would leave a gap"]);
    assert!(!fresh.exists(), "a refused import log created the ledger");
    // Bad input, refused before the ledger is opened, creates nothing either.
    let bad = sandbox.write("bad.csv", "date,group,member\n2015-13-01,chess,1001\n");
    let run = run_in(
        sandbox.dir.path(),
        &fresh,
        &["import", "observations", bad.to_str().unwrap()],
    );
    assert_code(&run, 2, &["line 2"]);
    assert!(!fresh.exists());
    // The late week and the whole log still import into a new ledger.
    let late = sandbox.write("late.csv", LATE_WEEK);
    run_in(
        sandbox.dir.path(),
        &fresh,
        &["import", "observations", late.to_str().unwrap()],
    )
    .ok();
}
