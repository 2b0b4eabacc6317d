//! Checks over notes that Anki would accept but that the author probably did not mean:
//! duplicates, empty fields the cards show, HTML left open.

use crate::error::{Diagnostic, Problem};
use crate::note::SourceNote;
use crate::notetype::template::{self, Node};
use crate::notetype::{Kind, NoteType};
use crate::text::{field_is_empty, strip_html_preserving_media_filenames};
use std::collections::{BTreeSet, HashMap};

/// The lint over notes that come a batch at a time, in note order, holding per note only
/// a hash of its first field, not its text.
#[derive(Default)]
pub(crate) struct Lint {
    shown: HashMap<i64, BTreeSet<String>>,
    /// Anki's duplicate check: same note type, same deck, same stripped first field.
    /// The first note of each (note type, deck, first field) hash; texts are compared
    /// only when hashes meet.
    first_fields: HashMap<u64, u32>,
    /// Later notes whose hash met an earlier note's but whose text differs (rare).
    more: HashMap<u64, Vec<u32>>,
    /// Each deck name's [`crate::deck::key`] hash: how Anki matches deck names.
    deck_keys: HashMap<String, u64>,
}

impl Lint {
    /// Warnings about `notes`, the notes from index `first` on, in note order; `other`
    /// gives an earlier note back to compare a first field with or to name it.
    pub(crate) fn check(
        &mut self,
        notes: &[SourceNote],
        first: usize,
        other: impl Fn(usize) -> crate::Result<SourceNote>,
    ) -> crate::Result<Vec<Diagnostic>> {
        use rayon::prelude::*;
        for source in notes {
            self.shown
                .entry(source.note.notetype_id)
                .or_insert_with(|| always_shown(&source.notetype));
        }
        // Each note on its own, in parallel: a hash of its stripped first field, and the
        // warnings that need no other note.
        let shown = &self.shown;
        let checked: Vec<(u64, Vec<Diagnostic>)> = notes
            .par_iter()
            .map(|source| note_warnings(source, &shown[&source.note.notetype_id]))
            .collect();
        let mut out = Vec::new();
        for (n, (source, (sum, warnings))) in notes.iter().zip(checked).enumerate() {
            let key = self.key(source, sum);
            let index = (first + n) as u32;
            // An earlier note of this batch, or one before it.
            let other = |i: usize| match i.checked_sub(first) {
                Some(n) => Ok(notes[n].clone()),
                None => other(i),
            };
            if let Some(other) = self.duplicate(key, source, index, &other)? {
                let other = format!("{}:{}", other.file.display(), other.line);
                out.push(Diagnostic::at_line_start(
                    &*source.file,
                    source.line,
                    Problem::DuplicateFirstField { other },
                ));
            }
            out.extend(warnings);
        }
        Ok(out)
    }

    /// The duplicate key of a note: its note type, deck and first field hash.
    fn key(&mut self, source: &SourceNote, sum: u64) -> u64 {
        use std::hash::{Hash, Hasher};
        let note = &source.note;
        let deck = match self.deck_keys.get(&note.deck) {
            Some(&deck) => deck,
            None => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                crate::deck::key(&note.deck).hash(&mut hasher);
                let deck = hasher.finish();
                self.deck_keys.insert(note.deck.clone(), deck);
                deck
            }
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (note.notetype_id, deck, sum).hash(&mut hasher);
        hasher.finish()
    }

    /// The earlier note whose first field `source`'s repeats, if any; else records it.
    fn duplicate(
        &mut self,
        key: u64,
        source: &SourceNote,
        index: u32,
        other: &impl Fn(usize) -> crate::Result<SourceNote>,
    ) -> crate::Result<Option<SourceNote>> {
        let Some(&earlier) = self.first_fields.get(&key) else {
            self.first_fields.insert(key, index);
            return Ok(None);
        };
        let text = strip_html_preserving_media_filenames(&source.note.fields[0]);
        let more = self.more.get(&key).into_iter().flatten();
        for &i in std::iter::once(&earlier).chain(more) {
            let candidate = other(i as usize)?;
            let same_deck =
                crate::deck::key(&candidate.note.deck) == crate::deck::key(&source.note.deck);
            let same = candidate.note.notetype_id == source.note.notetype_id
                && same_deck
                && strip_html_preserving_media_filenames(&candidate.note.fields[0]) == text;
            if same {
                return Ok(Some(candidate));
            }
        }
        self.more.entry(key).or_default().push(index);
        Ok(None)
    }
}

/// The warnings of one note that need no other note, and its first field's hash.
fn note_warnings(source: &SourceNote, shown: &BTreeSet<String>) -> (u64, Vec<Diagnostic>) {
    let note = &source.note;
    let warn = |problem| Diagnostic::at_line_start(&*source.file, source.line, problem);
    let mut warnings = Vec::new();
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
}

/// A hash of a note's first field as Anki compares it for duplicates.
fn first_field_hash(note: &crate::Note) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    strip_html_preserving_media_filenames(&note.fields[0]).hash(&mut hasher);
    hasher.finish()
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
