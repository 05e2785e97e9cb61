//! The ledger's vocabulary: validated identifiers, calendar dates, changes, facts, and
//! the named limits that bound them.
//!
//! Owns: [`GroupId`], [`MemberId`], the name check ([`check_name`]), [`Date`], [`Change`], [`Fact`], [`Observation`], and
//! every limit constant. Values are validated when they are made; inner code takes these
//! types and never raw strings.
//! Must not: know about files, storage or output.

mod date;
mod fact;
mod id;
pub mod limits;
mod name;

pub use date::{Date, InvalidDate};
pub use fact::{
    Batch, Change, Fact, InclusiveSpan, NestingFact, Observation, ObservationKind, Span,
};
pub use id::{GroupId, InvalidId, MemberId};
pub use limits::*;
pub use name::{check_name, InvalidName};
