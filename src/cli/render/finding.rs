//! Rendering what helps a person find their way: `muster list groups|members` (an id and
//! a name per row) and `muster info` (one record: JSON an object, a table one line per
//! field).
//!
//! Owns: the columns of a listing and the fields of an info.
//! Must not: query the ledger or print.

use serde_json::{json, Value};

use muster::ledger::info::Info;
use muster::log::hash::hex;
use muster::query::find::Listed;

use super::columns::{Cell, Columns, Format, IdText};
use super::json_line;

/// A listing of groups or members: `id_column` is `group` or `member`.
pub fn listed<Id: IdText>(rows: &[Listed<Id>], id_column: &'static str, format: Format) -> String {
    Columns::new()
        .column(id_column, |row: &Listed<Id>| Cell::id(&row.id))
        .column("name", |row: &Listed<Id>| Cell::name(row.name.as_ref()))
        .render(rows, format)
}

/// A UTC time from milliseconds since 1970, as `muster log` writes it.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Bytes for people: 1.5 MiB rather than 1572864.
fn bytes_for_people(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn versions_text(versions: &[u16]) -> String {
    versions
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" and ")
}

pub fn info(info: &Info, format: Format) -> String {
    let last_import = info.last_import.as_ref();
    match format {
        Format::Json => json_line(&json!({
            "path": info.path.display().to_string(),
            "commits": info.commits,
            "groups": info.groups,
            "members": info.members,
            "first_date": info.dates.map(|(first, _)| first.to_string()),
            "last_date": info.dates.map(|(_, last)| last.to_string()),
            "last_import": last_import.map_or(Value::Null, |import| json!({
                "commit": import.commit,
                "recorded_at": utc(import.recorded_at_ms),
                "kind": import.source.kind.as_str(),
                "files": import.source.files.iter()
                    .map(|f| json!({"name": f.name, "digest": hex(&f.digest)}))
                    .collect::<Vec<_>>(),
                "options": import.source.options,
            })),
            "format_versions": {
                "commit_bodies": info.versions.commit_bodies,
                "commit_written": info.versions.commit_written,
                "derived": info.versions.derived,
            },
            "disk_bytes": info.disk_bytes,
        })),
        // `info` offers table and JSON only (`args.rs`): CSV would be a table of one row.
        Format::Table | Format::Csv => {
            let mut lines = vec![
                ("ledger", info.path.display().to_string()),
                ("commits", info.commits.to_string()),
                ("groups", info.groups.to_string()),
                ("members", info.members.to_string()),
                (
                    "dates",
                    info.dates.map_or("none yet".to_string(), |(first, last)| {
                        format!("{first} to {last}")
                    }),
                ),
            ];
            lines.push((
                "last import",
                match last_import {
                    None => "none yet".to_string(),
                    Some(import) => {
                        let files: Vec<&str> = import
                            .source
                            .files
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect();
                        let mut text = format!(
                            "commit {}, {}, {}",
                            import.commit,
                            utc(import.recorded_at_ms),
                            import.source.kind.as_str()
                        );
                        if !files.is_empty() {
                            text.push_str(&format!(" ({})", files.join(", ")));
                        }
                        if !import.source.options.is_empty() {
                            text.push_str(&format!(" [{}]", import.source.options.join(", ")));
                        }
                        text
                    }
                },
            ));
            lines.push((
                "format",
                format!(
                    "commit bodies version {} (new commits: {}), derived state version {}",
                    if info.versions.commit_bodies.is_empty() {
                        "none yet".to_string()
                    } else {
                        versions_text(&info.versions.commit_bodies)
                    },
                    info.versions.commit_written,
                    info.versions.derived
                ),
            ));
            lines.push(("disk", bytes_for_people(info.disk_bytes)));
            let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
            lines
                .iter()
                .map(|(key, value)| format!("{key:<width$}  {value}\n"))
                .collect()
        }
    }
}
