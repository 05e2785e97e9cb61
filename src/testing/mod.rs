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
use crate::model::{Change, Fact, GroupId, MemberId, Observation, ObservationKind};
use crate::query::membership;
use reference::{Model, Space, Statement};

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
