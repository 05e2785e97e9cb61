//! The bytes of one group's or one member's state in the derived-state file: a compact,
//! hand-written layout (`docs/format.md`, "A group block", "The date index", "A member
//! block"), sealed like every stored value.
//!
//! Owns: [`BlockWriter`] (used both for a state in memory and, by a rebuild, straight
//! from sorted facts), decoding a block back into a [`GroupState`] or [`MemberState`],
//! checked, and reading a group block for one date (through its date index, in
//! `date_index`, when it has one).
//! Must not: decide what a state holds (that is `projection`), or where blocks lie in the
//! file (that is `derived`).

mod date_index;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::log::seal::{seal, seal_versioned, unseal, unseal_versioned, Magic};
use crate::log::source::SourceKind;
use crate::model::limits::{MAX_YEAR, MIN_YEAR};
use crate::model::{Change, Date, GroupId, MemberId, MAX_ID_BYTES};
use crate::projection::timeline::{Entry, Timeline, INLINE_ENTRIES};
use crate::projection::{GroupNesting, GroupOnDate, GroupState, MemberState};

use date_index::DateIndexBuilder;
pub use date_index::{BUCKET_DAYS, MAX_SHARE, MIN_INDEXED_TIMELINES};

/// The version of a group block's envelope. Version 2 added the section table and the
/// date index; version 1 blocks lived only in derived files of layout version 1, which
/// are rebuilt, never read block by block.
pub const GROUP_BLOCK_VERSION: u16 = 2;

/// Fewest bytes of one timeline entry: two variable-length integers (LEB128, 1 to 5 bytes
/// each): the days since the entry before (for the first, since the common era), then
/// `commit << 1 | join` (commits are at most `MAX_COMMITS`, 31 bits). Entries of one
/// timeline are a few days to a few years apart and their commits small, so an entry
/// takes 3 to 5 bytes where fixed widths took 8.
const MIN_ENTRY_BYTES: usize = 2;
/// Most bytes of one variable-length `u32`.
const MAX_VARINT_BYTES: usize = 5;

/// Appends `value` as LEB128: seven bits per byte, low first, the high bit set on every
/// byte but the last.
fn push_varint(body: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        body.push((value as u8) | 0x80);
        value >>= 7;
    }
    body.push(value as u8);
}

/// Writes one block: the state's own fields, then its timelines in id order (and for a
/// group, its nesting timelines and date index).
pub struct BlockWriter {
    magic: Magic,
    body: Vec<u8>,
    /// Where the timeline count goes, and the count so far.
    count_at: usize,
    count: u32,
    previous_id: Vec<u8>,
    /// A group block's section table and the index of its member timelines so far.
    group: Option<GroupSections>,
}

/// What a group block writer keeps beyond the timelines: where its section table is, and
/// the date index being built.
struct GroupSections {
    /// Where the two `u32` section offsets go (nesting, then date index).
    table_at: usize,
    nesting_at: u32,
    index: DateIndexBuilder,
}

impl BlockWriter {
    /// A group block: `applied_through`, observed and ended dates, source kinds.
    pub fn group(
        applied_through: u64,
        observed: &[Date],
        ended: &[Date],
        sources: &[SourceKind],
    ) -> BlockWriter {
        let mut body = Vec::with_capacity(64 + 4 * (observed.len() + ended.len()));
        body.extend_from_slice(&applied_through.to_be_bytes());
        for dates in [observed, ended] {
            push_count(&mut body, dates.len());
            for date in dates {
                body.extend_from_slice(&date.days_from_ce().to_be_bytes());
            }
        }
        // At most seven kinds exist, so the count fits a byte.
        body.push(sources.len() as u8);
        body.extend(sources.iter().map(|kind| kind.number()));
        let table_at = body.len();
        body.extend_from_slice(&[0; 8]);
        let mut writer = BlockWriter::with_prefix(Magic::GroupState, body);
        writer.group = Some(GroupSections {
            table_at,
            nesting_at: 0,
            index: DateIndexBuilder::default(),
        });
        writer
    }

    /// A member block: `applied_through`.
    pub fn member(applied_through: u64) -> BlockWriter {
        BlockWriter::with_prefix(Magic::MemberState, applied_through.to_be_bytes().to_vec())
    }

    fn with_prefix(magic: Magic, mut body: Vec<u8>) -> BlockWriter {
        let count_at = body.len();
        body.extend_from_slice(&0u32.to_be_bytes());
        BlockWriter {
            magic,
            body,
            count_at,
            count: 0,
            previous_id: Vec::new(),
            group: None,
        }
    }

    /// Where the next timeline starts, in bytes from the first: its date index position.
    fn position(&self) -> Result<u32> {
        u32::try_from(self.body.len() - self.count_at - 4).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Limit,
                "a derived state is too large",
            )
        })
    }

    /// Adds the timeline of `id` (a member in a group block, a group in a member block).
    /// Ids must come in strictly ascending order, entries sorted by (date, commit).
    pub fn timeline(
        &mut self,
        id: &str,
        entries: impl ExactSizeIterator<Item = Entry> + Clone,
    ) -> Result<()> {
        self.next_id(id);
        if self.group.is_some() {
            let position = self.position()?;
            if let Some(group) = &mut self.group {
                let days = entries
                    .clone()
                    .map(|entry| (entry.date.days_from_ce(), entry.change != Change::Leave));
                group.index.timeline(position, days);
            }
        }
        push_timeline(&mut self.body, id, entries);
        self.count += 1;
        Ok(())
    }

    /// [`Self::timeline`] with each entry as stored: days from the common era, and
    /// `commit << 1 | join` (never an exclusion: a log holding one is not written from
    /// packed facts).
    pub fn packed_timeline(
        &mut self,
        id: &str,
        entries: impl ExactSizeIterator<Item = (i32, u32)> + Clone,
    ) -> Result<()> {
        self.next_id(id);
        if self.group.is_some() {
            let position = self.position()?;
            if let Some(group) = &mut self.group {
                let days = entries
                    .clone()
                    .map(|(days, packed)| (days, packed & 1 == 1));
                group.index.timeline(position, days);
            }
        }
        push_packed_timeline(&mut self.body, id, entries);
        self.count += 1;
        Ok(())
    }

    fn next_id(&mut self, id: &str) {
        debug_assert!(self.count == 0 || self.previous_id.as_slice() < id.as_bytes());
        self.previous_id.clear();
        self.previous_id.extend_from_slice(id.as_bytes());
    }

    /// A group block's subgroup and parent timelines, after its member timelines; written
    /// only when either is not empty (`docs/format.md`, "A group block").
    pub fn nesting(
        &mut self,
        subgroups: &BTreeMap<GroupId, Timeline>,
        parents: &BTreeMap<GroupId, Timeline>,
    ) -> Result<()> {
        if subgroups.is_empty() && parents.is_empty() {
            return Ok(());
        }
        let nesting_at = self.section_offset()?;
        if let Some(group) = &mut self.group {
            group.nesting_at = nesting_at;
        }
        for side in [subgroups, parents] {
            push_count(&mut self.body, side.len());
            for (group, timeline) in side {
                push_timeline(
                    &mut self.body,
                    group.as_str(),
                    timeline.entries().iter().copied(),
                );
            }
        }
        Ok(())
    }

    /// Where the next section starts, in bytes from the start of the body.
    fn section_offset(&self) -> Result<u32> {
        u32::try_from(self.body.len()).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Limit,
                "a derived state is too large",
            )
        })
    }

    /// The sealed block.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let count = self.count.to_be_bytes();
        self.body[self.count_at..self.count_at + 4].copy_from_slice(&count);
        let Some(group) = self.group.take() else {
            return seal(self.magic, &self.body);
        };
        let index_at = match group.index.finish() {
            Some(index) => {
                let at = self.section_offset()?;
                self.body.extend_from_slice(&index);
                at
            }
            None => 0,
        };
        let table = &mut self.body[group.table_at..group.table_at + 8];
        table[..4].copy_from_slice(&group.nesting_at.to_be_bytes());
        table[4..].copy_from_slice(&index_at.to_be_bytes());
        seal_versioned(self.magic, GROUP_BLOCK_VERSION, &self.body)
    }
}

/// The second number of an exclusion entry: `commit << 1 | join` with commit 0, which no
/// join or leave can be (commits start at 1); the commit follows as a third number.
const EXCLUDED: u32 = 1;

/// Writes one timeline: its id, entry count and entries.
fn push_timeline(body: &mut Vec<u8>, id: &str, entries: impl ExactSizeIterator<Item = Entry>) {
    push_id_and_count(body, id, entries.len());
    let mut previous = 0;
    for entry in entries {
        let days = entry.date.days_from_ce();
        // Entries ascend by date and days are positive: the step is never negative.
        push_varint(body, days.abs_diff(previous));
        // Commits are checked against MAX_COMMITS (31 bits) when made and read.
        let seq = entry.seq as u32;
        match entry.change {
            Change::Exclude => {
                push_varint(body, EXCLUDED);
                push_varint(body, seq);
            }
            change => push_varint(body, seq << 1 | u32::from(change == Change::Join)),
        }
        previous = days;
    }
}

fn push_packed_timeline(
    body: &mut Vec<u8>,
    id: &str,
    entries: impl ExactSizeIterator<Item = (i32, u32)>,
) {
    push_id_and_count(body, id, entries.len());
    body.reserve(entries.len() * 4);
    let mut previous = 0;
    for (days, packed) in entries {
        // Entries ascend by date and days are positive: the step is never negative.
        push_varint(body, days.abs_diff(previous));
        push_varint(body, packed);
        previous = days;
    }
}

fn push_id_and_count(body: &mut Vec<u8>, id: &str, count: usize) {
    // Ids are validated newtypes of at most MAX_ID_BYTES (64) bytes.
    body.push(id.len() as u8);
    body.extend_from_slice(id.as_bytes());
    // Entries per timeline are limited by facts per commit and commits: far below u32.
    push_varint(body, count as u32);
}

/// Counts of dates and entries are `u32`; the limits on commits and facts keep them far
/// below it.
fn push_count(body: &mut Vec<u8>, count: usize) {
    body.extend_from_slice(&(count as u32).to_be_bytes());
}

/// A group's state as a sealed block.
pub fn encode_group(state: &GroupState) -> Result<Vec<u8>> {
    let mut writer = BlockWriter::group(
        state.applied_through,
        &state.observed,
        &state.ended,
        &state.sources,
    );
    for (member, timeline) in &state.members {
        writer.timeline(member.as_str(), timeline.entries().iter().copied())?;
    }
    writer.nesting(&state.subgroups, &state.parents)?;
    writer.finish()
}

/// A member's state as a sealed block.
pub fn encode_member(state: &MemberState) -> Result<Vec<u8>> {
    let mut writer = BlockWriter::member(state.applied_through);
    for (group, timeline) in &state.groups {
        writer.timeline(group.as_str(), timeline.entries().iter().copied())?;
    }
    writer.finish()
}

/// Reads a block body front to back; every read past the end is "damaged".
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| Error::corrupt("a block ends early"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        // `take(N)` returns exactly N bytes.
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| Error::corrupt("a block ends early"))?;
        self.at += 1;
        Ok(byte)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn date(&mut self) -> Result<Date> {
        let days = i32::from_be_bytes(self.array()?);
        Date::try_from(days).map_err(|_| Error::corrupt("a block holds an impossible date"))
    }

    /// A count of items of at least `item_bytes` each: more than the bytes left is damage,
    /// caught before anything is allocated for it.
    fn count(&mut self, item_bytes: usize) -> Result<usize> {
        let count = self.u32()? as usize;
        if count.saturating_mul(item_bytes) > self.bytes.len() - self.at {
            return Err(Error::corrupt("a block claims more than it holds"));
        }
        Ok(count)
    }

    fn dates(&mut self) -> Result<Vec<Date>> {
        let count = self.count(4)?;
        (0..count).map(|_| self.date()).collect()
    }

    /// An id's bytes, not yet checked to be UTF-8: for a reader that keeps few of the ids
    /// it steps over (byte order is the ids' order, so order checks need no text).
    fn id_bytes(&mut self) -> Result<&'a [u8]> {
        let length = self.u8()? as usize;
        if length == 0 || length > MAX_ID_BYTES {
            return Err(Error::corrupt("a block holds an id of a bad length"));
        }
        self.take(length)
    }

    /// A LEB128 `u32` in its shortest form: a longer spelling of the same number, or one
    /// past 32 bits, is damage (each value has one encoding, so blocks re-encode exactly).
    fn varint(&mut self) -> Result<u32> {
        // Most numbers in a block (day steps, commit numbers, counts) fit one byte.
        if let Some(&byte) = self.bytes.get(self.at) {
            if byte & 0x80 == 0 {
                self.at += 1;
                return Ok(u32::from(byte));
            }
        }
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_BYTES {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if index > 0 && byte == 0 {
                    return Err(Error::corrupt("a block holds an overlong number"));
                }
                return u32::try_from(value)
                    .map_err(|_| Error::corrupt("a block holds a number past 32 bits"));
            }
        }
        Err(Error::corrupt("a block holds an overlong number"))
    }

    /// A timeline's count of entries, checked against the bytes left.
    fn entry_count(&mut self) -> Result<usize> {
        let count = self.varint()? as usize;
        if count.saturating_mul(MIN_ENTRY_BYTES) > self.bytes.len() - self.at {
            return Err(Error::corrupt("a block claims more than it holds"));
        }
        Ok(count)
    }

    /// One timeline entry: its day, counted on from `days` (which it advances), and its
    /// change and commit.
    fn entry(&mut self, days: &mut i32) -> Result<(Change, u64)> {
        let step = i32::try_from(self.varint()?)
            .map_err(|_| Error::corrupt("a block holds an impossible date"))?;
        *days = days
            .checked_add(step)
            .ok_or_else(|| Error::corrupt("a block holds an impossible date"))?;
        let (change, seq) = match self.varint()? {
            EXCLUDED => (Change::Exclude, u64::from(self.varint()?)),
            packed if packed & 1 == 1 => (Change::Join, u64::from(packed >> 1)),
            packed => (Change::Leave, u64::from(packed >> 1)),
        };
        if seq == 0 {
            return Err(Error::corrupt("a block holds commit 0"));
        }
        Ok((change, seq))
    }

    fn timeline(&mut self) -> Result<Timeline> {
        let count = self.entry_count()?;
        // A short timeline is built in place (`Timeline::push`), a long one from a list.
        let mut short = Timeline::default();
        let mut entries = Vec::with_capacity(if count > INLINE_ENTRIES { count } else { 0 });
        let mut days: i32 = 0;
        for _ in 0..count {
            let (change, seq) = self.entry(&mut days)?;
            let date = Date::try_from(days)
                .map_err(|_| Error::corrupt("a block holds an impossible date"))?;
            let entry = Entry { date, seq, change };
            if count > INLINE_ENTRIES {
                entries.push(entry);
            } else if !short.push(entry) {
                return Err(Error::corrupt("a timeline is out of order"));
            }
        }
        if count <= INLINE_ENTRIES {
            return Ok(short);
        }
        Timeline::from_sorted(entries).ok_or_else(|| Error::corrupt("a timeline is out of order"))
    }

    /// Steps over a timeline without building it (the block's checksum already holds).
    fn skip_timeline(&mut self) -> Result<()> {
        let count = self.varint()?;
        for _ in 0..count {
            self.varint()?;
            if self.varint()? == EXCLUDED {
                self.varint()?;
            }
        }
        Ok(())
    }

    /// Steps over timelines keyed by id without building them.
    fn skip_timelines(&mut self) -> Result<()> {
        let count = self.count(1 + 1 + 1)?;
        for _ in 0..count {
            self.id_bytes()?;
            self.skip_timeline()?;
        }
        Ok(())
    }

    /// A group block, unsealed, read past its header (applied-through, observed and ended
    /// dates, sources) and section table to its member timelines: for readers that want
    /// only what follows.
    fn past_group_header(bytes: &'a [u8]) -> Result<(Reader<'a>, GroupLayout)> {
        let mut reader = Reader::group_block(bytes)?;
        reader.u64()?;
        reader.dates()?;
        reader.dates()?;
        let source_count = reader.u8()? as usize;
        reader.take(source_count)?;
        let layout = reader.section_table()?;
        Ok((reader, layout))
    }

    /// A group block's body, its envelope checked.
    fn group_block(bytes: &'a [u8]) -> Result<Reader<'a>> {
        let (_, body) = unseal_versioned(Magic::GroupState, &[GROUP_BLOCK_VERSION], bytes)?;
        Ok(Reader { bytes: body, at: 0 })
    }

    /// A group block's section table, read after its sources and checked: the member
    /// timelines follow it, then the nesting timelines and the date index when present,
    /// in that order, the last running to the body's end.
    fn section_table(&mut self) -> Result<GroupLayout> {
        let offset = |at: u32| (at != 0).then_some(at as usize);
        let (nesting_at, index_at) = (offset(self.u32()?), offset(self.u32()?));
        let members_at = self.at;
        let length = self.bytes.len();
        let members_end = nesting_at.or(index_at).unwrap_or(length);
        // The member count comes first; a section that starts inside it, before the one
        // listed before it, or at or past the body's end lies.
        let in_order = members_at + 4 <= members_end
            && nesting_at.is_none_or(|nesting| index_at.is_none_or(|index| nesting < index))
            && [nesting_at, index_at]
                .iter()
                .flatten()
                .all(|&at| at < length);
        if !in_order {
            return Err(Error::corrupt(
                "a group block's section table is out of order",
            ));
        }
        Ok(GroupLayout {
            members_at,
            members_end,
            nesting_at,
            index_at,
        })
    }

    /// The next id's bytes of a list whose ids must be strictly ascending after
    /// `previous`.
    fn next_id_bytes(&mut self, previous: &mut Option<&'a [u8]>) -> Result<&'a [u8]> {
        let bytes = self.id_bytes()?;
        if previous.is_some_and(|previous| previous >= bytes) {
            return Err(Error::corrupt("a block's ids are not in order"));
        }
        *previous = Some(bytes);
        Ok(bytes)
    }

    /// The next id of a list whose ids must be strictly ascending after `previous`.
    fn next_id(&mut self, previous: &mut Option<&'a [u8]>) -> Result<&'a str> {
        std::str::from_utf8(self.next_id_bytes(previous)?)
            .map_err(|_| Error::corrupt("a block holds an id that is not UTF-8"))
    }

    /// A timeline's change on `on` (days from the common era) counting commits up to
    /// `as_of`, read without building it: the change of the last entry dated on or before
    /// `on` (the timeline order invariant). Entries out of order are damage.
    fn state_on(
        &mut self,
        on: i32,
        as_of: Option<u64>,
        valid_days: &std::ops::RangeInclusive<i32>,
    ) -> Result<Change> {
        let count = self.entry_count()?;
        let mut days: i32 = 0;
        let mut previous: Option<(i32, u64)> = None;
        let mut state = Change::Leave;
        for _ in 0..count {
            let (change, seq) = self.entry(&mut days)?;
            if previous.is_some_and(|previous| previous >= (days, seq)) {
                return Err(Error::corrupt("a timeline is out of order"));
            }
            previous = Some((days, seq));
            if days <= on && as_of.is_none_or(|limit| seq <= limit) {
                state = change;
            }
        }
        // Days only grow (steps are never negative), so the last is checked against the
        // calendar's range for all of them: every day inside it is a date.
        if previous.is_some_and(|(last, _)| !valid_days.contains(&last)) {
            return Err(Error::corrupt("a block holds an impossible date"));
        }
        Ok(state)
    }

    /// A group block's member timelines, and the date index they give (positions counted
    /// from the first timeline, as written).
    fn member_timelines(
        &mut self,
        layout: &GroupLayout,
    ) -> Result<(BTreeMap<MemberId, Timeline>, DateIndexBuilder)> {
        let count = self.count(1 + 1 + 1)?;
        let mut pairs = Vec::with_capacity(count);
        let mut index = DateIndexBuilder::default();
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            // Inside the body, whose length is a u32.
            let position = (self.at - layout.first_timeline()) as u32;
            let text = self.next_id(&mut previous)?;
            let member =
                MemberId::new(text).map_err(|_| Error::corrupt("a block holds an invalid id"))?;
            let timeline = self.timeline()?;
            index.timeline(
                position,
                timeline
                    .entries()
                    .iter()
                    .map(|entry| (entry.date.days_from_ce(), entry.change != Change::Leave)),
            );
            pairs.push((member, timeline));
        }
        // Sorted input: the map is built in one pass.
        Ok((pairs.into_iter().collect(), index))
    }

    /// Timelines keyed by id, ids strictly ascending.
    fn timelines<K: Ord>(
        &mut self,
        id: impl Fn(&str) -> Option<K>,
    ) -> Result<BTreeMap<K, Timeline>> {
        let count = self.count(1 + 1 + 1)?;
        let mut pairs = Vec::with_capacity(count);
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let text = self.next_id(&mut previous)?;
            let key = id(text).ok_or_else(|| Error::corrupt("a block holds an invalid id"))?;
            pairs.push((key, self.timeline()?));
        }
        // Sorted input: the map is built in one pass.
        Ok(pairs.into_iter().collect())
    }

    fn end(&self) -> Result<()> {
        self.end_at(self.bytes.len())
    }

    /// Checks that a section read ends exactly where the next begins.
    fn end_at(&self, end: usize) -> Result<()> {
        match self.at == end {
            true => Ok(()),
            false => Err(Error::corrupt("a block has trailing bytes")),
        }
    }
}

/// Where a group block's sections lie (body offsets), from its section table.
struct GroupLayout {
    /// The member timelines' count; the first timeline follows it.
    members_at: usize,
    /// Where the member timelines end: the next section's start, or the body's end.
    members_end: usize,
    nesting_at: Option<usize>,
    index_at: Option<usize>,
}

impl GroupLayout {
    /// Where the first member timeline starts: date index positions count from here.
    fn first_timeline(&self) -> usize {
        self.members_at + 4
    }

    /// Where the nesting timelines end: the index's start, or the body's end.
    fn nesting_end(&self, length: usize) -> usize {
        self.index_at.unwrap_or(length)
    }
}

/// Only the nesting timelines of a group block (see [`GroupNesting`]), found through its
/// section table without reading its member timelines: what resolving a member's groups
/// needs of each group on the way up, at a fraction of a whole decode. The block's
/// checksum is checked; the full checks are [`decode_group`]'s.
pub fn decode_group_nesting(group: &GroupId, bytes: &[u8]) -> Result<GroupNesting> {
    let decoded = (|| {
        let (mut reader, layout) = Reader::past_group_header(bytes)?;
        let Some(nesting_at) = layout.nesting_at else {
            return Ok(GroupNesting::default());
        };
        reader.at = nesting_at;
        let subgroups = reader.timelines(|text| GroupId::new(text).ok())?;
        let parents = reader.timelines(|text| GroupId::new(text).ok())?;
        reader.end_at(layout.nesting_end(reader.bytes.len()))?;
        Ok(GroupNesting { subgroups, parents })
    })();
    decoded.map_err(|e: Error| Error::corrupt(format!("group {group}: {}", e.detail())))
}

/// The days from the common era of the first and last dates muster takes.
fn valid_days() -> Result<std::ops::RangeInclusive<i32>> {
    let first = Date::from_ymd(MIN_YEAR, 1, 1);
    let last = Date::from_ymd(MAX_YEAR, 12, 31);
    match (first, last) {
        (Ok(first), Ok(last)) => Ok(first.days_from_ce()..=last.days_from_ce()),
        _ => Err(Error::corrupt(
            "the calendar's range is not a range of dates",
        )),
    }
}

/// A group block read for one date (see [`GroupOnDate`]): each member timeline is
/// evaluated as it is read, and only the ids of members included or excluded on `on` are
/// kept. What a one-shot question resolving a nested group needs of each group below it,
/// at a fraction of [`decode_group`]'s allocations. The block's checksum, the order of its
/// ids and of every timeline's entries are checked as read.
pub fn decode_group_on(
    group: &GroupId,
    bytes: &[u8],
    on: Date,
    as_of: Option<u64>,
) -> Result<GroupOnDate> {
    let decoded = (|| {
        let (mut reader, layout) = Reader::past_group_header(bytes)?;
        let mut answer = GroupOnDate::default();
        let on_day = on.days_from_ce();
        let valid_days = valid_days()?;
        let keep = |answer: &mut GroupOnDate, id: &[u8], state: Change| {
            let list = match state {
                Change::Join => &mut answer.included,
                Change::Exclude => &mut answer.excluded,
                Change::Leave => return Ok(()),
            };
            let id = std::str::from_utf8(id)
                .ok()
                .and_then(|text| MemberId::new(text).ok())
                .ok_or_else(|| Error::corrupt("a block holds an invalid id"))?;
            list.push(id);
            Ok::<(), Error>(())
        };
        let count = reader.count(1 + 1 + 1)?;
        let mut previous: Option<&[u8]> = None;
        match layout.index_at.filter(|_| as_of.is_none()) {
            // The index speaks of the latest belief: it lists every timeline that may be
            // in or out of the group on the day, and only those are read.
            Some(index_at) => {
                let first = layout.first_timeline();
                let mut read_up_to = first;
                for position in date_index::candidates(&reader.bytes[index_at..], on_day)? {
                    let at = first.saturating_add(position as usize);
                    if at < read_up_to || at >= layout.members_end {
                        return Err(Error::corrupt("a date index points outside its timelines"));
                    }
                    reader.at = at;
                    let id = reader.next_id_bytes(&mut previous)?;
                    let state = reader.state_on(on_day, None, &valid_days)?;
                    if reader.at > layout.members_end {
                        return Err(Error::corrupt("a date index points outside its timelines"));
                    }
                    read_up_to = reader.at;
                    keep(&mut answer, id, state)?;
                }
            }
            None => {
                for _ in 0..count {
                    let id = reader.next_id_bytes(&mut previous)?;
                    let state = reader.state_on(on_day, as_of, &valid_days)?;
                    keep(&mut answer, id, state)?;
                }
                reader.end_at(layout.members_end)?;
            }
        }
        if let Some(nesting_at) = layout.nesting_at {
            reader.at = nesting_at;
            answer.subgroups = reader.timelines(|text| GroupId::new(text).ok())?;
            reader.skip_timelines()?;
            reader.end_at(layout.nesting_end(reader.bytes.len()))?;
        }
        Ok(answer)
    })();
    decoded.map_err(|e: Error| Error::corrupt(format!("group {group}: {}", e.detail())))
}

/// A group block, decoded and checked.
pub fn decode_group(group: &GroupId, bytes: &[u8]) -> Result<GroupState> {
    let decoded = (|| {
        let mut reader = Reader::group_block(bytes)?;
        let applied_through = reader.u64()?;
        let observed = reader.dates()?;
        let ended = reader.dates()?;
        let source_count = reader.u8()? as usize;
        let sources = (0..source_count)
            .map(|_| {
                SourceKind::from_number(u32::from(reader.u8()?))
                    .ok_or_else(|| Error::corrupt("a block holds an unknown source kind"))
            })
            .collect::<Result<Vec<_>>>()?;
        let layout = reader.section_table()?;
        let (members, index) = reader.member_timelines(&layout)?;
        reader.end_at(layout.members_end)?;
        let (mut subgroups, mut parents) = (BTreeMap::new(), BTreeMap::new());
        if layout.nesting_at.is_some() {
            subgroups = reader.timelines(|text| GroupId::new(text).ok())?;
            parents = reader.timelines(|text| GroupId::new(text).ok())?;
            if subgroups.is_empty() && parents.is_empty() {
                return Err(Error::corrupt(
                    "a block holds empty nesting timelines, which are left out",
                ));
            }
            reader.end_at(layout.nesting_end(reader.bytes.len()))?;
        }
        // The index is a function of the timelines: the one they give is the one stored
        // (or none, when none pays), so a wrong index is damage found here and by verify.
        let stored_index = layout.index_at.map(|at| &reader.bytes[at..]);
        if index.finish().as_deref() != stored_index {
            return Err(Error::corrupt(
                "a group block's date index does not match its timelines",
            ));
        }
        Ok(GroupState {
            applied_through,
            observed,
            ended,
            sources,
            members,
            subgroups,
            parents,
        })
    })();
    let state: GroupState =
        decoded.map_err(|e: Error| Error::corrupt(format!("group {group}: {}", e.detail())))?;
    state.check(group)?;
    Ok(state)
}

/// A member block, decoded and checked.
pub fn decode_member(member: &MemberId, bytes: &[u8]) -> Result<MemberState> {
    let decoded = (|| {
        let mut reader = Reader {
            bytes: unseal(Magic::MemberState, bytes)?,
            at: 0,
        };
        let applied_through = reader.u64()?;
        let groups = reader.timelines(|text| GroupId::new(text).ok())?;
        reader.end()?;
        Ok(MemberState {
            applied_through,
            groups,
        })
    })();
    let state: MemberState =
        decoded.map_err(|e: Error| Error::corrupt(format!("member {member}: {}", e.detail())))?;
    state.check(member)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GroupState {
        let day = |d| Date::from_ymd(2024, 5, d).unwrap();
        let timeline = |entries: &[(u32, u64, Change)]| {
            Timeline::from_sorted(
                entries
                    .iter()
                    .map(|&(d, seq, change)| Entry {
                        date: day(d),
                        seq,
                        change,
                    })
                    .collect(),
            )
            .unwrap()
        };
        GroupState {
            applied_through: 7,
            observed: vec![day(1), day(8)],
            ended: vec![day(8)],
            sources: vec![SourceKind::Facts, SourceKind::SchoolBase],
            members: [
                (
                    MemberId::new("a").unwrap(),
                    timeline(&[(1, 1, Change::Join), (8, 7, Change::Leave)]),
                ),
                (
                    MemberId::new("b").unwrap(),
                    timeline(&[(1, 3, Change::Join), (9, 8, Change::Exclude)]),
                ),
            ]
            .into_iter()
            .collect(),
            subgroups: [(
                GroupId::new("h").unwrap(),
                timeline(&[
                    (2, 4, Change::Join),
                    (3, 5, Change::Exclude),
                    (4, 6, Change::Leave),
                ]),
            )]
            .into_iter()
            .collect(),
            parents: [(
                GroupId::new("p").unwrap(),
                timeline(&[(2, 4, Change::Join)]),
            )]
            .into_iter()
            .collect(),
        }
    }

    /// A group block with a date index, its bytes built by hand from the rules in
    /// docs/format.md: 32 members, member i in for ten days from the first day of bucket
    /// 3000 + i, so each is listed in one bucket.
    #[test]
    fn a_group_block_follows_docs_format_md() {
        fn leb128(bytes: &mut Vec<u8>, mut value: u32) {
            loop {
                let low = (value & 0x7f) as u8;
                value >>= 7;
                if value == 0 {
                    bytes.push(low);
                    return;
                }
                bytes.push(low | 0x80);
            }
        }
        let first_day = |i: u32| (3000 + i) * 256;
        let mut state = GroupState {
            applied_through: 5,
            sources: vec![SourceKind::Facts],
            ..GroupState::default()
        };
        let mut timelines = Vec::new();
        let mut positions = Vec::new();
        for i in 0..32u32 {
            let entry = |days: u32, seq, change| Entry {
                date: Date::try_from(days as i32).unwrap(),
                seq,
                change,
            };
            let id = format!("m{i:02}");
            state.members.insert(
                MemberId::new(&id).unwrap(),
                Timeline::from_sorted(vec![
                    entry(first_day(i), 1, Change::Join),
                    entry(first_day(i) + 10, 2, Change::Leave),
                ])
                .unwrap(),
            );
            positions.push(timelines.len() as u32);
            timelines.push(3);
            timelines.extend_from_slice(id.as_bytes());
            leb128(&mut timelines, 2);
            leb128(&mut timelines, first_day(i));
            leb128(&mut timelines, 1 << 1 | 1);
            leb128(&mut timelines, 10);
            leb128(&mut timelines, 2 << 1);
        }
        let mut index = Vec::new();
        leb128(&mut index, 3000);
        leb128(&mut index, 32);
        for position in positions {
            let mut list = Vec::new();
            leb128(&mut list, position);
            leb128(&mut index, list.len() as u32);
            index.extend_from_slice(&list);
        }
        let mut body = 5u64.to_be_bytes().to_vec();
        body.extend_from_slice(&0u32.to_be_bytes()); // observed dates
        body.extend_from_slice(&0u32.to_be_bytes()); // ended dates
        body.extend_from_slice(&[1, 1]); // one source kind: facts
        let index_at = body.len() + 8 + 4 + timelines.len();
        body.extend_from_slice(&0u32.to_be_bytes()); // no nesting
        body.extend_from_slice(&(index_at as u32).to_be_bytes());
        body.extend_from_slice(&32u32.to_be_bytes());
        body.extend_from_slice(&timelines);
        body.extend_from_slice(&index);
        let mut sealed = b"MUSG".to_vec();
        sealed.extend_from_slice(&2u16.to_be_bytes());
        sealed.extend_from_slice(&(body.len() as u32).to_be_bytes());
        sealed.extend_from_slice(&body);
        let crc = crc32fast::hash(&sealed);
        sealed.extend_from_slice(&crc.to_be_bytes());

        assert_eq!(encode_group(&state).unwrap(), sealed);
        let group = GroupId::new("g").unwrap();
        assert_eq!(decode_group(&group, &sealed).unwrap(), state);
        let on = Date::try_from(first_day(5) as i32 + 3).unwrap();
        let read = decode_group_on(&group, &sealed, on, None).unwrap();
        assert_eq!(read.included, vec![MemberId::new("m05").unwrap()]);
    }

    #[test]
    fn a_group_block_round_trips() {
        let state = sample();
        let group = GroupId::new("g").unwrap();
        let bytes = encode_group(&state).unwrap();
        assert_eq!(decode_group(&group, &bytes).unwrap(), state);
    }

    /// A block read for one date says what the decoded state says on that date, on every
    /// day around the sample's entries and as of every commit; damage is refused.
    #[test]
    fn a_group_block_read_for_one_date_says_what_the_decoded_state_says() {
        let state = sample();
        let group = GroupId::new("g").unwrap();
        let bytes = encode_group(&state).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for day in 1..=12 {
            let on = Date::from_ymd(2024, 5, day).unwrap();
            for as_of in [None, Some(1), Some(3), Some(4), Some(5), Some(7), Some(8)] {
                let read = decode_group_on(&group, &bytes, on, as_of).unwrap();
                assert_eq!(read, state.on_date(on, as_of), "on {on} as of {as_of:?}");
                seen.insert((read.included.len(), read.excluded.len()));
            }
        }
        // The sample reaches included and excluded members alike.
        assert!(seen.iter().any(|(_, excluded)| *excluded > 0));
        assert!(seen.iter().any(|(included, _)| *included > 1));
        let on = Date::from_ymd(2024, 5, 9).unwrap();
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x01;
            assert!(
                decode_group_on(&group, &damaged, on, None).is_err(),
                "byte {index}"
            );
        }
    }

    /// A block whose checksum holds but whose days run past the calendar (only a bug
    /// could write one) is refused by the one-date reader as by the whole decode.
    #[test]
    fn a_day_past_the_calendar_is_refused_by_the_one_date_reader() {
        let group = GroupId::new("g").unwrap();
        let on = Date::from_ymd(2024, 5, 1).unwrap();
        let last_day = Date::from_ymd(MAX_YEAR, 12, 31).unwrap().days_from_ce();
        for (days, readable) in [(last_day, true), (last_day + 1, false)] {
            let mut writer = BlockWriter::group(1, &[], &[], &[]);
            writer
                .packed_timeline("m", [(days, 1 << 1 | 1)].into_iter())
                .unwrap();
            let bytes = writer.finish().unwrap();
            assert_eq!(decode_group(&group, &bytes).is_ok(), readable, "{days}");
            assert_eq!(
                decode_group_on(&group, &bytes, on, None).is_ok(),
                readable,
                "{days}"
            );
        }
    }

    #[test]
    fn a_member_block_round_trips() {
        let state = MemberState {
            applied_through: 9,
            groups: sample()
                .members
                .into_iter()
                .map(|(member, timeline)| (GroupId::new(member.as_str()).unwrap(), timeline))
                .collect(),
        };
        let member = MemberId::new("m").unwrap();
        let bytes = encode_member(&state).unwrap();
        assert_eq!(decode_member(&member, &bytes).unwrap(), state);
    }

    /// Numbers at the edges of their widths round-trip, and a number spelled longer than
    /// it needs is refused (each block has exactly one encoding).
    #[test]
    fn variable_length_numbers_round_trip_and_overlong_ones_are_refused() {
        let mut state = sample();
        let last_day = Date::from_ymd(9999, 12, 31).unwrap();
        state.members.insert(
            MemberId::new("z").unwrap(),
            Timeline::from_sorted(vec![
                Entry {
                    date: Date::from_ymd(1, 1, 1).unwrap(),
                    seq: crate::model::MAX_COMMITS,
                    change: Change::Join,
                },
                Entry {
                    date: last_day,
                    seq: 1,
                    change: Change::Leave,
                },
            ])
            .unwrap(),
        );
        let group = GroupId::new("g").unwrap();
        let bytes = encode_group(&state).unwrap();
        assert_eq!(decode_group(&group, &bytes).unwrap(), state);

        let mut overlong = Vec::new();
        push_varint(&mut overlong, 5);
        overlong.extend([0x85, 0x00]);
        let mut reader = Reader {
            bytes: &overlong,
            at: 0,
        };
        assert_eq!(reader.varint().unwrap(), 5);
        assert!(reader.varint().is_err(), "5 spelled in two bytes");
        for too_big in [
            &[0xff, 0xff, 0xff, 0xff, 0x1f][..],
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        ] {
            let mut reader = Reader {
                bytes: too_big,
                at: 0,
            };
            assert!(reader.varint().is_err(), "{too_big:?}");
        }
    }

    #[test]
    fn every_damage_to_a_block_is_refused() {
        let group = GroupId::new("g").unwrap();
        let bytes = encode_group(&sample()).unwrap();
        for index in 0..bytes.len() {
            for flip in [0x01, 0x80] {
                let mut damaged = bytes.clone();
                damaged[index] ^= flip;
                assert!(decode_group(&group, &damaged).is_err(), "byte {index}");
            }
        }
        for length in 0..bytes.len() {
            assert!(
                decode_group(&group, &bytes[..length]).is_err(),
                "{length} bytes"
            );
        }
    }
}
