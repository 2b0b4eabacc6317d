//! Anki's text files as Anki reads them: files written by Anki's own exporter and by
//! spreadsheets, each imported by the real importer (`import-csv`) and built by ankideck,
//! compared note by note, field by field.

use crate::common;

use common::anki::{import, notes};
use common::files::{temp_dir, write_file};
use common::run::{ankideck, assert_success};
use common::{judge, path_str, Backend};
use serde_json::Value;
use std::path::Path;

/// What two notes must agree on: note type, fields in order, tags, and each card's
/// ordinal and deck (the deck Anki picks when the file names none is `Default`, which
/// ankideck names after the file: `words`).
fn summary(note: &Value, guid: bool) -> String {
    let order = note["field_order"].as_array().unwrap();
    let fields: Vec<&str> = (order.iter())
        .map(|f| note["fields"][f.as_str().unwrap()].as_str().unwrap())
        .collect();
    let mut tags: Vec<&str> = (note["tags"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort_unstable();
    let cards: Vec<String> = (note["cards"].as_array().unwrap().iter())
        .map(|c| {
            // Anki's importer makes `Spanish+`, `Spanish++`, … of a deck column's
            // `Spanish` once `Spanish::Verbs` made `Spanish` a parent: an accident of
            // Anki's, which ankideck does not copy.
            let deck = c["deck"].as_str().unwrap().trim_end_matches('+');
            let deck = if deck == "Default" { "words" } else { deck };
            format!("{}@{deck}", c["ord"])
        })
        .collect();
    let guid = if guid {
        note["guid"].as_str().unwrap()
    } else {
        ""
    };
    // Our stock note types are `Basic (ankideck)`…; Anki's own is `Basic`.
    let notetype = note["notetype"].as_str().unwrap();
    let notetype = notetype.strip_suffix(" (ankideck)").unwrap_or(notetype);
    format!("{notetype} {fields:?} tags={tags:?} cards={cards:?} {guid}")
}

fn summaries(notes: &[Value], guid: bool) -> Vec<String> {
    let mut out: Vec<String> = notes.iter().map(|n| summary(n, guid)).collect();
    out.sort();
    out
}

/// Builds `text` as `words.EXT` alone and imports the package; Anki imports the same
/// file with its text importer. Both give the same notes, or the test fails. Returns
/// ankideck's stderr (its warnings).
fn same_notes_as_anki(name: &str, ext: &str, text: &[u8], guid: bool) -> String {
    let dir = temp_dir(name);
    let file = dir.join("src").join(format!("words.{ext}"));
    write_file(&file, text);
    let anki = judge(Backend::Current, &["import-csv", path_str(&file)]);
    let expected = anki["imports"][0]["notes"].as_array().unwrap();
    let out = dir.join("out.apkg");
    let built = ankideck(&["build", path_str(&dir.join("src")), "-o", path_str(&out)]);
    let stderr = String::from_utf8_lossy(&built.stderr).into_owned();
    assert_success(&built);
    let ours = import(Backend::Current, &dir.join("collection"), &out);
    assert_eq!(
        summaries(notes(&ours), guid),
        summaries(expected, guid),
        "{name}: ankideck (left) and Anki (right) differ for\n{}\n{stderr}",
        String::from_utf8_lossy(text)
    );
    stderr
}

#[test]
fn every_export_of_anki_builds_into_the_notes_anki_imports() {
    let dir = temp_dir("text-files-exports");
    let exported = judge(Backend::Current, &["export-csv", "--dir", path_str(&dir)]);
    let files = exported["files"].as_array().unwrap();
    assert_eq!(files.len(), 32, "every combination of the five options");
    for entry in files {
        let path = Path::new(entry["file"].as_str().unwrap());
        let text = std::fs::read(path).unwrap();
        let name = path.file_stem().unwrap().to_str().unwrap();
        let guid = entry["guid"].as_bool().unwrap();
        same_notes_as_anki(&format!("text-files-{name}"), "txt", &text, guid);
    }
}

/// Header and separator cases in the manner of Anki's own import tests, and files as
/// spreadsheets save them (byte-order mark, CRLF, separators after every value).
const HEADERS: &[(&str, &str, &str)] = &[
    ("pipe-trailing", "csv", "#separator:Pipe,,,,,,\na|b\n"),
    ("html-trailing", "csv", "#html:true|||||\n#separator:pipe\na|<b>b</b> &amp; c\n"),
    ("tab-trailing", "csv", "#separator:\t|,:\na,b\tc\n"),
    ("comma-then-semicolons", "csv", "#separator:,;;;\na;b,c\n"),
    ("space-before-name", "csv", "#separator:  Pipe,,\na b|c\n"),
    ("html-unknown", "csv", "#html:truex\na & b,c\n"),
    ("html-space", "csv", "#html: true\na & b,c\n"),
    ("tags-column-trailing", "csv", "#tags column:4;;\na,b,c,t1 t2\n"),
    ("tags-column-unknown", "csv", "#tags column:4x\na,b,c,t\n"),
    ("empty-deck", "csv", "#deck:\na,b\n"),
    ("unknown-separator", "csv", "#separator:foo\na;b\n"),
    (
        "bom-crlf-trailing",
        "csv",
        "\u{feff}#separator:Comma,,\r\n#html:false,,\r\nle chat,the cat,\r\n\"a,b\",\"c\r\nd\",\r\n",
    ),
    ("extra-columns", "csv", "#separator:comma\nchat,cat\nmouse,souris,extra\n"),
    ("empty-first-field", "tsv", "#separator:tab\nok\tfine\n\tno front\n"),
    ("same-first-field", "csv", "chat,cat\nchat,tomcat\nchat,kitty\n"),
    ("old-tags-line", "txt", "tags:a b\nx\ty\n"),
    ("deck-then-deck-column", "csv", "#deck:Foo\n#deck column:1\nD,a,b\n"),
    ("deck-column-then-deck", "csv", "#deck column:1\n#deck:Foo\nD,a,b\nE,c,d\n"),
    ("notetype-column-then-notetype", "csv", "#notetype column:1\n#notetype:Basic (and reversed card)\nBasic,a,b\n"),
    ("empty-card", "csv", "#html:true\n#separator:comma\n<br/>,b\nok,fine\n"),
    ("cloze-without-deletion", "csv", "#notetype:Cloze\n#separator:comma\nno deletion,x\n{{c1::yes}},y\n"),
    ("header-row", "csv", "front,back\nchat,cat\n"),
    ("same-label-twice", "csv", "#separator:comma\n#columns:Front,Back,Notes,Back\nv1,v2,v3,v4\n"),
    ("same-label-twice-tags", "csv", "#separator:comma\n#columns:Front,Back,Back\n#tags column:3\nq,a,t\n"),
];

#[test]
fn header_and_spreadsheet_files_build_into_the_notes_anki_imports() {
    for (name, ext, text) in HEADERS {
        same_notes_as_anki(&format!("text-files-{name}"), ext, text.as_bytes(), false);
    }
}

/// An untouched Anki export refers to files in Anki's media folder: without
/// `--media-dir` the build names the option; with it the files are packaged.
#[test]
fn media_of_an_anki_export_come_from_media_dir() {
    let dir = temp_dir("text-files-media-dir");
    let src = dir.join("src");
    let media = dir.join("collection.media");
    write_file(
        &src.join("words.txt"),
        b"#separator:tab\n#html:true\ncat\t<img src=\"cat.png\"> [sound:meow.mp3]\n",
    );
    write_file(&media.join("cat.png"), b"png bytes");
    write_file(&media.join("meow.mp3"), b"mp3 bytes");
    let out = dir.join("out.apkg");
    let (src_arg, out_arg) = (path_str(&src), path_str(&out));
    let refused = ankideck(&["build", src_arg, "-o", out_arg]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("media file `cat.png` not found")
            && stderr.contains("build with `--media-dir PATH/TO/collection.media`"),
        "{stderr}"
    );
    let checked = ankideck(&["check", src_arg, "--media-dir", path_str(&media)]);
    assert_success(&checked);
    let built = ankideck(&[
        "build",
        src_arg,
        "-o",
        out_arg,
        "--media-dir",
        path_str(&media),
    ]);
    assert_success(&built);
    let report = import(Backend::Current, &dir.join("collection"), &out);
    let back = notes(&report)[0]["fields"]["Back"].as_str().unwrap();
    let files = report["media_files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{report:#}");
    for file in files {
        assert!(back.contains(file.as_str().unwrap()), "{back} lacks {file}");
    }
}
