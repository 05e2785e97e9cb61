//! `muster demo`: a guided tour on a generated school year, for a school's data manager:
//! weekly exports imported as cron would bring them, one week arriving late, the
//! questions muster answers (with names, and the command that asks each), and an umbrella
//! group over some activities with one pupil excluded (`demo/nesting.rs`).
//!
//! Owns: the tour's steps and the text it returns; the temporary directory it works in.
//! Must not: print (the binary prints what [`run`] returns), or touch any ledger but the
//! fresh one it makes: in a temporary directory that it removes when it ends, or in the
//! directory `--db` names, which must not exist yet (it is kept).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use muster::error::{Error, ErrorKind, Result};
use muster::import::sb::{self, generate};
use muster::ledger::{Ledger, OpenOptions, Verdict};
use muster::model::{Date, GroupId, MemberId};
use muster::query::{audit, find, membership, spans};

mod nesting;

/// The seed of the demo's school year: fixed, so every run tells the same story.
pub const DEMO_SEED: u64 = 2015;
/// The teaching week (numbered from 0) that arrives late, after every later week.
const LATE_WEEK: usize = 6;
/// How many change lines of an import the tour shows.
const SHOWN_CHANGES: usize = 5;
/// How many rows of a list the tour shows.
const SHOWN_ROWS: usize = 12;

/// "1 leave", "2 leaves".
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A directory under the system's temporary directory that did not exist before, removed
/// (with everything in it) when this is dropped.
struct TemporaryDirectory(PathBuf);

impl TemporaryDirectory {
    fn new() -> Result<TemporaryDirectory> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("muster-demo-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, &e))?;
        Ok(TemporaryDirectory(dir))
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        // Nothing to report to: a directory left behind in the system's temporary
        // directory is the worst that can happen.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the tour and returns what to print. With `keep`, the ledger is made there (a path
/// that must not exist yet, or an empty directory) and kept; without, it lives in a
/// temporary directory removed at the end, as is the generated export either way.
pub fn run(keep: Option<&Path>) -> Result<String> {
    if let Some(db) = keep {
        let empty = std::fs::read_dir(db).map(|mut entries| entries.next().is_none());
        if db.exists() && !empty.unwrap_or(false) {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "--db {}: the demo makes a new ledger, and this already exists; name a new directory",
                    db.display()
                ),
            ));
        }
    }
    let work = TemporaryDirectory::new()?;
    let db = keep.map_or_else(|| work.0.join("ledger.db"), Path::to_path_buf);
    let mut out = String::new();
    tour(&work.0, &db, &mut out)?;
    let _ = match keep {
        Some(db) => writeln!(
            out,
            "\nThe ledger stays in {}; ask it more with `muster --db {} info`.",
            db.display(),
            db.display()
        ),
        None => writeln!(
            out,
            "\nThe demo's ledger and exports were in a temporary directory, now removed; \
             `muster --db demo.db demo` keeps the ledger in ./demo.db."
        ),
    };
    Ok(out)
}

/// Writes the export of teaching weeks `weeks` to `dir` and reads it back as SB would
/// deliver it.
fn export_of(
    generated: &generate::Generated,
    weeks: Range<usize>,
    dir: &Path,
) -> Result<sb::Export> {
    generated.files_for_weeks(weeks).write_dir(dir)?;
    sb::read_dir(dir, &sb::Options::default())
}

/// "Choir (L10) (34004)", or the id alone when the group has no name.
fn group_label(ledger: &Ledger, group: &GroupId) -> Result<String> {
    Ok(match ledger.group_name(group)? {
        Some(name) => format!("{name} ({group})"),
        None => format!("group {group}"),
    })
}

fn member_label(names: &BTreeMap<MemberId, String>, member: &MemberId) -> String {
    match names.get(member) {
        Some(name) => format!("{name} ({member})"),
        None => member.to_string(),
    }
}

/// Members sorted as a person reads a list: by name, then id.
fn by_name(members: &[MemberId], names: &BTreeMap<MemberId, String>) -> Vec<MemberId> {
    let mut sorted = members.to_vec();
    sorted.sort_by(|a, b| (names.get(a), a).cmp(&(names.get(b), b)));
    sorted
}

fn import_line(report: &muster::ledger::sb::Report) -> String {
    let outcome = &report.outcome;
    match outcome.commit {
        Some(seq) => {
            let mut line = format!(
                "commit {seq}: {} and {} over {}",
                count(outcome.joins(), "join", "joins"),
                count(outcome.leaves(), "leave", "leaves"),
                count(report.occurrences, "group-day", "group-days"),
            );
            if report.ended > 0 {
                line += &format!(
                    "; {} stopped meeting and ended",
                    count(report.ended, "activity", "activities")
                );
            }
            if report.reopened > 0 {
                line += &format!("; {} taken back", count(report.reopened, "end", "ends"));
            }
            line
        }
        None => "nothing to record, no commit appended".to_string(),
    }
}

fn tour(work: &Path, db: &Path, out: &mut String) -> Result<()> {
    let generated = generate::generate(DEMO_SEED, generate::SCHOOL_YEAR);
    let scale = generated.scale();
    let weeks = generated.weeks();
    let _ = writeln!(
        out,
        "muster demo: a school year of SchoolBase (SB) exports ({} pupils, {} activities, {} \
         teaching weeks and a half-term), imported as a nightly cron job would bring them, \
         with week {} arriving late.",
        scale.pupils,
        scale.activities,
        weeks,
        LATE_WEEK + 1
    );

    let mut ledger = Ledger::open(db, OpenOptions::default())?;
    let early = export_of(&generated, 0..LATE_WEEK, &work.join("weeks-1-6"))?;
    let report = muster::ledger::sb::import(&mut ledger, &early, false)?;
    let _ = writeln!(
        out,
        "\n1. Weeks 1 to {LATE_WEEK} arrive  (muster import sb DIR): {}.",
        import_line(&report)
    );
    let _ = writeln!(out, "   The report has a line per change; the first few:");
    for line in report.changes.iter().take(SHOWN_CHANGES) {
        let _ = writeln!(out, "   {}", crate::cli::render::sb_change_line(line));
    }

    let later = export_of(&generated, LATE_WEEK + 1..weeks, &work.join("later-weeks"))?;
    let report = muster::ledger::sb::import(&mut ledger, &later, false)?;
    let before_late = ledger.head_seq();
    let _ = writeln!(
        out,
        "\n2. Weeks {} to {weeks} arrive, but not week {}: {}.",
        LATE_WEEK + 2,
        LATE_WEEK + 1,
        import_line(&report)
    );

    let late = export_of(
        &generated,
        LATE_WEEK..LATE_WEEK + 1,
        &work.join("late-week"),
    )?;
    let report = muster::ledger::sb::import(&mut ledger, &late, false)?;
    let late_commit = ledger.head_seq();
    let _ = writeln!(
        out,
        "\n3. Week {} arrives late, after the later weeks: {}.",
        LATE_WEEK + 1,
        import_line(&report)
    );
    let again = muster::ledger::sb::import(&mut ledger, &late, false)?;
    let _ = writeln!(
        out,
        "   The same export again (cron ran twice): {}; its files' digests match commit {}.",
        import_line(&again),
        again
            .outcome
            .already_recorded
            .map_or("none".to_string(), |seq| seq.to_string()),
    );

    // The same year on time, in a second ledger: every span must be the same.
    let on_time_db = work.join("on-time.db");
    let mut on_time = Ledger::open(&on_time_db, OpenOptions::default())?;
    let whole = export_of(&generated, 0..weeks, &work.join("whole-year"))?;
    muster::ledger::sb::import(&mut on_time, &whole, false)?;
    let same =
        spans::export_spans(&on_time, None, None)? == spans::export_spans(&ledger, None, None)?;
    drop(on_time);
    let _ = writeln!(
        out,
        "   Compared with the same year imported on time, in one go: {}",
        if same {
            "every membership span is the same. Late data is welcome."
        } else {
            "the spans DIFFER (a bug: please report it)."
        }
    );

    same_names(&ledger, out)?;
    late_week_questions(&ledger, &late, before_late, late_commit, out)?;
    if let Some(day) = late.occurrences.iter().map(|((_, date), _)| *date).min() {
        nesting::umbrella(&mut ledger, day, out)?;
    }

    let verdict = ledger.verify()?;
    let _ = writeln!(
        out,
        "\nFinally  (muster verify): {}",
        match verdict {
            Verdict::Sound { commits, facts } => format!(
                "sound: {} and {}; every checksum and the hash chain hold",
                count(commits as usize, "commit", "commits"),
                count(facts as usize, "fact", "facts"),
            ),
            Verdict::Broken { seq, reason } => format!("BROKEN at {seq:?}: {reason}"),
        }
    );
    Ok(())
}

/// Two activities with one name, told apart by their ids.
fn same_names(ledger: &Ledger, out: &mut String) -> Result<()> {
    let mut by_name: BTreeMap<String, Vec<GroupId>> = BTreeMap::new();
    for listed in find::list_groups(ledger, &find::Filter::default())? {
        if let Some(name) = listed.name {
            by_name.entry(name).or_default().push(listed.id);
        }
    }
    // A choir if there is one: the example people remember.
    let shared = by_name
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .min_by_key(|(name, _)| (!name.starts_with("Choir"), name.to_string()));
    let Some((name, ids)) = shared else {
        return Ok(());
    };
    let _ = writeln!(
        out,
        "\n4. {} activities are called {name:?}  (muster list groups --name {name:?}):",
        ids.len()
    );
    for id in ids {
        let _ = writeln!(out, "   {id}  {name}");
    }
    let _ = writeln!(
        out,
        "   Questions take the id, which tells them apart; a name given for an id is refused \
         with the ids to choose from (exit 3):"
    );
    if let Ok(asked) = GroupId::new(name) {
        if let Err(error) = find::require_group(ledger, &asked) {
            let _ = writeln!(out, "   muster: {error}");
        }
    }
    Ok(())
}

/// What the late week changed, and the answers before and after it arrived.
fn late_week_questions(
    ledger: &Ledger,
    late: &sb::Export,
    before_late: u64,
    late_commit: u64,
    out: &mut String,
) -> Result<()> {
    let dates: Vec<Date> = late
        .occurrences
        .iter()
        .map(|((_, date), _)| *date)
        .collect();
    let (Some(&first), Some(&last)) = (dates.iter().min(), dates.iter().max()) else {
        return Ok(());
    };
    let changes = audit::changes(ledger, first, last, &audit::Scope::All, None)?;
    // The group the late week changed most.
    let mut per_group: BTreeMap<&GroupId, usize> = BTreeMap::new();
    for change in changes.iter().filter(|c| c.commit == late_commit) {
        *per_group.entry(&change.group).or_default() += 1;
    }
    let Some((group, _)) = per_group
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse(*id)))
    else {
        return Ok(());
    };
    let group = (*group).clone();
    let label = group_label(ledger, &group)?;
    let group_changes: Vec<_> = changes.iter().filter(|c| c.group == group).collect();
    let names = ledger.member_names(group_changes.iter().map(|c| &c.member))?;
    let _ = writeln!(
        out,
        "\n5. What changed in {label} in week {}?  (muster changes --from {first} --to {last} --group {group})",
        LATE_WEEK + 1
    );
    for change in &group_changes {
        let _ = writeln!(
            out,
            "   {}  {:<5}  {}  (commit {})",
            change.date,
            change.change.as_str(),
            member_label(&names, &change.member),
            change.commit
        );
    }

    let Some(day) = group_changes
        .iter()
        .find(|c| c.commit == late_commit)
        .map(|c| c.date)
    else {
        return Ok(());
    };
    let before = membership::members(ledger, &group, day, Some(before_late))?;
    let now = membership::members(ledger, &group, day, None)?;
    let names = ledger.member_names(before.iter().chain(&now))?;
    let _ = writeln!(
        out,
        "\n6. Who was in {label} on {day}?\n   Before week {} arrived  (muster members {group} --on {day} --as-of {before_late}): {}; now  (muster members {group} --on {day}): {}:",
        LATE_WEEK + 1,
        count(before.len(), "member", "members"),
        count(now.len(), "member", "members"),
    );
    for member in by_name(&now, &names).iter().take(SHOWN_ROWS) {
        let mark = if before.contains(member) { ' ' } else { '+' };
        let _ = writeln!(out, "   {mark} {}", member_label(&names, member));
    }
    if now.len() > SHOWN_ROWS {
        let _ = writeln!(out, "     ... and {} more", now.len() - SHOWN_ROWS);
    }
    for member in by_name(&before, &names) {
        if !now.contains(&member) {
            let _ = writeln!(
                out,
                "   - {}  (no longer, now that week {} is in)",
                member_label(&names, &member),
                LATE_WEEK + 1
            );
        }
    }

    // A pupil the late week changed, with a name, so the answers read well.
    let pupil = group_changes
        .iter()
        .filter(|c| c.commit == late_commit)
        .map(|c| &c.member)
        .find(|m| names.contains_key(*m));
    let Some(pupil) = pupil else {
        return Ok(());
    };
    let pupil_name = names.get(pupil).cloned().unwrap_or_default();
    let groups = membership::groups(ledger, pupil, day, None)?;
    let _ = writeln!(
        out,
        "\n7. Which activities was {pupil_name} ({pupil}) in on {day}?  (muster groups {pupil} --on {day})"
    );
    let mut labels = Vec::new();
    for group in &groups {
        labels.push(group_label(ledger, group)?);
    }
    labels.sort();
    for label in labels {
        let _ = writeln!(out, "   {label}");
    }
    let _ = writeln!(
        out,
        "\n8. {pupil_name}'s whole year, by first day  (muster history --member {pupil})"
    );
    let mut history = membership::member_history(ledger, pupil, None)?;
    history.sort_by(|a, b| (a.span.from, &a.span.group).cmp(&(b.span.from, &b.span.group)));
    for record in history {
        let span = &record.span;
        let end = match span.until.and_then(Date::previous) {
            Some(last_day) => format!("last day {last_day}"),
            None => "still a member".to_string(),
        };
        let _ = writeln!(
            out,
            "   {}  from {}, {end}",
            group_label(ledger, &span.group)?,
            span.from
        );
    }
    Ok(())
}
