//! The ledger's part in importing subgroup facts: handing the plan every group below the
//! groups a batch nests, and refusing a batch that would make a cycle.
//!
//! Owns: loading those states, and turning a [`crate::plan::nesting::Cycle`] into the
//! input error that names the file, the line and the cycle.
//! Must not: decide what is recorded (that is `plan::nesting`) or write anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::{Batch, GroupId};
use crate::plan::nesting::{describe, find_cycle, groups_below};
use crate::projection::GroupState;

impl Ledger {
    /// Adds to `working` the state of every group below a group the batch's subgroup
    /// facts name (on any date), so that the cycle check sees every path.
    pub(super) fn hold_groups_below(
        &self,
        batch: &Batch,
        working: &mut BTreeMap<GroupId, Arc<GroupState>>,
    ) -> Result<()> {
        if batch.nesting.is_empty() {
            return Ok(());
        }
        let below = groups_below(batch, |group| {
            Ok(self
                .group(group)?
                .map(|state| state.subgroups.keys().cloned().collect())
                .unwrap_or_default())
        })?;
        for group in below {
            if let std::collections::btree_map::Entry::Vacant(slot) = working.entry(group) {
                let state = self.group(slot.key())?.unwrap_or_default();
                slot.insert(state);
            }
        }
        Ok(())
    }
}

/// Refuses (as bad input, naming the fact's file and line) a batch whose planned states
/// hold a cycle.
pub(super) fn refuse_cycle(
    working: &BTreeMap<GroupId, Arc<GroupState>>,
    batch: &Batch,
) -> Result<()> {
    let Some(cycle) = find_cycle(working, batch) else {
        return Ok(());
    };
    let detail = format!(
        "{} {} {} on {} would make a cycle: {} (a group cannot contain itself, directly or \
         through other groups, on any date); nothing was written",
        cycle.fact.group,
        cycle.fact.change.subgroup_str(),
        cycle.fact.subgroup,
        cycle.date,
        describe(&cycle.path)
    );
    Err(match &cycle.fact.place {
        Some(place) => Error::input(place.clone(), detail),
        None => Error::new(ErrorKind::Input, detail),
    })
}

/// The subgroup facts `records` hold, as an import reports them: sorted by date, group,
/// subgroup.
pub(super) fn recorded_subgroup_facts(
    records: &[crate::log::commit::GroupRecord],
) -> Vec<crate::model::NestingFact> {
    let mut facts: Vec<crate::model::NestingFact> = records
        .iter()
        .flat_map(|record| {
            record
                .subgroups
                .iter()
                .map(|fact| crate::model::NestingFact {
                    date: fact.date,
                    group: record.group.clone(),
                    subgroup: fact.subgroup.clone(),
                    change: fact.change,
                    place: None,
                })
        })
        .collect();
    facts.sort_by(|a, b| (a.date, &a.group, &a.subgroup).cmp(&(b.date, &b.group, &b.subgroup)));
    facts
}
