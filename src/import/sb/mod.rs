//! SB (SchoolBase) exports: reading an export directory into occurrences, names and
//! warnings.
//!
//! Owns: the SB file and column names, the lenient `Days` date parser, turning
//! `rtrwgroups.csv` + `rtrwpupils.csv` rows into one snapshot per (group, occurrence date),
//! and the warnings an export earns.
//! Must not: open the ledger, decide how snapshots become facts or when a group ends (that
//! is `plan`, with `plan::lifecycle`), format output, or write anything.
//!

mod files;
pub mod generate;
mod rows;

pub use files::ExportFiles;
pub use rows::parse_sb_date;
use rows::{read_occurrences, PupilRows};

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::log::source::{Source, SourceFile, SourceKind};
use crate::model::{Date, GroupId, MemberId};
use crate::plan::Snapshots;

/// `GroupDay` counts days from the Sunday that begins the week: 0 (Sunday) to 6.
pub const MAX_GROUP_DAY: i64 = 6;

pub const DAYS_FILE: &str = "days.csv";
pub const ROTA_WEEK_FILE: &str = "rtrotaweek.csv";
pub const OCCURRENCE_FILE: &str = "rtrwgroups.csv";
pub const OCCURRENCE_PUPIL_FILE: &str = "rtrwpupils.csv";
pub const PUPIL_FILE: &str = "pupil.csv";
pub const STAFF_FILE: &str = "staff.csv";

/// Files every export must have.
pub const REQUIRED_FILES: [&str; 5] = [
    DAYS_FILE,
    ROTA_WEEK_FILE,
    OCCURRENCE_FILE,
    OCCURRENCE_PUPIL_FILE,
    PUPIL_FILE,
];
/// Files read when present: without `staff.csv`, any staff ident counts as staff.
pub const OPTIONAL_FILES: [&str; 1] = [STAFF_FILE];

/// The columns of `rtrwgroups.csv` that name staff; all blank means "no staff".
const STAFF_COLUMNS: [&str; 4] = ["StaffIdent", "StaffIdent2", "UserIdent3", "UserIdent4"];

/// How to read an export.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Occurrences before the Sunday of this date's week are skipped. `None`: everything.
    pub start: Option<Date>,
}

/// What an export contained that muster records anyway but a data manager should know.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Warnings {
    /// Distinct pupils listed in occurrences but missing from `pupil.csv` (recorded under
    /// their number, without a name).
    pub pupils_not_in_pupil_file: usize,
    /// Occurrences with no staff, or none that `staff.csv` knows (recorded all the same).
    pub occurrences_without_staff: usize,
    /// `rtrwpupils.csv` rows naming an occurrence `rtrwgroups.csv` does not have (skipped).
    pub pupil_rows_for_unknown_occurrences: usize,
    /// A pupil listed more than once in one occurrence (counted once).
    pub duplicate_pupil_rows: usize,
}

impl Warnings {
    /// Each warning with its name, for reports.
    pub fn named(&self) -> [(&'static str, usize); 4] {
        [
            ("pupils_not_in_pupil_file", self.pupils_not_in_pupil_file),
            ("occurrences_without_staff", self.occurrences_without_staff),
            (
                "pupil_rows_for_unknown_occurrences",
                self.pupil_rows_for_unknown_occurrences,
            ),
            ("duplicate_pupil_rows", self.duplicate_pupil_rows),
        ]
    }
}

/// What the two warnings a data manager can act on count, named, so that they can be
/// found and fixed in SB: which pupils, which sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarningSubjects {
    /// Pupils listed in sessions but missing from `pupil.csv`, in id order (as many as
    /// [`Warnings::pupils_not_in_pupil_file`] counts).
    pub pupils_not_in_pupil_file: Vec<MemberId>,
    /// Sessions with no staff, or none that `staff.csv` knows, in file order (as many as
    /// [`Warnings::occurrences_without_staff`] counts).
    pub occurrences_without_staff: Vec<Session>,
}

/// One session of an activity: an `rtrwgroups.csv` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Its `RTRWGroupsIdent`, the key a data manager finds it by in SB.
    pub occurrence: i64,
    pub group: GroupId,
    pub date: Date,
}

/// An export, read and validated.
#[derive(Clone, Debug, Default)]
pub struct Export {
    /// One pupil list per (group, occurrence date): the union of every occurrence of the
    /// group on that date, as positions in `pupils`, ascending (so in id order) without
    /// repeats. Sorted by (group, date), no key twice. Numbers rather than ids: planning
    /// compares integers ([`Export::snapshots`]).
    pub occurrences: Vec<((GroupId, Date), Vec<u32>)>,
    /// Every pupil of `rtrwpupils.csv`, in id order without repeats: what the numbers in
    /// `occurrences` stand for.
    pub pupils: Vec<MemberId>,
    pub group_names: BTreeMap<GroupId, String>,
    pub member_names: BTreeMap<MemberId, String>,
    pub warnings: Warnings,
    /// Which pupils and sessions two of the warnings count.
    pub warned: WarningSubjects,
    /// `rtrwgroups.csv` rows read (including those skipped by the start date).
    pub occurrence_rows: usize,
    /// `rtrwgroups.csv` rows before the start date's Sunday, skipped.
    pub skipped_before_start: usize,
    pub files: Vec<SourceFile>,
    /// The options it was read with, as the commit records them.
    pub options: Vec<String>,
    /// The digest of what the export says ([`Export::statements_digest`]), as the entry a
    /// commit's source holds beside the files; `None` before it is computed.
    pub statements: Option<SourceFile>,
}

impl Export {
    /// SHA-256 of what the export says, independent of its bytes: the options, then each
    /// (group, date) snapshot with its pupils, then the group and pupil names, each count
    /// and text length-prefixed (`u64`, big-endian) and each date as its day number
    /// (`i32`, big-endian). Two exports that differ only in line endings, a BOM or
    /// encoding have the same digest; one that says anything else has another.
    pub fn statements_digest(&self) -> crate::log::hash::Hash {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let text = |hasher: &mut Sha256, text: &str| {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        };
        hasher.update((self.options.len() as u64).to_be_bytes());
        for option in &self.options {
            text(&mut hasher, option);
        }
        hasher.update((self.occurrences.len() as u64).to_be_bytes());
        for ((group, date), members) in &self.occurrences {
            text(&mut hasher, group.as_str());
            hasher.update(date.days_from_ce().to_be_bytes());
            hasher.update((members.len() as u64).to_be_bytes());
            for member in self.snapshots().members(members) {
                text(&mut hasher, member.as_str());
            }
        }
        hasher.update((self.group_names.len() as u64).to_be_bytes());
        for (group, name) in &self.group_names {
            text(&mut hasher, group.as_str());
            text(&mut hasher, name);
        }
        hasher.update((self.member_names.len() as u64).to_be_bytes());
        for (member, name) in &self.member_names {
            text(&mut hasher, member.as_str());
            text(&mut hasher, name);
        }
        hasher.finalize().into()
    }

    /// The occurrences as planning takes them: numbered lists and what the numbers stand
    /// for.
    pub fn snapshots(&self) -> Snapshots<'_> {
        Snapshots {
            pupils: &self.pupils,
            lists: &self.occurrences,
        }
    }

    /// The ids of the pupils of the occurrence at `index` of `occurrences`, in id order.
    pub fn occurrence_pupils(&self, index: usize) -> impl Iterator<Item = &MemberId> {
        let list = self
            .occurrences
            .get(index)
            .map_or(&[][..], |(_, list)| list);
        self.snapshots().members(list)
    }

    /// The source a commit of this export records: its files, and its statements entry
    /// when known.
    pub fn source(&self) -> Source {
        Source {
            kind: SourceKind::SchoolBase,
            files: self
                .files
                .iter()
                .cloned()
                .chain(self.statements.clone())
                .collect(),
            options: self.options.clone(),
        }
    }
}

impl Options {
    /// The options as a commit records them (`name=value`); empty for the defaults.
    pub fn as_recorded(&self) -> Vec<String> {
        self.start
            .map(|start| format!("start={start}"))
            .into_iter()
            .collect()
    }
}

/// What a commit of `files` read with `options` names as its source: the same whether the
/// export is then parsed or not, so that a re-import is recognised before parsing.
pub fn source_of(files: &ExportFiles, options: &Options) -> Source {
    Source {
        kind: SourceKind::SchoolBase,
        files: files.sources(),
        options: options.as_recorded(),
    }
}

/// Reads and validates a whole export directory.
pub fn read_dir(dir: &Path, options: &Options) -> Result<Export> {
    parse(&ExportFiles::read_dir(dir)?, options)
}

/// Reads and validates an export held in memory. Nothing here touches a ledger.
pub fn parse(files: &ExportFiles, options: &Options) -> Result<Export> {
    parse_with_sources(files, options, None)
}

/// [`parse`], given the files' digests when they are known already (`source_of` computed
/// them), so that 50 MB are not hashed twice.
pub fn parse_with_sources(
    files: &ExportFiles,
    options: &Options,
    known: Option<Vec<SourceFile>>,
) -> Result<Export> {
    let start = match options.start {
        Some(date) => Some(date.sunday_on_or_before().ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::Input,
                format!("--start {date}: its week begins before the first supported date"),
            )
        })?),
        None => None,
    };
    // The digests and `rtrwpupils.csv` (most of the bytes) need nothing from the other
    // files, so other cores read them meanwhile. Errors are still reported in file order:
    // the other files' first, as if the files were read one after another.
    let (read, pupil_rows, sources) = std::thread::scope(|scope| {
        let sources = scope.spawn(|| known.unwrap_or_else(|| files.sources()));
        let pupil_rows = scope.spawn(|| PupilRows::read(files));
        let read = read_occurrences(files, start);
        (read, join(pupil_rows), join(sources))
    });
    let (mut export, occurrences) = read?;
    let pupil_rows = pupil_rows?;

    let listings = pupil_rows.listings(&occurrences, &mut export.warnings);
    let (members, pupils, listed) = occurrences.members(&pupil_rows.pupils, listings);
    export.warnings.duplicate_pupil_rows = listed.duplicates;
    let mut missing: Vec<MemberId> = listed
        .pupils
        .into_iter()
        .filter(|member| !export.member_names.contains_key(member))
        .collect();
    missing.sort_unstable();
    export.warnings.pupils_not_in_pupil_file = missing.len();
    export.warned.pupils_not_in_pupil_file = missing;
    export.occurrences = occurrences
        .keys
        .iter()
        .zip(members)
        .map(|(&(group_number, date), members)| {
            ((occurrences.groups[&group_number].clone(), date), members)
        })
        .collect();
    export.occurrences.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    export.pupils = pupils;
    export.files = sources;
    export.options = options.as_recorded();
    export.statements = Some(SourceFile {
        name: crate::log::source::STATEMENTS_FILE.to_string(),
        digest: export.statements_digest(),
    });
    Ok(export)
}

/// A scoped thread's result; its panic goes on unwinding here.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
