//! Helpers shared by the integration tests: running the built binary in a temporary
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary working directory with a ledger path, and the muster binary.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What one run of the binary printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts success and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Unpacks `tests/data/ARCHIVE` (a `.tar.gz`) into the sandbox.
    pub fn unpack(&self, archive: &str) {
        let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(archive);
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(self.dir.path())
            .status()
            .expect("run tar");
        assert!(status.success(), "unpacking {}", archive.display());
    }

    pub fn db(&self) -> PathBuf {
        self.path("ledger.db")
    }

    /// Writes `content` to `name` inside the sandbox and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, content).expect("write file");
        path
    }

    /// Runs `muster --db <sandbox ledger> ARGS` in the sandbox directory.
    pub fn muster(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), &self.db(), args)
    }
}

/// `muster --db DB ARGS` run in `dir`, with `MUSTER_DB` and `MUSTER_POSTGRES_URL` unset so
/// the machine's environment cannot pick another ledger or database: how every test starts
/// the built binary.
pub fn muster_command(dir: impl AsRef<Path>, db: impl AsRef<Path>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_muster"));
    command
        .current_dir(dir)
        .arg("--db")
        .arg(db.as_ref())
        .args(args)
        .env_remove("MUSTER_DB")
        .env_remove("MUSTER_POSTGRES_URL");
    command
}

pub fn run_in(dir: &Path, db: &Path, args: &[&str]) -> Run {
    Run::from(muster_command(dir, db, args).output().expect("run muster"))
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A small seeded pseudo-random generator (the SB generator's SplitMix64), so that tests
/// that pick random moments or bytes are repeatable from their seed.
pub use muster::import::sb::generate::SplitMix64 as Rng;

/// An observations CSV of `groups` × `members_per_group` rows on one date, groups named
/// `<prefix><n>`; `shift` moves the membership so that consecutive files differ (joins
/// and leaves).
pub fn observations_csv(
    date: &str,
    prefix: &str,
    groups: usize,
    members_per_group: usize,
    shift: usize,
) -> String {
    let mut text = String::from("date,group,member\n");
    for group in 0..groups {
        for index in 0..members_per_group {
            let member = (index + shift * 13 + group) % (members_per_group + 60);
            text.push_str(&format!("{date},{prefix}{group},m{member}\n"));
        }
    }
    text
}

/// One expectation about one run: exit code, and text that stdout or stderr must hold.
pub struct Case<'a> {
    pub args: &'a [&'a str],
    pub code: i32,
    pub stdout_has: &'a [&'a str],
    pub stderr_has: &'a [&'a str],
}

/// Runs the case in `sandbox` and asserts its expectations; returns the run.
pub fn check(sandbox: &Sandbox, case: Case) -> Run {
    let run = sandbox.muster(case.args);
    assert_eq!(
        run.code, case.code,
        "{:?}\nstdout: {}\nstderr: {}",
        case.args, run.stdout, run.stderr
    );
    for text in case.stdout_has {
        assert!(
            run.stdout.contains(text),
            "{:?}: stdout lacks {text:?}:\n{}",
            case.args,
            run.stdout
        );
    }
    for text in case.stderr_has {
        assert!(
            run.stderr.contains(text),
            "{:?}: stderr lacks {text:?}:\n{}",
            case.args,
            run.stderr
        );
    }
    run
}

/// Two weeks of one activity and one of another, as observations.
pub const WEEK_ONE: &str = "date,group,member\n\
2015-11-16,34340,1001\n\
2015-11-16,34340,1002\n\
2015-11-16,chess,1001\n\
2015-11-30,34340,1001\n\
2015-11-30,34340,1003\n";

/// An earlier week that arrives after the later ones.
pub const LATE_WEEK: &str = "date,group,member\n2015-11-23,34340,1001\n2015-11-23,34340,1004\n";

/// A sandbox ledger with [`WEEK_ONE`] imported, then [`LATE_WEEK`] arriving late.
pub fn two_commits() -> Sandbox {
    let sandbox = Sandbox::new();
    let weeks = sandbox.write("weeks.csv", WEEK_ONE);
    let late = sandbox.write("late.csv", LATE_WEEK);
    sandbox
        .muster(&["import", "observations", weeks.to_str().unwrap()])
        .ok();
    sandbox
        .muster(&["import", "observations", late.to_str().unwrap()])
        .ok();
    sandbox
}

/// Asserts that `run` exited with `code` and that its standard error holds every text.
pub fn assert_code(run: &Run, code: i32, texts: &[&str]) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for text in texts {
        assert!(
            run.stderr.contains(text),
            "stderr lacks {text:?}: {}",
            run.stderr
        );
    }
}
