//! Running one parsed command: a small function per command that turns its arguments into
//! library types, calls the library, and prints the answer through [`Output`].
//!
//! Owns: dispatch, argument conversion (ids, dates, scopes, `--as-of`), which way a
//! command opens the ledger, and the two import paths the library does not offer as one
//! call yet ([`import_sb`], [`import_spans`]).
//! Must not: hold rules about the ledger (what to record, what an answer contains: the
//! library decides), print except through [`Output`], or choose exit codes (`main` does).

use std::io::Write;

use chrono::Datelike as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use muster::import::portable::PortableLog;
use muster::import::sb::{self, generate};
use muster::import::{names, spans, statements};
use muster::log::source::{Source, SourceFile, SourceKind};
use muster::query::{audit, chart};
use muster::{
    AsOf, Batch, Date, Error, ErrorKind, GroupId, ImportOutcome, Ledger, MemberId, OpenOptions,
    Scope, Verdict,
};

use crate::cli::args::{
    Cli, Command, ExportCommand, Format, GenCommand, ImportArgs, ImportCommand, InfoFormat,
    ListCommand, OutputFormat, SbArgs,
};
use crate::cli::output::Output;
use crate::cli::progress_bar::Bar;
use crate::cli::render::{self, NameBook};
use muster::query::{find, membership};

/// How a command ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Done,
    /// `verify` found damage: an answer, printed, but not a success.
    Damaged,
}

type Run = Result<Status, Error>;

/// Runs the command `cli` names, printing its answer to `out`.
pub fn run(cli: &Cli, out: &mut Output<impl Write>) -> Run {
    match &cli.command {
        Command::Import(command) => import(cli, command, out),
        Command::Members {
            group,
            on,
            as_of,
            output,
        } => members(cli, group, on, as_of, output.format, out),
        Command::Groups {
            member,
            on,
            as_of,
            output,
        } => groups(cli, member, on, as_of, output.format, out),
        Command::History {
            group,
            member,
            as_of,
            corrections,
            output,
        } => history(cli, (group, member), as_of, *corrections, output, out),
        Command::Changes {
            from,
            to,
            group,
            member,
            as_of,
            output,
        } => changes(cli, (from, to), (group, member), as_of, output, out),
        Command::Export(ExportCommand::Spans {
            group,
            as_of,
            output,
        }) => export_spans(cli, group, as_of, output.format, out),
        Command::Export(ExportCommand::Log { since, output }) => {
            export_log(cli, *since, output, out)
        }
        Command::Forget { member, output } => forget(cli, member, output.format, out),
        Command::Chart {
            group,
            member,
            from,
            to,
            as_of,
            output,
        } => draw_chart(cli, scope(group, member)?, (from, to), as_of, output, out),
        Command::Log { output } => {
            out.print(&render::log(&open(cli)?.log()?, output.format));
            Ok(Status::Done)
        }
        Command::Verify { output } => verify(cli, output.format, out),
        Command::Rebuild => rebuild(cli, out),
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
            out.print(&format!("wrote an SB export to {}\n", dir.display()));
            Ok(Status::Done)
        }
        Command::Demo => {
            let keep = cli.db_given.then_some(cli.db.as_path());
            out.print(&crate::cli::demo::run(keep)?);
            Ok(Status::Done)
        }
        Command::Info { format } => {
            let info = open(cli)?.info(&cli.db)?;
            let format = match format {
                InfoFormat::Table => Format::Table,
                InfoFormat::Json => Format::Json,
            };
            out.print(&render::info(&info, format));
            Ok(Status::Done)
        }
        Command::List(command) => list(cli, command, out),
        Command::Completions { shell } => {
            out.print(&crate::cli::manual::completions(*shell)?);
            Ok(Status::Done)
        }
        Command::Man => {
            out.print(&crate::cli::manual::man_page()?);
            Ok(Status::Done)
        }
    }
}

/// `list groups` and `list members`: the library finds, this renders.
fn list(cli: &Cli, command: &ListCommand, out: &mut Output<impl Write>) -> Run {
    let (args, groups) = match command {
        ListCommand::Groups(args) => (args, true),
        ListCommand::Members(args) => (args, false),
    };
    let on = args.on.as_deref().map(date).transpose()?;
    let ledger = open_to_ask(cli, &args.as_of)?;
    let filter = find::Filter {
        on,
        name: args.name.clone(),
        as_of: as_of(&ledger, &args.as_of)?,
    };
    let text = if groups {
        render::listed(
            &find::list_groups(&ledger, &filter)?,
            "group",
            args.output.format,
        )
    } else {
        render::listed(
            &find::list_members(&ledger, &filter)?,
            "member",
            args.output.format,
        )
    };
    out.print(&text);
    Ok(Status::Done)
}

fn date(text: &str) -> Result<Date, Error> {
    Date::parse(text).map_err(|e| Error::new(ErrorKind::Input, format!("date {text:?}: {e}")))
}

fn group(text: &str) -> Result<GroupId, Error> {
    GroupId::new(text.trim())
        .map_err(|e| Error::new(ErrorKind::Input, format!("group {text:?}: {e}")))
}

fn member(text: &str) -> Result<MemberId, Error> {
    MemberId::new(text.trim())
        .map_err(|e| Error::new(ErrorKind::Input, format!("member {text:?}: {e}")))
}

fn scope(g: &Option<String>, m: &Option<String>) -> Result<Scope, Error> {
    Ok(match (g, m) {
        (Some(g), _) => Scope::Group(group(g)?),
        (None, Some(m)) => Scope::Member(member(m)?),
        (None, None) => Scope::All,
    })
}

/// An unknown group or member in `scope` is refused, with the near matches it suggests.
fn require(ledger: &Ledger, scope: &Scope) -> Result<(), Error> {
    match scope {
        Scope::Group(g) => find::require_group(ledger, g),
        Scope::Member(m) => find::require_member(ledger, m),
        Scope::All => Ok(()),
    }
}

/// The commit an `--as-of` names, resolved against the open ledger.
fn as_of(ledger: &Ledger, text: &Option<String>) -> Result<Option<u64>, Error> {
    let parsed = text.as_deref().map(AsOf::parse).transpose()?;
    audit::resolve_as_of(ledger, parsed)
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

fn open_options(cli: &Cli) -> OpenOptions {
    OpenOptions {
        lock_wait: Duration::from_secs(cli.wait),
    }
}

fn open(cli: &Cli) -> Result<Ledger, Error> {
    Ledger::open(&cli.db, open_options(cli))
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

fn import(cli: &Cli, command: &ImportCommand, out: &mut Output<impl Write>) -> Run {
    match command {
        ImportCommand::Observations(args) => import_file(
            cli,
            args,
            SourceKind::Observations,
            statements::read_observations,
            out,
        ),
        ImportCommand::Facts(args) => {
            import_file(cli, args, SourceKind::Facts, statements::read_facts, out)
        }
        ImportCommand::Spans(args) => {
            let outcome = import_spans(cli, &args.file, args.dry_run)?;
            out.print(&render::import(&outcome, args.output.format));
            Ok(Status::Done)
        }
        ImportCommand::Names { file, output } => {
            let (names, _) = names::read_names(file)?;
            let (stored, skipped) = open(cli)?.import_names(names)?;
            out.print(&render::names_imported(stored, skipped, output.format));
            Ok(Status::Done)
        }
        ImportCommand::Sb(args) => import_sb_command(cli, args, out),
        ImportCommand::Log { file, format: _ } => {
            // Read and check the whole file before the ledger is opened, as for CSV.
            let log = PortableLog::read_file(file)?;
            let outcome = open(cli)?.replay(&log)?;
            out.print(&format!(
                "read {} commits: {} already present, {} appended\n",
                outcome.read,
                outcome.skipped,
                outcome.appended.len()
            ));
            Ok(Status::Done)
        }
    }
}

/// Imports one observations or facts file: read and validated whole before the ledger is
/// even opened, so bad input writes nothing.
fn import_file(
    cli: &Cli,
    args: &ImportArgs,
    kind: SourceKind,
    read: fn(&Path) -> Result<(Batch, SourceFile), Error>,
    out: &mut Output<impl Write>,
) -> Run {
    let (batch, file) = read(&args.file)?;
    let mut ledger = open(cli)?;
    let source = Source {
        kind,
        files: vec![file],
        options: Vec::new(),
    };
    let outcome = ledger.import(&batch, source, args.dry_run)?;
    out.print(&render::import(&outcome, args.output.format));
    Ok(Status::Done)
}

/// `import spans`: the spans file read whole, then planned against the ledger's timelines
/// as explicit facts.
fn import_spans(cli: &Cli, file: &Path, dry_run: bool) -> Result<ImportOutcome, Error> {
    let (merged, file) = spans::read_spans(file)?;
    let source = Source {
        kind: SourceKind::Spans,
        files: vec![file],
        options: Vec::new(),
    };
    open(cli)?.import_spans(&merged, source, dry_run)
}

fn import_sb_command(cli: &Cli, args: &SbArgs, out: &mut Output<impl Write>) -> Run {
    let start = match &args.start {
        Some(text) => Some(
            Date::parse(text)
                .map_err(|e| Error::new(ErrorKind::Input, format!("--start {text:?}: {e}")))?,
        ),
        None => None,
    };
    let progress = Bar::new(args.output.format != Format::Json);
    let report = muster::ledger::sb::import_dir(
        &cli.db,
        open_options(cli),
        &args.dir,
        &sb::Options { start },
        args.dry_run,
        &progress,
    )?;
    out.print(&render::sb_import(&report, args.output.format));
    Ok(Status::Done)
}

fn members(
    cli: &Cli,
    g: &str,
    on: &str,
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let (g, on) = (group(g)?, date(on)?);
    let ledger = open_to_ask(cli, as_of_text)?;
    find::require_group(&ledger, &g)?;
    let members = membership::members(&ledger, &g, on, as_of(&ledger, as_of_text)?)?;
    let names = ledger.member_names(&members)?;
    out.print(&render::members(&g, on, &members, &names, format));
    Ok(Status::Done)
}

fn groups(
    cli: &Cli,
    m: &str,
    on: &str,
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let (m, on) = (member(m)?, date(on)?);
    let ledger = open_to_ask(cli, as_of_text)?;
    find::require_member(&ledger, &m)?;
    let groups = membership::groups(&ledger, &m, on, as_of(&ledger, as_of_text)?)?;
    let names = ledger.group_names(&groups)?;
    out.print(&render::groups(&m, on, &groups, &names, format));
    Ok(Status::Done)
}

fn history(
    cli: &Cli,
    (g, m): (&Option<String>, &Option<String>),
    as_of_text: &Option<String>,
    corrections: bool,
    output: &OutputFormat,
    out: &mut Output<impl Write>,
) -> Run {
    // Corrections compare every commit's beliefs: they need the log.
    let ledger = if corrections {
        open(cli)?
    } else {
        open_to_ask(cli, as_of_text)?
    };
    let as_of = as_of(&ledger, as_of_text)?;
    let scope = scope(g, m)?;
    require(&ledger, &scope)?;
    if corrections {
        let rows = audit::corrections(&ledger, &scope, as_of)?;
        let book = name_book(&ledger, [], rows.iter().map(|r| &r.member))?;
        out.print(&render::corrections(&rows, &book, output.format));
        return Ok(Status::Done);
    }
    let spans = match &scope {
        Scope::Member(m) => membership::member_history(&ledger, m, as_of)?,
        Scope::Group(g) => membership::group_history(&ledger, g, as_of)?,
        Scope::All => Vec::new(),
    };
    let book = name_book(&ledger, [], spans.iter().map(|s| &s.span.member))?;
    out.print(&render::history(&spans, &book, output.format));
    Ok(Status::Done)
}

fn changes(
    cli: &Cli,
    (from, to): (&str, &str),
    (g, m): (&Option<String>, &Option<String>),
    as_of_text: &Option<String>,
    output: &OutputFormat,
    out: &mut Output<impl Write>,
) -> Run {
    let (from, to) = (date(from)?, date(to)?);
    let scope = scope(g, m)?;
    let ledger = open(cli)?;
    require(&ledger, &scope)?;
    let changes = audit::changes(&ledger, from, to, &scope, as_of(&ledger, as_of_text)?)?;
    let book = name_book(
        &ledger,
        changes.iter().map(|c| &c.group),
        changes.iter().map(|c| &c.member),
    )?;
    out.print(&render::changes(&changes, &book, output.format));
    Ok(Status::Done)
}

fn export_spans(
    cli: &Cli,
    g: &Option<String>,
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let g = g.as_deref().map(group).transpose()?;
    let ledger = open(cli)?;
    if let Some(g) = &g {
        find::require_group(&ledger, g)?;
    }
    let as_of = as_of(&ledger, as_of_text)?;
    let rows = muster::query::spans::export_spans(&ledger, g.as_ref(), as_of)?;
    out.print(&render::export_spans(&rows, format));
    Ok(Status::Done)
}

/// `export log`: streamed line by line to the file or to standard output.
fn export_log(
    cli: &Cli,
    since: Option<u64>,
    path: &Option<PathBuf>,
    out: &mut Output<impl Write>,
) -> Run {
    let ledger = open(cli)?;
    match path {
        None => match ledger.export_log(since, out) {
            // The output failed, and the library said so in its own words: `main`
            // reports the failure itself (or, for a closed pipe, nothing).
            Err(_) if out.failed() => {}
            result => {
                result?;
            }
        },
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| Error::io(path, &e))?;
            let mut writer = std::io::BufWriter::new(file);
            ledger.export_log(since, &mut writer)?;
        }
    }
    Ok(Status::Done)
}

fn forget(cli: &Cli, m: &str, format: Format, out: &mut Output<impl Write>) -> Run {
    let m = member(m)?;
    let mut ledger = open(cli)?;
    // A member with a name but no facts can still be forgotten: only one unknown to both
    // is refused, and then with the near matches.
    if ledger.member_name(&m)?.is_none() {
        find::require_member(&ledger, &m)?;
    }
    let outcome = ledger.forget(&m)?;
    out.print(&render::forget(&outcome, format));
    Ok(Status::Done)
}

fn draw_chart(
    cli: &Cli,
    scope: Scope,
    (from, to): (&Option<String>, &Option<String>),
    as_of_text: &Option<String>,
    path: &Path,
    out: &mut Output<impl Write>,
) -> Run {
    let (from, to) = (
        from.as_deref().map(date).transpose()?,
        to.as_deref().map(date).transpose()?,
    );
    let ledger = open(cli)?;
    require(&ledger, &scope)?;
    let chart = chart::chart(&ledger, &scope, from, to, as_of(&ledger, as_of_text)?)?;
    // The line for today: the UTC date, as every time muster records is UTC.
    let now = chrono::Utc::now().date_naive();
    let today = Date::from_ymd(now.year(), now.month(), now.day())
        .map_err(|e| Error::new(ErrorKind::Input, format!("today's date: {e}")))?;
    std::fs::write(path, crate::cli::chart::svg(&chart, today)).map_err(|e| Error::io(path, &e))?;
    out.print(&format!(
        "wrote {} rows to {}\n",
        chart.rows.len(),
        path.display()
    ));
    Ok(Status::Done)
}

fn verify(cli: &Cli, format: Format, out: &mut Output<impl Write>) -> Run {
    let verdict = open(cli)?.verify()?;
    out.print(&render::verdict(&verdict, format));
    Ok(match verdict {
        Verdict::Broken { .. } => Status::Damaged,
        Verdict::Sound { .. } => Status::Done,
    })
}

fn rebuild(cli: &Cli, out: &mut Output<impl Write>) -> Run {
    let mut ledger = open(cli)?;
    ledger.rebuild_with(&Bar::new(true))?;
    out.print(&format!(
        "rebuilt the derived state from {} commits\n",
        ledger.head_seq()
    ));
    Ok(Status::Done)
}
