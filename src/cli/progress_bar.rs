//! A progress bar on stderr for long operations (the library reports through
//! [`muster::progress::Progress`]; this draws it).
//!
//! Owns: [`Bar`] and how it looks.
//! Must not: draw anything when stderr is not a terminal or the caller does not want it
//! (`--format json`): piped output and scripts never see it. Never writes to stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use muster::progress::Progress;

/// A progress bar on stderr, drawn only when stderr is a terminal and `wanted`.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new(wanted: bool) -> Bar {
        Bar {
            bar: (wanted && std::io::stderr().is_terminal()).then(ProgressBar::hidden),
        }
    }
}

/// How often a spinner moves while a phase of unknown length runs.
const SPINNER_TICK: Duration = Duration::from_millis(100);

impl Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        let Some(bar) = &self.bar else { return };
        // Style, length and message first, the terminal last: nothing is drawn half-set.
        bar.reset();
        bar.set_message(what.to_string());
        bar.set_length(total);
        if total == 0 {
            bar.set_style(ProgressStyle::default_spinner());
            bar.enable_steady_tick(SPINNER_TICK);
        } else {
            bar.disable_steady_tick();
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {elapsed}")
            {
                bar.set_style(style);
            }
        }
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(steps);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    }
}
