//! The row readers' own tests: SB dates, splitting `rtrwpupils.csv` in halves, ident
//! numbering.

use super::*;
use crate::import::sb::{generate, parse, Options};
use crate::import::text::decode;

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
