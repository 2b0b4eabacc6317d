//! Keeps docs/FORMAT.md honest: every example in it is built with the real `ankideck`
//! binary.
//!
//! An example is made of fenced blocks whose info string is a language followed by
//! attributes:
//!
//! ````text
//! ```markdown file=NAME.md
//! ```markdown file=NAME.md media="img/a.png b.mp3"
//! ```markdown file=NAME.md error="FRAGMENT"
//! ```markdown file=NAME.md warning="FRAGMENT"
//! ```toml example=vocab file="_notetypes/Code Cloze/notetype.toml"
//! ```text example=words file=words.csv notes=4
//! ````
//!
//! (any fence of three or more backticks). An attribute is `key=value`, the value running
//! to the next white space, or `key="value"` for a value with white space in it; there
//! are no escapes, so a quoted value cannot hold `"`, and no attribute can hold a backtick
//! (CommonMark would not read the fence). Every fenced block with attributes belongs to an
//! example; an unknown attribute is an error.
//!
//! - A `markdown` block without `example` is a complete card file on its own: an example
//!   of one file, `file=NAME.md`.
//! - Blocks with the same `example=NAME`, in any language (`markdown`, `toml`, `html`,
//!   `css`, `text`, …) and anywhere in the doc, are the files of one example. Each is
//!   written to its `file=PATH` below the example's source folder; PATH is relative, may
//!   have folders, and must be unique in its example. A `markdown` block's PATH ends in
//!   `.md`, and only a `markdown` block's does.
//!
//! `media` lists media files to create, relative to the folder of the block's file.
//! `error`, `warning` and `notes` (the number of notes the package must hold) may each
//! be given once per example, on any of its blocks.
//!
//! Each example is written to a fresh folder under `target/`, together with its media,
//! checked with `ankideck check <dir> --format json` and built with
//! `ankideck build <dir> -o <dir>/out.apkg`.
//!
//! - Without `error` or `warning`, the build must succeed without any warning, and the
//!   package must hold `notes` notes, by default one per `## ` heading of the example's
//!   card files. An example with Anki text files (`.csv`, `.tsv`, `.txt`) must say
//!   `notes=N`.
//! - With `warning`, the same, except that the build must print FRAGMENT on stderr.
//! - With `error`, the build must fail with exit status 1, print FRAGMENT on stderr and
//!   write nothing.
//!
//! `check` must agree: the same exit status, and a JSON line of the expected severity
//! whose message holds FRAGMENT (no line at all for a clean example).
//!
//! The test also checks that the doc lists every stock note type, every hint, fixed
//! message and problem code the tool prints (the hints of custom note types, text files
//! and deck settings included), that it holds the example from the original feature
//! request, and examples of a custom note type, a text file and deck settings.

use crate::common;

use ankideck::source::{closes_fence, opens_fence};
use ankideck::Stock;
use common::files::{fresh_dir, temp_dir, write_file};
use common::run::ankideck_command;
use common::workspace;
use std::fs;
use std::path::{Path, PathBuf};

/// The example every user sees first; it must stay in the doc and keep building.
const ISSUE_EXAMPLE: &str = "\
---
deck: NLP 面试题::深度学习基础
tags: [nlp, 面试题]
---

## 深度学习中，batch size 太小会带来什么问题？
id: batch-size-small

梯度**震荡**严重，不利于收敛；每个 epoch 的迭代次数多，耗时长。

## L1 正则化倾向于得到{{c1::稀疏}}解，L2 正则化得到的解更{{c2::平滑::形容词}}。

## 训练集大小为 $N$、mini-batch 大小为 $b$ 时，每个 epoch 要迭代多少次？
type: reversed
tags: 公式

$$\\lceil N / b \\rceil$$

![损失曲线](img/loss.png)
";

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A fenced block of the doc that is (part of) an example.
#[derive(Debug)]
struct Block {
    /// Line of the opening fence in docs/FORMAT.md, for messages.
    doc_line: usize,
    lang: String,
    file: String,
    example: Option<String>,
    error: Option<String>,
    warning: Option<String>,
    media: Vec<String>,
    notes: Option<usize>,
    text: String,
}

/// One example: a source folder built on its own.
#[derive(Debug)]
struct Example {
    /// `file=NAME.md` of a single card file, else `example=NAME`, for messages.
    label: String,
    /// Lines of the example's opening fences in docs/FORMAT.md, for messages.
    doc_lines: Vec<usize>,
    /// (path below the source folder, text).
    files: Vec<(String, String)>,
    error: Option<String>,
    warning: Option<String>,
    /// Media files to create, as paths below the source folder.
    media: Vec<String>,
    notes: Option<usize>,
}

fn doc_path() -> PathBuf {
    workspace().join("docs").join("FORMAT.md")
}

fn read_doc() -> String {
    let path = doc_path();
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `key=value` and `key="value with spaces"` pairs of an info string.
fn attributes(info: &str, doc_line: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = info.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("FORMAT.md:{doc_line}: attribute without `=` in {info:?}"));
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .unwrap_or_else(|| panic!("FORMAT.md:{doc_line}: unclosed quote in {info:?}"));
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
        };
        out.push((key.trim().to_string(), value.to_string()));
        rest = after.trim_start();
    }
    out
}

/// Every example of `doc`. Fences are tracked so that a block shown inside another
/// block is not an example.
fn examples(doc: &str) -> Vec<Example> {
    let mut found: Vec<Example> = Vec::new();
    for block in blocks(doc) {
        let line = block.doc_line;
        let dir = block.file.rsplit_once('/').map(|(dir, _)| dir);
        let media: Vec<String> = block
            .media
            .iter()
            .map(|m| dir.map_or_else(|| m.clone(), |d| format!("{d}/{m}")))
            .collect();
        let index = match &block.example {
            Some(name) => found
                .iter()
                .position(|e| e.label == format!("example={name}")),
            None => None,
        };
        let Some(index) = index else {
            found.push(Example {
                label: match &block.example {
                    Some(name) => format!("example={name}"),
                    None => format!("file={}", block.file),
                },
                doc_lines: vec![line],
                files: vec![(block.file, block.text)],
                error: block.error,
                warning: block.warning,
                media,
                notes: block.notes,
            });
            continue;
        };
        let example = &mut found[index];
        assert!(
            example.files.iter().all(|(f, _)| *f != block.file),
            "FORMAT.md:{line}: {} has two files {:?}",
            example.label,
            block.file
        );
        for (mine, given, what) in [
            (&mut example.error, block.error, "error"),
            (&mut example.warning, block.warning, "warning"),
        ] {
            if given.is_some() {
                assert!(
                    mine.is_none(),
                    "FORMAT.md:{line}: {} gives `{what}` twice",
                    example.label
                );
                *mine = given;
            }
        }
        if block.notes.is_some() {
            assert!(
                example.notes.is_none(),
                "FORMAT.md:{line}: {} gives `notes` twice",
                example.label
            );
            example.notes = block.notes;
        }
        example.doc_lines.push(line);
        example.files.push((block.file, block.text));
        example.media.extend(media);
    }
    for example in &found {
        let line = example.doc_lines[0];
        assert!(
            example.error.is_none() || example.warning.is_none(),
            "FORMAT.md:{line}: {} has `error` or `warning`, not both",
            example.label
        );
        assert!(
            example.notes.is_some()
                || example.error.is_some()
                || !example.files.iter().any(|(f, _)| is_text_file(f)),
            "FORMAT.md:{line}: {} has Anki text files: say how many notes it gives with `notes=N`",
            example.label
        );
    }
    found
}

/// Every fenced block of `doc` with attributes in its info string.
fn blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((marker, len, info)) = opens_fence(lines[i]) else {
            // CommonMark (and opens_fence) refuse a backtick fence whose info string holds a
            // backtick: such an "example" would silently not be one.
            let line = lines[i].trim_start();
            assert!(
                !(line.starts_with("```") && line.contains('=')),
                "FORMAT.md:{}: no backticks in an example's attributes: {}",
                i + 1,
                lines[i]
            );
            i += 1;
            continue;
        };
        let doc_line = i + 1;
        let close = (i + 1..lines.len())
            .find(|&j| closes_fence(lines[j], (marker, len)))
            .unwrap_or_else(|| panic!("FORMAT.md:{doc_line}: code block is never closed"));
        let (lang, attrs) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
        if !attrs.trim().is_empty() {
            assert_eq!(
                marker, '`',
                "FORMAT.md:{doc_line}: examples use backtick fences"
            );
            let text = lines[i + 1..close]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect();
            found.push(block(doc_line, lang, attrs, text));
        }
        i = close + 1;
    }
    found
}

/// One example block from its info string and text.
fn block(doc_line: usize, lang: &str, attrs: &str, text: String) -> Block {
    let mut block = Block {
        doc_line,
        lang: lang.to_string(),
        file: String::new(),
        example: None,
        error: None,
        warning: None,
        media: Vec::new(),
        notes: None,
        text,
    };
    for (key, value) in attributes(attrs, doc_line) {
        match key.as_str() {
            "file" => block.file = value,
            "example" => block.example = Some(value),
            "error" => block.error = Some(value),
            "warning" => block.warning = Some(value),
            "media" => block.media = value.split_whitespace().map(String::from).collect(),
            "notes" => {
                block.notes = Some(value.parse().unwrap_or_else(|_| {
                    panic!("FORMAT.md:{doc_line}: `notes` takes a number, not {value:?}")
                }))
            }
            other => panic!("FORMAT.md:{doc_line}: unknown attribute `{other}`"),
        }
    }
    let file = &block.file;
    assert!(
        !file.is_empty()
            && !file.starts_with('/')
            && !file.contains('\\')
            && file.split('/').all(|c| !matches!(c, "" | "." | "..")),
        "FORMAT.md:{doc_line}: a block needs `file=PATH`, relative to the source folder, got {file:?}"
    );
    assert!(
        (block.lang == "markdown") == file.ends_with(".md"),
        "FORMAT.md:{doc_line}: a `markdown` block has `file=NAME.md`, other blocks another file name; got `{}` with {file:?}",
        block.lang
    );
    assert!(
        block.example.is_some() || (block.lang == "markdown" && !file.starts_with('.')),
        "FORMAT.md:{doc_line}: a `{}` block with `file={file}` needs `example=NAME`",
        block.lang
    );
    assert!(
        block.example.as_ref().is_none_or(|n| !n.trim().is_empty()),
        "FORMAT.md:{doc_line}: empty example name"
    );
    assert!(
        [&block.error, &block.warning]
            .iter()
            .all(|f| f.as_ref().is_none_or(|f| !f.trim().is_empty())),
        "FORMAT.md:{doc_line}: empty error or warning fragment"
    );
    block
}

/// Files read as Anki text files rather than Markdown card files.
fn is_text_file(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| ["csv", "tsv", "txt"].contains(&ext.to_ascii_lowercase().as_str()))
}

/// The notes a card file should give: `## ` headings outside front matter and code.
fn heading_count(text: &str) -> usize {
    let mut lines = text.lines().peekable();
    if lines.peek().map(|l| l.trim_end()) == Some("---") {
        lines.next();
        for line in lines.by_ref() {
            if matches!(line.trim_end(), "---" | "...") {
                break;
            }
        }
    }
    let mut fence: Option<(char, usize)> = None;
    let mut count = 0;
    for line in lines {
        if let Some((c, len)) = fence {
            if closes_fence(line, (c, len)) {
                fence = None;
            }
        } else if let Some((c, len, _)) = opens_fence(line) {
            fence = Some((c, len));
        } else if line == "##" || line.starts_with("## ") || line.starts_with("##\t") {
            count += 1;
        }
    }
    count
}

/// Bytes for a media file the example refers to.
fn media_bytes(name: &str) -> Vec<u8> {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "png" => PNG.to_vec(),
        // One silent MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, 417 bytes.
        "mp3" => {
            let mut frame = vec![0xff, 0xfb, 0x90, 0x64];
            frame.resize(417, 0);
            frame
        }
        _ => format!("media file {name} for an ankideck doc example\n").into_bytes(),
    }
}

/// A fresh folder for one example, under `target/`.
fn example_dir(root: &Path, index: usize, example: &Example) -> PathBuf {
    let name: String = example
        .label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = root.join(format!("{index:02}-{name}"));
    fresh_dir(&dir);
    dir
}

/// Number of notes in a built package.
fn notes_in_package(package: &Path, dir: &Path) -> Result<usize, String> {
    let file = fs::File::open(package).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut entry = zip
        .by_name("collection.anki2")
        .map_err(|e| format!("no collection.anki2: {e}"))?;
    let db_path = dir.join("collection.anki2");
    let mut db_file = fs::File::create(&db_path).map_err(|e| e.to_string())?;
    std::io::copy(&mut entry, &mut db_file).map_err(|e| e.to_string())?;
    drop(db_file);
    let db = rusqlite::Connection::open(&db_path).map_err(|e| e.to_string())?;
    let count: i64 = db
        .query_row("SELECT count(*) FROM notes", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    usize::try_from(count).map_err(|e| e.to_string())
}

/// Runs the `ankideck` binary on an example's folder.
fn ankideck(args: &[&std::ffi::OsStr]) -> Result<std::process::Output, String> {
    ankideck_command()
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .map_err(|e| format!("cannot run ankideck: {e}"))
}

impl Example {
    /// The severity the example must report, with its fragment.
    fn expected(&self) -> Option<(&'static str, &str)> {
        match (&self.error, &self.warning) {
            (Some(fragment), _) => Some(("error", fragment)),
            (None, Some(fragment)) => Some(("warning", fragment)),
            (None, None) => None,
        }
    }

    /// The notes the package must hold: `notes=N`, else one per `## ` heading of the
    /// card files that the tool reads (not those in `.hidden` or `_special` folders, nor
    /// `.hidden` files).
    fn expected_notes(&self) -> usize {
        self.notes.unwrap_or_else(|| {
            self.files
                .iter()
                .filter(|(file, _)| {
                    let mut parts = file.rsplit('/');
                    let name = parts.next().unwrap_or_default();
                    file.ends_with(".md")
                        && !name.starts_with('.')
                        && parts.all(|dir| !dir.starts_with(['.', '_']))
                })
                .map(|(_, text)| heading_count(text))
                .sum()
        })
    }
}

/// `ankideck check --format json` must report what the example expects, and write nothing.
fn check_agrees(example: &Example, dir: &Path) -> Result<(), String> {
    let output = ankideck(&[
        "check".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut reported = Vec::new();
    for line in stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("check printed a line that is not JSON ({e}): {line}"))?;
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
        reported.push((text("severity"), text("message")));
    }
    let expected_code = if example.error.is_some() { 1 } else { 0 };
    if output.status.code() != Some(expected_code) {
        return Err(format!(
            "check: expected exit status {expected_code}, got {:?}:\n{stdout}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let agrees = match example.expected() {
        None => reported.is_empty(),
        Some((severity, fragment)) => reported
            .iter()
            .any(|(s, m)| s == severity && m.contains(fragment)),
    };
    if !agrees {
        return Err(format!("check reported something else:\n{stdout}"));
    }
    if dir.join("ankideck.lock").exists() {
        return Err("check wrote ankideck.lock".into());
    }
    Ok(())
}

/// Checks and builds one example; `Err` says what is wrong.
fn check(example: &Example, dir: &Path) -> Result<(), String> {
    for (file, text) in &example.files {
        write_file(&dir.join(file), text.as_bytes());
    }
    for media in &example.media {
        write_file(&dir.join(media), &media_bytes(media));
    }
    check_agrees(example, dir)?;
    let out = dir.join("out.apkg");
    let output = ankideck(&[
        "build".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ])?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    if let Some(fragment) = &example.error {
        if code != Some(1) {
            return Err(format!("expected exit status 1, got {code:?}:\n{stderr}"));
        }
        if !stderr.contains(fragment.as_str()) {
            return Err(format!("stderr does not contain {fragment:?}:\n{stderr}"));
        }
        if out.exists() {
            return Err("a failed build wrote a package".into());
        }
        return Ok(());
    }
    if code != Some(0) {
        return Err(format!("build failed ({code:?}):\n{stderr}"));
    }
    if !out.is_file() {
        return Err("build succeeded but wrote no package".into());
    }
    match &example.warning {
        Some(fragment) if !stderr.contains(fragment.as_str()) => {
            return Err(format!("stderr does not contain {fragment:?}:\n{stderr}"));
        }
        None if stderr.contains("warning:") => {
            return Err(format!(
                "the build printed a warning; mark the example with warning=\"…\":\n{stderr}"
            ));
        }
        _ => {}
    }
    let expected = example.expected_notes();
    let notes = notes_in_package(&out, dir)?;
    if notes != expected {
        let why = match example.notes {
            Some(_) => "says `notes`",
            None => "has `## ` headings",
        };
        return Err(format!(
            "the package holds {notes} notes, the example {why}: {expected}"
        ));
    }
    Ok(())
}

#[test]
fn every_example_in_the_format_doc_builds_as_documented() {
    let doc = read_doc();
    let examples = examples(&doc);
    assert!(
        examples.len() >= 8,
        "docs/FORMAT.md has only {} tested examples",
        examples.len()
    );
    assert!(
        examples.iter().any(|e| e.expected().is_none())
            && examples.iter().any(|e| e.warning.is_some())
            && examples.iter().any(|e| e.error.is_some()),
        "docs/FORMAT.md needs examples that build cleanly, build with a warning, and fail"
    );
    assert!(
        examples.iter().any(|e| e.files.len() == 1
            && e.files[0].1 == ISSUE_EXAMPLE
            && e.expected().is_none()
            && e.media.iter().any(|m| m.ends_with("img/loss.png"))),
        "docs/FORMAT.md must hold the feature request's example verbatim, with media=\"img/loss.png\""
    );
    let clean_with = |wanted: &dyn Fn(&str) -> bool| {
        examples
            .iter()
            .any(|e| e.expected().is_none() && e.files.iter().any(|(f, _)| wanted(f)))
    };
    assert!(
        clean_with(&|f| f.starts_with("_notetypes/") && f.ends_with("/notetype.toml"))
            && clean_with(&is_text_file)
            && clean_with(&|f| f.ends_with("_deck.toml")),
        "docs/FORMAT.md needs examples of a custom note type, an Anki text file and a _deck.toml that build cleanly"
    );

    let root = temp_dir("format-doc");
    let mut failures = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let dir = example_dir(&root, index, example);
        if let Err(why) = check(example, &dir) {
            let lines: Vec<String> = example.doc_lines.iter().map(usize::to_string).collect();
            failures.push(format!(
                "docs/FORMAT.md:{} ({}, folder {}): {why}",
                lines.join(","),
                example.label,
                dir.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples in docs/FORMAT.md do not behave as documented:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
    // Keep the folders of a failing run for inspection; clean up after a passing one.
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn the_format_doc_lists_every_stock_note_type() {
    let doc = read_doc();
    for stock in Stock::ALL {
        let notetype = stock.notetype();
        let fields: Vec<String> = notetype
            .field_names()
            .iter()
            .map(|f| format!("`{f}`"))
            .collect();
        let row = format!(
            "| `{}` | {} | {} |",
            stock.key(),
            stock.name(),
            fields.join(", ")
        );
        assert!(
            doc.contains(&row),
            "docs/FORMAT.md has no table row starting {row:?}"
        );
    }
}

/// The source text of a file of the crate.
fn source_file(path: &str) -> String {
    let path = workspace().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text between `pub enum NAME {` and its closing `}` in `source`, the text of the
/// file `path`.
fn enum_body<'a>(source: &'a str, path: &str, name: &str) -> &'a str {
    source
        .split_once(&format!("pub enum {name} {{\n"))
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .map(|(body, _)| body)
        .unwrap_or_else(|| panic!("{path} has `pub enum {name} {{ … }}`"))
}

/// In `source`, the string literals that the `pub fn hint(` after `item` returns (an arm
/// `=> "…"` or `=> { "…" }`), and the `#[error("…")]` messages without placeholders.
/// Read from the source text, so that a new problem shows up here without this test
/// having to name it.
fn hints_and_fixed_messages_in(source: &str, item: &str) -> (Vec<String>, Vec<String>) {
    let literal = r#""((?:[^"\\]|\\.)*)""#;
    let unescape = |s: &str| s.replace("\\\"", "\"").replace("\\\\", "\\");
    let hint_fn = source
        .split_once(item)
        .and_then(|(_, rest)| rest.split_once("pub fn hint("))
        .map(|(_, rest)| rest.split_once("\n    }\n").map_or(rest, |(body, _)| body))
        .unwrap_or_else(|| panic!("no `pub fn hint(` after `{item}`"));
    let arm = regex::Regex::new(&format!(r"=>\s*\{{?\s*{literal}")).expect("valid regex");
    let hints = arm
        .captures_iter(hint_fn)
        .map(|c| unescape(&c[1]))
        .collect();
    let attribute =
        regex::Regex::new(&format!(r"#\[error\(\s*{literal}\s*\)\]")).expect("valid regex");
    let messages = attribute
        .captures_iter(source)
        .map(|c| unescape(&c[1]))
        .filter(|m| !m.contains('{'))
        .collect();
    (hints, messages)
}

#[test]
fn the_format_doc_quotes_every_hint() {
    let doc = read_doc();
    let mut missing = Vec::new();
    // `Problem::hint`, and `RichProblem::hint` that it defers to for `Problem::Rich`.
    for (file, item, at_least) in [
        ("src/error.rs", "impl Problem {", 15),
        ("src/error.rs", "impl RichProblem {", 5),
    ] {
        let (hints, messages) = hints_and_fixed_messages_in(&source_file(file), item);
        assert!(
            hints.len() >= at_least,
            "found only {} hints in {file}: {hints:?}",
            hints.len()
        );
        missing.extend(
            hints
                .into_iter()
                .chain(messages)
                .filter(|h| !doc.contains(h.as_str()))
                .map(|h| format!("  {file}: {h}")),
        );
    }
    assert!(
        missing.is_empty(),
        "docs/FORMAT.md does not quote these hints or messages:\n{}",
        missing.join("\n")
    );
}

/// `MissingMedia` → `missing-media`, as `Problem::code` names problems for tools.
fn kebab(variant: &str) -> String {
    let mut code = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            code.push('-');
        }
        code.push(c.to_ascii_lowercase());
    }
    code
}

#[test]
fn the_format_doc_names_every_problem_code() {
    let sample = ankideck::Problem::MissingMedia {
        reference: "a.png".into(),
        path: PathBuf::from("a.png"),
        nearest: None,
    };
    assert_eq!(
        sample.code(),
        kebab("MissingMedia"),
        "kebab() follows Problem::code"
    );

    let source = source_file("src/error.rs");
    let body = enum_body(&source, "src/error.rs", "Problem");
    let variant = regex::Regex::new(r"(?m)^    ([A-Z][A-Za-z0-9]*)\b").expect("valid regex");
    // `Rich` wraps `RichProblem`, whose variants name the codes: `rich-csv`, ….
    let mut codes: Vec<String> = variant
        .captures_iter(body)
        .map(|c| kebab(&c[1]))
        .filter(|code| code != "rich")
        .collect();
    let rich = source_file("src/error.rs");
    let rich_body = enum_body(&rich, "src/error.rs", "RichProblem");
    codes.extend(
        variant
            .captures_iter(rich_body)
            .map(|c| format!("rich-{}", kebab(&c[1]))),
    );
    let sample = ankideck::Problem::Rich(Box::new(ankideck::error::RichProblem::Csv("x".into())));
    assert_eq!(sample.code(), "rich-csv", "rich codes follow Problem::code");
    assert!(
        codes.len() >= 20,
        "found only {} problems: {codes:?}",
        codes.len()
    );
    let doc = read_doc();
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !doc.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/FORMAT.md does not name these problem codes: {missing:?}"
    );
}

#[test]
fn the_example_parser_reads_attributes_and_counts_headings() {
    let doc = "```markdown file=a.md media=\"img/x.png y.mp3\"\n## Q\n```\n\n````markdown file=b/c.md error=\"no field\"\n```\n## not a note\n```\n## R\n````\n\n```text\n```markdown file=hidden.md\n```\n\n```markdown file=d.md warning=\"unknown setting\"\n## S\nx: 1\n```\n";
    let found = examples(doc);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].media, ["img/x.png", "y.mp3"]);
    assert_eq!(found[0].files, [("a.md".to_string(), "## Q\n".to_string())]);
    assert_eq!(found[0].expected(), None);
    assert_eq!(found[0].expected_notes(), 1);
    assert_eq!(found[1].files[0].0, "b/c.md");
    assert_eq!(found[1].expected(), Some(("error", "no field")));
    assert_eq!(found[1].expected_notes(), 1);
    assert_eq!(found[2].expected(), Some(("warning", "unknown setting")));
    assert_eq!(
        heading_count("---\n## yaml comment\n---\n# T\n## A\n##\n##B\n"),
        2
    );
}

#[test]
fn the_example_parser_groups_the_files_of_an_example() {
    let doc = "```toml example=vocab file=\"_notetypes/Code Cloze/notetype.toml\" media=_font.woff2\nkind = \"cloze\"\n```\n\n```markdown file=alone.md\n## A\n```\n\n```html example=vocab file=\"_notetypes/Code Cloze/Cloze.front.html\"\n{{cloze:Code}}\n```\n\n````markdown example=vocab file=\"deep/area one.md\" warning=\"is empty\"\n## T\n```python\n## x\n```\n\n## U\n````\n\n```text example=words file=words.csv notes=2 error=\"first field\"\n;b\n```\n";
    let found = examples(doc);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].label, "example=vocab");
    let files: Vec<&str> = found[0].files.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "_notetypes/Code Cloze/notetype.toml",
            "_notetypes/Code Cloze/Cloze.front.html",
            "deep/area one.md"
        ]
    );
    assert_eq!(found[0].files[1].1, "{{cloze:Code}}\n");
    assert_eq!(found[0].media, ["_notetypes/Code Cloze/_font.woff2"]);
    assert_eq!(found[0].expected(), Some(("warning", "is empty")));
    assert_eq!(found[0].expected_notes(), 2);
    assert_eq!(found[0].doc_lines, [1, 9, 13]);
    assert_eq!(found[1].label, "file=alone.md");
    assert_eq!(found[2].notes, Some(2));
    let skipped = examples("```markdown example=s file=_drafts/a.md\n## A\n```\n\n```markdown example=s file=.old/b.md\n## B\n```\n\n```markdown example=s file=sub/_c.md\n## C\n```\n");
    assert_eq!(skipped[0].expected_notes(), 1, "only sub/_c.md is read");
    assert_eq!(found[2].expected(), Some(("error", "first field")));
}

#[test]
#[should_panic(expected = "needs `example=NAME`")]
fn a_file_that_is_not_a_card_file_needs_an_example_name() {
    examples("```toml file=_deck.toml\ndeck = \"a\"\n```\n");
}

#[test]
#[should_panic(expected = "say how many notes it gives")]
fn an_example_with_a_text_file_says_how_many_notes_it_gives() {
    examples("```text example=w file=w.csv\na;b\n```\n");
}
