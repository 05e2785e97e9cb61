//! `muster verify`: every checksum, the hash chain, the head index and anchor, the
//! derived state against a fresh fold of the log, and the vault against the log's
//! personal records.
//!
//! Owns: [`Verdict`] and [`Ledger::verify`].
//! Must not: repair anything (that is `rebuild` and opening); a broken ledger is an
//! answer, not an error.

use crate::error::Result;
use crate::ledger::names::LoggedPersonal;
use crate::ledger::Ledger;
use crate::log::commit::{Commit, GENESIS_HASH};
use crate::log::head::decode_head;
use crate::log::head::key_seq;
use crate::log::head::seq_key;
use crate::log::personal::value_digest;
use crate::projection::{Fold, Projection};
use crate::storage::derived;
use crate::storage::derived::DerivedFile;
use crate::storage::store::Space;
use crate::storage::vault::Vault;

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
        let mut personal = LoggedPersonal::default();
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
            personal.add(&commit);
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
        if let Some(reason) = self.check_vault(&personal, commits, previous)? {
            return Ok(broken(None, &reason));
        }
        Ok(Verdict::Sound { commits, facts })
    }

    /// The vault against the log: tagged with the head; every live value present and
    /// matching its digest unless an erasure covers it; nothing else held (no erased
    /// member's value, no superseded value); the erased members the log records. Returns
    /// what is wrong, naming subjects but never a value.
    fn check_vault(
        &self,
        logged: &LoggedPersonal,
        commits: u64,
        head_hash: crate::log::hash::Hash,
    ) -> Result<Option<String>> {
        const REPAIR: &str = "run `muster rebuild` to keep what the log vouches for and learn                               what is lost; restore lost names with `muster import log BACKUP`";
        let vault = match Vault::load(self.store()) {
            Ok(Some(vault)) => vault,
            Ok(None) if commits == 0 => return Ok(None),
            Ok(None) => {
                let names = logged.referenced().count();
                return Ok(Some(format!(
                    "muster.vault is missing ({names} names recorded in the log are lost);                      {REPAIR}"
                )));
            }
            Err(error) => return Ok(Some(format!("{}; {REPAIR}", error.detail()))),
        };
        if vault.through_seq != commits || vault.through_hash != head_hash {
            return Ok(Some(format!(
                "muster.vault reflects commit {} of another history, or the log ends at                  {commits}; {REPAIR}",
                vault.through_seq
            )));
        }
        if vault.erased.iter().ne(logged.erased.iter()) {
            return Ok(Some(format!(
                "muster.vault's erased members differ from the log's; {REPAIR}"
            )));
        }
        let mut lost = 0usize;
        let mut referenced = 0usize;
        for ((subject, field), &(seq, digest)) in logged.referenced() {
            referenced += 1;
            let Some(entry) = vault.live(subject, *field, commits) else {
                return Ok(Some(format!(
                    "muster.vault lacks the {} of {subject} (commit {seq}); {REPAIR}",
                    field.as_str()
                )));
            };
            match &entry.value {
                _ if entry.seq != seq => {
                    return Ok(Some(format!(
                        "muster.vault holds the {} of {subject} from commit {}, but the log's                          latest is commit {seq}; {REPAIR}",
                        field.as_str(),
                        entry.seq
                    )))
                }
                None => lost += 1,
                Some(value) if value_digest(&entry.salt, subject, *field, value) != digest => {
                    return Ok(Some(format!(
                        "the {} of {subject} in muster.vault does not match its digest in                          commit {seq}; {REPAIR}",
                        field.as_str()
                    )))
                }
                Some(_) => {}
            }
        }
        if vault.entries.len() != referenced {
            let extra = vault
                .entries
                .iter()
                .find(|entry| {
                    logged
                        .live
                        .get(&(entry.subject.clone(), entry.field))
                        .is_none_or(|&(seq, _)| {
                            seq != entry.seq || logged.is_erased(&entry.subject)
                        })
                })
                .map_or_else(
                    || "a value".to_string(),
                    |entry| format!("a value of {}", entry.subject),
                );
            return Ok(Some(format!(
                "muster.vault holds {extra} that the log does not make live (erased or                  superseded); {REPAIR}"
            )));
        }
        if lost > 0 {
            return Ok(Some(format!(
                "{lost} names recorded in the log are lost (recorded as lost by `muster                  rebuild`); restore them from a backup with `muster import log BACKUP`, or                  import their source again"
            )));
        }
        Ok(None)
    }
}

fn broken(seq: Option<u64>, reason: &str) -> Verdict {
    Verdict::Broken {
        seq,
        reason: reason.to_string(),
    }
}
