//! The tables `muster sync postgres` keeps, and their migrations: version 1 the direct spans,
//! names, commits and sync state; version 2 the resolved spans of nested groups.
//! docs/postgres.md describes every table and column; a test reads them back from the
//! catalog.
//!
//! Owns: [`SCHEMA_VERSION`], [`MIGRATIONS`] and [`SchemaName`] (the validated, quoted
//! name the tables live under).
//! Must not: run anything (`sync::postgres` runs the migrations, in one transaction under
//! an advisory lock).

use crate::error::{Error, ErrorKind, Result};

/// The newest version of the tables this muster writes. A database at a later version
/// was migrated by a newer muster and is refused, never written.
pub const SCHEMA_VERSION: i32 = 2;

/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`).
pub const MAX_SCHEMA_NAME_BYTES: usize = 63;

/// Each migration's statements, in version order: migration `i` takes the tables from
/// version `i` to `i + 1`. `{schema}` stands for the quoted schema name.
///
/// Why `spans.pair`: the exclusion constraint's GiST index led by three text columns made
/// each insert slow (a first sync of the large benchmark ledger took 15 s of COPY); led by
/// one 8-byte hash of them it takes a fifth of that. The text columns follow in the
/// constraint, so a hash collision can never forbid spans of two different pairs: it stays
/// exact. Ids hold no control characters, so the separator `\x1f` is unambiguous.
pub const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // Version 1: spans, names, commits and the sync state.
    "CREATE EXTENSION IF NOT EXISTS btree_gist;
     CREATE TABLE {schema}.spans (
         tenant    text      NOT NULL,
         group_id  text      NOT NULL,
         member_id text      NOT NULL,
         during    daterange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)),
         pair      bigint    NOT NULL GENERATED ALWAYS AS
             (hashtextextended(tenant || E'\\x1f' || group_id || E'\\x1f' || member_id, 0)) STORED,
         CONSTRAINT spans_do_not_overlap EXCLUDE USING gist
             (pair WITH =, during WITH &&, tenant WITH =, group_id WITH =, member_id WITH =)
     );
     CREATE INDEX spans_members_of_group ON {schema}.spans (tenant, group_id);
     CREATE INDEX spans_groups_of_member ON {schema}.spans (tenant, member_id);
     CREATE TABLE {schema}.names (
         tenant     text NOT NULL,
         subject    text NOT NULL CHECK (subject IN ('member', 'group')),
         subject_id text NOT NULL,
         name       text NOT NULL,
         PRIMARY KEY (tenant, subject, subject_id)
     );
     CREATE TABLE {schema}.commits (
         tenant      text        NOT NULL,
         seq         bigint      NOT NULL CHECK (seq > 0),
         recorded_at timestamptz NOT NULL,
         source      text        NOT NULL,
         files       text[]      NOT NULL,
         facts       bigint      NOT NULL,
         hash        text        NOT NULL,
         PRIMARY KEY (tenant, seq)
     );
     CREATE TABLE {schema}.sync_state (
         tenant          text        PRIMARY KEY,
         applied_through bigint      NOT NULL,
         applied_hash    text        NOT NULL,
         synced_at       timestamptz NOT NULL
     );",
    // Version 2: the resolved spans of nested groups (issue 15), the shape of `spans`,
    // written out again on purpose: a released migration is frozen, never derived from
    // another one that may change.
    "CREATE TABLE {schema}.resolved_spans (
         tenant    text      NOT NULL,
         group_id  text      NOT NULL,
         member_id text      NOT NULL,
         during    daterange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)),
         pair      bigint    NOT NULL GENERATED ALWAYS AS
             (hashtextextended(tenant || E'\\x1f' || group_id || E'\\x1f' || member_id, 0)) STORED,
         CONSTRAINT resolved_spans_do_not_overlap EXCLUDE USING gist
             (pair WITH =, during WITH &&, tenant WITH =, group_id WITH =, member_id WITH =)
     );
     CREATE INDEX resolved_spans_members_of_group ON {schema}.resolved_spans (tenant, group_id);
     CREATE INDEX resolved_spans_groups_of_member ON {schema}.resolved_spans (tenant, member_id);
     -- Tenants synced by version 1 have no resolved spans yet: their next sync copies them
     -- whole (a sync state without resolved spans is replaced, see sync::plan).
     DELETE FROM {schema}.sync_state;",
];

/// A schema name: an unquoted-style identifier (letters, digits, underscores, not
/// starting with a digit), at most [`MAX_SCHEMA_NAME_BYTES`]; kept quoted for SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaName(String);

impl SchemaName {
    pub fn new(text: &str) -> Result<SchemaName> {
        let valid = !text.is_empty()
            && text.len() <= MAX_SCHEMA_NAME_BYTES
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !text.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "--schema {text:?}: a schema name is 1 to {MAX_SCHEMA_NAME_BYTES} letters, \
                     digits and underscores, not starting with a digit"
                ),
            ));
        }
        Ok(SchemaName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for SQL (valid names hold no quote, so none needs doubling).
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_identifiers() {
        for good in [
            "muster",
            "_x",
            "trust_2026",
            &"a".repeat(MAX_SCHEMA_NAME_BYTES),
        ] {
            assert_eq!(
                SchemaName::new(good).map(|name| name.quoted()),
                Ok(format!("\"{good}\""))
            );
        }
        for bad in [
            "",
            "2x",
            "a-b",
            "a\"b",
            "a b",
            &"a".repeat(MAX_SCHEMA_NAME_BYTES + 1),
        ] {
            assert_eq!(
                SchemaName::new(bad).map_err(|e| e.kind()),
                Err(ErrorKind::Input),
                "{bad:?}"
            );
        }
    }
}
