//! The peer: what a user would build without muster. A SQLite database (rusqlite, bundled)
//! with a `memberships(group_id, member_id, starts_on, ends_on)` table filled by set-based
//! SQL from the same SB CSV files muster imports, indexed for date queries.
//!
//! Owns: loading the CSVs into staging tables, the SQL that turns occurrences into
//! membership spans, and the peer's queries. Must not: time anything (the report does).
//!
//! The SQL follows muster's rules so both answer the same questions: an occurrence's date
//! is the Sunday of its `DateIdent` week plus `GroupDay`; a member present at a run of
//! consecutive observed dates of a group is a member from the first of them until the day
//! before the group's next observed date (inclusive `ends_on`, blank while open).

use std::path::Path;

use muster::input::{decode_text, read_text};
use rusqlite::{params, Connection};

pub struct Peer {
    connection: Connection,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS days (date_ident INTEGER PRIMARY KEY, day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rota_weeks (week_ident INTEGER PRIMARY KEY, date_ident INTEGER);
CREATE TABLE IF NOT EXISTS occurrences (occurrence INTEGER PRIMARY KEY, week_ident INTEGER,
    group_id TEXT NOT NULL, group_day INTEGER NOT NULL, date_ident INTEGER);
CREATE TABLE IF NOT EXISTS attendance (member_id TEXT NOT NULL, occurrence INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS memberships (group_id TEXT NOT NULL, member_id TEXT NOT NULL,
    starts_on TEXT NOT NULL, ends_on TEXT);
CREATE INDEX IF NOT EXISTS memberships_by_group ON memberships (group_id, starts_on);
CREATE INDEX IF NOT EXISTS memberships_by_member ON memberships (member_id, starts_on);
";

/// Occurrences → observed dates → runs of presence → spans, in one statement.
const FILL_MEMBERSHIPS: &str = "
INSERT INTO memberships (group_id, member_id, starts_on, ends_on)
WITH week_day AS (
    SELECT o.occurrence, o.group_id, o.group_day,
           COALESCE(d.day, (SELECT d2.day FROM rota_weeks w JOIN days d2 ON d2.date_ident = w.date_ident
                            WHERE w.week_ident = o.week_ident)) AS day
    FROM occurrences o LEFT JOIN days d ON d.date_ident = o.date_ident
),
occurrence_date AS (
    SELECT occurrence, group_id,
           date(day, '-' || CAST(strftime('%w', day) AS INTEGER) || ' days', '+' || group_day || ' days') AS on_date
    FROM week_day WHERE day IS NOT NULL
),
observed AS (
    SELECT group_id, on_date, ROW_NUMBER() OVER (PARTITION BY group_id ORDER BY on_date) AS position
    FROM (SELECT DISTINCT group_id, on_date FROM occurrence_date)
),
present AS (
    SELECT DISTINCT od.group_id, a.member_id, od.on_date
    FROM attendance a JOIN occurrence_date od ON od.occurrence = a.occurrence
),
runs AS (
    SELECT p.group_id, p.member_id, p.on_date, o.position,
           o.position - ROW_NUMBER() OVER (PARTITION BY p.group_id, p.member_id ORDER BY p.on_date) AS run
    FROM present p JOIN observed o ON o.group_id = p.group_id AND o.on_date = p.on_date
),
spans AS (
    SELECT group_id, member_id, MIN(on_date) AS starts_on, MAX(position) AS last_position
    FROM runs GROUP BY group_id, member_id, run
)
SELECT s.group_id, s.member_id, s.starts_on, date(next.on_date, '-1 day')
FROM spans s LEFT JOIN observed next
  ON next.group_id = s.group_id AND next.position = s.last_position + 1;
";

/// `dd/mm/yyyy`, or ISO `yyyy-mm-dd`, either possibly followed by a time: as ISO.
fn iso_day(text: &str) -> Option<String> {
    let day = text.trim().split([' ', 'T']).next()?;
    if day.len() == 10 && day.as_bytes()[4] == b'-' {
        return Some(day.to_string());
    }
    let mut parts = day.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{y:0>4}-{m:0>2}-{d:0>2}"))
}

/// The rows of an SB file as (header, records), decoded as muster decodes them.
fn read_csv(path: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let text = read_text(path).map(|t| t.text).unwrap_or_else(|_| {
        decode_text(&std::fs::read(path).expect("an SB file the peer can read"))
    });
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let records = reader.records().filter_map(Result::ok).collect();
    (header, records)
}

fn column(header: &csv::StringRecord, name: &str) -> usize {
    header.iter().position(|h| h.trim() == name).unwrap_or_else(|| panic!("column {name}"))
}

impl Peer {
    pub fn open(path: &Path) -> Peer {
        let connection = Connection::open(path).expect("open the peer database");
        connection.execute_batch(SCHEMA).expect("create the peer schema");
        Peer { connection }
    }

    /// Loads an SB export directory and recomputes every membership, in one transaction.
    /// Returns the number of membership rows. A re-import does the same work again: the
    /// peer has no way to know nothing changed without redoing it.
    pub fn import(&mut self, directory: &Path) -> usize {
        let transaction = self.connection.transaction().expect("begin");
        transaction
            .execute_batch("DELETE FROM days; DELETE FROM rota_weeks; DELETE FROM occurrences; DELETE FROM attendance; DELETE FROM memberships;")
            .expect("clear");
        {
            let (header, rows) = read_csv(&directory.join("days.csv"));
            let (day, ident) = (column(&header, "Days"), column(&header, "DateIdent"));
            let mut insert = transaction.prepare("INSERT OR REPLACE INTO days VALUES (?1, ?2)").expect("prepare");
            for row in &rows {
                if let (Some(iso), Ok(id)) = (iso_day(&row[day]), row[ident].trim().parse::<i64>()) {
                    insert.execute(params![id, iso]).expect("insert day");
                }
            }
            let (header, rows) = read_csv(&directory.join("rtrotaweek.csv"));
            let (week, ident) = (column(&header, "RTRotaWeekIdent"), column(&header, "DateIdent"));
            let mut insert = transaction.prepare("INSERT OR REPLACE INTO rota_weeks VALUES (?1, ?2)").expect("prepare");
            for row in &rows {
                insert.execute(params![row[week].trim(), row[ident].trim()]).expect("insert week");
            }
            let (header, rows) = read_csv(&directory.join("rtrwgroups.csv"));
            let columns = ["RTRWGroupsIdent", "RTRotaWeekIdent", "GroupIdent", "GroupDay", "DateIdent"].map(|name| column(&header, name));
            let mut insert = transaction.prepare("INSERT OR REPLACE INTO occurrences VALUES (?1, ?2, ?3, ?4, ?5)").expect("prepare");
            for row in &rows {
                let field = |i: usize| row.get(columns[i]).unwrap_or("").trim().to_string();
                insert.execute(params![field(0), field(1), field(2), field(3), field(4)]).expect("insert occurrence");
            }
            let (header, rows) = read_csv(&directory.join("rtrwpupils.csv"));
            let (member, occurrence) = (column(&header, "PupOrigNum"), column(&header, "RTRWGroupsIdent"));
            let mut insert = transaction.prepare("INSERT INTO attendance VALUES (?1, ?2)").expect("prepare");
            for row in &rows {
                insert.execute(params![row[member].trim(), row[occurrence].trim()]).expect("insert attendance");
            }
        }
        let filled = transaction.execute(FILL_MEMBERSHIPS, []).expect("fill memberships");
        transaction.commit().expect("commit");
        filled
    }

    pub fn members(&self, group: &str, on: &str) -> Vec<String> {
        let mut query = self
            .connection
            .prepare_cached("SELECT DISTINCT member_id FROM memberships WHERE group_id = ?1 AND starts_on <= ?2 AND (ends_on IS NULL OR ends_on >= ?2) ORDER BY member_id")
            .expect("prepare");
        query.query_map(params![group, on], |row| row.get(0)).expect("query").map(|r| r.expect("row")).collect()
    }

    pub fn groups(&self, member: &str, on: &str) -> Vec<String> {
        let mut query = self
            .connection
            .prepare_cached("SELECT DISTINCT group_id FROM memberships WHERE member_id = ?1 AND starts_on <= ?2 AND (ends_on IS NULL OR ends_on >= ?2) ORDER BY group_id")
            .expect("prepare");
        query.query_map(params![member, on], |row| row.get(0)).expect("query").map(|r| r.expect("row")).collect()
    }

    /// (group, starts_on, ends_on) of every span of `member`.
    pub fn history(&self, member: &str) -> Vec<(String, String, Option<String>)> {
        let mut query = self
            .connection
            .prepare_cached("SELECT group_id, starts_on, ends_on FROM memberships WHERE member_id = ?1 ORDER BY group_id, starts_on")
            .expect("prepare");
        query
            .query_map(params![member], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    }
}
