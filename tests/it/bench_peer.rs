//! The benchmark peer (`benches/support/peer.rs`) answers as muster does on a small
//! generated export, so the report compares like with like.
//!
//! Owns: that fairness check only. Must not: time anything.
//!
//! The comparison is on dates the group met (and the day before its next session), where
//! both define membership the same way; after an activity stops, muster ends it
//! (`END_AFTER_DAYS`) while the peer leaves it open, a rule the peer does not model.

#[path = "../../benches/support/peer.rs"]
mod peer;

use std::collections::BTreeSet;

use muster::import::sb::{self, generate};
use muster::query::membership;
use muster::{Date, Ledger, OpenOptions};

/// Small enough to run in a second; big enough for churn, a half-term and stopped groups.
const SCALE: generate::Scale = generate::Scale {
    pupils: 80,
    activities: 12,
    weeks: 8,
};
/// Seeds cover the three date formats the generator writes (`seed % 3`).
const SEEDS: [u64; 3] = [1, 2, 3];

/// A generated export imported into a fresh ledger and into the peer.
struct Imported {
    sandbox: tempfile::TempDir,
    ledger: Ledger,
    peer: peer::Peer,
    export: sb::Export,
    /// Membership rows the peer recorded.
    rows: usize,
}

fn imported(seed: u64) -> Imported {
    let sandbox = tempfile::tempdir().expect("a temporary directory");
    let export_dir = sandbox.path().join("export");
    generate::generate(seed, SCALE)
        .files()
        .write_dir(&export_dir)
        .expect("write the export");
    let mut ledger = Ledger::open(&sandbox.path().join("ledger"), OpenOptions::default())
        .expect("open the ledger");
    let export = sb::read_dir(&export_dir, &sb::Options::default()).expect("read");
    muster::ledger::sb::import(&mut ledger, &export, false).expect("import");
    let mut peer = peer::Peer::open(&sandbox.path().join("peer.sqlite")).expect("peer");
    let rows = peer.import(&export_dir).expect("peer import");
    Imported {
        sandbox,
        ledger,
        peer,
        export,
        rows,
    }
}

#[test]
fn the_peer_answers_members_as_muster_does() {
    for seed in SEEDS {
        let Imported {
            sandbox: _sandbox,
            ledger,
            peer,
            rows,
            ..
        } = imported(seed);
        assert!(rows > 0, "the peer recorded no memberships");

        let mut compared = 0;
        let mut members_seen = BTreeSet::new();
        for group in ledger.group_ids().expect("groups") {
            let state = ledger.find_group(&group).expect("group").expect("known");
            let ended: BTreeSet<Date> = state.ended.iter().copied().collect();
            let sessions: Vec<Date> = state
                .observed
                .iter()
                .copied()
                .filter(|date| !ended.contains(date))
                .collect();
            let mut dates = sessions.clone();
            dates.extend(
                sessions
                    .windows(2)
                    .filter_map(|pair| pair[1].previous().filter(|day| *day > pair[0])),
            );
            for on in dates {
                let ours: Vec<String> = membership::members(&ledger, &group, on, None)
                    .expect("members")
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let theirs = peer
                    .members(group.as_str(), &on.to_string())
                    .expect("peer members");
                assert_eq!(ours, theirs, "seed {seed}: members of {group} on {on}");
                members_seen.extend(ours);
                compared += 1;
            }
        }
        assert!(
            compared > 50,
            "seed {seed}: only {compared} questions compared"
        );
        assert!(
            !members_seen.is_empty(),
            "seed {seed}: every answer was empty"
        );
    }
}

#[test]
fn the_peer_history_has_a_span_per_muster_span() {
    let Imported {
        sandbox: _sandbox,
        ledger,
        peer,
        export,
        ..
    } = imported(SEEDS[0]);
    let member = export
        .occurrences
        .iter()
        .find_map(|(_, members)| members.first())
        .expect("a pupil who attended");
    let ours = membership::member_history(&ledger, member, None).expect("history");
    let theirs = peer.history(member.as_str()).expect("peer history");
    assert!(!ours.is_empty(), "{member} has no spans");
    // Starts agree; ends may differ where muster ended a stopped activity.
    let starts = |spans: Vec<(String, String)>| spans.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        starts(
            ours.iter()
                .map(|s| (s.span.group.to_string(), s.span.from.to_string()))
                .collect()
        ),
        starts(theirs.into_iter().map(|(g, from, _)| (g, from)).collect()),
        "spans of {member}"
    );
}
