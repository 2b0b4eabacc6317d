//! How one note is spelled in a card file: each field as Markdown that renders back to
//! exactly its HTML ([`super::spelling`]), else as HTML, else as a `~~~ verbatim` block;
//! and the check, with the card-file parser itself, that the text reads back as those
//! fields.

use crate::notetype::cloze;
use crate::source::parse::{self, opens_fence, VERBATIM, VERBATIM_ESCAPED};
use std::fmt::Write as _;

/// The settings lines of a note (without the heading), already spelled.
pub(super) struct Head<'a> {
    pub settings: &'a [(String, String)],
}

/// A note's text in a card file, its fields read back byte for byte. `plain` is each
/// field's spelling as text (its Markdown in a Markdown note, the HTML itself under
/// `format: html`), `None` for a field only a `~~~ verbatim` block keeps; fields whose
/// plain spelling the card-file parser would not give back become blocks too, and so do
/// fields whose deletions the reader would question ([`cloze::questioned`]; `in_cloze`:
/// the note's type is a cloze type): a block takes them as Anki stores them.
pub(super) fn note_text(
    fields: &[String],
    mut plain: Vec<Option<String>>,
    names: &[&str],
    head: &Head,
    in_cloze: bool,
) -> Result<String, String> {
    for (spelling, field) in plain.iter_mut().zip(fields) {
        if needs_escape(field) || cloze::questioned(field, in_cloze) {
            *spelling = None;
        }
    }
    for _ in 0..2 {
        let text = spell(fields, names, head, &plain);
        match mismatches(&text, fields, names, &plain) {
            Some(bad) if bad.is_empty() => return Ok(text),
            Some(bad) => bad.into_iter().for_each(|i| plain[i] = None),
            None => plain.iter_mut().for_each(|p| *p = None),
        }
    }
    let text = spell(fields, names, head, &plain);
    match mismatches(&text, fields, names, &plain) {
        Some(bad) if bad.is_empty() => Ok(text),
        _ => Err("its fields cannot be written so that they read back unchanged".into()),
    }
}

/// Characters a card file cannot hold (control characters other than tab and line
/// feed): such a field is written escaped.
fn needs_escape(field: &str) -> bool {
    let control = |c: char| c.is_control() && c != '\t' && c != '\n';
    (crate::text::may_hold_control(field) && field.chars().any(control))
        || field.contains('\u{feff}')
}

/// The note's text, each field written plainly where `plain` has its spelling, else as
/// a block.
fn spell(fields: &[String], names: &[&str], head: &Head, plain: &[Option<String>]) -> String {
    let mut out = String::new();
    let first = fields.first().map_or("", String::as_str);
    let block_first = !matches!(plain.first(), Some(Some(_)));
    match plain.first() {
        Some(Some(text)) => _ = writeln!(out, "## {text}"),
        _ => _ = writeln!(out, "## {}", label(first)),
    }
    for (key, value) in head.settings {
        let _ = writeln!(out, "{key}: {value}");
    }
    if block_first {
        let _ = writeln!(out, "### {}\n{}", names[0], block(first));
    }
    for (i, field) in fields.iter().enumerate().skip(1) {
        if field.is_empty() {
            continue;
        }
        let text = match &plain[i] {
            Some(text) => text.clone(),
            None => block(field),
        };
        // The body follows a blank line, so that a first line shaped like a setting is
        // text; other fields are `### ` sections, and so is the second when the first
        // is one (a body after a section would be part of it).
        if i == 1 && !block_first {
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
    // Nor a miswritten one (`{c1::`, all that can be left): its colons set apart.
    for (range, _) in cloze::miswritten_openers(&label).into_iter().rev() {
        let colon = label[..range.end]
            .chars()
            .next_back()
            .map_or(0, char::len_utf8);
        label.insert(range.end - colon, ' ');
    }
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
/// as with its plain spelling, or for a block with the field: the indices of the fields
/// that differ, or `None` if it is not one note. (That Markdown renders to the field was
/// checked before.)
fn mismatches(
    text: &str,
    fields: &[String],
    names: &[&str],
    plain: &[Option<String>],
) -> Option<Vec<usize>> {
    let verbatim: Vec<bool> = plain.iter().map(Option::is_none).collect();
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
        let expected = plain[i].as_deref().unwrap_or(field);
        let read = match i {
            0 if verbatim[0] => section(names[0]).and_then(parse::verbatim),
            0 if expected.is_empty() => None,
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
        if read.as_deref() != Some(expected) {
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

    fn html(fields: &[String]) -> Vec<Option<String>> {
        fields.iter().cloned().map(Some).collect()
    }

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
            let text = note_text(&fields, html(&fields), &names, &head, false)
                .unwrap_or_else(|e| panic!("{fields:?}: {e}"));
            assert_eq!(read_back(&text, &names)[1..], fields[1..], "{text}");
        }
    }

    /// A label holds no opener the reader would question, written right or not.
    #[test]
    fn labels_hold_no_cloze_opener() {
        let written = "{{C1::x}} {c1::y}} {c2：：z}} {{c3::w}}";
        let label = label(written);
        assert_eq!(label, "{ {C1: :x}} {c1: :y}} {c2： ：z}} { {c3: :w}}");
        assert!(!cloze::questioned(&label, false), "{label}");
    }

    #[test]
    fn first_fields_that_are_no_heading_go_below_it() {
        let names = ["Front", "Back"];
        let head = Head { settings: &[] };
        for first in ["", " lead", "two\nlines", "C #", "trail "] {
            let fields = vec![first.to_string(), "b".to_string()];
            let text = note_text(&fields, html(&fields), &names, &head, false).unwrap();
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
}
