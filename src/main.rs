//! The `muster` command: parses arguments, calls the library, prints, and maps errors to
//! exit codes. Nothing else lives here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use muster::commit::{Source, SourceKind};
use muster::portable::PortableLog;
use muster::render::{self, Format};
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
    /// Write the log in a portable format (see docs/portable-log.md).
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// The commits as JSON lines, oldest first.
    Log {
        /// Only the commits after this one (for catching up a copy that ends there).
        #[arg(long)]
        since: Option<u64>,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
}

/// The portable log's formats (JSON lines is the only one today).
#[derive(Clone, Copy, ValueEnum, Default)]
enum LogFormatArg {
    #[default]
    Json,
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
    /// A portable log from `muster export log`: appends the commits this ledger lacks.
    Log {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = LogFormatArg::Json)]
        format: LogFormatArg,
    },
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
        Command::Import(ImportCommand::Log { file, format: _ }) => {
            // Read and check the whole file before the ledger is opened, as for CSV.
            let log = PortableLog::read_file(file)?;
            let outcome = open(cli)?.replay(&log)?;
            Ok((
                format!(
                    "read {} commits: {} already present, {} appended\n",
                    outcome.read,
                    outcome.skipped,
                    outcome.appended.len()
                ),
                false,
            ))
        }
        Command::Export(ExportCommand::Log { since, output }) => {
            let ledger = open(cli)?;
            match output {
                None => {
                    ledger.export_log(*since, &mut std::io::stdout().lock())?;
                }
                Some(path) => {
                    let file = std::fs::File::create(path).map_err(|e| Error::io(path, &e))?;
                    let mut writer = std::io::BufWriter::new(file);
                    ledger.export_log(*since, &mut writer)?;
                }
            }
            Ok((String::new(), false))
        }
        Command::Import(command) => {
            let (args, kind, read): (&ImportArgs, SourceKind, fn(&Path) -> _) = match command {
                ImportCommand::Observations(args) => {
                    (args, SourceKind::Observations, input::read_observations)
                }
                ImportCommand::Facts(args) => (args, SourceKind::Facts, input::read_facts),
                ImportCommand::Log { .. } => unreachable!("matched above"),
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
