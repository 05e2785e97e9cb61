//! Rendering nested answers: resolved members with the path each came in through,
//! resolved groups, subgroups, and a nesting import's subgroup facts.
//!
//! Owns: those answers' columns and JSON shapes.
//! Must not: query the ledger or print.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Value};

use super::columns::{Cell, Columns, Format};
use super::json_line;
use muster::model::{Date, GroupId, MemberId, NestingFact};
use muster::query::nesting::{GroupIn, Path, Subgroups};

/// A resolved member, with the subgroups it came in through (`None`: directly).
pub struct ResolvedMember {
    pub member: MemberId,
    pub via: Option<Path>,
}

/// A path as people read it: group names where known, else ids, joined by ` > `.
fn path_text(path: &[GroupId], names: &BTreeMap<GroupId, String>) -> String {
    path.iter()
        .map(|group| {
            names
                .get(group)
                .cloned()
                .unwrap_or_else(|| group.to_string())
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

/// `members` resolved: JSON `{"group", "on", "members", "names", "via"}`, `via` mapping
/// each member not directly included to the groups it came in through; a table or CSV
/// adds a `via` column when any member came in through nesting.
pub fn members(
    group: &GroupId,
    on: Date,
    members: &[ResolvedMember],
    names: &BTreeMap<MemberId, String>,
    group_names: &BTreeMap<GroupId, String>,
    format: Format,
) -> String {
    match format {
        Format::Json => {
            let via: serde_json::Map<String, Value> = members
                .iter()
                .filter_map(|m| Some((m.member.to_string(), json!(&**m.via.as_ref()?))))
                .collect();
            let ids: Vec<&MemberId> = members.iter().map(|m| &m.member).collect();
            json_line(&json!({
                "group": group,
                "on": on.to_string(),
                "members": ids,
                "names": names,
                "via": via,
            }))
        }
        _ => {
            // Members that come in the same way share a path: each path's text is made
            // once, not once per row (an umbrella's table has thousands of rows).
            let mut texts: HashMap<&[GroupId], Arc<str>> = HashMap::new();
            for path in members.iter().filter_map(|m| m.via.as_deref()) {
                texts
                    .entry(path)
                    .or_insert_with(|| path_text(path, group_names).into());
            }
            let mut columns = Columns::new()
                .column("member", |m: &ResolvedMember| Cell::id(&m.member))
                .column("name", |m: &ResolvedMember| {
                    Cell::name(names.get(&m.member))
                });
            if !texts.is_empty() {
                columns = columns.column("via", |m: &ResolvedMember| {
                    match m.via.as_deref().and_then(|path| texts.get(path)) {
                        Some(text) => Cell::shared_text(text.clone()),
                        None => Cell::free_text(String::new()),
                    }
                });
            }
            columns.render(members, format)
        }
    }
}

/// `groups` resolved: JSON keeps the shape `groups` always had (`{"member", "on",
/// "groups", "names"}`; `--direct` tells the direct ones); a table or CSV adds a `how`
/// column (`direct` or `nested`) when any group holds the member through nesting.
pub fn groups(
    member: &MemberId,
    on: Date,
    groups: &[GroupIn],
    names: &BTreeMap<GroupId, String>,
    format: Format,
) -> String {
    match format {
        Format::Json => {
            let ids: Vec<&GroupId> = groups.iter().map(|g| &g.group).collect();
            json_line(&json!({
                "member": member,
                "on": on.to_string(),
                "groups": ids,
                "names": names,
            }))
        }
        _ => {
            let mut columns = Columns::new()
                .column("group", |g: &GroupIn| Cell::id(&g.group))
                .column("name", |g: &GroupIn| Cell::name(names.get(&g.group)));
            if groups.iter().any(|g| !g.direct) {
                columns = columns.column("how", |g: &GroupIn| {
                    Cell::word(if g.direct { "direct" } else { "nested" })
                });
            }
            columns.render(groups, format)
        }
    }
}

/// `subgroups`: JSON `{"group", "on", "included", "excluded", "names"}`; a table or CSV
/// lists each subgroup with `included` or `excluded`.
pub fn subgroups(
    group: &GroupId,
    on: Date,
    subgroups: &Subgroups,
    names: &BTreeMap<GroupId, String>,
    format: Format,
) -> String {
    match format {
        Format::Json => json_line(&json!({
            "group": group,
            "on": on.to_string(),
            "included": subgroups.included,
            "excluded": subgroups.excluded,
            "names": names,
        })),
        _ => {
            let rows: Vec<(&GroupId, &str)> = subgroups
                .included
                .iter()
                .map(|g| (g, "included"))
                .chain(subgroups.excluded.iter().map(|g| (g, "excluded")))
                .collect();
            Columns::new()
                .column("subgroup", |r: &(&GroupId, &str)| Cell::id(r.0))
                .column("name", |r: &(&GroupId, &str)| Cell::name(names.get(r.0)))
                .column("state", |r: &(&GroupId, &str)| Cell::word(r.1))
                .render(&rows, format)
        }
    }
}

/// A nesting import's subgroup facts as CSV lists them: the columns of a nesting file.
pub fn subgroup_fact_columns() -> Columns<'static, NestingFact> {
    Columns::new()
        .column("date", |f: &NestingFact| Cell::date(f.date))
        .column("group", |f: &NestingFact| Cell::id(&f.group))
        .column("subgroup", |f: &NestingFact| Cell::id(&f.subgroup))
        .column("change", |f: &NestingFact| {
            Cell::word(f.change.subgroup_str())
        })
}

/// A nesting import's subgroup facts, as a dry run's table lists them (`+` include, `-`
/// end, `x` exclude).
pub fn subgroup_fact_lines(facts: &[NestingFact]) -> String {
    facts
        .iter()
        .map(|fact| {
            format!(
                "{}  {}  {} {} (subgroup)\n",
                fact.date,
                fact.group,
                match fact.change.subgroup_str() {
                    "include" => '+',
                    "exclude" => 'x',
                    _ => '-',
                },
                fact.subgroup
            )
        })
        .collect()
}
