//! Importing an SB export into the ledger: the lifecycle rule over the SB groups' states,
//! one commit, the names, and the report with a named line per change.
//!
//! Owns: [`Report`], [`ChangeLine`], [`import`], and [`import_dir`] (what `muster import sb`
//! runs: an input recorded before is recognised from its digests without parsing).
//! Must not: parse files (that is `import::sb`) or decide facts (that is `plan`).

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::Result;
use crate::import::sb::{self, Export, ExportFiles, Options, WarningSubjects, Warnings};
use crate::ledger::cache::free_aside;
use crate::ledger::{ImportOutcome, Ledger, OpenOptions};
use crate::model::{Change, Date, GroupId, MemberId, ObservationKind};
use crate::plan::lifecycle;
use crate::progress::Progress;

/// One pupil joining or leaving a group, with names for the report. A name is shared by
/// every line that shows it (a large import's report has 300,000 lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeLine {
    pub date: Date,
    pub group: GroupId,
    pub group_name: Option<Arc<str>>,
    pub member: MemberId,
    pub member_name: Option<Arc<str>>,
    pub change: Change,
}

/// What an SB import did (or, on a dry run, would do).
#[derive(Clone, Debug)]
pub struct Report {
    pub outcome: ImportOutcome,
    pub changes: Vec<ChangeLine>,
    /// Groups given an end by this import.
    pub ended: usize,
    /// Ends taken back by this import.
    pub reopened: usize,
    /// Names new or changed, recorded in the import's commit (0 on a dry run: nothing is
    /// written).
    pub names_updated: usize,
    /// Names of forgotten members the export carried: never recorded again.
    pub names_skipped_erased: usize,
    pub occurrences: usize,
    pub occurrence_rows: usize,
    pub skipped_before_start: usize,
    pub warnings: Warnings,
    /// Which pupils and sessions the warnings count.
    pub warned: WarningSubjects,
}

impl Report {
    /// The report of an export that commit `seq` already recorded (the same files byte for
    /// byte, or the same statements in other bytes, read with the same options): imports
    /// are idempotent, so nothing is recorded.
    pub fn already_recorded(seq: u64, dry_run: bool) -> Report {
        Report {
            outcome: ImportOutcome {
                commit: None,
                facts: Vec::new(),
                subgroup_facts: Vec::new(),
                new_observed_dates: 0,
                dry_run,
                already_recorded: Some(seq),
                unfinished: None,
            },
            changes: Vec::new(),
            ended: 0,
            reopened: 0,
            names_updated: 0,
            names_skipped_erased: 0,
            occurrences: 0,
            occurrence_rows: 0,
            skipped_before_start: 0,
            warnings: Warnings::default(),
            warned: WarningSubjects::default(),
        }
    }
}

/// Imports a read export: one commit (unless nothing changed), then the names (not on a dry
/// run). Returns the report with a named line per change.
pub fn import(ledger: &mut Ledger, export: &Export, dry_run: bool) -> Result<Report> {
    // Recorded before, in these bytes or others saying the same: recorded, and what later
    // commits said stands (see docs/sb.md, "Re-imports").
    let source = export.source();
    if let Some(seq) = ledger.recorded_import(&source)? {
        return Ok(Report::already_recorded(seq, dry_run));
    }
    let mut known = Vec::new();
    for group in ledger.group_ids()? {
        if let Some(state) = ledger.group(&group)? {
            known.push((group, state));
        }
    }
    // The snapshots are planned from the export's own lists (`plan_with_snapshots`): a
    // set per occurrence would copy every pupil row once more.
    let batch = lifecycle::lifecycle_batch(
        known
            .iter()
            .map(|(group, state)| (group.clone(), state.as_ref())),
        export.snapshots(),
    );
    let count = |kind: ObservationKind| {
        batch
            .observations
            .iter()
            .filter(|observation| observation.kind == kind)
            .count()
    };
    let (ended, reopened) = (
        count(ObservationKind::End),
        count(ObservationKind::CarryForward),
    );
    let (values, names_skipped_erased) =
        ledger.personal_changes(&export.group_names, &export.member_names)?;
    let outcome =
        ledger.import_with_values(&batch, export.snapshots(), source, &values, dry_run)?;
    let names_updated = if dry_run { 0 } else { values.len() };
    // A forgotten member's name is never shown, even from the export that carries it.
    let erased = ledger.erased_members()?;
    let mut group_names: FxHashMap<&GroupId, Option<Arc<str>>> = FxHashMap::default();
    let mut member_names: FxHashMap<&MemberId, Option<Arc<str>>> = FxHashMap::default();
    let mut changes = Vec::with_capacity(outcome.facts.len());
    for fact in &outcome.facts {
        let group_name = match group_names.get(&fact.group) {
            Some(name) => name.clone(),
            None => {
                let name = match export.group_names.get(&fact.group) {
                    Some(name) => Some(name.clone()),
                    None => ledger.group_name(&fact.group)?,
                };
                let name: Option<Arc<str>> = name.map(Into::into);
                group_names.insert(&fact.group, name.clone());
                name
            }
        };
        let member_name = match member_names.get(&fact.member) {
            Some(name) => name.clone(),
            None => {
                let name = match export.member_names.get(&fact.member) {
                    _ if erased.contains(&fact.member) => None,
                    Some(name) => Some(name.clone()),
                    None => ledger.member_name(&fact.member)?,
                };
                let name: Option<Arc<str>> = name.map(Into::into);
                member_names.insert(&fact.member, name.clone());
                name
            }
        };
        changes.push(ChangeLine {
            date: fact.date,
            group: fact.group.clone(),
            group_name,
            member: fact.member.clone(),
            member_name,
            change: fact.change,
        });
    }
    Ok(Report {
        outcome,
        changes,
        ended,
        reopened,
        names_updated,
        names_skipped_erased,
        occurrences: export.occurrences.len(),
        occurrence_rows: export.occurrence_rows,
        skipped_before_start: export.skipped_before_start,
        warnings: export.warnings,
        warned: export.warned.clone(),
    })
}

/// `muster import sb DIR`: reads the export, recognises an input recorded before from its
/// files' digests (asked of muster's own files, without the lock or parsing), otherwise
/// parses and validates the whole export before the ledger is opened, then imports it.
pub fn import_dir(
    path: &Path,
    options: OpenOptions,
    dir: &Path,
    sb_options: &Options,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<Report> {
    let files = ExportFiles::read_dir(dir)?;
    let known = match Ledger::open_for_queries(path)? {
        Some(ledger) => {
            let source = sb::source_of(&files, sb_options);
            if let Some(seq) = ledger.recorded_import(&source)? {
                return Ok(Report::already_recorded(seq, dry_run));
            }
            Some(source.files)
        }
        // A new ledger (or one to catch up): hashing overlaps parsing instead.
        None => None,
    };
    progress.start("reading the export", 0);
    let export = sb::parse_with_sources(&files, sb_options, known)?;
    // The files' bytes (tens of MB for a year) are not needed past parsing.
    drop(files);
    progress.finish();
    let report = Ledger::importing(path, options, dry_run, |ledger| {
        progress.start("planning and committing", 0);
        let report = import(ledger, &export, dry_run)?;
        progress.finish();
        Ok(report)
    });
    // The report holds what it shows (names are shared, not borrowed): the export's
    // lists and names are freed while the report is written.
    free_aside(export);
    report
}
