//! The package on disk: notes, note types and media in, an `.apkg` file out.

mod deck_options;
pub mod meta;
mod schema;
mod write;

pub use meta::Format;

use crate::deck::DeckSettings;

use crate::error::{Error, Result};
use crate::ids;
use crate::note::Note;
use crate::notetype::NoteType;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a media file's bytes come from. Files are read while the package is written,
/// so large media never sit in memory all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// A media file as it will be named in Anki's media folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub name: String,
    pub source: MediaSource,
}

/// How far [`Package::write_reporting`] has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Reading and rendering the sources (reported by [`crate::build`], once, at the start).
    Reading,
    /// Notes inserted into the collection so far.
    Notes { done: usize, total: usize },
    /// Compressing and zipping the collection.
    Collection,
    /// Media files (and their bytes) copied into the package so far.
    Media {
        done: usize,
        total: usize,
        bytes: u64,
        total_bytes: u64,
    },
}

/// What was written, for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub notes: usize,
    pub cards: usize,
    pub decks: usize,
    pub media: usize,
}

/// An Anki package being assembled, much like genanki's `Package`.
///
/// ```
/// use ankideck::{Package, Note, Stock};
/// let basic = Stock::Basic.notetype();
/// let mut package = Package::new(1_700_000_000);
/// package.add_note(Note {
///     guid: ankideck::ids::guid_for_id("capital-of-france"),
///     notetype_id: basic.id,
///     fields: vec!["Capital of France?".into(), "Paris".into()],
///     tags: vec!["geography".into()],
///     deck: "Geography".into(),
///     modified: 1_700_000_000,
/// }, &basic).unwrap();
/// let out = std::env::temp_dir().join("ankideck-doctest.apkg");
/// let summary = package.write(&out).unwrap();
/// assert_eq!(summary.cards, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Package {
    notetypes: BTreeMap<i64, NoteType>,
    notes: Vec<(Note, Vec<u16>)>,
    media: Vec<Media>,
    /// Descriptions and options of decks, by full name.
    deck_settings: BTreeMap<String, DeckSettings>,
    /// Seconds since the epoch written as the collection's creation and modification time.
    /// Fixed by the caller, so that the same input gives the same bytes.
    timestamp: i64,
}

impl Package {
    pub fn new(timestamp: i64) -> Package {
        Package {
            notetypes: BTreeMap::new(),
            notes: Vec::new(),
            media: Vec::new(),
            deck_settings: BTreeMap::new(),
            timestamp,
        }
    }

    /// Adds a note (and its note type, once). Computes the cards Anki would generate and
    /// refuses a note that would have none or whose field count is wrong.
    pub fn add_note(&mut self, note: Note, notetype: &NoteType) -> Result<usize> {
        let wrong = |problem| Error::Note {
            guid: note.guid.clone(),
            problem,
        };
        if note.notetype_id != notetype.id {
            return Err(Error::MissingNoteType(note.notetype_id));
        }
        if note.fields.len() != notetype.fields.len() {
            let fields = notetype.field_names().join(", ");
            return Err(wrong(crate::error::Problem::UnknownField {
                notetype: notetype.name.clone(),
                field: format!("({} values given)", note.fields.len()),
                fields,
            }));
        }
        crate::deck::normalize_name(&note.deck).map_err(|e| wrong(e.into()))?;
        for tag in &note.tags {
            crate::note::check_tag(tag).map_err(|e| wrong(e.into()))?;
        }
        let ords = notetype
            .card_ordinals(&note.fields, !note.tags.is_empty())
            .map_err(|e| wrong(e.into()))?;
        let count = ords.len();
        self.add_checked_note(note, ords, notetype);
        Ok(count)
    }

    /// Adds a note whose fields, deck, tags and cards (`ords`) were checked already.
    pub(crate) fn add_checked_note(&mut self, note: Note, ords: Vec<u16>, notetype: &NoteType) {
        self.add_notetype(notetype);
        self.notes.push((note, ords));
    }

    /// [`Package::add_checked_note`] for many notes, whose note types were added.
    pub(crate) fn add_checked_notes(&mut self, mut notes: Vec<(Note, Vec<u16>)>) {
        debug_assert!(notes
            .iter()
            .all(|(n, _)| self.notetypes.contains_key(&n.notetype_id)));
        if self.notes.is_empty() {
            self.notes = notes;
        } else {
            self.notes.append(&mut notes);
        }
    }

    pub(crate) fn add_notetype(&mut self, notetype: &NoteType) {
        self.notetypes
            .entry(notetype.id)
            .or_insert_with(|| notetype.clone());
    }

    /// Adds a media file under `name`, the name notes refer to it by.
    pub fn add_media(&mut self, name: &str, source: MediaSource) -> Result<()> {
        let name = crate::media::check_name(name)?;
        self.media.push(Media { name, source });
        Ok(())
    }

    /// Gives the deck `name` (created if no note is in it) a description and options.
    pub fn set_deck_settings(&mut self, name: &str, settings: DeckSettings) {
        self.deck_settings.insert(name.to_string(), settings);
    }

    pub fn notes(&self) -> impl Iterator<Item = &Note> {
        self.notes.iter().map(|(n, _)| n)
    }

    /// Writes the package atomically as [`Format::Legacy1`]: `path` is either the
    /// complete new package or left as it was.
    pub fn write(&self, path: impl Into<PathBuf>) -> Result<Summary> {
        self.write_with(path, Format::default())
    }

    /// Writes the package atomically in the given format.
    pub fn write_with(&self, path: impl Into<PathBuf>, format: Format) -> Result<Summary> {
        self.write_reporting(path, format, &mut |_| {})
    }

    /// Like [`Package::write_with`], telling `progress` how far it has got.
    pub fn write_reporting(
        &self,
        path: impl Into<PathBuf>,
        format: Format,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Summary> {
        write::write(self, &path.into(), format, progress)
    }
}

/// The ids the package gives each note and card, made unique deterministically.
pub(crate) fn assign_ids(notes: &[(Note, Vec<u16>)]) -> Vec<(i64, Vec<i64>)> {
    use rayon::prelude::*;
    // Hashing is the work, and needs nothing from other notes.
    let hashed: Vec<(i64, Vec<i64>)> = notes
        .par_iter()
        .map(|(note, ords)| {
            let cids = ords.iter().map(|&ord| ids::card_id(&note.guid, ord));
            (ids::note_id(&note.guid), cids.collect())
        })
        .collect();
    // Made unique in note order, so that threads do not change the outcome.
    let mut note_ids = std::collections::HashSet::with_capacity(notes.len());
    let mut card_ids = std::collections::HashSet::with_capacity(notes.len());
    hashed
        .into_iter()
        .map(|(nid, cids)| {
            let cids = cids.into_iter();
            let cids = cids.map(|cid| ids::unique(cid, &mut card_ids)).collect();
            (ids::unique(nid, &mut note_ids), cids)
        })
        .collect()
}
