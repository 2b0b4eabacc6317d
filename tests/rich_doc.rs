//! Keeps docs/rich-cards.md honest: each `## ` section's files (fenced blocks whose info
//! string ends in `file=PATH`; PATH may contain spaces) form one source folder, which must
//! build with the real binary into a package with at least one note.

use std::fs;
use std::path::Path;
use std::process::Command;

struct Example {
    section: String,
    files: Vec<(String, String)>,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut fence: Option<(usize, Option<String>, String)> = None;
    for line in doc.lines() {
        if let Some((len, file, text)) = fence.as_mut() {
            let run = line.chars().take_while(|&c| c == '`').count();
            if run >= *len && line.trim_start_matches('`').trim().is_empty() {
                if let (Some(file), Some(example)) = (file.take(), out.last_mut()) {
                    example.files.push((file, std::mem::take(text)));
                }
                fence = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        let run = line.chars().take_while(|&c| c == '`').count();
        if run >= 3 {
            let file = line.split_once("file=").map(|(_, f)| f.trim().to_string());
            fence = Some((run, file, String::new()));
        } else if let Some(title) = line.strip_prefix("## ") {
            out.push(Example {
                section: title.to_string(),
                files: Vec::new(),
            });
        }
    }
    out.retain(|e| !e.files.is_empty());
    out
}

#[test]
fn every_example_in_the_rich_cards_doc_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("docs/rich-cards.md")).unwrap();
    let examples = examples(&doc);
    let sections: Vec<&str> = examples.iter().map(|e| e.section.as_str()).collect();
    assert_eq!(
        sections,
        [
            "Code",
            "Custom note types",
            "Anki's text files (CSV, TSV)",
            "Deck settings"
        ]
    );
    for (n, example) in examples.iter().enumerate() {
        let dir = root
            .join("target/test-tmp")
            .join(format!("rich-doc-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let src = dir.join("src");
        for (file, text) in &example.files {
            let path = src.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let out = dir.join("out.apkg");
        let result = Command::new(env!("CARGO_BIN_EXE_ankideck"))
            .args(["build", src.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            result.status.success(),
            "example `{}` does not build:\n{}",
            example.section,
            String::from_utf8_lossy(&result.stderr)
        );
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            !stdout.contains(": 0 notes"),
            "{}: {stdout}",
            example.section
        );
    }
}
