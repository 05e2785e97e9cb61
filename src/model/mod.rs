//! The ledger's vocabulary: validated identifiers, calendar dates, changes, facts, and
//! the named limits that bound them.
//!
//! Owns: [`GroupId`], [`MemberId`], [`Date`], [`Change`], [`Fact`], [`Observation`], and
//! every limit constant. Values are validated when they are made; inner code takes these
//! types and never raw strings.
//! Must not: know about files, storage or output.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Longest group or member identifier, in bytes. SB idents are short integers, congress
/// bioguide ids seven characters; 64 leaves room for UUIDs and e-mail-like keys.
pub const MAX_ID_BYTES: usize = 64;
/// Earliest and latest year a date may carry. Year 0 and five-digit years are typos.
pub const MIN_YEAR: i32 = 1;
pub const MAX_YEAR: i32 = 9999;
/// Most rows one input file may hold.
pub const MAX_INPUT_ROWS: u64 = 50_000_000;
/// Largest input file, in bytes.
pub const MAX_INPUT_BYTES: u64 = 4 << 30;
/// Longest single field of an input row, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;
/// Most facts one commit may hold (the decoder refuses more).
pub const MAX_FACTS_PER_COMMIT: usize = 20_000_000;
/// Longest name (group or member display name), in bytes.
pub const MAX_NAME_BYTES: usize = 512;
/// Most commits a ledger may hold: a commit number fits 31 bits, so that derived state
/// packs it with a fact's change into 32 (a commit a day would take six million years).
pub const MAX_COMMITS: u64 = (1 << 31) - 1;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidId {
    Empty,
    TooLong,
    ControlCharacter,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidId::Empty => write!(f, "the id is blank"),
            InvalidId::TooLong => write!(f, "the id is longer than {MAX_ID_BYTES} bytes"),
            InvalidId::ControlCharacter => write!(f, "the id contains a control character"),
        }
    }
}

fn validate_id(text: &str) -> Result<(), InvalidId> {
    if text.is_empty() {
        return Err(InvalidId::Empty);
    }
    if text.len() > MAX_ID_BYTES {
        return Err(InvalidId::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidId::ControlCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Shared text: clones are a reference-count increment, which matters because ids
        /// are copied into every timeline, commit and answer.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates `text` as it is: callers trim padding at the edge first.
            pub fn new(text: &str) -> Result<$name, InvalidId> {
                validate_id(text)?;
                Ok($name(Arc::from(text)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(text: String) -> Result<$name, InvalidId> {
                validate_id(&text)?;
                Ok($name(Arc::from(text)))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        /// Serialized exactly as a `String` would be.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

impl std::error::Error for InvalidId {}

id_type!(
    /// A group's identity: an activity, a class, a chamber. Opaque text.
    GroupId
);
id_type!(
    /// A member's identity: a pupil number, a staff code. Pseudonymous: names live apart.
    MemberId
);

/// A calendar date: no time of day, no time zone. Persisted as days since 0001-01-01
/// (chrono's `num_days_from_ce`), an `i32`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Date(NaiveDate);

/// Why text or a number is not a valid date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidDate {
    Format,
    Impossible,
    OutOfRange(i32),
}

impl fmt::Display for InvalidDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidDate::Format => write!(f, "a date is written YYYY-MM-DD"),
            InvalidDate::Impossible => write!(f, "no such day in the calendar"),
            InvalidDate::OutOfRange(year) => {
                write!(f, "year {year} is outside {MIN_YEAR}..={MAX_YEAR}")
            }
        }
    }
}

impl std::error::Error for InvalidDate {}

impl Date {
    pub fn new(date: NaiveDate) -> Result<Date, InvalidDate> {
        let year = date.year();
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(InvalidDate::OutOfRange(year));
        }
        Ok(Date(date))
    }

    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Date, InvalidDate> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(InvalidDate::OutOfRange(year));
        }
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or(InvalidDate::Impossible)
            .and_then(Date::new)
    }

    /// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day).
    pub fn parse(text: &str) -> Result<Date, InvalidDate> {
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = bytes.get(range)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            part.iter()
                .try_fold(0u32, |acc, &b| Some(acc * 10 + u32::from(b - b'0')))
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(InvalidDate::Format);
        }
        let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10))
        else {
            return Err(InvalidDate::Format);
        };
        // `year` has four digits, so it fits an i32.
        Date::from_ymd(year as i32, month, day)
    }

    pub fn naive(self) -> NaiveDate {
        self.0
    }

    pub fn days_from_ce(self) -> i32 {
        self.0.num_days_from_ce()
    }

    /// The date `days` later, if it stays in range.
    pub fn add_days(self, days: i64) -> Option<Date> {
        let moved = self
            .0
            .checked_add_signed(chrono::Duration::try_days(days)?)?;
        Date::new(moved).ok()
    }

    /// The date before, if it stays in range.
    pub fn previous(self) -> Option<Date> {
        self.add_days(-1)
    }

    /// The Sunday on or before this date (SB weeks begin on Sunday).
    pub fn sunday_on_or_before(self) -> Option<Date> {
        let back = self.0.weekday().num_days_from_sunday();
        self.add_days(-i64::from(back))
    }
}

impl TryFrom<i32> for Date {
    type Error = InvalidDate;
    fn try_from(days: i32) -> Result<Date, InvalidDate> {
        NaiveDate::from_num_days_from_ce_opt(days)
            .ok_or(InvalidDate::Impossible)
            .and_then(Date::new)
    }
}

impl From<Date> for i32 {
    fn from(date: Date) -> i32 {
        date.days_from_ce()
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD` (years are 1..=9999, so always four digits), written directly: reports
    /// print a date per line, and chrono's general formatter was a visible cost there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The two kinds of fact. Persisted as a 4-byte variant index: leave = 0, join = 1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum Change {
    Leave,
    Join,
}

impl Change {
    /// The change that makes `member` the state from its date on.
    pub fn to(member: bool) -> Change {
        if member {
            Change::Join
        } else {
            Change::Leave
        }
    }

    /// Whether the member is in the group after this change.
    pub fn is_member(self) -> bool {
        self == Change::Join
    }

    pub fn parse(text: &str) -> Option<Change> {
        match text {
            "join" => Some(Change::Join),
            "leave" => Some(Change::Leave),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Change::Join => "join",
            Change::Leave => "leave",
        }
    }
}

/// On `date`, `member` joins or leaves `group`. A join on D: member from D on. A leave on D:
/// D is the first day the member is not in the group.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Fact {
    pub date: Date,
    pub group: GroupId,
    pub member: MemberId,
    pub change: Change,
}

/// "On `date`, `group` had exactly the members `members`" (a snapshot), or one of the two
/// statements a source's lifecycle rule makes (see [`ObservationKind`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Observation {
    pub date: Date,
    pub group: GroupId,
    pub members: BTreeSet<MemberId>,
    pub kind: ObservationKind,
}

impl Observation {
    /// A snapshot: `group` had exactly `members` on `date`.
    pub fn snapshot(date: Date, group: GroupId, members: BTreeSet<MemberId>) -> Observation {
        Observation {
            date,
            group,
            members,
            kind: ObservationKind::Snapshot,
        }
    }
}

/// What an observation says.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum ObservationKind {
    /// The group had exactly the listed members.
    Snapshot,
    /// The group ended on this date: no members from it on. Recorded as an observed date
    /// and remembered as an end, so that a later statement can take it back.
    End,
    /// Takes back an end: the group goes on as it was the day before (members on D equal
    /// members on D - 1). Used when late data shows a group did not end after all.
    CarryForward,
}

/// A membership span of one member in one group: `from` inclusive, `until` exclusive
/// (`None` while open).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Span {
    pub group: GroupId,
    pub member: MemberId,
    pub from: Date,
    pub until: Option<Date>,
}

/// One span: `starts_on` and `ends_on` both inclusive; `ends_on` is `None` while open.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InclusiveSpan {
    pub group: GroupId,
    pub member: MemberId,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

/// A batch of statements to import together as one commit.
#[derive(Default, Debug, Clone)]
pub struct Batch {
    pub observations: Vec<Observation>,
    pub facts: Vec<Fact>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty() && self.facts.is_empty()
    }

    /// The groups the batch speaks of, sorted.
    pub fn groups(&self) -> BTreeSet<GroupId> {
        self.observations
            .iter()
            .map(|o| o.group.clone())
            .chain(self.facts.iter().map(|f| f.group.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dates print as chrono's `%Y-%m-%d` would, four-digit years included, and parse back.
    #[test]
    fn dates_print_as_iso_and_parse_back() {
        for (year, month, day) in [(1, 1, 1), (999, 12, 31), (2015, 11, 16), (9999, 12, 31)] {
            let date = Date::from_ymd(year, month, day).unwrap();
            let text = date.to_string();
            assert_eq!(text, date.naive().format("%Y-%m-%d").to_string());
            assert_eq!(Date::parse(&text).unwrap(), date);
        }
    }
}
