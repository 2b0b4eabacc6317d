//! The package on disk: notes, note types and media in, an `.apkg` file out.

mod deck_options;
mod schema;
mod write;

pub use deck_options::{DeckOptions, DeckSettings};

use crate::error::{Error, Result};
use crate::ids;
use crate::note::Note;
use crate::notetype::NoteType;
use std::collections::BTreeMap;
use std::path::PathBuf;
use unicode_normalization::UnicodeNormalization;

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

/// Which kind of `.apkg` to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `collection.anki2` (schema 11) with deflated entries and a JSON media map: what
    /// Anki 2.1.49 and older, old AnkiDroid and every other Anki client reads.
    #[default]
    Legacy1,
    /// What Anki 23.10+ exports by default: a `meta` entry (version 3), the collection
    /// zstd-compressed as `collection.anki21b`, zstd-compressed media with a protobuf
    /// media list, and a dummy `collection.anki2` that tells old clients to update.
    /// Smaller packages; needs Anki 2.1.50+, AnkiDroid 2.16+ or a recent AnkiMobile.
    Latest,
}

impl Format {
    /// Every format, in the order `ankideck build --format` lists them.
    pub const ALL: [Format; 2] = [Format::Legacy1, Format::Latest];

    /// The names accepted by `ankideck build --format`.
    pub const NAMES: [&'static str; 2] = [Format::Legacy1.name(), Format::Latest.name()];

    /// The format's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Legacy1 => "legacy",
            Format::Latest => "latest",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "legacy1" => Some(Format::Legacy1),
            _ => Format::ALL.into_iter().find(|f| f.name() == name),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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
        crate::note::normalize_deck_name(&note.deck).map_err(|e| wrong(e.into()))?;
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
        let name = check_media_name(name)?;
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

/// Characters Anki removes from media names (besides control characters).
const MEDIA_NAME_FORBIDDEN: &str = "\\/:*?\"<>|[]^";

/// Checks a media file name against Anki's rules and returns it NFC-normalized.
///
/// The name must be one Anki leaves as it is: the latest package format refuses the
/// whole package otherwise, and the legacy one renames the file so notes miss it.
pub fn check_media_name(name: &str) -> Result<String> {
    let nfc: String = name.nfc().collect();
    let bad = nfc.is_empty()
        || nfc.len() > 120
        || nfc.ends_with(['.', ' '])
        || nfc
            .chars()
            .any(|c| c.is_control() || c == '\u{a0}' || MEDIA_NAME_FORBIDDEN.contains(c))
        || is_windows_device_name(&nfc);
    if bad {
        return Err(Error::MediaName(name.to_string()));
    }
    Ok(nfc)
}

/// `CON`, `nul.txt`, `COM1.mp3`, …: names Windows reserves, which Anki renames.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && matches!(stem.as_bytes()[3], b'1'..=b'9'))
}

/// The name a media file gets in the package: its own name with a short content hash,
/// so that same-named files from different folders never collide and an edited file
/// arrives in Anki under a new name instead of being mistaken for the old one.
pub fn media_name(original_file_name: &str, sha1_hex: &str) -> String {
    let cleaned: String = original_file_name
        .nfc()
        .map(|c| {
            // Also `&` and `'`, so a name never needs escaping in HTML.
            if c.is_control() || "\\/:*?\"<>|#%[]^&'".contains(c) || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) if i > 0 && i + 1 < cleaned.len() => (&cleaned[..i], &cleaned[i..]),
        _ => (cleaned.as_str(), ""),
    };
    let ext: String = ext.chars().take(16).collect();
    let mut stem_end = stem.len().min(80);
    while !stem.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}-{}{}", &stem[..stem_end], &sha1_hex[..8], ext)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn media_names() {
        assert_eq!(
            media_name("loss.png", "0123456789abcdef"),
            "loss-01234567.png"
        );
        assert_eq!(media_name("a b?.mp3", "ffffffff00"), "a_b_-ffffffff.mp3");
        assert_eq!(
            media_name("Tom & Jerry's.mp3", "ffffffff00"),
            "Tom___Jerry_s-ffffffff.mp3"
        );
        assert_eq!(media_name(".hidden", "abcdef0123"), ".hidden-abcdef01");
        let long = "长".repeat(60) + ".png";
        let name = media_name(&long, "abcdef0123");
        assert!(check_media_name(&name).is_ok(), "{name}");
        assert!(check_media_name("a/b.png").is_err());
        assert!(check_media_name("a:b.png").is_err());
        for bad in [
            "a[1].png",
            "x^2.png",
            "con",
            "NUL.mp3",
            "lpt1.txt",
            "dot.",
            "space ",
            "nb\u{a0}sp",
        ] {
            assert!(check_media_name(bad).is_err(), "{bad}");
        }
        for good in [
            "console.png",
            "com10.mp3",
            "con-1234.png",
            "_font.woff2",
            "图.png",
        ] {
            assert!(check_media_name(good).is_ok(), "{good}");
        }
        assert_eq!(
            media_name("x^2[1].png", "abcdef0123"),
            "x_2_1_-abcdef01.png"
        );
        assert_eq!(media_name("trailing.", "abcdef0123"), "trailing.-abcdef01");
    }
}
