//! The test server, and what a tenant's rows hold, read back with plain SQL, and what the
//! ledger says they should hold, read with the `muster` command.

use std::collections::BTreeSet;
use std::path::Path;

use muster::log::personal::Subject;
use muster::Ledger;
use postgres::{Client, NoTls};

use crate::support::run_in;

/// The PostgreSQL server the tests run against.
pub struct Server {
    pub url: String,
}

impl Server {
    /// The server `MUSTER_TEST_POSTGRES_URL` names, if it is set.
    pub fn from_environment() -> Option<Server> {
        std::env::var("MUSTER_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| Server { url })
    }

    /// A new connection; `schema` is dropped first, so that each test starts empty.
    pub fn fresh(&self, schema: &str) -> Database {
        let mut client = Client::connect(&self.url, NoTls).expect("connect to the test server");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .expect("drop the test schema");
        Database {
            client,
            schema: schema.to_string(),
        }
    }
}

/// One spans row as text: group, member, first day, last day (empty while open): the
/// shape of `muster export spans --format csv`.
pub type SpanRow = (String, String, String, String);

/// Everything a tenant has in the database.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct TenantRows {
    pub spans: Vec<SpanRow>,
    pub resolved_spans: Vec<SpanRow>,
    pub names: Vec<(String, String, String)>,
    pub commits: Vec<(i64, String)>,
    pub state: Option<(i64, String)>,
}

pub struct Database {
    pub client: Client,
    pub schema: String,
}

impl Database {
    /// The tenant's rows, sorted. `during`'s exclusive upper bound is read back as the
    /// inclusive last day, as `export spans` writes it.
    pub fn rows(&mut self, tenant: &str) -> TenantRows {
        if !self.has_tables() {
            return TenantRows {
                spans: Vec::new(),
                resolved_spans: Vec::new(),
                names: Vec::new(),
                commits: Vec::new(),
                state: None,
            };
        }
        let schema = self.schema.clone();
        let spans = self.span_rows("spans", tenant);
        let resolved_spans = self.span_rows("resolved_spans", tenant);
        let names = self
            .client
            .query(
                &format!(
                    "SELECT subject, subject_id, name FROM \"{schema}\".names WHERE tenant = $1
                     ORDER BY 1, 2"
                ),
                &[&tenant],
            )
            .expect("read names")
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect();
        let commits = self
            .client
            .query(
                &format!(
                    "SELECT seq, hash FROM \"{schema}\".commits WHERE tenant = $1 ORDER BY seq"
                ),
                &[&tenant],
            )
            .expect("read commits")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let state = self
            .client
            .query_opt(
                &format!(
                    "SELECT applied_through, applied_hash FROM \"{schema}\".sync_state
                     WHERE tenant = $1"
                ),
                &[&tenant],
            )
            .expect("read the sync state")
            .map(|row| (row.get(0), row.get(1)));
        TenantRows {
            spans,
            resolved_spans,
            names,
            commits,
            state,
        }
    }

    /// Runs `statement` (`{schema}` stands for the quoted schema): a change made outside
    /// muster.
    pub fn by_hand(&mut self, statement: &str) {
        let statement = statement.replace("{schema}", &format!("\"{}\"", self.schema));
        self.client
            .batch_execute(&statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// The rows of `table` (`spans` or `resolved_spans`) as `export spans` writes them.
    fn span_rows(&mut self, table: &str, tenant: &str) -> Vec<SpanRow> {
        let schema = &self.schema;
        self.client
            .query(
                &format!(
                    "SELECT group_id, member_id, lower(during)::text,
                            coalesce((upper(during) - 1)::text, '')
                     FROM \"{schema}\".{table} WHERE tenant = $1 ORDER BY 1, 2, 3"
                ),
                &[&tenant],
            )
            .expect("read spans")
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect()
    }

    fn has_tables(&mut self) -> bool {
        self.client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("\"{}\".sync_state", self.schema)],
            )
            .expect("look for the tables")
            .get(0)
    }

    /// The row versions (`xmin`) of every row the tenant has: unchanged when a sync wrote
    /// nothing.
    pub fn row_versions(&mut self, tenant: &str) -> Vec<String> {
        let schema = &self.schema;
        let mut versions = Vec::new();
        for table in ["spans", "resolved_spans", "names", "commits", "sync_state"] {
            let rows = self
                .client
                .query(
                    &format!(
                        "SELECT xmin::text FROM \"{schema}\".{table} WHERE tenant = $1
                         ORDER BY ctid"
                    ),
                    &[&tenant],
                )
                .expect("read row versions");
            versions.extend(
                rows.iter()
                    .map(|row| format!("{table} {}", row.get::<_, String>(0))),
            );
        }
        versions
    }

    /// Members of `group` on `on` in `table` (`spans`, `resolved_spans`), the SQL way.
    pub fn members_on(&mut self, table: &str, tenant: &str, group: &str, on: &str) -> Vec<String> {
        self.one_column(
            &format!(
                "SELECT member_id FROM \"{{schema}}\".{table}
                 WHERE tenant = $1 AND group_id = $2 AND during @> $3::text::date ORDER BY 1"
            ),
            &[&tenant, &group, &on],
        )
    }

    /// Groups of `member` on `on` in `table`, the SQL way.
    pub fn groups_on(&mut self, table: &str, tenant: &str, member: &str, on: &str) -> Vec<String> {
        self.one_column(
            &format!(
                "SELECT group_id FROM \"{{schema}}\".{table}
                 WHERE tenant = $1 AND member_id = $2 AND during @> $3::text::date ORDER BY 1"
            ),
            &[&tenant, &member, &on],
        )
    }

    fn one_column(
        &mut self,
        query: &str,
        parameters: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Vec<String> {
        let query = query.replace("{schema}", &self.schema);
        self.client
            .query(&query, parameters)
            .expect("probe")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }
}

/// What the tenant's rows must be for the ledger at `db`, from the `muster` command:
/// `export spans`, `log`, and every live name. The sync state is the head.
pub fn expected_rows(db: &Path) -> TenantRows {
    let mut rows = expected_spans_and_commits(db, None);
    // Every live name, of members and groups with facts or without (`list` shows only
    // those with facts): from the library, which `names` and `list` answer from.
    let ledger = Ledger::open_for_queries(db)
        .expect("open the ledger for queries")
        .expect("the ledger's derived state and vault are tagged with its head");
    for subject in ledger.named_subjects().expect("named subjects") {
        let name = match &subject {
            Subject::Member(member) => ledger.member_name(member),
            Subject::Group(group) => ledger.group_name(group),
        };
        if let Some(name) = name.expect("a name") {
            rows.names.push((
                subject.kind_name().to_string(),
                subject.id().to_string(),
                name,
            ));
        }
    }
    rows.names.sort();
    rows
}

/// The spans, commits and sync state the tenant must have when synced through commit
/// `through` (the head when `None`; nothing at 0); names are left empty (the ledger keeps
/// only its live names, not those of earlier commits).
pub fn expected_spans_and_commits(db: &Path, through: Option<i64>) -> TenantRows {
    let dir = db.parent().expect("the ledger is in a directory");
    let through_text = through.map(|seq| seq.to_string());
    let mut export = vec!["export", "spans", "--format", "csv"];
    if let Some(seq) = &through_text {
        export.extend(["--as-of", seq.as_str()]);
    }
    let exported = |resolved: bool| -> Vec<SpanRow> {
        if through == Some(0) {
            return Vec::new();
        }
        let mut args = export.clone();
        if resolved {
            args.push("--resolved");
        }
        csv_rows(&run_in(dir, db, &args).ok().stdout)
            .into_iter()
            .map(|row| {
                (
                    row[0].clone(),
                    row[1].clone(),
                    row[2].clone(),
                    row[3].clone(),
                )
            })
            .collect()
    };
    let (spans, resolved_spans) = (exported(false), exported(true));
    let log = run_in(dir, db, &["log", "--format", "json"]).ok().json();
    let commits: Vec<(i64, String)> = log
        .as_array()
        .expect("log is a list")
        .iter()
        .map(|commit| {
            (
                commit["seq"].as_i64().expect("seq"),
                commit["hash"].as_str().expect("hash").to_string(),
            )
        })
        .filter(|(seq, _)| through.is_none_or(|through| *seq <= through))
        .collect();
    TenantRows {
        state: commits.last().cloned(),
        spans,
        resolved_spans,
        names: Vec::new(),
        commits,
    }
}

/// The rows of a CSV answer, without its header.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|record| record.expect("CSV").iter().map(str::to_string).collect())
        .collect()
}

/// Distinct values of column `index` of a CSV answer.
pub fn column(text: &str, index: usize) -> BTreeSet<String> {
    csv_rows(text)
        .into_iter()
        .map(|row| row[index].clone())
        .collect()
}
