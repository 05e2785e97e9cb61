//! The ledger's in-memory caches: decoded states shared through `Arc`, and per group its
//! spans cut into buckets of days, so that repeated questions decode each state once and
//! `members` on a date reads one bucket.
//!
//! Owns: `StateCache`, [`GroupSpans`] (which names members by their numbers in the
//! ledger's [`MemberNumbers`]), with their bounds, and [`free_aside`] (freeing states
//! nobody reads again off the command's path).
//! Must not: be the truth: everything here is dropped and rebuilt from the derived state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::ledger::numbers::MemberNumbers;
use crate::model::{Change, Date, GroupId, MemberId};
use crate::projection::timeline::Timeline;
use crate::projection::GroupState;

/// Most states each cache keeps; past it the cache starts again empty. A school has a few
/// thousand groups and pupils; the 10-million-fact benchmark 5,000 groups and 50,000
/// members.
pub const MAX_CACHED_STATES: usize = 100_000;

/// A bounded map of shared, decoded states.
pub(crate) struct StateCache<K, V> {
    entries: Mutex<HashMap<K, Arc<V>>>,
}

impl<K: std::hash::Hash + Eq + Clone, V> StateCache<K, V> {
    pub(crate) fn new() -> StateCache<K, V> {
        StateCache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Empties the cache, handing its states over (to free them elsewhere).
    pub(crate) fn take(&self) -> HashMap<K, Arc<V>> {
        std::mem::take(&mut *self.lock())
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<V>>> {
        // A poisoned lock means a panic elsewhere; the map itself is still whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached state, or `load`'s (cached when found).
    pub(crate) fn get_or_load(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>>,
    ) -> Result<Option<Arc<V>>> {
        if let Some(state) = self.lock().get(key) {
            return Ok(Some(state.clone()));
        }
        let Some(state) = load()? else {
            return Ok(None);
        };
        let state = Arc::new(state);
        self.put(key.clone(), state.clone());
        Ok(Some(state))
    }

    pub(crate) fn put(&self, key: K, state: Arc<V>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_STATES {
            entries.clear();
        }
        entries.insert(key, state);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn remove(&self, key: &K) {
        self.lock().remove(key);
    }
}

/// Days covered by one bucket of [`GroupSpans`].
pub(crate) const SPAN_BUCKET_DAYS: i32 = 64;

/// Most buckets one group's index may have; a group whose spans stretch further is
/// indexed with wider buckets.
pub(crate) const MAX_SPAN_BUCKETS: i64 = 4096;

/// A group's membership spans as the ledger stands now, cut into buckets of days: each
/// bucket lists the spans that overlap it, in member order. Answering "who was in G on
/// D" reads one bucket (a few hundred bytes), with no tree to walk and nothing to
/// allocate but the answer.
pub struct GroupSpans {
    /// The dictionary the spans' member numbers come from: a ledger's caches drop every
    /// span index when they replace it.
    numbers: Arc<MemberNumbers>,
    /// The first day of bucket 0, and the days each bucket covers.
    first_day: i32,
    bucket_days: i32,
    /// `starts[b]..starts[b + 1]` are bucket `b`'s spans in `spans`.
    starts: Vec<u32>,
    /// (from, until, member's number); `until` is `None` while open.
    spans: Vec<(Date, Option<Date>, u32)>,
    /// The members that were ever directly excluded, with their timelines (few: most
    /// groups have none), for resolving nested groups without scanning every timeline.
    exclusions: Vec<(MemberId, Timeline)>,
}

impl GroupSpans {
    pub(crate) fn of(
        group: &GroupId,
        state: &GroupState,
        numbers: Arc<MemberNumbers>,
    ) -> Result<GroupSpans> {
        let mut all = Vec::new();
        let mut exclusions = Vec::new();
        for (member, timeline) in &state.members {
            if timeline
                .entries()
                .iter()
                .any(|e| e.change == Change::Exclude)
            {
                exclusions.push((member.clone(), timeline.clone()));
            }
            let intervals = timeline.intervals(None);
            if intervals.is_empty() {
                continue;
            }
            let number = numbers.number(member).ok_or_else(|| {
                Error::corrupt(format!(
                    "member {member} of group {group} is missing from the derived state's \
                     member list"
                ))
            })?;
            all.extend(
                intervals
                    .into_iter()
                    .map(|interval| (interval.from, interval.until, number)),
            );
        }
        let day = |date: Date| date.days_from_ce();
        let first_day = all.iter().map(|span| day(span.0)).min().unwrap_or(0);
        // The last day that matters: the latest start or end; open spans reach past it.
        let last_day = all
            .iter()
            .map(|span| span.1.map_or(day(span.0), day).max(day(span.0)))
            .max()
            .unwrap_or(first_day);
        let days = i64::from(last_day) - i64::from(first_day) + 1;
        let bucket_days = (days / MAX_SPAN_BUCKETS + 1).max(i64::from(SPAN_BUCKET_DAYS));
        // At most MAX_SPAN_BUCKETS + 1 buckets, each at most the whole range of dates.
        let bucket_days = bucket_days as i32;
        let buckets = ((last_day - first_day) / bucket_days + 1) as usize;
        let bucket_of = |day: i32| ((day - first_day) / bucket_days) as usize;
        let range = |span: &(Date, Option<Date>, u32)| {
            let start = bucket_of(day(span.0));
            // `until` is exclusive: the span's last day is the day before.
            let end = span.1.map_or(buckets - 1, |until| {
                bucket_of(day(until) - 1).min(buckets - 1)
            });
            start..=end.max(start)
        };
        let mut per_bucket = vec![Vec::new(); buckets];
        // `all` is in member order (the state's members are sorted by id, and number order
        // is id order), so each bucket is filled in member order.
        for span in &all {
            for bucket in range(span) {
                per_bucket[bucket].push(*span);
            }
        }
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut spans = Vec::with_capacity(per_bucket.iter().map(Vec::len).sum());
        for bucket in per_bucket {
            // Spans of one group, each in a bounded number of buckets: far below u32::MAX.
            starts.push(spans.len() as u32);
            spans.extend(bucket);
        }
        starts.push(spans.len() as u32);
        Ok(GroupSpans {
            numbers,
            first_day,
            bucket_days,
            starts,
            spans,
            exclusions,
        })
    }

    /// The dictionary this index's member numbers come from.
    pub fn numbers(&self) -> &Arc<MemberNumbers> {
        &self.numbers
    }

    /// Members directly excluded on `date`, sorted.
    pub fn excluded_on(&self, date: Date) -> Vec<MemberId> {
        self.exclusions
            .iter()
            .filter(|(_, timeline)| timeline.state(date, None) == Change::Exclude)
            .map(|(member, _)| member.clone())
            .collect()
    }

    /// Members on `date`, sorted (a bucket lists spans in member order; one member's spans
    /// never overlap, so none is named twice): numbers turned back into ids here, at the
    /// edge.
    pub fn members_on(&self, date: Date) -> Vec<MemberId> {
        let bucket_spans = self.bucket(date);
        let mut members = Vec::with_capacity(bucket_spans.len());
        members.extend(
            Self::on(bucket_spans, date)
                .filter_map(|number| self.numbers.id(number))
                .cloned(),
        );
        members
    }

    /// The numbers of the members on `date`, ascending: what resolving nested groups reads
    /// from thousands of groups at once.
    pub fn numbers_on(&self, date: Date) -> impl Iterator<Item = u32> + '_ {
        Self::on(self.bucket(date), date)
    }

    /// Whether the member numbered `number` is on `date`: a binary search of the bucket,
    /// whose spans are in member order (a member's spans in it are side by side).
    pub fn holds_on(&self, date: Date, number: u32) -> bool {
        let bucket_spans = self.bucket(date);
        let start = bucket_spans.partition_point(|span| span.2 < number);
        let of_member = bucket_spans[start..]
            .iter()
            .take_while(|span| span.2 == number)
            .count();
        Self::on(&bucket_spans[start..start + of_member], date)
            .next()
            .is_some()
    }

    /// The spans of the bucket holding `date` (none before the first span).
    fn bucket(&self, date: Date) -> &[(Date, Option<Date>, u32)] {
        let offset = date.days_from_ce() - self.first_day;
        match offset {
            offset if offset < 0 => &self.spans[..0],
            offset => {
                let bucket = ((offset / self.bucket_days) as usize).min(self.starts.len() - 2);
                &self.spans[self.starts[bucket] as usize..self.starts[bucket + 1] as usize]
            }
        }
    }

    fn on(
        bucket_spans: &[(Date, Option<Date>, u32)],
        date: Date,
    ) -> impl Iterator<Item = u32> + '_ {
        bucket_spans
            .iter()
            .filter(move |(from, until, _)| *from <= date && until.is_none_or(|until| date < until))
            .map(|(_, _, number)| *number)
    }
}

/// Frees `value` on a thread of its own, so that the caller does not wait for it: a
/// command ending after a large import would otherwise spend tens of milliseconds freeing
/// hundreds of thousands of timelines and pupil lists it never reads again. Only for
/// values whose drop does nothing but free memory (no file, no lock). When no thread can
/// be started, the value is freed here.
pub(crate) fn free_aside<T: Send + 'static>(value: T) {
    // A failed spawn hands the closure back to be dropped, freeing `value` in line.
    let _ = std::thread::Builder::new()
        .name("muster-free".to_string())
        .spawn(move || drop(value));
}
