//! The names file (`muster.names`) of ledgers made before the vault: display names of
//! groups and members, in one file beside sled's. A full open moves them into the log and
//! the vault (`ledger::names`) and removes the file; nothing writes one any more except
//! that move, for ledgers older still (names in a sled tree).
//!
//! Owns: the names file's bytes (one sealed value: every name, sorted by id, with an
//! offset per entry), reading it ([`NameBook`]), and writing it ([`StoredNames`]).
//! Must not: read names files given to `import names` (that is `import::names`), or be
//! read by queries (they read the vault).

use std::collections::BTreeMap;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::log::seal::{seal, unseal, Magic};
use crate::model::{GroupId, MemberId, MAX_ID_BYTES, MAX_NAME_BYTES};
use crate::storage::store::{SideFile, Store};

/// Every stored name, editable. No blank names; none longer than [`MAX_NAME_BYTES`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredNames {
    pub groups: BTreeMap<GroupId, String>,
    pub members: BTreeMap<MemberId, String>,
}

impl StoredNames {
    /// Replaces the names file with these names, durably (names are not derived: nothing
    /// could restore them). Returns the book of what was written.
    pub fn save(&self, store: &dyn Store) -> Result<NameBook> {
        let bytes = self.encode()?;
        store.replace_file(SideFile::Names, true, &mut |out| {
            out.write_all(&bytes).map_err(|error| {
                Error::new(
                    crate::error::ErrorKind::Io,
                    format!("writing names: {error}"),
                )
            })
        })?;
        NameBook::from_bytes(bytes)
    }

    /// The sealed file: group count `u32`, member count `u32`, one `u32` offset per entry
    /// plus the end (relative to the entries), then the entries, groups then members, each
    /// sorted by id: id length `u8`, id, name length `u16`, name.
    fn encode(&self) -> Result<Vec<u8>> {
        let bad = |name: &String| name.is_empty() || name.len() > MAX_NAME_BYTES;
        if self.groups.values().any(bad) || self.members.values().any(bad) {
            return Err(Error::corrupt("a stored name is blank or too long"));
        }
        let entries: Vec<(&str, &str)> = self
            .groups
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str()))
            .chain(
                self.members
                    .iter()
                    .map(|(id, name)| (id.as_str(), name.as_str())),
            )
            .collect();
        let too_many = || Error::new(crate::error::ErrorKind::Limit, "too many names");
        let count = |n: usize| u32::try_from(n).map_err(|_| too_many());
        let mut body = Vec::new();
        body.extend_from_slice(&count(self.groups.len())?.to_be_bytes());
        body.extend_from_slice(&count(self.members.len())?.to_be_bytes());
        let mut packed = Vec::new();
        let mut offsets = Vec::with_capacity(entries.len() + 1);
        for (id, name) in &entries {
            offsets.push(count(packed.len())?);
            // Ids are at most MAX_ID_BYTES (64), names at most MAX_NAME_BYTES (512).
            packed.push(id.len() as u8);
            packed.extend_from_slice(id.as_bytes());
            packed.extend_from_slice(&(name.len() as u16).to_be_bytes());
            packed.extend_from_slice(name.as_bytes());
        }
        offsets.push(count(packed.len())?);
        for offset in offsets {
            body.extend_from_slice(&offset.to_be_bytes());
        }
        body.extend_from_slice(&packed);
        seal(Magic::Names, &body)
    }
}

/// The names file as read: its bytes and where each entry lies, so that a lookup is a
/// binary search and nothing else is decoded (a query names a few dozen members out of
/// tens of thousands).
#[derive(Debug, Default)]
pub struct NameBook {
    body: Vec<u8>,
    groups: usize,
    /// Each entry's start and end in `body`; groups first, then members.
    spans: Vec<Range<usize>>,
}

impl NameBook {
    /// The names file of `store`, read whole and its structure checked; empty when there
    /// is none.
    pub fn load(store: &dyn Store) -> Result<NameBook> {
        let Some(file) = store.open_file(SideFile::Names)? else {
            return Ok(NameBook::default());
        };
        let place = file.describe();
        let length = usize::try_from(file.length())
            .map_err(|_| Error::corrupt(format!("{place}: too large")))?;
        let mut bytes = vec![0u8; length];
        file.read_exact_at(0, &mut bytes)?;
        NameBook::from_bytes(bytes).map_err(|e| Error::corrupt(format!("{place}: {}", e.detail())))
    }

    fn from_bytes(sealed: Vec<u8>) -> Result<NameBook> {
        let body = unseal(Magic::Names, &sealed)?.to_vec();
        let damaged = |what: &str| Error::corrupt(format!("names file: {what}"));
        let u32_at = |at: usize| -> Result<usize> {
            let bytes = body
                .get(at..at + 4)
                .ok_or_else(|| damaged("it ends early"))?;
            // `get` returned exactly four bytes.
            Ok(u32::from_be_bytes(bytes.try_into().expect("four bytes")) as usize)
        };
        let groups = u32_at(0)?;
        let members = u32_at(4)?;
        let count = groups.saturating_add(members);
        let entries_at = count
            .checked_add(1)
            .and_then(|offsets| offsets.checked_mul(4))
            .and_then(|bytes| bytes.checked_add(8))
            .filter(|at| *at <= body.len())
            .ok_or_else(|| damaged("it claims more entries than it holds"))?;
        let mut spans = Vec::with_capacity(count);
        let mut previous_end = 0;
        for index in 0..count {
            let start = u32_at(8 + 4 * index)?;
            let end = u32_at(8 + 4 * (index + 1))?;
            if start != previous_end || end <= start || entries_at + end > body.len() {
                return Err(damaged("an entry's offsets are out of order"));
            }
            previous_end = end;
            spans.push(entries_at + start..entries_at + end);
        }
        if entries_at + previous_end != body.len() {
            return Err(damaged("it has trailing bytes"));
        }
        let book = NameBook {
            body,
            groups,
            spans,
        };
        for side in [0..groups, groups..count] {
            let mut previous: Option<&[u8]> = None;
            for index in side {
                let (id, name) = book.entry(index)?;
                if previous.is_some_and(|previous| previous >= id)
                    || std::str::from_utf8(id).is_err()
                    || name.is_empty()
                    || name.len() > MAX_NAME_BYTES
                {
                    return Err(damaged(
                        "an entry is out of order, or its id or name is bad",
                    ));
                }
                previous = Some(id);
            }
        }
        Ok(book)
    }

    /// Entry `index`: its id and name bytes.
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8])> {
        let damaged = || Error::corrupt("names file: an entry is malformed");
        let bytes = &self.body[self.spans[index].clone()];
        let (&id_length, rest) = bytes.split_first().ok_or_else(damaged)?;
        let id_length = id_length as usize;
        if id_length == 0 || id_length > MAX_ID_BYTES || rest.len() < id_length + 2 {
            return Err(damaged());
        }
        let (id, rest) = rest.split_at(id_length);
        let (name_length, name) = rest.split_at(2);
        if u16::from_be_bytes([name_length[0], name_length[1]]) as usize != name.len() {
            return Err(damaged());
        }
        Ok((id, name))
    }

    /// The name of `id` among entries `range` (sorted by id): a binary search.
    fn find(&self, range: Range<usize>, id: &str) -> Result<Option<String>> {
        let (mut low, mut high) = (range.start, range.end);
        while low < high {
            let middle = low + (high - low) / 2;
            let (entry_id, name) = self.entry(middle)?;
            match entry_id.cmp(id.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => {
                    let name = std::str::from_utf8(name).map_err(|_| {
                        Error::corrupt(format!("names file: the name of {id} is not UTF-8"))
                    })?;
                    return Ok(Some(name.to_string()));
                }
            }
        }
        Ok(None)
    }

    pub fn group(&self, group: &GroupId) -> Result<Option<String>> {
        self.find(0..self.groups, group.as_str())
    }

    pub fn member(&self, member: &MemberId) -> Result<Option<String>> {
        self.find(self.groups..self.spans.len(), member.as_str())
    }

    /// Every name, decoded, to change and save again.
    pub fn to_stored(&self) -> Result<StoredNames> {
        let mut stored = StoredNames::default();
        for index in 0..self.spans.len() {
            let (id, name) = self.entry(index)?;
            let bad = || Error::corrupt("names file: an id or a name is not valid");
            let id = std::str::from_utf8(id).map_err(|_| bad())?;
            let name = std::str::from_utf8(name).map_err(|_| bad())?.to_string();
            if index < self.groups {
                stored
                    .groups
                    .insert(GroupId::new(id).map_err(|_| bad())?, name);
            } else {
                stored
                    .members
                    .insert(MemberId::new(id).map_err(|_| bad())?, name);
            }
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredNames {
        StoredNames {
            groups: [(GroupId::new("34340").unwrap(), "Chess".to_string())]
                .into_iter()
                .collect(),
            members: [
                (MemberId::new("a").unwrap(), "Ada Lovelace".to_string()),
                (MemberId::new("b").unwrap(), "Zoë Ó Briain".to_string()),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn names_round_trip_and_are_found_one_by_one() {
        let book = NameBook::from_bytes(sample().encode().unwrap()).unwrap();
        assert_eq!(book.to_stored().unwrap(), sample());
        let member = |id: &str| book.member(&MemberId::new(id).unwrap()).unwrap();
        assert_eq!(member("b").as_deref(), Some("Zoë Ó Briain"));
        assert_eq!(member("c"), None);
        assert_eq!(
            book.group(&GroupId::new("34340").unwrap())
                .unwrap()
                .as_deref(),
            Some("Chess")
        );
        // A group id is not looked up among members.
        assert_eq!(member("34340"), None);
    }

    #[test]
    fn every_damage_to_the_names_file_is_refused() {
        let bytes = sample().encode().unwrap();
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x40;
            assert!(NameBook::from_bytes(damaged).is_err(), "byte {index}");
        }
    }
}
