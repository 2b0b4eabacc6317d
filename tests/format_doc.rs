//! Keeps docs/FORMAT.md honest: every example card file in it is built with the real
//! `ankideck` binary.
//!
//! An example is a fenced block whose opening line is
//!
//! ````text
//! ```markdown file=NAME.md
//! ```markdown file=NAME.md media="img/a.png b.mp3"
//! ```markdown file=NAME.md error="FRAGMENT"
//! ```markdown file=NAME.md warning="FRAGMENT"
//! ````
//!
//! (any fence of three or more backticks). Each is written to a fresh folder under
//! `target/`, together with the media files listed in `media`, checked with
//! `ankideck check <dir> --format json` and built with
//! `ankideck build <dir> -o <dir>/out.apkg`.
//!
//! - Without `error` or `warning`, the build must succeed without any warning, and the
//!   package must hold one note per `## ` heading of the example.
//! - With `warning`, the same, except that the build must print FRAGMENT on stderr.
//! - With `error`, the build must fail with exit status 1, print FRAGMENT on stderr and
//!   write nothing.
//!
//! `check` must agree: the same exit status, and a JSON line of the expected severity
//! whose message holds FRAGMENT (no line at all for a clean example).
//!
//! The test also checks that the doc lists every stock note type, every hint, fixed
//! message and problem code the tool prints, and that it holds the example from the
//! original feature request.

use ankideck::Stock;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The example every user sees first; it must stay in the doc and keep building.
const ISSUE_EXAMPLE: &str = "\
---
deck: NLP 面试题::深度学习基础
tags: [nlp, 面试题]
---

## 深度学习中,batch size 太小会带来什么问题?
id: batch-size-small

梯度**震荡**严重,不利于收敛;每个 epoch 的迭代次数多,耗时长。

## L1 正则化倾向于得到{{c1::稀疏}}解,L2 正则化得到的解更{{c2::平滑::形容词}}。

## 训练集大小为 $N$、mini-batch 大小为 $b$ 时,每个 epoch 要迭代多少次?
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

/// One example card file from the doc.
#[derive(Debug)]
struct Example {
    /// Line of the opening fence in docs/FORMAT.md, for messages.
    doc_line: usize,
    file: String,
    error: Option<String>,
    warning: Option<String>,
    media: Vec<String>,
    text: String,
}

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("FORMAT.md")
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

/// Every fenced block of `doc` whose info string is `markdown` plus attributes.
/// Fences are tracked so that a block shown inside another block is not an example.
fn examples(doc: &str) -> Vec<Example> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((marker, len, info)) = fence_open(lines[i]) else {
            // CommonMark (and fence_open) refuse a backtick fence whose info string holds a
            // backtick: such an "example" would silently not be one.
            assert!(
                !lines[i].trim_start().starts_with("```markdown "),
                "FORMAT.md:{}: no backticks in an example's attributes: {}",
                i + 1,
                lines[i]
            );
            i += 1;
            continue;
        };
        let doc_line = i + 1;
        let close = (i + 1..lines.len())
            .find(|&j| fence_closes(lines[j], marker, len))
            .unwrap_or_else(|| panic!("FORMAT.md:{doc_line}: code block is never closed"));
        if let Some(attrs) = info.strip_prefix("markdown ") {
            assert_eq!(
                marker, '`',
                "FORMAT.md:{doc_line}: examples use backtick fences"
            );
            let mut example = Example {
                doc_line,
                file: String::new(),
                error: None,
                warning: None,
                media: Vec::new(),
                text: lines[i + 1..close]
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect(),
            };
            for (key, value) in attributes(attrs, doc_line) {
                match key.as_str() {
                    "file" => example.file = value,
                    "error" => example.error = Some(value),
                    "warning" => example.warning = Some(value),
                    "media" => example.media = value.split_whitespace().map(String::from).collect(),
                    other => panic!("FORMAT.md:{doc_line}: unknown attribute `{other}`"),
                }
            }
            assert!(
                example.file.ends_with(".md") && !example.file.starts_with(['/', '.']),
                "FORMAT.md:{doc_line}: an example needs `file=NAME.md`, got {:?}",
                example.file
            );
            assert!(
                [&example.error, &example.warning]
                    .iter()
                    .all(|f| f.as_ref().is_none_or(|f| !f.trim().is_empty())),
                "FORMAT.md:{doc_line}: empty error or warning fragment"
            );
            assert!(
                example.error.is_none() || example.warning.is_none(),
                "FORMAT.md:{doc_line}: an example has `error` or `warning`, not both"
            );
            found.push(example);
        }
        i = close + 1;
    }
    found
}

/// An opening code fence: (character, length, info string).
fn fence_open(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|&x| x == c).count();
    let info = rest[len..].trim();
    (len >= 3 && !(c == '`' && info.contains('`'))).then_some((c, len, info))
}

fn fence_closes(line: &str, c: char, len: usize) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let run = rest.chars().take_while(|&x| x == c).count();
    indent <= 3 && run >= len && rest[run..].trim().is_empty()
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
            if fence_closes(line, c, len) {
                fence = None;
            }
        } else if let Some((c, len, _)) = fence_open(line) {
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
        .file
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = root.join(format!("{index:02}-{name}"));
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot clear {}: {e}", dir.display()));
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
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
    Command::new(env!("CARGO_BIN_EXE_ankideck"))
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
    write_file(&dir.join(&example.file), example.text.as_bytes());
    let card_dir = dir.join(&example.file);
    let card_dir = card_dir.parent().expect("file has a parent");
    for media in &example.media {
        write_file(&card_dir.join(media), &media_bytes(media));
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
    let expected = heading_count(&example.text);
    let notes = notes_in_package(&out, dir)?;
    if notes != expected {
        return Err(format!(
            "the package holds {notes} notes, the example has {expected} `## ` headings"
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
        examples.iter().any(|e| e.text == ISSUE_EXAMPLE
            && e.expected().is_none()
            && e.media.iter().any(|m| m == "img/loss.png")),
        "docs/FORMAT.md must hold the feature request's example verbatim, with media=\"img/loss.png\""
    );

    let root =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("format-doc-{}", std::process::id()));
    let mut failures = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let dir = example_dir(&root, index, example);
        if let Err(why) = check(example, &dir) {
            failures.push(format!(
                "docs/FORMAT.md:{} (file={}, folder {}): {why}",
                example.doc_line,
                example.file,
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
            stock.anki_name(),
            fields.join(", ")
        );
        assert!(
            doc.contains(&row),
            "docs/FORMAT.md has no table row starting {row:?}"
        );
    }
}

/// The string literals of `src/error.rs` that `Problem::hint` returns, and the
/// `#[error("…")]` messages without placeholders. Read from the source text, so that a
/// new problem shows up here without this test having to name it.
fn hints_and_fixed_messages() -> (Vec<String>, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("error.rs");
    let source =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let literal = r#""((?:[^"\\]|\\.)*)""#;
    let unescape = |s: &str| s.replace("\\\"", "\"").replace("\\\\", "\\");
    let hint_fn = source
        .split_once("pub fn hint(")
        .map(|(_, rest)| rest.split_once("\n    }\n").map_or(rest, |(body, _)| body))
        .expect("src/error.rs has `pub fn hint(`");
    let arm = regex::Regex::new(&format!("=>\\s*{literal}")).expect("valid regex");
    let hints: Vec<String> = arm
        .captures_iter(hint_fn)
        .map(|c| unescape(&c[1]))
        .collect();
    let attribute = regex::Regex::new(&format!(r"#\[error\({literal}\)\]")).expect("valid regex");
    let messages = attribute
        .captures_iter(&source)
        .map(|c| unescape(&c[1]))
        .filter(|m| !m.contains('{'))
        .collect();
    (hints, messages)
}

#[test]
fn the_format_doc_quotes_every_hint() {
    let doc = read_doc();
    let (hints, messages) = hints_and_fixed_messages();
    assert!(
        hints.len() >= 15,
        "found only {} hints in src/error.rs: {hints:?}",
        hints.len()
    );
    let missing: Vec<&String> = hints
        .iter()
        .chain(&messages)
        .filter(|h| !doc.contains(h.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/FORMAT.md does not quote these hints or messages of src/error.rs:\n{}",
        missing
            .iter()
            .map(|m| format!("  {m}"))
            .collect::<Vec<_>>()
            .join("\n")
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
    };
    assert_eq!(
        sample.code(),
        kebab("MissingMedia"),
        "kebab() follows Problem::code"
    );

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("error.rs");
    let source =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let body = source
        .split_once("pub enum Problem {\n")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .map(|(body, _)| body)
        .expect("src/error.rs has `pub enum Problem { … }`");
    let variant = regex::Regex::new(r"(?m)^    ([A-Z][A-Za-z0-9]*)\b").expect("valid regex");
    let codes: Vec<String> = variant.captures_iter(body).map(|c| kebab(&c[1])).collect();
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
    assert_eq!(found[0].text, "## Q\n");
    assert_eq!(found[0].expected(), None);
    assert_eq!(found[1].file, "b/c.md");
    assert_eq!(found[1].expected(), Some(("error", "no field")));
    assert_eq!(heading_count(&found[1].text), 1);
    assert_eq!(found[2].expected(), Some(("warning", "unknown setting")));
    assert_eq!(
        heading_count("---\n## yaml comment\n---\n# T\n## A\n##\n##B\n"),
        2
    );
}
