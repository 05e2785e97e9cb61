//! `muster sync postgres` where no database is needed to tell: bad arguments are refused
//! before connecting, an unreachable database is exit 9, and the URL (which may hold a
//! password) is never printed. The rest, against a real PostgreSQL, is `tests/sync/`.

use crate::support::{assert_code, two_commits};

/// A socket directory that does not exist: connecting fails at once, with no server.
const UNREACHABLE: &str = "host=/nonexistent/muster-test dbname=school password=hunter2";

#[test]
fn an_unreachable_database_is_exit_9_and_the_url_is_never_printed() {
    let sandbox = two_commits();
    let run = sandbox.muster(&["sync", "postgres", "--url", UNREACHABLE]);
    assert_code(&run, 9, &["PostgreSQL, connecting"]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    // The same from the environment.
    let run =
        crate::support::muster_command(sandbox.dir.path(), sandbox.db(), &["sync", "postgres"])
            .env("MUSTER_POSTGRES_URL", UNREACHABLE)
            .output()
            .expect("run muster");
    assert_eq!(
        run.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!String::from_utf8_lossy(&run.stderr).contains("hunter2"));
}

#[test]
fn bad_schema_and_tenant_names_are_refused_before_connecting() {
    let sandbox = two_commits();
    for (flag, value, says) in [
        ("--schema", "a-b", "--schema \"a-b\": a schema name is"),
        ("--schema", "1st", "not starting with a digit"),
        ("--schema", "x\"; DROP TABLE y; --", "a schema name is"),
        ("--tenant", "", "--tenant \"\": a tenant is 1 to 64 bytes"),
        (
            "--tenant",
            " padded",
            "without control characters or spaces at either end",
        ),
        ("--tenant", &"t".repeat(65), "a tenant is 1 to 64 bytes"),
    ] {
        let run = sandbox.muster(&["sync", "postgres", "--url", UNREACHABLE, flag, value]);
        // Exit 2, not 9: refused before any connection was tried.
        assert_code(&run, 2, &[says]);
    }
    let run = sandbox.muster(&["sync", "postgres"]);
    assert_code(&run, 2, &["--url"]);
}
