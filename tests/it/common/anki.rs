//! Importing into and syncing through the Anki judge, and reading what it reports.
//!
//! A report is the JSON that `tests/anki/judge*.py import` prints: `imports[i].counts`,
//! `notes` (each with `fields`, `field_order`, `tags`, `cards`), `check`,
//! `before_check`/`after_check`, `media_check`, `media_files`, `media_sha1`, ….

use super::files::temp_dir;
use super::{judge, path_str, Backend};
use serde_json::{json, Value};
use std::path::Path;

/// Imports `package` into the collection in `collection` (made on first use) and returns
/// the judge's report.
pub fn import(backend: Backend, collection: &Path, package: &Path) -> Value {
    import_with(backend, collection, package, &[])
}

/// [`import`] with more options of the judge's `import` (e.g. `--with-deck-configs`).
pub fn import_with(backend: Backend, collection: &Path, package: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["import", "--collection", path_str(collection)];
    args.extend_from_slice(extra);
    args.push(path_str(package));
    judge(backend, &args)
}

/// Makes a collection from `spec` with Anki's own API (`judge*.py export`, see
/// `judge_common.SPEC_HELP`) and exports it into `out` (made if missing), with the
/// judge's other `export` options in `extra` (`--formats`, `--with-scheduling`, …);
/// returns the judge's report, whose `packages` names each file.
pub fn export(backend: Backend, spec: &Value, out: &Path, extra: &[&str]) -> Value {
    std::fs::create_dir_all(out).unwrap();
    let spec_path = out.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let mut args = vec![
        "export",
        "--spec",
        path_str(&spec_path),
        "--out",
        path_str(out),
    ];
    args.extend_from_slice(extra);
    judge(backend, &args)
}

/// Imports `package` into a desktop collection, syncs it to a local sync server and
/// from there to a fresh "phone" collection (current Anki); returns the judge's report
/// (`desktop`, `phone`, `phone_sync`, …).
pub fn sync(package: &Path) -> Value {
    let workdir = temp_dir("sync");
    judge(
        Backend::Current,
        &["sync", "--workdir", path_str(&workdir), path_str(package)],
    )
}

/// What a sync must carry from the desktop to the phone, by key of the sync report.
pub const SYNCED: [&str; 6] = [
    "notes",
    "cards",
    "decks",
    "guids",
    "media_files",
    "media_sha1",
];

/// A sync report: the desktop holds `notes` notes and `cards` cards, and the phone has
/// what the desktop has, for every key of [`SYNCED`].
#[track_caller]
pub fn assert_synced(report: &Value, notes: u64, cards: u64) {
    let (desktop, phone) = (&report["desktop"], &report["phone"]);
    assert_eq!(desktop["notes"], notes, "{report}");
    assert_eq!(desktop["cards"], cards, "{report}");
    for key in SYNCED {
        assert_eq!(
            phone[key], desktop[key],
            "{key} differs on the phone: {report}"
        );
    }
}

/// The notes of a report.
pub fn notes(report: &Value) -> &Vec<Value> {
    report["notes"].as_array().expect("notes")
}

/// Every card of a report, with its note.
pub fn cards(report: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    notes(report).iter().flat_map(|n| {
        n["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .map(move |c| (n, c))
    })
}

/// The value of a note's first field.
pub fn first_field(note: &Value) -> &str {
    let first = note["field_order"][0].as_str().unwrap();
    note["fields"][first].as_str().unwrap()
}

/// The first note whose first field starts with `prefix`.
#[track_caller]
pub fn note<'a>(report: &'a Value, prefix: &str) -> &'a Value {
    notes(report)
        .iter()
        .find(|n| first_field(n).starts_with(prefix))
        .unwrap_or_else(|| panic!("no note starting {prefix:?}"))
}

/// The card with ordinal `ord` of the first note whose first field starts with `prefix`.
#[track_caller]
pub fn card<'a>(report: &'a Value, prefix: &str, ord: u64) -> &'a Value {
    note(report, prefix)["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["ord"] == ord)
        .unwrap_or_else(|| panic!("no card {ord} of a note starting {prefix:?}"))
}

/// A string of a card: `question`, `answer` (HTML as Anki renders it) or
/// `question_text`, `answer_text`.
pub fn text<'a>(card: &'a Value, side: &str) -> &'a str {
    card[side].as_str().unwrap()
}

/// The rendered (question, answer) HTML of a card.
pub fn sides(card: &Value) -> (&str, &str) {
    (text(card, "question"), text(card, "answer"))
}

/// The SHA-1s of the media files in the collection, sorted.
pub fn media_sha1s(report: &Value) -> Vec<String> {
    let mut hashes: Vec<String> = report["media_sha1"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    hashes.sort();
    hashes
}

/// Check Database (and Check Media) found nothing to repair and changed no count.
#[track_caller]
pub fn assert_check_database_clean(report: &Value) {
    assert_eq!(report["check"]["ok"], true, "{}", report["check"]);
    assert_eq!(
        report["check"]["problems"],
        json!([]),
        "Check Database repaired something"
    );
    assert_eq!(
        report["before_check"], report["after_check"],
        "Check Database changed the counts"
    );
    assert_eq!(report["media_check"]["missing"], json!([]));
    assert_eq!(report["media_check"]["unused"], json!([]));
}

/// What every package must satisfy on a first import into a fresh collection: every
/// note new, Check Database repairs nothing, and every card renders a non-empty
/// question and answer (no broken cloze card).
#[track_caller]
pub fn assert_clean_first_import(report: &Value, expected_notes: u64) {
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
    assert_check_database_clean(report);
    for (note, card) in cards(report) {
        for side in ["question_text", "answer_text"] {
            assert!(
                !text(card, side).trim().is_empty(),
                "empty {side} of {note}"
            );
        }
        assert!(
            !text(card, "question").contains("Please edit this note"),
            "broken cloze card {note}"
        );
    }
}

/// Imports `package` again into `collection`: every note is a duplicate, nothing new or
/// updated, and the collection holds no more notes than before.
#[track_caller]
pub fn assert_reimport_is_all_duplicates(
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

/// A spec for [`export`] (see `judge_common.SPEC_HELP`): Basic, Cloze,
/// reversed and a custom type of 12 fields, subdecks and an unused deck, tags with
/// `::`, two answered cards, a filtered deck holding cards of two notes, an image, a
/// sound, and an image that a field spells in NFD (Anki stores both in NFC: NFD names
/// in packages are covered by the reader's unit tests).
pub fn sample_spec() -> Value {
    let nfd = "cafe\u{301}.png";
    json!({
        "notetypes": [{
            "name": "Many",
            "fields": (0..12).map(|i| format!("F{i}")).collect::<Vec<_>>(),
            "templates": [
                ["Card 1", "{{F0}}", "{{FrontSide}}<hr id=answer>{{F1}}"],
                ["Card 2", "{{#F2}}{{F2}}{{/F2}}", "{{F3}}"],
            ],
            "css": ".card { color: teal }",
        }],
        "decks": ["Empty::Child"],
        // Base64 of b"\x89PNG\r\n\x1a\nred", b"ID3 a sound", b"\x89PNG\r\n\x1a\ncafe".
        "media": {
            "red.png": "iVBORw0KGgpyZWQ=",
            "say.mp3": "SUQzIGEgc291bmQ=",
            "caf\u{e9}.png": "iVBORw0KGgpjYWZl",
        },
        "notes": [
            {"notetype": "Basic", "deck": "Lang::French",
             "fields": ["chat", "cat <img src=\"red.png\">"], "tags": ["lang::fr", "animal"]},
            {"notetype": "Cloze", "deck": "Lang::French::Verbs",
             "fields": ["{{c1::être}} and {{c2::avoir}}", "[sound:say.mp3]"], "tags": ["verb"]},
            {"notetype": "Many", "deck": "Lang",
             "fields": ["a", "b", "c", "d", format!("<img src=\"{nfd}\">"),
                        "", "", "", "", "", "", ""]},
            {"notetype": "Basic (and reversed card)", "deck": "Lang::French",
             "fields": ["chien", "dog"], "tags": ["animal"]},
        ],
        "review": 2,
        "filtered": [{"name": "Cram", "search": "deck:Lang::French tag:animal", "limit": 10}],
    })
}
