//! Our packages judged by the official Anki backend: import into a fresh collection,
//! Check Database, render every card, re-import, the old 2.1.49 importer, and a sync to
//! a second collection playing the phone.

mod common;

use common::{judge, path_str, temp_dir, workspace, Backend};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds a source folder with the real binary.
fn build(source: &str) -> PathBuf {
    let dir = temp_dir("judge-build");
    let out = dir.join("deck.apkg");
    let result = Command::new(env!("CARGO_BIN_EXE_ankideck"))
        .args([
            "build",
            path_str(&workspace().join(source)),
            "-o",
            path_str(&out),
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

fn import(backend: Backend, collection: &Path, package: &Path) -> Value {
    judge(
        backend,
        &[
            "import",
            "--collection",
            path_str(collection),
            path_str(package),
        ],
    )
}

fn notes(report: &Value) -> &Vec<Value> {
    report["notes"].as_array().expect("notes")
}

fn cards(report: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    notes(report).iter().flat_map(|n| {
        n["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .map(move |c| (n, c))
    })
}

/// The card of the note whose first field starts with `prefix`, with ordinal `ord`.
fn card<'a>(report: &'a Value, prefix: &str, ord: u64) -> &'a Value {
    cards(report)
        .find(|(n, c)| first_field(n).starts_with(prefix) && c["ord"] == ord)
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no card {ord} of a note starting {prefix:?}"))
}

fn first_field(note: &Value) -> &str {
    let first = note["field_order"][0].as_str().unwrap();
    note["fields"][first].as_str().unwrap()
}

fn text<'a>(card: &'a Value, side: &str) -> &'a str {
    card[side].as_str().unwrap()
}

/// What every package must satisfy on a first import into a fresh collection.
fn assert_clean_first_import(report: &Value, expected_notes: u64) {
    let log = &report["imports"][0]["counts"];
    assert_eq!(log["new"], expected_notes, "{log}");
    for category in [
        "updated",
        "duplicate",
        "conflicting",
        "missing_notetype",
        "missing_deck",
        "empty_first_field",
    ] {
        assert_eq!(log[category], 0, "{category}: {log}");
    }
    assert_eq!(report["check"]["ok"], true, "{}", report["check"]);
    assert_eq!(
        report["check"]["problems"],
        serde_json::json!([]),
        "Check Database repaired something"
    );
    assert_eq!(
        report["before_check"], report["after_check"],
        "Check Database changed the counts"
    );
    assert_eq!(report["media_check"]["missing"], serde_json::json!([]));
    assert_eq!(report["media_check"]["unused"], serde_json::json!([]));
    for (note, card) in cards(report) {
        for side in ["question", "answer"] {
            assert!(
                !text(card, &format!("{side}_text")).trim().is_empty(),
                "empty {side} of {note}"
            );
        }
        assert!(
            !text(card, "question").contains("Please edit this note"),
            "broken cloze card {note}"
        );
    }
}

fn assert_reimport_is_all_duplicates(
    backend: Backend,
    collection: &Path,
    package: &Path,
    expected_notes: u64,
) {
    let again = import(backend, collection, package);
    let log = &again["imports"][0]["counts"];
    assert_eq!(log["duplicate"], expected_notes, "{log}");
    assert_eq!(log["new"], 0, "{log}");
    assert_eq!(log["updated"], 0, "{log}");
    assert_eq!(
        notes(&again).len() as u64,
        expected_notes,
        "re-import duplicated notes"
    );
}

#[test]
fn sample_deck_imports_cleanly_and_reimports_as_duplicates() {
    let package = build("cards");
    let collection = temp_dir("sample-current");
    let report = import(Backend::Current, &collection, &package);
    let note_count = notes(&report).len() as u64;
    assert!(note_count >= 15);
    assert_clean_first_import(&report, note_count);
    // The restored formula and the chart reach the rendered cards.
    let answers: String = cards(&report)
        .map(|(_, c)| text(c, "answer").to_string())
        .collect();
    assert!(
        answers.contains(r"\lceil") && answers.contains(r"\rceil"),
        "iterations-per-epoch formula"
    );
    assert!(answers.contains("<img src=\"loss-"), "loss chart");
    assert!(report["media_files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m.as_str().unwrap().starts_with("loss-")));
    assert!(
        report["decks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "NLP 面试题"),
        "parent deck"
    );
    assert_reimport_is_all_duplicates(Backend::Current, &collection, &package, note_count);
}

#[test]
fn feature_deck_renders_every_feature() {
    let package = build("tests/decks/features");
    let collection = temp_dir("features-current");
    let report = import(Backend::Current, &collection, &package);
    assert_clean_first_import(&report, 13);
    assert_eq!(cards(&report).count(), 16);

    let bold = card(&report, "What does <strong>bold</strong>", 0);
    assert!(
        text(bold, "answer").contains("<li>second</li>")
            && text(bold, "answer").contains("<td>2</td>")
    );
    let note = notes(&report)
        .iter()
        .find(|n| first_field(n).starts_with("What does"))
        .unwrap();
    let mut tags: Vec<&str> = note["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["lang::zh", "markdown", "中文标签"]);

    // Stock note types, by what Anki renders.
    assert!(text(card(&report, "Capital of France", 1), "question").ends_with("<p>Paris</p>"));
    assert!(
        text(card(&report, "Optional reverse: both", 1), "question").contains("Back text for both")
    );
    assert!(text(card(&report, "Type the number", 0), "question").contains("[[type:Back]]"));

    // Cloze: one card per number, hints, and math that does not end the deletion.
    let powerhouse = card(&report, "The {{c1::mitochondria}}", 1);
    assert!(text(powerhouse, "question").contains(">[what?]</span>"));
    assert!(
        text(powerhouse, "answer").contains("<p>Biology 101</p>"),
        "Back Extra section"
    );
    let math = card(&report, "Inline math", 0);
    assert!(
        text(math, "answer")
            .contains(r#"data-ordinal="1">\(x^{2^{3} }\)</span> stays one deletion"#),
        "{math}"
    );
    assert!(text(math, "answer").contains(r"\[\frac{a}{b}\]"));
    let third = card(&report, "Heading with math", 2);
    assert!(text(third, "question").contains(r"\(\alpha &lt; \beta\) and a literal $ sign"));

    // Code: a `## ` in a fence and `$` in code stay code.
    let code = card(&report, "A note with code", 0);
    assert!(text(code, "answer").contains("## this is code, not a note"));
    assert!(text(code, "answer").contains("<code>$x$</code>"));

    // Media: same name from two folders is two files, same bytes once, sound packaged.
    let media: Vec<&str> = report["media_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(media.len(), 3, "{media:?}");
    let two = text(card(&report, "Two images", 0), "answer");
    assert_eq!(
        media.iter().filter(|m| two.contains(*m)).count(),
        2,
        "{two}"
    );
    let copy = text(card(&report, "The same bytes", 0), "answer");
    assert!(
        media.iter().any(|m| copy.contains(m) && two.contains(m)),
        "same bytes, one file"
    );
    let sound = notes(&report)
        .iter()
        .find(|n| first_field(n) == "Listen to this")
        .unwrap();
    assert!(sound["fields"]["Back"]
        .as_str()
        .unwrap()
        .contains("[sound:发音-"));
    assert!(text(card(&report, "Listen to this", 0), "answer").contains("[anki:play:a:0]"));

    // Raw HTML notes are taken as written.
    let raw = card(&report, "<b>Raw</b> HTML", 0);
    assert!(text(raw, "answer").contains("even *stars* and $dollars$."));

    assert_reimport_is_all_duplicates(Backend::Current, &collection, &package, 13);
}

#[test]
fn old_python_importer_accepts_the_packages() {
    for (source, expected) in [("cards", None), ("tests/decks/features", Some(13))] {
        let package = build(source);
        let collection = temp_dir("legacy");
        let report = import(Backend::Legacy, &collection, &package);
        let expected = expected.unwrap_or(notes(&report).len() as u64);
        assert_eq!(report["anki_version"], "2.1.49");
        assert_clean_first_import(&report, expected);
        assert_eq!(report["imports"][0]["importer_reported"]["added"], expected);
        assert_reimport_is_all_duplicates(Backend::Legacy, &collection, &package, expected);
    }
}

#[test]
fn sync_carries_notes_cards_decks_and_media_to_the_phone() {
    let package = build("tests/decks/features");
    let workdir = temp_dir("sync");
    let report = judge(
        Backend::Current,
        &["sync", "--workdir", path_str(&workdir), path_str(&package)],
    );
    let (desktop, phone) = (&report["desktop"], &report["phone"]);
    assert_eq!(desktop["notes"], 13, "{desktop}");
    assert_eq!(desktop["cards"], 16, "{desktop}");
    for key in [
        "notes",
        "cards",
        "decks",
        "guids",
        "media_files",
        "media_sha1",
    ] {
        assert_eq!(phone[key], desktop[key], "{key} differs on the phone");
    }
    assert_eq!(phone["media_files"].as_array().unwrap().len(), 3);
    assert!(phone["questions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["question"].as_str().unwrap().contains("[what?]")));
}
