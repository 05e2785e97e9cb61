//! CSV tables with columns found by header name: whole ([`Table`]) or one row at a time
//! for large files ([`Stream`]), with 1-based line and column places for every error.
//!
//! Owns: [`Table`], [`Stream`], [`Row`] and its typed fields (dates, ids), [`read_table`].
//! Must not: decide what a row means (the readers do).

use std::path::Path;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::import::text::read_text;
use crate::log::source::SourceFile;
use crate::model::{Date, GroupId, MemberId, MAX_FIELD_BYTES, MAX_INPUT_ROWS};

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
    /// Rows kept so far (blank lines are not kept).
    kept: u64,
}

impl<'a> Reader<'a> {
    /// Reads the header; fails on malformed CSV and on a file with no header.
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
            return Err(Error::input(
                place.line(1),
                "the file is empty: no header row",
            ));
        }
        Ok(Reader {
            header: Header {
                path: crate::error::input_name(path),
                headers,
            },
            place,
            csv,
            kept: 0,
        })
    }

    /// Reads the next row that is not blank into `record` and returns its line, or `None`
    /// at the end. Fails on malformed CSV, on too many rows and on fields over
    /// [`MAX_FIELD_BYTES`].
    fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            if !self
                .csv
                .read_record(record)
                .map_err(|e| csv_error(&self.place, &e))?
            {
                return Ok(None);
            }
            let line = record.position().map_or(0, |p| p.line());
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
            self.kept += 1;
            return Ok(Some(line));
        }
    }
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
        self.record.get(index).unwrap_or("").trim()
    }

    pub fn error(&self, index: usize, detail: impl Into<String>) -> Error {
        Error::input(self.place(index), detail)
    }

    pub fn date(&self, index: usize) -> Result<Date> {
        let text = self.text(index);
        Date::parse(text).map_err(|e| self.error(index, format!("{text:?} is not a date: {e}")))
    }

    pub fn group(&self, index: usize) -> Result<GroupId> {
        GroupId::new(self.text(index)).map_err(|e| self.error(index, format!("bad group id: {e}")))
    }

    pub fn member(&self, index: usize) -> Result<MemberId> {
        MemberId::new(self.text(index))
            .map_err(|e| self.error(index, format!("bad member id: {e}")))
    }
}

fn csv_error(place: &Place, error: &csv::Error) -> Error {
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

    #[test]
    fn a_stream_knows_before_its_columns_whether_it_has_rows() {
        let path = Path::new("file.csv");
        assert!(Stream::open(path, "n\n\n \n").unwrap().is_empty());
        assert!(!Stream::open(path, "n\n\n1\n").unwrap().is_empty());
    }
}
