//! Rich cards judged by the official Anki backend: highlighted code, custom note types
//! from files, Anki's CSV/TSV text format as input, and deck options.

mod common;

use common::{judge, path_str, temp_dir, workspace, Backend};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds a deck kept in the repository with `--locked`: its committed lock must be
/// up to date.
fn build(source: &str) -> PathBuf {
    let dir = temp_dir("rich-build");
    let out = dir.join("deck.apkg");
    let result = Command::new(env!("CARGO_BIN_EXE_ankideck"))
        .args([
            "build",
            path_str(&workspace().join(source)),
            "-o",
            path_str(&out),
            "--locked",
        ])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

fn import(collection: &Path, package: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["import", "--collection", path_str(collection)];
    args.extend_from_slice(extra);
    args.push(path_str(package));
    judge(Backend::Current, &args)
}

fn notes(report: &Value) -> &Vec<Value> {
    report["notes"].as_array().expect("notes")
}

fn first_field(note: &Value) -> &str {
    let first = note["field_order"][0].as_str().unwrap();
    note["fields"][first].as_str().unwrap()
}

fn note<'a>(report: &'a Value, prefix: &str) -> &'a Value {
    notes(report)
        .iter()
        .find(|n| first_field(n).starts_with(prefix))
        .unwrap_or_else(|| panic!("no note starting {prefix:?}"))
}

/// (question, answer) HTML of card `ord` of the note whose first field starts with `prefix`.
fn card(report: &Value, prefix: &str, ord: u64) -> (String, String) {
    let card = note(report, prefix)["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ord"] == ord)
        .unwrap_or_else(|| panic!("no card {ord} of {prefix:?}"));
    (
        card["question"].as_str().unwrap().to_string(),
        card["answer"].as_str().unwrap().to_string(),
    )
}

/// A clean first import: every note new, Check Database repairs nothing.
fn assert_clean(report: &Value, expected_notes: u64) {
    let log = &report["imports"][0]["counts"];
    assert_eq!(log["new"], expected_notes, "{log}");
    for category in [
        "updated",
        "duplicate",
        "conflicting",
        "missing_notetype",
        "missing_deck",
    ] {
        assert_eq!(log[category], 0, "{category}: {log}");
    }
    assert_eq!(report["check"]["ok"], true, "{}", report["check"]);
    assert_eq!(report["check"]["problems"], serde_json::json!([]));
    assert_eq!(report["before_check"], report["after_check"]);
    assert_eq!(report["media_check"]["missing"], serde_json::json!([]));
    assert_eq!(report["media_check"]["unused"], serde_json::json!([]));
    for n in notes(report) {
        for c in n["cards"].as_array().unwrap() {
            let q = c["question"].as_str().unwrap();
            assert!(!q.contains("Please edit this note"), "broken card {n}");
        }
    }
}

#[test]
fn highlighted_code_renders_in_anki() {
    let package = build("tests/decks/rich");
    let collection = temp_dir("rich-code");
    let report = import(&collection, &package, &[]);
    assert_clean(&report, 5);

    let (_, answer) = card(&report, "What does this Rust program print?", 0);
    assert!(
        answer.contains(
            r#"<span style="color:#b48ead">fn </span><span style="color:#8fa1b3">main</span>"#
        ),
        "{answer}"
    );
    assert!(
        answer.contains(r#"<pre style="background-color:#2b303b;color:#c0c5ce;text-align:left"#)
    );
    assert!(
        answer.contains(r#"<span style="color:#a3be8c">$5</span>"#),
        "$ in code is no math"
    );
    let (_, answer) = card(&report, "Indented code", 0);
    assert!(
        answer.contains("<pre><code>x = $y$  # not math"),
        "{answer}"
    );

    // Clozes around and inside code.
    let (q, a) = card(&report, "Which keyword", 0);
    assert!(q.contains(r#"<span class="cloze" data-cloze="&lt;code&gt;def&lt;&#x2F;code&gt;" data-ordinal="1">[...]</span>"#), "{q}");
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1"><code>def</code></span>"#),
        "{a}"
    );
    let (_, a) = card(&report, "A deletion around code", 0);
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1"><code>a}&#125;b</code></span> stays one deletion"#),
        "{a}"
    );
    let (q, a) = card(&report, "In code:", 0);
    assert!(q.contains(r#">[a constant]</span> * r ** <span class="cloze-inactive" data-ordinal="2">2</span></code>"#), "{q}");
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1">3.14159</span>"#),
        "{a}"
    );
    assert_eq!(
        note(&report, "In code:")["cards"].as_array().unwrap().len(),
        2
    );
}
