//! Keeping an outside database equal to the ledger, exactly once: the top layer, above
//! `query`. Each sync decides, from the commit the database was last synced to, what its
//! rows must become (`plan`), then writes that and the new sync state in one transaction
//! (`postgres`): a sync that dies half way leaves nothing, one run again applies what lies
//! after the state, and a database that follows another history is refused.
//!
//! Owns: [`Tenant`], [`SyncOptions`], [`sync_once`], [`follow`] and their outcome.
//! Must not: write to the ledger (it is only read, under its lock, and released before
//! the database is written), or be used by any layer below it.

pub mod plan;
pub mod postgres;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::{Ledger, OpenOptions};
use crate::model::MAX_ID_BYTES;
use crate::progress::Progress;
use crate::sync::plan::{decide, Decision};
use crate::sync::postgres::Database;
use crate::sync::schema::SchemaName;

/// Longest tenant name, in bytes: a tenant is usually a school's ledger directory name or
/// an id, so the id limit fits it.
pub const MAX_TENANT_BYTES: usize = MAX_ID_BYTES;

/// Whose rows these are in a database many ledgers sync into: one tenant per ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant(String);

impl Tenant {
    /// Validates `text`: 1 to [`MAX_TENANT_BYTES`] bytes, no control characters, no
    /// leading or trailing spaces.
    pub fn new(text: &str) -> Result<Tenant> {
        let valid = !text.is_empty()
            && text.len() <= MAX_TENANT_BYTES
            && !text.chars().any(char::is_control)
            && text.trim() == text;
        if !valid {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "--tenant {text:?}: a tenant is 1 to {MAX_TENANT_BYTES} bytes, without \
                     control characters or spaces at either end"
                ),
            ));
        }
        Ok(Tenant(text.to_string()))
    }

    /// The default tenant of the ledger at `path`: its directory's name.
    pub fn of_ledger(path: &Path) -> Result<Tenant> {
        let absolute = std::path::absolute(path).map_err(|e| Error::io(path, &e))?;
        let name = absolute
            .components()
            .next_back()
            .and_then(|last| last.as_os_str().to_str())
            .unwrap_or_default()
            .to_string();
        Tenant::new(&name).map_err(|_| {
            Error::new(
                ErrorKind::Input,
                format!(
                    "the ledger directory {} has no name that can be a tenant: give one \
                     with --tenant NAME",
                    path.display()
                ),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one sync needs to know.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The ledger directory.
    pub ledger: PathBuf,
    /// A libpq connection string or URI.
    pub url: String,
    pub tenant: Tenant,
    pub schema: SchemaName,
    /// Replace the tenant's rows whole, whatever sync state they have.
    pub full: bool,
    /// How long to wait for the ledger's lock, and for another sync of the same tenant.
    pub wait: Duration,
}

/// What one sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncOutcome {
    pub tenant: String,
    /// The commit the database held the ledger through before (0: nothing).
    pub from_seq: u64,
    /// The commit it holds the ledger through now: the ledger's head.
    pub through_seq: u64,
    /// Whether the tenant's rows were replaced whole (a first sync, or `--full`).
    pub replaced: bool,
    pub commits: usize,
    pub spans_added: usize,
    pub spans_removed: usize,
    /// The same for the resolved spans (through nesting, less exclusions).
    pub resolved_added: usize,
    pub resolved_removed: usize,
    pub names_set: usize,
    pub names_removed: usize,
    pub took: Duration,
}

impl SyncOutcome {
    /// Whether the sync found the database already equal to the ledger.
    pub fn up_to_date(&self) -> bool {
        self.from_seq == self.through_seq && !self.replaced
    }
}

/// Makes the database at `options.url` equal to the ledger at `options.ledger`, in one
/// transaction with the tenant's new sync state.
pub fn sync_once(options: &SyncOptions, progress: &dyn Progress) -> Result<SyncOutcome> {
    let mut database = Database::connect(&options.url, options.schema.clone())?;
    sync_with(&mut database, options, progress)
}

fn sync_with(
    database: &mut Database,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncOutcome> {
    let started = Instant::now();
    // The tenant's lock first, then the ledger's: a second sync waits on the database
    // without holding the ledger, so imports are never kept waiting on it.
    let mut transaction = database.begin(&options.tenant, options.wait)?;
    let state = transaction.state()?;
    let decision = {
        let ledger = Ledger::open(
            &options.ledger,
            OpenOptions {
                lock_wait: options.wait,
                ..OpenOptions::default()
            }
            .existing(),
        )?;
        decide(
            &ledger,
            options.tenant.as_str(),
            state,
            options.full,
            progress,
        )?
    };
    let from_seq = state.map_or(0, |state| state.seq);
    let plan = match decision {
        Decision::UpToDate(head) => {
            return Ok(SyncOutcome {
                tenant: options.tenant.to_string(),
                from_seq,
                through_seq: head.seq,
                replaced: false,
                commits: 0,
                spans_added: 0,
                spans_removed: 0,
                resolved_added: 0,
                resolved_removed: 0,
                names_set: 0,
                names_removed: 0,
                took: started.elapsed(),
            })
        }
        Decision::Apply(plan) => plan,
    };
    transaction.apply(&plan, progress)?;
    Ok(SyncOutcome {
        tenant: options.tenant.to_string(),
        from_seq,
        through_seq: plan.through.seq,
        replaced: plan.replace,
        commits: plan.commits.len(),
        spans_added: plan.added.len(),
        spans_removed: plan.removed.len(),
        resolved_added: plan.resolved_added.len(),
        resolved_removed: plan.resolved_removed.len(),
        names_set: plan.names_set.len(),
        names_removed: plan.names_removed.len(),
        took: started.elapsed(),
    })
}

/// Syncs, then keeps syncing each new commit as it lands, looking every `poll`, until
/// `stop` is set (by SIGINT or SIGTERM in the binary). A sync under way when `stop` is
/// set finishes first: the database is never left between two states. `report` is told
/// of each sync that changed something (and of the first, whatever it did).
pub fn follow(
    options: &SyncOptions,
    poll: Duration,
    stop: &AtomicBool,
    progress: &dyn Progress,
    report: &mut dyn FnMut(&SyncOutcome) -> Result<()>,
) -> Result<()> {
    let mut database = Database::connect(&options.url, options.schema.clone())?;
    let first = sync_with(&mut database, options, progress)?;
    let mut synced: Option<(u64, crate::log::hash::Hash)> =
        Ledger::peek_head(&options.ledger)?.filter(|(seq, _)| *seq == first.through_seq);
    report(&first)?;
    let follow_options = SyncOptions {
        full: false,
        ..options.clone()
    };
    while !stop.load(Ordering::SeqCst) {
        sleep_unless_stopped(poll, stop);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Reading the anchor takes no lock: opening the ledger only when it moved keeps
        // imports from ever waiting on a follower.
        let head = Ledger::peek_head(&options.ledger)?;
        if head.is_some() && head == synced {
            continue;
        }
        let outcome = sync_with(&mut database, &follow_options, progress)?;
        synced = head.filter(|(seq, _)| *seq == outcome.through_seq);
        if !outcome.up_to_date() {
            report(&outcome)?;
        }
    }
    Ok(())
}

/// The longest a follower sleeps at once, so that a stop is noticed quickly.
const STOP_CHECK: Duration = Duration::from_millis(50);

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep(STOP_CHECK.min(until - now));
    }
}
