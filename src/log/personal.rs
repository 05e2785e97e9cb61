//! Personal values as the log records them: a salted digest per (subject, field), never
//! the value itself, so that erasing the value (kept in the vault beside the log) leaves
//! every commit's bytes and hash as they were.
//!
//! Owns: [`Subject`], [`Field`], [`PersonalRecord`], [`Salt`] and [`value_digest`], the
//! one definition of what a record's digest covers (`docs/format.md`).
//! Must not: hold or store a value (that is `storage::vault`), or decide whose value may
//! be recorded (the ledger skips erased subjects).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::log::hash::Hash;
use crate::model::{GroupId, MemberId};

/// Bytes of the random salt each recorded value is hashed with: without it, a digest of
/// a short name could be reversed by trying every name, and erasure would not hold.
pub const SALT_BYTES: usize = 16;
/// A value's salt, kept with the value in the vault and erased with it.
pub type Salt = [u8; SALT_BYTES];

/// Whose personal value it is. Ordered member before group, then by id: the order
/// records are stored in.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Subject {
    Member(MemberId),
    Group(GroupId),
}

/// A subject kind's stored byte.
pub const MEMBER_SUBJECT: u8 = 1;
pub const GROUP_SUBJECT: u8 = 2;

impl Subject {
    pub fn kind_byte(&self) -> u8 {
        match self {
            Subject::Member(_) => MEMBER_SUBJECT,
            Subject::Group(_) => GROUP_SUBJECT,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Subject::Member(member) => member.as_str(),
            Subject::Group(group) => group.as_str(),
        }
    }

    /// The subject of kind byte `kind` with id `id`; `None` for an unknown kind or an id
    /// that is not valid.
    pub fn from_parts(kind: u8, id: &str) -> Option<Subject> {
        match kind {
            MEMBER_SUBJECT => MemberId::new(id).ok().map(Subject::Member),
            GROUP_SUBJECT => GroupId::new(id).ok().map(Subject::Group),
            _ => None,
        }
    }

    /// The kind as text (the portable log, messages).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Subject::Member(_) => "member",
            Subject::Group(_) => "group",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind_name(), self.id())
    }
}

/// Which personal value of a subject. Only names today; e-mail addresses and preferred
/// names are the next fields, each a new byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Field {
    Name,
}

/// A field's stored byte.
pub const NAME_FIELD: u8 = 1;

impl Field {
    pub fn byte(self) -> u8 {
        match self {
            Field::Name => NAME_FIELD,
        }
    }

    pub fn from_byte(byte: u8) -> Option<Field> {
        (byte == NAME_FIELD).then_some(Field::Name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
        }
    }

    pub fn from_name(text: &str) -> Option<Field> {
        (text == "name").then_some(Field::Name)
    }
}

/// One personal value a commit sets: whose, which field, and the salted digest of the
/// value (the value and salt live in the vault).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonalRecord {
    pub subject: Subject,
    pub field: Field,
    pub digest: Hash,
}

/// The digest a record carries: SHA-256 over the salt, the subject's kind byte, its id's
/// length (`u8`) and bytes, the field byte, and the value's UTF-8 bytes. Binding the
/// subject and field in means a value cannot be moved to another subject unnoticed.
pub fn value_digest(salt: &Salt, subject: &Subject, field: Field, value: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update([subject.kind_byte()]);
    // Ids are at most MAX_ID_BYTES (64) bytes, so the length fits a byte.
    hasher.update([subject.id().len() as u8]);
    hasher.update(subject.id().as_bytes());
    hasher.update([field.byte()]);
    hasher.update(value.as_bytes());
    hasher.finalize().into()
}

/// A recorded value itself, with its salt: what the vault keeps and a backup carries,
/// checked against its record's digest wherever it is read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonalValue {
    pub subject: Subject,
    pub field: Field,
    pub salt: Salt,
    pub value: String,
}

impl PersonalValue {
    pub fn digest(&self) -> Hash {
        value_digest(&self.salt, &self.subject, self.field, &self.value)
    }
}
