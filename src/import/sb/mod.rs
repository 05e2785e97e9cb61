//! SB (SchoolBase) exports: reading an export directory into occurrences, names and
//! warnings.
//!
//! Owns: the SB file and column names, the lenient `Days` date parser, turning
//! `rtrwgroups.csv` + `rtrwpupils.csv` rows into one snapshot per (group, occurrence date),
//! and the warnings an export earns.
//! Must not: open the ledger, decide how snapshots become facts or when a group ends (that
//! is `plan`, with `plan::lifecycle`), format output, or write anything.
//!

pub mod generate;

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::error::{Error, Place, Result};
use crate::import::input::{decode, Row, Stream};
use crate::log::source::{Source, SourceFile, SourceKind};
use crate::model::{Date, GroupId, MemberId};

/// A group absent for this many days after its last session, while other SB groups met,
/// has ended. Fourteen: a weekly group that misses two consecutive weeks' worth of days
/// has stopped, and a one-week half-term (when nobody meets, so the horizon does not move)
/// does not end anything.
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

/// An export's files as bytes, by file name, and the directory they came from (for error
/// messages). Kept in memory so that tests and benchmarks can read generated exports
/// without touching the disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportFiles {
    pub dir: PathBuf,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ExportFiles {
    /// Reads the required files (a missing one is an error naming it) and the optional
    /// ones that exist.
    pub fn read_dir(dir: &Path) -> Result<ExportFiles> {
        if !dir.is_dir() {
            return Err(Error::input(
                Place::file(dir),
                "is not a directory (an SB export is a directory of CSV files)",
            ));
        }
        let mut files = BTreeMap::new();
        for name in REQUIRED_FILES {
            let path = dir.join(name);
            let bytes = read_bytes(&path)?
                .ok_or_else(|| Error::input(Place::file(&path), "no such file"))?;
            files.insert(name.to_string(), bytes);
        }
        for name in OPTIONAL_FILES {
            if let Some(bytes) = read_bytes(&dir.join(name))? {
                files.insert(name.to_string(), bytes);
            }
        }
        Ok(ExportFiles {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Writes every file into `dir`, creating it.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, &e))?;
        }
        Ok(())
    }

    /// A file's text (decoded, borrowed when it is UTF-8), or `None` when the export does
    /// not have it.
    fn text(&self, name: &str) -> Result<Option<Cow<'_, str>>> {
        let Some(bytes) = self.files.get(name) else {
            return Ok(None);
        };
        if bytes.len() as u64 > crate::model::MAX_INPUT_BYTES {
            return Err(Error::new(
                crate::error::ErrorKind::Limit,
                format!(
                    "is larger than the limit of {} bytes",
                    crate::model::MAX_INPUT_BYTES
                ),
            )
            .at(Place::file(&self.dir.join(name))));
        }
        Ok(Some(decode(bytes)))
    }

    fn required_text(&self, name: &str) -> Result<Cow<'_, str>> {
        self.text(name)?
            .ok_or_else(|| Error::input(Place::file(&self.dir.join(name)), "no such file"))
    }

    /// The rows of file `name`, whose text is `text`; a file with no rows is an error.
    fn stream<'t>(&self, name: &str, text: &'t str) -> Result<Stream<'t>> {
        let path = self.dir.join(name);
        let stream = Stream::open(&path, text)?;
        if stream.is_empty() {
            return Err(Error::input(
                Place::file(&path),
                "the file has a header but no rows",
            ));
        }
        Ok(stream)
    }

    fn sources(&self) -> Vec<SourceFile> {
        self.files
            .iter()
            .map(|(name, bytes)| SourceFile::new(name, bytes))
            .collect()
    }
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, &e)),
        Ok(metadata) if metadata.is_dir() => {
            return Err(Error::input(
                Place::file(path),
                "is a directory, not a file",
            ))
        }
        Ok(metadata) if metadata.len() > crate::model::MAX_INPUT_BYTES => {
            return Err(Error::new(
                crate::error::ErrorKind::Limit,
                format!(
                    "is larger than the limit of {} bytes",
                    crate::model::MAX_INPUT_BYTES
                ),
            )
            .at(Place::file(path)))
        }
        Ok(_) => {}
    }
    std::fs::read(path)
        .map(Some)
        .map_err(|e| Error::io(path, &e))
}

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

/// An export, read and validated.
#[derive(Clone, Debug, Default)]
pub struct Export {
    /// One pupil list per (group, occurrence date): the union of every occurrence of the
    /// group on that date, in id order without repeats. Sorted by (group, date), no key
    /// twice. Lists rather than sets: the batch builds each set once, from its list.
    pub occurrences: Vec<((GroupId, Date), Vec<MemberId>)>,
    pub group_names: BTreeMap<GroupId, String>,
    pub member_names: BTreeMap<MemberId, String>,
    pub warnings: Warnings,
    /// `rtrwgroups.csv` rows read (including those skipped by the start date).
    pub occurrence_rows: usize,
    /// `rtrwgroups.csv` rows before the start date's Sunday, skipped.
    pub skipped_before_start: usize,
    pub files: Vec<SourceFile>,
    /// The options it was read with, as the commit records them.
    pub options: Vec<String>,
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

/// An integer ident; blank is `None`.
fn integer(row: &Row<'_>, column: usize) -> Result<Option<i64>> {
    let text = row.text(column);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| row.error(column, format!("{text:?} is not a whole number")))
}

fn required_integer(row: &Row<'_>, column: usize) -> Result<i64> {
    integer(row, column)?.ok_or_else(|| row.error(column, "is blank; a number is required"))
}

/// Parses a `Days` value leniently: `dd/mm/yyyy` or `yyyy-mm-dd`, optionally followed by a
/// time part (after a space or `T`), which is ignored. Impossible dates are errors.
pub fn parse_sb_date(text: &str) -> std::result::Result<Date, String> {
    let text = text.trim();
    let date_part = text.split([' ', 'T']).next().unwrap_or("");
    let number = |part: &str| -> Option<u32> {
        if part.is_empty() || part.len() > 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let fields: Vec<&str>;
    let (year, month, day) = if date_part.contains('/') {
        fields = date_part.split('/').collect();
        match fields.as_slice() {
            [d, m, y] if y.len() >= 4 => (number(y), number(m), number(d)),
            _ => (None, None, None),
        }
    } else {
        fields = date_part.split('-').collect();
        match fields.as_slice() {
            [y, m, d] if y.len() >= 4 => (number(y), number(m), number(d)),
            _ => (None, None, None),
        }
    };
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err(format!(
            "{text:?} is not a date: write dd/mm/yyyy or yyyy-mm-dd (a time after it is ignored)"
        ));
    };
    // `year` has at most five digits, so it fits an i32.
    Date::from_ymd(year as i32, month, day).map_err(|e| format!("{text:?} is not a date: {e}"))
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
    let (members, listed) = occurrences.members(&pupil_rows.pupils, listings);
    export.warnings.duplicate_pupil_rows = listed.duplicates;
    export.warnings.pupils_not_in_pupil_file = listed
        .pupils
        .iter()
        .filter(|member| !export.member_names.contains_key(*member))
        .count();
    export.occurrences = occurrences
        .keys
        .iter()
        .zip(members)
        .map(|(&(group_number, date), members)| {
            ((occurrences.groups[&group_number].clone(), date), members)
        })
        .collect();
    export.occurrences.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    export.files = sources;
    export.options = options.as_recorded();
    Ok(export)
}

/// A scoped thread's result; its panic goes on unwinding here.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Reads every file but `rtrwpupils.csv`: the export without its pupil lists, and its
/// occurrences.
fn read_occurrences(files: &ExportFiles, start: Option<Date>) -> Result<(Export, Occurrences)> {
    // days.csv: DateIdent -> date.
    let text = files.required_text(DAYS_FILE)?;
    let days_stream = files.stream(DAYS_FILE, &text)?;
    let [days_column, day_ident_column] = days_stream.columns(["Days", "DateIdent"])?;
    let mut days: HashMap<i64, Date> = HashMap::new();
    days_stream.for_each(|row| {
        let ident = required_integer(row, day_ident_column)?;
        let text = row.text(days_column);
        let date = parse_sb_date(text).map_err(|detail| row.error(days_column, detail))?;
        if let Some(previous) = days.insert(ident, date) {
            if previous != date {
                return Err(row.error(
                    day_ident_column,
                    format!("DateIdent {ident} is listed again with a different day ({previous} before, {date} here)"),
                ));
            }
        }
        Ok(())
    })?;

    // rtrotaweek.csv: RTRotaWeekIdent -> DateIdent (a day of the week).
    let text = files.required_text(ROTA_WEEK_FILE)?;
    let rota_stream = files.stream(ROTA_WEEK_FILE, &text)?;
    let [rota_ident_column, rota_day_column] =
        rota_stream.columns(["RTRotaWeekIdent", "DateIdent"])?;
    let mut rota_weeks: HashMap<i64, Date> = HashMap::new();
    rota_stream.for_each(|row| {
        let ident = required_integer(row, rota_ident_column)?;
        let day_ident = required_integer(row, rota_day_column)?;
        let date = *days.get(&day_ident).ok_or_else(|| {
            row.error(
                rota_day_column,
                format!("DateIdent {day_ident} is not in {DAYS_FILE}"),
            )
        })?;
        rota_weeks.insert(ident, date);
        Ok(())
    })?;

    // staff.csv (optional): the staff SB knows.
    let staff: Option<HashSet<i64>> = match files.text(STAFF_FILE)? {
        None => None,
        Some(text) => {
            let stream = files.stream(STAFF_FILE, &text)?;
            let [user_column] = stream.columns(["UserIdent"])?;
            let mut known = HashSet::new();
            stream.for_each(|row| {
                known.insert(required_integer(row, user_column)?);
                Ok(())
            })?;
            Some(known)
        }
    };

    // pupil.csv: names.
    let text = files.required_text(PUPIL_FILE)?;
    let pupil_stream = files.stream(PUPIL_FILE, &text)?;
    let [pupil_column, surname_column, firstname_column] =
        pupil_stream.columns(["PupOrigNum", "Pu_Surname", "Pu_Firstname"])?;
    let report_name_column = pupil_stream.optional_column("PupReportName");
    let mut member_names: BTreeMap<MemberId, String> = BTreeMap::new();
    pupil_stream.for_each(|row| {
        let member = row.member(pupil_column)?;
        let report_name = report_name_column.map_or("", |column| row.text(column));
        let name = if report_name.is_empty() {
            format!(
                "{} {}",
                row.text(firstname_column),
                row.text(surname_column)
            )
            .trim()
            .to_string()
        } else {
            report_name.to_string()
        };
        member_names.insert(member, name);
        Ok(())
    })?;

    // rtrwgroups.csv: one row per weekly occurrence.
    let text = files.required_text(OCCURRENCE_FILE)?;
    let occurrence_stream = files.stream(OCCURRENCE_FILE, &text)?;
    let [occurrence_column, rota_week_column, group_column, group_day_column, group_name_column, date_ident_column] =
        occurrence_stream.columns([
            "RTRWGroupsIdent",
            "RTRotaWeekIdent",
            "GroupIdent",
            "GroupDay",
            "GroupName",
            "DateIdent",
        ])?;
    let staff_columns: Vec<usize> = STAFF_COLUMNS
        .iter()
        .filter_map(|name| occurrence_stream.optional_column(name))
        .collect();
    let mut export = Export::default();
    let mut occurrences = Occurrences::default();
    // The name a group carries on its latest occurrence in the export.
    let mut latest_names: FxHashMap<i64, (Date, String)> = FxHashMap::default();
    occurrence_stream.for_each(|row| {
        export.occurrence_rows += 1;
        let ident = required_integer(row, occurrence_column)?;
        let group_number = required_integer(row, group_column)?;
        if let Entry::Vacant(vacant) = occurrences.groups.entry(group_number) {
            let group = GroupId::new(&group_number.to_string())
                .map_err(|e| row.error(group_column, format!("bad group id: {e}")))?;
            vacant.insert(group);
        }
        let group_day = required_integer(row, group_day_column)?;
        if !(0..=MAX_GROUP_DAY).contains(&group_day) {
            return Err(row.error(
                group_day_column,
                format!(
                    "GroupDay {group_day} is not a day of the week (0 = Sunday to {MAX_GROUP_DAY})"
                ),
            ));
        }
        let week_day = week_day_of(row, date_ident_column, rota_week_column, &days, &rota_weeks)?;
        let date = week_day
            .sunday_on_or_before()
            .and_then(|sunday| sunday.add_days(group_day))
            .ok_or_else(|| row.error(date_ident_column, "the occurrence date is out of range"))?;
        let key = if start.is_some_and(|start| date < start) {
            export.skipped_before_start += 1;
            None
        } else {
            Some((group_number, date))
        };
        match occurrences.add(ident, key) {
            Added::New => {}
            Added::Again => return Ok(()), // an identical repeated row says nothing new
            Added::Conflict => {
                return Err(row.error(
                    occurrence_column,
                    format!(
                        "RTRWGroupsIdent {ident} is listed again for a different group or date"
                    ),
                ))
            }
        }
        if key.is_none() {
            return Ok(());
        }
        let mut has_staff = false;
        for &column in &staff_columns {
            if let Some(user) = integer(row, column)? {
                has_staff |= staff.as_ref().is_none_or(|known| known.contains(&user));
            }
        }
        if !has_staff {
            export.warnings.occurrences_without_staff += 1;
        }
        let name = row.text(group_name_column);
        if !name.is_empty() {
            match latest_names.entry(group_number) {
                Entry::Vacant(vacant) => {
                    vacant.insert((date, name.to_string()));
                }
                Entry::Occupied(mut occupied) => {
                    let latest = occupied.get_mut();
                    if date >= latest.0 {
                        latest.0 = date;
                        latest.1.clear();
                        latest.1.push_str(name);
                    }
                }
            }
        }
        Ok(())
    })?;
    export.group_names = latest_names
        .into_iter()
        .map(|(number, (_, name))| (occurrences.groups[&number].clone(), name))
        .collect();

    // Keep the names of pupils this export speaks of, and every other pupil too: a name is
    // still the pupil's name when they are in no activity this week.
    export.member_names = member_names;
    Ok((export, occurrences))
}

/// `rtrwpupils.csv` files of at least this many bytes are read in two halves at once.
const SPLIT_MIN_BYTES: usize = 1 << 20;
/// Occurrence idents below this are numbered through a table indexed by ident (4 bytes
/// per ident up to the largest seen, so at most 16 MiB); others through a hash map.
const DENSE_IDENTS: usize = 1 << 22;
/// An ident with no number yet, in `PupilRows::dense_numbers`.
const NO_NUMBER: u32 = u32::MAX;

/// `rtrwpupils.csv`, one row per pupil per occurrence, read without the other files: each
/// row's occurrence ident and pupil, both as dense numbers.
#[derive(Default)]
struct PupilRows {
    pupils: Pupils,
    /// The distinct occurrence idents, in the order first seen.
    idents: Vec<i64>,
    /// Each ident's index in `idents`, by ident: SB's idents are small numbers, so most
    /// rows find theirs in a table a few MiB at most, in cache, without hashing.
    dense_numbers: Vec<u32>,
    /// The same, for idents outside `0..DENSE_IDENTS`.
    ident_numbers: FxHashMap<i64, u32>,
    /// (the ident's index in `idents`, the pupil's number in `pupils`) per row.
    rows: Vec<(u32, u32)>,
}

impl PupilRows {
    fn read(files: &ExportFiles) -> Result<PupilRows> {
        let text = files.required_text(OCCURRENCE_PUPIL_FILE)?;
        match PupilRows::read_halves(files, &text) {
            Some(read) => Ok(read),
            None => PupilRows::read_text(files, &text),
        }
    }

    /// Reads the file's two halves at once, when it is large and has no quotes (so every
    /// line break ends a row, and the halves can be split at one), and gives what
    /// [`PupilRows::read_text`] would: the second half's new pupils and idents are numbered
    /// after the first's, in the order first seen. `None` on any error, and when the rows
    /// reach the row limit: reading the file in one pass then finds the error it is
    /// refused with, at its place in the whole file.
    fn read_halves(files: &ExportFiles, text: &str) -> Option<PupilRows> {
        let bytes = text.as_bytes();
        if bytes.len() < SPLIT_MIN_BYTES || bytes.contains(&b'"') {
            return None;
        }
        let line_end = |from: usize| {
            bytes[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|at| from + at + 1)
        };
        let header_end = line_end(0)?;
        let split = line_end(header_end + (bytes.len() - header_end) / 2)?;
        // Both ends are just after an ASCII line break, so on character boundaries.
        let second = format!("{}{}", text.get(..header_end)?, text.get(split..)?);
        let first = text.get(..split)?;
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| PupilRows::read_text(files, &second));
            (PupilRows::read_text(files, first), join(second))
        });
        let mut read = first.ok()?;
        read.append(second.ok()?).ok()?;
        ((read.rows.len() as u64) < crate::model::MAX_INPUT_ROWS).then_some(read)
    }

    fn read_text(files: &ExportFiles, text: &str) -> Result<PupilRows> {
        let stream = files.stream(OCCURRENCE_PUPIL_FILE, text)?;
        let [pupil_column, occurrence_column] =
            stream.columns(["PupOrigNum", "RTRWGroupsIdent"])?;
        let mut read = PupilRows::default();
        stream.for_each(|row| {
            let ident = required_integer(row, occurrence_column)?;
            let member = read.pupils.intern(row, pupil_column)?;
            let ident = read.ident_number(ident);
            read.rows.push((ident, member));
            Ok(())
        })?;
        Ok(read)
    }

    fn ident_number(&mut self, ident: i64) -> u32 {
        let next = self.idents.len() as u32;
        let Some(index) = usize::try_from(ident).ok().filter(|&i| i < DENSE_IDENTS) else {
            return *self.ident_numbers.entry(ident).or_insert_with(|| {
                self.idents.push(ident);
                next
            });
        };
        if index >= self.dense_numbers.len() {
            self.dense_numbers.resize(index + 1, NO_NUMBER);
        }
        let number = &mut self.dense_numbers[index];
        if *number == NO_NUMBER {
            *number = next;
            self.idents.push(ident);
        }
        *number
    }

    /// Adds the rows read after these.
    fn append(&mut self, later: PupilRows) -> Result<()> {
        let pupils = later
            .pupils
            .ids
            .iter()
            .map(|id| self.pupils.number(id.as_str(), || Ok(id.clone())))
            .collect::<Result<Vec<u32>>>()?;
        let idents: Vec<u32> = later
            .idents
            .iter()
            .map(|&ident| self.ident_number(ident))
            .collect();
        self.rows.extend(
            later
                .rows
                .iter()
                .map(|&(ident, member)| (idents[ident as usize], pupils[member as usize])),
        );
        Ok(())
    }

    /// (the occurrence's slot, the pupil's number) per row listing a pupil in a kept
    /// occurrence; rows naming an unknown occurrence are counted in `warnings`.
    fn listings(&self, occurrences: &Occurrences, warnings: &mut Warnings) -> Vec<(u32, u32)> {
        let slots: Vec<Slot> = self
            .idents
            .iter()
            .map(|&ident| occurrences.slot_of(ident))
            .collect();
        let mut listings = Vec::with_capacity(self.rows.len());
        for &(ident, member) in &self.rows {
            match slots[ident as usize] {
                Slot::Unknown => warnings.pupil_rows_for_unknown_occurrences += 1,
                Slot::Skipped => {} // before the start date
                Slot::Kept(slot) => listings.push((slot, member)),
            }
        }
        listings
    }
}

/// `rtrwgroups.csv` as the pupil rows need it: each occurrence ident's slot, and each
/// slot's (group number, date) key.
#[derive(Default)]
struct Occurrences {
    /// Occurrence ident -> its slot (an index into `key_of_slot`), or `None` when skipped by
    /// the start date.
    slots: FxHashMap<i64, Option<u32>>,
    /// Each kept occurrence ident's key, as an index into `keys`.
    key_of_slot: Vec<u32>,
    /// The distinct (group number, date) keys, in the order first seen.
    keys: Vec<(i64, Date)>,
    key_index: FxHashMap<(i64, Date), u32>,
    /// Each group number's id, made once.
    groups: FxHashMap<i64, GroupId>,
}

/// What [`Occurrences::add`] made of a row.
enum Added {
    New,
    /// The ident is known with the same key.
    Again,
    /// The ident is known with another key (or was skipped and is now kept, or the reverse).
    Conflict,
}

/// Where a pupil row's occurrence ident leads.
enum Slot {
    Unknown,
    Skipped,
    Kept(u32),
}

/// What the pupil rows listed, beyond each occurrence's members.
struct Listed {
    /// Rows repeating a pupil already listed in the same occurrence ident.
    duplicates: usize,
    /// Every pupil in some kept occurrence.
    pupils: Vec<MemberId>,
}

impl Occurrences {
    fn add(&mut self, ident: i64, key: Option<(i64, Date)>) -> Added {
        let index = key.map(|key| {
            let next = self.keys.len() as u32;
            *self.key_index.entry(key).or_insert_with(|| {
                self.keys.push(key);
                next
            })
        });
        match self.slots.entry(ident) {
            Entry::Occupied(occupied) => {
                let same = match *occupied.get() {
                    None => index.is_none(),
                    Some(slot) => index == Some(self.key_of_slot[slot as usize]),
                };
                if same {
                    Added::Again
                } else {
                    Added::Conflict
                }
            }
            Entry::Vacant(vacant) => {
                vacant.insert(index.map(|index| {
                    self.key_of_slot.push(index);
                    self.key_of_slot.len() as u32 - 1
                }));
                Added::New
            }
        }
    }

    fn slot_of(&self, ident: i64) -> Slot {
        match self.slots.get(&ident) {
            None => Slot::Unknown,
            Some(None) => Slot::Skipped,
            Some(Some(slot)) => Slot::Kept(*slot),
        }
    }

    /// Each key's members (in `keys` order), from (slot, pupil) listings: grouped by key
    /// with a counting sort, then sorted by (pupil, slot) within each key, so that a
    /// pupil's repeats in one slot are adjacent (a duplicate row) and the key's pupils come
    /// out in id order (two occurrences of a group on one day are one snapshot).
    fn members(&self, pupils: &Pupils, listings: Vec<(u32, u32)>) -> (Vec<Vec<MemberId>>, Listed) {
        let rank = pupils.ranks();
        let by_rank = pupils.by_rank(&rank);
        let key_of = |slot: u32| self.key_of_slot[slot as usize] as usize;
        // Counting sort by key: `starts[key]..starts[key + 1]` are the key's listings.
        let mut starts = vec![0usize; self.keys.len() + 1];
        for &(slot, _) in &listings {
            starts[key_of(slot) + 1] += 1;
        }
        for key in 0..self.keys.len() {
            starts[key + 1] += starts[key];
        }
        let mut next = starts.clone();
        // (the pupil's rank, the slot) in one integer, which sorts by rank then slot.
        let mut by_key = vec![0u64; listings.len()];
        for (slot, member) in listings {
            let key = key_of(slot);
            by_key[next[key]] = (u64::from(rank[member as usize]) << 32) | u64::from(slot);
            next[key] += 1;
        }
        let mut duplicates = 0;
        let mut listed = vec![false; rank.len()];
        let members = starts
            .windows(2)
            .map(|range| {
                let entries = &mut by_key[range[0]..range[1]];
                entries.sort_unstable();
                let mut ids = Vec::with_capacity(entries.len());
                let mut previous = None;
                for &entry in entries.iter() {
                    if previous == Some(entry) {
                        duplicates += 1;
                        continue;
                    }
                    let member = (entry >> 32) as usize;
                    if previous.is_none_or(|previous| (previous >> 32) as usize != member) {
                        listed[member] = true;
                        ids.push(by_rank[member].clone());
                    }
                    previous = Some(entry);
                }
                ids
            })
            .collect();
        let pupils = by_rank
            .iter()
            .zip(listed)
            .filter(|(_, listed)| *listed)
            .map(|(member, _)| member.clone())
            .collect();
        (members, Listed { duplicates, pupils })
    }
}

/// The distinct pupil ids of `rtrwpupils.csv`, each validated and allocated once however
/// many rows name it.
#[derive(Default)]
struct Pupils {
    /// Ids of up to [`SHORT_ID_BYTES`] bytes (SB pupil numbers have five or six digits),
    /// by [`short_key`]: a look-up follows no pointer and compares no strings.
    short: FxHashMap<u64, u32>,
    long: FxHashMap<Box<str>, u32>,
    ids: Vec<MemberId>,
}

/// The longest id [`short_key`] packs: one byte of the key holds the length.
const SHORT_ID_BYTES: usize = 7;

/// The id's bytes and its length in one integer, equal for equal ids only.
fn short_key(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() > SHORT_ID_BYTES {
        return None;
    }
    let mut key = [0u8; 8];
    key[..bytes.len()].copy_from_slice(bytes);
    key[SHORT_ID_BYTES] = bytes.len() as u8;
    Some(u64::from_le_bytes(key))
}

impl Pupils {
    /// The number of the row's pupil (in the order first seen); a bad id is an error at the
    /// row, as `Row::member` would give.
    fn intern(&mut self, row: &Row<'_>, column: usize) -> Result<u32> {
        self.number(row.text(column), || row.member(column))
    }

    /// The number of the pupil `text`; `id` makes its id when it is new.
    fn number(&mut self, text: &str, id: impl FnOnce() -> Result<MemberId>) -> Result<u32> {
        let key = short_key(text);
        let found = match key {
            Some(key) => self.short.get(&key),
            None => self.long.get(text),
        };
        if let Some(&number) = found {
            return Ok(number);
        }
        let member = id()?;
        let number = self.ids.len() as u32;
        self.ids.push(member);
        match key {
            Some(key) => self.short.insert(key, number),
            None => self.long.insert(text.into(), number),
        };
        Ok(number)
    }

    /// Each pupil's rank in id order, by number: sorting ranks sorts ids.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.ids[*a as usize].cmp(&self.ids[*b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (position, number) in order.into_iter().enumerate() {
            rank[number as usize] = position as u32;
        }
        rank
    }

    /// The ids in rank order.
    fn by_rank(&self, rank: &[u32]) -> Vec<MemberId> {
        let mut ids = self.ids.clone();
        for (number, id) in self.ids.iter().enumerate() {
            ids[rank[number] as usize] = id.clone();
        }
        ids
    }
}

/// The day that locates an occurrence's week: `Days[DateIdent]`, else the day of its rota
/// week.
fn week_day_of(
    row: &Row<'_>,
    date_ident_column: usize,
    rota_week_column: usize,
    days: &HashMap<i64, Date>,
    rota_weeks: &HashMap<i64, Date>,
) -> Result<Date> {
    let date_ident = integer(row, date_ident_column)?;
    if let Some(date) = date_ident.and_then(|ident| days.get(&ident)) {
        return Ok(*date);
    }
    let rota_week = integer(row, rota_week_column)?;
    if let Some(date) = rota_week.and_then(|ident| rota_weeks.get(&ident)) {
        return Ok(*date);
    }
    let shown = |ident: Option<i64>| ident.map_or("blank".to_string(), |i| i.to_string());
    Err(row.error(
        date_ident_column,
        format!(
            "the occurrence's week is unknown: DateIdent ({}) is not in {DAYS_FILE} and RTRotaWeekIdent ({}) is not in {ROTA_WEEK_FILE}",
            shown(date_ident),
            shown(rota_week)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sb_dates_are_read_leniently_and_impossible_ones_refused() {
        let check = |text: &str, expected: Option<&str>| {
            let got = parse_sb_date(text).ok().map(|d| d.to_string());
            assert_eq!(got.as_deref(), expected, "for {text:?}");
        };
        check("16/11/2015", Some("2015-11-16"));
        check("2015-11-16", Some("2015-11-16"));
        check("16/11/2015 00:00:00", Some("2015-11-16"));
        check("2015-11-16T00:00:00", Some("2015-11-16"));
        check("2015-11-16 12:30", Some("2015-11-16"));
        check("1/2/2016", Some("2016-02-01"));
        check("31/02/2016", None);
        check("29/02/2015", None);
        check("01/01/0000", None);
        check("01/01/99999", None);
        check("16/11/15", None);
        check("", None);
        check("yesterday", None);
    }

    /// A school year's `rtrwpupils.csv` (over [`SPLIT_MIN_BYTES`]), its text and the
    /// export.
    fn school_year() -> (ExportFiles, String) {
        let files = generate::generate(1, generate::SCHOOL_YEAR).files();
        let text = decode(&files.files[OCCURRENCE_PUPIL_FILE]).into_owned();
        assert!(text.len() >= SPLIT_MIN_BYTES);
        (files, text)
    }

    #[test]
    fn pupil_rows_read_in_halves_are_numbered_as_in_one_pass() {
        let (files, text) = school_year();
        let halves = PupilRows::read_halves(&files, &text).expect("a clean file splits");
        let whole = PupilRows::read_text(&files, &text).unwrap();
        assert_eq!(halves.idents, whole.idents);
        assert_eq!(halves.rows, whole.rows);
        assert_eq!(halves.pupils.ids, whole.pupils.ids);
    }

    #[test]
    fn idents_in_and_outside_the_dense_table_are_numbered_in_the_order_first_seen() {
        let mut read = PupilRows::default();
        let idents = [5, -1, 1 << 40, DENSE_IDENTS as i64, 5, 0, -1, 1 << 40];
        let numbers: Vec<u32> = idents.iter().map(|&i| read.ident_number(i)).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 0, 4, 1, 2]);
        assert_eq!(read.idents, [5, -1, 1 << 40, DENSE_IDENTS as i64, 0]);
    }

    #[test]
    fn a_bad_pupil_row_in_the_second_half_is_refused_at_its_line_in_the_whole_file() {
        let (mut files, text) = school_year();
        let mut lines: Vec<&str> = text.lines().collect();
        let bad = lines.len() * 3 / 4;
        lines[bad] = "1,2,x";
        let text = lines.join("\n");
        assert!(PupilRows::read_halves(&files, &text).is_none());
        files
            .files
            .insert(OCCURRENCE_PUPIL_FILE.to_string(), text.into_bytes());
        let error = parse(&files, &Options::default()).unwrap_err().to_string();
        let line = bad + 1;
        assert!(
            error.starts_with(&format!("line {line}, column 3 (RTRWGroupsIdent) of ")),
            "{error}"
        );
    }
}
