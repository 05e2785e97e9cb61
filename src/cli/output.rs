//! Standard output, written in one place so that no command panics on output.
//!
//! Owns: [`Output`], the one writer every command's answer goes through (and its warnings,
//! to standard error) (`print!` panics
//! when stdout is a closed pipe or a full disk; this records the failure instead), and
//! [`WriteFailure`], what `main` makes of a failure: a closed pipe ends the command quietly
//! (the reader has what it wanted, as with `head -1`), any other failure is an error.
//! Must not: decide exit codes or print error messages (`main` does), or write anywhere
//! but the writer it was given and, for warnings, standard error.

use std::io::{self, Write};

/// Standard output (or, in tests, any writer) that remembers its first failure. After a
/// failure nothing more is written: the rest of the answer has nowhere to go.
pub struct Output<W: Write> {
    writer: W,
    failure: Option<io::Error>,
}

/// How writing the answer failed.
#[derive(Debug)]
pub enum WriteFailure {
    /// The reader went away (`muster … | head -1`): not an error of the command.
    ClosedPipe,
    /// Anything else (a full disk, a device error): the answer was lost.
    Failed(io::Error),
}

impl Output<io::StdoutLock<'static>> {
    pub fn stdout() -> Self {
        Output::new(io::stdout().lock())
    }
}

impl<W: Write> Output<W> {
    pub fn new(writer: W) -> Self {
        Output {
            writer,
            failure: None,
        }
    }

    /// Writes `text`; a failure is kept for [`Output::finish`], not returned, because the
    /// command has done its work by the time it prints and its status must not change.
    pub fn print(&mut self, text: &str) {
        // Through `Write::write_all`, so through the one `write` below.
        let _ = self.write_all(text.as_bytes());
    }

    /// Writes a warning line to standard error as `muster: TEXT`: what cron mails while
    /// `--quiet` keeps standard output to one line. A closed stderr loses it rather than
    /// failing the command, whose work is done.
    pub fn warn(&mut self, text: &str) {
        let _ = writeln!(io::stderr(), "muster: {text}");
    }

    /// Whether a write has failed (a command that streams stops at the first failure and
    /// leaves the reporting to [`Output::finish`]).
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Flushes what is buffered and says how writing went.
    pub fn finish(mut self) -> Result<(), WriteFailure> {
        let _ = self.flush();
        match self.failure {
            None => Ok(()),
            Some(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                Err(WriteFailure::ClosedPipe)
            }
            Some(error) => Err(WriteFailure::Failed(error)),
        }
    }

    fn keep<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(error) = &result {
            if self.failure.is_none() {
                self.failure = Some(io::Error::new(error.kind(), error.to_string()));
            }
        }
        result
    }

    fn refuse_after_failure(&self) -> io::Result<()> {
        match &self.failure {
            Some(error) => Err(io::Error::new(error.kind(), error.to_string())),
            None => Ok(()),
        }
    }
}

/// Every byte of output passes through here.
impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.refuse_after_failure()?;
        let result = self.writer.write(buf);
        self.keep(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.refuse_after_failure()?;
        let result = self.writer.flush();
        self.keep(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails every write with `kind`.
    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_failures() {
        let mut closed = Output::new(Failing(io::ErrorKind::BrokenPipe));
        closed.print("a\n");
        closed.print("b\n");
        assert!(closed.failed());
        assert!(matches!(closed.finish(), Err(WriteFailure::ClosedPipe)));
        let mut full = Output::new(Failing(io::ErrorKind::StorageFull));
        full.print("a\n");
        assert!(
            matches!(full.finish(), Err(WriteFailure::Failed(e)) if e.kind() == io::ErrorKind::StorageFull)
        );
        let mut fine = Output::new(Vec::new());
        fine.print("a\n");
        assert!(!fine.failed());
        assert!(fine.finish().is_ok());
    }
}
