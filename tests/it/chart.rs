//! `muster chart`, through the binary, its SVG parsed: labels, order, tooltips with the
//! inclusive last day, the legend, the summary and the line for today.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::support::{two_commits, Sandbox};

/// One element of the drawing: its name, attributes, and the text right after its opening
/// tag (a `<text>`'s words, a `<title>`'s tooltip).
#[derive(Debug)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
}

/// Parses the flat SVG `muster chart` writes: every opening tag with its attributes, in
/// document order. Fails the test on a tag that does not close or an attribute without a
/// quoted value.
fn parse(svg: &str) -> Vec<Element> {
    let mut elements = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("every tag closes");
        let tag = after[..end].trim_end_matches('/');
        rest = &after[end + 1..];
        if tag.starts_with('/') {
            continue;
        }
        let (name, mut attributes_text) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut attributes = BTreeMap::new();
        while let Some(equals) = attributes_text.find("=\"") {
            let key = attributes_text[..equals].trim().to_string();
            let value_start = equals + 2;
            let value_end = attributes_text[value_start..]
                .find('"')
                .expect("a quoted value")
                + value_start;
            attributes.insert(key, attributes_text[value_start..value_end].to_string());
            attributes_text = &attributes_text[value_end + 1..];
        }
        let text = rest[..rest.find('<').unwrap_or(rest.len())].to_string();
        elements.push(Element {
            name: name.to_string(),
            attributes,
            text,
        });
    }
    elements
}

fn class_of(element: &Element) -> &str {
    element.attributes.get("class").map_or("", String::as_str)
}

fn draw(sandbox: &Sandbox, args: &[&str]) -> Vec<Element> {
    let path = sandbox.path("chart.svg");
    sandbox
        .muster(&[&["chart"][..], args, &["-o", path.to_str().unwrap()]].concat())
        .ok();
    let svg = std::fs::read_to_string(path).expect("the chart was written");
    parse(&svg)
}

fn texts<'a>(elements: &'a [Element], name: &str, class: &str) -> Vec<&'a str> {
    elements
        .iter()
        .filter(|e| e.name == name && class_of(e).starts_with(class))
        .map(|e| e.text.as_str())
        .collect()
}

fn with_names() -> Sandbox {
    let sandbox = two_commits();
    let names = sandbox.write(
        "names.csv",
        "kind,id,name\ngroup,chess,Chess Club\ngroup,34340,Choir (L10)\nmember,1004,Dee Late\n",
    );
    sandbox
        .muster(&["import", "names", names.to_str().unwrap()])
        .ok();
    sandbox
}

/// Rows run by first start (1004 arrived in the late week, between 1002 and 1003); the
/// summary, legend and tooltips say what a person needs.
#[test]
fn a_group_chart_orders_rows_by_first_start_and_explains_itself() {
    let sandbox = with_names();
    let elements = draw(&sandbox, &["--group", "34340", "--to", "2099-12-31"]);
    assert_eq!(
        texts(&elements, "text", "label"),
        ["1001", "1002", "Dee Late (1004)", "1003"]
    );
    assert_eq!(
        texts(&elements, "text", "title"),
        ["Members of Choir (L10) (34340) (2015-11-16 to 2099-12-31)"]
    );
    assert_eq!(
        texts(&elements, "text", "summary"),
        ["4 rows: 4 spans, 2 ended and 2 still open; first start 2015-11-16"]
    );
    let titles = texts(&elements, "title", "");
    assert!(
        titles.contains(&"1002: 2015-11-16, last day 2015-11-22"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Dee Late (1004): 2015-11-23, last day 2015-11-29"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"1001: from 2015-11-16, still open"),
        "{titles:?}"
    );
    let bars: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "rect" && class_of(e).starts_with("bar"))
        .map(class_of)
        .collect();
    assert_eq!(bars, ["bar open", "bar ended", "bar ended", "bar open"]);
    // The legend names both kinds of bar and today.
    let legend_at = elements
        .iter()
        .position(|e| e.name == "g" && class_of(e) == "legend")
        .expect("a legend");
    let legend: Vec<&str> = elements[legend_at..]
        .iter()
        .filter(|e| e.name == "text")
        .take(3)
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(legend[..2], ["ended", "still open"]);
    assert!(legend[2].starts_with("today, "), "{legend:?}");
    // Today is inside 2015..2099: its line is drawn, and its x lies inside the plot.
    let today = elements
        .iter()
        .find(|e| e.name == "line" && class_of(e) == "today")
        .expect("a line for today");
    let x: f64 = today.attributes["x1"].parse().unwrap();
    assert!(x > 300.0 && x < 1180.0, "{x}");
}

/// Today outside the range: no line (the legend still says what today is).
#[test]
fn a_chart_that_ends_before_today_has_no_line_for_it() {
    let sandbox = with_names();
    let elements = draw(&sandbox, &["--group", "34340"]);
    assert!(!elements.iter().any(|e| class_of(e) == "today"));
}

/// A member's chart is labelled with its groups' names and ids, not ids alone (both rows
/// start on one day: by label then).
#[test]
fn a_member_chart_names_its_groups() {
    let sandbox = with_names();
    let elements = draw(&sandbox, &["--member", "1001"]);
    assert_eq!(
        texts(&elements, "text", "label"),
        ["Chess Club (chess)", "Choir (L10) (34340)"]
    );
}

/// Alex Padilla's first term's last day was 2022-12-20: the tooltip says so (it used to
/// show the exclusive end, 2022-12-21, as if it were the last day).
#[test]
fn tooltips_show_the_inclusive_last_day() {
    let sandbox = Sandbox::new();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/congress");
    for (kind, file) in [("spans", "spans.csv"), ("names", "names.csv")] {
        sandbox
            .muster(&["import", kind, data.join(file).to_str().unwrap()])
            .ok();
    }
    let elements = draw(&sandbox, &["--member", "P000145"]);
    let titles = texts(&elements, "title", "");
    assert!(
        titles.contains(&"senate:Democrat: 2021-01-20, last day 2022-12-20"),
        "{titles:?}"
    );
    assert!(
        !titles.iter().any(|t| t.contains("2022-12-21")),
        "{titles:?}"
    );
    let elements = draw(&sandbox, &["--group", "senate:Democrat"]);
    let summary = texts(&elements, "text", "summary");
    assert!(summary[0].starts_with("93 rows: "), "{summary:?}");
}
