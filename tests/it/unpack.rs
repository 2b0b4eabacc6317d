//! `ankideck unpack` and the source writer under it: sources written from notes read back
//! as the same notes, and build the same package.

use crate::common;

use ankideck::source::write::{self, Unpacked};
use ankideck::source::Sources;
use common::anki::export;
use common::files::temp_dir;
use common::run::{assert_success, build_repo_deck};
use std::collections::HashMap;
use std::path::Path;

/// The notes, note types, decks and media of a source folder as the writer takes them,
/// with each note's id and `mod` and each note type's `mod` from its lock.
/// What the writer takes, with the ids and times the lock keeps.
type Known = (
    Unpacked,
    HashMap<String, ankideck::lock::Original>,
    HashMap<i64, i64>,
);

fn unpacked_from(source: &Path) -> Known {
    // The guids a build gives the notes: those the lock keeps included.
    let sources = ankideck::build::read_lenient(source).unwrap();
    let mut unpacked = Unpacked::default();
    for n in &sources.notes {
        if !unpacked.notetypes.iter().any(|t| t.id == n.notetype.id) {
            unpacked.notetypes.push((*n.notetype).clone());
        }
        unpacked.notes.push(n.note.clone());
    }
    unpacked.decks = sources.decks.clone();
    unpacked.media = sources.media.iter().map(|(n, _)| n.clone()).collect();
    // What the committed lock (version 2) says: each note's `mod` by guid, each note
    // type's by id.
    let lock = std::fs::read_to_string(source.join("ankideck.lock")).unwrap();
    let (mut notes, mut notetypes) = (HashMap::new(), HashMap::new());
    for line in lock.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols[0] {
            "notetype" => {
                notetypes.insert(cols[2].parse().unwrap(), cols[3].parse().unwrap());
            }
            "version" | "deck" => {}
            guid => {
                let modified = cols[2].parse().unwrap();
                let original = ankideck::lock::Original {
                    modified,
                    nid: None,
                };
                notes.insert(guid.to_string(), original);
            }
        }
    }
    (unpacked, notes, notetypes)
}

/// Writes `unpacked` into `dir` as `ankideck unpack` does, media copied from `source`.
fn write_sources(source: &Path, dir: &Path, (unpacked, originals, mods): &Known) {
    std::fs::create_dir_all(dir).unwrap();
    let plan = write::prepare(dir, unpacked).unwrap();
    let media: HashMap<String, std::path::PathBuf> =
        Sources::read(source).unwrap().media.into_iter().collect();
    for (name, relative) in &plan.media {
        let to = dir.join(relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&media[name], to).unwrap();
    }
    let mut notes = Vec::new();
    let sources = write::write(dir, plan, unpacked.clone(), &mut |batch, _| {
        notes.extend(batch)
    })
    .unwrap();
    ankideck::lock::write_seeded(
        &dir.join("ankideck.lock"),
        &notes,
        &sources.notetypes,
        originals,
        mods,
    )
    .unwrap();
}

/// The decks kept in the repository, written back as sources from their notes, build
/// byte-identical packages and keep their locks.
#[test]
fn sources_written_from_notes_build_the_same_package() {
    for deck in ["cards", "tests/decks/features", "tests/decks/rich"] {
        let source = common::workspace().join(deck);
        let dir = temp_dir("unpack-written");
        let original = dir.join("original.apkg");
        assert_success(&build_repo_deck(deck, &original, &[]));
        let written = dir.join("sources");
        write_sources(&source, &written, &unpacked_from(&source));
        let lock = std::fs::read(written.join("ankideck.lock")).unwrap();
        let rebuilt = dir.join("rebuilt.apkg");
        let output = common::run::ankideck(&[
            "build",
            common::path_str(&written),
            "-o",
            common::path_str(&rebuilt),
            "--locked",
        ]);
        assert_success(&output);
        assert_eq!(
            std::fs::read(written.join("ankideck.lock")).unwrap(),
            lock,
            "{deck}: the build keeps the lock"
        );
        assert!(
            std::fs::read(&original).unwrap() == std::fs::read(&rebuilt).unwrap(),
            "{deck}: the rebuilt package differs from the original"
        );
    }
}

/// Files in `_media/` are packaged under their own names, all of them; references to
/// them stay as written (other spellings and normalisations included), and one to a
/// file that is nowhere is kept with a warning.
#[test]
fn media_in_the_media_folder_keep_their_names() {
    let dir = temp_dir("unpack-media-folder");
    let nfd = "cafe\u{301}.png";
    let fields =
        "<img src=\"caf\u{e9}.png\"> <img src=x&amp;y.png> [sound:s.mp3] <img src='gone.png'>";
    common::files::write_files(
        &dir,
        &[
            (
                "deck.md",
                format!("---\nformat: html\n---\n\n## Q\n\n{fields}\n").as_bytes(),
            ),
            (&format!("_media/{nfd}"), b"e".as_slice()),
            ("_media/x&y.png", b"x"),
            ("_media/s.mp3", b"s"),
            ("_media/_template.css", b"t"),
            ("_media/latex-1234.png", b"e"),
        ],
    );
    let sources = Sources::read(&dir).unwrap();
    assert_eq!(sources.notes[0].note.fields[1], fields);
    let mut names: Vec<&str> = sources.media.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["_template.css", nfd, "latex-1234.png", "s.mp3", "x&y.png"]
    );
    let warnings: Vec<String> = sources
        .warnings
        .iter()
        .map(|w| w.problem.code().to_string())
        .collect();
    assert_eq!(warnings, ["media-not-unpacked"]);
}

/// `ankideck unpack` of the packages built from the repository's decks (both formats)
/// gives sources whose build is byte-identical, lock included, and `--locked` passes.
#[test]
fn unpack_of_built_decks_builds_byte_identically() {
    for (deck, format) in [
        ("cards", "legacy"),
        ("cards", "latest"),
        ("tests/decks/features", "legacy"),
        ("tests/decks/rich", "latest"),
    ] {
        let dir = temp_dir("unpack-built");
        let original = dir.join("deck.apkg");
        assert_success(&build_repo_deck(deck, &original, &["--format", format]));
        let out = common::run::ankideck_in(&dir, &["unpack", "deck.apkg"]);
        assert_success(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("unpacked deck.apkg into deck: "),
            "{stdout}"
        );
        let sources = dir.join("deck");
        if deck == "cards" {
            assert_markdown_spelled_back(&sources);
        }
        let lock = std::fs::read(sources.join("ankideck.lock")).unwrap();
        let rebuilt = dir.join("rebuilt.apkg");
        let args = [
            "build",
            common::path_str(&sources),
            "-o",
            common::path_str(&rebuilt),
        ];
        let out = common::run::ankideck(&[&args[..], &["--locked", "--format", format]].concat());
        assert_success(&out);
        assert_eq!(std::fs::read(sources.join("ankideck.lock")).unwrap(), lock);
        assert!(
            std::fs::read(&original).unwrap() == std::fs::read(&rebuilt).unwrap(),
            "{deck} ({format}): the rebuilt package differs"
        );
    }
}

/// The fields of a deck written in Markdown come back as Markdown, not as the HTML it
/// rendered to: no `<p>`, `<strong>` or `<code>` in any card file, and no `format: html`.
fn assert_markdown_spelled_back(sources: &Path) {
    let mut files = 0;
    for entry in walkdir::WalkDir::new(sources) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|e| e == "md") {
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for html in ["<p>", "<strong>", "<code>", "format: html"] {
                assert!(!text.contains(html), "{}: {html}\n{text}", path.display());
            }
        }
    }
    assert!(files > 0);
}

/// What `unpack` refuses, with exit status 2 and nothing written: a folder that holds
/// files (unless `--force`), a file as the folder, packages that are not packages.
#[test]
fn unpack_refuses_what_it_cannot_use() {
    let dir = temp_dir("unpack-refuses");
    let package = dir.join("deck.apkg");
    assert_success(&build_repo_deck("cards", &package, &[]));
    let unpack = |args: &[&str]| common::run::ankideck_in(&dir, &[&["unpack"][..], args].concat());
    let refused = |out: std::process::Output, says: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
    };
    std::fs::create_dir(dir.join("full")).unwrap();
    std::fs::write(dir.join("full/keep.md"), "mine").unwrap();
    refused(unpack(&["deck.apkg", "-o", "full"]), "is not empty");
    assert_eq!(
        std::fs::read_to_string(dir.join("full/keep.md")).unwrap(),
        "mine"
    );
    std::fs::write(dir.join("file"), "x").unwrap();
    refused(unpack(&["deck.apkg", "-o", "file"]), "is a file");
    std::fs::write(dir.join("text.apkg"), "not a zip").unwrap();
    refused(unpack(&["text.apkg", "-o", "t"]), "text.apkg");
    let bytes = std::fs::read(&package).unwrap();
    std::fs::write(dir.join("cut.apkg"), &bytes[..bytes.len() / 2]).unwrap();
    refused(unpack(&["cut.apkg", "-o", "c"]), "cut.apkg");
    refused(unpack(&["missing.apkg"]), "missing.apkg");
    for made in ["t", "c", "missing"] {
        assert!(!dir.join(made).exists(), "{made} was written");
    }
    // An empty folder is fine, and --force replaces one that holds files.
    std::fs::create_dir(dir.join("empty")).unwrap();
    assert_success(&unpack(&["deck.apkg", "-o", "empty"]));
    assert_success(&unpack(&["deck.apkg", "-o", "full", "--force"]));
    assert!(!dir.join("full/keep.md").exists());
    assert!(dir.join("full/ankideck.lock").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A collection with what real decks hold: Anki's own Basic, reversed and Cloze types
/// (custom types here, named like ankideck's stock ones), a custom type with 12 fields
/// and two templates, subdecks, tags with `::`, an image, a sound, a field that spells a
/// media name in NFD, fields no plain spelling keeps (setting-like lines, `## ` lines,
/// leading spaces, Markdown-looking text), two reviewed cards and a filtered deck.
fn anki_spec() -> serde_json::Value {
    let mut spec = common::anki::sample_spec();
    spec["notes"].as_array_mut().unwrap().extend([
        serde_json::json!({"notetype": "Basic", "deck": "Lang",
            "fields": ["tags: x\n## not a note", "  lead\n\n### x\n"]}),
        serde_json::json!({"notetype": "Basic", "deck": "Lang",
            "fields": ["2*3*4 = 24", "**bold** <b>x</b>"]}),
    ]);
    spec["card_decks"] = serde_json::json!([[3, 1, "Lang::Reverse"]]);
    spec
}

/// What a judge report says of each note, by guid, as a fresh import must reproduce it:
/// note type, fields (NFC), tags, and each card's template and home deck.
fn notes_by_guid(
    report: &serde_json::Value,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use unicode_normalization::UnicodeNormalization;
    common::anki::notes(report)
        .iter()
        .map(|n| {
            let fields: Vec<String> = n["field_order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|name| {
                    n["fields"][name.as_str().unwrap()]
                        .as_str()
                        .unwrap()
                        .nfc()
                        .collect()
                })
                .collect();
            let mut tags: Vec<String> = serde_json::from_value(n["tags"].clone()).unwrap();
            tags.sort();
            let cards: Vec<(u64, String)> = n["cards"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let home = c["home_deck"].as_str().unwrap().to_string();
                    (c["ord"].as_u64().unwrap(), home)
                })
                .collect();
            let value = serde_json::json!({
                "notetype": n["notetype"], "fields": fields, "tags": tags, "cards": cards,
            });
            (n["guid"].as_str().unwrap().to_string(), value)
        })
        .collect()
}

/// The cards of each note of the collection `judge.py export` made, by guid: template
/// and home deck (the deck a card in a filtered deck returns to).
fn home_decks(
    exported: &serde_json::Value,
) -> std::collections::BTreeMap<String, Vec<(u64, String)>> {
    let deck = |id: &serde_json::Value| {
        let decks = exported["decks"].as_array().unwrap();
        let found = decks.iter().find(|d| d["id"] == *id).unwrap();
        found["name"].as_str().unwrap().to_string()
    };
    let mut out = std::collections::BTreeMap::new();
    for note in exported["notes"].as_array().unwrap() {
        let mut cards: Vec<(u64, String)> = exported["cards"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["nid"] == note["id"])
            .map(|c| {
                let home = if c["odid"] == 0 {
                    &c["did"]
                } else {
                    &c["odid"]
                };
                (c["ord"].as_u64().unwrap(), deck(home))
            })
            .collect();
        cards.sort();
        out.insert(note["guid"].as_str().unwrap().to_string(), cards);
    }
    out
}

/// Each card's scheduling, by card id.
fn scheduling(report: &serde_json::Value) -> Vec<(u64, serde_json::Value)> {
    let mut out: Vec<(u64, serde_json::Value)> = common::anki::notes(report)
        .iter()
        .flat_map(|n| n["cards"].as_array().unwrap().iter())
        .map(|c| {
            let keys = [
                "did", "odid", "type", "queue", "due", "ivl", "factor", "reps", "lapses",
            ];
            let kept: serde_json::Map<String, serde_json::Value> = keys
                .iter()
                .map(|k| (k.to_string(), c[*k].clone()))
                .collect();
            (c["id"].as_u64().unwrap(), serde_json::Value::Object(kept))
        })
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

/// The round trip, judged by the official backend: for packages its exporter makes in
/// every layout (`.apkg` legacy and latest, `.colpkg` latest and legacy, and 2.1.49's
/// `collection.anki2`), `unpack` then `build` gives a package that (a) imports into a
/// fresh collection as the same notes, note types, cards in the same (home) decks and
/// media, and (b) imported over the original (with its review history) adds, updates
/// and conflicts with nothing, leaves every card's scheduling as it was, and leaves
/// Check Database nothing to repair.
#[test]
fn anki_exports_round_trip() {
    use common::Backend;
    let dir = temp_dir("unpack-anki");
    let formats = "legacy,latest,colpkg,legacy-colpkg";
    let options = ["--with-scheduling", "--formats", formats];
    let current = export(Backend::Current, &anki_spec(), &dir, &options);
    for format in ["legacy", "latest", "colpkg", "legacy-colpkg"] {
        round_trip(&dir, &current, format, "legacy", &SPEC_TRIP);
    }
    let old_dir = dir.join("2.1.49");
    let old = export(
        Backend::Legacy,
        &anki_spec(),
        &old_dir,
        &["--with-scheduling"],
    );
    round_trip(&old_dir, &old, "legacy1", "legacy1", &SPEC_TRIP);
}

/// What a round trip of a spec's packages expects.
struct Trip {
    /// Notes in the collection.
    notes: u64,
    /// Whether some cards have review history.
    history: bool,
    /// Whether the rebuilt sources build without warnings and every card shows
    /// something (no card with an empty front).
    no_warnings: bool,
}

/// [`anki_spec`]'s round trip.
const SPEC_TRIP: Trip = Trip {
    notes: 6,
    history: true,
    no_warnings: true,
};

/// One package of `exported` (a `judge.py export` report) unpacked, built and judged
/// against its `.apkg` `original` (the same collection): see [`anki_exports_round_trip`].
/// Returns what unpack said on its standard error.
fn round_trip(
    dir: &Path,
    exported: &serde_json::Value,
    format: &str,
    original: &str,
    trip: &Trip,
) -> String {
    use common::anki::{import, import_with};
    use common::{path_str, Backend};
    let package =
        |format: &str| std::path::PathBuf::from(exported["packages"][format].as_str().unwrap());
    let original = package(original);
    // The original as a fresh collection has it, with its cards in their home decks: a
    // fresh import leaves a filtered deck's cards in a copy of it.
    let fresh = import(
        Backend::Current,
        &dir.join(format!("fresh-original-{format}")),
        &original,
    );
    let mut expected = notes_by_guid(&fresh);
    for (guid, cards) in home_decks(exported) {
        expected.get_mut(&guid).unwrap()["cards"] = serde_json::json!(cards);
    }
    assert_eq!(expected.len() as u64, trip.notes);
    let sources = dir.join(format!("sources-{format}"));
    let out = common::run::ankideck(&[
        "unpack",
        path_str(&package(format)),
        "-o",
        path_str(&sources),
    ]);
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = stdout.contains("2 cards have review history; it stays in your collection");
    assert_eq!(said, trip.history, "{stdout}");
    let rebuilt = dir.join(format!("rebuilt-{format}.apkg"));
    let mut build = vec![
        "build",
        path_str(&sources),
        "-o",
        path_str(&rebuilt),
        "--locked",
    ];
    if trip.no_warnings {
        build.push("--deny-warnings");
    }
    assert_success(&common::run::ankideck(&build));
    // (a) a fresh collection
    let again = import(
        Backend::Current,
        &dir.join(format!("fresh-{format}")),
        &rebuilt,
    );
    if trip.no_warnings {
        common::anki::assert_clean_first_import(&again, trip.notes);
    } else {
        // As many notes as a fresh import of the original has, checked below.
        assert_eq!(again["imports"][0]["counts"]["new"], trip.notes);
        common::anki::assert_check_database_clean(&again);
    }
    assert_eq!(notes_by_guid(&again), expected, "{format}: notes differ");
    assert_eq!(
        again["media_sha1"], fresh["media_sha1"],
        "{format}: media differ"
    );
    let used = |r: &serde_json::Value| {
        let used: Vec<&str> = common::anki::notes(r)
            .iter()
            .map(|n| n["notetype"].as_str().unwrap())
            .collect();
        // Names, fields, templates, CSS: what people see. (2.1.49 gave fields and
        // templates no ids; a build derives them, which Anki takes as the same.)
        let mut nts: Vec<serde_json::Value> = r["notetypes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| used.contains(&t["name"].as_str().unwrap()))
            .map(|t| {
                serde_json::json!([
                    t["name"],
                    t["type"],
                    t["fields"],
                    t["templates"],
                    t["sortf"],
                    t["settings"]["css"]
                ])
            })
            .collect();
        nts.sort_by_key(|t| t[0].as_str().unwrap().to_string());
        nts
    };
    assert_eq!(used(&again), used(&fresh), "{format}: note types differ");
    // (b) over the original, with its review history
    let holding = dir.join(format!("holding-{format}"));
    let before = import_with(
        Backend::Current,
        &holding,
        &original,
        &["--with-scheduling"],
    );
    let after = import(Backend::Current, &holding, &rebuilt);
    let log = &after["imports"][0]["counts"];
    assert_eq!(log["duplicate"], trip.notes, "{format}: {log}");
    for category in ["new", "updated", "conflicting", "missing_notetype"] {
        assert_eq!(log[category], 0, "{format}: {category}: {log}");
    }
    assert_eq!(
        scheduling(&after),
        scheduling(&before),
        "{format}: scheduling changed"
    );
    common::anki::assert_check_database_clean(&after);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Rewrites the collection of the legacy package at `path` with `edit` on its
/// connection, keeping its other entries.
fn edit_legacy_collection(path: &Path, edit: impl FnOnce(&rusqlite::Connection)) {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        entries.push((entry.name().to_string(), bytes));
    }
    let db = path.with_extension("anki2");
    let collection = entries.iter_mut().find(|(n, _)| n == "collection.anki2");
    let collection = collection.unwrap();
    std::fs::write(&db, &collection.1).unwrap();
    edit(&rusqlite::Connection::open(&db).unwrap());
    collection.1 = std::fs::read(&db).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in &entries {
        let options = zip::write::SimpleFileOptions::default();
        out.start_file(name.as_str(), options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap();
}

/// A 2.0-era collection with two note types named `Basic` (and one `basic+`, taken
/// regardless of case): each keeps its name, the second `Basic` gets an `alias` for
/// card files (said once), and the folder builds a package that a fresh Anki imports
/// with the note types named as the original's.
#[test]
fn note_types_named_alike_get_the_names_anki_gives_them() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-same-names");
    let package = dir.join("old.apkg");
    let mut built = Package::new(1_700_000_000);
    for stock in [Stock::Basic, Stock::Reversed, Stock::TypeIn] {
        let nt = stock.notetype();
        let front = format!("{stock:?}");
        built
            .add_note(Note::new(&nt, [front.as_str(), "back"]))
            .unwrap();
    }
    built.write_with(&package, Format::Legacy1).unwrap();
    edit_legacy_collection(&package, |db| {
        let models: String = db
            .query_row("SELECT models FROM col", [], |r| r.get(0))
            .unwrap();
        let mut models: serde_json::Value = serde_json::from_str(&models).unwrap();
        let mut ids: Vec<String> = models.as_object().unwrap().keys().cloned().collect();
        ids.sort();
        for (id, name) in ids.iter().zip(["Basic", "basic+", "Basic"]) {
            models[id]["name"] = name.into();
        }
        db.execute("UPDATE col SET models = ?1", [models.to_string()])
            .unwrap();
    });
    let out = common::run::ankideck_in(&dir, &["unpack", "old.apkg", "-o", "old"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is named `Basic` like another one; it keeps its name, and card files call it `Basic++`"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("like another one").count(), 1, "{stderr}");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir.join("old/_notetypes")).unwrap() {
        let toml = std::fs::read_to_string(entry.unwrap().path().join("notetype.toml"));
        let toml = toml.unwrap();
        let first = toml.lines().next().unwrap();
        let alias = toml.lines().find(|l| l.starts_with("alias = "));
        names.push(
            [Some(first), alias]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    names.sort();
    assert_eq!(
        names,
        [
            r#"name = "Basic""#,
            r#"name = "Basic" alias = "Basic++""#,
            r#"name = "basic+""#
        ]
    );
    assert_success(&common::run::ankideck_in(
        &dir,
        &["build", "old", "-o", "new.apkg"],
    ));
    // The rebuilt package names its note types as the original does, by id. (How a
    // fresh Anki renames same-named types on import depends on the order it meets
    // them in, which varies from run to run.)
    let names = |path: &Path| {
        let contents = ankideck::package::open(path).unwrap().contents().unwrap();
        let names = contents.notetypes.iter().map(|t| (t.id, t.name.clone()));
        names.collect::<Vec<_>>()
    };
    let original = names(&package);
    assert_eq!(names(&dir.join("new.apkg")), original);
    let basics = original.iter().filter(|(_, n)| n == "Basic").count();
    assert_eq!(basics, 2, "{original:?}");
}

/// Cards Anki kept though their note's fields no longer make them (a cloze number
/// since removed, a reverse card whose field was emptied) are kept with `empty-cards:`,
/// one line per note at its heading, and the build makes them.
#[test]
fn cards_the_fields_no_longer_make_are_kept() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-lost-cards");
    let package = dir.join("stale.apkg");
    let mut built = Package::new(1_700_000_000);
    let cloze = Stock::Cloze.notetype();
    let note = Note::new(&cloze, ["{{c1::a}} {{c2::b}} {{c3::c}}", ""]);
    built.add_note(note).unwrap();
    let reversed = Stock::Reversed.notetype();
    built
        .add_note(Note::new(&reversed, ["front", "back"]))
        .unwrap();
    built
        .add_note(Note::new(&reversed, ["kept", "both"]))
        .unwrap();
    built.write_with(&package, Format::Legacy1).unwrap();
    edit_legacy_collection(&package, |db| {
        let edits = [
            (
                "{{c1::a}} b {{c3::c}}\x1f",
                "{{c1::a}} {{c2::b}} {{c3::c}}\x1f",
            ),
            ("front\x1f", "front\x1fback"),
        ];
        for (to, from) in edits {
            db.execute("UPDATE notes SET flds = ?1 WHERE flds = ?2", [to, from])
                .unwrap();
        }
    });
    let out = common::run::ankideck_in(&dir, &["unpack", "stale.apkg", "-o", "stale"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kept: Vec<&str> = (stderr.lines())
        .filter(|l| l.contains("whose front is empty"))
        .collect();
    assert_eq!(kept.len(), 2, "{stderr}");
    assert!(
        kept[0].contains("Default.md:7: the note has a card whose front is empty (c2)"),
        "{stderr}"
    );
    assert!(
        kept[1].contains("Default.md:12: the note has a card"),
        "{stderr}"
    );
    assert!(kept[1].contains("(`Card 2`)"), "{stderr}");
    let text = std::fs::read_to_string(dir.join("stale/Default.md")).unwrap();
    assert_eq!(text.matches("\nempty-cards: 2\n").count(), 2, "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 notes, 7 cards"), "{stdout}");
    let build = common::run::ankideck_in(&dir, &["build", "stale", "--locked"]);
    assert_success(&build);
    let stdout = String::from_utf8_lossy(&build.stdout);
    assert!(stdout.contains("3 notes, 7 cards"), "{stdout}");
}

/// Each note's card ordinals in the package at `path`, by guid.
fn cards_by_guid(path: &Path) -> std::collections::BTreeMap<String, Vec<i64>> {
    let contents = ankideck::package::open(path).unwrap().contents().unwrap();
    let mut out = std::collections::BTreeMap::new();
    for note in &contents.notes {
        let mut ords: Vec<i64> = (contents.cards.iter())
            .filter(|c| c.nid == note.id)
            .map(|c| c.ord)
            .collect();
        ords.sort_unstable();
        out.insert(note.guid.to_string(), ords);
    }
    out
}

/// Cards a package lacks though its notes' fields make them (deleted in Anki, or left
/// out by Anki 2.0's rules or another tool) are left out with `skip-cards:`, one
/// warning per note at its heading, and the build lacks them too; a note without any
/// card is written with the cards its fields make, as Check Database gives them, with a
/// warning. Removing the line makes the card, and changes the note for the lock.
#[test]
fn cards_the_package_lacks_are_skipped() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-lacking-cards");
    let package = dir.join("lacking.apkg");
    let mut built = Package::new(1_700_000_000);
    let cloze = Stock::Cloze.notetype();
    let note = Note::new(&cloze, ["{{c1::a}} {{c2::b}} {{c3::c}}", ""]).guid("g-cloze");
    built.add_note(note).unwrap();
    let reversed = Stock::Reversed.notetype();
    for guid in ["g-rev", "g-none"] {
        let note = Note::new(&reversed, [guid, "back"]).guid(guid);
        built.add_note(note).unwrap();
    }
    built.write_with(&package, Format::Legacy1).unwrap();
    edit_legacy_collection(&package, |db| {
        let delete = "DELETE FROM cards WHERE ord = ?2 \
                      AND nid = (SELECT id FROM notes WHERE guid = ?1)";
        for (guid, ord) in [("g-cloze", 1), ("g-rev", 0), ("g-none", 0), ("g-none", 1)] {
            db.execute(delete, rusqlite::params![guid, ord]).unwrap();
        }
    });
    let out = common::run::ankideck_in(&dir, &["unpack", "lacking.apkg", "-o", "src"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = (stderr.lines())
        .filter(|l| l.contains("its fields make"))
        .collect();
    assert_eq!(said.len(), 3, "{stderr}");
    for line in [
        "Default.md:7: the note lacks a card its fields make (c2); `skip-cards:` leaves it out",
        "Default.md:12: the note lacks a card its fields make (`Card 1`)",
        "note `g-none` has no cards in the package; it is written with the cards its fields make (1, 2)",
    ] {
        assert!(said.iter().any(|l| l.contains(line)), "{line}: {stderr}");
    }
    let text = std::fs::read_to_string(dir.join("src/Default.md")).unwrap();
    for (guid, line) in [("g-cloze", "skip-cards: 2"), ("g-rev", "skip-cards: 1")] {
        let note = text.split("\n## ").find(|n| n.contains(guid)).unwrap();
        assert!(note.lines().any(|l| l == line), "{text}");
    }
    assert_eq!(text.matches("skip-cards:").count(), 2, "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 notes, 3 cards"), "{stdout}");
    let build = |locked: bool| {
        let mut args = vec!["build", "src", "-o", "built.apkg"];
        args.extend(locked.then_some("--locked"));
        assert_success(&common::run::ankideck_in(&dir, &args));
        let lock = std::fs::read_to_string(dir.join("src/ankideck.lock")).unwrap();
        let hashes: std::collections::BTreeMap<String, String> = (lock.lines())
            .filter(|l| l.starts_with("g-"))
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[0].to_string(), cols[3].to_string())
            })
            .collect();
        (cards_by_guid(&dir.join("built.apkg")), hashes)
    };
    let (cards, before) = build(true);
    let expected = [
        ("g-cloze", vec![0, 2]),
        ("g-none", vec![0, 1]),
        ("g-rev", vec![1]),
    ];
    let expected = expected.map(|(g, ords)| (g.to_string(), ords)).into();
    assert_eq!(cards, expected);
    let text = text.replace("skip-cards: 1\n", "");
    std::fs::write(dir.join("src/Default.md"), text).unwrap();
    let (cards, after) = build(false);
    assert_eq!(cards["g-rev"], [0, 1]);
    let changed: Vec<&String> = (before.iter())
        .filter(|(guid, hash)| after[*guid] != **hash)
        .map(|(guid, _)| guid)
        .collect();
    assert_eq!(changed, ["g-rev"], "{before:?} {after:?}");
}

/// Notes as real collections have them that a person would not write: cards Anki
/// kept after their fields were edited, notes whose every front is empty (an empty
/// first field, a cloze note without a deletion), a deletion only in a field the
/// front does not show, cloze braces Anki takes as text (in a Basic note, never
/// closed). Made and exported by the official backend, each unpacks into sources that
/// build (each odd note said at its heading), and the round trip keeps every card.
#[test]
fn notes_anki_keeps_as_they_are_round_trip() {
    use common::Backend;
    let spec = serde_json::json!({
        "notes": [
            {"notetype": "Basic (and reversed card)", "fields": ["front", "back"]},
            {"notetype": "Cloze", "deck": "Odd", "fields": ["{{c1::a}} {{c2::b}}", ""]},
            {"notetype": "Basic", "fields": ["", "back"]},
            {"notetype": "Cloze", "fields": ["no deletion", ""]},
            {"notetype": "Cloze", "fields": ["", "{{c2::only here}}"]},
            {"notetype": "Basic", "fields": ["{{c1::braces}} in Basic", "b"]},
            {"notetype": "Cloze", "fields": ["{{c1::a}} {{c2::never closed", ""]},
            {"notetype": "Basic", "deck": "Odd", "fields": ["<br>", ""], "tags": ["t"]},
        ],
        "edits": [[0, ["front", ""]], [1, ["{{c1::a}} b", ""]]],
    });
    let dir = temp_dir("unpack-odd-notes");
    let formats = ["--formats", "legacy,latest"];
    let exported = export(Backend::Current, &spec, &dir, &formats);
    let trip = Trip {
        notes: 8,
        history: false,
        no_warnings: false,
    };
    for format in ["legacy", "latest"] {
        let stderr = round_trip(&dir, &exported, format, "legacy", &trip);
        let said = |what: &str| stderr.lines().filter(|l| l.contains(what)).count();
        assert_eq!(said("whose front is empty"), 6, "{stderr}");
        assert_eq!(said("cloze braces that Anki takes as text"), 2, "{stderr}");
        assert!(
            stderr.contains("1 Default.md:6: the note has a card whose front is empty (`Card 2`)"),
            "{stderr}"
        );
    }
}

/// What `unpack` writes for such notes builds as written by hand: `empty-cards:` makes
/// the cards it names, saves a note whose fields make none and quiets a deletion only
/// in a field the front does not show when its card is named; cloze braces in a
/// `~~~ verbatim` block are text. Adding `empty-cards:` changes the note for the lock,
/// so that Anki takes the card.
#[test]
fn empty_cards_and_verbatim_braces_build() {
    let dir = temp_dir("unpack-empty-cards");
    let notes = "## {{c1::a}} and b\nempty-cards: 2\n\n\
                 ## <br>\nempty-cards: 1\n\n\
                 ## No deletion\ntype: cloze\nempty-cards: 1, 3\n\n\
                 ## …\ntype: cloze\nempty-cards: 2\n### Back Extra\n{{c2::back}}\n\n\
                 ## Braces\ntype: basic\n### Back\n~~~ verbatim\n{{c1::not a cloze}} {{c2::open\n~~~\n";
    common::files::write_files(&dir, &[("src/deck.md", notes.as_bytes())]);
    let build = || {
        let out = common::run::ankideck_in(&dir, &["build", "src", "-o", "deck.apkg"]);
        assert_success(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Only the empty fields of `## <br>` and the deletion on the back are worth a
        // word: no brace, no card is questioned.
        assert_eq!(stderr.matches("warning:").count(), 3, "{stderr}");
        assert_eq!(stderr.matches("shows as written").count(), 1, "{stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = build();
    assert!(stdout.contains("5 notes, 7 cards"), "{stdout}");
    let hashes = || {
        let lock = std::fs::read_to_string(dir.join("src/ankideck.lock")).unwrap();
        let mut rows: Vec<(String, String)> = (lock.lines())
            .filter(|l| !l.starts_with('#') && l.split('\t').count() >= 8)
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[7].to_string(), cols[3].to_string())
            })
            .collect();
        rows.sort();
        rows
    };
    let before = hashes();
    let text = notes.replace("empty-cards: 1, 3\n", "empty-cards: 1\n");
    std::fs::write(dir.join("src/deck.md"), text).unwrap();
    let stdout = build();
    assert!(stdout.contains("5 notes, 6 cards"), "{stdout}");
    let after = hashes();
    let changed: Vec<&str> = (before.iter().zip(&after))
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert_eq!(changed, ["No deletion"], "{before:?} {after:?}");
}

/// A collection with two notes of one guid (Anki's importer takes the second for the
/// first): the second is left out with a warning that names it, and the rest builds.
#[test]
fn a_second_note_with_a_guid_is_left_out_and_said() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-same-guid");
    let package = dir.join("twice.apkg");
    let mut built = Package::new(1_700_000_000);
    let basic = Stock::Basic.notetype();
    for front in ["first", "second", "third"] {
        let note = Note::new(&basic, [front, "back"]).guid(format!("g-{front}"));
        built.add_note(note).unwrap();
    }
    built.write_with(&package, Format::Legacy1).unwrap();
    edit_legacy_collection(&package, |db| {
        db.execute(
            "UPDATE notes SET guid = 'g-first' WHERE guid = 'g-second'",
            [],
        )
        .unwrap();
    });
    let out = common::run::ankideck_in(&dir, &["unpack", "twice.apkg", "-o", "twice"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("has the guid `g-first` of another note; it is left out")
            .count(),
        1,
        "{stderr}"
    );
    let build = common::run::ankideck_in(&dir, &["build", "twice", "--locked"]);
    assert_success(&build);
    let stdout = String::from_utf8_lossy(&build.stdout);
    assert!(stdout.contains("2 notes, 2 cards"), "{stdout}");
}

/// Decks as real collections have them: options groups with every kind of key changed,
/// two groups with one name on different decks, Anki's `Default` group edited, HTML
/// descriptions (several lines, trailing newlines, Anki's Markdown switch), a deck no
/// note uses.
fn decks_spec() -> serde_json::Value {
    let basic = |deck: &str, front: &str| serde_json::json!({"notetype": "Basic", "deck": deck, "fields": [front, "b"]});
    serde_json::json!({
        "decks": ["Unused::Leaf"],
        "notes": [basic("Lang::French", "chat"), basic("Lang::Verbs", "être"),
                  basic("Math", "1+1"), basic("Default", "x")],
        "presets": [
            {"name": "Fast", "decks": ["Lang::French", "Unused::Leaf"], "set": {
                "maxTaken": 30, "autoplay": false, "timer": 1, "replayq": false,
                "newMix": 1, "newPerDayMinimum": 3, "interdayLearningMix": 2,
                "reviewOrder": 3, "newSortOrder": 2, "newGatherPriority": 1,
                "buryInterdayLearning": true, "desiredRetention": 0.85,
                "fsrsParams6": [0.2, 1.2, 3.3, 15.5, 7.2, 0.5, 1.4, 0.01, 1.5, 0.14, 0.94,
                                1.9, 0.11, 0.3, 2.2, 0.25, 2.9, 0.5, 0.4, 0.3, 0.1],
                "easyDaysPercentages": [1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.0],
                "stopTimerOnAnswer": true, "secondsToShowQuestion": 5.5,
                "questionAction": 1, "answerAction": 2, "waitForAudio": false,
                "new": {"perDay": 50, "delays": [0.5, 15.0, 1440.0], "ints": [2, 6, 0],
                        "initialFactor": 2300, "order": 0, "bury": true},
                "rev": {"perDay": 400, "ease4": 1.5, "ivlFct": 0.9, "hardFactor": 1.1,
                        "maxIvl": 3650, "bury": true},
                "lapse": {"delays": [5.0, 30.0], "leechAction": 0, "leechFails": 5,
                          "minInt": 2, "mult": 0.3},
            }},
            {"name": "Fast", "decks": ["Lang::Verbs"], "set": {"new": {"perDay": 7}}},
            {"name": "Default", "set": {"rev": {"perDay": 123}, "lapse": {"leechFails": 4}}},
            {"name": "Spare", "set": {"new": {"perDay": 3}}},
        ],
        "descriptions": [
            {"deck": "Lang::French", "desc": "<p>Words</p>\n<ul>\n  <li>one</li>\n</ul>\n\n"},
            {"deck": "Math", "desc": "**Sums** and ''' quotes\n\n", "md": true},
            {"deck": "Unused", "desc": "tab\there \\ <br>"},
        ],
    })
}

/// The decks a judge report has: name, description, Markdown switch, and options group
/// (every key but its id and times).
fn deck_settings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    let details = report["deck_details"].as_array().unwrap();
    let settings = details
        .iter()
        .map(|d| serde_json::json!([d["name"], d["desc"], d["md"], d["conf_name"], d["config"]]));
    settings.collect()
}

/// Options groups (every key of Anki's), descriptions byte for byte and decks no note
/// uses come back: a fresh collection importing the rebuilt package with its presets
/// has the decks and presets of one importing the original, for the legacy and the
/// latest format. Unpack counts the decks as the build does, and names the presets no
/// deck uses, which it leaves out.
#[test]
fn deck_presets_and_descriptions_round_trip() {
    use common::anki::import_with;
    use common::{path_str, Backend};
    let dir = temp_dir("unpack-decks");
    let with = ["--with-deck-configs", "--with-scheduling"];
    let options = [&with[..], &["--formats", "legacy,latest"]].concat();
    let exported = export(Backend::Current, &decks_spec(), &dir, &options);
    for format in ["legacy", "latest"] {
        let original = std::path::PathBuf::from(exported["packages"][format].as_str().unwrap());
        let fresh = import_with(
            Backend::Current,
            &dir.join(format!("fresh-original-{format}")),
            &original,
            &with,
        );
        let sources = dir.join(format!("sources-{format}"));
        let out = common::run::ankideck(&["unpack", path_str(&original), "-o", path_str(&sources)]);
        assert_success(&out);
        let unpacked = String::from_utf8_lossy(&out.stdout).to_string();
        // Anki exports the presets of its decks only.
        assert!(!unpacked.contains("no deck uses"), "{unpacked}");
        let toml = std::fs::read_to_string(sources.join("Lang/French/_deck.toml")).unwrap();
        assert!(
            toml.contains("description_html = '''\n<p>Words</p>\n<ul>"),
            "{toml}"
        );
        assert!(toml.contains("\n[options.anki.lapse]\n"), "{toml}");
        let rebuilt = dir.join(format!("rebuilt-{format}.apkg"));
        let out = common::run::ankideck(&[
            "build",
            path_str(&sources),
            "-o",
            path_str(&rebuilt),
            "--locked",
            "--deny-warnings",
        ]);
        assert_success(&out);
        let built = String::from_utf8_lossy(&out.stdout).to_string();
        let decks = |line: &str| {
            let at = line.find(" decks").unwrap();
            line[..at].rsplit(' ').next().unwrap().to_string()
        };
        assert_eq!(decks(&unpacked), decks(&built), "{unpacked}\n{built}");
        // Anki exports the decks its notes use (and their parents), and Default.
        assert_eq!(decks(&built), "5", "{built}");
        let again = import_with(
            Backend::Current,
            &dir.join(format!("fresh-{format}")),
            &rebuilt,
            &with,
        );
        let (got, want) = (deck_settings(&again), deck_settings(&fresh));
        assert_eq!(got.len(), 5, "{got:#?}");
        for (got, want) in got.iter().zip(&want) {
            assert_eq!(got, want, "{format}");
        }
        assert_eq!(got, want, "{format}");
    }
    // A collection package has every deck: one no note uses is kept, with its group.
    let colpkg = export(
        Backend::Current,
        &decks_spec(),
        &dir,
        &["--formats", "colpkg"],
    );
    let sources = dir.join("sources-colpkg");
    let package = colpkg["packages"]["colpkg"].as_str().unwrap();
    let out = common::run::ankideck(&["unpack", package, "-o", path_str(&sources)]);
    assert_success(&out);
    let unpacked = String::from_utf8_lossy(&out.stdout).to_string();
    let toml = std::fs::read_to_string(sources.join("Unused/Leaf/_deck.toml")).unwrap();
    assert!(toml.contains("name = \"Fast\"\nid = "), "{toml}");
    let out = common::run::ankideck(&["build", path_str(&sources), "--locked"]);
    assert_success(&out);
    let built = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(unpacked.contains(" 7 decks, "), "{unpacked}");
    assert!(built.contains(" 7 decks, "), "{built}");
    // A preset no deck uses cannot come back: Anki's importer takes only the presets of
    // the decks it imports. Unpack says so.
    let said = "\n1 deck options preset that no deck uses left out (`Spare`): Anki imports \
                only the presets of the decks in a package\n";
    assert!(unpacked.contains(said), "{unpacked}");
    for file in common::files::files_under(&sources) {
        let text = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains("Spare"),
            "{file:?}"
        );
    }
}

/// A deck studied in Anki, exported with its scheduling: the notes whose cards are all
/// studied have no new card to keep the order of, so they stay with their deck's notes
/// (by id) and every deck is one card file named after it, as before any study; the
/// notes with new cards keep their order, and the folder builds as it was unpacked.
#[test]
fn studied_notes_stay_in_their_decks_card_file() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-studied");
    let package = dir.join("studied.apkg");
    let mut built = Package::new(1_700_000_000);
    let basic = Stock::Basic.notetype();
    let mut fronts = Vec::new();
    for deck in ["Bio::Cells", "Bio::Plants", "Chem", "Alpha"] {
        for i in 0..3 {
            let front = format!("{deck} q{i}");
            let note = Note::new(&basic, [front.as_str(), "back"]).deck(deck);
            built.add_note(note.guid(front.clone())).unwrap();
            fronts.push(front);
        }
    }
    built.write_with(&package, Format::Legacy1).unwrap();
    // Reviewed: the first note of each deck, the last of Chem, and all of Alpha (added
    // last, read first). Note ids are creation times in Anki: in the order added.
    edit_legacy_collection(&package, |db| {
        for (n, front) in fronts.iter().enumerate() {
            let pattern = format!("{front}\x1f%");
            let old: i64 = db
                .query_row("SELECT id FROM notes WHERE flds LIKE ?1", [&pattern], |r| {
                    r.get(0)
                })
                .unwrap();
            let id = 1_600_000_000_000 + n as i64;
            db.execute("UPDATE notes SET id = ?1 WHERE id = ?2", [id, old])
                .unwrap();
            db.execute("UPDATE cards SET nid = ?1 WHERE nid = ?2", [id, old])
                .unwrap();
        }
        db.execute(
            "UPDATE cards SET type = 2, queue = 2, due = 40, ivl = 9, reps = 3 WHERE nid IN \
             (SELECT id FROM notes WHERE flds LIKE '% q0%' OR flds LIKE 'Chem q2%' \
              OR flds LIKE 'Alpha%')",
            [],
        )
        .unwrap();
    });
    let out = common::run::ankideck_in(&dir, &["unpack", "studied.apkg", "-o", "studied"]);
    assert_success(&out);
    let root = dir.join("studied");
    let mut files: Vec<String> = walkdir_md(&root);
    files.sort();
    assert_eq!(
        files,
        ["Alpha.md", "Bio/Cells.md", "Bio/Plants.md", "Chem.md"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, deck) in [("Chem.md", "Chem"), ("Alpha.md", "Alpha")] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let at: Vec<usize> = (0..3)
            .map(|i| text.find(&format!("## {deck} q{i}\n")).unwrap())
            .collect();
        assert!(at.is_sorted(), "{file}: notes not by id:\n{text}");
    }
    let build = common::run::ankideck_in(&dir, &["build", "studied", "--locked"]);
    assert_success(&build);
}

/// The card files below `root`, as paths relative to it with `/`.
fn walkdir_md(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                out.push(relative.replace('\\', "/"));
            }
        }
    }
    out
}

/// A shared deck whose notes name media files it does not hold (it has none at all):
/// the unpack writes an empty `_media/` that git keeps (a hidden `.gitkeep`, not
/// packaged), so that the references stay as written with a warning, in the unpack's
/// read-back and in every later build of a clone, instead of failing as missing files.
#[test]
fn a_package_lacking_the_media_its_notes_name_unpacks() {
    use ankideck::{Format, Note, Package, Stock};
    let dir = temp_dir("unpack-lacking-media");
    let mut built = Package::new(1_700_000_000);
    let basic = Stock::Basic.notetype();
    let fields = ["Listen", "[sound:gone.mp3] <img src=\"lost ü.jpg\">"];
    built.add_note(Note::new(&basic, fields)).unwrap();
    built
        .write_with(dir.join("lacking.apkg"), Format::Legacy1)
        .unwrap();
    let out = common::run::ankideck_in(&dir, &["unpack", "lacking.apkg", "-o", "lacking"]);
    assert_success(&out);
    let keep = dir.join("lacking/_media/.gitkeep");
    assert_eq!(std::fs::read(&keep).unwrap(), b"");
    let build = common::run::ankideck_in(&dir, &["build", "lacking", "--locked"]);
    assert_success(&build);
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert_eq!(
        stderr
            .matches("is in neither the card file's folder")
            .count(),
        2,
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&build.stdout);
    assert!(
        stdout.contains("1 note, 1 card, 1 deck, 0 media files, 2 warnings"),
        "{stdout}"
    );
}

/// A collection with a filtered deck (a custom study session) holding new cards: their
/// place among new cards is the one in their home deck (Anki keeps it as `odue`), not
/// the one in the filtered deck, so each home deck stays one card file in its order.
#[test]
fn new_cards_in_a_filtered_deck_keep_their_home_order() {
    use common::Backend;
    let dir = temp_dir("unpack-filtered-new");
    let note = |deck: &str, front: &str| serde_json::json!({"notetype": "Basic", "deck": deck, "fields": [front, "back"]});
    let spec = serde_json::json!({
        "notes": [note("A", "q0"), note("A", "q1"), note("A", "q2"), note("A", "q3"),
                  note("B", "r0"), note("B", "r1")],
        "filtered": [{"name": "Custom Study Session", "search": "q2 or r1", "limit": 10}],
    });
    let options = ["--with-scheduling", "--formats", "colpkg"];
    let exported = export(Backend::Current, &spec, &dir, &options);
    let package = exported["packages"]["colpkg"].as_str().unwrap();
    let out = common::run::ankideck_in(&dir, &["unpack", package, "-o", "study"]);
    assert_success(&out);
    let root = dir.join("study");
    let mut files = walkdir_md(&root);
    files.sort();
    assert_eq!(files, ["A.md", "B.md"]);
    let text = std::fs::read_to_string(root.join("A.md")).unwrap();
    let at: Vec<usize> = (0..4)
        .map(|i| text.find(&format!("## q{i}\n")).unwrap())
        .collect();
    assert!(at.is_sorted(), "{text}");
    let build = common::run::ankideck_in(&dir, &["build", "study", "--locked"]);
    assert_success(&build);
}

/// The first number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)? + prefix.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// Notes unpacked from Anki keep Anki's note ids in the user's collection, which a
/// build does not derive from their guids: the lock remembers them, so that the `nid:`
/// the build names for a note removed from the sources and for a note moved to
/// another deck finds exactly that note in the collection, searched by Anki itself.
#[test]
fn removed_and_moved_notes_are_found_by_the_nid_the_build_names() {
    use common::Backend;
    let dir = temp_dir("unpack-nids");
    let note = |front: &str| serde_json::json!({"notetype": "Basic", "deck": "Lang", "fields": [front, "back"]});
    let spec = serde_json::json!({"notes": [note("stays"), note("goes"), note("moves")]});
    let exported = export(Backend::Current, &spec, &dir, &["--formats", "legacy"]);
    let package = exported["packages"]["legacy"].as_str().unwrap();
    let collection = dir.join("collection");
    let imported = common::anki::import(Backend::Current, &collection, Path::new(package));
    assert_eq!(imported["imports"][0]["counts"]["new"], 3, "{imported}");
    let guid = |front: &str| {
        let note = common::anki::note(&imported, front);
        note["guid"].as_str().unwrap().to_string()
    };
    let sources = dir.join("sources");
    let out =
        common::run::ankideck_in(&dir, &["unpack", package, "-o", common::path_str(&sources)]);
    assert_success(&out);
    let lock = std::fs::read_to_string(sources.join("ankideck.lock")).unwrap();
    assert_eq!(lock.matches("\tnid:").count(), 3, "{lock}");

    // In the sources: `goes` deleted, `moves` given another deck.
    let file = sources.join("Lang.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let goes = text.find("## goes\n").expect(&text);
    let next = goes + text[goes + 1..].find("\n## ").unwrap() + 2;
    let text = format!("{}{}", &text[..goes], &text[next..]);
    let moves = text.find("## moves\n").expect(&text) + "## moves\n".len();
    let text = format!("{}deck: Elsewhere\n{}", &text[..moves], &text[moves..]);
    std::fs::write(&file, text).unwrap();
    let built = dir.join("built.apkg");
    let out = common::run::ankideck(&[
        "build",
        common::path_str(&sources),
        "-o",
        common::path_str(&built),
    ]);
    assert_success(&out);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let removed = number_after(&said, "search for: nid:").expect(&said);
    let moved = number_after(&said, "(find them with `nid:").expect(&said);
    let searches = [format!("nid:{removed}"), format!("nid:{moved}")];
    let found = common::judge(
        Backend::Current,
        &[
            "find",
            "--collection",
            common::path_str(&collection),
            &searches[0],
            &searches[1],
        ],
    );
    assert_eq!(
        found["found"][&searches[0]],
        serde_json::json!([guid("goes")]),
        "{said}"
    );
    assert_eq!(
        found["found"][&searches[1]],
        serde_json::json!([guid("moves")]),
        "{said}"
    );
    // The next build keeps the ids of the notes still there.
    let lock = std::fs::read_to_string(sources.join("ankideck.lock")).unwrap();
    assert_eq!(lock.matches("\tnid:").count(), 2, "{lock}");
    assert!(lock.contains(&format!("\tnid:{moved}")), "{lock}");
}
