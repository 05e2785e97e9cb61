//! `muster verify`: every checksum, the hash chain, the head index and anchor, and the
//! derived state against a fresh fold of the log.
//!
//! Owns: [`Verdict`] and [`Ledger::verify`].
//! Must not: repair anything (that is `rebuild` and opening); a broken ledger is an
//! answer, not an error.

use crate::error::Result;
use crate::ledger::Ledger;
use crate::log::commit::{Commit, GENESIS_HASH};
use crate::log::head::decode_head;
use crate::log::head::key_seq;
use crate::log::head::seq_key;
use crate::projection::{Fold, Projection};
use crate::storage::derived;
use crate::storage::derived::DerivedFile;
use crate::storage::store::Space;

/// What `verify` found. A broken ledger is an expected answer, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Sound { commits: u64, facts: u64 },
    Broken { seq: Option<u64>, reason: String },
}

impl Ledger {
    /// Reads every commit (checksums, format, order, hash chain), folds them into fresh
    /// derived state, and compares it with the stored derived state; a ledger opened past
    /// a damaged head anchor is broken even when all that holds.
    pub fn verify(&self) -> Result<Verdict> {
        let verdict = self.verify_log()?;
        match (&verdict, &self.anchor_damage) {
            (Verdict::Sound { commits, .. }, Some(damage)) => Ok(broken(
                None,
                &format!(
                    "{damage}; the log itself is sound through commit {commits}: if that is \
                     the newest commit you know of (compare with a backup or an earlier \
                     `muster log`), `muster reanchor` writes the anchor again from it"
                ),
            )),
            _ => Ok(verdict),
        }
    }

    /// [`Self::verify`] without the head anchor: the log, the head index and the derived
    /// state.
    pub(super) fn verify_log(&self) -> Result<Verdict> {
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
}

pub(crate) fn clip(text: &str, max: usize) -> &str {
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
