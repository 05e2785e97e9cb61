//! Shell completions and the manual page, both generated from the clap definition in
//! `args.rs` (`clap_complete`, `clap_mangen`), so they cannot drift from `--help`.
//!
//! Owns: [`completions`] and [`man_page`].
//! Must not: print or write files (the command prints what these return).

use clap::CommandFactory;

use muster::{Error, ErrorKind};

use crate::cli::args::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<String, Error> {
    let mut command = Cli::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, "muster", &mut bytes);
    text(bytes)
}

/// The manual page, in roff: muster's page with every subcommand's page after it, so that
/// one file documents every command and argument.
pub fn man_page() -> Result<String, Error> {
    let command = Cli::command();
    let mut bytes = Vec::new();
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing the manual: {e}"));
    clap_mangen::Man::new(command.clone())
        .render(&mut bytes)
        .map_err(io)?;
    for (path, sub) in subcommands(&command, "muster") {
        // A subcommand's page is titled with its whole path (`muster-import-sb`).
        let sub = sub.clone().display_name(path);
        clap_mangen::Man::new(sub).render(&mut bytes).map_err(io)?;
    }
    text(bytes)
}

/// Every subcommand at any depth, with its path (`muster-import-sb`), in order.
fn subcommands(command: &clap::Command, path: &str) -> Vec<(String, clap::Command)> {
    let mut out = Vec::new();
    for sub in command.get_subcommands() {
        let sub_path = format!("{path}-{}", sub.get_name());
        out.push((sub_path.clone(), sub.clone()));
        out.extend(subcommands(sub, &sub_path));
    }
    out
}

fn text(bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::Io, "generated text is not UTF-8"))
}
