//! The `muster` command: parses arguments, runs the command (`cli::run`), and maps how it
//! ended to an exit code and a message. Everything else lives in `cli/` and the library.
//!
//! Must not: hold any rule about the ledger, or write to stdout but through
//! `cli::output::Output`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use muster::ErrorKind;

mod cli;

use cli::output::{Output, WriteFailure};
use cli::run::Status;

/// Exit codes: 0 success; 2 bad input or usage; 3 unknown group or member; 4 damage found
/// (including a broken `verify`); 5 ledger in use; 6 I/O or storage failure (including
/// output that could not be written); 7 no ledger at the path (a command that needs one);
/// 8 recorded, but not finished (the commit is durable, a later step failed: the next
/// open finishes it; or its report could not be written); 9 an outside database could not
/// be reached or refused a statement (`sync`); 10 it follows another history than the
/// ledger (`sync`: nothing was changed).
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Input | ErrorKind::Limit => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Corrupt => 4,
        ErrorKind::Locked => 5,
        ErrorKind::Io | ErrorKind::Storage => 6,
        ErrorKind::NoLedger => 7,
        ErrorKind::Database => 9,
        ErrorKind::Diverged => 10,
    }
}

/// The exit code of a command whose commit is recorded (durable) while a later step
/// failed; the next open finishes it.
const RECORDED_BUT_UNFINISHED: u8 = 8;

/// A message on stderr; a closed stderr loses it rather than panicking.
fn complain(message: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "muster: {message}");
}

fn main() -> ExitCode {
    let matches = cli::args::Cli::command().get_matches();
    let mut args = match cli::args::Cli::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    args.db_given = matches.value_source("db") != Some(ValueSource::DefaultValue);
    let mut out = Output::stdout();
    let result = cli::run::run(&args, &mut out);
    let written = out.finish();
    cli::peak_memory::report();
    let status = match result {
        Ok(status) => status,
        Err(error) => {
            complain(format_args!("{error}"));
            return ExitCode::from(exit_code(error.kind()));
        }
    };
    match written {
        // The reader has stopped reading (`| head -1`): what was done stays done, so the
        // command ends as it would have.
        Ok(()) | Err(WriteFailure::ClosedPipe) => {}
        Err(WriteFailure::Failed(error)) => {
            complain(format_args!("writing output: {error}"));
            // A commit that landed is never reported as failed: its report is lost, the
            // commit stands (`muster log` shows it).
            return match status {
                Status::Recorded(commit) => {
                    complain(format_args!(
                        "commit {commit} is recorded all the same; its report could not be \
                         written (`muster log` shows the commit)"
                    ));
                    ExitCode::from(RECORDED_BUT_UNFINISHED)
                }
                Status::Unfinished(unfinished) => {
                    complain(format_args!("{unfinished}"));
                    ExitCode::from(RECORDED_BUT_UNFINISHED)
                }
                Status::Done | Status::Damaged => ExitCode::from(exit_code(ErrorKind::Io)),
            };
        }
    }
    match status {
        Status::Done | Status::Recorded(_) => ExitCode::SUCCESS,
        Status::Damaged => ExitCode::from(exit_code(ErrorKind::Corrupt)),
        Status::Unfinished(unfinished) => {
            complain(format_args!("{unfinished}"));
            ExitCode::from(RECORDED_BUT_UNFINISHED)
        }
    }
}
