//! Progress of long operations (rebuild, import), reported to whoever wants to show it.
//!
//! Owns: the [`Progress`] trait and its silent implementation [`NoProgress`].
//! Must not: draw anything or know about terminals; the binary decides whether and how to
//! show progress (a bar on a terminal, nothing when piped or asked for JSON).

/// Receives progress reports. Every method has a do-nothing default, so an implementation
/// overrides only what it shows.
pub trait Progress {
    /// A phase begins: `what` names it; `total` is its number of steps (0 when unknown).
    fn start(&self, what: &str, total: u64) {
        let _ = (what, total);
    }

    /// `steps` more steps of the current phase are done.
    fn advance(&self, steps: u64) {
        let _ = steps;
    }

    /// The current phase is done.
    fn finish(&self) {}
}

/// Reports nothing: the library's default.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
