//! The bad-input matrix for the generic CSV readers and the ledger path, beyond
//! `cli.rs`: encodings, over-long fields and lines, a file over the size limit (sparse,
//! so the test writes nothing real), directories and files in the wrong places. Each case
//! gives a clear error naming the place, or a documented safe result, and writes nothing.

use crate::support::{Run, Sandbox};

/// A file that decodes; its answer is checked separately.
fn import(sandbox: &Sandbox, kind: &str, name: &str, bytes: &[u8]) -> Run {
    let path = sandbox.path(name);
    std::fs::write(&path, bytes).unwrap();
    sandbox.muster(&["import", kind, path.to_str().unwrap()])
}

fn exported(sandbox: &Sandbox) -> String {
    sandbox.muster(&["export", "log"]).ok().stdout
}

/// Asserts exit `code`, every text in stderr, and that the ledger did not change.
fn assert_refused(sandbox: &Sandbox, run: &Run, before: &str, code: i32, texts: &[&str]) {
    crate::support::assert_code(run, code, texts);
    assert_eq!(
        exported(sandbox),
        before,
        "a refused input changed the ledger"
    );
}

#[test]
fn windows_1252_decodes_and_invalid_mixed_bytes_are_refused_or_read_safely() {
    let sandbox = Sandbox::new();
    // "José" in Windows-1252: not UTF-8, so the whole file is read as Windows-1252.
    import(
        &sandbox,
        "observations",
        "cp1252.csv",
        b"date,group,member\n2021-01-04,caf\xe9,Jos\xe9\n",
    )
    .ok();
    let members = sandbox
        .muster(&["members", "caf\u{e9}", "--on", "2021-01-04"])
        .ok();
    assert!(members.stdout.contains("Jos\u{e9}"), "{}", members.stdout);

    let before = exported(&sandbox);
    // 0x81 is unassigned in Windows-1252 and decodes to the C1 control U+0081, which no
    // id may hold: refused with the place. The UTF-8 "é" beside it reads as "Ã©" (the
    // whole file is one encoding); that is the documented result for mixed files.
    let run = import(
        &sandbox,
        "observations",
        "mixed.csv",
        b"date,group,member\n2021-01-11,caf\xc3\xa9,a\x81b\n",
    );
    assert_refused(
        &sandbox,
        &run,
        &before,
        2,
        &["line 2, column 3 (member)", "control character"],
    );
    // Mixed but with no unassigned byte: read, consistently, as Windows-1252.
    import(
        &sandbox,
        "observations",
        "mixed-ok.csv",
        b"date,group,member\n2021-01-11,caf\xc3\xa9,Jos\xe9\n",
    )
    .ok();
    sandbox
        .muster(&["members", "caf\u{c3}\u{a9}", "--on", "2021-01-11"])
        .ok();
}

#[test]
fn over_long_fields_and_lines() {
    let sandbox = Sandbox::new();
    import(
        &sandbox,
        "observations",
        "ok.csv",
        b"date,group,member\n2021-01-04,g,a\n",
    )
    .ok();
    let before = exported(&sandbox);
    let field = "x".repeat(muster::model::MAX_FIELD_BYTES + 1);
    for (kind, header, row, column) in [
        (
            "observations",
            "date,group,member",
            format!("2021-01-11,g,{field}"),
            "column 3 (member)",
        ),
        (
            "facts",
            "date,group,member,change",
            format!("2021-01-11,g,a,{field}"),
            "column 4 (change)",
        ),
        (
            "observations",
            "date,group,member",
            format!("2021-01-11,{field},a"),
            "column 2 (group)",
        ),
    ] {
        let run = import(
            &sandbox,
            kind,
            "long-field.csv",
            format!("{header}\n{row}\n").as_bytes(),
        );
        assert_refused(
            &sandbox,
            &run,
            &before,
            2,
            &["line 2, ", column, "longer than 4096 bytes"],
        );
    }
    // A field just at the limit is not refused for its length (an id is then too long:
    // still a clear input error at its place).
    let at_limit = "x".repeat(muster::model::MAX_FIELD_BYTES);
    let run = import(
        &sandbox,
        "observations",
        "at-limit.csv",
        format!("date,group,member\n2021-01-11,g,{at_limit}\n").as_bytes(),
    );
    assert_refused(
        &sandbox,
        &run,
        &before,
        2,
        &["line 2, column 3 (member)", "longer than 64 bytes"],
    );

    // A very long line of many short fields: a row with values no column names is refused
    // (a dropped field is data lost); documented in docs/reliability.md.
    let extra = ",y".repeat(100_000);
    let run = import(
        &sandbox,
        "observations",
        "wide.csv",
        format!("date,group,member\n2021-01-11,g,b{extra}\n").as_bytes(),
    );
    assert_refused(
        &sandbox,
        &run,
        &before,
        2,
        &[
            "line 2, column 4 () of",
            "100003 fields but the header names 3",
        ],
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("huge.csv");
    // Sparse: the length is over the limit but no data blocks are written.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(muster::model::MAX_INPUT_BYTES + 1).unwrap();
    drop(file);
    let run = sandbox.muster(&["import", "observations", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("huge.csv") && run.stderr.contains("larger than the limit"),
        "{}",
        run.stderr
    );
    assert!(!sandbox.db().exists(), "nothing written");
}

#[test]
fn directories_and_files_in_the_wrong_places() {
    let sandbox = Sandbox::new();
    let directory = sandbox.path("a-directory");
    std::fs::create_dir(&directory).unwrap();
    for kind in ["observations", "facts"] {
        let run = sandbox.muster(&["import", kind, directory.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("a-directory") && run.stderr.contains("is a directory"),
            "{}",
            run.stderr
        );
    }
    // A portable log that is a directory, or not a log at all: refused before the ledger
    // is opened.
    let run = sandbox.muster(&["import", "log", directory.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("a-directory") && run.stderr.contains("is a directory"),
        "{}",
        run.stderr
    );
    let csv = sandbox.write("not-a-log.csv", "date,group,member\n");
    let run = sandbox.muster(&["import", "log", csv.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("line 1 of") && run.stderr.contains("not-a-log.csv"),
        "{}",
        run.stderr
    );
    assert!(!sandbox.db().exists(), "nothing written");

    // A ledger path that is a file: refused, and the file is left as it was.
    let not_a_ledger = sandbox.write("not-a-ledger", "precious");
    let input = sandbox.write("week.csv", "date,group,member\n2021-01-04,g,a\n");
    for args in [
        vec!["import", "observations", input.to_str().unwrap()],
        vec!["verify"],
        vec!["export", "log"],
    ] {
        let run = crate::support::run_in(sandbox.dir.path(), &not_a_ledger, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("is a file, not a ledger directory"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read_to_string(&not_a_ledger).unwrap(), "precious");
}

/// Only an explicitly empty member field observes a group with no one named; a row short
/// of that field, or a member of only spaces, is refused (see `input_matrix.rs`).
#[test]
fn an_explicitly_empty_member_field_observes_the_group_empty() {
    let sandbox = Sandbox::new();
    import(
        &sandbox,
        "observations",
        "week.csv",
        b"date,group,member\n2021-01-04,g,a\n",
    )
    .ok();
    import(
        &sandbox,
        "observations",
        "empty.csv",
        b"date,group,member\r\n2021-01-11,g,\r\n",
    )
    .ok();
    let on = |date: &str| {
        sandbox
            .muster(&["members", "g", "--on", date, "--format", "json"])
            .ok()
            .json()["members"]
            .clone()
    };
    assert_eq!(on("2021-01-04"), serde_json::json!(["a"]));
    assert_eq!(on("2021-01-11"), serde_json::json!([]));
}
