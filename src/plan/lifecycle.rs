//! The SB lifecycle rule: when an activity that stopped meeting has ended, and when a
//! late export takes an end back.
//!
//! Owns: [`END_AFTER_DAYS`], [`GroupDates`], [`lifecycle_observations`] and [`sb_batch`]
//! (an export's snapshots plus the lifecycle observations, from the SB groups' states the
//! caller hands over).
//! Must not: read files or the ledger; it decides from what it is handed.
//!
//! # The rule
//!
//! SB never says "this activity has stopped": it simply stops exporting occurrences of
//! it. Left alone, the last session's pupils would stay members for ever. So at every SB
//! import, over every group SB has ever recorded plus every group in the export:
//!
//! - `occurrences(G)` = G's observed dates in the ledger minus its end dates, plus G's
//!   occurrence dates in this export; `L` = the latest of them.
//! - the horizon `H` = the latest occurrence of any SB group (ledger and export).
//! - when `H >= L + END_AFTER_DAYS`, G has ended: its end is `E = L + 1 day` (members stay
//!   members through their last session day), recorded as an `End` observation.
//! - every end G already has that is not `E` is taken back with a `CarryForward`
//!   observation (members on that day := members the day before), for example when a late
//!   week shows the group met after it.
//!
//! Why: the desired end depends only on the set of occurrences ever imported, never on the
//! order they arrived in, so importing a week late gives the same memberships as importing
//! in order; and a re-run computes the same end and records nothing. An end never lies
//! after `L` of a later import (occurrences only accumulate), so the days a carry-forward
//! leaves observed are never later than `L` and never move `L` or `H`.

use std::collections::{BTreeMap, BTreeSet};

use crate::log::source::SourceKind;
use crate::model::{Batch, Date, GroupId, MemberId, Observation, ObservationKind};
use crate::projection::GroupState;

/// A group absent for this many days after its last session, while other SB groups met,
/// has ended. Fourteen: a weekly group that misses two consecutive weeks' worth of days
/// has stopped, and a one-week half-term (when nobody meets, so the horizon does not move)
/// does not end anything.
pub const END_AFTER_DAYS: i64 = 14;

/// One SB group's dates, as the lifecycle rule sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDates {
    /// Dates the group met (ledger and export).
    pub occurrences: BTreeSet<Date>,
    /// The ends the ledger currently holds.
    pub ended: BTreeSet<Date>,
}

/// The `End` and `CarryForward` observations the lifecycle rule (see the module comment)
/// asks for. Pure: the same dates give the same observations.
pub fn lifecycle_observations(groups: &BTreeMap<GroupId, GroupDates>) -> Vec<Observation> {
    let horizon = groups
        .values()
        .filter_map(|dates| dates.occurrences.last())
        .max()
        .copied();
    let mut observations = Vec::new();
    for (group, dates) in groups {
        let desired = match (dates.occurrences.last(), horizon) {
            (Some(&last), Some(horizon))
                if last
                    .add_days(END_AFTER_DAYS)
                    .is_some_and(|limit| horizon >= limit) =>
            {
                last.add_days(1)
            }
            _ => None,
        };
        for &old in &dates.ended {
            if Some(old) != desired {
                observations.push(lifecycle(old, group, ObservationKind::CarryForward));
            }
        }
        if let Some(end) = desired.filter(|end| !dates.ended.contains(end)) {
            observations.push(lifecycle(end, group, ObservationKind::End));
        }
    }
    observations
}

fn lifecycle(date: Date, group: &GroupId, kind: ObservationKind) -> Observation {
    Observation {
        date,
        group: group.clone(),
        members: BTreeSet::new(),
        kind,
    }
}

/// The batch an SB export asks for: one snapshot per occurrence (`occurrences`, each
/// (group, date) with its members sorted), and the lifecycle observations over every SB
/// group. `known` holds the ledger's groups with their states; groups no SB import
/// recorded are passed over.
pub fn sb_batch<'a>(
    known: impl IntoIterator<Item = (GroupId, &'a GroupState)>,
    occurrences: &[((GroupId, Date), Vec<MemberId>)],
) -> Batch {
    let mut groups: BTreeMap<GroupId, GroupDates> = BTreeMap::new();
    for (group, state) in known {
        if !state.sources.contains(&SourceKind::SchoolBase) {
            continue;
        }
        let ended: BTreeSet<Date> = state.ended.iter().copied().collect();
        let occurrences = state
            .observed
            .iter()
            .copied()
            .filter(|date| !ended.contains(date))
            .collect();
        groups.insert(group, GroupDates { occurrences, ended });
    }
    for ((group, date), _) in occurrences {
        groups
            .entry(group.clone())
            .or_default()
            .occurrences
            .insert(*date);
    }
    let mut observations: Vec<Observation> = occurrences
        .iter()
        .map(|((group, date), members)| {
            // `members` is sorted: the set is built in one pass, not by searching.
            Observation::snapshot(*date, group.clone(), members.iter().cloned().collect())
        })
        .collect();
    observations.extend(lifecycle_observations(&groups));
    Batch {
        observations,
        facts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).expect("a test date")
    }

    fn dates(list: &[&str]) -> BTreeSet<Date> {
        list.iter().map(|d| date(d)).collect()
    }

    fn kinds(observations: &[Observation]) -> Vec<(String, String, ObservationKind)> {
        observations
            .iter()
            .map(|o| (o.group.to_string(), o.date.to_string(), o.kind))
            .collect()
    }

    #[test]
    fn a_group_ends_the_day_after_its_last_session_once_others_met_fourteen_days_later() {
        let check = |horizon: &str, expected_end: Option<&str>| {
            let mut groups = BTreeMap::new();
            groups.insert(
                GroupId::new("a").unwrap(),
                GroupDates {
                    occurrences: dates(&["2015-11-02", "2015-11-09"]),
                    ended: BTreeSet::new(),
                },
            );
            groups.insert(
                GroupId::new("b").unwrap(),
                GroupDates {
                    occurrences: dates(&["2015-11-09", horizon]),
                    ended: BTreeSet::new(),
                },
            );
            let got = kinds(&lifecycle_observations(&groups));
            let expected: Vec<_> = expected_end
                .map(|end| ("a".to_string(), end.to_string(), ObservationKind::End))
                .into_iter()
                .collect();
            assert_eq!(got, expected, "horizon {horizon}");
        };
        check("2015-11-22", None); // 13 days after: still running
        check("2015-11-23", Some("2015-11-10")); // 14 days after: ended
        check("2015-12-07", Some("2015-11-10"));
    }

    #[test]
    fn an_end_that_a_later_session_contradicts_is_taken_back() {
        let mut groups = BTreeMap::new();
        groups.insert(
            GroupId::new("a").unwrap(),
            GroupDates {
                occurrences: dates(&["2015-11-02", "2015-11-16"]),
                ended: dates(&["2015-11-03"]),
            },
        );
        groups.insert(
            GroupId::new("b").unwrap(),
            GroupDates {
                occurrences: dates(&["2015-11-23"]),
                ended: BTreeSet::new(),
            },
        );
        assert_eq!(
            kinds(&lifecycle_observations(&groups)),
            vec![(
                "a".to_string(),
                "2015-11-03".to_string(),
                ObservationKind::CarryForward
            )]
        );
        // An end already where it belongs asks for nothing.
        groups.get_mut(&GroupId::new("a").unwrap()).unwrap().ended = dates(&["2015-11-17"]);
        groups
            .get_mut(&GroupId::new("b").unwrap())
            .unwrap()
            .occurrences = dates(&["2015-11-30"]);
        assert_eq!(kinds(&lifecycle_observations(&groups)), vec![]);
    }
}
