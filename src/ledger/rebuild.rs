//! `muster rebuild`: throw the derived state away and write it again from the log, folded
//! at once (decoding commits on one thread while folding on the other).
//!
//! Owns: [`Ledger::rebuild`] and [`Ledger::rebuild_with`].
//! Must not: change the log.

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::stored_commits;
use crate::ledger::Ledger;
use crate::log::commit::GENESIS_HASH;
use crate::log::head::encode_head;
use crate::log::head::seq_key;
use crate::log::head::Head;
use crate::progress::{NoProgress, Progress};
use crate::projection::Fold;
use crate::storage::derived::{self, DerivedFile};
use crate::storage::store::SideFile;
use crate::storage::store::Space;

/// Decoded commits a rebuild lets its reading thread run ahead by.
const REBUILD_COMMITS_IN_FLIGHT: usize = 2;

impl Ledger {
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
        self.drop_member_numbers();
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
                if fold.has_nesting() {
                    // Exclusions and subgroup facts are few; their states are built in
                    // memory and written whole.
                    let states = fold.finish()?;
                    return derived::write(out, None, &states, head.seq, head.hash);
                }
                derived::write_fold(out, fold.sort()?, head.seq, head.hash)
            })?;
        self.derived = DerivedFile::open(self.store())?;
        progress.finish();
        Ok(())
    }
}
