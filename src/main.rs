//! The `muster` command: parses arguments, calls the library, prints, and maps errors to
//! exit codes. Nothing else lives here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use muster::commit::{Source, SourceKind};
use muster::render::{self, Format};
use muster::sb::{self, generate};
use muster::{input, Date, Error, ErrorKind, GroupId, Ledger, MemberId, OpenOptions, Verdict};

#[derive(Parser)]
#[command(
    name = "muster",
    version,
    about = "A membership ledger: who was in which group on any date"
)]
struct Cli {
    /// The ledger directory.
    #[arg(long, global = true, env = "MUSTER_DB", default_value = "muster.db")]
    db: PathBuf,
    /// Seconds to wait for another muster process to release the ledger.
    #[arg(long, global = true, default_value_t = 10)]
    wait: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, Default)]
enum FormatArg {
    #[default]
    Table,
    Csv,
    Json,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Args)]
struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Subcommand)]
enum Command {
    /// Import a file into the ledger as one commit.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Who was in GROUP on a date.
    Members {
        group: String,
        #[arg(long)]
        on: String,
        /// Answer as the ledger stood after this commit.
        #[arg(long)]
        as_of: Option<u64>,
        #[command(flatten)]
        output: Output,
    },
    /// Which groups MEMBER was in on a date.
    Groups {
        member: String,
        #[arg(long)]
        on: String,
        #[arg(long)]
        as_of: Option<u64>,
        #[command(flatten)]
        output: Output,
    },
    /// Membership spans of a group or a member.
    History {
        #[arg(long, conflicts_with = "member", required_unless_present = "member")]
        group: Option<String>,
        #[arg(long)]
        member: Option<String>,
        #[arg(long)]
        as_of: Option<u64>,
        #[command(flatten)]
        output: Output,
    },
    /// The commits, oldest first.
    Log {
        #[command(flatten)]
        output: Output,
    },
    /// Check every checksum, the hash chain, and the derived state against a replay.
    Verify {
        #[command(flatten)]
        output: Output,
    },
    /// Throw away the derived state and rebuild it from the log.
    Rebuild,
    /// Write a synthetic export.
    #[command(subcommand)]
    Gen(GenCommand),
    /// A guided tour: generate a school year, import it into a fresh ledger in a new
    /// temporary directory, re-import it, ask a few questions, verify.
    Demo,
}

#[derive(Subcommand)]
enum GenCommand {
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
struct ImportArgs {
    file: PathBuf,
    /// Show what would be recorded; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: Output,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// CSV `date,group,member`: each (date, group) is the group's whole membership that day.
    Observations(ImportArgs),
    /// CSV `date,group,member,change` with change `join` or `leave`.
    Facts(ImportArgs),
    /// An SB (SchoolBase) export directory: each activity session is an observation of
    /// its group; activities that stop meeting end.
    Sb(SbArgs),
}

#[derive(Args)]
struct SbArgs {
    dir: PathBuf,
    /// Skip sessions before the Sunday of this date's week (YYYY-MM-DD).
    #[arg(long)]
    start: Option<String>,
    /// Show what would be recorded; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: Output,
}

fn date(text: &str) -> Result<Date, Error> {
    Date::parse(text).map_err(|e| Error::new(ErrorKind::Input, format!("--on {text:?}: {e}")))
}

fn group(text: &str) -> Result<GroupId, Error> {
    GroupId::new(text.trim())
        .map_err(|e| Error::new(ErrorKind::Input, format!("group {text:?}: {e}")))
}

fn member(text: &str) -> Result<MemberId, Error> {
    MemberId::new(text.trim())
        .map_err(|e| Error::new(ErrorKind::Input, format!("member {text:?}: {e}")))
}

fn open(cli: &Cli) -> Result<Ledger, Error> {
    Ledger::open(
        &cli.db,
        OpenOptions {
            lock_wait: Duration::from_secs(cli.wait),
        },
    )
}

/// Runs one command; returns what to print and whether the answer is a failure.
fn run(cli: &Cli) -> Result<(String, bool), Error> {
    match &cli.command {
        Command::Import(ImportCommand::Sb(args)) => {
            let start =
                match &args.start {
                    Some(text) => Some(Date::parse(text).map_err(|e| {
                        Error::new(ErrorKind::Input, format!("--start {text:?}: {e}"))
                    })?),
                    None => None,
                };
            // Read and validate the whole export before the ledger is opened.
            let export = sb::read_dir(&args.dir, &sb::Options { start })?;
            let mut ledger = open(cli)?;
            let report = sb::import(&mut ledger, &export, args.dry_run)?;
            Ok((render::sb_import(&report, args.output.format.into()), false))
        }
        Command::Gen(GenCommand::Sb {
            dir,
            seed,
            pupils,
            activities,
            weeks,
        }) => {
            let scale = generate::Scale {
                pupils: *pupils,
                activities: *activities,
                weeks: *weeks,
            };
            generate::generate(*seed, scale).files().write_dir(dir)?;
            Ok((format!("wrote an SB export to {}\n", dir.display()), false))
        }
        Command::Demo => Ok((muster::demo::run()?, false)),
        Command::Import(command) => {
            let (args, kind, read): (&ImportArgs, SourceKind, fn(&Path) -> _) = match command {
                ImportCommand::Observations(args) => {
                    (args, SourceKind::Observations, input::read_observations)
                }
                ImportCommand::Facts(args) => (args, SourceKind::Facts, input::read_facts),
                ImportCommand::Sb(_) => unreachable!("handled above"),
            };
            // Read and validate the whole input before the ledger is even opened, so bad
            // input writes nothing.
            let (batch, file) = read(&args.file)?;
            let mut ledger = open(cli)?;
            let source = Source {
                kind,
                files: vec![file],
            };
            let outcome = ledger.import(&batch, source, args.dry_run)?;
            Ok((render::import(&outcome, args.output.format.into()), false))
        }
        Command::Members {
            group: g,
            on,
            as_of,
            output,
        } => {
            let (g, on) = (group(g)?, date(on)?);
            let ledger = open(cli)?;
            let members = ledger.members(&g, on, *as_of)?;
            let names = ledger.member_names(&members)?;
            Ok((
                render::members(&g, on, &members, &names, output.format.into()),
                false,
            ))
        }
        Command::Groups {
            member: m,
            on,
            as_of,
            output,
        } => {
            let (m, on) = (member(m)?, date(on)?);
            let groups = open(cli)?.groups(&m, on, *as_of)?;
            Ok((render::groups(&m, on, &groups, output.format.into()), false))
        }
        Command::History {
            group: g,
            member: m,
            as_of,
            output,
        } => {
            let ledger = open(cli)?;
            let spans = match (g, m) {
                (Some(g), _) => ledger.group_history(&group(g)?, *as_of)?,
                (None, Some(m)) => ledger.member_history(&member(m)?, *as_of)?,
                (None, None) => unreachable!("clap requires --group or --member"),
            };
            Ok((render::history(&spans, output.format.into()), false))
        }
        Command::Log { output } => {
            let commits = open(cli)?.log()?;
            Ok((render::log(&commits, output.format.into()), false))
        }
        Command::Verify { output } => {
            let verdict = open(cli)?.verify()?;
            let broken = matches!(verdict, Verdict::Broken { .. });
            Ok((render::verdict(&verdict, output.format.into()), broken))
        }
        Command::Rebuild => {
            let mut ledger = open(cli)?;
            ledger.rebuild()?;
            Ok((
                format!(
                    "rebuilt the derived state from {} commits\n",
                    ledger.head_seq()
                ),
                false,
            ))
        }
    }
}

/// Exit codes: 0 success; 2 bad input or usage; 3 unknown group or member; 4 damage found
/// (including a broken `verify`); 5 ledger in use; 6 I/O or storage failure.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Input | ErrorKind::Limit => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Corrupt => 4,
        ErrorKind::Locked => 5,
        ErrorKind::Io | ErrorKind::Storage => 6,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok((text, failed)) => {
            print!("{text}");
            if failed {
                ExitCode::from(exit_code(ErrorKind::Corrupt))
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("muster: {error}");
            ExitCode::from(exit_code(error.kind()))
        }
    }
}
