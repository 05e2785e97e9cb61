//! Turning answers into text: aligned tables, CSV and JSON.
//!
//! Owns: [`Format`], [`Table`] (rows of cells, each an id/date or free text), the CSV
//! quoting and formula-neutralising rule, and the JSON shapes scripts rely on.
//! Must not: query the ledger or print; the binary prints what these return.
//!
//! CSV rule: fields are quoted as RFC 4180 requires. A free-text cell (a name) that a
//! spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is prefixed with `'`. Ids and dates are never altered.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use muster::import::sb::{ChangeLine, Report as SbReport};
use muster::import::spans::InclusiveSpan;
use muster::ledger::{CommitSummary, ImportOutcome, SpanRecord, Verdict};
use muster::log::commit::{hex, Source};
use muster::model::{Date, GroupId, MemberId};
use muster::query::audit::{ChangeRecord, Correction, ForgetOutcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

/// A cell: exact (ids, dates, numbers: never altered) or free text (names: neutralised
/// in CSV when a spreadsheet would read it as a formula).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Exact(String),
    FreeText(String),
}

impl Cell {
    fn text(&self) -> &str {
        match self {
            Cell::Exact(text) | Cell::FreeText(text) => text,
        }
    }
}

pub fn exact(text: impl ToString) -> Cell {
    Cell::Exact(text.to_string())
}

/// Rows under named columns.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// Columns padded to their widest cell, two spaces apart.
    pub fn aligned(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.text().chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            out.push_str(padded.join("  ").trim_end());
            out.push('\n');
        };
        line(self.columns.clone(), &mut out);
        for row in &self.rows {
            line(row.iter().map(Cell::text).collect(), &mut out);
        }
        out
    }

    /// RFC 4180 CSV with the formula rule for free-text cells.
    pub fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&self.columns);
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Exact(text) => text.clone(),
                    Cell::FreeText(text) => neutralise_formula(text),
                })
                .collect();
            let _ = writer.write_record(&cells);
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Csv => self.csv(),
            _ => self.aligned(),
        }
    }
}

/// Prefixes `'` to text a spreadsheet would evaluate.
pub fn neutralise_formula(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

fn optional_date(date: Option<Date>) -> Value {
    date.map_or(Value::Null, |d| Value::String(d.to_string()))
}

pub fn source_json(source: &Source) -> Value {
    json!({
        "kind": source.kind.as_str(),
        "files": source.files.iter().map(|f| json!({"name": f.name, "digest": hex(&f.digest)})).collect::<Vec<_>>(),
    })
}

pub fn import(outcome: &ImportOutcome, format: Format) -> String {
    let summary = if outcome.dry_run {
        format!(
            "dry run: would record {} facts ({} joins, {} leaves) and {} new observed dates; nothing written\n",
            outcome.facts.len(),
            outcome.joins(),
            outcome.leaves(),
            outcome.new_observed_dates
        )
    } else if let Some(seq) = outcome.commit {
        format!(
            "commit {seq}: recorded {} facts ({} joins, {} leaves) and {} new observed dates\n",
            outcome.facts.len(),
            outcome.joins(),
            outcome.leaves(),
            outcome.new_observed_dates
        )
    } else {
        "nothing to record: the ledger already reflects this input; no commit appended\n"
            .to_string()
    };
    match format {
        Format::Json => {
            json!({
                "commit": outcome.commit,
                "facts": outcome.facts.len(),
                "joins": outcome.joins(),
                "leaves": outcome.leaves(),
                "observed_dates": outcome.new_observed_dates,
                "dry_run": outcome.dry_run,
            })
            .to_string()
                + "\n"
        }
        Format::Csv => {
            let mut table = Table::new(&["date", "group", "member", "change"]);
            for fact in &outcome.facts {
                table.push(vec![
                    exact(fact.date),
                    exact(&fact.group),
                    exact(&fact.member),
                    exact(fact.change.as_str()),
                ]);
            }
            table.csv()
        }
        Format::Table => {
            let mut out = String::new();
            if outcome.dry_run {
                for fact in &outcome.facts {
                    out.push_str(&format!(
                        "{}  {}  {} {}\n",
                        fact.date,
                        fact.group,
                        if fact.change.is_member() { '+' } else { '-' },
                        fact.member
                    ));
                }
            }
            out + &summary
        }
    }
}

/// `names` holds the names known for (some of) `members`; ids without a name show blank.
pub fn members(
    group: &GroupId,
    on: Date,
    members: &[MemberId],
    names: &BTreeMap<MemberId, String>,
    format: Format,
) -> String {
    let answer = Answer {
        subject: ("group", group),
        on,
        list: ("members", "member"),
    };
    answer.render(members, names, format)
}

/// `names` holds the names known for (some of) `groups`, as [`members`] does for members.
pub fn groups(
    member: &MemberId,
    on: Date,
    groups: &[GroupId],
    names: &BTreeMap<GroupId, String>,
    format: Format,
) -> String {
    let answer = Answer {
        subject: ("member", member),
        on,
        list: ("groups", "group"),
    };
    answer.render(groups, names, format)
}

/// The shape `members` and `groups` share: who was asked about, on which date, and the
/// sorted ids of the answer with their names (JSON: `{subject, "on", list, "names"}`;
/// table and CSV: an id column and a name column).
struct Answer<'a, S> {
    subject: (&'static str, &'a S),
    on: Date,
    /// The JSON key of the list and the table's id column.
    list: (&'static str, &'static str),
}

impl<S: serde::Serialize> Answer<'_, S> {
    fn render<K: Ord + serde::Serialize + std::fmt::Display>(
        &self,
        ids: &[K],
        names: &BTreeMap<K, String>,
        format: Format,
    ) -> String {
        match format {
            Format::Json => {
                let mut object = serde_json::Map::new();
                object.insert(self.subject.0.into(), json!(self.subject.1));
                object.insert("on".into(), json!(self.on.to_string()));
                object.insert(self.list.0.into(), json!(ids));
                object.insert("names".into(), json!(names));
                Value::Object(object).to_string() + "\n"
            }
            _ => {
                let mut table = Table::new(&[self.list.1, "name"]);
                for id in ids {
                    let name = names.get(id).cloned().unwrap_or_default();
                    table.push(vec![exact(id), Cell::FreeText(name)]);
                }
                table.render(format)
            }
        }
    }
}

pub fn history(spans: &[SpanRecord], format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = spans
                .iter()
                .map(|s| {
                    json!({
                        "group": s.span.group,
                        "member": s.span.member,
                        "from": s.span.from.to_string(),
                        "until": optional_date(s.span.until),
                        "opened_by": s.opened_by,
                        "closed_by": s.closed_by,
                    })
                })
                .collect();
            Value::Array(list).to_string() + "\n"
        }
        _ => {
            let mut table =
                Table::new(&["group", "member", "from", "until", "opened_by", "closed_by"]);
            for s in spans {
                table.push(vec![
                    exact(&s.span.group),
                    exact(&s.span.member),
                    exact(s.span.from),
                    exact(s.span.until.map(|d| d.to_string()).unwrap_or_default()),
                    exact(s.opened_by),
                    exact(s.closed_by.map(|c| c.to_string()).unwrap_or_default()),
                ]);
            }
            table.render(format)
        }
    }
}

fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

pub fn log(commits: &[CommitSummary], format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = commits
                .iter()
                .map(|c| {
                    json!({
                        "seq": c.seq,
                        "recorded_at": timestamp(c.recorded_at_ms),
                        "source": source_json(&c.source),
                        "facts": c.facts,
                        "observed_dates": c.observed_dates,
                        "hash": c.hash,
                        "erased": c.erased,
                    })
                })
                .collect();
            Value::Array(list).to_string() + "\n"
        }
        _ => {
            let mut table = Table::new(&[
                "seq",
                "recorded_at",
                "source",
                "files",
                "facts",
                "observed_dates",
                "hash",
            ]);
            for c in commits {
                let mut files: Vec<&str> = c.source.files.iter().map(|f| f.name.as_str()).collect();
                // A forget commit reads no file; say whose data it erased instead.
                let erased = c.erased.iter().map(|m| format!("erased {m}"));
                let erased: Vec<String> = erased.collect();
                files.extend(erased.iter().map(String::as_str));
                table.push(vec![
                    exact(c.seq),
                    exact(timestamp(c.recorded_at_ms)),
                    exact(c.source.kind.as_str()),
                    Cell::FreeText(files.join(" ")),
                    exact(c.facts),
                    exact(c.observed_dates),
                    exact(&c.hash[..16]),
                ]);
            }
            table.render(format)
        }
    }
}

pub fn verdict(verdict: &Verdict, format: Format) -> String {
    match (verdict, format) {
        (Verdict::Sound { commits, facts }, Format::Json) => {
            json!({"sound": true, "commits": commits, "facts": facts}).to_string() + "\n"
        }
        (Verdict::Broken { seq, reason }, Format::Json) => {
            json!({"sound": false, "commit": seq, "reason": reason}).to_string() + "\n"
        }
        (Verdict::Sound { commits, facts }, _) => format!(
            "sound: {commits} commits, {facts} facts; every checksum and the hash chain hold, and the derived state equals a replay of the log\n"
        ),
        (Verdict::Broken { seq: Some(seq), reason }, _) => {
            format!("broken at commit {seq}: {reason}\n")
        }
        (Verdict::Broken { seq: None, reason }, _) => format!("broken: {reason}\n"),
    }
}

/// Names known for the ids an answer mentions; ids without a name show blank (a forgotten
/// member shows its id only).
#[derive(Clone, Debug, Default)]
pub struct NameBook {
    pub groups: BTreeMap<GroupId, String>,
    pub members: BTreeMap<MemberId, String>,
}

impl NameBook {
    fn group(&self, group: &GroupId) -> Cell {
        Cell::FreeText(self.groups.get(group).cloned().unwrap_or_default())
    }

    fn member(&self, member: &MemberId) -> Cell {
        Cell::FreeText(self.members.get(member).cloned().unwrap_or_default())
    }

    fn member_json(&self, member: &MemberId) -> Value {
        self.members
            .get(member)
            .map_or(Value::Null, |name| Value::String(name.clone()))
    }
}

/// In an aligned table an open end reads "open"; in CSV it stays blank.
fn end_cell(date: Option<Date>, format: Format) -> Cell {
    match (date, format) {
        (Some(date), _) => exact(date),
        (None, Format::Table) => exact("open"),
        (None, _) => exact(""),
    }
}

fn commit_cell(seq: Option<u64>) -> Cell {
    exact(seq.map(|seq| seq.to_string()).unwrap_or_default())
}

/// History with provenance and names: per span, the commit whose fact opened it and the
/// one whose fact closed it. `until` is the first day out. JSON keeps the shape of
/// [`history`] (scripts rely on it); names are for people reading tables and CSV.
pub fn history_with_names(spans: &[SpanRecord], names: &NameBook, format: Format) -> String {
    if format == Format::Json {
        return history(spans, format);
    }
    let mut table = Table::new(&[
        "group",
        "member",
        "name",
        "from",
        "until",
        "opened_by_commit",
        "closed_by_commit",
    ]);
    for s in spans {
        table.push(vec![
            exact(&s.span.group),
            exact(&s.span.member),
            names.member(&s.span.member),
            exact(s.span.from),
            end_cell(s.span.until, format),
            exact(s.opened_by),
            commit_cell(s.closed_by),
        ]);
    }
    table.render(format)
}

pub fn changes(records: &[ChangeRecord], names: &NameBook, format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = records
                .iter()
                .map(|r| {
                    json!({
                        "date": r.date.to_string(),
                        "change": r.change.as_str(),
                        "group": r.group,
                        "group_name": names.groups.get(&r.group),
                        "member": r.member,
                        "name": names.member_json(&r.member),
                        "commit": r.commit,
                    })
                })
                .collect();
            Value::Array(list).to_string() + "\n"
        }
        _ => {
            let mut table = Table::new(&[
                "date",
                "change",
                "group",
                "group_name",
                "member",
                "name",
                "commit",
            ]);
            for r in records {
                table.push(vec![
                    exact(r.date),
                    exact(r.change.as_str()),
                    exact(&r.group),
                    names.group(&r.group),
                    exact(&r.member),
                    names.member(&r.member),
                    exact(r.commit),
                ]);
            }
            table.render(format)
        }
    }
}

fn membership_word(member: bool) -> &'static str {
    if member {
        "member"
    } else {
        "not a member"
    }
}

pub fn corrections(rows: &[Correction], names: &NameBook, format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = rows
                .iter()
                .map(|c| {
                    json!({
                        "group": c.group,
                        "member": c.member,
                        "name": names.member_json(&c.member),
                        "from": c.from.to_string(),
                        "until": c.until.to_string(),
                        "was_member": c.was_member,
                        "believed_by": c.believed_by,
                        "as_of": c.as_of,
                        "now_member": c.now_member,
                        "corrected_by": c.corrected_by,
                    })
                })
                .collect();
            Value::Array(list).to_string() + "\n"
        }
        _ => {
            let mut table = Table::new(&[
                "group",
                "member",
                "name",
                "from",
                "until",
                "believed",
                "believed_by_commit",
                "as_of_commit",
                "now",
                "corrected_by_commit",
            ]);
            for c in rows {
                table.push(vec![
                    exact(&c.group),
                    exact(&c.member),
                    names.member(&c.member),
                    exact(c.from),
                    exact(c.until),
                    exact(membership_word(c.was_member)),
                    commit_cell(c.believed_by),
                    exact(c.as_of),
                    exact(membership_word(c.now_member)),
                    exact(c.corrected_by),
                ]);
            }
            table.render(format)
        }
    }
}

/// Spans with an inclusive last day (`ends_on` blank while open), in the columns the
/// memberships table used, so the CSV loads into SQL as it is.
pub fn export_spans(spans: &[InclusiveSpan], format: Format) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = spans
                .iter()
                .map(|s| {
                    json!({
                        "group": s.group,
                        "member": s.member,
                        "starts_on": s.starts_on.to_string(),
                        "ends_on": optional_date(s.ends_on),
                    })
                })
                .collect();
            Value::Array(list).to_string() + "\n"
        }
        _ => {
            let mut table = Table::new(&["group", "member", "starts_on", "ends_on"]);
            for s in spans {
                table.push(vec![
                    exact(&s.group),
                    exact(&s.member),
                    exact(s.starts_on),
                    exact(s.ends_on.map(|d| d.to_string()).unwrap_or_default()),
                ]);
            }
            table.render(format)
        }
    }
}

pub fn forget(outcome: &ForgetOutcome, format: Format) -> String {
    let text = match outcome.commit {
        Some(seq) if outcome.name_removed => format!(
            "commit {seq}: erased the name of member {}; their facts stay under the id\n",
            outcome.member
        ),
        Some(seq) => format!(
            "commit {seq}: recorded the erasure of member {} (no name was stored)\n",
            outcome.member
        ),
        None => format!(
            "nothing to erase: member {} was already forgotten; no commit appended\n",
            outcome.member
        ),
    };
    match format {
        Format::Json => {
            json!({"member": outcome.member, "commit": outcome.commit, "name_removed": outcome.name_removed})
                .to_string()
                + "\n"
        }
        _ => text,
    }
}

pub fn names_imported(stored: usize, skipped_erased: usize, format: Format) -> String {
    match format {
        Format::Json => {
            json!({"stored": stored, "skipped_erased": skipped_erased}).to_string() + "\n"
        }
        _ => format!(
            "stored {stored} new or changed names; skipped {skipped_erased} of forgotten members\n"
        ),
    }
}

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

/// The report of `import sb`: a line per join or leave, then totals and warnings (table);
/// the same as one object (json); the changes as rows (csv).
pub fn sb_import(report: &SbReport, format: Format) -> String {
    let outcome = &report.outcome;
    let warnings: serde_json::Map<String, Value> = report
        .warnings
        .named()
        .iter()
        .map(|(name, count)| (name.to_string(), json!(count)))
        .collect();
    match format {
        Format::Json => {
            let changes: Vec<Value> = report
                .changes
                .iter()
                .map(|c| {
                    json!({
                        "date": c.date.to_string(),
                        "group": c.group,
                        "group_name": c.group_name,
                        "member": c.member,
                        "member_name": c.member_name,
                        "change": c.change.as_str(),
                    })
                })
                .collect();
            json!({
                "commit": outcome.commit,
                "dry_run": outcome.dry_run,
                "facts": outcome.facts.len(),
                "joins": outcome.joins(),
                "leaves": outcome.leaves(),
                "observed_dates": outcome.new_observed_dates,
                "already_recorded": outcome.already_recorded,
                "groups_ended": report.ended,
                "ends_taken_back": report.reopened,
                "names_updated": report.names_updated,
                "occurrences": report.occurrences,
                "occurrence_rows": report.occurrence_rows,
                "skipped_before_start": report.skipped_before_start,
                "warnings": warnings,
                "changes": changes,
            })
            .to_string()
                + "\n"
        }
        Format::Csv => {
            let mut table = Table::new(&[
                "date",
                "group",
                "group_name",
                "member",
                "member_name",
                "change",
            ]);
            for c in &report.changes {
                table.push(vec![
                    exact(c.date),
                    exact(&c.group),
                    Cell::FreeText(c.group_name.clone().unwrap_or_default()),
                    exact(&c.member),
                    Cell::FreeText(c.member_name.clone().unwrap_or_default()),
                    exact(c.change.as_str()),
                ]);
            }
            table.csv()
        }
        Format::Table => {
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
    }
}
