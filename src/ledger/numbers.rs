//! Dense member numbers for queries: every member id the derived state knows, sorted and
//! numbered by position, so that number order is id order and a set of numbers read in
//! bit order yields ids already sorted; and [`MemberSet`], a bitset over those numbers.
//!
//! Owns: [`MemberNumbers`] (the ledger-wide dictionary), [`Numbering`] (that dictionary, or
//! numbers given only to the members one question meets) and [`MemberSet`].
//! Must not: be persisted or reach the log or the derived-state file: it is derived, built
//! on first use and dropped whenever a commit adds a member, and a number means nothing
//! outside the dictionary that gave it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::model::limits::MAX_DIRECTORY_ENTRIES;
use crate::model::MemberId;

// Every member the derived state lists gets a u32 number.
const _: () = assert!(MAX_DIRECTORY_ENTRIES <= u32::MAX as usize);

/// Every member id, sorted; a member's number is its position.
pub struct MemberNumbers {
    ids: Vec<MemberId>,
}

impl MemberNumbers {
    pub(crate) fn new(mut ids: Vec<MemberId>) -> MemberNumbers {
        // The derived state lists its members sorted already; sorting again costs one pass
        // and makes number order id order whatever the source.
        ids.sort_unstable();
        ids.dedup();
        MemberNumbers { ids }
    }

    /// How many members are numbered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The number of `member`, or `None` for a member this dictionary does not hold.
    pub fn number(&self, member: &MemberId) -> Option<u32> {
        // The derived state lists at most MAX_DIRECTORY_ENTRIES members (asserted above to
        // fit a u32); the dictionary holds no more than it lists.
        self.ids
            .binary_search(member)
            .ok()
            .map(|index| index as u32)
    }

    /// Whether `member` has a number.
    pub fn contains(&self, member: &MemberId) -> bool {
        self.ids.binary_search(member).is_ok()
    }

    /// The id numbered `number`, or `None` for a number this dictionary never gave.
    pub fn id(&self, number: u32) -> Option<&MemberId> {
        self.ids.get(number as usize)
    }
}

/// The numbers one resolution names members by.
///
/// Building the ledger-wide dictionary reads every member id the derived state lists (50,000
/// at the 10M-fact benchmark: several milliseconds), which a process asking one question
/// would spend for nothing: its answer names a few thousand members at most. So a first
/// question numbers only the members it meets, in the order met; a process that asks
/// again takes the ledger's dictionary, which its span indexes share.
pub enum Numbering {
    /// The ledger's dictionary: number order is id order.
    Ledger(Arc<MemberNumbers>),
    /// Numbers given in the order members were met; ids sorted only in the answer.
    Met {
        numbers: FxHashMap<MemberId, u32>,
        ids: Vec<MemberId>,
    },
}

impl Numbering {
    /// Numbers for the members a question meets, none given yet.
    pub fn met() -> Numbering {
        Numbering::Met {
            numbers: FxHashMap::default(),
            ids: Vec::new(),
        }
    }

    /// How many numbers are given.
    pub fn len(&self) -> usize {
        match self {
            Numbering::Ledger(numbers) => numbers.len(),
            Numbering::Met { ids, .. } => ids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of `member`. The ledger's dictionary has none for a member the derived
    /// state does not list; met numbers give the next one to a member not met before.
    pub fn number(&mut self, member: &MemberId) -> Option<u32> {
        match self {
            Numbering::Ledger(numbers) => numbers.number(member),
            Numbering::Met { numbers, ids } => {
                if let Some(number) = numbers.get(member) {
                    return Some(*number);
                }
                // Members met are members the derived state lists: at most
                // MAX_DIRECTORY_ENTRIES, which fits a u32 (asserted above).
                let number = ids.len() as u32;
                numbers.insert(member.clone(), number);
                ids.push(member.clone());
                Some(number)
            }
        }
    }

    /// The number of `member` when it has one already, giving none.
    pub fn existing(&self, member: &MemberId) -> Option<u32> {
        match self {
            Numbering::Ledger(numbers) => numbers.number(member),
            Numbering::Met { numbers, .. } => numbers.get(member).copied(),
        }
    }

    /// Whether number order is id order (the ledger's dictionary), so that ids read in
    /// number order come out sorted.
    pub fn in_id_order(&self) -> bool {
        matches!(self, Numbering::Ledger(_))
    }

    /// The id numbered `number`.
    pub fn id(&self, number: u32) -> Option<&MemberId> {
        match self {
            Numbering::Ledger(numbers) => numbers.id(number),
            Numbering::Met { ids, .. } => ids.get(number as usize),
        }
    }

    /// The ids of `numbers` (ascending), sorted: in number order for the ledger's
    /// dictionary, sorted here for met numbers.
    pub fn ids(&self, numbers: impl Iterator<Item = u32>) -> Vec<MemberId> {
        let mut ids: Vec<MemberId> = numbers
            .filter_map(|number| self.id(number))
            .cloned()
            .collect();
        if !self.in_id_order() {
            sort_by_id(&mut ids, |id| id);
        }
        ids
    }
}

/// Sorts `items` by the member id `id` gives, as `MemberId`'s order does (text order):
/// first by the id's first eight bytes read as a big-endian number, which settles most
/// comparisons without reading the text through its pointer, then by the whole id. An id
/// holds no NUL byte (no control character), so padding a short one with zeros keeps
/// text order: a prefix sorts before the ids it begins.
pub fn sort_by_id<T>(items: &mut Vec<T>, id: impl Fn(&T) -> &MemberId) {
    fn head(id: &MemberId) -> u64 {
        let mut bytes = [0u8; 8];
        let text = id.as_str().as_bytes();
        let length = text.len().min(8);
        bytes[..length].copy_from_slice(&text[..length]);
        u64::from_be_bytes(bytes)
    }
    let mut keyed: Vec<(u64, T)> = items
        .drain(..)
        .map(|item| (head(id(&item)), item))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id(&a.1).cmp(id(&b.1))));
    items.extend(keyed.into_iter().map(|(_, item)| item));
}

/// A set of member numbers, one bit each: unions and differences a word at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSet {
    words: Vec<u64>,
}

impl MemberSet {
    /// The empty set, with room for numbers below `count`.
    pub fn empty(count: usize) -> MemberSet {
        MemberSet {
            words: vec![0; count.div_ceil(64)],
        }
    }

    /// Adds `number`; a number past the dictionary grows the set rather than panic.
    pub fn insert(&mut self, number: u32) {
        let word = (number / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (number % 64);
    }

    pub fn remove(&mut self, number: u32) {
        if let Some(word) = self.words.get_mut((number / 64) as usize) {
            *word &= !(1 << (number % 64));
        }
    }

    pub fn contains(&self, number: u32) -> bool {
        self.words
            .get((number / 64) as usize)
            .is_some_and(|word| word & (1 << (number % 64)) != 0)
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &MemberSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (word, theirs) in self.words.iter_mut().zip(&other.words) {
            *word |= theirs;
        }
    }

    /// Removes every member of `other`.
    pub fn difference_with(&mut self, other: &MemberSet) {
        for (word, theirs) in self.words.iter_mut().zip(&other.words) {
            *word &= !theirs;
        }
    }

    /// The numbers, ascending (so their ids come out sorted).
    pub fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                // Word indexes come from u32 numbers, so this fits.
                Some(index as u32 * 64 + bit)
            })
        })
    }

    /// How many members the set holds.
    pub fn len(&self) -> usize {
        self.words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|word| *word == 0)
    }

    /// The members' ids, sorted; numbers `numbers` never gave are skipped.
    pub fn ids(&self, numbers: &Numbering) -> Vec<MemberId> {
        numbers.ids(self.numbers())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> MemberId {
        MemberId::new(text).expect("a valid id")
    }

    #[test]
    fn number_order_is_id_order_and_sets_read_back_sorted() {
        let numbers = MemberNumbers::new(vec![id("c"), id("a"), id("b"), id("a")]);
        assert_eq!(numbers.len(), 3);
        assert_eq!(numbers.number(&id("a")), Some(0));
        assert_eq!(numbers.number(&id("c")), Some(2));
        assert_eq!(numbers.number(&id("z")), None);
        let mut set = MemberSet::empty(numbers.len());
        set.insert(2);
        set.insert(0);
        let mut other = MemberSet::empty(numbers.len());
        other.insert(1);
        set.union_with(&other);
        let numbering = Numbering::Ledger(Arc::new(numbers));
        assert_eq!(set.ids(&numbering), vec![id("a"), id("b"), id("c")]);
        set.difference_with(&other);
        set.remove(0);
        assert_eq!(set.ids(&numbering), vec![id("c")]);
        assert!(set.contains(2) && !set.contains(1));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn bits_past_one_word_are_kept() {
        let ids: Vec<MemberId> = (0..200).map(|n| id(&format!("m{n:03}"))).collect();
        let numbers = MemberNumbers::new(ids.clone());
        let mut set = MemberSet::empty(numbers.len());
        for number in [199, 64, 63, 0, 128] {
            set.insert(number);
        }
        let read: Vec<u32> = set.numbers().collect();
        assert_eq!(read, vec![0, 63, 64, 128, 199]);
        assert_eq!(set.ids(&Numbering::Ledger(Arc::new(numbers)))[4], ids[199]);
    }

    #[test]
    fn met_numbers_follow_the_order_met_and_answers_come_out_sorted() {
        let mut numbering = Numbering::met();
        assert_eq!(numbering.number(&id("c")), Some(0));
        assert_eq!(numbering.number(&id("a")), Some(1));
        assert_eq!(numbering.number(&id("c")), Some(0));
        assert_eq!(numbering.existing(&id("b")), None);
        assert_eq!(numbering.len(), 2);
        let mut set = MemberSet::empty(numbering.len());
        set.insert(0);
        set.insert(1);
        assert_eq!(set.ids(&numbering), vec![id("a"), id("c")]);
    }

    proptest::proptest! {
        /// Ids of up to twelve bytes from a few letters, so that many share their first
        /// eight bytes, many are prefixes of others, and some hold bytes above ASCII.
        #[test]
        fn sorting_by_id_keeps_text_order(
            texts in proptest::collection::vec("[ab\u{e9}Z0]{1,12}", 0..60),
        ) {
            let ids: Vec<MemberId> = texts.iter().map(|text| id(text)).collect();
            let mut expected = ids.clone();
            expected.sort();
            let mut rows: Vec<(MemberId, usize)> =
                ids.into_iter().enumerate().map(|(index, id)| (id, index)).collect();
            sort_by_id(&mut rows, |row| &row.0);
            let sorted: Vec<MemberId> = rows.into_iter().map(|row| row.0).collect();
            proptest::prop_assert_eq!(sorted, expected);
        }
    }
}
