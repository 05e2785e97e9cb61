//! The nesting answers: `members` and `groups` resolved (the default), and the
//! `subgroups` command.
//!
//! Owns: turning resolved answers into the text to print, and running `subgroups`.
//! Must not: resolve anything itself (that is `query::nesting`), or print except through
//! [`Output`].

use std::io::Write;

use muster::error::Result;
use muster::query::find;
use muster::query::nesting::{self, Resolver};
use muster::{Date, GroupId, Ledger, MemberId};

use super::{as_of, date, group, open_to_ask, Run, Status};
use crate::cli::args::{Cli, Format};
use crate::cli::output::Output;
use crate::cli::render::{self, nesting::ResolvedMember};

/// `members G --on D` resolved: each member not directly included with its path.
pub(super) fn members(
    ledger: &Ledger,
    g: &GroupId,
    on: Date,
    as_of: Option<u64>,
    format: Format,
) -> Result<String> {
    let mut resolver = Resolver::new(ledger, on, as_of);
    let answer: Vec<ResolvedMember> = resolver
        .members_with_paths(g)?
        .into_iter()
        .map(|(member, via)| ResolvedMember { member, via })
        .collect();
    // The groups on the members' paths: each shared path looked at once (an umbrella's
    // thousands of members come in through a few dozen).
    let mut seen_paths = std::collections::HashSet::new();
    let mut path_groups = std::collections::BTreeSet::new();
    for path in answer.iter().filter_map(|m| m.via.as_ref()) {
        if seen_paths.insert(path.as_ptr()) {
            path_groups.extend(path.iter());
        }
    }
    let names = ledger.member_names(answer.iter().map(|m| &m.member))?;
    let group_names = ledger.group_names(path_groups)?;
    Ok(render::nesting::members(
        g,
        on,
        &answer,
        &names,
        &group_names,
        format,
    ))
}

/// `groups M --on D` resolved: every group M is in, directly or through nesting.
pub(super) fn groups(
    ledger: &Ledger,
    m: &MemberId,
    on: Date,
    as_of: Option<u64>,
    format: Format,
) -> Result<String> {
    let groups = nesting::groups_resolved(ledger, m, on, as_of)?;
    let names = ledger.group_names(groups.iter().map(|g| &g.group))?;
    Ok(render::nesting::groups(m, on, &groups, &names, format))
}

/// `subgroups G --on D`.
pub(super) fn subgroups(
    cli: &Cli,
    g: &str,
    on: &str,
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let (g, on) = (group(g)?, date(on)?);
    let ledger = open_to_ask(cli, as_of_text)?;
    find::require_group(&ledger, &g)?;
    let subgroups = nesting::subgroups(&ledger, &g, on, as_of(&ledger, as_of_text)?)?;
    let names = ledger.group_names(subgroups.included.iter().chain(&subgroups.excluded))?;
    out.print(&render::nesting::subgroups(
        &g, on, &subgroups, &names, format,
    ));
    Ok(Status::Done)
}
