//! The scenarios: each builds ledgers with the `muster` command, syncs them, and compares
//! the database with what the ledger answers.

use std::ops::Range;
use std::path::PathBuf;

use muster::import::sb::generate::{generate, Generated, Scale};

use crate::database::{column, expected_rows, Database, Server, TenantRows};
use std::process::Command;

use crate::support::{assert_code, muster_command, run_in, Rng, Run, Sandbox};

/// A generated school and a ledger its weekly exports are imported into.
pub struct School {
    pub sandbox: Sandbox,
    generated: Generated,
    name: String,
}

impl School {
    pub fn new(seed: u64, scale: Scale, name: &str) -> School {
        School {
            sandbox: Sandbox::new(),
            generated: generate(seed, scale),
            name: name.to_string(),
        }
    }

    /// The ledger directory; its name is the tenant a sync uses by default.
    pub fn db(&self) -> PathBuf {
        self.sandbox.path(&self.name)
    }

    pub fn muster(&self, args: &[&str]) -> Run {
        run_in(self.sandbox.dir.path(), &self.db(), args)
    }

    /// Imports the export of teaching weeks `weeks`; returns the import's JSON report.
    pub fn import_weeks(&self, weeks: Range<usize>) -> serde_json::Value {
        let dir = self
            .sandbox
            .path(&format!("export-{}-{}", weeks.start, weeks.end));
        self.generated
            .files_for_weeks(weeks)
            .write_dir(&dir)
            .expect("write the export");
        self.muster(&[
            "import",
            "sb",
            dir.to_str().expect("UTF-8 path"),
            "--format",
            "json",
        ])
        .ok()
        .json()
    }

    /// `muster sync postgres` into `database`'s schema, with `extra` arguments.
    pub fn sync(&self, server: &Server, database: &Database, extra: &[&str]) -> Run {
        Run::from(
            self.sync_command(server, database, extra)
                .output()
                .expect("run muster sync"),
        )
    }

    /// The command `muster sync postgres` into `database`'s schema, with `extra` arguments.
    fn sync_command(&self, server: &Server, database: &Database, extra: &[&str]) -> Command {
        let mut args = vec!["sync", "postgres", "--url", &server.url];
        args.extend(["--schema", &database.schema]);
        args.extend(extra);
        muster_command(self.sandbox.dir.path(), self.db(), &args)
    }

    /// Asserts that the tenant's rows equal the ledger's answers now, and that random
    /// (group, date) and (member, date) probes answer in SQL as `members` and `groups` do.
    pub fn assert_synced(&self, database: &mut Database, tenant: &str, rng: &mut Rng) {
        let expected = expected_rows(&self.db());
        let rows = database.rows(tenant);
        assert_same(&rows, &expected, tenant);
        self.assert_probes(database, tenant, &expected, rng);
    }

    fn assert_probes(
        &self,
        database: &mut Database,
        tenant: &str,
        expected: &TenantRows,
        rng: &mut Rng,
    ) {
        let spans = expected.resolved_spans.iter().chain(&expected.spans);
        let (groups, members): (Vec<&String>, Vec<&String>) =
            spans.map(|span| (&span.0, &span.1)).unzip();
        let (first, last) = self.generated.span();
        let days = (last.days_from_ce() - first.days_from_ce()) as u64 + 1;
        for _ in 0..12 {
            let on = first
                .add_days(rng.below(days) as i64)
                .expect("a day of the year")
                .to_string();
            let group = groups[rng.below(groups.len() as u64) as usize];
            let member = members[rng.below(members.len() as u64) as usize];
            // `members` and `groups` resolve by default; `--direct` answers as `spans` holds.
            for (table, how) in [("resolved_spans", None), ("spans", Some("--direct"))] {
                let mut args = vec!["members", group, "--on", &on, "--format", "csv"];
                args.extend(how);
                let answer = self.muster(&args).ok();
                assert_eq!(
                    database.members_on(table, tenant, group, &on),
                    column(&answer.stdout, 0).into_iter().collect::<Vec<_>>(),
                    "{table}: members of {group} on {on}"
                );
                let mut args = vec!["groups", member, "--on", &on, "--format", "csv"];
                args.extend(how);
                let answer = self.muster(&args).ok();
                assert_eq!(
                    database.groups_on(table, tenant, member, &on),
                    column(&answer.stdout, 0).into_iter().collect::<Vec<_>>(),
                    "{table}: groups of {member} on {on}"
                );
            }
        }
    }
}

/// Asserts two tenants' rows are equal, naming the first difference.
pub fn assert_same(rows: &TenantRows, expected: &TenantRows, tenant: &str) {
    assert_eq!(rows.state, expected.state, "tenant {tenant}: sync state");
    assert_eq!(rows.commits, expected.commits, "tenant {tenant}: commits");
    assert_eq!(
        rows.names.len(),
        expected.names.len(),
        "tenant {tenant}: number of names"
    );
    assert_eq!(rows.names, expected.names, "tenant {tenant}: names");
    assert_eq!(
        rows.spans.len(),
        expected.spans.len(),
        "tenant {tenant}: number of spans"
    );
    assert_eq!(rows.spans, expected.spans, "tenant {tenant}: spans");
    assert_eq!(
        rows.resolved_spans, expected.resolved_spans,
        "tenant {tenant}: resolved spans"
    );
}

/// A small school: 8 teaching weeks (and a half-term), so that late weeks, ends and
/// take-backs happen.
pub const SMALL: Scale = Scale {
    pupils: 150,
    activities: 16,
    weeks: 8,
};

/// A school large enough that a first sync takes a while, so that kills land inside it.
pub const MEDIUM: Scale = Scale {
    pupils: 1_200,
    activities: 120,
    weeks: 12,
};

/// The number in a JSON report's field.
fn count(report: &serde_json::Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {report}"))
}

pub fn a_first_sync_a_late_week_and_a_take_back_reach_the_database(server: &Server) {
    let mut database = server.fresh("late_week");
    let mut rng = Rng::new(1);
    let school = School::new(1, SMALL, "school-one");
    let mut sync = |weeks: Range<usize>| {
        let report = school.import_weeks(weeks);
        let synced = school
            .sync(server, &database, &["--format", "json"])
            .ok()
            .json();
        school.assert_synced(&mut database, "school-one", &mut rng);
        (report, synced)
    };
    let (_, first) = sync(0..3);
    assert_eq!(first["replaced"], true, "{first}");
    let (report, _) = sync(5..8);
    assert!(
        count(&report, "groups_ended") > 0,
        "weeks 5 to 7 end a group: {report}"
    );
    // Weeks 3 and 4 arrive late: they change earlier spans and take an end back.
    let (report, late) = sync(3..5);
    assert!(
        count(&report, "ends_taken_back") > 0,
        "the late weeks take an end back: {report}"
    );
    assert!(
        count(&late, "spans_removed") > 0,
        "the late weeks change spans: {late}"
    );
    assert_eq!(late["replaced"], false, "{late}");
    assert_eq!(
        (
            late["from_commit"].as_u64(),
            late["through_commit"].as_u64()
        ),
        (Some(2), Some(3))
    );
}

pub fn a_second_run_changes_nothing(server: &Server) {
    let mut database = server.fresh("rerun");
    let school = School::new(2, SMALL, "school-two");
    school.import_weeks(0..4);
    school.sync(server, &database, &[]).ok();
    let before = database.row_versions("school-two");
    assert!(!before.is_empty());
    let again = school.sync(server, &database, &[]).ok();
    assert!(
        again
            .stdout
            .contains("up to date through commit 1; nothing changed"),
        "{}",
        again.stdout
    );
    // Importing the same export again records nothing, so there is nothing to sync either.
    school.import_weeks(0..4);
    school.sync(server, &database, &[]).ok();
    assert_eq!(
        database.row_versions("school-two"),
        before,
        "no row was written again"
    );
}

pub fn an_erasure_removes_the_name_and_keeps_the_spans(server: &Server) {
    let mut database = server.fresh("erasure");
    let mut rng = Rng::new(3);
    let school = School::new(3, SMALL, "school-three");
    school.import_weeks(0..4);
    school.sync(server, &database, &[]).ok();
    let rows = database.rows("school-three");
    let (_, member, _, _) = rows.spans[rows.spans.len() / 2].clone();
    let named = |rows: &TenantRows| {
        rows.names
            .iter()
            .any(|(kind, id, _)| kind == "member" && *id == member)
    };
    assert!(named(&rows), "member {member} has a name before");
    school.muster(&["forget", &member]).ok();
    let synced = school
        .sync(server, &database, &["--format", "json"])
        .ok()
        .json();
    assert_eq!(synced["names_removed"], 1, "{synced}");
    let rows = database.rows("school-three");
    assert!(!named(&rows), "member {member}'s name is gone");
    assert!(
        rows.spans.iter().any(|span| span.1 == member),
        "their spans stay, under the id"
    );
    school.assert_synced(&mut database, "school-three", &mut rng);
}

pub fn two_tenants_share_one_database(server: &Server) {
    let mut database = server.fresh("tenants");
    let mut rng = Rng::new(4);
    let one = School::new(4, SMALL, "school-a");
    let two = School::new(5, SMALL, "school-b");
    one.import_weeks(0..4);
    two.import_weeks(0..6);
    one.sync(server, &database, &[]).ok();
    two.sync(server, &database, &[]).ok();
    one.assert_synced(&mut database, "school-a", &mut rng);
    two.assert_synced(&mut database, "school-b", &mut rng);
    let two_before = database.row_versions("school-b");
    one.import_weeks(4..8);
    one.sync(server, &database, &[]).ok();
    one.assert_synced(&mut database, "school-a", &mut rng);
    assert_eq!(
        database.row_versions("school-b"),
        two_before,
        "the other tenant is untouched"
    );
    // One ledger under a tenant of its choosing, beside its default one.
    one.sync(server, &database, &["--tenant", "St Mary's"]).ok();
    one.assert_synced(&mut database, "St Mary's", &mut rng);
}

/// Copies the ledger directory `from` to `to` (a backup, taken while no process has it).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the ledger directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

pub fn a_fork_is_refused_and_changes_nothing(server: &Server) {
    let mut database = server.fresh("fork");
    let mut rng = Rng::new(6);
    let school = School::new(6, SMALL, "school-six");
    school.import_weeks(0..3);
    let backup = school.sandbox.path("backup");
    copy_dir(&school.db(), &backup);
    school.import_weeks(3..5);
    school.sync(server, &database, &[]).ok();
    let synced = database.rows("school-six");
    let versions = database.row_versions("school-six");
    let refused = |extra: &[&str], school: &School, says: &str| {
        let run = school.sync(server, &database, extra);
        assert_eq!(
            run.code, 10,
            "stdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(
            run.stderr.contains(says),
            "stderr lacks {says:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    };
    // Restored from the older backup: the database holds a commit the ledger lacks.
    std::fs::remove_dir_all(school.db()).expect("remove the ledger");
    copy_dir(&backup, &school.db());
    refused(
        &[],
        &school,
        "the database holds commits through 2, but this ledger ends at commit 1",
    );
    // The restored ledger moves on: its commit 2 is another commit 2.
    school.import_weeks(5..8);
    refused(&[], &school, "the database holds commit 2 with hash");
    // Another ledger under the same tenant.
    let other = School::new(7, SMALL, "school-seven");
    other.import_weeks(0..2);
    other.import_weeks(2..4);
    other.import_weeks(4..6);
    refused(
        &["--tenant", "school-six"],
        &other,
        "but this ledger's commit 2 has hash",
    );
    assert_eq!(database.rows("school-six"), synced, "nothing was changed");
    assert_eq!(
        database.row_versions("school-six"),
        versions,
        "nothing was written"
    );
    // --full replaces the tenant's rows with this ledger's.
    let replaced = school
        .sync(server, &database, &["--full", "--format", "json"])
        .ok()
        .json();
    assert_eq!(replaced["replaced"], true, "{replaced}");
    school.assert_synced(&mut database, "school-six", &mut rng);
}

pub fn rows_changed_outside_muster_are_refused(server: &Server) {
    let mut database = server.fresh("drift");
    let mut rng = Rng::new(8);
    let school = School::new(8, SMALL, "school-eight");
    school.import_weeks(0..3);
    school.import_weeks(5..8);
    school.sync(server, &database, &[]).ok();
    database.by_hand("DELETE FROM {schema}.spans WHERE tenant = 'school-eight'");
    let drifted = database.rows("school-eight");
    school.import_weeks(3..5);
    let run = school.sync(server, &database, &[]);
    assert_code(&run, 10, &["changed outside muster", "nothing was changed"]);
    assert_eq!(database.rows("school-eight"), drifted);
    school.sync(server, &database, &["--full"]).ok();
    school.assert_synced(&mut database, "school-eight", &mut rng);
}

pub fn tables_of_a_newer_muster_are_refused(server: &Server) {
    let mut database = server.fresh("newer");
    let school = School::new(9, SMALL, "school-nine");
    school.import_weeks(0..2);
    school.sync(server, &database, &[]).ok();
    // A newer muster migrated the tables.
    database.by_hand("UPDATE {schema}.schema_version SET version = 99");
    let before = database.rows("school-nine");
    school.import_weeks(2..4);
    let run = school.sync(server, &database, &[]);
    assert_code(
        &run,
        9,
        &[
            "at version 99, made by a newer muster",
            "nothing was changed",
        ],
    );
    assert_eq!(database.rows("school-nine"), before);
}

/// Starts `muster sync postgres` for `school` without waiting for it.
fn spawn_sync(
    school: &School,
    server: &Server,
    database: &Database,
    extra: &[&str],
) -> std::process::Child {
    school
        .sync_command(server, database, extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start muster sync")
}

pub fn two_syncs_at_once_give_the_exact_rows(server: &Server) {
    let mut database = server.fresh("concurrent");
    let mut rng = Rng::new(10);
    let school = School::new(10, SMALL, "school-ten");
    for weeks in [0..2, 4..6, 2..4, 6..8] {
        school.import_weeks(weeks);
        let first = spawn_sync(&school, server, &database, &["--format", "json"]);
        let second = spawn_sync(&school, server, &database, &["--format", "json"]);
        let mut applied = 0;
        for child in [first, second] {
            let output = child.wait_with_output().expect("wait for muster sync");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "stdout: {stdout}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let outcome: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            applied += outcome["commits"].as_u64().expect("commits");
        }
        assert_eq!(
            applied, 1,
            "the new commit was applied once, by one of the two"
        );
        school.assert_synced(&mut database, "school-ten", &mut rng);
    }
}

pub fn killed_syncs_leave_the_database_exact(server: &Server) {
    let mut database = server.fresh("kills");
    let mut rng = Rng::new(11);
    let school = School::new(11, MEDIUM, "school-killed");
    school.import_weeks(0..4);
    let started = std::time::Instant::now();
    school.sync(server, &database, &[]).ok();
    let full_sync_ms = started.elapsed().as_millis().max(20) as u64;
    let mut weeks_left: Vec<usize> = (4..MEDIUM.weeks).collect();
    rng.shuffle(&mut weeks_left);
    let (mut kills, mut attempts) = (0, 0);
    while kills < 50 {
        attempts += 1;
        assert!(
            attempts <= 400,
            "only {kills} of {attempts} kills landed inside a sync"
        );
        // Half the time a catch-up (a new week, often late), else a whole copy (`--full`).
        let catch_up = attempts % 2 == 0 && !weeks_left.is_empty();
        let extra: &[&str] = if catch_up {
            let week = weeks_left.pop().expect("checked: not empty");
            school.import_weeks(week..week + 1);
            &[]
        } else {
            &["--full"]
        };
        let mut child = spawn_sync(&school, server, &database, extra);
        std::thread::sleep(std::time::Duration::from_millis(
            rng.below(full_sync_ms * 3 / 2),
        ));
        let _ = child.kill();
        let status = child.wait().expect("wait for the killed sync");
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(9) {
            kills += 1;
        }
        // All or nothing: the rows are the ledger's as of the commit the state names.
        let rows = database.rows("school-killed");
        let through = rows.state.as_ref().map_or(0, |state| state.0);
        let mut expected = crate::database::expected_spans_and_commits(&school.db(), Some(through));
        expected.names = rows.names.clone();
        assert_same(&rows, &expected, "school-killed (after a kill)");
        // Run again to the end: exact.
        school.sync(server, &database, &[]).ok();
        school.assert_synced(&mut database, "school-killed", &mut rng);
    }
}

/// Sends `signal` (`TERM`, `INT`) to `child`.
fn signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits until the tenant's sync state reaches `seq`, up to 30 seconds.
fn wait_for_state(database: &mut Database, tenant: &str, seq: i64) {
    let started = std::time::Instant::now();
    loop {
        let state = database.rows(tenant).state.map(|state| state.0);
        if state == Some(seq) {
            return;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the follower never reached commit {seq} (at {state:?})"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The `through_commit` of the report line `line`.
fn through_commit(line: &str) -> u64 {
    let report: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    report["through_commit"].as_u64().expect("through_commit")
}

pub fn a_follower_applies_each_new_commit_and_ends_cleanly(server: &Server) {
    use std::io::{BufRead, BufReader, Read};
    let mut database = server.fresh("follow");
    let mut rng = Rng::new(12);
    let school = School::new(12, SMALL, "school-follows");
    school.import_weeks(0..2);
    for (round, ending) in ["TERM", "INT"].into_iter().enumerate() {
        let mut child = spawn_sync(
            &school,
            server,
            &database,
            &["--follow", "--poll", "1", "--format", "json"],
        );
        let mut reports = BufReader::new(child.stdout.take().expect("piped stdout"));
        let head = 1 + 2 * round as u64;
        // The first report comes once the follower has synced (or found it had nothing to).
        let mut first = String::new();
        reports.read_line(&mut first).expect("the first report");
        assert_eq!(through_commit(&first), head, "{first}");
        // Imports are not kept waiting by the follower: it holds the ledger only to read.
        school.import_weeks(2 + 3 * round..4 + 3 * round);
        wait_for_state(&mut database, "school-follows", head as i64 + 1);
        school.import_weeks(4 + 3 * round..5 + 3 * round);
        wait_for_state(&mut database, "school-follows", head as i64 + 2);
        school.assert_synced(&mut database, "school-follows", &mut rng);
        signal(&child, ending);
        let mut rest = String::new();
        reports
            .read_to_string(&mut rest)
            .expect("the other reports");
        let output = child.wait_with_output().expect("wait for the follower");
        assert!(
            output.status.success(),
            "SIG{ending}: {:?}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let through: Vec<u64> = rest.lines().map(through_commit).collect();
        assert_eq!(through, [head + 1, head + 2], "one report per sync: {rest}");
    }
}

pub fn nested_groups_and_exclusions_reach_the_resolved_spans(server: &Server) {
    let mut database = server.fresh("nesting");
    let mut rng = Rng::new(13);
    let school = School::new(13, SMALL, "school-nested");
    school.import_weeks(0..3);
    // An umbrella over three activities, less one of them from a date on; a division over
    // the umbrella and a fourth activity; one pupil kept out of the division.
    let nesting = school.sandbox.write(
        "nesting.csv",
        "date,group,subgroup,change\n\
         2015-09-01,sports,34000,include\n\
         2015-09-01,sports,34001,include\n\
         2015-09-01,sports,34002,include\n\
         2015-09-20,sports,34002,exclude\n\
         2015-09-01,division,sports,include\n\
         2015-09-01,division,34003,include\n",
    );
    school
        .muster(&["import", "nesting", nesting.to_str().expect("UTF-8 path")])
        .ok();
    let rows = database.rows("school-nested");
    assert!(rows.resolved_spans.is_empty());
    let member = school
        .muster(&[
            "members",
            "division",
            "--on",
            "2015-09-23",
            "--format",
            "csv",
        ])
        .ok();
    let kept_out = column(&member.stdout, 0)
        .into_iter()
        .next()
        .expect("the division has members");
    let exclusion = school.sandbox.write(
        "exclude.csv",
        &format!("date,group,member,change\n2015-09-23,division,{kept_out},exclude\n"),
    );
    school
        .muster(&["import", "facts", exclusion.to_str().expect("UTF-8 path")])
        .ok();
    let first = school
        .sync(server, &database, &["--format", "json"])
        .ok()
        .json();
    school.assert_synced(&mut database, "school-nested", &mut rng);
    assert!(
        count(&first, "resolved_spans_added") > count(&first, "spans_added"),
        "{first}"
    );
    let rows = database.rows("school-nested");
    assert!(
        rows.resolved_spans
            .iter()
            .any(|span| span.0 == "division" && span.1 == kept_out),
        "{kept_out} was in the division until the exclusion"
    );
    // Later and late weeks change the activities' spans, and so the umbrella's and the
    // division's; an end of a subgroup changes only the resolved spans.
    for weeks in [5..8, 3..5] {
        school.import_weeks(weeks);
        school.sync(server, &database, &[]).ok();
        school.assert_synced(&mut database, "school-nested", &mut rng);
    }
    let end = school.sandbox.write(
        "end.csv",
        "date,group,subgroup,change\n2015-10-12,sports,34001,end\n",
    );
    school
        .muster(&["import", "nesting", end.to_str().expect("UTF-8 path")])
        .ok();
    let ended = school
        .sync(server, &database, &["--format", "json"])
        .ok()
        .json();
    assert_eq!(
        (
            ended["spans_added"].as_u64(),
            ended["spans_removed"].as_u64()
        ),
        (Some(0), Some(0)),
        "{ended}"
    );
    assert!(count(&ended, "resolved_spans_removed") > 0, "{ended}");
    school.assert_synced(&mut database, "school-nested", &mut rng);
}

/// Over TLS (`sslmode=require`), to the server `scripts/with-postgres` gave a certificate:
/// trusted through `SSL_CERT_FILE`, the sync is exact; without it, the unverified server
/// is refused (exit 9) and nothing is written.
#[cfg(feature = "tls")]
pub fn a_sync_over_tls_verifies_the_server_certificate(server: &Server) {
    let required = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: scripts/with-postgres sets it"))
    };
    let over_tls = Server {
        url: required("MUSTER_TEST_POSTGRES_TLS_URL"),
    };
    let certificate = required("MUSTER_TEST_POSTGRES_CA");
    let mut database = server.fresh("over_tls");
    let mut rng = Rng::new(14);
    let school = School::new(14, SMALL, "school-tls");
    school.import_weeks(0..4);
    let empty = school.sandbox.path("no-certificates");
    std::fs::create_dir_all(&empty).expect("an empty certificate directory");
    let refused = Run::from(
        school
            .sync_command(&over_tls, &database, &[])
            .env("SSL_CERT_FILE", empty.join("none.pem"))
            .env("SSL_CERT_DIR", &empty)
            .output()
            .expect("run muster sync"),
    );
    assert_code(&refused, 9, &["PostgreSQL, connecting", "certificate"]);
    assert_eq!(
        database.rows("school-tls").state,
        None,
        "nothing was written"
    );
    Run::from(
        school
            .sync_command(&over_tls, &database, &[])
            .env("SSL_CERT_FILE", &certificate)
            .output()
            .expect("run muster sync"),
    )
    .ok();
    school.assert_synced(&mut database, "school-tls", &mut rng);
}
