//! Applying a sync plan to PostgreSQL: connecting, migrating the tables, holding the
//! tenant's lock, reading its sync state, and writing a plan's changes with the new state
//! in one transaction.
//!
//! Owns: [`Database`], the SQL that changes rows, and how rows are spelled for COPY.
//! Must not: decide what changes (`sync::plan` does), or touch the ledger.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use postgres::{Client, Transaction};

use crate::error::{Error, ErrorKind, Result};
use crate::log::hash::{from_hex, hex};
use crate::log::personal::Subject;
use crate::model::Span;
use crate::progress::Progress;
use crate::sync::plan::{CommitRow, SyncPlan, Synced};
use crate::sync::schema::{SchemaName, MIGRATIONS, SCHEMA_VERSION};
use crate::sync::Tenant;

/// How often a sync waiting for another one's tenant lock tries again.
const LOCK_RETRY: Duration = Duration::from_millis(50);
/// Rows between progress reports while copying.
const ROWS_PER_PROGRESS_STEP: usize = 10_000;
/// The advisory lock every migration takes (any fixed number; "muster" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d75_7374_6572;

fn database(what: &str, error: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Database, format!("PostgreSQL, {what}: {error}"))
}

/// `error` and every error under it, as one line: "error performing TLS handshake" alone
/// does not say that the certificate was not trusted.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(below) = cause {
        text.push_str(&format!(": {below}"));
        cause = below.source();
    }
    text
}

/// A connection to the database a ledger syncs into, with its tables migrated.
pub struct Database {
    client: Client,
    schema: SchemaName,
}

impl Database {
    /// Connects to `url` (a libpq connection string or URI) and brings the tables under
    /// `schema` to [`SCHEMA_VERSION`], creating the schema when it is missing.
    pub fn connect(url: &str, schema: SchemaName) -> Result<Database> {
        // The URL may hold a password: messages never repeat it.
        let client = connect_client(url)?;
        let mut database = Database { client, schema };
        database.migrate()?;
        Ok(database)
    }

    fn migrate(&mut self) -> Result<()> {
        let schema = self.schema.quoted();
        let mut transaction = self
            .client
            .transaction()
            .map_err(|e| database("starting the migration", e))?;
        // Two first syncs at once must not both create the tables.
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| database("locking for the migration", e))?;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL);"
            ))
            .map_err(|e| database("creating the schema", e))?;
        let version: i32 = transaction
            .query_opt(&format!("SELECT version FROM {schema}.schema_version"), &[])
            .map_err(|e| database("reading the schema version", e))?
            .map_or(0, |row| row.get(0));
        if version > SCHEMA_VERSION {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "PostgreSQL: the tables under schema {} are at version {version}, made by a \
                     newer muster (this one writes version {SCHEMA_VERSION}); nothing was changed",
                    self.schema.as_str()
                ),
            ));
        }
        for (index, statements) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            transaction
                .batch_execute(&statements.replace("{schema}", &schema))
                .map_err(|e| {
                    database(&format!("migrating the tables to version {}", index + 1), e)
                })?;
        }
        transaction
            .batch_execute(&format!(
                "DELETE FROM {schema}.schema_version;
                 INSERT INTO {schema}.schema_version VALUES ({SCHEMA_VERSION});"
            ))
            .map_err(|e| database("recording the schema version", e))?;
        transaction
            .commit()
            .map_err(|e| database("committing the migration", e))
    }

    /// Starts the transaction a sync runs in, holding `tenant`'s lock: a second sync of the
    /// same tenant waits for this one, up to `wait`, then is refused as
    /// [`ErrorKind::Locked`].
    pub fn begin(&mut self, tenant: &Tenant, wait: Duration) -> Result<TenantTransaction<'_>> {
        let schema = self.schema.clone();
        let mut transaction = self
            .client
            .transaction()
            .map_err(|e| database("starting the transaction", e))?;
        let key = format!("{}/{}", schema.as_str(), tenant.as_str());
        let started = Instant::now();
        loop {
            let locked: bool = transaction
                .query_one(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
                    &[&key],
                )
                .map_err(|e| database("locking the tenant", e))?
                .get(0);
            if locked {
                break;
            }
            if started.elapsed() >= wait {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "another muster sync of tenant {tenant} is running (waited {} s; \
                         --wait SECONDS waits longer)",
                        wait.as_secs()
                    ),
                ));
            }
            thread::sleep(LOCK_RETRY);
        }
        Ok(TenantTransaction {
            transaction,
            schema,
            tenant: tenant.clone(),
        })
    }
}

/// A client for `url`, over TLS when this muster was built with it (`--features tls`) and
/// the URL's `sslmode` asks for it or allows it (libpq's default, `prefer`, tries TLS and
/// falls back to none).
#[cfg(feature = "tls")]
fn connect_client(url: &str) -> Result<Client> {
    let connector = native_tls::TlsConnector::new().map_err(|e| database("setting up TLS", e))?;
    let tls = postgres_native_tls::MakeTlsConnector::new(connector);
    Client::connect(url, tls).map_err(|e| database("connecting", with_causes(&e)))
}

/// A client for `url`, without TLS: this muster was built without it. A URL that requires
/// TLS (`sslmode=require`) is refused, saying how to build one that has it.
#[cfg(not(feature = "tls"))]
fn connect_client(url: &str) -> Result<Client> {
    Client::connect(url, postgres::NoTls).map_err(|e| {
        let text = with_causes(&e);
        if text.to_ascii_lowercase().contains("tls") {
            database(
                "connecting",
                format!(
                    "{text} (this muster was built without TLS: `cargo build --release \
                     --features tls` builds one with it)"
                ),
            )
        } else {
            database("connecting", text)
        }
    })
}

/// One sync's transaction, holding its tenant's lock until it commits or is dropped (a
/// dropped transaction rolls back: nothing of it is left).
pub struct TenantTransaction<'a> {
    transaction: Transaction<'a>,
    schema: SchemaName,
    tenant: Tenant,
}

impl TenantTransaction<'_> {
    /// The tenant's sync state: the commit its rows hold the ledger through, or `None` for
    /// a tenant never synced.
    pub fn state(&mut self) -> Result<Option<Synced>> {
        let row = self
            .transaction
            .query_opt(
                &format!(
                    "SELECT applied_through, applied_hash FROM {}.sync_state WHERE tenant = $1",
                    self.schema.quoted()
                ),
                &[&self.tenant.as_str()],
            )
            .map_err(|e| database("reading the sync state", e))?;
        let Some(row) = row else { return Ok(None) };
        let (seq, hash): (i64, String) = (row.get(0), row.get(1));
        let state = u64::try_from(seq)
            .ok()
            .zip(from_hex(&hash))
            .map(|(seq, hash)| Synced { seq, hash });
        match state {
            Some(state) => Ok(Some(state)),
            None => Err(Error::new(
                ErrorKind::Diverged,
                format!(
                    "tenant {}: the sync state ({seq}, {hash:?}) is not one muster writes: it \
                     was changed outside muster; nothing was changed",
                    self.tenant
                ),
            )),
        }
    }

    /// Writes `plan` and its new sync state, then commits: all of it or, on any error,
    /// nothing.
    pub fn apply(mut self, plan: &SyncPlan, progress: &dyn Progress) -> Result<()> {
        let schema = self.schema.quoted();
        let tenant = self.tenant.as_str().to_string();
        let transaction = &mut self.transaction;
        if plan.replace {
            for table in ["spans", "resolved_spans", "names", "commits"] {
                transaction
                    .execute(
                        &format!("DELETE FROM {schema}.{table} WHERE tenant = $1"),
                        &[&tenant],
                    )
                    .map_err(|e| database(&format!("clearing the tenant's {table}"), e))?;
            }
        }
        for (table, removed, added) in [
            ("spans", &plan.removed, &plan.added),
            (
                "resolved_spans",
                &plan.resolved_removed,
                &plan.resolved_added,
            ),
        ] {
            let table = SpanTable {
                schema: &schema,
                table,
                tenant: &self.tenant,
            };
            table.remove(transaction, removed, plan.from)?;
            progress.start(&format!("copying {}", table.table), added.len() as u64);
            copy(
                transaction,
                &format!(
                    "COPY {schema}.{} (tenant, group_id, member_id, during) FROM STDIN (FORMAT csv)",
                    table.table
                ),
                added.iter().map(|span| span_record(&tenant, span)),
                progress,
            )?;
            progress.finish();
        }
        set_names(transaction, &schema, &tenant, &plan.names_set)?;
        remove_names(transaction, &schema, &tenant, &plan.names_removed)?;
        copy(
            transaction,
            &format!(
                "COPY {schema}.commits (tenant, seq, recorded_at, source, files, facts, hash) \
                 FROM STDIN (FORMAT csv)"
            ),
            plan.commits
                .iter()
                .map(|commit| commit_record(&tenant, commit)),
            &crate::progress::NoProgress,
        )?;
        let through_seq = i64::try_from(plan.through.seq)
            .map_err(|_| database("recording the sync state", "commit number out of range"))?;
        transaction
            .execute(
                &format!(
                    "INSERT INTO {schema}.sync_state (tenant, applied_through, applied_hash, synced_at)
                     VALUES ($1, $2, $3, now())
                     ON CONFLICT (tenant) DO UPDATE
                     SET applied_through = EXCLUDED.applied_through,
                         applied_hash = EXCLUDED.applied_hash,
                         synced_at = EXCLUDED.synced_at"
                ),
                &[&tenant, &through_seq, &hex(&plan.through.hash)],
            )
            .map_err(|e| database("recording the sync state", e))?;
        self.transaction
            .commit()
            .map_err(|e| database("committing the sync", e))
    }
}

/// One table of spans (`spans`, `resolved_spans`) of one tenant.
struct SpanTable<'a> {
    schema: &'a str,
    table: &'a str,
    tenant: &'a Tenant,
}

impl SpanTable<'_> {
    /// Removes `spans`; every one must be there. One missing means the rows were changed
    /// outside muster: refused, and the transaction rolls back.
    fn remove(
        &self,
        transaction: &mut Transaction<'_>,
        spans: &[Span],
        from: Option<Synced>,
    ) -> Result<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let (schema, table, tenant) = (self.schema, self.table, self.tenant);
        let removed_rows = format!("muster_removed_{table}");
        copy_to_temporary(
            transaction,
            &format!("{removed_rows} (group_id text, member_id text, during daterange)"),
            spans.iter().map(|span| {
                let mut record = span_record("", span);
                record.remove(0);
                record
            }),
        )?;
        let removed = transaction
            .execute(
                &format!(
                    "DELETE FROM {schema}.{table} AS s USING {removed_rows} AS r
                     WHERE s.tenant = $1 AND s.group_id = r.group_id
                       AND s.member_id = r.member_id AND s.during = r.during"
                ),
                &[&tenant.as_str()],
            )
            .map_err(|e| database(&format!("removing {table}"), e))?;
        if removed != spans.len() as u64 {
            let through = from.map_or(0, |from| from.seq);
            return Err(Error::new(
                ErrorKind::Diverged,
                format!(
                    "tenant {tenant}: of the {} {table} the ledger held after commit {through} \
                     and no longer holds, the database has {removed}: its rows were changed \
                     outside muster; nothing was changed. `--full` replaces this tenant's rows \
                     with this ledger's",
                    spans.len()
                ),
            ));
        }
        Ok(())
    }
}

fn set_names(
    transaction: &mut Transaction<'_>,
    schema: &str,
    tenant: &str,
    names: &[(Subject, String)],
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    copy_to_temporary(
        transaction,
        "muster_set_names (subject text, subject_id text, name text)",
        names.iter().map(|(subject, name)| {
            vec![
                subject.kind_name().to_string(),
                subject.id().to_string(),
                name.clone(),
            ]
        }),
    )?;
    transaction
        .execute(
            &format!(
                "INSERT INTO {schema}.names (tenant, subject, subject_id, name)
                 SELECT $1, subject, subject_id, name FROM muster_set_names
                 ON CONFLICT (tenant, subject, subject_id) DO UPDATE SET name = EXCLUDED.name"
            ),
            &[&tenant],
        )
        .map_err(|e| database("setting names", e))?;
    Ok(())
}

fn remove_names(
    transaction: &mut Transaction<'_>,
    schema: &str,
    tenant: &str,
    subjects: &[Subject],
) -> Result<()> {
    for kind in ["member", "group"] {
        let ids: Vec<&str> = subjects
            .iter()
            .filter(|subject| subject.kind_name() == kind)
            .map(Subject::id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        transaction
            .execute(
                &format!(
                    "DELETE FROM {schema}.names
                     WHERE tenant = $1 AND subject = $2 AND subject_id = ANY($3)"
                ),
                &[&tenant, &kind, &ids],
            )
            .map_err(|e| database("removing names", e))?;
    }
    Ok(())
}

/// Creates the temporary table `table` (`name (column type, ...)`, dropped when the
/// transaction ends) and copies `records` into it: rows to join against.
fn copy_to_temporary(
    transaction: &mut Transaction<'_>,
    table: &str,
    records: impl Iterator<Item = Vec<String>>,
) -> Result<()> {
    transaction
        .batch_execute(&format!("CREATE TEMPORARY TABLE {table} ON COMMIT DROP"))
        .map_err(|e| database("creating a temporary table", e))?;
    let (name, columns) = table.split_once(' ').unwrap_or((table, ""));
    let names: Vec<&str> = columns
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .filter_map(|column| column.split_whitespace().next())
        .collect();
    copy(
        transaction,
        &format!("COPY {name} ({}) FROM STDIN (FORMAT csv)", names.join(", ")),
        records,
        &crate::progress::NoProgress,
    )
}

/// Streams `records` into `statement` (a `COPY ... FROM STDIN (FORMAT csv)`).
fn copy(
    transaction: &mut Transaction<'_>,
    statement: &str,
    records: impl Iterator<Item = Vec<String>>,
    progress: &dyn Progress,
) -> Result<()> {
    let mut records = records.peekable();
    if records.peek().is_none() {
        return Ok(());
    }
    let writer = transaction
        .copy_in(statement)
        .map_err(|e| database("starting a copy", e))?;
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(writer);
    let mut since_report = 0;
    for record in records {
        csv.write_record(&record)
            .map_err(|e| database("copying rows", e))?;
        since_report += 1;
        if since_report == ROWS_PER_PROGRESS_STEP {
            progress.advance(since_report as u64);
            since_report = 0;
        }
    }
    progress.advance(since_report as u64);
    let mut writer = csv
        .into_inner()
        .map_err(|e| database("copying rows", e.error()))?;
    writer.flush().map_err(|e| database("copying rows", e))?;
    writer.finish().map_err(|e| database("copying rows", e))?;
    Ok(())
}

/// A span as `tenant, group_id, member_id, during`: `during` is `[from,until)`, with no
/// upper bound while the span is open.
fn span_record(tenant: &str, span: &Span) -> Vec<String> {
    let until = span
        .until
        .map(|until| until.to_string())
        .unwrap_or_default();
    vec![
        tenant.to_string(),
        span.group.as_str().to_string(),
        span.member.as_str().to_string(),
        format!("[{},{until})", span.from),
    ]
}

fn commit_record(tenant: &str, commit: &CommitRow) -> Vec<String> {
    // Milliseconds since 1970 in UTC; one out of chrono's range (never written by muster)
    // is spelled as the epoch rather than refused, since the hash still identifies it.
    let recorded_at = chrono::DateTime::from_timestamp_millis(commit.recorded_at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    vec![
        tenant.to_string(),
        commit.seq.to_string(),
        recorded_at,
        commit.source.clone(),
        text_array(&commit.files),
        commit.facts.to_string(),
        hex(&commit.hash),
    ]
}

/// `items` as a PostgreSQL array literal of text: each element quoted, with `"` and `\`
/// escaped.
fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}
