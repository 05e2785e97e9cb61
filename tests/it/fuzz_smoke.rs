//! The stable fuzz smoke run: each cargo-fuzz target's body (`muster::testing::fuzz`) over its
//! seed corpus (`fuzz/corpus/<target>/` plus seeds made here) and pseudo-random mutations
//! of the seeds, from a fixed seed. A panic fails the test and prints the input in hex,
//! to be kept as a regression in `regressions.rs`.
//!
//! `FUZZ_SMOKE_EXECS` sets the executions per target (`scripts/fuzz-smoke` raises it);
//! the default keeps the test suite quick.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use muster::log::commit::{Commit, COMMIT_VERSION_1, COMMIT_VERSION_2, COMMIT_VERSION_3};
use muster::log::source::{Source, SourceKind};
use muster::storage::memory::MemoryStore;
use muster::storage::store::{SideFile, Space, Store};
use muster::{Batch, Date, GroupId, Ledger, MemberId, Observation};

use crate::support::Rng;

/// Executions per target when `FUZZ_SMOKE_EXECS` is not set.
const DEFAULT_EXECS: u64 = 1_500;
/// Mutations applied to one seed, at most.
const MAX_MUTATIONS: u64 = 6;
const SEED: u64 = 0x6675_7a7a;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = match std::fs::read_dir(&directory) {
        Ok(entries) => entries
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    seeds.push(Vec::new());
    seeds
}

/// A small real ledger whose bytes seed the targets: one commit (two groups, three
/// members, a source file) and names for a group and two members.
fn seed_ledger() -> MemoryStore {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    let date = Date::from_ymd(2021, 1, 4).unwrap();
    let id = |text: &str| MemberId::new(text).unwrap();
    let batch = Batch {
        observations: vec![
            Observation::snapshot(date, GroupId::new("g").unwrap(), [id("a"), id("b")].into()),
            Observation::snapshot(date, GroupId::new("h").unwrap(), [id("b"), id("c")].into()),
        ],
        facts: vec![],
        nesting: vec![],
    };
    let source = Source {
        kind: SourceKind::Observations,
        files: vec![muster::log::source::SourceFile::new("week.csv", b"x")],
        options: Vec::new(),
    };
    ledger.import(&batch, source, false).unwrap();
    let names = [(id("a"), "Ada".to_string()), (id("c"), "Zoë".to_string())].into();
    let groups = [(GroupId::new("g").unwrap(), "Chess".to_string())].into();
    ledger.set_names(&groups, &names).unwrap();
    store
}

/// A real stored commit (version 3, as written today), the same commit as versions 2 and
/// 1, and the names' commit,
/// each also as its body behind the "seal it for me" mode byte that names its version.
fn commit_seeds() -> Vec<Vec<u8>> {
    let store = seed_ledger();
    let stored = store.get(Space::Log, &1u64.to_be_bytes()).unwrap().unwrap();
    let (mut commit, _) = Commit::decode(&stored).unwrap();
    assert_eq!(commit.format_version, COMMIT_VERSION_3);
    commit.format_version = COMMIT_VERSION_2;
    let (stored_v2, _) = commit.encode().unwrap();
    commit.format_version = COMMIT_VERSION_1;
    let (stored_v1, _) = commit.encode().unwrap();
    // The names' commit: a version-3 personal-data section.
    let names = store.get(Space::Log, &2u64.to_be_bytes()).unwrap().unwrap();
    // Mode bytes: odd seals the rest; bit 1 clear is version 1, set is version 2; bit 2
    // set is version 3.
    let mut seeds = Vec::new();
    for (mode, sealed) in [
        (1u8, stored_v1),
        (3u8, stored_v2),
        (5u8, stored),
        (5u8, names),
    ] {
        // Envelope: 10 header bytes, then the body, then a 4-byte CRC.
        let mut body = vec![mode];
        body.extend_from_slice(&sealed[10..sealed.len() - 4]);
        seeds.push(sealed);
        seeds.push(body);
    }
    seeds
}

/// The seed ledger's derived-state file behind mode byte 0 and its vault behind mode
/// byte 1, then a group block's body and the vault's body for the sealing modes.
fn stored_file_seeds() -> Vec<Vec<u8>> {
    let store = seed_ledger();
    let mut seeds = Vec::new();
    for (mode, file) in [(0u8, SideFile::Derived), (1u8, SideFile::Vault)] {
        let mut seed = vec![mode];
        seed.extend(store.file_bytes(file).unwrap());
        seeds.push(seed);
    }
    // A group block's body alone: the first block, right after the file's 96-byte header
    // (envelope: 10 header bytes with the body's length at 6..10, then a 4-byte CRC).
    let derived_file = store.file_bytes(SideFile::Derived).unwrap();
    let block = &derived_file[muster::storage::derived::HEADER_BYTES as usize..];
    let length = u32::from_be_bytes(block[6..10].try_into().unwrap()) as usize;
    let group = GroupId::new("g").unwrap();
    assert!(muster::storage::block::decode_group(&group, &block[..14 + length]).is_ok());
    let mut body = vec![2u8];
    body.extend_from_slice(&block[10..10 + length]);
    seeds.push(body);
    // The vault's body alone (envelope: 10 header bytes, then a 4-byte CRC).
    let names_file = store.file_bytes(SideFile::Vault).unwrap();
    let mut body = vec![3u8];
    body.extend_from_slice(&names_file[10..names_file.len() - 4]);
    seeds.push(body);
    seeds
}

/// An input for the `model` target that uses every operation once or more (see
/// `muster::testing::fuzz::model`): statements of each kind, imports, a re-import of an
/// earlier batch and a reopen, so that mutations start deep in the target.
fn model_seeds() -> Vec<Vec<u8>> {
    let operations: [&[u8]; 19] = [
        &[5, 0b0100, 0b011], // snapshot: g0, day 2, {m0, m1}
        &[4, 0b1010, 0b110], // snapshot: g0, day 5, {m1, m2}
        &[1, 0b10_0110],     // fact: g0, m2, day 3, join
        &[8],                // import
        &[5, 0b0001, 0b001], // snapshot: g1, day 0, {m0}
        &[6, 0b0011],        // end: g1, day 1
        &[0, 0b01_0100],     // fact: g0, m1, day 2, leave
        &[9],                // import
        &[4, 0b0000, 0b111], // snapshot, late: g0, day 0, {m0, m1, m2}
        &[7, 0b0101],        // carry-forward: g1, day 2
        &[10],               // import
        &[12, 1],            // re-import the batch before the last
        &[14],               // reopen
        &[11],               // import (nothing pending)
        &[16, 0b10_0100],    // exclusion: g0, m2, day 2
        &[17, 0b0001],       // subgroup fact: g1 includes g0 from day 0
        &[8],                // import
        &[17, 0b0010],       // subgroup fact: g0 includes g1 from day 1, a cycle
        &[9],                // import: refused by the ledger and the model alike
    ];
    vec![operations.concat()]
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len() as u64) as usize].clone();
    for _ in 0..=rng.below(MAX_MUTATIONS) {
        let length = input.len() as u64;
        match rng.below(8) {
            0 if length > 0 => input[rng.below(length) as usize] ^= 1 << rng.below(8),
            1 if length > 0 => input[rng.below(length) as usize] = rng.below(256) as u8,
            2 => input.insert(rng.below(length + 1) as usize, rng.below(256) as u8),
            3 if length > 0 => {
                input.remove(rng.below(length) as usize);
            }
            4 if length > 0 => input.truncate(rng.below(length) as usize),
            5 if length > 0 => {
                // Repeat a chunk: long fields, repeated rows.
                let start = rng.below(length) as usize;
                let end = (start + 1 + rng.below(64) as usize).min(input.len());
                let chunk = input[start..end].to_vec();
                for _ in 0..rng.below(4) + 1 {
                    input.splice(start..start, chunk.iter().copied());
                }
            }
            6 => {
                // Splice in another seed's tail.
                let other = &seeds[rng.below(seeds.len() as u64) as usize];
                let from = rng.below(other.len() as u64 + 1) as usize;
                input.extend_from_slice(&other[from..]);
            }
            _ => {
                // Interesting bytes: separators, quotes, a BOM, high and control bytes.
                let interesting = b",\"\n\r\xef\xbb\xbf\x81\xe9\x00\xff-0123456789";
                let byte = interesting[rng.below(interesting.len() as u64) as usize];
                input.insert(rng.below(length + 1) as usize, byte);
            }
        }
    }
    input
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `target` over every seed and then `execs` mutated inputs; returns executions.
fn smoke(name: &str, target: fn(&[u8]), seeds: Vec<Vec<u8>>, execs: u64) -> u64 {
    let mut rng = Rng::new(SEED ^ name.len() as u64);
    let mut executions = 0;
    let inputs = seeds.clone().into_iter().chain((0..execs).map(|index| {
        if index % 16 == 0 {
            // Now and then, plain random bytes.
            (0..rng.below(256)).map(|_| rng.below(256) as u8).collect()
        } else {
            mutate(&mut rng, &seeds)
        }
    }));
    for input in inputs {
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panic!("fuzz target {name} panicked on input (hex) {}", hex(&input));
        }
        executions += 1;
    }
    executions
}

#[test]
fn fuzz_targets_survive_seeds_and_mutations() {
    let execs = std::env::var("FUZZ_SMOKE_EXECS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_EXECS);
    let mut commit = corpus("commit_decode");
    commit.extend(commit_seeds());
    let counts = [
        (
            "commit_decode",
            smoke(
                "commit_decode",
                muster::testing::fuzz::commit_decode,
                commit,
                execs,
            ),
        ),
        (
            "csv_readers",
            smoke(
                "csv_readers",
                muster::testing::fuzz::csv_readers,
                corpus("csv_readers"),
                execs,
            ),
        ),
        (
            "model",
            smoke(
                "model",
                muster::testing::fuzz::model,
                [corpus("model"), model_seeds()].concat(),
                execs,
            ),
        ),
        (
            "stored_files",
            smoke(
                "stored_files",
                muster::testing::fuzz::stored_files,
                stored_file_seeds(),
                execs,
            ),
        ),
    ];
    for (name, count) in counts {
        println!("fuzz smoke: {name}: {count} executions, no panic");
    }
}
