//! Two processes at once: a second importer waits for the first (`--wait`) and both
//! imports land once; with `--wait 0` it fails at once with exit 5; a query made while
//! imports run takes no lock and sees the ledger as of one whole commit, never half of one
//! (on an empty ledger it waits for the first).
//!
//! The lock is held deterministically by this test process (an open [`Ledger`]) where the
//! order matters, so that nothing depends on timing.

use std::process::{Command, Stdio};

use muster::log::commit::Commit;
use muster::{Ledger, OpenOptions, Verdict};

use crate::support::{observations_csv, run_in, Sandbox};

fn contents(ledger: &Ledger) -> Vec<Commit> {
    ledger
        .commits()
        .map(|item| {
            let (mut commit, _) = item.unwrap();
            commit.recorded_at_ms = 0;
            commit.previous_hash = [0; 32];
            commit
        })
        .collect()
}

fn spawn_import(sandbox: &Sandbox, wait: &str, file: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["--wait", wait, "import", "observations"])
        .arg(file)
        .env_remove("MUSTER_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_importers_at_once_both_land_once() {
    let sandbox = Sandbox::new();
    // Different groups, so that the two imports commute and the result does not depend
    // on which one wins the lock.
    let first = sandbox.write(
        "first.csv",
        &observations_csv("2021-05-03", "first-g", 50, 200, 0),
    );
    let second = sandbox.write(
        "second.csv",
        &observations_csv("2021-05-03", "second-g", 50, 200, 1),
    );
    let one = spawn_import(&sandbox, "60", &first);
    let two = spawn_import(&sandbox, "60", &second);
    for child in [one, two] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let ledger = Ledger::open(&sandbox.db(), OpenOptions::default()).unwrap();
    assert!(matches!(ledger.verify().unwrap(), Verdict::Sound { .. }));
    let mut together = contents(&ledger);
    drop(ledger);

    // Each file alone, cleanly, into its own ledger: the facts must be the same, once.
    let mut alone = Vec::new();
    for (name, file) in [("alone1.db", &first), ("alone2.db", &second)] {
        let db = sandbox.path(name);
        run_in(
            sandbox.dir.path(),
            &db,
            &["import", "observations", file.to_str().unwrap()],
        )
        .ok();
        alone.extend(contents(
            &Ledger::open(&db, OpenOptions::default()).unwrap(),
        ));
    }
    let key = |commit: &Commit| commit.source.files[0].name.clone();
    together.sort_by_key(key);
    alone.sort_by_key(key);
    for commit in together.iter_mut().chain(alone.iter_mut()) {
        commit.seq = 0;
    }
    assert_eq!(together, alone, "an import was lost or duplicated");
}

#[test]
fn with_wait_zero_the_second_fails_at_once_and_with_wait_it_succeeds_after() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("week.csv", &observations_csv("2021-05-03", "g", 3, 4, 0));
    let held = Ledger::open(&sandbox.db(), OpenOptions::default()).unwrap();

    let refused = sandbox.muster(&[
        "--wait",
        "0",
        "import",
        "observations",
        file.to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("in use by another muster process"),
        "{}",
        refused.stderr
    );

    // A waiting importer and a waiting query, both started while the lock is held.
    let importer = spawn_import(&sandbox, "60", &file);
    drop(held);
    let output = importer.wait_with_output().unwrap();
    assert!(output.status.success());
    let ledger = Ledger::open(&sandbox.db(), OpenOptions::default()).unwrap();
    assert_eq!(ledger.head_seq(), 1);
    assert!(matches!(ledger.verify().unwrap(), Verdict::Sound { .. }));
}

#[test]
fn a_query_during_an_import_waits_and_sees_the_state_after_it() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("week.csv", "date,group,member\n2021-05-03,g,alice\n");
    // This process plays the importer: it holds the ledger while the query starts.
    let mut importer = Ledger::open(&sandbox.db(), OpenOptions::default()).unwrap();
    let query = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["--wait", "60", "members", "g", "--on", "2021-05-03"])
        .env_remove("MUSTER_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (batch, source_file) = muster::import::statements::read_observations(&file).unwrap();
    let source = muster::log::source::Source {
        kind: muster::log::source::SourceKind::Observations,
        files: vec![source_file],
        options: Vec::new(),
    };
    importer.import(&batch, source, false).unwrap();
    drop(importer);
    let output = query.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("alice"),
        "the query saw the state before: {stdout}"
    );
}

/// Queries read muster's own files without the lock while another process imports: every
/// answer is the ledger as of some whole commit (each import re-observes the same group
/// and day with other members, so every commit answers differently), and none fails.
#[test]
fn queries_while_imports_run_see_whole_commits() {
    const IMPORTS: usize = 8;
    let sandbox = Sandbox::new();
    let files: Vec<std::path::PathBuf> = (0..IMPORTS)
        .map(|index| {
            let rows: String = (0..40)
                .map(|member| format!("2021-05-03,g,m{}\n", index * 7 + member))
                .collect();
            sandbox.write(
                &format!("take{index}.csv"),
                &format!("date,group,member\n{rows}"),
            )
        })
        .collect();
    sandbox
        .muster(&["import", "observations", files[0].to_str().unwrap()])
        .ok();
    let ask = |extra: &[&str]| {
        let mut args = vec!["members", "g", "--on", "2021-05-03", "--format", "json"];
        args.extend_from_slice(extra);
        let run = sandbox.muster(&args).ok();
        run.json()["members"].clone()
    };
    let writer = {
        let db = sandbox.db();
        let files = files.clone();
        std::thread::spawn(move || {
            for file in &files[1..] {
                let output = Command::new(env!("CARGO_BIN_EXE_muster"))
                    .arg("--db")
                    .arg(&db)
                    .args(["--wait", "60", "import", "observations"])
                    .arg(file)
                    .env_remove("MUSTER_DB")
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        })
    };
    let mut seen = Vec::new();
    while !writer.is_finished() {
        // Between a commit and its derived state a query takes the full path and waits.
        seen.push(ask(&["--wait", "60"]));
    }
    writer.join().unwrap();
    seen.push(ask(&[]));
    let whole: Vec<serde_json::Value> = (1..=IMPORTS)
        .map(|seq| ask(&["--as-of", &seq.to_string()]))
        .collect();
    for answer in &seen {
        assert!(
            whole.contains(answer),
            "not the state of any commit: {answer}"
        );
    }
    assert_eq!(seen.last(), whole.last());
}
