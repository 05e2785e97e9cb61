//! The benchmark peers (`benches/support/peer.rs`, SQLite, and `benches/support/duckdb.rs`,
//! DuckDB) answer as muster does on a small generated export, so the report compares like
//! with like.
//!
//! Owns: that fairness check only. Must not: time anything.
//!
//! The comparison is on dates the group met (and the day before its next session), where
//! both define membership the same way; after an activity stops, muster ends it
//! (`END_AFTER_DAYS`) while the peer leaves it open, a rule the peer does not model.

#[path = "../../benches/support/duckdb.rs"]
mod duckdb;
#[path = "../../benches/support/peer.rs"]
mod peer;

use std::collections::BTreeSet;

use muster::import::sb::{self, generate};
use muster::query::membership;
use muster::{Date, GroupId, Ledger, OpenOptions};

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

/// The (group, date) questions both sides define the same way: every session of every
/// group, and the day before its next session.
fn questions(ledger: &Ledger) -> Vec<(GroupId, Date)> {
    let mut questions = Vec::new();
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
        questions.extend(dates.into_iter().map(|on| (group.clone(), on)));
    }
    questions
}

fn muster_members(ledger: &Ledger, group: &GroupId, on: Date) -> Vec<String> {
    membership::members(ledger, group, on, None)
        .expect("members")
        .iter()
        .map(ToString::to_string)
        .collect()
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
        for (group, on) in questions(&ledger) {
            let ours = muster_members(&ledger, &group, on);
            let theirs = peer
                .members(group.as_str(), &on.to_string())
                .expect("peer members");
            assert_eq!(ours, theirs, "seed {seed}: members of {group} on {on}");
            members_seen.extend(ours);
            compared += 1;
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
    let member = (0..export.occurrences.len())
        .find_map(|index| export.occurrence_pupils(index).next())
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

/// The DuckDB peer, installed as the report installs it; a machine that cannot install it
/// (no Python, no network) skips this check and says why, as the report carries on
/// without that peer.
#[test]
fn the_duckdb_peer_answers_members_as_muster_does() {
    let duckdb = match duckdb::DuckDb::install(&duckdb::default_dir()) {
        Ok(duckdb) => duckdb,
        Err(reason) => {
            eprintln!("SKIPPED: the DuckDB peer cannot be installed here: {reason}");
            return;
        }
    };
    for seed in SEEDS {
        let Imported {
            sandbox, ledger, ..
        } = imported(seed);
        let database = sandbox.path().join("peer.duckdb");
        let export_dir = sandbox.path().join("export");
        let rows = duckdb
            .lines(
                "import",
                &database,
                &[export_dir.to_str().expect("a UTF-8 path")],
            )
            .expect("duckdb import");
        let recorded: usize = rows.first().and_then(|n| n.parse().ok()).expect("a count");
        assert!(
            recorded > 0,
            "seed {seed}: the DuckDB peer recorded no memberships"
        );

        let asked = questions(&ledger);
        let as_text: Vec<(String, String)> = asked
            .iter()
            .map(|(group, on)| (group.to_string(), on.to_string()))
            .collect();
        let answers = duckdb
            .members_batch(&database, &as_text)
            .expect("duckdb members");
        assert_eq!(
            answers.len(),
            asked.len(),
            "seed {seed}: one answer per question"
        );
        let mut members_seen = BTreeSet::new();
        for ((group, on), theirs) in asked.iter().zip(answers) {
            let ours = muster_members(&ledger, group, *on);
            assert_eq!(ours, theirs, "seed {seed}: members of {group} on {on}");
            members_seen.extend(ours);
        }
        assert!(
            asked.len() > 50,
            "seed {seed}: only {} questions",
            asked.len()
        );
        assert!(
            !members_seen.is_empty(),
            "seed {seed}: every answer was empty"
        );
    }
}
