//! The update rules: which notes changed since the last build, their `mod`, what Anki
//! will not follow on re-import, and which notes were removed.

use super::bad_lock;
use super::format::{
    card_decks_column, cloze_column, label, parse_clozes, Aliases, NoteRecord, NoteTypeRecord,
    HASH_LEN, HEADER,
};
use super::stream::{Lock, LockWriter, NoteLines};
use super::{Reconciled, RemovedNote};
use crate::error::{Diagnostic, Error, Problem, Result};
use crate::ids::{short_hash, short_hash_of};
use crate::note::SourceNote;
use crate::notetype::cloze;
use crate::notetype::{Kind, NoteType};
use crate::{deck, ids};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Notes reconciled in parallel at a time; a window of 16 batches is matched with the
/// old lock's lines at a time, so that only its lock lines, old and new, are held.
const BATCH: usize = 1024;
const WINDOW: usize = BATCH * 16;

/// The notes a lock is reconciled with: in memory, or held on disk by a build.
pub(crate) trait NoteSet {
    /// The note numbers in guid order.
    fn guid_order(&self) -> Result<Vec<u32>>;
    /// The decks notes are in.
    fn note_decks(&self) -> HashSet<&str>;
    /// The note types of the notes (each note's, or each once).
    fn notetypes_mut(&mut self) -> Vec<&mut Arc<NoteType>>;
    /// Calls `f` with the notes `indexes`.
    fn with_notes<R>(&self, indexes: &[usize], f: impl FnOnce(&[&SourceNote]) -> R) -> Result<R>;
    fn set_modified(&mut self, i: usize, modified: i64);
}

impl NoteSet for [SourceNote] {
    fn guid_order(&self) -> Result<Vec<u32>> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order
            .sort_unstable_by(|&a, &b| self[a as usize].note.guid.cmp(&self[b as usize].note.guid));
        Ok(order)
    }

    fn note_decks(&self) -> HashSet<&str> {
        self.iter().map(|n| n.note.deck.as_str()).collect()
    }

    fn notetypes_mut(&mut self) -> Vec<&mut Arc<NoteType>> {
        self.iter_mut().map(|n| &mut n.notetype).collect()
    }

    fn with_notes<R>(&self, indexes: &[usize], f: impl FnOnce(&[&SourceNote]) -> R) -> Result<R> {
        let notes: Vec<&SourceNote> = indexes.iter().map(|&i| &self[i]).collect();
        Ok(f(&notes))
    }

    fn set_modified(&mut self, i: usize, modified: i64) {
        self[i].note.modified = modified;
    }
}

impl NoteSet for crate::note_store::NoteStore {
    fn guid_order(&self) -> Result<Vec<u32>> {
        crate::note_store::NoteStore::guid_order(self)
    }

    fn note_decks(&self) -> HashSet<&str> {
        crate::note_store::NoteStore::note_decks(self)
    }

    fn notetypes_mut(&mut self) -> Vec<&mut Arc<NoteType>> {
        self.notetypes.iter_mut().collect()
    }

    fn with_notes<R>(&self, indexes: &[usize], f: impl FnOnce(&[&SourceNote]) -> R) -> Result<R> {
        let notes = self.load_many(indexes)?;
        let notes: Vec<&SourceNote> = notes.iter().collect();
        Ok(f(&notes))
    }

    fn set_modified(&mut self, i: usize, modified: i64) {
        crate::note_store::NoteStore::set_modified(self, i, modified);
    }
}

/// Sets every note's and note type's `modified` from `previous` and `now`, and says what
/// Anki will not follow; the new lock goes to `lock`. `lock_path` names the lock in
/// warnings about note types.
pub(super) fn reconcile(
    previous: &Lock,
    notes: &mut [SourceNote],
    notetypes: &mut [Arc<NoteType>],
    now: i64,
    lock_path: &Path,
    lock: &mut LockWriter<'_>,
) -> Result<Reconciled> {
    reconcile_set(previous, notes, notetypes, now, lock_path, lock)
}

/// [`reconcile`] for any [`NoteSet`].
pub(super) fn reconcile_set<N: NoteSet + ?Sized>(
    previous: &Lock,
    notes: &mut N,
    notetypes: &mut [Arc<NoteType>],
    now: i64,
    lock_path: &Path,
    lock: &mut LockWriter<'_>,
) -> Result<Reconciled> {
    let mut out = Reconciled {
        timestamp: i64::MIN,
        ..Reconciled::default()
    };
    let all_notetypes = notes
        .notetypes_mut()
        .into_iter()
        .chain(notetypes.iter_mut());
    let notetypes = reconcile_notetypes(previous, all_notetypes, now, lock_path, &mut out);
    let (head, aliases) = head(notes.note_decks(), &notetypes);
    lock.push(&head);

    // In guid order, the lock's order: each note's old line is found by merging.
    let order = notes.guid_order()?;
    let mut old_lines = previous.note_lines()?;
    let mut old = OldLines::default();
    let mut warnings = Vec::new();
    let mut window = Vec::with_capacity(WINDOW);
    for numbers in order.chunks(WINDOW) {
        crate::cancel::check()?;
        window.clear();
        window.extend(numbers.iter().map(|&i| i as usize));
        let removed = &mut out.removed;
        let batches = notes.with_notes(&window, |sources| {
            let guids = sources.iter().map(|s| s.note.guid.as_str());
            old.match_notes(guids, &mut old_lines, removed, previous, lock_path)?;
            let batches = reconcile_window(previous, sources, &window, &old, now, &aliases);
            batches.map_err(|message| changed_while_read(lock_path, message))
        })??;
        for (batch, (text, mods, found)) in window.chunks(BATCH).zip(batches) {
            for (&i, modified) in batch.iter().zip(mods) {
                notes.set_modified(i, modified);
                out.timestamp = out.timestamp.max(modified);
            }
            lock.push(&text);
            warnings.extend(found);
        }
    }
    while let Some(line) = old_lines.current() {
        out.removed.push(removed(line, previous, lock_path)?);
        old_lines.advance()?;
    }
    // Warnings in the order of the sources.
    warnings.sort_by_key(|(i, _)| *i);
    out.warnings.extend(warnings.into_iter().map(|(_, w)| w));
    if out.timestamp == i64::MIN {
        out.timestamp = now;
    }
    Ok(out)
}

/// A new lock's header: its note type lines and the aliases it gives them and the notes'
/// decks, which its note lines use.
fn head(decks: HashSet<&str>, notetypes: &BTreeMap<i64, NoteTypeRecord>) -> (String, Aliases) {
    let mut head = String::from(HEADER);
    let aliases = Aliases::new(decks, notetypes.keys().copied());
    for record in notetypes.values() {
        record.write(&mut head, &aliases);
    }
    aliases.write_decks(&mut head);
    (head, aliases)
}

/// Sets each note type's `modified` (once: notes share them, so each is updated once and
/// shared again) and warns of new schemas; returns their lock records by id.
fn reconcile_notetypes<'a>(
    previous: &Lock,
    notetypes: impl Iterator<Item = &'a mut Arc<NoteType>>,
    now: i64,
    lock_path: &Path,
    out: &mut Reconciled,
) -> BTreeMap<i64, NoteTypeRecord> {
    let mut records = BTreeMap::new();
    let mut updated: HashMap<i64, Arc<NoteType>> = HashMap::new();
    for notetype in notetypes {
        let id = notetype.id;
        if let Some(nt) = updated.get(&id) {
            *notetype = Arc::clone(nt);
            continue;
        }
        let mut nt = (**notetype).clone();
        let fingerprints = nt.fingerprints();
        let (content, schema) = (&fingerprints.0, &fingerprints.1);
        nt.modified = match previous.notetype(id) {
            Some(r) if &r.content == content => r.modified,
            Some(r) => {
                if &r.schema != schema {
                    let problem = Problem::NoteTypeSchemaChanged(nt.name.clone());
                    out.warnings.push(warning(lock_path, 0, problem));
                }
                next_mod(r.modified, now)
            }
            None => now,
        };
        let modified = nt.modified;
        records.insert(id, NoteTypeRecord::new(&nt, modified, fingerprints));
        let nt = Arc::new(nt);
        out.timestamp = out.timestamp.max(modified);
        *notetype = Arc::clone(&nt);
        updated.insert(id, nt);
    }
    records
}

/// The lock a build of the notes [`Seeding::add`] was given leaves when nothing
/// changed since it, with each note's `mod` from `originals` (by guid) and each note
/// type's `mod` from `notetype_mods` (by id): the text of [`reconcile`] for unchanged
/// notes, so that the first build keeps them. The notes are taken as they are read, a
/// batch at a time, and only their lock columns are kept.
pub struct Seeding<'o> {
    originals: &'o HashMap<String, Original>,
    notes: Vec<SeededNote>,
    /// The notes' decks, each once; notes name theirs by index.
    decks: crate::deck::DeckNames,
    /// The notes' note types, the first met of each id.
    notetypes: Vec<Arc<NoteType>>,
    notetype_ids: HashSet<i64>,
}

/// What a package says of a note that its first build must keep or know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Original {
    /// Its `mod`.
    pub modified: i64,
    /// Its id in the package, if known: the id the user's collection has it by (Anki,
    /// importing a guid it has, keeps its own id), which the lock remembers when a build
    /// would give another.
    pub nid: Option<i64>,
}

/// A note of a seeded lock: its line, but for the aliases of its deck and note type.
struct SeededNote {
    guid: String,
    legacy: Option<u16>,
    notetype_id: i64,
    deck: u32,
    columns: Columns,
}

impl<'o> Seeding<'o> {
    /// A lock for notes whose `mod` (and id in the user's collection) is in `originals`
    /// by guid (else their own).
    pub fn new(originals: &'o HashMap<String, Original>) -> Seeding<'o> {
        Seeding {
            originals,
            notes: Vec::new(),
            decks: Default::default(),
            notetypes: Vec::new(),
            notetype_ids: HashSet::new(),
        }
    }

    /// Takes the lock columns of `notes`. Each line is the one a build writes for a
    /// note its lock does not know yet, whose `mod` is "now": here the note's original
    /// `mod`. Hashing each note is the work, and needs nothing from the others: on all
    /// cores.
    pub fn add(&mut self, notes: &[SourceNote]) {
        let no_lock = Lock::default();
        let originals = self.originals;
        let columns: Vec<Columns> = (notes.par_iter())
            .map(|source| {
                let note = &source.note;
                let original = originals.get(&note.guid);
                let modified = original.map_or(note.modified, |o| o.modified);
                let mut columns = note_columns(&no_lock, None, source, modified).0;
                // Only an id a build would not give the note is worth a column.
                columns.nid = original
                    .and_then(|o| o.nid)
                    .filter(|&nid| nid != ids::note_id(&note.guid));
                columns
            })
            .collect();
        self.notes.reserve(notes.len());
        for (source, columns) in notes.iter().zip(columns) {
            let note = &source.note;
            let (deck, _) = self.decks.index(&note.deck);
            if self.notetype_ids.insert(source.notetype.id) {
                self.notetypes.push(Arc::clone(&source.notetype));
            }
            self.notes.push(SeededNote {
                guid: note.guid.clone(),
                legacy: source.legacy,
                notetype_id: note.notetype_id,
                deck,
                columns,
            });
        }
    }

    /// The lock's text, with the note types `unused` by the notes too.
    pub(super) fn text(
        mut self,
        unused: &[Arc<NoteType>],
        notetype_mods: &HashMap<i64, i64>,
    ) -> String {
        let mut notetypes = BTreeMap::new();
        for nt in self.notetypes.iter().chain(unused) {
            notetypes.entry(nt.id).or_insert_with(|| {
                let modified = notetype_mods.get(&nt.id).copied().unwrap_or(nt.modified);
                NoteTypeRecord::new(nt, modified, nt.fingerprints())
            });
        }
        let decks = self.decks.iter().collect();
        let (mut out, aliases) = head(decks, &notetypes);
        (self.notes).par_sort_unstable_by(|a, b| a.guid.cmp(&b.guid));
        // A run of lines at a time on each core, joined in guid order; the notes are
        // let go on the cores too.
        let notes = std::mem::take(&mut self.notes);
        let runs: Vec<String> = (notes.into_par_iter().chunks(4096))
            .map(|run| {
                let mut text = String::new();
                for note in &run {
                    let deck = self.decks.name(note.deck);
                    let record =
                        (note.columns).record(&note.guid, note.legacy, note.notetype_id, deck);
                    record.write(&mut text, &aliases);
                }
                text
            })
            .collect();
        runs.iter().for_each(|run| out.push_str(run));
        out
    }
}

/// The old lock's lines of the notes of a window, and where each note's is.
#[derive(Default)]
struct OldLines {
    text: String,
    of_note: Vec<Option<Range<usize>>>,
}

impl OldLines {
    /// Identity matching: a note is the lock's note with its guid. Both `guids` and the
    /// lock's lines are in guid order; lock notes passed over are not built any more.
    /// A guid the lock has twice (a merge resolved by hand) matches the first line.
    fn match_notes<'g>(
        &mut self,
        guids: impl Iterator<Item = &'g str>,
        lines: &mut NoteLines<'_>,
        removed_notes: &mut Vec<RemovedNote>,
        previous: &Lock,
        lock_path: &Path,
    ) -> Result<()> {
        self.text.clear();
        self.of_note.clear();
        for guid in guids {
            let mut old = None;
            while let Some(line) = lines.current() {
                let old_guid = previous.header().note_line_guid(line);
                if old_guid > guid {
                    break;
                }
                if old_guid < guid {
                    removed_notes.push(removed(line, previous, lock_path)?);
                } else if old.is_none() {
                    let start = self.text.len();
                    self.text.push_str(line);
                    old = Some(start..self.text.len());
                }
                lines.advance()?;
            }
            self.of_note.push(old);
        }
        Ok(())
    }
}

/// A batch's new lock lines, each note's `mod`, and warnings by note index.
type Batch = (String, Vec<i64>, Vec<(usize, Diagnostic)>);

/// Reconciles each note of `window` on its own, in parallel by batches and in order:
/// hashing the content is most of the work. An error is an old line that did not parse.
fn reconcile_window(
    previous: &Lock,
    notes: &[&SourceNote],
    window: &[usize],
    old: &OldLines,
    now: i64,
    aliases: &Aliases,
) -> std::result::Result<Vec<Batch>, String> {
    window
        .par_chunks(BATCH)
        .zip(notes.par_chunks(BATCH))
        .zip(old.of_note.par_chunks(BATCH))
        .map(|((batch, notes), olds)| {
            let mut text = String::new();
            let mut mods = Vec::with_capacity(batch.len());
            let mut found = Vec::new();
            for ((&i, note), range) in batch.iter().zip(notes).zip(olds) {
                let record = match range {
                    Some(range) => {
                        let line = &old.text[range.clone()];
                        Some(NoteRecord::parse(line, previous.header())?)
                    }
                    None => None,
                };
                let (modified, w) = reconcile_note(previous, record, note, now, aliases, &mut text);
                mods.push(modified);
                found.extend(w.into_iter().map(|w| (i, w)));
            }
            Ok((text, mods, found))
        })
        .collect()
}

/// The lock line of a note not built any more, as a [`RemovedNote`].
fn removed(line: &str, previous: &Lock, lock_path: &Path) -> Result<RemovedNote> {
    let record =
        NoteRecord::parse(line, previous.header()).map_err(|m| changed_while_read(lock_path, m))?;
    Ok(RemovedNote {
        guid: record.guid.to_string(),
        nid: record.anki_nid(),
        label: record.label.to_string(),
    })
}

/// A lock line that no longer parses: the file changed since it was read.
fn changed_while_read(lock_path: &Path, message: String) -> Error {
    bad_lock(lock_path, 0, format!("changed while read: {message}"))
}

/// Sets one note's `modified`; writes its lock line and returns what Anki will not
/// follow.
fn reconcile_note(
    previous: &Lock,
    old: Option<NoteRecord<'_>>,
    source: &SourceNote,
    now: i64,
    aliases: &Aliases,
    lock: &mut String,
) -> (i64, Vec<Diagnostic>) {
    let (columns, warnings) = note_columns(previous, old, source, now);
    let note = &source.note;
    let record = columns.record(&note.guid, source.legacy, note.notetype_id, &note.deck);
    record.write(lock, aliases);
    (columns.modified, warnings)
}

/// The columns of a note's lock line that take working out from its content, and its
/// `mod`.
struct Columns {
    modified: i64,
    hash: String,
    clozes: String,
    label: String,
    /// The note's id in the user's collection, when the lock remembers one.
    nid: Option<i64>,
    card_decks: String,
}

impl Columns {
    /// The note's record, with its other columns.
    fn record<'a>(
        &'a self,
        guid: &'a str,
        legacy: Option<u16>,
        notetype_id: i64,
        deck: &'a str,
    ) -> NoteRecord<'a> {
        NoteRecord {
            guid,
            legacy,
            modified: self.modified,
            hash: &self.hash,
            notetype_id: Some(notetype_id),
            deck: Some(deck),
            clozes: &self.clozes,
            label: &self.label,
            nid: self.nid,
            card_decks: &self.card_decks,
        }
    }
}

/// A note's [`Columns`] against its record `old` in the previous lock, if any, and what
/// Anki will not follow of its change.
fn note_columns(
    previous: &Lock,
    old: Option<NoteRecord<'_>>,
    source: &SourceNote,
    now: i64,
) -> (Columns, Vec<Diagnostic>) {
    let note = &source.note;
    let hash = content_hash(note);
    // An unchanged note keeps what the lock knows of it; only changes are worked out.
    let unchanged = old.filter(|r| r.hash == hash);
    let clozes = match unchanged {
        Some(r) => r.clozes.to_string(),
        None if source.notetype.kind == Kind::Cloze => cloze_column(&cloze_hashes(&note.fields)),
        None => "-".to_string(),
    };
    let modified = match old {
        Some(r) if r.hash == hash => r.modified,
        Some(r) => next_mod(r.modified, now),
        None => now,
    };
    let warnings = old.map_or_else(Vec::new, |r| {
        not_followed(previous, r, source, &hash, &clozes)
    });
    let label = unchanged.map_or_else(|| label(&note.fields[0]), |r| r.label.to_string());
    let card_decks = card_decks_column(&note.card_decks);
    // Kept for as long as the note is: Anki keeps its own id for the guid.
    let nid = old.and_then(|r| r.nid);
    let columns = Columns {
        modified,
        hash,
        clozes,
        label,
        nid,
        card_decks,
    };
    (columns, warnings)
}

/// What a note's `mod` follows: its note type, fields and tags, the cards it keeps
/// with empty fronts (`empty-cards:`), so that Anki takes a card kept anew, and the
/// cards it lacks (`skip-cards:`); as many hex digits as the lock keeps.
fn content_hash(note: &crate::Note) -> String {
    let notetype_id = note.notetype_id.to_string();
    let numbers = |ords: &[u16]| ords.iter().map(u16::to_string).collect::<Vec<String>>();
    let (empty, skipped) = (numbers(&note.empty_cards), numbers(&note.skipped_cards));
    // Notes without such cards hash as before they existed; skipped cards follow a `-`,
    // which no list of kept cards starts with.
    let empty_part = (!empty.is_empty()).then(|| ["\u{1e}"].into_iter().chain(joined(&empty, " ")));
    let skipped_part =
        (!skipped.is_empty()).then(|| ["\u{1e}", "-"].into_iter().chain(joined(&skipped, " ")));
    let mut hash = short_hash_of(
        [notetype_id.as_str(), "\u{1e}"]
            .into_iter()
            .chain(joined(&note.fields, "\u{1f}"))
            .chain(["\u{1e}"])
            .chain(joined(&note.tags, " "))
            .chain(empty_part.into_iter().flatten())
            .chain(skipped_part.into_iter().flatten()),
    );
    hash.truncate(HASH_LEN);
    hash
}

/// What Anki will not follow of a note's change since the lock's record `old` of it: a
/// move to another deck, another note type, clozes renumbered or removed. `hash` and
/// `clozes` are the note's new lock columns.
fn not_followed(
    previous: &Lock,
    old: NoteRecord<'_>,
    source: &SourceNote,
    hash: &str,
    clozes: &str,
) -> Vec<Diagnostic> {
    let note = &source.note;
    let place = |problem| warning(&source.file, source.line, problem);
    let mut warnings = Vec::new();
    if let Some(from) = old.deck.filter(|deck| moved_deck(deck, &note.deck)) {
        let (from, to) = (from.to_string(), note.deck.clone());
        let nid = old.anki_nid();
        warnings.push(place(Problem::MovedDeck { from, to, nid }));
    }
    warnings.extend(moved_cards(&old, source).into_iter().map(place));
    if let Some(old_id) = old.notetype_id.filter(|&id| id != note.notetype_id) {
        let name = |id: i64| {
            previous
                .notetype(id)
                .map_or_else(|| id.to_string(), |t| t.name.clone())
        };
        let to = source.notetype.name.clone();
        let from = name(old_id);
        warnings.push(place(Problem::NoteTypeChanged { from, to }));
    } else if old.hash != hash {
        let new = parse_clozes(clozes).unwrap_or_default();
        warnings.extend(cloze_changes(&old.clozes(), &new).into_iter().map(place));
    }
    warnings
}

/// Cards in a deck of their own, before or now, that moved to another deck (a move of
/// the whole note is [`Problem::MovedDeck`]).
fn moved_cards(old: &NoteRecord<'_>, source: &SourceNote) -> Vec<Problem> {
    let note = &source.note;
    let mut own: Vec<u16> = old.card_deck_ords();
    own.extend(note.card_decks.iter().map(|(ord, _)| *ord));
    own.sort_unstable();
    own.dedup();
    own.into_iter()
        .filter(|ord| source.ords.contains(ord))
        .filter_map(|ord| Some((ord, old.card_deck(ord)?)))
        .filter(|&(ord, from)| moved_deck(from, note.card_deck(ord)))
        .map(|(ord, from)| Problem::MovedCard {
            card: ord + 1,
            from: from.to_string(),
            to: note.card_deck(ord).to_string(),
            nid: old.anki_nid(),
        })
        .collect()
}

/// Whether a note moved to another deck, as Anki compares deck names.
fn moved_deck(old: &str, new: &str) -> bool {
    old != new && deck::key(old) != deck::key(new)
}

/// `items` with `separator` between them, as parts to hash.
fn joined<'a>(items: &'a [String], separator: &'a str) -> impl Iterator<Item = &'a str> {
    items
        .iter()
        .enumerate()
        .flat_map(move |(i, item)| [if i > 0 { separator } else { "" }, item.as_str()])
}

/// A changed note's or note type's `mod`: the build time, or one past the old one when
/// the clock is behind it, so that Anki sees it as newer.
fn next_mod(old: i64, now: i64) -> i64 {
    now.max(old + 1)
}

fn warning(file: &Path, line: usize, problem: Problem) -> Diagnostic {
    Diagnostic::at_line_start(PathBuf::from(file), line, problem)
}

/// Each cloze number of a note with a hash of the text of its deletions.
fn cloze_hashes(fields: &[String]) -> Vec<(u16, String)> {
    let mut texts: BTreeMap<u16, String> = BTreeMap::new();
    for field in fields {
        for (n, text) in cloze::cloze_texts(field) {
            texts.entry(n).or_default().push_str(&text);
        }
    }
    texts
        .into_iter()
        .map(|(n, t)| (n, short_hash(&t)[..8].to_string()))
        .collect()
}

/// Warnings for deletions that moved to another number or disappeared.
fn cloze_changes(old: &[(u16, &str)], new: &[(u16, &str)]) -> Vec<Problem> {
    let mut moves = Vec::new();
    let mut removed = Vec::new();
    for (n, hash) in old {
        if new.iter().any(|(m, h)| m == n && h == hash) {
            continue;
        }
        match new.iter().find(|(m, h)| h == hash && m != n) {
            Some((m, _)) => moves.push(format!("c{n} → c{m}")),
            None if !new.iter().any(|(m, _)| m == n) => removed.push(format!("c{n}")),
            None => {}
        }
    }
    let mut problems = Vec::new();
    if !moves.is_empty() {
        problems.push(Problem::ClozeRenumbered {
            moves: moves.join(", "),
        });
    }
    if !removed.is_empty() {
        problems.push(Problem::ClozeRemoved {
            numbers: removed.join(", "),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::super::FILE_NAME;
    use super::*;

    /// Reconciles, returning the new lock's text too.
    fn run(previous: &Lock, notes: &mut [SourceNote], now: i64) -> (Reconciled, String) {
        let mut writer = LockWriter::collecting(previous.text().unwrap());
        let out = reconcile(
            previous,
            notes,
            &mut [],
            now,
            Path::new("lock"),
            &mut writer,
        )
        .unwrap();
        let text = writer.text().to_string();
        (out, text)
    }

    fn source_note(notetype: NoteType, fields: &[&str]) -> SourceNote {
        let note = crate::Note {
            guid: "g".into(),
            notetype_id: notetype.id,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            tags: vec![],
            deck: "D".into(),
            card_decks: vec![],
            empty_cards: vec![],
            skipped_cards: Vec::new(),
            modified: 0,
        };
        SourceNote {
            note,
            notetype: Arc::new(notetype),
            ords: vec![0],
            file: Arc::from(Path::new("a.md")),
            line: 1,
            legacy: None,
        }
    }

    /// The problems of `warnings`.
    fn problems(out: &Reconciled) -> Vec<&Problem> {
        out.warnings.iter().map(|w| &w.problem).collect()
    }

    #[test]
    fn the_next_mod_is_newer_than_the_old_one() {
        assert_eq!(next_mod(100, 300), 300, "the build time");
        assert_eq!(next_mod(100, 50), 101, "the clock is behind");
        assert_eq!(next_mod(100, 100), 101, "the same second");
    }

    #[test]
    fn mods_rise_exactly_when_content_changes() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic.clone(), &["q", "a"])];
        let (first, first_text) = run(&Lock::default(), &mut notes, 100);
        let first_lock = Lock::parse(first_text.clone()).unwrap();
        let mods = (notes[0].note.modified, notes[0].notetype.modified);
        assert_eq!((mods, first.timestamp), ((100, 100), 100));

        // Unchanged: the recorded mods, even at a later time.
        let mut same = vec![source_note(basic.clone(), &["q", "a"])];
        let (again, again_text) = run(&first_lock, &mut same, 500);
        assert_eq!((same[0].note.modified, again.timestamp), (100, 100));
        assert_eq!(again_text, first_text);

        // An edited field or tag: the build time, or one past the old mod if the clock
        // is behind.
        let mut edited = vec![source_note(basic.clone(), &["q", "b"])];
        run(&first_lock, &mut edited, 50);
        assert_eq!(edited[0].note.modified, 101);
        let mut tagged = vec![source_note(basic.clone(), &["q", "a"])];
        tagged[0].note.tags.push("t".into());
        run(&first_lock, &mut tagged, 300);
        assert_eq!(tagged[0].note.modified, 300);

        // Note type: new CSS updates it; a renamed field also warns.
        let mut styled = basic.clone();
        styled.css.push_str(".x {}");
        let mut notes = vec![source_note(styled, &["q", "a"])];
        let (restyled, _) = run(&first_lock, &mut notes, 300);
        assert_eq!(notes[0].notetype.modified, 300);
        assert!(restyled.warnings.is_empty());
        // A rename that keeps the field's id is what Anki updates in place: no warning.
        let mut renamed = basic.clone();
        renamed.fields[1].name = "Answer".into();
        let mut notes = vec![source_note(renamed, &["q", "a"])];
        let (quiet, _) = run(&first_lock, &mut notes, 300);
        assert!(quiet.warnings.is_empty());
        assert_eq!(
            notes[0].notetype.modified, 300,
            "but the new name reaches Anki"
        );
        // A field with a new id is a new schema.
        let mut reshaped = basic;
        reshaped.fields[1].id += 1;
        let mut notes = vec![source_note(reshaped, &["q", "a"])];
        let (warned, _) = run(&first_lock, &mut notes, 300);
        assert!(matches!(
            problems(&warned)[..],
            [Problem::NoteTypeSchemaChanged(_)]
        ));
    }

    #[test]
    fn notes_match_the_lock_by_guid() {
        let lines: String = ["a", "c", "c", "e"]
            .iter()
            .enumerate()
            .map(|(i, g)| format!("note\t{g}\t{i}\t1\th\t5\tD\t-\t{g}{i}\n"))
            .collect();
        let lock = Lock::parse(format!("version\t1\n{lines}")).unwrap();
        let mut lines = lock.note_lines().unwrap();
        let (mut old, mut removed_notes) = (OldLines::default(), Vec::new());
        let path = Path::new("lock");
        let removed = &mut removed_notes;
        (old.match_notes(["b", "c"].into_iter(), &mut lines, removed, &lock, path)).unwrap();
        let texts: Vec<_> = old
            .of_note
            .iter()
            .map(|r| r.clone().map(|r| &old.text[r]))
            .collect();
        // A guid twice in the lock is the first line.
        assert_eq!(texts, [None, Some("note\tc\t1\t1\th\t5\tD\t-\tc1")]);
        assert_eq!(
            lines
                .current()
                .map(|line| lock.header().note_line_guid(line)),
            Some("e"),
            "not passed yet"
        );
        let removed = &mut removed_notes;
        (old.match_notes(["f"].into_iter(), &mut lines, removed, &lock, path)).unwrap();
        assert_eq!(old.of_note, [None]);
        let removed: Vec<_> = removed_notes
            .iter()
            .map(|r| (r.guid.as_str(), r.nid))
            .collect();
        assert_eq!(
            removed,
            [("a", ids::note_id("a")), ("e", ids::note_id("e"))]
        );
        assert!(lines.current().is_none());
    }

    #[test]
    fn removed_notes_are_the_lock_notes_not_built() {
        let basic = crate::Stock::Basic.notetype();
        let notes_with = |guids: &[&str]| -> Vec<SourceNote> {
            guids
                .iter()
                .map(|g| {
                    let mut note = source_note(basic.clone(), &[g, "a"]);
                    note.note.guid = g.to_string();
                    note
                })
                .collect()
        };
        let mut before = notes_with(&["e", "a", "c", "g"]);
        let (first, text) = run(&Lock::default(), &mut before, 100);
        assert!(first.removed.is_empty());
        // The same from the lock's text and from its file, which is read as it goes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &text).unwrap();
        for lock in [
            Lock::parse(text.clone()).unwrap(),
            Lock::read(&path).unwrap(),
        ] {
            let mut after = notes_with(&["f", "c", "b"]);
            let (second, _) = run(&lock, &mut after, 200);
            let removed: Vec<(&str, &str)> = second
                .removed
                .iter()
                .map(|r| (r.guid.as_str(), r.label.as_str()))
                .collect();
            assert_eq!(removed, [("a", "a"), ("e", "e"), ("g", "g")]);
            assert_eq!(second.removed[0].nid, ids::note_id("a"));
            let modified: Vec<i64> = after.iter().map(|n| n.note.modified).collect();
            assert_eq!(modified, [200, 100, 200], "c kept its mod");
            // Built again from the new lock, nothing changes.
            let (_, new_text) = run(&lock, &mut after, 200);
            let new_path = dir.path().join("new.lock");
            std::fs::write(&new_path, &new_text).unwrap();
            let (third, again) = run(&Lock::read(&new_path).unwrap(), &mut after, 300);
            assert_eq!((again, third.removed.len()), (new_text, 0));
        }
    }

    #[test]
    fn moved_decks_are_named() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic.clone(), &["q", "a"])];
        let (_, text) = run(&Lock::default(), &mut notes, 100);
        let lock = Lock::parse(text).unwrap();
        let mut moved = vec![source_note(basic.clone(), &["q", "a"])];
        moved[0].note.deck = "E".into();
        let (out, _) = run(&lock, &mut moved, 200);
        let nid = ids::note_id("g");
        let (from, to) = ("D".to_string(), "E".to_string());
        assert_eq!(problems(&out), [&Problem::MovedDeck { from, to, nid }]);
        assert_eq!(moved[0].note.modified, 100, "the content is the same");
        let (line, column) = (out.warnings[0].line, out.warnings[0].column);
        assert_eq!((line, column), (1, 1), "at the note");
        // Anki's deck names ignore case.
        let mut recased = vec![source_note(basic, &["q", "a"])];
        recased[0].note.deck = "d".into();
        assert!(run(&lock, &mut recased, 200).0.warnings.is_empty());
        assert!(!moved_deck("Ä::B", "ä::b"));
        assert!(moved_deck("A::B", "A::C"));
    }

    /// The lock a package seeds remembers a note's id in the collection when a build
    /// would give another; builds carry it over while the note is there, edited or
    /// moved, and the messages that find the note in Anki name it.
    #[test]
    fn the_collections_note_id_is_carried_over_and_named() {
        let basic = crate::Stock::Basic.notetype();
        let notes = |guids: &[&str], deck: &str, answer: &str| -> Vec<SourceNote> {
            (guids.iter())
                .map(|g| {
                    let mut note = source_note(basic.clone(), &[g, answer]);
                    note.note.guid = g.to_string();
                    note.note.deck = deck.into();
                    note
                })
                .collect()
        };
        let original = |nid| Original {
            modified: 7,
            nid: Some(nid),
        };
        // "d" came from an ankideck build: its id is the derived one, and needs no column.
        let originals = HashMap::from([
            ("g".to_string(), original(42)),
            ("h".to_string(), original(43)),
            ("d".to_string(), original(ids::note_id("d"))),
        ]);
        let mut seeding = Seeding::new(&originals);
        seeding.add(&notes(&["d", "g", "h"], "D", "a"));
        let seeded = seeding.text(&[], &HashMap::new());
        assert!(seeded.contains("\tg\tnid:42\n"), "{seeded}");
        assert!(seeded.contains("\th\tnid:43\n"), "{seeded}");
        assert!(seeded.contains("\td\n"), "{seeded}");
        let lock = Lock::parse(seeded.clone()).unwrap();
        let (out, text) = run(&lock, &mut notes(&["d", "g", "h"], "D", "a"), 100);
        assert_eq!((text, out.warnings.len()), (seeded, 0), "unchanged");

        // "g" edited and moved, "h" removed.
        let (out, text) = run(&lock, &mut notes(&["d", "g"], "E", "b"), 100);
        let moved = |nid| Problem::MovedDeck {
            from: "D".into(),
            to: "E".into(),
            nid,
        };
        assert_eq!(
            problems(&out),
            [&moved(ids::note_id("d")), &moved(42)],
            "the derived id where the lock remembers none"
        );
        let removed: Vec<_> = (out.removed.iter())
            .map(|r| (r.guid.as_str(), r.nid))
            .collect();
        assert_eq!(removed, [("h", 43)]);
        assert!(text.contains("\tg\tnid:42\n"), "kept while edited: {text}");
        assert!(!text.contains("nid:43"), "gone with its note: {text}");
        let lock = Lock::parse(text).unwrap();
        let (out, _) = run(&lock, &mut notes(&["d"], "E", "b"), 200);
        let removed: Vec<_> = out.removed.iter().map(|r| r.nid).collect();
        assert_eq!(removed, [42], "carried over to the next build");
    }

    /// A card moved from one deck to another is named, as a moved note is; so is a card
    /// that leaves its own deck for another note deck, but not one that goes back to
    /// the deck it was in.
    #[test]
    fn moved_cards_are_named() {
        let reversed = crate::Stock::Reversed.notetype();
        let note = |card_decks: &[(u16, &str)]| {
            let mut n = source_note(reversed.clone(), &["q", "a"]);
            n.ords = vec![0, 1];
            n.note.card_decks = card_decks
                .iter()
                .map(|(o, d)| (*o, d.to_string()))
                .collect();
            vec![n]
        };
        let (_, text) = run(&Lock::default(), &mut note(&[(1, "R")]), 100);
        assert!(text.contains("\t2:R\n"), "{text}");
        let lock = Lock::parse(text).unwrap();
        let nid = ids::note_id("g");
        let moved_card = |card, from: &str, to: &str| Problem::MovedCard {
            card,
            from: from.into(),
            to: to.into(),
            nid,
        };
        let moved = |from: &str, to: &str| moved_card(2, from, to);
        let (out, text) = run(&lock, &mut note(&[(1, "S")]), 200);
        assert_eq!(problems(&out), [&moved("R", "S")]);
        assert!(text.contains("\t2:S\n"), "{text}");
        let (out, _) = run(&lock, &mut note(&[]), 200);
        assert_eq!(problems(&out), [&moved("R", "D")]);
        let (out, _) = run(&lock, &mut note(&[(1, "r")]), 200);
        assert!(out.warnings.is_empty(), "Anki's deck names ignore case");
        let (out, text) = run(&lock, &mut note(&[(0, "R"), (1, "R")]), 200);
        assert_eq!(problems(&out), [&moved_card(1, "D", "R")]);
        assert!(text.contains("\t1:R\t2:R\n"), "{text}");
    }

    /// Note types that no note uses get a lock line and a `mod` that the next build keeps.
    #[test]
    fn note_types_no_note_uses_are_reconciled_too() {
        let mut unused = crate::Stock::Cloze.notetype();
        unused.id = 42;
        let mut extra = [Arc::new(unused.clone())];
        let empty = Lock::default();
        let mut writer = LockWriter::collecting(empty.text().unwrap());
        let lock_path = Path::new("lock");
        let out = reconcile(&empty, &mut [], &mut extra, 100, lock_path, &mut writer);
        assert_eq!((out.unwrap().timestamp, extra[0].modified), (100, 100));
        let text = writer.text().to_string();
        assert!(text.contains("\t42\t100\t"), "{text}");
        let lock = Lock::parse(text).unwrap();
        let mut extra = [Arc::new(unused)];
        let mut writer = LockWriter::collecting(lock.text().unwrap());
        reconcile(&lock, &mut [], &mut extra, 200, lock_path, &mut writer).unwrap();
        assert_eq!(extra[0].modified, 100, "unchanged");
    }

    #[test]
    fn renumbered_clozes_are_named() {
        let cloze = crate::Stock::Cloze.notetype();
        let mut notes = vec![source_note(cloze.clone(), &["{{c1::x}} {{c2::y}}", ""])];
        let (_, text) = run(&Lock::default(), &mut notes, 100);
        assert!(text.contains(&format!("\t{}\t", notes[0].notetype.id)));
        let lock = Lock::parse(text).unwrap();
        let mut swapped = vec![source_note(cloze, &["{{c2::x}} {{c1::y}}", ""])];
        let (out, _) = run(&lock, &mut swapped, 200);
        let moves = "c1 → c2, c2 → c1".to_string();
        assert_eq!(problems(&out), [&Problem::ClozeRenumbered { moves }]);
        assert_eq!(swapped[0].note.modified, 200);
    }

    #[test]
    fn a_lock_changed_while_read_is_an_error() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic, &["q", "a"])];
        let (_, text) = run(&Lock::default(), &mut notes, 100);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &text).unwrap();
        let lock = Lock::read(&path).unwrap();
        // Another program rewrites it between reading and reconciling.
        std::fs::write(&path, text.replace("\t100\t", "\tx\t")).unwrap();
        let mut writer = LockWriter::new(lock.text().unwrap(), None);
        match reconcile(&lock, &mut notes, &mut [], 200, &path, &mut writer) {
            Err(Error::Input(d)) => assert!(
                matches!(&d[0].problem, Problem::BadLock(m) if m.contains("changed while read"))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cloze_changes_are_named() {
        let old = vec![(1, "a"), (2, "b"), (3, "c")];
        let new = vec![(1, "b"), (2, "a")];
        assert_eq!(
            cloze_changes(&old, &new),
            vec![
                Problem::ClozeRenumbered {
                    moves: "c1 → c2, c2 → c1".into()
                },
                Problem::ClozeRemoved {
                    numbers: "c3".into()
                }
            ]
        );
        // An edited deletion under the same number is an ordinary update.
        assert!(cloze_changes(&old[..1], &[(1, "z")]).is_empty());
    }

    /// A note's hash follows `skip-cards:` when it is set, apart from `empty-cards:`
    /// with the same numbers; a note with neither hashes as before they existed.
    #[test]
    fn skipped_cards_change_the_hash_only_when_set() {
        let note = source_note(crate::Stock::Reversed.notetype(), &["q", "a"]).note;
        let id = note.notetype_id.to_string();
        let before = short_hash_of([id.as_str(), "\u{1e}", "q", "\u{1f}", "a", "\u{1e}"]);
        assert_eq!(content_hash(&note), before[..HASH_LEN]);
        let skipped = content_hash(&note.clone().skip_card(1));
        let empty = content_hash(&note.clone().empty_card(1));
        let both = content_hash(&note.clone().empty_card(1).skip_card(0));
        let hashes: std::collections::HashSet<&str> =
            [&before[..HASH_LEN], &skipped, &empty, &both].into();
        assert_eq!(hashes.len(), 4, "{hashes:?}");
    }
}
