//! Backups and catch-up through the portable log: writing the commits out, and appending
//! those a ledger lacks from a file read by `import::portable`.
//!
//! Owns: [`Ledger::export_log`], [`Ledger::import_log`], [`Ledger::replay`] and what it
//! refuses (gaps and forks), deciding for every line before writing any.
//! Must not: write to the store itself (appending goes through
//! [`Ledger::append_replayed`], which keeps the import's write/flush discipline).

use std::io::{BufRead, Write};
use std::path::Path;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::import::portable::PortableLog;
use crate::ledger::Ledger;
use crate::log::portable;

/// What [`Ledger::replay`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOutcome {
    /// Commits in the file.
    pub read: usize,
    /// Commits the ledger already held (same number, same hash).
    pub skipped: usize,
    /// Sequence numbers appended, in order.
    pub appended: Vec<u64>,
    /// The last commit appended is recorded but not finished; the commits after it were
    /// not appended (the same import again appends them, once the cause is fixed).
    pub unfinished: Option<crate::ledger::Unfinished>,
    /// Personal values the ledger had lost (or never had) restored from the file.
    pub restored_values: usize,
}

impl Ledger {
    /// Writes the commits after `since` (all when `None`) as JSON lines, oldest first.
    /// Returns how many were written. A `since` past the end of the log is bad input, as
    /// an `--as-of` past it is: a copy cannot end at a commit this ledger never made.
    /// `since` equal to the head writes nothing (the copy is up to date).
    pub fn export_log(&self, since: Option<u64>, writer: &mut dyn Write) -> Result<usize> {
        let after = since.unwrap_or(0);
        if after > self.head_seq() {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "--since {after}: there is no such commit (the log ends at {})",
                    self.head_seq()
                ),
            ));
        }
        let mut written = 0;
        for item in self.commits() {
            let (commit, hash) = item?;
            if commit.seq <= after {
                continue;
            }
            let values = self.values_of(&commit)?;
            let line = portable::line(&commit, &hash, &values)?;
            writeln!(writer, "{line}")
                .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the log: {e}")))?;
            written += 1;
        }
        writer
            .flush()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the log: {e}")))?;
        Ok(written)
    }

    /// Replays a portable log. Commits the ledger already holds are skipped; the rest must
    /// continue this ledger's chain. The whole file is checked before anything is
    /// written; `origin` names the file in errors.
    pub fn import_log(
        &mut self,
        reader: &mut impl BufRead,
        origin: &Path,
    ) -> Result<ReplayOutcome> {
        let log = PortableLog::read(reader, origin)?;
        self.replay(&log)
    }

    /// Appends the commits of `log` this ledger lacks, after checking every one against
    /// the ledger (skipped, new, or refused as a fork or a gap) before writing any.
    pub fn replay(&mut self, log: &PortableLog) -> Result<ReplayOutcome> {
        let (commits, origin) = (&log.commits, log.origin.as_path());
        let mut outcome = ReplayOutcome {
            read: commits.len(),
            skipped: 0,
            appended: Vec::new(),
            unfinished: None,
            restored_values: 0,
        };
        // Decide for every line before writing: present, new, or refused.
        let mut head = self.head_seq();
        let mut head_hash = self.head_hash();
        let mut new_from = commits.len();
        for (index, (line_number, commit, hash)) in commits.iter().enumerate() {
            let place = Place::file(origin).line(*line_number);
            if commit.seq <= self.head_seq() {
                let (_, ours) = self.commit_at(commit.seq)?;
                if ours != *hash {
                    return Err(Error::input(
                        place,
                        format!(
                            "commit {} differs from this ledger's commit {} (the logs have \
                             forked); nothing was imported",
                            commit.seq, commit.seq
                        ),
                    ));
                }
                outcome.skipped += 1;
                continue;
            }
            if commit.seq > head + 1 {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {} would leave a gap: this ledger ends at commit {head}; \
                         export with --since {head}; nothing was imported",
                        commit.seq
                    ),
                ));
            }
            if commit.previous_hash != head_hash {
                return Err(Error::input(
                    place,
                    format!(
                        "commit {} does not follow this ledger's commit {head} (the logs have \
                         forked); nothing was imported",
                        commit.seq
                    ),
                ));
            }
            new_from = new_from.min(index);
            head = commit.seq;
            head_hash = *hash;
        }
        // Every new commit must also apply cleanly to the derived state.
        self.check_replay(commits[new_from..].iter().map(|(_, commit, _)| commit))?;
        for (_, commit, _) in &commits[new_from..] {
            let values = log.values.get(&commit.seq).map_or(&[][..], Vec::as_slice);
            let unfinished = self.append_replayed(commit, values)?;
            outcome.appended.push(commit.seq);
            if unfinished.is_some() {
                outcome.unfinished = unfinished;
                break;
            }
        }
        // Values of commits this ledger already held, that it lacks (a lost or damaged
        // vault): the backup brings them back.
        let held: std::collections::BTreeMap<_, _> = commits[..new_from]
            .iter()
            .filter_map(|(_, commit, _)| {
                log.values
                    .get(&commit.seq)
                    .map(|values| (commit.seq, values.clone()))
            })
            .collect();
        if !held.is_empty() {
            outcome.restored_values = self.restore_values(&held)?;
        }
        Ok(outcome)
    }
}
