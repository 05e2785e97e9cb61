//! Synthetic SB exports: a realistic school year (or a larger one for benchmarks), the
//! same bytes for the same seed.
//!
//! Owns: [`Scale`], [`generate`], the [`Generated`] model, and a small deterministic PRNG
//! ([`SplitMix64`]), so no outside randomness crate is needed and output never changes
//! between versions of a dependency.
//! Must not: read anything, or know about the ledger. It only writes what SB would export,
//! including its untidiness: weekly churn, activities that start or stop mid-year, two
//! sessions of one activity on one day, duplicate rows, pupils missing from `pupil.csv`,
//! sessions without staff, non-ASCII names, Windows-1252 and BOM-prefixed files, shuffled
//! rows, and a half-term week when nothing meets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::PathBuf;

use crate::import::sb::{
    ExportFiles, DAYS_FILE, OCCURRENCE_FILE, OCCURRENCE_PUPIL_FILE, PUPIL_FILE, ROTA_WEEK_FILE,
    STAFF_FILE,
};
use crate::model::Date;

/// How big an export to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub pupils: usize,
    pub activities: usize,
    /// Teaching weeks (a half-term week with no sessions is added when there are at least
    /// [`MIN_WEEKS_FOR_HALF_TERM`]).
    pub weeks: usize,
}

/// A school year: 1,200 pupils, 250 activities, 33 teaching weeks.
pub const SCHOOL_YEAR: Scale = Scale {
    pupils: 1_200,
    activities: 250,
    weeks: 33,
};
/// A large school for benchmarks: about 2.6 million pupil rows.
pub const LARGE: Scale = Scale {
    pupils: 20_000,
    activities: 4_000,
    weeks: 40,
};

/// The Sunday the generated year begins on.
const FIRST_SUNDAY: (i32, u32, u32) = (2015, 9, 6);
/// Fewer teaching weeks than this get no half-term.
pub const MIN_WEEKS_FOR_HALF_TERM: usize = 6;
const FIRST_DATE_IDENT: u64 = 4_400;
const FIRST_ROTA_WEEK_IDENT: u64 = 640;
const FIRST_OCCURRENCE_IDENT: u64 = 40_000;
const FIRST_GROUP_IDENT: u64 = 34_000;
const FIRST_PUPIL_NUMBER: u64 = 10_000;
const FIRST_STAFF_IDENT: u64 = 300;
const STAFF: u64 = 80;
/// Roster sizes: from `MIN_ROSTER` to `MIN_ROSTER + ROSTER_SPREAD - 1` (about 16 on average).
const MIN_ROSTER: u64 = 8;
const ROSTER_SPREAD: u64 = 17;
/// Chances, in parts per thousand.
const STARTS_LATE_PER_MILLE: u64 = 100;
const STOPS_EARLY_PER_MILLE: u64 = 100;
const MEETS_TWICE_PER_MILLE: u64 = 30;
const LEAVES_PER_MILLE: u64 = 50;
const MISSES_A_WEEK_PER_MILLE: u64 = 20;
const NO_STAFF_PER_MILLE: u64 = 30;
const DUPLICATE_ROW_PER_MILLE: u64 = 3;
const NOT_IN_PUPIL_FILE_PER_MILLE: u64 = 5;
const UNRESOLVED_DATE_IDENT_PER_MILLE: u64 = 20;

const FIRST_NAMES: [&str; 30] = [
    "Noah",
    "Oliver",
    "Zoë",
    "Siobhán",
    "Amélie",
    "Chloé",
    "José",
    "Renée",
    "Seán",
    "Niamh",
    "Aoife",
    "Björn",
    "Ingrid",
    "Mohammed",
    "Aisha",
    "Priya",
    "Liam",
    "Emma",
    "Olivia",
    "George",
    "Harry",
    "Isla",
    "Freya",
    "Jack",
    "Muireann",
    "Dáithí",
    "Léa",
    "François",
    "Noémie",
    "Jürgen",
];
const SURNAMES: [&str; 32] = [
    "Williams",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Ó Briain",
    "Müller",
    "Núñez",
    "García",
    "Öztürk",
    "Patel",
    "Khan",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Johnson",
    "Lewis",
    "Walker",
    "Robinson",
    "Wood",
    "Thompson",
    "White",
    "Watson",
    "Jackson",
    "Wright",
    "Green",
    "Harris",
    "Cooper",
    "Dubois",
    "Lefèvre",
];
const ACTIVITIES: [&str; 20] = [
    "Computer Project",
    "Chess Club",
    "Choir",
    "Orchestra",
    "Football",
    "Rugby",
    "Drama",
    "Art Studio",
    "Robotics",
    "Photography",
    "Badminton",
    "Climbing",
    "Jazz Band",
    "Model United Nations",
    "Creative Writing",
    "Astronomy",
    "Fencing",
    "Mandarin",
    "Español Conversación",
    "Crêpes & Cuisine",
];
const YEAR_LETTERS: [&str; 3] = ["M", "S", "L"];

/// The real `rtrwgroups.csv` header (see docs/sb.md).
pub const OCCURRENCE_HEADER: &str = "RTRWGroupsIdent,RTRotaWeekIdent,GroupIdent,GroupDay,GroupStart,GroupEnd,SCTIdent,RoomIdent,GroupRota,GroupSlotTime,StaffIdent,StaffIdent2,GroupName,DateIdent,RTGroupChecked,RTProtectedGroupClash,UserIdent3,UserIdent4";

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0; 0 gives 0). The modulo bias is irrelevant here.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with a chance of `per_mille` in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1_000) < per_mille
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            // `i + 1` fits a u64 and the result is at most `i`, so it fits a usize.
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// One `rtrwgroups.csv` row.
#[derive(Clone, Debug)]
struct OccurrenceRow {
    ident: u64,
    teaching_week: usize,
    rota_week: u64,
    group: u64,
    day: u64,
    start_minute: u64,
    name: String,
    /// `None` writes a DateIdent that days.csv does not have, so the week comes from the
    /// rota week.
    date_ident: Option<u64>,
    staff: Option<u64>,
}

/// A generated export as rows, before it becomes files, so that it can be written whole
/// or split by week.
#[derive(Clone, Debug)]
pub struct Generated {
    seed: u64,
    scale: Scale,
    calendar_weeks: usize,
    /// Calendar week of each teaching week.
    teaching_weeks: Vec<usize>,
    pupils: Vec<(u64, String, String)>,
    occurrences: Vec<OccurrenceRow>,
    /// (pupil number, occurrence ident, teaching week).
    pupil_rows: Vec<(u64, u64, usize)>,
}

/// Generates an export for `seed` at `scale`.
pub fn generate(seed: u64, scale: Scale) -> Generated {
    let mut rng = SplitMix64::new(seed);
    let half_term = (scale.weeks >= MIN_WEEKS_FOR_HALF_TERM).then_some(scale.weeks / 3);
    let teaching_weeks: Vec<usize> = (0..scale.weeks)
        .map(|week| week + usize::from(half_term.is_some_and(|h| week >= h)))
        .collect();
    let calendar_weeks = teaching_weeks.last().map_or(0, |last| last + 1);

    let pupils: Vec<(u64, String, String)> = (0..scale.pupils as u64)
        .map(|i| {
            let first = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
            let last = SURNAMES[rng.below(SURNAMES.len() as u64) as usize];
            (FIRST_PUPIL_NUMBER + i, first.to_string(), last.to_string())
        })
        .collect();
    let pupil_count = scale.pupils.max(1) as u64;

    let mut occurrences = Vec::new();
    let mut pupil_rows = Vec::new();
    let mut next_ident = FIRST_OCCURRENCE_IDENT;
    let weeks = scale.weeks as u64;
    for activity in 0..scale.activities as u64 {
        let group = FIRST_GROUP_IDENT + activity;
        let name = format!(
            "{} ({}{})",
            ACTIVITIES[rng.below(ACTIVITIES.len() as u64) as usize],
            YEAR_LETTERS[rng.below(YEAR_LETTERS.len() as u64) as usize],
            7 + rng.below(7)
        );
        let day = 1 + rng.below(5);
        let start_minute = 900 + 30 * rng.below(6);
        let first_week = if rng.chance(STARTS_LATE_PER_MILLE) {
            rng.below(weeks / 2 + 1)
        } else {
            0
        };
        let last_week = if rng.chance(STOPS_EARLY_PER_MILLE) {
            (weeks / 2 + rng.below(weeks / 2 + 1)).max(first_week + 1)
        } else {
            weeks
        }
        .min(weeks);
        let meets_twice = rng.chance(MEETS_TWICE_PER_MILLE);
        let size = MIN_ROSTER + rng.below(ROSTER_SPREAD);
        let mut roster: BTreeSet<u64> = BTreeSet::new();
        while (roster.len() as u64) < size.min(pupil_count) {
            roster.insert(rng.below(pupil_count));
        }
        for week in first_week..last_week {
            // Weekly churn: some leave, about as many join.
            let leaving: Vec<u64> = roster
                .iter()
                .copied()
                .filter(|_| rng.chance(LEAVES_PER_MILLE))
                .collect();
            for pupil in &leaving {
                roster.remove(pupil);
                roster.insert(rng.below(pupil_count));
            }
            if roster.is_empty() {
                roster.insert(rng.below(pupil_count));
            }
            if rng.chance(MISSES_A_WEEK_PER_MILLE) {
                continue;
            }
            let teaching_week = week as usize;
            let sessions = if meets_twice { 2 } else { 1 };
            for session in 0..sessions {
                let ident = next_ident;
                next_ident += 1;
                let calendar_week = teaching_weeks[teaching_week] as u64;
                let date_ident = (!rng.chance(UNRESOLVED_DATE_IDENT_PER_MILLE))
                    .then(|| FIRST_DATE_IDENT + calendar_week * 7 + rng.below(7));
                let staff =
                    (!rng.chance(NO_STAFF_PER_MILLE)).then(|| FIRST_STAFF_IDENT + rng.below(STAFF));
                occurrences.push(OccurrenceRow {
                    ident,
                    teaching_week,
                    rota_week: FIRST_ROTA_WEEK_IDENT + teaching_week as u64,
                    group,
                    day,
                    start_minute: start_minute + 60 * session,
                    name: name.clone(),
                    date_ident,
                    staff,
                });
                for (position, &pupil) in roster.iter().enumerate() {
                    // The second session of the day has a different list: every third
                    // pupil is missing, and one extra pupil comes.
                    if session == 1 && position % 3 == 0 {
                        continue;
                    }
                    let number = FIRST_PUPIL_NUMBER + pupil;
                    pupil_rows.push((number, ident, teaching_week));
                    if rng.chance(DUPLICATE_ROW_PER_MILLE) {
                        pupil_rows.push((number, ident, teaching_week));
                    }
                }
                if session == 1 {
                    let extra = FIRST_PUPIL_NUMBER + rng.below(pupil_count);
                    pupil_rows.push((extra, ident, teaching_week));
                }
            }
        }
    }
    rng.shuffle(&mut occurrences);
    rng.shuffle(&mut pupil_rows);
    // Some pupils are in activities but not in pupil.csv.
    let mut pupils = pupils;
    let mut kept = Vec::with_capacity(pupils.len());
    for pupil in pupils.drain(..) {
        if !rng.chance(NOT_IN_PUPIL_FILE_PER_MILLE) {
            kept.push(pupil);
        }
    }
    Generated {
        seed,
        scale,
        calendar_weeks,
        teaching_weeks,
        pupils: kept,
        occurrences,
        pupil_rows,
    }
}

fn with_bom(text: String) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    bytes.extend_from_slice(b"\xEF\xBB\xBF");
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl Generated {
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Teaching weeks, numbered from 0.
    pub fn weeks(&self) -> usize {
        self.teaching_weeks.len()
    }

    /// The first and last calendar day the export covers.
    pub fn span(&self) -> (Date, Date) {
        let (year, month, day) = FIRST_SUNDAY;
        // A fixed, valid date.
        let first = Date::from_ymd(year, month, day).expect("FIRST_SUNDAY is a real date");
        let last = first
            .add_days(7 * self.calendar_weeks.max(1) as i64 - 1)
            .unwrap_or(first);
        (first, last)
    }

    /// The whole export.
    pub fn files(&self) -> ExportFiles {
        self.files_for_weeks(0..self.weeks())
    }

    /// An export holding only the occurrences of teaching weeks `weeks` (and, as SB does,
    /// every day, rota week, pupil and member of staff).
    pub fn files_for_weeks(&self, weeks: Range<usize>) -> ExportFiles {
        let mut files = BTreeMap::new();
        let (first, _) = self.span();
        let day_format = self.seed % 3;

        let mut days = String::from("DateIdent,Days,DayName\n");
        for index in 0..self.calendar_weeks as u64 * 7 {
            let date = first.add_days(index as i64).unwrap_or(first).naive();
            let text = match day_format {
                0 => date.format("%Y-%m-%d").to_string(),
                1 => date.format("%d/%m/%Y").to_string(),
                _ => date.format("%d/%m/%Y 00:00:00").to_string(),
            };
            let _ = writeln!(
                days,
                "{},{},{}",
                FIRST_DATE_IDENT + index,
                text,
                date.format("%A")
            );
        }
        files.insert(DAYS_FILE.to_string(), with_bom(days));

        let mut rota = String::from("RTRotaWeekIdent,DateIdent,RotaWeekName\n");
        for (teaching_week, calendar_week) in self.teaching_weeks.iter().enumerate() {
            let _ = writeln!(
                rota,
                "{},{},Week {}",
                FIRST_ROTA_WEEK_IDENT + teaching_week as u64,
                FIRST_DATE_IDENT + *calendar_week as u64 * 7 + 1,
                teaching_week + 1
            );
        }
        files.insert(ROTA_WEEK_FILE.to_string(), with_bom(rota));

        let mut pupils = String::from("PupOrigNum,Pu_Surname,Pu_Firstname,Pu_GivenName,PupReportName,PupEmail,Pu_CandNo,PupUCI,YearIdent,Pu_Doe,PupDateofLeaving,PType\n");
        for (index, (number, first_name, surname)) in self.pupils.iter().enumerate() {
            // Some pupils have a report name, the rest are named from their parts.
            let report = if index % 4 == 0 {
                quoted(&format!("{first_name} {surname}"))
            } else {
                String::new()
            };
            let _ = writeln!(
                pupils,
                "{number},{},{},{},{report},pupil{number}@school.example,,,{},,,60",
                quoted(surname),
                quoted(first_name),
                quoted(first_name),
                7 + number % 7
            );
        }
        // Windows-1252 for even seeds (every name generated is in it), UTF-8 with a BOM
        // for odd ones: both occur in the wild.
        let pupil_bytes = if self.seed.is_multiple_of(2) {
            encoding_rs::WINDOWS_1252.encode(&pupils).0.into_owned()
        } else {
            with_bom(pupils)
        };
        files.insert(PUPIL_FILE.to_string(), pupil_bytes);

        let mut staff = String::from("UserIdent,UserName,UserMnemonic,UserSurname,UserTitle,UserForename,UserLeft,UserTeach,UserDoesCover,UserEmail,PType\n");
        for index in 0..STAFF {
            let _ = writeln!(
                staff,
                "{},teacher{index},T{index:02},{},Mx,{},0,1,1,teacher{index}@school.example,60",
                FIRST_STAFF_IDENT + index,
                SURNAMES[index as usize % SURNAMES.len()],
                FIRST_NAMES[index as usize % FIRST_NAMES.len()]
            );
        }
        files.insert(STAFF_FILE.to_string(), with_bom(staff));

        let mut groups = String::with_capacity(self.occurrences.len() * 96);
        groups.push_str(OCCURRENCE_HEADER);
        groups.push('\n');
        for row in &self.occurrences {
            if !weeks.contains(&row.teaching_week) {
                continue;
            }
            let staff = row.staff.map(|s| s.to_string()).unwrap_or_default();
            // An unresolved DateIdent is one days.csv does not have.
            let date_ident = row.date_ident.unwrap_or(1);
            let _ = writeln!(
                groups,
                "{},{},{},{},{},{},13,229,0,0,{staff},,{},{date_ident},0,0,,",
                row.ident,
                row.rota_week,
                row.group,
                row.day,
                row.start_minute,
                row.start_minute + 60,
                quoted(&row.name)
            );
        }
        files.insert(OCCURRENCE_FILE.to_string(), with_bom(groups));

        let mut pupil_rows = String::with_capacity(self.pupil_rows.len() * 20);
        pupil_rows.push_str("RTRWPupilsIdent,PupOrigNum,RTRWGroupsIdent\n");
        for (index, (number, ident, week)) in self.pupil_rows.iter().enumerate() {
            if !weeks.contains(week) {
                continue;
            }
            let _ = writeln!(pupil_rows, "{},{number},{ident}", 900_000 + index);
        }
        files.insert(OCCURRENCE_PUPIL_FILE.to_string(), with_bom(pupil_rows));

        ExportFiles {
            dir: PathBuf::from("generated"),
            files,
        }
    }
}
