//! `muster sync postgres`, timed: the first sync of each scale's ledger (a whole copy with
//! COPY) and the catch-up after its late week (a commit that changes earlier spans), into
//! a real PostgreSQL. Run with `scripts/with-postgres cargo bench --bench sync` (or with
//! `MUSTER_TEST_POSTGRES_URL` naming a server); without a server it says so and stops.
//!
//! Owns: the sync table. Must not: assert on timings, or write outside
//! `<target>/bench-data/` and the schema `bench_sync` of the server it is given.
//!
//! The sync runs in-library (`muster::sync::sync_once`), without the process start the
//! report's rows include; each run starts from a fresh copy of the cached ledger and an
//! emptied schema.

mod support {
    pub mod data;
    pub mod peer;
    pub mod synthetic;
}

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use muster::progress::NoProgress;
use muster::sync::schema::SchemaName;
use muster::sync::{sync_once, SyncOptions, SyncOutcome, Tenant};
use support::data;

/// Runs of each operation; the median is shown.
const RUNS: usize = 3;
const SCHEMA: &str = "bench_sync";
const RUNS_ENV: &str = "MUSTER_BENCH_RUNS";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sync bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let Some(url) = std::env::var("MUSTER_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!(
            "sync bench: no PostgreSQL (MUSTER_TEST_POSTGRES_URL is not set). Run it with:\n    \
             scripts/with-postgres cargo bench --bench sync"
        );
        return Ok(());
    };
    let runs = std::env::var(RUNS_ENV)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(RUNS)
        .max(1);
    let mut table = String::from(
        "| scale | facts | first sync (COPY) | spans copied | late-week catch-up | spans removed + added |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for scale in data::scales()? {
        let Some(sb_scale) = scale.sb() else {
            eprintln!("sync bench: {} has no SB export; skipped", scale.name());
            continue;
        };
        let inputs = data::sb_data(scale, sb_scale)?;
        let facts = data::fact_count(&inputs.ledger_full)?;
        let work = data::bench_data_dir().join("sync-work");
        let mut first = Vec::new();
        let mut catch_up = Vec::new();
        let (mut copied, mut changed) = (0, 0);
        for _ in 0..runs {
            // First sync: the whole ledger, into an empty schema.
            empty_schema(&url)?;
            let ledger = fresh_copy(&inputs.ledger_full, &work)?;
            let outcome = sync(&url, &ledger)?;
            copied = outcome.spans_added;
            first.push(outcome.took);
            // A late week: the ledger without it, synced, then the week imported.
            empty_schema(&url)?;
            let ledger = fresh_copy(&inputs.ledger_before_late, &work)?;
            sync(&url, &ledger)?;
            data::import_sb(&ledger, &[&inputs.late])?;
            let outcome = sync(&url, &ledger)?;
            changed = outcome.spans_removed + outcome.spans_added;
            catch_up.push(outcome.took);
        }
        table.push_str(&format!(
            "| {} | {facts} | {} | {copied} | {} | {changed} |\n",
            scale.name(),
            seconds(median(&mut first)),
            seconds(median(&mut catch_up)),
        ));
    }
    empty_schema(&url)?;
    println!("\nmuster sync postgres, median of {runs} runs:\n\n{table}");
    Ok(())
}

fn sync(url: &str, ledger: &Path) -> Result<SyncOutcome, String> {
    let options = SyncOptions {
        ledger: ledger.to_path_buf(),
        url: url.to_string(),
        tenant: Tenant::new("bench").map_err(|e| e.to_string())?,
        schema: SchemaName::new(SCHEMA).map_err(|e| e.to_string())?,
        full: false,
        wait: Duration::from_secs(10),
    };
    sync_once(&options, &NoProgress).map_err(|e| format!("sync: {e}"))
}

fn empty_schema(url: &str) -> Result<(), String> {
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|e| format!("connect: {e}"))?;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        .map_err(|e| format!("drop the bench schema: {e}"))
}

/// A copy of the cached ledger `from` at `work`, replacing what was there.
fn fresh_copy(from: &Path, work: &Path) -> Result<std::path::PathBuf, String> {
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    data::copy_tree(from, work)?;
    Ok(work.to_path_buf())
}

/// The median of `times`, which holds one time per run (at least one run: `run` says so).
fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn seconds(time: Duration) -> String {
    match time.as_secs_f64() {
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s => format!("{s:.2} s"),
    }
}
