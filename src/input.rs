//! Reading input files: text decoding, CSV with columns found by header name, and the
//! generic observation and fact files.
//!
//! Owns: [`read_text`] (size limit, BOM, UTF-8 or Windows-1252), [`Table`] (a CSV file
//! with named columns and 1-based line/column places for errors), and the readers for
//! `import observations` and `import facts`.
//! Must not: touch the ledger. Every error names the file, line and column.

use std::collections::BTreeMap;
use std::path::Path;

use crate::commit::SourceFile;
use crate::error::{Error, ErrorKind, Place, Result};
use crate::model::{
    Change, Date, Fact, GroupId, MemberId, Observation, MAX_FIELD_BYTES, MAX_INPUT_BYTES,
    MAX_INPUT_ROWS,
};
use crate::plan::Batch;

/// A file's bytes decoded to text, and the source record that names it in a commit.
pub struct Text {
    pub text: String,
    pub source: SourceFile,
}

/// Reads a whole file: refuses directories and files over [`MAX_INPUT_BYTES`]; strips a
/// UTF-8 byte-order mark; reads UTF-8, and falls back to Windows-1252 for files that are
/// not valid UTF-8 (the encodings SB exports are seen in).
pub fn read_text(path: &Path) -> Result<Text> {
    let place = Place::file(path);
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(place.clone(), "no such file"),
        _ => Error::io(path, &e),
    })?;
    if metadata.is_dir() {
        return Err(Error::input(place, "is a directory, not a file"));
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("is larger than the limit of {MAX_INPUT_BYTES} bytes"),
        )
        .at(place));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let source = SourceFile::new(&name, &bytes);
    Ok(Text {
        text: decode_text(&bytes),
        source,
    })
}

/// UTF-8 (with or without a BOM), else Windows-1252.
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// A CSV file with a header row, read whole, with fields found by column name.
pub struct Table {
    path: String,
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// One row of a [`Table`], able to name its place.
pub struct Row<'a> {
    table: &'a Table,
    line: u64,
    record: &'a csv::StringRecord,
}

impl Table {
    /// Parses `text` (the contents of `path`). Fails on malformed CSV, on too many rows,
    /// on fields over [`MAX_FIELD_BYTES`], and on a file with no header.
    pub fn parse(path: &Path, text: &str) -> Result<Table> {
        let display = path.display().to_string();
        let place = Place::file(path);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
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
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(&place, &e))?;
            let line = record.position().map_or(0, |p| p.line());
            if rows.len() as u64 >= MAX_INPUT_ROWS {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("more than {MAX_INPUT_ROWS} rows"),
                )
                .at(place.line(line)));
            }
            if record.iter().all(|field| field.trim().is_empty()) {
                continue; // a blank line carries nothing
            }
            if let Some(index) = record.iter().position(|f| f.len() > MAX_FIELD_BYTES) {
                let name = headers.get(index).map_or("", String::as_str);
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("a field is longer than {MAX_FIELD_BYTES} bytes"),
                )
                .at(place.line(line).column(index + 1, name)));
            }
            rows.push((line, record));
        }
        Ok(Table {
            path: display,
            headers,
            rows,
        })
    }

    fn place(&self) -> Place {
        Place {
            file: self.path.clone(),
            line: None,
            column: None,
        }
    }

    /// The index of each named column; a missing one is an error naming it.
    pub fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N]> {
        let mut indexes = [0; N];
        for (slot, name) in indexes.iter_mut().zip(names) {
            *slot = self
                .headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::input(self.place().line(1), format!("no column named {name:?}"))
                })?;
        }
        Ok(indexes)
    }

    /// The index of a column that may be absent.
    pub fn optional_column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |(line, record)| Row {
            table: self,
            line: *line,
            record,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Row<'_> {
    /// The place of column `index` in this row.
    pub fn place(&self, index: usize) -> Place {
        let name = self.table.headers.get(index).map_or("", String::as_str);
        self.table.place().line(self.line).column(index + 1, name)
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

/// Reads an observations file: header `date,group,member`; each (date, group) is one
/// observation of the group's whole membership; a row with a blank member observes the
/// group (possibly empty) without naming anyone.
pub fn read_observations(path: &Path) -> Result<(Batch, SourceFile)> {
    let text = read_text(path)?;
    let table = Table::parse(path, &text.text)?;
    if table.is_empty() {
        return Err(Error::input(
            Place::file(path),
            "the file has a header but no rows",
        ));
    }
    let [date_column, group_column, member_column] = table.columns(["date", "group", "member"])?;
    let mut observations: BTreeMap<(Date, GroupId), Observation> = BTreeMap::new();
    for row in table.rows() {
        let date = row.date(date_column)?;
        let group = row.group(group_column)?;
        let observation = observations
            .entry((date, group.clone()))
            .or_insert_with(|| Observation::snapshot(date, group, Default::default()));
        if !row.text(member_column).is_empty() {
            observation.members.insert(row.member(member_column)?);
        }
    }
    let batch = Batch {
        observations: observations.into_values().collect(),
        facts: Vec::new(),
    };
    Ok((batch, text.source))
}

/// Reads a facts file: header `date,group,member,change`, change `join` or `leave`.
pub fn read_facts(path: &Path) -> Result<(Batch, SourceFile)> {
    let text = read_text(path)?;
    let table = Table::parse(path, &text.text)?;
    if table.is_empty() {
        return Err(Error::input(
            Place::file(path),
            "the file has a header but no rows",
        ));
    }
    let [date_column, group_column, member_column, change_column] =
        table.columns(["date", "group", "member", "change"])?;
    let mut facts = Vec::new();
    for row in table.rows() {
        let change_text = row.text(change_column);
        let change = Change::parse(&change_text.to_ascii_lowercase()).ok_or_else(|| {
            row.error(
                change_column,
                format!("{change_text:?} is not a change: write join or leave"),
            )
        })?;
        facts.push(Fact {
            date: row.date(date_column)?,
            group: row.group(group_column)?,
            member: row.member(member_column)?,
            change,
        });
    }
    Ok((
        Batch {
            observations: Vec::new(),
            facts,
        },
        text.source,
    ))
}
