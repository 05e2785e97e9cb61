//! Output and arguments people and scripts can live with, through the built binary: every
//! answer honours `--format`, `-` is standard input or output, `--quiet` for cron, end
//! dates that cannot be misread, ids exact in CSV, and `--since`, `--as-of` and `--on
//! today` that say what they mean.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{check, two_commits, Case, Run, Sandbox, WEEK_ONE};

/// Runs `muster --db <sandbox ledger> ARGS` with `stdin` as its standard input.
fn with_stdin(sandbox: &Sandbox, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = crate::support::muster_command(sandbox.dir.path(), sandbox.db(), args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run muster");
    let mut input = child.stdin.take().expect("a stdin pipe");
    // muster may refuse before reading all of it (a limit): a closed pipe is its answer.
    let _ = input.write_all(stdin);
    drop(input);
    let output = child.wait_with_output().expect("wait for muster");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A one-record answer in CSV and JSON: the same names, one row; the same values when
/// `same_values` (the two runs of a command that writes differ: the first did the work).
fn same_record(csv: &str, json: &Value, same_values: bool) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("one row").split(',').collect();
    assert_eq!(lines.next(), None, "one row only: {csv}");
    let object = json.as_object().expect("one object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut columns = header.clone();
    keys.sort_unstable();
    columns.sort_unstable();
    assert_eq!(columns, keys, "{csv} against {json}");
    for (column, text) in header.iter().zip(row).filter(|_| same_values) {
        let value = match &object[*column] {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            Value::Array(items) => items
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        assert_eq!(text, value, "{column}: {csv} against {json}");
    }
}

/// `verify`, `forget`, `import names` and `import log` answer in the format asked for: CSV
/// a header and one row with JSON's names and values, a table a sentence.
#[test]
fn every_one_record_answer_honours_format() {
    let sandbox = two_commits();
    let names = sandbox.write("names.csv", "member,name\n1002,Ada Lovelace\n");
    let names = names.to_str().unwrap();
    let backup = sandbox.path("backup.jsonl");
    let backup = backup.to_str().unwrap();
    sandbox.muster(&["export", "log", "-o", backup]).ok();
    let copy = Sandbox::new();
    let in_copy = |args: &[&str]| copy.muster(args).ok();
    let forms = |run: &dyn Fn(&[&str]) -> Run, args: &[&str]| -> (String, Value, String) {
        let csv = run(&[args, &["--format", "csv"]].concat()).stdout;
        let json = run(&[args, &["--format", "json"]].concat()).json();
        let table = run(&[args, &["--format", "table"]].concat()).stdout;
        (csv, json, table)
    };
    let here = |args: &[&str]| sandbox.muster(args).ok();

    let (csv, json, table) = forms(&here, &["verify"]);
    same_record(&csv, &json, true);
    assert_eq!(json, json!({"sound": true, "commits": 2, "facts": 8}));
    assert!(table.starts_with("sound: 2 commits"), "{table}");

    let (csv, json, table) = forms(&here, &["import", "names", names]);
    same_record(&csv, &json, false);
    assert_eq!(
        json,
        json!({"stored": 0, "skipped_erased": 0}),
        "stored once by csv"
    );
    assert!(
        table.starts_with("stored 0 new or changed names"),
        "{table}"
    );

    let (csv, json, table) = forms(&in_copy, &["import", "log", backup]);
    same_record(&csv, &json, false);
    assert_eq!(
        csv,
        "read,already_present,appended,restored_names\n2,0,1 2,0\n"
    );
    assert_eq!(
        json,
        json!({"read": 2, "already_present": 2, "appended": [], "restored_names": 0})
    );
    assert_eq!(table, "read 2 commits: 2 already present, 0 appended\n");

    let csv = here(&["forget", "1002", "--format", "csv"]).stdout;
    assert_eq!(csv, "member,commit,name_removed\n1002,4,true\n");
    let json = here(&["forget", "1002", "--format", "json"]).json();
    assert_eq!(
        json,
        json!({"member": "1002", "commit": null, "name_removed": false})
    );
    let table = here(&["forget", "1002"]).stdout;
    assert!(table.starts_with("nothing to erase"), "{table}");
}

/// `export log --since` past the end is an error, as `--as-of` past it is; at the end it
/// writes nothing (the copy is up to date).
#[test]
fn export_log_since_past_the_end_is_an_error() {
    let sandbox = two_commits();
    check(
        &sandbox,
        Case {
            args: &["export", "log", "--since", "41"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["--since 41: there is no such commit (the log ends at 2)"],
        },
    );
    let out = sandbox.path("new.jsonl");
    let refused = sandbox.muster(&["export", "log", "--since", "3", "-o", out.to_str().unwrap()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(!out.exists(), "a refused export creates no file");
    assert_eq!(
        sandbox
            .muster(&["export", "log", "--since", "2"])
            .ok()
            .stdout,
        ""
    );
    assert_eq!(
        sandbox
            .muster(&["export", "log", "--since", "1"])
            .ok()
            .stdout
            .lines()
            .count(),
        1
    );
}

/// `--on today` (and `--from`, `--to`, `--start`) means the local calendar date.
#[test]
fn today_is_accepted_wherever_a_date_is() {
    let sandbox = Sandbox::new();
    let today = || chrono::Local::now().date_naive().to_string();
    let before = today();
    let file = sandbox.write(
        "today.csv",
        &format!("date,group,member\n{before},chess,1001\n"),
    );
    sandbox
        .muster(&["import", "observations", file.to_str().unwrap()])
        .ok();
    let members = sandbox
        .muster(&["members", "chess", "--on", "today", "--format", "json"])
        .ok()
        .json();
    let after = today();
    assert!(
        members["on"] == before || members["on"] == after,
        "{members}"
    );
    assert_eq!(members["members"], json!(["1001"]));
    let groups = sandbox
        .muster(&["groups", "1001", "--on", "TODAY", "--format", "json"])
        .ok()
        .json();
    assert_eq!(groups["groups"], json!(["chess"]));
    let changes = sandbox
        .muster(&[
            "changes", "--from", "today", "--to", "today", "--format", "json",
        ])
        .ok()
        .json();
    assert_eq!(changes.as_array().map(Vec::len), Some(1), "{changes}");
    let chart = sandbox
        .muster(&["chart", "--group", "chess", "--from", "today", "-o", "-"])
        .ok();
    assert!(chart.stdout.contains("1001"), "{}", chart.stdout);
    check(
        &sandbox,
        Case {
            args: &["members", "chess", "--on", "tomorrow"],
            code: 2,
            stdout_has: &[],
            stderr_has: &["date \"tomorrow\""],
        },
    );
    // Input files hold facts: `today` is not a date there.
    let file = sandbox.write("word.csv", "date,group,member\ntoday,chess,1001\n");
    let refused = sandbox.muster(&["import", "observations", file.to_str().unwrap()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

/// `-` is standard input for every file argument: the same import as from a file, errors
/// naming `<stdin>` with line and column, the input byte limit, and nothing written on
/// bad input.
#[test]
fn a_dash_reads_standard_input() {
    let from_stdin = Sandbox::new();
    let from_file = Sandbox::new();
    let file = from_file.write("weeks.csv", WEEK_ONE);
    let imported = with_stdin(
        &from_stdin,
        &["import", "observations", "-", "--format", "json"],
        WEEK_ONE.as_bytes(),
    )
    .ok()
    .json();
    let expected = from_file
        .muster(&[
            "import",
            "observations",
            file.to_str().unwrap(),
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(imported, expected);
    let log = from_stdin.muster(&["log", "--format", "json"]).ok().json();
    assert_eq!(log[0]["source"]["files"][0]["name"], "<stdin>");
    // The same bytes again: nothing to record, whatever they are called.
    let again = with_stdin(
        &from_stdin,
        &["import", "observations", "-", "--format", "json"],
        WEEK_ONE.as_bytes(),
    )
    .ok()
    .json();
    assert_eq!(again["commit"], Value::Null);

    let fresh = Sandbox::new();
    let bad = with_stdin(
        &fresh,
        &["import", "facts", "-"],
        b"date,group,member,change\n2015-11-16,chess,1001,join\n2015-11-17,chess,1001,maybe\n",
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("line 3, column 4 (change) of <stdin>: "),
        "{}",
        bad.stderr
    );
    assert!(!fresh.db().exists(), "bad input creates no ledger");

    // The byte limit (4 GiB) holds for a stream as for a file: `import::text`'s unit test
    // `a_stream_is_read_through_the_limit` shows it with a small limit.

    let names = with_stdin(
        &from_stdin,
        &["import", "names", "-", "--format", "json"],
        b"member,name\n1001,Grace Hopper\n",
    )
    .ok()
    .json();
    assert_eq!(names["stored"], 1);
    let spans = with_stdin(
        &from_stdin,
        &["import", "spans", "-", "--format", "json"],
        b"group,member,starts_on,ends_on\nchess,1009,2015-12-01,2015-12-31\n",
    )
    .ok()
    .json();
    assert_eq!(spans["facts"], 2);
}

/// `-o -` is standard output (not a file called `-`), and a backup piped from one ledger
/// into `import log -` catches another up.
#[test]
fn a_dash_writes_standard_output_and_pipes_a_backup() {
    let sandbox = two_commits();
    let to_file = sandbox.path("backup.jsonl");
    sandbox
        .muster(&["export", "log", "-o", to_file.to_str().unwrap()])
        .ok();
    let piped = sandbox.muster(&["export", "log", "-o", "-"]).ok();
    assert_eq!(piped.stdout, std::fs::read_to_string(&to_file).unwrap());
    assert!(!sandbox.path("-").exists(), "no file called -");

    let copy = Sandbox::new();
    let replayed = with_stdin(
        &copy,
        &["import", "log", "-", "--format", "json"],
        piped.stdout.as_bytes(),
    )
    .ok()
    .json();
    assert_eq!(replayed["appended"], json!([1, 2]));
    let damaged = piped.stdout.replacen("\"seq\":2", "\"seq\":7", 1);
    let fresh = Sandbox::new();
    let refused = with_stdin(&fresh, &["import", "log", "-"], damaged.as_bytes());
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("line 2 of <stdin>: "),
        "{}",
        refused.stderr
    );

    let svg = sandbox
        .muster(&["chart", "--group", "34340", "-o", "-"])
        .ok();
    assert!(svg.stdout.starts_with("<svg"), "{}", svg.stdout);
    assert!(svg.stdout.trim_end().ends_with("</svg>"));
    assert!(!sandbox.path("-").exists(), "no file called -");
}

/// An SB export is a directory: `-` is refused clearly, reading and writing.
#[test]
fn an_sb_export_cannot_be_a_stream() {
    let sandbox = Sandbox::new();
    for args in [
        &["import", "sb", "-"][..],
        &["import", "sb", "-", "--dry-run"],
        &["gen", "sb", "-", "--seed", "1"],
    ] {
        let run = with_stdin(&sandbox, args, b"");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("an SB export is a directory of CSV files")
                && run.stderr.contains("standard"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!sandbox.path("-").exists());
        assert!(!sandbox.db().exists());
    }
}

/// The day before `date` (`YYYY-MM-DD`).
fn day_before(date: &str) -> String {
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date");
    date.pred_opt().expect("a day before").to_string()
}

/// The aligned table's rows as cells split on runs of two or more spaces, by header name.
fn table_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    // Column starts, from the header (every column name is one word).
    let starts: Vec<usize> = header
        .char_indices()
        .filter(|&(i, c)| c != ' ' && (i == 0 || header.as_bytes()[i - 1] == b' '))
        .map(|(i, _)| i)
        .collect();
    let names: Vec<&str> = header.split_whitespace().collect();
    lines
        .map(|line| {
            names
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    let end = starts.get(index + 1).copied().unwrap_or(line.len());
                    let cell = line.get(starts[index]..end.min(line.len())).unwrap_or("");
                    (name.to_string(), cell.trim().to_string())
                })
                .collect()
        })
        .collect()
}

/// People read a last day; machines keep their documented exclusive `until` (and a leave's
/// `date`, the first day out), under names that say which.
#[test]
fn tables_show_the_last_day_and_machine_formats_keep_until() {
    let sandbox = two_commits();
    let asked: &[&[&str]] = &[
        &["history", "--group", "34340"],
        &["history", "--member", "1002"],
        &["history", "--group", "34340", "--corrections"],
    ];
    for args in asked {
        let json = sandbox
            .muster(&[args, &["--format", "json"][..]].concat())
            .ok()
            .json();
        let json = json.as_array().expect("a list");
        assert!(!json.is_empty(), "{args:?}");
        let csv = sandbox
            .muster(&[args, &["--format", "csv"][..]].concat())
            .ok()
            .stdout;
        let header = csv.lines().next().unwrap_or_default();
        assert!(header.contains(",from,until,"), "{args:?}: {header}");
        assert!(!header.contains("last_day"), "{args:?}: {header}");
        let table = sandbox.muster(args).ok().stdout;
        assert!(
            !table.lines().next().unwrap_or_default().contains("until"),
            "{table}"
        );
        let rows = table_rows(&table);
        assert_eq!(rows.len(), json.len(), "{args:?}: {table}");
        let mut closed = 0;
        for (row, span) in rows.iter().zip(json) {
            assert_eq!(row["from"], span["from"].as_str().unwrap(), "{table}");
            match span["until"].as_str() {
                Some(until) => {
                    closed += 1;
                    assert_eq!(row["last_day"], day_before(until), "{args:?}: {table}");
                }
                None => assert_eq!(row["last_day"], "open", "{table}"),
            }
        }
        assert!(closed > 0, "{args:?}: some span has an end to show");
    }

    let range = ["changes", "--from", "2015-01-01", "--to", "2016-01-01"];
    let json = sandbox
        .muster(&[&range[..], &["--format", "json"]].concat())
        .ok()
        .json();
    let csv = sandbox
        .muster(&[&range[..], &["--format", "csv"]].concat())
        .ok()
        .stdout;
    assert!(csv.starts_with("date,change,"), "{csv}");
    let table = sandbox.muster(&range).ok().stdout;
    let rows = table_rows(&table);
    let json = json.as_array().expect("a list");
    assert_eq!(rows.len(), json.len());
    let mut leaves = 0;
    for (row, change) in rows.iter().zip(json) {
        let date = change["date"].as_str().unwrap();
        if change["change"] == "leave" {
            leaves += 1;
            assert_eq!(row["last_day"], day_before(date), "{table}");
            assert_eq!(row["first_day"], "", "{table}");
        } else {
            assert_eq!(row["first_day"], date, "{table}");
            assert_eq!(row["last_day"], "", "{table}");
        }
    }
    assert!(leaves > 0, "{table}");
}

/// Ids are exact keys: in CSV they come back unchanged even when they begin with `=`, `+`,
/// `-` or `@` (a script must be able to read them back; see README on spreadsheets), while
/// names that begin so get a `'`. `export spans` CSV imports into a fresh ledger as the
/// same spans.
#[test]
fn ids_reach_csv_exactly_and_round_trip() {
    let sandbox = Sandbox::new();
    let ids = ["=1+2", "+44", "-7", "@SUM(A1)"];
    let mut spans = String::from("group,member,starts_on,ends_on\n");
    for id in ids {
        spans.push_str(&format!("{id},{id},2020-01-01,2020-12-31\n"));
    }
    let file = sandbox.write("spans.csv", &spans);
    sandbox
        .muster(&["import", "spans", file.to_str().unwrap()])
        .ok();
    let names = sandbox.write("names.csv", "member,name\n=1+2,=HYPERLINK(\"x\")\n");
    sandbox
        .muster(&["import", "names", names.to_str().unwrap()])
        .ok();
    let exported = sandbox
        .muster(&["export", "spans", "--format", "csv"])
        .ok()
        .stdout;
    let mut rows: Vec<&str> = exported.lines().skip(1).collect();
    rows.sort_unstable();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("{id},{id},2020-01-01,2020-12-31"))
        .collect();
    expected.sort_unstable();
    assert_eq!(rows, expected, "{exported}");
    let members = sandbox
        .muster(&["members", "=1+2", "--on", "2020-06-01", "--format", "csv"])
        .ok()
        .stdout;
    assert_eq!(members, "member,name\n=1+2,\"'=HYPERLINK(\"\"x\"\")\"\n");

    let copy = Sandbox::new();
    let file = copy.write("exported.csv", &exported);
    copy.muster(&["import", "spans", file.to_str().unwrap()])
        .ok();
    let again = copy
        .muster(&["export", "spans", "--format", "csv"])
        .ok()
        .stdout;
    assert_eq!(again, exported);
}

/// `--quiet` on the plain imports: one summary line, even on a dry run that would list
/// facts.
#[test]
fn quiet_imports_print_one_line() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("weeks.csv", WEEK_ONE);
    let file = file.to_str().unwrap();
    let dry = sandbox
        .muster(&["import", "observations", file, "--dry-run", "--quiet"])
        .ok();
    assert_eq!(dry.stdout.lines().count(), 1, "{}", dry.stdout);
    assert!(
        dry.stdout.starts_with("dry run: would record 5 facts"),
        "{}",
        dry.stdout
    );
    let done = sandbox.muster(&["import", "observations", file, "-q"]).ok();
    assert_eq!(
        done.stdout,
        "commit 1: recorded 5 facts (4 joins, 1 leaves) and 3 new observed dates\n"
    );
    assert_eq!(done.stderr, "");
    let names = sandbox.write("names.csv", "member,name\n1001,Ann\n");
    let named = sandbox
        .muster(&["import", "names", names.to_str().unwrap(), "--quiet"])
        .ok();
    assert_eq!(named.stdout.lines().count(), 1, "{}", named.stdout);
}
