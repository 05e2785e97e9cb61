//! The rows of an SB export: `days.csv`, `rtrotaweek.csv`, `rtrwgroups.csv`, `pupil.csv`,
//! `staff.csv`, and `rtrwpupils.csv` (most of the bytes, read in two halves on two cores
//! when large), each row checked and numbered densely as it is read.
//!
//! Owns: the lenient `Days` date parser, the occurrence and pupil-row readers, and the
//! warnings each row can earn.
//! Must not: open the ledger or decide anything about membership.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::FxHashMap;

use crate::error::Result;
use crate::import::sb::{
    join, Export, ExportFiles, Session, Warnings, DAYS_FILE, MAX_GROUP_DAY, OCCURRENCE_FILE,
    OCCURRENCE_PUPIL_FILE, PUPIL_FILE, ROTA_WEEK_FILE, STAFF_COLUMNS, STAFF_FILE,
};
use crate::import::table::Row;
use crate::model::{check_name, Date, GroupId, MemberId};

/// An integer ident; blank is `None`.
pub(super) fn integer(row: &Row<'_>, column: usize) -> Result<Option<i64>> {
    let text = row.text(column);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| row.error(column, format!("{text:?} is not a whole number")))
}

pub(super) fn required_integer(row: &Row<'_>, column: usize) -> Result<i64> {
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

/// Reads every file but `rtrwpupils.csv`: the export without its pupil lists, and its
/// occurrences.
pub(super) fn read_occurrences(
    files: &ExportFiles,
    start: Option<Date>,
) -> Result<(Export, Occurrences)> {
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
        let (name, column) = if report_name.is_empty() {
            let name = format!(
                "{} {}",
                row.text(firstname_column),
                row.text(surname_column)
            )
            .trim()
            .to_string();
            (name, firstname_column)
        } else {
            // `report_name_column` is `Some`: the name came from it.
            (
                report_name.to_string(),
                report_name_column.unwrap_or(firstname_column),
            )
        };
        // A pupil with no name at all is stored under their number (a blank name is not
        // stored); a name that is there must be one muster can store and print.
        if !name.is_empty() {
            check_name(&name).map_err(|e| row.error(column, e.to_string()))?;
        }
        member_names.insert(member, name);
        Ok(())
    })?;

    // rtrwgroups.csv: one row per weekly occurrence.
    let text = files.required_text(OCCURRENCE_FILE)?;
    let occurrence_stream = files.stream_of_sessions(OCCURRENCE_FILE, &text)?;
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
            if let Some(group) = occurrences.groups.get(&group_number) {
                export.warned.occurrences_without_staff.push(Session {
                    occurrence: ident,
                    group: group.clone(),
                    date,
                });
            }
        }
        let name = row.text(group_name_column);
        if !name.is_empty() {
            check_name(name).map_err(|e| row.error(group_name_column, e.to_string()))?;
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
pub(super) const SPLIT_MIN_BYTES: usize = 1 << 20;

/// Occurrence idents below this are numbered through a table indexed by ident (4 bytes
/// per ident up to the largest seen, so at most 16 MiB); others through a hash map.
pub(super) const DENSE_IDENTS: usize = 1 << 22;

/// An ident with no number yet, in `PupilRows::dense_numbers`.
pub(super) const NO_NUMBER: u32 = u32::MAX;

/// `rtrwpupils.csv`, one row per pupil per occurrence, read without the other files: each
/// row's occurrence ident and pupil, both as dense numbers.
#[derive(Default)]
pub(super) struct PupilRows {
    pub(super) pupils: Pupils,
    /// The distinct occurrence idents, in the order first seen.
    pub(super) idents: Vec<i64>,
    /// Each ident's index in `idents`, by ident: SB's idents are small numbers, so most
    /// rows find theirs in a table a few MiB at most, in cache, without hashing.
    pub(super) dense_numbers: Vec<u32>,
    /// The same, for idents outside `0..DENSE_IDENTS`.
    pub(super) ident_numbers: FxHashMap<i64, u32>,
    /// (the ident's index in `idents`, the pupil's number in `pupils`) per row.
    pub(super) rows: Vec<(u32, u32)>,
}

impl PupilRows {
    pub(super) fn read(files: &ExportFiles) -> Result<PupilRows> {
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
    pub(super) fn read_halves(files: &ExportFiles, text: &str) -> Option<PupilRows> {
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

    pub(super) fn read_text(files: &ExportFiles, text: &str) -> Result<PupilRows> {
        let stream = files.stream_of_sessions(OCCURRENCE_PUPIL_FILE, text)?;
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

    pub(super) fn ident_number(&mut self, ident: i64) -> u32 {
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
    pub(super) fn append(&mut self, later: PupilRows) -> Result<()> {
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
    pub(super) fn listings(
        &self,
        occurrences: &Occurrences,
        warnings: &mut Warnings,
    ) -> Vec<(u32, u32)> {
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
pub(super) struct Occurrences {
    /// Occurrence ident -> its slot (an index into `key_of_slot`), or `None` when skipped by
    /// the start date.
    pub(super) slots: FxHashMap<i64, Option<u32>>,
    /// Each kept occurrence ident's key, as an index into `keys`.
    pub(super) key_of_slot: Vec<u32>,
    /// The distinct (group number, date) keys, in the order first seen.
    pub(super) keys: Vec<(i64, Date)>,
    pub(super) key_index: FxHashMap<(i64, Date), u32>,
    /// Each group number's id, made once.
    pub(super) groups: FxHashMap<i64, GroupId>,
}

/// What [`Occurrences::add`] made of a row.
pub(super) enum Added {
    New,
    /// The ident is known with the same key.
    Again,
    /// The ident is known with another key (or was skipped and is now kept, or the reverse).
    Conflict,
}

/// Where a pupil row's occurrence ident leads.
pub(super) enum Slot {
    Unknown,
    Skipped,
    Kept(u32),
}

/// What the pupil rows listed, beyond each occurrence's members.
pub(super) struct Listed {
    /// Rows repeating a pupil already listed in the same occurrence ident.
    pub(super) duplicates: usize,
    /// Every pupil in some kept occurrence.
    pub(super) pupils: Vec<MemberId>,
}

impl Occurrences {
    pub(super) fn add(&mut self, ident: i64, key: Option<(i64, Date)>) -> Added {
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

    pub(super) fn slot_of(&self, ident: i64) -> Slot {
        match self.slots.get(&ident) {
            None => Slot::Unknown,
            Some(None) => Slot::Skipped,
            Some(Some(slot)) => Slot::Kept(*slot),
        }
    }

    /// Each key's members (in `keys` order), from (slot, pupil) listings: grouped by key
    /// with a counting sort, then sorted by (pupil, slot) within each key, so that a
    /// pupil's repeats in one slot are adjacent (a duplicate row) and the key's pupils come
    /// out in id order (two occurrences of a group on one day are one snapshot). Members
    /// are given as ranks: positions in the pupils in id order, returned beside them.
    pub(super) fn members(
        &self,
        pupils: &Pupils,
        listings: Vec<(u32, u32)>,
    ) -> (Vec<Vec<u32>>, Vec<MemberId>, Listed) {
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
                        ids.push(member as u32);
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
        (members, by_rank, Listed { duplicates, pupils })
    }
}

/// The distinct pupil ids of `rtrwpupils.csv`, each validated and allocated once however
/// many rows name it.
#[derive(Default)]
pub(super) struct Pupils {
    /// Ids of up to [`SHORT_ID_BYTES`] bytes (SB pupil numbers have five or six digits),
    /// by [`short_key`]: a look-up follows no pointer and compares no strings.
    pub(super) short: FxHashMap<u64, u32>,
    pub(super) long: FxHashMap<Box<str>, u32>,
    pub(super) ids: Vec<MemberId>,
}

/// The longest id [`short_key`] packs: one byte of the key holds the length.
pub(super) const SHORT_ID_BYTES: usize = 7;

/// The id's bytes and its length in one integer, equal for equal ids only.
pub(super) fn short_key(text: &str) -> Option<u64> {
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
    pub(super) fn intern(&mut self, row: &Row<'_>, column: usize) -> Result<u32> {
        self.number(row.text(column), || row.member(column))
    }

    /// The number of the pupil `text`; `id` makes its id when it is new.
    pub(super) fn number(
        &mut self,
        text: &str,
        id: impl FnOnce() -> Result<MemberId>,
    ) -> Result<u32> {
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
    pub(super) fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.ids[*a as usize].cmp(&self.ids[*b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (position, number) in order.into_iter().enumerate() {
            rank[number as usize] = position as u32;
        }
        rank
    }

    /// The ids in rank order.
    pub(super) fn by_rank(&self, rank: &[u32]) -> Vec<MemberId> {
        let mut ids = self.ids.clone();
        for (number, id) in self.ids.iter().enumerate() {
            ids[rank[number] as usize] = id.clone();
        }
        ids
    }
}

/// The day that locates an occurrence's week: `Days[DateIdent]`, else the day of its rota
/// week.
pub(super) fn week_day_of(
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
mod tests;
