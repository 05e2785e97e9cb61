//! A group block's date index: for each stretch of [`BUCKET_DAYS`] days, where in the
//! block lie the member timelines whose state is included or excluded on some day of it
//! (`docs/format.md`, "The date index"). A one-date read of a group with many members,
//! few of them there on any one day, reads those timelines and steps over the rest.
//!
//! Owns: [`DateIndexBuilder`] (what the index of a block's timelines is, and whether it
//! pays to write one) and [`candidates`] (the positions the index lists for a day).
//! Must not: evaluate a timeline for a date (the block reader does, for every candidate)
//! or speak of `--as-of`: the index follows every commit, the ledger's latest belief.

use crate::error::{Error, Result};

use super::{push_varint, Reader};

/// A bucket holds `1 << BUCKET_SHIFT` days: a day's bucket is its days from the common
/// era shifted right. 256 days: a school's term-long memberships touch one or two.
pub const BUCKET_SHIFT: u32 = 8;
/// Days per bucket.
pub const BUCKET_DAYS: i32 = 1 << BUCKET_SHIFT;
/// Fewest member timelines a block must hold to carry an index: reading a few dozen
/// timelines costs less than the index's bytes are worth.
pub const MIN_INDEXED_TIMELINES: usize = 32;
/// An index is written only when its buckets list, on average, at most one timeline in
/// `MAX_SHARE` of the block's: a group whose members stay for years gains little from one.
pub const MAX_SHARE: u64 = 4;

const _: () = assert!(BUCKET_DAYS > 0 && BUCKET_SHIFT < 16);
const _: () = assert!(MIN_INDEXED_TIMELINES as u64 >= MAX_SHARE);

/// The last bucket of a timeline still there after its last entry: the index's last
/// bucket, whichever that turns out to be.
const OPEN: u32 = u32::MAX;

/// Collects each member timeline's buckets as a block is written or decoded, then builds
/// the index bytes.
#[derive(Debug, Default)]
pub struct DateIndexBuilder {
    /// Per timeline with a day in or out of the group: its position (bytes from the first
    /// member timeline) and its buckets, as runs `(position, first, last)` ascending by
    /// position, runs of one timeline ascending and apart.
    runs: Vec<(u32, u32, u32)>,
    timelines: usize,
    /// The latest day of any member timeline's entries.
    last_day: i32,
}

impl DateIndexBuilder {
    /// Adds the timeline that starts `position` bytes after the first member timeline,
    /// given its entries as (days from the common era, whether the member is included or
    /// excluded from then), ascending by (date, commit) as stored.
    pub fn timeline(&mut self, position: u32, entries: impl Iterator<Item = (i32, bool)>) {
        self.timelines += 1;
        // The state from a day on is the last entry of that day's: an entry is applied
        // only when the next one is of a later day (or there is none).
        let mut pending: Option<(i32, bool)> = None;
        let mut there_since: Option<i32> = None;
        let mut apply =
            |runs: &mut Vec<(u32, u32, u32)>, (day, there): (i32, bool)| match (there_since, there)
            {
                (None, true) => there_since = Some(day),
                (Some(since), false) => {
                    push_run(runs, position, since, Some(day - 1));
                    there_since = None;
                }
                _ => {}
            };
        for (day, there) in entries {
            if let Some(previous) = pending.filter(|(previous_day, _)| *previous_day != day) {
                apply(&mut self.runs, previous);
            }
            pending = Some((day, there));
            self.last_day = self.last_day.max(day);
        }
        if let Some(last) = pending {
            apply(&mut self.runs, last);
        }
        if let Some(since) = there_since {
            push_run(&mut self.runs, position, since, None);
        }
    }

    /// The index's bytes, or `None` when the block is better read whole: too few
    /// timelines, none ever there, or buckets listing too many of them.
    pub fn finish(&self) -> Option<Vec<u8>> {
        let first = self.runs.iter().map(|&(_, first, _)| first).min()?;
        if self.timelines < MIN_INDEXED_TIMELINES {
            return None;
        }
        // Every run starts on a day of some entry, so the last entry's bucket is at or
        // after every run's first: the index runs from `first` to it.
        let last = bucket(self.last_day);
        let buckets = (last - first + 1) as usize;
        let span =
            |from: u32, until: u32| (from - first) as usize..=(until.min(last) - first) as usize;
        // Timelines listed per bucket: each run adds one to every bucket it covers,
        // counted as steps (one up where it starts, one down after it ends) and summed.
        let mut listed = vec![0i64; buckets + 1];
        for &(_, from, until) in &self.runs {
            let covered = span(from, until);
            listed[*covered.start()] += 1;
            listed[*covered.end() + 1] -= 1;
        }
        let mut total = 0u64;
        let mut running = 0i64;
        // Where each bucket's list starts in one array of all lists.
        let mut cursor = Vec::with_capacity(buckets);
        for step in &listed[..buckets] {
            running += step;
            cursor.push(total as usize);
            total += running as u64;
        }
        if total * MAX_SHARE > self.timelines as u64 * buckets as u64 {
            return None;
        }
        let ends: Vec<usize> = cursor[1..]
            .iter()
            .copied()
            .chain([total as usize])
            .collect();
        let mut lists = vec![0u32; total as usize];
        // Runs come in position order, so each list is filled ascending.
        for &(position, from, until) in &self.runs {
            for bucket in span(from, until) {
                lists[cursor[bucket]] = position;
                cursor[bucket] += 1;
            }
        }
        let mut bytes = Vec::with_capacity(8 + 2 * total as usize + buckets);
        push_varint(&mut bytes, first);
        push_varint(&mut bytes, buckets as u32);
        let mut begin = 0;
        for end in ends {
            let list = &lists[begin..end];
            begin = end;
            // Each position as its step from the one before (the first from 0):
            // positions ascend, so only the first step can be 0.
            let steps = || {
                list.iter().scan(0, |previous, &position| {
                    Some(position - std::mem::replace(previous, position))
                })
            };
            push_varint(&mut bytes, steps().map(varint_length).sum::<u32>());
            for step in steps() {
                push_varint(&mut bytes, step);
            }
        }
        Some(bytes)
    }
}

/// Adds a run of days `since ..= last` (`None`: on for ever) of the timeline at
/// `position`, merged with its run before when their buckets meet.
fn push_run(runs: &mut Vec<(u32, u32, u32)>, position: u32, since: i32, last: Option<i32>) {
    let from = bucket(since);
    let until = last.map_or(OPEN, bucket);
    if let Some(previous) = runs.last_mut() {
        if previous.0 == position && previous.2 != OPEN && from <= previous.2 + 1 {
            previous.2 = until;
            return;
        }
    }
    runs.push((position, from, until));
}

/// How many bytes `value` takes as a varint.
fn varint_length(value: u32) -> u32 {
    (32 - value.leading_zeros()).max(1).div_ceil(7)
}

/// A day's bucket. Days are from 1 (0001-01-01) on, checked where read.
fn bucket(days: i32) -> u32 {
    (days.max(0) as u32) >> BUCKET_SHIFT
}

/// The positions (bytes from the first member timeline, ascending) the index in `bytes`
/// lists for `day`: every member timeline included or excluded on that day, as the ledger
/// now believes, and perhaps some that are not. Days before the first bucket list none;
/// days after the last are listed by the last (no timeline changes after it).
pub fn candidates(bytes: &[u8], day: i32) -> Result<Vec<u32>> {
    let mut reader = Reader { bytes, at: 0 };
    let first = reader.varint()?;
    let buckets = reader.varint()?;
    if buckets == 0 {
        return Err(Error::corrupt("a date index holds no buckets"));
    }
    let wanted = bucket(day);
    if wanted < first {
        return Ok(Vec::new());
    }
    let wanted = (wanted - first).min(buckets - 1);
    for _ in 0..wanted {
        let length = reader.varint()? as usize;
        reader.take(length)?;
    }
    let length = reader.varint()? as usize;
    let mut list = Reader {
        bytes: reader.take(length)?,
        at: 0,
    };
    let mut positions = Vec::with_capacity(length);
    let mut position: u32 = 0;
    while list.at < list.bytes.len() {
        let step = list.varint()?;
        if !positions.is_empty() && step == 0 {
            return Err(Error::corrupt("a date index lists a timeline twice"));
        }
        position = position
            .checked_add(step)
            .ok_or_else(|| Error::corrupt("a date index points past its block"))?;
        positions.push(position);
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{Change, Date, MemberId};
    use crate::projection::timeline::{Entry, Timeline};
    use crate::projection::GroupState;
    use crate::storage::block::{decode_group, decode_group_on, encode_group, BlockWriter, Reader};

    /// Days from the common era of 2000-01-01, where the sample timelines start.
    const BASE: i32 = 730_120;

    /// One member's entries as (days after `BASE`, commit, change), ascending, from a
    /// pattern: 0 in for ever (only every sixteenth member, so the index still pays), 1 in
    /// then excluded then out, 2 in and out twice, 3 in and out on one day then in and out
    /// again, else in and out.
    fn pattern(
        index: usize,
        start: i32,
        length: i32,
        commit: u64,
        kind: u8,
    ) -> Vec<(i32, u64, Change)> {
        let (j, l, x) = (Change::Join, Change::Leave, Change::Exclude);
        let half = length / 2 + 1;
        match kind {
            0 if index.is_multiple_of(16) => vec![(start, commit, j)],
            1 => vec![
                (start, commit, j),
                (start + half, commit, x),
                (start + length + 2, commit, l),
            ],
            2 => vec![
                (start, commit, j),
                (start + half, commit + 1, l),
                (start + half + 5, commit, j),
                (start + length + 9, commit + 2, l),
            ],
            3 => vec![
                (start, commit, j),
                (start, commit + 1, l),
                (start + length, commit, j),
                (start + length, commit + 3, j),
                (start + length + 1, commit + 2, l),
            ],
            _ => vec![(start, commit, j), (start + length, commit + 1, l)],
        }
    }

    /// A group of `stays.len()` members spread over about 8,000 days (32 buckets), each
    /// in for at most about 200 days at a time.
    fn group_of(stays: &[(i32, i32, u64, u8)]) -> GroupState {
        let members = stays
            .iter()
            .enumerate()
            .map(|(index, &(jitter, length, commit, kind))| {
                let start = (index as i32 * 89) % 8_000 + jitter;
                let entries = pattern(index, start, length, commit, kind)
                    .into_iter()
                    .map(|(days, seq, change)| Entry {
                        date: Date::try_from(BASE + days).unwrap(),
                        seq,
                        change,
                    })
                    .collect();
                (
                    MemberId::new(&format!("m{index:03}")).unwrap(),
                    Timeline::from_sorted(entries).unwrap(),
                )
            })
            .collect();
        // A subgroup and a parent, so that the nesting section lies between the member
        // timelines and the index.
        let nesting = |id: &str| {
            let entry = Entry {
                date: Date::try_from(BASE + 400).unwrap(),
                seq: 2,
                change: Change::Join,
            };
            [(
                crate::model::GroupId::new(id).unwrap(),
                Timeline::from_sorted(vec![entry]).unwrap(),
            )]
            .into_iter()
            .collect()
        };
        GroupState {
            applied_through: 60,
            members,
            subgroups: nesting("h"),
            parents: nesting("p"),
            ..GroupState::default()
        }
    }

    /// Whether a sealed group block carries a date index.
    fn indexed(bytes: &[u8]) -> bool {
        let (_, layout) = Reader::past_group_header(bytes).unwrap();
        layout.index_at.is_some()
    }

    fn stays() -> impl Strategy<Value = Vec<(i32, i32, u64, u8)>> {
        proptest::collection::vec((0..60i32, 1..100i32, 1..40u64, 0..5u8), 48..90)
    }

    proptest! {
        /// Through the index, a one-date read says what the state says on every day
        /// around, between and past the stays, and on both sides of every bucket's edge;
        /// as of earlier commits (every timeline read) too. The block decodes back to the
        /// state, and written from packed entries (a rebuild) it is the same bytes.
        #[test]
        fn a_one_date_read_through_the_index_says_what_the_state_says(stays in stays()) {
            let state = group_of(&stays);
            let group = crate::model::GroupId::new("g").unwrap();
            let bytes = encode_group(&state).unwrap();
            prop_assert!(indexed(&bytes), "short stays over many buckets are indexed");
            prop_assert_eq!(&decode_group(&group, &bytes).unwrap(), &state);
            let mut days: Vec<i32> = (-300..8_700).step_by(7).collect();
            days.extend((0..40).flat_map(|b| {
                let edge = ((BASE >> BUCKET_SHIFT) + b) << BUCKET_SHIFT;
                [edge - 1 - BASE, edge - BASE]
            }));
            for day in days {
                let on = Date::try_from(BASE + day).unwrap();
                for as_of in [None, Some(3), Some(30)] {
                    prop_assert_eq!(
                        decode_group_on(&group, &bytes, on, as_of).unwrap(),
                        state.on_date(on, as_of),
                        "on {} as of {:?}", on, as_of
                    );
                }
            }
            // A rebuild writes packed entries, which never hold an exclusion.
            let mut without_exclusions = state.clone();
            without_exclusions.members.retain(|_, timeline| {
                timeline.entries().iter().all(|entry| entry.change != Change::Exclude)
            });
            let mut writer = BlockWriter::group(60, &[], &[], &[]);
            for (member, timeline) in &without_exclusions.members {
                let packed = timeline.entries().iter().map(|entry| {
                    (entry.date.days_from_ce(), (entry.seq as u32) << 1 | u32::from(entry.change == Change::Join))
                });
                writer.packed_timeline(member.as_str(), packed).unwrap();
            }
            writer.nesting(&state.subgroups, &state.parents).unwrap();
            prop_assert_eq!(writer.finish().unwrap(), encode_group(&without_exclusions).unwrap());
        }
    }

    /// Only a block worth indexing carries one: too few timelines, or members staying for
    /// most of the group's time, are read whole.
    #[test]
    fn an_index_is_written_only_when_it_pays() {
        let short: Vec<(i32, i32, u64, u8)> = (0..48).map(|_| (0, 50, 1, 4)).collect();
        assert!(indexed(&encode_group(&group_of(&short)).unwrap()));
        let few = &short[..MIN_INDEXED_TIMELINES - 1];
        assert!(!indexed(&encode_group(&group_of(few)).unwrap()));
        let mut long = group_of(&short);
        for timeline in long.members.values_mut() {
            let first = timeline.entries()[0];
            *timeline = Timeline::from_sorted(vec![first]).unwrap();
        }
        assert!(!indexed(&encode_group(&long).unwrap()));
        assert!(!indexed(&encode_group(&GroupState::default()).unwrap()));
    }

    /// A stored index that is not the one the timelines give (a bug could write one whose
    /// checksum holds) is refused by the whole decode, and so by `verify`.
    #[test]
    fn an_index_that_does_not_match_the_timelines_is_refused() {
        let state = group_of(&(0..48).map(|_| (0, 50, 1, 4)).collect::<Vec<_>>());
        let group = crate::model::GroupId::new("g").unwrap();
        let bytes = encode_group(&state).unwrap();
        let (reader, layout) = Reader::past_group_header(&bytes).unwrap();
        let index_at = layout.index_at.unwrap();
        let mut body = reader.bytes.to_vec();
        // Any byte of the index changed, its checksum sealed again.
        for at in index_at..body.len() {
            let mut altered = body.clone();
            altered[at] = altered[at].wrapping_add(1);
            let sealed = crate::log::seal::seal_versioned(
                crate::log::seal::Magic::GroupState,
                super::super::GROUP_BLOCK_VERSION,
                &altered,
            )
            .unwrap();
            assert!(decode_group(&group, &sealed).is_err(), "index byte {at}");
        }
        // The index cut off: the section table points past the body.
        body.truncate(index_at);
        let sealed = crate::log::seal::seal_versioned(
            crate::log::seal::Magic::GroupState,
            super::super::GROUP_BLOCK_VERSION,
            &body,
        )
        .unwrap();
        assert!(decode_group(&group, &sealed).is_err(), "index cut off");
    }
}
