//! `ankideck preview`: every card's question and answer HTML equals what the official
//! Anki renders for it, and the site around them (index, pages, anchors, media, math,
//! problems).

use crate::common;

use common::files::{temp_dir, write_files};
use common::run::{ankideck, ankideck_in, assert_success, repo_package};
use common::{judge, path_str, workspace, Backend};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The decks kept in the repository: the sample deck and every test deck.
fn repo_decks() -> Vec<String> {
    let mut decks = vec!["cards".to_string()];
    let mut tests: Vec<String> = std::fs::read_dir(workspace().join("tests/decks"))
        .unwrap()
        .map(|e| format!("tests/decks/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    tests.sort();
    decks.extend(tests);
    decks
}

/// `ankideck preview SOURCE -o DIR` into a fresh folder, which it returns with the data
/// file read.
#[track_caller]
fn preview(source: &Path) -> (PathBuf, Value) {
    let out = temp_dir("preview").join("site");
    let result = ankideck(&["preview", path_str(source), "-o", path_str(&out)]);
    assert_success(&result);
    let data = std::fs::read_to_string(out.join("cards.json")).unwrap();
    (out, serde_json::from_str(&data).unwrap())
}

/// (guid, ord) → (question, answer).
type Sides = BTreeMap<(String, u64), (String, String)>;

fn sides(cards: &Value) -> Sides {
    cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let key = (
                c["guid"].as_str().unwrap().to_string(),
                c["ord"].as_u64().unwrap(),
            );
            let text = |side: &str| c[side].as_str().unwrap().to_string();
            (key, (text("question"), text("answer")))
        })
        .collect()
}

/// The heart of the preview: for every card of every deck kept in the repository, the
/// question and answer are byte for byte what `card.question()` and `card.answer()` of
/// the official Anki return after importing the deck's package.
#[test]
fn every_card_renders_as_anki_renders_it() {
    let mut compared = 0;
    for deck in repo_decks() {
        let package = repo_package(&deck, &[]);
        let anki = judge(Backend::Current, &["render", path_str(&package)]);
        let (_, data) = preview(&workspace().join(&deck));
        let (anki, ours) = (sides(&anki["cards"]), sides(&data["cards"]));
        assert_eq!(
            anki.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "{deck}: the same cards"
        );
        for (key, (question, answer)) in &anki {
            let (our_question, our_answer) = &ours[key];
            assert_eq!(our_question, question, "{deck}: question of {key:?}");
            assert_eq!(our_answer, answer, "{deck}: answer of {key:?}");
            compared += 1;
        }
    }
    assert!(compared >= 95, "only {compared} cards compared");
}

/// A deck's notes (file and line) and its number of cards.
type DeckCounts<'a> = (std::collections::BTreeSet<(&'a str, u64)>, usize);

/// The index lists each deck with its counts and each source file with a link to its
/// page; a page shows every note under its `file:line` anchor with its cards' sides in
/// frames, the note type's CSS inside; media are copied beside; math is MathML.
#[test]
fn the_site_has_an_index_pages_anchors_media_and_math() {
    let source = workspace().join("tests/decks/features");
    let (out, data) = preview(&source);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let cards = data["cards"].as_array().unwrap();
    let mut decks: BTreeMap<&str, DeckCounts> = BTreeMap::new();
    for card in cards {
        let entry = decks.entry(card["deck"].as_str().unwrap()).or_default();
        entry.0.insert((
            card["file"].as_str().unwrap(),
            card["line"].as_u64().unwrap(),
        ));
        entry.1 += 1;
    }
    for (deck, (notes, card_count)) in &decks {
        let row = format!(
            "<tr><td>{deck}</td><td>{}</td><td>{card_count}</td></tr>",
            notes.len()
        );
        assert!(index.contains(&row), "{row} in {index}");
    }
    assert!(index.contains("13 notes and 16 cards"), "{index}");
    // Every file's page is linked from the index and holds each of its notes' anchors.
    let mut pages = 0;
    for card in cards {
        let file = card["file"].as_str().unwrap();
        let page = format!("{}.html", file.replace('/', "_"));
        assert!(
            index.contains(&format!("<a href=\"{page}\">{file}</a>")),
            "{page}"
        );
        let html = std::fs::read_to_string(out.join(&page)).unwrap();
        let anchor = format!("{file}:{}", card["line"]);
        assert!(
            html.contains(&format!("<article class=\"note\" id=\"{anchor}\">")),
            "{anchor}"
        );
        assert!(
            html.contains(&format!("<a href=\"#{anchor}\">{anchor}</a>")),
            "{anchor} listed"
        );
        assert!(html.contains("id=\"night\"") && html.contains("id=\"phone\""));
        pages += 1;
    }
    assert_eq!(pages, 16);
    // Media: every file the cards refer to is beside the pages.
    let media: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for card in cards {
        let answer = card["answer"].as_str().unwrap();
        for name in answer
            .split("src=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
        {
            assert!(media.iter().any(|m| m == name), "{name} copied");
        }
    }
    let mut sounds = 0;
    for play in cards
        .iter()
        .flat_map(|c| c["answer_play"].as_array().unwrap())
    {
        assert!(
            out.join(play["sound"].as_str().unwrap()).is_file(),
            "{play}"
        );
        sounds += 1;
    }
    assert!(sounds > 0);
    // The math of the math note, typeset as MathML inside its frame; the CSS is there.
    let math = cards
        .iter()
        .find(|c| c["answer"].as_str().unwrap().contains(r"\frac{a}{b}"))
        .unwrap();
    let page = std::fs::read_to_string(out.join(format!(
        "{}.html",
        math["file"].as_str().unwrap().replace('/', "_")
    )))
    .unwrap();
    assert!(
        page.contains("&lt;math display=&quot;block&quot;&gt;"),
        "{page}"
    );
    assert!(page.contains("&lt;mfrac&gt;"), "{page}");
    assert!(page.contains("font-family: arial;"), "the note type's CSS");
    assert!(!page.contains(r"\frac{a}{b}"), "no formula left untypeset");
}

/// The type-in box and sounds as the reviewer shows them.
#[test]
fn type_in_boxes_and_sounds_are_shown_as_the_reviewer_shows_them() {
    let (out, _) = preview(&workspace().join("tests/decks/templates"));
    let page = std::fs::read_to_string(out.join("templates.md.html")).unwrap();
    // As the reviewer: the box in the field's font, the answer after the rule.
    let input = "&lt;input type=text id=typeans\n   style=&quot;font-family: 'Arial'; font-size: 20px;&quot;&gt;";
    assert!(page.contains(input), "{page}");
    let compared = "&lt;hr id=answer&gt;\n&lt;div style=&quot;font-family: 'Arial'; font-size: 20px&quot;&gt;&lt;code id=typeans&gt;日本&lt;/code&gt;&lt;/div&gt;";
    assert!(page.contains(compared), "{page}");
    assert!(
        page.contains(
            "&lt;audio class=&quot;sound&quot; controls preload=&quot;none&quot; src=&quot;chime"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "title=&quot;Anki reads this aloud (lang=en_US)&quot;&gt;🔊 日本&lt;/span&gt;"
        ),
        "{page}"
    );
    assert!(
        !page.contains("[[type:") && !page.contains("[anki:play:"),
        "{page}"
    );
}

/// A source with errors previews the notes it can and lists every problem as `check`
/// reports it, on the index and on the file's page; the command still succeeds.
#[test]
fn problems_are_listed_and_the_rest_is_previewed() {
    let dir = temp_dir("preview-problems");
    write_files(
        &dir,
        &[
            (
                "cards/a.md",
                "## Good\n\nfine\n\n## Bad\ntype: flashcard\n\nx\n",
            ),
            ("cards/b.md", "## Only a question\n"),
        ],
    );
    let check = ankideck_in(&dir, &["check", "--color", "never"]);
    let check_text = String::from_utf8_lossy(&check.stderr).to_string();
    let result = ankideck_in(&dir, &["preview"]);
    assert_success(&result);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("cards-preview/index.html: 2 notes, 2 cards, 2 problems listed"),
        "{stdout}"
    );
    let out = dir.join("cards-preview");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let page = std::fs::read_to_string(out.join("a.md.html")).unwrap();
    for first_line in ["error: unknown note type `flashcard`", "warning: "] {
        assert!(check_text.contains(first_line), "{check_text}");
        assert!(index.contains(first_line), "{index}");
    }
    // Each problem as `check` prints it, snippet and hint included.
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let blocks: Vec<&str> = check_text
        .split("\n\n")
        .filter(|b| b.contains(" --> "))
        .collect();
    assert_eq!(blocks.len(), 2, "{check_text}");
    for block in blocks {
        assert!(block.contains(" --> cards/"), "{block}");
        assert!(
            index.contains(&escape(block.trim_end())),
            "{block} in {index}"
        );
    }
    assert!(page.contains("unknown note type") && !page.contains("Only a question"));
    assert!(page.contains("id=\"a.md:1\"") && !page.contains("id=\"a.md:5\""));
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cards.json")).unwrap()).unwrap();
    assert_eq!(data["diagnostics"].as_array().unwrap().len(), 2);
    assert_eq!(data["diagnostics"][0]["severity"], "error", "{data}");
}

/// A folder holding anything but an earlier preview is refused; an earlier preview is
/// written over.
#[test]
fn only_a_new_empty_or_earlier_preview_folder_is_written() {
    let dir = temp_dir("preview-refused");
    write_files(
        &dir,
        &[("cards/a.md", "## Q\n\nA\n"), ("site/notes.txt", "mine\n")],
    );
    let refused = ankideck_in(&dir, &["preview", "-o", "site"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("`site` holds files that are not a preview"),
        "{stderr}"
    );
    assert!(!dir.join("site/index.html").exists());
    assert_success(&ankideck_in(&dir, &["preview", "-o", "again"]));
    assert!(dir.join("again/a.md.html").is_file());
    // Written over: a renamed file's old page is gone, nothing else is left behind.
    std::fs::remove_file(dir.join("cards/a.md")).unwrap();
    write_files(&dir, &[("cards/b.md", "## Q2\n\nA\n")]);
    assert_success(&ankideck_in(&dir, &["preview", "-o", "again"]));
    let data = std::fs::read_to_string(dir.join("again/cards.json")).unwrap();
    assert!(data.contains("Q2"), "{data}");
    let mut files: Vec<String> = std::fs::read_dir(dir.join("again"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["b.md.html", "cards.json", "index.html"]);
}

/// Note types whose fronts are made of what people write and Anki accepts: a field named
/// like one of Anki's special fields (`Type`), a front shown only while a field is empty
/// (`{{^Type}}`), one of only `{{Tags}}`, a section on `{{#Deck}}`, `{{{Word}}}`,
/// `{{text:type:Word}}` and `{{tts-voices:}}`; `{{Deck}}` of a card in a deck of its own,
/// `{{Tags}}` in the order Anki sorts them.
const LIKE_ANKI: &[(&str, &str)] = &[
    (
        "_notetypes/Parts/notetype.toml",
        "[[fields]]\nname = \"Word\"\n[[fields]]\nname = \"Type\"\n[[templates]]\nname = \"Word\"\n[[templates]]\nname = \"Type\"\n[[templates]]\nname = \"Untyped\"\n",
    ),
    (
        "_notetypes/Parts/Word.front.html",
        "{{Word}} {{{Word}}} [{{text:type:Word}}]{{tts-voices:}}",
    ),
    ("_notetypes/Parts/Word.back.html", "{{FrontSide}}<hr id=answer>{{Type}}"),
    ("_notetypes/Parts/Type.front.html", "{{Type}}"),
    (
        "_notetypes/Parts/Type.back.html",
        "{{FrontSide}}<hr id=answer>{{Word}} ({{Deck}}, {{Subdeck}})",
    ),
    ("_notetypes/Parts/Untyped.front.html", "{{^Type}}{{Word}} has no type{{/Type}}"),
    ("_notetypes/Parts/Untyped.back.html", "{{FrontSide}}"),
    (
        "_notetypes/Tagged/notetype.toml",
        "[[fields]]\nname = \"Front\"\n[[fields]]\nname = \"Back\"\n[[templates]]\nname = \"Tagged\"\n[[templates]]\nname = \"InDeck\"\n",
    ),
    ("_notetypes/Tagged/Tagged.front.html", "{{Tags}}"),
    ("_notetypes/Tagged/Tagged.back.html", "{{FrontSide}}<hr id=answer>{{Back}}"),
    ("_notetypes/Tagged/InDeck.front.html", "{{#Deck}}{{Front}}{{/Deck}}"),
    ("_notetypes/Tagged/InDeck.back.html", "{{FrontSide}}<hr id=answer>{{Back}}"),
    (
        "words.md",
        "---\ntype: Parts\n---\n\n## laufen\n\n## Hund\ncard-deck: 2 words::Types\n\nnoun\n",
    ),
    (
        "tagged.md",
        "---\ntype: Tagged\n---\n\n## with tags\ntags: zeta t Alpha\n\nb\n\n## without tags\n\nb\n",
    ),
];

/// The build makes the cards Anki makes for these notes, no card whose front Anki calls
/// blank and none that Check Database would add, and the preview shows each as Anki
/// renders it.
#[test]
fn cards_are_the_ones_anki_makes_and_render_as_anki_renders_them() {
    let source = temp_dir("preview-like-anki").join("src");
    write_files(&source, LIKE_ANKI);
    let package = source.with_file_name("deck.apkg");
    assert_success(&common::run::build(&source, &package));
    let (_, data) = preview(&source);
    // Each note (file, line) with its cards' templates.
    let mut made: BTreeMap<(&str, u64), Vec<&str>> = BTreeMap::new();
    for card in data["cards"].as_array().unwrap() {
        let note = (
            card["file"].as_str().unwrap(),
            card["line"].as_u64().unwrap(),
        );
        made.entry(note)
            .or_default()
            .push(card["template"].as_str().unwrap());
    }
    let expected = BTreeMap::from([
        (("tagged.md", 5), vec!["Tagged", "InDeck"]),
        (("tagged.md", 10), vec!["InDeck"]),
        (("words.md", 5), vec!["Word", "Untyped"]),
        (("words.md", 7), vec!["Word", "Type"]),
    ]);
    assert_eq!(made, expected);
    let anki = judge(Backend::Current, &["render", path_str(&package)]);
    let (anki, ours) = (sides(&anki["cards"]), sides(&data["cards"]));
    assert_eq!(anki, ours);
    for (question, _) in anki.values() {
        assert!(
            !question.contains("The front of this card is blank"),
            "{question}"
        );
    }
    assert!(anki
        .values()
        .any(|(q, _)| q.ends_with("laufen laufen} [[[type:Word]]]")));
    assert!(anki.values().any(|(q, _)| q.ends_with("Alpha t zeta")));
    // The card `card-deck:` moves shows its own deck, and the preview lists it there.
    assert!(anki
        .values()
        .any(|(_, a)| a.ends_with("Hund (words::Types, Types)")));
    let decks = data["cards"].as_array().unwrap().iter();
    let decks: Vec<&str> = decks.map(|c| c["deck"].as_str().unwrap()).collect();
    assert_eq!(decks.iter().filter(|&&d| d == "words::Types").count(), 1);
    let report = common::anki::import(
        Backend::Current,
        &source.with_file_name("collection.anki2"),
        &package,
    );
    common::anki::assert_check_database_clean(&report);
}

/// Cards a note keeps with an empty front (`empty-cards:`) say what Anki says on them.
#[test]
fn kept_empty_cards_say_what_anki_says() {
    let source = temp_dir("preview-empty-cards").join("src");
    let notes =
        "## The {{c1::cat}} sleeps\nempty-cards: 2\n\n## la mer\ntype: reversed\nempty-cards: 2\n";
    write_files(&source, &[("a.md", notes)]);
    let package = source.with_file_name("deck.apkg");
    assert_success(&common::run::build(&source, &package));
    let (_, data) = preview(&source);
    let anki = judge(Backend::Current, &["render", path_str(&package)]);
    let (anki, ours) = (sides(&anki["cards"]), sides(&data["cards"]));
    assert_eq!(anki, ours);
    let messages = [
        "No cloze \u{2068}2\u{2069} found on card.",
        "The front of this card is blank.",
    ];
    for message in messages {
        assert!(
            ours.values()
                .any(|(q, a)| q.contains(message) && a.contains(message)),
            "{message}"
        );
    }
}

/// An image occlusion note's masks (`{{c1::image-occlusion:rect:…}}`) are the elements
/// Anki writes for its script to draw, on both sides of each card.
#[test]
fn image_occlusions_render_as_anki_renders_them() {
    let source = temp_dir("preview-occlusion").join("src");
    let notetype = "kind = \"cloze\"\nstock_kind = 6\n[[fields]]\nname = \"Occlusion\"\n[[fields]]\nname = \"Image\"\n[[templates]]\nname = \"IO\"\n";
    let masks = r"{{c1::image-occlusion:rect:left=.1:top=.2:width=.3:height=0:oi=1}}{{c2::image-occlusion:ellipse:left=.5:top=.5:rx=.1:ry=.2}}{{c1::image-occlusion:polygon:points=1,2 3,4 5,6:oi=1}}{{c3::image-occlusion:text:left=.1:text=a\:b <c>:fs=.04}}";
    let notes =
        format!("#separator:tab\n#html:true\n#notetype:IO\n#columns:Occlusion\tImage\n{masks}\t\n");
    write_files(
        &source,
        &[
            ("_notetypes/IO/notetype.toml", notetype),
            (
                "_notetypes/IO/IO.front.html",
                "{{cloze:Occlusion}}{{Image}}",
            ),
            (
                "_notetypes/IO/IO.back.html",
                "{{cloze:Occlusion}}<br>{{Image}}",
            ),
            ("masks.tsv", &notes),
        ],
    );
    let package = source.with_file_name("deck.apkg");
    assert_success(&common::run::build(&source, &package));
    let (_, data) = preview(&source);
    let anki = judge(Backend::Current, &["render", path_str(&package)]);
    let (anki, ours) = (sides(&anki["cards"]), sides(&data["cards"]));
    assert_eq!(anki.len(), 3);
    assert_eq!(anki, ours);
    let (question, answer) = ours.values().next().unwrap();
    assert!(question.contains(r#"<div class="cloze" data-ordinal="1" data-shape="rect""#));
    assert!(answer.contains(r#"<div class="cloze-highlight" data-ordinal="1""#));
}
