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

pub fn run_in(dir: &Path, db: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .current_dir(dir)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MUSTER_DB")
        .output()
        .expect("run muster");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
