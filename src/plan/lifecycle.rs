//! The SB lifecycle rule: when an activity that stopped meeting has ended, and when a
//! late export takes an end back.
//!
//! Owns: [`END_AFTER_DAYS`], [`GroupDates`], [`lifecycle_observations`], [`sb_batch`]
//! (an export's snapshots plus the lifecycle observations, from the SB groups' states the
//! caller hands over) and [`lifecycle_batch`] (the lifecycle observations alone, for an
//! import that plans the snapshots from the export's lists).
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
//! - time is counted in *school time*: the calendar with every week in which the school
//!   did not meet taken out. A week (Sunday to Saturday) counts when some SB group met in
//!   it on a day from Monday to Saturday; `school_days(L, H)` = 7 × the counted weeks from
//!   `L`'s week up to (not including) `H`'s week, plus `H`'s weekday minus `L`'s.
//! - when `school_days(L, H) >= END_AFTER_DAYS`, G has ended: its end is `E = L + 1 day`
//!   (members stay members through their last session day), recorded as an `End`
//!   observation.
//! - every end G already has that is not `E` is taken back with a `CarryForward`
//!   observation (members on that day := members the day before), for example when a late
//!   week shows the group met after it.
//!
//! Why: the desired end depends only on the set of occurrences ever imported, never on the
//! order they arrived in, so importing a week late gives the same memberships as importing
//! in order; and a re-run computes the same end and records nothing. An end never lies
//! after `L` of a later import (occurrences only accumulate), so the days a carry-forward
//! leaves observed are never later than `L` and never move `L` or `H`; and such a day that
//! falls in a week of its own is the Sunday after a Saturday session (`E = L + 1`), which
//! never makes a week count, so it does not change school time either.
//!
//! Why school time: in calendar days, one cancelled session right after a half-term week
//! (nobody meets for 7 days, then the others meet on) would end the group 18 days after
//! its last session. Weeks when nobody met are not weeks a group missed, so a half-term or
//! a holiday of any length ends nothing; in a term without holidays school time is the
//! calendar, and the rule is the plain 14 days.

use std::collections::{BTreeMap, BTreeSet};

use crate::log::source::SourceKind;
use crate::model::{Batch, Date, GroupId, Observation, ObservationKind};
use crate::plan::Snapshots;
use crate::projection::GroupState;

/// A group absent for this many school days after its last session (days of weeks in
/// which the school met; see the module comment), while other SB groups met, has ended.
/// Fourteen: a weekly group that misses two consecutive school weeks' worth of days has
/// stopped; weeks when nobody met (a half-term, a holiday) do not count at all.
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
    let school = SchoolWeeks::new(groups.values().flat_map(|dates| &dates.occurrences));
    let mut observations = Vec::new();
    for (group, dates) in groups {
        let desired = match (dates.occurrences.last(), horizon) {
            (Some(&last), Some(horizon))
                if school
                    .days_between(last, horizon)
                    .is_some_and(|days| days >= END_AFTER_DAYS) =>
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

/// The weeks in which the school met: each week's Sunday, for every week in which some SB
/// group met on a day from Monday to Saturday.
struct SchoolWeeks {
    sundays: Vec<Date>,
}

impl SchoolWeeks {
    fn new<'a>(occurrences: impl Iterator<Item = &'a Date>) -> SchoolWeeks {
        let mut sundays: Vec<Date> = occurrences
            .filter_map(|&date| {
                let sunday = date.sunday_on_or_before()?;
                (sunday != date).then_some(sunday)
            })
            .collect();
        sundays.sort_unstable();
        sundays.dedup();
        SchoolWeeks { sundays }
    }

    /// School days from `from` to `to` (`from <= to`): 7 per counted week from `from`'s
    /// week up to `to`'s, plus the difference of their weekdays. `None` only for a date
    /// whose week begins before the first supported date.
    fn days_between(&self, from: Date, to: Date) -> Option<i64> {
        let (from_sunday, to_sunday) = (from.sunday_on_or_before()?, to.sunday_on_or_before()?);
        let counted = self.sundays.partition_point(|&sunday| sunday < to_sunday)
            - self.sundays.partition_point(|&sunday| sunday < from_sunday);
        let weekday = |date: Date, sunday: Date| {
            i64::from(date.days_from_ce()) - i64::from(sunday.days_from_ce())
        };
        Some(7 * counted as i64 + weekday(to, to_sunday) - weekday(from, from_sunday))
    }
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
    occurrences: Snapshots<'_>,
) -> Batch {
    let lifecycle = lifecycle_batch(known, occurrences);
    let mut observations: Vec<Observation> = occurrences
        .lists
        .iter()
        .map(|((group, date), members)| {
            let members = occurrences.members(members).cloned().collect();
            Observation::snapshot(*date, group.clone(), members)
        })
        .collect();
    observations.extend(lifecycle.observations);
    Batch {
        observations,
        facts: Vec::new(),
        nesting: Vec::new(),
    }
}

/// The lifecycle observations of [`sb_batch`] without the snapshots: what an import adds
/// to the export's own lists (`plan::plan_with_snapshots`), which are never copied into
/// sets.
pub fn lifecycle_batch<'a>(
    known: impl IntoIterator<Item = (GroupId, &'a GroupState)>,
    occurrences: Snapshots<'_>,
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
    for ((group, date), _) in occurrences.lists {
        groups
            .entry(group.clone())
            .or_default()
            .occurrences
            .insert(*date);
    }
    Batch {
        observations: lifecycle_observations(&groups),
        facts: Vec::new(),
        nesting: Vec::new(),
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

    /// Groups `a` and `b` with these occurrence dates and ends.
    fn two_groups(a: (&[&str], &[&str]), b: (&[&str], &[&str])) -> BTreeMap<GroupId, GroupDates> {
        [("a", a), ("b", b)]
            .into_iter()
            .map(|(id, (occurrences, ended))| {
                let dates_of = GroupDates {
                    occurrences: dates(occurrences),
                    ended: dates(ended),
                };
                (GroupId::new(id).expect("a short plain id"), dates_of)
            })
            .collect()
    }

    #[test]
    fn a_group_ends_the_day_after_its_last_session_once_others_met_fourteen_days_later() {
        let check = |horizon: &str, expected_end: Option<&str>| {
            let groups = two_groups(
                (&["2015-11-02", "2015-11-09"], &[]),
                (&["2015-11-09", "2015-11-16", horizon], &[]),
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

    /// Docs/sb.md promises that a half-term ends nothing: one cancelled session right after
    /// a week when nobody met is one missed week, not an end.
    #[test]
    fn a_week_when_nobody_met_is_not_counted() {
        let groups = |b: &[&str]| {
            // Mondays: 2 and 9 November, then half-term (16 to 20 November), then the
            // session of Monday 23 November is cancelled.
            let groups = two_groups((&["2015-11-02", "2015-11-09"], &[]), (b, &[]));
            kinds(&lifecycle_observations(&groups))
        };
        let end = vec![(
            "a".to_string(),
            "2015-11-10".to_string(),
            ObservationKind::End,
        )];
        // Others meet all week after half-term: 18 calendar days, 11 school days.
        assert_eq!(groups(&["2015-11-09", "2015-11-23", "2015-11-27"]), vec![]);
        // A Sunday alone does not make a week count.
        assert_eq!(groups(&["2015-11-09", "2015-11-15", "2015-11-27"]), vec![]);
        // The next Monday missed as well: two school weeks, ended.
        assert_eq!(groups(&["2015-11-09", "2015-11-23", "2015-11-30"]), end);
        // Without a half-term the calendar is school time: 14 days end it.
        assert_eq!(groups(&["2015-11-09", "2015-11-16", "2015-11-23"]), end);
    }

    #[test]
    fn an_end_that_a_later_session_contradicts_is_taken_back() {
        let mut groups = two_groups(
            (&["2015-11-02", "2015-11-16"], &["2015-11-03"]),
            (&["2015-11-23"], &[]),
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
            .occurrences = dates(&["2015-11-23", "2015-11-30"]);
        assert_eq!(kinds(&lifecycle_observations(&groups)), vec![]);
    }
}
