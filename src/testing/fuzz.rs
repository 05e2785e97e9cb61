//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`, nightly) and the stable
//! smoke runner (`tests/it/fuzz_smoke.rs`, `scripts/fuzz-smoke`), so both exercise exactly
//! the same code.
//!
//! Owns: one function per target. Each panics only when it finds a bug (a panic is how a
//! fuzzer reports one); on any input the code under test itself must not panic.
//! Must not: be used by the ledger or the CLI; keep a reference model of its own (the
//! `model` target uses the one in [`super::reference`]); it is not part of muster's
//! interface.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ledger::{Ledger, Verdict};
use crate::log::commit::{Commit, COMMIT_VERSION_1, COMMIT_VERSION_2, COMMIT_VERSION_3};
use crate::log::seal::{seal_versioned, Magic};
use crate::model::GroupId;
use crate::storage::memory::MemoryStore;

use super::reference::{Direct, Model, Space, Statement};
use super::{difference, nesting_difference, source, to_batch};

/// `commit_decode`: arbitrary bytes never panic the decoder, and whatever decodes
/// encodes back to the same bytes and decodes to the same commit. When the first byte is
/// odd, the rest is taken as a body and sealed with a correct envelope, so that the
/// fuzzer reaches the body decoders and the commit checks past the CRC: as a version-1
/// body when the byte's second and third bits are clear (what odd bytes meant before
/// version 2, so older corpora keep their meaning), as version 2 when the second is set,
/// as version 3 when the third is.
pub fn commit_decode(data: &[u8]) {
    let sealed;
    let bytes = match data.split_first() {
        Some((mode, body)) if mode & 1 == 1 => {
            let version = match (mode & 2, mode & 4) {
                (_, 4) => COMMIT_VERSION_3,
                (0, _) => COMMIT_VERSION_1,
                _ => COMMIT_VERSION_2,
            };
            match seal_versioned(Magic::Commit, version, body) {
                Ok(value) => {
                    sealed = value;
                    &sealed[..]
                }
                Err(_) => return,
            }
        }
        _ => data,
    };
    if let Ok((commit, hash)) = Commit::decode(bytes) {
        let (encoded, encoded_hash) = commit
            .encode()
            .unwrap_or_else(|error| panic!("a decoded commit does not encode: {error}"));
        assert_eq!(encoded, bytes, "decode then encode changed the bytes");
        assert_eq!(encoded_hash, hash, "decode then encode changed the hash");
        let (again, _) = Commit::decode(&encoded).expect("re-encoded bytes decode");
        assert_eq!(again, commit, "decode(encode(x)) != x");
    }
}

/// Distinguishes temporary files of concurrent runs in one process.
static TEMPORARY_FILES: AtomicU64 = AtomicU64::new(0);

/// `csv_readers`: arbitrary bytes, written to a file, never panic the observation or fact
/// readers; every error they return names the file.
pub fn csv_readers(data: &[u8]) {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "muster-fuzz-{}-{}.csv",
        std::process::id(),
        TEMPORARY_FILES.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, data).is_err() {
        return; // the machine's problem, not the reader's
    }
    for result in [
        crate::import::statements::read_observations(&path).map(|_| ()),
        crate::import::statements::read_facts(&path).map(|_| ()),
    ] {
        if let Err(error) = result {
            assert!(
                error.to_string().contains(&path.display().to_string()),
                "an input error does not name the file: {error}"
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// The `model` target's spaces: consecutive days, so that "the day before" of a
/// carry-forward is the previous model day (the property tests use days weeks apart).
const MODEL_SPACE: Space = Space {
    groups: 2,
    members: 3,
    days: 8,
    step: 1,
};
/// Most operations one input runs (keeps each execution fast).
const MODEL_MAX_OPERATIONS: usize = 64;

/// The statement an operation byte in `0..8` or `16..18` stands for, with its details read
/// from the bytes that follow (zero when they run out): a detail byte spells the group
/// (bit 0), the day (bits 1 to 3) and, for a fact or an exclusion, the member (the rest); a
/// snapshot's members are the bits of one more byte; a subgroup fact names the other group
/// and takes its state (include, exclude, end) from the rest of the detail byte.
fn model_statement(operation: u8, bytes: &mut impl Iterator<Item = u8>) -> Statement {
    let space = MODEL_SPACE;
    let detail = usize::from(bytes.next().unwrap_or(0));
    let group = detail % space.groups;
    let day = (detail / space.groups) % space.days;
    match operation {
        0..=3 => Statement::Fact {
            group,
            member: (detail / (space.groups * space.days)) % space.members,
            day,
            join: operation & 1 == 1,
        },
        4 | 5 => {
            let bits = bytes.next().unwrap_or(0);
            Statement::Snapshot {
                group,
                day,
                members: (0..space.members).filter(|m| bits >> m & 1 == 1).collect(),
            }
        }
        6 => Statement::End { group, day },
        7 => Statement::CarryForward { group, day },
        16 => Statement::Exclude {
            group,
            member: (detail / (space.groups * space.days)) % space.members,
            day,
        },
        _ => Statement::Nesting {
            group,
            subgroup: (group + 1) % space.groups,
            day,
            state: match (detail / (space.groups * space.days)) % 3 {
                0 => Direct::Included,
                1 => Direct::Excluded,
                _ => Direct::None,
            },
        },
    }
}

/// Panics, naming `when`, where the ledger answers differently from the model, directly
/// or through nesting.
fn assert_same(ledger: &Ledger, model: &Model, when: &str) {
    if let Some(difference) = difference(ledger, model) {
        panic!("{when}: {difference}");
    }
    if let Some(difference) = nesting_difference(ledger, model, None) {
        panic!("{when}: {difference}");
    }
}

/// Imports `statements` into the ledger and folds them into the model; they must then
/// answer alike, and the same batch again must append nothing.
fn model_import(ledger: &mut Ledger, model: &mut Model, statements: &[Statement]) {
    let batch = to_batch(&MODEL_SPACE, statements);
    let before = ledger.head_seq();
    // A batch that would make a group contain itself on some day is refused by both.
    let accepted = model.apply(statements);
    let outcome = match ledger.import(&batch, source(), false) {
        Ok(outcome) => outcome,
        Err(error) => {
            assert!(
                !accepted,
                "the ledger refused a batch the model takes: {error}"
            );
            assert!(
                error.detail().contains("cycle"),
                "refused, but not as a cycle: {error}"
            );
            assert_eq!(ledger.head_seq(), before, "a refused batch wrote a commit");
            assert_same(ledger, model, "after a refused import");
            return;
        }
    };
    assert!(
        accepted,
        "the ledger took a batch the model refuses as a cycle"
    );
    assert_eq!(
        outcome.commit.is_some(),
        ledger.head_seq() == before + 1,
        "an import's outcome does not match the log"
    );
    assert_same(ledger, model, "after an import");
    let again = ledger
        .import(&batch, source(), false)
        .expect("a valid batch imports");
    assert!(
        again.commit.is_none() && again.nothing_to_record(),
        "the same batch again appended {again:?}"
    );
}

/// `model`: arbitrary statements (snapshots, ends, carry-forwards, explicit facts,
/// exclusions, subgroup facts), imports of the pending ones (a batch making a cycle is
/// refused by both), re-imports of earlier batches and reopening, against [`MemoryStore`],
/// compared with the naive reference model ([`super::reference`]), directly and through
/// nesting, after each step; at the end `verify` is sound and a portable-log copy answers
/// the same. An operation byte modulo 18 picks the operation: 0 to 7 a statement (see
/// `model_statement`), 8 to 11 an import, 12 and 13 a re-import (the next byte counts
/// batches back), 14 and 15 a reopen, 16 an exclusion and 17 a subgroup fact.
pub fn model(data: &[u8]) {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).expect("an empty store opens");
    let mut model = Model::new(MODEL_SPACE);
    let mut pending: Vec<Statement> = Vec::new();
    let mut history: Vec<Vec<Statement>> = Vec::new();
    let mut bytes = data.iter().copied();
    for _ in 0..MODEL_MAX_OPERATIONS {
        let Some(operation) = bytes.next() else { break };
        match operation % 18 {
            statement @ (0..=7 | 16 | 17) => pending.push(model_statement(statement, &mut bytes)),
            8..=11 => {
                let statements = std::mem::take(&mut pending);
                model_import(&mut ledger, &mut model, &statements);
                history.push(statements);
            }
            12 | 13 => {
                let back = usize::from(bytes.next().unwrap_or(0));
                if !history.is_empty() {
                    let statements = history[history.len() - 1 - back % history.len()].clone();
                    model_import(&mut ledger, &mut model, &statements);
                }
            }
            _ => {
                drop(ledger);
                ledger = Ledger::with_store(Box::new(store.clone())).expect("the ledger reopens");
                assert_same(&ledger, &model, "after a reopen");
            }
        }
    }
    assert!(
        matches!(ledger.verify(), Ok(Verdict::Sound { .. })),
        "verify is not sound"
    );
    let mut exported = Vec::new();
    ledger.export_log(None, &mut exported).expect("export");
    let mut copy =
        Ledger::with_store(Box::new(MemoryStore::default())).expect("an empty store opens");
    copy.import_log(&mut &exported[..], std::path::Path::new("copy.jsonl"))
        .expect("a ledger's own export imports");
    assert_same(&copy, &model, "in a portable-log copy");
}

/// `stored_files`: arbitrary bytes as muster's own files never panic their readers, and
/// whatever reads back whole survives a write and a second read unchanged. The first
/// byte picks the file: even, the derived-state file (every state, the imports register);
/// odd, the vault (every personal value). With the byte's second bit set the rest is a
/// body, sealed here so that the fuzzer reaches the structure checks past the CRC: a group
/// block's (even) or the vault's (odd).
pub fn stored_files(data: &[u8]) {
    use crate::storage::derived::{self, DerivedFile};
    use crate::storage::store::SideFile;
    use crate::storage::vault::Vault;
    let Some((mode, bytes)) = data.split_first() else {
        return;
    };
    let store = MemoryStore::default();
    if mode & 3 == 2 {
        let group = GroupId::new("g").expect("a valid id");
        let Ok(block) = crate::log::seal::seal_versioned(
            Magic::GroupState,
            crate::storage::block::GROUP_BLOCK_VERSION,
            bytes,
        ) else {
            return;
        };
        if let Ok(state) = crate::storage::block::decode_group(&group, &block) {
            let encoded =
                crate::storage::block::encode_group(&state).expect("a decoded block encodes");
            assert_eq!(encoded, block, "decode then encode changed a block");
        }
    } else if mode & 1 == 0 {
        store.set_file_bytes(SideFile::Derived, Some(bytes.to_vec()));
        let Ok(Some(file)) = DerivedFile::open(&store) else {
            return;
        };
        let _ = file.recorded(&[0; 32]);
        let (Ok(mut states), Ok(register)) = (file.load_all(), file.import_register()) else {
            return;
        };
        states.recorded = register.clone();
        states.all_changed();
        let header = file.header();
        let mut written = std::io::Cursor::new(Vec::new());
        derived::write(
            &mut written,
            None,
            &states,
            header.applied_through,
            header.hash,
        )
        .unwrap_or_else(|error| panic!("states that were read do not write: {error}"));
        store.set_file_bytes(SideFile::Derived, Some(written.into_inner()));
        let again = DerivedFile::open(&store)
            .expect("a written file opens")
            .expect("a written file exists");
        let mut reread = again.load_all().expect("a written file reads");
        reread.recorded = again.import_register().expect("its register reads");
        assert_eq!(
            reread.first_difference(&states),
            None,
            "write then read changed states"
        );
        assert_eq!(
            reread.recorded, register,
            "write then read changed the register"
        );
    } else {
        let file = match mode & 2 {
            0 => bytes.to_vec(),
            _ => match crate::log::seal::seal(Magic::Vault, bytes) {
                Ok(sealed) => sealed,
                Err(_) => return,
            },
        };
        store.set_file_bytes(SideFile::Vault, Some(file));
        let Ok(Some(vault)) = Vault::load(&store) else {
            return;
        };
        for entry in &vault.entries {
            let live = vault
                .live(&entry.subject, entry.field, entry.seq)
                .expect("an entry is live at its own commit");
            assert_eq!(live, entry, "an entry is not found at its own commit");
        }
        vault
            .save(&store)
            .unwrap_or_else(|error| panic!("a vault that was read does not save: {error}"));
        let again = Vault::load(&store).expect("a saved vault reads back");
        assert_eq!(again.as_ref(), Some(&vault));
    }
}
