//! Reading display-name files for `muster import names`.
//!
//! Owns: the accepted layouts, found by header name: `kind,id,name` (kind `group` or
//! `member`), `member,name`, or `group,name`.
//! Must not: touch the ledger (names are recorded by [`crate::Ledger::import_names`], which
//! puts only their salted digests in the log and the names in the vault).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Place, Result};
use crate::import::table::read_table;
use crate::log::source::SourceFile;
use crate::model::{GroupId, MemberId};

/// Names read from a file: per group and per member. A later row for the same id wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub groups: BTreeMap<GroupId, String>,
    pub members: BTreeMap<MemberId, String>,
}

/// Reads a names file in one of the layouts above. Rows with a blank name are errors
/// (a blank cannot be told from a missing column value), and so are names with a control
/// character or over [`crate::model::MAX_NAME_BYTES`] bytes (see [`crate::model::check_name`]).
pub fn read_names(path: &Path) -> Result<(Names, SourceFile)> {
    let (table, source) = read_table(path)?;
    let [name_column] = table.columns(["name"])?;
    let mut names = Names::default();
    let layout = (
        table.optional_column("kind"),
        table.optional_column("id"),
        table.optional_column("member"),
        table.optional_column("group"),
    );
    for row in table.rows() {
        let name = row.name(name_column)?;
        match layout {
            (Some(kind_column), Some(id_column), _, _) => match row.text(kind_column) {
                "group" => {
                    names.groups.insert(row.group(id_column)?, name);
                }
                "member" => {
                    names.members.insert(row.member(id_column)?, name);
                }
                other => {
                    return Err(row.error(
                        kind_column,
                        format!("{other:?} is not a kind: write group or member"),
                    ))
                }
            },
            (_, _, Some(member_column), _) => {
                names.members.insert(row.member(member_column)?, name);
            }
            (_, _, None, Some(group_column)) => {
                names.groups.insert(row.group(group_column)?, name);
            }
            _ => {
                return Err(Error::input(
                    Place::file(path).line(1),
                    "expected columns kind,id,name or member,name or group,name",
                ))
            }
        }
    }
    Ok((names, source))
}
