//! The package reader (`ankideck::package::open`) on packages made by others: the
//! official exporters (current Anki and 2.1.49) in the test itself, in every layout,
//! compared with what the exporting collection holds; and the shared fixtures of real
//! packages from the wild.

use crate::common;

use ankideck::package::{self, Contents, Version};
use common::anki::{export, sample_spec};
use common::files::temp_dir;
use common::Backend;
use serde_json::{json, Value};
use sha1::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The packages exported from [`sample_spec`]: current Anki's legacy and latest `.apkg`
/// (with scheduling) and `.colpkg`s, and 2.1.49's `collection.anki2` package (without).
struct Exports {
    current: Value,
    legacy: Value,
}

fn exports() -> &'static Exports {
    static EXPORTS: OnceLock<Exports> = OnceLock::new();
    EXPORTS.get_or_init(|| {
        let dir = temp_dir("reader-export");
        let formats = ["--formats", "legacy,latest,colpkg,legacy-colpkg"];
        let options = [&["--with-scheduling"][..], &formats].concat();
        let current = export(Backend::Current, &sample_spec(), &dir, &options);
        let legacy = export(Backend::Legacy, &sample_spec(), &dir, &[]);
        Exports { current, legacy }
    })
}

/// Reads a package whole, copying every media file; returns its contents and the
/// SHA-1 of each media file by name.
fn read_all(path: &Path) -> (Contents, BTreeMap<String, String>) {
    let mut reader = package::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let contents = reader
        .contents()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sha1s = BTreeMap::new();
    for file in &contents.media {
        let mut bytes = Vec::new();
        let n = reader.copy_media(file, &mut bytes).unwrap();
        assert_eq!(n, bytes.len() as u64);
        let digest = <[u8; 20]>::from(sha1::Sha1::digest(&bytes));
        if let Some(listed) = file.sha1 {
            assert_eq!(listed, digest, "{}", file.name);
        }
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        sha1s.insert(file.name.to_string(), hex);
    }
    (contents, sha1s)
}

/// The notes as the judge reports them: id, guid, note type, mod, tags, fields.
fn notes_of(contents: &Contents) -> Value {
    let notes: Vec<Value> = contents
        .notes
        .iter()
        .map(|n| {
            json!({
                "id": n.id, "guid": n.guid, "mid": n.mid, "mod": n.modified,
                "tags": n.tags.split_whitespace().collect::<Vec<_>>(),
                "fields": n.fields.split(package::FIELD_SEPARATOR).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(notes)
}

/// The cards as the judge reports them.
fn cards_of(contents: &Contents) -> Value {
    let cards: Vec<Value> = contents
        .cards
        .iter()
        .map(|c| json!({"id": c.id, "nid": c.nid, "did": c.did, "odid": c.original_did, "ord": c.ord}))
        .collect();
    json!(cards)
}

fn notetypes_of(contents: &Contents) -> Value {
    let nts: Vec<Value> = contents
        .notetypes
        .iter()
        .map(|nt| {
            json!({
                "id": nt.id, "name": nt.name, "kind": nt.kind,
                "fields": nt.flds.iter().map(|f| &f.name).collect::<Vec<_>>(),
                "templates": nt.tmpls.iter().map(|t| &t.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(nts)
}

fn decks_of(contents: &Contents) -> Value {
    let decks: Vec<Value> = contents
        .decks
        .iter()
        .map(|d| json!({"id": d.id, "name": d.name, "dyn": d.dynamic}))
        .collect();
    json!(decks)
}

fn package_path(report: &Value, format: &str) -> PathBuf {
    PathBuf::from(report["packages"][format].as_str().unwrap())
}

/// The report's items whose `key` is among `keep`.
fn only(report: &Value, list: &str, key: &str, keep: &[i64]) -> Value {
    let items: Vec<&Value> = report[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| keep.contains(&item[key].as_i64().unwrap()))
        .collect();
    json!(items)
}

/// The note types the notes use: an `.apkg` holds only those.
fn used_notetypes(report: &Value) -> Value {
    let used: Vec<i64> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["mid"].as_i64().unwrap())
        .collect();
    only(report, "notetypes", "id", &used)
}

/// The decks an `.apkg` of the whole collection holds: all but the unused `Empty`
/// and `Empty::Child` (the exporter leaves out decks without cards).
fn exported_decks(report: &Value) -> Value {
    let decks: Vec<&Value> = report["decks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["name"].as_str().unwrap().starts_with("Empty"))
        .collect();
    json!(decks)
}

/// Everything current Anki reports of the collection, read back from each package
/// it exported with scheduling: the same notes, cards (in the filtered deck, with
/// their home deck), decks, note types, review history and media.
#[test]
fn reads_what_current_anki_exports() {
    let report = &exports().current;
    let cases = [
        ("legacy", Version::Legacy2, 11, false),
        ("latest", Version::Latest, 18, false),
        ("colpkg", Version::Latest, 18, true),
        ("legacy-colpkg", Version::Legacy2, 11, true),
    ];
    for (format, version, schema, whole) in cases {
        let (contents, media) = read_all(&package_path(report, format));
        let context = format!("{format}: {contents:?}");
        assert_eq!(
            (contents.version, contents.schema, contents.whole_collection),
            (version, schema, whole),
            "{format}"
        );
        assert_eq!(contents.scheduler, 3, "{format}");
        assert_eq!(contents.warnings, [], "{format}");
        assert_eq!(notes_of(&contents), report["notes"], "{context}");
        assert_eq!(cards_of(&contents), report["cards"], "{format}");
        let (notetypes, decks) = if whole {
            (report["notetypes"].clone(), report["decks"].clone())
        } else {
            (used_notetypes(report), exported_decks(report))
        };
        assert_eq!(notetypes_of(&contents), notetypes, "{format}");
        assert_eq!(decks_of(&contents), decks, "{format}");
        assert_eq!(json!(media), report["media_sha1"], "{format}");
        let reviewed = report["reviewed_cards"].as_array().unwrap().len();
        assert_eq!(contents.cards_with_history, reviewed, "{format}");
        // Two cards of two notes sit in the filtered deck, away from home.
        let cram = contents.decks.iter().find(|d| d.name == "Cram").unwrap();
        assert_eq!(cram.dynamic, 1);
        let home = contents
            .decks
            .iter()
            .find(|d| d.name == "Lang::French")
            .unwrap();
        let away: Vec<_> = contents.cards.iter().filter(|c| c.did == cram.id).collect();
        assert_eq!(away.len(), 3, "{format}");
        assert!(away.iter().all(|c| c.original_did == home.id), "{format}");
        assert_field_details(&contents, format);
    }
}

/// Details schema 18 keeps in protobuf come back as the JSON Anki downgrades to:
/// field and template ids, CSS, stock kind, deck options, tags with `::`.
fn assert_field_details(contents: &Contents, format: &str) {
    let many = contents
        .notetypes
        .iter()
        .find(|nt| nt.name == "Many")
        .unwrap();
    assert_eq!(many.css, ".card { color: teal }", "{format}");
    assert_eq!(many.flds.len(), 12);
    assert!(many.flds.iter().all(|f| f.id != 0), "{format}: field ids");
    assert!(
        many.tmpls.iter().all(|t| t.id != 0),
        "{format}: template ids"
    );
    assert_eq!(many.tmpls[1].qfmt, "{{#F2}}{{F2}}{{/F2}}");
    let cloze = contents
        .notetypes
        .iter()
        .find(|nt| nt.name == "Cloze")
        .unwrap();
    assert_eq!((cloze.kind, cloze.original_stock_kind), (1, 5), "{format}");
    let config = contents.deck_configs.iter().find(|c| c.id == 1).unwrap();
    assert_eq!(
        (config.new.per_day, config.rev.per_day),
        (20, 200),
        "{format}"
    );
    assert_eq!(config.new.delays, [1.0, 10.0], "{format}");
    assert_eq!(config.rev.ease4, 1.3, "{format}");
    assert!(contents.notes.iter().any(|n| n.tags.contains(" lang::fr ")));
}

/// 2.1.49's exporter, without scheduling: a `collection.anki2` package whose notes,
/// cards, note types and media are those of the collection. (It renames a note type
/// that clashes with its fresh collection's stock one, and keeps the filtered deck.)
#[test]
fn reads_what_anki_2_1_49_exports() {
    let report = &exports().legacy;
    let (contents, media) = read_all(&package_path(report, "legacy1"));
    assert_eq!((contents.version, contents.schema), (Version::Legacy1, 11));
    assert_eq!((contents.scheduler, contents.cards_with_history), (2, 0));
    assert_eq!(contents.warnings, []);
    assert_eq!(notes_of(&contents), report["notes"]);
    let strip = |cards: Value| -> Value {
        let cards: Vec<Value> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!([c["id"], c["nid"], c["ord"]]))
            .collect();
        json!(cards)
    };
    assert_eq!(strip(cards_of(&contents)), strip(report["cards"].clone()));
    let used = used_notetypes(report);
    for expected in used.as_array().unwrap() {
        let ours = notetypes_of(&contents)
            .as_array()
            .unwrap()
            .iter()
            .find(|nt| nt["id"] == expected["id"])
            .cloned()
            .unwrap_or_else(|| panic!("missing {expected}"));
        let name = ours["name"].as_str().unwrap();
        assert!(
            name.starts_with(expected["name"].as_str().unwrap()),
            "{name}"
        );
        for key in ["kind", "fields", "templates"] {
            assert_eq!(ours[key], expected[key], "{key}");
        }
    }
    assert_eq!(json!(media), report["media_sha1"]);
}

#[test]
fn schema_18_reads_as_anki_downgrades() {
    let report = &exports().current;
    for (new, old) in [("latest", "legacy"), ("colpkg", "legacy-colpkg")] {
        let (new, _) = read_all(&package_path(report, new));
        let (old, _) = read_all(&package_path(report, old));
        for (a, b) in new.notetypes.iter().zip(&old.notetypes) {
            assert_eq!(json!(a), json!(b), "note type {}", a.name);
        }
        for (a, b) in new.decks.iter().zip(&old.decks) {
            assert_eq!(json!(a), json!(b), "deck {}", a.name);
        }
        for (a, b) in new.deck_configs.iter().zip(&old.deck_configs) {
            assert_eq!(json!(a), json!(b), "deck options {}", a.name);
        }
        assert_eq!(
            (new.notetypes.len(), new.decks.len(), new.deck_configs.len()),
            (old.notetypes.len(), old.decks.len(), old.deck_configs.len())
        );
    }
}
