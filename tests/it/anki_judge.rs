//! Our packages judged by the official Anki backend: import into a fresh collection,
//! Check Database, render every card, re-import, the old 2.1.49 importer, and a sync to
//! a second collection playing the phone.

use crate::common;

use common::anki::{
    assert_clean_first_import, assert_reimport_is_all_duplicates, assert_synced, card, cards,
    first_field, import, note, notes, sync, text,
};
use common::files::temp_dir;
use common::run::repo_package;
use common::Backend;

#[test]
fn sample_deck_imports_cleanly_and_reimports_as_duplicates() {
    let package = repo_package("cards", &[]);
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
    let package = repo_package("tests/decks/features", &[]);
    let collection = temp_dir("features-current");
    let report = import(Backend::Current, &collection, &package);
    assert_clean_first_import(&report, 13);
    assert_eq!(cards(&report).count(), 16);

    let bold = card(&report, "What does <strong>bold</strong>", 0);
    assert!(
        text(bold, "answer").contains("<li>second</li>")
            && text(bold, "answer").contains("<td>2</td>")
    );
    // Markdown's other blocks, and the stock CSS that styles them, as Anki renders the
    // card (its answer starts with the note type's CSS in a <style>).
    let answer = text(bold, "answer");
    for markup in [
        r#"<li><input disabled="" type="checkbox" checked=""/>"#,
        "<blockquote>\n<p>Quoted text.</p>",
        r#"<pre style="background-color:#1f232b;"#,
        "<code>indented code\n</code></pre>",
    ] {
        assert!(answer.contains(markup), "{markup} in {answer}");
    }
    // The footnote's reference jumps to its definition, by an id of the field's own.
    let href = answer
        .split(r##"<sup class="footnote-reference"><a href="#"##)
        .nth(1)
        .and_then(|rest| rest.split_once(r#"">1</a></sup>"#))
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("a footnote reference in {answer}"));
    assert!(
        href.starts_with("fn-") && href.ends_with("-source"),
        "{href}"
    );
    let definition = format!(r#"<div class="footnote-definition" id="{href}">"#);
    assert!(answer.contains(&definition), "{definition} in {answer}");
    let style = answer.split("</style>").next().unwrap();
    for rule in [
        ".card table {",
        ".card th,\n.card td {\n    border:",
        ".card ul,\n.card ol,\n.card blockquote {",
        r#".card li:has(> input[type="checkbox"]) {"#,
        ".card .footnote-definition {",
        ".card :not(pre) > code {",
        ".card img {\n    max-width: 100%;",
        ".nightMode img {",
    ] {
        assert!(
            style.starts_with("<style>.card {") && style.contains(rule),
            "{rule} in {style}"
        );
    }
    let note = note(&report, "What does");
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
        let package = repo_package(source, &[]);
        let collection = temp_dir("legacy");
        let report = import(Backend::Legacy, &collection, &package);
        let expected = expected.unwrap_or(notes(&report).len() as u64);
        assert_eq!(report["anki_version"], "2.1.49");
        assert_clean_first_import(&report, expected);
        assert_eq!(report["imports"][0]["importer_reported"]["added"], expected);
        assert_reimport_is_all_duplicates(Backend::Legacy, &collection, &package, expected);
    }
}

/// A fresh profile already has Anki's own `Basic`, `Cloze`, … under other ids: ours
/// carry names of their own, so Anki keeps them as they are instead of adding a `+`.
#[test]
fn stock_note_types_arrive_under_their_own_names() {
    let package = repo_package("tests/decks/features", &[]);
    for backend in [Backend::Current, Backend::Legacy] {
        let collection = temp_dir("stock-names");
        let report = import(backend, &collection, &package);
        let names: Vec<&str> = report["notetypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|nt| nt["name"].as_str().unwrap())
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with('+')),
            "{backend:?}: {names:?}"
        );
        for stock in ankideck::Stock::ALL {
            assert!(names.contains(&stock.name()), "{backend:?}: {names:?}");
            assert!(names.contains(&stock.anki_name()), "Anki's own: {names:?}");
        }
    }
}

/// A collection that got `Basic+` from a build before the stock types had names of
/// their own: the next import renames it in place (the ids did not change), keeping
/// its note.
#[test]
fn stock_note_types_of_older_builds_are_renamed_in_place() {
    use ankideck::{Note, Package, Stock};
    let dir = temp_dir("stock-rename");
    let collection = dir.join("collection");
    let write = |name: &str, notetype: &ankideck::NoteType, time: i64| {
        let mut package = Package::new(time);
        package.add_notetype(notetype).unwrap();
        package
            .add_note(Note::new(notetype, ["Capital of Peru?", "Lima"]))
            .unwrap();
        let path = dir.join(name);
        package.write(&path).unwrap();
        path
    };
    let mut older = Stock::Basic.notetype();
    older.name = Stock::Basic.anki_name().to_string();
    let report = import(
        Backend::Current,
        &collection,
        &write("old.apkg", &older, 1_700_000_000),
    );
    let names = report["notetypes"].to_string();
    assert!(names.contains("\"Basic+\""), "{names}");
    let new = write("new.apkg", &Stock::Basic.notetype(), 1_800_000_000);
    let report = import(Backend::Current, &collection, &new);
    let names = report["notetypes"].to_string();
    assert!(!names.contains("\"Basic+\""), "{names}");
    assert!(names.contains("\"Basic (ankideck)\""), "{names}");
    assert_eq!(notes(&report).len(), 1);
    assert_eq!(
        note(&report, "Capital of Peru")["notetype"],
        "Basic (ankideck)"
    );
}

/// Anki folds deck names with full Unicode case folding: `Straße` and `STRASSE`, or
/// `ΟΔΟΣ` and `οδοσ`, are one deck to it. They are one deck in the package too, named
/// by the `_deck.toml` that names it, else by the first spelling in read order.
#[test]
fn deck_names_are_matched_as_anki_folds_them() {
    let dir = temp_dir("deck-folding");
    let source = dir.join("src");
    let note = |deck: &str, heading: &str| format!("---\ndeck: {deck}\n---\n\n## {heading}\nx\n");
    common::files::write_files(
        &source,
        &[
            ("a.md", note("Straße::K1", "one")),
            ("b.md", note("STRASSE::K1", "two")),
            ("c.md", note("ΟΔΟΣ", "three")),
            ("d.md", note("οδοσ::Ε", "four")),
            (
                "deck/_deck.toml",
                "deck = \"strasse\"\ndescription = \"S\"\n".into(),
            ),
        ],
    );
    let package = dir.join("out.apkg");
    common::run::assert_success(&common::run::build(&source, &package));
    for backend in [Backend::Current, Backend::Legacy] {
        let report = import(backend, &dir.join(format!("{backend:?}")), &package);
        assert_clean_first_import(&report, 4);
        let mut decks: Vec<&str> = report["decks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        decks.sort();
        assert_eq!(
            decks,
            ["Default", "strasse", "strasse::K1", "ΟΔΟΣ", "ΟΔΟΣ::Ε"],
            "{backend:?}"
        );
        let deck = |heading: &str| card(&report, heading, 0)["deck"].clone();
        assert_eq!(
            (deck("one"), deck("two")),
            ("strasse::K1".into(), "strasse::K1".into())
        );
        assert_eq!(
            (deck("three"), deck("four")),
            ("ΟΔΟΣ".into(), "ΟΔΟΣ::Ε".into())
        );
        let details = report["deck_details"].as_array().unwrap();
        let strasse = details.iter().find(|d| d["name"] == "strasse").unwrap();
        assert_eq!(strasse["desc"], "<p>S</p>", "{backend:?}");
    }
}

/// A reference typed composed (NFC, `café`) finds a file stored decomposed (NFD, as
/// macOS stores names), and the other way round; Anki gets the NFC name it looks up.
#[test]
fn media_references_match_files_regardless_of_normalisation() {
    let dir = temp_dir("media-nfc");
    let source = dir.join("src");
    let (nfc, nfd) = ("caf\u{e9}", "cafe\u{301}");
    let png = |byte: u8| [0x89, b'P', b'N', b'G', byte].to_vec();
    common::files::write_files(
        &source,
        &[
            (
                "notes.md",
                format!("## One\n![a]({nfc}.png)\n\n## Two\n![b]({nfd}-2.png)\n").into_bytes(),
            ),
            (&format!("{nfd}.png"), png(1)),
            (&format!("{nfc}-2.png"), png(2)),
        ],
    );
    let check = common::run::ankideck(&["check", common::path_str(&source)]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && !stderr.contains("warning"),
        "{stderr}"
    );
    let package = dir.join("out.apkg");
    common::run::assert_success(&common::run::build(&source, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    assert_clean_first_import(&report, 2);
    let files: Vec<&str> = report["media_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for (heading, stem) in [("One", format!("{nfc}-")), ("Two", format!("{nfc}-2-"))] {
        let name = files
            .iter()
            .find(|f| f.starts_with(&stem) && f.len() == stem.len() + 12);
        let answer = text(card(&report, heading, 0), "answer");
        assert!(
            answer.contains(&format!("src=\"{}\"", name.unwrap())),
            "{answer} {files:?}"
        );
    }
}

#[test]
fn sync_carries_notes_cards_decks_and_media_to_the_phone() {
    let package = repo_package("tests/decks/features", &[]);
    let report = sync(&package);
    assert_synced(&report, 13, 16);
    let phone = &report["phone"];
    assert_eq!(phone["media_files"].as_array().unwrap().len(), 3);
    assert!(phone["questions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["question"].as_str().unwrap().contains("[what?]")));
}

/// On a card showing two fields with footnotes, Anki keeps each field's ids: each
/// reference jumps to its own field's footnote, where both once were `#1`.
#[test]
fn footnotes_of_two_fields_on_one_card_have_ids_of_their_own() {
    let dir = temp_dir("footnotes-two-fields");
    let src = dir.join("src");
    common::files::write_files(
        &src,
        &[
            (
                "_notetypes/Notes/notetype.toml",
                "[[fields]]\nname = \"Q\"\n\n[[fields]]\nname = \"A\"\n\n[[fields]]\nname = \"More\"\n\n[[templates]]\nname = \"Card 1\"\n",
            ),
            ("_notetypes/Notes/Card 1.front.html", "{{Q}}"),
            ("_notetypes/Notes/Card 1.back.html", "{{A}}<hr>{{More}}"),
            (
                "a.md",
                "## Who?\ntype: Notes\n\nOne claim.[^1]\n\n[^1]: First source.\n\n### More\n\nAnother claim.[^1]\n\n[^1]: Second source.\n",
            ),
        ],
    );
    let package = dir.join("deck.apkg");
    common::run::assert_success(&common::run::build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let answer = text(card(&report, "Who?", 0), "answer");
    let ids: Vec<&str> = answer
        .split(r##"<sup class="footnote-reference"><a href="#"##)
        .skip(1)
        .map(|rest| rest.split_once('"').unwrap().0)
        .collect();
    assert_eq!(ids.len(), 2, "{answer}");
    assert_ne!(ids[0], ids[1], "{answer}");
    for (id, text) in ids.iter().zip(["First source.", "Second source."]) {
        let definition = format!(r#"<div class="footnote-definition" id="{id}">"#);
        let (_, after) = answer.split_once(&definition).expect("its definition");
        assert!(
            after.split("</div>").next().unwrap().contains(text),
            "{answer}"
        );
        assert_eq!(
            answer.matches(&format!(r#"id="{id}""#)).count(),
            1,
            "{answer}"
        );
    }
}
