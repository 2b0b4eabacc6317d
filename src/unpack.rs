//! `ankideck unpack`: a package's notes, note types, decks and media as card sources,
//! written so that building them gives back the same notes, and importing that build
//! over the package changes nothing.
//!
//! `package::read` → the model ([`source::write::Unpacked`]) → `source::write` (and its
//! read-back check, whose notes go one file at a time into the seeded lock,
//! `lock::Seeding`), in a scratch folder beside the target that is renamed into place
//! at the end.

use crate::deck::DeckSettings;
use crate::note::Note;
use crate::package::read::{self, Contents, ReadError};
use crate::source::write::{self, Unpacked, WriteError};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What an unpack wrote.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Notes written.
    pub notes: usize,
    /// Their cards.
    pub cards: usize,
    /// Decks, as the build counts them: every normal deck with its parents, and
    /// `Default`, which every package has (filtered decks are not).
    pub decks: usize,
    /// Filtered decks, left out: their cards are written in their home decks.
    pub filtered_decks: usize,
    /// Note types, used or not.
    pub notetypes: usize,
    /// Media files.
    pub media: usize,
    /// Cards with review history, which stays in the collection.
    pub cards_with_history: usize,
    /// The names of the deck options presets no deck uses, left out: Anki's importer
    /// takes only the presets of the decks it imports.
    pub unused_presets: Vec<String>,
    /// What the package had that was left out, one message each.
    pub warnings: Vec<String>,
}

/// Why an unpack wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// The package cannot be read.
    #[error("{}", read_message(package, source))]
    Read {
        /// The package.
        package: PathBuf,
        /// Why.
        source: ReadError,
    },
    /// The sources cannot be written, or do not read back as the package's notes.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The target folder holds files.
    #[error("`{}` is not empty; unpack into a new folder, or pass --force to replace it", .0.display())]
    NotEmpty(PathBuf),
    /// The target is a file.
    #[error("`{}` is a file, not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// Something else failed (the lock, the scratch folder, the rename).
    #[error(transparent)]
    Other(#[from] crate::Error),
}

/// A read error's message, after the package's name where the message does not say it.
fn read_message(package: &Path, error: &ReadError) -> String {
    match error {
        ReadError::Io { .. }
        | ReadError::NotZip { .. }
        | ReadError::Truncated { .. }
        | ReadError::NoCollection { .. } => error.to_string(),
        _ => format!("{}: {error}", package.display()),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UnpackError + '_ {
    move |e| UnpackError::Other(crate::Error::io(path, e))
}

/// Unpacks `package` into the folder `dir`, which must not exist or be empty (any
/// folder with `force`, whose content is then replaced).
pub fn unpack(package: &Path, dir: &Path, force: bool) -> Result<Summary, UnpackError> {
    check_target(dir, force)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Everything, the inflated collection too, goes in one scratch folder beside DIR:
    // removed whatever happens, and never a memory-backed /tmp.
    let scratch = crate::temp::Scratch::beside(&parent)?;
    let read_error = |source| UnpackError::Read {
        package: package.to_path_buf(),
        source,
    };
    let options = read::ReadOptions {
        scratch_dir: Some(scratch.path().to_path_buf()),
        limits: None,
    };
    let mut reader = read::open_with(package, options).map_err(read_error)?;
    // Each note is made from its row on all cores as the rows are read.
    let mut prepared = None;
    let slot = &mut prepared;
    let (mut contents, made) = reader
        .contents_making(move |notetypes| {
            let prepared: &Prepared = slot.insert(Prepared::of(notetypes));
            move |row| note_of(row, prepared)
        })
        .map_err(read_error)?;
    let prepared = prepared.expect("the reader gives the note types before the notes");
    let (unpacked, originals, notetype_mods, mut summary) = model(&contents, prepared, made);
    contents.cards = Vec::new(); // counted and placed: not needed from here on
    let staged = scratch.path().join("sources");
    std::fs::create_dir(&staged).map_err(io(&staged))?;
    let plan = write::prepare(&staged, &unpacked)?;
    let by_name: HashMap<&str, &read::MediaFile> = contents
        .media
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    // Before the card files, which are read back as they are written.
    for (name, relative) in &plan.media {
        crate::cancel::check()?;
        let path = staged.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut file = std::fs::File::create(&path).map_err(io(&path))?;
        if let Some(media) = by_name.get(name.as_str()) {
            reader.copy_media(media, &mut file).map_err(read_error)?;
        }
    }
    summary.media = plan.media.len();
    // The notes read back go, once looked at, into the lock's lines: none is held.
    let mut seeding = crate::lock::Seeding::new(&originals);
    let mut odd = Vec::new();
    let sources = write::write(&staged, plan, unpacked, &mut |batch, braced| {
        odd.extend(odd_notes(&batch, &staged, braced));
        seeding.add(&batch);
    })?;
    summary.warnings.extend(odd);
    let lock = staged.join(crate::lock::FILE_NAME);
    seeding.write(&lock, &sources.notetypes, &notetype_mods)?;
    put_in_place(&staged, dir)?;
    Ok(summary)
}

/// Refuses a target that is a file, or a folder with files unless `force`.
fn check_target(dir: &Path, force: bool) -> Result<(), UnpackError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let empty = entries.count() == 0;
            match empty || force {
                true => Ok(()),
                false => Err(UnpackError::NotEmpty(dir.to_path_buf())),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.is_file() => Err(UnpackError::NotAFolder(dir.to_path_buf())),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Moves the finished sources to `dir`: what was there goes first (an empty folder,
/// or with `--force` any), so that `dir` is never half-written.
fn put_in_place(staged: &Path, dir: &Path) -> Result<(), UnpackError> {
    if dir.exists() {
        let old = staged.with_file_name("replaced");
        std::fs::rename(dir, &old).map_err(io(dir))?;
        std::fs::rename(staged, dir).map_err(io(dir))?;
        // The scratch folder (and the old content in it) goes when it is dropped.
        return Ok(());
    }
    std::fs::rename(staged, dir).map_err(io(dir))
}

/// A note's original `mod` and id, by guid.
type Originals = HashMap<String, crate::lock::Original>;

/// The package's note types as the model has them (written with `\n` line ends), by
/// id, and the warnings converting them gave.
struct Prepared {
    notetypes: Vec<crate::NoteType>,
    by_id: HashMap<i64, usize>,
    warnings: Vec<String>,
    /// Hashes each note's guid as it is made, for the guids met before.
    guids: std::hash::RandomState,
}

impl Prepared {
    fn of(notetypes: &[crate::package::NotetypeJson]) -> Prepared {
        let mut notetypes: Vec<crate::NoteType> =
            notetypes.iter().map(|n| n.to_notetype()).collect();
        let aliased = write::TypeNames::new(&notetypes).aliased(&notetypes);
        let line_ends = unix_line_ends(&mut notetypes);
        let by_id = (notetypes.iter().enumerate())
            .map(|(i, n)| (n.id, i))
            .collect();
        Prepared {
            notetypes,
            by_id,
            warnings: aliased.into_iter().chain(line_ends).collect(),
            guids: std::hash::RandomState::new(),
        }
    }

    fn get(&self, id: i64) -> Option<&crate::NoteType> {
        self.by_id.get(&id).map(|&i| &self.notetypes[i])
    }
}

/// A note made from its row as the package is read, before its cards are known.
struct Made {
    /// The row's id.
    id: i64,
    /// The note, in no deck until [`place`] puts its cards in theirs.
    note: Note,
    /// Its guid's hash ([`Prepared::guids`]).
    guid_hash: u64,
    /// The cards its fields make (`None`: its note type is not known).
    made: Option<Vec<u16>>,
    /// Its cards, in the package's cards by note ([`placed_cards`]).
    cards: std::ops::Range<usize>,
    /// What [`place`] could not keep as the package has it.
    warnings: Vec<String>,
}

/// A card as the model places it: its note, ordinal, home deck (a card in a filtered
/// deck goes home) and, for a new card, its position among new cards.
struct Placed<'c> {
    nid: i64,
    ord: i64,
    home: &'c str,
    new_due: Option<i64>,
}

/// The package's contents as the model the source writer takes: notes with their
/// home decks, the note types, the decks with their descriptions and options. The
/// notes come made from their rows (`made`, by id).
fn model(
    contents: &Contents,
    prepared: Prepared,
    made: Vec<Made>,
) -> (Unpacked, Originals, HashMap<i64, i64>, Summary) {
    let (notes, originals, odd_cards) = notes_in_order(contents, &prepared, made);
    let mut unpacked = Unpacked {
        notetypes: prepared.notetypes,
        notes,
        ..Unpacked::default()
    };
    let configs: HashMap<i64, &crate::package::DeckConfig> =
        contents.deck_configs.iter().map(|c| (c.id, c)).collect();
    // The Default group, edited, goes with the first deck that uses it (as all do
    // that name no other).
    let mut edited_default = (configs.get(&1).copied()).filter(|c| !c.is_anki_default());
    for deck in contents.decks.iter().filter(|d| d.dynamic == 0) {
        let options = match deck.conf {
            1 => edited_default.take(),
            id => configs.get(&id).copied(),
        };
        let settings = DeckSettings {
            description: deck.desc.clone(),
            anki_markdown: deck.rest.get("md").is_some_and(|md| md == true),
            options: options.map(|c| c.options()),
        };
        if deck.id != 1 || settings != DeckSettings::default() {
            unpacked.decks.push((deck.name.clone(), settings));
        }
    }
    unpacked.media = contents
        .media
        .iter()
        .map(|m| m.name.as_str().to_string())
        .collect();
    let notetype_mods = (unpacked.notetypes.iter())
        .map(|n| (n.id, n.modified))
        .collect();
    let summary = Summary {
        notes: unpacked.notes.len(),
        cards: contents.cards.len(),
        decks: deck_count(contents),
        filtered_decks: contents.decks.iter().filter(|d| d.dynamic != 0).count(),
        notetypes: unpacked.notetypes.len(),
        media: unpacked.media.len(),
        cards_with_history: contents.cards_with_history,
        unused_presets: unused_presets(contents),
        warnings: (contents.warnings.iter().map(|w| w.to_string()))
            .chain(prepared.warnings)
            .chain(odd_cards)
            .collect(),
    };
    (unpacked, originals, notetype_mods, summary)
}

/// The notes in the order of their new cards, each in its cards' decks; a note with
/// the guid of one before it is left out, as Anki's importer takes it for that one.
/// Returns them with their original `mod`s and the warnings, in the notes' order.
fn notes_in_order(
    contents: &Contents,
    prepared: &Prepared,
    mut made: Vec<Made>,
) -> (Vec<Note>, Originals, Vec<String>) {
    let cards = placed_cards(contents);
    let order = in_new_card_order(&cards, &mut made);
    let mut kept = vec![false; made.len()];
    let sequence: Vec<Result<usize, String>> = first_of_each_guid(&made, order)
        .map(|(i, first)| match first {
            true => {
                kept[i] = true;
                Ok(i)
            }
            // Anki's importer takes it for the note it met first with that guid.
            false => Err(format!(
                "note {} has the guid `{}` of another note; it is left out, as Anki's \
                 importer takes it for that note",
                made[i].id, made[i].note.guid
            )),
        })
        .collect();
    // Copied here, one after another: copied with the notes on all cores, they would
    // sit among the notes' text and keep its memory once the notes are written.
    let keys: Vec<(String, crate::lock::Original)> = (sequence.iter().flatten())
        .map(|&i| {
            let (modified, nid) = (made[i].note.modified, Some(made[i].id));
            (
                made[i].note.guid.clone(),
                crate::lock::Original { modified, nid },
            )
        })
        .collect();
    // The original `mod`s are gathered on one core while the notes are placed.
    let (originals, ()) = rayon::join(
        || keys.into_iter().collect::<Originals>(),
        || {
            (made.par_iter_mut().zip(kept))
                .filter(|(_, kept)| *kept)
                .for_each(|(m, _)| place(m, &cards[m.cards.clone()], prepared))
        },
    );
    let mut notes = Vec::with_capacity(made.len());
    let mut warnings = Vec::new();
    for entry in sequence {
        match entry {
            Ok(i) => {
                warnings.append(&mut made[i].warnings);
                notes.push(taken(&mut made[i].note));
            }
            Err(warning) => warnings.push(warning),
        }
    }
    (notes, originals, warnings)
}

/// The note `note` was, an empty one (which holds no memory) left in its place.
fn taken(note: &mut Note) -> Note {
    let empty = Note {
        guid: String::new(),
        notetype_id: 0,
        fields: Vec::new(),
        tags: Vec::new(),
        deck: String::new(),
        card_decks: Vec::new(),
        empty_cards: Vec::new(),
        skipped_cards: Vec::new(),
        modified: 0,
    };
    std::mem::replace(note, empty)
}

/// The notes `made` in `order` (indices), each with whether it is the first of its
/// guid. The guids' hashes, made on all cores, are looked up in a map that takes them
/// as they are; the guids are compared only when hashes meet.
fn first_of_each_guid(
    made: &[Made],
    order: Vec<usize>,
) -> impl Iterator<Item = (usize, bool)> + '_ {
    let mut first: HashMap<u64, usize, std::hash::BuildHasherDefault<Prehashed>> =
        HashMap::with_capacity_and_hasher(made.len(), Default::default());
    // Guids whose hash an earlier, other guid has (hardly ever any).
    let mut others: HashSet<&str> = HashSet::new();
    order.into_iter().map(move |i| {
        let guid = made[i].note.guid.as_str();
        let is_first = match first.entry(made[i].guid_hash) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(i);
                true
            }
            std::collections::hash_map::Entry::Occupied(entry) => {
                made[*entry.get()].note.guid != guid && others.insert(guid)
            }
        };
        (i, is_first)
    })
}

/// A hasher for keys that are hashes already: each key is its own hash.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The package's cards by note (unordered among a note's own).
fn placed_cards(contents: &Contents) -> Vec<Placed<'_>> {
    let decks: HashMap<i64, &str> = (contents.decks.iter())
        .map(|d| (d.id, d.name.as_str()))
        .collect();
    let mut cards: Vec<Placed> = (contents.cards.par_iter())
        .map(|card| {
            let home = match card.original_did {
                0 => card.did,
                home => home,
            };
            Placed {
                nid: card.nid,
                ord: card.ord,
                home: decks.get(&home).copied().unwrap_or("Default"),
                // In a filtered deck, `due` is its place there; `odue` is its home's.
                new_due: (card.card_type == 0).then_some(match card.original_did {
                    0 => card.due,
                    _ => card.original_due,
                }),
            }
        })
        .collect();
    // Cards made with their notes are in their order already.
    if !cards.is_sorted_by_key(|c| c.nid) {
        cards.par_sort_unstable_by_key(|c| c.nid);
    }
    cards
}

/// A note made from its row (as the package is read, on all cores), with the cards its
/// fields make; [`place`] puts it in its cards' decks.
fn note_of(row: crate::package::NoteRow<'static>, prepared: &Prepared) -> Made {
    let fields = row
        .fields
        .split(crate::package::FIELD_SEPARATOR)
        .map(str::to_string)
        .collect();
    let note = Note {
        guid: row.guid.into_owned(),
        notetype_id: row.mid,
        fields,
        tags: row.tags.split_whitespace().map(str::to_string).collect(),
        deck: String::new(),
        card_decks: Vec::new(),
        empty_cards: Vec::new(),
        skipped_cards: Vec::new(),
        modified: row.modified,
    };
    // The cards the fields make, worked out once for both checks in `place`.
    let made = (prepared.get(note.notetype_id))
        .map(|nt| (nt.card_ordinals(&note.fields, !note.tags.is_empty())).unwrap_or_default());
    Made {
        id: row.id,
        guid_hash: std::hash::BuildHasher::hash_one(&prepared.guids, &note.guid),
        note,
        made,
        cards: 0..0,
        warnings: Vec::new(),
    }
}

/// Puts a note in its `cards`' decks (ordinal, home deck): its deck is its first
/// card's, and the cards its fields do not make or lack are kept as in the package
/// (with a warning each for what cannot be).
fn place(made: &mut Made, cards: &[Placed], prepared: &Prepared) {
    let mut cards: Vec<(i64, &str)> = cards.iter().map(|c| (c.ord, c.home)).collect();
    cards.sort_unstable();
    let note = &mut made.note;
    let deck = cards.first().map_or("Default", |(_, d)| d).to_string();
    note.card_decks = (cards.iter())
        .filter(|(_, d)| *d != deck && crate::deck::key(d) != crate::deck::key(&deck))
        .map(|(ord, d)| (*ord as u16, d.to_string()))
        .collect();
    note.deck = deck;
    if let (Some(nt), Some(made_ords)) = (prepared.get(note.notetype_id), made.made.take()) {
        let ords: Vec<i64> = cards.iter().map(|c| c.0).collect();
        made.warnings
            .extend(keep_empty_cards(note, nt, &made_ords, &ords));
        made.warnings
            .extend(skip_missing_cards(note, &made_ords, &ords));
    }
}

/// The names of the package's deck options presets that no deck uses (a `.colpkg` has
/// every preset of the collection). Anki's `.apkg` importer takes only the presets of
/// the decks it imports, so a build cannot bring them back. Anki's own `Default`,
/// unedited, is in every collection and not counted.
fn unused_presets(contents: &Contents) -> Vec<String> {
    let used: HashSet<i64> = (contents.decks.iter())
        .filter(|d| d.dynamic == 0)
        .map(|d| d.conf)
        .collect();
    (contents.deck_configs.iter())
        .filter(|c| !used.contains(&c.id))
        .filter(|c| c.id != 1 || !c.is_anki_default())
        .map(|c| c.name.clone())
        .collect()
}

/// How many decks the build of the unpacked sources has: every normal deck of the
/// package and its parents (a deck without notes has its `_deck.toml`), and `Default`.
fn deck_count(contents: &Contents) -> usize {
    let normal = contents.decks.iter().filter(|d| d.dynamic == 0);
    let names = normal.flat_map(|d| crate::deck::with_parents(&d.name));
    let keys: std::collections::HashSet<String> =
        (names.chain(["Default"])).map(crate::deck::key).collect();
    keys.len()
}

/// Template and CSS files are read with `\n` line ends (a checkout on Windows may turn
/// them into `\r\n`), so a note type stored with `\r\n` is written with `\n`: the
/// cards look the same, and one warning per such type says so.
fn unix_line_ends(notetypes: &mut [crate::NoteType]) -> Vec<String> {
    let mut warnings = Vec::new();
    for nt in notetypes {
        let texts = nt
            .templates
            .iter_mut()
            .flat_map(|t| [&mut t.front, &mut t.back]);
        let mut changed = false;
        for text in texts.chain([&mut nt.css]) {
            if text.contains("\r\n") {
                *text = text.replace("\r\n", "\n");
                changed = true;
            }
        }
        if changed {
            warnings.push(format!(
                "note type `{}` has Windows line ends (\\r\\n) in its templates or CSS; \
                 they are written as \\n, which shows the same cards (re-importing the \
                 build updates the note type)",
                nt.name
            ));
        }
    }
    warnings
}

/// Sets `note.empty_cards` to the package's cards (`ords`) that its fields (which make
/// the cards `made`) do not make (a cloze number since removed, a template's fields
/// since emptied, the first card Anki gives a note whose fronts are all empty): Anki
/// keeps such cards until Tools › Empty Cards deletes them, and so does the build with
/// `empty-cards:`. Returns what could not be kept as it was: cards beyond the note
/// type's templates, which are left out, or a note without cards whose fields make
/// none, which gets its first card.
fn keep_empty_cards(
    note: &mut Note,
    nt: &crate::NoteType,
    made: &[u16],
    ords: &[i64],
) -> Vec<String> {
    let shown = match nt.kind {
        crate::Kind::Standard => made.to_vec(),
        // A deletion only in fields the front does not show makes a card with an
        // empty front: kept as such.
        crate::Kind::Cloze => (nt.cloze_display().on_front.iter())
            .filter_map(|&i| note.fields.get(i))
            .flat_map(|f| crate::notetype::cloze::cloze_numbers(f))
            .map(|n| n.min(crate::notetype::MAX_CLOZE) - 1)
            .collect(),
    };
    let (kept, beyond): (Vec<i64>, Vec<i64>) = (ords.iter())
        .filter(|&&o| !u16::try_from(o).is_ok_and(|o| shown.contains(&o)))
        .partition(|&&o| usize::try_from(o).is_ok_and(|o| o < nt.max_cards()));
    note.empty_cards = kept.iter().map(|&o| o as u16).collect();
    let guid = &note.guid;
    let mut warnings = Vec::new();
    if !beyond.is_empty() {
        let numbers: Vec<String> = beyond.iter().map(|o| (o + 1).to_string()).collect();
        warnings.push(format!(
            "note `{guid}` has cards its note type `{}` has no template for (card {}); \
             they are left out",
            nt.name,
            numbers.join(", ")
        ));
    }
    if made.is_empty() && note.empty_cards.is_empty() {
        note.empty_cards.push(0);
        warnings.push(format!(
            "note `{guid}` has no cards in the package and its fields make none; it is \
             written with its first card (`empty-cards: 1`), as Anki gives such a note one"
        ));
    }
    warnings
}

/// Sets `note.skipped_cards` to the cards its fields make (`made`) that the package
/// lacks (from Anki 2.0's rules or another tool, or deleted in Anki, where they
/// stay missing until Anki makes them on the note's next edit or Check Database), so
/// that the build lacks them too. A note without any card in the package is written
/// with its cards, as Check Database gives it: one warning says so.
fn skip_missing_cards(note: &mut Note, made: &[u16], ords: &[i64]) -> Option<String> {
    // The cards kept with empty fronts are the package's: none is missing.
    let missing: Vec<u16> = (made.iter())
        .filter(|&&o| !ords.contains(&i64::from(o)))
        .copied()
        .collect();
    if missing.is_empty() {
        return None;
    }
    if ords.is_empty() {
        let numbers: Vec<String> = made.iter().map(|o| (o + 1).to_string()).collect();
        return Some(format!(
            "note `{}` has no cards in the package; it is written with the cards its \
             fields make ({}), as Anki's Check Database gives it",
            note.guid,
            numbers.join(", ")
        ));
    }
    note.skipped_cards = missing;
    None
}

/// The names of a note's cards `ords` for people: `c2` for a cloze note, the
/// template's name otherwise.
fn card_names(notetype: &crate::NoteType, ords: &[u16]) -> Vec<String> {
    (ords.iter())
        .map(|&o| match notetype.kind {
            crate::Kind::Cloze => format!("c{}", o + 1),
            crate::Kind::Standard => (notetype.templates.get(usize::from(o)))
                .map_or_else(|| format!("card {}", o + 1), |t| format!("`{}`", t.name)),
        })
        .collect()
}

/// One line per note, at its heading, that is written otherwise than a person would
/// write it so that it builds as Anki has it: one that keeps cards whose fronts are
/// empty (`empty-cards:`), one that lacks cards its fields make (`skip-cards:`), one
/// whose cloze braces Anki takes as text (in `braces`).
fn odd_notes(
    notes: &[crate::note::SourceNote],
    root: &Path,
    braces: &write::Braced,
) -> Vec<String> {
    let mut out = Vec::new();
    for source in notes {
        let braced = braces.contains(source.note.guid.as_str());
        let (empty, skipped) = (&source.note.empty_cards, &source.note.skipped_cards);
        if !braced && empty.is_empty() && skipped.is_empty() {
            continue; // most notes
        }
        let file = source.file.strip_prefix(root).unwrap_or(&source.file);
        let at = format!("{}:{}", file.display(), source.line);
        if braced {
            out.push(format!(
                "{at}: the note has cloze braces that Anki takes as text (never closed, \
                 with one colon, or in a note of a type without clozes); the field is \
                 written as Anki stores it, in a `~~~ verbatim` block"
            ));
        }
        let cards = |ords: &[u16]| {
            let names = card_names(&source.notetype, ords);
            let (cards, them) = match names.len() {
                1 => ("a card".to_string(), "it"),
                n => (format!("{n} cards"), "them"),
            };
            (cards, them, names.join(", "))
        };
        if !empty.is_empty() {
            let (cards, them, names) = cards(empty);
            out.push(format!(
                "{at}: the note has {cards} whose front is empty ({names}); `empty-cards:` \
                 keeps {them}, as Anki does until Tools › Empty Cards deletes {them}"
            ));
        }
        if !skipped.is_empty() {
            let (cards, them, names) = cards(skipped);
            out.push(format!(
                "{at}: the note lacks {cards} its fields make ({names}); `skip-cards:` \
                 leaves {them} out, as the package does (Anki makes {them} when the note \
                 is next edited, or by Check Database)"
            ));
        }
    }
    out
}

/// The indices of the notes `made` (by id) in the order of their new cards (the order a
/// build gives them, so that rebuilding keeps it). A note without new cards (studied, in
/// a package with scheduling) has no place in that order: it goes with its deck's notes
/// ([`studied_in_place`]), so that studying a deck does not cut its card file in two.
/// Finds each note's range of `cards` (sorted by note) on the way.
fn in_new_card_order(cards: &[Placed], made: &mut [Made]) -> Vec<usize> {
    // Each note's first new card's position, and its deck (its first card's, as
    // [`place`] gives it).
    let found: Vec<(Option<i64>, &str)> = (made.par_iter_mut())
        .map(|m| {
            let start = cards.partition_point(|c| c.nid < m.id);
            let end = start + cards[start..].partition_point(|c| c.nid == m.id);
            m.cards = start..end;
            let due = cards[start..end].iter().filter_map(|c| c.new_due).min();
            let first = cards[start..end].iter().min_by_key(|c| c.ord);
            (due, first.map_or("Default", |c| c.home))
        })
        .collect();
    let mut new: Vec<(i64, usize)> = (found.iter().enumerate())
        .filter_map(|(i, (due, _))| due.map(|due| (due, i)))
        .collect();
    if !new.is_sorted() {
        new.par_sort_unstable();
    }
    let mut keys = studied_in_place(&found, &new);
    if !keys.is_sorted() {
        keys.par_sort_unstable();
    }
    keys.into_iter().map(|(.., i)| i).collect()
}

/// The sort keys (position among the notes with new cards, slot, deck rank, index) of
/// the notes `found` (by id: first new card, deck), given those with new cards in their
/// order (`new`). A note without new cards goes after the note of its deck with new
/// cards added last before it, or before the first of its deck's if none was; the
/// notes of a deck without new cards go by id, where its card file is read among the
/// others' (at the end when those are not read in order, as the files are numbered).
fn studied_in_place(found: &[(Option<i64>, &str)], new: &[(i64, usize)]) -> Vec<Key> {
    const DECK: u8 = 0;
    const BEFORE: u8 = 1;
    const NEW: u8 = 2;
    const AFTER: u8 = 3;
    let mut at = vec![0; found.len()];
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (position, &(_, i)) in new.iter().enumerate() {
        at[i] = position;
        first.entry(found[i].1).or_insert(position);
    }
    let mut keys = Vec::with_capacity(found.len());
    let mut last: HashMap<&str, usize> = HashMap::new();
    let mut decks: std::collections::BTreeMap<PathBuf, Vec<usize>> = Default::default();
    for (i, &(due, deck)) in found.iter().enumerate() {
        let key = match (due, last.get(deck), first.get(deck)) {
            (Some(_), ..) => {
                last.insert(deck, at[i]);
                (at[i], NEW, 0, i)
            }
            (None, Some(&position), _) => (position, AFTER, 0, i),
            (None, None, Some(&position)) => (position, BEFORE, 0, i),
            (None, None, None) => {
                decks
                    .entry(write::named_card_file(deck))
                    .or_default()
                    .push(i);
                continue;
            }
        };
        keys.push(key);
    }
    // The card files of the decks with new cards, in their notes' order.
    let mut runs: Vec<(PathBuf, usize)> = Vec::new();
    for (position, &(_, i)) in new.iter().enumerate() {
        if runs
            .last()
            .is_none_or(|(_, p)| found[new[*p].1].1 != found[i].1)
        {
            runs.push((write::named_card_file(found[i].1), position));
        }
    }
    let in_order = runs.windows(2).all(|w| w[0].0 < w[1].0);
    for (rank, (path, notes)) in decks.into_iter().enumerate() {
        let position = match in_order {
            true => match runs.partition_point(|(p, _)| *p < path) {
                run if run < runs.len() => runs[run].1,
                _ => new.len(),
            },
            false => new.len(),
        };
        keys.extend(notes.into_iter().map(|i| (position, DECK, rank, i)));
    }
    keys
}

/// A note's place in [`studied_in_place`]'s order.
type Key = (usize, u8, usize, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_note_of_a_guid_in_the_order_is_kept_even_when_hashes_meet() {
        let basic = crate::Stock::Basic.notetype();
        // "a" and "b" have the same hash: their guids tell them apart.
        let made: Vec<Made> = [("a", 1), ("b", 1), ("a", 1), ("c", 2), ("b", 1)]
            .into_iter()
            .enumerate()
            .map(|(id, (guid, guid_hash))| Made {
                id: id as i64,
                note: Note::new(&basic, ["front", "back"]).guid(guid),
                guid_hash,
                made: None,
                cards: 0..0,
                warnings: Vec::new(),
            })
            .collect();
        let firsts = |order: Vec<usize>| -> Vec<(usize, bool)> {
            first_of_each_guid(&made, order).collect()
        };
        let kept = firsts(vec![0, 1, 2, 3, 4]);
        assert_eq!(
            kept,
            [(0, true), (1, true), (2, false), (3, true), (4, false)]
        );
        let kept = firsts(vec![4, 3, 2, 1, 0]);
        assert_eq!(
            kept,
            [(4, true), (3, true), (2, true), (1, false), (0, false)]
        );
    }

    #[test]
    fn windows_line_ends_are_written_as_unix_ones_with_a_warning() {
        let mut types = vec![
            crate::NoteType::builder("Crlf")
                .field("Front")
                .template("Card 1", "{{Front}}\r\n", "{{FrontSide}}\r\n<hr id=answer>")
                .css(".card {\r\n}\r")
                .build()
                .unwrap(),
            crate::Stock::Basic.notetype(),
        ];
        let warnings = unix_line_ends(&mut types);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("`Crlf`"), "{}", warnings[0]);
        let t = &types[0].templates[0];
        assert_eq!(
            (t.front.as_str(), t.back.as_str()),
            ("{{Front}}\n", "{{FrontSide}}\n<hr id=answer>")
        );
        assert_eq!(types[0].css, ".card {\n}\r", "a lone \\r is kept");
    }
}
