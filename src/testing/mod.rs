//! Test support shared by the integration tests (`tests/it/`) and the cargo-fuzz crate
//! (`fuzz/`), so that both check muster against the same things.
//!
//! Owns: the one naive reference model ([`reference`](mod@reference)), the fuzz target bodies ([`fuzz`]),
//! and the glue between them and a ledger: a model's statements as a [`Batch`]
//! ([`to_batch`]) and the comparison of a ledger's answers with the model's
//! ([`difference`]).
//! Must not: be used by the ledger or the CLI; it is hidden from the docs and is not part
//! of muster's interface.

pub mod fuzz;
pub mod reference;

use std::collections::BTreeSet;

use crate::error::ErrorKind;
use crate::ledger::Ledger;
use crate::log::source::{Source, SourceKind};
use crate::model::Batch;
use crate::model::{Change, Fact, GroupId, MemberId, NestingFact, Observation, ObservationKind};
use crate::query::membership;
use reference::{Direct, Model, Space, Statement};

/// The source the model's batches are imported as.
pub fn source() -> Source {
    Source {
        kind: SourceKind::Observations,
        files: Vec::new(),
        options: Vec::new(),
    }
}

/// `statements`, in `space`, as the batch an import takes (in the same order).
pub fn to_batch(space: &Space, statements: &[Statement]) -> Batch {
    let mut batch = Batch::default();
    for statement in statements {
        match statement {
            Statement::Snapshot {
                group,
                day,
                members,
            } => batch.observations.push(Observation::snapshot(
                space.day(*day),
                space.group(*group),
                members.iter().map(|m| space.member(*m)).collect(),
            )),
            Statement::End { group, day } | Statement::CarryForward { group, day } => {
                let kind = match statement {
                    Statement::End { .. } => ObservationKind::End,
                    _ => ObservationKind::CarryForward,
                };
                batch.observations.push(Observation {
                    date: space.day(*day),
                    group: space.group(*group),
                    members: BTreeSet::new(),
                    kind,
                })
            }
            Statement::Fact {
                group,
                member,
                day,
                join,
            } => batch.facts.push(Fact {
                date: space.day(*day),
                group: space.group(*group),
                member: space.member(*member),
                change: Change::to(*join),
            }),
            Statement::Exclude { group, member, day } => batch.facts.push(Fact {
                date: space.day(*day),
                group: space.group(*group),
                member: space.member(*member),
                change: Change::Exclude,
            }),
            Statement::Nesting {
                group,
                subgroup,
                day,
                state,
            } => batch.nesting.push(NestingFact {
                date: space.day(*day),
                group: space.group(*group),
                subgroup: space.group(*subgroup),
                change: match state {
                    Direct::None => Change::Leave,
                    Direct::Included => Change::Join,
                    Direct::Excluded => Change::Exclude,
                },
                place: None,
            }),
        }
    }
    batch
}

/// The first place where `ledger` answers differently from `model`, both ways round
/// (members of each group and groups of each member, on every day of the model's space),
/// as a sentence; `None` when they agree everywhere. A group or member the ledger does
/// not know must have nobody and nothing in the model.
pub fn difference(ledger: &Ledger, model: &Model) -> Option<String> {
    let space = model.space();
    for g in 0..space.groups {
        for d in 0..space.days {
            if (g + d) % 2 == 0 {
                // Every other question is a process's first (answered from timelines); the
                // rest come from span indexes.
                ledger.drop_caches();
            }
            let got: BTreeSet<MemberId> =
                match membership::members(ledger, &space.group(g), space.day(d), None) {
                    Ok(members) => members.into_iter().collect(),
                    Err(error) if error.kind() == ErrorKind::NotFound => BTreeSet::new(),
                    Err(error) => return Some(format!("members of g{g} on day {d}: {error}")),
                };
            let expected: BTreeSet<MemberId> = model
                .members(g, d)
                .into_iter()
                .map(|m| space.member(m))
                .collect();
            if got != expected {
                return Some(format!(
                    "members of g{g} on day {d}: the ledger says {got:?}, the model {expected:?}"
                ));
            }
        }
    }
    for m in 0..space.members {
        for d in 0..space.days {
            let got: BTreeSet<GroupId> =
                match membership::groups(ledger, &space.member(m), space.day(d), None) {
                    Ok(groups) => groups.into_iter().collect(),
                    Err(error) if error.kind() == ErrorKind::NotFound => BTreeSet::new(),
                    Err(error) => return Some(format!("groups of m{m} on day {d}: {error}")),
                };
            let expected: BTreeSet<GroupId> = model
                .groups(m, d)
                .into_iter()
                .map(|g| space.group(g))
                .collect();
            if got != expected {
                return Some(format!(
                    "groups of m{m} on day {d}: the ledger says {got:?}, the model {expected:?}"
                ));
            }
        }
    }
    None
}

/// Like [`difference`], for nesting and as of commit `as_of` (`model` is the model after
/// that commit): for every group, member and day, the direct members and groups, the
/// resolved members and groups (and which of those are direct), the subgroups included
/// and excluded, and the resolved histories (their spans cover exactly the resolved
/// answers on every day). A group or member the ledger does not know must have nothing in
/// the model.
pub fn nesting_difference(ledger: &Ledger, model: &Model, as_of: Option<u64>) -> Option<String> {
    use crate::query::nesting;
    let space = model.space();
    let ids = |set: BTreeSet<usize>, id: &dyn Fn(usize) -> String| -> BTreeSet<String> {
        set.into_iter().map(id).collect()
    };
    let member_id = |m: usize| space.member(m).as_str().to_string();
    let group_id = |g: usize| space.group(g).as_str().to_string();
    // Resolved history: the spans cover exactly the resolved members on every day.
    let covered = |spans: &[membership::SpanRecord],
                   on: crate::model::Date,
                   key: &dyn Fn(&membership::SpanRecord) -> String|
     -> BTreeSet<String> {
        spans
            .iter()
            .filter(|r| r.span.from <= on && r.span.until.is_none_or(|until| on < until))
            .map(key)
            .collect()
    };
    for g in 0..space.groups {
        let spans =
            match crate::query::resolved_history::group_history(ledger, &space.group(g), as_of) {
                Ok(spans) => spans,
                Err(error) if error.kind() == ErrorKind::NotFound => Vec::new(),
                Err(error) => return Some(format!("resolved history of g{g}: {error}")),
            };
        for d in 0..space.days {
            let got = covered(&spans, space.day(d), &|r| {
                r.span.member.as_str().to_string()
            });
            let expected = ids(model.resolved(g, d), &member_id);
            if got != expected {
                return Some(format!("resolved history of g{g} on day {d} as of {as_of:?}: the ledger says {got:?}, the model {expected:?}"));
            }
        }
    }
    for m in 0..space.members {
        let spans =
            match crate::query::resolved_history::member_history(ledger, &space.member(m), as_of) {
                Ok(spans) => spans,
                Err(error) if error.kind() == ErrorKind::NotFound => Vec::new(),
                Err(error) => return Some(format!("resolved history of m{m}: {error}")),
            };
        for d in 0..space.days {
            let got = covered(&spans, space.day(d), &|r| r.span.group.as_str().to_string());
            let expected = ids(model.resolved_groups(m, d), &group_id);
            if got != expected {
                return Some(format!("resolved history of m{m} on day {d} as of {as_of:?}: the ledger says {got:?}, the model {expected:?}"));
            }
        }
    }
    for d in 0..space.days {
        let on = space.day(d);
        for g in 0..space.groups {
            let group = space.group(g);
            if (d + g) % 2 == 0 {
                // Every other question is a first one (timelines, numbers for the members
                // met); the rest are asked again (span indexes, the ledger's numbers).
                ledger.drop_caches();
            }
            // Resolved members are asked first: after the caches are dropped, the groups
            // below are read from their blocks for this date alone.
            let checks: [Check; 4] = [
                (
                    "resolved members",
                    nesting::members_resolved(ledger, &group, on, as_of)
                        .map(|list| list.iter().map(|m| m.as_str().to_string()).collect()),
                    ids(model.resolved(g, d), &member_id),
                ),
                (
                    "direct members",
                    membership::members(ledger, &group, on, as_of)
                        .map(|list| list.iter().map(|m| m.as_str().to_string()).collect()),
                    ids(model.members(g, d), &member_id),
                ),
                (
                    "included subgroups",
                    nesting::subgroups(ledger, &group, on, as_of)
                        .map(|s| s.included.iter().map(|g| g.as_str().to_string()).collect()),
                    ids(model.subgroups(g, d, Direct::Included), &group_id),
                ),
                (
                    "excluded subgroups",
                    nesting::subgroups(ledger, &group, on, as_of)
                        .map(|s| s.excluded.iter().map(|g| g.as_str().to_string()).collect()),
                    ids(model.subgroups(g, d, Direct::Excluded), &group_id),
                ),
            ];
            if let Some(mismatch) = first_mismatch(checks, &format!("of g{g} on day {d}"), as_of) {
                return Some(mismatch);
            }
            if (d + g) % 2 == 1 {
                // The paths of the other half are a process's first question.
                ledger.drop_caches();
            }
            // The members with their paths in one pass, as a table shows them.
            let mut expected: Vec<(String, Option<Vec<String>>)> = model
                .resolved(g, d)
                .into_iter()
                .map(|m| {
                    let path = model.via(g, m, d);
                    (
                        member_id(m),
                        path.map(|path| path.into_iter().map(&group_id).collect()),
                    )
                })
                .collect();
            // In id order, as the ledger answers.
            expected.sort();
            let got = nesting::Resolver::new(ledger, on, as_of)
                .members_with_paths(&group)
                .map(|rows| {
                    rows.into_iter()
                        .map(|(member, path)| {
                            let path =
                                path.map(|path| path.iter().map(|h| h.to_string()).collect());
                            (member.to_string(), path)
                        })
                        .collect::<Vec<_>>()
                });
            match got {
                // Unknown groups are refused; the model then has nobody in them.
                Err(error) if error.kind() == ErrorKind::NotFound && expected.is_empty() => {}
                Err(error) => return Some(format!("members with paths of g{g}: {error}")),
                Ok(got) if got != expected => {
                    return Some(format!(
                        "members with paths of g{g} on day {d} as of {as_of:?}: the ledger \
                         says {got:?}, the model {expected:?}"
                    ))
                }
                Ok(_) => {}
            }
            let mut resolver = nesting::Resolver::new(ledger, on, as_of);
            for m in model.resolved(g, d) {
                let got = match resolver.via(&group, &space.member(m)) {
                    Ok(path) => path.map(|path| path.iter().map(|h| h.to_string()).collect()),
                    Err(error) => return Some(format!("path of m{m} into g{g}: {error}")),
                };
                let expected: Option<Vec<String>> = model
                    .via(g, m, d)
                    .map(|path| path.into_iter().map(&group_id).collect());
                if got != expected {
                    return Some(format!(
                        "path of m{m} into g{g} on day {d} as of {as_of:?}: the ledger says \
                         {got:?}, the model {expected:?}"
                    ));
                }
            }
        }
        for m in 0..space.members {
            let member = space.member(m);
            let resolved = nesting::groups_resolved(ledger, &member, on, as_of);
            let checks: [Check; 3] = [
                (
                    "direct groups",
                    membership::groups(ledger, &member, on, as_of)
                        .map(|list| list.iter().map(|g| g.as_str().to_string()).collect()),
                    ids(model.groups(m, d), &group_id),
                ),
                (
                    "resolved groups",
                    resolved
                        .as_ref()
                        .map_err(Clone::clone)
                        .map(|list| list.iter().map(|g| g.group.as_str().to_string()).collect()),
                    ids(model.resolved_groups(m, d), &group_id),
                ),
                (
                    "resolved groups marked direct",
                    resolved.as_ref().map_err(Clone::clone).map(|list| {
                        list.iter()
                            .filter(|g| g.direct)
                            .map(|g| g.group.as_str().to_string())
                            .collect()
                    }),
                    ids(model.groups(m, d), &group_id),
                ),
            ];
            if let Some(mismatch) = first_mismatch(checks, &format!("of m{m} on day {d}"), as_of) {
                return Some(mismatch);
            }
        }
    }
    None
}

/// One question asked of the ledger: what, its answer, and the model's.
type Check<'a> = (&'a str, crate::error::Result<Vec<String>>, BTreeSet<String>);

/// The first check whose answer differs from the model's (an unknown id answers
/// nothing), as a sentence.
fn first_mismatch(
    checks: impl IntoIterator<Item = Check<'static>>,
    subject: &str,
    as_of: Option<u64>,
) -> Option<String> {
    for (what, got, expected) in checks {
        let what = format!("{what} {subject} as of {as_of:?}");
        let got: BTreeSet<String> = match got {
            Ok(list) => list.into_iter().collect(),
            Err(error) if error.kind() == ErrorKind::NotFound => BTreeSet::new(),
            Err(error) => return Some(format!("{what}: {error}")),
        };
        if got != expected {
            return Some(format!(
                "{what}: the ledger says {got:?}, the model {expected:?}"
            ));
        }
    }
    None
}
