//! The second peer: DuckDB, driven from Python by `benches/support/duckdb_peer.py`, in a
//! virtual environment this module makes under `<target>/bench-data/duckdb/` with `pip`.
//!
//! Owns: installing the peer (once; later runs find it), and starting one peer operation as
//! a child process. Must not: time anything (the report does), panic, or write outside its
//! directory. Where the peer cannot be installed (no Python, no network), [`DuckDb::install`]
//! says why in one sentence and the caller carries on without it.

#![allow(dead_code)] // The report and the fairness test use different parts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The package installed from the registry, pinned so runs compare the same peer.
pub const PACKAGE: &str = "duckdb==2.0.1";
/// The script every operation runs.
pub const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/support/duckdb_peer.py"
);
/// Written into the environment once the package imports; without it the install is redone.
const INSTALLED_MARKER: &str = "installed";

/// An installed DuckDB peer: the environment's Python interpreter.
#[derive(Clone, Debug)]
pub struct DuckDb {
    python: PathBuf,
}

/// `<target>/bench-data/duckdb`, where `<target>` is `CARGO_TARGET_DIR` or the crate's.
pub fn default_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data").join("duckdb")
}

fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", command.get_program()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return Err(format!(
            "{what} failed ({}): {}",
            output.status,
            last.unwrap_or("no message")
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl DuckDb {
    /// Finds the peer installed under `dir`, or installs it there: `python3 -m venv`, then
    /// `pip install` [`PACKAGE`]. The environment is built aside and renamed into place, so
    /// an interrupted install is redone, not trusted.
    pub fn install(dir: &Path) -> Result<DuckDb, String> {
        let venv = dir.join("venv");
        let python = venv.join("bin").join("python");
        if venv.join(INSTALLED_MARKER).exists() {
            return Ok(DuckDb { python });
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let partial = dir.join(format!("venv.partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        let installed = (|| {
            run(
                Command::new("python3").args(["-m", "venv"]).arg(&partial),
                "python3 -m venv",
            )?;
            let partial_python = partial.join("bin").join("python");
            run(
                Command::new(&partial_python)
                    // Without a network pip would retry for minutes: give up soon, and say so.
                    .args(["-m", "pip", "install", "--quiet", "--retries", "1"])
                    .args(["--timeout", "30", PACKAGE])
                    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
                &format!("pip install {PACKAGE}"),
            )?;
            run(
                Command::new(&partial_python).args(["-c", "import duckdb"]),
                "import duckdb",
            )?;
            std::fs::write(partial.join(INSTALLED_MARKER), PACKAGE)
                .map_err(|e| format!("write the marker in {}: {e}", partial.display()))
        })();
        if let Err(error) = installed {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(error);
        }
        // A venv's scripts name its directory; the interpreter is found through the
        // symlink in bin/, which a rename keeps working.
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::rename(&partial, &venv)
            .map_err(|e| format!("rename {} into place: {e}", partial.display()))?;
        Ok(DuckDb { python })
    }

    /// One peer operation on the database at `database`, as a command to start.
    pub fn command(&self, operation: &str, database: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(SCRIPT).arg(operation).arg(database).args(args);
        command
    }

    /// Runs one operation and returns its standard output's lines.
    pub fn lines(
        &self,
        operation: &str,
        database: &Path,
        args: &[&str],
    ) -> Result<Vec<String>, String> {
        let out = run(
            &mut self.command(operation, database, args),
            &format!("duckdb peer {operation}"),
        )?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// Members of each (group, date), asked in one process: one list per question.
    pub fn members_batch(
        &self,
        database: &Path,
        questions: &[(String, String)],
    ) -> Result<Vec<Vec<String>>, String> {
        let mut child = self
            .command("members-batch", database, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("duckdb peer members-batch: {e}"))?;
        let mut input = String::new();
        for (group, on) in questions {
            input.push_str(&format!("{group}\t{on}\n"));
        }
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .map_err(|e| format!("duckdb peer members-batch: write: {e}"))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| format!("duckdb peer members-batch: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "duckdb peer members-batch failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                let members = line.splitn(3, '\t').nth(2).unwrap_or("");
                members
                    .split(',')
                    .filter(|member| !member.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .collect())
    }
}
