//! Packages keep their bytes: the committed decks and a generated deck large enough to
//! span several of the build's batches and lock windows build to the packages (and lock)
//! they built to before. They guard changes that must not alter output, such as the
//! streaming of reading, rendering, card generation and the lock merge that is still to
//! come. A change that alters package bytes on purpose updates the SHA-1s, saying why in
//! its commit (last: the stock CSS for Markdown's blocks, the larger syntax set, 64-bit
//! derived ids, the version 2 lock, smaller small packages, and a latest package's
//! collection compressed by zstd in jobs: the same collection, other zstd bytes; each
//! field's footnotes with ids of their own, in the features deck).

use crate::common;

use common::files::{temp_dir, write_files};
use common::path_str;
use common::run::{ankideck_command, assert_success};
use sha1::{Digest, Sha1};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The build time every package below was built at.
const EPOCH: &str = "1700000000";

fn sha1_of(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha1::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Each committed deck in both formats, built `--locked` from its committed lock.
#[test]
fn committed_decks_build_to_the_same_bytes() {
    let dir = temp_dir("same-output-committed");
    let mut found = Vec::new();
    for deck in ["cards", "tests/decks/features", "tests/decks/rich"] {
        for format in ["legacy", "latest"] {
            let out = dir.join(format!("{}-{format}.apkg", deck.replace('/', "-")));
            let source = common::workspace().join(deck);
            let output = ankideck_command()
                .env("SOURCE_DATE_EPOCH", EPOCH)
                .args(["build", path_str(&source), "-o", path_str(&out), "--locked"])
                .args(["--format", format])
                .output()
                .unwrap();
            assert_success(&output);
            found.push(format!("{deck} {format} {}", sha1_of(&out)));
        }
    }
    assert_eq!(
        found,
        [
            "cards legacy 3a426391286d7d2e318ae0f1db94a1daca3fe598",
            "cards latest e086ef09af4b82d6be6502b293af770c3d4581b6",
            "tests/decks/features legacy f99b2a605ce77f9d4666471f5d42f779b31a3c18",
            "tests/decks/features latest 8ec827e6e8376461fe987ddeb89714d65bda994c",
            "tests/decks/rich legacy 954584967c5468e71b8b4f2bfecc20d6e51b0a51",
            "tests/decks/rich latest cb93284a4427e7627392a02514781f8b1be7cb56",
        ]
    );
}

/// A deck of `files` card files of `per_file` notes each, numbered from `first`, the
/// same for the same arguments: plain and
/// cloze notes, some with `id:`, tags and a deck of their own, some first fields
/// repeated in another deck, some with math, bold and lists.
fn generated_deck(dir: &Path, files: usize, per_file: usize, first: usize) {
    let words = [
        "模型",
        "gradient",
        "学习率",
        "loss",
        "注意力",
        "token",
        "矩阵",
        "layer",
        "why",
        "is",
        "the",
        "向量",
        "softmax",
        "的",
    ];
    let mut state = 7 + first as u64;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    };
    let mut written = Vec::new();
    for f in 0..files {
        let mut text = String::new();
        if f % 2 == 0 {
            let _ = writeln!(text, "---\ntags: [file-{f}, 面试题]\n---\n");
        }
        for i in 0..per_file {
            let n = first + f * per_file + i;
            let mut phrase = |len: usize| {
                (0..len)
                    .map(|_| words[next(words.len())])
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (question, answer) = (phrase(6), phrase(14));
            if n % 10 == 3 {
                let _ = writeln!(text, "## {question} {{{{c1::{}}}}} {n}", phrase(1));
            } else if n % 97 == 5 {
                // The same first field as another file's note: a warning, not an error.
                let _ = writeln!(text, "## Repeated question {}", n % 3);
            } else {
                let _ = writeln!(text, "## {question} {n}?");
            }
            if n % 97 == 5 {
                let _ = writeln!(text, "id: repeated-{n}");
            } else if n % 5 == 1 {
                let _ = writeln!(text, "id: note-{n}");
            }
            if n % 11 == 2 {
                let _ = writeln!(text, "tags: t{} a::b", n % 4);
            }
            if n % 13 == 4 {
                let _ = writeln!(text, "deck: Other::D{}", n % 3);
            }
            text.push('\n');
            if n.is_multiple_of(7) {
                let _ = writeln!(text, "{answer} **{}** $x^{}$。\n", phrase(1), n % 9);
            } else {
                let _ = writeln!(text, "{answer}\n");
            }
            if n % 17 == 6 {
                let _ = writeln!(text, "- {}\n- `{}`\n", phrase(3), phrase(1));
            }
        }
        written.push((format!("g{}/file-{f:03}.md", f % 4), text));
    }
    let files: Vec<(&str, &String)> = written.iter().map(|(p, t)| (p.as_str(), t)).collect();
    write_files(dir, &files);
}

/// A generated deck of 20,000 notes (two lock windows, many batches), built without a
/// lock, then again from the lock it wrote after some notes changed, in both formats.
#[test]
fn a_generated_deck_builds_to_the_same_bytes() {
    let dir = temp_dir("same-output-generated");
    let deck = dir.join("deck");
    generated_deck(&deck, 40, 500, 0);
    let mut found = Vec::new();
    let build = |label: &str, format: &str, found: &mut Vec<String>| {
        let out = dir.join(format!("{label}-{format}.apkg"));
        let epoch = if label == "new" { EPOCH } else { "1700001000" };
        let output = ankideck_command()
            .env("SOURCE_DATE_EPOCH", epoch)
            .args(["build", path_str(&deck), "-o", path_str(&out)])
            .args(["--format", format])
            .output()
            .unwrap();
        assert_success(&output);
        found.push(format!("{label} {format} {}", sha1_of(&out)));
    };
    for format in ["legacy", "latest"] {
        build("new", format, &mut found);
    }
    found.push(format!("lock {}", sha1_of(&deck.join("ankideck.lock"))));
    // Later: some notes edited, one file gone, a new one; the lock keeps the rest.
    let first = deck.join("g0/file-000.md");
    let text = fs::read_to_string(&first).unwrap().replace("的", "之");
    fs::write(&first, text).unwrap();
    fs::remove_file(deck.join("g1/file-001.md")).unwrap();
    generated_deck(&dir.join("more"), 1, 300, 100_000);
    fs::rename(dir.join("more/g0/file-000.md"), deck.join("g3/zz.md")).unwrap();
    for format in ["legacy", "latest"] {
        build("edited", format, &mut found);
    }
    found.push(format!("lock {}", sha1_of(&deck.join("ankideck.lock"))));
    assert_eq!(
        found,
        [
            "new legacy 8765568027d83ec66ab500df7dc01891848a1f07",
            "new latest 8e7b492c23b565d49bce331e36fa7be6d3488342",
            "lock 40ce8c55aba9e946bc10f1845beeee149133318f",
            "edited legacy 46454f3709fe14ac933c563b632355d2cf5a7902",
            "edited latest 891da65bca4ba70823422881cef90de1e1c300aa",
            "lock 3a144103ef4cf6e32c94b479d84d2caf7f426c2a",
        ]
    );
}
