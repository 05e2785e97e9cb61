//! Finding your way, through the binary: `info`, `list groups|members`, suggestions for an
//! unknown id on every command that takes one, `--help`, completions, the manual page and
//! the demo.

use std::path::Path;
use std::process::Command;

use crate::support::{check, two_commits, Case, Sandbox};

/// Three groups, two of them called "Choir (L10)", and four members with names.
fn choirs() -> Sandbox {
    let sandbox = Sandbox::new();
    let observations = sandbox.write(
        "observations.csv",
        "date,group,member\n\
         2015-11-16,34004,1001\n\
         2015-11-16,34004,1002\n\
         2015-11-16,34011,1003\n\
         2015-11-23,34011,\n\
         2015-11-16,chess,1004\n",
    );
    let names = sandbox.write(
        "names.csv",
        "kind,id,name\n\
         group,34004,Choir (L10)\n\
         group,34011,Choir (L10)\n\
         group,chess,Chess Club\n\
         member,1001,Ada Smith\n\
         member,1002,Ben Smithers\n\
         member,1003,Cleo Jones\n",
    );
    sandbox
        .muster(&["import", "observations", observations.to_str().unwrap()])
        .ok();
    sandbox
        .muster(&["import", "names", names.to_str().unwrap()])
        .ok();
    sandbox
}

fn ids(listing: &serde_json::Value, key: &str) -> Vec<String> {
    listing
        .as_array()
        .expect("a list")
        .iter()
        .map(|row| row[key].as_str().expect("an id").to_string())
        .collect()
}

#[test]
fn info_describes_the_ledger() {
    let sandbox = two_commits();
    let info = sandbox.muster(&["info", "--format", "json"]).ok().json();
    assert_eq!(info["commits"], 2);
    assert_eq!(info["groups"], 2);
    assert_eq!(info["members"], 4);
    assert_eq!(info["first_date"], "2015-11-16");
    assert_eq!(info["last_date"], "2015-11-30");
    assert_eq!(info["last_import"]["commit"], 2);
    assert_eq!(info["last_import"]["kind"], "observations");
    assert_eq!(info["last_import"]["files"][0]["name"], "late.csv");
    assert_eq!(
        info["format_versions"]["commit_bodies"],
        serde_json::json!([3])
    );
    assert!(info["disk_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        info["path"].as_str().map(Path::new),
        Some(sandbox.db().as_path())
    );
    check(
        &sandbox,
        Case {
            args: &["info"],
            code: 0,
            stdout_has: &["2015-11-16 to 2015-11-30", "commit 2,", "late.csv", "disk"],
            stderr_has: &[],
        },
    );
    // One record: no CSV.
    check(
        &sandbox,
        Case {
            args: &["info", "--format", "csv"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["invalid value 'csv'"],
        },
    );
}

#[test]
fn info_counts_an_erasure_as_no_import() {
    let sandbox = choirs();
    sandbox.muster(&["forget", "1001"]).ok();
    let info = sandbox.muster(&["info", "--format", "json"]).ok().json();
    // Observations (1), the names (2: names are recorded in the log), the erasure (3).
    assert_eq!(info["commits"], 3);
    assert_eq!(info["last_import"]["commit"], 2);
    assert_eq!(info["last_import"]["kind"], "names");
}

#[test]
fn list_groups_and_members_with_names_by_date_and_fragment() {
    let sandbox = choirs();
    let all = sandbox
        .muster(&["list", "groups", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&all, "group"), ["34004", "34011", "chess"]);
    assert_eq!(all[2]["name"], "Chess Club");
    let choirs = sandbox
        .muster(&["list", "groups", "--name", "CHOIR", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&choirs, "group"), ["34004", "34011"]);
    // 34011 was observed empty on 2015-11-23.
    let on = sandbox
        .muster(&["list", "groups", "--on", "2015-11-23", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&on, "group"), ["34004", "chess"]);
    let by_id = sandbox
        .muster(&["list", "groups", "--name", "ches", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&by_id, "group"), ["chess"]);

    let smiths = sandbox
        .muster(&["list", "members", "--name", "smith", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&smiths, "member"), ["1001", "1002"]);
    let present = sandbox
        .muster(&["list", "members", "--on", "2015-11-23", "--format", "json"])
        .ok()
        .json();
    assert_eq!(ids(&present, "member"), ["1001", "1002", "1004"]);
    assert_eq!(present[2]["name"], serde_json::Value::Null);
    let csv = sandbox
        .muster(&["list", "members", "--name", "jones", "--format", "csv"])
        .ok();
    assert_eq!(csv.stdout, "member,name\n1003,Cleo Jones\n");
    check(
        &sandbox,
        Case {
            args: &["list", "groups"],
            code: 0,
            stdout_has: &["34011  Choir (L10)", "chess  Chess Club"],
            stderr_has: &[],
        },
    );
    // --as-of needs a date to be about.
    check(
        &sandbox,
        Case {
            args: &["list", "groups", "--as-of", "1"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["--on"],
        },
    );
}

/// Every command that takes a group or a member refuses an unknown one (exit 3) and names
/// the near matches, by name and by id.
#[test]
fn an_unknown_id_suggests_near_matches_on_every_command() {
    let sandbox = choirs();
    let by_name = "did you mean 34004 Choir (L10) or 34011 Choir (L10)?";
    let group_commands: &[&[&str]] = &[
        &["members", "Choir (L10)", "--on", "2015-11-16"],
        &["history", "--group", "Choir (L10)"],
        &["history", "--group", "Choir (L10)", "--corrections"],
        &[
            "changes",
            "--from",
            "2015-01-01",
            "--to",
            "2016-01-01",
            "--group",
            "Choir (L10)",
        ],
        &["export", "spans", "--group", "Choir (L10)"],
        &["chart", "--group", "Choir (L10)", "-o", "chart.svg"],
    ];
    for args in group_commands {
        check(
            &sandbox,
            Case {
                args,
                code: 3,
                stdout_has: &[],
                stderr_has: &["no group Choir (L10) in the ledger", by_name],
            },
        );
    }
    let member_commands: &[&[&str]] = &[
        &["groups", "10001", "--on", "2015-11-16"],
        &["history", "--member", "10001"],
        &[
            "changes",
            "--from",
            "2015-01-01",
            "--to",
            "2016-01-01",
            "--member",
            "10001",
        ],
        &["chart", "--member", "10001", "-o", "chart.svg"],
        &["forget", "10001"],
    ];
    for args in member_commands {
        check(
            &sandbox,
            Case {
                args,
                code: 3,
                stdout_has: &[],
                stderr_has: &["no member 10001 in the ledger; did you mean 1001 Ada Smith"],
            },
        );
    }
    // A member's name given for the id.
    check(
        &sandbox,
        Case {
            args: &["groups", "cleo jones", "--on", "2015-11-16"],
            code: 3,
            stdout_has: &[],
            stderr_has: &["did you mean 1003 Cleo Jones?"],
        },
    );
    // Nothing near: the refusal alone.
    let far = check(
        &sandbox,
        Case {
            args: &["members", "zzzzzzzzzz", "--on", "2015-11-16"],
            code: 3,
            stdout_has: &[],
            stderr_has: &["no group zzzzzzzzzz in the ledger"],
        },
    );
    assert!(!far.stderr.contains("did you mean"), "{}", far.stderr);
}

/// The names of a command's subcommands, read from its `--help`.
fn subcommands(sandbox: &Sandbox, path: &[&str]) -> Vec<String> {
    let help = sandbox.muster(&[path, &["--help"][..]].concat()).ok();
    help.stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command and subcommand, as paths: `["import", "sb"]`.
fn every_command(sandbox: &Sandbox) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let as_str: Vec<&str> = path.iter().map(String::as_str).collect();
        for name in subcommands(sandbox, &as_str) {
            let mut child = path.clone();
            child.push(name);
            pending.push(child.clone());
            paths.push(child);
        }
    }
    paths.sort();
    paths
}

#[test]
fn every_command_has_help_with_an_example() {
    let sandbox = Sandbox::new();
    let paths = every_command(&sandbox);
    for expected in [
        &["info"][..],
        &["list", "groups"],
        &["list", "members"],
        &["completions"],
        &["man"],
        &["import", "sb"],
    ] {
        assert!(
            paths.iter().any(|path| path == expected),
            "{expected:?} missing from {paths:?}"
        );
    }
    for path in &paths {
        let as_str: Vec<&str> = path.iter().map(String::as_str).collect();
        // Groups of subcommands (`import`) list theirs; every command that runs shows an
        // example.
        if !subcommands(&sandbox, &as_str).is_empty() {
            continue;
        }
        let help = sandbox
            .muster(&[&as_str[..], &["--help"][..]].concat())
            .ok();
        assert!(
            help.stdout.contains("Example"),
            "{path:?}:\n{}",
            help.stdout
        );
    }
    let sb = sandbox.muster(&["import", "sb", "--help"]).ok();
    assert!(sb.stdout.contains("takes the end"), "{}", sb.stdout);
    let members = sandbox.muster(&["members", "--help"]).ok();
    assert!(
        members.stdout.contains("The date asked about"),
        "{}",
        members.stdout
    );
    let generate = sandbox.muster(&["gen", "sb", "--help"]).ok();
    assert!(
        generate.stdout.contains("the same seed writes"),
        "{}",
        generate.stdout
    );
    // `history` wants one of the two, and says so.
    check(
        &sandbox,
        Case {
            args: &["history"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["--group <GROUP>|--member <MEMBER>"],
        },
    );
}

#[test]
fn completions_and_the_manual_name_every_command() {
    let sandbox = Sandbox::new();
    let paths = every_command(&sandbox);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = sandbox.muster(&["completions", shell]).ok();
        for path in &paths {
            let name = path.last().unwrap();
            assert!(
                script.stdout.contains(name.as_str()),
                "{shell} completions lack {path:?}"
            );
        }
    }
    let man = sandbox.muster(&["man"]).ok();
    assert!(
        man.stdout.starts_with(".ie"),
        "{}",
        &man.stdout[..80.min(man.stdout.len())]
    );
    for path in &paths {
        let page = format!("muster-{}", path.join("-"));
        assert!(man.stdout.contains(&page), "the manual lacks {page}");
    }
    check(
        &sandbox,
        Case {
            args: &["completions", "tcsh"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["invalid value 'tcsh'"],
        },
    );
}

/// The demo without `--db`: works in a temporary directory, removes it, and leaves nothing
/// in the current directory; its story has the late week, as-of, changes, names, the two
/// choirs and correct plurals.
#[test]
fn the_demo_cleans_up_and_tells_the_story() {
    let sandbox = Sandbox::new();
    let temporary = sandbox.path("tmp");
    std::fs::create_dir(&temporary).unwrap();
    let work = sandbox.path("work");
    std::fs::create_dir(&work).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .current_dir(&work)
        .env("TMPDIR", &temporary)
        .env_remove("MUSTER_DB")
        .arg("demo")
        .output()
        .expect("run muster");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for text in [
        "arrives late, after the later weeks: commit 3",
        "every membership span is the same",
        "nothing to record, no commit appended",
        "--as-of 2",
        "muster changes --from",
        "are called \"Choir (L10)\"",
        "did you mean",
        "last day",
        "sound: 5 commits",
        "now removed",
    ] {
        assert!(stdout.contains(text), "the demo lacks {text:?}:\n{stdout}");
    }
    for wrong in [
        "1 joins",
        "1 leaves",
        "1 commits",
        "1 facts",
        "1 members",
        "1 activities",
    ] {
        assert!(
            !stdout.contains(&format!(" {wrong}")),
            "{wrong:?} in:\n{stdout}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&temporary).unwrap().count(),
        0,
        "left behind"
    );
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "left behind");
}

/// With `--db`, the demo's ledger is kept there and answers afterwards; a `--db` that
/// already exists is refused, and left alone.
#[test]
fn the_demo_keeps_its_ledger_where_db_says_and_refuses_an_existing_one() {
    let sandbox = Sandbox::new();
    check(
        &sandbox,
        Case {
            args: &["demo"],
            code: 0,
            stdout_has: &["The ledger stays in"],
            stderr_has: &[],
        },
    );
    let info = sandbox.muster(&["info", "--format", "json"]).ok().json();
    assert_eq!(info["commits"], 5);
    let refused = check(
        &sandbox,
        Case {
            args: &["demo"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["already exists"],
        },
    );
    assert!(refused.stdout.is_empty());
    let again = sandbox.muster(&["info", "--format", "json"]).ok().json();
    assert_eq!(again["commits"], 5);
}
