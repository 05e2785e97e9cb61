//! Calendar dates: [`Date`], years `MIN_YEAR` to `MAX_YEAR`, printed and parsed as
//! `YYYY-MM-DD`, persisted as days from the common era.
//!
//! Owns: [`Date`] and [`InvalidDate`].
//! Must not: know about times of day or time zones.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::limits::{MAX_YEAR, MIN_YEAR};

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
