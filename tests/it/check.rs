//! `ankideck check`: one case per error and warning, with the place it is reported at;
//! plus robustness against odd input (BOM, CRLF, control characters, link loops).

use crate::common;

use common::files::{temp_dir, write_files};
use common::run::{ankideck, assert_success, build};
use common::workspace;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs `check --format json` and returns the exit code and the diagnostics.
pub(crate) fn check(src: &Path, extra: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut args = vec!["check", src.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let out = ankideck(&args);
    let diagnostics = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (out.status.code(), diagnostics)
}

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    severity: &'static str,
    code: &'static str,
    /// File, line and column the diagnostic must point at.
    place: (&'static str, usize, usize),
    fragment: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "malformed front matter",
        files: &[("a.md", b"---\ndeck: [a\n---\n## Q\n\nA\n")],
        severity: "error",
        code: "front-matter",
        // At the `[` left open, not at the closing `---` where the parser stopped.
        place: ("a.md", 2, 7),
        fragment: "front matter is not valid",
    },
    Case {
        name: "unknown front matter key",
        files: &[("a.md", b"---\ndek: a\n---\n## Q\n\nA\n")],
        severity: "error",
        code: "front-matter",
        place: ("a.md", 2, 1),
        fragment: "unknown key `dek`; did you mean `deck`?",
    },
    Case {
        name: "unclosed front matter",
        files: &[("a.md", b"---\ndeck: a\n## Q\n")],
        severity: "error",
        code: "unclosed-front-matter",
        place: ("a.md", 1, 1),
        fragment: "never closed",
    },
    Case {
        name: "unknown note type",
        files: &[("a.md", b"## Q\ntype: flashcard\n\nA\n")],
        severity: "error",
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        fragment: "unknown note type `flashcard`",
    },
    Case {
        name: "unknown note type in front matter",
        files: &[("a.md", b"---\ntype: nope\n---\n## Q\n\nA\n")],
        severity: "error",
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        fragment: "`nope`",
    },
    Case {
        name: "unknown field",
        files: &[("a.md", b"## Q\n\nA\n\n### Extra\nx\n")],
        severity: "error",
        code: "unknown-field",
        place: ("a.md", 5, 5),
        fragment: "has no field `Extra`",
    },
    Case {
        name: "duplicate field",
        files: &[("a.md", b"## Q\n\nA\n\n### Back\nx\n")],
        severity: "error",
        code: "duplicate-field",
        place: ("a.md", 5, 5),
        fragment: "given twice",
    },
    Case {
        name: "duplicate ids",
        files: &[("a.md", b"## Q1\nid: x\n\nA\n\n## Q2\nid: x\n\nB\n")],
        severity: "error",
        code: "duplicate-note",
        place: ("a.md", 7, 1),
        fragment: "id `x` is already the identity of the note at",
    },
    Case {
        name: "duplicate ids across files",
        files: &[
            ("a.md", b"## Q1\nid: x\n\nA\n"),
            ("b.md", b"## Q2\nid: x\n\nB\n"),
        ],
        severity: "error",
        code: "duplicate-note",
        place: ("b.md", 2, 1),
        fragment: "a.md:1",
    },
    Case {
        name: "empty id",
        files: &[("a.md", b"## Q\nid:\n\nA\n")],
        severity: "error",
        code: "empty-id",
        place: ("a.md", 2, 1),
        fragment: "`id:` is empty",
    },
    Case {
        name: "a guid taken",
        files: &[
            ("a.md", b"## Q1\nguid: ab#c\n\nA\n"),
            ("b.md", b"## Q2\ntags: x\nguid: ab#c\n\nB\n"),
        ],
        severity: "error",
        code: "duplicate-note",
        place: ("b.md", 3, 1),
        fragment: "guid `ab#c` is already the identity of the note at",
    },
    Case {
        name: "empty guid",
        files: &[("a.md", b"## Q\nguid:\n\nA\n")],
        severity: "error",
        code: "bad-guid",
        place: ("a.md", 2, 1),
        fragment: "`guid:` is empty or holds a tab",
    },
    Case {
        name: "id and guid",
        files: &[("a.md", b"## Q\nguid: x\nid: y\n\nA\n")],
        severity: "error",
        code: "id-and-guid",
        place: ("a.md", 2, 1),
        fragment: "either `id:` or `guid:`, not both",
    },
    Case {
        name: "card-deck without a deck",
        files: &[("a.md", b"## Q\ntype: reversed\ncard-deck: 2\n\nA\n")],
        severity: "error",
        code: "bad-card-deck",
        place: ("a.md", 3, 1),
        fragment: "takes a card number and a deck",
    },
    Case {
        name: "card-deck for a card the note does not have",
        files: &[("a.md", b"## Q\ntype: reversed\ncard-deck: 1 X\ncard-deck: 3 Y\n\nA\n")],
        severity: "error",
        code: "no-such-card",
        place: ("a.md", 4, 1),
        fragment: "card 3 is not a card of this note (its cards: 1, 2)",
    },
    Case {
        name: "card-deck with a bad deck name",
        files: &[("a.md", b"## Q\ntype: reversed\ncard-deck: 2 A::::B\n\nA\n")],
        severity: "error",
        code: "name",
        place: ("a.md", 3, 1),
        fragment: "has an empty level",
    },
    Case {
        name: "card-deck twice for one card",
        files: &[("a.md", b"## {{c1::Q}}\ncard-deck: 1 A\ncard-deck: 1 B\n")],
        severity: "error",
        code: "duplicate-setting",
        place: ("a.md", 3, 1),
        fragment: "setting `card-deck: 1` is given twice",
    },
    Case {
        name: "empty-cards without a number",
        files: &[("a.md", b"## Q\nempty-cards: two\n\nA\n")],
        severity: "error",
        code: "bad-empty-cards",
        place: ("a.md", 2, 1),
        fragment: "takes card numbers from 1 to 500",
    },
    Case {
        name: "empty-cards past the last cloze number",
        files: &[("a.md", b"## {{c1::Q}}\nempty-cards: 2 501\n")],
        severity: "error",
        code: "bad-empty-cards",
        place: ("a.md", 2, 1),
        fragment: "takes card numbers from 1 to 500",
    },
    Case {
        name: "empty-cards beyond the templates",
        files: &[("a.md", b"## Q\ntype: reversed\nempty-cards: 3\n\nA\n")],
        severity: "error",
        code: "card-setting",
        place: ("a.md", 3, 14),
        fragment: "card 3 cannot be kept: the note type has 2 card types",
    },
    Case {
        name: "skip-cards without a number",
        files: &[("a.md", b"## Q\nskip-cards: two\n\nA\n")],
        severity: "error",
        code: "bad-skip-cards",
        place: ("a.md", 2, 1),
        fragment: "`skip-cards:` takes card numbers from 1 to 500",
    },
    Case {
        name: "skip-cards beyond the templates",
        files: &[("a.md", b"## Q\ntype: reversed\nskip-cards: 1 3\n\nA\n")],
        severity: "error",
        code: "card-setting",
        place: ("a.md", 3, 15),
        fragment: "card 3 cannot be skipped: the note type has 2 card types",
    },
    Case {
        name: "a card both kept and skipped",
        files: &[(
            "a.md",
            b"## {{c1::a}} {{c12::b}}\nempty-cards: 2\nskip-cards: 12, 2\n",
        )],
        severity: "error",
        code: "card-setting",
        // At the `2` after `12`.
        place: ("a.md", 3, 17),
        fragment: "card 2 is both kept (`empty-cards:`) and skipped (`skip-cards:`)",
    },
    Case {
        name: "skip-cards skips every card",
        files: &[("a.md", b"## Q\ntype: reversed\nskip-cards: 1 2\n\nA\n")],
        severity: "error",
        code: "card-setting",
        place: ("a.md", 3, 1),
        fragment: "`skip-cards:` skips every card of the note (1, 2), but Anki has no note without cards",
    },
    Case {
        name: "no cards",
        files: &[("a.md", b"## <br>\n\nA\n")],
        severity: "error",
        code: "cards",
        place: ("a.md", 1, 1),
        fragment: "would have no cards",
    },
    Case {
        name: "cloze in a non-cloze type",
        files: &[("a.md", b"## Q\ntype: basic\n\nA {{c1::x}}\n")],
        severity: "error",
        code: "cloze-in-non-cloze",
        place: ("a.md", 4, 3),
        fragment: "not a cloze type",
    },
    Case {
        name: "cloze note without deletions",
        files: &[("a.md", b"## No deletion\ntype: cloze\n")],
        severity: "error",
        code: "cards",
        place: ("a.md", 1, 1),
        fragment: "at least one deletion",
    },
    Case {
        name: "missing media",
        files: &[("a.md", b"## Q\n\nline\n\nSee ![x](img/nope.png)\n")],
        severity: "error",
        code: "missing-media",
        place: ("a.md", 5, 10),
        fragment: "`img/nope.png` not found",
    },
    Case {
        name: "media outside the source folder",
        files: &[
            ("a.md", b"## Q\n\n![x](../secret.png)\n"),
            ("../secret.png", b"x"),
        ],
        severity: "error",
        code: "media-outside-source",
        place: ("a.md", 3, 6),
        fragment: "outside the source folder",
    },
    Case {
        name: "tag Anki rejects",
        files: &[("a.md", b"## Q\ntags: ok a::\n\nA\n")],
        severity: "error",
        code: "name",
        place: ("a.md", 2, 10),
        fragment: "tag `a::` is not allowed",
    },
    Case {
        name: "deck name Anki rejects",
        files: &[("a.md", b"## Q\ndeck: a::::b\n\nA\n")],
        severity: "error",
        code: "name",
        place: ("a.md", 2, 1),
        fragment: "empty level",
    },
    Case {
        name: "unknown format",
        files: &[("a.md", b"## Q\nformat: rst\n\nA\n")],
        severity: "error",
        code: "unknown-format",
        place: ("a.md", 2, 9),
        fragment: "unknown format `rst`",
    },
    Case {
        name: "duplicate setting",
        files: &[("a.md", b"## Q\nid: a\nid: b\n\nA\n")],
        severity: "error",
        code: "duplicate-setting",
        place: ("a.md", 3, 1),
        fragment: "given twice",
    },
    Case {
        name: "empty heading",
        files: &[("a.md", b"## Q\n\nA\n\n##\n")],
        severity: "error",
        code: "empty-heading",
        place: ("a.md", 5, 1),
        fragment: "heading is empty",
    },
    Case {
        name: "text outside notes",
        files: &[("a.md", b"Intro text\n\n## Q\n\nA\n")],
        severity: "error",
        code: "text-outside-note",
        place: ("a.md", 1, 1),
        fragment: "belongs to no note",
    },
    Case {
        name: "code before the first note",
        files: &[("a.md", b"```\ncode\n```\n## Q\n\nA\n")],
        severity: "error",
        code: "text-outside-note",
        place: ("a.md", 1, 1),
        fragment: "belongs to no note",
    },
    Case {
        name: "invalid UTF-8",
        files: &[("a.md", b"## Q\n\nA \xff\n")],
        severity: "error",
        code: "invalid-utf8",
        place: ("a.md", 3, 3),
        fragment: "offset 8",
    },
    Case {
        name: "NUL character",
        files: &[("a.md", b"## Q\n\nA\x00B\n")],
        severity: "error",
        code: "control-character",
        place: ("a.md", 3, 2),
        fragment: "U+0000",
    },
    Case {
        name: "escape character",
        files: &[("a.md", b"## Q\x1b[31m\n\nA\n")],
        severity: "error",
        code: "control-character",
        place: ("a.md", 1, 5),
        fragment: "U+001B",
    },
    Case {
        name: "C1 control character among Chinese text",
        files: &[("a.md", "## 问题\n\n答案\u{85}x\n".as_bytes())],
        severity: "error",
        code: "control-character",
        place: ("a.md", 3, 3),
        fragment: "U+0085",
    },
    Case {
        name: "delete character",
        files: &[("a.md", b"## Q\n\nA\x7f\n")],
        severity: "error",
        code: "control-character",
        place: ("a.md", 3, 2),
        fragment: "U+007F",
    },
    Case {
        name: "no notes at all",
        files: &[("a.md", b"# Just a title\n")],
        severity: "error",
        code: "no-notes",
        place: ("", 0, 0),
        fragment: "no notes found",
    },
    Case {
        name: "control character in a text file",
        files: &[("w.csv", b"#separator:comma\nchat,cat\nchien,d\x00og\n")],
        severity: "error",
        code: "control-character",
        place: ("w.csv", 3, 8),
        fragment: "U+0000",
    },
    Case {
        name: "invalid UTF-8 in a text file",
        files: &[("w.csv", b"#separator:comma\nchat,c\xffat\n")],
        severity: "error",
        code: "invalid-utf8",
        place: ("w.csv", 2, 7),
        fragment: "offset 23",
    },
    Case {
        name: "a text file in UTF-16",
        files: &[("w.txt", b"\xff\xfeq\0\ta\0\n\0")],
        severity: "error",
        code: "utf16",
        place: ("w.txt", 1, 1),
        fragment: "UTF-16",
    },
    Case {
        name: "a card file saved as .md.txt",
        files: &[("a.md", b"## Q\n\nA\n"), ("语法.md.txt", b"## Q2\n\nA2\n")],
        severity: "error",
        code: "card-file-saved-as-text",
        place: ("语法.md.txt", 0, 0),
        fragment: "name it `语法.md`",
    },
    // Warnings.
    Case {
        name: "unknown key under a heading",
        files: &[("a.md", b"## Q\nidd: x\n\nA\n")],
        severity: "warning",
        code: "unknown-setting",
        place: ("a.md", 2, 1),
        fragment: "unknown setting `idd`",
    },
    Case {
        name: "duplicate first field",
        files: &[("a.md", b"## Same\n\nA\n\n## Same\nid: other\n\nB\n")],
        severity: "warning",
        code: "duplicate-first-field",
        place: ("a.md", 5, 1),
        fragment: "duplicates the note at",
    },
    Case {
        name: "empty field the card shows",
        files: &[("a.md", b"## Question without an answer\n")],
        severity: "warning",
        code: "empty-field",
        place: ("a.md", 1, 1),
        fragment: "field `Back` is empty",
    },
    Case {
        name: "unbalanced HTML",
        files: &[("a.md", b"## Q\n\n<div>open\n")],
        severity: "warning",
        code: "unbalanced-html",
        place: ("a.md", 1, 1),
        fragment: "`<div>` is never closed",
    },
    Case {
        name: "a .csv file whose separator is guessed as a colon",
        files: &[("w.csv", b"chat,cat\nBonjour,Hello: a greeting\n")],
        severity: "warning",
        code: "rich-csv-separator-guess",
        place: ("w.csv", 2, 14),
        fragment: "`:` here, though a `.csv` file is separated by commas",
    },
    Case {
        name: "a spreadsheet's header row in a text file",
        files: &[("w.csv", b"Front,Back\nchat,cat\n")],
        severity: "warning",
        code: "rich-csv-header-row",
        place: ("w.csv", 1, 1),
        fragment: "(Front, Back)",
    },
    Case {
        name: "unused media",
        files: &[("a.md", b"## Q\n\nA\n"), ("img/forgotten.png", b"png")],
        severity: "warning",
        code: "unused-media",
        place: ("img/forgotten.png", 0, 0),
        fragment: "not used by any note",
    },
    Case {
        name: "text file: the same first field twice makes two notes",
        files: &[("w.csv", b"#separator:comma\nchat,cat\nchien,dog\nchat,tomcat\n")],
        severity: "warning",
        code: "duplicate-first-field",
        place: ("w.csv", 4, 1),
        fragment: "the first field duplicates the note at",
    },
    Case {
        name: "text file: a row whose note has no card",
        files: &[("w.csv", b"#separator:comma\n#notetype:Cloze\nno deletion,x\n")],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.csv", 3, 1),
        fragment: "a cloze note needs at least one deletion such as `{{c1::answer}}`; Anki's importer makes the note with its first card, which shows nothing to learn, and so does the build",
    },
    Case {
        name: "text file: a separator Anki does not know",
        files: &[("w.csv", b"#separator:slash\na,b\n")],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.csv", 1, 1),
        fragment: "unknown separator `slash` (use tab, pipe, semicolon, colon, comma, space or the character itself); Anki ignores the line and guesses the separator from the rows",
    },
    Case {
        name: "text file: a column number Anki does not read",
        files: &[("w.csv", b"#separator:comma\n#guid column:0\na,b\n")],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.csv", 2, 1),
        fragment: "`#guid column:` takes a column number (1 is the first), not `0`; Anki ignores the line",
    },
    Case {
        name: "text file: an empty first field",
        files: &[("w.tsv", b"#separator:tab\nok\tfine\n\tno front\n")],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.tsv", 3, 1),
        fragment: "the first field is empty: Anki skips the row, and so does the build",
    },
    Case {
        name: "text file: values in a column no field takes",
        files: &[(
            "w.csv",
            b"#separator:comma\n#notetype:Basic\nchat,cat\nmouse,souris,extra\na,b,\nc,d,x\ne,f,y\ng,h,z\n",
        )],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.csv", 4, 1),
        fragment: "column 3 has values that no field takes (the rows at lines 4, 6, 7, 1 more): Anki drops them, and so does the build",
    },
    Case {
        name: "text file: more values than a note type column's type has fields",
        files: &[("w.csv", b"#separator:comma\n#notetype column:1\nBasic,a,b,c\n")],
        severity: "warning",
        code: "rich-csv-ignored",
        place: ("w.csv", 3, 1),
        fragment: "column 4 has values that no field takes (the row at line 3): Anki drops them",
    },
];

#[test]
fn every_problem_is_reported_where_it_is() {
    for case in CASES {
        let dir = temp_dir("check-case");
        let src = dir.join("src");
        write_files(&src, case.files);
        let (code, diagnostics) = check(&src, &[]);
        let expected_exit = if case.severity == "error" { 1 } else { 0 };
        assert_eq!(code, Some(expected_exit), "{}: {diagnostics:?}", case.name);
        let found = diagnostics
            .iter()
            .find(|d| d["code"] == case.code)
            .unwrap_or_else(|| {
                panic!("{}: no `{}` in {diagnostics:#?}", case.name, case.code);
            });
        assert_eq!(found["severity"], case.severity, "{}", case.name);
        let message = found["message"].as_str().unwrap();
        assert!(
            message.contains(case.fragment),
            "{}: {message:?} lacks {:?}",
            case.name,
            case.fragment
        );
        let (file, line, column) = case.place;
        let reported = PathBuf::from(found["file"].as_str().unwrap());
        assert_eq!(
            reported,
            if file.is_empty() {
                src.clone()
            } else {
                src.join(file)
            },
            "{}",
            case.name
        );
        assert_eq!(
            (
                found["line"].as_u64().unwrap() as usize,
                found["column"].as_u64().unwrap() as usize
            ),
            (line, column),
            "{}: {found}",
            case.name
        );
        assert!(
            found["end_column"].as_u64().unwrap() as usize >= column,
            "{}: the span ends before it starts: {found}",
            case.name
        );
        assert!(
            found["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "{}: no hint",
            case.name
        );

        // Warnings fail with --deny-warnings; build refuses errors and writes nothing.
        if case.severity == "warning" {
            assert_eq!(
                check(&src, &["--deny-warnings"]).0,
                Some(1),
                "{}",
                case.name
            );
        }
        let out = dir.join("out.apkg");
        let build = build(&src, &out);
        assert_eq!(build.status.code(), Some(expected_exit), "{}", case.name);
        assert_eq!(out.exists(), case.severity == "warning", "{}", case.name);
    }
}

/// The JSON diagnostic with `code`.
fn find<'a>(diagnostics: &'a [Value], code: &str) -> &'a Value {
    let found = diagnostics.iter().find(|d| d["code"] == code);
    found.unwrap_or_else(|| panic!("no `{code}` in {diagnostics:#?}"))
}

#[test]
fn human_output_marks_the_offending_text() {
    let dir = temp_dir("check-human");
    let src = dir.join("src");
    write_files(&src, &[("a.md", b"## Q\ntype: flashcard\n\nA\n")]);
    let out = ankideck(&["check", src.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: unknown note type `flashcard`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--> ") && stderr.contains("a.md:2:7"),
        "{stderr}"
    );
    // The marker spans the whole unknown name, as the JSON's columns do.
    assert!(
        stderr.contains("2 | type: flashcard\n  |       ^^^^^^^^^\n"),
        "{stderr}"
    );
    assert!(stderr.contains("= help: use one of basic"), "{stderr}");
    let (_, diagnostics) = check(&src, &[]);
    let d = find(&diagnostics, "unknown-note-type");
    assert_eq!(
        (&d["line"], &d["column"], &d["end_column"]),
        (&2.into(), &7.into(), &16.into())
    );

    // Wide characters take two columns; the marker still sits under the problem.
    write_files(
        &src,
        &[("a.md", "## 中文问题 ![图](缺失.png)\n\nA\n".as_bytes())],
    );
    let out = ankideck(&["check", src.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 | ## 中文问题 ![图](缺失.png)\n  |                   ^^^^^^^^\n"),
        "{stderr}"
    );
    let (_, diagnostics) = check(&src, &[]);
    let d = find(&diagnostics, "missing-media");
    assert_eq!(
        (&d["line"], &d["column"], &d["end_column"]),
        (&1.into(), &14.into(), &20.into())
    );
}

/// Whether `check` coloured its messages on stderr.
fn coloured(output: &std::process::Output) -> bool {
    output.stderr.contains(&b'\x1b') || output.stdout.contains(&b'\x1b')
}

#[test]
fn colour_only_on_terminals_or_when_asked() {
    let dir = temp_dir("check-colour");
    let src = dir.join("src");
    write_files(&src, &[("a.md", b"## Q\ntype: flashcard\n\nA\n")]);
    let src = src.to_str().unwrap();
    let run = |args: &[&str], no_color: Option<&str>| {
        let mut command = common::run::ankideck_command();
        command
            .args(["check", src])
            .args(args)
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        command.output().unwrap()
    };
    // Piped: no colour unless asked for, whatever NO_COLOR says.
    assert!(!coloured(&run(&[], None)));
    assert!(!coloured(&run(&["--color", "auto"], None)));
    assert!(!coloured(&run(&["--color", "never"], None)));
    assert!(coloured(&run(&["--color", "always"], None)));
    assert!(coloured(&run(&["--color", "always"], Some("1"))));
    // The flag is global: it may come before the subcommand too.
    let before = common::run::ankideck(&["--color", "always", "check", src]);
    assert!(coloured(&before));
    // JSON is never coloured.
    assert!(!coloured(&run(
        &["--format", "json", "--color", "always"],
        None
    )));
}

/// On a terminal (a pseudo-terminal made by util-linux `script`), `auto` colours unless
/// NO_COLOR is set to something.
#[test]
#[cfg(target_os = "linux")]
fn no_color_beats_auto_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let dir = temp_dir("check-terminal");
    let src = dir.join("src");
    write_files(&src, &[("a.md", b"## Q\ntype: flashcard\n\nA\n")]);
    let command = format!(
        "'{}' check '{}'",
        env!("CARGO_BIN_EXE_ankideck"),
        src.display()
    );
    let on_terminal = |no_color: Option<&str>| {
        let mut script = std::process::Command::new("script");
        script.args(["-qec", &command, "/dev/null"]);
        script
            .stdin(std::process::Stdio::null())
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let output = script.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        output
    };
    assert!(coloured(&on_terminal(None)));
    assert!(
        coloured(&on_terminal(Some(""))),
        "an empty NO_COLOR counts as unset"
    );
    assert!(!coloured(&on_terminal(Some("1"))));
}

#[test]
fn odd_but_valid_input_builds() {
    let dir = temp_dir("check-odd");
    let src = dir.join("src");
    let long_line = "长".repeat(100_000);
    let deep = (0..40)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .join("/");
    write_files(
        &src,
        &[
            (
                "bom-crlf.md",
                "\u{feff}---\r\ndeck: Odd\r\n---\r\n\r\n## Q with a\ttab\r\n\r\nA\r\n".as_bytes(),
            ),
            (
                "long.md",
                format!("## Long\n\n{long_line}\n")
                    .as_bytes()
                    .to_vec()
                    .leak(),
            ),
            (format!("{deep}/deep.md").leak(), b"## Deep\n\nA\n"),
        ],
    );
    let out = dir.join("out.apkg");
    let result = build(&src, &out);
    assert_success(&result);
    assert!(String::from_utf8_lossy(&result.stdout).contains("3 notes, 3 cards"));
}

#[cfg(unix)]
#[test]
fn link_loops_and_unreadable_files_are_reported_not_fatal() {
    let dir = temp_dir("check-links");
    let src = dir.join("src");
    write_files(&src, &[("a.md", b"## Q\n\nA\n")]);
    std::os::unix::fs::symlink(&src, src.join("loop")).unwrap();
    let (code, diagnostics) = check(&src, &[]);
    assert_eq!(code, Some(1));
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "unreadable" && d["message"].as_str().unwrap().contains("loop")),
        "{diagnostics:?}"
    );

    // A symlinked card file is read like any other.
    let dir = temp_dir("check-linked-file");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    write_files(&dir, &[("elsewhere.md", b"## Linked\n\nA\n")]);
    std::os::unix::fs::symlink(dir.join("elsewhere.md"), src.join("linked.md")).unwrap();
    let out = dir.join("out.apkg");
    let result = build(&src, &out);
    assert!(
        String::from_utf8_lossy(&result.stdout).contains("1 note, 1 card,"),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The code, file (below `src`), line, column and message of each diagnostic.
fn places(src: &Path, diagnostics: &[Value]) -> Vec<(String, String, u64, u64, String)> {
    let relative = |file: &Value| {
        let file = Path::new(file.as_str().unwrap());
        file.strip_prefix(src).unwrap().display().to_string()
    };
    let text = |v: &Value| v.as_str().unwrap().to_string();
    diagnostics
        .iter()
        .map(|d| {
            let (line, column) = (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap());
            (
                text(&d["code"]),
                relative(&d["file"]),
                line,
                column,
                text(&d["message"]),
            )
        })
        .collect()
}

/// A FIFO or a link to a device named like a card file is not read, and says why; a media
/// reference to a folder or a FIFO says what it is.
#[cfg(unix)]
#[test]
fn files_that_are_not_regular_files_say_what_they_are() {
    let dir = temp_dir("check-not-files");
    let src = dir.join("src");
    write_files(
        &src,
        &[
            (
                "a.md",
                b"## Folder\n\n![x](pics)\n\n## Fifo\n\n![y](pipe.png)\n".as_slice(),
            ),
            ("pics/p.png", b"png".as_slice()),
        ],
    );
    for fifo in ["x.md", "pipe.png"] {
        let made = std::process::Command::new("mkfifo")
            .arg(src.join(fifo))
            .status()
            .unwrap();
        assert!(made.success());
    }
    std::os::unix::fs::symlink("/dev/zero", src.join("zero.md")).unwrap();
    let (code, diagnostics) = check(&src, &[]);
    assert_eq!(code, Some(1));
    let s = |s: &str| s.to_string();
    let pipe = "this is a FIFO (named pipe), not a regular file; it is not read";
    assert_eq!(
        places(&src, &diagnostics),
        [
            (
                s("media-not-a-file"),
                s("a.md"),
                3,
                6,
                s("media file `pics` is a folder, not a file")
            ),
            (
                s("media-not-a-file"),
                s("a.md"),
                7,
                6,
                s("media file `pipe.png` is a FIFO (named pipe), not a file")
            ),
            (
                s("unused-media"),
                s("pics/p.png"),
                0,
                0,
                s("media file `pics/p.png` is not used by any note")
            ),
            (s("not-a-file"), s("pipe.png"), 0, 0, s(pipe)),
            (s("not-a-file"), s("x.md"), 0, 0, s(pipe)),
            (
                s("not-a-file"),
                s("zero.md"),
                0,
                0,
                s("this is a character device, not a regular file; it is not read")
            ),
        ]
    );
    // Only warnings once the media references are gone: the build goes on.
    std::fs::write(src.join("a.md"), "## Q\n\nA ![x](pics/p.png)\n").unwrap();
    let result = build(&src, &dir.join("out.apkg"));
    assert_success(&result);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(stderr.matches("not a regular file").count(), 3, "{stderr}");
}

/// A path too long for the system is shortened in the message, which says so.
#[cfg(unix)]
#[test]
fn a_path_too_long_is_shortened_and_named_as_such() {
    let dir = temp_dir("check-long-path");
    let src = dir.join("src");
    write_files(&src, &[("a.md", b"## Q\n\nA\n")]);
    // Two chains of 15 folders of 200 characters, each made where its path is short
    // enough, then the second moved into the first: some 6,000 characters in all.
    let chain = vec!["d".repeat(200); 15].join("/");
    std::fs::create_dir_all(src.join(&chain)).unwrap();
    std::fs::create_dir_all(dir.join("c2").join(&chain)).unwrap();
    std::fs::write(
        dir.join("c2").join(&chain).join("deep.md"),
        "## Deep\n\nA\n",
    )
    .unwrap();
    std::fs::rename(dir.join("c2"), src.join(&chain).join("c2")).unwrap();
    let (code, diagnostics) = check(&src, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "path-too-long");
    // The first folder on the way whose path the system refuses.
    let refused = diagnostics[0]["file"].as_str().unwrap().len();
    assert!(refused >= 4096, "{refused}");
    assert_eq!(
        diagnostics[0]["message"],
        format!("the path is too long for the system ({refused} bytes), so it cannot be read")
    );
    let human = ankideck(&["check", src.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("--> "), "{stderr}");
    assert!(stderr.lines().all(|l| l.chars().count() < 200), "{stderr}");
    assert!(
        stderr.contains("help: shorten the names of its folders, or nest them less deeply"),
        "{stderr}"
    );
}

#[test]
fn a_clean_deck_checks_clean() {
    let cards = workspace().join("cards");
    let (code, diagnostics) = check(&cards, &["--deny-warnings"]);
    assert_eq!(code, Some(0), "{diagnostics:?}");
    assert!(diagnostics.is_empty());
}

/// A build holds its notes on disk between its stages and lints them a file at a time:
/// a first field repeated many files later (past the reader's batches of files) is still
/// found, and the warning names the first note's file and line.
#[test]
fn a_duplicate_first_field_many_files_apart_is_found() {
    let dir = temp_dir("check-duplicate-far");
    let src = dir.join("src");
    let mut files = Vec::new();
    for i in 0..30 {
        let first = if i == 29 {
            "Same".to_string()
        } else {
            format!("Q{i}")
        };
        let text = format!("---\ndeck: D\n---\n\n## Other {i}\n\nA\n\n## {first}\nid: n{i}\n\nB\n");
        files.push((format!("f{i:02}.md"), text));
    }
    files[3].1 = "---\ndeck: D\n---\n\n## Same\nid: first\n\nA\n".to_string();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_bytes()))
        .collect();
    write_files(&src, &files);
    let (code, diagnostics) = check(&src, &[]);
    assert_eq!(code, Some(0), "{diagnostics:?}");
    let duplicates: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["code"] == "duplicate-first-field")
        .collect();
    assert_eq!(duplicates.len(), 1, "{diagnostics:#?}");
    let found = duplicates[0];
    assert!(
        found["file"].as_str().unwrap().ends_with("f29.md"),
        "{found}"
    );
    assert_eq!(found["line"], 9);
    let message = found["message"].as_str().unwrap();
    assert!(message.contains("f03.md:5"), "{message}");
}
