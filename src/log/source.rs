//! What an import read: its kind, its files with their digests, the options that changed
//! how they were read; and the input fingerprint that recognises a re-import.
//!
//! Owns: [`Source`], [`SourceKind`], [`SourceFile`] and their limits, and the two
//! fingerprints of an input: of its bytes, and (for SB) of its statements.
//! Must not: read files (importers hand over the bytes' digests).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::log::hash::Hash;
use crate::model::MAX_SOURCE_NAME_BYTES;

/// What an import read: its kind, the files with their SHA-256 digests, and the options
/// that changed how they were read.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    pub files: Vec<SourceFile>,
    /// Options that changed what was read from the files, as `name=value` (for `import sb`,
    /// `start=DATE`); empty for a plain import. Body version 2 only: version 1 has no
    /// place for them (its serde layout must not change), so a version-1 commit has none.
    #[serde(skip)]
    pub options: Vec<String>,
}

impl Source {
    /// A source without options.
    pub fn new(kind: SourceKind, files: Vec<SourceFile>) -> Source {
        Source {
            kind,
            files,
            options: Vec::new(),
        }
    }

    /// The files read, without the statements entry (see [`STATEMENTS_FILE`]).
    fn read_files(&self) -> impl Iterator<Item = &SourceFile> {
        let kind = self.kind;
        self.files
            .iter()
            .filter(move |file| !(kind == SourceKind::SchoolBase && file.name == STATEMENTS_FILE))
    }

    /// What identifies this input's bytes: SHA-256 over the kind, the options and every
    /// file's name and digest (the statements entry of an SB source left out, so that the
    /// fingerprint is known before the files are parsed). Importing input with a
    /// fingerprint the log already holds records nothing (imports are idempotent), so it
    /// need not be read again. `None` for a source with no files (nothing identifies it),
    /// for an erasure, and for names (a names file read again after a rename must set its
    /// names again).
    pub fn fingerprint(&self) -> Option<Hash> {
        let files: Vec<&SourceFile> = self.read_files().collect();
        if files.is_empty() || matches!(self.kind, SourceKind::Forget | SourceKind::Names) {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(self.kind.as_str().as_bytes());
        hasher.update([0]);
        for (count, texts) in [
            (
                self.options.len(),
                self.options.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            (files.len(), files.iter().map(|f| f.name.as_str()).collect()),
        ] {
            hasher.update((count as u64).to_be_bytes());
            for text in texts {
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
        for file in &files {
            hasher.update(file.digest);
        }
        Some(hasher.finalize().into())
    }

    /// What identifies what an SB import said, whatever bytes said it: SHA-256 over
    /// `statements`, a zero byte, the options (as in [`Source::fingerprint`]) and the
    /// digest of the statements entry. `None` for a source without that entry (every
    /// source but an SB import's, and SB imports recorded before it existed).
    pub fn statements_fingerprint(&self) -> Option<Hash> {
        if self.kind != SourceKind::SchoolBase {
            return None;
        }
        let statements = self.files.iter().find(|f| f.name == STATEMENTS_FILE)?;
        let mut hasher = Sha256::new();
        hasher.update(b"statements\0");
        hasher.update((self.options.len() as u64).to_be_bytes());
        for option in &self.options {
            hasher.update((option.len() as u64).to_be_bytes());
            hasher.update(option.as_bytes());
        }
        hasher.update(statements.digest);
        Some(hasher.finalize().into())
    }

    /// Every fingerprint that recognises this input again: of its bytes and, for an SB
    /// import, of its statements.
    pub fn fingerprints(&self) -> impl Iterator<Item = Hash> {
        self.fingerprint()
            .into_iter()
            .chain(self.statements_fingerprint())
    }
}

/// The name of the entry an SB source holds beside its files: its digest is of the
/// statements the export made (every session's pupils, the names, see
/// `import::sb::Export::statements_digest`), so that the same export in other bytes (CRLF
/// or LF, with or without a BOM, Windows-1252 or UTF-8) is recognised as recorded. No file
/// of an SB export has this name (they are fixed; see `import::sb::REQUIRED_FILES`).
pub const STATEMENTS_FILE: &str = "(statements)";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum SourceKind {
    Observations,
    Facts,
    Spans,
    SchoolBase,
    Forget,
    /// `import names`, or the names an older ledger kept beside the log, moved in once.
    Names,
    /// `import nesting`: subgroup facts.
    Nesting,
}

impl SourceKind {
    /// The kind's stored number: its place in [`SourceKind::ALL`], which is its position in
    /// declaration order (serde's variant index, what a version-1 commit writes), so every
    /// format spells a kind alike.
    pub fn number(self) -> u8 {
        match self {
            SourceKind::Observations => 0,
            SourceKind::Facts => 1,
            SourceKind::Spans => 2,
            SourceKind::SchoolBase => 3,
            SourceKind::Forget => 4,
            SourceKind::Names => 5,
            SourceKind::Nesting => 6,
        }
    }

    /// The kind stored as `number`, if there is one.
    pub fn from_number(number: u32) -> Option<SourceKind> {
        usize::try_from(number)
            .ok()
            .and_then(|index| SourceKind::ALL.get(index).copied())
    }

    /// Every kind, in the order of their stored numbers.
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Observations,
        SourceKind::Facts,
        SourceKind::Spans,
        SourceKind::SchoolBase,
        SourceKind::Forget,
        SourceKind::Names,
        SourceKind::Nesting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Observations => "observations",
            SourceKind::Facts => "facts",
            SourceKind::Spans => "spans",
            SourceKind::SchoolBase => "sb",
            SourceKind::Forget => "forget",
            SourceKind::Names => "names",
            SourceKind::Nesting => "nesting",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub digest: Hash,
}

impl SourceFile {
    pub fn new(name: &str, content: &[u8]) -> SourceFile {
        SourceFile {
            name: truncate_to_char_boundary(name, MAX_SOURCE_NAME_BYTES).to_string(),
            digest: Sha256::digest(content).into(),
        }
    }
}

fn truncate_to_char_boundary(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
