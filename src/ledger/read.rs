//! Reading the ledger as it stands: states (through the caches), members and groups on a
//! date, spans with their provenance, the commits.
//!
//! Owns: [`CommitSummary`] and the ledger's read methods (states, the span index, commits).
//! Must not: write anything; answers that combine these (changes, corrections, span
//! export) are in `query`.

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::cache::GroupSpans;
use crate::ledger::numbers::MemberNumbers;
use crate::ledger::Ledger;
use crate::ledger::{stored_commits, stored_commits_from};
use crate::log::commit::Commit;
use crate::log::hash::hex;
use crate::log::hash::Hash;
use crate::log::source::Source;
use crate::model::{Date, GroupId, MemberId};
use crate::projection::{GroupNesting, GroupOnDate, GroupState, MemberState};
use crate::storage::anchor::read_anchor;

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

    /// Whether the ledger knows `group`, from the derived state's directory without
    /// decoding the group (a resolved question reads only parts of it).
    pub fn knows_group(&self, group: &GroupId) -> Result<bool> {
        if self.groups.lock().contains_key(group) {
            return Ok(true);
        }
        match &self.derived {
            Some(derived) => derived.holds_group(group),
            None => Ok(false),
        }
    }

    /// What `group` says on `on` as of commit `as_of` (see [`GroupOnDate`]): from its
    /// cached state when it is held, else read from its block without decoding (or
    /// caching) its timelines. `None` for an unknown group.
    pub fn group_on(
        &self,
        group: &GroupId,
        on: Date,
        as_of: Option<u64>,
    ) -> Result<Option<GroupOnDate>> {
        let held = self.groups.lock().get(group).cloned();
        if let Some(state) = held {
            return Ok(Some(state.on_date(on, as_of)));
        }
        match &self.derived {
            Some(derived) => derived.group_on(group, on, as_of),
            None => Ok(None),
        }
    }

    /// Whether `group` is a subgroup of any group on any date: its parent timelines are not
    /// empty. From the cached state when it is held, else from the group's block without
    /// decoding its members (what resolving a member's groups asks of each of them).
    pub fn has_parents(&self, group: &GroupId) -> Result<bool> {
        Ok(self
            .nesting(group)?
            .is_some_and(|nesting| !nesting.parents.is_empty()))
    }

    /// The nesting timelines of `group` (see [`GroupNesting`]), or `None` for an unknown
    /// group. From the cached state when it is held, else from the group's block without
    /// decoding its members.
    pub fn nesting(&self, group: &GroupId) -> Result<Option<GroupNesting>> {
        if let Some(state) = self.groups.lock().get(group) {
            return Ok(Some(state.nesting()));
        }
        match &self.derived {
            Some(derived) => derived.group_nesting(group),
            None => Ok(None),
        }
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

    /// Every member the ledger knows, sorted.
    pub fn member_ids(&self) -> Result<Vec<MemberId>> {
        match &self.derived {
            Some(derived) => derived.member_ids(),
            None => Ok(Vec::new()),
        }
    }

    /// The derived state of `group`; an unknown group is a `NotFound` error.
    pub fn group_state(&self, group: &GroupId) -> Result<Arc<GroupState>> {
        self.group(group)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no group {group} in the ledger"),
            )
        })
    }

    /// The derived state of `member`; an unknown member is a `NotFound` error.
    pub fn member_state(&self, member: &MemberId) -> Result<Arc<MemberState>> {
        self.member(member)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no member {member} in the ledger"),
            )
        })
    }

    /// The span index of `group` as the ledger stands now (built on first use, dropped
    /// when the group changes), or `None` for an unknown group.
    pub fn group_spans(&self, group: &GroupId) -> Result<Option<Arc<GroupSpans>>> {
        self.spans.get_or_load(group, || match self.group(group)? {
            Some(state) => Ok(Some(GroupSpans::of(group, &state, self.member_numbers()?)?)),
            None => Ok(None),
        })
    }

    /// The dictionary of member numbers (member ids sorted, a number its position), built
    /// from the derived state's member list on first use and kept until a commit adds a
    /// member.
    pub fn member_numbers(&self) -> Result<Arc<MemberNumbers>> {
        let mut held = self.member_numbers_lock();
        if let Some(numbers) = held.as_ref() {
            return Ok(numbers.clone());
        }
        let numbers = Arc::new(MemberNumbers::new(self.member_ids()?));
        *held = Some(numbers.clone());
        Ok(numbers)
    }

    /// The dictionary when it is built already.
    pub(crate) fn held_member_numbers(&self) -> Option<Arc<MemberNumbers>> {
        self.member_numbers_lock().clone()
    }

    /// Notes that a membership question (`members`, direct or resolved) is being
    /// answered; whether one was before, in this process. A first question reads
    /// timelines, numbering only the members it meets; from the second on, answers come
    /// from span indexes numbered by the ledger's dictionary, built on first use and kept
    /// (see `numbers::Numbering`): worth building only for a process that asks again.
    pub(crate) fn note_question(&self) -> bool {
        self.asked_before
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// Drops every decoded state, span index and the member numbers, and forgets what was
    /// asked: the ledger answers the next question as a process opening it fresh would.
    /// For a long-running process giving memory back, and for tests that compare the
    /// answers of a first question with those of later ones.
    pub fn drop_caches(&self) {
        self.groups.clear();
        self.members.clear();
        self.drop_member_numbers();
        self.asked_before
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Drops the dictionary and, since their numbers came from it, every span index.
    pub(super) fn drop_member_numbers(&self) {
        let mut held = self.member_numbers_lock();
        *held = None;
        self.spans.clear();
    }

    fn member_numbers_lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<MemberNumbers>>> {
        // A poisoned lock means a panic elsewhere; the dictionary itself is still whole.
        self.member_numbers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Every commit, decoded and checked, in order.
    pub fn commits(&self) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
        stored_commits(self.store())
    }

    /// The commits from number `first` on, decoded and checked, in order.
    pub fn commits_from(&self, first: u64) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
        stored_commits_from(self.store(), first)
    }

    /// The head anchor of the ledger at `path` (its newest commit's number and hash),
    /// read without opening the storage engine or taking the lock: how a follower notices
    /// a new commit cheaply. `None` when there is no ledger, or no commit yet.
    pub fn peek_head(path: &std::path::Path) -> Result<Option<(u64, Hash)>> {
        let store = crate::storage::files::FilesOnly::new(path);
        Ok(read_anchor(&store)?.map(|head| (head.seq, head.hash)))
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
