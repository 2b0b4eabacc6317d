//! Rich cards judged by the official Anki backend: highlighted code, custom note types
//! from files, Anki's CSV/TSV text format as input, and deck options.

use crate::common;

use common::anki::{assert_clean_first_import, card, import, import_with, note, notes, sides};
use common::files::{copy_dir, temp_dir, write_files};
use common::run::{assert_success, build, repo_package};
use common::{workspace, Backend};
use serde_json::Value;
use std::path::PathBuf;

/// Builds the rich deck kept in the repository (with `--locked`: its committed lock must
/// be up to date).
fn build_rich_deck() -> PathBuf {
    repo_package("tests/decks/rich", &[])
}

/// The rich deck imported into a fresh collection in `temp_dir(name)`: every note new,
/// nothing for `fix_integrity()` to repair.
fn import_rich_deck(name: &str) -> Value {
    let report = import(Backend::Current, &temp_dir(name), &build_rich_deck());
    assert_clean_first_import(&report, 14);
    report
}

#[test]
fn highlighted_code_renders_in_anki() {
    let report = import_rich_deck("rich-code");

    let (_, answer) = sides(card(&report, "What does this Rust program print?", 0));
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
    let (_, answer) = sides(card(&report, "Indented code", 0));
    assert!(
        answer.contains("<pre><code>x = $y$  # not math"),
        "{answer}"
    );

    // Clozes around and inside code.
    let (q, a) = sides(card(&report, "Which keyword", 0));
    assert!(q.contains(r#"<span class="cloze" data-cloze="&lt;code&gt;def&lt;&#x2F;code&gt;" data-ordinal="1">[...]</span>"#), "{q}");
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1"><code>def</code></span>"#),
        "{a}"
    );
    let (_, a) = sides(card(&report, "A deletion around code", 0));
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1"><code>a}&#125;b</code></span> stays one deletion"#),
        "{a}"
    );
    let (q, a) = sides(card(&report, "In code:", 0));
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

#[test]
fn custom_note_types_from_files_render_in_anki() {
    let report = import_rich_deck("rich-notetypes");

    let vocab = report["notetypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Vocab")
        .expect("Vocab note type");
    assert_eq!(
        vocab["fields"],
        serde_json::json!(["Word", "Meaning", "Example"])
    );
    assert_eq!(
        vocab["templates"],
        serde_json::json!(["Recognize", "Recall"])
    );
    assert_eq!(vocab["type"], 0);

    let la_mer = note(&report, "la mer");
    assert_eq!(la_mer["notetype"], "Vocab");
    assert_eq!(
        la_mer["fields"]["Example"],
        "<p>Il regarde <strong>la mer</strong>.</p>"
    );
    let (q, a) = sides(card(&report, "la mer", 0));
    assert!(q.contains(r#"<div class="word">la mer</div>"#), "{q}");
    assert!(
        q.contains("font-family: \"Rich Sans\""),
        "the note type's CSS: {q}"
    );
    assert!(
        q.contains("<a class=hint href=") && q.contains("Example</a>"),
        "hint filter: {q}"
    );
    assert!(
        a.contains(r#"<div class="meaning"><p>the sea</p></div>"#),
        "{a}"
    );
    let (q, _) = sides(card(&report, "la mer", 1));
    assert!(
        q.contains(r#"<div class="meaning">the sea</div>"#),
        "text filter: {q}"
    );
    assert!(q.contains("[[type:Word]]"), "type filter: {q}");
    // No example: no hint, still both cards.
    let (q, _) = sides(card(&report, "le ciel", 0));
    assert!(!q.contains("<a class=hint"), "{q}");
    assert_eq!(
        note(&report, "le ciel")["cards"].as_array().unwrap().len(),
        2
    );

    // A cloze note type whose deletions sit in highlighted code.
    let code = note(&report, "Complete the function");
    assert_eq!(code["notetype"], "Code Cloze");
    let (q, a) = sides(card(&report, "Complete the function", 0));
    assert!(q.contains("<b>Complete the function</b>"), "{q}");
    assert!(q.contains(r#"data-ordinal="1">[a constant]</span>"#), "{q}");
    assert!(
        a.contains(r#"<span class="cloze" data-ordinal="1">math.pi</span>"#),
        "{a}"
    );
    let (q, _) = sides(card(&report, "Complete the function", 1));
    assert!(q.contains(r#"data-ordinal="2">[...]</span>"#), "{q}");

    // The font is packaged under its own name, and Anki keeps it.
    assert!(report["media_files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "_rich-sans.woff2"));
}

#[test]
fn renaming_a_field_with_an_id_keeps_the_note_type() {
    let dir = temp_dir("rich-rename");
    let src = dir.join("src");
    copy_dir(&workspace().join("tests/decks/rich"), &src);
    let first = dir.join("v1.apkg");
    assert_success(&build(&src, &first));
    let collection = dir.join("collection");
    import(Backend::Current, &collection, &first);

    // Rename `Meaning` to `Definition` (its id stays `meaning`), restyle the cards.
    let nt = src.join("_notetypes/Vocab");
    let toml = std::fs::read_to_string(nt.join("notetype.toml")).unwrap();
    std::fs::write(
        nt.join("notetype.toml"),
        toml.replace("name = \"Meaning\"", "name = \"Definition\""),
    )
    .unwrap();
    for file in [
        "Recognize.back.html",
        "Recall.front.html",
        "Recall.back.html",
    ] {
        let text = std::fs::read_to_string(nt.join(file)).unwrap();
        std::fs::write(
            nt.join(file),
            text.replace(":Meaning}}", ":Definition}}")
                .replace("{{Meaning}}", "{{Definition}}"),
        )
        .unwrap();
    }
    let css = std::fs::read_to_string(nt.join("style.css")).unwrap();
    std::fs::write(nt.join("style.css"), css + ".meaning { color: green; }\n").unwrap();
    let second = dir.join("v2.apkg");
    assert_success(&build(&src, &second));
    let report = import(Backend::Current, &collection, &second);
    let log = &report["imports"][0]["counts"];
    assert_eq!(log["conflicting"], 0, "{log}");
    assert_eq!(log["new"], 0, "{log}");
    let vocabs: Vec<&Value> = report["notetypes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["name"].as_str().unwrap().starts_with("Vocab"))
        .collect();
    assert_eq!(vocabs.len(), 1, "no copy of the note type: {vocabs:?}");
    assert_eq!(
        vocabs[0]["fields"],
        serde_json::json!(["Word", "Definition", "Example"])
    );
    let (_, a) = sides(card(&report, "la mer", 0));
    assert!(
        a.contains(".meaning { color: green; }"),
        "new CSS reached Anki: {a}"
    );
    assert!(a.contains("the sea"), "{a}");
}

/// A note type that came from Anki keeps Anki's ids and every setting of its dialogs:
/// integer `id`s are taken as they are, and the LaTeX, field and browser settings of
/// notetype.toml are what Anki shows.
#[test]
fn integer_ids_and_anki_settings_of_a_note_type_reach_anki() {
    let dir = temp_dir("rich-notetype-settings");
    let src = dir.join("src");
    let nt = src.join("_notetypes").join("Anki Vocab");
    std::fs::create_dir_all(&nt).unwrap();
    let toml = r#"
id = 1670000000123
latex_pre = "\\documentclass{article}\n\\begin{document}"
latex_post = "\\end{document} % mine"
latex_svg = true
stock_kind = 1

[[fields]]
name = "Word"
id = 7011
description = "the word"
rtl = true
sticky = true
plain_text = true
collapsed = true
exclude_from_search = true
font = "Noto Sans"
size = 31

[[fields]]
name = "Meaning"
id = -8022

[[templates]]
name = "Card 1"
id = 9033
browser_front = "{{Word}}?"
browser_back = "{{Meaning}}!"
browser_font = "Noto Serif"
browser_size = 13
"#;
    std::fs::write(nt.join("notetype.toml"), toml).unwrap();
    std::fs::write(nt.join("Card 1.front.html"), "{{Word}}").unwrap();
    std::fs::write(nt.join("Card 1.back.html"), "{{Meaning}}").unwrap();
    std::fs::write(
        src.join("words.md"),
        "---\ntype: Anki Vocab\n---\n\n## la mer\n\nthe sea\n",
    )
    .unwrap();
    let package = dir.join("out.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    assert_clean_first_import(&report, 1);
    let found = report["notetypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Anki Vocab")
        .expect("the note type");
    assert_eq!(found["id"], 1_670_000_000_123_i64);
    let settings = &found["settings"];
    assert_eq!(
        settings["latexPre"],
        "\\documentclass{article}\n\\begin{document}"
    );
    assert_eq!(settings["latexPost"], "\\end{document} % mine");
    assert_eq!(settings["latexsvg"], true);
    assert_eq!(settings["originalStockKind"], 1);
    assert_eq!(
        settings["fields"],
        serde_json::json!([
            {"id": 7011, "font": "Noto Sans", "size": 31, "description": "the word",
             "rtl": true, "sticky": true, "plainText": true, "collapsed": true,
             "excludeFromSearch": true},
            {"id": -8022, "font": "Arial", "size": 20, "description": "", "rtl": false,
             "sticky": false, "plainText": false, "collapsed": false,
             "excludeFromSearch": false},
        ])
    );
    assert_eq!(
        settings["templates"],
        serde_json::json!([{"id": 9033, "bqfmt": "{{Word}}?", "bafmt": "{{Meaning}}!",
                            "bfont": "Noto Serif", "bsize": 13}])
    );
    assert_eq!(note(&report, "la mer")["mid"], 1_670_000_000_123_i64);
}

/// A custom note type may be named like a stock one, as decks from Anki often have
/// their own `Basic`: that exact name (in a card file or a text file) means the custom
/// type, and the stock keys still mean the stock types.
#[test]
fn a_custom_note_type_named_basic_wins_for_its_name() {
    let dir = temp_dir("rich-custom-basic");
    let src = dir.join("src");
    let nt = src.join("_notetypes").join("Basic");
    std::fs::create_dir_all(&nt).unwrap();
    let toml = "[[fields]]\nname = \"Front\"\n\n[[fields]]\nname = \"Back\"\n\n[[fields]]\nname = \"Source\"\n\n[[templates]]\nname = \"Card 1\"\n";
    std::fs::write(nt.join("notetype.toml"), toml).unwrap();
    std::fs::write(nt.join("Card 1.front.html"), "{{Front}}").unwrap();
    std::fs::write(nt.join("Card 1.back.html"), "{{Back}}<br>{{Source}}").unwrap();
    std::fs::write(
        src.join("notes.md"),
        "## Custom one\ntype: Basic\n\nback\n\n### Source\nbook\n\n## Stock one\ntype: basic\n\nback\n",
    )
    .unwrap();
    std::fs::write(
        src.join("rows.tsv"),
        "#separator:tab\n#notetype:Basic\nCustom row\tback\tweb\n",
    )
    .unwrap();
    let package = dir.join("out.apkg");
    let result = build(&src, &package);
    assert_success(&result);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let report = import(Backend::Current, &dir.join("collection"), &package);
    assert_clean_first_import(&report, 3);
    let custom = note(&report, "Custom one");
    // A fresh collection has a Basic of its own, so Anki names this one `Basic+`.
    let name = custom["notetype"].as_str().unwrap();
    assert!(name == "Basic" || name == "Basic+", "{name}");
    assert_eq!(
        custom["field_order"],
        serde_json::json!(["Front", "Back", "Source"])
    );
    assert_eq!(custom["fields"]["Source"], "<p>book</p>");
    let row = note(&report, "Custom row");
    assert_eq!(row["mid"], custom["mid"]);
    assert_eq!(row["fields"]["Source"], "web");
    assert_eq!(note(&report, "Stock one")["notetype"], "Basic (ankideck)");
}

/// A source folder with no notes builds a package of its decks and note types (what is
/// in it, `build::` checks), and Anki imports it without a problem. Anki's importer
/// takes only the decks and note types of the package's cards and notes, so it adds
/// nothing.
#[test]
fn a_folder_without_notes_builds_a_package_anki_imports() {
    let dir = temp_dir("rich-no-notes");
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
    let package = dir.join("empty.apkg");
    let built = build(&src, &package);
    assert_success(&built);
    let stdout = String::from_utf8_lossy(&built.stdout);
    assert!(stdout.contains("0 notes, 0 cards, 3 decks"), "{stdout}");
    let report = import(Backend::Current, &dir.join("collection"), &package);
    assert_eq!(report["imports"][0]["ok"], true, "{}", report["imports"][0]);
    assert_clean_first_import(&report, 0);
}

#[test]
fn anki_text_files_import_with_the_notes_decks_and_tags_their_header_says() {
    let report = import_rich_deck("rich-text");
    let by_guid = |guid: &str| {
        notes(&report)
            .iter()
            .find(|n| n["guid"] == guid)
            .unwrap_or_else(|| panic!("no note with guid {guid}"))
    };
    let tags = |n: &Value| {
        let mut t: Vec<String> = n["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let decks = |n: &Value| -> Vec<String> {
        n["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["deck"].as_str().unwrap().to_string())
            .collect()
    };

    // words.csv: guid, note type, deck and tags columns; quoted fields; HTML kept.
    let chien = by_guid("fr-002");
    assert_eq!(chien["notetype"], "Vocab");
    assert_eq!(chien["fields"]["Word"], "le chien; la chienne");
    assert_eq!(chien["fields"]["Example"], "Il dit \"ouaf\"\ndeux fois.");
    assert_eq!(tags(chien), ["animal", "imported", "pet", "vocab"]);
    assert_eq!(decks(chien), ["Rich::French", "Rich::French"]);
    let chat = by_guid("fr-001");
    assert_eq!(chat["fields"]["Example"], "<i>Le chat</i> dort.");
    let merci = by_guid("fr-003");
    // (Anki names it `Basic (and reversed card)+` beside its own stock type of that name.)
    assert!(merci["notetype"]
        .as_str()
        .unwrap()
        .starts_with("Basic (and reversed card)"));
    assert_eq!(
        decks(merci),
        ["Rich::French::Phrases", "Rich::French::Phrases"]
    );
    assert_eq!(tags(merci), ["imported", "politeness", "vocab"]);
    let bonjour = by_guid("fr-004");
    assert!(bonjour["notetype"].as_str().unwrap().starts_with("Cloze"));
    let (q, _) = sides(card(&report, "{{c1::Bonjour}}", 0));
    assert!(q.contains("[...]</span> means hello"), "{q}");

    // phrases.tsv: file-wide note type and deck, columns mapped by name, plain text escaped.
    let (q, a) = sides(card(&report, "merci &lt;3", 0));
    assert!(q.ends_with("merci &lt;3"), "{q}");
    assert!(a.ends_with("thank you"), "{a}");
    let mer = note(&report, "la mer &amp; co");
    assert!(mer["notetype"].as_str().unwrap().starts_with("Basic"));
    assert_eq!(decks(mer), ["Rich::Phrases"]);
    assert_eq!(tags(mer), ["phrases"]);
    assert_eq!(tags(note(&report, "merci &lt;3")), ["phrases", "polite"]);
}

#[test]
fn a_vocabulary_list_of_thousands_of_rows_builds_beside_markdown_cards() {
    const ROWS: usize = 3000;
    let dir = temp_dir("rich-big");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut tsv =
        String::from("#separator:tab\n#html:false\n#deck:Big::Words\n#columns:Front\tBack\n");
    for i in 0..ROWS {
        tsv.push_str(&format!("word {i}\tmeaning {i}\n"));
    }
    std::fs::write(src.join("words.tsv"), tsv).unwrap();
    std::fs::write(
        src.join("notes.md"),
        "## A Markdown card\n\nbeside the list\n",
    )
    .unwrap();
    let package = dir.join("big.apkg");
    let started = std::time::Instant::now();
    assert_success(&build(&src, &package));
    assert!(
        started.elapsed().as_secs() < 20,
        "slow build: {:?}",
        started.elapsed()
    );
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let log = &report["imports"][0]["counts"];
    assert_eq!(log["new"], ROWS as u64 + 1, "{log}");
    assert_eq!(report["check"]["problems"], serde_json::json!([]));
    assert_eq!(report["before_check"], report["after_check"]);
    let (q, a) = sides(card(&report, "word 2999", 0));
    assert!(
        q.ends_with("word 2999") && a.ends_with("meaning 2999"),
        "{q} / {a}"
    );
}

#[test]
fn deck_descriptions_and_options_reach_anki() {
    let package = build_rich_deck();
    let deck = |report: &Value, name: &str| -> Value {
        report["deck_details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no deck {name}"))
            .clone()
    };

    // With "Import deck presets" ticked, as the judge's --with-deck-configs.
    let report = import_with(
        Backend::Current,
        &temp_dir("rich-dconf"),
        &package,
        &["--with-deck-configs"],
    );
    assert_clean_first_import(&report, 14);
    let vocab = deck(&report, "Rich::Vocab");
    assert_eq!(vocab["conf_name"], "Vocab pace");
    assert_eq!(vocab["new_per_day"], 15);
    assert_eq!(vocab["reviews_per_day"], 150);
    assert_eq!(
        vocab["learning_steps"],
        serde_json::json!([1.0, 10.0, 60.0])
    );
    assert_eq!(vocab["maximum_interval"], 365);
    assert!(vocab["desc"]
        .as_str()
        .unwrap()
        .contains("French words, with <strong>two cards</strong> each"));
    let french = deck(&report, "Rich::French");
    assert_eq!(
        french["desc"],
        "<p>Imported from <code>words.csv</code>.</p>"
    );
    assert_eq!(french["conf_id"], 1, "no options: Anki's default group");

    // Anki's default import (a new collection's dialog leaves presets unticked): the
    // description arrives, the options do not.
    let report = import(Backend::Current, &temp_dir("rich-no-dconf"), &package);
    let vocab = deck(&report, "Rich::Vocab");
    assert_eq!(vocab["conf_id"], 1);
    assert_eq!(vocab["new_per_day"], 20);
    assert!(vocab["desc"].as_str().unwrap().contains("two cards"));
}

#[test]
fn old_python_importer_accepts_the_rich_deck() {
    let package = build_rich_deck();
    let report = import(Backend::Legacy, &temp_dir("rich-legacy"), &package);
    assert_eq!(report["anki_version"], "2.1.49");
    assert_clean_first_import(&report, 14);
}
