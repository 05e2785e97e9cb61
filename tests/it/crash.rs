//! Crash safety: imports run in a child process (the built binary) and are killed with
//! SIGKILL at random moments. After every kill the ledger must open, `verify` must pass,
//! and each import must be wholly present or wholly absent; re-running the import then
//! completes it with no duplicate facts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use muster::log::commit::Commit;
use muster::{Ledger, OpenOptions, Verdict};

use crate::support::{observations_csv, Rng, Sandbox};

/// How many kills one run makes (the issue asks for at least 200).
const KILLS: usize = 200;
/// Import files per round; after the last one the ledger starts again from nothing.
const FILES: usize = 3;
/// Each file: GROUPS × MEMBERS_PER_GROUP rows (20,000).
const GROUPS: usize = 100;
const MEMBERS_PER_GROUP: usize = 200;
/// Kill delays are drawn from 0..=this, and at least up to one clean import's duration
/// so that kills land before, during and after the commit is written.
const MIN_DELAY_SPAN: Duration = Duration::from_millis(30);
const SEED: u64 = 0x6d75_7374_6572;

fn open(path: &Path) -> Ledger {
    Ledger::open(path, OpenOptions::default()).expect("the ledger opens after a kill")
}

/// The commits of a ledger, as (seq, what they record) without time or hashes, which
/// differ between runs.
fn contents(ledger: &Ledger) -> Vec<Commit> {
    ledger
        .commits()
        .map(|item| {
            let (mut commit, _) = item.expect("every commit decodes");
            commit.recorded_at_ms = 0;
            commit.previous_hash = [0; 32];
            commit
        })
        .collect()
}

fn import_command(db: &Path, file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_muster"));
    command
        .arg("--db")
        .arg(db)
        .args(["import", "observations"])
        .arg(file)
        .env_remove("MUSTER_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn imports_killed_at_random_moments_are_all_or_nothing() {
    let sandbox = Sandbox::new();
    let files: Vec<_> = (0..FILES)
        .map(|index| {
            let date = format!("2021-01-{:02}", 1 + 7 * index);
            sandbox.write(
                &format!("week{index}.csv"),
                &observations_csv(&date, "g", GROUPS, MEMBERS_PER_GROUP, index),
            )
        })
        .collect();

    // What clean imports of the files, in order, record.
    let reference_db = sandbox.path("reference.db");
    let started = Instant::now();
    for file in &files {
        let status = import_command(&reference_db, file).status().unwrap();
        assert!(status.success());
    }
    let clean_import = started.elapsed() / FILES as u32;
    let reference = contents(&open(&reference_db));
    assert_eq!(reference.len(), FILES, "each file is one commit");
    let delay_span = clean_import.max(MIN_DELAY_SPAN).as_micros() as u64;

    let mut rng = Rng::new(SEED);
    let mut round = 0;
    let mut next = 0; // the file the current ledger needs next
    let (mut absent, mut present) = (0, 0);
    for _ in 0..KILLS {
        let db = sandbox.path(&format!("round{round}.db"));
        let mut child = import_command(&db, &files[next]).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(delay_span + 1)));
        child.kill().ok(); // fails only when the child already exited: a kill after completion
        child.wait().unwrap();

        let ledger = open(&db);
        let verdict = ledger.verify().unwrap();
        assert!(
            matches!(verdict, Verdict::Sound { .. }),
            "after a kill: {verdict:?}"
        );
        let now = contents(&ledger);
        assert!(
            now.len() == next || now.len() == next + 1,
            "{} commits after killing import {next}",
            now.len()
        );
        assert_eq!(
            now[..],
            reference[..now.len()],
            "a commit differs from the clean import's"
        );
        if now.len() == next + 1 {
            present += 1;
            next += 1;
        } else {
            absent += 1;
        }
        drop(ledger);
        if next == FILES {
            round += 1;
            next = 0;
        }
    }

    // Re-running the interrupted imports completes them; re-running finished ones adds
    // nothing.
    let db = sandbox.path(&format!("round{round}.db"));
    for file in &files {
        assert!(import_command(&db, file).status().unwrap().success());
    }
    let ledger = open(&db);
    assert!(matches!(ledger.verify().unwrap(), Verdict::Sound { .. }));
    assert_eq!(
        contents(&ledger),
        reference,
        "no duplicate and no lost facts"
    );

    println!(
        "crash test: {KILLS} kills survived ({absent} left the import absent, {present} \
         wholly present; kill delays 0..{delay_span} us, one clean import took {clean_import:?})"
    );
}

/// Regression: sled writes its `conf` in place when it creates a database, and a kill in
/// that moment once left a ledger directory that could never be opened ("the storage
/// engine found damage"; about 1 kill in 300 here). A new ledger is now created aside and
/// renamed into place. Kills land in the first milliseconds of fresh imports, where the
/// creation happens; every ledger that exists afterwards must open and verify, and the
/// staging directories of killed creators are cleaned up by the next creation.
#[test]
fn kills_while_a_ledger_is_created_never_leave_one_that_cannot_open() {
    const CREATION_KILLS: usize = 200;
    let sandbox = Sandbox::new();
    let file = sandbox.write("one.csv", "date,group,member\n2021-01-01,g,a\n");
    let mut rng = Rng::new(SEED ^ 1);
    let mut existing = 0;
    // Kills repeat on one name until a ledger of that name exists, so that its successful
    // creation has killed creators' staging directories to clean up.
    let mut name = 0;
    for _ in 0..CREATION_KILLS {
        let db = sandbox.path(&format!("fresh{name}.db"));
        let mut child = import_command(&db, &file).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        child.kill().ok();
        child.wait().unwrap();
        if db.exists() {
            existing += 1;
            let ledger = open(&db);
            assert!(matches!(ledger.verify().unwrap(), Verdict::Sound { .. }));
            name += 1;
        }
    }
    let last = sandbox.path(&format!("fresh{name}.db"));
    assert!(import_command(&last, &file).status().unwrap().success());
    let strays: Vec<String> = std::fs::read_dir(sandbox.dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|file_name| file_name.contains(".creating-"))
        .collect();
    assert!(strays.is_empty(), "left behind: {strays:?}");
    println!("creation kills: {CREATION_KILLS}, ledgers that existed afterwards: {existing}");
}
