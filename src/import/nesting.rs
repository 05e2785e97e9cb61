//! `import nesting`: the subgroup facts file (`date,group,subgroup,change`, change
//! `include`, `exclude` or `end`).
//!
//! Owns: [`read_nesting`].
//! Must not: consult the ledger (a cycle through groups already recorded is refused by the
//! plan); it returns a [`Batch`] for `plan`.

use std::path::Path;

use crate::error::Result;
use crate::import::table::read_table;
use crate::log::source::SourceFile;
use crate::model::{Batch, Change, NestingFact};

/// Reads a nesting file: header `date,group,subgroup,change`. Each row's place is kept, so
/// that a cycle it would make is refused naming its line. A row naming one group twice is
/// refused here: a group cannot contain itself.
pub fn read_nesting(path: &Path) -> Result<(Batch, SourceFile)> {
    let (table, source) = read_table(path)?;
    let [date_column, group_column, subgroup_column, change_column] =
        table.columns(["date", "group", "subgroup", "change"])?;
    let mut nesting = Vec::new();
    for row in table.rows() {
        let change_text = row.raw(change_column);
        let change =
            Change::parse_subgroup(&change_text.to_ascii_lowercase()).ok_or_else(|| {
                row.error(
                    change_column,
                    format!("{change_text:?} is not a change: write include, exclude or end"),
                )
            })?;
        let date = row.date(date_column)?;
        let group = row.group(group_column)?;
        let subgroup = row.group(subgroup_column)?;
        if group == subgroup {
            return Err(row.error(
                subgroup_column,
                format!(
                    "group {group} cannot contain itself (a cycle: {group} > {group}); nothing \
                     was written"
                ),
            ));
        }
        nesting.push(NestingFact {
            date,
            group,
            subgroup,
            change,
            place: Some(row.place(subgroup_column)),
        });
    }
    Ok((
        Batch {
            observations: Vec::new(),
            facts: Vec::new(),
            nesting,
        },
        source,
    ))
}
