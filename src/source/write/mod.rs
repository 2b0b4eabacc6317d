//! Card sources from notes: what `ankideck unpack` writes. One card file per deck, in a
//! folder tree named after the decks; custom note types as `_notetypes/NAME/`; deck
//! descriptions and options as `_deck.toml`; media in `_media/`, which the reader
//! packages under the files' own names. Each field is spelled so that it reads back
//! byte for byte ([`field`]), and [`write`] reads each card file back as it is written
//! to prove it.

mod field;
mod layout;
mod notetype;
mod spelling;

use crate::deck::DeckSettings;
use crate::note::Note;
use crate::notetype::{NoteType, Stock};
use crate::source::markdown::KnownRenderings;
use crate::source::Sources;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use unicode_normalization::UnicodeNormalization;

pub use layout::{named_card_file, MEDIA_FOLDER};
pub use notetype::TypeNames;

/// Everything a source folder is written from.
#[derive(Debug, Default, Clone)]
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
    /// Ctrl-C (or SIGTERM, SIGHUP) stopped the writing.
    #[error("interrupted")]
    Cancelled,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The folder's layout, its note types and deck settings written: where each card file
/// and media file goes. The media are the caller's to copy before the card files are
/// written by [`write`].
#[derive(Debug)]
pub struct Plan {
    /// Media name → the path (below the root) to copy its bytes to.
    pub media: Vec<(String, PathBuf)>,
    /// Each card file's path below the root, deck, and how many notes (in note order).
    cards: Vec<(PathBuf, String, usize)>,
}

/// The hidden file that keeps an empty `_media/` in version control, which keeps no
/// empty folders; the build does not package hidden files.
pub const KEEP_EMPTY: &str = ".gitkeep";

/// Plans the sources for `unpacked` in `root` (an existing, empty folder) and writes
/// its note types and deck settings.
pub fn prepare(root: &Path, unpacked: &Unpacked) -> Result<Plan, WriteError> {
    let names = notetype::TypeNames::new(&unpacked.notetypes);
    let assets = notetype::write_all(root, &unpacked.notetypes, &names, &unpacked.media)?;
    let mut paths = layout::Paths::default();
    let runs = runs_by_deck(&unpacked.notes);
    let numbered = !layout::read_in_order(runs.iter().map(|(deck, _)| *deck));
    let mut cards = Vec::with_capacity(runs.len());
    for (index, (deck, count)) in runs.iter().enumerate() {
        let path = match numbered {
            true => paths.numbered_card_file(index + 1, runs.len(), deck),
            false => paths.card_file(deck),
        };
        cards.push((path, deck.to_string(), *count));
    }
    let with_notes: HashSet<String> = runs.iter().map(|(d, _)| crate::deck::key(d)).collect();
    // A deck with notes, or above one, is in the package anyway. Looked up, not
    // searched for: a package can have tens of thousands of decks.
    let in_package: HashSet<&str> = (with_notes.iter())
        .flat_map(|key| crate::deck::with_parents(key))
        .collect();
    for (deck, settings) in &unpacked.decks {
        let bare = *settings == DeckSettings::default();
        if bare && in_package.contains(crate::deck::key(deck).as_str()) {
            continue;
        }
        let path = paths.deck_settings(deck);
        create(
            &root.join(path),
            layout::deck_toml(deck, settings).as_bytes(),
        )?;
    }
    let media: Vec<(String, PathBuf)> = (unpacked.media.iter())
        .map(|name| match assets.get(name) {
            Some(folder) => (name.clone(), folder.join(name)),
            None => (name.clone(), Path::new(MEDIA_FOLDER).join(name)),
        })
        .collect();
    // `_media/` tells the build that a reference to a file it lacks is one the package
    // lacked too (a warning, not an error): it is there, kept by git, when empty.
    if !media.iter().any(|(_, path)| path.starts_with(MEDIA_FOLDER)) {
        create(&root.join(MEDIA_FOLDER).join(KEEP_EMPTY), b"")?;
    }
    Ok(Plan { media, cards })
}

/// The guids of notes with a field whose cloze braces the reader would question (never
/// closed, one colon, in a note of another type), written as Anki stores it in a
/// `~~~ verbatim` block, where they are text.
pub type Braced = HashSet<String>;

/// Writes the card files `plan` lays out for `unpacked`'s notes, which go as they are
/// written, and reads each back as it is written ([`Sources::read_as_written`]): every
/// note must read back as it was given (guid, note type, fields after NFC, tags and
/// decks), and so must the note types. The notes read back go to `each` a file's at a
/// time, with those of them whose braces are [`Braced`]. Returns the sources read
/// (without notes), for the lock.
pub fn write(
    root: &Path,
    plan: Plan,
    unpacked: Unpacked,
    each: &mut (dyn FnMut(Vec<crate::note::SourceNote>, &Braced) + Send),
) -> Result<Sources, WriteError> {
    write_changed(root, plan, unpacked, &|_| {}, each)
}

/// [`write`], each card file's text changed by `change` before it is written: the
/// tests' way to show that the read-back catches what does not read back.
fn write_changed(
    root: &Path,
    plan: Plan,
    unpacked: Unpacked,
    change: &(dyn Fn(&mut String) + Sync),
    each: &mut (dyn FnMut(Vec<crate::note::SourceNote>, &Braced) + Send),
) -> Result<Sources, WriteError> {
    let Unpacked {
        notetypes, notes, ..
    } = unpacked;
    let files = CardFiles::new(&notetypes);
    let mut notes = notes.into_iter();
    let mut first_note = 0;
    let jobs = plan.cards.into_iter().map(|(path, deck, count)| {
        let job = (deck, first_note, notes.by_ref().take(count).collect());
        first_note += count;
        (root.join(path), job)
    });
    // Each file's notes are compared and handed to `each` as the reader lets them go,
    // in file order, on the pool's threads with the files still being written.
    let mut compared = Compared::new(&files.expected);
    let write = |path: &Path, job| files.write(path, job, change);
    let read = Sources::read_as_written(root, jobs, write, &mut |batch| {
        crate::temp::pause_at("read back")?;
        let braced = compared.add(&batch);
        each(batch, &braced);
        Ok(())
    });
    if let Some(failed) = (files.failed.lock().unwrap_or_else(|e| e.into_inner())).take() {
        return Err(failed);
    }
    let sources = read.map_err(|e| match e {
        crate::Error::Cancelled => WriteError::Cancelled,
        e => WriteError::ReadBack(e.to_string()),
    })?;
    checked(sources, compared, &notetypes)
}

/// `sources` as read back, unless a note or note type read back otherwise than given, or
/// reading back found an error.
fn checked(
    sources: Sources,
    compared: Compared,
    notetypes: &[NoteType],
) -> Result<Sources, WriteError> {
    let errors: Vec<String> = sources
        .warnings
        .iter()
        .filter(|d| d.problem.severity() == crate::error::Severity::Error)
        .map(|d| format!("{}: {}", d.place(), d.problem))
        .collect();
    let used = compared.notetypes.values().map(Arc::as_ref);
    let read_types = used.chain(sources.notetypes.iter().map(Arc::as_ref));
    let notetypes_wrong = notetype_differences(read_types, notetypes);
    let mut wrong = compared.wrong(errors.first());
    wrong.extend(notetypes_wrong);
    if !wrong.is_empty() {
        return Err(WriteError::Mismatch(wrong));
    }
    if let Some(first) = errors.first() {
        return Err(WriteError::ReadBack(first.clone()));
    }
    Ok(sources)
}

/// A card file to write: its deck, the index of its first note among all, its notes.
type CardJob = (String, usize, Vec<Note>);

/// What writing the card files shares across threads.
struct CardFiles<'a> {
    by_id: HashMap<i64, &'a NoteType>,
    names: notetype::TypeNames,
    /// What each note written must read back as, by guid, with its index in note order.
    expected: Mutex<HashMap<String, (usize, ExpectedNote)>>,
    /// Why a card file could not be written, if one could not.
    failed: Mutex<Option<WriteError>>,
}

impl<'a> CardFiles<'a> {
    fn new(notetypes: &'a [NoteType]) -> CardFiles<'a> {
        CardFiles {
            by_id: notetypes.iter().map(|n| (n.id, n)).collect(),
            names: notetype::TypeNames::new(notetypes),
            expected: Mutex::default(),
            failed: Mutex::default(),
        }
    }

    /// Writes the card file at `path` for the notes of `job` and returns its text,
    /// `change`d, and the Markdown whose HTML spelling proved, which its read-back takes
    /// instead of rendering again (the file's own: no thread waits for another's).
    /// Leaves what the comparison needs; the notes go.
    fn write(
        &self,
        path: &Path,
        (deck, first_note, notes): CardJob,
        change: &(dyn Fn(&mut String) + Sync),
    ) -> std::io::Result<(String, KnownRenderings)> {
        let known = KnownRenderings::default();
        let written =
            card_file(&deck, &notes, &self.by_id, &self.names, &known).and_then(|mut file| {
                change(&mut file.text);
                create(path, file.text.as_bytes()).map(|()| file)
            });
        let file = match written {
            Ok(file) => file,
            Err(e) => {
                let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                failed.get_or_insert(e);
                return Err(std::io::Error::other("not written"));
            }
        };
        // On all cores: a file can hold a whole deck.
        use rayon::prelude::*;
        let spelled = &file.spelled;
        let expected: Vec<(String, (usize, ExpectedNote))> = (notes.into_par_iter())
            .zip(file.expected)
            .enumerate()
            .map(|(index, (mut note, digests))| {
                let from = spelled.partition_point(|(n, _, _)| *n < index);
                for (_, field, key) in spelled[from..].iter().take_while(|(n, ..)| *n == index) {
                    known.insert(*key, std::mem::take(&mut note.fields[*field]));
                }
                (
                    std::mem::take(&mut note.guid),
                    (first_note + index, digests),
                )
            })
            .collect();
        (self.expected.lock().unwrap_or_else(|e| e.into_inner())).extend(expected);
        Ok((file.text, known))
    }
}

/// The notes in their order, cut where the deck changes: each run (deck, how many
/// notes) is a card file, so that reading the files in order meets the notes in the
/// order given (the order of their new cards in Anki).
fn runs_by_deck(notes: &[Note]) -> Vec<(&str, usize)> {
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for note in notes {
        match runs.last_mut() {
            Some((deck, count)) if *deck == note.deck => *count += 1,
            _ => runs.push((&note.deck, 1)),
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

/// A card file's text, and what its read-back needs.
struct CardFile {
    text: String,
    /// The fields written as Markdown that rendering proved gives them, as (note in the
    /// file, field, digest of the Markdown in the renderings known).
    spelled: Vec<(usize, usize, u128)>,
    /// What each note must read back as, in note order, worked out as it is spelled.
    expected: Vec<ExpectedNote>,
}

/// One deck's card file: front matter with the deck, the note type and format most of
/// its notes have, then each note. Spelling renders each field once or more, so the
/// notes are spelled on all cores.
fn card_file(
    deck: &str,
    notes: &[Note],
    by_id: &HashMap<i64, &NoteType>,
    names: &notetype::TypeNames,
    known: &KnownRenderings,
) -> Result<CardFile, WriteError> {
    use rayon::prelude::*;
    type Done<'a> = (Spelled<'a>, Vec<(usize, u128)>, ExpectedNote);
    let spelled: Vec<Done> = (notes.par_iter())
        .map(|note| {
            let nt = by_id
                .get(&note.notetype_id)
                .ok_or_else(|| WriteError::Unwritable {
                    guid: note.guid.clone(),
                    message: format!("its note type {} is missing", note.notetype_id),
                })?;
            // A note is written as Markdown only if every field has a spelling: the
            // others are looked at before the first field is rendered.
            let refused = note.fields.iter().skip(1).any(|f| spelling::refused(f));
            let spellings: Option<Vec<spelling::Spelling>> = match refused {
                true => None,
                false => (note.fields.iter().enumerate())
                    .map(|(i, f)| spelling::spell(f, i == 0))
                    .collect(),
            };
            let rendered = (spellings.iter().flatten().enumerate())
                .filter(|(_, s)| s.rendered)
                .map(|(i, s)| (i, known.key(&s.markdown, i == 0)))
                .collect();
            // Spelled as it is, each field reads the same in either format.
            let neutral = (spellings.as_ref())
                .is_some_and(|s| s.iter().zip(&note.fields).all(|(s, f)| s.markdown == *f));
            let markdown = spellings.map(|s| s.into_iter().map(|s| Some(s.markdown)).collect());
            let in_cloze = nt.kind == crate::Kind::Cloze;
            let braced =
                (note.fields.iter()).any(|f| crate::notetype::cloze::questioned(f, in_cloze));
            let expected = ExpectedNote {
                braced,
                ..ExpectedNote::of(note)
            };
            Ok(((note, *nt, markdown, neutral), rendered, expected))
        })
        .collect::<Result<_, WriteError>>()?;
    let mut file = CardFile {
        text: String::new(),
        spelled: Vec::new(),
        expected: Vec::with_capacity(spelled.len()),
    };
    let mut texts = Vec::with_capacity(spelled.len());
    for (note, (spelled, rendered, expected)) in spelled.into_iter().enumerate() {
        (file.spelled).extend(rendered.into_iter().map(|(field, key)| (note, field, key)));
        file.expected.push(expected);
        texts.push(spelled);
    }
    file.text = card_file_text(deck, texts, by_id, names)?;
    Ok(file)
}

/// A card file's text: front matter with the deck, the note type and format most of
/// its notes have, then each note, spelled.
fn card_file_text(
    deck: &str,
    spelled: Vec<Spelled>,
    by_id: &HashMap<i64, &NoteType>,
    names: &notetype::TypeNames,
) -> Result<String, WriteError> {
    use rayon::prelude::*;
    let common_type = most_common(spelled.iter().map(|(_, nt, ..)| nt.id));
    // Notes that read the same in either format have no say.
    let count = |html: bool| {
        (spelled.iter())
            .filter(|(_, _, md, neutral)| !neutral && md.is_none() == html)
            .count()
    };
    let html = count(true) > count(false);
    let mut out = format!("---\ndeck: {}\n", layout::yaml_string(deck));
    if let Some(nt) = common_type.and_then(|id| by_id.get(&id)) {
        let _ = writeln!(out, "type: {}", layout::yaml_string(names.name(nt)));
    }
    if html {
        out.push_str("format: html\n");
    }
    out.push_str("---\n");
    let texts: Vec<String> = (spelled.into_par_iter())
        .map(|spelled| note_text(spelled, common_type, html, names))
        .collect::<Result<_, WriteError>>()?;
    out.reserve(texts.iter().map(|t| t.len() + 1).sum());
    for text in texts {
        out.push('\n');
        out.push_str(&text);
    }
    Ok(out)
}

/// A note, its note type, its fields' Markdown if every one has some, and whether that
/// Markdown is each field as it is (so that the note reads the same in either format,
/// and needs no `format:` line in any file).
type Spelled<'a> = (&'a Note, &'a NoteType, Option<Vec<Option<String>>>, bool);

/// One note's text in its card file, whose front matter gives `common_type` and says
/// `format: html` if `html`.
fn note_text(
    (note, nt, spellings, neutral): Spelled,
    common_type: Option<i64>,
    html: bool,
    names: &notetype::TypeNames,
) -> Result<String, WriteError> {
    let markdown = spellings.is_some();
    let mut settings = vec![("guid".to_string(), note.guid.clone())];
    let heading_cloze = crate::notetype::cloze::has_cloze(&note.fields[0]);
    let is_stock_cloze = names.stock(nt) == Some(Stock::Cloze);
    if Some(nt.id) != common_type || (heading_cloze && !is_stock_cloze) {
        let name = names.name(nt);
        // A name in quotes would read back without them.
        let name = match crate::source::parse::quoted_scalar(name) {
            Some(_) => layout::yaml_string(name),
            None => name.to_string(),
        };
        settings.push(("type".into(), name));
    }
    if !note.tags.is_empty() {
        settings.push(("tags".into(), layout::tag_list(&note.tags)));
    }
    for (ord, deck) in &note.card_decks {
        settings.push(("card-deck".into(), format!("{} {deck}", ord + 1)));
    }
    for (key, ords) in [
        ("empty-cards", &note.empty_cards),
        ("skip-cards", &note.skipped_cards),
    ] {
        if !ords.is_empty() {
            let numbers: Vec<String> = ords.iter().map(|ord| (ord + 1).to_string()).collect();
            settings.push((key.into(), numbers.join(" ")));
        }
    }
    if markdown == html && !neutral {
        let format = if markdown { "markdown" } else { "html" };
        settings.push(("format".into(), format.into()));
    }
    let field_names = nt.field_names();
    let in_cloze = nt.kind == crate::Kind::Cloze;
    let head = field::Head {
        settings: &settings,
    };
    let plain = spellings.unwrap_or_else(|| note.fields.iter().cloned().map(Some).collect());
    field::note_text(&note.fields, plain, &field_names, &head, in_cloze).map_err(|message| {
        WriteError::Unwritable {
            guid: note.guid.clone(),
            message,
        }
    })
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

/// What a written note must read back as, as digests (of the fields after NFC, of the
/// tags, deck and card decks), so that the notes themselves need not be held while
/// they are read back: one copy of a large deck in memory, not two.
#[derive(Debug)]
struct ExpectedNote {
    notetype_id: i64,
    fields: Vec<u64>,
    rest: u64,
    /// Whether its braces are [`Braced`].
    braced: bool,
}

impl ExpectedNote {
    fn of(note: &Note) -> ExpectedNote {
        ExpectedNote {
            notetype_id: note.notetype_id,
            fields: note.fields.iter().map(|f| field_digest(f)).collect(),
            rest: rest_digest(note),
            braced: false,
        }
    }
}

fn digest(value: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(value)
}

/// A field's digest: Anki compares fields after NFC, and so does the read-back.
fn field_digest(field: &str) -> u64 {
    // Most fields are in NFC already: hashed as they are, without a copy.
    let nfc = field.chars().all(nfc_alone)
        || unicode_normalization::is_nfc_quick(field.chars())
            == unicode_normalization::IsNormalized::Yes;
    match nfc {
        true => digest(field),
        false => digest(field.nfc().collect::<String>()),
    }
}

/// Whether `c` is in NFC whatever stands around it (it neither composes with nor is
/// reordered among its neighbours), for the characters of most fields: Latin text and
/// the ideographs and punctuation of Chinese and Japanese. A cheaper test than NFC's
/// own quick check, which looks each character up.
fn nfc_alone(c: char) -> bool {
    matches!(c, '\0'..='\u{2ff}' | '\u{2010}'..='\u{2027}' | '\u{3000}'..='\u{3029}' | '\u{4e00}'..='\u{9fff}' | '\u{ff01}'..='\u{ff5e}')
}

/// The tags (ignoring case), the deck and each card's deck (by [`crate::deck::key`]),
/// the cards kept with empty fronts and the cards skipped, hashed as they are met,
/// without copies.
fn rest_digest(note: &Note) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
    let mut h =
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().build_hasher();
    note.tags.len().hash(&mut h);
    for tag in &note.tags {
        tag.chars()
            .flat_map(char::to_lowercase)
            .for_each(|c| c.hash(&mut h));
        u32::MAX.hash(&mut h); // no character's: the end of the tag
    }
    with_deck_key(&note.deck, |key| key.hash(&mut h));
    note.card_decks.len().hash(&mut h);
    for (ord, deck) in &note.card_decks {
        ord.hash(&mut h);
        with_deck_key(deck, |key| key.hash(&mut h));
    }
    note.empty_cards.hash(&mut h);
    note.skipped_cards.hash(&mut h);
    h.finish()
}

/// `f` of the deck `name`'s [`crate::deck::key`]. Notes come in runs of one deck, so
/// each thread keeps the last one's key rather than making it for every note.
fn with_deck_key<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static LAST: std::cell::RefCell<(String, String)> = Default::default();
    }
    LAST.with_borrow_mut(|(last, key)| {
        if last.as_str() != name {
            *key = crate::deck::key(name);
            last.clear();
            last.push_str(name);
        }
        f(key)
    })
}

/// The notes read back so far, compared with those expected.
struct Compared<'e> {
    /// The notes expected and not read back yet, by guid, with their index.
    expected: &'e Mutex<HashMap<String, (usize, ExpectedNote)>>,
    /// The notes that read back otherwise: index, guid, what differs.
    differ: Vec<(usize, String, String)>,
    /// The note types of the notes read back, by id.
    notetypes: HashMap<i64, Arc<NoteType>>,
}

impl<'e> Compared<'e> {
    fn new(expected: &'e Mutex<HashMap<String, (usize, ExpectedNote)>>) -> Compared<'e> {
        Compared {
            expected,
            differ: Vec::new(),
            notetypes: HashMap::new(),
        }
    }

    /// Compares the notes of `batch` (on all cores: digests of every field), and
    /// returns the guids of those whose braces are [`Braced`].
    fn add(&mut self, batch: &[crate::note::SourceNote]) -> Braced {
        use rayon::prelude::*;
        let taken: Vec<Option<(usize, ExpectedNote)>> = {
            let mut expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
            (batch.iter())
                .map(|back| expected.remove(back.note.guid.as_str()))
                .collect()
        };
        let braced = (batch.iter().zip(&taken))
            .filter(|(_, taken)| taken.as_ref().is_some_and(|(_, e)| e.braced))
            .map(|(back, _)| back.note.guid.clone())
            .collect();
        let differ: Vec<(usize, String, String)> = (batch.par_iter().zip(&taken))
            .filter_map(|(back, taken)| {
                let (i, expected) = taken.as_ref()?;
                let what = difference(expected, &back.note)?;
                Some((*i, back.note.guid.clone(), what))
            })
            .collect();
        self.differ.extend(differ);
        for back in batch {
            (self.notetypes.entry(back.notetype.id)).or_insert_with(|| Arc::clone(&back.notetype));
        }
        braced
    }

    /// Each note that read back otherwise or not at all (`why`: the first error
    /// reading back), by guid, in the order expected.
    fn wrong(self, why: Option<&String>) -> Vec<(String, String)> {
        let why = why.cloned().unwrap_or_else(|| "missing".into());
        let expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
        let missing = (expected.iter())
            .map(|(guid, (i, _))| (*i, guid.clone(), format!("not read back ({why})")));
        let mut wrong: Vec<(usize, String, String)> =
            self.differ.into_iter().chain(missing).collect();
        wrong.sort_by_key(|(i, _, _)| *i);
        (wrong.into_iter())
            .map(|(_, guid, what)| (guid, what))
            .collect()
    }
}

/// Each note type that reads back otherwise than given, by id: its fields, templates
/// and CSS must come back byte for byte. `read`: the note types read back.
fn notetype_differences<'r>(
    read: impl Iterator<Item = &'r NoteType>,
    expected: &[NoteType],
) -> Vec<(String, String)> {
    let read: HashMap<i64, &NoteType> = read.map(|nt| (nt.id, nt)).collect();
    let mut wrong = Vec::new();
    for given in expected {
        let what = match read.get(&given.id) {
            None if notetype::stock_of(given).is_some() => None,
            None => Some("not read back".to_string()),
            Some(back) => notetype_difference(given, back),
        };
        if let Some(what) = what {
            wrong.push((format!("note type {} ({})", given.id, given.name), what));
        }
    }
    wrong
}

/// What differs between the note type given and the one read back, if anything.
fn notetype_difference(given: &NoteType, back: &NoteType) -> Option<String> {
    let names = |nt: &NoteType| nt.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    if names(given) != names(back) {
        return Some(format!("fields read back as {:?}", names(back)));
    }
    for (a, b) in given.templates.iter().zip(&back.templates) {
        if (&a.name, &a.front, &a.back) != (&b.name, &b.front, &b.back) {
            return Some(format!("template `{}` reads back otherwise", a.name));
        }
    }
    if given.templates.len() != back.templates.len() {
        return Some("the number of templates differs".into());
    }
    (given.css != back.css).then(|| "the CSS reads back otherwise".into())
}

/// What differs between the note expected and the note read back, if anything.
fn difference(expected: &ExpectedNote, back: &Note) -> Option<String> {
    if expected.notetype_id != back.notetype_id {
        return Some(format!(
            "note type {} read back as {}",
            expected.notetype_id, back.notetype_id
        ));
    }
    if expected.fields.len() != back.fields.len() {
        return Some("the number of fields differs".into());
    }
    for (i, (a, b)) in expected.fields.iter().zip(&back.fields).enumerate() {
        // A field in NFC is its own digest: one read back as it was given is matched
        // without looking at its normalisation.
        if *a != digest(b) && *a != field_digest(b) {
            return Some(format!(
                "field {} reads back as {b:?}, which is not the package's",
                i + 1
            ));
        }
    }
    if expected.rest != rest_digest(back) {
        return Some(format!(
            "tags, deck, card decks, empty or skipped cards read back as {:?}, `{}`, {:?}, {:?}, {:?}",
            back.tags, back.deck, back.card_decks, back.empty_cards, back.skipped_cards
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `unpacked` written into `root` as `unpack` writes it (media files hold `png`),
    /// each card file's text changed by `change`: the sources and the notes read back.
    fn written(
        root: &Path,
        unpacked: Unpacked,
        change: &(dyn Fn(&mut String) + Sync),
    ) -> Result<(Sources, Vec<Note>), WriteError> {
        let plan = prepare(root, &unpacked)?;
        for (_, path) in &plan.media {
            create(&root.join(path), b"png").unwrap();
        }
        let mut back = Vec::new();
        let sources = write_changed(root, plan, unpacked, change, &mut |batch, _| {
            back.extend(batch.into_iter().map(|s| s.note))
        })?;
        Ok((sources, back))
    }

    /// Template text ending in line ends, and CSS, come back byte for byte.
    #[test]
    fn note_types_read_back_byte_for_byte() {
        let nt = NoteType::builder("Vocab")
            .field("Word")
            .field("Meaning")
            .template(
                "Recognize",
                "{{Word}}\n\n",
                "{{FrontSide}}<hr id=answer>{{Meaning}}\n",
            )
            .css(".card { color: red; }\n\n")
            .build()
            .unwrap();
        let unpacked = Unpacked {
            notes: vec![Note::new(&nt, ["word", "meaning"])],
            notetypes: vec![nt.clone()],
            ..Unpacked::default()
        };
        let root = tempfile::tempdir().unwrap();
        let (sources, _) = written(root.path(), unpacked, &|_| {}).unwrap();
        let back = &sources.notetypes[0];
        assert_eq!(back.templates[0].front, "{{Word}}\n\n");
        assert_eq!(back.templates[0].back, nt.templates[0].back);
        assert_eq!(back.css, nt.css);
    }

    /// `notes`, all of the stock Basic type, to write.
    fn of_basic(notes: Vec<Note>) -> Unpacked {
        Unpacked {
            notetypes: vec![Stock::Basic.notetype()],
            notes,
            ..Unpacked::default()
        }
    }

    fn basic_note(guid: &str, fields: [&str; 2]) -> Note {
        Note {
            guid: guid.into(),
            notetype_id: Stock::Basic.notetype().id,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            tags: vec!["Tag".into()],
            deck: "D".into(),
            card_decks: Default::default(),
            empty_cards: Vec::new(),
            skipped_cards: Vec::new(),
            modified: 1,
        }
    }

    /// A note whose fields read the same as Markdown and as HTML (raw HTML blocks, an
    /// empty back) says no `format:` and has no say in the file's: in a file of Anki's
    /// HTML it reads as HTML, so that moving it between files keeps its text.
    #[test]
    fn notes_that_read_alike_in_both_formats_say_no_format() {
        let alike = ["<div>a</div><div>b</div>", "<ul><li>x</li></ul>"];
        let notes = vec![
            basic_note("html", ["Paris", "a<br>b"]),
            basic_note("html too", ["Lyon", "a&nbsp;b"]),
            basic_note("alike", alike),
            basic_note("alike too", ["Q", ""]),
            basic_note("markdown", ["Q2", "<p>a <strong>b</strong></p>"]),
        ];
        let root = tempfile::tempdir().unwrap();
        let (_, back) = written(root.path(), of_basic(notes.clone()), &|_| {}).unwrap();
        let fields = |notes: &[Note]| notes.iter().map(|n| n.fields.clone()).collect::<Vec<_>>();
        assert_eq!(fields(&back), fields(&notes));
        let text = std::fs::read_to_string(root.path().join("D.md")).unwrap();
        assert_eq!(text.matches("format:").count(), 2, "{text}");
        assert!(text.contains("\nformat: html\n---\n"), "{text}");
        assert!(text.contains("\nformat: markdown\n\na **b**\n"), "{text}");
    }

    /// A note type whose name is in quotes is named in quotes of YAML's, as a note's
    /// `type:` reads quotes.
    #[test]
    fn a_quoted_type_name_reads_back() {
        let nt = NoteType::builder("'Vocab'")
            .field("Word")
            .field("Meaning")
            .template("Recognize", "{{Word}}", "{{Meaning}}")
            .build()
            .unwrap();
        let mut odd = Note::new(&nt, ["word", "meaning"]);
        odd.deck = "D".into();
        let mut unpacked = of_basic(vec![
            basic_note("g1", ["one", "<p>1</p>"]),
            basic_note("g2", ["two", "<p>2</p>"]),
            odd,
        ]);
        let id = nt.id;
        unpacked.notetypes.push(nt);
        let root = tempfile::tempdir().unwrap();
        let change = |text: &mut String| assert!(text.contains("\ntype: \"'Vocab'\"\n"), "{text}");
        let (_, back) = written(root.path(), unpacked, &change).unwrap();
        assert_eq!(back.iter().filter(|n| n.notetype_id == id).count(), 1);
    }

    /// The read-back compares with digests: a field that reads back otherwise than it
    /// was given is caught, named.
    #[test]
    fn a_field_that_reads_back_otherwise_is_caught() {
        let unpacked = of_basic(vec![basic_note("g1", ["front", "<p>back</p>"])]);
        let dir = tempfile::tempdir().unwrap();
        let change = |text: &mut String| {
            assert!(text.contains("\nback\n"), "{text}");
            *text = text.replace("\nback\n", "\nbach\n");
        };
        match written(dir.path(), unpacked, &change) {
            Err(WriteError::Mismatch(wrong)) => {
                assert_eq!(wrong[0].0, "g1");
                assert!(wrong[0].1.starts_with("field 2 reads back as"), "{wrong:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A note missing from what is read back is caught too, in the order of the notes,
    /// and the notes read back are handed out in order, in files of their decks.
    #[test]
    fn a_note_not_read_back_is_caught() {
        let mut notes = vec![
            basic_note("g1", ["one", "<p>1</p>"]),
            basic_note("g2", ["two", "<p>2</p>"]),
            basic_note("g3", ["three", "<p>3</p>"]),
        ];
        notes[2].deck = "E".into();
        let unpacked = of_basic(notes);
        let dir = tempfile::tempdir().unwrap();
        let (_, back) = written(dir.path(), unpacked.clone(), &|_| {}).unwrap();
        let guids: Vec<&str> = back.iter().map(|n| n.guid.as_str()).collect();
        assert_eq!(guids, ["g1", "g2", "g3"]);
        assert!(dir.path().join("D.md").is_file() && dir.path().join("E.md").is_file());
        let dir = tempfile::tempdir().unwrap();
        let change = |text: &mut String| {
            if let Some(two) = text.find("## two") {
                text.truncate(two);
                *text = text.replace("\n1\n", "\nuno\n");
            }
        };
        match written(dir.path(), unpacked, &change) {
            Err(WriteError::Mismatch(wrong)) => {
                let guids: Vec<&str> = wrong.iter().map(|(g, _)| g.as_str()).collect();
                assert_eq!(guids, ["g1", "g2"], "{wrong:?}");
                assert!(wrong[1].1.starts_with("not read back"), "{wrong:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A deck without settings is written only when no deck with notes implies it,
    /// as its own or above it, by the rule a build adds parent decks with: `A:` is not
    /// above `A:::B` (whose parent is `A`), so it gets a file, and `A` does not.
    #[test]
    fn bare_decks_are_written_unless_a_deck_with_notes_implies_them() {
        let mut note = basic_note("g1", ["front", "back"]);
        note.deck = "A:::B".into();
        let mut unpacked = of_basic(vec![note]);
        unpacked.decks = ["A", "A:", "A:::B", "Other"]
            .map(|deck| (deck.to_string(), DeckSettings::default()))
            .into();
        let dir = tempfile::tempdir().unwrap();
        let (sources, _) = written(dir.path(), unpacked, &|_| {}).unwrap();
        let mut decks: Vec<&str> = sources.decks.iter().map(|(d, _)| d.as_str()).collect();
        decks.sort_unstable();
        assert_eq!(decks, ["A:", "Other"]);
    }

    /// The characters taken as NFC alone are NFC's own "yes" and start no reordering.
    #[test]
    fn characters_taken_as_nfc_alone_are() {
        use unicode_normalization::char::canonical_combining_class;
        let alone = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| nfc_alone(c));
        let mut count = 0;
        for c in alone {
            let yes = unicode_normalization::is_nfc_quick(std::iter::once(c));
            assert_eq!(yes, unicode_normalization::IsNormalized::Yes, "{c:?}");
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            count += 1;
        }
        assert!(count > 20_000);
        let composed = "e\u{301}";
        assert_ne!(field_digest(composed), digest(composed));
        assert_eq!(field_digest(composed), digest("\u{e9}"));
    }

    /// A deck large enough that its card file is read back in parts comes back whole,
    /// in order; and a field changed in its last part is caught.
    #[test]
    fn a_large_card_file_is_read_back_in_parts() {
        let notes: Vec<Note> = (0..20_000)
            .map(|i| {
                basic_note(
                    &format!("g{i}"),
                    [&format!("q {i}"), &format!("<p>a {i}</p>")],
                )
            })
            .collect();
        let unpacked = of_basic(notes);
        let dir = tempfile::tempdir().unwrap();
        let (_, back) = written(dir.path(), unpacked.clone(), &|_| {}).unwrap();
        let text = std::fs::read_to_string(dir.path().join("D.md")).unwrap();
        assert!(crate::source::parse::parts(&text, crate::source::PART).count() > 2);
        let guids: Vec<&str> = back.iter().map(|n| n.guid.as_str()).collect();
        assert_eq!(
            guids,
            unpacked
                .notes
                .iter()
                .map(|n| n.guid.as_str())
                .collect::<Vec<_>>()
        );
        let dir = tempfile::tempdir().unwrap();
        let change = |text: &mut String| *text = text.replace("\na 19998\n", "\na 19997\n");
        match written(dir.path(), unpacked, &change) {
            Err(WriteError::Mismatch(wrong)) => {
                assert_eq!(wrong.len(), 1, "{wrong:?}");
                assert_eq!(wrong[0].0, "g19998");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The read-back takes each field spelling rendered (one used by two notes too)
    /// instead of rendering it again, and gives back the same notes; a field with a
    /// media reference is rendered, as its HTML depends on the media folder.
    #[test]
    fn the_read_back_takes_what_spelling_rendered() {
        let notes = vec![
            basic_note("g1", ["a *b*", "<p>same</p>"]),
            basic_note("g2", ["c", "<p>same</p>"]),
            basic_note("g3", ["d", "<p><img src=\"x.png\" alt=\"x\"></p>"]),
            basic_note("g4", ["Paris", "<b>html</b> note"]),
        ];
        let notetypes = [Stock::Basic.notetype()];
        let files = CardFiles::new(&notetypes);
        let dir = tempfile::tempdir().unwrap();
        let job = ("D".to_string(), 0, notes.clone());
        let (_, known) = files.write(&dir.path().join("D.md"), job, &|_| {}).unwrap();
        // g1's two, g2's first (their shared field known once, for two uses), g3's
        // first; not g3's image, nor g4, written as HTML.
        assert_eq!(known.len(), 4);
        let unpacked = Unpacked {
            notetypes: notetypes.to_vec(),
            notes: notes.clone(),
            media: vec!["x.png".into()],
            ..Unpacked::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let (_, back) = written(dir.path(), unpacked, &|_| {}).unwrap();
        for (note, back) in notes.iter().zip(&back) {
            assert_eq!(note.fields, back.fields);
        }
    }
}
