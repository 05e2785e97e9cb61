//! The derived-state file (`muster.derived`): every group's and every member's state in one
//! file of muster's own beside sled's, so that a query reads the header, one directory and
//! one block, without opening the storage engine.
//!
//! Owns: the file's layout (header, blocks, two directories; `docs/format.md` gives every
//! byte), reading states from it, and writing the next version of it: blocks of states a
//! commit did not touch are copied as raw bytes, only touched states are encoded.
//! Must not: decide what a state holds (that is `projection`), or be the truth: the file
//! is replaced whole after each commit and can always be rebuilt from the log.
//!
//! **Invariant (tagged):** the header names the last commit the file reflects (its number
//! and hash). A reader that finds a tag other than the log's head does not answer from the
//! file: the ledger catches the file up (or rebuilds it) first.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::log::hash::Hash;
use crate::log::seal::{unseal, Magic};
use crate::model::MAX_DIRECTORY_ENTRIES;
use crate::model::{GroupId, MemberId, MAX_ID_BYTES};
use crate::projection::{GroupNesting, GroupState, MemberState, Projection};
use crate::storage::block;
use crate::storage::store::{ReadAt, SideFile, Store};

mod write;

pub use write::{register, write, write_fold, write_whole, EncodedBlocks};

/// The four bytes that open the file.
pub const DERIVED_MAGIC: [u8; 4] = *b"MUSD";
/// The layout version written and read.
pub const DERIVED_VERSION: u16 = 2;
/// The fixed header's length; blocks start right after it.
pub const HEADER_BYTES: u64 = 96;
/// Bytes of one entry of the imports register: a fingerprint and a commit number.
const IMPORT_ENTRY_BYTES: usize = 40;
/// Most bytes copied from the previous file in one read while writing the next.
const MAX_COPY_BYTES: u64 = 8 << 20;

/// The file's header: which commit it reflects, and where its directories are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The last commit the file reflects.
    pub applied_through: u64,
    /// That commit's hash.
    pub hash: Hash,
    groups: (u64, u32),
    members: (u64, u32),
    imports: (u64, u32),
}

impl Header {
    fn encode(&self) -> [u8; HEADER_BYTES as usize] {
        let mut bytes = [0u8; HEADER_BYTES as usize];
        bytes[0..4].copy_from_slice(&DERIVED_MAGIC);
        bytes[4..6].copy_from_slice(&DERIVED_VERSION.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.applied_through.to_be_bytes());
        bytes[16..48].copy_from_slice(&self.hash);
        bytes[48..56].copy_from_slice(&self.groups.0.to_be_bytes());
        bytes[56..60].copy_from_slice(&self.groups.1.to_be_bytes());
        bytes[60..68].copy_from_slice(&self.members.0.to_be_bytes());
        bytes[68..72].copy_from_slice(&self.members.1.to_be_bytes());
        bytes[72..80].copy_from_slice(&self.imports.0.to_be_bytes());
        bytes[80..84].copy_from_slice(&self.imports.1.to_be_bytes());
        let crc = crc32fast::hash(&bytes[0..84]);
        bytes[84..88].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8; HEADER_BYTES as usize], length: u64, place: &str) -> Result<Header> {
        let damaged = |what: &str| Error::corrupt(format!("{place}: {what}"));
        let u32_at = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u64_at = |at: usize| {
            let mut array = [0u8; 8];
            array.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(array)
        };
        if u32_at(84) != crc32fast::hash(&bytes[0..84]) {
            return Err(damaged("the header's checksum does not match"));
        }
        if bytes[0..4] != DERIVED_MAGIC {
            return Err(damaged("not a derived-state file"));
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        if version != DERIVED_VERSION {
            return Err(damaged(&format!(
                "layout version {version}; this muster reads version {DERIVED_VERSION}"
            )));
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[16..48]);
        let header = Header {
            applied_through: u64_at(8),
            hash,
            groups: (u64_at(48), u32_at(56)),
            members: (u64_at(60), u32_at(68)),
            imports: (u64_at(72), u32_at(80)),
        };
        for (offset, size) in [header.groups, header.members, header.imports] {
            let end = offset.checked_add(u64::from(size));
            if offset < HEADER_BYTES || end.is_none_or(|end| end > length) {
                return Err(damaged("a directory lies outside the file"));
            }
        }
        Ok(header)
    }
}

/// One directory: ids, sorted, each with where its block lies.
#[derive(Debug)]
struct Directory {
    body: Vec<u8>,
    entries: Vec<DirectoryEntry>,
}

#[derive(Clone, Debug)]
struct DirectoryEntry {
    id: Range<usize>,
    offset: u64,
    length: u32,
}

impl Directory {
    /// Parses a directory body: count (`u32`), then per entry the id's length (`u8`), the
    /// id (UTF-8), the block's offset (`u64`) and length (`u32`). Ids strictly ascending;
    /// blocks inside the file.
    fn parse(body: Vec<u8>, file_length: u64, place: &str) -> Result<Directory> {
        let damaged = |what: &str| Error::corrupt(format!("{place}: {what}"));
        let mut at = 0usize;
        let mut take = |count: usize| -> Result<Range<usize>> {
            let range = at..at
                .checked_add(count)
                .filter(|end| *end <= body.len())
                .ok_or_else(|| damaged("a directory ends early"))?;
            at = range.end;
            Ok(range)
        };
        let count_range = take(4)?;
        let count = u32::from_be_bytes(body[count_range].try_into().expect("4 bytes taken"));
        let count = count as usize;
        if count > MAX_DIRECTORY_ENTRIES {
            return Err(damaged("a directory claims too many entries"));
        }
        let mut entries = Vec::with_capacity(count.min(body.len() / 13));
        for _ in 0..count {
            let length_range = take(1)?;
            let id_length = body[length_range.start] as usize;
            if id_length == 0 || id_length > MAX_ID_BYTES {
                return Err(damaged("a directory id has a bad length"));
            }
            let id = take(id_length)?;
            let offset_range = take(8)?;
            let length_range = take(4)?;
            // Taken ranges have exactly the lengths converted here.
            let offset = u64::from_be_bytes(body[offset_range].try_into().expect("8 bytes"));
            let length = u32::from_be_bytes(body[length_range].try_into().expect("4 bytes"));
            let end = offset.checked_add(u64::from(length));
            if offset < HEADER_BYTES || end.is_none_or(|end| end > file_length) {
                return Err(damaged("a block lies outside the file"));
            }
            entries.push(DirectoryEntry { id, offset, length });
        }
        if at != body.len() {
            return Err(damaged("a directory has trailing bytes"));
        }
        let directory = Directory { body, entries };
        for entry in &directory.entries {
            if std::str::from_utf8(&directory.body[entry.id.clone()]).is_err() {
                return Err(damaged("a directory id is not UTF-8"));
            }
        }
        let ascending = directory
            .entries
            .windows(2)
            .all(|pair| directory.id_bytes(&pair[0]) < directory.id_bytes(&pair[1]));
        if !ascending {
            return Err(damaged("directory ids are not in order"));
        }
        Ok(directory)
    }

    fn id_bytes(&self, entry: &DirectoryEntry) -> &[u8] {
        &self.body[entry.id.clone()]
    }

    fn id(&self, entry: &DirectoryEntry) -> &str {
        // `parse` checked that every id is UTF-8.
        std::str::from_utf8(self.id_bytes(entry)).expect("checked when parsed")
    }

    fn find(&self, id: &str) -> Option<&DirectoryEntry> {
        self.entries
            .binary_search_by(|entry| self.id_bytes(entry).cmp(id.as_bytes()))
            .ok()
            .map(|index| &self.entries[index])
    }
}

/// Which directory of the file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Groups,
    Members,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Groups => "group",
            Side::Members => "member",
        }
    }
}

/// An open derived-state file. Directories are read the first time they are needed (a
/// `members` query never reads the member directory).
pub struct DerivedFile {
    file: Box<dyn ReadAt>,
    header: Header,
    groups: Mutex<Option<Arc<Directory>>>,
    members: Mutex<Option<Arc<Directory>>>,
    imports: Mutex<Option<Arc<ImportRegister>>>,
}

impl std::fmt::Debug for DerivedFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DerivedFile")
            .field("file", &self.file.describe())
            .field("header", &self.header)
            .finish()
    }
}

impl DerivedFile {
    /// Opens the store's derived-state file and checks its header; `None` when there is
    /// none (a new ledger, or one made by a muster that kept derived state in sled).
    pub fn open(store: &dyn Store) -> Result<Option<DerivedFile>> {
        match store.open_file(SideFile::Derived)? {
            None => Ok(None),
            Some(file) => DerivedFile::from_reader(file).map(Some),
        }
    }

    /// Reads and checks the header of an open file.
    pub fn from_reader(file: Box<dyn ReadAt>) -> Result<DerivedFile> {
        let place = file.describe();
        if file.length() < HEADER_BYTES {
            return Err(Error::corrupt(format!("{place}: shorter than its header")));
        }
        let mut bytes = [0u8; HEADER_BYTES as usize];
        file.read_exact_at(0, &mut bytes)?;
        let header = Header::decode(&bytes, file.length(), &place)?;
        Ok(DerivedFile {
            file,
            header,
            groups: Mutex::new(None),
            members: Mutex::new(None),
            imports: Mutex::new(None),
        })
    }

    /// The imports register: every fingerprint of an input the log recorded, with the
    /// first commit that recorded it; sorted by fingerprint.
    fn imports(&self) -> Result<Arc<Vec<(Hash, u64)>>> {
        // A poisoned lock means a panic elsewhere; the slot itself is still whole.
        let mut slot = self.imports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(imports) = slot.as_ref() {
            return Ok(imports.clone());
        }
        let place = format!("{}, imports register", self.file.describe());
        let (offset, length) = self.header.imports;
        let mut sealed = vec![0u8; length as usize];
        self.file.read_exact_at(offset, &mut sealed)?;
        let damaged = |what: &str| Error::corrupt(format!("{place}: {what}"));
        let body = unseal(Magic::Imports, &sealed).map_err(|e| damaged(e.detail()))?;
        let (count, entries) = body
            .split_first_chunk::<4>()
            .ok_or_else(|| damaged("it ends early"))?;
        let count = u32::from_be_bytes(*count) as usize;
        if entries.len() != count.saturating_mul(IMPORT_ENTRY_BYTES) {
            return Err(damaged("its length does not match its count"));
        }
        let imports: Vec<(Hash, u64)> = entries
            .chunks_exact(IMPORT_ENTRY_BYTES)
            .map(|entry| {
                let (fingerprint, seq) = entry.split_at(32);
                // `chunks_exact` gives 40 bytes: 32 and 8.
                let fingerprint: Hash = fingerprint.try_into().expect("32 bytes");
                let seq = u64::from_be_bytes(seq.try_into().expect("8 bytes"));
                (fingerprint, seq)
            })
            .collect();
        if !imports.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Err(damaged("its fingerprints are not in order"));
        }
        let imports = Arc::new(imports);
        *slot = Some(imports.clone());
        Ok(imports)
    }

    /// The whole imports register (for `verify`).
    pub fn import_register(&self) -> Result<Vec<(Hash, u64)>> {
        Ok(self.imports()?.as_ref().clone())
    }

    /// The first commit that recorded input with this fingerprint, if any.
    pub fn recorded(&self, fingerprint: &Hash) -> Result<Option<u64>> {
        let imports = self.imports()?;
        Ok(imports
            .binary_search_by(|(known, _)| known.cmp(fingerprint))
            .ok()
            .map(|index| imports[index].1))
    }

    /// A damaged block's error, naming the file and the way back.
    fn damaged(&self, error: Error) -> Error {
        Error::corrupt(format!(
            "{}: {}; this is derived state: `muster rebuild` restores it from the log",
            self.file.describe(),
            error.detail()
        ))
    }

    pub fn header(&self) -> Header {
        self.header
    }

    fn directory(&self, side: Side) -> Result<Arc<Directory>> {
        let (slot, (offset, length)) = match side {
            Side::Groups => (&self.groups, self.header.groups),
            Side::Members => (&self.members, self.header.members),
        };
        // A poisoned lock means a panic elsewhere; the slot itself is still whole.
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(directory) = slot.as_ref() {
            return Ok(directory.clone());
        }
        let place = format!("{}, {} directory", self.file.describe(), side.word());
        let mut sealed = vec![0u8; length as usize];
        self.file.read_exact_at(offset, &mut sealed)?;
        let body = unseal(Magic::Directory, &sealed)
            .map_err(|e| Error::corrupt(format!("{place}: {}", e.detail())))?;
        let directory = Arc::new(Directory::parse(body.to_vec(), self.file.length(), &place)?);
        *slot = Some(directory.clone());
        Ok(directory)
    }

    fn block(&self, side: Side, id: &str) -> Result<Option<Vec<u8>>> {
        let directory = self.directory(side)?;
        let Some(entry) = directory.find(id) else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; entry.length as usize];
        self.file.read_exact_at(entry.offset, &mut bytes)?;
        Ok(Some(bytes))
    }

    /// Whether the file holds a state for `group`: its directory alone, no block read.
    pub fn holds_group(&self, group: &GroupId) -> Result<bool> {
        Ok(self.directory(Side::Groups)?.find(group.as_str()).is_some())
    }

    /// The stored state of `group`, checked; `None` for a group the file does not hold.
    pub fn group(&self, group: &GroupId) -> Result<Option<GroupState>> {
        let Some(bytes) = self.block(Side::Groups, group.as_str())? else {
            return Ok(None);
        };
        block::decode_group(group, &bytes)
            .map(Some)
            .map_err(|error| self.damaged(error))
    }

    /// What `group` says on `on` as of commit `as_of` (see [`block::decode_group_on`]);
    /// `None` for a group the file does not hold.
    pub fn group_on(
        &self,
        group: &GroupId,
        on: crate::model::Date,
        as_of: Option<u64>,
    ) -> Result<Option<crate::projection::GroupOnDate>> {
        let Some(bytes) = self.block(Side::Groups, group.as_str())? else {
            return Ok(None);
        };
        block::decode_group_on(group, &bytes, on, as_of)
            .map(Some)
            .map_err(|error| self.damaged(error))
    }

    /// The nesting timelines of `group` alone (see [`block::decode_group_nesting`]);
    /// `None` for a group the file does not hold.
    pub fn group_nesting(&self, group: &GroupId) -> Result<Option<GroupNesting>> {
        let Some(bytes) = self.block(Side::Groups, group.as_str())? else {
            return Ok(None);
        };
        block::decode_group_nesting(group, &bytes)
            .map(Some)
            .map_err(|error| self.damaged(error))
    }

    /// The stored state of `member`, checked; `None` for a member the file does not hold.
    pub fn member(&self, member: &MemberId) -> Result<Option<MemberState>> {
        let Some(bytes) = self.block(Side::Members, member.as_str())? else {
            return Ok(None);
        };
        block::decode_member(member, &bytes)
            .map(Some)
            .map_err(|error| self.damaged(error))
    }

    /// Every group the file holds, sorted.
    pub fn group_ids(&self) -> Result<Vec<GroupId>> {
        let directory = self.directory(Side::Groups)?;
        directory
            .entries
            .iter()
            .map(|entry| {
                GroupId::new(directory.id(entry))
                    .map_err(|_| Error::corrupt("a stored group id is not a valid id"))
            })
            .collect()
    }

    /// Every member the file holds, sorted.
    pub fn member_ids(&self) -> Result<Vec<MemberId>> {
        let directory = self.directory(Side::Members)?;
        directory
            .entries
            .iter()
            .map(|entry| {
                MemberId::new(directory.id(entry))
                    .map_err(|_| Error::corrupt("a stored member id is not a valid id"))
            })
            .collect()
    }

    /// Takes into `working` the stored states of the groups and members `commit` touches
    /// that it does not hold yet, so that [`Projection::apply`] can then run without I/O.
    pub fn hold_touched(&self, working: &mut Projection, commit: &Commit) -> Result<()> {
        let (groups, members) = working.missing(commit);
        for group in groups {
            if let Some(state) = self.group(&group)? {
                working.hold_group(group, state);
            }
        }
        for member in members {
            if let Some(state) = self.member(&member)? {
                working.hold_member(member, state);
            }
        }
        Ok(())
    }

    /// Every state in the file, checked (for `verify`).
    pub fn load_all(&self) -> Result<Projection> {
        let mut projection = Projection::default();
        for group in self.group_ids()? {
            let state = self.group(&group)?.ok_or_else(|| {
                Error::corrupt(format!("group {group} is listed but cannot be found"))
            })?;
            projection.groups.insert(group, state);
        }
        for member in self.member_ids()? {
            let state = self.member(&member)?.ok_or_else(|| {
                Error::corrupt(format!("member {member} is listed but cannot be found"))
            })?;
            projection.members.insert(member, state);
        }
        Ok(projection)
    }
}

/// Fingerprints of imported inputs, sorted, each with the first commit that recorded it.
pub type ImportRegister = Vec<(Hash, u64)>;
