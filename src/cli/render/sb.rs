//! The report of `import sb`: a line per join or leave with names, totals, counts and
//! warnings.
//!
//! Owns: the columns of the report's changes (CSV rows and JSON's `changes`), the fields
//! of its summary (JSON), and its sentences (table).
//! Must not: query the ledger or print.

use serde_json::{json, Value};

use muster::ledger::sb::{ChangeLine, Report as SbReport};

use super::columns::{Cell, Columns, Format};
use super::json_line;

/// One line of an SB import report: `2015-11-16  Computer Project (M8)  + Noah Williams
/// (12345)`. Names fall back to ids when unknown.
pub fn sb_change_line(line: &ChangeLine) -> String {
    let group = line
        .group_name
        .clone()
        .unwrap_or_else(|| format!("group {}", line.group));
    let member = match &line.member_name {
        Some(name) => format!("{name} ({})", line.member),
        None => line.member.to_string(),
    };
    let sign = if line.change.is_member() { '+' } else { '-' };
    format!("{}  {group}  {sign} {member}", line.date)
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

/// An SB import's totals, counts, warnings and changes, as JSON gives them (the table says
/// them in sentences).
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
        .column("changes", |r: &SbReport| {
            Cell::json(sb_change_columns().json_array(&r.changes))
        })
}

/// The report of `import sb`: a line per join or leave, then totals and warnings (table);
/// the same as one object (json); the changes as rows (csv).
pub fn sb_import(report: &SbReport, format: Format) -> String {
    match format {
        Format::Json => json_line(&sb_summary_fields().json_object(report)),
        Format::Csv => sb_change_columns().table(&report.changes).csv(),
        Format::Table => sb_import_sentences(report),
    }
}

fn sb_import_sentences(report: &SbReport) -> String {
    let outcome = &report.outcome;
    let mut out = String::new();
    for line in &report.changes {
        out.push_str(&sb_change_line(line));
        out.push('\n');
    }
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
        out.push_str(&format!(
            "nothing to record: commit {seq} recorded these same files (byte for byte, \
             read the same way); not read again\n"
        ));
        return out;
    }
    if outcome.dry_run {
        out.push_str(&format!(
            "dry run: would record {totals}; nothing written\n"
        ));
    } else if let Some(seq) = outcome.commit {
        out.push_str(&format!("commit {seq}: recorded {totals}\n"));
    } else {
        out.push_str(
            "nothing to record: the ledger already reflects this export; no commit appended\n",
        );
    }
    out.push_str(&format!(
        "read {} occurrence rows: {} group-days imported, {} before the start date skipped\n",
        report.occurrence_rows, report.occurrences, report.skipped_before_start
    ));
    if !outcome.dry_run {
        out.push_str(&format!("names new or changed: {}\n", report.names_updated));
    }
    if report.names_skipped_erased > 0 {
        out.push_str(&format!(
            "names of forgotten members skipped (never recorded again): {}\n",
            report.names_skipped_erased
        ));
    }
    let raised: Vec<String> = report
        .warnings
        .named()
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| format!("  {}: {count}", name.replace('_', " ")))
        .collect();
    if raised.is_empty() {
        out.push_str("warnings: none\n");
    } else {
        out.push_str("warnings (recorded all the same):\n");
        for line in raised {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
