//! Finding your way in a ledger: listing its groups and members with their names, filtered
//! by a date and by a fragment of a name or id, and the near matches an unknown id
//! suggests ("no group Choir (L10) in the ledger; did you mean 34004 Choir (L10)?").
//!
//! Owns: [`Listed`], [`Filter`], [`list_groups`], [`list_members`], [`require_group`],
//! [`require_member`] and the ranking of suggestions.
//! Must not: write anything or format output; the binary renders what these return. The
//! refusal for an unknown id stays a `NotFound` error (exit 3): suggestions only add words.

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::{Date, GroupId, MemberId};
use crate::query::membership;

/// Most near matches one refusal names.
pub const MAX_SUGGESTIONS: usize = 5;

/// A group or member as a listing shows it: its id and its name, when one is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed<Id> {
    pub id: Id,
    pub name: Option<String>,
}

/// Which groups or members a listing keeps.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only those with a membership on this date (a group with a member, a member in a
    /// group), as the ledger stood after commit `as_of`.
    pub on: Option<Date>,
    /// Only those whose name or id contains this text, ignoring case.
    pub name: Option<String>,
    pub as_of: Option<u64>,
}

impl Filter {
    fn matches(&self, id: &str, name: Option<&str>) -> bool {
        let Some(fragment) = &self.name else {
            return true;
        };
        let fragment = fragment.to_lowercase();
        id.to_lowercase().contains(&fragment)
            || name.is_some_and(|name| name.to_lowercase().contains(&fragment))
    }
}

/// The groups the ledger knows, sorted by id, with their names, as `filter` keeps them.
pub fn list_groups(ledger: &Ledger, filter: &Filter) -> Result<Vec<Listed<GroupId>>> {
    let names = ledger.group_names(&ledger.group_ids()?)?;
    let mut listed = Vec::new();
    for group in ledger.group_ids()? {
        let name = names.get(&group).cloned();
        if !filter.matches(group.as_str(), name.as_deref()) {
            continue;
        }
        if let Some(on) = filter.on {
            if membership::members(ledger, &group, on, filter.as_of)?.is_empty() {
                continue;
            }
        }
        listed.push(Listed { id: group, name });
    }
    Ok(listed)
}

/// The members the ledger knows, sorted by id, with their names, as `filter` keeps them.
pub fn list_members(ledger: &Ledger, filter: &Filter) -> Result<Vec<Listed<MemberId>>> {
    let names = ledger.member_names(&ledger.member_ids()?)?;
    let ids: Vec<MemberId> = match filter.on {
        // The members of each group on that date: a few hundred groups are read, not
        // every member's state.
        Some(on) => {
            let mut present = BTreeSet::new();
            for group in ledger.group_ids()? {
                present.extend(membership::members(ledger, &group, on, filter.as_of)?);
            }
            present.into_iter().collect()
        }
        None => ledger.member_ids()?,
    };
    Ok(ids
        .into_iter()
        .filter_map(|member| {
            let name = names.get(&member).cloned();
            filter
                .matches(member.as_str(), name.as_deref())
                .then_some(Listed { id: member, name })
        })
        .collect())
}

/// `Ok` when the ledger knows `group`; otherwise a `NotFound` error that names the groups
/// whose id or name is close to what was asked.
pub fn require_group(ledger: &Ledger, group: &GroupId) -> Result<()> {
    if ledger.knows_group(group)? {
        return Ok(());
    }
    let names = ledger.group_names(&ledger.group_ids()?)?;
    let candidates = ledger
        .group_ids()?
        .into_iter()
        .map(|id| {
            let name = names.get(&id).cloned();
            (id.to_string(), name)
        })
        .collect::<Vec<_>>();
    Err(not_found("group", group.as_str(), &candidates))
}

/// `Ok` when the ledger knows `member`; otherwise a `NotFound` error that names the members
/// whose id or name is close to what was asked.
pub fn require_member(ledger: &Ledger, member: &MemberId) -> Result<()> {
    if ledger.member(member)?.is_some() {
        return Ok(());
    }
    let names = ledger.member_names(&ledger.member_ids()?)?;
    let candidates = ledger
        .member_ids()?
        .into_iter()
        .map(|id| {
            let name = names.get(&id).cloned();
            (id.to_string(), name)
        })
        .collect::<Vec<_>>();
    Err(not_found("member", member.as_str(), &candidates))
}

fn not_found(kind: &str, asked: &str, candidates: &[(String, Option<String>)]) -> Error {
    let near = suggestions(asked, candidates);
    let mut message = format!("no {kind} {asked} in the ledger");
    if !near.is_empty() {
        let shown: Vec<String> = near
            .iter()
            .map(|(id, name)| match name {
                Some(name) => format!("{id} {name}"),
                None => id.clone(),
            })
            .collect();
        message.push_str("; did you mean ");
        message.push_str(&join_with_or(&shown));
        message.push('?');
    }
    Error::new(ErrorKind::NotFound, message)
}

fn join_with_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The candidates closest to `asked`, best first, at most [`MAX_SUGGESTIONS`]: a name
/// equal to it (ignoring case) first, then ids a few typing slips away, then names and ids
/// that contain it or that it contains.
pub fn suggestions(
    asked: &str,
    candidates: &[(String, Option<String>)],
) -> Vec<(String, Option<String>)> {
    let asked_lower = asked.trim().to_lowercase();
    if asked_lower.is_empty() {
        return Vec::new();
    }
    // A slip of one character in three, at least one.
    let allowed = (asked_lower.chars().count() / 3).max(1);
    let mut ranked: Vec<(usize, &(String, Option<String>))> = candidates
        .iter()
        .filter_map(|candidate| {
            let (id, name) = candidate;
            let id_lower = id.to_lowercase();
            let name_lower = name.as_deref().map(str::to_lowercase);
            let score = if name_lower.as_deref() == Some(asked_lower.as_str()) {
                0
            } else {
                let distance = edit_distance(&asked_lower, &id_lower);
                let name_distance = name_lower
                    .as_deref()
                    .map_or(usize::MAX, |name| edit_distance(&asked_lower, name));
                let closest = distance.min(name_distance);
                if closest <= allowed {
                    1 + closest
                } else if id_lower.contains(&asked_lower)
                    || asked_lower.contains(&id_lower)
                    || name_lower.as_deref().is_some_and(|name| {
                        name.contains(&asked_lower) || asked_lower.contains(name)
                    })
                {
                    allowed + 2
                } else {
                    return None;
                }
            };
            Some((score, candidate))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1 .0.cmp(&b.1 .0)));
    ranked
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, candidate)| candidate.clone())
        .collect()
}

/// Edit distance over characters, a swap of two neighbours counting as one slip (optimal
/// string alignment): "34040" is one slip from "34004".
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates() -> Vec<(String, Option<String>)> {
        vec![
            ("34004".into(), Some("Choir (L10)".into())),
            ("34011".into(), Some("Choir (L10)".into())),
            ("34340".into(), Some("Chess Club (M8)".into())),
            ("chess".into(), None),
        ]
    }

    #[test]
    fn a_name_given_for_an_id_suggests_every_group_of_that_name() {
        let near = suggestions("choir (l10)", &candidates());
        let ids: Vec<&str> = near.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["34004", "34011"]);
    }

    #[test]
    fn a_typing_slip_in_an_id_suggests_the_id() {
        let near = suggestions("chss", &candidates());
        assert_eq!(near.first().map(|(id, _)| id.as_str()), Some("chess"));
        // Two digits swapped is one slip.
        let near = suggestions("34040", &candidates());
        assert_eq!(near.first().map(|(id, _)| id.as_str()), Some("34004"));
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert!(suggestions("zzzzzzzz", &candidates()).is_empty());
        assert!(suggestions("", &candidates()).is_empty());
    }

    #[test]
    fn edit_distance_counts_slips() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("34004", "34040"), 1);
    }
}
