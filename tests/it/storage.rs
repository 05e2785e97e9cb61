//! The storage boundary: damage is detected and named, and a crash between writing a
//! commit and its derived state is repaired when the ledger next opens.

use std::collections::BTreeSet;

use muster::log::source::{Source, SourceKind};
use muster::query::membership;
use muster::storage::derived;
use muster::storage::memory::MemoryStore;
use muster::storage::store::{SideFile, Space, Store};
use muster::{Batch, Date, ErrorKind, GroupId, Ledger, MemberId, Observation, Verdict};

fn snapshot(day: u32, group: &str, members: &[&str]) -> Observation {
    Observation::snapshot(
        Date::from_ymd(2021, 3, day).unwrap(),
        GroupId::new(group).unwrap(),
        members
            .iter()
            .map(|m| MemberId::new(m).unwrap())
            .collect::<BTreeSet<_>>(),
    )
}

fn import(ledger: &mut Ledger, observations: Vec<Observation>) {
    let batch = Batch {
        observations,
        facts: vec![],
        nesting: vec![],
    };
    let source = Source {
        kind: SourceKind::Observations,
        files: vec![],
        options: Vec::new(),
    };
    ledger.import(&batch, source, false).unwrap();
}

/// A ledger of three commits in memory.
fn three_commits() -> MemoryStore {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    import(&mut ledger, vec![snapshot(1, "g", &["a", "b"])]);
    import(
        &mut ledger,
        vec![snapshot(8, "g", &["a"]), snapshot(8, "h", &["b"])],
    );
    import(&mut ledger, vec![snapshot(4, "g", &["c"])]);
    store
}

/// A valid commit 3 of a different ledger.
fn other_commit_three() -> Vec<u8> {
    let other = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(other.clone())).unwrap();
    import(&mut ledger, vec![snapshot(1, "x", &["a"])]);
    import(&mut ledger, vec![snapshot(2, "x", &["b"])]);
    import(&mut ledger, vec![snapshot(3, "x", &["c"])]);
    log_value(&other, 3)
}

fn log_value(store: &MemoryStore, seq: u64) -> Vec<u8> {
    store
        .get(Space::Log, &seq.to_be_bytes())
        .unwrap()
        .expect("commit stored")
}

#[test]
fn verify_names_the_first_damaged_commit() {
    // (what to damage, the commit verify must name)
    let cases: &[(&str, u64)] = &[
        ("flip a byte of commit 2", 2),
        ("truncate commit 1", 1),
        ("swap commits 2 and 3", 2),
        ("remove commit 2", 2),
    ];
    for (damage, expected) in cases {
        let store = three_commits();
        match *damage {
            "flip a byte of commit 2" => {
                let mut bytes = log_value(&store, 2);
                let middle = bytes.len() / 2;
                bytes[middle] ^= 1;
                store.put(Space::Log, &2u64.to_be_bytes(), &bytes).unwrap();
            }
            "truncate commit 1" => {
                let bytes = log_value(&store, 1);
                store
                    .put(Space::Log, &1u64.to_be_bytes(), &bytes[..bytes.len() - 3])
                    .unwrap();
            }
            "swap commits 2 and 3" => {
                let (two, three) = (log_value(&store, 2), log_value(&store, 3));
                store.put(Space::Log, &2u64.to_be_bytes(), &three).unwrap();
                store.put(Space::Log, &3u64.to_be_bytes(), &two).unwrap();
            }
            "remove commit 2" => store.remove(Space::Log, &2u64.to_be_bytes()).unwrap(),
            other => unreachable!("no such damage {other}"),
        }
        // Damage in the newest commit stops the open itself; elsewhere verify finds it.
        match Ledger::with_store(Box::new(store.clone())) {
            Ok(ledger) => match ledger.verify().unwrap() {
                Verdict::Broken { seq, .. } => assert_eq!(seq, Some(*expected), "{damage}"),
                Verdict::Sound { .. } => panic!("{damage}: verify found nothing"),
            },
            Err(error) => assert_eq!(error.kind(), ErrorKind::Corrupt, "{damage}: {error}"),
        }
    }
}

/// Opening reads the head index, not the newest commit (which may be megabytes), so damage
/// inside a stored commit is named by `verify`, and the head index is checked against it.
#[test]
fn damaged_newest_commit_or_head_index_is_named_by_verify() {
    // (damage, the commit verify must name)
    let cases: &[(&str, Option<u64>)] = &[
        ("flip a byte of commit 3", Some(3)),
        ("drop commit 3's head record", Some(3)),
        ("a head record for a commit the log lacks", Some(4)),
        ("replace commit 3 with another valid commit 3", Some(3)),
    ];
    for (damage, expected) in cases {
        let store = three_commits();
        match *damage {
            "flip a byte of commit 3" => {
                let mut bytes = log_value(&store, 3);
                bytes[12] ^= 0x40;
                store.put(Space::Log, &3u64.to_be_bytes(), &bytes).unwrap();
            }
            "drop commit 3's head record" => {
                store.remove(Space::Heads, &3u64.to_be_bytes()).unwrap()
            }
            "a head record for a commit the log lacks" => {
                let record = store
                    .get(Space::Heads, &3u64.to_be_bytes())
                    .unwrap()
                    .unwrap();
                store
                    .put(Space::Heads, &4u64.to_be_bytes(), &record)
                    .unwrap();
            }
            "replace commit 3 with another valid commit 3" => {
                store
                    .put(Space::Log, &3u64.to_be_bytes(), &other_commit_three())
                    .unwrap();
            }
            other => unreachable!("no such damage {other}"),
        }
        let verdict = match Ledger::with_store(Box::new(store)) {
            Ok(ledger) => ledger.verify().unwrap(),
            Err(error) => panic!("{damage}: opening failed: {error}"),
        };
        match verdict {
            Verdict::Broken { seq, .. } => assert_eq!(seq, *expected, "{damage}"),
            Verdict::Sound { .. } => panic!("{damage}: verify found nothing"),
        }
    }
}

#[test]
fn a_ledger_whose_head_index_was_lost_opens_and_rebuild_restores_it() {
    let store = three_commits();
    store.clear(Space::Heads).unwrap();
    let mut ledger = Ledger::with_store(Box::new(store)).expect("opens from the newest commit");
    assert_eq!(ledger.head_seq(), 3);
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Broken { seq: Some(1), .. }
    ));
    ledger.rebuild().unwrap();
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Sound { commits: 3, .. }
    ));
}

#[test]
fn damaged_derived_state_is_found_by_verify_and_repaired_by_rebuild() {
    let store = three_commits();
    let mut bytes = store
        .file_bytes(SideFile::Derived)
        .expect("a derived-state file");
    // A byte inside the first block (blocks start right after the header).
    bytes[derived::HEADER_BYTES as usize + 20] ^= 1;
    store.set_file_bytes(SideFile::Derived, Some(bytes));
    let mut ledger = Ledger::with_store(Box::new(store)).unwrap();
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Broken { seq: None, .. }
    ));
    ledger.rebuild().unwrap();
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Sound { commits: 3, .. }
    ));
}

#[test]
fn a_crash_after_the_commit_but_before_its_derived_state_is_repaired_on_open() {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    import(&mut ledger, vec![snapshot(1, "g", &["a", "b"])]);
    let before_second = store.file_bytes(SideFile::Derived);
    import(
        &mut ledger,
        vec![snapshot(8, "g", &["a"]), snapshot(8, "h", &["b"])],
    );
    let expected = membership::members(
        &ledger,
        &GroupId::new("g").unwrap(),
        Date::from_ymd(2021, 3, 9).unwrap(),
        None,
    )
    .unwrap();
    drop(ledger);
    // Put the derived state back as it was after commit 1, as if the process died right
    // after commit 2's flush and anchor, before its derived state was written.
    store.set_file_bytes(SideFile::Derived, before_second);
    let ledger = Ledger::with_store(Box::new(store)).unwrap();
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Sound { commits: 2, .. }
    ));
    let got = membership::members(
        &ledger,
        &GroupId::new("g").unwrap(),
        Date::from_ymd(2021, 3, 9).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(got, expected);
}

#[test]
fn a_storage_engine_that_loses_its_newest_commits_is_caught_by_the_anchor() {
    // (damage, whether opening must fail)
    let cases: &[(&str, bool)] = &[
        ("lose the newest commit", true),
        ("lose every commit", true),
        (
            "anchor one commit behind, as after a crash before the anchor's write",
            false,
        ),
    ];
    for (damage, must_fail) in cases {
        let store = three_commits();
        match *damage {
            // An engine that drops its tail drops both trees: they are written in one
            // transaction.
            "lose the newest commit" => {
                store.remove(Space::Log, &3u64.to_be_bytes()).unwrap();
                store.remove(Space::Heads, &3u64.to_be_bytes()).unwrap();
            }
            "lose every commit" => {
                store.clear(Space::Log).unwrap();
                store.clear(Space::Heads).unwrap();
            }
            "anchor one commit behind, as after a crash before the anchor's write" => {
                // Rebuild the same history, keeping the anchor as it stood after commit 2.
                let again = MemoryStore::default();
                let mut ledger = Ledger::with_store(Box::new(again.clone())).unwrap();
                import(&mut ledger, vec![snapshot(1, "g", &["a", "b"])]);
                import(
                    &mut ledger,
                    vec![snapshot(8, "g", &["a"]), snapshot(8, "h", &["b"])],
                );
                let anchor_after_two = again.read_anchor().unwrap().expect("an anchor");
                import(&mut ledger, vec![snapshot(4, "g", &["c"])]);
                drop(ledger);
                again.write_anchor(&anchor_after_two).unwrap();
                let ledger = Ledger::with_store(Box::new(again)).expect("one commit ahead opens");
                assert_eq!(ledger.head_seq(), 3);
            }
            other => unreachable!("no such damage {other}"),
        }
        let opened = Ledger::with_store(Box::new(store.clone()));
        if *must_fail {
            let error = opened.err().unwrap_or_else(|| panic!("{damage}: opened"));
            assert_eq!(error.kind(), ErrorKind::Corrupt, "{damage}: {error}");
        } else {
            assert!(opened.is_ok(), "{damage}: {:?}", opened.err());
        }
    }
}

/// The vault carries a checksum like every other stored value: a damaged vault is an
/// error, never shown as if it held the name.
#[test]
fn a_damaged_name_is_refused_not_shown() {
    let store = three_commits();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    let member = MemberId::new("a").unwrap();
    let names = [(member.clone(), "Zoë Ó Briain".to_string())]
        .into_iter()
        .collect();
    ledger.set_names(&Default::default(), &names).unwrap();
    assert_eq!(
        ledger.member_name(&member).unwrap().as_deref(),
        Some("Zoë Ó Briain")
    );
    let mut bytes = store.file_bytes(SideFile::Vault).expect("a vault");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    store.set_file_bytes(SideFile::Vault, Some(bytes));
    let ledger = Ledger::with_store(Box::new(store)).unwrap();
    let error = ledger
        .member_name(&member)
        .expect_err("a damaged name must not be shown");
    assert_eq!(error.kind(), ErrorKind::Corrupt);
}

/// The derived-state file is derived: when its header cannot be read, or it is missing,
/// opening rebuilds it from the log instead of refusing (which would also have made
/// `rebuild` unreachable).
#[test]
fn a_damaged_or_missing_derived_state_file_is_rebuilt_on_open() {
    for damage in ["flip a header byte", "truncate", "remove"] {
        let store = three_commits();
        let bytes = store
            .file_bytes(SideFile::Derived)
            .expect("a derived-state file");
        let damaged = match damage {
            "flip a header byte" => {
                let mut bytes = bytes;
                bytes[9] ^= 0xff;
                Some(bytes)
            }
            "truncate" => Some(bytes[..bytes.len() / 2].to_vec()),
            "remove" => None,
            other => unreachable!("no such damage {other}"),
        };
        store.set_file_bytes(SideFile::Derived, damaged);
        let ledger = Ledger::with_store(Box::new(store)).expect("opens, rebuilding");
        assert!(
            matches!(ledger.verify().unwrap(), Verdict::Sound { commits: 3, .. }),
            "{damage}"
        );
    }
}

/// Ledgers made before names moved to `muster.names` kept one sealed value per name in
/// the engine: opening moves them to the names file (an erased member's name is not
/// moved) and empties the old space.
#[test]
fn names_kept_the_old_way_move_to_the_names_file_on_open() {
    let store = three_commits();
    let legacy_name = |name: &str| {
        // The version-1 envelope: magic, version, length, body, CRC-32 of all before.
        let mut bytes = b"MUSN".to_vec();
        bytes.extend_from_slice(&1u16.to_be_bytes());
        bytes.extend_from_slice(&(name.len() as u32).to_be_bytes());
        bytes.extend_from_slice(name.as_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes
    };
    store.put(Space::Names, b"ma", &legacy_name("Ada")).unwrap();
    store
        .put(Space::Names, b"gg", &legacy_name("Chess"))
        .unwrap();
    let mut damaged = legacy_name("Bea");
    damaged[12] ^= 1;
    store.put(Space::Names, b"mb", &damaged).unwrap();
    let ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    let name = |member: &str| ledger.member_name(&MemberId::new(member).unwrap()).unwrap();
    assert_eq!(name("a").as_deref(), Some("Ada"));
    assert_eq!(
        name("b"),
        None,
        "a damaged old name is dropped, never shown"
    );
    assert_eq!(
        ledger
            .group_name(&GroupId::new("g").unwrap())
            .unwrap()
            .as_deref(),
        Some("Chess")
    );
    assert!(store.scan_from(Space::Names, &[]).next().is_none());
}

/// A query opens the ledger from muster's own files alone (no storage engine, no lock)
/// only while the derived state is tagged with the anchored head; otherwise it declines,
/// and the full open catches the files up.
#[test]
fn queries_read_musters_own_files_only_while_they_are_up_to_date() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("ledger");
    let group = GroupId::new("g").unwrap();
    let on = Date::from_ymd(2021, 3, 9).unwrap();
    drop(Ledger::open(&path, Default::default()).unwrap());
    assert!(
        Ledger::open_for_queries(&path).unwrap().is_none(),
        "an empty ledger has nothing to read"
    );
    {
        let mut ledger = Ledger::open(&path, Default::default()).unwrap();
        import(&mut ledger, vec![snapshot(1, "g", &["a", "b"])]);
    }
    let after_first = std::fs::read(path.join("muster.derived")).unwrap();
    {
        let mut ledger = Ledger::open(&path, Default::default()).unwrap();
        import(&mut ledger, vec![snapshot(8, "g", &["a"])]);
        // The full ledger holds the lock; a query-only open needs none.
        let quick = Ledger::open_for_queries(&path)
            .unwrap()
            .expect("up to date");
        assert_eq!(quick.head_seq(), 2);
        assert_eq!(
            membership::members(&quick, &group, on, None).unwrap(),
            membership::members(&ledger, &group, on, None).unwrap()
        );
        assert_eq!(
            membership::members(&quick, &group, on, Some(1)).unwrap(),
            membership::members(&ledger, &group, on, Some(1)).unwrap()
        );
        assert!(quick.verify().is_err(), "the log is out of its reach");
    }
    // As after a crash between commit 2 and its derived state.
    std::fs::write(path.join("muster.derived"), after_first).unwrap();
    assert!(Ledger::open_for_queries(&path).unwrap().is_none());
    drop(Ledger::open(&path, Default::default()).unwrap());
    let quick = Ledger::open_for_queries(&path)
        .unwrap()
        .expect("caught up by the full open");
    assert_eq!(
        membership::members(&quick, &group, on, None).unwrap(),
        vec![MemberId::new("a").unwrap()]
    );
}

/// A ledger made by the muster before the date index (derived-state layout 1, kept in
/// `tests/data`) is read by this one: the first query finds the old layout, rebuilds the
/// file from the log in layout 2 (now with a date index for G1's block), and every
/// answer is the one a ledger made by this muster from the same files gives.
#[test]
fn a_derived_file_of_layout_1_is_rebuilt_in_layout_2_and_answers_alike() {
    let sandbox = crate::support::Sandbox::new();
    sandbox.unpack("ledger-derived-layout-1.tar.gz");
    let (old, fresh) = (sandbox.path("ledger"), sandbox.path("fresh"));
    let layout = |db: &std::path::Path| {
        let bytes = std::fs::read(db.join("muster.derived")).unwrap();
        u16::from_be_bytes([bytes[4], bytes[5]])
    };
    assert_eq!(layout(&old), 1);
    let run = |db: &std::path::Path, args: &[&str]| {
        crate::support::run_in(sandbox.dir.path(), db, args).ok()
    };
    run(&fresh, &["import", "facts", "facts.csv"]);
    run(&fresh, &["import", "nesting", "nesting.csv"]);
    let mut answered = 0;
    for day in (0..1_600).step_by(53) {
        let on = Date::from_ymd(2019, 1, 1)
            .unwrap()
            .add_days(day)
            .unwrap()
            .to_string();
        let args = ["members", "G0", "--on", &on, "--format", "json"];
        let (before, now) = (run(&old, &args).stdout, run(&fresh, &args).stdout);
        assert_eq!(before, now, "on {on}");
        answered += usize::from(now.contains("M0"));
    }
    assert!(answered > 10, "most dates have members: {answered}");
    assert_eq!(layout(&old), derived::DERIVED_VERSION);
    assert_eq!(derived::DERIVED_VERSION, 2);
    run(&old, &["verify"]);
}
