//! One description of an answer's columns, from which its aligned table, its CSV and its
//! JSON are all made, so that a column cannot be called one thing in CSV and another in
//! JSON.
//!
//! Owns: [`Format`], [`Columns`] (named columns, each a way to get a [`Cell`] from a row,
//! shown everywhere, only in text, only in JSON, only in the aligned table, or only in CSV
//! and JSON), [`Cell`] (a JSON value and the text a
//! table and CSV show; the value made only when JSON is written where it is the text),
//! [`IdText`] (what can be a cell's id) and [`Str`] (a cell's text, made for it or shared
//! with the answer), the aligned table, and the CSV quoting and formula-neutralising
//! rule.
//! Must not: know any particular answer (`render/mod.rs` and `render/sb.rs` describe
//! those), query the ledger or print.
//!
//! CSV rule: fields are quoted as RFC 4180 requires. A free-text cell (a name) that a
//! spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is prefixed with `'`. Ids and dates are never altered: ids are exact
//! keys that scripts read back (the trade-off against spreadsheets is in README.md).

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::Value;

use muster::model::Date;

/// How an answer is written: an aligned table for people, CSV or JSON for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

/// A cell's text: made for it, or shared with the answer (an id's text, a path's text
/// that many rows show), so that a table of thousands of rows does not copy each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Str {
    Owned(String),
    Shared(Arc<str>),
}

impl Str {
    fn as_str(&self) -> &str {
        match self {
            Str::Owned(text) => text,
            Str::Shared(text) => text,
        }
    }

    fn into_string(self) -> String {
        match self {
            Str::Owned(text) => text,
            Str::Shared(text) => text.to_string(),
        }
    }
}

/// How a cell reads in a table and in CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Text {
    /// Ids, dates, numbers, fixed words: never altered.
    Exact(Str),
    /// Text that came from outside (names): neutralised in CSV when a spreadsheet would
    /// read it as a formula.
    Free(Str),
    /// An end not reached yet: `open` in a table (a blank would read as missing data),
    /// blank in CSV (what a loader expects for "none").
    Open,
}

/// One cell: the value JSON gets and the text a table and CSV show. The two differ where
/// people read better than programs parse: `member` against `true`, a short hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    json: Json,
    text: Text,
}

/// A cell's JSON value, or where to take it from: most cells (ids, names, paths) are in
/// JSON the string they show, and a table of thousands of rows never asks for it, so that
/// string is made only when JSON is written.
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Value(Value),
    /// The cell's text, as a JSON string.
    Text,
}

/// What can be shown as an id: its text, which JSON also gets as a string.
pub trait IdText {
    fn id_text(&self) -> Str;
}

impl IdText for muster::GroupId {
    fn id_text(&self) -> Str {
        Str::Shared(self.shared_text())
    }
}

impl IdText for muster::MemberId {
    fn id_text(&self) -> Str {
        Str::Shared(self.shared_text())
    }
}

impl IdText for str {
    fn id_text(&self) -> Str {
        Str::Owned(self.to_owned())
    }
}

impl IdText for String {
    fn id_text(&self) -> Str {
        Str::Owned(self.clone())
    }
}

impl Cell {
    /// A value whose text is shown exactly as given (ids, numbers, fixed words).
    pub fn exact(json: impl Into<Value>, text: impl Display) -> Cell {
        Cell {
            json: Json::Value(json.into()),
            text: Text::Exact(Str::Owned(text.to_string())),
        }
    }

    /// An id: a JSON string, and the same text in a table and CSV.
    pub fn id(id: &(impl IdText + ?Sized)) -> Cell {
        Cell {
            json: Json::Text,
            text: Text::Exact(id.id_text()),
        }
    }

    /// An id that may be absent: JSON `null`, blank text.
    pub fn optional_id(id: Option<&(impl IdText + ?Sized)>) -> Cell {
        match id {
            Some(id) => Cell::id(id),
            None => Cell::exact(Value::Null, ""),
        }
    }

    /// A number, in JSON as a number.
    pub fn number(number: impl Into<Value> + Display + Copy) -> Cell {
        Cell::exact(number, number)
    }

    /// A number that may be absent: JSON `null`, blank text.
    pub fn optional_number(number: Option<u64>) -> Cell {
        match number {
            Some(number) => Cell::number(number),
            None => Cell::exact(Value::Null, ""),
        }
    }

    /// A word from muster's own vocabulary (`join`, `sb`): a JSON string, never altered.
    pub fn word(word: &str) -> Cell {
        Cell::exact(word, word)
    }

    pub fn date(date: Date) -> Cell {
        Cell::exact(date.to_string(), date)
    }

    /// A date that may be absent: JSON `null`, blank text.
    pub fn optional_date(date: Option<Date>) -> Cell {
        match date {
            Some(date) => Cell::date(date),
            None => Cell::exact(Value::Null, ""),
        }
    }

    /// The end of a span that may still be open: JSON `null`, `open` in a table, blank in
    /// CSV.
    pub fn end(date: Option<Date>) -> Cell {
        match date {
            Some(date) => Cell::date(date),
            None => Cell {
                json: Json::Value(Value::Null),
                text: Text::Open,
            },
        }
    }

    /// The last day of a span whose exclusive end is `until` (the day before it), or
    /// `open` in a table while it has none: what people read.
    pub fn last_day(until: Option<Date>) -> Cell {
        match until.and_then(Date::previous) {
            Some(last) => Cell::date(last),
            None if until.is_some() => Cell::exact(Value::Null, ""),
            None => Cell::end(None),
        }
    }

    /// A name, or none known: JSON `null`, blank text.
    pub fn name<S: AsRef<str> + ?Sized>(name: Option<&S>) -> Cell {
        match name {
            Some(name) => Cell {
                json: Json::Text,
                text: Text::Free(Str::Owned(name.as_ref().to_owned())),
            },
            None => Cell {
                json: Json::Value(Value::Null),
                text: Text::Free(Str::Owned(String::new())),
            },
        }
    }

    /// Free text for tables and CSV only.
    pub fn free_text(text: String) -> Cell {
        Cell {
            json: Json::Text,
            text: Text::Free(Str::Owned(text)),
        }
    }

    /// Free text that many rows show (a path), shared rather than copied into each.
    pub fn shared_text(text: Arc<str>) -> Cell {
        Cell {
            json: Json::Text,
            text: Text::Free(Str::Shared(text)),
        }
    }

    /// `true` or `false`, the same in every format.
    pub fn boolean(value: bool) -> Cell {
        Cell::exact(value, value)
    }

    /// The value JSON gets.
    fn into_json(self) -> Value {
        match (self.json, self.text) {
            (Json::Value(value), _) => value,
            (Json::Text, Text::Exact(text) | Text::Free(text)) => Value::String(text.into_string()),
            // No constructor pairs an open end with its text as JSON; an open end is null.
            (Json::Text, Text::Open) => Value::Null,
        }
    }

    /// A value only JSON shows.
    pub fn json(json: Value) -> Cell {
        Cell {
            json: Json::Value(json),
            text: Text::Exact(Str::Owned(String::new())),
        }
    }
}

/// Where a column appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    Everywhere,
    /// Tables and CSV only: a convenience for people (a name beside an id) that JSON's
    /// documented shape has never had.
    TextOnly,
    /// JSON only: a value that has no one-cell text form.
    JsonOnly,
    /// The aligned table only: a form for people (a last day) where CSV and JSON keep
    /// their documented contract (an exclusive `until`) in a column of their own.
    TableOnly,
    /// CSV and JSON only: the machine form a [`Shown::TableOnly`] column stands in for.
    MachineOnly,
}

struct Column<'a, R> {
    name: &'static str,
    shown: Shown,
    cell: Box<dyn Fn(&R) -> Cell + 'a>,
}

/// An answer's columns, in order. Built once per answer; every format is made from it.
pub struct Columns<'a, R> {
    columns: Vec<Column<'a, R>>,
}

impl<R> Default for Columns<'_, R> {
    fn default() -> Self {
        Columns {
            columns: Vec::new(),
        }
    }
}

impl<'a, R> Columns<'a, R> {
    pub fn new() -> Columns<'a, R> {
        Columns::default()
    }

    fn with(mut self, name: &'static str, shown: Shown, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.columns.push(Column {
            name,
            shown,
            cell: Box::new(cell),
        });
        self
    }

    /// A column every format shows, under the same name.
    pub fn column(self, name: &'static str, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.with(name, Shown::Everywhere, cell)
    }

    /// A column only tables and CSV show.
    pub fn text_only(self, name: &'static str, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.with(name, Shown::TextOnly, cell)
    }

    /// A column only JSON shows.
    pub fn json_only(self, name: &'static str, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.with(name, Shown::JsonOnly, cell)
    }

    /// A column only the aligned table shows (what people read in place of a machine
    /// column, such as a last day for an exclusive end).
    pub fn table_only(self, name: &'static str, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.with(name, Shown::TableOnly, cell)
    }

    /// A column only CSV and JSON show.
    pub fn machine_only(self, name: &'static str, cell: impl Fn(&R) -> Cell + 'a) -> Self {
        self.with(name, Shown::MachineOnly, cell)
    }

    /// One row as a JSON object.
    pub fn json_object(&self, row: &R) -> Value {
        Value::Object(self.json_fields(row))
    }

    /// One row's JSON fields, by name (in sorted order, as serde_json keeps them).
    pub fn json_fields(&self, row: &R) -> serde_json::Map<String, Value> {
        self.columns
            .iter()
            .filter(|column| {
                matches!(
                    column.shown,
                    Shown::Everywhere | Shown::JsonOnly | Shown::MachineOnly
                )
            })
            .map(|column| (column.name.to_string(), (column.cell)(row).into_json()))
            .collect()
    }

    /// Rows as a JSON array of objects.
    pub fn json_array(&self, rows: &[R]) -> Value {
        Value::Array(rows.iter().map(|row| self.json_object(row)).collect())
    }

    /// Rows as a table of text cells: for CSV (`for_people` false) or for the aligned
    /// table (`for_people` true).
    fn text_table(&self, rows: &[R], for_people: bool) -> Table {
        let shown: Vec<&Column<R>> = self
            .columns
            .iter()
            .filter(|column| match column.shown {
                Shown::Everywhere | Shown::TextOnly => true,
                Shown::JsonOnly => false,
                Shown::TableOnly => for_people,
                Shown::MachineOnly => !for_people,
            })
            .collect();
        let mut cells = Vec::with_capacity(rows.len() * shown.len());
        for row in rows {
            cells.extend(shown.iter().map(|column| (column.cell)(row).text));
        }
        Table {
            columns: shown.iter().map(|column| column.name).collect(),
            cells,
        }
    }

    /// A one-record answer (an import's totals, a verdict): JSON one object on one line,
    /// CSV a header row and one row under the same names; a table says it in `sentence`,
    /// which reads better than a one-row grid.
    pub fn record(&self, row: &R, format: Format, sentence: impl FnOnce() -> String) -> String {
        match format {
            Format::Json => self.json_object(row).to_string() + "\n",
            Format::Csv => self.table(std::slice::from_ref(row)).csv(),
            Format::Table => sentence(),
        }
    }

    /// Rows as a JSON array written to `writer` one object at a time, so that a long
    /// answer is never held whole in memory; the bytes are those of [`Columns::json_array`].
    pub fn write_json_array<'r>(
        &self,
        rows: impl IntoIterator<Item = &'r R>,
        writer: &mut dyn Write,
    ) -> io::Result<()>
    where
        R: 'r,
    {
        // Each object written field by field, in the order (and with the last of any
        // repeated name) a `serde_json` map would hold: the bytes of `json_object`,
        // without building a map of owned keys per row.
        let mut by_name: std::collections::BTreeMap<&str, &Column<R>> =
            std::collections::BTreeMap::new();
        for column in self.columns.iter().filter(|column| {
            matches!(
                column.shown,
                Shown::Everywhere | Shown::JsonOnly | Shown::MachineOnly
            )
        }) {
            by_name.insert(column.name, column);
        }
        let mut keys = Vec::with_capacity(by_name.len());
        for name in by_name.keys() {
            keys.push(serde_json::to_vec(name)?);
        }
        writer.write_all(b"[")?;
        for (index, row) in rows.into_iter().enumerate() {
            if index > 0 {
                writer.write_all(b",")?;
            }
            writer.write_all(b"{")?;
            for (position, (key, column)) in keys.iter().zip(by_name.values()).enumerate() {
                if position > 0 {
                    writer.write_all(b",")?;
                }
                writer.write_all(key)?;
                writer.write_all(b":")?;
                serde_json::to_writer(&mut *writer, &(column.cell)(row).into_json())?;
            }
            writer.write_all(b"}")?;
        }
        writer.write_all(b"]")
    }

    /// Rows as CSV written to `writer` one row at a time; the bytes are those of
    /// [`Table::csv`].
    pub fn write_csv<'r>(
        &self,
        rows: impl IntoIterator<Item = &'r R>,
        writer: &mut dyn Write,
    ) -> io::Result<()>
    where
        R: 'r,
    {
        let mut csv = csv::Writer::from_writer(writer);
        let shown: Vec<&Column<R>> = self
            .columns
            .iter()
            .filter(|column| {
                matches!(
                    column.shown,
                    Shown::Everywhere | Shown::TextOnly | Shown::MachineOnly
                )
            })
            .collect();
        csv.write_record(shown.iter().map(|column| column.name))?;
        for row in rows {
            let cells = shown
                .iter()
                .map(|column| csv_text(&(column.cell)(row).text));
            csv.write_record(cells)?;
        }
        csv.flush()
    }

    /// Rows as CSV's table of text cells.
    pub fn table(&self, rows: &[R]) -> Table {
        self.text_table(rows, false)
    }

    /// Rows in `format`: an aligned table, CSV, or a JSON array on one line.
    pub fn render(&self, rows: &[R], format: Format) -> String {
        match format {
            Format::Json => self.json_array(rows).to_string() + "\n",
            Format::Csv => self.table(rows).csv(),
            Format::Table => self.text_table(rows, true).aligned(),
        }
    }
}

/// Rows of text under named columns.
pub struct Table {
    columns: Vec<&'static str>,
    /// Row after row, `columns.len()` cells each: one allocation for the whole table.
    cells: Vec<Text>,
}

impl Table {
    /// Columns padded to their widest cell, two spaces apart.
    pub fn aligned(&self) -> String {
        fn text(cell: &Text) -> &str {
            match cell {
                Text::Exact(text) | Text::Free(text) => text.as_str(),
                Text::Open => "open",
            }
        }
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in self.rows() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(text(cell).chars().count());
            }
        }
        // Written straight into one string, sized once: a members table at the 10M scale
        // has thousands of rows, and a string per padded cell showed in the profile.
        let line_bytes = widths.iter().sum::<usize>() + 2 * widths.len() + 1;
        let mut out = String::with_capacity(line_bytes * (self.rows().len() + 1));
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let start = out.len();
            for (index, (cell, width)) in cells.zip(&widths).enumerate() {
                if index > 0 {
                    out.push_str("  ");
                }
                out.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
            let kept = out[start..].trim_end().len();
            out.truncate(start + kept);
            out.push('\n');
        };
        line(&mut self.columns.iter().copied());
        for row in self.rows() {
            line(&mut row.iter().map(text));
        }
        out
    }

    /// The rows, each its cells.
    fn rows(&self) -> std::slice::ChunksExact<'_, Text> {
        // A table has at least one column (every answer names one); max(1) keeps
        // chunks_exact from being asked for chunks of none.
        self.cells.chunks_exact(self.columns.len().max(1))
    }

    /// RFC 4180 CSV with the formula rule for free-text cells.
    pub fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&self.columns);
        for row in self.rows() {
            let _ = writer.write_record(row.iter().map(csv_text));
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A cell as CSV holds it: free text neutralised, an open end blank.
fn csv_text(cell: &Text) -> String {
    match cell {
        Text::Exact(text) => text.as_str().to_owned(),
        Text::Free(text) => neutralise_formula(text.as_str()),
        Text::Open => String::new(),
    }
}

/// Prefixes `'` to text a spreadsheet would evaluate.
pub fn neutralise_formula(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Row {
        id: &'static str,
        name: Option<String>,
        end: Option<Date>,
    }

    fn columns() -> Columns<'static, Row> {
        Columns::new()
            .column("id", |row: &Row| Cell::id(row.id))
            .text_only("name", |row: &Row| Cell::name(row.name.as_ref()))
            .machine_only("until", |row: &Row| Cell::end(row.end))
            .table_only("last_day", |row: &Row| Cell::last_day(row.end))
            .json_only("extra", |_: &Row| Cell::json(json!([1])))
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                id: "=1",
                name: Some("=SUM(A1)".to_string()),
                end: None,
            },
            Row {
                id: "b",
                name: None,
                end: Date::parse("2020-01-02").ok(),
            },
        ]
    }

    /// Cells whose JSON is taken from their text give what `serde_json` makes of the
    /// value itself; the text a table shows is the same whether shared or made.
    #[test]
    fn a_cell_made_from_its_text_gives_json_what_the_value_would() {
        let member = muster::MemberId::new("M0001").expect("a valid id");
        let group = muster::GroupId::new("Football (U14)").expect("a valid id");
        let cases = [
            (Cell::id(&member), json!(member), "M0001"),
            (Cell::id(&group), json!(group), "Football (U14)"),
            (Cell::id("b"), json!("b"), "b"),
            (Cell::optional_id(None::<&str>), Value::Null, ""),
            (Cell::name(Some("Léa")), json!("Léa"), "Léa"),
            (Cell::name(None::<&str>), Value::Null, ""),
            (
                Cell::free_text("a > b".to_string()),
                json!("a > b"),
                "a > b",
            ),
            (
                Cell::shared_text(Arc::from("a > b")),
                json!("a > b"),
                "a > b",
            ),
            (Cell::end(None), Value::Null, "open"),
        ];
        for (cell, json, text) in cases {
            let table = Table {
                columns: vec!["x"],
                cells: vec![cell.text.clone()],
            };
            assert_eq!(table.aligned(), format!("x\n{text}\n").replace(" \n", "\n"));
            assert_eq!(cell.into_json(), json);
        }
    }

    #[test]
    fn streamed_csv_and_json_are_the_bytes_of_the_whole_forms() {
        let (columns, rows) = (columns(), rows());
        let mut json = Vec::new();
        columns.write_json_array(&rows, &mut json).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap() + "\n",
            columns.render(&rows, Format::Json)
        );
        let mut csv = Vec::new();
        columns.write_csv(&rows, &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            columns.render(&rows, Format::Csv)
        );
    }

    #[test]
    fn every_format_comes_from_the_one_description() {
        let (columns, rows) = (columns(), rows());
        assert_eq!(
            columns.render(&rows, Format::Table),
            "id  name      last_day\n=1  =SUM(A1)  open\nb             2020-01-01\n"
        );
        assert_eq!(
            columns.render(&rows, Format::Csv),
            "id,name,until\n=1,'=SUM(A1),\nb,,2020-01-02\n"
        );
        assert_eq!(
            columns.render(&rows, Format::Json),
            "[{\"extra\":[1],\"id\":\"=1\",\"until\":null},{\"extra\":[1],\"id\":\"b\",\"until\":\"2020-01-02\"}]\n"
        );
    }
}
