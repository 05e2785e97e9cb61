//! The command line's grammar: every command, argument and default, as clap derives.
//!
//! Owns: [`Cli`] and the subcommand enums; the help text users read.
//! Must not: do anything with what was parsed (the commands live in `run.rs`), or hold
//! rules about dates, ids or ledgers beyond what clap checks (required, conflicting).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use muster::import::sb::generate;

pub use crate::cli::render::Format;

#[derive(Parser)]
#[command(
    name = "muster",
    version,
    about = "A membership ledger: who was in which group on any date",
    long_about = "A membership ledger: an append-only, hash-chained log of dated facts (member M \
joined or left group G on date D) that answers, for any date, who was in a group, which \
groups a member was in, what changed, and what the ledger believed at an earlier commit.",
    after_help = "Examples:
  muster import sb ./export          import a SchoolBase export (one commit)
  muster info                        what the ledger holds
  muster list groups --name choir    find a group by a fragment of its name
  muster members 34004 --on 2015-11-20
  muster demo                        a guided tour on a generated school year

Dates are YYYY-MM-DD. Exit codes: 0 success; 2 bad input or usage; 3 unknown group or \
member; 4 damage found; 5 ledger in use; 6 I/O or storage failure; 7 no ledger at --db; 8 \
recorded, but not finished; 9 database unreachable or refusing (sync); 10 database follows \
another history (sync)."
)]
pub struct Cli {
    /// The ledger directory (created by the first import).
    #[arg(
        long,
        global = true,
        env = "MUSTER_DB",
        default_value = "muster.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,
    /// Whether `--db` (or `MUSTER_DB`) was given rather than defaulted: `demo` builds its
    /// ledger there only when it was. Set by `main` from clap's matches.
    #[arg(skip)]
    pub db_given: bool,
    /// Seconds to wait for another muster process to release the ledger.
    #[arg(long, global = true, default_value_t = 10, value_name = "SECONDS")]
    pub wait: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
// The `--format` option every answering command shares.
pub struct OutputFormat {
    /// Output format: an aligned table for people, CSV or JSON for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum Command {
    /// Import a file or an SB export into the ledger as one commit.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Who was in GROUP on a date: its members directly and through its subgroups (a
    /// member in through nesting shows the path), less those excluded.
    #[command(after_help = "Examples:
  muster members 34004 --on 2015-11-20
  muster members sports --on 2015-11-20 --direct      only those included directly
  muster members 34004 --on 2015-11-20 --as-of 3 --format csv")]
    Members {
        /// The group's id (`muster list groups --name FRAGMENT` finds it).
        group: String,
        /// The date asked about (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        on: String,
        /// Only the members included in the group directly, not through its subgroups.
        #[arg(long)]
        direct: bool,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Which groups MEMBER was in on a date, directly or through nesting.
    #[command(after_help = "Examples:
  muster groups 12345 --on 2015-11-20
  muster groups 12345 --on 2015-11-20 --direct
  muster groups 12345 --on 2015-11-20 --format json")]
    Groups {
        /// The member's id (`muster list members --name FRAGMENT` finds it).
        member: String,
        /// The date asked about (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        on: String,
        /// Only the groups the member is included in directly.
        #[arg(long)]
        direct: bool,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// The subgroups included in and excluded from GROUP on a date.
    #[command(after_help = "Examples:
  muster subgroups sports --on 2015-11-20
  muster subgroups all --on 2015-11-20 --format json")]
    Subgroups {
        /// The group's id.
        group: String,
        /// The date asked about (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        on: String,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Membership spans of a group or a member (give one of --group and --member).
    #[command(after_help = "Examples:
  muster history --member 12345
  muster history --group 34004 --format csv
  muster history --group 34004 --corrections     beliefs that late data revised")]
    #[command(group(ArgGroup::new("subject").required(true).args(["group", "member"])))]
    History {
        /// The group whose members' spans to list.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// The member whose spans in every group to list.
        #[arg(long, value_name = "MEMBER")]
        member: Option<String>,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        /// List the beliefs later commits revised (late data) instead of the spans.
        #[arg(long)]
        corrections: bool,
        /// The resolved membership (through subgroups, less exclusions) instead of the
        /// direct one.
        #[arg(long, conflicts_with = "corrections")]
        resolved: bool,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Every effective join and leave dated FROM..=TO, with the commit that recorded it.
    #[command(after_help = "Examples:
  muster changes --from 2015-11-01 --to 2015-11-30
  muster changes --from 2015-11-01 --to 2015-11-30 --group 34004 --format json")]
    Changes {
        /// The first date of the range (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: String,
        /// The last date of the range, included (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        to: String,
        /// Only this group's changes.
        #[arg(long, value_name = "GROUP", conflicts_with = "member")]
        group: Option<String>,
        /// Only this member's changes.
        #[arg(long, value_name = "MEMBER")]
        member: Option<String>,
        /// The resolved membership's changes (through subgroups, less exclusions) instead
        /// of the direct one's.
        #[arg(long)]
        resolved: bool,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Write the ledger out in another shape (spans for SQL, the log for backups).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Erase MEMBER's name; the pseudonymous facts stay, and the log records the erasure.
    #[command(after_help = "Example:
  muster forget 12345")]
    Forget {
        /// The member whose name to erase, for good.
        member: String,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Draw an SVG timeline of a group's members or a member's groups (give one of
    /// --group and --member), to open in a browser.
    #[command(after_help = "Examples:
  muster chart --group 34004 -o choir.svg
  muster chart --member 12345 --from 2015-09-01 --to 2016-07-31 -o pupil.svg")]
    #[command(group(ArgGroup::new("subject").required(true).args(["group", "member"])))]
    Chart {
        /// The group whose members to draw, a row each.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// The member whose groups to draw, a row each.
        #[arg(long, value_name = "MEMBER")]
        member: Option<String>,
        /// The first date drawn (YYYY-MM-DD; default: the first start).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// The last date drawn (YYYY-MM-DD; default: the last change).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Draw the resolved membership (through subgroups, less exclusions) instead of
        /// the direct one.
        #[arg(long)]
        resolved: bool,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        /// The SVG file to write (`-`: standard output).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
    },
    /// The commits, oldest first: number, time, source files and digests, facts, hash.
    #[command(after_help = "Examples:
  muster log
  muster log --format json")]
    Log {
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Check every checksum, the hash chain, and the derived state against a replay.
    #[command(after_help = "Example:
  muster verify        exit 0 when sound, 4 when damage is found")]
    Verify {
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Throw away the derived state and rebuild it from the log.
    #[command(after_help = "Example:
  muster rebuild")]
    Rebuild,
    /// Write the head anchor (muster.head) again from the log's newest commit, after
    /// checking the whole log: the way back from a damaged anchor.
    #[command(after_help = "Examples:
  muster verify      # says whether the log itself is sound past the damaged anchor
  muster export log -o backup.jsonl
  muster reanchor")]
    Reanchor,
    /// Keep an outside database equal to the ledger, exactly once.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Write a synthetic export (test data).
    #[command(subcommand)]
    Gen(GenCommand),
    /// A guided tour: generate a school year, import it week by week (one week late),
    /// ask questions, verify. The ledger is made in a temporary directory and removed
    /// afterwards, unless --db names a new directory to keep it in.
    #[command(after_help = "Examples:
  muster demo
  muster --db demo.db demo       keep the demo's ledger in ./demo.db (which must not exist)")]
    Demo,
    /// What the ledger holds: commits, groups, members, dates, the last import, format
    /// versions, disk used.
    #[command(after_help = "Examples:
  muster info
  muster --db /srv/muster.db info --format json")]
    Info {
        /// Output format: lines for people, or one JSON object.
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
    },
    /// List the ledger's groups or members with their names, to find an id.
    #[command(subcommand)]
    List(ListCommand),
    /// Print a shell completion script for muster.
    #[command(after_help = "Examples:
  muster completions bash > ~/.local/share/bash-completion/completions/muster
  muster completions zsh > ~/.zfunc/_muster
  muster completions fish > ~/.config/fish/completions/muster.fish")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print muster's manual page (roff), generated from this help.
    #[command(after_help = "Example:
  muster man > muster.1 && man ./muster.1")]
    Man,
}

/// `info`'s formats: it is one record, so there is no CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum InfoFormat {
    #[default]
    Table,
    Json,
}

/// What `list groups` and `list members` share.
#[derive(Args)]
pub struct ListArgs {
    /// Only those with a membership on this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub on: Option<String>,
    /// Only those whose name or id contains this text, ignoring case.
    #[arg(long, value_name = "FRAGMENT")]
    pub name: Option<String>,
    /// With --on: as the ledger stood after commit SEQ, or at a UTC time.
    #[arg(long, value_name = "SEQ|TIME", requires = "on")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Subcommand)]
pub enum ListCommand {
    /// Every group, sorted by id, with its name.
    #[command(after_help = "Examples:
  muster list groups
  muster list groups --name choir
  muster list groups --on 2015-11-20 --format csv")]
    Groups(ListArgs),
    /// Every member, sorted by id, with their name.
    #[command(after_help = "Examples:
  muster list members --name williams
  muster list members --on 2015-11-20 --format json")]
    Members(ListArgs),
}

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Bring a PostgreSQL database up to the ledger: spans, names and commits under a
    /// tenant, each run applying only the commits after the last one synced, in one
    /// transaction (docs/postgres.md).
    #[command(after_help = "Examples:
  muster sync postgres --url postgresql://muster@localhost/school
  MUSTER_POSTGRES_URL='host=/run/postgresql dbname=trust' muster sync postgres --tenant st-marys
  muster sync postgres --url postgresql://localhost/school --follow     until SIGINT/SIGTERM

Exit codes beyond the usual: 9 the database could not be reached or refused a statement; \
10 the database follows another history (a ledger restored from an older backup, or another \
ledger under the same tenant): nothing was changed, `--full` replaces the tenant's rows.")]
    Postgres(PostgresArgs),
}

#[derive(Args)]
pub struct PostgresArgs {
    /// The database: a libpq connection string (`host=... dbname=...`) or URI
    /// (`postgresql://user@host/db`).
    #[arg(
        long,
        env = "MUSTER_POSTGRES_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub url: String,
    /// Whose rows these are, when many ledgers sync into one database (default: the
    /// ledger directory's name).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// The schema the tables live in, created when missing.
    #[arg(long, value_name = "NAME", default_value = "muster")]
    pub schema: String,
    /// Keep running: apply each new commit as it lands, until SIGINT or SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: seconds between looks at the ledger's head.
    #[arg(long, value_name = "SECONDS", default_value_t = 1, requires = "follow")]
    pub poll: u64,
    /// Replace the tenant's rows whole with this ledger's, whatever they were (after a
    /// refusal: the database followed another history).
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Subcommand)]
pub enum GenCommand {
    /// A synthetic SB (SchoolBase) export directory, the same for the same seed.
    #[command(after_help = "Examples:
  muster gen sb ./export --seed 1
  muster gen sb ./small --seed 7 --pupils 100 --activities 10 --weeks 4")]
    Sb {
        /// The directory to write the export's CSV files into.
        dir: PathBuf,
        /// Any number: the same seed writes the same export.
        #[arg(long, value_name = "N")]
        seed: u64,
        /// How many pupils the school has.
        #[arg(long, value_name = "N", default_value_t = generate::SCHOOL_YEAR.pupils)]
        pupils: usize,
        /// How many activities (groups) it runs.
        #[arg(long, value_name = "N", default_value_t = generate::SCHOOL_YEAR.activities)]
        activities: usize,
        /// How many weeks of sessions, with a half-term week off.
        #[arg(long, value_name = "N", default_value_t = generate::SCHOOL_YEAR.weeks)]
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
    /// The CSV file to read (header in the first line).
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
    #[command(after_help = "Examples:
  muster import observations week.csv
  muster import observations week.csv --dry-run")]
    Observations(ImportArgs),
    /// CSV `date,group,member,change` with change `join`, `leave` or `exclude` (kept out
    /// of the group even when a subgroup holds them).
    #[command(after_help = "Example:
  muster import facts changes.csv       change: join, leave or exclude")]
    Facts(ImportArgs),
    /// Import subgroup facts: CSV `date,group,subgroup,change`, change `include`,
    /// `exclude` or `end`. A fact that would make a group contain itself, directly or
    /// through other groups, on any date, is refused and nothing is written.
    #[command(after_help = "Examples:
  muster import nesting sports.csv
  muster import nesting sports.csv --dry-run --format json")]
    Nesting(ImportArgs),
    /// CSV `group,member,starts_on,ends_on` (ends_on the last day, blank while open).
    #[command(after_help = "Example:
  muster import spans terms.csv")]
    Spans(ImportArgs),
    /// CSV `kind,id,name` (kind group or member), `member,name` or `group,name`.
    #[command(after_help = "Example:
  muster import names names.csv")]
    Names {
        /// The CSV file of names to read.
        file: PathBuf,
        #[command(flatten)]
        output: OutputFormat,
        #[command(flatten)]
        quiet: Quiet,
    },
    /// An SB (SchoolBase) export directory, as one commit.
    ///
    /// Reads days.csv, rtrotaweek.csv, rtrwgroups.csv, rtrwpupils.csv and pupil.csv (UTF-8,
    /// UTF-8 with a BOM, or Windows-1252). Each activity session is an observation of its
    /// group on the session's date: the group's whole membership that day. An activity that
    /// stops meeting ends the day after its last session, once other activities have met
    /// for 14 days without it; a late export showing that it met after all takes the end
    /// back. The report has a line per change; importing the same export again records
    /// nothing.
    #[command(after_help = "Examples:
  muster import sb ./export
  muster import sb ./export --dry-run
  muster import sb ./export --start 2015-09-07 --format json")]
    Sb(SbArgs),
    /// A portable log from `muster export log`: appends the commits this ledger lacks.
    #[command(after_help = "Example:
  muster --db copy.db import log backup.jsonl")]
    Log {
        /// The JSON-lines file `muster export log` wrote.
        file: PathBuf,
        #[command(flatten)]
        output: OutputFormat,
        #[command(flatten)]
        quiet: Quiet,
    },
}

#[derive(Args)]
pub struct SbArgs {
    /// The export directory.
    pub dir: PathBuf,
    /// Skip sessions before the Sunday of this date's week (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
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
    /// CSV `group,member,starts_on,ends_on`, ends_on the last day (blank while open).
    #[command(after_help = "Examples:
  muster export spans --format csv > spans.csv
  muster export spans --group 34004")]
    Spans {
        /// Only this group's spans.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// The resolved membership (through subgroups, less exclusions) instead of the
        /// direct one.
        #[arg(long)]
        resolved: bool,
        /// Answer as the ledger stood after commit SEQ, or at a UTC time
        /// (2015-11-14T09:00:00Z): what it believed before later imports.
        #[arg(long, value_name = "SEQ|TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// The commits as JSON lines, oldest first (see docs/portable-log.md).
    #[command(after_help = "Examples:
  muster export log -o backup.jsonl
  muster export log --since 41 -o new.jsonl && muster --db copy.db import log new.jsonl")]
    Log {
        /// Only the commits after this one (for catching up a copy that ends there).
        #[arg(long, value_name = "SEQ")]
        since: Option<u64>,
        /// Write to this file instead of standard output (`-`: standard output).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument of every command says what it is for in `--help` (and so in the
    /// manual page and the completions' descriptions).
    #[test]
    fn every_argument_has_help() {
        fn visit(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if command.get_about().is_none() {
                missing.push(format!("{path} (the command)"));
            }
            for argument in command.get_arguments() {
                let id = argument.get_id().as_str();
                if argument.get_help().is_none() && !matches!(id, "help" | "version") {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                visit(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        visit(&command, "muster", &mut missing);
        assert!(missing.is_empty(), "no help for: {missing:?}");
    }
}
