//! Card sources from notes: what `ankideck unpack` writes. One card file per deck, in a
//! folder tree named after the decks; custom note types as `_notetypes/NAME/`; deck
//! descriptions and options as `_deck.toml`; media in `_media/`, which the reader
//! packages under the files' own names. Each field is spelled so that it reads back
//! byte for byte ([`field`]), and [`verify`] reads the written folder back to prove it.

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
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

pub use layout::MEDIA_FOLDER;
pub use notetype::TypeNames;

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
    /// The fields written as Markdown that rendering proved gives them, as (note, field,
    /// digest of the Markdown in `known`): [`Expected::taking`] moves them there.
    spelled: Vec<(usize, usize, u128)>,
    /// What the read-back need not render again.
    known: KnownRenderings,
    /// What each note must read back as, in note order, worked out as it is spelled.
    expected: Vec<ExpectedNote>,
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
    let mut first_note = 0;
    for (index, (deck, notes)) in runs.iter().enumerate() {
        let path = match numbered {
            true => paths.numbered_card_file(index + 1, runs.len(), deck),
            false => paths.card_file(deck),
        };
        let text = card_file(deck, notes, &by_id, &names, &mut written, first_note)?;
        first_note += notes.len();
        create(&root.join(&path), text.as_bytes())?;
        written.card_files += 1;
        with_notes.insert(crate::deck::key(deck));
    }
    for (deck, settings) in &unpacked.decks {
        // A deck with notes, or a parent of one, is in the package anyway.
        let key = crate::deck::key(deck);
        let below = |k: &String| *k == key || k.starts_with(&format!("{key}::"));
        let bare = *settings == DeckSettings::default();
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
/// its notes have, then each note. Spelling renders each field once or more, so the
/// notes are spelled on all cores. `first_note`: the index of the file's first note
/// among all, for [`Written::spelled`].
fn card_file(
    deck: &str,
    notes: &[&Note],
    by_id: &HashMap<i64, &NoteType>,
    names: &notetype::TypeNames,
    written: &mut Written,
    first_note: usize,
) -> Result<String, WriteError> {
    use rayon::prelude::*;
    let known = &written.known;
    type Done<'a> = (Spelled<'a>, Vec<(usize, u128)>, ExpectedNote, bool);
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
            let markdown = spellings.map(|s| s.into_iter().map(|s| Some(s.markdown)).collect());
            let in_cloze = nt.kind == crate::Kind::Cloze;
            let braces =
                (note.fields.iter()).any(|f| crate::notetype::cloze::questioned(f, in_cloze));
            Ok((
                (*note, *nt, markdown),
                rendered,
                ExpectedNote::of(note),
                braces,
            ))
        })
        .collect::<Result<_, WriteError>>()?;
    let mut texts = Vec::with_capacity(spelled.len());
    for (index, (spelled, rendered, expected, braces)) in spelled.into_iter().enumerate() {
        let note = first_note + index;
        (written.spelled).extend(rendered.into_iter().map(|(field, key)| (note, field, key)));
        written.expected.push(expected);
        if braces {
            written.braces_as_stored.push(spelled.0.guid.clone());
        }
        texts.push(spelled);
    }
    let spelled = texts;
    let common_type = most_common(spelled.iter().map(|(_, nt, _)| nt.id));
    let html = spelled.iter().filter(|(_, _, md)| md.is_none()).count() * 2 > spelled.len();
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
    for text in texts {
        out.push('\n');
        out.push_str(&text);
    }
    Ok(out)
}

/// A note, its note type, and its fields' Markdown if every one has some.
type Spelled<'a> = (&'a Note, &'a NoteType, Option<Vec<Option<String>>>);

/// One note's text in its card file, whose front matter gives `common_type` and says
/// `format: html` if `html`.
fn note_text(
    (note, nt, spellings): Spelled,
    common_type: Option<i64>,
    html: bool,
    names: &notetype::TypeNames,
) -> Result<String, WriteError> {
    let markdown = spellings.is_some();
    let mut settings = vec![("guid".to_string(), note.guid.clone())];
    let heading_cloze = crate::notetype::cloze::has_cloze(&note.fields[0]);
    let is_stock_cloze = names.stock(nt) == Some(Stock::Cloze);
    if Some(nt.id) != common_type || (heading_cloze && !is_stock_cloze) {
        settings.push(("type".into(), names.name(nt).to_string()));
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
    if markdown == html {
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

/// What each written note must read back as, as digests (of the fields after NFC, of
/// the tags, deck and card decks), so that the notes themselves need not be held while
/// the written folder is read back: one copy of a large deck in memory, not two.
/// The note types are kept whole: they are few.
#[derive(Debug)]
pub struct Expected {
    notes: Vec<ExpectedNote>,
    notetypes: Vec<NoteType>,
    /// The Markdown whose HTML the spelling proved: read back without rendering.
    known: KnownRenderings,
}

#[derive(Debug)]
struct ExpectedNote {
    guid: String,
    notetype_id: i64,
    fields: Vec<u64>,
    rest: u64,
}

impl ExpectedNote {
    fn of(note: &Note) -> ExpectedNote {
        ExpectedNote {
            guid: note.guid.clone(),
            notetype_id: note.notetype_id,
            fields: note.fields.iter().map(|f| field_digest(f)).collect(),
            rest: rest_digest(note),
        }
    }
}

impl Expected {
    /// The digests of `unpacked`'s notes, and its note types.
    pub fn of(unpacked: &Unpacked) -> Expected {
        use rayon::prelude::*;
        Expected {
            notes: unpacked.notes.par_iter().map(ExpectedNote::of).collect(),
            notetypes: unpacked.notetypes.clone(),
            known: KnownRenderings::default(),
        }
    }

    /// [`Expected::of`] the notes `written` was written from, which it takes (their
    /// digests were taken as they were spelled): the fields written as Markdown that
    /// spelling rendered to them move into the renderings the read-back takes instead
    /// of rendering them again.
    pub fn taking(unpacked: Unpacked, written: &mut Written) -> Expected {
        let mut expected = match written.expected.len() == unpacked.notes.len() {
            true => Expected {
                notes: std::mem::take(&mut written.expected),
                notetypes: unpacked.notetypes.clone(),
                known: KnownRenderings::default(),
            },
            false => Expected::of(&unpacked),
        };
        expected.known = std::mem::take(&mut written.known);
        let spelled = std::mem::take(&mut written.spelled);
        expected.known.reserve(spelled.len());
        // `spelled` is in note order: each note goes as soon as its fields are taken.
        let mut spelled = spelled.into_iter().peekable();
        for (index, mut note) in unpacked.notes.into_iter().enumerate() {
            while let Some((_, field, key)) = spelled.next_if(|(n, _, _)| *n == index) {
                expected
                    .known
                    .insert(key, std::mem::take(&mut note.fields[field]));
            }
        }
        expected
    }
}

fn digest(value: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(value)
}

/// A field's digest: Anki compares fields after NFC, and so does the read-back.
fn field_digest(field: &str) -> u64 {
    // Most fields are in NFC already: hashed as they are, without a copy.
    match unicode_normalization::is_nfc_quick(field.chars()) {
        unicode_normalization::IsNormalized::Yes => digest(field),
        _ => digest(field.nfc().collect::<String>()),
    }
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

/// Reads `root` back with the normal source reader and compares every note with
/// `expected`: guid, note type, fields (after NFC), tags and decks. Returns the sources
/// read, for the lock.
pub fn verify(root: &Path, expected: &Expected) -> Result<Sources, WriteError> {
    let mut notes = Vec::new();
    let mut sources = verify_each(root, expected, &mut |batch| notes.extend(batch))?;
    sources.notes = notes;
    Ok(sources)
}

/// [`verify`], handing the notes read back to `each` a file's at a time instead of
/// holding them (the sources come back without notes). The reader goes on with the
/// next files while a thread of its own compares and hands out those read.
pub fn verify_each(
    root: &Path,
    expected: &Expected,
    each: &mut (dyn FnMut(Vec<crate::note::SourceNote>) + Send),
) -> Result<Sources, WriteError> {
    let (read, compared) = std::thread::scope(|scope| {
        let (batches, received) = std::sync::mpsc::sync_channel::<Vec<crate::note::SourceNote>>(4);
        let comparing = scope.spawn(move || {
            let mut compared = Compared::new(expected);
            for batch in received {
                compared.add(&batch);
                each(batch);
            }
            compared
        });
        let read = Sources::read_lenient_known(root, &expected.known, &mut |batch| {
            // Sent unless the comparing thread is gone: its panic is raised below.
            let _ = batches.send(batch);
            Ok(())
        });
        drop(batches);
        let compared = comparing
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (read, compared)
    });
    let sources = read.map_err(|e| WriteError::ReadBack(e.to_string()))?;
    let errors: Vec<String> = sources
        .warnings
        .iter()
        .filter(|d| d.problem.severity() == crate::error::Severity::Error)
        .map(|d| format!("{}: {}", d.place(), d.problem))
        .collect();
    let used = compared.notetypes.values().map(Arc::as_ref);
    let read_types = used.chain(sources.notetypes.iter().map(Arc::as_ref));
    let notetypes_wrong = notetype_differences(read_types, &expected.notetypes);
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

/// The notes read back so far, compared with those expected.
struct Compared<'e> {
    expected: &'e Expected,
    /// Each expected note's index, by guid.
    index: HashMap<&'e str, usize>,
    /// Which expected notes were read back.
    seen: Vec<bool>,
    /// The notes that read back otherwise, by index: what differs.
    differ: Vec<(usize, String)>,
    /// The note types of the notes read back, by id.
    notetypes: HashMap<i64, Arc<NoteType>>,
}

impl<'e> Compared<'e> {
    fn new(expected: &'e Expected) -> Compared<'e> {
        let index = (expected.notes.iter().enumerate())
            .map(|(i, n)| (n.guid.as_str(), i))
            .collect();
        Compared {
            expected,
            index,
            seen: vec![false; expected.notes.len()],
            differ: Vec::new(),
            notetypes: HashMap::new(),
        }
    }

    /// Compares the notes of `batch` (on all cores: digests of every field).
    fn add(&mut self, batch: &[crate::note::SourceNote]) {
        use rayon::prelude::*;
        let (index, notes) = (&self.index, &self.expected.notes);
        let found: Vec<(usize, Option<String>)> = (batch.par_iter())
            .filter_map(|back| {
                let &i = index.get(back.note.guid.as_str())?;
                Some((i, difference(&notes[i], &back.note)))
            })
            .collect();
        for (i, what) in found {
            self.seen[i] = true;
            self.differ.extend(what.map(|what| (i, what)));
        }
        for back in batch {
            (self.notetypes.entry(back.notetype.id)).or_insert_with(|| Arc::clone(&back.notetype));
        }
    }

    /// Each note that read back otherwise or not at all (`why`: the first error
    /// reading back), by guid, in the order expected.
    fn wrong(self, why: Option<&String>) -> Vec<(String, String)> {
        let why = why.cloned().unwrap_or_else(|| "missing".into());
        let missing = (self.seen.iter().enumerate())
            .filter(|(_, seen)| !**seen)
            .map(|(i, _)| (i, format!("not read back ({why})")));
        let mut wrong: Vec<(usize, String)> = self.differ.into_iter().chain(missing).collect();
        wrong.sort_by_key(|(i, _)| *i);
        let notes = &self.expected.notes;
        (wrong.into_iter())
            .map(|(i, what)| (notes[i].guid.clone(), what))
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
        write(root.path(), &unpacked).unwrap();
        let sources = verify(root.path(), &Expected::of(&unpacked)).unwrap();
        let back = &sources.notes[0].notetype;
        assert_eq!(back.templates[0].front, "{{Word}}\n\n");
        assert_eq!(back.templates[0].back, nt.templates[0].back);
        assert_eq!(back.css, nt.css);
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

    /// The read-back compares with digests: a field changed on disk is caught, named,
    /// whether the read-back renders every field or takes those spelling rendered.
    #[test]
    fn verify_catches_a_field_that_reads_back_otherwise() {
        for taking in [false, true] {
            let unpacked = Unpacked {
                notetypes: vec![Stock::Basic.notetype()],
                notes: vec![basic_note("g1", ["front", "<p>back</p>"])],
                ..Unpacked::default()
            };
            let dir = tempfile::tempdir().unwrap();
            let mut written = write(dir.path(), &unpacked).unwrap();
            let expected = match taking {
                false => Expected::of(&unpacked),
                true => Expected::taking(unpacked, &mut written),
            };
            assert_eq!(expected.known.len(), if taking { 2 } else { 0 });
            let file = dir.path().join("D.md");
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains("\nback\n"), "{text}");
            std::fs::write(&file, text.replace("\nback\n", "\nbach\n")).unwrap();
            match verify(dir.path(), &expected) {
                Err(WriteError::Mismatch(wrong)) => {
                    assert_eq!(wrong[0].0, "g1");
                    assert!(wrong[0].1.starts_with("field 2 reads back as"), "{wrong:?}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// A note missing from what is read back is caught too, in the order of the notes,
    /// and the notes read back are handed out, not held, by [`verify_each`].
    #[test]
    fn verify_catches_a_note_not_read_back() {
        let unpacked = Unpacked {
            notetypes: vec![Stock::Basic.notetype()],
            notes: vec![
                basic_note("g1", ["one", "<p>1</p>"]),
                basic_note("g2", ["two", "<p>2</p>"]),
                basic_note("g3", ["three", "<p>3</p>"]),
            ],
            ..Unpacked::default()
        };
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &unpacked).unwrap();
        let expected = Expected::of(&unpacked);
        let mut handed = Vec::new();
        let sources = verify_each(dir.path(), &expected, &mut |batch| {
            handed.extend(batch.into_iter().map(|s| s.note.guid))
        })
        .unwrap();
        assert!(sources.notes.is_empty());
        assert_eq!(handed, ["g1", "g2", "g3"]);
        let file = dir.path().join("D.md");
        let text = std::fs::read_to_string(&file).unwrap();
        let cut = text.find("## two").unwrap()..text.find("## three").unwrap();
        let mut changed = text.clone();
        changed.replace_range(cut, "");
        std::fs::write(&file, changed.replace("\n1\n", "\nuno\n")).unwrap();
        match verify(dir.path(), &expected) {
            Err(WriteError::Mismatch(wrong)) => {
                let guids: Vec<&str> = wrong.iter().map(|(g, _)| g.as_str()).collect();
                assert_eq!(guids, ["g1", "g2"], "{wrong:?}");
                assert!(wrong[1].1.starts_with("not read back"), "{wrong:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The read-back takes each field spelling rendered (one used by two notes too)
    /// instead of rendering it again, and gives back the same notes; a field with a
    /// media reference is rendered, as its HTML depends on the media folder.
    #[test]
    fn verify_takes_what_spelling_rendered() {
        let notes = vec![
            basic_note("g1", ["a *b*", "<p>same</p>"]),
            basic_note("g2", ["c", "<p>same</p>"]),
            basic_note("g3", ["d", "<p><img src=\"x.png\" alt=\"x\"></p>"]),
            basic_note("g4", ["Paris", "<b>html</b> note"]),
        ];
        let unpacked = Unpacked {
            notetypes: vec![Stock::Basic.notetype()],
            notes: notes.clone(),
            media: vec!["x.png".into()],
            ..Unpacked::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut written = write(dir.path(), &unpacked).unwrap();
        for (_, path) in &written.media {
            create(&dir.path().join(path), b"png").unwrap();
        }
        let expected = Expected::taking(unpacked, &mut written);
        // g1's two, g2's first (their shared field known once, for two uses), g3's
        // first; not g3's image, nor g4, written as HTML.
        assert_eq!(expected.known.len(), 4);
        let sources = verify(dir.path(), &expected).unwrap();
        assert!(expected.known.is_empty(), "every one taken");
        let back: Vec<&Note> = sources.notes.iter().map(|s| &s.note).collect();
        for (note, back) in notes.iter().zip(back) {
            assert_eq!(note.fields, back.fields);
        }
    }
}
