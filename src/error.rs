//! The library's one error type.
//!
//! Owns: [`Error`], its [`ErrorKind`], and the [`Place`] an input error points at.
//! Must not: carry expected refusals ("nothing to record", "unknown group" is an error,
//! but an import that changes nothing is a value of the import outcome, not an error).

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, coarsely: the binary maps each kind to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a file, a row, a field, an argument. Nothing was written.
    Input,
    /// The operating system refused a read or a write.
    Io,
    /// The ledger's stored bytes are damaged or inconsistent: a checksum, the hash chain,
    /// a format version, or the derived state disagrees with the log.
    Corrupt,
    /// Another process holds the ledger.
    Locked,
    /// A group or member the ledger has never seen.
    NotFound,
    /// A named limit was exceeded.
    Limit,
    /// The storage engine failed in a way that is not plain I/O.
    Storage,
    /// A command that needs an existing ledger was given a path that holds none (a typo
    /// in `--db`): nothing was created there.
    NoLedger,
    /// An outside database (`muster sync`) could not be reached, or refused a statement.
    Database,
    /// An outside database follows another history than the ledger (`muster sync`): it
    /// holds a commit the ledger does not have, or rows the ledger never had. Nothing was
    /// changed.
    Diverged,
}

/// The file argument that means standard input (and, for an output file, standard
/// output), as in most command-line tools. A file really called `-` is `./-`.
pub const STANDARD_STREAM_ARGUMENT: &str = "-";

/// How errors and commits name standard input: a name no file argument produces.
pub const STANDARD_INPUT_NAME: &str = "<stdin>";

/// Whether `path` is the argument [`STANDARD_STREAM_ARGUMENT`].
pub fn is_standard_stream(path: &Path) -> bool {
    path.as_os_str() == STANDARD_STREAM_ARGUMENT
}

/// How a message names an input path: `<stdin>` for `-`, otherwise the path as given.
pub fn input_name(path: &Path) -> String {
    if is_standard_stream(path) {
        STANDARD_INPUT_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

/// Where in an input file an error was found. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<(usize, String)>,
}

impl Place {
    /// The file at `path`; `-` is standard input, named `<stdin>`.
    pub fn file(path: &Path) -> Place {
        Place {
            file: input_name(path),
            line: None,
            column: None,
        }
    }

    pub fn line(mut self, line: u64) -> Place {
        self.line = Some(line);
        self
    }

    /// `number` is 1-based; `name` is the column's header name.
    pub fn column(mut self, number: usize, name: &str) -> Place {
        self.column = Some((number, name.to_string()));
        self
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.column) {
            (Some(line), Some((number, name))) => {
                write!(f, "line {line}, column {number} ({name}) of {}", self.file)
            }
            (Some(line), None) => write!(f, "line {line} of {}", self.file),
            (None, Some((number, name))) => {
                write!(f, "column {number} ({name}) of {}", self.file)
            }
            (None, None) => write!(f, "{}", self.file),
        }
    }
}

/// The library's error: a kind, an optional place, and one sentence of detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    place: Option<Place>,
    detail: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error {
            kind,
            place: None,
            detail: detail.into(),
        }
    }

    pub fn input(place: Place, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Input, detail).at(place)
    }

    pub fn corrupt(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Corrupt, detail)
    }

    pub fn io(path: &Path, error: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{}: {error}", path.display()))
    }

    pub fn at(mut self, place: Place) -> Error {
        self.place = Some(place);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{place}: {}", self.detail),
            None => write!(f, "{}", self.detail),
        }
    }
}

impl std::error::Error for Error {}

/// The path a ledger lives at, for messages.
pub(crate) fn ledger_path_text(path: &Path) -> String {
    PathBuf::from(path).display().to_string()
}
