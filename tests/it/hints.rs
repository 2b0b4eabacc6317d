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
];

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
