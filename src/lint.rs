//! Checks over notes that Anki would accept but that the author probably did not mean:
//! duplicates, empty fields the cards show, HTML left open.

use crate::error::{Diagnostic, Problem};
use crate::note::SourceNote;
use crate::notetype::template::{self, Node};
use crate::notetype::{Kind, NoteType};
use crate::text::{field_is_empty, strip_html_preserving_media_filenames};
use std::collections::{BTreeSet, HashMap};

/// Warnings about `notes`, in note order.
pub fn lint(notes: &[SourceNote]) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    let mut shown: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for source in notes {
        shown
            .entry(source.note.notetype_id)
            .or_insert_with(|| always_shown(&source.notetype));
    }
    // Each note on its own, in parallel: a hash of its stripped first field, and the
    // warnings that need no other note.
    let checked: Vec<(i64, Vec<Diagnostic>)> = notes
        .par_iter()
        .map(|source| {
            let note = &source.note;
            let warn = |problem| Diagnostic::at_line_start(&*source.file, source.line, problem);
            let mut warnings = Vec::new();
            let shown = &shown[&note.notetype_id];
            for (field, value) in source.notetype.fields.iter().zip(&note.fields) {
                if shown.contains(&field.name) && field_is_empty(value) {
                    warnings.push(warn(Problem::EmptyField(field.name.clone())));
                }
            }
            for (field, value) in source.notetype.fields.iter().zip(&note.fields) {
                if let Some(detail) = unbalanced(value) {
                    warnings.push(warn(Problem::UnbalancedHtml {
                        field: field.name.clone(),
                        detail,
                    }));
                }
            }
            (first_field_hash(note), warnings)
        })
        .collect();

    // Anki's duplicate check: same note type, same stripped first field. In note order,
    // keyed by note type, deck and the hash; texts are compared only when hashes meet.
    let mut out = Vec::new();
    let mut first_fields: HashMap<(i64, i64, i64), Vec<&SourceNote>> = HashMap::new();
    let mut deck_ids = crate::ids::DeckIds::default();
    for (source, (sum, warnings)) in notes.iter().zip(checked) {
        let note = &source.note;
        let same_sum = first_fields
            .entry((note.notetype_id, deck_ids.get(&note.deck), sum))
            .or_default();
        let first =
            |source: &SourceNote| strip_html_preserving_media_filenames(&source.note.fields[0]);
        let duplicate = match same_sum.is_empty() {
            true => None,
            false => {
                let text = first(source);
                same_sum.iter().find(|other| first(other) == text)
            }
        };
        match duplicate {
            Some(other) => {
                let other = format!("{}:{}", other.file.display(), other.line);
                out.push(Diagnostic::at_line_start(
                    &*source.file,
                    source.line,
                    Problem::DuplicateFirstField { other },
                ));
            }
            None => same_sum.push(source),
        }
        out.extend(warnings);
    }
    out
}

/// A hash of a note's first field as Anki compares it for duplicates.
fn first_field_hash(note: &crate::Note) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    strip_html_preserving_media_filenames(&note.fields[0]).hash(&mut hasher);
    hasher.finish() as i64
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

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Describes the first tag left open or closed without being opened. A plain scan, not
/// a regex: this runs over every field of every note.
pub fn unbalanced(html: &str) -> Option<String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let (closing, body) = match tag.strip_prefix('/') {
            Some(body) => (true, body),
            None => (false, tag),
        };
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(body.len());
        let name = &body[..name_len];
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) || (!closing && tag.ends_with('/')) {
            continue;
        }
        if closing {
            match open.iter().rposition(|o| o.eq_ignore_ascii_case(name)) {
                Some(i) if i == open.len() - 1 => {
                    open.pop();
                }
                Some(_) => {
                    let inner = open.last().expect("not empty").to_ascii_lowercase();
                    return Some(format!(
                        "`<{inner}>` is closed by `</{}>`",
                        name.to_ascii_lowercase()
                    ));
                }
                None => return Some(format!("`</{}>` closes nothing", name.to_ascii_lowercase())),
            }
        } else {
            open.push(name);
        }
    }
    open.pop()
        .map(|name| format!("`<{}>` is never closed", name.to_ascii_lowercase()))
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
