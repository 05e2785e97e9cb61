//! Outcomes told truthfully, through the binary: a path with no ledger is refused by the
//! commands that need one (exit 7) and nothing is created; an import never writes into a
//! directory that is not a ledger; a dry run or a refused import creates nothing; a
//! commit that landed is reported as recorded even when a later step failed (exit 8); a
//! closed output pipe does not change the status; a damaged anchor is refused with a way
//! out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use muster::log::source::{Source, SourceKind};
use muster::storage::memory::MemoryStore;
use muster::storage::store::{FileWriter, KeyValue, ReadAt, SideFile, Space, Store};
use muster::{Ledger, Verdict};

use crate::support::{assert_code, run_in, Sandbox, LATE_WEEK, WEEK_ONE};

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

/// Writes a small SB export (40 pupils, 4 activities, 2 weeks) to `export`, without
/// touching any ledger.
fn small_export(sandbox: &Sandbox, export: &std::path::Path) {
    let export = export.to_str().expect("a UTF-8 path");
    let args = [
        "gen",
        "sb",
        export,
        "--seed",
        "3",
        "--pupils",
        "40",
        "--activities",
        "4",
        "--weeks",
        "2",
    ];
    // `gen` never opens the ledger `--db` names.
    run_in(sandbox.dir.path(), &sandbox.db(), &args).ok();
}

#[test]
fn an_import_never_writes_into_a_directory_that_is_not_a_ledger() {
    let sandbox = Sandbox::new();
    let export = sandbox.path("export");
    small_export(&sandbox, &export);
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
    small_export(&sandbox, &export);
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

/// A [`MemoryStore`] whose derived-state writes fail while `fail_derived` is set: a step
/// after the commit that cannot be done (as on a full disk).
#[derive(Clone, Default)]
struct DerivedFails {
    inner: MemoryStore,
    fail_derived: Arc<AtomicBool>,
}

impl Store for DerivedFails {
    fn get(&self, space: Space, key: &[u8]) -> muster::Result<Option<Vec<u8>>> {
        self.inner.get(space, key)
    }
    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> muster::Result<()> {
        self.inner.put(space, key, value)
    }
    fn remove(&self, space: Space, key: &[u8]) -> muster::Result<()> {
        self.inner.remove(space, key)
    }
    fn last(&self, space: Space) -> muster::Result<Option<KeyValue>> {
        self.inner.last(space)
    }
    fn scan_from<'a>(
        &'a self,
        space: Space,
        from: &[u8],
    ) -> Box<dyn Iterator<Item = muster::Result<KeyValue>> + 'a> {
        self.inner.scan_from(space, from)
    }
    fn clear(&self, space: Space) -> muster::Result<()> {
        self.inner.clear(space)
    }
    fn flush(&self) -> muster::Result<()> {
        self.inner.flush()
    }
    fn append_log(&self, key: &[u8], commit: &[u8], head: &[u8]) -> muster::Result<()> {
        self.inner.append_log(key, commit, head)
    }
    fn read_anchor(&self) -> muster::Result<Option<Vec<u8>>> {
        self.inner.read_anchor()
    }
    fn write_anchor(&self, bytes: &[u8]) -> muster::Result<()> {
        self.inner.write_anchor(bytes)
    }
    fn open_file(&self, file: SideFile) -> muster::Result<Option<Box<dyn ReadAt>>> {
        self.inner.open_file(file)
    }
    fn replace_file(
        &self,
        file: SideFile,
        durable: bool,
        write: &mut dyn FnMut(&mut dyn FileWriter) -> muster::Result<()>,
    ) -> muster::Result<()> {
        if file == SideFile::Derived && self.fail_derived.load(Ordering::SeqCst) {
            return Err(muster::Error::new(
                muster::ErrorKind::Io,
                "muster.derived.new: No space left on device (injected)",
            ));
        }
        self.inner.replace_file(file, durable, write)
    }
    fn remove_file(&self, file: SideFile) -> muster::Result<()> {
        self.inner.remove_file(file)
    }
}

fn batch(csv: &str, sandbox: &Sandbox, name: &str) -> (muster::Batch, Source) {
    let path = sandbox.write(name, csv);
    let (batch, file) = muster::import::statements::read_observations(&path).unwrap();
    let source = Source {
        kind: SourceKind::Observations,
        files: vec![file],
        options: Vec::new(),
    };
    (batch, source)
}

#[test]
fn a_commit_whose_derived_state_cannot_be_written_is_recorded_and_unfinished() {
    let sandbox = Sandbox::new();
    let store = DerivedFails::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    let (week, week_source) = batch(WEEK_ONE, &sandbox, "week.csv");
    let first = ledger.import(&week, week_source, false).unwrap();
    assert_eq!((first.commit, first.unfinished), (Some(1), None));

    store.fail_derived.store(true, Ordering::SeqCst);
    let (late, late_source) = batch(LATE_WEEK, &sandbox, "late.csv");
    let outcome = ledger.import(&late, late_source.clone(), false).unwrap();
    assert_eq!(outcome.commit, Some(2), "the commit is recorded");
    let unfinished = outcome.unfinished.expect("reported as unfinished");
    assert_eq!(unfinished.commit, 2);
    assert!(
        unfinished.steps[0].starts_with("writing the derived state: ")
            && unfinished.steps[0].contains("No space left on device"),
        "{unfinished}"
    );
    assert!(unfinished
        .to_string()
        .contains("the next command that opens"));
    // Nothing more is appended through this ledger: its states no longer follow the log.
    let refused = ledger.import(
        &week,
        Source {
            kind: SourceKind::Facts,
            ..late_source.clone()
        },
        false,
    );
    assert!(refused.is_err());
    drop(ledger);

    // The next open finishes it: the derived state is caught up, the import is not
    // repeated, and the answers are those of both commits.
    store.fail_derived.store(false, Ordering::SeqCst);
    let mut reopened = Ledger::with_store(Box::new(store.clone())).unwrap();
    assert!(matches!(
        reopened.verify().unwrap(),
        Verdict::Sound { commits: 2, .. }
    ));
    let again = reopened.import(&late, late_source, false).unwrap();
    assert!(again.nothing_to_record(), "{again:?}");
    let group = muster::GroupId::new("34340").unwrap();
    let on = muster::Date::parse("2015-11-23").unwrap();
    let members = muster::query::membership::members(&reopened, &group, on, None).unwrap();
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    assert_eq!(members, ["1001", "1004"]);
}

#[test]
fn through_the_binary_a_recorded_but_unfinished_import_exits_8_and_the_next_open_finishes_it() {
    let sandbox = Sandbox::new();
    let week = sandbox.write("week.csv", WEEK_ONE);
    let late = sandbox.write("late.csv", LATE_WEEK);
    sandbox
        .muster(&["import", "observations", week.to_str().unwrap()])
        .ok();
    // A directory where the next derived-state file would be written: a failure after
    // the commit, as a full disk gives.
    let blocker = sandbox.db().join("muster.derived.new");
    std::fs::create_dir(&blocker).unwrap();
    let run = sandbox.muster(&["import", "observations", late.to_str().unwrap()]);
    assert_code(
        &run,
        8,
        &[
            "commit 2 is recorded, but not finished: writing the derived state",
            "the next command that opens the ledger finishes it",
        ],
    );
    assert!(run.stdout.contains("commit 2: recorded"), "{}", run.stdout);
    std::fs::remove_dir(&blocker).unwrap();
    let verdict = sandbox.muster(&["verify"]).ok();
    assert!(
        verdict.stdout.contains("sound: 2 commits"),
        "{}",
        verdict.stdout
    );
    let again = sandbox
        .muster(&["import", "observations", late.to_str().unwrap()])
        .ok();
    assert!(
        again.stdout.contains("nothing to record"),
        "{}",
        again.stdout
    );

    // The same for the head anchor.
    let blocker = sandbox.db().join("muster.head.new");
    std::fs::create_dir(&blocker).unwrap();
    let third = sandbox.write("third.csv", "date,group,member\n2015-12-07,chess,1002\n");
    let run = sandbox.muster(&["import", "observations", third.to_str().unwrap()]);
    assert_code(
        &run,
        8,
        &["commit 3 is recorded, but not finished: writing the head anchor"],
    );
    std::fs::remove_dir(&blocker).unwrap();
    let verdict = sandbox.muster(&["verify"]).ok();
    assert!(
        verdict.stdout.contains("sound: 3 commits"),
        "{}",
        verdict.stdout
    );
    // The anchor names commit 3 again, so a query reads muster's own files (a log that
    // later lost commit 3 would be caught).
    let members = sandbox
        .muster(&["members", "chess", "--on", "2015-12-07"])
        .ok();
    assert!(members.stdout.contains("1002"), "{}", members.stdout);
}

#[test]
fn a_closed_output_pipe_after_the_commit_keeps_the_true_status() {
    let sandbox = Sandbox::new();
    let export = sandbox.path("export");
    sandbox
        .muster(&[
            "gen",
            "sb",
            export.to_str().unwrap(),
            "--seed",
            "5",
            "--pupils",
            "120",
            "--activities",
            "12",
            "--weeks",
            "3",
        ])
        .ok();
    // The reader takes nothing and goes away before muster writes its report (a pipe
    // closed at once); the import is recorded all the same and the status says so.
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["import", "sb", export.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let log = sandbox.muster(&["log", "--format", "json"]).ok().json();
    assert_eq!(log.as_array().unwrap().len(), 1, "the import was recorded");

    // Unfinished and piped: still exit 8, the message on stderr.
    let blocker = sandbox.db().join("muster.derived.new");
    std::fs::create_dir(&blocker).unwrap();
    let facts = sandbox.write(
        "facts.csv",
        "date,group,member,change\n2030-01-06,late-group,late-member,join\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["import", "facts", facts.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(8), "stderr: {stderr}");
    assert!(
        stderr.contains("commit 2 is recorded, but not finished"),
        "{stderr}"
    );
}

#[test]
fn a_damaged_anchor_is_refused_with_a_way_out_and_reanchor_repairs_it() {
    let sandbox = crate::support::two_commits();
    let log_before = sandbox.muster(&["export", "log"]).ok().stdout;
    let anchor = sandbox.db().join("muster.head");
    let mut bytes = std::fs::read(&anchor).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&anchor, &bytes).unwrap();

    // Commands that would trust the anchor refuse, and say what the user can do.
    for args in [
        vec!["members", "34340", "--on", "2015-11-20"],
        vec!["rebuild"],
        vec!["history", "--group", "34340"],
        vec![
            "import",
            "observations",
            sandbox.path("late.csv").to_str().unwrap(),
        ],
    ] {
        let run = sandbox.muster(&args);
        assert_code(
            &run,
            4,
            &[
                "the head anchor is damaged",
                "muster verify",
                "muster reanchor",
            ],
        );
    }
    // The log can still be checked and copied.
    let run = sandbox.muster(&["verify"]);
    assert_code(&run, 4, &[]);
    assert!(
        run.stdout
            .contains("the log itself is sound through commit 2")
            && run.stdout.contains("muster reanchor"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.muster(&["export", "log"]).ok().stdout, log_before);
    sandbox.muster(&["log"]).ok();
    assert_eq!(
        std::fs::read(&anchor).unwrap(),
        bytes,
        "nothing rewrote the anchor"
    );

    // `reanchor` checks the log and writes the anchor again; everything works after.
    let run = sandbox.muster(&["reanchor"]).ok();
    assert!(
        run.stdout.contains("wrote the head anchor: commit 2"),
        "{}",
        run.stdout
    );
    sandbox.muster(&["verify"]).ok();
    sandbox
        .muster(&["members", "34340", "--on", "2015-11-20"])
        .ok();
    let run = sandbox.muster(&["reanchor"]).ok();
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
}

#[test]
fn reanchor_refuses_a_damaged_log() {
    let sandbox = crate::support::two_commits();
    // An anchor that reads but names a commit the log does not hold is evidence of lost
    // commits: reanchor does not paper over it.
    let anchor = sandbox.db().join("muster.head");
    let other = crate::support::two_commits();
    let third = other.write("third.csv", "date,group,member\n2015-12-07,chess,1002\n");
    other
        .muster(&["import", "observations", third.to_str().unwrap()])
        .ok();
    std::fs::copy(other.db().join("muster.head"), &anchor).unwrap();
    let run = sandbox.muster(&["reanchor"]);
    assert_code(
        &run,
        4,
        &["the log ends at commit 2, but commit 3 was written"],
    );
}
