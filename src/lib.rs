//! muster: a membership ledger. Dated join/leave facts in an append-only log; membership
//! for any date, history, and what the ledger believed at any earlier commit.
//!
//! The folders are the layers, in the order data flows; each uses only those below it:
//!
//! - [`import`]: readers that turn input files into statements; never touch the ledger.
//! - [`plan`]: pure decisions: which facts make the statements hold.
//! - [`log`]: commits and their bytes, the sealed envelope, the portable format.
//! - [`projection`]: the pure fold of commits into per-group and per-member timelines.
//! - [`storage`]: everything that touches disk.
//! - [`ledger`]: the facade: open, import, append, verify, rebuild.
//! - [`query`]: answers: members, groups, history, changes, corrections, as-of, spans.
//! - [`sync`]: keeping an outside database (PostgreSQL) equal to the ledger, exactly once.
//!
//! [`model`] (the vocabulary and every limit) and [`error`] sit under all of them.
//! See ARCHITECTURE.md for the bird's-eye view and docs/format.md for the bytes on disk.

pub mod error;
pub mod import;
pub mod ledger;
pub mod log;
pub mod model;
pub mod plan;
pub mod progress;
pub mod projection;
pub mod query;
pub mod storage;
pub mod sync;

#[doc(hidden)]
pub mod testing;

pub use error::{Error, ErrorKind, Place, Result};
pub use ledger::{ImportOutcome, Ledger, OpenOptions, Verdict};
pub use model::{
    Batch, Change, Date, Fact, GroupId, MemberId, NestingFact, Observation, ObservationKind, Span,
};
pub use query::audit::{AsOf, Scope};
