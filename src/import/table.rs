//! CSV tables with columns found by header name: whole ([`Table`]) or one row at a time
//! for large files ([`Stream`]), with 1-based line and column places for every error.
//!
//! Owns: [`Table`], [`Stream`], [`Row`] and its typed fields (dates, ids), [`read_table`].
//! Must not: decide what a row means (the readers do).

use std::path::Path;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::import::text::read_text;
use crate::log::source::SourceFile;
use crate::model::{check_name, Date, GroupId, MemberId, MAX_FIELD_BYTES, MAX_INPUT_ROWS};

/// A CSV file's name and header row: what a row needs to name its place.
struct Header {
    path: String,
    headers: Vec<String>,
}

impl Header {
    fn place(&self) -> Place {
        Place {
            file: self.path.clone(),
            line: None,
            column: None,
        }
    }

    fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N]> {
        let mut indexes = [0; N];
        for (slot, name) in indexes.iter_mut().zip(names) {
            *slot = self.optional_column(name).ok_or_else(|| {
                Error::input(self.place().line(1), format!("no column named {name:?}"))
            })?;
        }
        Ok(indexes)
    }

    fn optional_column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }
}

/// A CSV reader positioned after the header row, and the checks every row passes. Shared
/// by [`Table`] and [`Stream`], so both refuse the same files with the same places.
struct Reader<'a> {
    header: Header,
    place: Place,
    csv: csv::Reader<&'a [u8]>,
    text: &'a str,
    /// Lines are counted from byte offsets (every `\n` ends a line, so CRLF and LF files
    /// number alike): `counted` bytes hold `lines` line breaks.
    counted: usize,
    lines: u64,
    /// Where the last record read began: an open quote at the end of the file is found
    /// by scanning from there.
    last_start: usize,
    /// Whether the text holds a byte-order mark after the one decoding stripped.
    has_bom: bool,
    /// Rows kept so far (blank lines are not kept).
    kept: u64,
}

/// U+FEFF: a byte-order mark. Only one, before the header, belongs in a file.
const BOM: char = '\u{FEFF}';

impl<'a> Reader<'a> {
    /// Reads the header; fails on malformed CSV, on a file with no header, on a repeated
    /// column name and on a byte-order mark inside the header.
    fn open(path: &Path, text: &'a str) -> Result<Reader<'a>> {
        let place = Place::file(path);
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = csv
            .headers()
            .map_err(|e| csv_error(&place, &e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(open_quote_error(&place, text, 0, &[]).unwrap_or_else(|| {
                Error::input(place.clone().line(1), "the file is empty: no header row")
            }));
        }
        // Decoding strips the byte-order mark a file begins with, and the CSV reader
        // silently strips one more: a second one is refused here.
        if text.starts_with(BOM) {
            return Err(Error::input(
                place
                    .line(1)
                    .column(1, headers.first().map_or("", String::as_str)),
                "a second byte-order mark (U+FEFF) begins the file; only one may",
            ));
        }
        let has_bom = text.contains(BOM);
        for (index, name) in headers.iter().enumerate() {
            let at = || place.clone().line(1).column(index + 1, name);
            if has_bom && name.contains(BOM) {
                return Err(Error::input(
                    at(),
                    "the header holds a byte-order mark (U+FEFF); only one may begin the file",
                ));
            }
            let repeated = headers[..index]
                .iter()
                .any(|earlier| !name.is_empty() && earlier.eq_ignore_ascii_case(name));
            if repeated {
                return Err(Error::input(
                    at(),
                    format!("the column name {name:?} is repeated; each column must be named once"),
                ));
            }
        }
        Ok(Reader {
            header: Header {
                path: crate::error::input_name(path),
                headers,
            },
            place,
            csv,
            text,
            counted: 0,
            lines: 0,
            last_start: 0,
            has_bom,
            kept: 0,
        })
    }

    /// The 1-based line holding byte `offset` of the text.
    fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.text.len());
        if offset < self.counted {
            (self.counted, self.lines) = (0, 0);
        }
        let breaks = self.text.as_bytes()[self.counted..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.lines += breaks as u64;
        self.counted = offset;
        self.lines + 1
    }

    /// Reads the next row that is not blank into `record` and returns its line, or `None`
    /// at the end. Fails on malformed CSV (a quote left open at the end included), on too
    /// many rows, on a row whose fields do not match the header one for one, on fields over
    /// [`MAX_FIELD_BYTES`] and on a byte-order mark inside a field.
    fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            if !self
                .csv
                .read_record(record)
                .map_err(|e| csv_error(&self.place, &e))?
            {
                return match open_quote_error(
                    &self.place,
                    self.text,
                    self.last_start,
                    &self.header.headers,
                ) {
                    Some(error) => Err(error),
                    None => Ok(None),
                };
            }
            // The reader's position can lie before the record: on the line break ending the
            // line before (CRLF files) or at blank lines it skipped. The record's line is the
            // line of its first byte, after those.
            let mut start = record.position().map_or(0, |p| p.byte() as usize);
            let bytes = self.text.as_bytes();
            while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
                start += 1;
            }
            self.last_start = start;
            let line = self.line_at(start);
            if self.kept >= MAX_INPUT_ROWS {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("more than {MAX_INPUT_ROWS} rows"),
                )
                .at(self.place.clone().line(line)));
            }
            if record.iter().all(|field| field.trim().is_empty()) {
                continue; // a blank line carries nothing
            }
            let expected = self.header.headers.len();
            let malformed = record.len() != expected
                || record.as_slice().len() > MAX_FIELD_BYTES
                || (self.has_bom && record.iter().any(|f| f.contains(BOM)));
            if malformed {
                // A quote left open swallows the rest of the file into this row: that is
                // the fault to report, not the row's shape it causes.
                if let Some(error) =
                    open_quote_error(&self.place, self.text, start, &self.header.headers)
                {
                    return Err(error);
                }
            }
            if record.len() != expected {
                // The first column with no value, or the first value with no column.
                let index = record.len().min(expected);
                let name = self.header.headers.get(index).map_or("", String::as_str);
                let detail = if record.len() < expected {
                    format!(
                        "the row has {} fields but the header names {expected}: no value for {name:?} (an empty value is written as an empty field, with its comma)",
                        record.len()
                    )
                } else {
                    format!(
                        "the row has {} fields but the header names {expected}: a value with no column",
                        record.len()
                    )
                };
                return Err(Error::input(
                    self.place.clone().line(line).column(index + 1, name),
                    detail,
                ));
            }
            // A row no longer than the limit has no field over it: most rows skip the scan.
            let too_long = if record.as_slice().len() > MAX_FIELD_BYTES {
                record.iter().position(|f| f.len() > MAX_FIELD_BYTES)
            } else {
                None
            };
            if let Some(index) = too_long {
                let name = self.header.headers.get(index).map_or("", String::as_str);
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("a field is longer than {MAX_FIELD_BYTES} bytes"),
                )
                .at(self.place.clone().line(line).column(index + 1, name)));
            }
            if self.has_bom {
                if let Some(index) = record.iter().position(|f| f.contains(BOM)) {
                    let name = self.header.headers.get(index).map_or("", String::as_str);
                    return Err(Error::input(
                        self.place.clone().line(line).column(index + 1, name),
                        "the field holds a byte-order mark (U+FEFF); only one may begin the file",
                    ));
                }
            }
            self.kept += 1;
            return Ok(Some(line));
        }
    }
}

/// The error for a quoted field that `text[from..]` (which begins a record) opens and
/// never closes, at the line and column where its quote opened; `None` when every quote
/// closes. The CSV reader takes such a field to the end of the file silently.
fn open_quote_error(place: &Place, text: &str, from: usize, headers: &[String]) -> Option<Error> {
    let bytes = text.as_bytes();
    let mut field_start = true;
    let mut field = 0usize;
    let mut opened: Option<(usize, usize)> = None;
    let mut at = from;
    while at < bytes.len() {
        let byte = bytes[at];
        match opened {
            Some(_) => {
                if byte == b'"' {
                    if bytes.get(at + 1) == Some(&b'"') {
                        at += 1; // an escaped quote
                    } else {
                        opened = None;
                    }
                }
            }
            None => match byte {
                b'"' if field_start => {
                    opened = Some((at, field));
                    field_start = false;
                }
                b',' => {
                    field += 1;
                    field_start = true;
                }
                b'\n' | b'\r' => {
                    field = 0;
                    field_start = true;
                }
                _ => field_start = false,
            },
        }
        at += 1;
    }
    let (quote, field) = opened?;
    let line = 1 + bytes[..quote].iter().filter(|&&b| b == b'\n').count() as u64;
    let name = headers.get(field).map_or("", String::as_str);
    Some(Error::input(
        place.clone().line(line).column(field + 1, name),
        "a quoted field is never closed: its quote runs to the end of the file",
    ))
}

/// A CSV file with a header row, read whole, with fields found by column name.
pub struct Table {
    header: Header,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// One row of a [`Table`] or a [`Stream`], able to name its place.
pub struct Row<'a> {
    header: &'a Header,
    line: u64,
    record: &'a csv::StringRecord,
}

impl Table {
    /// Parses `text` (the contents of `path`). Fails on malformed CSV, on too many rows,
    /// on fields over [`MAX_FIELD_BYTES`], and on a file with no header.
    pub fn parse(path: &Path, text: &str) -> Result<Table> {
        let mut reader = Reader::open(path, text)?;
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        while let Some(line) = reader.next(&mut record)? {
            rows.push((line, std::mem::take(&mut record)));
        }
        Ok(Table {
            header: reader.header,
            rows,
        })
    }

    /// The index of each named column; a missing one is an error naming it.
    pub fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N]> {
        self.header.columns(names)
    }

    /// The index of a column that may be absent.
    pub fn optional_column(&self, name: &str) -> Option<usize> {
        self.header.optional_column(name)
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |(line, record)| Row {
            header: &self.header,
            line: *line,
            record,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn path(&self) -> &str {
        &self.header.path
    }
}

/// A CSV file read one row at a time into one reused record, for files too large to hold
/// as a [`Table`] of records. Refuses the same files as [`Table::parse`] and reports the
/// same error for a file: see [`Stream::for_each`].
pub struct Stream<'a> {
    reader: Reader<'a>,
    record: csv::StringRecord,
    /// The line of the first row, read ahead (into `record`) so that emptiness is known
    /// before columns are looked up, as with a [`Table`]. `None`: no rows.
    first: Option<u64>,
}

impl<'a> Stream<'a> {
    /// Reads the header and the first row of `text` (the contents of `path`).
    pub fn open(path: &Path, text: &'a str) -> Result<Stream<'a>> {
        let mut reader = Reader::open(path, text)?;
        let mut record = csv::StringRecord::new();
        let first = reader.next(&mut record)?;
        Ok(Stream {
            reader,
            record,
            first,
        })
    }

    /// The index of each named column; a missing one is an error naming it.
    pub fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N]> {
        self.reader.header.columns(names)
    }

    /// The index of a column that may be absent.
    pub fn optional_column(&self, name: &str) -> Option<usize> {
        self.reader.header.optional_column(name)
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Calls `visit` with each row in order. The first error `visit` returns stops the
    /// visits, but the rest of the file is still read: a file that `Table::parse` would
    /// refuse is refused with that same error, so the error reported for a file does not
    /// depend on whether it was read whole or streamed.
    pub fn for_each(mut self, mut visit: impl FnMut(&Row<'_>) -> Result<()>) -> Result<()> {
        let mut failed = None;
        let mut line = self.first;
        while let Some(number) = line {
            if failed.is_none() {
                let row = Row {
                    header: &self.reader.header,
                    line: number,
                    record: &self.record,
                };
                failed = visit(&row).err();
            }
            line = self.reader.next(&mut self.record)?;
        }
        failed.map_or(Ok(()), Err)
    }
}

impl Row<'_> {
    /// The place of column `index` in this row.
    pub fn place(&self, index: usize) -> Place {
        let name = self.header.headers.get(index).map_or("", String::as_str);
        self.header.place().line(self.line).column(index + 1, name)
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    /// The field, trimmed of padding; empty when the row is short.
    pub fn text(&self, index: usize) -> &str {
        self.raw(index).trim()
    }

    /// The field as written, padding included: an explicitly empty field is `""`.
    pub fn raw(&self, index: usize) -> &str {
        self.record.get(index).unwrap_or("")
    }

    /// The field as an id's text: trimmed, and refused when it is only spaces (a blank
    /// that is not empty is a mistake, never "no one").
    fn id_text(&self, index: usize) -> Result<&str> {
        let text = self.text(index);
        if text.is_empty() && !self.raw(index).is_empty() {
            return Err(self.error(
                index,
                "the field is only spaces: write an id, or leave the field empty",
            ));
        }
        Ok(text)
    }

    /// The field as a display name: trimmed, not blank, no control characters, at most
    /// [`crate::model::MAX_NAME_BYTES`] bytes.
    pub fn name(&self, index: usize) -> Result<String> {
        let text = self.text(index);
        check_name(text).map_err(|e| self.error(index, e.to_string()))?;
        Ok(text.to_string())
    }

    pub fn error(&self, index: usize, detail: impl Into<String>) -> Error {
        Error::input(self.place(index), detail)
    }

    pub fn date(&self, index: usize) -> Result<Date> {
        let text = self.text(index);
        Date::parse(text).map_err(|e| self.error(index, format!("{text:?} is not a date: {e}")))
    }

    pub fn group(&self, index: usize) -> Result<GroupId> {
        GroupId::new(self.id_text(index)?)
            .map_err(|e| self.error(index, format!("bad group id: {e}")))
    }

    pub fn member(&self, index: usize) -> Result<MemberId> {
        MemberId::new(self.id_text(index)?)
            .map_err(|e| self.error(index, format!("bad member id: {e}")))
    }
}

fn csv_error(place: &Place, error: &csv::Error) -> Error {
    // Only a position's line is known here; the readers are given text, so the one error
    // the CSV reader can still raise is I/O, which has no position.
    let line = error.position().map(|p| p.line());
    let place = match line {
        Some(line) => place.clone().line(line),
        None => place.clone(),
    };
    let detail = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_string(),
        _ => format!("malformed CSV: {error}"),
    };
    Error::input(place, detail)
}

/// Reads a whole CSV file into a [`Table`]; a file with a header and no rows is refused
/// (an import of nothing is almost always the wrong file).
pub fn read_table(path: &Path) -> Result<(Table, SourceFile)> {
    let text = read_text(path)?;
    let table = Table::parse(path, &text.text)?;
    if table.is_empty() {
        return Err(Error::input(
            Place::file(path),
            "the file has a header but no rows",
        ));
    }
    Ok((table, text.source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MAX_FIELD_BYTES;

    /// A row check as a reader of either kind would make: a number in `column`.
    fn check(row: &Row<'_>, column: usize) -> Result<()> {
        let text = row.text(column);
        text.parse::<i64>()
            .map(|_| ())
            .map_err(|_| row.error(column, format!("{text:?} is not a number")))
    }

    /// The first error reading `text` whole then checking each row, and the first error
    /// streaming it: the two must always agree.
    fn both(text: &str) -> (String, String) {
        let path = Path::new("dir/file.csv");
        let whole = Table::parse(path, text).and_then(|table| {
            let [n] = table.columns(["n"])?;
            table.rows().try_for_each(|row| check(&row, n))
        });
        let streamed = Stream::open(path, text).and_then(|stream| {
            let [n] = stream.columns(["n"])?;
            stream.for_each(|row| check(row, n))
        });
        let shown = |result: Result<()>| result.map_or_else(|e| e.to_string(), |()| "ok".into());
        (shown(whole), shown(streamed))
    }

    #[test]
    fn a_streamed_file_is_refused_with_the_same_error_and_place_as_a_table() {
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let cases = [
            "n,name\n1,a\n2,b\n".to_string(),
            // A row error names its line (blank lines count) and column.
            "n,name\n1,a\n\n  \nz,b\n".to_string(),
            // A later field over the limit wins over an earlier row error, as it does when
            // the whole file is read before its rows are checked.
            format!("n,name\nz,a\n2,{long}\n"),
            format!("n,name\n1,a\n2,{long}\nz,b\n"),
            // Quoted fields spanning lines keep later lines right.
            "n,name\n1,\"two\nlines\"\nz,b\n".to_string(),
            "name\na\n".to_string(),
            "\n".to_string(),
        ];
        for text in &cases {
            let (whole, streamed) = both(text);
            assert_eq!(whole, streamed, "for {text:?}");
        }
        let not_a_number = "line 5, column 1 (n) of dir/file.csv: \"z\" is not a number";
        assert_eq!(both(&cases[1]).1, not_a_number);
        assert!(both(&cases[2])
            .1
            .starts_with("line 3, column 2 (name) of dir/file.csv: a field is longer than"));
        assert_eq!(both(&cases[4]).1, not_a_number.replace("line 5", "line 4"));
    }

    /// SB exports are CRLF: lines are numbered as in an LF file (the CSV reader's own count
    /// is one too small there), through blank lines and quoted line breaks alike.
    #[test]
    fn lines_are_numbered_alike_in_crlf_and_lf_files() {
        let lf = "n,name\n1,a\n\n2,\"two\nlines\"\nz,b\n";
        let crlf = lf.replace('\n', "\r\n");
        let expected = "line 6, column 1 (n) of dir/file.csv: \"z\" is not a number";
        for text in [lf.to_string(), crlf] {
            let (whole, streamed) = both(&text);
            assert_eq!(whole, expected, "for {text:?}");
            assert_eq!(streamed, expected, "for {text:?}");
        }
    }

    /// Rows that do not match the header one for one, padding that is not a value, and a
    /// quote, a BOM or a column name where none belongs: each refused at its place.
    #[test]
    fn malformed_rows_and_headers_are_refused_at_their_place() {
        let cases = [
            ("n,name\n1,a\n2\n", "line 3, column 2 (name) of dir/file.csv: the row has 1 fields but the header names 2"),
            ("n,name\n1,a,x\n", "line 2, column 3 () of dir/file.csv: the row has 3 fields but the header names 2"),
            ("n,name\n1,a\n2,\"b\n", "line 3, column 2 (name) of dir/file.csv: a quoted field is never closed"),
            ("n,name,n\n1,a,2\n", "line 1, column 3 (n) of dir/file.csv: the column name \"n\" is repeated"),
            ("n,name\n1,a\u{FEFF}\n", "line 2, column 2 (name) of dir/file.csv: the field holds a byte-order mark"),
            ("\u{FEFF}n,name\n1,a\n", "line 1, column 1 (n) of dir/file.csv: a second byte-order mark"),
            ("n,\u{FEFF}name\n1,a\n", "line 1, column 2 (\u{FEFF}name) of dir/file.csv: the header holds a byte-order mark"),
        ];
        for (text, expected) in cases {
            let (whole, streamed) = both(text);
            assert!(whole.starts_with(expected), "for {text:?}: {whole}");
            assert_eq!(whole, streamed, "for {text:?}");
        }
        // A row of blank fields is a blank line; an empty field is a value.
        assert_eq!(both("n,name\n , \n1,\n").0, "ok");
    }

    #[test]
    fn a_stream_knows_before_its_columns_whether_it_has_rows() {
        let path = Path::new("file.csv");
        assert!(Stream::open(path, "n\n\n \n").unwrap().is_empty());
        assert!(!Stream::open(path, "n\n\n1\n").unwrap().is_empty());
    }
}
