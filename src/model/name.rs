//! Display names (of groups and members): the one check every name passes before it is
//! stored, wherever it was read.
//!
//! Owns: [`check_name`] and why a text is not a name ([`InvalidName`]).
//! Must not: trim or change the text (readers trim at the edge), or store names (they
//! live apart from the log, in `storage::names`).

use std::fmt;

use crate::model::limits::MAX_NAME_BYTES;

/// Why a text is not a display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidName {
    Blank,
    TooLong,
    /// A control character (C0 such as NUL, ESC or a line break, DEL, or C1): printed
    /// raw, it could clear a terminal or forge rows of a table.
    ControlCharacter,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidName::Blank => write!(f, "the name is blank"),
            InvalidName::TooLong => {
                write!(f, "the name is longer than {MAX_NAME_BYTES} bytes")
            }
            InvalidName::ControlCharacter => write!(
                f,
                "the name contains a control character (such as NUL, ESC or a line break)"
            ),
        }
    }
}

impl std::error::Error for InvalidName {}

/// Checks `text` as a name: not blank, at most [`MAX_NAME_BYTES`] bytes, no control
/// character. Names are refused, never cut or cleaned, so what is stored is what was read.
pub fn check_name(text: &str) -> Result<(), InvalidName> {
    if text.trim().is_empty() {
        return Err(InvalidName::Blank);
    }
    if text.len() > MAX_NAME_BYTES {
        return Err(InvalidName::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidName::ControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_characters_or_over_the_limit_are_refused() {
        assert_eq!(check_name("Zoë Ó Briain"), Ok(()));
        assert_eq!(check_name(&"x".repeat(MAX_NAME_BYTES)), Ok(()));
        assert_eq!(
            check_name(&"x".repeat(MAX_NAME_BYTES + 1)),
            Err(InvalidName::TooLong)
        );
        for bad in [
            "a\0b",
            "a\u{1b}[2Jb",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{9b}b",
        ] {
            assert_eq!(
                check_name(bad),
                Err(InvalidName::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(check_name("  "), Err(InvalidName::Blank));
    }
}
