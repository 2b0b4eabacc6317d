//! Card sources from notes: what `ankideck unpack` writes. One card file per deck, in a
//! folder tree named after the decks; custom note types as `_notetypes/NAME/`; deck
//! descriptions and options as `_deck.toml`; media in `_media/`, which the reader
//! packages under the files' own names. Each field is spelled so that it reads back
//! byte for byte ([`field`]), and [`verify`] reads the written folder back to prove it.

mod field;
mod layout;
mod notetype;

use crate::deck::DeckSettings;
use crate::note::Note;
use crate::notetype::{NoteType, Stock};
use crate::source::Sources;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

pub use layout::MEDIA_FOLDER;

/// Everything a source folder is written from.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Every note type, used or not.
    pub notetypes: Vec<NoteType>,
    /// The notes; each one's `deck` is its cards' deck, except those in `card_decks`.
    pub notes: Vec<Note>,
    /// Every deck to keep, with its description and options: decks without notes too.
    pub decks: Vec<(String, DeckSettings)>,
    /// Media file names (as stored), and for each `_` file the note types whose
    /// templates or CSS use it.
    pub media: Vec<String>,
}

/// Why sources could not be written, or do not read back as written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write `{}`: {source}", .path.display())]
    /// A file that could not be written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A note whose fields no spelling keeps (a bug).
    #[error("note `{guid}` cannot be written: {message}")]
    Unwritable {
        /// The note's guid.
        guid: String,
        /// Why.
        message: String,
    },
    /// Notes that read back otherwise than given (a bug): each guid and what differs.
    #[error("{} written notes read back differently (first: {})", .0.len(), .0.first().map(|(g, w)| format!("note `{g}`: {w}")).unwrap_or_default())]
    Mismatch(Vec<(String, String)>),
    /// The written folder could not be read back.
    #[error("the written sources cannot be read back: {0}")]
    ReadBack(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was written: where each media file goes, and how many files.
#[derive(Debug, Default)]
pub struct Written {
    /// Media name → the path (below the root) to copy its bytes to.
    pub media: Vec<(String, PathBuf)>,
    /// Card files written.
    pub card_files: usize,
    /// The guids of notes with a field whose cloze braces the reader would question
    /// (never closed, one colon, in a note of another type), written as Anki stores it
    /// in a `~~~ verbatim` block, where they are text.
    pub braces_as_stored: Vec<String>,
}

/// Writes the sources for `unpacked` into `root` (an existing, empty folder).
pub fn write(root: &Path, unpacked: &Unpacked) -> Result<Written, WriteError> {
    let names = notetype::TypeNames::new(&unpacked.notetypes);
    let by_id: HashMap<i64, &NoteType> = unpacked.notetypes.iter().map(|n| (n.id, n)).collect();
    let mut written = Written::default();
    let assets = notetype::write_all(root, &unpacked.notetypes, &names, &unpacked.media)?;
    let mut paths = layout::Paths::default();
    let runs = runs_by_deck(&unpacked.notes);
    let numbered = !layout::read_in_order(runs.iter().map(|(deck, _)| deck.as_str()));
    let mut with_notes = HashSet::new();
    for (index, (deck, notes)) in runs.iter().enumerate() {
        let path = match numbered {
            true => paths.numbered_card_file(index + 1, runs.len(), deck),
            false => paths.card_file(deck),
        };
        let text = card_file(deck, notes, &by_id, &names, &mut written.braces_as_stored)?;
        create(&root.join(&path), text.as_bytes())?;
        written.card_files += 1;
        with_notes.insert(crate::deck::key(deck));
    }
    for (deck, settings) in &unpacked.decks {
        // A deck with notes, or a parent of one, is in the package anyway.
        let key = crate::deck::key(deck);
        let below = |k: &String| *k == key || k.starts_with(&format!("{key}::"));
        let bare = settings.description.is_empty() && settings.options.is_none();
        if bare && with_notes.iter().any(below) {
            continue;
        }
        let path = paths.deck_settings(deck);
        create(
            &root.join(path),
            layout::deck_toml(deck, settings).as_bytes(),
        )?;
    }
    for name in &unpacked.media {
        let path = match assets.get(name) {
            Some(folder) => folder.join(name),
            None => Path::new(MEDIA_FOLDER).join(name),
        };
        written.media.push((name.clone(), path));
    }
    Ok(written)
}

/// The notes in their order, cut where the deck changes: each run is a card file, so
/// that reading the files in order meets the notes in the order given (the order of
/// their new cards in Anki).
fn runs_by_deck(notes: &[Note]) -> Vec<(String, Vec<&Note>)> {
    let mut runs: Vec<(String, Vec<&Note>)> = Vec::new();
    for note in notes {
        match runs.last_mut() {
            Some((deck, run)) if *deck == note.deck => run.push(note),
            _ => runs.push((note.deck.clone(), vec![note])),
        }
    }
    runs
}

/// Writes a file, making its folder.
fn create(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}

/// One deck's card file: front matter with the deck, the note type and format most of
/// its notes have, then each note.
fn card_file(
    deck: &str,
    notes: &[&Note],
    by_id: &HashMap<i64, &NoteType>,
    names: &notetype::TypeNames,
    braces_as_stored: &mut Vec<String>,
) -> Result<String, WriteError> {
    let mut spelled = Vec::with_capacity(notes.len());
    for note in notes {
        let nt = by_id
            .get(&note.notetype_id)
            .ok_or_else(|| WriteError::Unwritable {
                guid: note.guid.clone(),
                message: format!("its note type {} is missing", note.notetype_id),
            })?;
        let markdown = note
            .fields
            .iter()
            .enumerate()
            .all(|(i, f)| field::renders_to_itself(f, i == 0));
        spelled.push((note, *nt, markdown));
    }
    let common_type = most_common(spelled.iter().map(|(_, nt, _)| nt.id));
    let html = spelled.iter().filter(|(_, _, md)| !md).count() * 2 > spelled.len();
    let mut out = format!("---\ndeck: {}\n", layout::yaml_string(deck));
    if let Some(nt) = common_type.and_then(|id| by_id.get(&id)) {
        let _ = writeln!(out, "type: {}", layout::yaml_string(names.name(nt)));
    }
    if html {
        out.push_str("format: html\n");
    }
    out.push_str("---\n");
    for (note, nt, markdown) in spelled {
        let mut settings = vec![("guid".to_string(), note.guid.clone())];
        let heading_cloze = crate::notetype::cloze::has_cloze(&note.fields[0]);
        let is_stock_cloze = notetype::stock_of(nt) == Some(Stock::Cloze);
        if Some(nt.id) != common_type || (heading_cloze && !is_stock_cloze) {
            settings.push(("type".into(), names.name(nt).to_string()));
        }
        if !note.tags.is_empty() {
            settings.push(("tags".into(), layout::tag_list(&note.tags)));
        }
        for (ord, deck) in &note.card_decks {
            settings.push(("card-deck".into(), format!("{} {deck}", ord + 1)));
        }
        if !note.empty_cards.is_empty() {
            let numbers: Vec<String> = (note.empty_cards.iter())
                .map(|ord| (ord + 1).to_string())
                .collect();
            settings.push(("empty-cards".into(), numbers.join(" ")));
        }
        if markdown == html {
            let format = if markdown { "markdown" } else { "html" };
            settings.push(("format".into(), format.into()));
        }
        let field_names = nt.field_names();
        let in_cloze = nt.kind == crate::Kind::Cloze;
        if (note.fields.iter()).any(|f| crate::notetype::cloze::questioned(f, in_cloze)) {
            braces_as_stored.push(note.guid.clone());
        }
        let head = field::Head {
            settings: &settings,
        };
        let text = field::note_text(&note.fields, &field_names, &head, (markdown, in_cloze))
            .map_err(|message| WriteError::Unwritable {
                guid: note.guid.clone(),
                message,
            })?;
        out.push('\n');
        out.push_str(&text);
    }
    Ok(out)
}

/// The value met most often (the first of those met equally often).
fn most_common(values: impl Iterator<Item = i64>) -> Option<i64> {
    let mut counts: Vec<(i64, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(x, _)| *x == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.iter().find(|(_, n)| *n == best).map(|(v, _)| *v)
}

/// Reads `root` back with the normal source reader and compares every note with
/// `unpacked`: guid, note type, fields (after NFC), tags and deck. Returns the sources
/// read, for the lock.
pub fn verify(root: &Path, unpacked: &Unpacked) -> Result<Sources, WriteError> {
    let sources = Sources::read_lenient(root).map_err(|e| WriteError::ReadBack(e.to_string()))?;
    let errors: Vec<String> = sources
        .warnings
        .iter()
        .filter(|d| d.problem.severity() == crate::error::Severity::Error)
        .map(|d| format!("{}: {}", d.place(), d.problem))
        .collect();
    let read: HashMap<&str, &crate::note::SourceNote> = sources
        .notes
        .iter()
        .map(|n| (n.note.guid.as_str(), n))
        .collect();
    let mut wrong = Vec::new();
    for note in &unpacked.notes {
        let Some(back) = read.get(note.guid.as_str()) else {
            let why = errors.first().cloned().unwrap_or_else(|| "missing".into());
            wrong.push((note.guid.clone(), format!("not read back ({why})")));
            continue;
        };
        if let Some(what) = difference(note, &back.note) {
            wrong.push((note.guid.clone(), what));
        }
    }
    if !wrong.is_empty() {
        return Err(WriteError::Mismatch(wrong));
    }
    if let Some(first) = errors.first() {
        return Err(WriteError::ReadBack(first.clone()));
    }
    Ok(sources)
}

/// What differs between the note given and the note read back, if anything.
fn difference(given: &Note, back: &Note) -> Option<String> {
    if given.notetype_id != back.notetype_id {
        return Some(format!(
            "note type {} read back as {}",
            given.notetype_id, back.notetype_id
        ));
    }
    let nfc = |s: &str| s.nfc().collect::<String>();
    for (i, (a, b)) in given.fields.iter().zip(&back.fields).enumerate() {
        if nfc(a) != nfc(b) {
            return Some(format!("field {} reads back as {b:?}, not {a:?}", i + 1));
        }
    }
    if given.fields.len() != back.fields.len() {
        return Some("the number of fields differs".into());
    }
    let lower = |tags: &[String]| tags.iter().map(|t| t.to_lowercase()).collect::<Vec<_>>();
    if lower(&given.tags) != lower(&back.tags) {
        return Some(format!("tags read back as {:?}", back.tags));
    }
    if crate::deck::key(&given.deck) != crate::deck::key(&back.deck) {
        return Some(format!("deck reads back as `{}`", back.deck));
    }
    let keys = |n: &Note| {
        let decks = n.card_decks.iter();
        decks
            .map(|(o, d)| (*o, crate::deck::key(d)))
            .collect::<Vec<_>>()
    };
    if keys(given) != keys(back) {
        return Some(format!("card decks read back as {:?}", back.card_decks));
    }
    if given.empty_cards != back.empty_cards {
        let numbers = back.empty_cards.iter().map(|o| o + 1).collect::<Vec<_>>();
        return Some(format!("empty cards read back as {numbers:?}"));
    }
    None
}
