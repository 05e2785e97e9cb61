//! The command line's grammar: every command, argument and default, as clap derives.
//!
//! Owns: [`Cli`] and the subcommand enums; the help text users read.
//! Must not: do anything with what was parsed (the commands live in `run.rs`), or hold
//! rules about dates, ids or ledgers beyond what clap checks (required, conflicting).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use muster::import::sb::generate;

pub use crate::cli::render::Format;

#[derive(Parser)]
#[command(
    name = "muster",
    version,
    about = "A membership ledger: who was in which group on any date"
)]
pub struct Cli {
    /// The ledger directory.
    #[arg(long, global = true, env = "MUSTER_DB", default_value = "muster.db")]
    pub db: PathBuf,
    /// Seconds to wait for another muster process to release the ledger.
    #[arg(long, global = true, default_value_t = 10)]
    pub wait: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
// The `--format` option every answering command shares.
pub struct OutputFormat {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum Command {
    /// Import a file into the ledger as one commit.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Who was in GROUP on a date.
    Members {
        group: String,
        #[arg(long)]
        on: String,
        /// Answer as the ledger stood after this commit, or at this UTC time
        /// (2015-11-14T09:00:00Z).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Which groups MEMBER was in on a date.
    Groups {
        member: String,
        #[arg(long)]
        on: String,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Membership spans of a group or a member.
    History {
        #[arg(long, conflicts_with = "member", required_unless_present = "member")]
        group: Option<String>,
        #[arg(long)]
        member: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        /// List the beliefs later commits revised (late data) instead of the spans.
        #[arg(long)]
        corrections: bool,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Every effective join and leave dated FROM..=TO, with the commit that recorded it.
    Changes {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, conflicts_with = "member")]
        group: Option<String>,
        #[arg(long)]
        member: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Write the ledger out in another shape.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Erase MEMBER's name; the pseudonymous facts stay, and the log records the erasure.
    Forget {
        member: String,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Draw an SVG timeline of a group's members or a member's groups.
    Chart {
        #[arg(long, conflicts_with = "member", required_unless_present = "member")]
        group: Option<String>,
        #[arg(long)]
        member: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        /// The SVG file to write (`-`: standard output).
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// The commits, oldest first.
    Log {
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Check every checksum, the hash chain, and the derived state against a replay.
    Verify {
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Throw away the derived state and rebuild it from the log.
    Rebuild,
    /// Write the head anchor (muster.head) again from the log's newest commit, after
    /// checking the whole log: the way back from a damaged anchor.
    Reanchor,
    /// Write a synthetic export.
    #[command(subcommand)]
    Gen(GenCommand),
    /// A guided tour: generate a school year, import it into a fresh ledger in a new
    /// temporary directory, re-import it, ask a few questions, verify.
    Demo,
}

#[derive(Subcommand)]
pub enum GenCommand {
    /// A synthetic SB (SchoolBase) export directory, the same for the same seed.
    Sb {
        dir: PathBuf,
        #[arg(long)]
        seed: u64,
        #[arg(long, default_value_t = generate::SCHOOL_YEAR.pupils)]
        pupils: usize,
        #[arg(long, default_value_t = generate::SCHOOL_YEAR.activities)]
        activities: usize,
        #[arg(long, default_value_t = generate::SCHOOL_YEAR.weeks)]
        weeks: usize,
    },
}

#[derive(Args)]
// The `--quiet` every import takes.
pub struct Quiet {
    /// For cron: print one summary line (warnings go to standard error); the exit status
    /// says the rest.
    #[arg(short, long, conflicts_with = "format")]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// Show what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub quiet: Quiet,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// CSV `date,group,member`: each (date, group) is the group's whole membership that day.
    Observations(ImportArgs),
    /// CSV `date,group,member,change` with change `join` or `leave`.
    Facts(ImportArgs),
    /// CSV `group,member,starts_on,ends_on` (ends_on inclusive, blank while open).
    Spans(ImportArgs),
    /// CSV `kind,id,name` (kind group or member), `member,name` or `group,name`.
    Names {
        file: PathBuf,
        #[command(flatten)]
        output: OutputFormat,
        #[command(flatten)]
        quiet: Quiet,
    },
    /// An SB (SchoolBase) export directory: each activity session is an observation of
    /// its group; activities that stop meeting end.
    Sb(SbArgs),
    /// A portable log from `muster export log`: appends the commits this ledger lacks.
    Log {
        file: PathBuf,
        #[command(flatten)]
        output: OutputFormat,
        #[command(flatten)]
        quiet: Quiet,
    },
}

#[derive(Args)]
pub struct SbArgs {
    pub dir: PathBuf,
    /// Skip sessions before the Sunday of this date's week (YYYY-MM-DD).
    #[arg(long)]
    pub start: Option<String>,
    /// Show what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub quiet: Quiet,
    /// Name what each warning counts: which pupils, which sessions.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// CSV `group,member,starts_on,ends_on`, ends_on inclusive (blank while open).
    Spans {
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// The commits as JSON lines, oldest first (see docs/portable-log.md).
    Log {
        /// Only the commits after this one (for catching up a copy that ends there).
        #[arg(long)]
        since: Option<u64>,
        /// Write to this file instead of standard output (`-`: standard output).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
}
