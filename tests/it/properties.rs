//! Property tests: no input panics the reader, and every `## ` heading outside code
//! fences ends up as a note or is reported as a problem, never dropped silently.

use crate::common;

use ankideck::source::{self, Sources};
use ankideck::{Diagnostic, Error, Problem, Severity};
use common::files::temp_dir;
use proptest::prelude::*;
use std::fs;

/// Lines that exercise the card syntax, mixed with arbitrary text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\n]{0,30}".prop_map(|t| format!("## {t}")),
        "[a-zA-Z 中文]{1,12}".prop_map(|t| format!("## {t}")),
        Just("##".to_string()),
        "[A-Za-z ]{0,12}".prop_map(|t| format!("### {t}")),
        Just("### Back Extra".to_string()),
        Just("```".to_string()),
        Just("~~~~".to_string()),
        Just("```python".to_string()),
        Just("---".to_string()),
        prop_oneof![
            Just("id"),
            Just("type"),
            Just("tags"),
            Just("deck"),
            Just("format"),
            Just("idd")
        ]
        .prop_flat_map(|k| "[a-z:{}\\- ]{0,12}".prop_map(move |v| format!("{k}: {v}"))),
        Just("type: cloze".to_string()),
        Just("type: reversed".to_string()),
        "[^\n]{0,40}".prop_map(|t| format!("{{{{c1::{t}}}}}")),
        "[a-z^_{}\\\\ ]{0,20}".prop_map(|t| format!("${t}$ and $${t}$$")),
        Just("<div><b>html</b>".to_string()),
        Just("![img](missing.png) [sound:missing.mp3]".to_string()),
        Just(String::new()),
        "[^\n]{0,60}",
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..40).prop_map(|lines| lines.join("\n"))
}

/// Line numbers of `## ` headings outside code fences, by a deliberately simple reading
/// of the rules (front matter skipped when closed).
fn heading_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut start = 0;
    if lines.first() == Some(&"---") {
        if let Some(end) = lines
            .iter()
            .skip(1)
            .position(|l| *l == "---" || *l == "...")
        {
            start = end + 2;
        } else {
            return Vec::new();
        }
    }
    let mut fence: Option<(char, usize)> = None;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        let c = line.chars().next();
        let run = line.chars().take_while(|x| Some(*x) == c).count();
        match (fence, c) {
            (Some((f, n)), Some(x))
                if x == f && run >= n && line[run * x.len_utf8()..].trim().is_empty() =>
            {
                fence = None
            }
            (Some(_), _) => {}
            (None, Some(x @ ('`' | '~')))
                if run >= 3 && !(x == '`' && line[run..].contains('`')) =>
            {
                fence = Some((x, run))
            }
            (None, _) if *line == "##" || line.starts_with("## ") || line.starts_with("##\t") => {
                out.push(i + 1)
            }
            _ => {}
        }
    }
    out
}

proptest! {
    // 300 cases by default; PROPTEST_CASES=20000 for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        // Failing cases are kept in properties.proptest-regressions beside this file
        // (proptest's default would be tests/proptest-regressions/, as main.rs is here).
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        source::parse_and_render(&text, &mut |r: &str| Ok(r.to_string()));
    }

    #[test]
    fn a_card_file_parses_in_parts_as_whole(doc in document(), size in 1usize..120) {
        prop_assert!(source::parts_parse_as_whole(&doc, size), "size {}:\n{}", size, doc);
    }

    #[test]
    fn every_heading_is_a_note_or_a_problem(doc in document()) {
        let dir = temp_dir("prop");
        fs::write(dir.join("cards.md"), &doc).unwrap();
        let headings = heading_lines(&doc);
        let sources = Sources::read_lenient(&dir).unwrap();
        let notes: Vec<usize> = sources.notes.iter().map(|n| n.line).collect();
        let errors: Vec<&Diagnostic> =
            sources.warnings.iter().filter(|d| d.problem.severity() == Severity::Error).collect();
        // A problem before the first heading (front matter, encoding) may stop the whole file.
        let first = headings.first().copied().unwrap_or(usize::MAX);
        let file_level = errors.iter().any(|d| d.line < first && !matches!(d.problem, Problem::TextOutsideNote));
        let mut ends: Vec<usize> = headings.iter().skip(1).copied().collect();
        ends.push(usize::MAX);
        for (&start, &end) in headings.iter().zip(&ends) {
            let is_note = notes.contains(&start);
            let has_error = errors.iter().any(|d| d.line >= start && d.line < end);
            prop_assert!(is_note || has_error || file_level,
                "heading at line {} is_note={} errors={:?}", start, is_note, errors);
        }
        prop_assert!(notes.iter().all(|n| headings.contains(n)), "notes {:?} not at headings {:?}", notes, headings);
        if errors.is_empty() {
            prop_assert_eq!(&notes, &headings);
            prop_assert!(Sources::read(&dir).is_ok());
        } else {
            prop_assert!(matches!(Sources::read(&dir), Err(Error::Input(_))));
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
