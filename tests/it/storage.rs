//! The storage boundary: damage is detected and named, and a crash between writing a
//! commit and its derived state is repaired when the ledger next opens.

use std::collections::BTreeSet;

use muster::commit::{Source, SourceKind};
use muster::store::{MemoryStore, Space, Store};
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
    };
    let source = Source {
        kind: SourceKind::Observations,
        files: vec![],
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
    let (key, mut bytes) = store.last(Space::Groups).unwrap().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    store.put(Space::Groups, &key, &bytes).unwrap();
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

/// Everything in the derived spaces, to put back later.
fn derived(store: &MemoryStore) -> Vec<(Space, Vec<u8>, Vec<u8>)> {
    [Space::Groups, Space::Members, Space::Meta]
        .into_iter()
        .flat_map(|space| {
            store.scan_from(space, &[]).map(move |item| {
                let (key, value) = item.unwrap();
                (space, key, value)
            })
        })
        .collect()
}

#[test]
fn a_crash_after_the_commit_but_before_its_derived_state_is_repaired_on_open() {
    let store = MemoryStore::default();
    let mut ledger = Ledger::with_store(Box::new(store.clone())).unwrap();
    import(&mut ledger, vec![snapshot(1, "g", &["a", "b"])]);
    let before_second = derived(&store);
    import(
        &mut ledger,
        vec![snapshot(8, "g", &["a"]), snapshot(8, "h", &["b"])],
    );
    let expected = ledger
        .members(
            &GroupId::new("g").unwrap(),
            Date::from_ymd(2021, 3, 9).unwrap(),
            None,
        )
        .unwrap();
    drop(ledger);
    // Roll the derived state back as if the process died right after the commit's flush,
    // keeping one group value written (a crash in the middle of the derived writes).
    let (_, kept_key, kept_value) = derived(&store)
        .into_iter()
        .find(|(space, key, _)| *space == Space::Groups && key == b"g")
        .unwrap();
    for space in [Space::Groups, Space::Members, Space::Meta] {
        store.clear(space).unwrap();
    }
    for (space, key, value) in before_second {
        store.put(space, &key, &value).unwrap();
    }
    store.put(Space::Groups, &kept_key, &kept_value).unwrap();
    let ledger = Ledger::with_store(Box::new(store)).unwrap();
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Sound { commits: 2, .. }
    ));
    let got = ledger
        .members(
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

/// Names carry a checksum like every other stored value: a damaged one is an error, never
/// shown as if it were the name.
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
    let (key, mut bytes) = store.last(Space::Names).unwrap().expect("a stored name");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    store.put(Space::Names, &key, &bytes).unwrap();
    let ledger = Ledger::with_store(Box::new(store)).unwrap();
    let error = ledger
        .member_name(&member)
        .expect_err("a damaged name must not be shown");
    assert_eq!(error.kind(), ErrorKind::Corrupt);
}

/// The applied-through marker is derived state: when it cannot be read, opening rebuilds
/// from the log instead of refusing (which would also have made `rebuild` unreachable).
#[test]
fn a_damaged_derived_state_marker_is_rebuilt_on_open() {
    let store = three_commits();
    let (key, mut bytes) = store.last(Space::Meta).unwrap().expect("the marker");
    bytes[0] ^= 0xff;
    store.put(Space::Meta, &key, &bytes).unwrap();
    let ledger = Ledger::with_store(Box::new(store)).expect("opens, rebuilding");
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Sound { commits: 3, .. }
    ));
}
