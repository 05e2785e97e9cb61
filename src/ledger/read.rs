//! Reading the ledger as it stands: states (through the caches), members and groups on a
//! date, spans with their provenance, the commits.
//!
//! Owns: [`SpanRecord`], [`CommitSummary`], and the ledger's read methods.
//! Must not: write anything; answers that combine these (changes, corrections, span
//! export) are in `query`.

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::cache::GroupSpans;
use crate::ledger::stored_commits;
use crate::ledger::Ledger;
use crate::log::commit::{Commit, Hash};
use crate::log::seal::hex;
use crate::log::source::Source;
use crate::model::{Date, GroupId, MemberId, Span};
use crate::projection::{GroupState, MemberState};

/// One span with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    pub span: Span,
    pub opened_by: u64,
    pub closed_by: Option<u64>,
}

/// A commit as `muster log` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    pub seq: u64,
    pub recorded_at_ms: i64,
    pub source: Source,
    pub facts: usize,
    pub observed_dates: usize,
    pub hash: String,
    /// Members whose personal data the commit erased (`muster forget`).
    pub erased: Vec<MemberId>,
}

impl Ledger {
    /// The derived state of `group`, or `None` for a group the ledger has never seen.
    pub fn find_group(&self, group: &GroupId) -> Result<Option<GroupState>> {
        Ok(self.group(group)?.map(|state| GroupState::clone(&state)))
    }

    /// The derived state of `group`, shared (no copy), or `None` for an unknown group.
    pub fn group(&self, group: &GroupId) -> Result<Option<Arc<GroupState>>> {
        self.groups.get_or_load(group, || match &self.derived {
            Some(derived) => derived.group(group),
            None => Ok(None),
        })
    }

    /// The derived state of `member`, shared, or `None` for an unknown member.
    pub fn member(&self, member: &MemberId) -> Result<Option<Arc<MemberState>>> {
        self.members.get_or_load(member, || match &self.derived {
            Some(derived) => derived.member(member),
            None => Ok(None),
        })
    }

    /// Every group the ledger knows, sorted.
    pub fn group_ids(&self) -> Result<Vec<GroupId>> {
        match &self.derived {
            Some(derived) => derived.group_ids(),
            None => Ok(Vec::new()),
        }
    }

    pub(super) fn group_state(&self, group: &GroupId) -> Result<Arc<GroupState>> {
        self.group(group)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no group {group} in the ledger"),
            )
        })
    }

    pub(super) fn member_state(&self, member: &MemberId) -> Result<Arc<MemberState>> {
        self.member(member)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no member {member} in the ledger"),
            )
        })
    }

    /// Members of `group` on `on`, sorted, as the ledger stood after commit `as_of`
    /// (now when `None`).
    pub fn members(&self, group: &GroupId, on: Date, as_of: Option<u64>) -> Result<Vec<MemberId>> {
        if as_of.is_some_and(|as_of| as_of < self.head_seq()) {
            return Ok(self.group_state(group)?.members_on(on, as_of));
        }
        let spans = self.spans.get_or_load(group, || {
            Ok(self.group(group)?.map(|state| GroupSpans::of(&state)))
        })?;
        match spans {
            Some(spans) => Ok(spans.members_on(on)),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("no group {group} in the ledger"),
            )),
        }
    }

    /// Groups `member` was in on `on`, sorted.
    pub fn groups(&self, member: &MemberId, on: Date, as_of: Option<u64>) -> Result<Vec<GroupId>> {
        Ok(self.member_state(member)?.groups_on(on, as_of))
    }

    /// Every span of every member of `group`, sorted by member then start.
    pub fn group_history(&self, group: &GroupId, as_of: Option<u64>) -> Result<Vec<SpanRecord>> {
        let state = self.group_state(group)?;
        Ok(state
            .members
            .iter()
            .flat_map(|(member, timeline)| spans(group, member, timeline.intervals(as_of)))
            .collect())
    }

    /// Every span of `member` in every group, sorted by group then start.
    pub fn member_history(&self, member: &MemberId, as_of: Option<u64>) -> Result<Vec<SpanRecord>> {
        let state = self.member_state(member)?;
        Ok(state
            .groups
            .iter()
            .flat_map(|(group, timeline)| spans(group, member, timeline.intervals(as_of)))
            .collect())
    }

    /// Every commit, decoded and checked, in order.
    pub fn commits(&self) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
        stored_commits(self.store())
    }

    /// A line per commit, for `muster log`.
    pub fn log(&self) -> Result<Vec<CommitSummary>> {
        self.commits()
            .map(|item| {
                let (commit, hash) = item?;
                Ok(CommitSummary {
                    seq: commit.seq,
                    recorded_at_ms: commit.recorded_at_ms,
                    facts: commit.fact_count(),
                    observed_dates: commit.observed_count(),
                    source: commit.source,
                    hash: hex(&hash),
                    erased: commit.erased,
                })
            })
            .collect()
    }
}

fn spans(
    group: &GroupId,
    member: &MemberId,
    intervals: Vec<crate::projection::timeline::Interval>,
) -> Vec<SpanRecord> {
    intervals
        .into_iter()
        .map(|interval| SpanRecord {
            span: Span {
                group: group.clone(),
                member: member.clone(),
                from: interval.from,
                until: interval.until,
            },
            opened_by: interval.opened_by,
            closed_by: interval.closed_by,
        })
        .collect()
}
