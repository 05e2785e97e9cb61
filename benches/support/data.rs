//! Benchmark data: which scales to run, and the generated exports, ledgers and peer
//! databases for each, built once and cached under `<target>/bench-data/`.
//!
//! Owns: [`BenchScale`] and `MUSTER_BENCH_SCALES`, the cache layout and its key (scale,
//! seed, the commit body version muster writes), and building the cached inputs.
//! Must not: time anything (the benches do), or write outside `<target>/bench-data/`.
//!
//! A cache directory is complete only when its [`COMPLETE_MARKER`] exists: the marker is
//! written last, so an interrupted build is redone, not trusted.

#![allow(dead_code)] // Each bench uses a different part of this module.

use std::path::{Path, PathBuf};

use muster::import::sb::{self, generate};
use muster::log::commit::COMMIT_VERSION;
use muster::log::source::{Source, SourceKind};
use muster::{Ledger, OpenOptions};

use super::peer::Peer;
use super::synthetic::{self, Shape};

/// The environment variable listing the scales to run, comma-separated.
pub const SCALES_ENV: &str = "MUSTER_BENCH_SCALES";
/// The scales run when [`SCALES_ENV`] is unset: ten million facts take minutes to build.
pub const DEFAULT_SCALES: &str = "school,large";
/// The seed of every generated input.
pub const SEED: u64 = 7;
/// Written last into a cache directory; without it the directory is rebuilt.
pub const COMPLETE_MARKER: &str = "complete";

/// The tiny scale's export: enough weeks for a half-term and a late week.
pub const TINY: generate::Scale = generate::Scale {
    pupils: 60,
    activities: 12,
    weeks: 8,
};

/// One scale of the benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchScale {
    /// A few pupils and weeks: for checking the harness itself in seconds.
    Tiny,
    /// `gen sb` defaults: 1,200 pupils, 250 activities, 33 weeks.
    School,
    /// 20,000 pupils, 4,000 activities, 40 weeks.
    Large,
    /// The synthetic ledger: about 10 million explicit facts.
    TenMillion,
}

impl BenchScale {
    pub fn name(self) -> &'static str {
        match self {
            BenchScale::Tiny => "tiny",
            BenchScale::School => "school",
            BenchScale::Large => "large",
            BenchScale::TenMillion => "ten_million",
        }
    }

    fn parse(text: &str) -> Option<BenchScale> {
        match text.trim() {
            "tiny" => Some(BenchScale::Tiny),
            "school" => Some(BenchScale::School),
            "large" => Some(BenchScale::Large),
            "ten_million" => Some(BenchScale::TenMillion),
            _ => None,
        }
    }

    /// The SB scale, for the scales made of a generated export.
    pub fn sb(self) -> Option<generate::Scale> {
        match self {
            BenchScale::Tiny => Some(TINY),
            BenchScale::School => Some(generate::SCHOOL_YEAR),
            BenchScale::Large => Some(generate::LARGE),
            BenchScale::TenMillion => None,
        }
    }

    /// The cache directory of this scale: keyed by scale, seed and the commit body version
    /// written today, so a format change rebuilds instead of benchmarking a ledger in an
    /// older format (or one this muster cannot read).
    pub fn dir(self) -> PathBuf {
        bench_data_dir().join(format!("{}-seed{SEED}-v{COMMIT_VERSION}", self.name()))
    }
}

/// The scales named by [`SCALES_ENV`] (default [`DEFAULT_SCALES`]); an unknown name is an
/// error, so a typo does not silently skip a scale.
pub fn scales() -> Result<Vec<BenchScale>, String> {
    let text = std::env::var(SCALES_ENV).unwrap_or_else(|_| DEFAULT_SCALES.to_string());
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            BenchScale::parse(part).ok_or_else(|| {
                format!("{SCALES_ENV}: unknown scale {part:?} (tiny, school, large, ten_million)")
            })
        })
        .collect()
}

/// `<target>/bench-data`, where `<target>` is `CARGO_TARGET_DIR` or the crate's `target`.
pub fn bench_data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data")
}

/// The cached inputs of an SB scale. The late week is teaching week `weeks / 2`: the
/// ledger `before_late` holds every other week (two imports), `late` holds that week only.
pub struct SbData {
    pub full: PathBuf,
    pub early: PathBuf,
    pub after: PathBuf,
    pub late: PathBuf,
    pub ledger_full: PathBuf,
    pub ledger_before_late: PathBuf,
    pub peer_full: PathBuf,
    pub peer_before_late: PathBuf,
}

/// The cached inputs of the synthetic scale.
pub struct SyntheticData {
    pub ledger: PathBuf,
    pub peer: PathBuf,
    pub shape: Shape,
}

fn failed(what: &str) -> impl Fn(muster::Error) -> String + '_ {
    move |error| format!("{what}: {error}")
}

/// Builds (or finds cached) the inputs of an SB scale.
pub fn sb_data(scale: BenchScale, sb_scale: generate::Scale) -> Result<SbData, String> {
    let dir = scale.dir();
    let data = SbData {
        full: dir.join("export-full"),
        early: dir.join("export-early"),
        after: dir.join("export-after"),
        late: dir.join("export-late"),
        ledger_full: dir.join("ledger-full"),
        ledger_before_late: dir.join("ledger-before-late"),
        peer_full: dir.join("peer-full.sqlite"),
        peer_before_late: dir.join("peer-before-late.sqlite"),
    };
    if dir.join(COMPLETE_MARKER).exists() {
        upgrade_derived(&[&data.ledger_full, &data.ledger_before_late])?;
        return Ok(data);
    }
    eprintln!("bench data: building {} in {}", scale.name(), dir.display());
    remove(&dir)?;
    let generated = generate::generate(SEED, sb_scale);
    let weeks = generated.weeks();
    let late = weeks / 2;
    generated
        .files()
        .write_dir(&data.full)
        .map_err(failed("write"))?;
    for (range, path) in [
        (0..late, &data.early),
        (late + 1..weeks, &data.after),
        (late..late + 1, &data.late),
    ] {
        generated
            .files_for_weeks(range)
            .write_dir(path)
            .map_err(failed("write"))?;
    }
    import_sb(&data.ledger_full, &[&data.full])?;
    import_sb(&data.ledger_before_late, &[&data.early, &data.after])?;
    let mut peer = Peer::open(&data.peer_full)?;
    peer.import(&data.full)?;
    let mut peer = Peer::open(&data.peer_before_late)?;
    peer.import(&data.early)?;
    peer.append(&data.after)?;
    mark_complete(&dir)?;
    Ok(data)
}

/// Imports SB export directories into a new ledger at `ledger`, in order.
pub fn import_sb(ledger: &Path, exports: &[&Path]) -> Result<(), String> {
    let mut opened = Ledger::open(ledger, OpenOptions::default()).map_err(failed("open"))?;
    for export in exports {
        let read = sb::read_dir(export, &sb::Options::default()).map_err(failed("read"))?;
        muster::ledger::sb::import(&mut opened, &read, false).map_err(failed("import"))?;
    }
    Ok(())
}

/// Builds (or finds cached) the synthetic ledger and its peer: one commit per year.
pub fn synthetic_data() -> Result<SyntheticData, String> {
    let dir = BenchScale::TenMillion.dir();
    let data = SyntheticData {
        ledger: dir.join("ledger"),
        peer: dir.join("peer.sqlite"),
        shape: Shape::TEN_MILLION,
    };
    if dir.join(COMPLETE_MARKER).exists() {
        upgrade_derived(&[&data.ledger])?;
        return Ok(data);
    }
    eprintln!(
        "bench data: building {} facts in {} (minutes)",
        data.shape.facts(),
        dir.display()
    );
    remove(&dir)?;
    let mut ledger = Ledger::open(&data.ledger, OpenOptions::default()).map_err(failed("open"))?;
    let mut peer = Peer::open(&data.peer)?;
    for year in 0..data.shape.years {
        let batch = synthetic::year_batch(data.shape, year, SEED);
        let source = Source {
            kind: SourceKind::Facts,
            files: Vec::new(),
            options: Vec::new(),
        };
        ledger
            .import(&batch, source, false)
            .map_err(failed("import"))?;
        peer.load_facts(&batch.facts)?;
        eprintln!("bench data: year {} of {}", year + 1, data.shape.years);
    }
    mark_complete(&dir)?;
    Ok(data)
}

fn remove(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("remove {}: {error}", dir.display()))
        }
        _ => std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display())),
    }
}

/// Opens each cached ledger once: a derived-state file in a layout this muster does not
/// write (the cache key follows the commit version only) is rebuilt here, untimed, and
/// not in the first timed run. A current file is only checked.
fn upgrade_derived(ledgers: &[&Path]) -> Result<(), String> {
    for ledger in ledgers {
        Ledger::open(ledger, OpenOptions::default()).map_err(failed("open"))?;
    }
    Ok(())
}

fn mark_complete(dir: &Path) -> Result<(), String> {
    std::fs::write(dir.join(COMPLETE_MARKER), b"")
        .map_err(|e| format!("write the marker in {}: {e}", dir.display()))
}

/// Copies a directory tree (a ledger) to `to`, replacing it: each timed run that writes
/// starts from the same bytes, and the cache stays pristine.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("read {}: {e}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Bytes of every file under `path` (what `du` would count, to the byte).
pub fn disk_bytes(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.len();
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| disk_bytes(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// Facts in a ledger (the sum over its commits).
pub fn fact_count(ledger: &Path) -> Result<u64, String> {
    let opened = Ledger::open(ledger, OpenOptions::default()).map_err(failed("open"))?;
    let log = opened.log().map_err(failed("log"))?;
    Ok(log.iter().map(|commit| commit.facts as u64).sum())
}

/// The peak resident memory of this process (VmHWM), in KiB, when Linux says.
pub fn own_peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
