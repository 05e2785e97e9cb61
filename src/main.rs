//! The `muster` command: parses arguments, calls the library, prints, and maps errors to
//! exit codes. Nothing else lives here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

mod cli;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::render::{self, Format, NameBook};
use muster::import::sb::{self, generate};
use muster::import::{input, names, spans};
use muster::log::commit::{Source, SourceKind};
use muster::log::portable::PortableLog;
use muster::progress::Progress;
use muster::query::chart;
use muster::{
    AsOf, Date, Error, ErrorKind, GroupId, Ledger, MemberId, OpenOptions, Scope, Verdict,
};

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
        /// Answer as the ledger stood after this commit, or at this UTC time
        /// (2015-11-14T09:00:00Z).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Which groups MEMBER was in on a date.
    Groups {
        member: String,
        #[arg(long)]
        on: String,
        #[arg(long)]
        as_of: Option<String>,
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
        as_of: Option<String>,
        /// List the beliefs later commits revised (late data) instead of the spans.
        #[arg(long)]
        corrections: bool,
        #[command(flatten)]
        output: Output,
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
        output: Output,
    },
    /// Write the ledger out in another shape.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Erase MEMBER's name; the pseudonymous facts stay, and the log records the erasure.
    Forget {
        member: String,
        #[command(flatten)]
        output: Output,
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
        /// The SVG file to write.
        #[arg(short = 'o', long)]
        output: PathBuf,
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
    /// CSV `group,member,starts_on,ends_on` (ends_on inclusive, blank while open).
    Spans(ImportArgs),
    /// CSV `kind,id,name` (kind group or member), `member,name` or `group,name`.
    Names {
        file: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// An SB (SchoolBase) export directory: each activity session is an observation of
    /// its group; activities that stop meeting end.
    Sb(SbArgs),
    /// A portable log from `muster export log`: appends the commits this ledger lacks.
    Log {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = LogFormatArg::Json)]
        format: LogFormatArg,
    },
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

#[derive(Subcommand)]
enum ExportCommand {
    /// CSV `group,member,starts_on,ends_on`, ends_on inclusive (blank while open).
    Spans {
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// The commits as JSON lines, oldest first (see docs/portable-log.md).
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

fn date(text: &str) -> Result<Date, Error> {
    Date::parse(text).map_err(|e| Error::new(ErrorKind::Input, format!("date {text:?}: {e}")))
}

/// The commit an `--as-of` names, resolved against the open ledger.
fn as_of(ledger: &Ledger, text: &Option<String>) -> Result<Option<u64>, Error> {
    let parsed = text.as_deref().map(AsOf::parse).transpose()?;
    ledger.resolve_as_of(parsed)
}

/// Names for the groups and members an answer mentions.
fn name_book<'a>(
    ledger: &Ledger,
    groups: impl IntoIterator<Item = &'a GroupId>,
    members: impl IntoIterator<Item = &'a MemberId>,
) -> Result<NameBook, Error> {
    let mut book = NameBook::default();
    for group in groups {
        if let Some(name) = ledger.group_name(group)? {
            book.groups.insert(group.clone(), name);
        }
    }
    book.members = ledger.member_names(members)?;
    Ok(book)
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

/// Opens the ledger to answer a query: from muster's own files alone when they are up to
/// date (no storage engine, no lock: the fast path), otherwise as [`open`] does. An
/// `--as-of` time needs the log, so it always takes the full path.
fn open_to_ask(cli: &Cli, as_of_text: &Option<String>) -> Result<Ledger, Error> {
    let needs_log = match as_of_text.as_deref().map(AsOf::parse).transpose()? {
        Some(AsOf::Time(_)) => true,
        Some(AsOf::Seq(_)) | None => false,
    };
    if !needs_log {
        if let Some(ledger) = Ledger::open_for_queries(&cli.db)? {
            return Ok(ledger);
        }
    }
    open(cli)
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
            let progress = Bar::new(!matches!(args.output.format, FormatArg::Json));
            let options = sb::Options { start };
            let files = sb::ExportFiles::read_dir(&args.dir)?;
            // The same files read the same way were recorded before: nothing to parse,
            // nothing to record (asked of muster's own files, without the lock).
            let known = match Ledger::open_for_queries(&cli.db)? {
                Some(ledger) => {
                    let source = sb::source_of(&files, &options);
                    if let Some(seq) = ledger.recorded_import(&source)? {
                        let report = sb::Report::already_recorded(seq, args.dry_run);
                        return Ok((render::sb_import(&report, args.output.format.into()), false));
                    }
                    Some(source.files)
                }
                // A new ledger (or one to catch up): hashing overlaps parsing instead.
                None => None,
            };
            // Read and validate the whole export before the ledger is opened.
            progress.start("reading the export", 0);
            let export = sb::parse_with_sources(&files, &options, known)?;
            progress.finish();
            let mut ledger = open(cli)?;
            progress.start("planning and committing", 0);
            let report = sb::import(&mut ledger, &export, args.dry_run)?;
            progress.finish();
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
        Command::Demo => Ok((cli::demo::run()?, false)),
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
        Command::Import(ImportCommand::Observations(args)) => import_file(
            cli,
            args,
            SourceKind::Observations,
            input::read_observations,
        ),
        Command::Import(ImportCommand::Facts(args)) => {
            import_file(cli, args, SourceKind::Facts, input::read_facts)
        }
        Command::Import(ImportCommand::Spans(args)) => {
            let (merged, file) = spans::read_spans(&args.file)?;
            let mut ledger = open(cli)?;
            let batch = spans::span_batch(&ledger, &merged)?;
            let source = Source {
                kind: SourceKind::Spans,
                files: vec![file],
                options: Vec::new(),
            };
            let outcome = ledger.import(&batch, source, args.dry_run)?;
            Ok((render::import(&outcome, args.output.format.into()), false))
        }
        Command::Import(ImportCommand::Names { file, output }) => {
            let (names, _) = names::read_names(file)?;
            let (stored, skipped) = open(cli)?.import_names(names)?;
            Ok((
                render::names_imported(stored, skipped, output.format.into()),
                false,
            ))
        }
        Command::Members {
            group: g,
            on,
            as_of: as_of_text,
            output,
        } => {
            let (g, on) = (group(g)?, date(on)?);
            let ledger = open_to_ask(cli, as_of_text)?;
            let members = ledger.members(&g, on, as_of(&ledger, as_of_text)?)?;
            let names = ledger.member_names(&members)?;
            Ok((
                render::members(&g, on, &members, &names, output.format.into()),
                false,
            ))
        }
        Command::Groups {
            member: m,
            on,
            as_of: as_of_text,
            output,
        } => {
            let (m, on) = (member(m)?, date(on)?);
            let ledger = open_to_ask(cli, as_of_text)?;
            let groups = ledger.groups(&m, on, as_of(&ledger, as_of_text)?)?;
            let names = ledger.group_names(&groups)?;
            Ok((
                render::groups(&m, on, &groups, &names, output.format.into()),
                false,
            ))
        }
        Command::History {
            group: g,
            member: m,
            as_of: as_of_text,
            corrections,
            output,
        } => {
            let ledger = if *corrections {
                open(cli)?
            } else {
                open_to_ask(cli, as_of_text)?
            };
            let as_of = as_of(&ledger, as_of_text)?;
            let scope = scope(g, m)?;
            if *corrections {
                let rows = ledger.corrections(&scope, as_of)?;
                let book = name_book(&ledger, [], rows.iter().map(|r| &r.member))?;
                return Ok((
                    render::corrections(&rows, &book, output.format.into()),
                    false,
                ));
            }
            let spans = match &scope {
                Scope::Member(m) => ledger.member_history(m, as_of)?,
                Scope::Group(g) => ledger.group_history(g, as_of)?,
                Scope::All => Vec::new(),
            };
            let book = name_book(&ledger, [], spans.iter().map(|s| &s.span.member))?;
            Ok((
                render::history_with_names(&spans, &book, output.format.into()),
                false,
            ))
        }
        Command::Changes {
            from,
            to,
            group: g,
            member: m,
            as_of: as_of_text,
            output,
        } => {
            let (from, to) = (date(from)?, date(to)?);
            let scope = scope(g, m)?;
            let ledger = open(cli)?;
            let changes = ledger.changes(from, to, &scope, as_of(&ledger, as_of_text)?)?;
            let book = name_book(
                &ledger,
                changes.iter().map(|c| &c.group),
                changes.iter().map(|c| &c.member),
            )?;
            Ok((
                render::changes(&changes, &book, output.format.into()),
                false,
            ))
        }
        Command::Export(ExportCommand::Spans {
            group: g,
            as_of: as_of_text,
            output,
        }) => {
            let g = g.as_deref().map(group).transpose()?;
            let ledger = open(cli)?;
            let as_of = as_of(&ledger, as_of_text)?;
            let rows = spans::export_spans(&ledger, g.as_ref(), as_of)?;
            Ok((render::export_spans(&rows, output.format.into()), false))
        }
        Command::Forget { member: m, output } => {
            let m = member(m)?;
            let outcome = open(cli)?.forget(&m)?;
            Ok((render::forget(&outcome, output.format.into()), false))
        }
        Command::Chart {
            group: g,
            member: m,
            from,
            to,
            as_of: as_of_text,
            output,
        } => {
            let scope = scope(g, m)?;
            let (from, to) = (
                from.as_deref().map(date).transpose()?,
                to.as_deref().map(date).transpose()?,
            );
            let ledger = open(cli)?;
            let chart = chart::chart(&ledger, &scope, from, to, as_of(&ledger, as_of_text)?)?;
            std::fs::write(output, cli::chart::svg(&chart)).map_err(|e| Error::io(output, &e))?;
            Ok((
                format!("wrote {} rows to {}\n", chart.rows.len(), output.display()),
                false,
            ))
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
            ledger.rebuild_with(&Bar::new(true))?;
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

fn scope(g: &Option<String>, m: &Option<String>) -> Result<Scope, Error> {
    Ok(match (g, m) {
        (Some(g), _) => Scope::Group(group(g)?),
        (None, Some(m)) => Scope::Member(member(m)?),
        (None, None) => Scope::All,
    })
}

/// Imports one observations or facts file: read and validated whole before the ledger is
/// even opened, so bad input writes nothing.
fn import_file(
    cli: &Cli,
    args: &ImportArgs,
    kind: SourceKind,
    read: fn(&Path) -> Result<(muster::Batch, muster::log::commit::SourceFile), Error>,
) -> Result<(String, bool), Error> {
    let (batch, file) = read(&args.file)?;
    let mut ledger = open(cli)?;
    let source = Source {
        kind,
        files: vec![file],
        options: Vec::new(),
    };
    let outcome = ledger.import(&batch, source, args.dry_run)?;
    Ok((render::import(&outcome, args.output.format.into()), false))
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

/// A progress bar on stderr, drawn only when stderr is a terminal and `wanted` (not for
/// `--format json`), so piped output and scripts never see it.
struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new(wanted: bool) -> Bar {
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

/// With `MUSTER_REPORT_PEAK_MEMORY=1`, prints the process's peak resident memory (VmHWM)
/// to stderr at exit, for the benchmark report (`benches/report.rs`).
fn report_peak_memory() {
    if std::env::var_os(PEAK_MEMORY_ENV).is_none_or(|value| value != "1") {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
    if let Some(kb) = peak {
        eprintln!("peak_memory_kb={kb}");
    }
}

/// The environment variable that asks for [`report_peak_memory`].
const PEAK_MEMORY_ENV: &str = "MUSTER_REPORT_PEAK_MEMORY";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(&cli);
    report_peak_memory();
    match result {
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
