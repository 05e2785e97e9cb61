//! `muster demo`: a guided tour on a generated school year, for a school's data manager.
//!
//! Owns: the tour's steps (generate, import, re-import, three questions, verify) and the
//! text it returns.
//! Must not: print (the binary prints what [`run`] returns), or touch any ledger but the
//! fresh one it makes in a new temporary directory, which it leaves in place and names so
//! that the reader can go on asking questions of it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use muster::error::{Error, Result};
use muster::import::sb::{self, generate};
use muster::ledger::{Ledger, OpenOptions, Verdict};
use muster::model::{Date, GroupId};
use muster::query::membership;

/// The seed of the demo's school year: fixed, so every run tells the same story.
pub const DEMO_SEED: u64 = 2015;
/// How many change lines of the first import the tour shows.
const SHOWN_CHANGES: usize = 8;

/// A directory under the system's temporary directory that did not exist before.
fn fresh_directory() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    let dir = base.join(format!("muster-demo-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, &e))?;
    Ok(dir)
}

/// Runs the tour in a new temporary directory and returns what to print.
pub fn run() -> Result<String> {
    run_in(&fresh_directory()?)
}

/// Runs the tour in `dir` (which should be empty): the export goes to `dir/export`, the
/// ledger to `dir/ledger.db`.
pub fn run_in(dir: &Path) -> Result<String> {
    let mut out = String::new();
    let export_dir = dir.join("export");
    let db = dir.join("ledger.db");
    let _ = writeln!(out, "muster demo: working in {}\n", dir.display());

    let started = Instant::now();
    let generated = generate::generate(DEMO_SEED, generate::SCHOOL_YEAR);
    generated.files().write_dir(&export_dir)?;
    let scale = generated.scale();
    let _ = writeln!(
        out,
        "1. Generated a school year's SB export ({} pupils, {} activities, {} weeks with a half-term) in {} in {:.1?}.",
        scale.pupils,
        scale.activities,
        scale.weeks,
        export_dir.display(),
        started.elapsed()
    );

    let mut ledger = Ledger::open(&db, OpenOptions::default())?;
    let started = Instant::now();
    let export = sb::read_dir(&export_dir, &sb::Options::default())?;
    let report = muster::ledger::sb::import(&mut ledger, &export, false)?;
    let _ = writeln!(
        out,
        "\n2. Imported it into a fresh ledger ({}) in {:.1?}: commit {}, {} joins and {} leaves over {} group-days; {} activities ended.",
        db.display(),
        started.elapsed(),
        report.outcome.commit.map_or("none".to_string(), |c| c.to_string()),
        report.outcome.joins(),
        report.outcome.leaves(),
        report.occurrences,
        report.ended
    );
    let _ = writeln!(out, "   The report has a line per change; the first few:");
    for line in report.changes.iter().take(SHOWN_CHANGES) {
        let _ = writeln!(out, "   {}", crate::cli::render::sb_change_line(line));
    }
    let warnings = report.warnings;
    let _ = writeln!(
        out,
        "   Recorded with warnings: {} pupils not in pupil.csv, {} sessions without staff, {} duplicate pupil rows.",
        warnings.pupils_not_in_pupil_file,
        warnings.occurrences_without_staff,
        warnings.duplicate_pupil_rows
    );

    let started = Instant::now();
    let again = muster::ledger::sb::import(&mut ledger, &export, false)?;
    let recognised = started.elapsed();
    // The same export without its files' digests: planned in full against the ledger.
    let mut without_digests = export.clone();
    without_digests.files.clear();
    let started = Instant::now();
    let planned = muster::ledger::sb::import(&mut ledger, &without_digests, false)?;
    let outcome = |outcome: &muster::ImportOutcome| {
        if outcome.nothing_to_record() {
            "nothing to record, no commit appended".to_string()
        } else {
            format!("{} facts recorded (unexpected!)", outcome.facts.len())
        }
    };
    let _ = writeln!(
        out,
        "\n3. Imported the same export again: {} in {:.1?} (its files' digests match commit {}, \
         so it was not even read); planned in full, {} in {:.1?}. The old loader churned here.",
        outcome(&again.outcome),
        recognised,
        again
            .outcome
            .already_recorded
            .map_or("none".to_string(), |seq| seq.to_string()),
        outcome(&planned.outcome),
        started.elapsed(),
    );

    // A busy activity in mid-year: the one with most pupils on its session nearest the
    // middle of the export.
    let (first, last) = generated.span();
    let middle = first.add_days((last.days_from_ce() - first.days_from_ce()) as i64 / 2);
    let Some(middle) = middle else {
        return Ok(out);
    };
    let busiest = export
        .occurrences
        .iter()
        .filter(|((_, date), _)| *date >= middle)
        .max_by_key(|((_, date), members)| (members.len(), std::cmp::Reverse(*date)));
    let Some(((group, date), _)) = busiest else {
        return Ok(out);
    };
    let group_name = name_of_group(&ledger, group)?;
    let members = membership::members(&ledger, group, *date, None)?;
    let names = ledger.member_names(&members)?;
    let _ = writeln!(
        out,
        "\n4. Who was in {group_name} on {date}?  (muster members {group} --on {date})"
    );
    for member in &members {
        let _ = writeln!(
            out,
            "   {member}  {}",
            names.get(member).map_or("", String::as_str)
        );
    }

    // A pupil pupil.csv names, so the answers read well.
    if let Some(pupil) = members.iter().find(|member| names.contains_key(*member)) {
        let pupil_name = names.get(pupil).cloned().unwrap_or_default();
        let groups = membership::groups(&ledger, pupil, *date, None)?;
        let _ = writeln!(
            out,
            "\n5. Which activities was {pupil_name} ({pupil}) in on {date}?  (muster groups {pupil} --on {date})"
        );
        for group in &groups {
            let _ = writeln!(out, "   {group}  {}", name_of_group(&ledger, group)?);
        }
        let _ = writeln!(
            out,
            "\n6. {pupil_name}'s whole history  (muster history --member {pupil})"
        );
        for record in membership::member_history(&ledger, pupil, None)? {
            let span = &record.span;
            let until = span.until.map_or("still a member".to_string(), |until| {
                format!("until {}", last_day(until))
            });
            let _ = writeln!(
                out,
                "   {}  from {} {until}",
                name_of_group(&ledger, &span.group)?,
                span.from
            );
        }
    }

    let started = Instant::now();
    let verdict = ledger.verify()?;
    let _ = writeln!(
        out,
        "\n7. Verified the ledger in {:.1?}  (muster verify): {}",
        started.elapsed(),
        match verdict {
            Verdict::Sound { commits, facts } => format!(
                "sound: {commits} commits, {facts} facts, every checksum and the hash chain hold"
            ),
            Verdict::Broken { seq, reason } => format!("BROKEN at {seq:?}: {reason}"),
        }
    );
    let _ = writeln!(
        out,
        "\nThe ledger stays in {}; ask it more with `muster --db {} ...`.",
        db.display(),
        db.display()
    );
    Ok(out)
}

fn name_of_group(ledger: &Ledger, group: &GroupId) -> Result<String> {
    Ok(ledger
        .group_name(group)?
        .unwrap_or_else(|| format!("group {group}")))
}

/// The last day of a span that ends (exclusively) on `until`.
fn last_day(until: Date) -> String {
    until
        .previous()
        .map_or(until.to_string(), |day| format!("{day} (inclusive)"))
}
