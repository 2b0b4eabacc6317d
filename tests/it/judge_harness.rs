//! End-to-end check of the Anki judge harness itself (tests/it/common, tests/anki).
//!
//! Uses only packages made by the official Anki backend, never this crate, so a
//! failure here means the harness (or the judge's Python environment) is broken.

use crate::common;

use common::anki::{assert_check_database_clean, assert_synced, cards, import, sync};
use common::files::temp_dir;
use common::{judge, path_str, Backend};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A legacy .apkg exported by current Anki, made once per test process.
fn anki_made_package() -> &'static (PathBuf, Value) {
    static PKG: OnceLock<(PathBuf, Value)> = OnceLock::new();
    PKG.get_or_init(|| {
        let dir = temp_dir("anki-export");
        let pkg = dir.join("sample.apkg");
        let report = judge(Backend::Current, &["export-apkg", "--out", path_str(&pkg)]);
        assert!(pkg.is_file(), "export-apkg wrote no file: {report}");
        assert_eq!(report["exported_notes"], 3, "{report}");
        (pkg, report)
    })
}

fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key} in {v}"))
}

fn guids(notes: &Value) -> Vec<String> {
    let mut g: Vec<String> = notes
        .as_array()
        .expect("notes array")
        .iter()
        .map(|n| n["guid"].as_str().expect("guid").to_string())
        .collect();
    g.sort();
    g
}

fn all_questions(report: &Value) -> Vec<String> {
    cards(report)
        .map(|(_, c)| c["question"].as_str().expect("question").to_string())
        .collect()
}

/// Checks shared by both judges for one import of the sample package.
fn assert_sample_imported(report: &Value, export: &Value) {
    let imp = &report["imports"][0];
    assert_eq!(imp["ok"], true, "{imp}");
    assert_eq!(imp["counts"]["new"], 3, "{imp}");
    assert_eq!(imp["counts"]["found_notes"], 3, "{imp}");
    assert_check_database_clean(report);
    assert_eq!(count(&report["before_check"], "notes"), 3);
    assert_eq!(count(&report["before_check"], "cards"), 4);

    assert_eq!(guids(&report["notes"]), guids(&export["notes"]));
    let decks: Vec<&str> = report["decks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(decks.contains(&"JudgeHarness::Geography"), "{decks:?}");
    assert!(decks.contains(&"JudgeHarness"), "{decks:?}");

    let questions = all_questions(report);
    assert_eq!(questions.len(), 4);
    assert!(
        questions
            .iter()
            .any(|q| q.contains("What is the capital of France?")),
        "{questions:?}"
    );
    assert!(
        questions
            .iter()
            .any(|q| q.contains("[...]") && q.contains("Australia")),
        "{questions:?}"
    );
    assert!(
        questions
            .iter()
            .any(|q| q.contains(r#"<img src="judge-red-dot.png">"#)),
        "{questions:?}"
    );

    // the image arrived byte for byte
    assert_eq!(
        report["media_files"],
        serde_json::json!(["judge-red-dot.png"])
    );
    assert_eq!(report["media_sha1"], export["media_sha1"]);

    let tags: Vec<String> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["tags"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(tags.iter().any(|t| t == "judge::cloze"), "{tags:?}");
}

#[test]
fn current_import_then_reimport_is_all_duplicates() {
    let (pkg, export) = anki_made_package();
    let col = temp_dir("judge-current");
    let first = import(Backend::Current, &col, pkg);
    assert_eq!(first["backend"], "current");
    assert_sample_imported(&first, export);

    // second run reuses the collection: nothing new, everything a duplicate
    let second = import(Backend::Current, &col, pkg);
    let imp = &second["imports"][0];
    assert_eq!(imp["counts"]["new"], 0, "{imp}");
    assert_eq!(imp["counts"]["updated"], 0, "{imp}");
    assert_eq!(imp["counts"]["duplicate"], 3, "{imp}");
    let mut dupes: Vec<String> = imp["guids"]["duplicate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().expect("guid known").to_string())
        .collect();
    dupes.sort();
    assert_eq!(dupes, guids(&export["notes"]));
    assert_eq!(count(&second["after_check"], "notes"), 3);
    assert_eq!(count(&second["after_check"], "cards"), 4);
    assert_eq!(second["check"]["ok"], true);
}

#[test]
fn two_packages_in_one_call_and_review_survives_reimport() {
    let (pkg, _) = anki_made_package();
    let col = temp_dir("judge-review");
    let both = judge(
        Backend::Current,
        &[
            "import",
            "--collection",
            path_str(&col),
            path_str(pkg),
            path_str(pkg),
        ],
    );
    assert_eq!(both["imports"].as_array().unwrap().len(), 2);
    assert_eq!(both["imports"][0]["counts"]["new"], 3);
    assert_eq!(both["imports"][1]["counts"]["duplicate"], 3);

    let reviewed = judge(
        Backend::Current,
        &["review", "--collection", path_str(&col), "--answer", "2"],
    );
    let answered = reviewed["answered"].as_array().unwrap();
    assert_eq!(answered.len(), 2, "{reviewed}");
    assert_eq!(reviewed["revlog_entries"], 2);
    let progress: BTreeMap<u64, u64> = answered
        .iter()
        .map(|c| (c["id"].as_u64().unwrap(), c["reps"].as_u64().unwrap()))
        .collect();
    assert!(progress.values().all(|&r| r == 1));

    let again = import(Backend::Current, &col, pkg);
    for note in again["notes"].as_array().unwrap() {
        for card in note["cards"].as_array().unwrap() {
            let id = card["id"].as_u64().unwrap();
            let expected = progress.get(&id).copied().unwrap_or(0);
            assert_eq!(
                card["reps"].as_u64().unwrap(),
                expected,
                "card {id} lost its progress"
            );
        }
    }
}

#[test]
fn legacy_importer_accepts_anki_made_package() {
    let (pkg, export) = anki_made_package();
    let col = temp_dir("judge-legacy");
    let report = import(Backend::Legacy, &col, pkg);
    assert_eq!(report["backend"], "legacy");
    assert_eq!(report["anki_version"], "2.1.49");
    assert_sample_imported(&report, export);
    assert_eq!(report["imports"][0]["importer_reported"]["added"], 3);
    assert!(
        report["imports"][0]["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "Notes added from file: 3"),
        "{}",
        report["imports"][0]["log"]
    );
}

#[test]
fn sync_round_trip_reaches_the_phone() {
    let (pkg, export) = anki_made_package();
    let report = sync(pkg);
    assert_synced(&report, 3, 4);
    let phone = &report["phone"];
    assert_eq!(phone["media_sha1"], export["media_sha1"]);
    let questions = phone["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 4);
    assert!(questions.iter().any(|q| q["question"]
        .as_str()
        .unwrap()
        .contains("What is the capital of France?")));
    assert_eq!(
        report["phone_sync"]["required"], "FULL_DOWNLOAD",
        "{}",
        report["phone_sync"]
    );
}
