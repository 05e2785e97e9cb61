//! Deciding what a sync must change: from the commit a database was last synced to (its
//! sync state) and the ledger as it stands, the spans to remove and add, the names to set
//! and remove, and the commits to list.
//!
//! Owns: [`Synced`], [`SyncPlan`], [`Decision`] and [`decide`], the one rule of what a
//! database must hold to equal the ledger (docs/postgres.md).
//! Must not: talk to a database or write anything (`sync::postgres` applies a plan); open
//! or lock the ledger (the caller hands it over).

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::log::hash::{hex, Hash};
use crate::log::personal::Subject;
use crate::model::{Change, GroupId, Span};
use crate::progress::Progress;
use crate::query::membership::{self, SpanRecord};
use crate::query::resolved_history;

/// The commit a database holds the ledger through: what its sync state records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synced {
    pub seq: u64,
    pub hash: Hash,
}

/// One commit as the database lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRow {
    pub seq: u64,
    pub recorded_at_ms: i64,
    /// The source's kind (`sb`, `facts`, `names`, `forget`, ...).
    pub source: String,
    /// The files the import read, by name, in the order the commit lists them.
    pub files: Vec<String>,
    pub facts: u64,
    pub hash: Hash,
}

/// Everything one sync changes, applied in one transaction with the new sync state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    /// What the database held before (`None`: nothing, or replaced whole).
    pub from: Option<Synced>,
    /// What it holds after: the ledger's head.
    pub through: Synced,
    /// Replace the tenant's rows whole (a first sync, or `--full`), rather than change
    /// them: every row the tenant has is removed first.
    pub replace: bool,
    pub commits: Vec<CommitRow>,
    /// Spans the database holds that the ledger no longer has, sorted.
    pub removed: Vec<Span>,
    /// Spans the ledger has that the database does not hold yet, sorted.
    pub added: Vec<Span>,
    /// The same for the resolved spans (through nesting, less exclusions).
    pub resolved_removed: Vec<Span>,
    pub resolved_added: Vec<Span>,
    /// Names to set (new or changed), sorted by subject.
    pub names_set: Vec<(Subject, String)>,
    /// Subjects whose name must go (erased, or never had one), sorted.
    pub names_removed: Vec<Subject>,
}

/// What a sync must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The database already holds the ledger through its head: nothing to change.
    UpToDate(Synced),
    Apply(Box<SyncPlan>),
}

/// The error a database that follows another history gets: nothing is changed.
fn diverged(tenant: &str, detail: String) -> Error {
    Error::new(
        ErrorKind::Diverged,
        format!(
            "tenant {tenant}: {detail}. The ledger was restored from an older backup, or \
             another ledger syncs under this tenant; nothing was changed. `--tenant NAME` \
             syncs this ledger under another tenant; `--full` replaces this tenant's rows \
             with this ledger's (docs/postgres.md)"
        ),
    )
}

/// Decides what makes a database that holds `state` (the tenant's sync state; `None` for
/// a tenant never synced) equal to `ledger` as it stands. `full` replaces the tenant's rows
/// whole, whatever they are.
///
/// Refused, as [`ErrorKind::Diverged`], when the state names a commit the ledger does not
/// have, or has with another hash: applying later commits on top would mix two histories.
pub fn decide(
    ledger: &Ledger,
    tenant: &str,
    state: Option<Synced>,
    full: bool,
    progress: &dyn Progress,
) -> Result<Decision> {
    let head = Synced {
        seq: ledger.head_seq(),
        hash: ledger.head_hash(),
    };
    let from = match (state, full) {
        (_, true) | (None, _) => None,
        (Some(state), false) => {
            check_same_history(ledger, tenant, state)?;
            if state.seq == head.seq {
                return Ok(Decision::UpToDate(head));
            }
            Some(state)
        }
    };
    let after = from.map_or(0, |from| from.seq);
    let mut commits = Vec::new();
    let mut groups = BTreeSet::new();
    let mut subjects = BTreeSet::new();
    for item in ledger.commits_from(after + 1) {
        let (commit, hash) = item?;
        groups.extend(commit.groups.iter().map(|record| record.group.clone()));
        subjects.extend(commit.personal.iter().map(|record| record.subject.clone()));
        subjects.extend(commit.erased.iter().cloned().map(Subject::Member));
        commits.push(CommitRow {
            seq: commit.seq,
            recorded_at_ms: commit.recorded_at_ms,
            source: commit.source.kind.as_str().to_string(),
            files: commit
                .source
                .files
                .iter()
                .map(|file| file.name.clone())
                .collect(),
            facts: commit.fact_count() as u64,
            hash,
        });
    }
    if from.is_none() {
        // A whole copy lists every name the vault holds, not only those set by the commits
        // read (names moved in from an older ledger's side file have no commit of their own).
        subjects.extend(ledger.named_subjects()?);
        groups.extend(ledger.group_ids()?);
    }
    let spans = span_changes(ledger, &groups, from.map(|from| from.seq), progress)?;
    let (names_set, mut names_removed) = name_changes(ledger, subjects)?;
    if from.is_none() {
        // Replacing removes every name the tenant had: nothing is left to remove.
        names_removed.clear();
    }
    Ok(Decision::Apply(Box::new(SyncPlan {
        from,
        through: head,
        replace: from.is_none(),
        commits,
        removed: spans.direct.removed,
        added: spans.direct.added,
        resolved_removed: spans.resolved.removed,
        resolved_added: spans.resolved.added,
        names_set,
        names_removed,
    })))
}

/// Refuses a state the ledger's history does not contain.
fn check_same_history(ledger: &Ledger, tenant: &str, state: Synced) -> Result<()> {
    if state.seq > ledger.head_seq() {
        return Err(diverged(
            tenant,
            format!(
                "the database holds commits through {}, but this ledger ends at commit {}",
                state.seq,
                ledger.head_seq()
            ),
        ));
    }
    if state.seq == 0 {
        return Ok(());
    }
    let (_, hash) = ledger.commit_at(state.seq)?;
    if hash != state.hash {
        return Err(diverged(
            tenant,
            format!(
                "the database holds commit {} with hash {}, but this ledger's commit {} has \
                 hash {}",
                state.seq,
                hex(&state.hash),
                state.seq,
                hex(&hash)
            ),
        ));
    }
    Ok(())
}

/// `groups` and every group above one of them, on any date (a parent's timeline of a
/// subgroup keeps every fact, so the parents now include those of any earlier commit).
fn groups_above(ledger: &Ledger, groups: &BTreeSet<GroupId>) -> Result<BTreeSet<GroupId>> {
    let mut seen = BTreeSet::new();
    let mut next: Vec<GroupId> = groups.iter().cloned().collect();
    while let Some(group) = next.pop() {
        if seen.insert(group.clone()) {
            next.extend(ledger.group_state(&group)?.parents.keys().cloned());
        }
    }
    Ok(seen)
}

/// Whether `group` ever had a subgroup or excluded a member. Without either, its resolved
/// members are its direct ones on every date, so its resolved spans are its direct spans.
fn is_nested(ledger: &Ledger, group: &GroupId) -> Result<bool> {
    let state = ledger.group_state(group)?;
    Ok(!state.subgroups.is_empty()
        || state.members.values().any(|timeline| {
            timeline
                .entries()
                .iter()
                .any(|entry| entry.change == Change::Exclude)
        }))
}

/// The spans one table must lose and gain.
#[derive(Default)]
struct SpanDiff {
    removed: Vec<Span>,
    added: Vec<Span>,
}

impl SpanDiff {
    /// Adds the spans that went (held `then`, not `now`) and came.
    fn extend(&mut self, then: &BTreeSet<Span>, now: &BTreeSet<Span>) {
        self.removed.extend(then.difference(now).cloned());
        self.added.extend(now.difference(then).cloned());
    }
}

/// What both span tables must lose and gain.
struct SpanChanges {
    direct: SpanDiff,
    resolved: SpanDiff,
}

/// The spans of `groups` that went (held after commit `before`, not now) and came (held
/// now, not after `before`), direct and resolved; nothing is held before the first commit.
/// A group's resolved spans change with its own facts and with those of any group below
/// it, so every group above a touched one is resolved too; a group without nesting takes
/// its direct spans as its resolved ones, read once.
fn span_changes(
    ledger: &Ledger,
    groups: &BTreeSet<GroupId>,
    before: Option<u64>,
    progress: &dyn Progress,
) -> Result<SpanChanges> {
    let above = groups_above(ledger, groups)?;
    progress.start("reading spans", above.len() as u64);
    let mut changes = SpanChanges {
        direct: SpanDiff::default(),
        resolved: SpanDiff::default(),
    };
    let spans_of = |history: &dyn Fn(Option<u64>) -> Result<Vec<SpanRecord>>| {
        let spans = |as_of| -> Result<BTreeSet<Span>> {
            Ok(history(as_of)?
                .into_iter()
                .map(|record| record.span)
                .collect())
        };
        let then = match before {
            Some(before) => spans(Some(before))?,
            None => BTreeSet::new(),
        };
        Ok::<_, crate::error::Error>((then, spans(None)?))
    };
    for group in &above {
        let nested = is_nested(ledger, group)?;
        let touched = groups.contains(group);
        if touched || !nested {
            let (then, now) = spans_of(&|as_of| membership::group_history(ledger, group, as_of))?;
            if touched {
                changes.direct.extend(&then, &now);
            }
            if !nested {
                changes.resolved.extend(&then, &now);
            }
        }
        if nested {
            let (then, now) =
                spans_of(&|as_of| resolved_history::group_history(ledger, group, as_of))?;
            changes.resolved.extend(&then, &now);
        }
        progress.advance(1);
    }
    progress.finish();
    Ok(changes)
}

/// Names to set, and subjects whose name must go.
type NameChanges = (Vec<(Subject, String)>, Vec<Subject>);

/// For each subject, its live name to set, or its removal when it has none (erased).
fn name_changes(ledger: &Ledger, subjects: BTreeSet<Subject>) -> Result<NameChanges> {
    let mut set = Vec::new();
    let mut removed = Vec::new();
    for subject in subjects {
        let name = match &subject {
            Subject::Member(member) => ledger.member_name(member)?,
            Subject::Group(group) => ledger.group_name(group)?,
        };
        match name {
            Some(name) => set.push((subject, name)),
            None => removed.push(subject),
        }
    }
    Ok((set, removed))
}
