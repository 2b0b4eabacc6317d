//! Checks over notes that Anki would accept but that the author probably did not mean:
//! duplicates, empty fields the cards show, HTML left open.

use crate::error::{Diagnostic, Problem};
use crate::notetype::{Kind, NoteType};
use crate::source::SourceNote;
use crate::template::{self, Node};
use crate::text::{field_is_empty, strip_html_preserving_media_filenames};
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

/// Warnings about `notes`, in note order.
pub fn lint(notes: &[SourceNote]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut first_fields: HashMap<(i64, String, String), (usize, &SourceNote)> = HashMap::new();
    let mut shown: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (index, source) in notes.iter().enumerate() {
        let note = &source.note;
        let warn = |problem| Diagnostic::at_line_start(&source.file, source.line, problem);

        // Anki's duplicate check: same note type, same stripped first field.
        let key = (
            note.notetype_id,
            note.deck.to_lowercase(),
            strip_html_preserving_media_filenames(&note.fields[0]),
        );
        match first_fields.get(&key) {
            Some((_, other)) => {
                let other = format!("{}:{}", other.file.display(), other.line);
                out.push(warn(Problem::DuplicateFirstField { other }));
            }
            None => {
                first_fields.insert(key, (index, source));
            }
        }

        let shown = shown
            .entry(note.notetype_id)
            .or_insert_with(|| always_shown(&source.notetype));
        for (field, value) in source.notetype.fields.iter().zip(&note.fields) {
            if shown.contains(&field.name) && field_is_empty(value) {
                out.push(warn(Problem::EmptyField(field.name.clone())));
            }
        }
        for (field, value) in source.notetype.fields.iter().zip(&note.fields) {
            if let Some(detail) = unbalanced(value) {
                out.push(warn(Problem::UnbalancedHtml {
                    field: field.name.clone(),
                    detail,
                }));
            }
        }
    }
    out
}

/// Fields a standard note type's templates show whatever the note holds (outside any
/// `{{#…}}` section). Cloze types are left out: their extra fields are optional.
fn always_shown(notetype: &NoteType) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if notetype.kind == Kind::Cloze {
        return out;
    }
    for t in &notetype.templates {
        for side in [&t.front, &t.back] {
            if let Ok(nodes) = template::parse(side) {
                for node in &nodes {
                    if let Node::Replacement { field, .. } = node {
                        out.insert(field.clone());
                    }
                }
            }
        }
    }
    out.retain(|f| notetype.field_index(f).is_some());
    out
}

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(/?)>").unwrap()
});
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Describes the first tag left open or closed without being opened.
pub fn unbalanced(html: &str) -> Option<String> {
    let mut open: Vec<String> = Vec::new();
    for c in TAG.captures_iter(html) {
        let Some(name) = c.get(2).map(|m| m.as_str().to_ascii_lowercase()) else {
            continue;
        };
        if VOID.contains(&name.as_str()) || &c[3] == "/" {
            continue;
        }
        if &c[1] == "/" {
            match open.iter().rposition(|o| *o == name) {
                Some(i) if i == open.len() - 1 => {
                    open.pop();
                }
                Some(_) => {
                    return Some(format!(
                        "`<{}>` is closed by `</{name}>`",
                        open.last().unwrap()
                    ))
                }
                None => return Some(format!("`</{name}>` closes nothing")),
            }
        } else {
            open.push(name);
        }
    }
    open.pop().map(|name| format!("`<{name}>` is never closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_balance() {
        assert_eq!(unbalanced("<p>a<br>b<img src=x></p><!-- <div> -->"), None);
        assert_eq!(unbalanced("<div>a"), Some("`<div>` is never closed".into()));
        assert_eq!(unbalanced("a</b>"), Some("`</b>` closes nothing".into()));
        assert_eq!(
            unbalanced("<b><i>x</b></i>"),
            Some("`<i>` is closed by `</b>`".into())
        );
        assert_eq!(unbalanced("<span/>x"), None);
    }

    #[test]
    fn shown_fields() {
        let opt = crate::Stock::OptionalReversed.notetype();
        assert_eq!(
            always_shown(&opt),
            BTreeSet::from(["Back".to_string(), "Front".to_string()])
        );
        assert!(always_shown(&crate::Stock::Cloze.notetype()).is_empty());
    }
}
