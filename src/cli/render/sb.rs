//! The report of `import sb`: a line per join or leave with names, totals, counts and
//! warnings.
//!
//! Owns: the columns of the report's changes (CSV rows and JSON's `changes`), the fields
//! of its summary (JSON), and its sentences (table).
//! Must not: query the ledger or print.

use std::io::{self, BufWriter, Write};

use serde_json::{json, Value};

use muster::ledger::sb::{ChangeLine, Report as SbReport};

use super::columns::{Cell, Columns, Format};

/// One line of an SB import report: `2015-11-16  Computer Project (M8)  + Noah Williams
/// (12345)`, or for a leave the last day, `2015-11-29  …  - Noah Williams (12345) (last
/// day)`. Names fall back to ids when unknown.
pub fn sb_change_line(line: &ChangeLine) -> String {
    let mut text = Vec::new();
    // Writing to a Vec cannot fail, and every part written is UTF-8.
    let _ = write_sb_change_line(&mut text, line);
    String::from_utf8_lossy(&text).into_owned()
}

/// [`sb_change_line`] written straight to `out`, without a string per line (a large
/// import's report has 300,000 lines).
fn write_sb_change_line(out: &mut impl Write, line: &ChangeLine) -> io::Result<()> {
    let (day, note) = super::day_for_people(line.date, line.change);
    write!(out, "{day}  ")?;
    match &line.group_name {
        Some(name) => out.write_all(name.as_bytes())?,
        None => write!(out, "group {}", line.group)?,
    }
    let sign = if line.change.is_member() { '+' } else { '-' };
    write!(out, "  {sign} ")?;
    match &line.member_name {
        Some(name) => write!(out, "{name} ({})", line.member)?,
        None => out.write_all(line.member.as_str().as_bytes())?,
    }
    out.write_all(note.as_bytes())
}

/// The joins and leaves of an SB import, with names: CSV rows, and JSON's `changes`.
fn sb_change_columns() -> Columns<'static, ChangeLine> {
    Columns::new()
        .column("date", |c: &ChangeLine| Cell::date(c.date))
        .column("group", |c: &ChangeLine| Cell::id(&c.group))
        .column("group_name", |c: &ChangeLine| {
            Cell::name(c.group_name.as_ref())
        })
        .column("member", |c: &ChangeLine| Cell::id(&c.member))
        .column("member_name", |c: &ChangeLine| {
            Cell::name(c.member_name.as_ref())
        })
        .column("change", |c: &ChangeLine| Cell::word(c.change.as_str()))
}

/// An SB import's totals, counts, warnings (`warnings` counts, `warned` names which pupils
/// and sessions), as JSON gives them, `changes` aside (streamed by [`write_sb_import`]);
/// the table says them in sentences.
fn sb_summary_fields() -> Columns<'static, SbReport> {
    Columns::new()
        .column("commit", |r: &SbReport| {
            Cell::optional_number(r.outcome.commit)
        })
        .column("dry_run", |r: &SbReport| {
            Cell::json(json!(r.outcome.dry_run))
        })
        .column("facts", |r: &SbReport| Cell::number(r.outcome.facts.len()))
        .column("joins", |r: &SbReport| Cell::number(r.outcome.joins()))
        .column("leaves", |r: &SbReport| Cell::number(r.outcome.leaves()))
        .column("observed_dates", |r: &SbReport| {
            Cell::number(r.outcome.new_observed_dates)
        })
        .column("already_recorded", |r: &SbReport| {
            Cell::optional_number(r.outcome.already_recorded)
        })
        .column("groups_ended", |r: &SbReport| Cell::number(r.ended))
        .column("ends_taken_back", |r: &SbReport| Cell::number(r.reopened))
        .column("names_updated", |r: &SbReport| {
            Cell::number(r.names_updated)
        })
        .column("names_skipped_erased", |r: &SbReport| {
            Cell::number(r.names_skipped_erased)
        })
        .column("occurrences", |r: &SbReport| Cell::number(r.occurrences))
        .column("occurrence_rows", |r: &SbReport| {
            Cell::number(r.occurrence_rows)
        })
        .column("skipped_before_start", |r: &SbReport| {
            Cell::number(r.skipped_before_start)
        })
        .column("warnings", |r: &SbReport| {
            let warnings: serde_json::Map<String, Value> = r
                .warnings
                .named()
                .iter()
                .map(|(name, count)| (name.to_string(), json!(count)))
                .collect();
            Cell::json(Value::Object(warnings))
        })
        .column("warned", |r: &SbReport| {
            let sessions: Vec<Value> = r
                .warned
                .occurrences_without_staff
                .iter()
                .map(|s| json!({"occurrence": s.occurrence, "group": s.group, "date": s.date.to_string()}))
                .collect();
            Cell::json(json!({
                "pupils_not_in_pupil_file": r.warned.pupils_not_in_pupil_file,
                "occurrences_without_staff": sessions,
            }))
        })
}

/// The key under which JSON gives the changes: written last in its place, streamed.
const CHANGES_KEY: &str = "changes";

/// The report of `import sb`, written to `out` as it goes: a line per join or leave, then
/// totals and warnings (table); the same as one object (json); the changes as rows (csv).
/// The changes are streamed one at a time, so memory does not grow with the report's text
/// (a year's export has hundreds of thousands of lines). JSON's keys are in sorted order,
/// as a whole `serde_json` object has them, `changes` among them.
pub fn write_sb_import(
    report: &SbReport,
    format: Format,
    detail: Detail,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    match format {
        Format::Json => {
            let summary = sb_summary_fields().json_fields(report);
            out.write_all(b"{")?;
            let mut changes_written = false;
            let mut first = true;
            for (key, value) in &summary {
                if !changes_written && key.as_str() > CHANGES_KEY {
                    write_key(&mut out, CHANGES_KEY, &mut first)?;
                    sb_change_columns().write_json_array(&report.changes, &mut out)?;
                    changes_written = true;
                }
                write_key(&mut out, key, &mut first)?;
                serde_json::to_writer(&mut out, value)?;
            }
            if !changes_written {
                write_key(&mut out, CHANGES_KEY, &mut first)?;
                sb_change_columns().write_json_array(&report.changes, &mut out)?;
            }
            out.write_all(b"}\n")?;
        }
        Format::Csv => sb_change_columns().write_csv(&report.changes, &mut out)?,
        Format::Table if detail == Detail::Quiet => {
            out.write_all(sb_summary_line(report).as_bytes())?;
        }
        Format::Table => {
            for line in &report.changes {
                write_sb_change_line(&mut out, line)?;
                out.write_all(b"\n")?;
            }
            out.write_all(sb_import_sentences(report, detail).as_bytes())?;
        }
    }
    out.flush()
}

/// `"key":`, after a comma unless it is the object's first.
fn write_key(out: &mut impl Write, key: &str, first: &mut bool) -> io::Result<()> {
    if !std::mem::take(first) {
        out.write_all(b",")?;
    }
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":")
}

/// How much of an SB import's report to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Detail {
    /// The report: change lines, totals, counts, warnings with their counts.
    #[default]
    Report,
    /// The report, and each warning followed by what it counts (which pupils, sessions).
    Verbose,
    /// For cron: one summary line on standard output; warnings go to standard error.
    Quiet,
}

/// The one line that says what the import did (or would do, or why it did nothing).
pub fn sb_summary_line(report: &SbReport) -> String {
    let outcome = &report.outcome;
    let totals = format!(
        "{} facts ({} joins, {} leaves), {} new observed dates, {} groups ended, {} ends taken back",
        outcome.facts.len(),
        outcome.joins(),
        outcome.leaves(),
        outcome.new_observed_dates,
        report.ended,
        report.reopened
    );
    if let Some(seq) = outcome.already_recorded {
        format!(
            "nothing to record: commit {seq} recorded this same export (the same files, \
             or the same content in other bytes, read the same way); not recorded again\n"
        )
    } else if outcome.dry_run {
        format!("dry run: would record {totals}; nothing written\n")
    } else if let Some(seq) = outcome.commit {
        format!("commit {seq}: recorded {totals}\n")
    } else {
        "nothing to record: the ledger already reflects this export; no commit appended\n"
            .to_string()
    }
}

/// A raised warning: `name: count`, and what it counts (empty for the two warnings that
/// count rows rather than pupils or sessions).
pub struct RaisedWarning {
    pub line: String,
    pub subjects: Vec<String>,
}

/// Each raised warning with what it counts: the pupils' numbers, the sessions'
/// `RTRWGroupsIdent`s with group and date.
pub fn sb_warnings(report: &SbReport) -> Vec<RaisedWarning> {
    let mut raised = Vec::new();
    for (name, count) in report.warnings.named() {
        if count == 0 {
            continue;
        }
        let subjects: Vec<String> = match name {
            "pupils_not_in_pupil_file" => report
                .warned
                .pupils_not_in_pupil_file
                .iter()
                .map(|pupil| format!("pupil {pupil}"))
                .collect(),
            "occurrences_without_staff" => report
                .warned
                .occurrences_without_staff
                .iter()
                .map(|session| {
                    format!(
                        "RTRWGroupsIdent {}: group {} on {}",
                        session.occurrence, session.group, session.date
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        raised.push(RaisedWarning {
            line: format!("{}: {count}", name.replace('_', " ")),
            subjects,
        });
    }
    raised
}

/// The report's closing sentences: totals, counts, warnings (the change lines come first,
/// written by [`write_sb_import`]).
fn sb_import_sentences(report: &SbReport, detail: Detail) -> String {
    let outcome = &report.outcome;
    let mut out = sb_summary_line(report);
    if outcome.already_recorded.is_some() {
        return out;
    }
    out.push_str(&format!(
        "read {} occurrence rows: {} group-days imported, {} before the start date skipped\n",
        report.occurrence_rows, report.occurrences, report.skipped_before_start
    ));
    if report.occurrence_rows == 0 {
        // A holiday week's export: normal, and worth saying so that nobody goes looking.
        out.push_str(
            "no sessions in this export (a holiday week?): no group was observed; only the \
             rule for when an activity ends was applied\n",
        );
    }
    if !outcome.dry_run {
        out.push_str(&format!("names new or changed: {}\n", report.names_updated));
    }
    if report.names_skipped_erased > 0 {
        out.push_str(&format!(
            "names of forgotten members skipped (never recorded again): {}\n",
            report.names_skipped_erased
        ));
    }
    let raised = sb_warnings(report);
    if raised.is_empty() {
        out.push_str("warnings: none\n");
    } else {
        out.push_str("warnings (recorded all the same):\n");
        let mut unnamed = false;
        for warning in raised {
            out.push_str(&format!("  {}\n", warning.line));
            if detail == Detail::Verbose {
                for subject in &warning.subjects {
                    out.push_str(&format!("    {subject}\n"));
                }
            } else {
                unnamed |= !warning.subjects.is_empty();
            }
        }
        if unnamed {
            out.push_str("  (--verbose names the pupils and sessions)\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster::model::{Change, Date, GroupId, MemberId};

    fn report() -> SbReport {
        let mut report = SbReport::already_recorded(3, false);
        report.outcome.already_recorded = None;
        for (index, name) in [Some("=Ann"), None, Some("Bo \"B\", Jr")]
            .iter()
            .enumerate()
        {
            report.changes.push(ChangeLine {
                date: Date::from_ymd(2015, 11, 16 + index as u32).unwrap(),
                group: GroupId::new("34340").unwrap(),
                group_name: Some("Chess".into()),
                member: MemberId::new(&format!("100{index}")).unwrap(),
                member_name: name.map(Into::into),
                change: if index == 1 {
                    Change::Leave
                } else {
                    Change::Join
                },
            });
        }
        report
    }

    fn written(report: &SbReport, format: Format) -> String {
        let mut out = Vec::new();
        write_sb_import(report, format, Detail::Report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Streaming keeps the documented shape byte for byte: the summary's fields and
    /// `changes` in one object with sorted keys, as a whole `serde_json` value prints.
    #[test]
    fn the_streamed_json_is_the_whole_object_byte_for_byte() {
        for report in [report(), SbReport::already_recorded(3, true)] {
            let mut whole = sb_summary_fields().json_fields(&report);
            whole.insert(
                CHANGES_KEY.to_string(),
                sb_change_columns().json_array(&report.changes),
            );
            let expected = Value::Object(whole).to_string() + "\n";
            assert_eq!(written(&report, Format::Json), expected);
        }
        let csv = written(&report(), Format::Csv);
        assert_eq!(csv, sb_change_columns().table(&report().changes).csv());
        assert!(csv.contains(",'=Ann,"), "{csv}");
    }
}
