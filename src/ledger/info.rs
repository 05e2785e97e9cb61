//! What `muster info` tells about a ledger: its commits, groups and members, the dates it
//! has observed, the last import, the format versions it holds and the disk it uses.
//!
//! Owns: [`Info`], [`LastImport`], [`Versions`] and [`Ledger::info`].
//! Must not: write anything, or format output (the binary renders an [`Info`]).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::ledger::Ledger;
use crate::log::commit::COMMIT_VERSION;
use crate::log::source::{Source, SourceKind};
use crate::model::Date;
use crate::storage::derived::DERIVED_VERSION;

/// A ledger described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The ledger directory, as given.
    pub path: PathBuf,
    pub commits: u64,
    pub groups: usize,
    pub members: usize,
    /// The first and last date any group was observed on or any membership starts or ends
    /// on; `None` for an empty ledger.
    pub dates: Option<(Date, Date)>,
    /// The newest commit that imported something (an erasure is not an import).
    pub last_import: Option<LastImport>,
    pub versions: Versions,
    /// Bytes of every file in the ledger directory.
    pub disk_bytes: u64,
}

/// The newest import: its commit, when it was recorded and what it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastImport {
    pub commit: u64,
    /// UTC milliseconds since 1970-01-01.
    pub recorded_at_ms: i64,
    pub source: Source,
}

/// The format versions a ledger holds (docs/format.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versions {
    /// The body versions of the oldest and the newest commit, sorted, without repeats
    /// (commits are written in one version after another, so these are every version the
    /// log holds); empty for an empty ledger.
    pub commit_bodies: Vec<u16>,
    /// The body version this muster writes new commits in.
    pub commit_written: u16,
    /// The derived-state file's layout version.
    pub derived: u16,
}

impl Ledger {
    /// Describes the ledger, which lives in `directory`.
    pub fn info(&self, directory: &Path) -> Result<Info> {
        let commits = self.head_seq();
        let groups = self.group_ids()?;
        let mut dates: Option<(Date, Date)> = None;
        let mut widen = |date: Date| {
            dates = Some(match dates {
                None => (date, date),
                Some((first, last)) => (first.min(date), last.max(date)),
            });
        };
        for group in &groups {
            let state = self.group_state(group)?;
            if let (Some(first), Some(last)) = (state.observed.first(), state.observed.last()) {
                widen(*first);
                widen(*last);
            }
            for timeline in state.members.values() {
                if let (Some(first), Some(last)) =
                    (timeline.entries().first(), timeline.entries().last())
                {
                    widen(first.date);
                    widen(last.date);
                }
            }
        }
        let mut last_import = None;
        for seq in (1..=commits).rev() {
            let (commit, _) = self.commit_at(seq)?;
            if commit.source.kind != SourceKind::Forget {
                last_import = Some(LastImport {
                    commit: seq,
                    recorded_at_ms: commit.recorded_at_ms,
                    source: commit.source,
                });
                break;
            }
        }
        let mut commit_bodies = Vec::new();
        for seq in [1, commits] {
            if seq >= 1 && seq <= commits {
                commit_bodies.push(self.commit_at(seq)?.0.format_version);
            }
        }
        commit_bodies.sort_unstable();
        commit_bodies.dedup();
        Ok(Info {
            path: directory.to_path_buf(),
            commits,
            groups: groups.len(),
            members: self.member_ids()?.len(),
            dates,
            last_import,
            versions: Versions {
                commit_bodies,
                commit_written: COMMIT_VERSION,
                derived: DERIVED_VERSION,
            },
            disk_bytes: crate::storage::files::directory_bytes(directory)?,
        })
    }
}
