//! Packages keep their bytes: the committed decks and a generated deck large enough to
//! span several of the build's batches and lock windows build to the packages (and lock)
//! they built to before reading, rendering, card generation and the lock merge were
//! streamed. The SHA-1s below were taken with the binary of commit `2dcf3bc`, before
//! that change; a change that alters package bytes on purpose updates them, saying why
//! in its commit.

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
            "cards legacy a1cd674641b431f35768e103f95b0a45142da6f5",
            "cards latest ffac16b7d68baa18229414571308722308d08c82",
            "tests/decks/features legacy 7212505211e75d27ed86d15f89b2c87f26a5011d",
            "tests/decks/features latest bce1bfab41b157c1a4607a00016203897744696c",
            "tests/decks/rich legacy cc24a2e5d7340c87b94d4e5ec05ec7446704023d",
            "tests/decks/rich latest a544224804d10ee2ae22657db6cee0969e2f44d2",
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
            "new legacy fff697af24cb7b7e401e9893afe94923c52c19e9",
            "new latest 76a86f9f7267ac2c902b0c77d0dc4bed9289cd85",
            "lock bda7688e5d0fb3046fbd6c56f9ad3a96ace367f7",
            "edited legacy 16b70c0f6f9ee9792d6faeba922991f7e6fb121b",
            "edited latest 2230c4f2de021dfa8ad9990ce250c072fc78b0e4",
            "lock df932cf05c7d18da149d22664386cd69b9df3235",
        ]
    );
}
