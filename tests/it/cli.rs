//! The command line, run as a user would: the built binary in a temporary directory.

use std::process::Stdio;

use muster::{Ledger, OpenOptions};

use crate::support::{check, two_commits, Case, Sandbox, LATE_WEEK, WEEK_ONE};

fn commits(sandbox: &Sandbox) -> usize {
    let log = sandbox.muster(&["log", "--format", "json"]).ok().json();
    log.as_array().expect("log is a list").len()
}

#[test]
fn import_reimport_and_query_with_json_shapes() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("weeks.csv", WEEK_ONE);
    let file = file.to_str().unwrap();
    let first = sandbox
        .muster(&["import", "observations", file, "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        first,
        serde_json::json!({"commit": 1, "facts": 5, "joins": 4, "leaves": 1, "observed_dates": 3, "dry_run": false})
    );
    let again = sandbox
        .muster(&["import", "observations", file, "--format", "json"])
        .ok()
        .json();
    assert_eq!(again["commit"], serde_json::Value::Null);
    assert_eq!(again["facts"], 0);
    check(
        &sandbox,
        Case {
            args: &["import", "observations", file],
            code: 0,
            stdout_has: &["nothing to record"],
            stderr_has: &[],
        },
    );
    assert_eq!(commits(&sandbox), 1);

    let members = sandbox
        .muster(&["members", "34340", "--on", "2015-11-20", "--format", "json"])
        .ok()
        .json();
    assert_eq!(members["group"], "34340");
    assert_eq!(members["on"], "2015-11-20");
    assert_eq!(members["members"], serde_json::json!(["1001", "1002"]));
    let groups = sandbox
        .muster(&["groups", "1001", "--on", "2015-11-16", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        groups,
        serde_json::json!({"member": "1001", "on": "2015-11-16", "groups": ["34340", "chess"], "names": {}})
    );
    let history = sandbox
        .muster(&["history", "--member", "1002", "--format", "json"])
        .ok()
        .json();
    assert_eq!(history[0]["group"], "34340");
    assert_eq!(history[0]["from"], "2015-11-16");
    assert_eq!(history[0]["until"], "2015-11-30");
    let log = sandbox.muster(&["log", "--format", "json"]).ok().json();
    assert_eq!(log[0]["seq"], 1);
    assert_eq!(log[0]["facts"], 5);
    assert_eq!(log[0]["source"]["files"][0]["name"], "weeks.csv");
    assert_eq!(log[0]["hash"].as_str().unwrap().len(), 64);
}

#[test]
fn a_late_week_gives_the_answers_an_on_time_week_would() {
    let late = Sandbox::new();
    let on_time = Sandbox::new();
    let weeks = late.write("weeks.csv", WEEK_ONE);
    let week = late.write("late.csv", LATE_WEEK);
    let all = on_time.write(
        "all.csv",
        &format!(
            "{WEEK_ONE}{}",
            LATE_WEEK.trim_start_matches("date,group,member\n")
        ),
    );
    late.muster(&["import", "observations", weeks.to_str().unwrap()])
        .ok();
    late.muster(&["import", "observations", week.to_str().unwrap()])
        .ok();
    on_time
        .muster(&["import", "observations", all.to_str().unwrap()])
        .ok();
    for day in [
        "2015-11-16",
        "2015-11-22",
        "2015-11-23",
        "2015-11-29",
        "2015-11-30",
        "2016-01-01",
    ] {
        let a = late
            .muster(&["members", "34340", "--on", day, "--format", "json"])
            .ok()
            .json();
        let b = on_time
            .muster(&["members", "34340", "--on", day, "--format", "json"])
            .ok()
            .json();
        assert_eq!(a, b, "on {day}");
    }
    // What the ledger believed before the late week arrived.
    let before = late
        .muster(&[
            "members",
            "34340",
            "--on",
            "2015-11-23",
            "--as-of",
            "1",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(before["members"], serde_json::json!(["1001", "1002"]));
    check(
        &late,
        Case {
            args: &["verify"],
            code: 0,
            stdout_has: &["sound: 2 commits"],
            stderr_has: &[],
        },
    );
}

#[test]
fn dry_run_shows_the_facts_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("weeks.csv", WEEK_ONE);
    check(
        &sandbox,
        Case {
            args: &[
                "import",
                "observations",
                file.to_str().unwrap(),
                "--dry-run",
            ],
            code: 0,
            stdout_has: &[
                "2015-11-16  34340  + 1001",
                // The leave is dated 2015-11-30, the first day out: people read the last.
                "2015-11-29  34340  - 1002 (last day)",
                "nothing written",
            ],
            stderr_has: &[],
        },
    );
    // Nothing written: not even the ledger directory.
    assert!(!sandbox.db().exists());
}

#[test]
fn explicit_facts_that_change_nothing_are_not_recorded() {
    let sandbox = Sandbox::new();
    let facts = sandbox.write("facts.csv", "date,group,member,change\n2020-01-01,g,m,join\n2020-02-01,g,m,join\n2020-03-01,g,m,leave\n");
    let outcome = sandbox
        .muster(&[
            "import",
            "facts",
            facts.to_str().unwrap(),
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(outcome["facts"], 2, "the second join changes nothing");
    let history = sandbox
        .muster(&["history", "--group", "g", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        history,
        serde_json::json!([{"group": "g", "member": "m", "from": "2020-01-01", "until": "2020-03-01", "opened_by": 1, "closed_by": 1}])
    );
}

#[test]
fn bad_input_names_file_line_and_column_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "observations",
            "no-member.csv",
            "date,group\n2020-01-01,g\n",
            &["no-member.csv", "no column named \"member\""],
        ),
        (
            "observations",
            "bad-date.csv",
            "date,group,member\n2020-01-01,g,a\n2020-02-31,g,b\n",
            &["line 3, column 1 (date) of", "bad-date.csv", "no such day"],
        ),
        (
            "observations",
            "year-zero.csv",
            "date,group,member\n0000-01-01,g,a\n",
            &["line 2, column 1 (date)", "outside"],
        ),
        (
            "observations",
            "long-year.csv",
            "date,group,member\n99999-01-01,g,a\n",
            &["line 2, column 1 (date)", "YYYY-MM-DD"],
        ),
        (
            "observations",
            "blank-group.csv",
            "date,group,member\n2020-01-01,,a\n",
            &["line 2, column 2 (group)", "blank"],
        ),
        (
            "observations",
            "control.csv",
            "date,group,member\n2020-01-01,g,a\u{7}b\n",
            &["line 2, column 3 (member)", "control character"],
        ),
        (
            "observations",
            "header-only.csv",
            "date,group,member\n",
            &["header-only.csv", "no rows"],
        ),
        ("observations", "empty.csv", "", &["empty.csv", "empty"]),
        (
            "facts",
            "bad-change.csv",
            "date,group,member,change\n2020-01-01,g,a,arrive\n",
            &["line 2, column 4 (change)", "join, leave or exclude"],
        ),
        (
            "observations",
            "missing.csv",
            "",
            &["missing.csv", "no such file"],
        ),
    ];
    for (kind, name, content, expected) in cases {
        let path = if *name == "missing.csv" {
            sandbox.path(name)
        } else {
            sandbox.write(name, content)
        };
        check(
            &sandbox,
            Case {
                args: &["import", kind, path.to_str().unwrap()],
                code: 2,
                stdout_has: &[],
                stderr_has: expected,
            },
        );
    }
    let directory = sandbox.path("");
    check(
        &sandbox,
        Case {
            args: &["import", "observations", directory.to_str().unwrap()],
            code: 2,
            stdout_has: &[],
            stderr_has: &["is a directory"],
        },
    );
    assert!(
        !sandbox.db().exists(),
        "bad input must not even create the ledger"
    );
}

#[test]
fn unknown_group_or_member_is_an_error_not_an_empty_answer() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("weeks.csv", WEEK_ONE);
    sandbox
        .muster(&["import", "observations", file.to_str().unwrap()])
        .ok();
    check(
        &sandbox,
        Case {
            args: &["members", "nope", "--on", "2015-11-16"],
            code: 3,
            stdout_has: &[],
            stderr_has: &["no group nope"],
        },
    );
    check(
        &sandbox,
        Case {
            args: &["groups", "nobody", "--on", "2015-11-16"],
            code: 3,
            stdout_has: &[],
            stderr_has: &["no member nobody"],
        },
    );
    check(
        &sandbox,
        Case {
            args: &["members", "34340", "--on", "16/11/2015"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["YYYY-MM-DD"],
        },
    );
}

#[test]
fn a_second_process_gets_a_clear_error_not_a_hang() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("weeks.csv", WEEK_ONE);
    sandbox
        .muster(&["import", "observations", file.to_str().unwrap()])
        .ok();
    let held = Ledger::open(&sandbox.db(), OpenOptions::default()).unwrap();
    check(
        &sandbox,
        Case {
            args: &[
                "--wait",
                "0",
                "import",
                "observations",
                file.to_str().unwrap(),
            ],
            code: 5,
            stdout_has: &[],
            stderr_has: &["in use by another muster process"],
        },
    );
    // A query reads muster's own files, which need no lock: it answers meanwhile.
    check(
        &sandbox,
        Case {
            args: &["--wait", "0", "members", "34340", "--on", "2015-11-16"],
            code: 0,
            stdout_has: &["1001"],
            stderr_has: &[],
        },
    );
    drop(held);
    check(
        &sandbox,
        Case {
            args: &["members", "34340", "--on", "2015-11-16"],
            code: 0,
            stdout_has: &["1001"],
            stderr_has: &[],
        },
    );
}

#[test]
fn rebuild_restores_the_same_answers_and_verify_stays_sound() {
    let sandbox = two_commits();
    let before = sandbox
        .muster(&["history", "--group", "34340", "--format", "json"])
        .ok()
        .json();
    check(
        &sandbox,
        Case {
            args: &["rebuild"],
            code: 0,
            stdout_has: &["2 commits"],
            stderr_has: &[],
        },
    );
    let after = sandbox
        .muster(&["history", "--group", "34340", "--format", "json"])
        .ok()
        .json();
    assert_eq!(before, after);
    check(
        &sandbox,
        Case {
            args: &["verify", "--format", "json"],
            code: 0,
            stdout_has: &["\"sound\":true"],
            stderr_has: &[],
        },
    );
}

/// The README's first set-up command: the demo runs, re-imports without appending, and
/// verifies.
#[test]
fn the_demo_runs_end_to_end() {
    let sandbox = Sandbox::new();
    check(
        &sandbox,
        Case {
            args: &["demo"],
            code: 0,
            stdout_has: &["commit 1", "nothing to record, no commit appended", "sound"],
            stderr_has: &[],
        },
    );
}

/// Every answer that is a list of rows names its columns the same in CSV and JSON (a table
/// and CSV may add a name beside an id, which JSON has never had).
#[test]
fn csv_and_json_name_the_same_columns() {
    let sandbox = two_commits();
    let asked: &[&[&str]] = &[
        &["history", "--group", "34340"],
        &["history", "--group", "34340", "--corrections"],
        &["changes", "--from", "2015-01-01", "--to", "2016-01-01"],
        &["export", "spans"],
    ];
    for args in asked {
        let csv = sandbox
            .muster(&[args, &["--format", "csv"][..]].concat())
            .ok();
        let header: Vec<&str> = csv.stdout.lines().next().unwrap().split(',').collect();
        let json = sandbox
            .muster(&[args, &["--format", "json"][..]].concat())
            .ok();
        let json = json.json();
        let first = json[0].as_object().expect("a list of objects");
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        let mut columns: Vec<&str> = header
            .into_iter()
            .filter(|column| *column != "name" || first.contains_key("name"))
            .collect();
        keys.sort_unstable();
        columns.sort_unstable();
        assert_eq!(columns, keys, "{args:?}");
    }
    let history = sandbox
        .muster(&["history", "--group", "34340", "--format", "csv"])
        .ok();
    assert!(history
        .stdout
        .starts_with("group,member,name,from,until,opened_by,closed_by\n"));
}

/// How a run whose stdout went somewhere other than the test ended.
struct Ended {
    code: i32,
    stderr: String,
}

/// Runs `muster --db <sandbox ledger> ARGS` with stdout a pipe whose read end is closed
/// before muster writes (as `| head -1` leaves it once head has its line).
fn into_closed_pipe(sandbox: &Sandbox, args: &[&str]) -> Ended {
    let mut child = crate::support::muster_command(sandbox.dir.path(), sandbox.db(), args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run muster");
    // The only read end: muster's writes now fail with a broken pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for muster");
    Ended {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A generated SB export in the sandbox (`sb/`), big enough that every answer below is
/// longer than a pipe's buffer, so no answer fits before the pipe is found closed.
fn big_export(sandbox: &Sandbox) -> String {
    let dir = sandbox.path("sb");
    let dir = dir.to_str().unwrap().to_string();
    sandbox
        .muster(&[
            "gen",
            "sb",
            &dir,
            "--seed",
            "1",
            "--pupils",
            "1200",
            "--activities",
            "150",
            "--weeks",
            "8",
        ])
        .ok();
    dir
}

#[test]
fn a_closed_pipe_ends_a_command_quietly_with_the_status_it_would_have_had() {
    let sandbox = Sandbox::new();
    let export = big_export(&sandbox);
    // An import whose report finds the pipe closed has still committed: it succeeds.
    let import = into_closed_pipe(&sandbox, &["import", "sb", &export, "--format", "csv"]);
    assert_eq!(import.code, 0, "{}", import.stderr);
    assert_eq!(import.stderr, "", "quietly");
    assert_eq!(commits(&sandbox), 1, "the import's commit is durable");
    let asked: &[&[&str]] = &[
        &["export", "spans"],
        &["export", "spans", "--format", "json"],
        &["export", "log"],
        &[
            "changes",
            "--from",
            "2015-01-01",
            "--to",
            "2016-12-31",
            "--format",
            "csv",
        ],
        &["log"],
        &["import", "sb", &export, "--format", "json"],
        &["verify"],
    ];
    for args in asked {
        let ended = into_closed_pipe(&sandbox, args);
        assert!(
            !ended.stderr.contains("panicked"),
            "{args:?}: {}",
            ended.stderr
        );
        assert_eq!(ended.code, 0, "{args:?}: {}", ended.stderr);
        assert_eq!(ended.stderr, "", "{args:?}: quietly");
    }
}

/// Output that cannot be written for any other reason than a closed pipe (here, a full
/// device) is an I/O error with a message, not a panic.
#[cfg(target_os = "linux")]
#[test]
fn output_to_a_full_device_is_an_error_with_a_message() {
    let sandbox = Sandbox::new();
    let export = big_export(&sandbox);
    sandbox.muster(&["import", "sb", &export]).ok();
    for args in [&["export", "spans"][..], &["export", "log"], &["verify"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let output = crate::support::muster_command(sandbox.dir.path(), sandbox.db(), args)
            .stdout(full)
            .output()
            .expect("run muster");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(6), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("muster: writing output: ") && stderr.contains("space"),
            "{args:?}: {stderr}"
        );
    }
}

/// An import whose report cannot be written (a full device) after its commit landed says
/// the commit is recorded and exits 8, never 6 as if nothing had been recorded.
#[cfg(target_os = "linux")]
#[test]
fn an_import_whose_report_cannot_be_written_is_still_reported_recorded() {
    let sandbox = Sandbox::new();
    let week = sandbox.write("week.csv", crate::support::WEEK_ONE);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let week = week.to_str().expect("a UTF-8 path");
    let output = crate::support::muster_command(
        sandbox.dir.path(),
        sandbox.db(),
        &["import", "observations", week],
    )
    .stdout(full)
    .output()
    .expect("run muster");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("writing output: ") && stderr.contains("commit 1 is recorded"),
        "{stderr}"
    );
    // The commit stands: importing the same file again records nothing.
    let again = sandbox.muster(&["import", "observations", week]).ok();
    assert!(
        again.stdout.contains("nothing to record"),
        "{}",
        again.stdout
    );
}
