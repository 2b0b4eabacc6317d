//! The package on disk: notes, note types and media in, an `.apkg` file out.

mod deck_options;
// The decoders (and `Version::zstd`) are for the package reader to come (`unpack`);
// only the tests use some of them yet.
#[allow(dead_code)]
pub(crate) mod meta;
mod output;
pub mod read;
mod schema;
mod write;

pub use crate::deck::KeysError;
pub use meta::{Format, Version};
pub use output::check_output;
pub use read::{
    open, open_with, Contents, Limits, MediaFile, PackageReader, ReadError, ReadOptions,
    ReadWarning, SafeName, UnsafeName,
};
pub use schema::{
    CardRow, DeckConfig, DeckJson, FieldJson, JsonMap, NoteRow, NotetypeJson, TemplateJson,
    FIELD_SEPARATOR,
};

use crate::deck::DeckSettings;

use crate::error::{Error, Result};
use crate::note::{Note, SourceNote};
use crate::notetype::{NoteType, Stock};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a media file's bytes come from. Files are read while the package is written,
/// so large media never sit in memory all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaSource {
    /// A file, read when the package is written.
    File(PathBuf),
    /// Bytes held until then.
    Bytes(Vec<u8>),
}

/// A media file as it will be named in Anki's media folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Media {
    /// The name notes refer to it by.
    pub name: String,
    /// Where its bytes come from.
    pub source: MediaSource,
}

/// How far [`Package::write_reporting`] has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Waiting for another build of the same source folder to finish (reported by
    /// `build`, before anything else).
    Waiting,
    /// Reading and rendering the sources (reported by `build`, once, at the start).
    Reading,
    /// Notes inserted into the collection so far.
    Notes {
        /// Inserted so far.
        done: usize,
        /// In the package.
        total: usize,
    },
    /// Compressing and zipping the collection.
    Collection,
    /// Media files (and their bytes) copied into the package so far.
    Media {
        /// Files copied so far.
        done: usize,
        /// Files in the package.
        total: usize,
        /// Bytes copied so far.
        bytes: u64,
        /// Bytes of all the files.
        total_bytes: u64,
    },
}

/// What was written, for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Notes in the package.
    pub notes: usize,
    /// Cards in the package.
    pub cards: usize,
    /// Decks in the package.
    pub decks: usize,
    /// Media files in the package.
    pub media: usize,
}

/// An Anki package being assembled, much like genanki's `Package`.
///
/// ```
/// use ankideck::{ids, Note, NoteType, Package, Stock};
/// let vocab = NoteType::builder("Vocab")
///     .field("Word")
///     .field("Meaning")
///     .template("Recognize", "{{Word}}", "{{FrontSide}}<hr id=answer>{{Meaning}}")
///     .build()?;
/// let basic = Stock::Basic.notetype();
/// let mut package = Package::new(1_700_000_000);
/// package.add_notetype(&vocab)?;
/// package.add_note(Note::new(&vocab, ["chat", "cat"]).deck("French"))?;
/// package.add_note(
///     Note::new(&basic, ["Capital of France?", "Paris"])
///         .deck("Geography")
///         .tags(["europe"])
///         .guid(ids::guid_for(&["capital-of-france"])),
/// )?;
/// let out = std::env::temp_dir().join("ankideck-doctest.apkg");
/// let summary = package.write(&out)?;
/// assert_eq!(summary.cards, 2);
/// # Ok::<(), ankideck::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Package {
    notetypes: BTreeMap<i64, NoteType>,
    notes: Vec<(Note, Vec<u16>)>,
    /// A build's notes, held on disk instead of in `notes` (then empty).
    stored: Option<Arc<crate::note_store::NoteStore>>,
    /// The guids of the first `guids_of` notes, to refuse a second note with one.
    guids: HashSet<String>,
    guids_of: usize,
    media: Vec<Media>,
    /// Descriptions and options of decks, by full name.
    deck_settings: BTreeMap<String, DeckSettings>,
    /// Seconds since the epoch written as the collection's creation and modification time.
    /// Fixed by the caller, so that the same input gives the same bytes.
    timestamp: i64,
}

impl Package {
    /// An empty package made at `timestamp`, in seconds since the Unix epoch.
    ///
    /// The timestamp is the collection's creation and modification time, and the
    /// modification time of every note and note type that has none of its own (as
    /// [`Note::new`] and [`NoteType::builder`] make them). Anki updates a note on
    /// re-import only when that time is newer than its copy's, so pass the build time
    /// (`build::build_time`) for edited notes to update. A constant gives the
    /// same bytes on every build but Anki then skips edited notes; to have both, write
    /// with `build::write_locked`, which keeps each note's time in a lock.
    pub fn new(timestamp: i64) -> Package {
        Package {
            notetypes: BTreeMap::new(),
            notes: Vec::new(),
            stored: None,
            guids: HashSet::new(),
            guids_of: 0,
            media: Vec::new(),
            deck_settings: BTreeMap::new(),
            timestamp,
        }
    }

    /// The timestamp given to [`Package::new`] (or set from a lock).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Adds a note type, after [`NoteType::check`], for notes to use. Adding it again
    /// does nothing; a different note type with the same id is an error, since Anki
    /// would take one for the other. Stock types are added by their first note.
    pub fn add_notetype(&mut self, notetype: &NoteType) -> Result<()> {
        notetype.check()?;
        let mut new = notetype.clone();
        if new.modified == 0 {
            new.modified = self.timestamp;
        }
        match self.notetypes.get(&new.id) {
            None => {
                self.notetypes.insert(new.id, new);
                Ok(())
            }
            Some(old) if old.modified == new.modified && *old == new => Ok(()),
            Some(old) => Err(Error::NoteTypeIdTaken {
                id: new.id,
                name: new.name,
                other: old.name.clone(),
            }),
        }
    }

    /// Adds a note of a note type added before (stock types are added here). Computes
    /// the cards Anki would generate and refuses a note that would have none, whose
    /// field count, deck or tags are wrong, or whose guid another note has. A note
    /// without a modification time gets the package's timestamp. Returns how many
    /// cards it has.
    pub fn add_note(&mut self, mut note: Note) -> Result<usize> {
        let id = note.notetype_id;
        if !self.notetypes.contains_key(&id) {
            let stock = Stock::ALL
                .iter()
                .map(|s| s.notetype())
                .find(|nt| nt.id == id);
            self.add_notetype(&stock.ok_or(Error::MissingNoteType(id))?)?;
        }
        let notetype = &self.notetypes[&id];
        let wrong = |problem| Error::Note {
            guid: note.guid.clone(),
            problem,
        };
        if note.fields.len() != notetype.fields.len() {
            return Err(Error::FieldCount {
                guid: note.guid.clone(),
                notetype: notetype.name.clone(),
                fields: notetype
                    .field_names()
                    .iter()
                    .map(|f| f.to_string())
                    .collect(),
                given: note.fields.len(),
            });
        }
        crate::deck::normalize_name(&note.deck).map_err(|e| wrong(e.into()))?;
        for (_, deck) in &note.card_decks {
            crate::deck::normalize_name(deck).map_err(|e| wrong(e.into()))?;
        }
        for tag in &note.tags {
            crate::note::check_tag(tag).map_err(|e| wrong(e.into()))?;
        }
        let ords = notetype
            .note_ordinals(
                &note.fields,
                !note.tags.is_empty(),
                &note.empty_cards,
                &note.skipped_cards,
            )
            .map_err(|e| wrong(e.into()))?;
        if let Some((ord, _)) = note.card_decks.iter().find(|(o, _)| !ords.contains(o)) {
            return Err(wrong(crate::note::no_such_card(*ord, &ords)));
        }
        // Notes added in bulk are counted in only when a note is added one by one.
        for (earlier, _) in &self.notes[self.guids_of..] {
            self.guids.insert(earlier.guid.clone());
        }
        self.guids_of = self.notes.len();
        if !self.guids.insert(note.guid.clone()) {
            return Err(Error::DuplicateGuid(note.guid));
        }
        if note.modified == 0 {
            note.modified = self.timestamp;
        }
        let count = ords.len();
        self.notes.push((note, ords));
        self.guids_of += 1;
        Ok(count)
    }

    /// Adds notes whose fields, deck, tags, cards (`ords`) and guids were checked
    /// already, and whose note types were added: the command line's bulk path.
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

    /// Takes a build's notes, held on disk and checked already, whose note types were
    /// added: they are read back as the package is written.
    pub(crate) fn add_stored_notes(&mut self, notes: crate::note_store::NoteStore) {
        debug_assert!(self.notes.is_empty());
        self.stored = Some(Arc::new(notes));
    }

    /// Adds a note type checked already, as it is (unless one with its id was added).
    pub(crate) fn add_checked_notetype(&mut self, notetype: &NoteType) {
        self.notetypes
            .entry(notetype.id)
            .or_insert_with(|| notetype.clone());
    }

    /// Takes the notes out, each with its note type, for the lock to reconcile; their
    /// warnings name the note by guid. [`Package::restore_notes`] puts them back.
    pub(crate) fn take_notes(&mut self) -> Vec<SourceNote> {
        let notetypes: HashMap<i64, Arc<NoteType>> = (self.notetypes.iter())
            .map(|(&id, nt)| (id, Arc::new(nt.clone())))
            .collect();
        std::mem::take(&mut self.notes)
            .into_iter()
            .map(|(note, ords)| SourceNote {
                file: Arc::from(Path::new(&format!("note {}", note.guid))),
                line: 0,
                legacy: None,
                notetype: Arc::clone(&notetypes[&note.notetype_id]),
                note,
                ords,
            })
            .collect()
    }

    /// Puts back notes taken by [`Package::take_notes`], with their note types.
    pub(crate) fn restore_notes(&mut self, notes: Vec<SourceNote>) {
        for source in &notes {
            let id = source.notetype.id;
            if self.notetypes[&id] != *source.notetype {
                self.notetypes.insert(id, (*source.notetype).clone());
            }
        }
        self.notes = notes.into_iter().map(|s| (s.note, s.ords)).collect();
    }

    /// Sets the package's timestamp (to the newest time of its notes, from a lock).
    pub(crate) fn set_timestamp(&mut self, timestamp: i64) {
        self.timestamp = timestamp;
    }

    /// Adds the media file at `path` under its own file name, the name notes refer to
    /// it by (as `<img src="name">` or `[sound:name]`). It is read when the package is
    /// written.
    pub fn add_media_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let name = path.file_name().and_then(|n| n.to_str());
        let name = name.ok_or_else(|| Error::MediaName(path.display().to_string()))?;
        std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        self.add_media(name, MediaSource::File(path.to_path_buf()))
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

    /// The notes, in the order they were added.
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

/// The folder the package `path` goes to, where its scratch folder is made.
pub(crate) fn output_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;

    #[test]
    fn formats_are_found_by_their_names() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.name()), Some(format));
            assert_eq!(format.to_string(), format.name());
        }
        assert_eq!(Format::NAMES, Format::ALL.map(Format::name));
        assert_eq!(Format::from_name("legacy1"), Some(Format::Legacy1));
        assert_eq!(Format::default().name(), "legacy");
    }

    fn vocab() -> NoteType {
        NoteType::builder("Vocab")
            .field("Word")
            .field("Meaning")
            .template("Recognize", "{{Word}}", "{{Meaning}}")
            .build()
            .unwrap()
    }

    #[test]
    fn notes_need_their_note_type_and_distinct_guids() {
        let (vocab, basic) = (vocab(), Stock::Basic.notetype());
        let mut package = Package::new(1_700_000_000);
        let err = package.add_note(Note::new(&vocab, ["a", "b"])).unwrap_err();
        assert!(matches!(err, Error::MissingNoteType(id) if id == vocab.id));
        package.add_notetype(&vocab).unwrap();
        package.add_notetype(&vocab).unwrap();
        assert_eq!(package.add_note(Note::new(&vocab, ["a", "b"])).unwrap(), 1);
        // Stock types come with their first note.
        package.add_note(Note::new(&basic, ["q", "a"])).unwrap();
        let err = package.add_note(Note::new(&vocab, ["a", "c"])).unwrap_err();
        assert!(matches!(err, Error::DuplicateGuid(_)), "{err}");
        let err = package.add_note(Note::new(&vocab, ["x"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "note `{}` has 1 field values, but note type `Vocab` has 2 fields (Word, Meaning)",
                ids::guid_for_first_field("x")
            )
        );
        // A refused note leaves its guid free.
        package.add_note(Note::new(&vocab, ["x", "y"])).unwrap();
        let notes: Vec<&Note> = package.notes().collect();
        assert_eq!(notes.len(), 3);
        assert!(notes.iter().all(|n| n.modified == 1_700_000_000));
        assert_eq!(package.notetypes[&vocab.id].modified, 1_700_000_000);
    }

    #[test]
    fn a_different_note_type_cannot_take_an_id() {
        let mut package = Package::new(1);
        package.add_notetype(&vocab()).unwrap();
        let mut other = vocab();
        other.css = "b { color: red }".into();
        let err = package.add_notetype(&other).unwrap_err();
        assert!(matches!(err, Error::NoteTypeIdTaken { .. }), "{err}");
        let mut broken = Stock::Basic.notetype();
        broken.templates[0].front = "{{Question}}".into();
        let err = package.add_notetype(&broken).unwrap_err().to_string();
        assert!(err.contains("uses field `Question`"), "{err}");
    }

    #[test]
    fn media_files_keep_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paris.svg");
        let mut package = Package::new(1);
        assert!(matches!(
            package.add_media_file(&path),
            Err(Error::Io { .. })
        ));
        std::fs::write(&path, "<svg/>").unwrap();
        package.add_media_file(&path).unwrap();
        assert_eq!(package.media[0].name, "paris.svg");
        assert_eq!(package.media[0].source, MediaSource::File(path));
    }
}
