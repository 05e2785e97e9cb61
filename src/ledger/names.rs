//! Names and erasure: the display names a ledger keeps beside the log, and `forget`.
//!
//! Owns: [`Ledger::import_names`], [`Ledger::erased_members`], [`Ledger::forget`] and
//! [`ForgetOutcome`].
//! Must not: put a name into the log: names live in `muster.names` so that erasing one
//! leaves the pseudonymous facts whole.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Utc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::verify::clip;
use crate::ledger::Ledger;
use crate::log::commit::{Commit, COMMIT_VERSION, GENESIS_HASH};
use crate::log::seal::unseal;
use crate::log::seal::Magic;
use crate::log::source::{Source, SourceKind};
use crate::model::{GroupId, MemberId, MAX_NAME_BYTES};
use crate::storage::names::NameBook;
use crate::storage::names::StoredNames;
use crate::storage::store::Space;

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
        // A recorded commit whose later steps failed is still recorded: the erasure goes
        // on, and the caller reads `Ledger::unfinished`.
        let _unfinished = self.append(&commit, &mut crate::projection::Projection::default())?;
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

impl Ledger {
    /// Ledgers made before names moved to `muster.names` kept them in the engine, one
    /// value per name: move them to the names file (whose own names win), then empty the
    /// old space. Done with the lock held; a crash in between only repeats the move.
    pub(super) fn move_legacy_names(&mut self) -> Result<()> {
        let legacy: Vec<_> = self
            .store()
            .scan_from(Space::Names, &[])
            .collect::<Result<_>>()?;
        if legacy.is_empty() {
            return Ok(());
        }
        let mut names = NameBook::load(self.store())?.to_stored()?;
        for (key, bytes) in legacy {
            let Some((&kind, id)) = key.split_first() else {
                continue;
            };
            let id = std::str::from_utf8(id).ok();
            let name = unseal(Magic::Name, &bytes)
                .ok()
                .and_then(|body| std::str::from_utf8(body).ok())
                .map(|name| clip(name.trim(), MAX_NAME_BYTES).to_string())
                .filter(|name| !name.is_empty());
            let (Some(id), Some(name)) = (id, name) else {
                // A damaged old name is dropped, never shown.
                continue;
            };
            match kind {
                b'g' => {
                    if let Ok(group) = GroupId::new(id) {
                        names.groups.entry(group).or_insert(name);
                    }
                }
                _ => {
                    if let Ok(member) = MemberId::new(id) {
                        names.members.entry(member).or_insert(name);
                    }
                }
            }
        }
        let erased = self.erased_members()?;
        names.members.retain(|member, _| !erased.contains(member));
        names.save(self.store())?;
        self.store().clear(Space::Names)?;
        self.store().flush()
    }

    /// Stores display names, apart from the log so that they can be erased. Returns how
    /// many names were new or changed. Names over [`MAX_NAME_BYTES`] are cut at a
    /// character boundary; blank names are not stored.
    pub fn set_names(
        &mut self,
        groups: &BTreeMap<GroupId, String>,
        members: &BTreeMap<MemberId, String>,
    ) -> Result<usize> {
        let mut names = self.name_book()?.to_stored()?;
        let mut changed = 0;
        for (group, name) in groups {
            let name = clip(name.trim(), MAX_NAME_BYTES);
            if !name.is_empty() && names.groups.get(group).map(String::as_str) != Some(name) {
                names.groups.insert(group.clone(), name.to_string());
                changed += 1;
            }
        }
        for (member, name) in members {
            let name = clip(name.trim(), MAX_NAME_BYTES);
            if !name.is_empty() && names.members.get(member).map(String::as_str) != Some(name) {
                names.members.insert(member.clone(), name.to_string());
                changed += 1;
            }
        }
        if changed > 0 {
            self.save_names(names)?;
        }
        Ok(changed)
    }

    /// Replaces the stored names, durably.
    pub(crate) fn save_names(&mut self, names: StoredNames) -> Result<()> {
        let book = names.save(self.store())?;
        *self.names.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(book));
        Ok(())
    }

    /// Every stored name (read once, then kept).
    pub(crate) fn name_book(&self) -> Result<Arc<NameBook>> {
        // A poisoned lock means a panic elsewhere; the slot itself is still whole.
        let mut slot = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(names) = slot.as_ref() {
            return Ok(names.clone());
        }
        let names = Arc::new(NameBook::load(self.store())?);
        *slot = Some(names.clone());
        Ok(names)
    }

    pub fn group_name(&self, group: &GroupId) -> Result<Option<String>> {
        self.name_book()?.group(group)
    }

    pub fn member_name(&self, member: &MemberId) -> Result<Option<String>> {
        self.name_book()?.member(member)
    }

    /// The names known for `groups` (those without one are left out).
    pub fn group_names<'a>(
        &self,
        groups: impl IntoIterator<Item = &'a GroupId>,
    ) -> Result<BTreeMap<GroupId, String>> {
        let book = self.name_book()?;
        let mut names = BTreeMap::new();
        for group in groups {
            if let Some(name) = book.group(group)? {
                names.insert(group.clone(), name);
            }
        }
        Ok(names)
    }

    /// The names known for `members` (those without one are left out).
    pub fn member_names<'a>(
        &self,
        members: impl IntoIterator<Item = &'a MemberId>,
    ) -> Result<BTreeMap<MemberId, String>> {
        let book = self.name_book()?;
        let mut names = BTreeMap::new();
        for member in members {
            if let Some(name) = book.member(member)? {
                names.insert(member.clone(), name);
            }
        }
        Ok(names)
    }
}
