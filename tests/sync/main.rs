//! `muster sync postgres` against a real PostgreSQL: the database equals the ledger after a
//! first sync, a late week, a take-back, an erasure, two tenants, kills, forks and
//! concurrent syncs.
//!
//! The server is the one `MUSTER_TEST_POSTGRES_URL` names: `scripts/with-postgres` starts a
//! throwaway cluster and sets it (`.ci/run` does so). Without it the tests are skipped,
//! saying so and how to run them, unless `MUSTER_TEST_REQUIRE_POSTGRES=1` (CI) makes that
//! a failure. This target has its own small runner (`harness = false`), so that the skip
//! message is printed by `cargo test` rather than captured.

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../it/support.rs"]
mod support;

mod database;
mod scenarios;

use database::Server;

/// A scenario by its name.
macro_rules! test {
    ($name:ident) => {
        (stringify!($name), scenarios::$name as fn(&Server))
    };
}

/// One test: a name and a body that panics on failure.
type Test = (&'static str, fn(&Server));

const TESTS: &[Test] = &[
    test!(a_first_sync_a_late_week_and_a_take_back_reach_the_database),
    test!(a_second_run_changes_nothing),
    test!(an_erasure_removes_the_name_and_keeps_the_spans),
    test!(two_tenants_share_one_database),
    test!(nested_groups_and_exclusions_reach_the_resolved_spans),
    test!(a_fork_is_refused_and_changes_nothing),
    test!(rows_changed_outside_muster_are_refused),
    test!(tables_of_a_newer_muster_are_refused),
    test!(two_syncs_at_once_give_the_exact_rows),
    test!(a_follower_applies_each_new_commit_and_ends_cleanly),
    test!(killed_syncs_leave_the_database_exact),
];

fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    // Built with TLS (`--features tls`): the sync over TLS too.
    #[cfg(feature = "tls")]
    let tests: Vec<Test> = TESTS
        .iter()
        .copied()
        .chain([test!(a_sync_over_tls_verifies_the_server_certificate)])
        .collect();
    #[cfg(not(feature = "tls"))]
    let tests: Vec<Test> = TESTS.to_vec();
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    let Some(server) = Server::from_environment() else {
        if std::env::var("MUSTER_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            eprintln!(
                "sync tests: MUSTER_TEST_REQUIRE_POSTGRES=1 but MUSTER_TEST_POSTGRES_URL is not \
                 set: no PostgreSQL to test against (scripts/with-postgres starts one)"
            );
            return ExitCode::FAILURE;
        }
        println!(
            "\nsync tests: {} skipped: no PostgreSQL (MUSTER_TEST_POSTGRES_URL is not set). \
             Run them with:\n    scripts/with-postgres cargo test --test sync\n",
            selected.len()
        );
        return ExitCode::SUCCESS;
    };
    println!("\nrunning {} sync tests against PostgreSQL", selected.len());
    let mut failed = Vec::new();
    for (name, body) in &selected {
        let started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(&server)));
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({seconds:.1} s)"),
            Err(_) => {
                println!("test {name} ... FAILED ({seconds:.1} s)");
                failed.push(*name);
            }
        }
    }
    println!(
        "\nsync test result: {}. {} passed; {} failed\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures: {failed:?}");
        ExitCode::FAILURE
    }
}
