//! The `ankideck build` command end to end, without Anki: what lands in the package,
//! reproducibility, and how bad input is refused.

use crate::common;

use common::files::{temp_dir, write_files, zip_entries};
use common::run::{ankideck, ankideck_in, assert_success, build, build_repo_deck};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The zip entries of a package, and its collection opened from a scratch copy.
struct Unpacked {
    entries: BTreeMap<String, (zip::CompressionMethod, Vec<u8>)>,
    db: Connection,
}

fn unpack(package: &Path) -> Unpacked {
    let entries: BTreeMap<String, (zip::CompressionMethod, Vec<u8>)> = zip_entries(package)
        .into_iter()
        .map(|(name, method, bytes)| (name, (method, bytes)))
        .collect();
    let dir = temp_dir("build-unpack");
    let db_path = dir.join("collection.anki2");
    fs::write(&db_path, &entries["collection.anki2"].1).unwrap();
    Unpacked {
        entries,
        db: Connection::open(db_path).unwrap(),
    }
}

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn sample_deck_builds_reproducibly() {
    let dir = temp_dir("build-sample");
    let (a, b) = (dir.join("a.apkg"), dir.join("b.apkg"));
    for out in [&a, &b] {
        assert_success(&build_repo_deck("cards", out, &[]));
    }
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&b).unwrap(),
        "two builds of the same sources differ"
    );
    let p = unpack(&a);
    assert!(count(&p.db, "SELECT count(*) FROM notes") >= 15);
    assert!(
        count(
            &p.db,
            "SELECT count(*) FROM notes WHERE flds LIKE '%{{c1::%'"
        ) >= 3,
        "cloze notes"
    );
    assert!(
        count(
            &p.db,
            r"SELECT count(*) FROM notes WHERE flds LIKE '%\[%\rceil%'"
        ) >= 1,
        "iterations formula"
    );
}

#[test]
fn feature_deck_has_the_expected_package_layout() {
    let dir = temp_dir("build-features");
    let out = dir.join("features.apkg");
    let result = build_repo_deck("tests/decks/features", &out, &[]);
    assert_success(&result);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("13 notes, 16 cards"), "{stdout}");

    let p = unpack(&out);
    // Legacy 1: collection.anki2, numbered media, JSON media map.
    let names: Vec<&str> = p.entries.keys().map(String::as_str).collect();
    assert_eq!(names, ["0", "1", "2", "collection.anki2", "media"]);
    let media: BTreeMap<String, String> = serde_json::from_slice(&p.entries["media"].1).unwrap();
    let mut packaged: Vec<&str> = media.values().map(String::as_str).collect();
    packaged.sort();
    assert_eq!(
        packaged.len(),
        3,
        "same bytes once, same name from two folders twice: {packaged:?}"
    );
    assert!(
        packaged
            .iter()
            .filter(|n| n.starts_with("diagram-"))
            .count()
            == 2
    );
    assert!(packaged
        .iter()
        .any(|n| n.starts_with("发音-") && n.ends_with(".mp3")));
    for (entry, name) in &media {
        // Already-compressed media are stored, not deflated again.
        assert_eq!(p.entries[entry].0, zip::CompressionMethod::Stored, "{name}");
    }
    assert_eq!(
        p.entries["collection.anki2"].0,
        zip::CompressionMethod::Deflated
    );

    // Every reference in a field names a packaged file.
    let fields: Vec<String> =
        p.db.prepare("SELECT flds FROM notes")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let all = fields.join("\n");
    for name in media.values() {
        assert!(all.contains(name.as_str()), "{name} unreferenced");
    }
    assert!(
        !all.contains("img/"),
        "a field still points at a source path"
    );

    // Schema 11, DELETE journal, integer columns stored as integers.
    assert_eq!(count(&p.db, "SELECT ver FROM col"), 11);
    let header = &p.entries["collection.anki2"].1;
    assert_eq!(
        (header[18], header[19]),
        (1, 1),
        "WAL mode would break old readers"
    );
    for (table, columns) in [
        ("notes", "id, mid, mod, usn, csum, flags"),
        ("cards", "id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags"),
    ] {
        for column in columns.split(", ") {
            let bad = count(&p.db, &format!("SELECT count(*) FROM {table} WHERE typeof({column}) != 'integer'"));
            assert_eq!(bad, 0, "{table}.{column}");
        }
    }
    // Parent decks and Default exist.
    let decks: serde_json::Value = serde_json::from_str(
        &p.db
            .query_row("SELECT decks FROM col", [], |r| r.get::<_, String>(0))
            .unwrap(),
    )
    .unwrap();
    let mut deck_names: Vec<&str> = decks
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    deck_names.sort();
    assert_eq!(
        deck_names,
        [
            "Default",
            "Features",
            "Features::Cloze",
            "Features::HTML",
            "Features::Media",
            "Features::Media::Sub",
            "basics"
        ]
    );
    // Cards: the cloze note with c1, c2 has two; optional reverse only when asked.
    assert_eq!(
        count(&p.db, "SELECT count(*) FROM cards c JOIN notes n ON c.nid = n.id WHERE n.flds LIKE 'The {{c1::mito%'"),
        2
    );
    assert_eq!(
        count(
            &p.db,
            "SELECT count(*) FROM cards c JOIN notes n ON c.nid = n.id WHERE n.flds LIKE 'Optional reverse: front%'"
        ),
        1
    );
    assert_eq!(
        count(
            &p.db,
            "SELECT count(*) FROM cards c JOIN notes n ON c.nid = n.id WHERE n.flds LIKE 'Optional reverse: both%'"
        ),
        2
    );
    // Ids never lie in the future.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(
        count(
            &p.db,
            &format!("SELECT count(*) FROM notes WHERE id > {now_ms}")
        ),
        0
    );
    assert_eq!(
        count(
            &p.db,
            &format!("SELECT count(*) FROM cards WHERE id > {now_ms}")
        ),
        0
    );
}

#[test]
fn guids_survive_reordering_and_moving_notes() {
    let guids = |files: &[(&str, &str)]| -> BTreeMap<String, String> {
        let dir = temp_dir("build-guids");
        write_files(&dir.join("src"), files);
        let out = dir.join("out.apkg");
        assert!(build(&dir.join("src"), &out).status.success());
        let p = unpack(&out);
        let rows: Vec<(String, String)> =
            p.db.prepare("SELECT guid, flds FROM notes")
                .unwrap()
                .query_map([], |r| Ok((r.get(1)?, r.get(0)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        rows.into_iter()
            .map(|(flds, guid)| (flds.split('\x1f').next().unwrap().to_string(), guid))
            .collect()
    };
    let before = guids(&[(
        "a.md",
        "## One\n\nx\n\n## Two\nid: two\n\ny\n\n## Three\n\nz\n",
    )]);
    let after = guids(&[
        ("a.md", "## New note\n\nn\n\n## Three\n\nz\n"),
        (
            "deeper/b.md",
            "## Two\nid: two\n\nchanged answer\n\n## One\n\nx\n",
        ),
    ]);
    for q in ["One", "Two", "Three"] {
        assert_eq!(before[q], after[q], "{q} changed identity");
    }
    assert_eq!(after.len(), 4);
}

#[test]
fn locked_builds_pass_only_with_an_up_to_date_lock() {
    let dir = temp_dir("build-locked");
    let src = dir.join("src");
    let out = dir.join("deck.apkg");
    write_files(&src, &[("a.md", "## Q1\n\nA1\n\n## Q2\n\nA2\n")]);
    assert_success(&build(&src, &out));
    let lock = src.join("ankideck.lock");
    let locked = |extra: &[&str]| {
        let mut args = vec![
            "build",
            common::path_str(&src),
            "-o",
            common::path_str(&out),
        ];
        args.extend(extra);
        ankideck(&args)
    };
    // Up to date, also after a checkout turned the line ends into CRLF.
    assert_success(&locked(&["--locked"]));
    let crlf = fs::read_to_string(&lock).unwrap().replace('\n', "\r\n");
    fs::write(&lock, &crlf).unwrap();
    assert_success(&locked(&["--locked"]));
    assert_success(&locked(&[]));
    assert_eq!(
        fs::read_to_string(&lock).unwrap(),
        crlf,
        "an unchanged lock is left alone"
    );

    // A changed note: refused, and neither the lock nor the package is touched.
    let package = fs::read(&out).unwrap();
    write_files(&src, &[("a.md", "## Q1\n\nA1 changed\n\n## Q2\n\nA2\n")]);
    let refused = locked(&["--locked"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the lock file is out of date"));
    assert_eq!(fs::read_to_string(&lock).unwrap(), crlf);
    assert_eq!(fs::read(&out).unwrap(), package);
    // Without --locked the lock is rewritten, and no staged copy stays beside it.
    assert_success(&locked(&[]));
    assert_ne!(fs::read_to_string(&lock).unwrap(), crlf);
    let names: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// A damaged note line stops the build at its line, whichever column is damaged,
/// and the package and the lock stay as they were.
#[test]
fn a_damaged_lock_line_stops_the_build_at_its_line() {
    let dir = temp_dir("build-damaged-lock");
    let (src, out) = (dir.join("src"), dir.join("deck.apkg"));
    write_files(
        &src,
        &[("a.md", "## Q1\n\nA1\n\n## Q2\n\nA2\n\n## Q3\n\nA3\n")],
    );
    assert_success(&build(&src, &out));
    let (lock_path, package) = (src.join("ankideck.lock"), fs::read(&out).unwrap());
    let lock = fs::read_to_string(&lock_path).unwrap();
    let lines: Vec<&str> = lock.lines().collect();
    let last = lines.len();
    // The last note line's columns: guid, legacy check, modified, hash, …
    let columns: Vec<&str> = lines[last - 1].split('\t').collect();
    assert_eq!(columns[1], "-", "a note without a legacy guid");
    for (column, damage) in [(1, "zz"), (2, "soon"), (4, "no-such-alias")] {
        let mut damaged = columns.clone();
        damaged[column] = damage;
        let text = format!("{}\n{}\n", lines[..last - 1].join("\n"), damaged.join("\t"));
        fs::write(&lock_path, &text).unwrap();
        let refused = build(&src, &out);
        assert_eq!(refused.status.code(), Some(1), "column {column}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(&format!("ankideck.lock:{last}")),
            "{stderr}"
        );
        assert_eq!(fs::read(&out).unwrap(), package);
        assert_eq!(fs::read_to_string(&lock_path).unwrap(), text);
    }
}

#[test]
fn default_output_is_named_after_the_source_folder() {
    let dir = temp_dir("build-default-name");
    fs::create_dir_all(dir.join("cards")).unwrap();
    fs::write(dir.join("cards/a.md"), "## Q\n\nA\n").unwrap();
    let result = ankideck_in(&dir, &["build"]);
    assert_success(&result);
    assert!(dir.join("cards.apkg").is_file());
    assert!(
        String::from_utf8_lossy(&result.stdout).contains("1 note, 1 card, 2 decks, 0 media files")
    );
}

#[test]
fn help_explains_itself_with_examples() {
    for args in [&["--help"][..], &["build", "--help"]] {
        let result = ankideck(args);
        assert!(result.status.success());
        let text = String::from_utf8_lossy(&result.stdout);
        assert!(text.contains("Example"), "{text}");
        assert!(text.contains("ankideck build"), "{text}");
    }
    let usage = ankideck(&["build", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
}

/// Each case: files of a source folder, then what stderr must say (a `file:line` and a
/// fragment of the message).
#[test]
fn bad_input_is_refused_with_file_and_line_and_nothing_written() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            "missing media",
            &[("a.md", b"## Q\n\nline\n\n![x](img/nope.png)\n")],
            "a.md:5",
            "not found",
        ),
        (
            "unknown type",
            &[("a.md", b"## Q\ntype: flashcard\n\nA\n")],
            "a.md:2",
            "unknown note type `flashcard`",
        ),
        (
            "unknown field",
            &[("a.md", b"## Q\n\nA\n\n### Extra\nx\n")],
            "a.md:5",
            "has no field `Extra`",
        ),
        (
            "bad front matter",
            &[("a.md", b"---\ndeck: [a\n---\n## Q\n")],
            "a.md:",
            "front matter is not valid",
        ),
        (
            "unknown front matter key",
            &[("a.md", b"---\ndek: a\n---\n## Q\n")],
            "a.md:2",
            "unknown key `dek`; did you mean `deck`?",
        ),
        (
            "cloze in basic",
            &[("a.md", b"## A {{c1::cloze}}\ntype: basic\n\nA\n")],
            "a.md:1",
            "not a cloze type",
        ),
        (
            "cloze without deletion",
            &[("a.md", b"## No deletion\ntype: cloze\n")],
            "a.md:1",
            "at least one deletion",
        ),
        (
            "no cards",
            &[("a.md", b"## <br>\n\nA\n")],
            "a.md:1",
            "would have no cards",
        ),
        (
            "duplicate id",
            &[("a.md", b"## Q1\nid: x\n\n## Q2\nid: x\n")],
            "a.md:5",
            "id `x` is already the identity of the note at",
        ),
        (
            "media outside source",
            &[
                ("a.md", b"## Q\n\n![x](../secret.png)\n"),
                ("../secret.png", b"x"),
            ],
            "a.md:3",
            "outside the source folder",
        ),
        (
            "invalid utf-8",
            &[("a.md", b"## Q\n\n\xff\n")],
            "a.md",
            "not valid UTF-8 (first bad byte at offset 6: 0xFF, which is `ÿ` in Windows-1252",
        ),
        (
            "bad tag",
            &[("a.md", b"## Q\ntags: ok a::\n\nA\n")],
            "a.md:2",
            "tag `a::` is not allowed",
        ),
        (
            "text outside notes",
            &[("a.md", b"Intro text\n\n## Q\n")],
            "a.md:1",
            "belongs to no note",
        ),
    ];
    for (name, files, place, fragment) in cases {
        let dir = temp_dir("build-bad");
        write_files(&dir.join("src"), files);
        // A previous good package must survive a failed build untouched.
        let out = dir.join("out.apkg");
        fs::write(&out, b"previous package").unwrap();
        let result = build(&dir.join("src"), &out);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(place),
            "{name}: expected {place} in\n{stderr}"
        );
        assert!(
            stderr.contains(fragment),
            "{name}: expected {fragment:?} in\n{stderr}"
        );
        assert!(stderr.contains("help:"), "{name}: no hint in\n{stderr}");
        assert_eq!(fs::read(&out).unwrap(), b"previous package", "{name}");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".ankideck-tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{name}: temporary files left behind: {leftovers:?}"
        );
    }
}

#[test]
fn io_errors_exit_with_2() {
    let dir = temp_dir("build-io");
    let result = build(&dir.join("does-not-exist"), &dir.join("out.apkg"));
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("does-not-exist"));
}

/// A small deck makes a small package in both formats: its collection rewritten in 4 KiB
/// pages and compressed hardest, and the latest format's dummy collection deflated.
#[test]
fn small_decks_make_small_packages() {
    let dir = temp_dir("build-small");
    let src = dir.join("src");
    let cards: String = (0..10)
        .map(|i| format!("## Question {i}?\n\nAnswer {i}.\n\n"))
        .collect();
    write_files(&src, &[("a.md", cards.as_str())]);
    for (format, collection, most) in [
        ("legacy", "collection.anki2", 4_500),
        ("latest", "collection.anki21b", 7_500),
    ] {
        let out = dir.join(format!("{format}.apkg"));
        let args = [
            "build",
            common::path_str(&src),
            "-o",
            common::path_str(&out),
        ];
        assert_success(&ankideck(&[&args[..], &["--format", format]].concat()));
        let size = fs::metadata(&out).unwrap().len();
        assert!(size <= most, "{format}: {size} bytes");
        let p = unpack(&out);
        let db = match format {
            "latest" => zstd::decode_all(p.entries[collection].1.as_slice()).unwrap(),
            _ => p.entries[collection].1.clone(),
        };
        assert_eq!(db[16..18], [0x10, 0x00], "{format}: 4096-byte pages");
        if format == "latest" {
            let dummy = p.entries["collection.anki2"].0;
            assert_eq!(dummy, zip::CompressionMethod::Deflated);
        }
    }
}

/// Every custom note type and every `_deck.toml` deck is in the package, whether a note
/// uses it or not, and a folder with nothing but them builds, reproducibly (the lock
/// keeps the note type's time).
#[test]
fn note_types_and_decks_no_note_uses_are_packaged() {
    let dir = temp_dir("build-unused");
    let src = dir.join("src");
    write_files(
        &src,
        &[
            (
                "_notetypes/Unused/notetype.toml",
                "[[fields]]\nname = \"Word\"\n\n[[templates]]\nname = \"Card 1\"\n",
            ),
            ("_notetypes/Unused/Card 1.front.html", "{{Word}}"),
            ("_notetypes/Unused/Card 1.back.html", "{{Word}}"),
            ("french/verbs/_deck.toml", "description = \"Nothing yet\"\n"),
        ],
    );
    let contents = |package: &Path| {
        let p = unpack(package);
        let col = |column: &str| -> serde_json::Value {
            let sql = format!("SELECT {column} FROM col");
            let text: String = p.db.query_row(&sql, [], |r| r.get(0)).unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let names = |json: serde_json::Value| -> Vec<String> {
            let mut names: Vec<String> = json
                .as_object()
                .unwrap()
                .values()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        };
        let decks = col("decks");
        let verbs = decks
            .as_object()
            .unwrap()
            .values()
            .find(|d| d["name"] == "french::verbs");
        assert_eq!(verbs.unwrap()["desc"], "<p>Nothing yet</p>");
        let notes = count(&p.db, "SELECT count(*) FROM notes");
        (names(col("models")), names(decks), notes)
    };
    let (a, b) = (dir.join("a.apkg"), dir.join("b.apkg"));
    assert_success(&build(&src, &a));
    assert_success(&build(&src, &b));
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&b).unwrap(),
        "not reproducible"
    );
    let (models, decks, notes) = contents(&a);
    assert_eq!(models, ["Unused"]);
    assert_eq!(decks, ["Default", "french", "french::verbs"]);
    assert_eq!(notes, 0);

    write_files(&src, &[("words.md", "## la mer\n\nthe sea\n")]);
    let c = dir.join("c.apkg");
    assert_success(&build(&src, &c));
    let (models, decks, notes) = contents(&c);
    assert_eq!(models, ["Basic (ankideck)", "Unused"]);
    assert_eq!(decks, ["Default", "french", "french::verbs", "words"]);
    assert_eq!(notes, 1);

    // A folder with nothing to package is still an error.
    let empty = dir.join("empty");
    fs::create_dir_all(&empty).unwrap();
    let refused = build(&empty, &dir.join("d.apkg"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no notes found"));
}

/// `build` shows three warnings of a code in full and counts the rest in one line
/// (decks from Anki repeat what Anki accepted); `check` lists every one.
#[test]
fn build_folds_repeated_warnings() {
    let dir = temp_dir("build-folds-warnings");
    let notes: String = (1..=5)
        .map(|i| format!("## Question {i}?\nanswer: {i}\n\n"))
        .collect();
    write_files(&dir.join("cards"), &[("many.md", notes)]);
    let out = build(&dir.join("cards"), &dir.join("out.apkg"));
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("unknown setting `answer`").count(),
        3,
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: 2 more `unknown-setting` warnings not shown; `ankideck check` lists them all"
        ),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 warnings"));
    let check = ankideck(&["check", dir.join("cards").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(
        stderr.matches("unknown setting `answer`").count(),
        5,
        "{stderr}"
    );
}
