//! Names and erasure: personal values recorded in the log as salted digests, the values
//! themselves in the vault, and `forget`.
//!
//! Owns: [`Ledger::import_names`], [`Ledger::set_names`], [`Ledger::forget`] and
//! [`ForgetOutcome`], which personal values an import records ([`Ledger::personal_changes`]),
//! the vault's write discipline (values durable before the commit that records their
//! digests; erasures finished before `forget` returns, or on the next open), moving the
//! names of older ledgers in, name lookups, and repairing the vault ([`VaultRepair`]).
//! Must not: put a value into the log (only its salted digest), keep one in the storage
//! engine, or give back a value of an erased subject.
//!
//! **Invariant (erased for good):** after the commit that erases M, no file of the ledger
//! holds M's values and no command prints them; no later import records them again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Utc;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::log::commit::{Commit, COMMIT_VERSION};
use crate::log::hash::Hash;
use crate::log::personal::{Field, PersonalRecord, PersonalValue, Subject};
use crate::log::seal::unseal;
use crate::log::seal::Magic;
use crate::log::source::{Source, SourceFile, SourceKind};
use crate::model::{GroupId, MemberId, MAX_NAME_BYTES};
use crate::storage::names::NameBook;
use crate::storage::store::{SideFile, Space};
use crate::storage::vault::{Salts, Vault, VaultEntry};

/// What `forget` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgetOutcome {
    pub member: MemberId,
    /// The commit that records the erasure; `None` when there was nothing left to erase.
    pub commit: Option<u64>,
    /// Whether a stored name was removed.
    pub name_removed: bool,
}

/// What [`Ledger::repair_vault`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VaultRepair {
    /// Live values kept (each matched its digest in the log).
    pub kept: usize,
    /// Values the vault held that the log does not make live (superseded, erased, from
    /// another history, or damaged): dropped.
    pub dropped: usize,
    /// Values the log records that the vault no longer holds: recorded as lost. Only a
    /// backup (`muster import log`) or importing their source again brings them back.
    pub lost: usize,
    /// Why the old vault could not be read at all, if it could not.
    pub unreadable: Option<String>,
}

/// The personal content of the whole log: per (subject, field) the latest record (its
/// commit and digest), and every erased member.
#[derive(Default)]
pub(crate) struct LoggedPersonal {
    pub(crate) live: BTreeMap<(Subject, Field), (u64, Hash)>,
    pub(crate) erased: BTreeSet<MemberId>,
}

impl LoggedPersonal {
    pub(crate) fn add(&mut self, commit: &Commit) {
        for record in &commit.personal {
            self.live.insert(
                (record.subject.clone(), record.field),
                (commit.seq, record.digest),
            );
        }
        self.erased.extend(commit.erased.iter().cloned());
    }

    pub(crate) fn is_erased(&self, subject: &Subject) -> bool {
        matches!(subject, Subject::Member(member) if self.erased.contains(member))
    }

    /// The references a vault must hold a value for: live and not erased.
    pub(crate) fn referenced(&self) -> impl Iterator<Item = (&(Subject, Field), &(u64, Hash))> {
        self.live
            .iter()
            .filter(|((subject, _), _)| !self.is_erased(subject))
    }
}

fn unknown_member(member: &MemberId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no member {member} in the ledger"),
    )
}

fn vault_missing() -> Error {
    Error::corrupt(
        "muster.vault is missing, but the log records names: they are lost. Run `muster \
         rebuild` (it says what it cannot recover), then restore them from a backup with \
         `muster import log BACKUP`",
    )
}

impl Ledger {
    /// Records names read from a file (one commit of kind `names`, unless nothing
    /// changed), except those of members whose erasure the log records: a forgotten
    /// member's name must not come back. Returns how many names were recorded (new or
    /// changed) and how many were skipped as erased.
    pub fn import_names(
        &mut self,
        names: crate::import::names::Names,
        file: SourceFile,
    ) -> Result<(usize, usize)> {
        let source = Source::new(SourceKind::Names, vec![file]);
        self.record_names(&names.groups, &names.members, source)
    }

    /// [`Self::import_names`] for names given directly: returns how many were recorded.
    pub fn set_names(
        &mut self,
        groups: &BTreeMap<GroupId, String>,
        members: &BTreeMap<MemberId, String>,
    ) -> Result<usize> {
        let source = Source::new(SourceKind::Names, Vec::new());
        Ok(self.record_names(groups, members, source)?.0)
    }

    fn record_names(
        &mut self,
        groups: &BTreeMap<GroupId, String>,
        members: &BTreeMap<MemberId, String>,
        source: Source,
    ) -> Result<(usize, usize)> {
        let (values, skipped) = self.personal_changes(groups, members)?;
        let recorded = values.len();
        if recorded > 0 {
            let commit = self.personal_commit(source, values.iter(), Vec::new());
            self.stage_values(commit.seq, &values)?;
            self.append(&commit, &mut crate::projection::Projection::default())?;
        }
        Ok((recorded, skipped))
    }

    /// A commit with no membership content: personal records and erasures only.
    fn personal_commit<'a>(
        &self,
        source: Source,
        values: impl Iterator<Item = &'a PersonalValue>,
        erased: Vec<MemberId>,
    ) -> Commit {
        let mut commit = Commit {
            format_version: COMMIT_VERSION,
            seq: self.head_seq() + 1,
            recorded_at_ms: Utc::now().timestamp_millis(),
            previous_hash: self.head_hash(),
            source,
            groups: Vec::new(),
            erased,
            personal: values.map(personal_record).collect(),
        };
        commit.canonicalize();
        commit
    }

    /// The values an import of these names would record: each name trimmed and cut to
    /// [`MAX_NAME_BYTES`], blank ones left out, unchanged ones left out (so that importing
    /// them again records nothing), erased members' left out and counted (returned
    /// second). Each value gets a fresh salt.
    pub(crate) fn personal_changes(
        &self,
        groups: &BTreeMap<GroupId, String>,
        members: &BTreeMap<MemberId, String>,
    ) -> Result<(Vec<PersonalValue>, usize)> {
        let vault = self.vault()?;
        let head = self.head_seq();
        let erased: BTreeSet<&MemberId> = vault.erased.iter().collect();
        let mut values = Vec::new();
        let mut skipped = 0;
        let mut salts = Salts::default();
        let given = groups
            .iter()
            .map(|(group, name)| (Subject::Group(group.clone()), name))
            .chain(
                members
                    .iter()
                    .map(|(member, name)| (Subject::Member(member.clone()), name)),
            );
        for (subject, name) in given {
            let name = clip(name.trim(), MAX_NAME_BYTES);
            if name.is_empty() {
                continue;
            }
            if let Subject::Member(member) = &subject {
                if erased.contains(member) {
                    skipped += 1;
                    continue;
                }
            }
            let current = vault.live(&subject, Field::Name, head);
            if current.and_then(|entry| entry.value.as_deref()) == Some(name) {
                continue;
            }
            values.push(PersonalValue {
                subject,
                field: Field::Name,
                salt: salts.fresh()?,
                value: name.to_string(),
            });
        }
        Ok((values, skipped))
    }

    /// Makes `values` durable in the vault, as values of commit `seq`, before that commit
    /// is written: a crash in between leaves values the next open drops (their commit never
    /// arrived), never a digest without its value.
    pub(crate) fn stage_values(&mut self, seq: u64, values: &[PersonalValue]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let mut vault = Vault::clone(self.vault()?.as_ref());
        for value in values {
            vault.entries.push(VaultEntry {
                subject: value.subject.clone(),
                field: value.field,
                seq,
                salt: value.salt,
                value: Some(value.value.clone()),
            });
        }
        vault.normalize();
        self.save_vault(vault)
    }

    /// Members whose erasure the log records.
    pub fn erased_members(&self) -> Result<BTreeSet<MemberId>> {
        Ok(self.vault()?.erased.iter().cloned().collect())
    }

    /// Erases `member`'s personal values while the pseudonymous facts stay, and records in
    /// the log that it was done: a commit of kind `forget` naming the member. The commit is
    /// flushed first, then the vault is rewritten without the member's values (an
    /// interruption in between is finished by the next open, before anything is
    /// answered). Forgetting a member already erased records nothing. A member the ledger
    /// has neither facts nor values for is an error.
    pub fn forget(&mut self, member: &MemberId) -> Result<ForgetOutcome> {
        let vault = self.vault()?;
        if vault.erased.binary_search(member).is_ok() {
            return Ok(ForgetOutcome {
                member: member.clone(),
                commit: None,
                name_removed: false,
            });
        }
        let subject = Subject::Member(member.clone());
        let name_removed = vault.live(&subject, Field::Name, self.head_seq()).is_some();
        if !name_removed && self.member(member)?.is_none() {
            return Err(unknown_member(member));
        }
        let source = Source::new(SourceKind::Forget, Vec::new());
        let commit = self.personal_commit(source, std::iter::empty(), vec![member.clone()]);
        let seq = commit.seq;
        // The commit changes no derived value; appending it moves the derived state's tag
        // on, and finishes the erasure in the vault.
        self.append(&commit, &mut crate::projection::Projection::default())?;
        Ok(ForgetOutcome {
            member: member.clone(),
            commit: Some(seq),
            name_removed,
        })
    }

    /// The vault (read once, then kept). A ledger with commits but no vault has lost it
    /// (every ledger this muster opened in full has one): an error, never an empty answer.
    pub(crate) fn vault(&self) -> Result<Arc<Vault>> {
        // A poisoned lock means a panic elsewhere; the slot itself is still whole.
        let mut slot = self.vault.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(vault) = slot.as_ref() {
            return Ok(vault.clone());
        }
        let vault = match Vault::load(self.store())? {
            Some(vault) => vault,
            None if self.head_seq() == 0 => Vault::default(),
            None => return Err(vault_missing()),
        };
        let vault = Arc::new(vault);
        *slot = Some(vault.clone());
        Ok(vault)
    }

    /// Replaces the vault, durably, and keeps it.
    fn save_vault(&mut self, vault: Vault) -> Result<()> {
        // Dropped first: if the write fails, the next read loads what is on disk.
        *self.vault.lock().unwrap_or_else(|e| e.into_inner()) = None;
        vault.save(self.store())?;
        *self.vault.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(vault));
        Ok(())
    }

    /// After `commit` entered the log: the vault drops the values it supersedes and the
    /// values of the members it erases, and is tagged with it.
    pub(super) fn finish_vault_after(&mut self, commit: &Commit) -> Result<()> {
        let Some(head) = self.head else {
            return Ok(());
        };
        let mut vault = Vault::clone(self.vault()?.as_ref());
        let mut erased: BTreeSet<MemberId> = vault.erased.iter().cloned().collect();
        erased.extend(commit.erased.iter().cloned());
        prune(&mut vault, &erased, head.seq);
        vault.through_seq = head.seq;
        vault.through_hash = head.hash;
        self.save_vault(vault)
    }

    /// On a full open: finishes what an interrupted command left in the vault (values of
    /// a commit that never arrived are dropped; erasures and supersessions of commits after
    /// its tag applied), creates the vault of a ledger that has none and never recorded a
    /// value, and moves the names of an older ledger in. A damaged or lost vault is left
    /// as it is, for `verify` to report and `rebuild` to repair; lookups refuse meanwhile.
    pub(super) fn finish_vault(&mut self) -> Result<()> {
        let vault = match Vault::load(self.store()) {
            Ok(vault) => vault,
            Err(error) if error.kind() == ErrorKind::Corrupt => return Ok(()),
            Err(error) => return Err(error),
        };
        let head = self.head;
        match (vault, head) {
            (None, None) => {
                // A new ledger: its first commit writes the vault.
                *self.vault.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Arc::new(Vault::default()));
            }
            (None, Some(head)) => {
                let logged = self.logged_personal()?;
                if !logged.live.is_empty() {
                    // Lost: left for `verify` and `rebuild`.
                    return Ok(());
                }
                self.save_vault(Vault {
                    through_seq: head.seq,
                    through_hash: head.hash,
                    entries: Vec::new(),
                    erased: logged.erased.into_iter().collect(),
                })?;
            }
            (Some(vault), head) => {
                let (seq, hash) = head.map_or((0, crate::log::commit::GENESIS_HASH), |head| {
                    (head.seq, head.hash)
                });
                let pending = vault
                    .entries
                    .iter()
                    .any(|entry| entry.seq > vault.through_seq);
                if vault.through_seq != seq || vault.through_hash != hash || pending {
                    self.catch_up_vault(vault)?;
                }
            }
        }
        self.move_names_file_in()
    }

    /// Brings a vault tagged with an earlier commit (or another history) up to the head.
    fn catch_up_vault(&mut self, mut vault: Vault) -> Result<()> {
        let (seq, hash) = (self.head_seq(), self.head_hash());
        let tag_holds = vault.through_seq <= seq
            && self.hash_of(vault.through_seq)? == Some(vault.through_hash);
        if !tag_holds {
            // Another history: keep only what the whole log vouches for.
            let logged = self.logged_personal()?;
            let (repaired, _) = reconcile(&logged, vault.entries, seq, hash);
            return self.save_vault(repaired);
        }
        let mut erased: BTreeSet<MemberId> = vault.erased.iter().cloned().collect();
        let after: Vec<_> = self.commits_after(vault.through_seq).collect();
        for item in after {
            let (commit, _) = item?;
            erased.extend(commit.erased);
        }
        prune(&mut vault, &erased, seq);
        vault.through_seq = seq;
        vault.through_hash = hash;
        self.save_vault(vault)
    }

    /// The personal content of the whole log.
    pub(crate) fn logged_personal(&self) -> Result<LoggedPersonal> {
        let mut logged = LoggedPersonal::default();
        for item in self.commits() {
            let (commit, _) = item?;
            logged.add(&commit);
        }
        Ok(logged)
    }

    /// `muster rebuild`'s repair of the vault: keeps every value whose digest the log
    /// records as live, drops every other, and records as lost the live values it no
    /// longer has (so that answers name no one wrongly and `verify` says what is missing).
    pub fn repair_vault(&mut self) -> Result<VaultRepair> {
        let (entries, unreadable) = match Vault::load(self.store()) {
            Ok(Some(vault)) => (vault.entries, None),
            Ok(None) => (Vec::new(), Some("muster.vault is missing".to_string())),
            Err(error) if error.kind() == ErrorKind::Corrupt => {
                (Vec::new(), Some(error.detail().to_string()))
            }
            Err(error) => return Err(error),
        };
        let logged = self.logged_personal()?;
        let held = entries.len();
        let (vault, mut repair) = reconcile(&logged, entries, self.head_seq(), self.head_hash());
        repair.dropped = held - repair.kept;
        repair.unreadable = unreadable;
        if self.head.is_some() {
            self.save_vault(vault)?;
        }
        Ok(repair)
    }

    /// Puts values carried by a backup into the vault where the log records them as live
    /// and the vault lacks them (lost, or the vault damaged or missing). Returns how many
    /// were restored.
    pub(crate) fn restore_values(
        &mut self,
        carried: &BTreeMap<u64, Vec<PersonalValue>>,
    ) -> Result<usize> {
        let current = match Vault::load(self.store()) {
            Ok(vault) => vault,
            Err(error) if error.kind() == ErrorKind::Corrupt => None,
            Err(error) => return Err(error),
        };
        let head = self.head_seq();
        let lacking = |value: &PersonalValue| {
            current.as_ref().is_none_or(|vault| {
                vault
                    .live(&value.subject, value.field, head)
                    .is_none_or(|entry| entry.value.is_none())
            })
        };
        if !carried.values().flatten().any(lacking) {
            return Ok(0);
        }
        let lacking_values: Vec<(u64, &PersonalValue)> = carried
            .iter()
            .flat_map(|(&seq, values)| values.iter().map(move |value| (seq, value)))
            .filter(|(_, value)| lacking(value))
            .collect();
        let mut candidates = current.map(|vault| vault.entries).unwrap_or_default();
        {
            for &(seq, value) in &lacking_values {
                candidates.push(VaultEntry {
                    subject: value.subject.clone(),
                    field: value.field,
                    seq,
                    salt: value.salt,
                    value: Some(value.value.clone()),
                });
            }
        }
        let logged = self.logged_personal()?;
        let (vault, _) = reconcile(&logged, candidates, head, self.head_hash());
        let restored = lacking_values
            .iter()
            .filter(|(_, value)| {
                vault
                    .live(&value.subject, value.field, head)
                    .and_then(|entry| entry.value.as_deref())
                    == Some(value.value.as_str())
            })
            .count();
        self.save_vault(vault)?;
        Ok(restored)
    }

    /// The values a backup of `commit` carries: those it set that are still live.
    pub(crate) fn values_of(&self, commit: &Commit) -> Result<Vec<PersonalValue>> {
        if commit.personal.is_empty() {
            return Ok(Vec::new());
        }
        let vault = self.vault()?;
        let head = self.head_seq();
        Ok(commit
            .personal
            .iter()
            .filter_map(|record| {
                vault
                    .live(&record.subject, record.field, head)
                    .filter(|entry| entry.seq == commit.seq)
                    .and_then(VaultEntry::personal_value)
                    .filter(|value| value.digest() == record.digest)
            })
            .collect())
    }
}

/// The record of a value: its salted digest.
fn personal_record(value: &PersonalValue) -> PersonalRecord {
    PersonalRecord {
        subject: value.subject.clone(),
        field: value.field,
        digest: value.digest(),
    }
}

/// Drops values of commits after `head` (never written), of erased members, and every
/// value superseded by a later one of the same subject and field.
fn prune(vault: &mut Vault, erased: &BTreeSet<MemberId>, head: u64) {
    vault.normalize();
    let mut kept: Vec<VaultEntry> = Vec::with_capacity(vault.entries.len());
    for entry in vault.entries.drain(..) {
        if entry.seq > head {
            continue;
        }
        if matches!(&entry.subject, Subject::Member(member) if erased.contains(member)) {
            continue;
        }
        // Sorted by (subject, field, commit): a later entry of the same key supersedes.
        match kept.last_mut() {
            Some(last) if last.subject == entry.subject && last.field == entry.field => {
                *last = entry;
            }
            _ => kept.push(entry),
        }
    }
    vault.entries = kept;
    vault.erased = erased.iter().cloned().collect();
}

/// The vault the log vouches for, from `candidates`: per live, unerased reference, the
/// candidate of its commit whose value matches its digest, or a lost entry.
fn reconcile(
    logged: &LoggedPersonal,
    candidates: Vec<VaultEntry>,
    seq: u64,
    hash: Hash,
) -> (Vault, VaultRepair) {
    let mut by_key: BTreeMap<(Subject, Field, u64), VaultEntry> = BTreeMap::new();
    for entry in candidates {
        by_key.insert((entry.subject.clone(), entry.field, entry.seq), entry);
    }
    let mut repair = VaultRepair::default();
    let mut entries = Vec::new();
    for ((subject, field), &(recorded, digest)) in logged.referenced() {
        let found = by_key
            .remove(&(subject.clone(), *field, recorded))
            .filter(|entry| {
                entry
                    .personal_value()
                    .is_some_and(|value| value.digest() == digest)
            });
        match found {
            Some(entry) => {
                repair.kept += 1;
                entries.push(entry);
            }
            None => {
                repair.lost += 1;
                entries.push(VaultEntry {
                    subject: subject.clone(),
                    field: *field,
                    seq: recorded,
                    salt: [0; crate::log::personal::SALT_BYTES],
                    value: None,
                });
            }
        }
    }
    let mut vault = Vault {
        through_seq: seq,
        through_hash: hash,
        entries,
        erased: logged.erased.iter().cloned().collect(),
    };
    vault.normalize();
    (vault, repair)
}

impl Ledger {
    /// Ledgers made before names moved to `muster.names` kept them in the engine, one
    /// value per name: move them to the names file (whose own names win), then empty the
    /// old space. Done with the lock held; a crash in between only repeats the move. The
    /// names file is then moved into the log by [`Self::finish_vault`].
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
        names.save(self.store())?;
        self.store().clear(Space::Names)?;
        self.store().flush()
    }

    /// Ledgers made before the vault kept their names in `muster.names`, outside the log:
    /// record them once, as a commit of kind `names` (erased members' names skipped), then
    /// remove the file. A crash in between repeats only what is not yet recorded (unchanged
    /// names record nothing).
    fn move_names_file_in(&mut self) -> Result<()> {
        let Some(file) = self.store().open_file(SideFile::Names)? else {
            return Ok(());
        };
        let place = file.describe();
        let length = usize::try_from(file.length())
            .map_err(|_| Error::corrupt(format!("{place}: too large")))?;
        let mut bytes = vec![0u8; length];
        file.read_exact_at(0, &mut bytes)?;
        drop(file);
        let names = NameBook::load(self.store())?.to_stored()?;
        let source = Source {
            kind: SourceKind::Names,
            files: vec![SourceFile::new(crate::storage::store::NAMES_FILE, &bytes)],
            options: vec!["moved=names-file".to_string()],
        };
        if self.head.is_none() && Vault::load(self.store())?.is_none() {
            self.save_vault(Vault::default())?;
        }
        self.record_names(&names.groups, &names.members, source)?;
        self.store().remove_file(SideFile::Names)
    }

    pub fn group_name(&self, group: &GroupId) -> Result<Option<String>> {
        let vault = self.vault()?;
        Ok(live_name(&vault, Subject::Group(group.clone()), self.head_seq()).map(str::to_owned))
    }

    pub fn member_name(&self, member: &MemberId) -> Result<Option<String>> {
        let vault = self.vault()?;
        Ok(live_member_name(&vault, member, self.head_seq()).map(str::to_owned))
    }

    /// Every subject the vault holds a value for, sorted: named members and groups, with
    /// or without facts (an SB pupil file names pupils in no group yet).
    pub fn named_subjects(&self) -> Result<Vec<Subject>> {
        let vault = self.vault()?;
        let mut subjects: Vec<Subject> = vault
            .entries
            .iter()
            .map(|entry| entry.subject.clone())
            .collect();
        subjects.sort();
        subjects.dedup();
        Ok(subjects)
    }

    /// The names known for `groups` (those without one are left out).
    pub fn group_names<'a>(
        &self,
        groups: impl IntoIterator<Item = &'a GroupId>,
    ) -> Result<BTreeMap<GroupId, String>> {
        // The vault taken once for all of them: a table of thousands asks here.
        let (vault, head) = (self.vault()?, self.head_seq());
        let mut names = BTreeMap::new();
        for group in groups {
            if let Some(name) = live_name(&vault, Subject::Group(group.clone()), head) {
                names.insert(group.clone(), name.to_owned());
            }
        }
        Ok(names)
    }

    /// The names known for `members` (those without one are left out).
    pub fn member_names<'a>(
        &self,
        members: impl IntoIterator<Item = &'a MemberId>,
    ) -> Result<BTreeMap<MemberId, String>> {
        let (vault, head) = (self.vault()?, self.head_seq());
        let mut names = BTreeMap::new();
        for member in members {
            if let Some(name) = live_member_name(&vault, member, head) {
                names.insert(member.clone(), name.to_owned());
            }
        }
        Ok(names)
    }
}

/// The name of `subject` live when the log ends at `head`.
fn live_name(vault: &Vault, subject: Subject, head: u64) -> Option<&str> {
    vault
        .live(&subject, Field::Name, head)
        .and_then(|entry| entry.value.as_deref())
}

/// The name of `member` live when the log ends at `head`: none for an erased member.
fn live_member_name<'v>(vault: &'v Vault, member: &MemberId, head: u64) -> Option<&'v str> {
    if vault.erased.binary_search(member).is_ok() {
        return None;
    }
    live_name(vault, Subject::Member(member.clone()), head)
}

/// `text` cut to at most `max` bytes on a character boundary: a safeguard for names stored
/// before imports refused long ones (readers refuse them now, naming the place).
fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
