//! The demo's step on nesting: an umbrella group (`clubs`) over some activities, one pupil excluded
//! from it, and the resolved answers.
//!
//! Owns: that step's imports (into the demo's own ledger) and text.
//! Must not: print, or touch any ledger but the demo's.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use muster::error::Result;
use muster::ledger::Ledger;
use muster::log::source::{Source, SourceKind};
use muster::model::{Batch, Change, Date, Fact, GroupId, NestingFact};
use muster::query::{membership, nesting};

use super::{count, group_label, member_label};

/// How many activities the umbrella holds.
const UMBRELLA_ACTIVITIES: usize = 3;

fn source(kind: SourceKind) -> Source {
    Source {
        kind,
        files: Vec::new(),
        options: Vec::new(),
    }
}

/// Puts the largest activities on `day` under an umbrella group `clubs`, excludes one of
/// their pupils from it, and says what `members`, `groups` and `subgroups` answer.
pub(super) fn umbrella(ledger: &mut Ledger, day: Date, out: &mut String) -> Result<()> {
    let mut sized = Vec::new();
    for group in ledger.group_ids()? {
        let members = membership::members(ledger, &group, day, None)?;
        if !members.is_empty() {
            sized.push((std::cmp::Reverse(members.len()), group, members));
        }
    }
    sized.sort();
    sized.truncate(UMBRELLA_ACTIVITIES);
    let Some((_, first, first_members)) = sized.first().cloned() else {
        return Ok(());
    };
    // A short plain id is always valid.
    let umbrella = GroupId::new("clubs").expect("a valid id");
    let nesting_batch = Batch {
        nesting: sized
            .iter()
            .map(|(_, group, _)| NestingFact {
                date: day,
                group: umbrella.clone(),
                subgroup: group.clone(),
                change: Change::Join,
                place: None,
            })
            .collect(),
        ..Batch::default()
    };
    let included = ledger.import(&nesting_batch, source(SourceKind::Nesting), false)?;
    // A pupil with a name, so that the answers read well.
    let named = ledger.member_names(first_members.iter())?;
    let pupil = first_members
        .iter()
        .find(|member| named.contains_key(*member))
        .unwrap_or(&first_members[0])
        .clone();
    let exclusion = Batch {
        facts: vec![Fact {
            date: day,
            group: umbrella.clone(),
            member: pupil.clone(),
            change: Change::Exclude,
        }],
        ..Batch::default()
    };
    ledger.import(&exclusion, source(SourceKind::Facts), false)?;

    let mut labels = Vec::new();
    for (_, group, _) in &sized {
        labels.push(group_label(ledger, group)?);
    }
    let listed: BTreeSet<_> = sized
        .iter()
        .flat_map(|(_, _, m)| m.iter().cloned())
        .collect();
    let mut resolver = nesting::Resolver::new(ledger, day, None);
    let members = resolver.members(&umbrella)?;
    let names = ledger.member_names([&pupil])?;
    let pupil_label = member_label(&names, &pupil);
    let _ =
        writeln!(
        out,
        "\n9. Groups inside groups  (muster import nesting FILE: date,group,subgroup,change): an \
         umbrella group `clubs` includes {} from {day} ({}), and {pupil_label} is excluded \
         from it  (muster import facts: {day},clubs,{pupil},exclude).",
        labels.join(", "),
        count(included.subgroup_facts.len(), "subgroup fact", "subgroup facts"),
    );
    let _ = writeln!(
        out,
        "   muster members clubs --on {day}: {} (the activities hold {} pupils between them; \
         one in two activities counts once; the excluded pupil is left out, though {} holds \
         them).",
        count(members.len(), "member", "members"),
        listed.len(),
        group_label(ledger, &first)?,
    );
    if let Some(someone) = members.first() {
        let via = resolver.via(&umbrella, someone)?.unwrap_or_default();
        let mut path = vec!["clubs".to_string()];
        for group in &via {
            path.push(group_label(ledger, group)?);
        }
        let _ = writeln!(
            out,
            "   Each is shown with the way in, e.g. {someone}: {}; `--direct` gives only the \
             members included directly (none here).",
            path.join(" > ")
        );
    }
    let groups = nesting::groups_resolved(ledger, &pupil, day, None)?;
    let _ = writeln!(
        out,
        "   muster groups {pupil} --on {day}: {} ({}), not clubs.",
        count(groups.len(), "group", "groups"),
        groups
            .iter()
            .map(|g| g.group.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
