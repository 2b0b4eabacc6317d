//! Checks over notes that Anki would accept but that the author probably did not mean:
//! duplicates, empty fields the cards show, HTML left open.

use crate::error::{Diagnostic, Problem};
use crate::note::SourceNote;
use crate::note_store::SortedRecords;
use crate::notetype::template::{self, Node};
use crate::notetype::{Kind, NoteType};
use crate::text::{field_is_empty, strip_html_preserving_media_filenames};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The lint over notes that come a batch at a time, in note order. For Anki's duplicate
/// check (same note type, same deck, same stripped first field) it keeps per note only a
/// 32-bit hash of that key beside the note's number, in a scratch file: after the last
/// batch they are sorted, and the notes whose hashes meet are read back and compared.
pub(crate) struct Lint {
    shown: HashMap<i64, BTreeSet<String>>,
    /// (key hash << 32 | note number) of every note, big-endian: sorted by it.
    keys: SortedRecords<8>,
    /// Each deck name's [`crate::deck::key`] hash: how Anki matches deck names.
    deck_keys: HashMap<String, u64>,
    /// The warnings found so far, by note number.
    found: Vec<(u32, Diagnostic)>,
}

impl Lint {
    /// A lint whose per-note keys wait in a scratch file in `dir`.
    pub(crate) fn new_in(dir: &Path) -> crate::Result<Lint> {
        Ok(Lint {
            shown: HashMap::new(),
            keys: SortedRecords::new_in(dir)?,
            deck_keys: HashMap::new(),
            found: Vec::new(),
        })
    }

    /// Checks `notes`, the notes from number `first` on, in note order.
    pub(crate) fn check(&mut self, notes: &[SourceNote], first: usize) -> crate::Result<()> {
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
        for (n, (source, (sum, warnings))) in notes.iter().zip(checked).enumerate() {
            let index = (first + n) as u32;
            let key = self.key(source, sum) >> 32 << 32 | u64::from(index);
            self.keys.push(key.to_be_bytes())?;
            self.found.extend(warnings.into_iter().map(|w| (index, w)));
        }
        Ok(())
    }

    /// Every warning, in note order (a note's duplicate first field before its other
    /// warnings); `note` gives a note back to compare first fields and to name it.
    pub(crate) fn finish(
        self,
        note: impl Fn(usize) -> crate::Result<SourceNote>,
    ) -> crate::Result<Vec<Diagnostic>> {
        // Notes in a run of the same hash, in note order.
        let mut run: Vec<u32> = Vec::new();
        let mut duplicates = Vec::new();
        let mut among = |run: &mut Vec<u32>| -> crate::Result<()> {
            if run.len() > 1 {
                duplicates.extend(duplicates_among(run, &note)?);
            }
            run.clear();
            Ok(())
        };
        let mut hash = 0;
        self.keys.try_for_each(|key| {
            let key = u64::from_be_bytes(key);
            if key >> 32 != hash {
                among(&mut run)?;
                hash = key >> 32;
            }
            run.push(key as u32);
            Ok(())
        })?;
        among(&mut run)?;
        duplicates.sort_by_key(|(i, _)| *i);
        // Merged by note number, a note's duplicate first.
        let mut out = Vec::with_capacity(duplicates.len() + self.found.len());
        let mut duplicates = duplicates.into_iter().peekable();
        for (i, warning) in self.found {
            while let Some(d) = duplicates.next_if(|(j, _)| *j <= i) {
                out.push(d.1);
            }
            out.push(warning);
        }
        out.extend(duplicates.map(|d| d.1));
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
}

/// The notes `notes` (in note order, their keys' hashes the same) that repeat the first
/// field of an earlier one of them, each with the warning naming the first that has it.
fn duplicates_among(
    notes: &[u32],
    note: &impl Fn(usize) -> crate::Result<SourceNote>,
) -> crate::Result<Vec<(u32, Diagnostic)>> {
    let mut firsts: HashMap<(i64, String, String), String> = HashMap::new();
    let mut out = Vec::new();
    for &i in notes {
        let source = note(i as usize)?;
        let key = (
            source.note.notetype_id,
            crate::deck::key(&source.note.deck),
            strip_html_preserving_media_filenames(&source.note.fields[0]),
        );
        let here = format!("{}:{}", source.file.display(), source.line);
        match firsts.get(&key) {
            Some(other) => out.push((
                i,
                Diagnostic::at_line_start(
                    &*source.file,
                    source.line,
                    Problem::DuplicateFirstField {
                        other: other.clone(),
                    },
                ),
            )),
            None => {
                firsts.insert(key, here);
            }
        }
    }
    Ok(out)
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
