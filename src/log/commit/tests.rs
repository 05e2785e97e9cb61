//! The commit's own tests: canonical order, checks, round trips, and damage refused.

use super::*;
use crate::error::ErrorKind;
use crate::log::seal::{
    seal, seal_versioned, unseal, Magic, CHECKSUM_BYTES, HEADER_BYTES, VALUE_VERSION,
};
use crate::log::source::{Source, SourceFile, SourceKind};

pub(super) fn day(month: u32, day: u32) -> Date {
    Date::from_ymd(2015, month, day).unwrap()
}

pub(super) fn member(id: &str) -> MemberId {
    MemberId::new(id).unwrap()
}

pub(super) fn fact(id: &str, date: Date, change: Change) -> MemberFact {
    MemberFact {
        member: member(id),
        date,
        change,
    }
}

/// Two groups, member "b" in both, so the version-2 dictionary is shared across
/// groups; written as version 2 (as every commit made before version 3 was).
fn sample() -> Commit {
    let mut commit = Commit {
        format_version: COMMIT_VERSION_2,
        seq: 3,
        recorded_at_ms: 1_447_318_056_000,
        previous_hash: [7; 32],
        source: Source {
            kind: SourceKind::Observations,
            files: vec![SourceFile::new("week.csv", b"date,group,member\n")],
            options: Vec::new(),
        },
        groups: vec![
            GroupRecord {
                group: GroupId::new("34341").unwrap(),
                observed: vec![day(11, 23)],
                facts: vec![fact("b", day(11, 23), Change::Leave)],
                ended: vec![day(11, 23)],
                reopened: vec![],
                subgroups: vec![],
            },
            GroupRecord {
                group: GroupId::new("34340").unwrap(),
                observed: vec![day(11, 16)],
                facts: vec![
                    fact("b", day(11, 16), Change::Join),
                    fact("a", day(11, 16), Change::Leave),
                ],
                ended: vec![],
                reopened: vec![],
                subgroups: vec![],
            },
        ],
        erased: vec![],
        personal: vec![],
    };
    commit.canonicalize();
    commit
}

/// The same content, stored as version 1 (as every commit made before version 2 was).
fn sample_v1() -> Commit {
    Commit {
        format_version: COMMIT_VERSION_1,
        ..sample()
    }
}

/// Writers for the hand-built bodies, from the rules in docs/format.md.
pub(super) fn put_string(body: &mut Vec<u8>, text: &str) {
    body.extend_from_slice(&(text.len() as u64).to_be_bytes());
    body.extend_from_slice(text.as_bytes());
}

pub(super) fn put_count(body: &mut Vec<u8>, count: u64) {
    body.extend_from_slice(&count.to_be_bytes());
}

pub(super) fn put_date(body: &mut Vec<u8>, date: Date) {
    body.extend_from_slice(&date.days_from_ce().to_be_bytes());
}

/// The fields both versions share, up to and including `source`.
pub(super) fn put_head(body: &mut Vec<u8>) {
    body.extend_from_slice(&3u64.to_be_bytes()); // seq
    body.extend_from_slice(&1_447_318_056_000i64.to_be_bytes()); // recorded_at_ms
    body.extend_from_slice(&[7; 32]); // previous_hash
    body.extend_from_slice(&0u32.to_be_bytes()); // source.kind: Observations
    put_count(body, 1); // source.files
    put_string(body, "week.csv");
    body.extend_from_slice(&Sha256::digest(b"date,group,member\n"));
}

/// The sample's version-2 body with the given dictionary and facts (member index, date,
/// change byte) for group 34340; group 34341's one fact names dictionary entry
/// `b_index`.
fn sample_v2_body(dictionary: &[&str], facts_34340: &[(u32, Date, u8)], b_index: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0); // source.options (version 2 only)
    put_count(&mut body, dictionary.len() as u64); // member dictionary
    for member in dictionary {
        put_string(&mut body, member);
    }
    put_count(&mut body, 2); // groups, sorted by id
    put_string(&mut body, "34340");
    put_count(&mut body, 1); // observed
    put_date(&mut body, day(11, 16));
    put_count(&mut body, facts_34340.len() as u64); // facts
    for &(index, date, change) in facts_34340 {
        body.extend_from_slice(&index.to_be_bytes());
        put_date(&mut body, date);
        body.push(change);
    }
    put_count(&mut body, 0); // ended
    put_count(&mut body, 0); // reopened
    put_string(&mut body, "34341");
    put_count(&mut body, 1); // observed
    put_date(&mut body, day(11, 23));
    put_count(&mut body, 1); // facts
    body.extend_from_slice(&b_index.to_be_bytes());
    put_date(&mut body, day(11, 23));
    body.push(0); // leave
    put_count(&mut body, 1); // ended
    put_date(&mut body, day(11, 23));
    put_count(&mut body, 0); // reopened
    put_count(&mut body, 0); // erased
    body
}

/// The envelope around a hand-built body, from the rules in docs/format.md.
pub(super) fn envelope(version: u16, body: &[u8]) -> Vec<u8> {
    let mut bytes = b"MUSC".to_vec();
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
    bytes.extend_from_slice(body);
    let checksum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&checksum.to_be_bytes());
    bytes
}

/// The error a body decodes to once sealed correctly (so the body decoder, not the
/// envelope, is what refuses it).
pub(super) fn refusal(version: u16, body: &[u8]) -> Error {
    Commit::decode(&envelope(version, body)).expect_err("a damaged body must be refused")
}

/// Builds the expected bytes by hand from the rules in docs/format.md, so that an
/// accidental change of the format (a field, an order, an integer width) fails here.
#[test]
fn encoding_follows_docs_format_md() {
    let (a, b) = (0, 1);
    let body = sample_v2_body(&["a", "b"], &[(a, day(11, 16), 0), (b, day(11, 16), 1)], b);
    let (bytes, hash) = sample().encode().unwrap();
    assert_eq!(bytes, envelope(2, &body));
    assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&body)));
}

/// Version 1 is read for ever: bytes built by hand from its rules decode to the right
/// commit with the hash of those bytes, and re-encode to exactly them.
#[test]
fn a_version_1_commit_made_by_hand_decodes_with_its_hash_and_re_encodes_as_it_was() {
    let mut body = Vec::new();
    put_head(&mut body);
    let v1_fact = |body: &mut Vec<u8>, member: &str, date: Date, change: u32| {
        put_string(body, member);
        put_date(body, date);
        body.extend_from_slice(&change.to_be_bytes()); // enum: variant index, u32
    };
    put_count(&mut body, 2); // groups, sorted by id
    put_string(&mut body, "34340");
    put_count(&mut body, 1); // observed
    put_date(&mut body, day(11, 16));
    put_count(&mut body, 2); // facts, sorted by member
    v1_fact(&mut body, "a", day(11, 16), 0); // leave
    v1_fact(&mut body, "b", day(11, 16), 1); // join
    put_count(&mut body, 0); // ended
    put_count(&mut body, 0); // reopened
    put_string(&mut body, "34341");
    put_count(&mut body, 1); // observed
    put_date(&mut body, day(11, 23));
    put_count(&mut body, 1); // facts
    v1_fact(&mut body, "b", day(11, 23), 0); // leave
    put_count(&mut body, 1); // ended
    put_date(&mut body, day(11, 23));
    put_count(&mut body, 0); // reopened
    put_count(&mut body, 0); // erased
    let stored = envelope(1, &body);
    let expected_hash = <[u8; 32]>::from(Sha256::digest(&body));

    let (commit, hash) = Commit::decode(&stored).unwrap();
    assert_eq!(commit, sample_v1());
    assert_eq!(commit.format_version, COMMIT_VERSION_1);
    assert_eq!(hash, expected_hash);
    assert_eq!(commit.hash().unwrap(), expected_hash);
    assert_eq!(commit.encode().unwrap(), (stored, expected_hash));
}

#[test]
fn round_trip_keeps_commit_version_and_hash() {
    for commit in [sample(), sample_v1()] {
        let (bytes, hash) = commit.encode().unwrap();
        assert_eq!(bytes[4..6], commit.format_version.to_be_bytes());
        let (decoded, decoded_hash) = Commit::decode(&bytes).unwrap();
        assert_eq!(decoded, commit);
        assert_eq!(decoded_hash, hash);
        assert_eq!(decoded.encode().unwrap(), (bytes, hash));
    }
}

/// Source options (how the files were read) are kept by version 2, round trip, and
/// change the input's fingerprint; version 1 has no place for them and refuses them.
#[test]
fn source_options_round_trip_in_version_2_and_are_refused_by_version_1() {
    let mut commit = sample();
    let plain = commit.source.fingerprint();
    commit.source.options = vec!["start=2015-11-15".to_string()];
    assert_ne!(commit.source.fingerprint(), plain);
    assert!(plain.is_some());
    let (bytes, _) = commit.encode().unwrap();
    assert_eq!(Commit::decode(&bytes).unwrap().0, commit);
    commit.format_version = COMMIT_VERSION_1;
    assert!(commit.encode().is_err());
}

#[test]
fn source_numbers_are_places_in_all() {
    for (place, kind) in SourceKind::ALL.iter().enumerate() {
        assert_eq!(usize::from(kind.number()), place, "{kind:?}");
        assert_eq!(SourceKind::from_number(place as u32), Some(*kind));
    }
    assert_eq!(SourceKind::from_number(SourceKind::ALL.len() as u32), None);
}

/// Derived state packs a commit number into 31 bits: a larger one is never written.
#[test]
fn a_commit_number_past_max_commits_is_refused() {
    let mut commit = sample();
    commit.seq = MAX_COMMITS;
    assert!(commit.check().is_ok());
    commit.seq = MAX_COMMITS + 1;
    assert!(commit.encode().is_err());
}

#[test]
fn the_two_versions_of_one_content_differ_in_bytes_and_hash() {
    let (v1_bytes, v1_hash) = sample_v1().encode().unwrap();
    let (v2_bytes, v2_hash) = sample().encode().unwrap();
    assert_ne!(v1_bytes, v2_bytes);
    assert_ne!(v1_hash, v2_hash);
}

/// Apart from the facts, version 2 writes every field as version 1 does: a commit with
/// no facts differs only by the (empty) dictionary's count after the source.
#[test]
fn version_2_writes_the_other_fields_as_version_1_does() {
    for kind in [
        SourceKind::Observations,
        SourceKind::Facts,
        SourceKind::Spans,
        SourceKind::SchoolBase,
        SourceKind::Forget,
    ] {
        let mut commit = sample();
        commit.source.kind = kind;
        for group in &mut commit.groups {
            group.facts.clear();
        }
        commit.erased = vec![member("x"), member("y")];
        let v2 = commit.encode_body().unwrap();
        commit.format_version = COMMIT_VERSION_1;
        let v1 = commit.encode_body().unwrap();
        let source_end = 8 + 8 + 32 + 4 + 8 + (8 + "week.csv".len()) + 32;
        let mut expected = v1[..source_end].to_vec();
        put_count(&mut expected, 0); // the source's options
        put_count(&mut expected, 0); // the dictionary
        expected.extend_from_slice(&v1[source_end..]);
        assert_eq!(v2, expected, "{kind:?}");
    }
}

#[test]
fn a_decoded_version_2_commit_shares_one_text_per_member() {
    let (bytes, _) = sample().encode().unwrap();
    let (commit, _) = Commit::decode(&bytes).unwrap();
    let b_texts: Vec<*const u8> = commit
        .groups
        .iter()
        .flat_map(|group| &group.facts)
        .filter(|fact| fact.member.as_str() == "b")
        .map(|fact| fact.member.as_str().as_ptr())
        .collect();
    assert_eq!(b_texts.len(), 2);
    assert_eq!(b_texts[0], b_texts[1]);
}

/// Canonical: members that are equal text but separate allocations encode exactly as
/// shared ones, whatever order the content came in.
#[test]
fn the_same_content_always_encodes_to_the_same_bytes() {
    let mut shuffled = sample();
    shuffled.groups.reverse();
    for group in &mut shuffled.groups {
        group.facts.reverse();
        for fact in &mut group.facts {
            fact.member = member(fact.member.as_str());
        }
    }
    shuffled.canonicalize();
    assert_eq!(shuffled.encode().unwrap(), sample().encode().unwrap());
}

#[test]
fn every_single_byte_flip_is_detected() {
    for commit in [sample(), sample_v1()] {
        let (bytes, _) = commit.encode().unwrap();
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            assert!(
                Commit::decode(&damaged).is_err(),
                "version {}: flip at {position} passed",
                commit.format_version
            );
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    for commit in [sample(), sample_v1()] {
        let (bytes, _) = commit.encode().unwrap();
        for length in 0..bytes.len() {
            assert!(
                Commit::decode(&bytes[..length]).is_err(),
                "version {}: length {length} passed",
                commit.format_version
            );
        }
    }
}

/// Damage behind a correct envelope: the body decoder must refuse it, naming why.
#[test]
fn a_damaged_version_2_dictionary_or_index_is_refused() {
    let on = day(11, 16);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "an index past the dictionary",
            sample_v2_body(&["a", "b"], &[(0, on, 0), (2, on, 1)], 1),
            "member index 2, but the dictionary holds 2",
        ),
        (
            "an index far past the dictionary",
            sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 1)], u32::MAX),
            "member index 4294967295",
        ),
        (
            "an unsorted dictionary",
            sample_v2_body(&["b", "a"], &[(1, on, 0), (0, on, 1)], 0),
            "member dictionary not sorted",
        ),
        (
            "a repeated dictionary entry",
            sample_v2_body(&["a", "b", "b"], &[(0, on, 0), (1, on, 1)], 2),
            "member dictionary not sorted, or b repeats",
        ),
        (
            "a dictionary entry no fact names",
            sample_v2_body(&["a", "b", "c"], &[(0, on, 0), (1, on, 1)], 1),
            "dictionary member c is named by no fact",
        ),
        (
            "a change byte that is neither leave nor join",
            sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 2)], 1),
            "change byte 2",
        ),
    ];
    // The unchanged body decodes, so each refusal below is the damage's doing.
    let sound = sample_v2_body(&["a", "b"], &[(0, on, 0), (1, on, 1)], 1);
    assert_eq!(Commit::decode(&envelope(2, &sound)).unwrap().0, sample());
    for (what, body, reason) in cases {
        let error = refusal(2, &body);
        assert_eq!(error.kind(), ErrorKind::Corrupt, "{what}");
        assert!(error.detail().contains(reason), "{what}: {error}");
    }
}

/// The commit invariants hold for version 2 as for version 1: facts of one member out
/// of date order pass the body decoder but not `Commit::check`.
#[test]
fn a_version_2_body_breaking_a_commit_invariant_is_refused() {
    let body = sample_v2_body(&["a", "b"], &[(1, day(11, 16), 1), (0, day(11, 16), 0)], 1);
    let error = refusal(2, &body);
    assert!(
        error.detail().contains("facts of 34340 not sorted"),
        "{error}"
    );
}

#[test]
fn a_version_2_body_with_trailing_bytes_is_refused() {
    let mut body = sample_v2_body(&["a", "b"], &[(0, day(11, 16), 0), (1, day(11, 16), 1)], 1);
    body.push(0);
    assert!(refusal(2, &body).detail().contains("1 trailing bytes"));
}

#[test]
fn a_commit_version_this_muster_does_not_know_is_corrupt_and_named() {
    let (bytes, _) = sample().encode().unwrap();
    let body = &bytes[HEADER_BYTES..bytes.len() - CHECKSUM_BYTES];
    for version in [0, 4, u16::MAX] {
        let error = refusal(version, body);
        assert_eq!(error.kind(), ErrorKind::Corrupt);
        assert!(
            error
                .detail()
                .contains(&format!("format version {version};")),
            "{error}"
        );
    }
    let mut commit = sample();
    commit.format_version = 4;
    assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn other_values_read_only_their_one_version() {
    let sealed = seal(Magic::Head, b"x").unwrap();
    assert_eq!(sealed[4..6], VALUE_VERSION.to_be_bytes());
    assert_eq!(unseal(Magic::Head, &sealed).unwrap(), b"x");
    let newer = seal_versioned(Magic::Head, VALUE_VERSION + 1, b"x").unwrap();
    assert!(unseal(Magic::Head, &newer)
        .unwrap_err()
        .detail()
        .contains("format version 2; this muster reads version 1"));
}

#[test]
fn unsorted_facts_are_refused_before_writing() {
    for mut commit in [sample(), sample_v1()] {
        commit.groups[0].facts.reverse(); // group 34340: two facts
        assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
    }
}

// ---- Version 3: sections ------------------------------------------------------------

use crate::log::personal::{value_digest, Field, PersonalRecord, Subject};

/// The sample as version 3, setting two names (a member's and a group's) and erasing
/// member "x".
pub(super) fn sample_v3() -> Commit {
    let mut commit = Commit {
        format_version: COMMIT_VERSION_3,
        ..sample()
    };
    commit.personal = vec![
        PersonalRecord {
            subject: Subject::Group(GroupId::new("34340").unwrap()),
            field: Field::Name,
            digest: [0xdd; 32],
        },
        PersonalRecord {
            subject: Subject::Member(member("a")),
            field: Field::Name,
            digest: [0xaa; 32],
        },
    ];
    commit.erased = vec![member("x")];
    commit.canonicalize();
    commit
}

/// Bytes of the fields up to the source's options (`put_head` and an empty options
/// count).
fn head_length() -> usize {
    let mut head = Vec::new();
    put_head(&mut head);
    head.len() + 8
}

/// The membership section's bytes: version 2's dictionary and groups, byte for byte.
pub(super) fn sample_membership() -> Vec<u8> {
    let v2 = sample_v2_body(&["a", "b"], &[(0, day(11, 16), 0), (1, day(11, 16), 1)], 1);
    v2[head_length()..v2.len() - 8].to_vec()
}

pub(super) fn put_section(body: &mut Vec<u8>, kind: u16, bytes: &[u8]) {
    body.extend_from_slice(&kind.to_be_bytes());
    put_count(body, bytes.len() as u64);
    body.extend_from_slice(bytes);
}

/// The sample's personal-data section, from the rules in docs/format.md.
pub(super) fn sample_personal() -> Vec<u8> {
    let mut section = Vec::new();
    put_count(&mut section, 2); // records, members (kind 1) before groups (kind 2)
    section.push(1);
    put_string(&mut section, "a");
    section.push(1); // field: name
    section.extend_from_slice(&[0xaa; 32]);
    section.push(2);
    put_string(&mut section, "34340");
    section.push(1);
    section.extend_from_slice(&[0xdd; 32]);
    put_count(&mut section, 1); // erasures
    section.push(1);
    put_string(&mut section, "x");
    section
}

fn sample_v3_body() -> Vec<u8> {
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0); // source.options
    put_section(&mut body, 2, &sample_membership());
    put_section(&mut body, 4, &sample_personal());
    body
}

/// Version 3's bytes, built by hand from docs/format.md.
#[test]
fn version_3_follows_docs_format_md() {
    let body = sample_v3_body();
    let (bytes, hash) = sample_v3().encode().unwrap();
    assert_eq!(bytes, envelope(3, &body));
    assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&body)));
    let (decoded, decoded_hash) = Commit::decode(&bytes).unwrap();
    assert_eq!(decoded, sample_v3());
    assert_eq!(decoded_hash, hash);
}

/// New commits are version 3; a commit with nothing in a section leaves the section out.
#[test]
fn new_commits_are_version_3_and_empty_sections_are_left_out() {
    assert_eq!(COMMIT_VERSION, COMMIT_VERSION_3);
    let mut commit = sample_v3();
    commit.groups.clear();
    commit.personal.clear();
    commit.erased.clear();
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0);
    assert_eq!(commit.encode().unwrap().0, envelope(3, &body));
    commit.erased = vec![member("x")];
    let mut section = Vec::new();
    put_count(&mut section, 0);
    put_count(&mut section, 1);
    section.push(1);
    put_string(&mut section, "x");
    put_section(&mut body, 4, &section);
    assert_eq!(commit.encode().unwrap().0, envelope(3, &body));
}

/// A value's digest, from the rules in docs/format.md.
#[test]
fn a_value_digest_covers_salt_subject_field_and_value() {
    let salt = [5u8; 16];
    let mut input = salt.to_vec();
    input.extend_from_slice(&[1, 5]);
    input.extend_from_slice(b"10773");
    input.push(1);
    input.extend_from_slice("Wei Ó Súilleabháin".as_bytes());
    let expected: [u8; 32] = Sha256::digest(&input).into();
    let subject = Subject::Member(member("10773"));
    assert_eq!(
        value_digest(&salt, &subject, Field::Name, "Wei Ó Súilleabháin"),
        expected
    );
    let group = Subject::Group(GroupId::new("10773").unwrap());
    assert_ne!(
        value_digest(&salt, &group, Field::Name, "Wei Ó Súilleabháin"),
        expected
    );
    assert_ne!(
        value_digest(&[6; 16], &subject, Field::Name, "Wei Ó Súilleabháin"),
        expected
    );
}

/// An older muster never misreads a newer commit: a section kind this muster does not
/// know, or one reserved for later (the interned id dictionary), is
/// refused and named; so are sections out of order or repeated.
#[test]
fn unknown_reserved_and_misordered_sections_are_refused() {
    for kind in [1u16, 5, u16::MAX] {
        let mut body = sample_v3_body();
        put_section(&mut body, kind, b"");
        let detail = refusal(3, &body).detail().to_string();
        assert!(detail.contains(&format!("section kind {kind}")), "{detail}");
    }
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0);
    put_section(&mut body, 4, &sample_personal());
    put_section(&mut body, 2, &sample_membership());
    assert!(refusal(3, &body).detail().contains("ascending"));
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0);
    put_section(&mut body, 2, &sample_membership());
    put_section(&mut body, 2, &sample_membership());
    assert!(refusal(3, &body).detail().contains("ascending"));
}

#[test]
fn a_section_with_bytes_left_over_or_running_past_the_body_is_refused() {
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0);
    let mut personal = sample_personal();
    personal.push(0);
    put_section(&mut body, 4, &personal);
    assert!(refusal(3, &body).detail().contains("trailing"));
    let mut body = sample_v3_body();
    body.truncate(body.len() - 1);
    assert!(refusal(3, &body).detail().contains("a section"));
}

#[test]
fn personal_values_are_refused_in_older_versions_and_must_be_sorted() {
    let mut commit = sample_v3();
    commit.format_version = COMMIT_VERSION_2;
    assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
    let mut commit = sample_v3();
    commit.personal.reverse();
    assert_eq!(commit.encode().unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn every_single_byte_flip_of_a_version_3_commit_is_detected() {
    let (bytes, _) = sample_v3().encode().unwrap();
    for position in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x01;
        assert!(Commit::decode(&damaged).is_err(), "byte {position}");
    }
}
