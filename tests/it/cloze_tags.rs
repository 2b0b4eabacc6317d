//! Issue 12, items 1–3: a tag list reads the same in front matter and under a heading, and
//! cloze deletions Anki would not show as written (never closed, one colon, off the
//! card's front) are reported at their `{{`. Each claim a problem makes about Anki is
//! checked against the real Anki.

use crate::common;

use ankideck::{Note, Package, Stock};
use common::anki::{card, import, note, notes, text};
use common::files::{temp_dir, write_files};
use common::run::{ankideck, assert_success, build};
use common::Backend;
use serde_json::Value;

/// One diagnostic, exactly: severity, code, line, column, end column and message.
type Expected = (&'static str, &'static str, u64, u64, u64, &'static str);

const BAD_TAG: &str =
    "tag `machine learning` is not allowed: tags are single words without control characters or empty `::` levels";
const UNCLOSED_C1: &str =
    "unclosed cloze deletion: `{{c1::` has no `}}`, so Anki would drop it and the text after it";
const UNCLOSED_C2: &str =
    "unclosed cloze deletion: `{{c2::` has no `}}`, so Anki would drop it and the text after it";
const ONE_COLON: &str =
    "`{{c1:` is not a cloze deletion (it has one colon after the number); Anki shows it as written";
const AS_WRITTEN: &str = "cloze deletion in field `Back Extra`, which the card shows as written: Anki would show its `{{c…::` and `}}`";

/// A card file `a.md` and every diagnostic `check` must give for it, in order.
const CASES: &[(&str, &[Expected])] = &[
    // Item 1: a list under a heading is read as in front matter, quotes and all.
    (
        "## Q\ntags: [ml, \"machine learning\"]\n\nA\n",
        &[("error", "name", 2, 13, 29, BAD_TAG)],
    ),
    (
        "---\ntags: [ml, machine learning]\n---\n## Q\n\nA\n",
        &[("error", "name", 2, 12, 28, BAD_TAG)],
    ),
    ("## Q\ntags: [verb, irregular]\n\nA\n", &[]),
    ("---\ntags: verb, irregular\n---\n## Q\ntags: a,b\n\nA\n", &[]),
    // Item 2: never closed, at the `{{` (of the second opener on the line where the
    // first one closes), in the heading, the body or a section, in any note type.
    (
        "## {{c1::Paris}} is the capital of {{c2::France\n",
        &[("error", "unclosed-cloze", 1, 36, 42, UNCLOSED_C2)],
    ),
    (
        "## {{c1::x\n",
        &[("error", "unclosed-cloze", 1, 4, 10, UNCLOSED_C1)],
    ),
    (
        "## {{c1::a}} é {{c1::b\n",
        &[("error", "unclosed-cloze", 1, 16, 22, UNCLOSED_C1)],
    ),
    (
        "## Q\n\nsee\n  {{c1::x\n",
        &[("error", "unclosed-cloze", 4, 3, 9, UNCLOSED_C1)],
    ),
    (
        "## {{c1::a}}\n\n### Back Extra\nmore {{c2::b\n",
        &[("error", "unclosed-cloze", 4, 6, 12, UNCLOSED_C2)],
    ),
    // The `}}` in code is stored so that Anki's parser does not see it.
    (
        "## Code {{c1::x `}}` here\n",
        &[("error", "unclosed-cloze", 1, 9, 15, UNCLOSED_C1)],
    ),
    (
        "## {{c1:Germany}} borders France.\n\nA\n",
        &[("warning", "single-colon-cloze", 1, 4, 9, ONE_COLON)],
    ),
    // Item 3: deletions off the card's front.
    (
        "## Capitals\ntype: cloze\n\n{{c1::Paris}} is the capital of France.\n",
        &[(
            "error",
            "cloze-not-on-front",
            4,
            1,
            7,
            "cloze deletion c1 is only in field `Back Extra`, which the card's front does not show: Anki would make card 1 with an empty front",
        )],
    ),
    (
        "## {{c1::Paris}} is in France.\n\n{{c1::Nice}} and {{c2::Lyon}} too.\n",
        &[(
            "error",
            "cloze-not-on-front",
            3,
            18,
            24,
            "cloze deletion c2 is only in field `Back Extra`, which the card's front does not show: Anki would make card 2 with an empty front",
        )],
    ),
    (
        "## {{c1::Paris}} is the capital of France.\n\nNot {{c1::Lyon}}.\n",
        &[("warning", "cloze-shown-as-written", 3, 5, 11, AS_WRITTEN)],
    ),
];

#[test]
fn problems_are_reported_exactly_where_they_are() {
    for &(file, expected) in CASES {
        let dir = temp_dir("cloze-tags-case");
        write_files(&dir, &[("a.md", file)]);
        let out = ankideck(&["check", dir.to_str().unwrap(), "--format", "json"]);
        let found: Vec<Expected> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|d| {
                assert_eq!(d["file"], dir.join("a.md").to_str().unwrap(), "{file:?}");
                assert!(d["hint"].as_str().is_some_and(|h| !h.is_empty()), "{d}");
                let s = |k: &str| -> &'static str { d[k].as_str().unwrap().to_string().leak() };
                let n = |k: &str| d[k].as_u64().unwrap();
                let (line, column, end) = (n("line"), n("column"), n("end_column"));
                (s("severity"), s("code"), line, column, end, s("message"))
            })
            .collect();
        assert_eq!(found, expected, "{file:?}");
        let errors = expected.iter().any(|e| e.0 == "error");
        assert_eq!(out.status.code(), Some(i32::from(errors)), "{file:?}");
    }
}

/// The deck whose notes Anki is asked about: tags spelled every way, and the notes the
/// cloze warnings are about.
const DECK: &[(&str, &str)] = &[
    (
        "front-list.md",
        "---\ntags: [verb, irregular]\n---\n## gehen\ntags: [motion, a1]\n\nto go\n",
    ),
    (
        "front-commas.md",
        "---\ntags: verb, irregular\n---\n## kommen\ntags: motion,a1\n\nto come\n\n## laufen\ntags: motion a1\n\nto run\n",
    ),
    (
        "clozes.md",
        "## {{c1::Paris}} is the capital of {{c2::France}}.\n\n## {{c1:Germany}} borders France.\n\nYes.\n\n## {{c1::Madrid}} is the capital of Spain.\n\nNot {{c1::Barcelona}}.\n",
    ),
];

#[test]
fn anki_gets_the_tags_as_written_and_shows_what_the_warnings_say() {
    let dir = temp_dir("cloze-tags-anki");
    let src = dir.join("src");
    write_files(&src, DECK);
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    assert_eq!(notes(&report).len(), 6);
    for (heading, tags) in [
        ("gehen", ["a1", "irregular", "motion", "verb"]),
        ("kommen", ["a1", "irregular", "motion", "verb"]),
        ("laufen", ["a1", "irregular", "motion", "verb"]),
    ] {
        let mut got: Vec<&str> = note(&report, heading)["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, tags, "{heading}");
    }
    // Closed, France is hidden on card 2 and shown on its back.
    let france = card(&report, "{{c1::Paris}}", 1);
    assert!(text(france, "question").contains("[...]"), "{france}");
    assert!(text(france, "answer_text").contains("France"), "{france}");
    // The warnings: one colon is shown as written, and so is a deletion in Back Extra.
    let germany = card(&report, "{{c1:Germany}}", 0);
    assert!(text(germany, "question_text").contains("{{c1:Germany}}"));
    let madrid = card(&report, "{{c1::Madrid}}", 0);
    assert!(
        text(madrid, "answer").contains("{{c1::Barcelona}}"),
        "{madrid}"
    );
}

#[test]
fn anki_misbehaves_as_the_cloze_errors_say() {
    // What the notes the errors refuse would be, written through the library, which
    // leaves these checks to the card files.
    let dir = temp_dir("cloze-errors-anki");
    let cloze = Stock::Cloze.notetype();
    let mut package = Package::new(1_700_000_000);
    for fields in [
        ["{{c1::Paris}} is the capital of {{c2::France", ""],
        ["Capitals", "<p>{{c1::Rome}} is the capital of Italy.</p>"],
    ] {
        package.add_note(Note::new(&cloze, fields)).unwrap();
    }
    let path = dir.join("errors.apkg");
    package.write(&path).unwrap();
    let report = import(Backend::Current, &dir.join("collection"), &path);
    // Never closed: "France" is on neither side of any card.
    let paris = note(&report, "{{c1::Paris}}");
    for c in paris["cards"].as_array().unwrap() {
        let (q, a) = (text(c, "question_text"), text(c, "answer_text"));
        assert!(!q.contains("France") && !a.contains("France"), "{c}");
    }
    // Only in Back Extra: the card's front is empty, its back shows the braces.
    let rome = card(&report, "Capitals", 0);
    assert_eq!(text(rome, "question_text").trim(), "", "{rome}");
    assert!(text(rome, "answer").contains("{{c1::Rome}}"), "{rome}");
}
