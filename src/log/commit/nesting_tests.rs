//! The nesting section's tests: its bytes built by hand from docs/format.md, round trips,
//! and what a reader refuses.

use sha2::{Digest, Sha256};

use super::tests::{
    day, envelope, fact, member, put_count, put_date, put_head, put_section, put_string, refusal,
    sample_membership, sample_personal, sample_v3,
};
use super::*;

fn group(id: &str) -> GroupId {
    GroupId::new(id).unwrap()
}

fn subgroup(id: &str, date: Date, change: Change) -> SubgroupFact {
    SubgroupFact {
        subgroup: group(id),
        date,
        change,
    }
}

/// The version-3 sample with nesting: group 34340 excludes member c and includes
/// subgroup 34341 and excludes subgroup 9; group `all`, named only here, includes 34340.
fn sample_nesting() -> Commit {
    let mut commit = sample_v3();
    let record = commit
        .groups
        .iter_mut()
        .find(|record| record.group == group("34340"))
        .unwrap();
    record.facts.push(fact("c", day(11, 20), Change::Exclude));
    record.subgroups = vec![
        subgroup("34341", day(11, 16), Change::Join),
        subgroup("9", day(11, 18), Change::Exclude),
    ];
    let mut all = GroupRecord::new(group("all"));
    all.subgroups = vec![subgroup("34340", day(11, 1), Change::Join)];
    commit.groups.push(all);
    commit.canonicalize();
    commit
}

fn put_element(section: &mut Vec<u8>, kind: u8, id: &str, date: Date, change: u8) {
    section.push(kind);
    put_string(section, id);
    put_date(section, date);
    section.push(change);
}

/// A section of one group with `elements` (kind, id, date, change byte).
fn one_group(id: &str, elements: &[(u8, &str, Date, u8)]) -> Vec<u8> {
    let mut section = Vec::new();
    put_count(&mut section, 1);
    put_string(&mut section, id);
    put_count(&mut section, elements.len() as u64);
    for &(kind, element, date, change) in elements {
        put_element(&mut section, kind, element, date, change);
    }
    section
}

/// The nesting section of [`sample_nesting`], from the rules in docs/format.md.
fn sample_nesting_section() -> Vec<u8> {
    let mut section = Vec::new();
    put_count(&mut section, 2); // groups, ascending by id bytes: "34340" < "all"
    put_string(&mut section, "34340");
    put_count(&mut section, 3);
    put_element(&mut section, 1, "c", day(11, 20), 2); // members (kind 1) first
    put_element(&mut section, 2, "34341", day(11, 16), 1);
    put_element(&mut section, 2, "9", day(11, 18), 2);
    put_string(&mut section, "all");
    put_count(&mut section, 1);
    put_element(&mut section, 2, "34340", day(11, 1), 1);
    section
}

fn sample_nesting_body(nesting: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put_head(&mut body);
    put_count(&mut body, 0); // source.options
                             // The membership section is the sample's, unchanged: exclusions and groups named
                             // only by nesting are not in it, nor is member c in its dictionary.
    put_section(&mut body, 2, &sample_membership());
    put_section(&mut body, 3, nesting);
    put_section(&mut body, 4, &sample_personal());
    body
}

/// The nesting section's bytes, built by hand from docs/format.md.
#[test]
fn the_nesting_section_follows_docs_format_md() {
    let body = sample_nesting_body(&sample_nesting_section());
    let (bytes, hash) = sample_nesting().encode().unwrap();
    assert_eq!(bytes, envelope(3, &body));
    assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&body)));
    let (decoded, decoded_hash) = Commit::decode(&bytes).unwrap();
    assert_eq!(decoded, sample_nesting());
    assert_eq!(decoded_hash, hash);
}

/// A commit without nesting has no nesting section: its bytes are what they were before
/// nesting existed.
#[test]
fn a_commit_without_nesting_has_no_nesting_section() {
    let (bytes, _) = sample_v3().encode().unwrap();
    let (with, _) = sample_nesting().encode().unwrap();
    assert!(bytes.len() < with.len());
    let (decoded, _) = Commit::decode(&bytes).unwrap();
    assert!(!decoded.has_nesting());
}

#[test]
fn a_damaged_nesting_section_is_refused() {
    let good = sample_nesting_section();
    let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();
    // A member's join belongs in the membership section.
    let join = one_group("34340", &[(1, "c", day(11, 20), 1)]);
    cases.push((join, "membership section"));
    // Element kind 3 and change byte 3 are unknown.
    let mut kind = good.clone();
    let at = 8 + 8 + 5 + 8;
    kind[at] = 3;
    cases.push((kind, "element kind 3"));
    let change = one_group("all", &[(2, "x", day(11, 1), 3)]);
    cases.push((change, "change byte 3"));
    // Facts out of order; groups out of order; an empty section.
    let facts = one_group("all", &[(2, "x", day(11, 2), 1), (2, "x", day(11, 1), 1)]);
    cases.push((facts, "out of order"));
    let mut groups = Vec::new();
    put_count(&mut groups, 2);
    for id in ["b", "a"] {
        put_string(&mut groups, id);
        put_count(&mut groups, 1);
        put_element(&mut groups, 2, "x", day(11, 1), 1);
    }
    cases.push((groups, "out of order"));
    let mut empty = Vec::new();
    put_count(&mut empty, 0);
    cases.push((empty, "no group"));
    // A group naming itself.
    let itself = one_group("all", &[(2, "all", day(11, 1), 1)]);
    cases.push((itself, "itself"));
    for (section, expected) in cases {
        let detail = refusal(3, &sample_nesting_body(&section))
            .detail()
            .to_string();
        assert!(detail.contains(expected), "{expected}: {detail}");
    }
}

/// An exclusion on a (member, date) that also has a join is two facts for one member on
/// one date: refused.
#[test]
fn an_exclusion_and_a_join_of_one_member_on_one_date_are_refused() {
    let section = one_group("34340", &[(1, "b", day(11, 16), 2)]);
    let detail = refusal(3, &sample_nesting_body(&section))
        .detail()
        .to_string();
    assert!(detail.contains("two facts for one member"), "{detail}");
}

/// Versions 1 and 2 cannot hold nesting.
#[test]
fn exclusions_and_subgroup_facts_are_refused_in_older_versions() {
    for version in [COMMIT_VERSION_1, COMMIT_VERSION_2] {
        let commit = Commit {
            format_version: version,
            personal: vec![],
            erased: vec![],
            ..sample_nesting()
        };
        let error = commit.encode().unwrap_err();
        assert!(error.detail().contains("cannot hold exclusions"), "{error}");
    }
    assert_eq!(member("c").as_str(), "c");
}

#[test]
fn every_single_byte_flip_of_a_nesting_commit_is_detected() {
    let (bytes, _) = sample_nesting().encode().unwrap();
    for index in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[index] ^= 0x01;
        assert!(Commit::decode(&damaged).is_err(), "byte {index}");
    }
}
