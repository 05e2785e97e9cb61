//! `muster reanchor`: writing the head anchor (`muster.head`) again from the log, when the
//! anchor is damaged and the log is not.
//!
//! Owns: [`Ledger::reanchor`] and [`Reanchored`].
//! Must not: change the log, or replace an anchor that is readable: an anchor that reads
//! but disagrees with the log is the evidence that the log lost or changed commits, and
//! re-anchoring would destroy it (opening refuses such a ledger; restore from a copy).

use crate::error::{Error, Result};
use crate::ledger::{Ledger, Verdict};
use crate::log::hash::Hash;
use crate::storage::anchor::write_anchor;

/// What `reanchor` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reanchored {
    /// The anchor was damaged and now names this commit (number and hash).
    Written { commit: u64, hash: Hash },
    /// The anchor was readable and agrees with the log (which ends at this commit):
    /// nothing to do.
    AlreadySound { commit: u64 },
}

impl Ledger {
    /// Checks the whole log (as `verify` does, without the anchor) and, when it is sound,
    /// writes the anchor from its newest commit. Open the ledger past a damaged anchor
    /// first ([`crate::ledger::OpenOptions::past_a_damaged_anchor`]).
    pub fn reanchor(&mut self) -> Result<Reanchored> {
        if self.anchor_damage.is_none() {
            // A readable anchor that opened agrees with the log (opening checked it, and
            // moved it on when it lagged).
            return Ok(Reanchored::AlreadySound {
                commit: self.head_seq(),
            });
        }
        if let Verdict::Broken { seq, reason } = self.verify_log()? {
            let at = seq.map(|seq| format!("commit {seq}: ")).unwrap_or_default();
            return Err(Error::corrupt(format!(
                "the log itself is damaged ({at}{reason}); writing the anchor from it would \
                 hide that: restore the ledger from a copy (muster import log)"
            )));
        }
        let Some(head) = self.head else {
            return Err(Error::corrupt(
                "the log holds no commit, so there is nothing to anchor; a damaged anchor \
                 beside an empty log means the log was lost: restore it from a copy \
                 (muster import log)",
            ));
        };
        write_anchor(self.store(), head)?;
        self.anchor_damage = None;
        Ok(Reanchored::Written {
            commit: head.seq,
            hash: head.hash,
        })
    }
}
