//! The peer: what a user would build without muster. A SQLite database (rusqlite, bundled)
//! with a `memberships(group_id, member_id, starts_on, ends_on)` table filled by set-based
//! SQL from the same SB CSV files muster imports, indexed for date queries.
//!
//! Owns: loading the CSVs into staging tables, the SQL that turns occurrences into
//! membership spans, loading the synthetic facts as spans, and the peer's queries.
//! Must not: time anything (the report does), or panic: every failure is an `Err` naming
//! what failed.
//!
//! The SQL follows muster's rules so both answer the same questions: an occurrence's date
//! is the Sunday of its `DateIdent` week plus `GroupDay`; a member present at a run of
//! consecutive observed dates of a group is a member from the first of them until the day
//! before the group's next observed date (inclusive `ends_on`, blank while open).

#![allow(dead_code)] // Each bench and the fairness test use a different part.

use std::path::Path;

use std::collections::BTreeMap;

use muster::import::text::{decode_text, read_text};
use muster::{Change, Fact};
use rusqlite::{params, Connection, Transaction};

pub struct Peer {
    connection: Connection,
}

/// What went wrong, in a sentence.
pub type PeerResult<T> = Result<T, String>;

fn sql(what: &'static str) -> impl Fn(rusqlite::Error) -> String {
    move |error| format!("peer: {what}: {error}")
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
    if day.len() == 10 && day.as_bytes().get(4) == Some(&b'-') {
        return Some(day.to_string());
    }
    let mut parts = day.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{y:0>4}-{m:0>2}-{d:0>2}"))
}

/// The rows of an SB file as (header, records), decoded as muster decodes them (UTF-8,
/// BOM or Windows-1252).
fn read_csv(path: &Path) -> PeerResult<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let text = match read_text(path) {
        Ok(text) => text.text,
        Err(_) => decode_text(
            &std::fs::read(path).map_err(|e| format!("peer: read {}: {e}", path.display()))?,
        ),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("peer: header of {}: {e}", path.display()))?
        .clone();
    let records = reader.records().filter_map(Result::ok).collect();
    Ok((header, records))
}

fn column(header: &csv::StringRecord, name: &str) -> PeerResult<usize> {
    header
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| format!("peer: no column {name}"))
}

fn field(row: &csv::StringRecord, index: usize) -> &str {
    row.get(index).unwrap_or("").trim()
}

/// Loads the SB files of `directory` into the staging tables, adding to what is there.
fn load_staging(transaction: &Transaction, directory: &Path) -> PeerResult<()> {
    let (header, rows) = read_csv(&directory.join("days.csv"))?;
    let (day, ident) = (column(&header, "Days")?, column(&header, "DateIdent")?);
    let mut insert = transaction
        .prepare("INSERT OR REPLACE INTO days VALUES (?1, ?2)")
        .map_err(sql("prepare"))?;
    for row in &rows {
        if let (Some(iso), Ok(id)) = (iso_day(field(row, day)), field(row, ident).parse::<i64>()) {
            insert
                .execute(params![id, iso])
                .map_err(sql("insert day"))?;
        }
    }
    let (header, rows) = read_csv(&directory.join("rtrotaweek.csv"))?;
    let (week, ident) = (
        column(&header, "RTRotaWeekIdent")?,
        column(&header, "DateIdent")?,
    );
    let mut insert = transaction
        .prepare("INSERT OR REPLACE INTO rota_weeks VALUES (?1, ?2)")
        .map_err(sql("prepare"))?;
    for row in &rows {
        insert
            .execute(params![field(row, week), field(row, ident)])
            .map_err(sql("insert week"))?;
    }
    let (header, rows) = read_csv(&directory.join("rtrwgroups.csv"))?;
    let mut columns = [0; 5];
    for (slot, name) in columns.iter_mut().zip([
        "RTRWGroupsIdent",
        "RTRotaWeekIdent",
        "GroupIdent",
        "GroupDay",
        "DateIdent",
    ]) {
        *slot = column(&header, name)?;
    }
    let mut insert = transaction
        .prepare("INSERT OR REPLACE INTO occurrences VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(sql("prepare"))?;
    for row in &rows {
        let value = |i: usize| field(row, columns[i]);
        insert
            .execute(params![value(0), value(1), value(2), value(3), value(4)])
            .map_err(sql("insert occurrence"))?;
    }
    let (header, rows) = read_csv(&directory.join("rtrwpupils.csv"))?;
    let (member, occurrence) = (
        column(&header, "PupOrigNum")?,
        column(&header, "RTRWGroupsIdent")?,
    );
    let mut insert = transaction
        .prepare("INSERT INTO attendance VALUES (?1, ?2)")
        .map_err(sql("prepare"))?;
    for row in &rows {
        insert
            .execute(params![field(row, member), field(row, occurrence)])
            .map_err(sql("insert attendance"))?;
    }
    Ok(())
}

/// Throws the memberships away and derives them again from the staging tables.
fn refill(transaction: &Transaction) -> PeerResult<usize> {
    transaction
        .execute("DELETE FROM memberships", [])
        .map_err(sql("clear memberships"))?;
    transaction
        .execute(FILL_MEMBERSHIPS, [])
        .map_err(sql("fill memberships"))
}

impl Peer {
    pub fn open(path: &Path) -> PeerResult<Peer> {
        let connection = Connection::open(path).map_err(sql("open"))?;
        connection.execute_batch(SCHEMA).map_err(sql("schema"))?;
        Ok(Peer { connection })
    }

    /// Loads an SB export directory and recomputes every membership, in one transaction.
    /// Returns the number of membership rows. A re-import does the same work again: the
    /// peer has no way to know nothing changed without redoing it.
    pub fn import(&mut self, directory: &Path) -> PeerResult<usize> {
        let transaction = self.connection.transaction().map_err(sql("begin"))?;
        transaction
            .execute_batch(
                "DELETE FROM days; DELETE FROM rota_weeks; DELETE FROM occurrences; \
                 DELETE FROM attendance;",
            )
            .map_err(sql("clear"))?;
        load_staging(&transaction, directory)?;
        let filled = refill(&transaction)?;
        transaction.commit().map_err(sql("commit"))?;
        Ok(filled)
    }

    /// Adds an export holding other weeks (a late week) to what was loaded, and recomputes
    /// every membership, in one transaction.
    pub fn append(&mut self, directory: &Path) -> PeerResult<usize> {
        let transaction = self.connection.transaction().map_err(sql("begin"))?;
        load_staging(&transaction, directory)?;
        let filled = refill(&transaction)?;
        transaction.commit().map_err(sql("commit"))?;
        Ok(filled)
    }

    /// Rebuilds the derived data: memberships from the staging tables (SB), then the
    /// indexes (for the synthetic ledger, whose memberships are the data).
    pub fn rebuild(&mut self, from_staging: bool) -> PeerResult<()> {
        let transaction = self.connection.transaction().map_err(sql("begin"))?;
        if from_staging {
            refill(&transaction)?;
        }
        transaction
            .execute_batch("REINDEX memberships;")
            .map_err(sql("reindex"))?;
        transaction.commit().map_err(sql("commit"))
    }

    /// Adds explicit facts as spans: each join is paired with the same member's next leave
    /// of the group (inclusive `ends_on` the day before it; open without one).
    pub fn load_facts(&mut self, facts: &[Fact]) -> PeerResult<usize> {
        let mut by_pair: BTreeMap<(&str, &str), Vec<&Fact>> = BTreeMap::new();
        for fact in facts {
            by_pair
                .entry((fact.group.as_str(), fact.member.as_str()))
                .or_default()
                .push(fact);
        }
        let transaction = self.connection.transaction().map_err(sql("begin"))?;
        let mut rows = 0;
        {
            let mut insert = transaction
                .prepare("INSERT INTO memberships VALUES (?1, ?2, ?3, ?4)")
                .map_err(sql("prepare"))?;
            for ((group, member), mut list) in by_pair {
                list.sort_by_key(|fact| fact.date);
                let mut open: Option<String> = None;
                for fact in list {
                    match (fact.change, &open) {
                        (Change::Join, None) => open = Some(fact.date.to_string()),
                        (Change::Leave, Some(start)) => {
                            let end = fact.date.previous().map(|d| d.to_string());
                            insert
                                .execute(params![group, member, start, end])
                                .map_err(sql("insert span"))?;
                            rows += 1;
                            open = None;
                        }
                        _ => {}
                    }
                }
                if let Some(start) = open {
                    insert
                        .execute(params![group, member, start, None::<String>])
                        .map_err(sql("insert span"))?;
                    rows += 1;
                }
            }
        }
        transaction.commit().map_err(sql("commit"))?;
        Ok(rows)
    }

    pub fn members(&self, group: &str, on: &str) -> PeerResult<Vec<String>> {
        self.strings(
            "SELECT DISTINCT member_id FROM memberships WHERE group_id = ?1 AND starts_on <= ?2 \
             AND (ends_on IS NULL OR ends_on >= ?2) ORDER BY member_id",
            group,
            on,
        )
    }

    pub fn groups(&self, member: &str, on: &str) -> PeerResult<Vec<String>> {
        self.strings(
            "SELECT DISTINCT group_id FROM memberships WHERE member_id = ?1 AND starts_on <= ?2 \
             AND (ends_on IS NULL OR ends_on >= ?2) ORDER BY group_id",
            member,
            on,
        )
    }

    fn strings(&self, query: &str, id: &str, on: &str) -> PeerResult<Vec<String>> {
        let mut statement = self
            .connection
            .prepare_cached(query)
            .map_err(sql("prepare"))?;
        let rows = statement
            .query_map(params![id, on], |row| row.get(0))
            .map_err(sql("query"))?;
        rows.collect::<Result<_, _>>().map_err(sql("row"))
    }

    /// (group, starts_on, ends_on) of every span of `member`.
    pub fn history(&self, member: &str) -> PeerResult<Vec<(String, String, Option<String>)>> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT group_id, starts_on, ends_on FROM memberships WHERE member_id = ?1 \
                 ORDER BY group_id, starts_on",
            )
            .map_err(sql("prepare"))?;
        let rows = statement
            .query_map(params![member], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(sql("query"))?;
        rows.collect::<Result<_, _>>().map_err(sql("row"))
    }
}
