//! Member numbers for one planning run: every member a batch, its snapshots and the
//! touched groups' states name, numbered by position in id order, so that planning
//! compares and looks up integers instead of id text.
//!
//! Owns: [`Numbers`] (the dictionary, built once per plan) and the rows of one group's
//! members keyed by number ([`Rows`]).
//! Must not: outlive the plan that built it, or be written anywhere: numbers mean
//! nothing outside one run (the log and the derived state keep ids).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::model::{GroupId, MemberId};
use crate::projection::timeline::Timeline;
use crate::projection::GroupState;

/// The members of one planning run in id order; a member's number is its position, so
/// number order is id order and anything sorted by number comes out sorted by id.
pub(super) struct Numbers {
    ids: Vec<MemberId>,
    of_id: FxHashMap<MemberId, u32>,
    /// The number of each snapshot pupil (by its position in the snapshots' pupils), when
    /// that is not the position itself (other members came in between, or the pupils were
    /// not in id order).
    of_pupil: Option<Vec<u32>>,
}

impl Numbers {
    /// Numbers `pupils` (the snapshots' dictionary, in id order as an export gives it),
    /// the members of `states` and every member of `others`. When no one else is named
    /// and `pupils` is in id order, a pupil's number is its position and the snapshots'
    /// lists are used as they are. Returns beside it, per state in `states`' order, its
    /// members' numbers in the state's order: each state member is looked up once.
    pub(super) fn new<'m>(
        pupils: &[MemberId],
        states: &BTreeMap<GroupId, Arc<GroupState>>,
        others: impl Iterator<Item = &'m MemberId>,
    ) -> (Numbers, Vec<Vec<u32>>) {
        let number_in_order = |ids: &[MemberId]| -> FxHashMap<MemberId, u32> {
            ids.iter()
                .enumerate()
                .map(|(number, id)| (id.clone(), number as u32))
                .collect()
        };
        let of_position = number_in_order(pupils);
        let mut members: Vec<Vec<u32>> = states
            .values()
            .map(|state| {
                state
                    .members
                    .keys()
                    .map(|id| of_position.get(id).copied().unwrap_or(NOT_A_PUPIL))
                    .collect()
            })
            .collect();
        // Only states holding someone else are walked again (their numbers are integers).
        let states_with_others = states
            .values()
            .zip(&members)
            .filter(|(_, numbers)| numbers.contains(&NOT_A_PUPIL));
        let not_pupils = states_with_others.flat_map(|(state, numbers)| {
            state
                .members
                .keys()
                .zip(numbers)
                .filter(|(_, &number)| number == NOT_A_PUPIL)
                .map(|(id, _)| id)
        });
        let mut new: Vec<MemberId> = not_pupils.cloned().collect();
        new.extend(others.filter(|id| !of_position.contains_key(*id)).cloned());
        let in_order = pupils.windows(2).all(|pair| pair[0] < pair[1]);
        if new.is_empty() && in_order {
            let numbers = Numbers {
                ids: pupils.to_vec(),
                of_id: of_position,
                of_pupil: None,
            };
            return (numbers, members);
        }
        new.extend(pupils.iter().cloned());
        new.sort_unstable();
        new.dedup();
        let of_id = number_in_order(&new);
        // Both maps hold every pupil: `of_id` was built from them.
        let of_pupil: Vec<u32> = pupils.iter().map(|id| of_id[id]).collect();
        for (state, numbers) in states.values().zip(&mut members) {
            for (id, number) in state.members.keys().zip(numbers.iter_mut()) {
                *number = match *number {
                    // `of_id` holds every member of the states: `new` took them in.
                    NOT_A_PUPIL => of_id[id],
                    position => of_pupil[position as usize],
                };
            }
        }
        let numbers = Numbers {
            ids: new,
            of_id,
            of_pupil: Some(of_pupil),
        };
        (numbers, members)
    }

    /// The number of a member the dictionary was built with.
    pub(super) fn number(&self, member: &MemberId) -> u32 {
        // Every member planning meets was passed to `new`: the batch's, the snapshots'
        // and the touched states'. A miss is a bug in collecting them.
        self.of_id[member]
    }

    /// The number of the snapshots' pupil at `position`.
    pub(super) fn of_pupil(&self, position: u32) -> u32 {
        match &self.of_pupil {
            Some(numbers) => numbers[position as usize],
            None => position,
        }
    }

    /// Whether snapshot lists, sorted by position, are also sorted by number.
    pub(super) fn keeps_pupil_order(&self) -> bool {
        self.of_pupil.is_none()
    }

    pub(super) fn id(&self, number: u32) -> &MemberId {
        &self.ids[number as usize]
    }
}

/// Marks a state member not among the snapshots' pupils while numbering.
const NOT_A_PUPIL: u32 = u32::MAX;

/// One group's members as planning works on them: (number, timeline), sorted by number
/// without repeats. A timeline is borrowed from the group's state until planning changes
/// it, and the state's member map is kept whole when no timeline changed (a late week
/// adds a date to nearly every group and a fact to few).
pub(super) struct Rows<'s> {
    rows: Vec<(u32, Cow<'s, Timeline>)>,
    /// The members whose timelines planning changed, added or removed (repeats allowed).
    touched: Vec<u32>,
}

impl<'s> Rows<'s> {
    /// The members of `state`, with their numbers (from [`Numbers::new`], in the state's
    /// order).
    pub(super) fn of(state: &'s GroupState, numbers: &[u32]) -> Rows<'s> {
        // The state's members are in id order, so their numbers come out ascending.
        Rows {
            rows: numbers
                .iter()
                .zip(state.members.values())
                .map(|(&number, timeline)| (number, Cow::Borrowed(timeline)))
                .collect(),
            touched: Vec::new(),
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &Timeline)> {
        self.rows
            .iter()
            .map(|(member, timeline)| (*member, &**timeline))
    }

    pub(super) fn get(&self, member: u32) -> Option<&Timeline> {
        self.rows
            .binary_search_by_key(&member, |row| row.0)
            .ok()
            .map(|position| &*self.rows[position].1)
    }

    /// The member's timeline to change, made empty when the group does not have it yet.
    pub(super) fn entry(&mut self, member: u32) -> &mut Timeline {
        self.touched.push(member);
        let position = match self.rows.binary_search_by_key(&member, |row| row.0) {
            Ok(position) => position,
            Err(position) => {
                let empty = Cow::Owned(Timeline::default());
                self.rows.insert(position, (member, empty));
                position
            }
        };
        self.rows[position].1.to_mut()
    }

    pub(super) fn remove(&mut self, member: u32) {
        if let Ok(position) = self.rows.binary_search_by_key(&member, |row| row.0) {
            self.touched.push(member);
            self.rows.remove(position);
        }
    }

    /// The state planned: `dates` (the group's state with its dates as planned) with these
    /// members, ids again; `before` is the state the rows were taken from.
    /// A member the state had keeps the state's own id (the same shared text), so that
    /// comparing the planned state with the applied one, which holds those ids too, does
    /// not read their text.
    pub(super) fn into_state(
        self,
        mut dates: GroupState,
        before: &GroupState,
        before_numbers: &[u32],
        numbers: &Numbers,
    ) -> Arc<GroupState> {
        dates.members = if self.touched.is_empty() {
            before.members.clone()
        } else if self.touched.len() * PATCH_BELOW < before.members.len() {
            self.patch(before, numbers)
        } else {
            let mut had = before_numbers.iter().zip(before.members.keys()).peekable();
            // Number order is id order: the map is built from a sorted sequence.
            self.rows
                .into_iter()
                .map(|(number, timeline)| {
                    while had.next_if(|(&old, _)| old < number).is_some() {}
                    let id = match had.next_if(|(&old, _)| old == number) {
                        Some((_, id)) => id.clone(),
                        None => numbers.id(number).clone(),
                    };
                    (id, timeline.into_owned())
                })
                .collect()
        };
        Arc::new(dates)
    }

    /// `before`'s member map with the touched members' timelines put in, added or
    /// removed: for a few changes in a large group, cheaper than building the map again
    /// (which compares every pair of neighbouring ids).
    fn patch(mut self, before: &GroupState, numbers: &Numbers) -> BTreeMap<MemberId, Timeline> {
        let mut members = before.members.clone();
        self.touched.sort_unstable();
        self.touched.dedup();
        for &number in &self.touched {
            let id = numbers.id(number);
            match self.rows.binary_search_by_key(&number, |row| row.0) {
                Ok(position) => {
                    let empty = Cow::Owned(Timeline::default());
                    let timeline = std::mem::replace(&mut self.rows[position].1, empty);
                    match members.get_mut(id) {
                        Some(slot) => *slot = timeline.into_owned(),
                        None => {
                            members.insert(id.clone(), timeline.into_owned());
                        }
                    }
                }
                Err(_) => {
                    members.remove(id);
                }
            }
        }
        members
    }
}

/// A group's member map is patched, not built again, when fewer than one in this many of
/// its members changed.
const PATCH_BELOW: usize = 4;
