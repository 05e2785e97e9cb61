//! Names and erasure: the display names a ledger keeps beside the log, and `forget`.
//!
//! Owns: [`Ledger::import_names`], [`Ledger::erased_members`], [`Ledger::forget`] and
//! [`ForgetOutcome`].
//! Must not: put a name into the log: names live in `muster.names` so that erasing one
//! leaves the pseudonymous facts whole.

use std::collections::BTreeSet;

use chrono::Utc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::log::commit::{Commit, Source, SourceKind, COMMIT_VERSION, GENESIS_HASH};
use crate::model::MemberId;

/// What `forget` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgetOutcome {
    pub member: MemberId,
    /// The commit that records the erasure; `None` when there was nothing left to erase.
    pub commit: Option<u64>,
    /// Whether a stored name was removed.
    pub name_removed: bool,
}

impl Ledger {
    /// Stores names read from a file, except those of members whose erasure the log
    /// records: a forgotten member's name must not come back with the next import.
    /// Returns how many names were stored (new or changed) and how many were skipped.
    pub fn import_names(
        &mut self,
        mut names: crate::import::names::Names,
    ) -> Result<(usize, usize)> {
        let erased = self.erased_members()?;
        let before = names.members.len();
        names.members.retain(|member, _| !erased.contains(member));
        let skipped = before - names.members.len();
        let stored = self.set_names(&names.groups, &names.members)?;
        Ok((stored, skipped))
    }

    /// Members whose erasure the log records, in any commit.
    pub fn erased_members(&self) -> Result<BTreeSet<MemberId>> {
        let mut erased = BTreeSet::new();
        for item in self.commits() {
            let (commit, _) = item?;
            erased.extend(commit.erased);
        }
        Ok(erased)
    }

    /// Erases `member`'s personal data (the stored name) while the pseudonymous facts
    /// stay, and records in the log that it was done: a commit of kind `forget` naming the
    /// member and no groups, which the derived state ignores. The commit is written and
    /// flushed before the name is removed, so a crash in between leaves a name that a
    /// second `forget` removes. Forgetting a member already erased with no name left
    /// appends nothing. A member the ledger has neither facts nor a name for is an error.
    pub fn forget(&mut self, member: &MemberId) -> Result<ForgetOutcome> {
        let name = self.member_name(member)?;
        let known = self.member(member)?.is_some();
        if !known && name.is_none() {
            return Err(unknown_member(member));
        }
        if name.is_none() && self.erased_members()?.contains(member) {
            return Ok(ForgetOutcome {
                member: member.clone(),
                commit: None,
                name_removed: false,
            });
        }
        let seq = self.head_seq() + 1;
        let mut commit = Commit {
            format_version: COMMIT_VERSION,
            seq,
            recorded_at_ms: Utc::now().timestamp_millis(),
            previous_hash: self.head.map_or(GENESIS_HASH, |head| head.hash),
            source: Source {
                kind: SourceKind::Forget,
                files: Vec::new(),
                options: Vec::new(),
            },
            groups: Vec::new(),
            erased: vec![member.clone()],
        };
        commit.canonicalize();
        // The commit changes no derived value; appending it only moves the derived
        // state's marker on, so that opening does not replay it.
        self.append(&commit, &mut crate::projection::Projection::default())?;
        let name_removed = name.is_some();
        if name_removed {
            let mut names = self.name_book()?.to_stored()?;
            names.members.remove(member);
            self.save_names(names)?;
        }
        Ok(ForgetOutcome {
            member: member.clone(),
            commit: Some(seq),
            name_removed,
        })
    }
}

fn unknown_member(member: &MemberId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no member {member} in the ledger"),
    )
}
