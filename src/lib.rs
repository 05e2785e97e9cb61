//! muster: a membership ledger. Dated join/leave facts in an append-only log; membership
//! for any date, history, and what the ledger believed at any earlier commit.
//!
//! See ARCHITECTURE.md for the bird's-eye view and docs/format.md for the bytes on disk.

pub mod audit;
pub mod block;
pub mod chart;
pub mod commit;
pub mod demo;
pub mod derived;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod ledger;
pub mod model;
pub mod names;
pub mod plan;
pub mod portable;
pub mod progress;
pub mod projection;
pub mod render;
pub mod sb;
pub mod spans;
pub mod store;
pub mod stored_names;
pub mod timeline;

pub use audit::{AsOf, Scope};
pub use error::{Error, ErrorKind, Place, Result};
pub use ledger::{ImportOutcome, Ledger, OpenOptions, Verdict};
pub use model::{Change, Date, Fact, GroupId, MemberId, Observation, ObservationKind, Span};
pub use plan::Batch;
