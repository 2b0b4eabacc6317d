//! `ankideck unpack` and the source writer under it: sources written from notes read back
//! as the same notes, and build the same package.

use crate::common;

use ankideck::source::write::{self, NoteToWrite, Unpacked};
use ankideck::source::Sources;
use common::files::temp_dir;
use common::run::{assert_success, build_repo_deck};
use std::collections::HashMap;
use std::path::Path;

/// The notes, note types, decks and media of a source folder as the writer takes them,
/// with each note's id and `mod` and each note type's `mod` from its lock.
/// What the writer takes, with the ids and times the lock keeps.
type Known = (Unpacked, HashMap<String, (i64, i64)>, HashMap<i64, i64>);

fn unpacked_from(source: &Path) -> Known {
    let sources = Sources::read(source).unwrap();
    let mut unpacked = Unpacked::default();
    for n in &sources.notes {
        if !unpacked.notetypes.iter().any(|t| t.id == n.notetype.id) {
            unpacked.notetypes.push((*n.notetype).clone());
        }
        unpacked.notes.push(NoteToWrite {
            note: n.note.clone(),
            card_decks: Vec::new(),
        });
    }
    unpacked.decks = sources.decks.clone();
    unpacked.media = sources.media.iter().map(|(n, _)| n.clone()).collect();
    let lock = std::fs::read_to_string(source.join("ankideck.lock")).unwrap();
    let (mut notes, mut notetypes) = (HashMap::new(), HashMap::new());
    for line in lock.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols[0] {
            "note" => {
                let ids = (cols[2].parse().unwrap(), cols[3].parse().unwrap());
                notes.insert(cols[1].to_string(), ids);
            }
            "notetype" => {
                notetypes.insert(cols[1].parse().unwrap(), cols[2].parse().unwrap());
            }
            _ => {}
        }
    }
    (unpacked, notes, notetypes)
}

/// Writes `unpacked` into `dir` as `ankideck unpack` does, media copied from `source`.
fn write_sources(source: &Path, dir: &Path, (unpacked, originals, mods): &Known) {
    std::fs::create_dir_all(dir).unwrap();
    let written = write::write(dir, unpacked).unwrap();
    let media: HashMap<String, std::path::PathBuf> =
        Sources::read(source).unwrap().media.into_iter().collect();
    for (name, relative) in &written.media {
        let to = dir.join(relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&media[name], to).unwrap();
    }
    let sources = write::verify(dir, unpacked).unwrap();
    ankideck::lock::write_seeded(&dir.join("ankideck.lock"), &sources.notes, originals, mods)
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
