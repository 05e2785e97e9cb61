//! The generic statement files: `import observations` (`date,group,member`, each
//! (date, group) the group's whole membership that day) and `import facts`
//! (`date,group,member,change`).
//!
//! Owns: [`read_observations`] and [`read_facts`].
//! Must not: consult the ledger; each returns a [`Batch`] for `plan`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::import::table::read_table;
use crate::log::source::SourceFile;
use crate::model::{Batch, Change, Date, Fact, GroupId, Observation};

/// Reads an observations file: header `date,group,member`; each (date, group) is one
/// observation of the group's whole membership; a row whose member field is empty (written
/// as an empty field, with its comma) observes the group (possibly empty) without naming
/// anyone. A member of only spaces is refused, and so is a row short of a field.
pub fn read_observations(path: &Path) -> Result<(Batch, SourceFile)> {
    let (table, source) = read_table(path)?;
    let [date_column, group_column, member_column] = table.columns(["date", "group", "member"])?;
    let mut observations: BTreeMap<(Date, GroupId), Observation> = BTreeMap::new();
    for row in table.rows() {
        let date = row.date(date_column)?;
        let group = row.group(group_column)?;
        let observation = observations
            .entry((date, group.clone()))
            .or_insert_with(|| Observation::snapshot(date, group, Default::default()));
        if !row.raw(member_column).is_empty() {
            observation.members.insert(row.member(member_column)?);
        }
    }
    let batch = Batch {
        observations: observations.into_values().collect(),
        facts: Vec::new(),
        nesting: Vec::new(),
    };
    Ok((batch, source))
}

/// Reads a facts file: header `date,group,member,change`, change `join`, `leave` or
/// `exclude` (any
/// case, written exactly: `join ` with a space is refused, not guessed at).
pub fn read_facts(path: &Path) -> Result<(Batch, SourceFile)> {
    let (table, source) = read_table(path)?;
    let [date_column, group_column, member_column, change_column] =
        table.columns(["date", "group", "member", "change"])?;
    let mut facts = Vec::new();
    for row in table.rows() {
        let change_text = row.raw(change_column);
        let change = Change::parse(&change_text.to_ascii_lowercase()).ok_or_else(|| {
            let hint = if change_text.trim() != change_text {
                ", with no spaces around it"
            } else {
                ""
            };
            row.error(
                change_column,
                format!("{change_text:?} is not a change: write join, leave or exclude{hint}"),
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
            nesting: Vec::new(),
        },
        source,
    ))
}
