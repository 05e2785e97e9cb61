//! `muster import sb` and `muster gen sb`: small readable exports built from the real
//! header and sample row, one test per fault of the old loader, bad input, and a property
//! test that import order never matters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use muster::import::sb::{self, generate};
use muster::log::source::{Source, SourceFile, SourceKind};
use muster::storage::memory::MemoryStore;
use muster::{Batch, Change, Date, Fact, GroupId, Ledger, MemberId};
use proptest::prelude::*;

use crate::support::Sandbox;
use muster::query::membership;

/// The real `rtrwgroups.csv` header, as in docs/sb.md.
const OCCURRENCE_HEADER: &str = "RTRWGroupsIdent,RTRotaWeekIdent,GroupIdent,GroupDay,GroupStart,GroupEnd,SCTIdent,RoomIdent,GroupRota,GroupSlotTime,StaffIdent,StaffIdent2,GroupName,DateIdent,RTGroupChecked,RTProtectedGroupClash,UserIdent3,UserIdent4";
/// The one real row: Computer Project (M8), staff 358, in the week of DateIdent 4732
/// (Monday 16 November 2015), on GroupDay 1 (Monday).
const SAMPLE_ROW: &str =
    "43740,663,34340,1,960,1020,13,229,0,0,358,,\"Computer Project (M8)\",4732,0,0,,";
const COMPUTER_PROJECT: &str = "34340";
/// DateIdent 4731 is Sunday 15 November 2015; the fixture's days run on from it.
const FIRST_DATE_IDENT: usize = 4731;
const FIXTURE_WEEKS: usize = 6;
const PUPILS: &str = "PupOrigNum,Pu_Surname,Pu_Firstname,Pu_GivenName,PupReportName,PupEmail,Pu_CandNo,PupUCI,YearIdent,Pu_Doe,PupDateofLeaving,PType
12345,Williams,Noah,Noah,Noah Williams,,,,10,,,60
12346,Brown,Amelia,Amelia,,,,,10,,,60
12347,Jones,Oscar,Oscar,,,,,10,,,60
";

/// The DateIdent of day `offset` (0 = Sunday) of fixture week `week`.
fn day_ident(week: usize, offset: usize) -> usize {
    FIRST_DATE_IDENT + 7 * week + offset
}

/// The date of day `offset` of fixture week `week`, as text.
fn day(week: usize, offset: usize) -> String {
    Date::from_ymd(2015, 11, 15)
        .unwrap()
        .add_days((7 * week + offset) as i64)
        .unwrap()
        .to_string()
}

/// A small export: six weeks of days from Sunday 15 November 2015, rota weeks 663..=668,
/// three pupils, staff 358, and the occurrences and pupil rows a test adds.
struct Export {
    days: String,
    rota_weeks: String,
    pupils: Vec<u8>,
    occurrences: Vec<String>,
    pupil_rows: Vec<(String, String)>,
    occurrence_header: String,
}

impl Export {
    fn new() -> Export {
        let mut days = String::from("DateIdent,Days\n");
        let mut rota_weeks = String::from("RTRotaWeekIdent,DateIdent\n");
        for week in 0..FIXTURE_WEEKS {
            for offset in 0..7 {
                let date = day(week, offset);
                // Written as SB does: dd/mm/yyyy with a time part.
                let (y, m, d) = (&date[0..4], &date[5..7], &date[8..10]);
                days.push_str(&format!(
                    "{},{d}/{m}/{y} 00:00:00\n",
                    day_ident(week, offset)
                ));
            }
            rota_weeks.push_str(&format!("{},{}\n", 663 + week, day_ident(week, 1)));
        }
        Export {
            days,
            rota_weeks,
            pupils: PUPILS.as_bytes().to_vec(),
            occurrences: Vec::new(),
            pupil_rows: Vec::new(),
            occurrence_header: OCCURRENCE_HEADER.to_string(),
        }
    }

    /// Adds occurrence `ident` of `group` on day `group_day` of fixture week `week`, with
    /// staff 358, listing `pupils`.
    fn occurrence(
        mut self,
        ident: u32,
        group: &str,
        name: &str,
        week: usize,
        group_day: usize,
        pupils: &[&str],
    ) -> Export {
        self.occurrences.push(format!(
            "{ident},{},{group},{group_day},960,1020,13,229,0,0,358,,\"{name}\",{},0,0,,",
            663 + week,
            day_ident(week, 3)
        ));
        for pupil in pupils {
            self.pupil_rows.push((pupil.to_string(), ident.to_string()));
        }
        self
    }

    /// Takes the staff off the last occurrence added.
    fn without_staff(mut self) -> Export {
        if let Some(row) = self.occurrences.last_mut() {
            *row = row.replace(",358,", ",,");
        }
        self
    }

    /// The Computer Project on Monday of `week`.
    fn computer_project(self, ident: u32, week: usize, pupils: &[&str]) -> Export {
        self.occurrence(
            ident,
            COMPUTER_PROJECT,
            "Computer Project (M8)",
            week,
            1,
            pupils,
        )
    }

    fn files(&self) -> BTreeMap<&'static str, Vec<u8>> {
        let mut occurrences = self.occurrence_header.clone() + "\n";
        for row in &self.occurrences {
            occurrences.push_str(row);
            occurrences.push('\n');
        }
        let mut pupil_rows = String::from("PupOrigNum,RTRWGroupsIdent\n");
        for (pupil, ident) in &self.pupil_rows {
            pupil_rows.push_str(&format!("{pupil},{ident}\n"));
        }
        BTreeMap::from([
            ("days.csv", self.days.clone().into_bytes()),
            ("rtrotaweek.csv", self.rota_weeks.clone().into_bytes()),
            ("pupil.csv", self.pupils.clone()),
            ("rtrwgroups.csv", occurrences.into_bytes()),
            ("rtrwpupils.csv", pupil_rows.into_bytes()),
            ("staff.csv", b"UserIdent,UserName\n358,jwinters\n".to_vec()),
        ])
    }

    fn write(&self, sandbox: &Sandbox, name: &str) -> PathBuf {
        let dir = sandbox.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes) in self.files() {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        dir
    }
}

fn import(sandbox: &Sandbox, dir: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["import", "sb", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    sandbox.muster(&args)
}

fn members(sandbox: &Sandbox, group: &str, on: &str) -> Vec<String> {
    let run = sandbox
        .muster(&["members", group, "--on", on, "--format", "json"])
        .ok();
    run.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_real_sample_row_imports_with_a_named_line_per_join() {
    let sandbox = Sandbox::new();
    let mut export = Export::new();
    export.occurrences.push(SAMPLE_ROW.to_string());
    export
        .pupil_rows
        .push(("12345".to_string(), "43740".to_string()));
    let dir = export.write(&sandbox, "export");
    let run = import(&sandbox, &dir, &[]).ok();
    assert!(
        run.stdout
            .contains("2015-11-16  Computer Project (M8)  + Noah Williams (12345)\n"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("commit 1: recorded 1 facts (1 joins, 0 leaves)"));
    let shown = sandbox
        .muster(&["members", COMPUTER_PROJECT, "--on", "2015-11-16"])
        .ok();
    assert!(
        shown.stdout.contains("12345   Noah Williams"),
        "{}",
        shown.stdout
    );
    let groups = sandbox
        .muster(&["groups", "12345", "--on", "2015-11-16", "--format", "json"])
        .ok()
        .json();
    assert_eq!(groups["names"][COMPUTER_PROJECT], "Computer Project (M8)");
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, "2015-11-15"),
        Vec::<String>::new()
    );
}

#[test]
fn old_fault_two_sessions_on_one_day_merge_and_a_rerun_records_nothing() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345", "12346"])
        .computer_project(2, 0, &["12346", "12347"])
        .write(&sandbox, "export");
    let first = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(first["joins"], 3);
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, &day(0, 1)),
        ["12345", "12346", "12347"]
    );
    for _ in 0..2 {
        let again = import(&sandbox, &dir, &[]).ok();
        assert!(
            again.stdout.contains("nothing to record"),
            "{}",
            again.stdout
        );
        let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
        assert_eq!(
            (json["facts"].clone(), json["commit"].clone()),
            (0.into(), serde_json::Value::Null)
        );
    }
}

#[test]
fn old_fault_a_pupil_listed_twice_counts_once() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345", "12345"])
        .write(&sandbox, "export");
    let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(json["joins"], 1);
    assert_eq!(json["warnings"]["duplicate_pupil_rows"], 1);
}

#[test]
fn old_fault_a_remove_and_readd_on_one_day_leaves_one_span() {
    let sandbox = Sandbox::new();
    // Week 1 has two sessions: Noah is missing from one of them (the old loader removed
    // and re-added him, leaving two rows).
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .computer_project(2, 1, &["12346"])
        .computer_project(3, 1, &["12345", "12346"])
        .computer_project(4, 2, &["12345"])
        .write(&sandbox, "export");
    import(&sandbox, &dir, &[]).ok();
    let history = sandbox
        .muster(&["history", "--member", "12345", "--format", "json"])
        .ok()
        .json();
    let spans = history.as_array().unwrap();
    assert_eq!(spans.len(), 1, "{history}");
    assert_eq!(spans[0]["from"], day(0, 1));
    assert_eq!(spans[0]["until"], serde_json::Value::Null);
}

#[test]
fn old_fault_sessions_without_staff_are_recorded_with_a_warning() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .occurrence(1, "500", "Chess Club", 0, 2, &["12345"])
        .without_staff()
        .occurrence(2, "501", "Choir", 0, 2, &["12346"])
        .write(&sandbox, "export");
    let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(json["warnings"]["occurrences_without_staff"], 1);
    assert_eq!(members(&sandbox, "500", &day(0, 2)), ["12345"]);
    // A staff ident staff.csv does not know is no staff either.
    let mut export = Export::new().occurrence(3, "502", "Drama", 0, 2, &["12347"]);
    export.occurrences[0] = export.occurrences[0].replace(",358,", ",999,");
    let dir = export.write(&sandbox, "unknown-staff");
    let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(json["warnings"]["occurrences_without_staff"], 1);
    assert_eq!(members(&sandbox, "502", &day(0, 2)), ["12347"]);
}

#[test]
fn old_fault_pupils_missing_from_pupil_csv_are_recorded_with_a_warning() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345", "77777"])
        .write(&sandbox, "export");
    let run = import(&sandbox, &dir, &[]).ok();
    assert!(run.stdout.contains("+ 77777\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("pupils not in pupil file: 1"),
        "{}",
        run.stdout
    );
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, &day(0, 1)),
        ["12345", "77777"]
    );
}

/// Warnings name what they count: which pupils are missing from `pupil.csv`, which
/// sessions had no staff (JSON always; the table with `--verbose`); `--quiet` prints one
/// summary line and sends the warnings to standard error.
#[test]
fn warnings_name_what_they_count_and_quiet_keeps_to_one_line() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345", "77777", "66666"])
        .occurrence(2, "500", "Chess Club", 0, 2, &["12346"])
        .without_staff()
        .write(&sandbox, "export");
    let dry = import(&sandbox, &dir, &["--dry-run", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        dry["warned"]["pupils_not_in_pupil_file"],
        serde_json::json!(["66666", "77777"])
    );
    assert_eq!(
        dry["warned"]["occurrences_without_staff"],
        serde_json::json!([{"occurrence": 2, "group": "500", "date": day(0, 2)}])
    );
    let plain = import(&sandbox, &dir, &["--dry-run"]).ok();
    assert!(
        plain.stdout.contains("  pupils not in pupil file: 2\n"),
        "{}",
        plain.stdout
    );
    assert!(plain.stdout.contains("--verbose names"), "{}", plain.stdout);
    let verbose = import(&sandbox, &dir, &["--dry-run", "--verbose"]).ok();
    assert!(
        verbose
            .stdout
            .contains("  pupils not in pupil file: 2\n    pupil 66666\n    pupil 77777\n"),
        "{}",
        verbose.stdout
    );
    let session = format!(
        "  occurrences without staff: 1\n    RTRWGroupsIdent 2: group 500 on {}\n",
        day(0, 2)
    );
    assert!(verbose.stdout.contains(&session), "{}", verbose.stdout);
    assert!(
        !verbose.stdout.contains("--verbose names"),
        "{}",
        verbose.stdout
    );

    let named = import(&sandbox, &dir, &["--dry-run", "-q", "-v"]).ok();
    assert_eq!(named.stdout.lines().count(), 1, "{}", named.stdout);
    assert!(
        named.stderr.contains(
            "pupils not in pupil file: 2\nmuster:   pupil 66666\nmuster:   pupil 77777\n"
        ),
        "{}",
        named.stderr
    );
    let quiet = import(&sandbox, &dir, &["--quiet"]).ok();
    assert_eq!(quiet.stdout.lines().count(), 1, "{}", quiet.stdout);
    assert!(
        quiet.stdout.starts_with("commit 1: recorded "),
        "{}",
        quiet.stdout
    );
    let warned: Vec<&str> = quiet.stderr.lines().collect();
    assert_eq!(
        warned,
        [
            "muster: warning (recorded all the same): pupils not in pupil file: 2",
            "muster: warning (recorded all the same): occurrences without staff: 1",
        ],
        "{}",
        quiet.stderr
    );
    let again = import(&sandbox, &dir, &["-q", "-v"]).ok();
    assert_eq!(again.stdout.lines().count(), 1, "{}", again.stdout);
    assert!(
        again.stdout.starts_with("nothing to record"),
        "{}",
        again.stdout
    );
    // Recognised from its digests, the export is not read again: nothing to warn about.
    assert_eq!(again.stderr, "");
    let refused = import(&sandbox, &dir, &["--quiet", "--format", "json"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

#[test]
fn old_fault_an_activity_that_stops_ends_the_day_after_its_last_session() {
    let sandbox = Sandbox::new();
    // Computer Project meets in weeks 0 and 1; Choir goes on to week 3.
    let mut export = Export::new()
        .computer_project(1, 0, &["12345"])
        .computer_project(2, 1, &["12345", "12346"]);
    for week in 0..4 {
        export = export.occurrence(10 + week as u32, "501", "Choir", week, 1, &["12347"]);
    }
    let run = import(&sandbox, &export.write(&sandbox, "export"), &[]).ok();
    // The old loader only logged totals; muster names every pupil who leaves, with the
    // last day of their membership: the day of the last session (the end is the day after).
    let last_session = day(1, 1);
    assert!(
        run.stdout.contains(&format!(
            "{last_session}  Computer Project (M8)  - Noah Williams (12345) (last day)\n"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 groups ended"), "{}", run.stdout);
    let check = |on: String, expected: &[&str]| {
        assert_eq!(
            members(&sandbox, COMPUTER_PROJECT, &on),
            expected,
            "on {on}"
        );
    };
    check(day(1, 1), &["12345", "12346"]); // the last session
    check(day(1, 2), &[]); // ended the day after
    check(day(3, 1), &[]);
    // Choir's last session is the horizon: it goes on.
    assert_eq!(members(&sandbox, "501", &day(5, 0)), ["12347"]);
}

#[test]
fn the_end_waits_for_fourteen_days_of_others_meeting() {
    let check = |choir_weeks: usize, ended: bool| {
        let sandbox = Sandbox::new();
        let mut export = Export::new().computer_project(1, 0, &["12345"]);
        for week in 0..choir_weeks {
            export = export.occurrence(10 + week as u32, "501", "Choir", week, 1, &["12347"]);
        }
        import(&sandbox, &export.write(&sandbox, "export"), &[]).ok();
        let expected: &[&str] = if ended { &[] } else { &["12345"] };
        assert_eq!(
            members(&sandbox, COMPUTER_PROJECT, &day(4, 0)),
            expected,
            "Choir meeting {choir_weeks} weeks"
        );
    };
    check(1, false);
    check(2, false); // 7 days later: a missed week is not an end
    check(3, true); // 14 days later: ended
}

#[test]
fn a_late_week_gives_the_same_memberships_as_in_order_and_an_activity_that_returns_reopens() {
    let weekly = |week: usize, with_computer_project: bool| {
        let mut export =
            Export::new().occurrence(10 + week as u32, "501", "Choir", week, 1, &["12347"]);
        if with_computer_project {
            export = export.computer_project(
                20 + week as u32,
                week,
                &["12345", "12346"][..week % 2 + 1],
            );
        }
        export
    };
    // Computer Project meets weeks 0, 1 and 4: absent long enough in between to end.
    let plan = [
        (0, true),
        (1, true),
        (2, false),
        (3, false),
        (4, true),
        (5, false),
    ];
    let in_order = Sandbox::new();
    let late = Sandbox::new();
    for &(week, computer) in &plan {
        let dir = weekly(week, computer).write(&in_order, &format!("w{week}"));
        import(&in_order, &dir, &[]).ok();
    }
    for &index in &[0, 2, 3, 5, 4, 1] {
        let (week, computer) = plan[index];
        let dir = weekly(week, computer).write(&late, &format!("w{week}"));
        import(&late, &dir, &[]).ok();
    }
    for week in 0..FIXTURE_WEEKS {
        for offset in 0..7 {
            let on = day(week, offset);
            assert_eq!(
                members(&in_order, COMPUTER_PROJECT, &on),
                members(&late, COMPUTER_PROJECT, &on),
                "on {on}"
            );
        }
    }
    assert_eq!(members(&late, COMPUTER_PROJECT, &day(4, 1)), ["12345"]);
    assert_eq!(members(&late, COMPUTER_PROJECT, &day(5, 6)), ["12345"]);
}

#[test]
fn a_dry_run_prints_the_changes_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .write(&sandbox, "export");
    let run = import(&sandbox, &dir, &["--dry-run"]).ok();
    assert!(
        run.stdout.contains("+ Noah Williams (12345)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("nothing written"), "{}", run.stdout);
    // Nothing written: not even the ledger directory.
    assert!(!sandbox.db().exists());
    let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(json["commit"], 1);
}

#[test]
fn json_gives_counts_warnings_and_named_changes() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .write(&sandbox, "export");
    let json = import(&sandbox, &dir, &["--format", "json"]).ok().json();
    assert_eq!(json["facts"], 1);
    assert_eq!(json["observed_dates"], 1);
    assert_eq!(json["warnings"]["pupils_not_in_pupil_file"], 0);
    assert_eq!(
        json["changes"],
        serde_json::json!([{
            "date": "2015-11-16",
            "group": "34340",
            "group_name": "Computer Project (M8)",
            "member": "12345",
            "member_name": "Noah Williams",
            "change": "join",
        }])
    );
}

#[test]
fn start_skips_sessions_before_the_sunday_of_its_week() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .computer_project(2, 1, &["12346"])
        .write(&sandbox, "export");
    // Wednesday of week 1: its Sunday is day(1, 0), so week 1's Monday still counts.
    let json = import(&sandbox, &dir, &["--start", &day(1, 3), "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["skipped_before_start"], 1);
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, &day(0, 1)),
        Vec::<String>::new()
    );
    assert_eq!(members(&sandbox, COMPUTER_PROJECT, &day(1, 1)), ["12346"]);
    let bad = import(&sandbox, &dir, &["--start", "16/11/2015"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// Importing the same files read the same way again is recognised from their digests
/// before they are parsed, and records nothing; the start date is part of how they were
/// read, so the same files without it are new input.
#[test]
fn a_re_import_of_the_same_files_is_recognised_before_reading_them() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .computer_project(2, 1, &["12346"])
        .write(&sandbox, "export");
    let start = ["--start", &day(1, 3)];
    let json_args = |extra: &[&'static str]| {
        let mut args = extra.to_vec();
        args.extend(["--format", "json"]);
        args
    };
    let first = import(&sandbox, &dir, &json_args(&[])).ok().json();
    assert!(first["already_recorded"].is_null(), "{first}");
    let commits = |sandbox: &Sandbox| sandbox.muster(&["log"]).ok().stdout.lines().count();
    let after_first = commits(&sandbox);
    let again = import(&sandbox, &dir, &[]).ok();
    assert!(
        again.stdout.contains("commit 1 recorded this same export"),
        "{}",
        again.stdout
    );
    assert_eq!(commits(&sandbox), after_first, "nothing appended");

    let with_start = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .computer_project(2, 1, &["12346"])
        .write(&with_start, "export");
    let mut args = start.to_vec();
    args.extend(["--format", "json"]);
    let first = import(&with_start, &dir, &args).ok().json();
    assert_eq!(first["commit"], 1);
    assert_eq!(
        import(&with_start, &dir, &args).ok().json()["already_recorded"],
        1
    );
    // Without the start date the earlier week is read too: new input, a new commit.
    let whole = import(&with_start, &dir, &json_args(&[])).ok().json();
    assert_eq!(
        (whole["commit"].clone(), whole["already_recorded"].clone()),
        (2.into(), serde_json::Value::Null)
    );
    assert_eq!(
        members(&with_start, COMPUTER_PROJECT, &day(0, 1)),
        ["12345"]
    );
    assert_eq!(
        import(&with_start, &dir, &json_args(&[])).ok().json()["already_recorded"],
        2
    );
}

#[test]
fn names_come_out_right_from_windows_1252_and_bom_files() {
    let sandbox = Sandbox::new();
    let mut export = Export::new().computer_project(1, 0, &["12345", "12346"]);
    let pupils = "PupOrigNum,Pu_Surname,Pu_Firstname,PupReportName\n12345,Ó Briain,Zoë,\n12346,Núñez,Siobhán,Siobhán Núñez\n";
    export.pupils = encoding_rs::WINDOWS_1252.encode(pupils).0.into_owned();
    // A byte-order mark before the header: the first column must still be found.
    export.occurrence_header = format!("\u{FEFF}{OCCURRENCE_HEADER}");
    let dir = export.write(&sandbox, "export");
    let run = import(&sandbox, &dir, &[]).ok();
    assert!(
        run.stdout.contains("+ Zoë Ó Briain (12345)"),
        "{}",
        run.stdout
    );
    let json = sandbox
        .muster(&[
            "members",
            COMPUTER_PROJECT,
            "--on",
            &day(0, 1),
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(json["names"]["12345"], "Zoë Ó Briain");
    assert_eq!(json["names"]["12346"], "Siobhán Núñez");
}

#[test]
fn an_unresolved_date_ident_takes_the_week_from_the_rota_week() {
    let sandbox = Sandbox::new();
    let mut export = Export::new().computer_project(1, 2, &["12345"]);
    export.occurrences[0] =
        export.occurrences[0].replace(&format!(",{},0,0,", day_ident(2, 3)), ",1,0,0,");
    let dir = export.write(&sandbox, "export");
    import(&sandbox, &dir, &[]).ok();
    assert_eq!(members(&sandbox, COMPUTER_PROJECT, &day(2, 1)), ["12345"]);
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, &day(2, 0)),
        Vec::<String>::new()
    );
}

/// A holiday week's export lists no sessions (`rtrwgroups.csv` and `rtrwpupils.csv` hold a
/// header only): a normal export that observes nothing and says so. Sessions that list no
/// pupils at all observe their groups empty, as they do beside a pupil row of another
/// week; empty reference files are still refused.
#[test]
fn a_holiday_week_is_a_normal_export() {
    let sandbox = Sandbox::new();
    let term = Export::new().computer_project(1, 0, &["12345"]);
    import(&sandbox, &term.write(&sandbox, "term"), &[]).ok();
    let commits = |sandbox: &Sandbox| sandbox.muster(&["log"]).ok().stdout.lines().count();
    let before = commits(&sandbox);
    let holiday = Export::new().write(&sandbox, "holiday");
    let run = import(&sandbox, &holiday, &[]).ok();
    assert!(
        run.stdout.contains("no sessions in this export"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("nothing to record"), "{}", run.stdout);
    let json = import(&sandbox, &holiday, &["--format", "json"])
        .ok()
        .json();
    assert_eq!(
        (json["occurrences"].clone(), json["facts"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(commits(&sandbox), before, "a holiday week records nothing");
    assert_eq!(members(&sandbox, COMPUTER_PROJECT, &day(0, 1)), ["12345"]);

    // Week 1's session lists nobody (no pupil rows at all): the group is observed empty.
    let empty = Export::new().computer_project(2, 1, &[]);
    import(&sandbox, &empty.write(&sandbox, "empty"), &[]).ok();
    assert_eq!(
        members(&sandbox, COMPUTER_PROJECT, &day(1, 1)),
        Vec::<String>::new()
    );

    let mut no_days = Export::new().computer_project(1, 0, &["12345"]);
    no_days.days = "DateIdent,Days\n".to_string();
    refused(&no_days, &["days.csv: the file has a header but no rows"]);
    let mut no_pupils = Export::new().computer_project(1, 0, &["12345"]);
    no_pupils.pupils = b"PupOrigNum,Pu_Surname,Pu_Firstname\n".to_vec();
    refused(
        &no_pupils,
        &["pupil.csv: the file has a header but no rows"],
    );
}

/// docs/sb.md promises that a half-term ends nothing: one cancelled session right after
/// a week when nobody met is one missed week (18 calendar days, 11 school days), not an
/// end, in whatever order the weeks arrive.
#[test]
fn a_cancelled_session_right_after_a_half_term_ends_nothing() {
    let week = |week: usize| {
        let mut export = Export::new();
        // Computer Project meets in weeks 0 and 3; its session in week 2 is cancelled.
        if week == 0 || week == 3 {
            export = export.computer_project(20 + week as u32, week, &["12345"]);
        }
        // Week 1 is half-term: nobody meets. Choir meets every weekday otherwise.
        if week != 1 {
            for weekday in 1..=5 {
                let ident = 100 + 10 * week as u32 + weekday as u32;
                export = export.occurrence(ident, "501", "Choir", week, weekday, &["12347"]);
            }
        }
        export
    };
    // Week 1 (half-term) has no sessions; its export is a holiday week's, imported in one
    // of the orders.
    for order in [&[0, 1, 2, 3][..], &[3, 2, 0], &[2, 0, 3]] {
        let sandbox = Sandbox::new();
        for (step, &w) in order.iter().enumerate() {
            // Weeks 0 to 2 in, week 3 still to come: one session missed since half-term.
            if step + 1 == order.len() && w == 3 {
                assert_eq!(
                    members(&sandbox, COMPUTER_PROJECT, &day(2, 5)),
                    if w == 3 {
                        vec!["12345".to_string()]
                    } else {
                        Vec::new()
                    },
                    "order {order:?}, before week {w}"
                );
            }
            import(&sandbox, &week(w).write(&sandbox, &format!("w{w}")), &[]).ok();
        }
        for on in [day(1, 3), day(2, 1), day(2, 5), day(3, 1)] {
            assert_eq!(
                members(&sandbox, COMPUTER_PROJECT, &on),
                ["12345"],
                "order {order:?}, on {on}"
            );
        }
    }
}

/// Import A; record a fact, or a correcting export B, that changes a day A observed;
/// import A again. A was recorded, and what was recorded after it stands: A appends
/// nothing, byte for byte (recognised before parsing) or in other bytes (recognised from
/// what it says), and the two give the same ledger.
#[test]
fn a_re_import_after_a_later_change_records_nothing_whatever_its_bytes() {
    let a = Export::new().computer_project(1, 0, &["12345", "12346"]);
    let b = Export::new().computer_project(1, 0, &["12345", "12347"]);
    let crlf = |dir: &Path| {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
        }
    };
    let mut ledgers = Vec::new();
    for later in ["fact", "export"] {
        for converted in [false, true] {
            let sandbox = Sandbox::new();
            import(&sandbox, &a.write(&sandbox, "a"), &[]).ok();
            if later == "fact" {
                let fact = sandbox.write(
                    "fact.csv",
                    &format!(
                        "date,group,member,change\n{},{COMPUTER_PROJECT},12346,leave\n",
                        day(0, 1)
                    ),
                );
                sandbox
                    .muster(&["import", "facts", fact.to_str().unwrap()])
                    .ok();
            } else {
                import(&sandbox, &b.write(&sandbox, "b"), &[]).ok();
            }
            let expected = members(&sandbox, COMPUTER_PROJECT, &day(0, 1));
            let again = sandbox.path("again");
            a.write(&sandbox, "again");
            if converted {
                crlf(&again);
            }
            let json = import(&sandbox, &again, &["--format", "json"]).ok().json();
            assert_eq!(
                json["already_recorded"], 1,
                "{later}, converted {converted}: {json}"
            );
            assert_eq!(json["facts"], 0);
            assert_eq!(members(&sandbox, COMPUTER_PROJECT, &day(0, 1)), expected);
            let history = sandbox
                .muster(&["history", "--group", COMPUTER_PROJECT, "--format", "json"])
                .ok()
                .json();
            let commits = sandbox.muster(&["log"]).ok().stdout.lines().count();
            ledgers.push((later, converted, history, commits));
        }
    }
    for pair in ledgers.chunks(2) {
        assert_eq!(
            (&pair[0].2, pair[0].3),
            (&pair[1].2, pair[1].3),
            "{}: the same bytes and other bytes gave different ledgers",
            pair[0].0
        );
    }
}

/// Runs an import expected to fail on bad input; checks the message and that nothing was
/// written (the ledger is not even created).
fn refused(export: &Export, expected: &[&str]) {
    let sandbox = Sandbox::new();
    let dir = export.write(&sandbox, "export");
    let run = import(&sandbox, &dir, &[]);
    assert_eq!(run.code, 2, "stdout {}\nstderr {}", run.stdout, run.stderr);
    for part in expected {
        assert!(run.stderr.contains(part), "{part:?} not in {}", run.stderr);
    }
    assert!(!sandbox.db().exists(), "the ledger was created");
}

#[test]
fn a_missing_file_is_named_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let dir = Export::new()
        .computer_project(1, 0, &["12345"])
        .write(&sandbox, "export");
    std::fs::remove_file(dir.join("rtrwpupils.csv")).unwrap();
    let run = import(&sandbox, &dir, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("rtrwpupils.csv: no such file"),
        "{}",
        run.stderr
    );
    let file = sandbox.write("not-a-directory.csv", "Days,DateIdent\n");
    let run = import(&sandbox, &file, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a directory"), "{}", run.stderr);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_missing_column_is_named_and_nothing_is_written() {
    let mut export = Export::new().computer_project(1, 0, &["12345"]);
    export.occurrence_header = OCCURRENCE_HEADER.replace("GroupIdent,", "Group,");
    refused(
        &export,
        &[
            "line 1 of",
            "rtrwgroups.csv",
            "no column named \"GroupIdent\"",
        ],
    );
    let mut export = Export::new().computer_project(1, 0, &["12345"]);
    export.pupils = b"PupOrigNum,Pu_Surname\n12345,Williams\n".to_vec();
    refused(&export, &["pupil.csv", "\"Pu_Firstname\""]);
}

#[test]
fn impossible_days_are_refused_with_file_line_and_column() {
    let check = |text: &str| {
        let mut export = Export::new().computer_project(1, 0, &["12345"]);
        // Line 3 of days.csv is the second day (DateIdent 4732).
        export.days = export.days.replacen("16/11/2015 00:00:00", text, 1);
        refused(
            &export,
            &["line 3, column 2 (Days) of", "days.csv", "is not a date"],
        );
    };
    check("31/02/2016");
    check("2015-02-29");
    check("16/11/0000");
    check("16/11/99999");
    check("16.11.2015");
    check("");
}

#[test]
fn malformed_rows_are_refused_with_file_line_and_column() {
    let check = |from: &str, to: &str, expected: &[&str]| {
        let mut export = Export::new().computer_project(1, 0, &["12345"]);
        export.occurrences[0] = export.occurrences[0].replacen(from, to, 1);
        refused(&export, expected);
    };
    check(
        ",34340,1,",
        ",x,1,",
        &["line 2, column 3 (GroupIdent)", "not a whole number"],
    );
    check(",34340,1,", ",34340,9,", &["line 2, column 4 (GroupDay)"]);
    check(
        ",34340,1,",
        ",34340,,",
        &["line 2, column 4 (GroupDay)", "blank"],
    );
}

#[test]
fn an_unknown_week_is_refused() {
    let mut export = Export::new().computer_project(1, 0, &["12345"]);
    export.occurrences[0] = export.occurrences[0]
        .replace(",663,", ",999,")
        .replace(&format!(",{},0,0,", day_ident(0, 3)), ",1,0,0,");
    refused(
        &export,
        &["line 2, column 14 (DateIdent)", "week is unknown"],
    );
}

#[test]
fn gen_writes_the_same_export_for_the_same_seed() {
    let sandbox = Sandbox::new();
    let args = |dir: &str, seed: &str| -> Vec<String> {
        [
            "gen",
            "sb",
            dir,
            "--seed",
            seed,
            "--pupils",
            "50",
            "--activities",
            "8",
            "--weeks",
            "7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for (dir, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
        let args = args(dir, seed);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sandbox.muster(&args).ok();
    }
    let read = |dir: &str| sb::ExportFiles::read_dir(&sandbox.path(dir)).unwrap().files;
    assert_eq!(read("a"), read("b"));
    assert_ne!(read("a"), read("c"));
    let header = String::from_utf8(read("a")["rtrwgroups.csv"].clone()).unwrap();
    assert!(header.starts_with(&format!("\u{FEFF}{OCCURRENCE_HEADER}\n")));
    let run = import(&sandbox, &sandbox.path("a"), &[]).ok();
    assert!(run.stdout.contains("commit 1"), "{}", run.stdout);
    sandbox.muster(&["verify"]).ok();
}

#[test]
fn names_are_updated_when_they_change() {
    let ledger_store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(ledger_store)).unwrap();
    let sandbox = Sandbox::new();
    let first = Export::new().computer_project(1, 0, &["12345"]);
    let export = sb::read_dir(&first.write(&sandbox, "one"), &sb::Options::default()).unwrap();
    let report = muster::ledger::sb::import(&mut ledger, &export, false).unwrap();
    assert_eq!(report.names_updated, 4); // the group and three pupils
    let mut renamed = Export::new().occurrence(
        2,
        COMPUTER_PROJECT,
        "Computer Science Project (M8)",
        1,
        1,
        &["12345"],
    );
    renamed.pupils = PUPILS
        .replace("Noah Williams", "Noah Williams-Smith")
        .into_bytes();
    let export = sb::read_dir(&renamed.write(&sandbox, "two"), &sb::Options::default()).unwrap();
    let report = muster::ledger::sb::import(&mut ledger, &export, false).unwrap();
    assert_eq!(report.names_updated, 2);
    let group = GroupId::new(COMPUTER_PROJECT).unwrap();
    assert_eq!(
        ledger.group_name(&group).unwrap().as_deref(),
        Some("Computer Science Project (M8)")
    );
    assert_eq!(
        ledger
            .member_name(&MemberId::new("12345").unwrap())
            .unwrap()
            .as_deref(),
        Some("Noah Williams-Smith")
    );
}

/// Every group's members on every day from `first` to `last`.
fn memberships(
    ledger: &Ledger,
    first: Date,
    last: Date,
) -> BTreeMap<(GroupId, Date), Vec<MemberId>> {
    let mut all = BTreeMap::new();
    for group in ledger.group_ids().unwrap() {
        let mut on = first;
        while on <= last {
            all.insert(
                (group.clone(), on),
                membership::members(ledger, &group, on, None).unwrap(),
            );
            on = on.add_days(1).unwrap();
        }
    }
    all
}

fn memory_ledger() -> Ledger {
    Ledger::with_store(Box::new(MemoryStore::default())).unwrap()
}

fn import_files(ledger: &mut Ledger, files: &sb::ExportFiles) -> muster::ImportOutcome {
    let export = sb::parse(files, &sb::Options::default()).unwrap();
    muster::ledger::sb::import(ledger, &export, false)
        .unwrap()
        .outcome
}

/// Imports `files` planned in full: without the files' digests, the ledger cannot tell
/// that it recorded them before, so this shows what the plan itself makes of a re-import.
fn import_planned(ledger: &mut Ledger, files: &sb::ExportFiles) -> muster::ImportOutcome {
    let mut export = sb::parse(files, &sb::Options::default()).unwrap();
    export.files.clear();
    export.statements = None;
    let outcome = muster::ledger::sb::import(ledger, &export, false)
        .unwrap()
        .outcome;
    assert_eq!(outcome.already_recorded, None);
    outcome
}

/// The same export in other bytes, each file alike: line endings swapped (LF and CRLF), a
/// byte-order mark added or taken off, and Windows-1252 where every character has a byte.
fn re_encodings(files: &sb::ExportFiles) -> Vec<sb::ExportFiles> {
    let text = |bytes: &[u8]| muster::import::text::decode_text(bytes);
    let each = |change: &dyn Fn(&[u8]) -> Vec<u8>| {
        let mut variant = files.clone();
        for bytes in variant.files.values_mut() {
            *bytes = change(bytes);
        }
        variant
    };
    vec![
        each(&|bytes| {
            let text = text(bytes);
            if text.contains("\r\n") {
                text.replace("\r\n", "\n").into_bytes()
            } else {
                text.replace('\n', "\r\n").into_bytes()
            }
        }),
        each(&|bytes| match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => rest.to_vec(),
            None => [b"\xEF\xBB\xBF", bytes].concat(),
        }),
        each(&|bytes| {
            let text = text(bytes);
            let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
            if unmappable {
                bytes.to_vec()
            } else {
                encoded.into_owned()
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any split of an export into runs of weeks, imported in any order, gives the same
    /// memberships on every day as the whole export; re-importing appends nothing; and
    /// every pupil of every session is a member of its group that day.
    #[test]
    fn any_split_in_any_order_gives_the_same_memberships(
        seed in 0u64..10_000,
        activities in 4usize..16,
        weeks in 4usize..11,
        cuts in proptest::collection::vec(any::<bool>(), 8),
        order_seed in any::<u64>(),
    ) {
        let generated = generate::generate(seed, generate::Scale { pupils: 40, activities, weeks });
        let whole_files = generated.files();
        let Ok(whole) = sb::parse(&whole_files, &sb::Options::default()) else {
            // Every activity started and stopped without a session: nothing to import.
            return Ok(());
        };
        let mut whole_ledger = memory_ledger();
        muster::ledger::sb::import(&mut whole_ledger, &whole, false).unwrap();

        // Runs of weeks, cut where `cuts` says.
        let mut chunks = Vec::new();
        let mut start = 0;
        for week in 1..=generated.weeks() {
            if week == generated.weeks() || cuts[week % cuts.len()] {
                chunks.push(start..week);
                start = week;
            }
        }
        // Holiday weeks' exports (no sessions at all) arrive among the others.
        chunks.push(0..0);
        chunks.push(generated.weeks()..generated.weeks());
        let mut rng = generate::SplitMix64::new(order_seed);
        rng.shuffle(&mut chunks);
        let mut split_ledger = memory_ledger();
        let mut imported = Vec::new();
        for chunk in chunks {
            let files = generated.files_for_weeks(chunk);
            // Every export of a week SB would make reads, a holiday week's included.
            let export = sb::parse(&files, &sb::Options::default());
            prop_assert!(export.is_ok(), "{:?}", export.err());
            import_files(&mut split_ledger, &files);
            imported.push(files);
        }

        let (first, last) = generated.span();
        let last = last.add_days(muster::plan::lifecycle::END_AFTER_DAYS + 7).unwrap();
        let expected = memberships(&whole_ledger, first, last);
        prop_assert_eq!(&memberships(&split_ledger, first, last), &expected);

        for files in &imported {
            prop_assert!(import_planned(&mut split_ledger, files).nothing_to_record());
            prop_assert!(import_files(&mut split_ledger, files).nothing_to_record());
        }

        // Later commits touch the same groups: one pupil of every third session leaves on
        // that session's day. Re-importing any weekly export then, in its own bytes or
        // re-encoded, appends nothing: it was recorded, and the later commit stands.
        let later: Vec<Fact> = whole
            .occurrences
            .iter()
            .enumerate()
            .filter(|(_, (_, pupils))| !pupils.is_empty())
            .step_by(3)
            .filter_map(|(index, ((group, date), _))| {
                Some(Fact {
                    date: *date,
                    group: group.clone(),
                    member: whole.occurrence_pupils(index).next()?.clone(),
                    change: Change::Leave,
                })
            })
            .collect();
        let source = Source::new(SourceKind::Facts, vec![SourceFile::new("later.csv", b"later")]);
        let batch = Batch { observations: Vec::new(), facts: later, nesting: Vec::new() };
        split_ledger.import(&batch, source, false).unwrap();
        let settled = memberships(&split_ledger, first, last);
        let head = split_ledger.head_seq();
        for files in &imported {
            for variant in re_encodings(files) {
                let outcome = import_files(&mut split_ledger, &variant);
                prop_assert!(outcome.nothing_to_record(), "{:?}", outcome);
            }
        }
        prop_assert_eq!(split_ledger.head_seq(), head);
        prop_assert_eq!(&memberships(&split_ledger, first, last), &settled);
        prop_assert!(import_planned(&mut whole_ledger, &whole_files).nothing_to_record());
        let again = import_files(&mut whole_ledger, &whole_files);
        prop_assert_eq!(again.already_recorded, Some(1));
        prop_assert!(again.nothing_to_record());

        for (index, ((group, date), _)) in whole.occurrences.iter().enumerate() {
            let listed: Vec<MemberId> = whole.occurrence_pupils(index).cloned().collect();
            prop_assert_eq!(&expected[&(group.clone(), *date)], &listed);
        }
        let groups: BTreeSet<GroupId> = whole.occurrences.iter().map(|((g, _), _)| g.clone()).collect();
        prop_assert_eq!(groups.into_iter().collect::<Vec<_>>(), whole_ledger.group_ids().unwrap());
    }
}

/// `import sb` plans an export's snapshots from the export's own lists
/// (`plan_with_snapshots` with the lifecycle observations alone); that must record what
/// planning the same snapshots as a batch of sets (`sb_batch`) records, on an empty ledger
/// and after earlier weeks, also for a list out of order and a (group, date) given twice.
#[test]
fn snapshots_planned_from_the_export_lists_plan_as_a_batch_of_sets_does() {
    use muster::plan::{lifecycle, plan, plan_with_snapshots};
    use muster::projection::GroupState;
    use std::sync::Arc;

    let sandbox = tempfile::tempdir().expect("a temporary directory");
    let generated = generate::generate(
        5,
        generate::Scale {
            pupils: 60,
            activities: 10,
            weeks: 8,
        },
    );
    let read = |name: &str, weeks: std::ops::Range<usize>| {
        let dir = sandbox.path().join(name);
        generated
            .files_for_weeks(weeks)
            .write_dir(&dir)
            .expect("write the export");
        sb::read_dir(&dir, &sb::Options::default()).expect("read the export")
    };
    let (early, late) = (read("early", 0..4), read("late", 4..8));
    let mut odd = late.occurrences.clone();
    odd[0].1.reverse();
    let twice = odd[1].clone();
    odd.insert(
        2,
        (twice.0, twice.1.iter().rev().take(2).cloned().collect()),
    );
    assert!(
        odd[0].1.len() > 1,
        "the first occurrence lists several pupils"
    );
    // The same lists over the pupils in reverse order: planning must not take the
    // positions for id order.
    let reversed: Vec<MemberId> = late.pupils.iter().rev().cloned().collect();
    let last = late.pupils.len() as u32 - 1;
    let over_reversed: Vec<_> = late
        .occurrences
        .iter()
        .map(|(key, list)| (key.clone(), list.iter().map(|p| last - p).collect()))
        .collect();
    let snapshots_of = |lists| muster::plan::Snapshots {
        pupils: &late.pupils,
        lists,
    };

    type States = std::collections::BTreeMap<GroupId, Arc<GroupState>>;
    let source = SourceKind::SchoolBase;
    let mut before = States::new();
    plan(
        &mut before,
        &lifecycle::sb_batch([], early.snapshots()),
        1,
        source,
    );
    let known = |states: &States| -> Vec<(GroupId, GroupState)> {
        states
            .iter()
            .map(|(group, state)| (group.clone(), GroupState::clone(state)))
            .collect()
    };
    let reversed_snapshots = muster::plan::Snapshots {
        pupils: &reversed,
        lists: &over_reversed,
    };
    for (start, snapshots) in [
        (States::new(), late.snapshots()),
        (before.clone(), late.snapshots()),
        (before.clone(), snapshots_of(&odd)),
        (States::new(), reversed_snapshots),
        (before, reversed_snapshots),
    ] {
        let groups = known(&start);
        let pairs = || groups.iter().map(|(group, state)| (group.clone(), state));
        let (mut as_sets, mut as_lists) = (start.clone(), start.clone());
        let expected = plan(
            &mut as_sets,
            &lifecycle::sb_batch(pairs(), snapshots),
            2,
            source,
        );
        let lifecycle_only = lifecycle::lifecycle_batch(pairs(), snapshots);
        let got = plan_with_snapshots(&mut as_lists, &lifecycle_only, snapshots, 2, source);
        assert!(!expected.is_empty(), "the later weeks change something");
        assert_eq!(got, expected, "the records");
        assert_eq!(as_lists, as_sets, "the planned states");
    }
}
