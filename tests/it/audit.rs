//! Audit commands (as-of, changes, corrections, spans, names, forget, chart), run as a
//! user would, on small hand-made files and on the congress data kept in `tests/data/congress`.

use std::path::PathBuf;

use serde_json::json;

use crate::support::{check, two_commits, Case, Sandbox};

/// Owned arguments, exit code, and texts stdout and stderr must hold.
type Expectation = (Vec<String>, i32, Vec<String>, Vec<String>);

fn ok(args: &[&str], stdout_has: &[&str]) -> Expectation {
    cases(args, 0, stdout_has, &[])
}

fn cases(args: &[&str], code: i32, stdout_has: &[&str], stderr_has: &[&str]) -> Expectation {
    let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    (owned(args), code, owned(stdout_has), owned(stderr_has))
}

/// Runs every case in order; `{dir}` in an argument is replaced by the sandbox directory.
fn check_all(sandbox: &Sandbox, table: &[Expectation]) {
    let dir = sandbox.dir.path().display().to_string();
    for (args, code, stdout_has, stderr_has) in table {
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stdout_has: Vec<&str> = stdout_has.iter().map(String::as_str).collect();
        let stderr_has: Vec<&str> = stderr_has.iter().map(String::as_str).collect();
        check(
            sandbox,
            Case {
                args: &args,
                code: *code,
                stdout_has: &stdout_has,
                stderr_has: &stderr_has,
            },
        );
    }
}

fn json_of(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    sandbox.muster(args).ok().json()
}

fn member_list(sandbox: &Sandbox, group: &str, on: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["members", group, "--on", on, "--format", "json"];
    args.extend_from_slice(extra);
    let value = json_of(sandbox, &args);
    value["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members is a list: {value}"))
        .iter()
        .map(|m| m.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn as_of_takes_a_commit_or_a_utc_time_on_every_query() {
    let sandbox = two_commits();
    let log = json_of(&sandbox, &["log", "--format", "json"]);
    let second_at = log[1]["recorded_at"].as_str().unwrap().to_string();
    let first_at = log[0]["recorded_at"].as_str().unwrap().to_string();
    // A time before the first commit: the ledger knew nothing yet, which an empty answer
    // would misreport as "nobody"; commit 0 asks for exactly that empty state.
    let before = "2000-01-01T00:00:00Z";
    for args in [
        &["members", "34340", "--on", "2015-11-23", "--as-of", before][..],
        &[
            "history", "--group", "34340", "--as-of", before, "--format", "json",
        ],
    ] {
        check(
            &sandbox,
            Case {
                args,
                code: 2,
                stdout_has: &[],
                stderr_has: &[
                    "--as-of 2000-01-01T00:00:00Z: no commit was recorded by then",
                    &format!("the first was recorded at {}", first_at),
                ],
            },
        );
    }
    assert!(member_list(&sandbox, "34340", "2015-11-23", &["--as-of", "0"]).is_empty());
    // At the first commit's own instant: that commit counts (recorded_at <= T).
    assert_eq!(
        member_list(&sandbox, "34340", "2015-11-23", &["--as-of", &first_at]),
        ["1001", "1002"]
    );
    assert_eq!(
        member_list(&sandbox, "34340", "2015-11-23", &["--as-of", &second_at]),
        ["1001", "1004"]
    );
    assert_eq!(
        member_list(
            &sandbox,
            "34340",
            "2015-11-23",
            &["--as-of", "2999-01-01T00:00:00Z"]
        ),
        ["1001", "1004"]
    );
    let history = json_of(
        &sandbox,
        &[
            "history", "--group", "34340", "--as-of", "0", "--format", "json",
        ],
    );
    assert_eq!(history, json!([]));
    let groups = json_of(
        &sandbox,
        &[
            "groups",
            "1004",
            "--on",
            "2015-11-23",
            "--as-of",
            "1",
            "--format",
            "json",
        ],
    );
    assert_eq!(groups["groups"], json!([]));
    let export = json_of(
        &sandbox,
        &["export", "spans", "--as-of", "1", "--format", "json"],
    );
    // 34340: members 1001, 1002 and 1003; chess: member 1001.
    assert_eq!(export.as_array().unwrap().len(), 4, "{export}");
    check_all(
        &sandbox,
        &[
            cases(
                &["members", "34340", "--on", "2015-11-23", "--as-of", "3"],
                2,
                &[],
                &["no such commit", "ends at 2"],
            ),
            cases(
                &[
                    "members",
                    "34340",
                    "--on",
                    "2015-11-23",
                    "--as-of",
                    "yesterday",
                ],
                2,
                &[],
                &["2015-11-14T09:00:00Z"],
            ),
            ok(
                &[
                    "changes",
                    "--from",
                    "2015-01-01",
                    "--to",
                    "2015-12-31",
                    "--as-of",
                    "1",
                ],
                &["1002"],
            ),
        ],
    );
}

#[test]
fn changes_are_effective_transitions_with_their_commit() {
    let sandbox = two_commits();
    let facts = sandbox.write(
        "facts.csv",
        "date,group,member,change\n2015-11-16,chess,1001,join\n2015-12-01,chess,1001,leave\n",
    );
    sandbox
        .muster(&["import", "facts", facts.to_str().unwrap()])
        .ok();
    let all = json_of(
        &sandbox,
        &[
            "changes",
            "--from",
            "2015-11-17",
            "--to",
            "2015-12-01",
            "--format",
            "json",
        ],
    );
    let rows: Vec<(String, String, String, String, u64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap().to_string(),
                r["group"].as_str().unwrap().to_string(),
                r["member"].as_str().unwrap().to_string(),
                r["change"].as_str().unwrap().to_string(),
                r["commit"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |d: &str, g: &str, m: &str, c: &str, n: u64| {
        (
            d.to_string(),
            g.to_string(),
            m.to_string(),
            c.to_string(),
            n,
        )
    };
    assert_eq!(
        rows,
        vec![
            row("2015-11-23", "34340", "1002", "leave", 2),
            row("2015-11-23", "34340", "1004", "join", 2),
            row("2015-11-30", "34340", "1003", "join", 1),
            row("2015-11-30", "34340", "1004", "leave", 2),
            row("2015-12-01", "chess", "1001", "leave", 3),
        ]
    );
    // 1001 is observed again on 11-23 and 11-30: facts that change nothing are not changes.
    check_all(
        &sandbox,
        &[
            ok(
                &[
                    "changes",
                    "--from",
                    "2015-11-01",
                    "--to",
                    "2015-12-31",
                    "--member",
                    "1001",
                ],
                // People read a leave's last day; the fact is dated the first day out (2015-12-01).
                &[
                    "join    2015-11-16              34340",
                    "leave               2015-11-30  chess",
                ],
            ),
            ok(
                &[
                    "changes",
                    "--from",
                    "2015-11-24",
                    "--to",
                    "2015-11-29",
                    "--group",
                    "34340",
                    "--format",
                    "csv",
                ],
                &["date,change,group,group_name,member,name,commit\n"],
            ),
            cases(
                &[
                    "changes",
                    "--from",
                    "2015-11-01",
                    "--to",
                    "2015-12-31",
                    "--group",
                    "nope",
                ],
                3,
                &[],
                &["no group nope"],
            ),
            cases(
                &["changes", "--from", "2015-13-01", "--to", "2015-12-31"],
                2,
                &[],
                &["2015-13-01"],
            ),
            cases(
                &["changes", "--from", "2015-12-31", "--to", "2015-12-01"],
                2,
                &[],
                &["before --from"],
            ),
        ],
    );
}

#[test]
fn corrections_list_what_late_data_revised() {
    let sandbox = two_commits();
    let rows = json_of(
        &sandbox,
        &[
            "history",
            "--group",
            "34340",
            "--corrections",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        rows,
        json!([
            {"group": "34340", "member": "1002", "name": null, "from": "2015-11-23",
             "until": "2015-11-30", "was_member": true, "believed_by": 1, "as_of": 1,
             "now_member": false, "corrected_by": 2},
            {"group": "34340", "member": "1004", "name": null, "from": "2015-11-23",
             "until": "2015-11-30", "was_member": false, "believed_by": null, "as_of": 1,
             "now_member": true, "corrected_by": 2},
        ])
    );
    // As of commit 1 nothing had been revised yet.
    let earlier = json_of(
        &sandbox,
        &[
            "history",
            "--group",
            "34340",
            "--corrections",
            "--as-of",
            "1",
            "--format",
            "json",
        ],
    );
    assert_eq!(earlier, json!([]));
    // A week observed later in time (news, not a correction) lists nothing new.
    let news = sandbox.write("news.csv", "date,group,member\n2015-12-07,34340,1001\n");
    sandbox
        .muster(&["import", "observations", news.to_str().unwrap()])
        .ok();
    let after = json_of(
        &sandbox,
        &[
            "history",
            "--member",
            "1003",
            "--corrections",
            "--format",
            "json",
        ],
    );
    assert_eq!(after, json!([]));
    check_all(
        &sandbox,
        &[ok(
            &["history", "--group", "34340", "--corrections"],
            &["was_member", "not a member", "corrected_by"],
        )],
    );
}

#[test]
fn spans_merge_import_once_and_export_with_an_inclusive_last_day() {
    let sandbox = Sandbox::new();
    let spans = sandbox.write(
        "spans.csv",
        "group,member,starts_on,ends_on\n\
         club,ann,2020-01-01,2020-01-31\n\
         club,ann,2020-02-01,2020-03-31\n\
         club,ann,2020-03-15,2020-04-30\n\
         club,bob,2020-01-10,\n\
         club,ann,2021-01-01,2021-01-01\n",
    );
    let spans = spans.to_str().unwrap();
    let first = json_of(&sandbox, &["import", "spans", spans, "--format", "json"]);
    assert_eq!(first["facts"], 5, "{first}");
    let export = sandbox.muster(&["export", "spans", "--format", "csv"]).ok();
    assert_eq!(
        export.stdout,
        "group,member,starts_on,ends_on\n\
         club,ann,2020-01-01,2020-04-30\n\
         club,ann,2021-01-01,2021-01-01\n\
         club,bob,2020-01-10,\n"
    );
    // The export loads back as it is: into a fresh ledger it gives the same export.
    let copy = Sandbox::new();
    let exported = copy.write("exported.csv", &export.stdout);
    copy.muster(&["import", "spans", exported.to_str().unwrap()])
        .ok();
    assert_eq!(
        copy.muster(&["export", "spans", "--format", "csv"])
            .ok()
            .stdout,
        export.stdout
    );
    // A longer term restated later closes the gap the earlier end left.
    let longer = sandbox.write(
        "longer.csv",
        "group,member,starts_on,ends_on\nclub,ann,2020-01-01,2021-06-30\n",
    );
    check_all(
        &sandbox,
        &[
            ok(&["import", "spans", spans], &["nothing to record"]),
            ok(
                &["import", "spans", longer.to_str().unwrap()],
                &["commit 2"],
            ),
            ok(
                &["export", "spans", "--group", "club"],
                &["club   ann     2020-01-01  2021-06-30"],
            ),
            cases(
                &["export", "spans", "--group", "nope"],
                3,
                &[],
                &["no group nope"],
            ),
        ],
    );
    assert_eq!(
        member_list(&sandbox, "club", "2020-07-01", &[]),
        ["ann", "bob"]
    );
    assert_eq!(member_list(&sandbox, "club", "2021-07-01", &[]), ["bob"]);
}

#[test]
fn bad_spans_name_file_line_and_column_and_write_nothing() {
    let sandbox = Sandbox::new();
    let backwards = sandbox.write(
        "backwards.csv",
        "group,member,starts_on,ends_on\nclub,ann,2020-01-01,2020-03-31\nclub,bob,2020-05-01,2020-04-30\n",
    );
    let bad_date = sandbox.write(
        "bad.csv",
        "member,group,ends_on,starts_on\nann,club,,2020-02-30\n",
    );
    let missing = sandbox.write(
        "missing.csv",
        "group,member,starts_on\nclub,ann,2020-01-01\n",
    );
    check_all(
        &sandbox,
        &[
            cases(
                &["import", "spans", backwards.to_str().unwrap()],
                2,
                &[],
                &[
                    "line 3, column 4 (ends_on)",
                    "backwards.csv",
                    "before starts_on",
                ],
            ),
            cases(
                &["import", "spans", bad_date.to_str().unwrap()],
                2,
                &[],
                &["line 2, column 4 (starts_on)", "bad.csv"],
            ),
            cases(
                &["import", "spans", missing.to_str().unwrap()],
                2,
                &[],
                &["ends_on"],
            ),
        ],
    );
    // Nothing written: not even the ledger directory.
    assert!(!sandbox.db().exists());
}

#[test]
fn forget_erases_the_name_keeps_the_facts_and_is_logged_once() {
    let sandbox = two_commits();
    let names = sandbox.write(
        "names.csv",
        "kind,id,name\nmember,1002,Ada Lovelace\nmember,1004,=HYPERLINK(\"x\")\ngroup,34340,Chess club\n",
    );
    let names = names.to_str().unwrap();
    check_all(
        &sandbox,
        &[
            ok(&["import", "names", names], &["stored 3"]),
            ok(
                &["members", "34340", "--on", "2015-11-16"],
                &["1002    Ada Lovelace"],
            ),
            // Names that a spreadsheet would run are neutralised in CSV; ids never are.
            ok(
                &[
                    "changes",
                    "--from",
                    "2015-11-23",
                    "--to",
                    "2015-11-23",
                    "--format",
                    "csv",
                ],
                &[
                    "2015-11-23,leave,34340,Chess club,1002,Ada Lovelace,2\n",
                    "2015-11-23,join,34340,Chess club,1004,\"'=HYPERLINK(\"\"x\"\")\",2\n",
                ],
            ),
            ok(
                &["forget", "1002"],
                // Commit 3 recorded the names.
                &["commit 4", "erased the name of member 1002"],
            ),
            ok(
                &["forget", "1002"],
                &["nothing to erase", "no commit appended"],
            ),
            ok(
                &["import", "names", names],
                &["skipped 1 of forgotten members"],
            ),
            ok(&["verify"], &["sound: 4 commits"]),
            ok(&["log"], &["names", "forget", "erased 1002"]),
            cases(&["forget", "9999"], 3, &[], &["no member 9999"]),
        ],
    );
    let members = json_of(
        &sandbox,
        &["members", "34340", "--on", "2015-11-16", "--format", "json"],
    );
    assert_eq!(members["members"], json!(["1001", "1002"]));
    assert_eq!(members["names"], json!({}));
    let history = sandbox.muster(&["history", "--member", "1002"]).ok();
    assert!(!history.stdout.contains("Ada"), "{}", history.stdout);
    assert!(history.stdout.contains("1002"), "{}", history.stdout);
}

#[test]
fn chart_writes_an_svg_with_a_bar_per_span_and_labels() {
    let sandbox = two_commits();
    let names = sandbox.write("names.csv", "member,name\n1001,Ann <Smith> & Co\n");
    sandbox
        .muster(&["import", "names", names.to_str().unwrap()])
        .ok();
    let svg_path = sandbox.path("chart.svg");
    check_all(
        &sandbox,
        &[
            ok(
                &[
                    "chart",
                    "--group",
                    "34340",
                    "-o",
                    svg_path.to_str().unwrap(),
                ],
                &["wrote 4 rows"],
            ),
            cases(
                &["chart", "--group", "nope", "-o", svg_path.to_str().unwrap()],
                3,
                &[],
                &["no group nope"],
            ),
        ],
    );
    let svg = std::fs::read_to_string(&svg_path).expect("the chart was written");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    // One bar per span: 1001, 1002, 1003 (open), 1004.
    assert_eq!(svg.matches("class=\"bar ").count(), 4, "{svg}");
    assert!(svg.contains("Ann &lt;Smith&gt; &amp; Co (1001)"), "{svg}");
    // The axis names both ends of the range.
    assert!(
        svg.contains(">2015-11-16<") && svg.contains(">2015-11-30<"),
        "{svg}"
    );
    // Every opened element is closed or self-closing: a cheap well-formedness check.
    let tags = svg.matches('<').count() - svg.matches("</").count();
    let closed = svg.matches("</").count() + svg.matches("/>").count();
    assert_eq!(tags, closed, "{svg}");
}

/// The congress data kept in the repository (`tests/data/congress`, public domain, CC0).
fn congress() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/congress")
}

fn congress_ledger() -> Sandbox {
    let sandbox = Sandbox::new();
    let data = congress();
    let spans = data.join("spans.csv");
    let names = data.join("names.csv");
    sandbox
        .muster(&["import", "spans", spans.to_str().unwrap()])
        .ok();
    sandbox
        .muster(&["import", "names", names.to_str().unwrap()])
        .ok();
    sandbox
}

#[test]
fn congress_spans_give_the_well_known_counts_and_party_histories() {
    let sandbox = congress_ledger();
    let count = |group: &str, on: &str| member_list(&sandbox, group, on, &[]).len();
    // Inauguration day 2021: a 50-50 Senate, two independents caucusing with Democrats.
    assert_eq!(count("senate", "2021-01-20"), 100);
    assert_eq!(count("senate:Republican", "2021-01-20"), 50);
    assert_eq!(count("senate:Democrat", "2021-01-20"), 48);
    assert_eq!(count("senate:Independent", "2021-01-20"), 2);
    // A full House: 435 seats and 6 delegates.
    assert_eq!(count("house", "2023-06-01"), 441);
    // Kyrsten Sinema left the Democratic Party on 9 December 2022.
    let spans = congress().join("spans.csv");
    check_all(
        &sandbox,
        &[
            ok(
                &["groups", "S001191", "--on", "2022-12-08"],
                &["senate:Democrat"],
            ),
            ok(
                &["groups", "S001191", "--on", "2022-12-09"],
                &["senate:Independent"],
            ),
            ok(
                &[
                    "changes",
                    "--from",
                    "2022-12-09",
                    "--to",
                    "2022-12-09",
                    "--member",
                    "S001191",
                ],
                &[
                    "join    2022-12-09              senate:Independent  ",
                    "leave               2022-12-08  senate:Democrat",
                    "Kyrsten Sinema",
                ],
            ),
            // Bernie Sanders: House 1991-2007, Senate from 2007, always an independent.
            ok(
                &["history", "--member", "S000033"],
                &["senate:Independent  S000033  Bernard Sanders  2007-01-04"],
            ),
            ok(
                &["import", "spans", spans.to_str().unwrap()],
                &["nothing to record"],
            ),
        ],
    );
    let sanders = json_of(
        &sandbox,
        &["history", "--member", "S000033", "--format", "json"],
    );
    let parties: Vec<&str> = sanders
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["group"].as_str().unwrap())
        .filter(|g| g.starts_with("senate:") || g.starts_with("house:"))
        .collect();
    assert!(
        parties.iter().all(|g| g.ends_with(":Independent")),
        "{parties:?}"
    );
}
