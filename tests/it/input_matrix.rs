//! The bad-input matrix: every importer (observations, facts, spans, names, sb, log) fed
//! input it must refuse, through the built binary. Each case is run twice, once with no
//! ledger and once against a ledger with a commit, and must: exit with its code, name its
//! place (file, line, column) in the message, leave the ledger directory byte for byte as
//! it was, and create none where there was none. No case may hang: each run is bounded.
//! docs/reliability.md lists the cases and their counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Sandbox;

/// How long one refusal may take before the test calls it a hang.
const HANG_BOUND: Duration = Duration::from_secs(60);

/// An input file's content: bytes, a FIFO with no writer, or a link to a device.
#[derive(Clone)]
enum Content {
    Bytes(Vec<u8>),
    Fifo,
    LinkTo(&'static str),
}

fn bytes(text: &str) -> Content {
    Content::Bytes(text.as_bytes().to_vec())
}

/// One bad input: the importer, the files (the first is the one given to muster, unless
/// the importer is `sb`, which is given their directory), extra arguments, and what the
/// refusal must say.
struct Case {
    name: &'static str,
    importer: &'static str,
    files: Vec<(&'static str, Content)>,
    args: Vec<&'static str>,
    code: i32,
    says: Vec<String>,
}

fn case(
    name: &'static str,
    importer: &'static str,
    files: Vec<(&'static str, Content)>,
    says: &[&str],
) -> Case {
    Case {
        name,
        importer,
        files,
        args: Vec::new(),
        code: 2,
        says: says.iter().map(|s| s.to_string()).collect(),
    }
}

/// A one-file case of `importer`: `file` holds `text`.
fn one(
    name: &'static str,
    importer: &'static str,
    file: &'static str,
    text: &str,
    says: &[&str],
) -> Case {
    case(name, importer, vec![(file, bytes(text))], says)
}

// ---- SB ------------------------------------------------------------------------------

/// A small SB export as SB writes it (CRLF), each file by name.
fn sb_export() -> BTreeMap<&'static str, String> {
    let crlf = |lines: &[&str]| lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    BTreeMap::from([
        (
            "days.csv",
            crlf(&[
                "DateIdent,Days",
                "4732,16/11/2015 00:00:00",
                "4733,17/11/2015 00:00:00",
            ]),
        ),
        (
            "rtrotaweek.csv",
            crlf(&["RTRotaWeekIdent,DateIdent", "663,4732"]),
        ),
        (
            "rtrwgroups.csv",
            crlf(&[
                "RTRWGroupsIdent,RTRotaWeekIdent,GroupIdent,GroupDay,GroupName,DateIdent,StaffIdent",
                "43740,663,34340,1,Computer Project (M8),4732,358",
                "43741,663,34341,2,Chess,4732,358",
            ]),
        ),
        (
            "rtrwpupils.csv",
            crlf(&["PupOrigNum,RTRWGroupsIdent", "12345,43740", "12346,43741"]),
        ),
        (
            "pupil.csv",
            crlf(&[
                "PupOrigNum,Pu_Surname,Pu_Firstname,PupReportName",
                "12345,Williams,Noah,Noah Williams",
                "12346,Brown,Amelia,",
            ]),
        ),
    ])
}

/// The SB export with `file` changed by `change`.
fn sb(
    name: &'static str,
    file: &'static str,
    change: impl Fn(String) -> String,
    says: &[&str],
) -> Case {
    let mut export = sb_export();
    let changed = change(export[file].clone());
    export.insert(file, changed);
    let files = export
        .into_iter()
        .map(|(name, text)| (name, Content::Bytes(text.into_bytes())))
        .collect();
    case(name, "sb", files, says)
}

/// The SB export with `file` replaced by `content`.
fn sb_with(name: &'static str, file: &'static str, content: Content, says: &[&str]) -> Case {
    let mut files: Vec<(&'static str, Content)> = sb_export()
        .into_iter()
        .filter(|(name, _)| *name != file)
        .map(|(name, text)| (name, Content::Bytes(text.into_bytes())))
        .collect();
    files.push((file, content));
    case(name, "sb", files, says)
}

/// Replaces line `line` (1-based) of a CRLF text.
fn line(text: String, line: usize, to: &str) -> String {
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines[line - 1] = to;
    lines.join("\r\n")
}

fn sb_cases() -> Vec<Case> {
    let long_name = "N".repeat(513);
    vec![
        sb(
            "sb: an impossible day, CRLF line 3",
            "days.csv",
            |t| t.replace("17/11/2015", "31/11/2015"),
            &["line 3, column 2 (Days) of", "days.csv", "is not a date"],
        ),
        sb(
            "sb: days.csv with a header only",
            "days.csv",
            |_| "DateIdent,Days\r\n".into(),
            &["days.csv: the file has a header but no rows"],
        ),
        sb(
            "sb: pupil.csv with a header only",
            "pupil.csv",
            |_| "PupOrigNum,Pu_Surname,Pu_Firstname,PupReportName\r\n".into(),
            &["pupil.csv: the file has a header but no rows"],
        ),
        sb(
            "sb: rtrotaweek.csv with a header only",
            "rtrotaweek.csv",
            |_| "RTRotaWeekIdent,DateIdent\r\n".into(),
            &["rtrotaweek.csv: the file has a header but no rows"],
        ),
        sb(
            "sb: an empty rtrwgroups.csv (no header)",
            "rtrwgroups.csv",
            |_| String::new(),
            &["line 1 of", "rtrwgroups.csv", "no header row"],
        ),
        sb(
            "sb: a ragged session row",
            "rtrwgroups.csv",
            |t| line(t, 3, "43741,663,34341,2,Chess,4732"),
            &[
                "line 3, column 7 (StaffIdent) of",
                "rtrwgroups.csv",
                "6 fields but the header names 7",
            ],
        ),
        sb(
            "sb: a session row with an extra field",
            "rtrwgroups.csv",
            |t| line(t, 2, "43740,663,34340,1,Computer Project (M8),4732,358,x"),
            &[
                "line 2, column 8 () of",
                "rtrwgroups.csv",
                "a value with no column",
            ],
        ),
        sb(
            "sb: a ragged pupil row",
            "rtrwpupils.csv",
            |t| line(t, 3, "12346"),
            &["line 3, column 2 (RTRWGroupsIdent) of", "rtrwpupils.csv"],
        ),
        sb(
            "sb: a pupil of only spaces",
            "rtrwpupils.csv",
            |t| line(t, 3, "   ,43741"),
            &[
                "line 3, column 1 (PupOrigNum) of",
                "rtrwpupils.csv",
                "only spaces",
            ],
        ),
        sb(
            "sb: a bad session ident, CRLF line 3",
            "rtrwpupils.csv",
            |t| line(t, 3, "12346,x"),
            &[
                "line 3, column 2 (RTRWGroupsIdent) of",
                "rtrwpupils.csv",
                "not a whole number",
            ],
        ),
        sb(
            "sb: a pupil name with ESC",
            "pupil.csv",
            |t| t.replace("Noah Williams", "Noah\u{1b}[2J"),
            &[
                "line 2, column 4 (PupReportName) of",
                "pupil.csv",
                "control character",
            ],
        ),
        sb(
            "sb: a pupil name with NUL",
            "pupil.csv",
            |t| t.replace("Noah Williams", "Noah\0W"),
            &[
                "line 2, column 4 (PupReportName) of",
                "pupil.csv",
                "control character",
            ],
        ),
        sb(
            "sb: a pupil name with a C1 control",
            "pupil.csv",
            |t| t.replace("Amelia", "Ame\u{9b}lia"),
            &[
                "line 3, column 3 (Pu_Firstname) of",
                "pupil.csv",
                "control character",
            ],
        ),
        sb(
            "sb: a pupil name over 512 bytes",
            "pupil.csv",
            move |t| t.replace("Noah Williams", &long_name),
            &[
                "line 2, column 4 (PupReportName) of",
                "pupil.csv",
                "longer than 512 bytes",
            ],
        ),
        sb(
            "sb: a group name with a backspace",
            "rtrwgroups.csv",
            |t| t.replace("Chess", "Ch\u{8}ess"),
            &[
                "line 3, column 5 (GroupName) of",
                "rtrwgroups.csv",
                "control character",
            ],
        ),
        sb(
            "sb: a group name over 512 bytes",
            "rtrwgroups.csv",
            |t| t.replace("Chess", &"C".repeat(600)),
            &[
                "line 3, column 5 (GroupName) of",
                "rtrwgroups.csv",
                "longer than 512 bytes",
            ],
        ),
        sb(
            "sb: a repeated column name",
            "rtrwgroups.csv",
            |t| t.replace("StaffIdent", "GroupIdent"),
            &[
                "line 1, column 7 (GroupIdent) of",
                "rtrwgroups.csv",
                "repeated",
            ],
        ),
        sb(
            "sb: an unbalanced quote at the end",
            "rtrwgroups.csv",
            |t| t.replace("Chess,", "\"Chess,"),
            &[
                "line 3, column 5 (GroupName) of",
                "rtrwgroups.csv",
                "never closed",
            ],
        ),
        sb(
            "sb: a second byte-order mark",
            "pupil.csv",
            |t| format!("\u{FEFF}\u{FEFF}{t}"),
            &[
                "line 1, column 1 (PupOrigNum) of",
                "pupil.csv",
                "second byte-order mark",
            ],
        ),
        sb(
            "sb: a byte-order mark inside a field",
            "pupil.csv",
            |t| t.replace("Brown", "Br\u{FEFF}own"),
            &[
                "line 3, column 2 (Pu_Surname) of",
                "pupil.csv",
                "byte-order mark",
            ],
        ),
        sb(
            "sb: a GroupDay that is no weekday",
            "rtrwgroups.csv",
            |t| t.replace(",34340,1,", ",34340,9,"),
            &["line 2, column 4 (GroupDay) of", "rtrwgroups.csv"],
        ),
        sb(
            "sb: a group ident of only spaces",
            "rtrwgroups.csv",
            |t| t.replace(",34341,", ",   ,"),
            &[
                "line 3, column 3 (GroupIdent) of",
                "rtrwgroups.csv",
                "blank",
            ],
        ),
        sb_with(
            "sb: days.csv linked to /dev/zero",
            "days.csv",
            Content::LinkTo("/dev/zero"),
            &["days.csv", "not a regular file"],
        ),
        sb_with(
            "sb: rtrwpupils.csv a FIFO with no writer",
            "rtrwpupils.csv",
            Content::Fifo,
            &["rtrwpupils.csv", "not a regular file"],
        ),
        sb_with(
            "sb: pupil.csv linked to nothing",
            "pupil.csv",
            Content::LinkTo("/nonexistent/muster-test"),
            &["pupil.csv", "no such file"],
        ),
        {
            let mut case = sb(
                "sb: an invalid --start",
                "days.csv",
                |t| t,
                &["--start", "16/11/2015"],
            );
            case.args = vec!["--start", "16/11/2015"];
            case
        },
        {
            let mut case = sb(
                "sb: a --start whose week begins before the calendar",
                "days.csv",
                |t| t,
                &["--start 0001-01-01", "before the first supported date"],
            );
            case.args = vec!["--start", "0001-01-01"];
            case
        },
    ]
}

// ---- The CSV importers ---------------------------------------------------------------

const OBSERVATIONS: &str = "date,group,member\n";
const FACTS: &str = "date,group,member,change\n";
const SPANS: &str = "group,member,starts_on,ends_on\n";
const NAMES: &str = "member,name\n";

fn csv_cases() -> Vec<Case> {
    let o = |name, body: &str, says: &[&str]| {
        one(
            name,
            "observations",
            "week.csv",
            &format!("{OBSERVATIONS}{body}"),
            says,
        )
    };
    let f = |name, body: &str, says: &[&str]| {
        one(name, "facts", "facts.csv", &format!("{FACTS}{body}"), says)
    };
    let s = |name, body: &str, says: &[&str]| {
        one(name, "spans", "spans.csv", &format!("{SPANS}{body}"), says)
    };
    let n = |name, body: &str, says: &[&str]| {
        one(name, "names", "names.csv", &format!("{NAMES}{body}"), says)
    };
    let long_name = "n".repeat(513);
    vec![
        // observations
        o("observations: a ragged row", "2025-01-06,chess,a\n2025-01-06,chess\n",
            &["line 3, column 3 (member) of", "week.csv", "2 fields but the header names 3"]),
        o("observations: an extra field", "2025-01-06,chess,a,b\n",
            &["line 2, column 4 () of", "week.csv", "a value with no column"]),
        o("observations: a member of only spaces", "2025-01-06,chess,   \n",
            &["line 2, column 3 (member) of", "only spaces"]),
        o("observations: a group of only spaces", "2025-01-06,  ,a\n",
            &["line 2, column 2 (group) of", "only spaces"]),
        o("observations: an unbalanced quote at the end", "2025-01-06,chess,a\n2025-01-06,\"chess,b\n",
            &["line 3, column 2 (group) of", "never closed"]),
        one("observations: a repeated column name", "observations", "week.csv", "date,group,member,member\n2025-01-06,chess,a,b\n",
            &["line 1, column 4 (member) of", "repeated"]),
        one("observations: a second byte-order mark", "observations", "week.csv", "\u{FEFF}\u{FEFF}date,group,member\n2025-01-06,chess,a\n",
            &["line 1, column 1 (date) of", "second byte-order mark"]),
        o("observations: a byte-order mark inside a field", "2025-01-06,chess,a\u{FEFF}\n",
            &["line 2, column 3 (member) of", "byte-order mark"]),
        one("observations: a bad date on CRLF line 3", "observations", "week.csv", "date,group,member\r\n2025-01-06,chess,a\r\n2025-13-06,chess,a\r\n",
            &["line 3, column 1 (date) of", "is not a date"]),
        o("observations: a member with ESC", "2025-01-06,chess,a\u{1b}[2J\n",
            &["line 2, column 3 (member) of", "control character"]),
        o("observations: a member with NUL", "2025-01-06,chess,a\0\n",
            &["line 2, column 3 (member) of", "control character"]),
        o("observations: an id over 64 bytes", &format!("2025-01-06,chess,{}\n", "m".repeat(65)),
            &["line 2, column 3 (member) of", "longer than 64 bytes"]),
        o("observations: a field over 4096 bytes", &format!("2025-01-06,chess,{}\n", "m".repeat(4097)),
            &["line 2, column 3 (member) of", "longer than 4096 bytes"]),
        o("observations: a header only", "", &["week.csv: the file has a header but no rows"]),
        one("observations: an empty file", "observations", "week.csv", "",
            &["line 1 of", "week.csv", "no header row"]),
        one("observations: a missing column", "observations", "week.csv", "date,group\n2025-01-06,chess\n",
            &["line 1 of", "no column named \"member\""]),
        o("observations: a blank date", ",chess,a\n", &["line 2, column 1 (date) of", "is not a date"]),
        case("observations: /dev/zero", "observations", vec![("zero.csv", Content::LinkTo("/dev/zero"))],
            &["zero.csv", "not a regular file"]),
        case("observations: a FIFO with no writer", "observations", vec![("fifo.csv", Content::Fifo)],
            &["fifo.csv", "not a regular file"]),
        case("observations: no such file", "observations", vec![("gone.csv", Content::LinkTo("/nonexistent/muster-test"))],
            &["gone.csv", "no such file"]),
        one("observations: an unassigned Windows-1252 byte", "observations", "week.csv", "date,group,member\n2025-01-06,chess,a\u{81}\n",
            &["line 2, column 3 (member) of", "control character"]),
        // facts
        f("facts: join with a trailing space", "2025-01-06,chess,a,join \n",
            &["line 2, column 4 (change) of", "\"join \" is not a change", "no spaces"]),
        f("facts: leave with a leading space", "2025-01-06,chess,a, leave\n",
            &["line 2, column 4 (change) of", "is not a change"]),
        f("facts: a change that is no change", "2025-01-06,chess,a,joined\n",
            &["line 2, column 4 (change) of", "write join, leave or exclude"]),
        f("facts: a ragged row", "2025-01-06,chess,a\n",
            &["line 2, column 4 (change) of", "3 fields but the header names 4"]),
        f("facts: an extra field", "2025-01-06,chess,a,join,x\n",
            &["line 2, column 5 () of", "a value with no column"]),
        f("facts: a member of only spaces", "2025-01-06,chess, ,join\n",
            &["line 2, column 3 (member) of", "only spaces"]),
        one("facts: a bad change on CRLF line 3", "facts", "facts.csv", "date,group,member,change\r\n2025-01-06,chess,a,join\r\n2025-01-07,chess,a,quit\r\n",
            &["line 3, column 4 (change) of", "is not a change"]),
        f("facts: an unbalanced quote at the end", "2025-01-06,chess,\"a,join\n",
            &["line 2, column 3 (member) of", "never closed"]),
        one("facts: a repeated column name", "facts", "facts.csv", "date,group,member,change,Change\n2025-01-06,chess,a,join,leave\n",
            &["line 1, column 5 (Change) of", "repeated"]),
        case("facts: /dev/zero", "facts", vec![("zero.csv", Content::LinkTo("/dev/zero"))],
            &["zero.csv", "not a regular file"]),
        // spans
        s("spans: a row missing its ends_on field", "chess,a,2025-01-06\n",
            &["line 2, column 4 (ends_on) of", "3 fields but the header names 4"]),
        s("spans: an extra field", "chess,a,2025-01-06,2025-02-01,x\n",
            &["line 2, column 5 () of", "a value with no column"]),
        s("spans: ends before it starts", "chess,a,2025-01-06,2025-01-01\n",
            &["line 2, column 4 (ends_on) of", "before starts_on"]),
        s("spans: a bad start", "chess,a,06/01/2025,\n",
            &["line 2, column 3 (starts_on) of", "is not a date"]),
        s("spans: a member of only spaces", "chess,  ,2025-01-06,\n",
            &["line 2, column 2 (member) of", "only spaces"]),
        one("spans: a bad end on CRLF line 3", "spans", "spans.csv", "group,member,starts_on,ends_on\r\nchess,a,2025-01-06,\r\nchess,b,2025-01-06,2025-02-30\r\n",
            &["line 3, column 4 (ends_on) of", "is not a date"]),
        s("spans: an unbalanced quote at the end", "chess,a,2025-01-06,\"\n",
            &["line 2, column 4 (ends_on) of", "never closed"]),
        one("spans: a repeated column name", "spans", "spans.csv", "group,member,starts_on,ends_on,group\nchess,a,2025-01-06,,chess\n",
            &["line 1, column 5 (group) of", "repeated"]),
        s("spans: a header only", "", &["spans.csv: the file has a header but no rows"]),
        case("spans: a FIFO with no writer", "spans", vec![("fifo.csv", Content::Fifo)],
            &["fifo.csv", "not a regular file"]),
        // names
        n("names: a name with ESC", "a,Zoe\u{1b}[2J\n",
            &["line 2, column 2 (name) of", "control character"]),
        n("names: a name with NUL", "a,Zo\0e\n", &["line 2, column 2 (name) of", "control character"]),
        n("names: a name with a C1 control", "a,Zo\u{85}e\n",
            &["line 2, column 2 (name) of", "control character"]),
        n("names: a name with a tab", "a,Zo\te\n", &["line 2, column 2 (name) of", "control character"]),
        n("names: a name over 512 bytes", &format!("a,{long_name}\n"),
            &["line 2, column 2 (name) of", "longer than 512 bytes"]),
        n("names: a blank name", "a,\"\"\n", &["line 2, column 2 (name) of", "blank"]),
        n("names: a name of only spaces", "a,   \n", &["line 2, column 2 (name) of", "blank"]),
        n("names: a ragged row", "a\n", &["line 2, column 2 (name) of", "1 fields but the header names 2"]),
        one("names: a kind that is no kind", "names", "names.csv", "kind,id,name\nteacher,a,Zoe\n",
            &["line 2, column 1 (kind) of", "is not a kind"]),
        one("names: a repeated column name", "names", "names.csv", "member,name,name\na,Zoe,Zed\n",
            &["line 1, column 3 (name) of", "repeated"]),
        one("names: a name with ESC on CRLF line 3", "names", "names.csv", "member,name\r\na,Zoe\r\nb,Zo\u{1b}e\r\n",
            &["line 3, column 2 (name) of", "control character"]),
        one("names: a second byte-order mark", "names", "names.csv", "\u{FEFF}\u{FEFF}member,name\na,Zoe\n",
            &["line 1, column 1 (member) of", "second byte-order mark"]),
        case("names: /dev/zero", "names", vec![("zero.csv", Content::LinkTo("/dev/zero"))],
            &["zero.csv", "not a regular file"]),
        // log
        case("log: /dev/zero", "log", vec![("zero.jsonl", Content::LinkTo("/dev/zero"))],
            &["zero.jsonl", "not a regular file"]),
        case("log: a FIFO with no writer", "log", vec![("fifo.jsonl", Content::Fifo)],
            &["fifo.jsonl", "not a regular file"]),
        one("log: a CSV file", "log", "not-a-log.jsonl", "date,group,member\n",
            &["line 1 of", "not-a-log.jsonl"]),
        one("log: a line that is not JSON after a good start", "log", "broken.jsonl", "{\n",
            &["line 1 of", "broken.jsonl"]),
    ]
}

// ---- Running a case ------------------------------------------------------------------

/// Every file under `dir` (relative path → bytes); empty when `dir` does not exist.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
                files.insert(relative, std::fs::read(&path).expect("read a ledger file"));
            }
        }
    }
    files
}

/// Writes the case's files into `dir` and returns the path muster is given.
fn materialise(case: &Case, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, content) in &case.files {
        let path = dir.join(name);
        match content {
            Content::Bytes(bytes) => std::fs::write(&path, bytes).unwrap(),
            Content::LinkTo(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
            Content::Fifo => {
                let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
                assert!(made.success(), "mkfifo {}", path.display());
            }
        }
    }
    if case.importer == "sb" {
        dir.to_path_buf()
    } else {
        dir.join(case.files[0].0)
    }
}

/// Runs `muster --db DB import IMPORTER INPUT ARGS`, killing it past [`HANG_BOUND`].
fn run_bounded(sandbox: &Sandbox, case: &Case, input: &Path) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .current_dir(sandbox.dir.path())
        .arg("--db")
        .arg(sandbox.db())
        .args(["import", case.importer])
        .arg(input)
        .args(&case.args)
        .env_remove("MUSTER_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run muster");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for muster") {
            break status;
        }
        if started.elapsed() > HANG_BOUND {
            let _ = child.kill();
            panic!("{}: still running after {HANG_BOUND:?}", case.name);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
    }
    (status.code().unwrap_or(-1), stderr)
}

fn check(case: &Case, with_ledger: bool) -> Result<(), String> {
    let sandbox = Sandbox::new();
    if with_ledger {
        let week = sandbox.write("base.csv", "date,group,member\n2015-11-16,34340,12345\n");
        sandbox
            .muster(&["import", "observations", week.to_str().unwrap()])
            .ok();
    }
    let before = snapshot(&sandbox.db());
    let input = materialise(case, &sandbox.path("input"));
    let (code, stderr) = run_bounded(&sandbox, case, &input);
    let mut faults = Vec::new();
    if code != case.code {
        faults.push(format!("exit {code}, expected {}", case.code));
    }
    for text in &case.says {
        if !stderr.contains(text.as_str()) {
            faults.push(format!("the message lacks {text:?}"));
        }
    }
    if !with_ledger && sandbox.db().exists() {
        faults.push("a ledger was created".to_string());
    }
    if snapshot(&sandbox.db()) != before {
        faults.push("the ledger directory changed".to_string());
    }
    match faults.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{} ({}): {}\n  stderr: {}",
            case.name,
            if with_ledger {
                "with a ledger"
            } else {
                "no ledger"
            },
            faults.join("; "),
            stderr.trim()
        )),
    }
}

/// All the matrix's cases; `cases_by_importer` counts them for docs/reliability.md.
fn all_cases() -> Vec<Case> {
    let mut cases = sb_cases();
    cases.extend(csv_cases());
    cases
}

#[test]
fn every_bad_input_is_refused_with_its_place_and_writes_nothing() {
    let cases = all_cases();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        *counts.entry(case.importer).or_default() += 1;
    }
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    for importer in ["observations", "facts", "spans", "names", "sb", "log"] {
        assert!(counts.contains_key(importer), "no case for {importer}");
    }
    // Cases run on both cores; each failure is reported, not only the first.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|half| {
                let cases = &cases;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for case in cases.iter().skip(half).step_by(2) {
                        for with_ledger in [false, true] {
                            if let Err(fault) = check(case, with_ledger) {
                                failures.push(fault);
                            }
                        }
                    }
                    failures
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|half| half.join().expect("a matrix half"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} runs failed (counts {counts:?}):\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
