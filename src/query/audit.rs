//! Asking the ledger about itself: what it believed at an earlier moment, what changed in a
//! date range, which beliefs later commits revised.
//!
//! Owns: [`AsOf`] (a commit number or a UTC instant) and [`resolve_as_of`]; [`changes`],
//! [`corrections`], and [`Scope`] (which timelines they read).
//! Must not: write anything, change what the derived state means (that is `projection`
//! and `plan`), or format output (that is the binary's `cli/render`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::model::{Change, Date, GroupId, MemberId};
use crate::projection::timeline::{Interval, Timeline};
use crate::projection::GroupState;

/// A moment in the ledger's own history: right after commit N, or at a UTC instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    Seq(u64),
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Parses a commit number (`12`) or an RFC 3339 instant (`2015-11-14T09:00:00Z`, or
    /// with an offset, which is converted to UTC).
    pub fn parse(text: &str) -> Result<AsOf> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<u64>().map(AsOf::Seq).map_err(|_| {
                Error::new(
                    ErrorKind::Input,
                    format!("--as-of {text:?}: the commit number is too large"),
                )
            });
        }
        DateTime::parse_from_rfc3339(text)
            .map(|time| AsOf::Time(time.with_timezone(&Utc)))
            .map_err(|_| {
                Error::new(
                    ErrorKind::Input,
                    format!(
                        "--as-of {text:?}: write a commit number (12) or a UTC time \
                         (2015-11-14T09:00:00Z)"
                    ),
                )
            })
    }
}

impl FromStr for AsOf {
    type Err = Error;
    fn from_str(text: &str) -> Result<AsOf> {
        AsOf::parse(text)
    }
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOf::Seq(seq) => write!(f, "commit {seq}"),
            AsOf::Time(time) => write!(f, "{}", time.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

/// Which timelines a query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Group(GroupId),
    Member(MemberId),
}

/// One effective change: on `date` `member` joined or left `group` (a leave's date is the
/// first day out), as recorded by commit `commit`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeRecord {
    pub date: Date,
    pub group: GroupId,
    pub member: MemberId,
    pub change: Change,
    pub commit: u64,
}

/// A belief a later commit revised; see [`corrections`]. Dates `from` (inclusive)
/// to `until` (exclusive).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Correction {
    pub group: GroupId,
    pub member: MemberId,
    pub from: Date,
    pub until: Date,
    /// What was believed: member or not.
    pub was_member: bool,
    /// The commit whose fact gave the old answer (`None`: no fact, so "not a member").
    pub believed_by: Option<u64>,
    /// The commit as of which the old answer was given (the earliest such commit).
    pub as_of: u64,
    pub now_member: bool,
    /// The commit whose fact gives today's answer.
    pub corrected_by: u64,
}

/// Rows of one report over one segment: group, member, first date, old answer, the
/// commit behind it, and the commit behind today's answer.
type CorrectionKey = (GroupId, MemberId, Date, bool, Option<u64>, u64);

fn unknown_group(group: &GroupId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no group {group} in the ledger"),
    )
}

fn unknown_member(member: &MemberId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no member {member} in the ledger"),
    )
}

/// The commit `as_of` stands for: `None` stays `None` (now). A commit number must
/// exist (0 means "before the first commit": every answer empty). An instant T means
/// the log as it stood at T: the longest run of commits from the first whose
/// `recorded_at` are all <= T (a later commit with a clock set back does not reach
/// past one recorded after T). A time before the first commit is an error that says so.
pub fn resolve_as_of(ledger: &Ledger, as_of: Option<AsOf>) -> Result<Option<u64>> {
    match as_of {
        None => Ok(None),
        Some(AsOf::Seq(seq)) if seq > ledger.head_seq() => Err(Error::new(
            ErrorKind::Input,
            format!(
                "--as-of {seq}: there is no such commit (the log ends at {})",
                ledger.head_seq()
            ),
        )),
        Some(AsOf::Seq(seq)) => Ok(Some(seq)),
        Some(AsOf::Time(time)) => {
            let limit = time.timestamp_millis();
            let mut last = 0;
            let mut first_recorded_at = None;
            for item in ledger.commits() {
                let (commit, _) = item?;
                first_recorded_at.get_or_insert(commit.recorded_at_ms);
                if commit.recorded_at_ms > limit {
                    break;
                }
                last = commit.seq;
            }
            if last == 0 {
                // An empty answer would read as "nobody was a member"; the truth is that
                // the ledger knew nothing yet.
                let first = match first_recorded_at.and_then(DateTime::from_timestamp_millis) {
                    Some(first) => format!(
                        "the first was recorded at {}",
                        first.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    ),
                    None => "the log is empty".to_string(),
                };
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "--as-of {}: no commit was recorded by then ({first})",
                        AsOf::Time(time)
                    ),
                ));
            }
            Ok(Some(last))
        }
    }
}

fn timelines(ledger: &Ledger, scope: &Scope) -> Result<Vec<(GroupId, MemberId, Timeline)>> {
    let mut out = Vec::new();
    match scope {
        Scope::All => {
            for group in ledger.group_ids()? {
                let state = ledger
                    .find_group(&group)?
                    .ok_or_else(|| unknown_group(&group))?;
                for (member, timeline) in state.members {
                    out.push((group.clone(), member, timeline));
                }
            }
        }
        Scope::Group(group) => {
            let state = ledger
                .find_group(group)?
                .ok_or_else(|| unknown_group(group))?;
            for (member, timeline) in state.members {
                out.push((group.clone(), member, timeline));
            }
        }
        Scope::Member(member) => {
            let state = ledger
                .member(member)?
                .ok_or_else(|| unknown_member(member))?;
            for (group, timeline) in &state.groups {
                out.push((group.clone(), member.clone(), timeline.clone()));
            }
        }
    }
    Ok(out)
}

/// Adds the join on `interval`'s first day and the leave on its first day out (when it has
/// closed), each only when dated in `[from, to]`: what a span says changed, for `changes`
/// direct and resolved alike.
pub(crate) fn push_span_changes(
    changes: &mut Vec<ChangeRecord>,
    group: &GroupId,
    member: &MemberId,
    interval: &Interval,
    (from, to): (Date, Date),
) {
    let in_range = |date: Date| from <= date && date <= to;
    if in_range(interval.from) {
        changes.push(ChangeRecord {
            date: interval.from,
            group: group.clone(),
            member: member.clone(),
            change: Change::Join,
            commit: interval.opened_by,
        });
    }
    if let (Some(until), Some(closed_by)) = (interval.until, interval.closed_by) {
        if in_range(until) {
            changes.push(ChangeRecord {
                date: until,
                group: group.clone(),
                member: member.clone(),
                change: Change::Leave,
                commit: closed_by,
            });
        }
    }
}

/// Refuses a range whose end comes before its start.
pub(crate) fn check_range(from: Date, to: Date) -> Result<()> {
    if to < from {
        return Err(Error::new(
            ErrorKind::Input,
            format!("--to {to} is before --from {from}"),
        ));
    }
    Ok(())
}

/// Every effective join and leave dated in `[from, to]`, as the ledger stood after
/// `as_of` (now when `None`): the starts and ends of membership spans, so facts that
/// changed nothing do not appear. Sorted by date, group, member.
pub fn changes(
    ledger: &Ledger,
    from: Date,
    to: Date,
    scope: &Scope,
    as_of: Option<u64>,
) -> Result<Vec<ChangeRecord>> {
    check_range(from, to)?;
    let mut changes = Vec::new();
    for (group, member, timeline) in timelines(ledger, scope)? {
        for interval in timeline.intervals(as_of) {
            push_span_changes(&mut changes, &group, &member, &interval, (from, to));
        }
    }
    changes.sort();
    Ok(changes)
}

/// Beliefs that later commits revised (late or corrected data), as the ledger stands
/// after `as_of` (now when `None`).
///
/// Definition. For a group G and a commit s, the *horizon* H(G, s) is the latest date
/// of any fact in G recorded by commits up to s: the ledger had spoken about G up to
/// that date. For each member M of G, each commit s that recorded a fact in G, and each
/// date D <= H(G, s): when "M in G on D" as of s differs from the answer now, that is a
/// correction. It is reported with the old answer and the commit whose fact gave it
/// (none when no fact did: "not a member"), the earliest such s, the answer now and the
/// commit whose fact gives it (necessarily later than s). Consecutive dates with the
/// same report form one row, `from` inclusive to `until` exclusive. Dates after the
/// horizon are left out: there the old answer was carried forward, not stated, so a
/// later fact is news rather than a correction. Beliefs that were revised and then
/// revised back to today's answer are not listed (only differences from now are).
pub fn corrections(ledger: &Ledger, scope: &Scope, as_of: Option<u64>) -> Result<Vec<Correction>> {
    let timelines = timelines(ledger, scope)?;
    // Horizons per group: every commit that recorded facts in the group, with H(G, s).
    let mut horizons: BTreeMap<GroupId, Vec<(u64, Date)>> = BTreeMap::new();
    let groups: BTreeSet<GroupId> = timelines.iter().map(|(g, _, _)| g.clone()).collect();
    for group in &groups {
        let state = ledger
            .find_group(group)?
            .ok_or_else(|| unknown_group(group))?;
        horizons.insert(group.clone(), group_horizons(&state, as_of));
    }
    let mut found: BTreeMap<CorrectionKey, Correction> = BTreeMap::new();
    for (group, member, timeline) in &timelines {
        let visible: Vec<_> = timeline
            .entries()
            .iter()
            .filter(|e| as_of.is_none_or(|limit| e.seq <= limit))
            .copied()
            .collect();
        let mut breaks: Vec<Date> = visible.iter().map(|e| e.date).collect();
        breaks.dedup();
        let decider = |date: Date, limit: u64| {
            visible
                .iter()
                .filter(|e| e.date <= date && e.seq <= limit)
                .max_by_key(|e| (e.date, e.seq))
                .copied()
        };
        let now_limit = as_of.unwrap_or(u64::MAX);
        for &(seq, horizon) in &horizons[group] {
            for (index, &start) in breaks.iter().enumerate() {
                if start > horizon {
                    break;
                }
                let old = decider(start, seq);
                let Some(now) = decider(start, now_limit) else {
                    continue;
                };
                let was_member = old.is_some_and(|e| e.change.is_member());
                if was_member == now.change.is_member() {
                    continue;
                }
                let segment_end = breaks.get(index + 1).copied();
                let after_horizon = horizon.add_days(1).unwrap_or(horizon);
                let until = segment_end.map_or(after_horizon, |end| end.min(after_horizon));
                let believed_by = old.map(|e| e.seq);
                let key = (
                    group.clone(),
                    member.clone(),
                    start,
                    was_member,
                    believed_by,
                    now.seq,
                );
                let row = found.entry(key).or_insert_with(|| Correction {
                    group: group.clone(),
                    member: member.clone(),
                    from: start,
                    until,
                    was_member,
                    believed_by,
                    as_of: seq,
                    now_member: now.change.is_member(),
                    corrected_by: now.seq,
                });
                row.until = row.until.max(until);
                row.as_of = row.as_of.min(seq);
            }
        }
    }
    // Join rows that continue each other (same report, touching dates).
    let mut rows: Vec<Correction> = Vec::new();
    for row in found.into_values() {
        if let Some(last) = rows.last_mut() {
            let same = (
                &last.group,
                &last.member,
                last.was_member,
                last.believed_by,
                last.corrected_by,
            ) == (
                &row.group,
                &row.member,
                row.was_member,
                row.believed_by,
                row.corrected_by,
            );
            if same && last.until >= row.from {
                last.until = last.until.max(row.until);
                last.as_of = last.as_of.min(row.as_of);
                continue;
            }
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| (a.from, &a.group, &a.member).cmp(&(b.from, &b.group, &b.member)));
    Ok(rows)
}

/// For each commit that recorded facts in the group (up to `as_of`), the latest fact
/// date among facts recorded up to and including it. Sorted by commit.
fn group_horizons(state: &GroupState, as_of: Option<u64>) -> Vec<(u64, Date)> {
    let mut latest_by_commit: BTreeMap<u64, Date> = BTreeMap::new();
    for timeline in state.members.values() {
        for entry in timeline.entries() {
            if as_of.is_some_and(|limit| entry.seq > limit) {
                continue;
            }
            let slot = latest_by_commit.entry(entry.seq).or_insert(entry.date);
            *slot = (*slot).max(entry.date);
        }
    }
    let mut horizon: Option<Date> = None;
    latest_by_commit
        .into_iter()
        .map(|(seq, latest)| {
            let reached = horizon.map_or(latest, |h| h.max(latest));
            horizon = Some(reached);
            (seq, reached)
        })
        .collect()
}
