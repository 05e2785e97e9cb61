//! Drawing membership spans as an SVG timeline: one row per member (or group), a bar per
//! span, gaps left empty, a date axis with year or month ticks, names as labels; a summary
//! line, a legend (ended, still open, today) and a line for today. Tooltips give a span's
//! first and last day (the last day inclusive, as people read it).
//!
//! Owns: [`svg`], the hand-written SVG (plain text; no drawing crate needed), and the
//! drawing's sizes and limits.
//! Must not: choose rows, labels or the range (the library's `query::chart` does, from the
//! ledger), query the ledger, or write files (the command writes what [`svg`] returns).

use std::fmt::Write as _;

use chrono::Datelike;

use muster::model::Date;
use muster::query::chart::Chart;

/// Total width of the drawing, in pixels.
pub const CHART_WIDTH: u32 = 1200;
/// Width kept on the left for labels.
pub const LABEL_WIDTH: u32 = 300;
/// Space to the right of the plot.
const RIGHT_MARGIN: u32 = 20;
/// Height of the band above the first row: title, summary and legend, then the axis.
const AXIS_HEIGHT: u32 = 76;
/// Rows from which the axis's dates are repeated under the last row, so that a tall chart
/// can be read without scrolling back up.
const AXIS_REPEAT_ROWS: usize = 25;
/// Colours: a span that ended, one still open, the line for today.
const ENDED_COLOUR: &str = "#3b6ea8";
const OPEN_COLOUR: &str = "#8fc1ee";
const TODAY_COLOUR: &str = "#d2452f";
/// Height of one row and of the bar inside it.
pub const ROW_HEIGHT: u32 = 20;
const BAR_HEIGHT: u32 = 14;
/// Most tick marks on the axis; the step grows (months, then years) to stay under it.
pub const MAX_TICKS: usize = 16;
/// Most rows one chart draws; more would not be readable (split by group or date range).
pub const MAX_CHART_ROWS: usize = 2000;
/// Longest label drawn, in characters; longer ones end with an ellipsis.
const MAX_LABEL_CHARS: usize = 40;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn clip_label(text: &str) -> String {
    if text.chars().count() <= MAX_LABEL_CHARS {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(MAX_LABEL_CHARS - 1).collect();
    clipped.push('…');
    clipped
}

/// Tick dates: the first of each month, every `step` months, inside `[from, to]`, where
/// `step` is the smallest of 1, 2, 3, 6, 12, 24, 60, 120... months that keeps the count
/// under [`MAX_TICKS`]. Steps of a year or more fall on 1 January.
fn ticks(from: Date, to: Date) -> (Vec<Date>, bool) {
    let months = |date: Date| date.naive().year() * 12 + date.naive().month0() as i32;
    let span = (months(to) - months(from)).max(1);
    let mut step = 1;
    for candidate in [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200] {
        step = candidate;
        if span / candidate < MAX_TICKS as i32 {
            break;
        }
    }
    let yearly = step >= 12;
    let mut out = Vec::new();
    let mut index = months(from);
    // Round up to the next month boundary that is a multiple of the step.
    index += (step - index.rem_euclid(step)) % step;
    while index <= months(to) {
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        if let Ok(date) = Date::from_ymd(year, month, 1) {
            if date >= from && date <= to {
                out.push(date);
            }
        }
        index += step;
    }
    (out, yearly)
}

/// "92 rows: 120 spans, 80 ended and 40 still open; first start 2021-01-03".
fn summary(chart: &Chart, shown: usize) -> String {
    let spans: usize = chart.rows.iter().map(|row| row.bars.len()).sum();
    let open = chart
        .rows
        .iter()
        .flat_map(|row| &row.bars)
        .filter(|(_, until)| until.is_none())
        .count();
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut text = format!(
        "{}: {}, {} ended and {} still open",
        plural(chart.rows.len(), "row", "rows"),
        plural(spans, "span", "spans"),
        spans - open,
        open
    );
    if let Some(first) = chart
        .rows
        .iter()
        .filter_map(|row| row.bars.first())
        .map(|b| b.0)
        .min()
    {
        text.push_str(&format!("; first start {first}"));
    }
    if shown < chart.rows.len() {
        text.push_str(&format!("; the first {shown} drawn"));
    }
    text
}

/// What a bar's tooltip says: its first day and its last day (inclusive), or that it is
/// still open.
fn span_text(from: Date, until: Option<Date>) -> String {
    match until {
        Some(until) => match until.previous() {
            Some(last_day) if last_day > from => format!("{from}, last day {last_day}"),
            _ => format!("{from}, one day"),
        },
        None => format!("from {from}, still open"),
    }
}

/// The drawing as an SVG document, with a line for `today` when it falls in the range.
/// Bars are clipped to the range; rows with no bar in it still show, empty, so absences
/// are visible.
pub fn svg(chart: &Chart, today: Date) -> String {
    let rows = &chart.rows[..chart.rows.len().min(MAX_CHART_ROWS)];
    let repeat_axis = rows.len() >= AXIS_REPEAT_ROWS;
    let height = AXIS_HEIGHT + ROW_HEIGHT * rows.len() as u32 + if repeat_axis { 46 } else { 30 };
    let plot_left = f64::from(LABEL_WIDTH);
    let plot_width = f64::from(CHART_WIDTH - LABEL_WIDTH - RIGHT_MARGIN);
    let first = chart.from.days_from_ce();
    // One day past `to`, so a bar ending on `to` reaches the right edge.
    let days = f64::from((chart.to.days_from_ce() - first + 1).max(1));
    let x = |date: Date| {
        let offset = f64::from(date.days_from_ce() - first).clamp(0.0, days);
        plot_left + offset / days * plot_width
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{CHART_WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text class="title" x="8" y="18" font-size="14" font-weight="bold">{} ({} to {})</text>"#,
        escape(&chart.title),
        chart.from,
        chart.to
    );
    let _ = writeln!(
        svg,
        r##"<text class="summary" x="8" y="36" fill="#444444">{}</text>"##,
        escape(&summary(chart, rows.len()))
    );
    legend(&mut svg, today);
    let bottom = AXIS_HEIGHT + ROW_HEIGHT * rows.len() as u32;
    let (tick_dates, yearly) = ticks(chart.from, chart.to);
    for tick in tick_dates {
        let tx = x(tick);
        let label = if yearly {
            tick.naive().format("%Y").to_string()
        } else {
            tick.naive().format("%Y-%m").to_string()
        };
        let _ = writeln!(
            svg,
            r##"<line class="tick" x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{bottom}" stroke="#dddddd"/>"##,
            AXIS_HEIGHT - 6
        );
        let _ = writeln!(
            svg,
            r#"<text x="{tx:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            AXIS_HEIGHT - 10
        );
        if repeat_axis {
            let _ = writeln!(
                svg,
                r#"<text x="{tx:.1}" y="{}" text-anchor="middle">{label}</text>"#,
                bottom + 32
            );
        }
    }
    for (index, row) in rows.iter().enumerate() {
        let top = AXIS_HEIGHT + ROW_HEIGHT * index as u32;
        if index % 2 == 1 {
            let _ = writeln!(
                svg,
                r##"<rect x="0" y="{top}" width="{CHART_WIDTH}" height="{ROW_HEIGHT}" fill="#f4f6f8"/>"##
            );
        }
        let _ = writeln!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8,
            top + ROW_HEIGHT - 6,
            escape(&clip_label(&row.label))
        );
        for &(from, until) in &row.bars {
            let end_exclusive = until.unwrap_or_else(|| chart.to.add_days(1).unwrap_or(chart.to));
            if end_exclusive.days_from_ce() <= first || from > chart.to {
                continue;
            }
            let (x1, x2) = (x(from), x(end_exclusive));
            let (class, colour) = if until.is_some() {
                ("bar ended", ENDED_COLOUR)
            } else {
                ("bar open", OPEN_COLOUR)
            };
            let _ = writeln!(
                svg,
                r##"<rect class="{class}" x="{x1:.1}" y="{}" width="{:.1}" height="{BAR_HEIGHT}" rx="2" fill="{colour}"><title>{}: {}</title></rect>"##,
                top + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                (x2 - x1).max(1.0),
                escape(&row.label),
                span_text(from, until)
            );
        }
    }
    if today >= chart.from && today <= chart.to {
        // The middle of today's column.
        let tx = (x(today) + x(today.add_days(1).unwrap_or(today))) / 2.0;
        let _ = writeln!(
            svg,
            r##"<line class="today" x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{bottom}" stroke="{TODAY_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"><title>today, {today}</title></line>"##,
            AXIS_HEIGHT - 6
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LABEL_WIDTH}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#888888"/>"##,
        CHART_WIDTH - RIGHT_MARGIN
    );
    // The range's own ends, under the axis: short ranges may have no tick inside.
    let _ = writeln!(
        svg,
        r#"<text class="end" x="{LABEL_WIDTH}" y="{}" text-anchor="start">{}</text>"#,
        bottom + 16,
        chart.from
    );
    let _ = writeln!(
        svg,
        r#"<text class="end" x="{}" y="{}" text-anchor="end">{}</text>"#,
        CHART_WIDTH - RIGHT_MARGIN,
        bottom + 16,
        chart.to
    );
    if chart.rows.len() > rows.len() {
        let _ = writeln!(
            svg,
            r#"<text x="8" y="{}">{} more rows not drawn (limit {MAX_CHART_ROWS})</text>"#,
            bottom + 16,
            chart.rows.len() - rows.len()
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The legend, top right: a swatch per kind of bar and the line for today.
fn legend(svg: &mut String, today: Date) {
    let y = 26;
    let mut left = CHART_WIDTH - RIGHT_MARGIN - 420;
    let _ = writeln!(svg, r#"<g class="legend">"#);
    for (colour, text) in [(ENDED_COLOUR, "ended"), (OPEN_COLOUR, "still open")] {
        let _ = writeln!(
            svg,
            r#"<rect x="{left}" y="{}" width="24" height="{BAR_HEIGHT}" rx="2" fill="{colour}"/>"#,
            y - BAR_HEIGHT + 3
        );
        let _ = writeln!(svg, r#"<text x="{}" y="{y}">{text}</text>"#, left + 30);
        left += 110;
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{TODAY_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"/>"#,
        left + 12,
        y - BAR_HEIGHT + 1,
        left + 12,
        y + 3
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{y}">today, {today}</text>"#,
        left + 22
    );
    let _ = writeln!(svg, "</g>");
}
