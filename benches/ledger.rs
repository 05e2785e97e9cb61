//! In-library timings (criterion) of every operation of issue 5, per scale named by
//! `MUSTER_BENCH_SCALES` (default `school,large`): import of a generated export into a
//! fresh ledger, re-import, a late week, `members`, `groups`, `history`, opening, and
//! rebuilding; on the 10M-fact ledger also resolved nesting (issue 15). Run with `cargo
//! bench --bench ledger`; criterion prints p50 and spread.
//!
//! Owns: the criterion groups. Must not: build data itself (`support::data` caches it), or
//! assert on timings. The end-to-end table against the peer is `benches/report.rs`.

mod support {
    pub mod data;
    pub mod hierarchy;
    pub mod peer;
    pub mod synthetic;
}

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use muster::import::sb;
use muster::{Date, GroupId, Ledger, MemberId, OpenOptions};

use muster::query::{membership, nesting};
use support::data::{self, BenchScale};
use support::{hierarchy, synthetic};

/// Samples per benchmark: criterion's minimum, since one large import takes seconds.
const SAMPLES: usize = 10;
const MEASUREMENT: Duration = Duration::from_secs(5);

fn open(path: &Path) -> Ledger {
    // A cached ledger that does not open is a broken benchmark, not input to tolerate.
    Ledger::open(path, OpenOptions::default()).expect("open a cached bench ledger")
}

fn read(dir: &Path) -> sb::Export {
    sb::read_dir(dir, &sb::Options::default()).expect("read a generated export")
}

/// A group in the middle, one of its observed dates in the middle, a member that day.
fn sb_question(ledger: &Ledger) -> (GroupId, Date, MemberId) {
    let ids = ledger.group_ids().expect("group ids");
    let group = ids[ids.len() / 2].clone();
    let state = ledger.find_group(&group).expect("group").expect("known");
    let on = state
        .observed
        .get(state.observed.len() / 2)
        .copied()
        .expect("an observed date");
    let member = membership::members(ledger, &group, on, None).expect("members")[0].clone();
    (group, on, member)
}

fn queries(c: &mut Criterion, name: &str, ledger: &Ledger, question: &(GroupId, Date, MemberId)) {
    let (group, on, member) = question;
    c.bench_function(&format!("{name}/members"), |b| {
        b.iter(|| black_box(membership::members(ledger, group, *on, None)))
    });
    c.bench_function(&format!("{name}/groups"), |b| {
        b.iter(|| black_box(membership::groups(ledger, member, *on, None)))
    });
    c.bench_function(&format!("{name}/history"), |b| {
        b.iter(|| black_box(membership::member_history(ledger, member, None)))
    });
}

fn open_and_rebuild(c: &mut Criterion, name: &str, ledger_dir: &Path) {
    c.bench_function(&format!("{name}/open"), |b| {
        b.iter(|| black_box(open(ledger_dir)))
    });
    let mut ledger = open(ledger_dir);
    c.bench_function(&format!("{name}/rebuild"), |b| {
        b.iter(|| ledger.rebuild().expect("rebuild"))
    });
}

fn sb_scale(c: &mut Criterion, scale: BenchScale, sb_scale: sb::generate::Scale) {
    let name = scale.name();
    let data = data::sb_data(scale, sb_scale).expect("bench data");
    let work = data::bench_data_dir().join("criterion").join(name);
    let full = read(&data.full);
    c.bench_function(&format!("{name}/import"), |b| {
        b.iter_batched(
            || {
                let dir = work.join("fresh");
                let _ = std::fs::remove_dir_all(&dir);
                open(&dir)
            },
            |mut ledger| muster::ledger::sb::import(&mut ledger, &full, false).expect("import"),
            BatchSize::PerIteration,
        )
    });
    let ledger_dir = work.join("ledger");
    data::copy_tree(&data.ledger_full, &ledger_dir).expect("copy");
    {
        let mut ledger = open(&ledger_dir);
        c.bench_function(&format!("{name}/re-import"), |b| {
            b.iter(|| muster::ledger::sb::import(&mut ledger, &full, false).expect("re-import"))
        });
        let question = sb_question(&ledger);
        queries(c, name, &ledger, &question);
    }
    let late = read(&data.late);
    c.bench_function(&format!("{name}/late week"), |b| {
        b.iter_batched(
            || {
                let dir = work.join("late");
                data::copy_tree(&data.ledger_before_late, &dir).expect("copy");
                open(&dir)
            },
            |mut ledger| muster::ledger::sb::import(&mut ledger, &late, false).expect("late week"),
            BatchSize::PerIteration,
        )
    });
    open_and_rebuild(c, name, &ledger_dir);
}

fn ten_million(c: &mut Criterion) {
    let name = BenchScale::TenMillion.name();
    let data = data::synthetic_data().expect("bench data");
    let ledger_dir = data::bench_data_dir().join("criterion").join(name);
    data::copy_tree(&data.ledger, &ledger_dir).expect("copy");
    {
        let ledger = open(&ledger_dir);
        let group = synthetic::group_id(data.shape.groups / 2);
        let member = synthetic::member_id(data.shape.members / 2);
        let year = synthetic::FIRST_YEAR + data.shape.years as i32 / 2;
        let on = Date::from_ymd(year, 6, 15).expect("a valid date");
        queries(c, name, &ledger, &(group, on, member));
    }
    nested(
        c,
        &data,
        &ledger_dir.with_file_name(format!("{name}-nested")),
    );
    open_and_rebuild(c, name, &ledger_dir);
}

/// Issue 15: the 10M-fact ledger with the three-level hierarchy on top (every group in one
/// of 100 umbrellas, those in 10 divisions, those in `all`), imported into a copy; resolved
/// `members` of `all` (every member) and of an umbrella, and resolved `groups` of a member.
fn nested(c: &mut Criterion, data: &data::SyntheticData, ledger_dir: &Path) {
    data::copy_tree(&data.ledger, ledger_dir).expect("copy");
    let mut ledger = open(ledger_dir);
    let source = muster::log::source::Source {
        kind: muster::log::source::SourceKind::Nesting,
        files: Vec::new(),
        options: Vec::new(),
    };
    ledger
        .import(&hierarchy::hierarchy_batch(data.shape), source, false)
        .expect("import the hierarchy");
    let year = synthetic::FIRST_YEAR + data.shape.years as i32 / 2;
    let on = Date::from_ymd(year, 6, 15).expect("a valid date");
    let top = hierarchy::top_id();
    let umbrella = hierarchy::umbrella_id(hierarchy::UMBRELLAS / 2);
    let member = synthetic::member_id(data.shape.members / 2);
    let resolved = |group: &GroupId| nesting::members_resolved(&ledger, group, on, None);
    eprintln!(
        "nested: all has {} members on {on}, umbrella {umbrella} {}",
        resolved(&top).expect("members").len(),
        resolved(&umbrella).expect("members").len()
    );
    c.bench_function("ten_million/nested members of all", |b| {
        b.iter(|| black_box(resolved(&top)))
    });
    c.bench_function("ten_million/nested members of an umbrella", |b| {
        b.iter(|| black_box(resolved(&umbrella)))
    });
    c.bench_function("ten_million/nested groups of a member", |b| {
        b.iter(|| black_box(nesting::groups_resolved(&ledger, &member, on, None)))
    });
}

fn benches(c: &mut Criterion) {
    for scale in data::scales().expect("MUSTER_BENCH_SCALES") {
        match scale.sb() {
            Some(sb_scale_size) => sb_scale(c, scale, sb_scale_size),
            None => ten_million(c),
        }
    }
}

criterion_group! {
    name = ledger;
    config = Criterion::default().sample_size(SAMPLES).measurement_time(MEASUREMENT);
    targets = benches
}
criterion_main!(ledger);
