//! Problems that say what the author most likely meant: "did you mean" for near-miss
//! settings, note types, fields and keys; front matter errors in the author's words; a
//! taken `id:` at its line. Each case has the exact message and place.

use crate::check::check;
use crate::common;

use common::files::{temp_dir, write_files};
use std::path::PathBuf;

struct Case {
    files: &'static [(&'static str, &'static str)],
    code: &'static str,
    /// File, line and column the diagnostic must point at.
    place: (&'static str, usize, usize),
    message: &'static str,
}

const CASES: &[Case] = &[
    // Hashes run into the heading's text.
    Case {
        files: &[("a.md", "## Q1\n\nA\n\n##Q2\n\nB\n")],
        code: "heading-without-space",
        place: ("a.md", 5, 1),
        message: "`##Q…` is not a heading: Markdown needs a space after the `#`s, so the line is text of the note above; did you mean `## Q2`?",
    },
    // A space that is not one, a full-width `#`, an invisible character before the marks.
    Case {
        files: &[("a.md", "## Q1\n\nA\n\n##\u{3000}问题\n\nB\n")],
        code: "heading-without-space",
        place: ("a.md", 5, 3),
        message: "this line is text, not a heading: Markdown needs a space after the `#`s, and U+3000 IDEOGRAPHIC SPACE is not one; did you mean `## 问题`?",
    },
    Case {
        files: &[("a.md", "## Q1\n\nA\n\n＃＃ 问题\n\nB\n")],
        code: "heading-without-space",
        place: ("a.md", 5, 1),
        message: "this line is text, not a heading: Markdown takes only `#` for a heading's marks, not U+FF03 FULLWIDTH NUMBER SIGN; did you mean `## 问题`?",
    },
    Case {
        files: &[("a.md", "## Q1\n\nA\n\u{FEFF}## Q2\n\nB\n")],
        code: "heading-without-space",
        place: ("a.md", 4, 1),
        message: "this line is text, not a heading: U+FEFF ZERO WIDTH NO-BREAK SPACE (byte order mark), an invisible character, stands before the `#`s; did you mean `## Q2`?",
    },
    // A fence never closed swallows the notes after it: at the fence, naming the first.
    Case {
        files: &[("a.md", "## Q\n\n  ```python\nprint(1)\n\n## Next question\nAnswer two.\n")],
        code: "unclosed-fence",
        place: ("a.md", 3, 3),
        message: "the code block opened with ``` is never closed, so it runs to the end of the file: the `## ` heading at line 6 and every note after it are taken for code",
    },
    // YAML cut a front-matter value at ` #`.
    Case {
        files: &[("a.md", "---\ndeck: Lang #1\n---\n## Q\n\nA\n")],
        code: "front-matter-comment",
        place: ("a.md", 2, 12),
        message: "` #` starts a comment in front matter, so `deck` leaves out `#1`",
    },
    // A taken `id:`: at its line, naming it.
    Case {
        files: &[("a.md", "## Q1\nid: x\n\nA\n\n## Q2\ntags: t\nid: x\n\nB\n")],
        code: "duplicate-note",
        place: ("a.md", 8, 1),
        message: "id `x` is already the identity of the note at SRC/a.md:1",
    },
    Case {
        files: &[
            ("a.md", "## Q1\nid: x\n\nA\n"),
            ("b.md", "## Q2\nid: x\n\nB\n"),
        ],
        code: "duplicate-note",
        place: ("b.md", 2, 1),
        message: "id `x` is already the identity of the note at SRC/a.md:1",
    },
    // Without `id:`, the heading is the identity: at the heading.
    Case {
        files: &[("a.md", "## Q\n\nA\n\n## Q\n\nB\n")],
        code: "duplicate-note",
        place: ("a.md", 5, 1),
        message: "this note has the same identity as the note at SRC/a.md:1",
    },
    // Near-miss settings under a heading: kept as answer text, with what was meant.
    Case {
        files: &[("a.md", "## la mer\ntype:reversed\n\nthe sea\n")],
        code: "misspelled-setting",
        place: ("a.md", 2, 1),
        message: "this line looks like a setting but is not one, so it is kept as answer text; did you mean `type: reversed`?",
    },
    Case {
        files: &[("a.md", "## la mer\nid: mer\nTags: french nouns\n\nthe sea\n")],
        code: "misspelled-setting",
        place: ("a.md", 3, 1),
        message: "this line looks like a setting but is not one, so it is kept as answer text; did you mean `tags: french nouns`?",
    },
    Case {
        files: &[("a.md", "## 牛顿第一定律\nid：newton-1\ntags：物理\n\n惯性定律。\n")],
        code: "misspelled-setting",
        place: ("a.md", 2, 1),
        message: "this line looks like a setting but is not one, so it is kept as answer text; did you mean `id: newton-1`?",
    },
    Case {
        files: &[("a.md", "## la mer\n  type: reversed\n\nthe sea\n")],
        code: "misspelled-setting",
        place: ("a.md", 2, 3),
        message: "this line looks like a setting but is not one, so it is kept as answer text; did you mean `type: reversed`?",
    },
    Case {
        files: &[("a.md", "## 波长\ntags: 物理\ndeck: “Physics :: Waves”\n\nA\n")],
        code: "curly-quotes",
        place: ("a.md", 3, 7),
        message: "the value is in curly quotes (“…), which are part of the text, not quotes; did you mean `deck: \"Physics :: Waves\"`?",
    },
    Case {
        files: &[("a.md", "---\ntags: [中文]\n---\n## 主语\ntags: x [语法，基础]\n\nA\n")],
        code: "tag-separator",
        place: ("a.md", 5, 9),
        message: "tag `[语法，基础]` holds U+FF0C FULLWIDTH COMMA, which does not separate tags, so it is one tag; did you mean `tags: x [语法 基础]`?",
    },
    Case {
        files: &[("a.md", "---\ntags: [中文，语法]\n---\n## 主语\n\nA\n")],
        code: "tag-separator",
        place: ("a.md", 2, 8),
        message: "tag `中文，语法` holds U+FF0C FULLWIDTH COMMA, which does not separate tags, so it is one tag; did you mean `tags: [中文, 语法]`?",
    },
    Case {
        files: &[("a.md", "## Water is H2O\ntpye: cloze\n")],
        code: "unknown-setting",
        place: ("a.md", 2, 1),
        message: "unknown setting `tpye` under the heading; the line is kept as answer text; did you mean `type: cloze`?",
    },
    // Unknown names: the nearest known one.
    Case {
        files: &[("a.md", "## la mer\ntype: reversd\n\nthe sea\n")],
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        message: "unknown note type `reversd`; did you mean `reversed`?",
    },
    Case {
        files: &[("a.md", "---\ntype: Basic (and reversed Card)\n---\n## Q\n\nA\n")],
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        message: "unknown note type `Basic (and reversed Card)`; did you mean `Basic (and reversed card)`?",
    },
    Case {
        files: &[
            ("a.md", "## chat\ntype: vocab\n\ncat\n"),
            ("_notetypes/Vocab/notetype.toml", VOCAB),
            ("_notetypes/Vocab/Card 1.front.html", "{{Word}}"),
            ("_notetypes/Vocab/Card 1.back.html", "{{Meaning}}"),
        ],
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        message: "unknown note type `vocab`; did you mean `Vocab`?",
    },
    Case {
        files: &[("a.md", "## Q\ntype: flashcard\n\nA\n")],
        code: "unknown-note-type",
        place: ("a.md", 2, 7),
        message: "unknown note type `flashcard`",
    },
    Case {
        files: &[("a.md", "## Q\n\n### Bakc\nA\n")],
        code: "unknown-field",
        place: ("a.md", 3, 5),
        message: "note type `Basic (ankideck)` has no field `Bakc` (its fields: Front, Back); did you mean `Back`?",
    },
    Case {
        files: &[("a.md", "## Q\n\nA\n\n### Extra\nx\n")],
        code: "unknown-field",
        place: ("a.md", 5, 5),
        message: "note type `Basic (ankideck)` has no field `Extra` (its fields: Front, Back)",
    },
    // Unknown keys of front matter, notetype.toml and _deck.toml.
    Case {
        files: &[("a.md", "---\ndek: Physics\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 2, 1),
        message: "front matter is not valid: unknown key `dek`; did you mean `deck`?",
    },
    Case {
        files: &[
            ("a.md", "## chat\ntype: Vocab\n\ncat\n"),
            ("_notetypes/Vocab/notetype.toml", "kidn = \"standard\"\n[[fields]]\nname = \"Word\"\n"),
        ],
        code: "rich-toml",
        place: ("_notetypes/Vocab/notetype.toml", 1, 1),
        message: "unknown field `kidn`, expected one of `name`, `alias`, `id`, `kind`, `sort_field`, `css`, `latex_pre`, `latex_post`, `latex_svg`, `stock_kind`, `fields`, `templates`; did you mean `kind`?",
    },
    Case {
        files: &[
            ("a/q.md", "## Q\n\nA\n"),
            ("a/_deck.toml", "[options]\nnew_per_dya = 5\n"),
        ],
        code: "rich-toml",
        place: ("a/_deck.toml", 2, 1),
        message: "unknown field `new_per_dya`, expected one of `name`, `new_per_day`, `reviews_per_day`, `learning_steps`, `maximum_interval`, `id`, `anki`, `other`; did you mean `new_per_day`?",
    },
    // Front matter errors in the card file's terms.
    Case {
        files: &[("a.md", "---\ndeck Test\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 2, 1),
        message: "front matter is not valid: expected `key: value` lines, found the text `deck Test`; did you mean `deck: Test`?",
    },
    Case {
        files: &[("a.md", "---\n- deck: Test\n- tags: x\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 2, 1),
        message: "front matter is not valid: expected `key: value` lines, found a list",
    },
    Case {
        files: &[("a.md", "---\ndeck: Physics :: Waves\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 2, 16),
        message: "front matter is not valid: `: ` in a value starts a new key in YAML; put the value in quotes: `deck: \"Physics :: Waves\"`",
    },
    Case {
        files: &[("a.md", "---\ndeck: x\ntags: [chinese\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 3, 7),
        message: "front matter is not valid: this `[` is never closed with `]`",
    },
    Case {
        files: &[("a.md", "---\ntype: [basic]\n---\n## Q\n\nA\n")],
        code: "front-matter",
        place: ("a.md", 2, 7),
        message: "front matter is not valid: `type` takes a single value, not a list",
    },
];

const VOCAB: &str = "[[fields]]\nname = \"Word\"\n[[fields]]\nname = \"Meaning\"\n[[templates]]\nname = \"Card 1\"\n";

#[test]
fn each_problem_says_what_was_meant_where_it_is() {
    for case in CASES {
        let dir = temp_dir("hints-case");
        let src = dir.join("src");
        let files: Vec<(&str, &[u8])> = case
            .files
            .iter()
            .map(|(name, text)| (*name, text.as_bytes()))
            .collect();
        write_files(&src, &files);
        let (_, diagnostics) = check(&src, &[]);
        let name = case.files[0].1;
        let found = diagnostics
            .iter()
            .find(|d| d["code"] == case.code)
            .unwrap_or_else(|| panic!("{name:?}: no `{}` in {diagnostics:#?}", case.code));
        let message = case.message.replace("SRC", src.to_str().unwrap());
        assert_eq!(found["message"], message.as_str(), "{name:?}");
        let (file, line, column) = case.place;
        assert_eq!(
            PathBuf::from(found["file"].as_str().unwrap()),
            src.join(file),
            "{name:?}"
        );
        assert_eq!(
            (found["line"].as_u64(), found["column"].as_u64()),
            (Some(line as u64), Some(column as u64)),
            "{name:?}: {found}"
        );
    }
}
