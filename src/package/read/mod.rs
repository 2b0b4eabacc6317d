//! Reading `.apkg` and `.colpkg` files: every layout Anki has written (see
//! `package/meta.rs`), collections of schema 11 and 14–18, hostile and broken packages
//! refused with a [`ReadError`] that says what to do.
//!
//! ```no_run
//! # fn main() -> Result<(), ankideck::package::ReadError> {
//! let mut reader = ankideck::package::open(std::path::Path::new("deck.apkg"))?;
//! let contents = reader.contents()?;
//! for file in &contents.media {
//!     let mut out = Vec::new();
//!     reader.copy_media(file, &mut out)?;
//! }
//! # Ok(()) }
//! ```
//!
//! The parts: `container` (the zip, its entries and the limits on inflating them),
//! `collection` (the SQLite database, schema 11 JSON columns), `schema18` (the
//! protobuf tables of newer collections, turned into the schema 11 JSON types) and
//! `media` (the media list and the names in it).

mod collection;
mod container;
mod media;
mod schema18;

use super::meta::Version;
use super::schema::{CardRow, DeckConfig, DeckJson, NoteRow, NotetypeJson};
pub use crate::media::{SafeName, UnsafeName};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How much a reader may inflate, so that a zip bomb is refused before it fills the
/// disk. Bytes are counted as they come out of the decompressors; the sizes a zip or
/// media list claims are never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes inflated from all entries together, over the reader's life.
    pub total: u64,
    /// Bytes inflated from any one entry.
    pub entry: u64,
}

impl Limits {
    /// A collection's SQLite compresses some 3–10 times and media hardly at all; a
    /// package that inflates to more than a hundred times its size (and more than
    /// 256 MiB) is not one Anki made.
    const RATIO: u64 = 100;
    const FLOOR: u64 = 256 << 20;
    /// No single file of a real package comes near this.
    const ENTRY_MAX: u64 = 16 << 30;

    /// The limits for a package of `size` bytes.
    pub fn for_package(size: u64) -> Limits {
        let total = size.saturating_mul(Self::RATIO).max(Self::FLOOR);
        Limits {
            total,
            entry: total.min(Self::ENTRY_MAX),
        }
    }
}

/// How to read a package.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Where the collection's SQLite file is inflated to (it needs a path); the
    /// system's temporary folder if `None`. The file is removed when the reader is
    /// dropped.
    pub scratch_dir: Option<PathBuf>,
    /// [`Limits::for_package`] of the package's size if `None`.
    pub limits: Option<Limits>,
}

/// An open package: its zip checked and its version known; [`PackageReader::contents`]
/// reads the collection, [`PackageReader::copy_media`] one media file at a time.
pub struct PackageReader {
    path: PathBuf,
    zip: container::Container,
    version: Version,
    whole_collection: bool,
    scratch_dir: Option<PathBuf>,
}

/// Opens the package at `path` with the default [`ReadOptions`].
pub fn open(path: &Path) -> Result<PackageReader, ReadError> {
    open_with(path, ReadOptions::default())
}

/// Opens the package at `path`: checks that it is a zip holding an Anki collection and
/// reads its version (the `meta` entry, or which collection entries it has).
pub fn open_with(path: &Path, options: ReadOptions) -> Result<PackageReader, ReadError> {
    let mut zip = container::Container::open(path, options.limits)?;
    let version = zip.version()?;
    let whole_collection = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("colpkg"));
    Ok(PackageReader {
        path: path.to_path_buf(),
        zip,
        version,
        whole_collection,
        scratch_dir: options.scratch_dir,
    })
}

impl PackageReader {
    /// The package's layout.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Reads the collection and the media list. Notes and cards that cannot be kept
    /// (a note whose note type is missing, a card whose note is missing) are left out
    /// with a [`ReadWarning`]; so are media files that cannot be written safely.
    pub fn contents(&mut self) -> Result<Contents, ReadError> {
        let (mut contents, notes) = self.contents_making(|_| |row| row)?;
        contents.notes = notes;
        Ok(contents)
    }

    /// [`PackageReader::contents`], each kept note row made into a `T` as it is read,
    /// on all cores, by what `prepare` returns when given the note types: the `T`s,
    /// by note id, come back beside the contents (whose `notes` are left empty), and
    /// the rows are never all held.
    pub fn contents_making<T: Send, F: Fn(NoteRow<'static>) -> T + Sync>(
        &mut self,
        prepare: impl FnOnce(&[NotetypeJson]) -> F,
    ) -> Result<(Contents, Vec<T>), ReadError> {
        let db = self
            .zip
            .inflate_collection(self.version, self.scratch_dir.as_deref())?;
        let read = collection::read(db.path(), self.version, self.whole_collection, prepare);
        let (mut contents, notes) = read?;
        drop(db);
        let media = media::read_list(&mut self.zip, self.version)?;
        contents.media = media.files;
        contents.warnings.extend(media.warnings);
        Ok((contents, notes))
    }

    /// Writes the bytes of `file` (one of [`Contents::media`]) to `to`, decompressed,
    /// streaming; returns how many. Refuses a file that inflates past the limits.
    pub fn copy_media(&mut self, file: &MediaFile, to: &mut dyn Write) -> Result<u64, ReadError> {
        self.zip
            .copy_entry(&file.entry, file.name.as_str(), self.version.zstd(), to)
    }

    /// The package's path, as given to [`open`].
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a package holds, in the schema 11 shapes whatever the collection's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Contents {
    /// The package's layout: legacy 1 (`collection.anki2`), legacy 2
    /// (`collection.anki21`) or latest (`collection.anki21b`).
    pub version: Version,
    /// The collection's schema version (`col.ver`): 11, or 14–18.
    pub schema: u8,
    /// A `.colpkg`: a whole collection (named by the file's extension, as Anki's
    /// importer chooses by it), rather than an `.apkg` of some decks.
    pub whole_collection: bool,
    /// The scheduler the collection was on: 1, 2 or 3 (v3, `sched2021`).
    pub scheduler: u8,
    /// Every note type, used or not, by id.
    pub notetypes: Vec<NotetypeJson>,
    /// Every deck, normal and filtered (`dynamic == 1`), by id; "Default" (id 1)
    /// included.
    pub decks: Vec<DeckJson>,
    /// Every deck options group ("preset"), by id.
    pub deck_configs: Vec<DeckConfig>,
    /// The notes whose note type is in [`Contents::notetypes`], by id.
    pub notes: Vec<NoteRow<'static>>,
    /// The cards whose note is in [`Contents::notes`], by id. `did` is the deck the card
    /// sits in now; for a card in a filtered deck, `original_did` is its home deck.
    pub cards: Vec<CardRow>,
    /// How many of the cards have review history (`revlog` entries); the history
    /// itself is not read.
    pub cards_with_history: usize,
    /// The media files whose names are safe to write, in the package's order.
    pub media: Vec<MediaFile>,
    /// What was left out, and why.
    pub warnings: Vec<ReadWarning>,
}

/// A media file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// The file's name as the package stores it (NFD names stay NFD), checked to be a
    /// plain file name.
    pub name: SafeName,
    /// The zip entry holding its bytes (`0`, `1`, …).
    pub entry: String,
    /// Its size: from the media list in latest packages, from the zip otherwise; a
    /// claim only ([`PackageReader::copy_media`] counts the real bytes).
    pub size: u64,
    /// Its SHA-1, which latest packages list.
    pub sha1: Option<[u8; 20]>,
}

/// Something of a package that was left out, with why; the rest was read. The
/// fields of a variant are the ids and names its message shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ReadWarning {
    /// A note whose note type is not in the package: left out with its cards.
    #[error("note {note_id} (guid `{guid}`) uses note type {notetype_id}, which the package does not have; the note and its cards were left out (Check Database in Anki fixes the collection)")]
    NoteTypeMissing {
        note_id: i64,
        guid: String,
        notetype_id: i64,
    },
    /// A note with more or fewer fields than its note type: left out with its cards.
    #[error("note {note_id} (guid `{guid}`) has {found} fields, but its note type `{notetype}` has {expected}; the note and its cards were left out (Check Database in Anki fixes the collection)")]
    FieldCount {
        note_id: i64,
        guid: String,
        notetype: String,
        found: usize,
        expected: usize,
    },
    /// A card whose note is not in the package (or was left out): left out.
    #[error("card {card_id} belongs to note {note_id}, which the package does not have; the card was left out")]
    NoteMissing { card_id: i64, note_id: i64 },
    /// A media file whose name could be a path or is not a valid file name: left out.
    #[error("media file `{}` was left out: {reason}; rename it in Anki (Tools > Check Media) and export again", .name.escape_debug())]
    UnsafeMediaName { name: String, reason: UnsafeName },
    /// A media list entry whose zip entry is missing: left out.
    #[error("media file `{name}` is listed, but its entry `{entry}` is not in the package; it was left out")]
    MediaEntryMissing { name: String, entry: String },
    /// A second media file of the same name: left out, the first is kept.
    #[error(
        "media file `{name}` is listed twice (entries `{first}` and `{entry}`); the first was kept"
    )]
    DuplicateMediaName {
        name: String,
        first: String,
        entry: String,
    },
}

/// Why a package cannot be read. Each message says what is wrong and what to do; the
/// fields of a variant are what its message shows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ReadError {
    /// The package file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not a zip archive at all.
    #[error("{} is not an Anki package (not a zip archive: {detail}); export the deck from Anki as .apkg or .colpkg", .path.display())]
    NotZip { path: PathBuf, detail: String },
    /// A zip archive whose end is missing: a download or copy cut short.
    #[error("{} is cut short (its zip directory is missing): download or copy it again", .path.display())]
    Truncated { path: PathBuf },
    /// A zip archive without a collection.
    #[error("{} is a zip archive but not an Anki package: it holds none of collection.anki2, collection.anki21, collection.anki21b; export the deck from Anki as .apkg or .colpkg", .path.display())]
    NoCollection { path: PathBuf },
    /// The `meta` entry names a version this reader does not know.
    #[error("the package's version {0} is newer than this reader knows (1–3); export it from Anki with \"Support older Anki versions\" ticked")]
    UnknownVersion(u64),
    /// An entry inflates to more than the limits allow: a zip bomb, or a package far
    /// larger than any Anki makes.
    #[error("entry `{entry}` inflates to more than {limit} bytes, more than a package of this size can hold (100 times its size, at least 256 MiB); refusing it as a possible zip bomb")]
    TooLarge { entry: String, limit: u64 },
    /// An entry's compressed data is damaged.
    #[error("entry `{entry}` is damaged ({detail}): download or export the package again")]
    CorruptEntry { entry: String, detail: String },
    /// An entry Anki's layout requires is missing.
    #[error(
        "the package has no `{0}` entry, which its layout requires; export it from Anki again"
    )]
    MissingEntry(String),
    /// The collection is not a readable SQLite database.
    #[error("the collection in the package is damaged ({detail}): in Anki run Tools > Check Database, then export again")]
    CorruptCollection { detail: String },
    /// The collection has a schema version this reader does not know.
    #[error("the collection has schema {version}: {made_by}")]
    UnknownSchema { version: i64, made_by: &'static str },
    /// A JSON column or config value that is not what Anki writes.
    #[error("the collection's {what} cannot be read: {detail}")]
    BadJson { what: String, detail: String },
    /// A protobuf blob of a newer collection that is not what Anki writes.
    #[error("the collection's {what} cannot be read: {detail}")]
    BadProtobuf { what: String, detail: String },
    /// The media list cannot be read.
    #[error("the package's media list cannot be read: {0}")]
    MediaList(String),
    /// [`PackageReader::copy_media`] could not write to its destination.
    #[error("writing media file `{name}`: {source}")]
    WriteMedia {
        name: String,
        source: std::io::Error,
    },
    /// The scratch file for the collection could not be made or written.
    #[error("cannot write the collection to a scratch file in {}: {source}", .dir.display())]
    Scratch {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// A SQLite failure: the database is damaged or not one Anki wrote.
fn sqlite_error(e: rusqlite::Error) -> ReadError {
    ReadError::CorruptCollection {
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
