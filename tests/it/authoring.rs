//! What the author wrote reaches Anki as written (issue 12): dollars in URLs and paths,
//! every independent problem in one `check`, block content on a Basic front.

use crate::common;

use common::anki::{card, import, text};
use common::files::{temp_dir, write_files};
use common::run::{ankideck, assert_success, build};
use common::Backend;
use serde_json::Value;

/// A `$` in a link destination, an autolink, an image path or an HTML attribute is not
/// math: Anki renders the URL or the packaged file name as written.
#[test]
fn dollars_in_urls_paths_and_attributes_reach_anki_as_written() {
    let dir = temp_dir("dollar-urls");
    let src = dir.join("cards");
    write_files(
        &src,
        &[
            (
                "a.md",
                "## Which query is this?\n\
                 [q](https://example.org/P?$filter=x&$top=2) and \
                 <https://example.org/?$a=1&$b=2>, worth $x$\n\n\
                 ![c](p$1$.png) <img src=\"p$1$.png\" title=\"$t$\">\n\n\
                 <a href=\"https://e.org/?$k=1&$v=2\">raw</a> [sound:s$2$.mp3]\n"
                    .as_bytes(),
            ),
            ("p$1$.png", b"\x89PNG picture"),
            ("s$2$.mp3", b"ID3 sound"),
        ],
    );
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let answer = text(card(&report, "Which query", 0), "answer");
    for expected in [
        r#"<a href="https://example.org/P?$filter=x&amp;$top=2">q</a>"#,
        r#"<a href="https://example.org/?$a=1&amp;$b=2">"#,
        r#"<a href="https://e.org/?$k=1&$v=2">raw</a>"#,
        r#"title="$t$""#,
        r"worth \(x\)",
    ] {
        assert!(answer.contains(expected), "{expected} in {answer}");
    }
    let sources: Vec<&str> = answer.split("src=\"").skip(1).collect();
    assert_eq!(sources.len(), 2, "{answer}");
    for source in sources {
        assert!(source.starts_with("p$1$-"), "{answer}");
    }
    let media = report["media_files"].as_array().unwrap();
    for packaged in ["p$1$-", "s$2$-"] {
        let found = media
            .iter()
            .any(|m| m.as_str().unwrap().starts_with(packaged));
        assert!(found, "{packaged} in {media:?}");
    }
}

/// One case of problems that used to hide or cause each other: the files, and every
/// diagnostic `check` must give, as (code, file, line, column, message), where `{src}`
/// stands for the source folder.
struct Independent {
    name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    expected: &'static [(&'static str, &'static str, u64, u64, &'static str)],
}

/// A taken `id: x` / `id: y`, reported at its `id:` line.
const SAME_ID: &str = "is already the identity of the note at {src}/a.md";

const INDEPENDENT: &[Independent] = &[
    Independent {
        name: "a missing image does not hide a duplicate id",
        files: &[(
            "a.md",
            b"## One\nid: x\n\n![p](none.png)\n\n## Two\nid: x\n\nB\n",
        )],
        expected: &[
            ("missing-media", "a.md", 4, 6, "media file `none.png` not found (looked for {src}/none.png)"),
            ("duplicate-note", "a.md", 7, 1, "id `x` {SAME_ID}:1"),
        ],
    },
    Independent {
        name: "an unknown type still checks media, and causes no unused-media warning",
        files: &[
            ("a.md", b"## Q\ntype: reversd\n\n![p](pic.png) ![m](gone.png)\n"),
            ("pic.png", b"png"),
        ],
        expected: &[
            ("unknown-note-type", "a.md", 2, 7, "unknown note type `reversd`; did you mean `reversed`?"),
            ("missing-media", "a.md", 4, 20, "media file `gone.png` not found (looked for {src}/gone.png)"),
        ],
    },
    Independent {
        name: "an unknown format hides neither media nor a duplicate",
        files: &[(
            "a.md",
            b"## Q\nid: y\nformat: htm\n\n![q](gone.png)\n\n## R\nid: y\n\nA\n",
        )],
        expected: &[
            ("unknown-format", "a.md", 3, 9, "unknown format `htm`"),
            ("missing-media", "a.md", 5, 6, "media file `gone.png` not found (looked for {src}/gone.png)"),
            ("duplicate-note", "a.md", 8, 1, "id `y` {SAME_ID}:1"),
        ],
    },
    Independent {
        name: "bad front matter values still let the notes be checked",
        files: &[
            (
                "a.md",
                b"---\ntype: flashcard\ndeck: \"A::::B\"\n---\n\n## Q\n![p](pic.png)\n\n## {{c1::cl}}\n![m](gone.png)\n",
            ),
            ("pic.png", b"png"),
        ],
        expected: &[
            ("unknown-note-type", "a.md", 2, 7, "unknown note type `flashcard`"),
            ("name", "a.md", 3, 1, "deck name `A::::B` has an empty level (check for a leading, trailing or doubled `::`)"),
            ("missing-media", "a.md", 10, 6, "media file `gone.png` not found (looked for {src}/gone.png)"),
        ],
    },
    Independent {
        name: "every media problem of a field is reported",
        files: &[(
            "a.md",
            b"## Q ![h](h.png)\n![x](one.png) and ![y](two.png)\n\n![x](one.png)\n<img src=\"three.png\">\n",
        )],
        expected: &[
            ("missing-media", "a.md", 1, 11, "media file `h.png` not found (looked for {src}/h.png)"),
            ("missing-media", "a.md", 2, 6, "media file `one.png` not found (looked for {src}/one.png)"),
            ("missing-media", "a.md", 2, 24, "media file `two.png` not found (looked for {src}/two.png)"),
            ("missing-media", "a.md", 5, 11, "media file `three.png` not found (looked for {src}/three.png)"),
        ],
    },
    Independent {
        name: "an empty heading's media counts as used",
        files: &[("a.md", b"##\n![p](pic.png)\n\n## R\nA\n"), ("pic.png", b"png")],
        expected: &[("empty-heading", "a.md", 1, 1, "the heading is empty")],
    },
    Independent {
        name: "a file that cannot be read as UTF-8 gives no unused-media warning",
        files: &[
            ("a.md", b"## Q\n![p](pic.png) \xff\n"),
            ("b.md", b"## Other\nA\n"),
            ("pic.png", b"png"),
        ],
        expected: &[("invalid-utf8", "a.md", 2, 15, "file is not valid UTF-8 (first bad byte at offset 19: 0xFF, which is `ÿ` in Windows-1252, the encoding of Excel's “CSV” and Notepad's “ANSI”)")],
    },
    Independent {
        name: "unclosed front matter gives no unused-media warning",
        files: &[
            ("a.md", b"---\ndeck: x\n## Q\n![p](pic.png)\n"),
            ("b.md", b"## Other\nA\n"),
            ("pic.png", b"png"),
        ],
        expected: &[("unclosed-front-matter", "a.md", 1, 1, "front matter starts with `---` but is never closed")],
    },
    Independent {
        name: "a text file row with a missing image still claims its identity",
        files: &[(
            "a.csv",
            // Rows with the same first field are two notes; a guid given twice is one.
            b"#separator:comma\n#guid column:3\nQ,<img src=\"none.png\"> [sound:b.mp3],g1\nR,A,g1\n",
        )],
        expected: &[
            ("missing-media", "a.csv", 3, 13, "media file `none.png` not found (looked for {src}/none.png)"),
            ("missing-media", "a.csv", 3, 31, "media file `b.mp3` not found (looked for {src}/b.mp3)"),
            ("duplicate-note", "a.csv", 4, 1, "this note has the same identity as the note at {src}/a.csv:3"),
        ],
    },
];

/// `check` reports every independent problem in one run: an error in one note hides no
/// problem of another, and causes no false one.
#[test]
fn one_problem_neither_hides_nor_causes_another() {
    for case in INDEPENDENT {
        let src = temp_dir("independent").join("src");
        write_files(&src, case.files);
        let out = ankideck(&["check", src.to_str().unwrap(), "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        let found: Vec<(String, String, u64, u64, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let d: Value = serde_json::from_str(l).unwrap();
                let file = d["file"].as_str().unwrap().to_string();
                (
                    d["code"].as_str().unwrap().to_string(),
                    file,
                    d["line"].as_u64().unwrap(),
                    d["column"].as_u64().unwrap(),
                    d["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let src_text = src.display().to_string();
        let expected: Vec<(String, String, u64, u64, String)> = (case.expected.iter())
            .map(|&(code, file, line, column, message)| {
                let message = message.replace("{SAME_ID}", SAME_ID);
                (
                    code.to_string(),
                    src.join(file).display().to_string(),
                    line,
                    column,
                    message.replace("{src}", &src_text),
                )
            })
            .collect();
        assert_eq!(found, expected, "{}", case.name);
    }
}

/// A `### Front` (or `### Text`) section puts blocks on the front below the heading,
/// which stays the note's identity: Anki renders the heading, then the blocks.
#[test]
fn blocks_below_the_heading_reach_the_front() {
    let dir = temp_dir("front-blocks");
    let src = dir.join("cards");
    let note = "## What does this print?\n### Front\n```python\nprint(sum(range(4)))\n```\n\n\
                - one\n- two\n\n![cell](cell.png)\n\n### Back\nSix.\n\n\
                ## Which parts?\ntype: reversed\n### Front\n- leaf\n- root\n### Back\nPlants.\n\n\
                ## Complete:\ntype: cloze\n### Text\n```\nreturn {{c1::math.pi}} * r ** {{c2::2}}\n```\n";
    write_files(&src, &[("a.md", note.as_bytes()), ("cell.png", b"png")]);
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);

    let front = text(card(&report, "What does this print?", 0), "question");
    let heading = front.find("What does this print?").expect("the heading");
    let code = front.find("<pre").expect("the code block");
    let list = front.find("<li>one</li>").expect("the list");
    let picture = front.find("<img src=\"cell-").expect("the picture");
    assert!(heading < code && code < list && list < picture, "{front}");
    assert!(!front.contains("Six."), "{front}");
    let answer = text(card(&report, "What does this print?", 0), "answer");
    assert!(
        answer.contains("<li>two</li>") && answer.ends_with("<p>Six.</p>"),
        "{answer}"
    );
    // The identity is the heading's alone.
    let guid = note_guid(&report, "What does this print?");
    assert_eq!(
        guid,
        ankideck::ids::guid_for_heading("What does this print?")
    );

    let reverse = card(&report, "Which parts?", 1);
    assert!(text(reverse, "question").contains("Plants."));
    let shown = text(reverse, "answer");
    assert!(
        shown.contains("Which parts?") && shown.contains("<li>root</li>"),
        "{shown}"
    );

    for (ord, hidden, shown) in [(0, "math.pi", "2"), (1, "2", "math.pi")] {
        let question = text(card(&report, "Complete:", ord), "question");
        assert!(question.contains("<code>return "), "{question}");
        assert!(
            question.contains("<pre style=\"background-color:#1f232b;"),
            "{question}"
        );
        assert!(
            question.contains("[...]") && question.contains(shown),
            "{question}"
        );
        assert!(!question.contains(&format!(">{hidden}<")), "{question}");
    }
}

fn note_guid<'a>(report: &'a Value, prefix: &str) -> &'a str {
    common::anki::note(report, prefix)["guid"].as_str().unwrap()
}
