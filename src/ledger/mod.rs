//! The ledger: the facade every import and query goes through.
//!
//! Owns: [`Ledger`]: opening (single writer, catching the derived state up with the log,
//! moving a lagging anchor on; only imports create a ledger, see [`OpenOptions`]), the
//! import transaction (plan, check, append, flush, apply), `Ledger::append`, the one way a
//! commit enters the log, and [`Unfinished`], what a commit that landed reports when a
//! step after it failed. It delegates the rest: `cache` (decoded states and
//! the span index), `info` (what `muster info` shows), `read` (states and commits), `names`, `sb`, `replay`, `verify`,
//! `rebuild`.
//! Must not: parse files (that is `import`), decide facts (that is `plan`), compute answers
//! (that is `query`), format output, or write anything but through [`Store`].
//!
//! **Invariant (append-only log):** commit N is written once, under key N, after commit
//! N-1, and never changed. Its `previous_hash` is commit N-1's hash.
//! **Invariant (durable before success):** an import returns only after its commit is
//! flushed to disk; a crash before that leaves the log as it was. After the flush the
//! commit stands: a later failure is [`Unfinished`], never an error.
//! **Invariant (all or nothing):** the commit is one stored value; derived state written
//! after it is repaired from the log on the next open.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::cache::GroupSpans;
use crate::ledger::cache::StateCache;
use crate::ledger::numbers::MemberNumbers;
use crate::log::commit::{Commit, GENESIS_HASH};
use crate::log::hash::Hash;
use crate::log::head::decode_at;
use crate::log::head::decode_head;
use crate::log::head::encode_head;
use crate::log::head::key_seq;
use crate::log::head::seq_key;
use crate::log::head::Head;
use crate::log::personal::PersonalValue;
use crate::log::source::Source;
use crate::model::{Batch, InclusiveSpan, NestingFact};
use crate::model::{Change, Fact, GroupId, MemberId, MAX_COMMITS, MAX_FACTS_PER_COMMIT};
use crate::plan::spans::span_batch;
use crate::plan::{plan_with_snapshots, Snapshots};
use crate::projection::{GroupState, MemberState, Projection};
use crate::storage::anchor::check_anchor;
use crate::storage::anchor::head_from_log;
use crate::storage::anchor::read_anchor;
use crate::storage::anchor::write_anchor;
use crate::storage::derived::{self, DerivedFile};
use crate::storage::sled::SledStore;
use crate::storage::store::{SideFile, Space, Store};
use crate::storage::vault::Vault;

pub mod cache;
pub mod info;
pub mod names;
mod nesting;
pub mod numbers;
mod read;
mod reanchor;
mod rebuild;
pub mod replay;
pub mod sb;
mod verify;

pub use read::CommitSummary;
pub use reanchor::Reanchored;
pub use verify::Verdict;

/// How long opening waits for another process to release the ledger.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);
/// How often opening retries while it waits.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// What an import did (or, on a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// The commit written; `None` when there was nothing to record, or on a dry run.
    pub commit: Option<u64>,
    /// The member facts recorded (or that would be), sorted by date, group, member.
    pub facts: Vec<Fact>,
    /// The subgroup facts recorded (or that would be), sorted by date, group, subgroup.
    pub subgroup_facts: Vec<NestingFact>,
    /// Observed dates not seen before.
    pub new_observed_dates: usize,
    pub dry_run: bool,
    /// When the same input (see [`Source::fingerprint`]) was recorded before: that commit.
    /// Nothing was read or planned.
    pub already_recorded: Option<u64>,
    /// The commit is recorded (durable), but a step after it failed: what, and that the
    /// next open finishes it. `None` when everything was done.
    pub unfinished: Option<Unfinished>,
}

/// A commit that is recorded — written and flushed, so the import has happened — but
/// whose later steps (the head anchor, the derived state) could not all be done. Not an
/// error: reporting the import as failed would be untrue (a re-run records nothing). The
/// next full open of the ledger finishes what is missing from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unfinished {
    /// The commit that is recorded.
    pub commit: u64,
    /// Each step that failed, with why ("writing the derived state: No space left …").
    pub steps: Vec<String>,
}

impl std::fmt::Display for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "commit {} is recorded, but not finished: {}; the next command that opens the \
             ledger finishes it (once the cause is fixed, e.g. space freed)",
            self.commit,
            self.steps.join("; ")
        )
    }
}

impl ImportOutcome {
    pub fn joins(&self) -> usize {
        self.facts
            .iter()
            .filter(|f| f.change == Change::Join)
            .count()
    }

    pub fn leaves(&self) -> usize {
        self.facts
            .iter()
            .filter(|f| f.change == Change::Leave)
            .count()
    }

    /// Members' exclusions recorded.
    pub fn exclusions(&self) -> usize {
        self.facts
            .iter()
            .filter(|f| f.change == Change::Exclude)
            .count()
    }

    /// True when the ledger already reflected everything the import said.
    pub fn nothing_to_record(&self) -> bool {
        self.facts.is_empty() && self.subgroup_facts.is_empty() && self.new_observed_dates == 0
    }
}

/// How to open a ledger.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// How long to wait for another process to release the ledger.
    pub lock_wait: Duration,
    /// Whether to create the ledger when there is none at the path (imports do); without
    /// it, a missing ledger is an [`ErrorKind::NoLedger`] error and nothing is created.
    pub create: bool,
    /// Whether to open a ledger whose head anchor (`muster.head`) is damaged, reading the
    /// log without it: for `verify`, `log`, `export log` and `reanchor`, which say so or
    /// repair it. Everything else refuses such a ledger, saying what to do.
    pub past_a_damaged_anchor: bool,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            lock_wait: DEFAULT_LOCK_WAIT,
            create: true,
            past_a_damaged_anchor: false,
        }
    }
}

impl OpenOptions {
    /// The same options, opening only a ledger that exists.
    pub fn existing(self) -> OpenOptions {
        OpenOptions {
            create: false,
            ..self
        }
    }
}

pub struct Ledger {
    store: Box<dyn Store>,
    pub(crate) head: Option<Head>,
    /// The derived-state file, tagged with `head` once opening has caught it up; `None`
    /// for an empty ledger.
    derived: Option<DerivedFile>,
    /// The vault (personal values), read the first time a name is asked for.
    vault: Mutex<Option<Arc<Vault>>>,
    /// Decoded derived states, shared with callers: read once from the store, replaced
    /// after each commit, dropped on rebuild. One process holds the ledger (the lock), so
    /// nothing else changes the store under the cache.
    groups: StateCache<GroupId, GroupState>,
    members: StateCache<MemberId, MemberState>,
    /// Per group, its spans as the ledger stands now, flat: what `members` on a date
    /// reads. Built from the group's state on first use; dropped when the state changes.
    spans: StateCache<GroupId, GroupSpans>,
    /// The dictionary of member numbers the span indexes use: built from the derived
    /// state's member list on first use; dropped, with every span index, when a commit
    /// adds a member (numbers are positions, so a new id moves those after it).
    member_numbers: Mutex<Option<Arc<MemberNumbers>>>,
    /// Whether a membership question was answered before in this process (see
    /// `Ledger::note_question`).
    asked_before: std::sync::atomic::AtomicBool,
    /// Why the head anchor could not be read, when the ledger was opened past a damaged
    /// anchor (see [`OpenOptions::past_a_damaged_anchor`]).
    anchor_damage: Option<String>,
    /// Set when a commit was recorded but its later steps were not all done: the states
    /// held here no longer follow the log, so nothing more is appended until the ledger is
    /// opened again (which finishes the steps).
    unfinished: Option<Unfinished>,
}

/// Every stored commit, decoded and checked, in order.
fn stored_commits(store: &dyn Store) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
    stored_commits_from(store, 1)
}

/// The stored commits from number `first` on, decoded and checked, in order.
fn stored_commits_from(
    store: &dyn Store,
    first: u64,
) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
    store.scan_from(Space::Log, &seq_key(first)).map(|item| {
        let (key, bytes) = item?;
        let seq = key_seq(&key)?;
        let (commit, hash) = Commit::decode(&bytes)
            .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
        Ok((commit, hash))
    })
}

impl Ledger {
    /// Opens the ledger directory at `path` (creating it when there is none, if
    /// `options.create` says so), waiting up to `options.lock_wait` for another process to
    /// release it.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Ledger> {
        let started = Instant::now();
        let store = loop {
            match SledStore::open(path, options.create) {
                Err(error)
                    if error.kind() == ErrorKind::Locked
                        && started.elapsed() < options.lock_wait =>
                {
                    std::thread::sleep(LOCK_RETRY);
                }
                other => break other?,
            }
        };
        Ledger::open_store(Box::new(store), options.past_a_damaged_anchor)
    }

    /// For a dry run: the ledger at `path` when there is one, else an empty ledger held in
    /// memory, so that planning against "nothing yet" creates nothing on disk.
    pub fn open_or_empty(path: &Path, options: OpenOptions) -> Result<Ledger> {
        match Ledger::open(path, options.existing()) {
            Err(error) if error.kind() == ErrorKind::NoLedger => {
                Ledger::with_store(Box::new(crate::storage::memory::MemoryStore::default()))
            }
            other => other,
        }
    }

    /// Runs an import's `work` on the ledger at `path`: on a dry run the ledger that exists
    /// (or an empty one in memory: nothing is created), otherwise the ledger, created when
    /// there is none. When `work` is refused, a ledger created for it is removed again, so
    /// that a refused import creates nothing.
    pub fn importing<T>(
        path: &Path,
        options: OpenOptions,
        dry_run: bool,
        work: impl FnOnce(&mut Ledger) -> Result<T>,
    ) -> Result<T> {
        let mut ledger = match dry_run {
            true => Ledger::open_or_empty(path, options)?,
            false => Ledger::open(path, options)?,
        };
        match work(&mut ledger) {
            Ok(done) => {
                // The command ends here: the decoded states are not read again.
                ledger.free_caches_aside();
                Ok(done)
            }
            Err(error) => {
                // The refusal is what the user must see; a ledger that could not be
                // removed is an empty one, which the next import uses.
                let _ = ledger.discard_if_new();
                Err(error)
            }
        }
    }

    /// Empties the caches of decoded states, freeing them on another thread
    /// ([`cache::free_aside`]); they are read again from the derived state when asked.
    fn free_caches_aside(&mut self) {
        cache::free_aside((self.groups.take(), self.members.take(), self.spans.take()));
    }

    /// Ends a command that was refused: a ledger this process created for it, and that
    /// holds no commit, is removed, so that a refused import leaves nothing behind.
    pub fn discard_if_new(self) -> Result<()> {
        if self.head.is_some() || !self.store.created() {
            return Ok(());
        }
        self.store.remove_created()
    }

    /// Opens a ledger over any store: reads and checks the newest commit, then brings the
    /// derived state up to it.
    pub fn with_store(store: Box<dyn Store>) -> Result<Ledger> {
        Ledger::open_store(store, false)
    }

    /// [`Ledger::with_store`], optionally past a damaged anchor.
    pub fn open_store(store: Box<dyn Store>, past_a_damaged_anchor: bool) -> Result<Ledger> {
        // The head comes from the `heads` index (written with each commit in one
        // transaction), not from the newest commit, which may be megabytes: opening to ask
        // one question must not read it. `verify` checks the index against the log.
        let indexed = store.last(Space::Heads)?.and_then(|(key, bytes)| {
            let head = decode_head(&bytes).ok()?;
            (key_seq(&key).ok()? == head.seq).then_some(head)
        });
        let (anchor, anchor_damage) = match read_anchor(store.as_ref()) {
            Ok(anchor) => (anchor, None),
            Err(error) if error.kind() == ErrorKind::Corrupt && past_a_damaged_anchor => {
                (None, Some(error.detail().to_string()))
            }
            Err(error) if error.kind() == ErrorKind::Corrupt => {
                return Err(Error::corrupt(format!(
                    "{}. The log itself may be whole: `muster verify` checks it and `muster \
                     export log -o FILE` copies it; if it is sound, `muster reanchor` writes \
                     the anchor again from the log's newest commit (docs/reliability.md)",
                    error.detail()
                )))
            }
            Err(error) => return Err(error),
        };
        // An index that is missing, malformed or behind the anchor is damaged, not the log:
        // read the log's newest commit instead, so that the ledger opens; `verify` reports
        // the index and `rebuild` restores it.
        let head = match indexed {
            Some(head) if anchor.is_none_or(|anchor| head.seq >= anchor.seq) => Some(head),
            _ => head_from_log(store.as_ref())?,
        };
        check_anchor(store.as_ref(), head, anchor)?;
        let mut ledger = Ledger {
            store,
            head,
            derived: None,
            vault: Mutex::new(None),
            groups: StateCache::new(),
            members: StateCache::new(),
            spans: StateCache::new(),
            member_numbers: Mutex::new(None),
            asked_before: std::sync::atomic::AtomicBool::new(false),
            anchor_damage,
            unfinished: None,
        };
        // A commit recorded while its anchor could not be written (a full disk): the log
        // was checked against the older anchor above; move the anchor on now. Never over
        // a damaged anchor: only `reanchor`, after checking the log, replaces that.
        if let Some(head) = ledger.head.filter(|head| anchor != Some(*head)) {
            if ledger.anchor_damage.is_none() {
                write_anchor(ledger.store(), head)?;
            }
        }
        ledger.move_legacy_names()?;
        ledger.catch_up()?;
        ledger.finish_vault()?;
        Ok(ledger)
    }

    /// Opens the ledger at `path` for queries only, without opening the storage engine or
    /// taking the lock: from its derived-state file and names file, when the derived state
    /// is tagged with the head anchor's commit. `None` when it is not (a commit in flight,
    /// a crash before the derived state was written, or a ledger from an older muster):
    /// then [`Ledger::open`] must catch it up first. The ledger returned answers
    /// `members`, `groups`, history and names; anything that needs the log is an error.
    pub fn open_for_queries(path: &Path) -> Result<Option<Ledger>> {
        let store = crate::storage::files::FilesOnly::new(path);
        let Some(anchor) = read_anchor(&store).ok().flatten() else {
            return Ok(None);
        };
        let Some(derived) = DerivedFile::open(&store).ok().flatten() else {
            return Ok(None);
        };
        let header = derived.header();
        if header.applied_through != anchor.seq || header.hash != anchor.hash {
            return Ok(None);
        }
        // The vault too must be finished through the anchor's commit: an erasure whose
        // vault was not yet rewritten is finished by a full open, never answered from.
        let Some(vault) = Vault::load(&store).ok().flatten() else {
            return Ok(None);
        };
        if vault.through_seq != anchor.seq || vault.through_hash != anchor.hash {
            return Ok(None);
        }
        Ok(Some(Ledger {
            store: Box::new(store),
            head: Some(anchor),
            derived: Some(derived),
            vault: Mutex::new(Some(Arc::new(vault))),
            groups: StateCache::new(),
            members: StateCache::new(),
            spans: StateCache::new(),
            member_numbers: Mutex::new(None),
            asked_before: std::sync::atomic::AtomicBool::new(false),
            anchor_damage: None,
            unfinished: None,
        }))
    }

    /// The newest commit's number (0 for an empty ledger).
    pub fn head_seq(&self) -> u64 {
        self.head.map_or(0, |head| head.seq)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Brings the derived-state file up to the log's head: applies the commits it has not
    /// seen (after a crash between writing a commit and its derived state), or rebuilds it
    /// when it is missing, damaged, or tagged with a commit the log does not hold.
    pub(super) fn catch_up(&mut self) -> Result<()> {
        let derived = match DerivedFile::open(self.store()) {
            Ok(derived) => derived,
            // Derived state: when it cannot be read, fold everything again from the log
            // (the truth) rather than refuse to open.
            Err(error) if error.kind() == ErrorKind::Corrupt => return self.rebuild(),
            Err(error) => return Err(error),
        };
        let head = self.head_seq();
        let Some(derived) = derived else {
            return match head {
                0 => Ok(()),
                _ => self.rebuild(),
            };
        };
        let tag = derived.header();
        if tag.applied_through > head {
            // Not repaired silently: derived state ahead of the log means the log lost
            // commits.
            return Err(Error::corrupt(format!(
                "the derived state reflects commit {} but the log ends at {head}: the log has \
                 lost commits; restore it from a copy (muster import log)",
                tag.applied_through
            )));
        }
        if self.hash_of(tag.applied_through)? != Some(tag.hash) {
            // Derived from some other history (or the index is damaged): start again.
            return self.rebuild();
        }
        if tag.applied_through == head {
            self.derived = Some(derived);
            return Ok(());
        }
        let mut working = Projection::default();
        for item in self
            .store()
            .scan_from(Space::Log, &seq_key(tag.applied_through + 1))
        {
            let (key, bytes) = item?;
            let commit = decode_at(&key, &bytes)?;
            derived.hold_touched(&mut working, &commit)?;
            working.apply(&commit)?;
        }
        self.derived = Some(derived);
        self.write_derived(&mut working)
    }

    /// The hash of commit `seq` (the genesis hash for 0): from the head, the head index,
    /// or the commit itself, so that a damaged index does not make the answer wrong.
    pub(super) fn hash_of(&self, seq: u64) -> Result<Option<Hash>> {
        if seq == 0 {
            return Ok(Some(GENESIS_HASH));
        }
        if let Some(head) = self.head.filter(|head| head.seq == seq) {
            return Ok(Some(head.hash));
        }
        let key = seq_key(seq);
        let indexed = self.store().get(Space::Heads, &key)?;
        if let Some(head) = indexed.and_then(|bytes| decode_head(&bytes).ok()) {
            if head.seq == seq {
                return Ok(Some(head.hash));
            }
        }
        Ok(match self.store().get(Space::Log, &key)? {
            Some(bytes) => Commit::decode(&bytes).ok().map(|(_, hash)| hash),
            None => None,
        })
    }

    /// Writes the next derived-state file: the current one with `changes` applied, tagged
    /// with the head; then opens it.
    pub(super) fn write_derived(&mut self, changes: &mut Projection) -> Result<()> {
        let head = self.head.unwrap_or(Head {
            seq: 0,
            hash: GENESIS_HASH,
        });
        let previous = self.derived.take();
        let written = self
            .store
            .replace_file(SideFile::Derived, false, &mut |out| {
                derived::write(out, previous.as_ref(), changes, head.seq, head.hash)
            });
        if let Err(error) = written {
            self.derived = previous;
            return Err(error);
        }
        changes.written();
        self.derived = DerivedFile::open(self.store())?;
        Ok(())
    }

    /// Imports a batch as one commit. `source` says what was read. On a dry run, plans and
    /// reports but writes nothing.
    pub fn import(
        &mut self,
        batch: &Batch,
        source: Source,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        self.import_with_values(batch, Snapshots::default(), source, &[], dry_run)
    }

    /// [`Self::import`] of `snapshots` (planned before the batch's statements, see
    /// [`plan_with_snapshots`]) and `batch`, recording `values` (from
    /// [`Self::personal_changes`]) in the same commit: which import set a name is part of
    /// the log.
    pub(crate) fn import_with_values(
        &mut self,
        batch: &Batch,
        snapshots: Snapshots<'_>,
        source: Source,
        values: &[PersonalValue],
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        self.refuse_if_unfinished()?;
        let seq = self.head_seq() + 1;
        let mut working: BTreeMap<GroupId, Arc<GroupState>> = BTreeMap::new();
        let mut groups = batch.groups();
        groups.extend(snapshots.lists.iter().map(|((group, _), _)| group.clone()));
        for group in groups {
            let state = self.group(&group)?.unwrap_or_default();
            working.insert(group, state);
        }
        self.hold_groups_below(batch, &mut working)?;
        let records = plan_with_snapshots(&mut working, batch, snapshots, seq, source.kind);
        nesting::refuse_cycle(&working, batch)?;
        let subgroup_facts = nesting::recorded_subgroup_facts(&records);
        let mut facts: Vec<Fact> = records
            .iter()
            .flat_map(|record| {
                record.facts.iter().map(|fact| Fact {
                    date: fact.date,
                    group: record.group.clone(),
                    member: fact.member.clone(),
                    change: fact.change,
                })
            })
            .collect();
        facts.sort();
        if facts.len() > MAX_FACTS_PER_COMMIT {
            return Err(Error::new(
                ErrorKind::Limit,
                format!(
                    "this import would record {} facts, more than the {MAX_FACTS_PER_COMMIT} one \
                     commit may hold; split the input and import it in parts",
                    facts.len()
                ),
            ));
        }
        let new_observed_dates = records.iter().map(|r| r.observed.len()).sum();
        let mut outcome = ImportOutcome {
            commit: None,
            facts,
            subgroup_facts,
            new_observed_dates,
            dry_run,
            already_recorded: None,
            unfinished: None,
        };
        if (records.is_empty() && values.is_empty()) || dry_run {
            return Ok(outcome);
        }
        let mut commit = Commit {
            format_version: crate::log::commit::COMMIT_VERSION,
            seq,
            recorded_at_ms: chrono::Utc::now().timestamp_millis(),
            previous_hash: self.head.map_or(GENESIS_HASH, |head| head.hash),
            source,
            groups: records,
            erased: Vec::new(),
            personal: values
                .iter()
                .map(|value| crate::log::personal::PersonalRecord {
                    subject: value.subject.clone(),
                    field: value.field,
                    digest: value.digest(),
                })
                .collect(),
        };
        commit.canonicalize();
        // Check right before writing: applying the commit gives exactly the state the plan
        // expected (`append` checks the bytes).
        let mut base = Projection::default();
        for record in &commit.groups {
            let before = self.group(&record.group)?.unwrap_or_default();
            base.groups
                .insert(record.group.clone(), GroupState::clone(&before));
        }
        self.apply_stored(&mut base, &commit)?;
        for (group, planned) in &working {
            let matches = match base.groups.get(group) {
                Some(applied) => applied == planned.as_ref(),
                // A group the commit does not name must have been left as it was.
                None => self
                    .group(group)?
                    .is_none_or(|before| Arc::ptr_eq(&before, planned) || before == *planned),
            };
            if !matches {
                return Err(Error::corrupt(format!(
                    "commit {seq}: applying it to group {group} does not give the planned state"
                )));
            }
        }
        self.stage_values(seq, values)?;
        outcome.unfinished = self.append(&commit, &mut base)?;
        outcome.commit = Some(seq);
        Ok(outcome)
    }

    /// The one way a commit enters the log. `base` holds the derived state the commit
    /// touches, with the commit already applied. In order: the commit must continue the
    /// chain; it is encoded and read back (checked right before writing); the device must
    /// have room for it and what follows it; it is written and flushed (durable: from here
    /// the import has happened); the anchor is moved on; the vault is finished (superseded
    /// and erased values dropped, tagged with the commit); then the derived state is
    /// written. The commit's values must be in the vault already ([`Self::stage_values`]).
    /// A failure before the flush is an error and nothing is recorded; a failure after it
    /// is [`Unfinished`], returned as a value, because the commit stands.
    pub(crate) fn append(
        &mut self,
        commit: &Commit,
        base: &mut Projection,
    ) -> Result<Option<Unfinished>> {
        self.refuse_if_unfinished()?;
        let seq = self.head_seq() + 1;
        if seq > MAX_COMMITS {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("the ledger holds {MAX_COMMITS} commits, the most it may"),
            ));
        }
        if commit.seq != seq || commit.previous_hash != self.head_hash() {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "commit {} does not continue this ledger, which ends at commit {}",
                    commit.seq,
                    self.head_seq()
                ),
            ));
        }
        // The vault is finished after the commit; one that cannot be read (damaged or
        // lost: `rebuild` repairs it) refuses the commit before anything is written,
        // rather than fail once the commit is durable.
        self.vault()?;
        let (bytes, hash) = commit.encode()?;
        let (reread, _) = Commit::decode(&bytes)?;
        if reread != *commit {
            return Err(Error::corrupt(format!(
                "commit {seq} does not survive encoding"
            )));
        }
        // Room for what this commit writes: the commit in the engine's log (which may
        // copy it while it reorganises), and the derived-state file written whole beside
        // the old one. Checked before anything is written, so that a full disk refuses
        // the import instead of failing half-way through it.
        let derived_bytes = match self.store().open_file(SideFile::Derived)? {
            Some(file) => file.length(),
            None => 0,
        };
        let needed = (bytes.len() as u64)
            .saturating_mul(2)
            .saturating_add(derived_bytes);
        self.store().check_space(needed)?;
        let head = Head { seq, hash };
        self.store()
            .append_log(&seq_key(seq), &bytes, &encode_head(head)?)?;
        self.store().flush().map_err(|error| {
            Error::new(
                error.kind(),
                format!(
                    "{}: commit {seq} may or may not be recorded (`muster log` shows which \
                     once the cause is fixed)",
                    error.detail()
                ),
            )
        })?;
        // Durable: the import has happened, whatever fails from here on.
        self.head = Some(head);
        let mut steps = Vec::new();
        if let Err(error) = write_anchor(self.store(), head) {
            steps.push(format!("writing the head anchor: {error}"));
        }
        if let Err(error) = self.finish_vault_after(commit) {
            steps.push(format!("finishing the vault: {error}"));
        }
        match self.write_derived(base) {
            Ok(()) => {
                let adds_a_member = self
                    .held_member_numbers()
                    .is_some_and(|numbers| base.members.keys().any(|m| !numbers.contains(m)));
                if adds_a_member {
                    self.drop_member_numbers();
                }
                for (group, state) in std::mem::take(&mut base.groups) {
                    self.spans.remove(&group);
                    self.groups.put(group, Arc::new(state));
                }
                for (member, state) in std::mem::take(&mut base.members) {
                    self.members.put(member, Arc::new(state));
                }
            }
            Err(error) => steps.push(format!("writing the derived state: {error}")),
        }
        if steps.is_empty() {
            return Ok(None);
        }
        // The cached states no longer follow the log: drop them.
        self.groups.clear();
        self.members.clear();
        self.drop_member_numbers();
        let unfinished = Unfinished { commit: seq, steps };
        self.unfinished = Some(unfinished.clone());
        Ok(Some(unfinished))
    }

    /// After an [`Unfinished`] commit the states this ledger holds lag the log: planning
    /// against them would be wrong, so nothing more is planned or appended until the
    /// ledger is opened again.
    fn refuse_if_unfinished(&self) -> Result<()> {
        if let Some(damage) = &self.anchor_damage {
            return Err(Error::corrupt(format!(
                "{damage}; nothing is imported until `muster reanchor` has written it again"
            )));
        }
        match &self.unfinished {
            Some(unfinished) => Err(Error::new(
                ErrorKind::Storage,
                format!("{unfinished}; nothing more is imported until then"),
            )),
            None => Ok(()),
        }
    }

    /// Set when a commit was recorded but not finished (see [`Unfinished`]).
    pub fn unfinished(&self) -> Option<&Unfinished> {
        self.unfinished.as_ref()
    }

    /// The newest commit's hash ([`GENESIS_HASH`] for an empty ledger).
    pub fn head_hash(&self) -> Hash {
        self.head.map_or(GENESIS_HASH, |head| head.hash)
    }

    /// The stored commit `seq`, decoded and checked, with its hash.
    pub fn commit_at(&self, seq: u64) -> Result<(Commit, Hash)> {
        let bytes = self
            .store()
            .get(Space::Log, &seq_key(seq))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no commit {seq}")))?;
        Commit::decode(&bytes).map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))
    }

    /// `import spans`: the facts that make `spans` hold against the groups' current
    /// states, planned and recorded as one commit like any import.
    pub fn import_spans(
        &mut self,
        spans: &[InclusiveSpan],
        source: Source,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        let mut states = BTreeMap::new();
        for span in spans {
            if !states.contains_key(&span.group) {
                states.insert(span.group.clone(), self.group(&span.group)?);
            }
        }
        let batch = span_batch(spans, |group| states.get(group).and_then(|s| s.as_deref()));
        self.import(&batch, source, dry_run)
    }

    /// Applies `commit` to `working`, first taking in the stored states it touches.
    pub(super) fn apply_stored(&self, working: &mut Projection, commit: &Commit) -> Result<()> {
        if let Some(derived) = &self.derived {
            derived.hold_touched(working, commit)?;
        }
        working.apply(commit)
    }

    /// Checks, without writing, that `commits` (each continuing the one before, the first
    /// continuing this ledger) apply cleanly to the derived state.
    pub fn check_replay<'a>(&self, commits: impl IntoIterator<Item = &'a Commit>) -> Result<()> {
        let mut working = Projection::default();
        for commit in commits {
            self.apply_stored(&mut working, commit)?;
        }
        Ok(())
    }

    /// Appends a commit made elsewhere (a replayed backup), verbatim: same number, time
    /// and hashes. It must continue this ledger's chain. Same discipline as [`Self::import`]:
    /// the commit is checked, written and flushed, then the derived state.
    /// `values` are the personal values its line carries (each checked against its digest
    /// when the line was read); those of erased members are not kept.
    pub fn append_replayed(
        &mut self,
        commit: &Commit,
        values: &[PersonalValue],
    ) -> Result<Option<Unfinished>> {
        // `append` refuses a commit that does not continue the chain before writing.
        let mut base = Projection::default();
        self.apply_stored(&mut base, commit)?;
        let erased = self.erased_members()?;
        let kept: Vec<PersonalValue> = values
            .iter()
            .filter(|value| {
                !matches!(&value.subject,
                    crate::log::personal::Subject::Member(member) if erased.contains(member))
            })
            .cloned()
            .collect();
        self.stage_values(commit.seq, &kept)?;
        self.append(commit, &mut base)
    }

    /// The stored commits after commit `seq`, in order.
    pub(crate) fn commits_after(
        &self,
        seq: u64,
    ) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
        stored_commits_from(self.store(), seq + 1)
    }

    /// The first commit that recorded this input, if any: the same kind, options, file
    /// names and bytes, or (for SB) the same statements in any bytes. Importing it again
    /// would record nothing new: it was recorded, and what later commits said stands.
    pub fn recorded_import(&self, source: &Source) -> Result<Option<u64>> {
        let Some(derived) = &self.derived else {
            return Ok(None);
        };
        for fingerprint in source.fingerprints() {
            if let Some(seq) = derived.recorded(&fingerprint)? {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}
