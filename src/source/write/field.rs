//! How one note is spelled in a card file: each field as Markdown when the renderer gives
//! back exactly its HTML, else as HTML, else as a `~~~ verbatim` block; and the check,
//! with the card-file parser itself, that the text reads back as those fields.

use crate::notetype::cloze;
use crate::source::markdown;
use crate::source::parse::{self, opens_fence, VERBATIM, VERBATIM_ESCAPED};
use std::fmt::Write as _;

/// The settings lines of a note (without the heading), already spelled.
pub(super) struct Head<'a> {
    pub settings: &'a [(String, String)],
}

/// A note's text in a card file, its fields read back byte for byte; `markdown` says
/// whether the file reads its notes as Markdown (else `format: html`), `in_cloze` whether
/// the note's type is a cloze type. A field whose deletions the reader would question
/// ([`cloze::questioned`]) is written as a block, which it takes as Anki stores it.
pub(super) fn note_text(
    fields: &[String],
    names: &[&str],
    head: &Head,
    (markdown, in_cloze): (bool, bool),
) -> Result<String, String> {
    let mut verbatim = vec![false; fields.len()];
    for (i, field) in fields.iter().enumerate() {
        verbatim[i] = needs_escape(field)
            || cloze::questioned(field, in_cloze)
            || (markdown && !renders_to_itself(field, i == 0));
    }
    for _ in 0..2 {
        let text = spell(fields, names, head, &verbatim);
        match mismatches(&text, fields, names, &verbatim) {
            Some(bad) if bad.is_empty() => return Ok(text),
            Some(bad) => bad.into_iter().for_each(|i| verbatim[i] = true),
            None => verbatim.iter_mut().for_each(|v| *v = true),
        }
    }
    let text = spell(fields, names, head, &verbatim);
    match mismatches(&text, fields, names, &verbatim) {
        Some(bad) if bad.is_empty() => Ok(text),
        _ => Err("its fields cannot be written so that they read back unchanged".into()),
    }
}

/// Whether Markdown gives back `html` itself (inline for the first field): then the
/// field can be written as it is in a Markdown note.
pub(super) fn renders_to_itself(html: &str, first: bool) -> bool {
    let mut same = |reference: &str| Ok(reference.to_string());
    let rendered = match first {
        true => markdown::render_inline(html, &mut same),
        false if html.is_empty() => return true,
        false => markdown::render_block(html, &mut same),
    };
    rendered.is_ok_and(|r| r == html)
}

/// Characters a card file cannot hold (control characters other than tab and line
/// feed): such a field is written escaped.
fn needs_escape(field: &str) -> bool {
    field
        .chars()
        .any(|c| (c.is_control() && c != '\t' && c != '\n') || c == '\u{feff}')
}

/// The note's text, each field written plainly or, where `verbatim` says, as a block.
fn spell(fields: &[String], names: &[&str], head: &Head, verbatim: &[bool]) -> String {
    let mut out = String::new();
    let first = fields.first().map_or("", String::as_str);
    if verbatim.first() == Some(&true) {
        let _ = writeln!(out, "## {}", label(first));
    } else {
        let _ = writeln!(out, "## {first}");
    }
    for (key, value) in head.settings {
        let _ = writeln!(out, "{key}: {value}");
    }
    if verbatim.first() == Some(&true) {
        let _ = writeln!(out, "### {}\n{}", names[0], block(first));
    }
    for (i, field) in fields.iter().enumerate().skip(1) {
        if field.is_empty() {
            continue;
        }
        let text = match verbatim[i] {
            true => block(field),
            false => field.clone(),
        };
        // The body follows a blank line, so that a first line shaped like a setting is
        // text; other fields are `### ` sections, and so is the second when the first
        // is one (a body after a section would be part of it).
        if i == 1 && verbatim.first() != Some(&true) {
            let _ = writeln!(out, "\n{text}");
        } else {
            let _ = writeln!(out, "\n### {}\n{text}", names[i]);
        }
    }
    out
}

/// A heading for a first field written as a block: its first line of text, or `…`.
fn label(field: &str) -> String {
    let text = crate::text::strip_html(field);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    let mut label: String = line.unwrap_or("…").chars().take(60).collect();
    label = label.replace("{{", "{ {").replace(['\t', '\u{7f}'], " ");
    label = label.chars().filter(|c| !c.is_control()).collect();
    if label.trim().is_empty() || label.trim_end().ends_with('#') {
        label.push_str(" …");
    }
    label.trim().to_string()
}

/// A field as a `~~~ verbatim` block, with a fence longer than any run of `~` that
/// starts one of its lines; escaped when it holds characters a card file cannot.
fn block(field: &str) -> String {
    let longest = field
        .split('\n')
        .filter_map(|l| opens_fence(l).map(|(c, len, _)| if c == '~' { len } else { 0 }))
        .chain(field.split('\n').map(|l| {
            let t = l.trim_start_matches(' ');
            t.chars().take_while(|&c| c == '~').count()
        }))
        .max()
        .unwrap_or(0);
    let fence = "~".repeat((longest + 1).max(3));
    let (info, text) = if needs_escape(field) {
        (VERBATIM_ESCAPED, escape(field))
    } else {
        (VERBATIM, field.to_string())
    };
    format!("{fence} {info}\n{text}\n{fence}")
}

/// `\` as `\\`, characters a card file cannot hold as `\u{HEX}`.
fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if needs_escape(&c.to_string()) => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Parses `text` as the card-file reader does and compares what each field reads back
/// as with `fields` (for fields written plainly, the text itself; Markdown was checked
/// before): the indices of the fields that differ, or `None` if it is not one note.
fn mismatches(
    text: &str,
    fields: &[String],
    names: &[&str],
    verbatim: &[bool],
) -> Option<Vec<usize>> {
    let probe = format!("{text}\n## end\n");
    let (parsed, problems) = parse::parse(&probe);
    if parsed.notes.len() != 2 || parsed.notes[1].heading.text != "end" {
        return None;
    }
    if !problems.is_empty() {
        // A line the parser warns about (`##x`, `tpye: x`): written as blocks, it is
        // none. Which field holds it does not matter enough to find out.
        let plain =
            (0..fields.len()).filter(|&i| !verbatim[i] && (i == 0 || !fields[i].is_empty()));
        return Some(plain.collect());
    }
    let note = &parsed.notes[0];
    let section = |name: &str| {
        let found = note.sections.iter().filter(|(n, _)| n.text == name);
        let texts: Vec<&str> = found.map(|(_, t)| t.text.as_str()).collect();
        match texts.as_slice() {
            [] => Some(""),
            [one] => Some(*one),
            _ => None,
        }
    };
    let mut bad = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let read = match i {
            0 if verbatim[0] => section(names[0]).and_then(parse::verbatim),
            0 if field.is_empty() => None,
            0 => (section(names[0]) == Some("")).then(|| note.heading.text.clone()),
            1 if !verbatim[0] => Some(note.body.text.clone()),
            _ => section(names[i]).map(str::to_string),
        };
        let read = match (i, verbatim[i], read) {
            (0, _, read) => read,
            (_, true, Some(text)) => parse::verbatim(&text),
            (_, false, read) => read,
            (_, true, None) => None,
        };
        if read.as_deref() != Some(field.as_str()) {
            bad.push(i);
        }
    }
    let known = |n: &str| names.contains(&n);
    if note.sections.iter().any(|(n, _)| !known(&n.text)) {
        bad.push(fields.len().saturating_sub(1));
    }
    Some(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(text: &str, names: &[&str]) -> Vec<String> {
        let (parsed, problems) = parse::parse(text);
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        let note = &parsed.notes[0];
        let mut fields = vec![String::new(); names.len()];
        fields[0] = note.heading.text.clone();
        if names.len() > 1 {
            fields[1] = parse::verbatim(&note.body.text).unwrap_or(note.body.text.clone());
        }
        for (name, t) in &note.sections {
            let i = names.iter().position(|n| *n == name.text).unwrap();
            fields[i] = parse::verbatim(&t.text).unwrap_or(t.text.clone());
        }
        fields
    }

    /// Fields that a plain spelling would change come back byte for byte.
    #[test]
    fn odd_fields_read_back_exactly() {
        let names = ["Front", "Back", "Extra"];
        let settings = vec![("id".to_string(), "abc".to_string())];
        let head = Head {
            settings: &settings,
        };
        for fields in [
            ["plain", "tags: x", ""],
            [
                "a",
                "## not a note\n### nor a field",
                "\n\nlead and trail  \n\n",
            ],
            ["b", "~~~ verbatim\nx\n~~~", "```\nunclosed fence"],
            ["c", "line\r\nwith CR \\u{D}", "\u{1}"],
            ["d", "", "<!-- comment -->\n{{c1::x}}"],
        ] {
            let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            let text = note_text(&fields, &names, &head, (false, false))
                .unwrap_or_else(|e| panic!("{fields:?}: {e}"));
            assert_eq!(read_back(&text, &names)[1..], fields[1..], "{text}");
        }
    }

    #[test]
    fn first_fields_that_are_no_heading_go_below_it() {
        let names = ["Front", "Back"];
        let head = Head { settings: &[] };
        for first in ["", " lead", "two\nlines", "C #", "trail "] {
            let fields = vec![first.to_string(), "b".to_string()];
            let text = note_text(&fields, &names, &head, (false, false)).unwrap();
            let (parsed, _) = parse::parse(&text);
            let Some((_, section)) = parsed.notes[0].sections.first() else {
                panic!("{first:?}: {text}")
            };
            assert_eq!(
                parse::verbatim(&section.text).as_deref(),
                Some(first),
                "{text}"
            );
        }
    }

    #[test]
    fn markdown_only_when_it_renders_to_the_same_html() {
        assert!(renders_to_itself("Paris", true));
        assert!(!renders_to_itself("2*3*4", true));
        assert!(renders_to_itself("", false));
        assert!(!renders_to_itself("Paris", false));
    }
}
