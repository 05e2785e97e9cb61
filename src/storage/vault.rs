//! The vault (`muster.vault`): the personal values the log records only as salted
//! digests, each with its salt and the commit that recorded it.
//!
//! Owns: the vault's bytes (one sealed value, `docs/format.md`), reading and checking it,
//! replacing it whole and durably, finding a subject's live value as of a commit, and
//! fresh salts.
//! Must not: decide which values are live or erased (the ledger reads that from the log
//! and hands the vault its entries), or keep a value anywhere but in this one file: never
//! in the storage engine, whose old segments keep old bytes after an erasure.

use std::io::Read;

use crate::error::{Error, ErrorKind, Result};
use crate::log::hash::Hash;
use crate::log::personal::{Field, PersonalValue, Salt, Subject, SALT_BYTES};
use crate::log::seal::{seal, unseal, Magic};
use crate::model::{MemberId, MAX_ID_BYTES, MAX_NAME_BYTES, MAX_VAULT_ENTRIES};
use crate::storage::store::{SideFile, Store};

/// An entry's state byte: the value is held.
const HELD: u8 = 1;
/// An entry's state byte: the value was lost (the vault was damaged or deleted) and
/// `rebuild` recorded that it cannot be recovered from the log; its value is empty.
const LOST: u8 = 2;

/// One value the vault holds, or knows it lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultEntry {
    pub subject: Subject,
    pub field: Field,
    /// The commit that recorded the value's digest.
    pub seq: u64,
    pub salt: Salt,
    /// `None` when the value was lost.
    pub value: Option<String>,
}

impl VaultEntry {
    /// The value and salt, as a backup carries them; `None` when lost.
    pub fn personal_value(&self) -> Option<PersonalValue> {
        Some(PersonalValue {
            subject: self.subject.clone(),
            field: self.field,
            salt: self.salt,
            value: self.value.clone()?,
        })
    }

    fn key(&self) -> (&Subject, Field, u64) {
        (&self.subject, self.field, self.seq)
    }
}

/// The whole vault: the commit it is finished through (every erasure up to it applied,
/// every superseded value dropped), and its entries sorted by (subject, field, commit).
/// Entries of commits after the tag are values of a commit in flight: live once that
/// commit is in the log, dropped on the next open if it never arrived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vault {
    pub through_seq: u64,
    pub through_hash: Hash,
    pub entries: Vec<VaultEntry>,
    /// Every member the log erased up to the tag, sorted: later imports skip their values.
    /// Ids are pseudonymous and stay in the log anyway; kept here so that an import need
    /// not read the whole log to learn them.
    pub erased: Vec<MemberId>,
}

impl Vault {
    /// The vault of `store`; `None` when there is none.
    pub fn load(store: &dyn Store) -> Result<Option<Vault>> {
        let Some(file) = store.open_file(SideFile::Vault)? else {
            return Ok(None);
        };
        let place = file.describe();
        let length = usize::try_from(file.length())
            .map_err(|_| Error::corrupt(format!("{place}: too large")))?;
        let mut bytes = vec![0u8; length];
        file.read_exact_at(0, &mut bytes)?;
        Vault::decode(&bytes)
            .map(Some)
            .map_err(|e| Error::corrupt(format!("{place}: {}", e.detail())))
    }

    /// Replaces the vault with this one, durably: a value is durable before the commit
    /// that records its digest, and an erasure is finished before `forget` returns.
    pub fn save(&self, store: &dyn Store) -> Result<()> {
        let bytes = self.encode()?;
        store.replace_file(SideFile::Vault, true, &mut |out| {
            out.write_all(&bytes)
                .map_err(|error| Error::new(ErrorKind::Io, format!("writing the vault: {error}")))
        })
    }

    /// Sorts the entries and drops exact repeats of (subject, field, commit), keeping the
    /// last given.
    pub fn normalize(&mut self) {
        self.entries.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut kept: Vec<VaultEntry> = Vec::with_capacity(self.entries.len());
        for entry in self.entries.drain(..) {
            match kept.last_mut() {
                Some(last) if last.key() == entry.key() => *last = entry,
                _ => kept.push(entry),
            }
        }
        self.entries = kept;
    }

    /// The entry that is live for (`subject`, `field`) when the log ends at `head`: the
    /// one of the latest commit at or before `head`.
    pub fn live(&self, subject: &Subject, field: Field, head: u64) -> Option<&VaultEntry> {
        let start = self
            .entries
            .partition_point(|entry| (&entry.subject, entry.field) < (subject, field));
        self.entries[start..]
            .iter()
            .take_while(|entry| &entry.subject == subject && entry.field == field)
            .filter(|entry| entry.seq <= head)
            .last()
    }

    /// The sealed file: the commit it is finished through (`u64`, hash), the entry count
    /// (`u32`), then each entry: subject kind `u8`, id length `u8`, id, field `u8`, commit
    /// `u64`, salt (16 bytes), state `u8` (1 held, 2 lost), value length `u16`, value;
    /// then the erased members' count (`u32`) and each: id length `u8`, id.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.entries.len() > MAX_VAULT_ENTRIES || self.erased.len() > MAX_VAULT_ENTRIES {
            return Err(Error::new(ErrorKind::Limit, "too many personal values"));
        }
        let mut body = Vec::new();
        body.extend_from_slice(&self.through_seq.to_be_bytes());
        body.extend_from_slice(&self.through_hash);
        // At most MAX_VAULT_ENTRIES, which fits a u32 (asserted in limits).
        body.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        let mut previous: Option<&VaultEntry> = None;
        for entry in &self.entries {
            if previous.is_some_and(|previous| previous.key() >= entry.key()) {
                return Err(Error::corrupt("vault entries not sorted, or one repeats"));
            }
            previous = Some(entry);
            let value = entry.value.as_deref().unwrap_or("");
            if value.len() > MAX_NAME_BYTES || (entry.value.is_some() && value.is_empty()) {
                return Err(Error::corrupt("a vault value is blank or too long"));
            }
            body.push(entry.subject.kind_byte());
            // Ids are at most MAX_ID_BYTES (64) bytes, values at most MAX_NAME_BYTES (512).
            body.push(entry.subject.id().len() as u8);
            body.extend_from_slice(entry.subject.id().as_bytes());
            body.push(entry.field.byte());
            body.extend_from_slice(&entry.seq.to_be_bytes());
            body.extend_from_slice(&entry.salt);
            body.push(if entry.value.is_some() { HELD } else { LOST });
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value.as_bytes());
        }
        if !self.erased.windows(2).all(|w| w[0] < w[1]) {
            return Err(Error::corrupt(
                "vault: erased members not sorted, or one repeats",
            ));
        }
        // At most MAX_VAULT_ENTRIES (checked above), which fits a u32.
        body.extend_from_slice(&(self.erased.len() as u32).to_be_bytes());
        for member in &self.erased {
            body.push(member.as_str().len() as u8);
            body.extend_from_slice(member.as_str().as_bytes());
        }
        seal(Magic::Vault, &body)
    }

    pub fn decode(bytes: &[u8]) -> Result<Vault> {
        let body = unseal(Magic::Vault, bytes)?;
        let mut input = body;
        let mut take = |length: usize| -> Result<&[u8]> {
            let (taken, rest) = input
                .split_at_checked(length)
                .ok_or_else(|| Error::corrupt("vault: it ends early"))?;
            input = rest;
            Ok(taken)
        };
        let be_u64 = |bytes: &[u8]| {
            let mut array = [0u8; 8];
            array.copy_from_slice(bytes);
            u64::from_be_bytes(array)
        };
        let through_seq = be_u64(take(8)?);
        let mut through_hash = [0u8; 32];
        through_hash.copy_from_slice(take(32)?);
        let count = take(4)?;
        let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
        if count > MAX_VAULT_ENTRIES {
            return Err(Error::corrupt("vault: it claims too many entries"));
        }
        let mut entries: Vec<VaultEntry> = Vec::new();
        for _ in 0..count {
            let [kind, id_length] = take(2)? else {
                return Err(Error::corrupt("vault: it ends early"));
            };
            let (kind, id_length) = (*kind, *id_length as usize);
            if id_length == 0 || id_length > MAX_ID_BYTES {
                return Err(Error::corrupt("vault: an id's length is not valid"));
            }
            let id = std::str::from_utf8(take(id_length)?)
                .map_err(|_| Error::corrupt("vault: an id is not UTF-8"))?;
            let subject = Subject::from_parts(kind, id)
                .ok_or_else(|| Error::corrupt("vault: a subject is not valid"))?;
            let field = Field::from_byte(take(1)?[0])
                .ok_or_else(|| Error::corrupt("vault: a field is unknown"))?;
            let seq = be_u64(take(8)?);
            let mut salt = [0u8; SALT_BYTES];
            salt.copy_from_slice(take(SALT_BYTES)?);
            let state = take(1)?[0];
            let length = take(2)?;
            let length = u16::from_be_bytes([length[0], length[1]]) as usize;
            let value = std::str::from_utf8(take(length)?)
                .map_err(|_| Error::corrupt("vault: a value is not UTF-8"))?;
            let value = match state {
                HELD if !value.is_empty() && value.len() <= MAX_NAME_BYTES => {
                    Some(value.to_string())
                }
                LOST if value.is_empty() => None,
                _ => {
                    return Err(Error::corrupt(
                        "vault: an entry's state or value is not valid",
                    ))
                }
            };
            let entry = VaultEntry {
                subject,
                field,
                seq,
                salt,
                value,
            };
            if entries.last().is_some_and(|last| last.key() >= entry.key()) {
                return Err(Error::corrupt(
                    "vault: entries are not sorted, or one repeats",
                ));
            }
            entries.push(entry);
        }
        let count = take(4)?;
        let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
        if count > MAX_VAULT_ENTRIES {
            return Err(Error::corrupt("vault: it claims too many erased members"));
        }
        let mut erased: Vec<MemberId> = Vec::new();
        for _ in 0..count {
            let length = take(1)?[0] as usize;
            let id = std::str::from_utf8(take(length)?)
                .ok()
                .and_then(|id| MemberId::new(id).ok())
                .ok_or_else(|| Error::corrupt("vault: an erased member's id is not valid"))?;
            if erased.last().is_some_and(|last| *last >= id) {
                return Err(Error::corrupt("vault: erased members are not sorted"));
            }
            erased.push(id);
        }
        if !input.is_empty() {
            return Err(Error::corrupt("vault: it has trailing bytes"));
        }
        Ok(Vault {
            through_seq,
            through_hash,
            entries,
            erased,
        })
    }
}

/// A fresh random salt, from the operating system.
pub fn fresh_salt() -> Result<Salt> {
    Salts::default().fresh()
}

/// Fresh random salts from the operating system, read in blocks: an import of a school's
/// names needs thousands, and opening `/dev/urandom` for each was a few percent of a
/// large import. Opened on the first salt asked for.
#[derive(Default)]
pub struct Salts {
    random: Option<std::io::BufReader<std::fs::File>>,
}

impl Salts {
    pub fn fresh(&mut self) -> Result<Salt> {
        let failed = |error: std::io::Error| {
            Error::new(
                ErrorKind::Io,
                format!("reading random bytes for a salt from /dev/urandom: {error}"),
            )
        };
        let random = match &mut self.random {
            Some(random) => random,
            None => self.random.insert(std::io::BufReader::new(
                std::fs::File::open("/dev/urandom").map_err(failed)?,
            )),
        };
        let mut salt = [0u8; SALT_BYTES];
        random.read_exact(&mut salt).map_err(failed)?;
        Ok(salt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GroupId;

    fn sample() -> Vault {
        let mut vault = Vault {
            through_seq: 4,
            through_hash: [9; 32],
            entries: vec![
                VaultEntry {
                    subject: Subject::Group(GroupId::new("34340").unwrap()),
                    field: Field::Name,
                    seq: 2,
                    salt: [1; SALT_BYTES],
                    value: Some("Chess".into()),
                },
                VaultEntry {
                    subject: Subject::Member(MemberId::new("a").unwrap()),
                    field: Field::Name,
                    seq: 3,
                    salt: [2; SALT_BYTES],
                    value: Some("Zoë Ó Briain".into()),
                },
                VaultEntry {
                    subject: Subject::Member(MemberId::new("a").unwrap()),
                    field: Field::Name,
                    seq: 5,
                    salt: [3; SALT_BYTES],
                    value: None,
                },
            ],
            erased: vec![MemberId::new("x").unwrap()],
        };
        vault.normalize();
        vault
    }

    /// The bytes built by hand from the rules in docs/format.md.
    #[test]
    fn the_vault_follows_docs_format_md() {
        let mut body = Vec::new();
        body.extend_from_slice(&4u64.to_be_bytes());
        body.extend_from_slice(&[9; 32]);
        body.extend_from_slice(&3u32.to_be_bytes());
        let mut entry = |kind: u8, id: &str, seq: u64, salt: u8, state: u8, value: &str| {
            body.push(kind);
            body.push(id.len() as u8);
            body.extend_from_slice(id.as_bytes());
            body.push(1); // field: name
            body.extend_from_slice(&seq.to_be_bytes());
            body.extend_from_slice(&[salt; 16]);
            body.push(state);
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value.as_bytes());
        };
        // Members (kind 1) sort before groups (kind 2).
        entry(1, "a", 3, 2, 1, "Zoë Ó Briain");
        entry(1, "a", 5, 3, 2, "");
        entry(2, "34340", 2, 1, 1, "Chess");
        body.extend_from_slice(&1u32.to_be_bytes()); // erased members
        body.push(1);
        body.push(b'x');
        let mut expected = b"MUSV".to_vec();
        expected.extend_from_slice(&1u16.to_be_bytes());
        expected.extend_from_slice(&(body.len() as u32).to_be_bytes());
        expected.extend_from_slice(&body);
        let checksum = crc32fast::hash(&expected);
        expected.extend_from_slice(&checksum.to_be_bytes());
        assert_eq!(sample().encode().unwrap(), expected);
        assert_eq!(Vault::decode(&expected).unwrap(), sample());
    }

    #[test]
    fn the_live_value_is_the_latest_at_or_before_the_head() {
        let vault = sample();
        let a = Subject::Member(MemberId::new("a").unwrap());
        assert_eq!(vault.live(&a, Field::Name, 2), None);
        assert_eq!(
            vault
                .live(&a, Field::Name, 4)
                .and_then(|e| e.value.as_deref()),
            Some("Zoë Ó Briain")
        );
        assert_eq!(vault.live(&a, Field::Name, 5).map(|e| e.seq), Some(5));
    }

    #[test]
    fn every_damage_to_the_vault_is_refused() {
        let bytes = sample().encode().unwrap();
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x40;
            assert!(Vault::decode(&damaged).is_err(), "byte {index}");
        }
        for length in 0..bytes.len() {
            assert!(Vault::decode(&bytes[..length]).is_err(), "{length} bytes");
        }
    }

    #[test]
    fn salts_differ() {
        assert_ne!(fresh_salt().unwrap(), fresh_salt().unwrap());
        // Read in blocks: every salt of one source is new, past the first block too.
        let mut salts = Salts::default();
        let many: Vec<Salt> = (0..600).map(|_| salts.fresh().unwrap()).collect();
        let distinct: std::collections::BTreeSet<&Salt> = many.iter().collect();
        assert_eq!(distinct.len(), many.len());
    }
}
