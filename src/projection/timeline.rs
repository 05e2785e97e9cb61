//! One member's facts in one group, in the order that decides membership.
//!
//! Owns: [`Timeline`] and [`Entry`]; answering "member on date X?" (optionally as of a
//! commit) and turning facts into spans.
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

#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Timeline {
    entries: Vec<Entry>,
}

impl Timeline {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// A timeline of entries already in order (checked: an unordered list is refused).
    pub fn from_sorted(entries: Vec<Entry>) -> Option<Timeline> {
        let timeline = Timeline { entries };
        timeline.is_sorted().then_some(timeline)
    }

    pub fn is_sorted(&self) -> bool {
        self.entries
            .windows(2)
            .all(|w| (w[0].date, w[0].seq) < (w[1].date, w[1].seq))
    }

    /// Inserts an entry in order. Returns false (and changes nothing) when an entry with
    /// the same date and seq is already there.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let key = (entry.date, entry.seq);
        match self.entries.binary_search_by(|e| (e.date, e.seq).cmp(&key)) {
            Ok(_) => false,
            Err(position) => {
                self.entries.insert(position, entry);
                true
            }
        }
    }

    /// Removes the entry recorded by `seq` on `date`, if any.
    pub fn remove(&mut self, date: Date, seq: u64) -> bool {
        let key = (date, seq);
        match self.entries.binary_search_by(|e| (e.date, e.seq).cmp(&key)) {
            Ok(position) => {
                self.entries.remove(position);
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
        let end = self.entries.partition_point(|e| e.date <= date);
        self.entries[..end]
            .iter()
            .rev()
            .find(|e| as_of.is_none_or(|limit| e.seq <= limit))
            .map_or(Change::Leave, |e| e.change)
    }

    /// Whether any entry is dated in `(after, up_to]`.
    pub fn has_entry_in(&self, after: Date, up_to: Date) -> bool {
        let start = self.entries.partition_point(|e| e.date <= after);
        self.entries
            .get(start)
            .is_some_and(|entry| entry.date <= up_to)
    }

    /// The membership spans, counting only commits up to `as_of`. Facts that change
    /// nothing (a join while a member, a leave while not) open or close nothing.
    pub fn intervals(&self, as_of: Option<u64>) -> Vec<Interval> {
        let mut intervals: Vec<Interval> = Vec::new();
        let mut open: Option<(Date, u64)> = None;
        let visible: Vec<&Entry> = self
            .entries
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
