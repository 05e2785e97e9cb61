//! The ledger: the one entry point for importing and asking.
//!
//! Owns: opening (single writer, catching the derived state up with the log), the import
//! transaction (plan, check, append, flush, apply), queries, `verify` and `rebuild`.
//! Must not: parse files or format output (that is `input` and `render`), or write
//! anything but through [`Store`].
//!
//! **Invariant (append-only log):** commit N is written once, under key N, after commit
//! N-1, and never changed. Its `previous_hash` is commit N-1's hash.
//! **Invariant (durable before success):** an import returns only after its commit is
//! flushed to disk; a crash before that leaves the log as it was.
//! **Invariant (all or nothing):** the commit is one stored value; derived state written
//! after it is repaired from the log on the next open.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::log::commit::{hex, seal, unseal, Commit, Hash, Magic, Source, GENESIS_HASH};
use crate::model::{Batch, InclusiveSpan};
use crate::model::{
    Change, Date, Fact, GroupId, MemberId, Span, MAX_COMMITS, MAX_FACTS_PER_COMMIT, MAX_NAME_BYTES,
};
use crate::plan::plan;
use crate::plan::spans::span_batch;
use crate::progress::{NoProgress, Progress};
use crate::projection::{Fold, GroupState, MemberState, Projection};
use crate::storage::derived::{self, DerivedFile};
use crate::storage::names::{NameBook, StoredNames};
use crate::storage::store::{SideFile, SledStore, Space, Store};

pub mod names;
pub mod replay;
pub mod sb;

/// How long opening waits for another process to release the ledger.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);
/// How often opening retries while it waits.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// The newest commit: its number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: Hash,
}

/// What an import did (or, on a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// The commit written; `None` when there was nothing to record, or on a dry run.
    pub commit: Option<u64>,
    /// The facts recorded (or that would be), sorted by date, group, member.
    pub facts: Vec<Fact>,
    /// Observed dates not seen before.
    pub new_observed_dates: usize,
    pub dry_run: bool,
    /// When the same input (see [`Source::fingerprint`]) was recorded before: that commit.
    /// Nothing was read or planned.
    pub already_recorded: Option<u64>,
}

impl ImportOutcome {
    pub fn joins(&self) -> usize {
        self.facts
            .iter()
            .filter(|f| f.change == Change::Join)
            .count()
    }

    pub fn leaves(&self) -> usize {
        self.facts.len() - self.joins()
    }

    /// True when the ledger already reflected everything the import said.
    pub fn nothing_to_record(&self) -> bool {
        self.facts.is_empty() && self.new_observed_dates == 0
    }
}

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

/// What `verify` found. A broken ledger is an expected answer, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Sound { commits: u64, facts: u64 },
    Broken { seq: Option<u64>, reason: String },
}

/// How to open a ledger.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// How long to wait for another process to release the ledger.
    pub lock_wait: Duration,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }
}

pub struct Ledger {
    store: Box<dyn Store>,
    pub(crate) head: Option<Head>,
    /// The derived-state file, tagged with `head` once opening has caught it up; `None`
    /// for an empty ledger.
    derived: Option<DerivedFile>,
    /// The names file, read the first time a name is asked for.
    names: Mutex<Option<Arc<NameBook>>>,
    /// Decoded derived states, shared with callers: read once from the store, replaced
    /// after each commit, dropped on rebuild. One process holds the ledger (the lock), so
    /// nothing else changes the store under the cache.
    groups: StateCache<GroupId, GroupState>,
    members: StateCache<MemberId, MemberState>,
    /// Per group, its spans as the ledger stands now, flat: what `members` on a date
    /// reads. Built from the group's state on first use; dropped when the state changes.
    spans: StateCache<GroupId, GroupSpans>,
}

/// Most states each cache keeps; past it the cache starts again empty. A school has a few
/// thousand groups and pupils; the 10-million-fact benchmark 5,000 groups and 50,000
/// members.
pub const MAX_CACHED_STATES: usize = 100_000;

/// A bounded map of shared, decoded states.
struct StateCache<K, V> {
    entries: Mutex<HashMap<K, Arc<V>>>,
}

impl<K: std::hash::Hash + Eq + Clone, V> StateCache<K, V> {
    fn new() -> StateCache<K, V> {
        StateCache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<V>>> {
        // A poisoned lock means a panic elsewhere; the map itself is still whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached state, or `load`'s (cached when found).
    fn get_or_load(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>>,
    ) -> Result<Option<Arc<V>>> {
        if let Some(state) = self.lock().get(key) {
            return Ok(Some(state.clone()));
        }
        let Some(state) = load()? else {
            return Ok(None);
        };
        let state = Arc::new(state);
        self.put(key.clone(), state.clone());
        Ok(Some(state))
    }

    fn put(&self, key: K, state: Arc<V>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_STATES {
            entries.clear();
        }
        entries.insert(key, state);
    }

    fn clear(&self) {
        self.lock().clear();
    }

    fn remove(&self, key: &K) {
        self.lock().remove(key);
    }
}

/// Days covered by one bucket of [`GroupSpans`].
const SPAN_BUCKET_DAYS: i32 = 64;
/// Most buckets one group's index may have; a group whose spans stretch further is
/// indexed with wider buckets.
const MAX_SPAN_BUCKETS: i64 = 4096;

/// A group's membership spans as the ledger stands now, cut into buckets of days: each
/// bucket lists the spans that overlap it, in member order. Answering "who was in G on
/// D" reads one bucket (a few hundred bytes), with no tree to walk and nothing to
/// allocate but the answer.
struct GroupSpans {
    members: Vec<MemberId>,
    /// The first day of bucket 0, and the days each bucket covers.
    first_day: i32,
    bucket_days: i32,
    /// `starts[b]..starts[b + 1]` are bucket `b`'s spans in `spans`.
    starts: Vec<u32>,
    /// (from, until, member's position in `members`); `until` is `None` while open.
    spans: Vec<(Date, Option<Date>, u32)>,
}

impl GroupSpans {
    fn of(state: &GroupState) -> GroupSpans {
        let mut members = Vec::new();
        let mut all = Vec::new();
        for (member, timeline) in &state.members {
            let intervals = timeline.intervals(None);
            if intervals.is_empty() {
                continue;
            }
            // A group has far fewer members than u32::MAX (ids are limited per commit).
            let position = members.len() as u32;
            members.push(member.clone());
            all.extend(
                intervals
                    .into_iter()
                    .map(|interval| (interval.from, interval.until, position)),
            );
        }
        let day = |date: Date| date.days_from_ce();
        let first_day = all.iter().map(|span| day(span.0)).min().unwrap_or(0);
        // The last day that matters: the latest start or end; open spans reach past it.
        let last_day = all
            .iter()
            .map(|span| span.1.map_or(day(span.0), day).max(day(span.0)))
            .max()
            .unwrap_or(first_day);
        let days = i64::from(last_day) - i64::from(first_day) + 1;
        let bucket_days = (days / MAX_SPAN_BUCKETS + 1).max(i64::from(SPAN_BUCKET_DAYS));
        // At most MAX_SPAN_BUCKETS + 1 buckets, each at most the whole range of dates.
        let bucket_days = bucket_days as i32;
        let buckets = ((last_day - first_day) / bucket_days + 1) as usize;
        let bucket_of = |day: i32| ((day - first_day) / bucket_days) as usize;
        let range = |span: &(Date, Option<Date>, u32)| {
            let start = bucket_of(day(span.0));
            // `until` is exclusive: the span's last day is the day before.
            let end = span.1.map_or(buckets - 1, |until| {
                bucket_of(day(until) - 1).min(buckets - 1)
            });
            start..=end.max(start)
        };
        let mut per_bucket = vec![Vec::new(); buckets];
        // `all` is in member order, so each bucket is filled in member order.
        for span in &all {
            for bucket in range(span) {
                per_bucket[bucket].push(*span);
            }
        }
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut spans = Vec::with_capacity(per_bucket.iter().map(Vec::len).sum());
        for bucket in per_bucket {
            // Spans of one group, each in a bounded number of buckets: far below u32::MAX.
            starts.push(spans.len() as u32);
            spans.extend(bucket);
        }
        starts.push(spans.len() as u32);
        GroupSpans {
            members,
            first_day,
            bucket_days,
            starts,
            spans,
        }
    }

    /// Members on `date`, sorted (a bucket lists spans in member order; one member's spans
    /// never overlap, so none is named twice).
    fn members_on(&self, date: Date) -> Vec<MemberId> {
        let offset = date.days_from_ce() - self.first_day;
        let bucket = match offset {
            offset if offset < 0 => return Vec::new(),
            offset => ((offset / self.bucket_days) as usize).min(self.starts.len() - 2),
        };
        let bucket_spans =
            &self.spans[self.starts[bucket] as usize..self.starts[bucket + 1] as usize];
        bucket_spans
            .iter()
            .filter(|(from, until, _)| *from <= date && until.is_none_or(|until| date < until))
            .map(|(_, _, position)| self.members[*position as usize].clone())
            .collect()
    }
}

/// Decoded commits a rebuild lets its reading thread run ahead by.
const REBUILD_COMMITS_IN_FLIGHT: usize = 2;

/// Every stored commit, decoded and checked, in order.
fn stored_commits(store: &dyn Store) -> impl Iterator<Item = Result<(Commit, Hash)>> + '_ {
    store.scan_from(Space::Log, &seq_key(1)).map(|item| {
        let (key, bytes) = item?;
        let seq = key_seq(&key)?;
        let (commit, hash) = Commit::decode(&bytes)
            .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
        Ok((commit, hash))
    })
}

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn key_seq(key: &[u8]) -> Result<u64> {
    let array: [u8; 8] = key
        .try_into()
        .map_err(|_| Error::corrupt("a log key is not an 8-byte sequence number"))?;
    Ok(u64::from_be_bytes(array))
}

impl Ledger {
    /// Opens (creating if needed) the ledger directory at `path`, waiting up to
    /// `options.lock_wait` for another process to release it.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Ledger> {
        let started = Instant::now();
        let store = loop {
            match SledStore::open(path) {
                Err(error)
                    if error.kind() == ErrorKind::Locked
                        && started.elapsed() < options.lock_wait =>
                {
                    std::thread::sleep(LOCK_RETRY);
                }
                other => break other?,
            }
        };
        Ledger::with_store(Box::new(store))
    }

    /// Opens a ledger over any store: reads and checks the newest commit, then brings the
    /// derived state up to it.
    pub fn with_store(store: Box<dyn Store>) -> Result<Ledger> {
        // The head comes from the `heads` index (written with each commit in one
        // transaction), not from the newest commit, which may be megabytes: opening to ask
        // one question must not read it. `verify` checks the index against the log.
        let indexed = store.last(Space::Heads)?.and_then(|(key, bytes)| {
            let head = decode_head(&bytes).ok()?;
            (key_seq(&key).ok()? == head.seq).then_some(head)
        });
        let anchor = read_anchor(store.as_ref())?;
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
            names: Mutex::new(None),
            groups: StateCache::new(),
            members: StateCache::new(),
            spans: StateCache::new(),
        };
        ledger.move_legacy_names()?;
        ledger.catch_up()?;
        Ok(ledger)
    }

    /// Opens the ledger at `path` for queries only, without opening the storage engine or
    /// taking the lock: from its derived-state file and names file, when the derived state
    /// is tagged with the head anchor's commit. `None` when it is not (a commit in flight,
    /// a crash before the derived state was written, or a ledger from an older muster):
    /// then [`Ledger::open`] must catch it up first. The ledger returned answers
    /// `members`, `groups`, history and names; anything that needs the log is an error.
    pub fn open_for_queries(path: &Path) -> Result<Option<Ledger>> {
        let store = crate::storage::store::FilesOnly::new(path);
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
        Ok(Some(Ledger {
            store: Box::new(store),
            head: Some(anchor),
            derived: Some(derived),
            names: Mutex::new(None),
            groups: StateCache::new(),
            members: StateCache::new(),
            spans: StateCache::new(),
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
    fn catch_up(&mut self) -> Result<()> {
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
    fn hash_of(&self, seq: u64) -> Result<Option<Hash>> {
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
    fn write_derived(&mut self, changes: &mut Projection) -> Result<()> {
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

    /// Ledgers made before names moved to `muster.names` kept them in the engine, one
    /// value per name: move them to the names file (whose own names win), then empty the
    /// old space. Done with the lock held; a crash in between only repeats the move.
    fn move_legacy_names(&mut self) -> Result<()> {
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

    /// Imports a batch as one commit. `source` says what was read. On a dry run, plans and
    /// reports but writes nothing.
    pub fn import(
        &mut self,
        batch: &Batch,
        source: Source,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        let seq = self.head_seq() + 1;
        let mut working: BTreeMap<GroupId, Arc<GroupState>> = BTreeMap::new();
        for group in batch.groups() {
            let state = self.group(&group)?.unwrap_or_default();
            working.insert(group, state);
        }
        let records = plan(&mut working, batch, seq, source.kind);
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
            new_observed_dates,
            dry_run,
            already_recorded: None,
        };
        if records.is_empty() || dry_run {
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
        self.append(&commit, &mut base)?;
        outcome.commit = Some(seq);
        Ok(outcome)
    }

    /// The one way a commit enters the log. `base` holds the derived state the commit
    /// touches, with the commit already applied. In order: the commit must continue the
    /// chain; it is encoded and read back (checked right before writing); written and
    /// flushed (durable: from here the import has happened); the anchor is moved on; then
    /// the derived state is written and flushed.
    pub(crate) fn append(&mut self, commit: &Commit, base: &mut Projection) -> Result<()> {
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
        let (bytes, hash) = commit.encode()?;
        let (reread, _) = Commit::decode(&bytes)?;
        if reread != *commit {
            return Err(Error::corrupt(format!(
                "commit {seq} does not survive encoding"
            )));
        }
        let head = Head { seq, hash };
        self.store()
            .append_log(&seq_key(seq), &bytes, &encode_head(head)?)?;
        self.store().flush()?;
        self.head = Some(head);
        write_anchor(self.store(), head)?;
        self.write_derived(base)?;
        for (group, state) in std::mem::take(&mut base.groups) {
            self.spans.remove(&group);
            self.groups.put(group, Arc::new(state));
        }
        for (member, state) in std::mem::take(&mut base.members) {
            self.members.put(member, Arc::new(state));
        }
        Ok(())
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
    fn apply_stored(&self, working: &mut Projection, commit: &Commit) -> Result<()> {
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
    pub fn append_replayed(&mut self, commit: &Commit) -> Result<()> {
        // `append` refuses a commit that does not continue the chain before writing.
        let mut base = Projection::default();
        self.apply_stored(&mut base, commit)?;
        self.append(commit, &mut base)
    }

    /// The first commit that recorded exactly this input (the same kind, options, file
    /// names and bytes), if any: importing it again would record nothing.
    pub fn recorded_import(&self, source: &Source) -> Result<Option<u64>> {
        match (source.fingerprint(), &self.derived) {
            (Some(fingerprint), Some(derived)) => derived.recorded(&fingerprint),
            _ => Ok(None),
        }
    }

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

    fn group_state(&self, group: &GroupId) -> Result<Arc<GroupState>> {
        self.group(group)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no group {group} in the ledger"),
            )
        })
    }

    fn member_state(&self, member: &MemberId) -> Result<Arc<MemberState>> {
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

    /// Reads every commit (checksums, format, order, hash chain), folds them into fresh
    /// derived state, and compares it with the stored derived state.
    pub fn verify(&self) -> Result<Verdict> {
        let mut previous = GENESIS_HASH;
        let mut expected_seq = 1;
        let mut fold = Fold::default();
        for item in self.store().scan_from(Space::Log, &[]) {
            let (key, bytes) = item?;
            let seq = match key_seq(&key) {
                Ok(seq) => seq,
                Err(error) => return Ok(broken(None, error.detail())),
            };
            if seq != expected_seq {
                return Ok(broken(
                    Some(expected_seq),
                    &format!("commit {expected_seq} is missing (the next stored is {seq})"),
                ));
            }
            let (commit, hash) = match Commit::decode(&bytes) {
                Ok(decoded) => decoded,
                Err(error) => return Ok(broken(Some(seq), error.detail())),
            };
            if commit.seq != seq {
                return Ok(broken(Some(seq), "stored under the wrong key"));
            }
            if commit.previous_hash != previous {
                return Ok(broken(
                    Some(seq),
                    "its previous-hash does not match the commit before it (hash chain broken)",
                ));
            }
            if let Err(error) = fold.add(&commit) {
                return Ok(broken(Some(seq), error.detail()));
            }
            let indexed = self
                .store()
                .get(Space::Heads, &key)?
                .map(|bytes| decode_head(&bytes));
            match indexed {
                Some(Ok(head)) if head.seq == seq && head.hash == hash => {}
                _ => {
                    return Ok(broken(
                        Some(seq),
                        "its head record is missing or does not match it (run `muster rebuild`)",
                    ))
                }
            }
            previous = hash;
            expected_seq += 1;
        }
        let commits = expected_seq - 1;
        if let Some((key, _)) = self
            .store()
            .scan_from(Space::Heads, &seq_key(commits + 1))
            .next()
            .transpose()?
        {
            return Ok(broken(
                key_seq(&key).ok(),
                "a head record names a commit the log does not have",
            ));
        }
        let derived = match DerivedFile::open(self.store()) {
            Ok(derived) => derived,
            Err(error) => return Ok(broken(None, error.detail())),
        };
        let tag = derived.as_ref().map(|derived| derived.header());
        let applied = tag.map_or(0, |tag| tag.applied_through);
        if applied != commits || tag.is_some_and(|tag| tag.hash != previous) {
            return Ok(broken(
                None,
                &format!(
                    "the derived state reflects commit {applied} of another history, or the \
                     log ends at {commits}"
                ),
            ));
        }
        let facts = fold.facts();
        let fresh = match fold.finish() {
            Ok(fresh) => fresh,
            Err(error) => return Ok(broken(None, error.detail())),
        };
        let stored_register = match derived.as_ref().map(|d| d.import_register()) {
            None => Vec::new(),
            Some(Ok(register)) => register,
            Some(Err(error)) => return Ok(broken(None, error.detail())),
        };
        let stored = match derived.map_or(Ok(Projection::default()), |d| d.load_all()) {
            Ok(stored) => stored,
            Err(error) => return Ok(broken(None, error.detail())),
        };
        if let Some(difference) = fresh.first_difference(&stored) {
            return Ok(broken(
                None,
                &format!("the derived state does not match a replay of the log: {difference}"),
            ));
        }
        if derived::register(fresh.recorded.clone()) != stored_register {
            return Ok(broken(
                None,
                "the register of imported inputs does not match a replay of the log",
            ));
        }
        Ok(Verdict::Sound { commits, facts })
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

    /// Throws away all derived state and folds it again from the log.
    pub fn rebuild(&mut self) -> Result<()> {
        self.rebuild_with(&NoProgress)
    }

    /// [`Self::rebuild`], reporting each commit folded to `progress` (the binary draws a
    /// bar from it; a rebuild of millions of facts takes seconds).
    pub fn rebuild_with(&mut self, progress: &dyn Progress) -> Result<()> {
        progress.start("folding commits", self.head_seq());
        let mut fold = Fold::default();
        let mut last = 0;
        let mut heads = Vec::new();
        // Reading and decoding commits (checksums, hashes) on one core while the other
        // folds them: a decoded commit waits at most a couple of commits behind.
        let store = self.store();
        std::thread::scope(|scope| -> Result<()> {
            let (sender, receiver) = std::sync::mpsc::sync_channel(REBUILD_COMMITS_IN_FLIGHT);
            scope.spawn(move || {
                for item in stored_commits(store) {
                    let failed = item.is_err();
                    // The receiver stops at the first error or when it fails itself.
                    if sender.send(item).is_err() || failed {
                        break;
                    }
                }
            });
            for item in receiver {
                let (commit, hash) = item?;
                fold.add(&commit)?;
                last = commit.seq;
                heads.push(Head {
                    seq: commit.seq,
                    hash,
                });
                progress.advance(1);
            }
            Ok(())
        })?;
        self.store().clear(Space::Heads)?;
        self.head = heads.last().copied();
        debug_assert!(self.head_seq() == last);
        for head in heads {
            self.store()
                .put(Space::Heads, &seq_key(head.seq), &encode_head(head)?)?;
        }
        self.store().flush()?;
        self.groups.clear();
        self.members.clear();
        self.spans.clear();
        // From nothing: the fold writes every state.
        self.derived = None;
        let head = self.head.unwrap_or(Head {
            seq: 0,
            hash: GENESIS_HASH,
        });
        let mut fold = Some(fold);
        self.store
            .replace_file(SideFile::Derived, false, &mut |out| {
                let fold = fold.take().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Storage,
                        "the derived-state file was written twice",
                    )
                })?;
                derived::write_fold(out, fold.sort()?, head.seq, head.hash)
            })?;
        self.derived = DerivedFile::open(self.store())?;
        progress.finish();
        Ok(())
    }
}

fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn broken(seq: Option<u64>, reason: &str) -> Verdict {
    Verdict::Broken {
        seq,
        reason: reason.to_string(),
    }
}

/// A head record (the `heads` index and the anchor file): a sealed body of the commit's
/// number (`u64` big-endian) and hash.
fn encode_head(head: Head) -> Result<Vec<u8>> {
    let mut body = head.seq.to_be_bytes().to_vec();
    body.extend_from_slice(&head.hash);
    seal(Magic::Head, &body)
}

fn decode_head(bytes: &[u8]) -> Result<Head> {
    let body = unseal(Magic::Head, bytes)?;
    let (seq, hash) = body
        .split_first_chunk::<8>()
        .filter(|(_, hash)| hash.len() == 32)
        .ok_or_else(|| Error::corrupt("a head record has the wrong length"))?;
    let mut array = [0; 32];
    array.copy_from_slice(hash);
    Ok(Head {
        seq: u64::from_be_bytes(*seq),
        hash: array,
    })
}

/// The newest commit's number and hash, read from the log itself (the slow way: it decodes
/// the whole commit).
fn head_from_log(store: &dyn Store) -> Result<Option<Head>> {
    let Some((key, bytes)) = store.last(Space::Log)? else {
        return Ok(None);
    };
    let seq = key_seq(&key)?;
    let (commit, hash) = Commit::decode(&bytes)
        .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
    if commit.seq != seq {
        return Err(Error::corrupt(format!(
            "commit {seq}: stored under the wrong key (it says {})",
            commit.seq
        )));
    }
    Ok(Some(Head { seq, hash }))
}

fn write_anchor(store: &dyn Store, head: Head) -> Result<()> {
    store.write_anchor(&encode_head(head)?)
}

fn read_anchor(store: &dyn Store) -> Result<Option<Head>> {
    let Some(bytes) = store.read_anchor()? else {
        return Ok(None);
    };
    decode_head(&bytes)
        .map(Some)
        .map_err(|e| Error::corrupt(format!("the head anchor is damaged: {}", e.detail())))
}

/// Compares the log's newest commit with the anchor kept outside the storage engine. The
/// log may be one commit ahead (a crash between the commit's flush and the anchor's
/// write); it may never be behind, or disagree about the anchored commit's hash.
fn check_anchor(store: &dyn Store, head: Option<Head>, anchor: Option<Head>) -> Result<()> {
    let Some(anchor) = anchor else {
        return Ok(());
    };
    let head_seq = head.map_or(0, |head| head.seq);
    if head_seq < anchor.seq {
        return Err(Error::corrupt(format!(
            "the log ends at commit {head_seq}, but commit {} was written and flushed: the \
             storage engine lost commits; restore from a copy (muster export log)",
            anchor.seq
        )));
    }
    let anchored_hash = match head {
        Some(head) if head.seq == anchor.seq => head.hash,
        _ => match store.get(Space::Heads, &seq_key(anchor.seq))? {
            Some(bytes) => {
                decode_head(&bytes)
                    .map_err(|e| {
                        Error::corrupt(format!("head record {}: {}", anchor.seq, e.detail()))
                    })?
                    .hash
            }
            None => {
                let bytes = store
                    .get(Space::Log, &seq_key(anchor.seq))?
                    .ok_or_else(|| Error::corrupt(format!("commit {} is missing", anchor.seq)))?;
                Commit::decode(&bytes)
                    .map_err(|e| Error::corrupt(format!("commit {}: {}", anchor.seq, e.detail())))?
                    .1
            }
        },
    };
    if anchored_hash != anchor.hash {
        return Err(Error::corrupt(format!(
            "commit {} is not the commit that was written (its hash differs from the head \
             anchor): the log was altered",
            anchor.seq
        )));
    }
    Ok(())
}

pub(crate) fn decode_at(key: &[u8], bytes: &[u8]) -> Result<Commit> {
    let seq = key_seq(key)?;
    let (commit, _) = Commit::decode(bytes)
        .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
    Ok(commit)
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
