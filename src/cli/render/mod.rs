//! Turning answers into text: each answer's columns described once (see `columns.rs`),
//! and the sentences people read where an answer is not a list. The SB import's report,
//! the longest, is in `sb.rs`; listings and `info` in `finding.rs`.
//!
//! Owns: the column list of every tabular answer (the facts of an import, members, groups,
//! history, changes, corrections, exported spans, the log, the changes of an SB import),
//! the field list of every one-record answer (an import's summary, a verdict, a forget, a
//! names import, an SB import's summary; JSON shows these, tables and CSV show a
//! sentence), and [`NameBook`].
//! Must not: query the ledger or print; the binary prints what these return.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use membership::SpanRecord;
use muster::ledger::names::ForgetOutcome;
use muster::ledger::replay::ReplayOutcome;
use muster::ledger::{CommitSummary, ImportOutcome, Verdict};
use muster::log::hash::hex;
use muster::log::source::Source;
use muster::model::InclusiveSpan;
use muster::model::{Change, Date, Fact, GroupId, MemberId};
use muster::query::audit::{ChangeRecord, Correction};
use muster::sync::SyncOutcome;

mod columns;
mod finding;
pub mod nesting;
mod sb;

pub use columns::Format;
pub use finding::{info, listed};
pub use sb::{sb_change_line, sb_warnings, write_sb_import, Detail};

use columns::{Cell, Columns, IdText};
use muster::query::membership;

/// How a line meant for people dates a change: a join by its first day, a leave by the
/// member's last day (the day before the fact's date, the first day out), marked so that
/// it cannot be read as the day they left. The date and the words after the member.
pub(crate) fn day_for_people(date: Date, change: Change) -> (Date, &'static str) {
    match (change.is_member(), date.previous()) {
        (true, _) => (date, ""),
        (false, Some(last)) => (last, " (last day)"),
        // No day before the first date muster knows: say what the date is instead.
        (false, None) => (date, " (first day out)"),
    }
}

/// One JSON object and a newline: how every JSON answer ends.
pub(crate) fn json_line(value: &Value) -> String {
    value.to_string() + "\n"
}

fn source_json(source: &Source) -> Value {
    json!({
        "kind": source.kind.as_str(),
        "files": source.files.iter().map(|f| json!({"name": f.name, "digest": hex(&f.digest)})).collect::<Vec<_>>(),
    })
}

/// The facts an import records: CSV lists them; a dry run's table shows them as lines.
fn fact_columns() -> Columns<'static, Fact> {
    Columns::new()
        .column("date", |f: &Fact| Cell::date(f.date))
        .column("group", |f: &Fact| Cell::id(&f.group))
        .column("member", |f: &Fact| Cell::id(&f.member))
        .column("change", |f: &Fact| Cell::word(f.change.as_str()))
}

/// The totals of an import, as JSON gives them (the table says them in a sentence). One
/// shape for every import: `facts` counts subgroup facts and exclusions too.
fn import_summary_fields() -> Columns<'static, ImportOutcome> {
    Columns::new()
        .column("commit", |o: &ImportOutcome| {
            Cell::optional_number(o.commit)
        })
        .column("facts", |o: &ImportOutcome| {
            Cell::number(o.facts.len() + o.subgroup_facts.len())
        })
        .column("joins", |o: &ImportOutcome| Cell::number(o.joins()))
        .column("leaves", |o: &ImportOutcome| Cell::number(o.leaves()))
        .column("observed_dates", |o: &ImportOutcome| {
            Cell::number(o.new_observed_dates)
        })
        .column("dry_run", |o: &ImportOutcome| Cell::json(json!(o.dry_run)))
}

pub fn import(outcome: &ImportOutcome, format: Format) -> String {
    match format {
        Format::Json => json_line(&import_summary_fields().json_object(outcome)),
        Format::Csv if outcome.subgroup_facts.is_empty() => {
            fact_columns().table(&outcome.facts).csv()
        }
        // A nesting import: its subgroup facts under its input's own header.
        Format::Csv if outcome.facts.is_empty() => nesting::subgroup_fact_columns()
            .table(&outcome.subgroup_facts)
            .csv(),
        // Both kinds in one import (a library batch; no command makes one): one table,
        // each row naming a member or a subgroup.
        Format::Csv => {
            type Row<'r> = (
                Date,
                &'r GroupId,
                Option<&'r MemberId>,
                Option<&'r GroupId>,
                &'r str,
            );
            let rows: Vec<Row> = outcome
                .facts
                .iter()
                .map(|f| (f.date, &f.group, Some(&f.member), None, f.change.as_str()))
                .chain(outcome.subgroup_facts.iter().map(|f| {
                    (
                        f.date,
                        &f.group,
                        None,
                        Some(&f.subgroup),
                        f.change.subgroup_str(),
                    )
                }))
                .collect();
            Columns::new()
                .column("date", |r: &Row| Cell::date(r.0))
                .column("group", |r: &Row| Cell::id(r.1))
                .column("member", |r: &Row| Cell::optional_id(r.2))
                .column("subgroup", |r: &Row| Cell::optional_id(r.3))
                .column("change", |r: &Row| Cell::word(r.4))
                .table(&rows)
                .csv()
        }
        Format::Table => {
            let mut out = String::new();
            if outcome.dry_run {
                for fact in &outcome.facts {
                    let (day, note) = day_for_people(fact.date, fact.change);
                    out.push_str(&format!(
                        "{day}  {}  {} {}{note}\n",
                        fact.group,
                        match fact.change {
                            Change::Join => '+',
                            Change::Exclude => 'x',
                            Change::Leave => '-',
                        },
                        fact.member
                    ));
                }
                out.push_str(&nesting::subgroup_fact_lines(&outcome.subgroup_facts));
            }
            out + &import_sentence(outcome)
        }
    }
}

/// The exclusions and subgroup facts of an import, for its sentence: nothing when there
/// are none (so imports without nesting say what they always said).
fn nesting_counts(outcome: &ImportOutcome) -> String {
    let mut text = String::new();
    if outcome.exclusions() > 0 {
        text.push_str(&format!(", {} exclusions", outcome.exclusions()));
    }
    if !outcome.subgroup_facts.is_empty() {
        text.push_str(&format!(
            ", {} subgroup facts",
            outcome.subgroup_facts.len()
        ));
    }
    text
}

/// The one line that says what an import did: all `--quiet` prints.
pub fn import_sentence(outcome: &ImportOutcome) -> String {
    if outcome.dry_run {
        format!(
            "dry run: would record {} facts ({} joins, {} leaves{}) and {} new observed dates; nothing written\n",
            outcome.facts.len() + outcome.subgroup_facts.len(),
            outcome.joins(),
            outcome.leaves(),
            nesting_counts(outcome),
            outcome.new_observed_dates
        )
    } else if let Some(seq) = outcome.commit {
        format!(
            "commit {seq}: recorded {} facts ({} joins, {} leaves{}) and {} new observed dates\n",
            outcome.facts.len() + outcome.subgroup_facts.len(),
            outcome.joins(),
            outcome.leaves(),
            nesting_counts(outcome),
            outcome.new_observed_dates
        )
    } else {
        "nothing to record: the ledger already reflects this input; no commit appended\n"
            .to_string()
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
/// sorted ids of the answer with their names. JSON is not a list of rows but
/// `{subject, "on", list, "names"}` (scripts rely on it); table and CSV are an id column
/// and a name column.
struct Answer<'a, S> {
    subject: (&'static str, &'a S),
    on: Date,
    /// The JSON key of the list and the table's id column.
    list: (&'static str, &'static str),
}

impl<S: serde::Serialize> Answer<'_, S> {
    fn render<K: Ord + serde::Serialize + IdText>(
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
                json_line(&Value::Object(object))
            }
            _ => Columns::new()
                .column(self.list.1, |id: &K| Cell::id(id))
                .column("name", |id: &K| Cell::name(names.get(id)))
                .render(ids, format),
        }
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
        Cell::name(self.groups.get(group))
    }

    fn member(&self, member: &MemberId) -> Cell {
        Cell::name(self.members.get(member))
    }
}

/// History with provenance: per span, the commit whose fact opened it and the one whose
/// fact closed it. CSV and JSON give `until`, the first day out (their documented
/// contract); the table, for people, gives `last_day` instead. Names are for people
/// reading tables and CSV; JSON has never had them.
fn history_columns(names: &NameBook) -> Columns<'_, SpanRecord> {
    Columns::new()
        .column("group", |s: &SpanRecord| Cell::id(&s.span.group))
        .column("member", |s: &SpanRecord| Cell::id(&s.span.member))
        .text_only("name", |s: &SpanRecord| names.member(&s.span.member))
        .column("from", |s: &SpanRecord| Cell::date(s.span.from))
        .machine_only("until", |s: &SpanRecord| Cell::end(s.span.until))
        .table_only("last_day", |s: &SpanRecord| Cell::last_day(s.span.until))
        .column("opened_by", |s: &SpanRecord| Cell::number(s.opened_by))
        .column("closed_by", |s: &SpanRecord| {
            Cell::optional_number(s.closed_by)
        })
}

pub fn history(spans: &[SpanRecord], names: &NameBook, format: Format) -> String {
    history_columns(names).render(spans, format)
}

fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// How many hex digits of a commit's hash a table shows: enough to tell commits apart by
/// eye; JSON gives the whole hash.
const SHORT_HASH: usize = 16;

/// The commits. A table has no room for the source's file digests: `source` shows its
/// kind, and `files` the file names (or, for a forget commit, which reads no file, whose
/// data it erased).
fn log_columns() -> Columns<'static, CommitSummary> {
    Columns::new()
        .column("seq", |c: &CommitSummary| Cell::number(c.seq))
        .column("recorded_at", |c: &CommitSummary| {
            Cell::word(&timestamp(c.recorded_at_ms))
        })
        .column("source", |c: &CommitSummary| {
            Cell::exact(source_json(&c.source), c.source.kind.as_str())
        })
        .text_only("files", |c: &CommitSummary| {
            let names = c.source.files.iter().map(|f| f.name.clone());
            let erased = c.erased.iter().map(|m| format!("erased {m}"));
            Cell::free_text(names.chain(erased).collect::<Vec<_>>().join(" "))
        })
        .column("facts", |c: &CommitSummary| Cell::number(c.facts))
        .column("observed_dates", |c: &CommitSummary| {
            Cell::number(c.observed_dates)
        })
        .column("hash", |c: &CommitSummary| {
            Cell::exact(c.hash.as_str(), c.hash.get(..SHORT_HASH).unwrap_or(&c.hash))
        })
        .json_only("erased", |c: &CommitSummary| Cell::json(json!(c.erased)))
}

pub fn log(commits: &[CommitSummary], format: Format) -> String {
    log_columns().render(commits, format)
}

/// A sound verdict's fields (JSON); the table says it in a sentence.
fn sound_fields() -> Columns<'static, (u64, u64)> {
    Columns::new()
        .column("sound", |_: &(u64, u64)| Cell::boolean(true))
        .column("commits", |(commits, _): &(u64, u64)| {
            Cell::number(*commits)
        })
        .column("facts", |(_, facts): &(u64, u64)| Cell::number(*facts))
}

/// A broken verdict's fields (JSON): the first damaged commit, when one is to blame.
fn broken_fields() -> Columns<'static, (Option<u64>, String)> {
    type Broken = (Option<u64>, String);
    Columns::new()
        .column("sound", |_: &Broken| Cell::boolean(false))
        .column("commit", |(seq, _): &Broken| Cell::optional_number(*seq))
        .column("reason", |(_, reason): &Broken| Cell::word(reason))
}

/// A verdict: JSON and CSV give its fields (which differ between sound and broken), a
/// table says it in a sentence.
pub fn verdict(verdict: &Verdict, format: Format) -> String {
    match verdict {
        Verdict::Sound { commits, facts } => sound_fields().record(&(*commits, *facts), format, || format!(
            "sound: {commits} commits, {facts} facts; every checksum and the hash chain hold, and the derived state equals a replay of the log\n"
        )),
        Verdict::Broken { seq, reason } => {
            broken_fields().record(&(*seq, reason.clone()), format, || match seq {
                Some(seq) => format!("broken at commit {seq}: {reason}\n"),
                None => format!("broken: {reason}\n"),
            })
        }
    }
}

/// Every effective join and leave in a range, with the names of both sides. CSV and JSON
/// give the fact's `date` (for a leave, the first day out); the table, for people, gives a
/// join's `first_day` and a leave's `last_day` (the day before), each in its own column.
fn change_columns(names: &NameBook) -> Columns<'_, ChangeRecord> {
    let is_join = |r: &ChangeRecord| r.change.is_member();
    Columns::new()
        .machine_only("date", |r: &ChangeRecord| Cell::date(r.date))
        .column("change", |r: &ChangeRecord| Cell::word(r.change.as_str()))
        .table_only("first_day", move |r: &ChangeRecord| {
            if is_join(r) {
                Cell::date(r.date)
            } else {
                Cell::optional_date(None)
            }
        })
        .table_only("last_day", move |r: &ChangeRecord| {
            if is_join(r) {
                Cell::optional_date(None)
            } else {
                Cell::optional_date(r.date.previous())
            }
        })
        .column("group", |r: &ChangeRecord| Cell::id(&r.group))
        .column("group_name", |r: &ChangeRecord| names.group(&r.group))
        .column("member", |r: &ChangeRecord| Cell::id(&r.member))
        .column("name", |r: &ChangeRecord| names.member(&r.member))
        .column("commit", |r: &ChangeRecord| Cell::number(r.commit))
}

pub fn changes(records: &[ChangeRecord], names: &NameBook, format: Format) -> String {
    change_columns(names).render(records, format)
}

/// What was believed is a boolean in JSON and a word in a table, which reads better
/// beside `now_member`.
fn membership(member: bool) -> Cell {
    Cell::exact(member, if member { "member" } else { "not a member" })
}

/// Beliefs later commits revised: the dates (`until` exclusive in CSV and JSON; in the
/// table, for people, the `last_day`), what was believed and by which commit's fact (none:
/// no fact, so not a member), as of which commit, what is believed now and which commit's
/// fact changed it.
fn correction_columns(names: &NameBook) -> Columns<'_, Correction> {
    Columns::new()
        .column("group", |c: &Correction| Cell::id(&c.group))
        .column("member", |c: &Correction| Cell::id(&c.member))
        .column("name", |c: &Correction| names.member(&c.member))
        .column("from", |c: &Correction| Cell::date(c.from))
        .machine_only("until", |c: &Correction| Cell::date(c.until))
        .table_only("last_day", |c: &Correction| Cell::last_day(Some(c.until)))
        .column("was_member", |c: &Correction| membership(c.was_member))
        .column("believed_by", |c: &Correction| {
            Cell::optional_number(c.believed_by)
        })
        .column("as_of", |c: &Correction| Cell::number(c.as_of))
        .column("now_member", |c: &Correction| membership(c.now_member))
        .column("corrected_by", |c: &Correction| {
            Cell::number(c.corrected_by)
        })
}

pub fn corrections(rows: &[Correction], names: &NameBook, format: Format) -> String {
    correction_columns(names).render(rows, format)
}

/// Spans with an inclusive last day (`ends_on` blank while open, in a table too), in the
/// columns the memberships table used, so the CSV loads into SQL as it is.
fn export_span_columns() -> Columns<'static, InclusiveSpan> {
    Columns::new()
        .column("group", |s: &InclusiveSpan| Cell::id(&s.group))
        .column("member", |s: &InclusiveSpan| Cell::id(&s.member))
        .column("starts_on", |s: &InclusiveSpan| Cell::date(s.starts_on))
        .column("ends_on", |s: &InclusiveSpan| {
            Cell::optional_date(s.ends_on)
        })
}

pub fn export_spans(spans: &[InclusiveSpan], format: Format) -> String {
    export_span_columns().render(spans, format)
}

/// A forget's fields (JSON); the table says it in a sentence.
fn forget_fields() -> Columns<'static, ForgetOutcome> {
    Columns::new()
        .column("member", |o: &ForgetOutcome| Cell::id(&o.member))
        .column("commit", |o: &ForgetOutcome| {
            Cell::optional_number(o.commit)
        })
        .column("name_removed", |o: &ForgetOutcome| {
            Cell::boolean(o.name_removed)
        })
}

/// A forget: its fields (JSON, CSV) or a sentence (table).
pub fn forget(outcome: &ForgetOutcome, format: Format) -> String {
    forget_fields().record(outcome, format, || forget_sentence(outcome))
}

fn forget_sentence(outcome: &ForgetOutcome) -> String {
    match outcome.commit {
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
    }
}

/// What `import names` did: names stored, and names skipped because their member was
/// forgotten.
struct NamesImported {
    stored: usize,
    skipped_erased: usize,
}

fn names_imported_fields() -> Columns<'static, NamesImported> {
    Columns::new()
        .column("stored", |n: &NamesImported| Cell::number(n.stored))
        .column("skipped_erased", |n: &NamesImported| {
            Cell::number(n.skipped_erased)
        })
}

/// A names import: its fields (JSON, CSV) or a sentence (table).
pub fn names_imported(stored: usize, skipped_erased: usize, format: Format) -> String {
    let imported = NamesImported {
        stored,
        skipped_erased,
    };
    names_imported_fields().record(&imported, format, || {
        format!(
            "stored {stored} new or changed names; skipped {skipped_erased} of forgotten members\n"
        )
    })
}

/// What `import log` did: commits read, those already present, those appended (JSON a
/// list of numbers, CSV the numbers separated by spaces).
fn replayed_fields() -> Columns<'static, ReplayOutcome> {
    Columns::new()
        .column("read", |o: &ReplayOutcome| Cell::number(o.read))
        .column("already_present", |o: &ReplayOutcome| {
            Cell::number(o.skipped)
        })
        .column("appended", |o: &ReplayOutcome| {
            let numbers: Vec<String> = o.appended.iter().map(u64::to_string).collect();
            Cell::exact(json!(o.appended), numbers.join(" "))
        })
        .column("restored_names", |o: &ReplayOutcome| {
            Cell::number(o.restored_values)
        })
}

/// An `import log`: its fields (JSON, CSV) or a sentence (table).
pub fn replayed(outcome: &ReplayOutcome, format: Format) -> String {
    replayed_fields().record(outcome, format, || {
        let mut text = format!(
            "read {} commits: {} already present, {} appended\n",
            outcome.read,
            outcome.skipped,
            outcome.appended.len()
        );
        if outcome.restored_values > 0 {
            text.push_str(&format!(
                "restored {} names the ledger had lost\n",
                outcome.restored_values
            ));
        }
        text
    })
}

fn synced_fields() -> Columns<'static, SyncOutcome> {
    Columns::new()
        .column("tenant", |o: &SyncOutcome| {
            Cell::free_text(o.tenant.clone())
        })
        .column("from_commit", |o: &SyncOutcome| Cell::number(o.from_seq))
        .column("through_commit", |o: &SyncOutcome| {
            Cell::number(o.through_seq)
        })
        .column("replaced", |o: &SyncOutcome| Cell::boolean(o.replaced))
        .column("commits", |o: &SyncOutcome| Cell::number(o.commits))
        .column("spans_added", |o: &SyncOutcome| Cell::number(o.spans_added))
        .column("spans_removed", |o: &SyncOutcome| {
            Cell::number(o.spans_removed)
        })
        .column("resolved_spans_added", |o: &SyncOutcome| {
            Cell::number(o.resolved_added)
        })
        .column("resolved_spans_removed", |o: &SyncOutcome| {
            Cell::number(o.resolved_removed)
        })
        .column("names_set", |o: &SyncOutcome| Cell::number(o.names_set))
        .column("names_removed", |o: &SyncOutcome| {
            Cell::number(o.names_removed)
        })
        .column("seconds", |o: &SyncOutcome| {
            let seconds = o.took.as_secs_f64();
            Cell::exact(json!(seconds), format!("{seconds:.3}"))
        })
}

/// A sync: its fields (JSON, CSV) or a sentence (table).
pub fn synced(outcome: &SyncOutcome, format: Format) -> String {
    synced_fields().record(outcome, format, || {
        let o = outcome;
        if o.up_to_date() {
            return format!(
                "tenant {}: up to date through commit {}; nothing changed\n",
                o.tenant, o.through_seq
            );
        }
        let how = match o.replaced {
            true => "copied whole".to_string(),
            false => format!("caught up from commit {}", o.from_seq),
        };
        format!(
            "tenant {}: {how} through commit {} ({} commits): {} spans added, {} removed; {} \
             resolved spans added, {} removed; {} names set, {} removed ({:.2} s)\n",
            o.tenant,
            o.through_seq,
            o.commits,
            o.spans_added,
            o.spans_removed,
            o.resolved_added,
            o.resolved_removed,
            o.names_set,
            o.names_removed,
            o.took.as_secs_f64()
        )
    })
}

/// What `rebuild` did to the vault, in sentences: what it kept, dropped, and could not
/// recover (and how to bring that back).
pub fn vault_repair(repair: &muster::ledger::names::VaultRepair) -> String {
    let mut out = String::new();
    if let Some(reason) = &repair.unreadable {
        out.push_str(&format!("the vault could not be read: {reason}\n"));
    }
    out.push_str(&format!(
        "vault: kept {} names that match the log, dropped {} it does not vouch for\n",
        repair.kept, repair.dropped
    ));
    if repair.lost > 0 {
        out.push_str(&format!(
            "{} names recorded in the log cannot be recovered from it (only their digests \
             are in the log); restore them from a backup with `muster import log BACKUP`, \
             or import their source again\n",
            repair.lost
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster::model::NestingFact;

    fn outcome(facts: Vec<Fact>, subgroup_facts: Vec<NestingFact>) -> ImportOutcome {
        ImportOutcome {
            commit: Some(1),
            facts,
            subgroup_facts,
            new_observed_dates: 0,
            dry_run: false,
            already_recorded: None,
            unfinished: None,
        }
    }

    /// CSV lists every fact an import records: member facts under `member`, subgroup
    /// facts under `subgroup` (a nesting import's own header), both kinds in one table.
    #[test]
    fn csv_lists_member_and_subgroup_facts() {
        let date = Date::from_ymd(2024, 1, 2).unwrap();
        let group = GroupId::new("top").unwrap();
        let member_fact = Fact {
            date,
            group: group.clone(),
            member: MemberId::new("m1").unwrap(),
            change: Change::Join,
        };
        let subgroup_fact = NestingFact {
            date,
            group: group.clone(),
            subgroup: GroupId::new("a").unwrap(),
            change: Change::Exclude,
            place: None,
        };
        let csv = |o: &ImportOutcome| import(o, Format::Csv);
        assert_eq!(
            csv(&outcome(vec![member_fact.clone()], Vec::new())),
            "date,group,member,change\n2024-01-02,top,m1,join\n"
        );
        assert_eq!(
            csv(&outcome(Vec::new(), vec![subgroup_fact.clone()])),
            "date,group,subgroup,change\n2024-01-02,top,a,exclude\n"
        );
        assert_eq!(
            csv(&outcome(vec![member_fact], vec![subgroup_fact])),
            "date,group,member,subgroup,change\n2024-01-02,top,m1,,join\n2024-01-02,top,,a,exclude\n"
        );
    }
}
