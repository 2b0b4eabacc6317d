//! Bad custom note types, CSV files and deck settings are refused with file and line,
//! and nothing is written.

use crate::common;

use common::files::{temp_dir, write_files};
use common::run::build;

const VOCAB_TOML: &str = "[[fields]]\nname = \"Word\"\nrequired = true\n\n[[fields]]\nname = \"Meaning\"\nrequired = true\n\n[[fields]]\nname = \"Extra\"\n\n[[templates]]\nname = \"Card 1\"\n";
const FRONT: &str = "{{Word}}";
const BACK: &str = "{{FrontSide}}\n<hr id=answer>\n{{Meaning}}";

/// One bad source folder: its files, and the `file:line: fragment` expected on stderr.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    expected: &'static str,
}

fn vocab(extra: &'static [(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![
        ("_notetypes/Vocab/notetype.toml", VOCAB_TOML),
        ("_notetypes/Vocab/Card 1.front.html", FRONT),
        ("_notetypes/Vocab/Card 1.back.html", BACK),
    ];
    for (path, text) in extra {
        files.retain(|(p, _)| p != path);
        files.push((path, text));
    }
    files
}

#[test]
fn bad_rich_input_is_refused_with_file_and_line() {
    let cases = [
        Case {
            name: "unknown field section",
            files: &[("v.md", "---\ntype: Vocab\n---\n\n## chat\n\ncat\n\n### Gender\nm\n")],
            expected: "v.md:9: note type `Vocab` has no field `Gender`",
        },
        Case {
            name: "missing required field",
            files: &[("v.md", "---\ntype: Vocab\n---\n\n## chat\n")],
            expected: "v.md:5: note type `Vocab` requires field `Meaning`",
        },
        Case {
            name: "template uses a missing field",
            files: &[("_notetypes/Vocab/Card 1.back.html", "{{FrontSide}}\n<hr id=answer>\n{{Meaning}} {{Plural}}")],
            expected: "Card 1.back.html:3: template `Card 1` of note type `Vocab` uses field `Plural`",
        },
        Case {
            name: "space after a filter's colon, which Anki takes as part of the name",
            files: &[("_notetypes/Vocab/Card 1.back.html", "{{FrontSide}}\n<hr id=answer>\n{{text: Meaning}}")],
            expected: "Card 1.back.html:3: template `Card 1` of note type `Vocab` uses field ` Meaning`",
        },
        Case {
            name: "mustache comment, which Anki takes as a field",
            files: &[("_notetypes/Vocab/Card 1.front.html", "{{Word}}\n{{! the word }}")],
            expected: "Card 1.front.html:2: template `Card 1` of note type `Vocab` uses field `! the word`",
        },
        Case {
            name: "note without cards",
            files: &[
                ("_notetypes/Vocab/Card 1.front.html", "{{#Extra}}{{Word}}{{/Extra}}"),
                ("v.md", "---\ntype: Vocab\n---\n\n## chat\n\ncat\n"),
            ],
            expected: "v.md:5: the note would have no cards",
        },
        Case {
            name: "toml syntax",
            files: &[("_notetypes/Vocab/notetype.toml", "kind = \"standard\"\n[[fields]\nname = 1\n")],
            expected: "notetype.toml:2: ",
        },
        Case {
            name: "toml unknown key",
            files: &[("_notetypes/Vocab/notetype.toml", "colour = \"red\"\n[[fields]]\nname = \"Word\"\n[[templates]]\nname = \"Card 1\"\n")],
            expected: "notetype.toml:1: unknown field `colour`",
        },
        Case {
            name: "unknown kind",
            files: &[("_notetypes/Vocab/notetype.toml", "kind = \"occlusion\"\n[[fields]]\nname = \"Word\"\n[[templates]]\nname = \"Card 1\"\n")],
            expected: "notetype.toml:1: note type `Vocab`: kind `occlusion`",
        },
        Case {
            name: "asset without underscore",
            files: &[("_notetypes/Vocab/font.woff2", "x")],
            expected: "font.woff2: asset `font.woff2` in a note type folder must be named with a leading `_`",
        },
        Case {
            name: "front that shows no field",
            files: &[("_notetypes/Vocab/Card 1.front.html", "Just text")],
            expected: "Card 1.front.html:1: note type `Vocab`: template `Card 1`: the front of the template shows no field",
        },
        Case {
            name: "csv unknown note type",
            files: &[("w.csv", "#separator:comma\n#notetype:Vocabulary\nchat,cat\n")],
            expected: "w.csv:2: unknown note type `Vocabulary` in `#notetype:`; Anki's importer would ignore the line and use its default note type (usually Basic): to get that, remove the line",
        },
        Case {
            name: "csv unknown note type in a column",
            files: &[("w.csv", "#separator:comma\n#notetype column:1\nVocab,chat,cat\nNope,chien,dog\n")],
            expected: "w.csv:4: unknown note type `Nope` in the note type column; Anki's importer would skip the row: to get that, delete the row",
        },
        Case {
            name: "csv missing required field",
            files: &[("w.csv", "#separator:comma\n#notetype:Vocab\nchat,cat\nchien\n")],
            expected: "w.csv:4: note type `Vocab` requires field `Meaning`",
        },
        Case {
            name: "csv duplicate guid",
            files: &[("w.csv", "#separator:comma\n#guid column:1\ng1,a,b\ng1,c,d\n")],
            expected: "w.csv:4: this note has the same identity as the note at",
        },
        Case {
            name: "csv bad tag",
            files: &[("w.csv", "#separator:comma\n#tags:ok a::\na,b\n")],
            expected: "w.csv:2: tag `a::`",
        },
        Case {
            name: "deck settings unknown key",
            files: &[("a/_deck.toml", "description = \"x\"\nnew_cards = 5\n")],
            expected: "_deck.toml:2: unknown field `new_cards`",
        },
        Case {
            name: "deck settings bad step",
            files: &[("a/_deck.toml", "[options]\nlearning_steps = [\"1m\", \"soon\"]\n")],
            expected: "_deck.toml:2: learning step \"soon\" is not a duration",
        },
        Case {
            name: "root deck settings without a deck",
            files: &[("_deck.toml", "description = \"x\"\n")],
            expected: "_deck.toml:1: the source folder's own _deck.toml must say which deck",
        },
        Case {
            name: "deck settings given twice",
            files: &[("_deck.toml", "deck = \"a\"\n"), ("a/_deck.toml", "description = \"y\"\n")],
            expected: "_deck.toml:1: deck `a` already has settings in",
        },
        Case {
            name: "deck settings twice, deck names differing in case",
            files: &[("_deck.toml", "deck = \"French\"\n"), ("french/_deck.toml", "description = \"y\"\n")],
            expected: "_deck.toml:1: deck `french` already has settings in",
        },
        Case {
            name: "one options group, two sets of values",
            files: &[
                ("a/_deck.toml", "[options]\nname = \"Shared\"\nnew_per_day = 5\n"),
                ("b/_deck.toml", "[options]\nname = \"Shared\"\nnew_per_day = 50\n"),
            ],
            expected: "_deck.toml:1: options group `Shared` is given other values in",
        },
        Case {
            name: "two note types with one id",
            files: &[
                ("_notetypes/Words/notetype.toml", "id = \"Vocab\"\n[[fields]]\nname = \"Word\"\n\n[[templates]]\nname = \"Card 1\"\n"),
                ("_notetypes/Words/Card 1.front.html", "{{Word}}"),
                ("_notetypes/Words/Card 1.back.html", "{{Word}}"),
            ],
            expected: "notetype.toml:1: note type `Words` has the same `id` as note type `Vocab`",
        },
    ];
    for case in cases {
        let dir = temp_dir("rich-errors-case");
        let src = dir.join("src");
        let mut files = vocab(case.files);
        if !files.iter().any(|(p, _)| {
            p.ends_with(".md") || p.ends_with(".csv") || p.ends_with(".tsv") || p.ends_with(".txt")
        }) {
            files.push(("ok.md", "---\ntype: Vocab\n---\n\n## chat\n\ncat\n"));
        }
        write_files(&src, &files);
        let out = dir.join("out.apkg");
        let result = build(&src, &out);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{}: {stderr}", case.name);
        let (place, message) = case.expected.split_once(": ").unwrap();
        let place_found = stderr.lines().any(|l| {
            l.trim_start().starts_with("-->")
                && (l.ends_with(place) || l.contains(&format!("{place}:")))
        });
        assert!(
            place_found && stderr.contains(message),
            "{}: expected {:?} in\n{stderr}",
            case.name,
            case.expected
        );
        assert!(!out.exists(), "{}: wrote a package", case.name);
    }
}
