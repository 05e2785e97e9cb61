//! Running one parsed command: a small function per command that turns its arguments into
//! library types, calls the library, and prints the answer through [`Output`].
//!
//! Owns: dispatch, argument conversion (ids, dates, scopes, `--as-of`), which way a
//! command opens the ledger, and the two import paths the library does not offer as one
//! call yet ([`import_sb`], [`import_spans`]).
//! Must not: hold rules about the ledger (what to record, what an answer contains: the
//! library decides), print except through [`Output`], or choose exit codes (`main` does).

use std::io::Write;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use muster::error::is_standard_stream;
use muster::import::portable::PortableLog;
use muster::import::sb::{self, generate};
use muster::import::{names, spans, statements};
use muster::ledger::{Reanchored, Unfinished};
use muster::log::source::{Source, SourceFile, SourceKind};
use muster::query::{audit, chart};
use muster::sync::schema::SchemaName;
use muster::sync::{SyncOptions, Tenant};
use muster::{
    AsOf, Batch, Date, Error, ErrorKind, GroupId, ImportOutcome, Ledger, MemberId, OpenOptions,
    Scope, Verdict,
};

use crate::cli::args::{
    Cli, Command, ExportCommand, Format, GenCommand, ImportArgs, ImportCommand, InfoFormat,
    ListCommand, OutputFormat, PostgresArgs, SbArgs, SyncCommand,
};
use crate::cli::output::Output;
use crate::cli::progress_bar::Bar;
use crate::cli::render::{self, Detail, NameBook};
use muster::query::{find, membership};

/// How a command ended when it did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Done,
    /// An import recorded commit `0` and finished every step after it: a success, which
    /// stays true even when its report then cannot be written.
    Recorded(u64),
    /// `verify` found damage: an answer, printed, but not a success.
    Damaged,
    /// A commit is recorded, but a step after it failed (see [`Unfinished`]): neither a
    /// success nor a failure, and never reported as either.
    Unfinished(Unfinished),
}

/// The status of a command that may have recorded `commit`, finished or not.
fn recorded(commit: Option<u64>, unfinished: Option<&Unfinished>) -> Status {
    match (unfinished, commit) {
        (Some(unfinished), _) => Status::Unfinished(unfinished.clone()),
        (None, Some(commit)) => Status::Recorded(commit),
        (None, None) => Status::Done,
    }
}

type Run = Result<Status, Error>;

mod nesting;

/// Runs the command `cli` names, printing its answer to `out`.
pub fn run(cli: &Cli, out: &mut Output<impl Write>) -> Run {
    match &cli.command {
        Command::Import(command) => import(cli, command, out),
        Command::Members {
            group,
            on,
            direct,
            as_of,
            output,
        } => members(cli, group, (on, *direct), as_of, output.format, out),
        Command::Groups {
            member,
            on,
            direct,
            as_of,
            output,
        } => groups(cli, member, (on, *direct), as_of, output.format, out),
        Command::Subgroups {
            group,
            on,
            as_of,
            output,
        } => nesting::subgroups(cli, group, on, as_of, output.format, out),
        Command::History {
            group,
            member,
            as_of,
            corrections,
            resolved,
            output,
        } => history(
            cli,
            (group, member),
            as_of,
            (*corrections, *resolved),
            output,
            out,
        ),
        Command::Changes {
            from,
            to,
            group,
            member,
            resolved,
            as_of,
            output,
        } => changes(
            cli,
            (from, to),
            (group, member),
            (as_of, *resolved),
            output,
            out,
        ),
        Command::Export(ExportCommand::Spans {
            group,
            resolved,
            as_of,
            output,
        }) => export_spans(cli, group, *resolved, as_of, output.format, out),
        Command::Export(ExportCommand::Log { since, output }) => {
            export_log(cli, *since, output, out)
        }
        Command::Forget { member, output } => forget(cli, member, output.format, out),
        Command::Chart {
            group,
            member,
            from,
            to,
            resolved,
            as_of,
            output,
        } => draw_chart(
            cli,
            scope(group, member)?,
            (from, to),
            (as_of, *resolved),
            output,
            out,
        ),
        Command::Log { output } => {
            out.print(&render::log(
                &open_past_damaged_anchor(cli)?.log()?,
                output.format,
            ));
            Ok(Status::Done)
        }
        Command::Verify { output } => verify(cli, output.format, out),
        Command::Rebuild => rebuild(cli, out),
        Command::Reanchor => reanchor(cli, out),
        Command::Sync(SyncCommand::Postgres(args)) => sync_postgres(cli, args, out),
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
            if is_standard_stream(dir) {
                return Err(Error::new(
                    ErrorKind::Input,
                    "an SB export is a directory of CSV files and cannot be written to \
                     standard output ('-'); give a directory",
                ));
            }
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

/// The word an argument may give instead of a date: the current date where muster runs.
const TODAY: &str = "today";

/// A date argument: `YYYY-MM-DD`, or `today` (the local calendar date, as a person at the
/// machine means it). Input files never accept `today`: their dates are facts.
fn date(text: &str) -> Result<Date, Error> {
    named_date("date", text)
}

/// Today's date as `today` means it in arguments (the chart's line for today).
fn today() -> Result<Date, Error> {
    named_date("today", TODAY)
}

/// [`date`], its error naming the argument as `what`.
fn named_date(what: &str, text: &str) -> Result<Date, Error> {
    let parsed = if text.trim().eq_ignore_ascii_case(TODAY) {
        Date::new(chrono::Local::now().date_naive())
    } else {
        Date::parse(text)
    };
    parsed.map_err(|e| Error::new(ErrorKind::Input, format!("{what} {text:?}: {e}")))
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

/// How imports open the ledger: creating it when there is none.
fn open_options(cli: &Cli) -> OpenOptions {
    OpenOptions {
        lock_wait: Duration::from_secs(cli.wait),
        create: true,
        past_a_damaged_anchor: false,
    }
}

/// Opens the ledger for a command that is not an import: a path with no ledger is
/// refused ("no ledger at PATH"), and nothing is created there.
fn open(cli: &Cli) -> Result<Ledger, Error> {
    Ledger::open(&cli.db, open_options(cli).existing())
}

/// Opens the ledger for a command that reads the log and says what it finds (`verify`,
/// `log`, `export log`, `reanchor`): also past a damaged head anchor, so that a user can
/// check and copy the log before repairing the anchor.
fn open_past_damaged_anchor(cli: &Cli) -> Result<Ledger, Error> {
    let options = OpenOptions {
        past_a_damaged_anchor: true,
        ..open_options(cli).existing()
    };
    Ledger::open(&cli.db, options)
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
        ImportCommand::Nesting(args) => import_file(
            cli,
            args,
            SourceKind::Nesting,
            muster::import::nesting::read_nesting,
            out,
        ),
        ImportCommand::Spans(args) => {
            let outcome = import_spans(cli, &args.file, args.dry_run)?;
            print_import(&outcome, args, out);
            Ok(recorded(outcome.commit, outcome.unfinished.as_ref()))
        }
        ImportCommand::Names {
            file,
            output,
            quiet: _,
        } => {
            // The answer is one line already: `--quiet` changes nothing.
            let (names, source) = names::read_names(file)?;
            let ((stored, skipped), status) =
                Ledger::importing(&cli.db, open_options(cli), false, |ledger| {
                    let before = ledger.head_seq();
                    let answer = ledger.import_names(names, source)?;
                    let commit = Some(ledger.head_seq()).filter(|head| *head > before);
                    Ok((answer, recorded(commit, ledger.unfinished())))
                })?;
            out.print(&render::names_imported(stored, skipped, output.format));
            Ok(status)
        }
        ImportCommand::Sb(args) => import_sb_command(cli, args, out),
        ImportCommand::Log {
            file,
            output,
            // The answer is one line already: `--quiet` changes nothing.
            quiet: _,
        } => {
            // Read and check the whole file before the ledger is opened, as for CSV.
            let log = PortableLog::read_file(file)?;
            let outcome = Ledger::importing(&cli.db, open_options(cli), false, |ledger| {
                ledger.replay(&log)
            })?;
            out.print(&render::replayed(&outcome, output.format));
            Ok(recorded(
                outcome.appended.last().copied(),
                outcome.unfinished.as_ref(),
            ))
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
    let source = Source {
        kind,
        files: vec![file],
        options: Vec::new(),
    };
    let outcome = Ledger::importing(&cli.db, open_options(cli), args.dry_run, |ledger| {
        ledger.import(&batch, source, args.dry_run)
    })?;
    print_import(&outcome, args, out);
    Ok(recorded(outcome.commit, outcome.unfinished.as_ref()))
}

/// An import's answer, or with `--quiet` its one summary line.
fn print_import(outcome: &ImportOutcome, args: &ImportArgs, out: &mut Output<impl Write>) {
    if args.quiet.quiet {
        out.print(&render::import_sentence(outcome));
    } else {
        out.print(&render::import(outcome, args.output.format));
    }
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
    Ledger::importing(&cli.db, open_options(cli), dry_run, |ledger| {
        ledger.import_spans(&merged, source, dry_run)
    })
}

fn import_sb_command(cli: &Cli, args: &SbArgs, out: &mut Output<impl Write>) -> Run {
    let start = match &args.start {
        Some(text) => Some(named_date("--start", text)?),
        None => None,
    };
    let progress = Bar::new(args.output.format != Format::Json && !args.quiet.quiet);
    let report = muster::ledger::sb::import_dir(
        &cli.db,
        open_options(cli),
        &args.dir,
        &sb::Options { start },
        args.dry_run,
        &progress,
    )?;
    let detail = match (args.quiet.quiet, args.verbose) {
        (true, _) => Detail::Quiet,
        (false, true) => Detail::Verbose,
        (false, false) => Detail::Report,
    };
    // A failed write is kept by `out` for `main` to report (or, for a closed pipe, not).
    let _ = render::write_sb_import(&report, args.output.format, detail, out);
    if detail == Detail::Quiet {
        // Cron mails what reaches standard error: the warnings, and only them.
        for warning in render::sb_warnings(&report) {
            out.warn(&format!(
                "warning (recorded all the same): {}",
                warning.line
            ));
            if args.verbose {
                for subject in &warning.subjects {
                    out.warn(&format!("  {subject}"));
                }
            }
        }
    }
    Ok(recorded(
        report.outcome.commit,
        report.outcome.unfinished.as_ref(),
    ))
}

fn members(
    cli: &Cli,
    g: &str,
    (on, direct): (&str, bool),
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let (g, on) = (group(g)?, date(on)?);
    let ledger = open_to_ask(cli, as_of_text)?;
    find::require_group(&ledger, &g)?;
    let as_of = as_of(&ledger, as_of_text)?;
    if !direct {
        out.print(&nesting::members(&ledger, &g, on, as_of, format)?);
        return Ok(Status::Done);
    }
    let members = membership::members(&ledger, &g, on, as_of)?;
    let names = ledger.member_names(&members)?;
    out.print(&render::members(&g, on, &members, &names, format));
    Ok(Status::Done)
}

fn groups(
    cli: &Cli,
    m: &str,
    (on, direct): (&str, bool),
    as_of_text: &Option<String>,
    format: Format,
    out: &mut Output<impl Write>,
) -> Run {
    let (m, on) = (member(m)?, date(on)?);
    let ledger = open_to_ask(cli, as_of_text)?;
    find::require_member(&ledger, &m)?;
    let as_of = as_of(&ledger, as_of_text)?;
    if !direct {
        out.print(&nesting::groups(&ledger, &m, on, as_of, format)?);
        return Ok(Status::Done);
    }
    let groups = membership::groups(&ledger, &m, on, as_of)?;
    let names = ledger.group_names(&groups)?;
    out.print(&render::groups(&m, on, &groups, &names, format));
    Ok(Status::Done)
}

fn history(
    cli: &Cli,
    (g, m): (&Option<String>, &Option<String>),
    as_of_text: &Option<String>,
    (corrections, resolved): (bool, bool),
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
        _ if resolved => muster::query::resolved_history::history(&ledger, &scope, as_of)?,
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
    (as_of_text, resolved): (&Option<String>, bool),
    output: &OutputFormat,
    out: &mut Output<impl Write>,
) -> Run {
    let (from, to) = (date(from)?, date(to)?);
    let scope = scope(g, m)?;
    let ledger = open(cli)?;
    require(&ledger, &scope)?;
    let as_of = as_of(&ledger, as_of_text)?;
    let changes = if resolved {
        muster::query::resolved_history::changes(&ledger, from, to, &scope, as_of)?
    } else {
        audit::changes(&ledger, from, to, &scope, as_of)?
    };
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
    resolved: bool,
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
    let rows = if resolved {
        muster::query::resolved_history::export_spans(&ledger, g.as_ref(), as_of)?
    } else {
        muster::query::spans::export_spans(&ledger, g.as_ref(), as_of)?
    };
    out.print(&render::export_spans(&rows, format));
    Ok(Status::Done)
}

/// `export log`: streamed line by line to standard output (no `-o`, or `-o -`) or to a
/// file. A file is written aside and renamed into place when the whole log is in it, so a
/// refused or failed export never leaves a partial backup that looks like a whole one.
fn export_log(
    cli: &Cli,
    since: Option<u64>,
    path: &Option<PathBuf>,
    out: &mut Output<impl Write>,
) -> Run {
    let ledger = open_past_damaged_anchor(cli)?;
    match path.as_deref().filter(|path| !is_standard_stream(path)) {
        None => match ledger.export_log(since, out) {
            // The output failed, and the library said so in its own words: `main`
            // reports the failure itself (or, for a closed pipe, nothing).
            Err(_) if out.failed() => {}
            result => {
                result?;
            }
        },
        Some(path) => write_whole(path, |writer| ledger.export_log(since, writer).map(|_| ()))?,
    }
    Ok(Status::Done)
}

/// Writes a file through `write` into a sibling `.partial` file, renamed over `path` only
/// when `write` succeeded; on failure the partial file is removed and `path` untouched.
fn write_whole(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = (|| {
        let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, &e))?;
        let mut writer = std::io::BufWriter::new(file);
        write(&mut writer)?;
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&partial, e.error()))?;
        file.sync_all().map_err(|e| Error::io(&partial, &e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(path, &e))
    })();
    if written.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = std::fs::remove_file(&partial);
    }
    written
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
    Ok(recorded(outcome.commit, ledger.unfinished()))
}

fn draw_chart(
    cli: &Cli,
    scope: Scope,
    (from, to): (&Option<String>, &Option<String>),
    (as_of_text, resolved): (&Option<String>, bool),
    path: &Path,
    out: &mut Output<impl Write>,
) -> Run {
    let (from, to) = (
        from.as_deref().map(date).transpose()?,
        to.as_deref().map(date).transpose()?,
    );
    let ledger = open(cli)?;
    require(&ledger, &scope)?;
    let as_of = as_of(&ledger, as_of_text)?;
    let chart = if resolved {
        let spans = muster::query::resolved_history::history(&ledger, &scope, as_of)?;
        chart::chart_of(&ledger, &scope, &spans, from, to)?
    } else {
        chart::chart(&ledger, &scope, from, to, as_of)?
    };
    let svg = crate::cli::chart::svg(&chart, today()?);
    if is_standard_stream(path) {
        // Standard output carries the SVG alone, so that it can be piped on.
        out.print(&svg);
        return Ok(Status::Done);
    }
    std::fs::write(path, svg).map_err(|e| Error::io(path, &e))?;
    out.print(&format!(
        "wrote {} rows to {}\n",
        chart.rows.len(),
        path.display()
    ));
    Ok(Status::Done)
}

/// `sync postgres`: once, or `--follow` until SIGINT or SIGTERM (each ends the loop after
/// the sync under way, never inside it).
fn sync_postgres(cli: &Cli, args: &PostgresArgs, out: &mut Output<impl Write>) -> Run {
    let options = SyncOptions {
        ledger: cli.db.clone(),
        url: args.url.clone(),
        tenant: match &args.tenant {
            Some(tenant) => Tenant::new(tenant)?,
            None => Tenant::of_ledger(&cli.db)?,
        },
        schema: SchemaName::new(&args.schema)?,
        full: args.full,
        wait: Duration::from_secs(cli.wait),
    };
    let format = args.output.format;
    let bar = Bar::new(format != Format::Json);
    if !args.follow {
        let outcome = muster::sync::sync_once(&options, &bar)?;
        out.print(&render::synced(&outcome, format));
        return Ok(Status::Done);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::new(ErrorKind::Io, format!("listening for signals: {e}")))?;
    }
    muster::sync::follow(
        &options,
        Duration::from_secs(args.poll),
        &stop,
        &bar,
        &mut |outcome| {
            out.print(&render::synced(outcome, format));
            match out.failed() {
                // Nobody reads the reports any more: stop following, quietly.
                true => Err(Error::new(ErrorKind::Io, "writing the sync report")),
                false => Ok(()),
            }
        },
    )
    .or_else(|error| match out.failed() {
        true => Ok(()),
        false => Err(error),
    })?;
    Ok(Status::Done)
}

fn verify(cli: &Cli, format: Format, out: &mut Output<impl Write>) -> Run {
    let verdict = open_past_damaged_anchor(cli)?.verify()?;
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
    let repair = ledger.repair_vault()?;
    out.print(&render::vault_repair(&repair));
    Ok(Status::Done)
}

fn reanchor(cli: &Cli, out: &mut Output<impl Write>) -> Run {
    let mut ledger = open_past_damaged_anchor(cli)?;
    match ledger.reanchor()? {
        Reanchored::Written { commit, hash } => out.print(&format!(
            "the log is sound; wrote the head anchor: commit {commit} ({})\n",
            muster::log::hash::hex(&hash)
        )),
        Reanchored::AlreadySound { commit } => out.print(&format!(
            "the head anchor is sound (commit {commit}); nothing to do\n"
        )),
    }
    Ok(Status::Done)
}
