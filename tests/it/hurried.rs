//! Fields written in a hurry: Anki's own math delimiters (`\(…\)`, `\[…\]`) come out as
//! written, cloze openers Anki does not read (`{{C1::`, `{{ c1::`, `{{c1：：`, `{c1::`)
//! and media written the wrong way (a sound as an image, a space in an image's path, a
//! `file:` URL), another app's front matter keys (ignored), inline `#tags`, and Markdown that drops or changes text (a table row with more cells
//! than its header, a line underlined with `---`, a `---` ending a field, an Obsidian embed `![[…]]`)
//! and cards written for other flashcard tools (`Q::A`, `?`, `START`, `{{cloze x}}`) are
//! warnings at their place with the corrected text as help. What the
//! warnings claim about Anki is checked against the real Anki.

use crate::common;

use ankideck::{Note, Package, Stock};
use common::anki::{card, first_field, import, note, notes, text};
use common::files::{temp_dir, write_files};
use common::run::{ankideck, ankideck_in, assert_success, build};
use common::{path_str, Backend};
use serde_json::Value;

/// One diagnostic: severity, code, line, column, end column, message and help.
type Expected = (
    &'static str,
    &'static str,
    u64,
    u64,
    u64,
    &'static str,
    &'static str,
);

/// A card file `a.md`, the files beside it, and every diagnostic `check` gives for it.
const CASES: &[(&str, &[&str], &[Expected])] = &[
    (
        "## {{C1::Berlin}} is in Germany.\n\nA\n",
        &[],
        &[(
            "warning",
            "miswritten-cloze",
            1,
            4,
            10,
            "`{{C1::` is not a cloze deletion: Anki reads only `{{c1::`, so it shows the braces as written",
            "write `{{c1::`",
        )],
    ),
    (
        "## {{ c1::x }} y\n\nA\n",
        &[],
        &[(
            "warning",
            "miswritten-cloze",
            1,
            4,
            11,
            "`{{ c1::` is not a cloze deletion: Anki reads only `{{c1::`, so it shows the braces as written",
            "write `{{c1::`",
        )],
    ),
    (
        "## 中 {{c1：：x}} y\n\nA\n",
        &[],
        &[(
            "warning",
            "miswritten-cloze",
            1,
            6,
            12,
            "`{{c1：：` is not a cloze deletion: Anki reads only `{{c1::`, so it shows the braces as written",
            "write `{{c1::`",
        )],
    ),
    (
        "## Q\n\nsee {c2,3::x}}\n",
        &[],
        &[(
            "warning",
            "miswritten-cloze",
            3,
            5,
            12,
            "`{c2,3::` is not a cloze deletion: Anki reads only `{{c2,3::`, so it shows the braces as written",
            "write `{{c2,3::`",
        )],
    ),
    (
        "## 说 ![发音](audio/ni.mp3)\n\nA\n",
        &["audio/ni.mp3"],
        &[(
            "warning",
            "sound-as-image",
            1,
            12,
            24,
            "`audio/ni.mp3` is a sound or video file written as an image (`![…](…)`): the card would show a broken image",
            "write `[sound:audio/ni.mp3]`",
        )],
    ),
    (
        "## Q\n\nA cat:\n![cat](img/my cat.png)\n",
        &[],
        &[(
            "warning",
            "space-in-image-path",
            4,
            1,
            23,
            "`![cat](img/my cat.png)` is not an image: Markdown ends a path at a space, so the card shows the text as written",
            "write `![cat](<img/my cat.png>)`",
        )],
    ),
    (
        "## Q\n\n![d](file:///home/u/a.png)\n",
        &[],
        &[(
            "warning",
            "file-url",
            3,
            6,
            26,
            "`file:///home/u/a.png` names a file on this computer: Anki keeps it as a link that other devices, phones among them, cannot open",
            "copy the file into the deck's folder and write its path relative to the card file, as in `![d](img/a.png)`",
        )],
    ),
    (
        "## Drugs\n\n| Drug | Dose |\n|:-----|-----:|\n| `a|b` | 5 mg |\n| $|x|$ | `a\\|b` |\n",
        &[],
        &[(
            "warning",
            "table-cells-dropped",
            5,
            11,
            15,
            "this table row has 3 cells, but the table has 2 columns: the card leaves out `5 mg`",
            "a `|` in a cell ends the cell, in code too: write it as `\\|`; or add the column to the header row and the line below it",
        )],
    ),
    (
        "## Q1\nThe answer\n---\n## Q2\nA\n\n---\n",
        &[],
        &[(
            "warning",
            "underlined-heading",
            3,
            1,
            4,
            "`---` under a line of text makes that text a heading (`The answer`), shown large on the card; it does not separate notes",
            "notes are separated by `## ` headings alone: delete the line; for a horizontal rule, leave a blank line above it",
        ), (
            "warning",
            "trailing-rule",
            7,
            1,
            4,
            "`---` at the end of the field draws a line at the end of the card; it does not separate notes",
            "notes are separated by `## ` headings alone: delete the line",
        )],
    ),
    (
        "## Q\n\nSee ![[my heart.png|300]] and `![[x.png]]`\n",
        &[],
        &[(
            "warning",
            "wiki-embed",
            3,
            5,
            26,
            "`![[my heart.png|300]]` is an Obsidian embed, not Markdown: the card shows it as text",
            "write `![](<my heart.png>)`, with the path relative to the card file",
        )],
    ),
    (
        "---\naliases: [heart]\ncssclasses:\n  - wide\ndeck: Med\n---\n## Q\n\nA\n",
        &[],
        &[
            (
                "warning",
                "front-matter-ignored",
                2,
                1,
                9,
                "front matter key `aliases` is not one of ankideck's (`deck`, `tags`, `type`, `format`), so it is ignored",
                "keep it for the app that reads it (Obsidian, a site generator), or delete it",
            ),
            (
                "warning",
                "front-matter-ignored",
                3,
                1,
                12,
                "front matter key `cssclasses` is not one of ankideck's (`deck`, `tags`, `type`, `format`), so it is ignored",
                "keep it for the app that reads it (Obsidian, a site generator), or delete it",
            ),
        ],
    ),
    (
        "## What pumps blood? #cardio #anatomy/heart\n\nThe heart.\n\n#exam\n",
        &[],
        &[
            (
                "warning",
                "inline-tags",
                1,
                22,
                44,
                "`#cardio #anatomy/heart` is text on the card, not tags: a note's tags come from its `tags:` line; did you mean `tags: cardio anatomy::heart`?",
                "write the tags on a `tags:` line right under the heading (or in the front matter), and delete them here",
            ),
            (
                "warning",
                "inline-tags",
                5,
                1,
                6,
                "`#exam` is text on the card, not tags: a note's tags come from its `tags:` line; did you mean `tags: exam`?",
                "write the tags on a `tags:` line right under the heading (or in the front matter), and delete them here",
            ),
        ],
    ),
    (
        "## Mnemonic\n\n==LMNOP== for H~2~O\n",
        &[],
        &[
            (
                "warning",
                "foreign-markup",
                3,
                1,
                10,
                "`==LMNOP==` is Obsidian's highlight, which this Markdown does not have: the card shows it as written; did you mean `<mark>LMNOP</mark>`?",
                "write the HTML the message shows: Anki shows `<mark>`, `<sub>` and `<sup>`, and hides `<!-- … -->`; to keep the characters as text, escape the first one with `\\`",
            ),
            (
                "warning",
                "foreign-markup",
                3,
                16,
                19,
                "`~2~` is a subscript in Pandoc's Markdown, which this Markdown does not have: the card shows it as written; did you mean `<sub>2</sub>`?",
                "write the HTML the message shows: Anki shows `<mark>`, `<sub>` and `<sup>`, and hides `<!-- … -->`; to keep the characters as text, escape the first one with `\\`",
            ),
        ],
    ),
    (
        "## Facts\n\nWhat is 2+2?::4\n\nThe {{cloze Rhine}} flows north.\n",
        &[],
        &[
            (
                "warning",
                "foreign-card",
                3,
                1,
                16,
                "`What is 2+2?::4` is a one-line card of Obsidian's Spaced Repetition plugin, which ankideck does not read: the card shows it as written; did you mean a note `## What is 2+2?` with `4` below it?",
                "a note is a `## ` heading, the card's front, and the text below it, its back: start a note for each card (`type: reversed` under the heading for a card each way)",
            ),
            (
                "warning",
                "foreign-card",
                5,
                5,
                20,
                "`{{cloze Rhine}}` is Logseq's cloze, which ankideck does not read: the card shows it as written; did you mean `{{c1::Rhine}}`?",
                "write Anki's cloze deletion, numbered from 1, in a note of a cloze type (`type: cloze` under its heading)",
            ),
        ],
    ),
    (
        "## Q\n\nWhat pumps blood?\n?\nThe heart.\n\nSTART\nBasic\nFront: Capital of France\nBack: Paris\nEND\n",
        &[],
        &[
            (
                "warning",
                "foreign-card",
                4,
                1,
                2,
                "`?` is the line between a card's front and back in Obsidian's Spaced Repetition plugin, which ankideck does not read: the card shows it as written; did you mean a note `## What pumps blood?` with the lines after `?` below it?",
                "a note is a `## ` heading, the card's front, and the text below it, its back: start a note for each card (`type: reversed` under the heading for a card each way)",
            ),
            (
                "warning",
                "foreign-card",
                7,
                1,
                6,
                "`START` is the start of a card of the Obsidian_to_Anki plugin, which ankideck does not read: the card shows it as written; did you mean a note `## Capital of France` with `Paris` below it?",
                "a note is a `## ` heading, the card's front, and the text below it, its back: start a note for each card (`type: reversed` under the heading for a card each way)",
            ),
        ],
    ),
    (
        "## Q\n\n[[a]][[b]]\n",
        &[],
        &[
            (
                "warning",
                "foreign-markup",
                3,
                1,
                6,
                "`[[a]]` is an Obsidian wikilink, which this Markdown does not have: the card shows it as written; did you mean `a`?",
                "write the HTML the message shows: Anki shows `<mark>`, `<sub>` and `<sup>`, and hides `<!-- … -->`; to keep the characters as text, escape the first one with `\\`",
            ),
            (
                "warning",
                "foreign-markup",
                3,
                6,
                11,
                "`[[b]]` is an Obsidian wikilink, which this Markdown does not have: the card shows it as written; did you mean `b`?",
                "write the HTML the message shows: Anki shows `<mark>`, `<sub>` and `<sup>`, and hides `<!-- … -->`; to keep the characters as text, escape the first one with `\\`",
            ),
        ],
    ),
    // Not other tools' markup: a C directive, `::` in C++ and a deck's name, `^` in a URL.
    (
        "## How is a header included? #include\n\nUse std::vector or `a :: b`; the deck French::Verbs.\n\n[plot](https://example.com/a^2^b) www.example.com/x^2^\n\n## {{c1::Paris::capital}} is in France\ntype: cloze\ndeck: Geo :: Europe\n",
        &[],
        &[],
    ),
    // Written right, nothing to say.
    (
        "## 已知 \\(a_1*b_1\\) 和 \\[c_1*d_1\\]\n\n{c1: 2} ![cat](<img/my cat.png>) [sound:audio/ni.mp3]\n",
        &["img/my cat.png", "audio/ni.mp3"],
        &[],
    ),
];

#[test]
fn slips_are_reported_where_they_are_with_the_correction() {
    for &(file, media, expected) in CASES {
        let dir = temp_dir("hurried-case");
        write_files(&dir, &[("a.md", file)]);
        let media: Vec<(&str, &str)> = media.iter().map(|m| (*m, "bytes")).collect();
        write_files(&dir, &media);
        let out = ankideck(&["check", path_str(&dir), "--format", "json"]);
        let found: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        assert_eq!(found.len(), expected.len(), "{file:?}: {found:#?}");
        for (d, e) in found.iter().zip(expected) {
            let got = (
                d["severity"].as_str().unwrap(),
                d["code"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["end_column"].as_u64().unwrap(),
            );
            assert_eq!(got, (e.0, e.1, e.2, e.3, e.4), "{file:?}: {d}");
            assert_eq!(d["message"], e.5, "{file:?}");
            assert_eq!(d["hint"], e.6, "{file:?}");
            assert_eq!(d["file"], dir.join("a.md").to_str().unwrap());
        }
        assert_eq!(out.status.code(), Some(0), "{file:?}");
    }
}

/// The corrections are what they say: built as the help writes them, nothing is
/// reported.
#[test]
fn the_corrections_build_clean() {
    let dir = temp_dir("hurried-corrected");
    write_files(
        &dir,
        &[
            ("a.md", "## {{c1::Berlin}} is in Germany.\n\n## 说 [sound:audio/ni.mp3]\n\nA\n\n## Q\n\n![cat](<img/my cat.png>)\n\n| Drug | Dose |\n|---|---|\n| `a\\|b` | 5 mg |\n\n## Q2\nThe answer\n\n---\n\nMore.\n"),
            ("audio/ni.mp3", "bytes"),
            ("img/my cat.png", "bytes"),
        ],
    );
    let out = ankideck(&["check", path_str(&dir), "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_success(&out);
}

/// Anki stores the math as written and shows it to MathJax; it shows each miswritten
/// opener as written, hiding only the deletion written right.
#[test]
fn anki_reads_the_fields_as_the_warnings_say() {
    let dir = temp_dir("hurried-anki");
    let src = dir.join("src");
    write_files(
        &src,
        &[(
            "a.md",
            "## 已知 \\(a_1*b_1\\) 和 \\[c_1*d_1\\]\n\n\\[\n\\sum_{i=1}^n a_i*b_i\n\\]\n",
        )],
    );
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let math = note(&report, "已知");
    assert_eq!(first_field(math), "已知 \\(a_1*b_1\\) 和 \\[c_1*d_1\\]");
    assert_eq!(
        math["fields"]["Back"],
        "<p>\\[\n\\sum_{i=1}^n a_i*b_i\n\\]</p>"
    );
    let question = text(card(&report, "已知", 0), "question");
    assert!(question.contains("\\(a_1*b_1\\)"), "{question}");

    // Written through the library, which leaves these checks to the card files.
    let typos = "{{c1::a}} {{C1::b}} {{ c1::c }} {{c1：：d}} {c1::e}} {{c1:f}}";
    let mut package = Package::new(1_700_000_000);
    let cloze = Stock::Cloze.notetype();
    package.add_note(Note::new(&cloze, [typos, ""])).unwrap();
    let path = dir.join("typos.apkg");
    package.write(&path).unwrap();
    let report = import(Backend::Current, &dir.join("typos"), &path);
    assert_eq!(notes(&report)[0]["cards"].as_array().unwrap().len(), 1);
    let question = text(card(&report, "{{c1::a}}", 0), "question_text");
    assert!(question.contains("[...]"), "{question}");
    for typo in [
        "{{C1::b}}",
        "{{ c1::c }}",
        "{{c1：：d}}",
        "{c1::e}}",
        "{{c1:f}}",
    ] {
        assert!(question.contains(typo), "{typo}: {question}");
    }
}

/// Anki shows what the Markdown warnings say: a table row without its extra cell, an
/// underlined line as a heading, an Obsidian embed as text and no picture, Obsidian's
/// highlight and comment as written.
#[test]
fn anki_shows_the_markdown_slips_as_the_warnings_say() {
    let dir = temp_dir("hurried-slips");
    let src = dir.join("src");
    let file = "## Drugs\n| Drug | Dose |\n|---|---|\n| `a|b` | 5 mg |\n\n## Q2\nThe answer\n---\n\n![[heart.png]] ==key== %% mine %%\n";
    write_files(&src, &[("a.md", file), ("heart.png", "bytes")]);
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let table = text(card(&report, "Drugs", 0), "answer");
    assert!(table.contains("<td>`a</td><td>b`</td>"), "{table}");
    assert!(!table.contains("5 mg"), "{table}");
    let answer = text(card(&report, "Q2", 0), "answer");
    assert!(answer.contains("<h2>The answer</h2>"), "{answer}");
    assert!(
        answer.contains("![[heart.png]]") && !answer.contains("<img"),
        "{answer}"
    );
}

/// Anki shows other flashcard tools' cards as written (Logseq's cloze hides nothing,
/// where the `{{c1::…}}` the warning gives does), and reads the `tags:` line the
/// `inline-tags` warning gives for `#anatomy/heart` as its hierarchy `anatomy::heart`.
#[test]
fn anki_shows_other_tools_cards_as_written() {
    let dir = temp_dir("hurried-cards");
    let src = dir.join("src");
    let file = "## Facts\ntags: cardio anatomy::heart\n\nWhat is 2+2?::4\n\nWhat pumps blood?\n?\nThe heart.\n\n## The {{cloze Rhine}} flows {{c1::north}}.\ntype: cloze\n\n## The {{c1::Rhine}} flows south.\ntype: cloze\n";
    write_files(&src, &[("a.md", file)]);
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let facts = text(card(&report, "Facts", 0), "answer");
    assert!(facts.contains("What is 2+2?::4"), "{facts}");
    assert!(
        facts.contains("What pumps blood?\n?\nThe heart."),
        "{facts}"
    );
    let tags = note(&report, "Facts")["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t == "anatomy::heart"), "{tags:?}");
    let logseq = text(card(&report, "The {{cloze", 0), "question");
    assert!(logseq.contains("{{cloze Rhine}}"), "{logseq}");
    let anki = text(card(&report, "The {{c1::Rhine", 0), "question_text");
    assert!(
        anki.contains(">[...]</span> flows south") && !anki.contains(">Rhine"),
        "{anki}"
    );
}

/// A field with `\(…\)` unpacks to sources that build the same field: from a deck
/// ankideck built (byte for byte, lock included) and from fields Anki's editor wrote,
/// as do fields with miswritten cloze openers.
#[test]
fn math_in_anki_delimiters_unpacks_and_rebuilds_the_same() {
    let dir = temp_dir("hurried-unpack");
    let src = dir.join("src");
    write_files(
        &src,
        &[(
            "a.md",
            "## 已知 \\(a_1*b_1\\) 和 \\[c_1*d_1\\]\n\n\\( a < b \\) and $x$\n\n\\[\ny = 1\n\\]\n",
        )],
    );
    let original = dir.join("deck.apkg");
    assert_success(&build(&src, &original));
    assert_success(&ankideck_in(&dir, &["unpack", "deck.apkg"]));
    let unpacked: String = walkdir::WalkDir::new(dir.join("deck"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(unpacked.contains("\\( a < b \\) and $x$"), "{unpacked}");
    let rebuilt = dir.join("rebuilt.apkg");
    let sources = dir.join("deck");
    let args = [
        "build",
        path_str(&sources),
        "-o",
        path_str(&rebuilt),
        "--locked",
    ];
    assert_success(&ankideck(&args));
    assert!(std::fs::read(&original).unwrap() == std::fs::read(&rebuilt).unwrap());

    // Fields as Anki's editor writes them; braces Anki shows as written are kept as
    // they are, without a warning.
    let all = [
        ["\\(x\\) and \\( y \\)", "<b>z</b> \\[w\\] \\(a_1*b_1\\)"],
        ["{{C1::x}} and {c1::y}}", "{{ c1::z }}"],
    ];
    let mut package = Package::new(1_700_000_000);
    let basic = Stock::Basic.notetype();
    for fields in all {
        package.add_note(Note::new(&basic, fields)).unwrap();
    }
    package.write(dir.join("anki.apkg")).unwrap();
    assert_success(&ankideck_in(&dir, &["unpack", "anki.apkg"]));
    let checked = ankideck(&["check", path_str(&dir.join("anki")), "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&checked.stdout), "");
    let again = dir.join("again.apkg");
    assert_success(&build(&dir.join("anki"), &again));
    let report = import(Backend::Current, &dir.join("collection"), &again);
    for fields in all {
        let note = note(&report, fields[0]);
        assert_eq!(first_field(note), fields[0]);
        assert_eq!(note["fields"]["Back"], fields[1]);
    }
}
