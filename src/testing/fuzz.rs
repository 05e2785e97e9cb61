//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`, nightly) and the stable
//! smoke runner (`tests/it/fuzz_smoke.rs`, `scripts/fuzz-smoke`), so both exercise exactly
//! the same code.
//!
//! Owns: one function per target. Each panics only when it finds a bug (a panic is how a
//! fuzzer reports one); on any input the code under test itself must not panic.
//! Must not: be used by the ledger or the CLI; it is not part of muster's interface.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ledger::{Ledger, Verdict};
use crate::log::commit::{
    seal_versioned, Commit, Magic, Source, SourceKind, COMMIT_VERSION_1, COMMIT_VERSION_2,
};
use crate::model::{Change, Date, Fact, GroupId, MemberId};
use crate::plan::Batch;
use crate::storage::store::MemoryStore;

/// `commit_decode`: arbitrary bytes never panic the decoder, and whatever decodes
/// encodes back to the same bytes and decodes to the same commit. When the first byte is
/// odd, the rest is taken as a body and sealed with a correct envelope, so that the
/// fuzzer reaches the body decoders and the commit checks past the CRC: as a version-1
/// body when the byte's second bit is clear (what odd bytes meant before version 2, so
/// older corpora keep their meaning), as version 2 when it is set.
pub fn commit_decode(data: &[u8]) {
    let sealed;
    let bytes = match data.split_first() {
        Some((mode, body)) if mode & 1 == 1 => {
            let version = if mode & 2 == 0 {
                COMMIT_VERSION_1
            } else {
                COMMIT_VERSION_2
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
        crate::import::input::read_observations(&path).map(|_| ()),
        crate::import::input::read_facts(&path).map(|_| ()),
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

/// Small spaces, so that operations collide.
const MODEL_GROUPS: u8 = 2;
const MODEL_MEMBERS: u8 = 3;
const MODEL_DAYS: u8 = 8;
/// Most operations one input runs (keeps each execution fast).
const MODEL_MAX_OPERATIONS: usize = 64;

fn model_group(index: u8) -> GroupId {
    GroupId::new(&format!("g{index}")).expect("a short plain id is valid")
}

fn model_member(index: u8) -> MemberId {
    MemberId::new(&format!("m{index}")).expect("a short plain id is valid")
}

fn model_day(index: u8) -> Date {
    Date::from_ymd(2020, 1, 1 + u32::from(index)).expect("January has these days")
}

/// The naive reference for explicit facts: per (group, member), the dates where the
/// membership changes and to what. A fact that changes nothing is not a change.
#[derive(Default)]
struct NaiveFacts {
    changes: BTreeMap<(u8, u8), BTreeMap<u8, bool>>,
}

impl NaiveFacts {
    fn is_member(&self, group: u8, member: u8, day: u8) -> bool {
        self.changes
            .get(&(group, member))
            .and_then(|changes| changes.range(..=day).next_back())
            .is_some_and(|(_, &member)| member)
    }

    fn apply(&mut self, group: u8, member: u8, day: u8, join: bool) {
        if self.is_member(group, member, day) != join {
            self.changes
                .entry((group, member))
                .or_default()
                .insert(day, join);
        }
    }
}

fn assert_same(ledger: &Ledger, naive: &NaiveFacts) {
    for group in 0..MODEL_GROUPS {
        for day in 0..MODEL_DAYS {
            let expected: Vec<MemberId> = (0..MODEL_MEMBERS)
                .filter(|&member| naive.is_member(group, member, day))
                .map(model_member)
                .collect();
            let got = match ledger.members(&model_group(group), model_day(day), None) {
                Ok(members) => members,
                // A group never mentioned is unknown: that must mean nobody was in it.
                Err(error) if error.kind() == crate::error::ErrorKind::NotFound => Vec::new(),
                Err(error) => panic!("members of g{group}: {error}"),
            };
            assert_eq!(got, expected, "members of g{group} on day {day}");
        }
    }
}

/// `model`: arbitrary operations (facts, imports of the pending facts, re-imports,
/// reopening) against [`MemoryStore`], compared with a naive reference after each step;
/// `verify` stays sound and a portable-log copy answers the same.
pub fn model(data: &[u8]) {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).expect("an empty store opens");
    let mut naive = NaiveFacts::default();
    let mut pending: BTreeMap<(u8, u8, u8), bool> = BTreeMap::new();
    let mut last_batch: Option<Batch> = None;
    let source = || Source {
        kind: SourceKind::Facts,
        files: Vec::new(),
        options: Vec::new(),
    };
    let mut bytes = data.iter().copied();
    for _ in 0..MODEL_MAX_OPERATIONS {
        let Some(operation) = bytes.next() else { break };
        match operation % 8 {
            // A fact joins the pending batch; the last one for a (group, member, day)
            // wins, as within one import.
            0..=4 => {
                let detail = bytes.next().unwrap_or(0);
                let group = detail % MODEL_GROUPS;
                let member = (detail / 2) % MODEL_MEMBERS;
                let day = (detail / 8) % MODEL_DAYS;
                pending.insert((group, day, member), operation & 1 == 1);
            }
            5 => {
                let facts: Vec<Fact> = pending
                    .iter()
                    .map(|(&(group, day, member), &join)| Fact {
                        date: model_day(day),
                        group: model_group(group),
                        member: model_member(member),
                        change: Change::to(join),
                    })
                    .collect();
                let batch = Batch {
                    observations: Vec::new(),
                    facts,
                };
                // Per group, dates in order (the map's order is group, day, member).
                for (&(group, day, member), &join) in &pending {
                    naive.apply(group, member, day, join);
                }
                pending.clear();
                ledger
                    .import(&batch, source(), false)
                    .expect("a valid batch imports");
                last_batch = Some(batch);
                assert_same(&ledger, &naive);
            }
            6 => {
                if let Some(batch) = &last_batch {
                    let outcome = ledger
                        .import(batch, source(), false)
                        .expect("a valid batch imports");
                    assert!(outcome.commit.is_none(), "a re-import appended a commit");
                }
            }
            _ => {
                drop(ledger);
                ledger = Ledger::with_store(Box::new(store.clone())).expect("the ledger reopens");
                assert_same(&ledger, &naive);
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
    assert_same(&copy, &naive);
}

/// `stored_files`: arbitrary bytes as muster's own files never panic their readers, and
/// whatever reads back whole survives a write and a second read unchanged. The first
/// byte picks the file: even, the derived-state file (every state, the imports register);
/// odd, the names file (every name). With the byte's second bit set the rest is a body,
/// sealed here so that the fuzzer reaches the structure checks past the CRC: a group
/// block's (even) or a names file's (odd).
pub fn stored_files(data: &[u8]) {
    use crate::storage::derived::{self, DerivedFile};
    use crate::storage::names::NameBook;
    use crate::storage::store::SideFile;
    let Some((mode, bytes)) = data.split_first() else {
        return;
    };
    let store = MemoryStore::default();
    if mode & 3 == 2 {
        let group = GroupId::new("g").expect("a valid id");
        let Ok(block) = crate::log::commit::seal(Magic::GroupState, bytes) else {
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
            _ => match crate::log::commit::seal(Magic::Names, bytes) {
                Ok(sealed) => sealed,
                Err(_) => return,
            },
        };
        store.set_file_bytes(SideFile::Names, Some(file));
        let Ok(book) = NameBook::load(&store) else {
            return;
        };
        let Ok(names) = book.to_stored() else {
            return;
        };
        for (member, name) in &names.members {
            let found = book.member(member).expect("a read book looks up");
            assert_eq!(found.as_ref(), Some(name), "a member's name is not found");
        }
        names
            .save(&store)
            .unwrap_or_else(|error| panic!("names that were read do not save: {error}"));
        let again = NameBook::load(&store).expect("saved names read back");
        assert_eq!(again.to_stored().expect("and decode"), names);
    }
}
