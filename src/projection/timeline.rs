//! One member's facts in one group, in the order that decides membership.
//!
//! Owns: [`Timeline`] and [`Entry`]; answering "member on date X?" (optionally as of a
//! commit) and turning facts into spans; how entries are kept (up to [`INLINE_ENTRIES`]
//! in place, more on the heap).
//! Must not: know ids, storage or commits beyond a sequence number.
//!
//! **Invariant (timeline order):** entries are sorted by `(date, seq)` with no two
//! entries sharing both; membership on X is the change of the last entry with
//! `date <= X` (and `seq <= as_of`), or "not a member" when there is none.

use crate::model::{Change, Date};

/// A recorded fact, as the projection keeps it: its date, the commit that recorded it,
/// and the change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Entry {
    pub date: Date,
    pub seq: u64,
    pub change: Change,
}

/// A membership span without its ids: `from` inclusive, `until` exclusive, and the
/// commits whose facts opened and closed it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interval {
    pub from: Date,
    pub until: Option<Date>,
    pub opened_by: u64,
    pub closed_by: Option<u64>,
}

/// Entries a timeline keeps in place, without an allocation of its own: most members
/// join a group once and perhaps leave it once, and a ledger holds hundreds of thousands
/// of timelines per side, so a heap block each was most of the allocator's work in an
/// import and a fold (docs/benchmarks.md).
pub const INLINE_ENTRIES: usize = 2;

/// A timeline's entries: in place while they fit, else on the heap.
#[derive(Clone)]
enum Entries {
    /// The first `len` of `items`; the slots past `len` repeat an entry and mean nothing.
    Inline {
        len: u8,
        items: [Entry; INLINE_ENTRIES],
    },
    Heap(Vec<Entry>),
}

impl Default for Entries {
    fn default() -> Entries {
        // An empty Vec does not allocate.
        Entries::Heap(Vec::new())
    }
}

#[derive(Clone, Default)]
pub struct Timeline {
    entries: Entries,
}

impl PartialEq for Timeline {
    fn eq(&self, other: &Timeline) -> bool {
        self.entries() == other.entries()
    }
}

impl Eq for Timeline {}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("entries", &self.entries())
            .finish()
    }
}

impl Timeline {
    pub fn entries(&self) -> &[Entry] {
        match &self.entries {
            Entries::Inline { len, items } => &items[..usize::from(*len)],
            Entries::Heap(entries) => entries,
        }
    }

    /// A timeline of entries already in order (checked: an unordered list is refused).
    pub fn from_sorted(entries: Vec<Entry>) -> Option<Timeline> {
        if entries.len() <= INLINE_ENTRIES {
            return Timeline::from_sorted_slice(&entries);
        }
        let timeline = Timeline {
            entries: Entries::Heap(entries),
        };
        timeline.is_sorted().then_some(timeline)
    }

    /// [`Self::from_sorted`] from a borrowed list, copied (in place when it fits).
    pub fn from_sorted_slice(entries: &[Entry]) -> Option<Timeline> {
        let timeline = Timeline {
            entries: Timeline::stored(entries),
        };
        timeline.is_sorted().then_some(timeline)
    }

    /// How `entries` are kept: in place when they fit.
    fn stored(entries: &[Entry]) -> Entries {
        match entries {
            [] => Entries::default(),
            [only] => Entries::Inline {
                len: 1,
                items: [*only; INLINE_ENTRIES],
            },
            [first, second] => Entries::Inline {
                len: 2,
                items: [*first, *second],
            },
            more => Entries::Heap(more.to_vec()),
        }
    }

    pub fn is_sorted(&self) -> bool {
        self.entries()
            .windows(2)
            .all(|w| (w[0].date, w[0].seq) < (w[1].date, w[1].seq))
    }

    /// Inserts an entry in order. Returns false (and changes nothing) when an entry with
    /// the same date and seq is already there.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let key = (entry.date, entry.seq);
        let position = match self
            .entries()
            .binary_search_by(|e| (e.date, e.seq).cmp(&key))
        {
            Ok(_) => return false,
            Err(position) => position,
        };
        match &mut self.entries {
            Entries::Heap(entries) if !entries.is_empty() => entries.insert(position, entry),
            Entries::Inline { len, items } if usize::from(*len) < INLINE_ENTRIES => {
                // One entry in place: the new one goes before or after it.
                let old = items[0];
                *items = if position == 0 {
                    [entry, old]
                } else {
                    [old, entry]
                };
                *len += 1;
            }
            _ => {
                let mut entries = self.entries().to_vec();
                entries.insert(position, entry);
                self.entries = Timeline::stored(&entries);
            }
        }
        true
    }

    /// Appends an entry after the last one. Returns false (and changes nothing) when it
    /// does not sort after it: a way to build a timeline from entries in order that
    /// refuses entries out of order.
    pub fn push(&mut self, entry: Entry) -> bool {
        let after_last = self
            .entries()
            .last()
            .is_none_or(|last| (last.date, last.seq) < (entry.date, entry.seq));
        after_last && self.insert(entry)
    }

    /// Removes the entry recorded by `seq` on `date`, if any.
    pub fn remove(&mut self, date: Date, seq: u64) -> bool {
        let key = (date, seq);
        match self
            .entries()
            .binary_search_by(|e| (e.date, e.seq).cmp(&key))
        {
            Ok(position) => {
                match &mut self.entries {
                    Entries::Heap(entries) => {
                        entries.remove(position);
                    }
                    Entries::Inline { .. } => {
                        let mut entries = self.entries().to_vec();
                        entries.remove(position);
                        self.entries = Timeline::stored(&entries);
                    }
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Whether the member is in the group on `date`, counting only commits up to
    /// `as_of` (all commits when `None`).
    pub fn is_member(&self, date: Date, as_of: Option<u64>) -> bool {
        self.state(date, as_of).is_member()
    }

    /// The direct state on `date`, counting only commits up to `as_of`: the change of the
    /// deciding entry (`Join` included, `Exclude` excluded), or `Leave` (none) when no
    /// entry decides.
    pub fn state(&self, date: Date, as_of: Option<u64>) -> Change {
        let entries = self.entries();
        let end = entries.partition_point(|e| e.date <= date);
        entries[..end]
            .iter()
            .rev()
            .find(|e| as_of.is_none_or(|limit| e.seq <= limit))
            .map_or(Change::Leave, |e| e.change)
    }

    /// Whether any entry is dated in `(after, up_to]`.
    pub fn has_entry_in(&self, after: Date, up_to: Date) -> bool {
        let entries = self.entries();
        let start = entries.partition_point(|e| e.date <= after);
        entries.get(start).is_some_and(|entry| entry.date <= up_to)
    }

    /// The membership spans, counting only commits up to `as_of`. Facts that change
    /// nothing (a join while a member, a leave while not) open or close nothing.
    pub fn intervals(&self, as_of: Option<u64>) -> Vec<Interval> {
        let mut intervals: Vec<Interval> = Vec::new();
        let mut open: Option<(Date, u64)> = None;
        let visible: Vec<&Entry> = self
            .entries()
            .iter()
            .filter(|e| as_of.is_none_or(|limit| e.seq <= limit))
            .collect();
        let mut index = 0;
        while index < visible.len() {
            // Among entries of one date, the one recorded last decides.
            let date = visible[index].date;
            let mut last = visible[index];
            while index < visible.len() && visible[index].date == date {
                last = visible[index];
                index += 1;
            }
            match (open, last.change.is_member()) {
                (None, true) => open = Some((date, last.seq)),
                (Some((from, opened_by)), false) => {
                    intervals.push(Interval {
                        from,
                        until: Some(date),
                        opened_by,
                        closed_by: Some(last.seq),
                    });
                    open = None;
                }
                _ => {}
            }
        }
        if let Some((from, opened_by)) = open {
            intervals.push(Interval {
                from,
                until: None,
                opened_by,
                closed_by: None,
            });
        }
        intervals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> Date {
        Date::from_ymd(2020, 1, n).unwrap()
    }

    fn timeline(entries: &[(u32, u64, Change)]) -> Timeline {
        let mut timeline = Timeline::default();
        for &(d, seq, change) in entries {
            assert!(timeline.insert(Entry {
                date: day(d),
                seq,
                change
            }));
        }
        assert!(timeline.is_sorted());
        timeline
    }

    #[test]
    fn membership_follows_the_latest_fact_and_the_last_recorded_on_a_tie() {
        use Change::*;
        let t = timeline(&[(5, 1, Join), (10, 1, Leave), (10, 2, Join)]);
        let check = |d: u32, as_of: Option<u64>, expected: bool| {
            assert_eq!(
                t.is_member(day(d), as_of),
                expected,
                "day {d} as of {as_of:?}"
            );
        };
        check(4, None, false);
        check(5, None, true);
        check(10, None, true);
        check(10, Some(1), false);
        check(11, Some(1), false);
        check(9, Some(1), true);
    }

    /// Entries kept in place and on the heap behave as one sorted list: inserts in any
    /// order, pushes, removes back to nothing, and equality whatever the storage.
    #[test]
    fn a_timeline_is_one_sorted_list_in_place_or_on_the_heap() {
        use Change::*;
        let entry = |d: u32, seq: u64| Entry {
            date: day(d),
            seq,
            change: if seq.is_multiple_of(2) { Join } else { Leave },
        };
        let order = [(7, 1), (3, 2), (9, 1), (3, 1), (5, 4)];
        let mut timeline = Timeline::default();
        let mut model: Vec<Entry> = Vec::new();
        for &(d, seq) in &order {
            assert!(timeline.insert(entry(d, seq)));
            assert!(
                !timeline.insert(entry(d, seq)),
                "a repeated entry is refused"
            );
            model.push(entry(d, seq));
            model.sort_by_key(|e| (e.date, e.seq));
            assert_eq!(timeline.entries(), model.as_slice());
            assert!(timeline.is_sorted());
        }
        for &(d, seq) in order.iter().rev() {
            assert!(timeline.remove(day(d), seq));
            assert!(!timeline.remove(day(d), seq), "removed once only");
            model.retain(|e| (e.date, e.seq) != (day(d), seq));
            assert_eq!(timeline.entries(), model.as_slice());
            // Built afresh, the same entries compare equal however they are kept.
            assert_eq!(Timeline::from_sorted(model.clone()), Some(timeline.clone()));
        }
        let mut pushed = Timeline::default();
        assert!(pushed.push(entry(4, 1)));
        assert!(!pushed.push(entry(4, 1)), "not after the last");
        assert!(!pushed.push(entry(2, 1)), "before the last");
        assert!(pushed.push(entry(4, 2)) && pushed.push(entry(6, 1)));
        assert_eq!(
            pushed.entries(),
            [entry(4, 1), entry(4, 2), entry(6, 1)].as_slice()
        );
        assert_eq!(Timeline::from_sorted(vec![entry(5, 1), entry(2, 1)]), None);
    }

    #[test]
    fn intervals_skip_facts_that_change_nothing() {
        use Change::*;
        let t = timeline(&[(2, 1, Join), (4, 2, Join), (6, 1, Leave), (8, 3, Leave)]);
        assert_eq!(
            t.intervals(None),
            vec![Interval {
                from: day(2),
                until: Some(day(6)),
                opened_by: 1,
                closed_by: Some(1)
            }]
        );
    }
}
