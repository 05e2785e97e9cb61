//! Identifiers: [`GroupId`] and [`MemberId`], validated text (1 to `MAX_ID_BYTES` bytes,
//! no control characters), shared cheaply.
//!
//! Owns: the id types and why a text is not one ([`InvalidId`]).
//! Must not: trim or otherwise change the text it is given (callers trim at the edge).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::limits::MAX_ID_BYTES;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidId {
    Empty,
    TooLong,
    ControlCharacter,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidId::Empty => write!(f, "the id is blank"),
            InvalidId::TooLong => write!(f, "the id is longer than {MAX_ID_BYTES} bytes"),
            InvalidId::ControlCharacter => write!(f, "the id contains a control character"),
        }
    }
}

fn validate_id(text: &str) -> Result<(), InvalidId> {
    if text.is_empty() {
        return Err(InvalidId::Empty);
    }
    if text.len() > MAX_ID_BYTES {
        return Err(InvalidId::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidId::ControlCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Shared text: clones are a reference-count increment, which matters because ids
        /// are copied into every timeline, commit and answer.
        #[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(Arc<str>);

        /// Text order. Two clones of one id are equal without reading their text: planning
        /// compares an export's ids with the states it built from them.
        impl Ord for $name {
            fn cmp(&self, other: &$name) -> std::cmp::Ordering {
                if Arc::ptr_eq(&self.0, &other.0) {
                    std::cmp::Ordering::Equal
                } else {
                    self.0.cmp(&other.0)
                }
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &$name) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// Validates `text` as it is: callers trim padding at the edge first.
            pub fn new(text: &str) -> Result<$name, InvalidId> {
                validate_id(text)?;
                Ok($name(Arc::from(text)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, shared: for answers that show an id many times.
            pub fn shared_text(&self) -> Arc<str> {
                self.0.clone()
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(text: String) -> Result<$name, InvalidId> {
                validate_id(&text)?;
                Ok($name(Arc::from(text)))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        /// Serialized exactly as a `String` would be.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

impl std::error::Error for InvalidId {}

id_type!(
    /// A group's identity: an activity, a class, a chamber. Opaque text.
    GroupId
);
id_type!(
    /// A member's identity: a pupil number, a staff code. Pseudonymous: names live apart.
    MemberId
);
