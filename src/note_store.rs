//! A build's notes held on disk between its stages, so that memory does not grow with the
//! deck.
//!
//! Every stage needs the notes in its own order (the reader in file order, the lock merge
//! in guid order, SQLite in note-id order), so the notes cannot simply flow through a
//! channel. Instead each note read is appended, encoded, to an unnamed scratch file, and
//! only 8 bytes a note stay in memory: where its text starts and its `mod`. Its guid,
//! cards, deck and note type are in the file too, first, so that a stage that needs only
//! those reads little. A stage reads back the notes it works on, a batch at a time (from
//! the system's page cache, not the build's memory).

use crate::error::{Error, Result};
use crate::note::{Note, SourceNote};
use crate::notetype::NoteType;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes appended in memory before they go to the file.
const PENDING: usize = 1 << 20;
/// Notes read back at once whose gap is at most this many bytes ([`NoteStore::map_views`]).
const READ_GAP: u64 = 4096;
/// At most this many bytes read back at once ([`NoteStore::map_views`]).
const READ_RUN: u64 = 1 << 20;
/// A `mod` that does not fit in `mods`: it is in `odd_mods`.
const ODD_MOD: u32 = u32::MAX;

/// Notes in file order, their text on disk.
pub(crate) struct NoteStore {
    file: File,
    /// The folder of the file, to name it in errors.
    dir: PathBuf,
    /// Encoded notes not yet written, after the `flushed` bytes of the file.
    pending: Vec<u8>,
    flushed: u64,
    /// The low 32 bits of where each note starts in the file; `wraps` holds the notes
    /// at which the high bits go up by one (notes are appended, so starts only grow).
    /// While the notes are read they wait in `spilled` instead, out of the way of the
    /// reading's own memory, until [`NoteStore::seal`].
    starts: Vec<u32>,
    spilled: Option<Records<4>>,
    count: usize,
    last_start: u32,
    wraps: Vec<u32>,
    /// Each note's `mod`, or [`ODD_MOD`] for one outside `0..ODD_MOD`, in `odd_mods`;
    /// 0 for the notes past its end. Notes are read with 0, so it takes no memory
    /// until the lock merge sets them.
    mods: Vec<u32>,
    odd_mods: HashMap<u32, i64>,
    cards: usize,
    /// The note types of the notes, in the order first met, shared by their notes.
    pub notetypes: Vec<Arc<NoteType>>,
    notetype_index: HashMap<i64, u16>,
    /// Every deck name a note or card names, in the order first met.
    decks: crate::deck::DeckNames,
    /// Which decks are a note's deck (not only a card's).
    note_decks: Vec<bool>,
    files: Vec<Arc<Path>>,
    /// Each file's place in `files`.
    file_numbers: HashMap<Arc<Path>, u32>,
    /// Every tag of a note, for the collection's tag list.
    tags: BTreeSet<String>,
}

impl std::fmt::Debug for NoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteStore({} notes)", self.count)
    }
}

impl NoteStore {
    /// An empty store whose file is in `dir` (without a name: the system removes it
    /// however the build ends).
    pub(crate) fn new_in(dir: &Path) -> Result<NoteStore> {
        let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        Ok(NoteStore {
            file,
            dir: dir.to_path_buf(),
            pending: Vec::new(),
            flushed: 0,
            starts: Vec::new(),
            spilled: Some(Records::new_in(Some(dir)).map_err(|e| Error::io(dir, e))?),
            count: 0,
            last_start: 0,
            wraps: Vec::new(),
            mods: Vec::new(),
            odd_mods: HashMap::new(),
            cards: 0,
            notetypes: Vec::new(),
            notetype_index: HashMap::new(),
            decks: Default::default(),
            note_decks: Vec::new(),
            files: Vec::new(),
            file_numbers: HashMap::new(),
            tags: BTreeSet::new(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Reads back where the notes start, which stages after the reading need.
    pub(crate) fn seal(&mut self) -> Result<()> {
        if let Some(spilled) = self.spilled.take() {
            let mut starts = Vec::with_capacity(self.count);
            (spilled.for_each(|start| starts.push(u32::from_le_bytes(*start))))
                .map_err(|e| Error::io(&self.dir, e))?;
            self.starts = starts;
        }
        Ok(())
    }

    /// How many cards the notes have.
    pub(crate) fn card_count(&self) -> usize {
        self.cards
    }

    fn deck(&mut self, name: &str, of_note: bool) -> u32 {
        let (index, new) = self.decks.index(name);
        if new {
            self.note_decks.push(false);
        }
        self.note_decks[index as usize] |= of_note;
        index
    }

    /// The number of the file a note comes from. Notes come file after file, so most
    /// are from the last one; the others are looked up, not searched for: a search of
    /// every file for each new one took time in the square of the number of files.
    fn file_index(&mut self, file: &Arc<Path>) -> u32 {
        let next = self.files.len() as u32;
        if self.files.last().is_some_and(|f| Arc::ptr_eq(f, file)) {
            return next - 1;
        }
        let index = *self.file_numbers.entry(Arc::clone(file)).or_insert(next);
        if index == next {
            self.files.push(Arc::clone(file));
        }
        index
    }

    /// Appends a note read, after the notes before it.
    pub(crate) fn push(&mut self, source: SourceNote) -> Result<()> {
        let SourceNote {
            note,
            notetype,
            ords,
            file,
            line,
            legacy,
        } = source;
        self.push_parts(&note, &notetype, &ords, &file, line, legacy)
    }

    /// [`NoteStore::push`] of a note given by its parts.
    pub(crate) fn push_parts(
        &mut self,
        note: &Note,
        notetype: &Arc<NoteType>,
        ords: &[u16],
        file: &Arc<Path>,
        line: usize,
        legacy: Option<u16>,
    ) -> Result<()> {
        let notetype = match self.notetype_index.get(&note.notetype_id) {
            Some(&i) => i,
            None => {
                let i = self.notetypes.len() as u16;
                self.notetypes.push(Arc::clone(notetype));
                self.notetype_index.insert(note.notetype_id, i);
                i
            }
        };
        let deck = self.deck(&note.deck, true);
        let card_decks: Vec<(u16, u32)> = (note.card_decks.iter())
            .map(|(ord, name)| (*ord, self.deck(name, false)))
            .collect();
        for tag in &note.tags {
            if !self.tags.contains(tag) {
                self.tags.insert(tag.clone());
            }
        }
        let file = self.file_index(file);
        let start = self.flushed + self.pending.len() as u64;
        if self.count > 0 && (start as u32) < self.last_start {
            self.wraps.push(self.count as u32);
        }
        self.last_start = start as u32;
        match &mut self.spilled {
            Some(spilled) => (spilled.push(&self.last_start.to_le_bytes()))
                .map_err(|e| Error::io(&self.dir, e))?,
            None => self.starts.push(self.last_start),
        }
        self.count += 1;
        self.push_mod(note.modified);
        self.cards += ords.len();
        let out = &mut self.pending;
        put_u32(out, note.guid.len() as u32);
        out.extend_from_slice(note.guid.as_bytes());
        put_ords(out, ords);
        put_u32(out, deck);
        put_u32(out, card_decks.len() as u32);
        for (ord, deck) in card_decks {
            out.extend_from_slice(&ord.to_le_bytes());
            put_u32(out, deck);
        }
        out.extend_from_slice(&notetype.to_le_bytes());
        put_strings(out, &note.fields);
        put_strings(out, &note.tags);
        put_ords(out, &note.empty_cards);
        put_ords(out, &note.skipped_cards);
        put_u32(out, file);
        put_u32(out, line as u32);
        put_u32(out, legacy.map_or(u32::MAX, u32::from));
        if self.pending.len() >= PENDING {
            self.flush()?;
        }
        Ok(())
    }

    fn push_mod(&mut self, modified: i64) {
        if modified != 0 {
            self.set_modified(self.len() - 1, modified);
        }
    }

    /// Writes what is pending to the file.
    pub(crate) fn flush(&mut self) -> Result<()> {
        write_at(&self.file, &self.pending, self.flushed).map_err(|e| Error::io(&self.dir, e))?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Where note `i` starts in the file (or in `pending` after the flushed bytes).
    fn start(&self, i: usize) -> u64 {
        debug_assert!(self.spilled.is_none(), "sealed");
        let high = self.wraps.partition_point(|&w| w as usize <= i) as u64;
        high << 32 | u64::from(self.starts[i])
    }

    /// Where note `i` ends: where the next starts.
    fn end(&self, i: usize) -> u64 {
        match i + 1 < self.len() {
            true => self.start(i + 1),
            false => self.flushed + self.pending.len() as u64,
        }
    }

    pub(crate) fn modified(&self, i: usize) -> i64 {
        match self.mods.get(i) {
            None => 0,
            Some(&ODD_MOD) => self.odd_mods[&(i as u32)],
            Some(&m) => i64::from(m),
        }
    }

    pub(crate) fn set_modified(&mut self, i: usize, modified: i64) {
        if i >= self.mods.len() {
            self.mods.resize(self.len(), 0);
        }
        match u32::try_from(modified) {
            Ok(m) if m != ODD_MOD => {
                self.mods[i] = m;
                if !self.odd_mods.is_empty() {
                    self.odd_mods.remove(&(i as u32));
                }
            }
            _ => {
                self.mods[i] = ODD_MOD;
                self.odd_mods.insert(i as u32, modified);
            }
        }
    }

    /// Every deck name notes and cards give, in the order first met.
    pub(crate) fn deck_names(&self) -> impl Iterator<Item = &str> {
        self.decks.iter()
    }

    /// The decks notes are in (not those only cards are in).
    pub(crate) fn note_decks(&self) -> HashSet<&str> {
        let decks = self.decks.iter().zip(&self.note_decks);
        decks.filter(|(_, n)| **n).map(|(d, _)| d).collect()
    }

    pub(crate) fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(String::as_str)
    }

    /// The bytes of notes `range`, which are one after the other.
    fn bytes(&self, range: std::ops::Range<usize>) -> Result<std::borrow::Cow<'_, [u8]>> {
        let (start, end) = (self.start(range.start), self.end(range.end - 1));
        if start >= self.flushed {
            let pending = (start - self.flushed) as usize..(end - self.flushed) as usize;
            return Ok(std::borrow::Cow::Borrowed(&self.pending[pending]));
        }
        // Notes are flushed whole: those before the pending ones are all in the file.
        let in_file = end.min(self.flushed);
        let mut bytes = vec![0; (in_file - start) as usize];
        read_at(&self.file, &mut bytes, start).map_err(|e| Error::io(&self.dir, e))?;
        bytes.extend_from_slice(&self.pending[..(end - in_file) as usize]);
        Ok(std::borrow::Cow::Owned(bytes))
    }

    /// Note `i` as it was pushed, with its `mod` now.
    pub(crate) fn load(&self, i: usize) -> Result<SourceNote> {
        self.with_view(i, |view| self.owned(i, view))
    }

    /// Notes `indexes`, read back in parallel.
    pub(crate) fn load_many(&self, indexes: &[usize]) -> Result<Vec<SourceNote>> {
        self.map_views(indexes, |k, view| self.owned(indexes[k], view))
    }

    /// Calls `f` with note `i` as stored, its text borrowed from the bytes read back.
    pub(crate) fn with_view<R>(&self, i: usize, f: impl FnOnce(&NoteView<'_>) -> R) -> Result<R> {
        let bytes = self.bytes(i..i + 1)?;
        Ok(f(&NoteView::decode(&bytes)))
    }

    /// `f(k, note)` of each note `indexes[k]` as stored, in the order of `indexes`,
    /// worked out in parallel. Notes that lie close together in the file are read back
    /// in one read: a stage takes thousands of notes scattered over the file, and a read
    /// of each costs more than copying the few notes between two of them.
    pub(crate) fn map_views<T: Send>(
        &self,
        indexes: &[usize],
        f: impl Fn(usize, &NoteView<'_>) -> T + Sync,
    ) -> Result<Vec<T>> {
        use rayon::prelude::*;
        let mut sorted: Vec<(usize, u32)> = (indexes.iter().enumerate())
            .map(|(k, &i)| (i, k as u32))
            .collect();
        sorted.sort_unstable();
        let runs = self.read_runs(&sorted);
        let made: Vec<Vec<(u32, T)>> = (runs.par_iter())
            .map(|run| {
                let (first, last) = (run[0].0, run[run.len() - 1].0);
                let bytes = self.bytes(first..last + 1)?;
                let base = self.start(first);
                Ok((run.iter())
                    .map(|&(i, k)| {
                        let at = (self.start(i) - base) as usize;
                        (k, f(k as usize, &NoteView::decode(&bytes[at..])))
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None)
            .take(indexes.len())
            .collect();
        for (k, value) in made.into_iter().flatten() {
            out[k as usize] = Some(value);
        }
        Ok(out
            .into_iter()
            .map(|v| v.expect("every note made"))
            .collect())
    }

    /// `sorted` (note numbers in order, with anything) cut into runs each read at once:
    /// a run goes on while the next note starts less than [`READ_GAP`] bytes after the
    /// run's last ends, up to [`READ_RUN`] bytes.
    fn read_runs<'s, K>(&self, sorted: &'s [(usize, K)]) -> Vec<&'s [(usize, K)]> {
        let mut runs = Vec::new();
        let mut rest = sorted;
        while !rest.is_empty() {
            let start = self.start(rest[0].0);
            let mut n = 1;
            while n < rest.len() {
                let (previous_end, next) = (self.end(rest[n - 1].0), self.start(rest[n].0));
                if next > previous_end + READ_GAP || self.end(rest[n].0) > start + READ_RUN {
                    break;
                }
                n += 1;
            }
            let (run, after) = rest.split_at(n);
            runs.push(run);
            rest = after;
        }
        runs
    }

    /// The guids of notes `range`, read at once.
    pub(crate) fn guids(&self, range: std::ops::Range<usize>) -> Result<Vec<String>> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let first = self.start(range.start);
        let bytes = self.bytes(range.clone())?;
        Ok(range
            .map(|i| take_str(&mut &bytes[(self.start(i) - first) as usize..]).to_string())
            .collect())
    }

    /// The name of the deck the store numbers `index` ([`NoteView::deck`]).
    pub(crate) fn deck_name(&self, index: u32) -> &str {
        self.decks.name(index)
    }

    /// Note `i` made whole from its `view`.
    fn owned(&self, i: usize, view: &NoteView<'_>) -> SourceNote {
        let notetype = Arc::clone(&self.notetypes[usize::from(view.notetype)]);
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        let card_decks = (view.card_decks.iter())
            .map(|&(ord, deck)| (ord, self.deck_name(deck).to_string()))
            .collect();
        SourceNote {
            note: Note {
                guid: view.guid.to_string(),
                notetype_id: notetype.id,
                fields: strings(&view.fields),
                tags: strings(&view.tags),
                deck: self.deck_name(view.deck).to_string(),
                card_decks,
                empty_cards: view.empty_cards.clone(),
                skipped_cards: view.skipped_cards.clone(),
                modified: self.modified(i),
            },
            notetype,
            ords: view.ords.clone(),
            file: Arc::clone(&self.files[view.file as usize]),
            line: view.line as usize,
            legacy: view.legacy,
        }
    }

    /// The note numbers in guid order. Sorted by each guid's first 8 bytes and the note
    /// number (12 bytes a note) on disk, a run at a time; guids whose first bytes are the
    /// same are read back to be compared whole.
    pub(crate) fn guid_order(&self) -> Result<Vec<u32>> {
        let mut keys = SortedRecords::<12>::new_in(&self.dir)?;
        for chunk in (0..self.len()).step_by(4096) {
            let range = chunk..(chunk + 4096).min(self.len());
            for (i, guid) in range.clone().zip(self.guids(range)?) {
                let mut key = [0; 12];
                let n = guid.len().min(8);
                key[..n].copy_from_slice(&guid.as_bytes()[..n]);
                key[8..].copy_from_slice(&(i as u32).to_be_bytes());
                keys.push(key)?;
            }
        }
        let mut order = Vec::with_capacity(self.len());
        // Notes whose guids start alike, in note order, waiting to be sorted whole.
        let mut alike: Vec<u32> = Vec::new();
        let mut prefix = [0; 8];
        keys.try_for_each(|key| {
            if key[..8] != prefix {
                self.sort_whole(&mut alike, &mut order)?;
                prefix.copy_from_slice(&key[..8]);
            }
            alike.push(u32::from_be_bytes(key[8..].try_into().expect("4 bytes")));
            Ok(())
        })?;
        self.sort_whole(&mut alike, &mut order)?;
        Ok(order)
    }

    /// Appends notes `alike` to `order` sorted by their whole guids, and empties `alike`.
    fn sort_whole(&self, alike: &mut Vec<u32>, order: &mut Vec<u32>) -> Result<()> {
        if alike.len() > 1 {
            let mut whole: Vec<(String, u32)> = (alike.iter())
                .map(|&i| Ok((self.guids(i as usize..i as usize + 1)?.remove(0), i)))
                .collect::<Result<_>>()?;
            whole.sort_unstable();
            alike.clear();
            alike.extend(whole.into_iter().map(|(_, i)| i));
        }
        order.append(alike);
        Ok(())
    }
}

/// A note as the store holds it, its text borrowed: decks and note type by the store's
/// numbers for them.
pub(crate) struct NoteView<'a> {
    pub guid: &'a str,
    pub ords: Vec<u16>,
    pub deck: u32,
    pub card_decks: Vec<(u16, u32)>,
    pub notetype: u16,
    pub fields: Vec<&'a str>,
    pub tags: Vec<&'a str>,
    pub empty_cards: Vec<u16>,
    pub skipped_cards: Vec<u16>,
    pub file: u32,
    pub line: u32,
    pub legacy: Option<u16>,
}

impl<'a> NoteView<'a> {
    /// Reads a note as [`NoteStore::push_parts`] wrote it.
    fn decode(mut bytes: &'a [u8]) -> NoteView<'a> {
        let bytes = &mut bytes;
        NoteView {
            guid: take_str(bytes),
            ords: take_ords(bytes),
            deck: take_u32(bytes),
            card_decks: (0..take_u32(bytes))
                .map(|_| (take_u16(bytes), take_u32(bytes)))
                .collect(),
            notetype: take_u16(bytes),
            fields: take_strs(bytes),
            tags: take_strs(bytes),
            empty_cards: take_ords(bytes),
            skipped_cards: take_ords(bytes),
            file: take_u32(bytes),
            line: take_u32(bytes),
            legacy: u16::try_from(take_u32(bytes)).ok(),
        }
    }

    /// The deck of card `ord`, by the store's number.
    pub(crate) fn card_deck(&self, ord: u16) -> u32 {
        (self.card_decks.iter())
            .find(|(o, _)| *o == ord)
            .map_or(self.deck, |&(_, deck)| deck)
    }
}

/// Records of `N` bytes each, appended to an unnamed file in a scratch folder (or held in
/// memory without one) and read back by position: per-note data that a stage needs
/// again only now and then, kept out of the build's memory.
pub(crate) struct Records<const N: usize> {
    /// `None`: everything stays in `pending`.
    file: Option<File>,
    /// Records not yet written, after the `flushed` ones of the file.
    pending: Vec<u8>,
    /// Bytes pending before they are written.
    most: usize,
    flushed: usize,
}

impl<const N: usize> Records<N> {
    /// Records spilled to a file in `dir`, or all in memory without a folder.
    pub(crate) fn new_in(dir: Option<&Path>) -> std::io::Result<Records<N>> {
        Records::with_pending(dir, PENDING)
    }

    /// [`Records::new_in`], writing them `bytes` at a time.
    pub(crate) fn with_pending(dir: Option<&Path>, bytes: usize) -> std::io::Result<Records<N>> {
        Ok(Records {
            file: dir.map(tempfile::tempfile_in).transpose()?,
            pending: Vec::new(),
            most: bytes.max(N),
            flushed: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.flushed + self.pending.len() / N
    }

    /// Appends a record.
    pub(crate) fn push(&mut self, record: &[u8; N]) -> std::io::Result<()> {
        self.pending.extend_from_slice(record);
        match &self.file {
            Some(file) if self.pending.len() >= self.most => {
                write_at(file, &self.pending, (self.flushed * N) as u64)?;
                self.flushed += self.pending.len() / N;
                self.pending.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Calls `f` with every record, in order, reading them a block at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8; N])) -> std::io::Result<()> {
        let most = (PENDING / N).max(1);
        for start in (0..self.len()).step_by(most) {
            let block = self.block(start, (self.len() - start).min(most))?;
            block.iter().for_each(&mut f);
        }
        Ok(())
    }

    /// Records `start..start + n`, read at once.
    fn block(&self, start: usize, n: usize) -> std::io::Result<Vec<[u8; N]>> {
        let mut bytes = vec![0; n * N];
        self.read(start, &mut bytes)?;
        Ok((bytes.chunks_exact(N))
            .map(|r| r.try_into().expect("N bytes"))
            .collect())
    }

    /// Record `i`.
    pub(crate) fn get(&self, i: usize) -> std::io::Result<[u8; N]> {
        let mut record = [0; N];
        self.read(i, &mut record)?;
        Ok(record)
    }

    /// Reads the records from `i` on into `out`, whose length is a multiple of `N`.
    fn read(&self, i: usize, out: &mut [u8]) -> std::io::Result<()> {
        let in_file = self.flushed.saturating_sub(i).min(out.len() / N) * N;
        if in_file > 0 {
            let file = self.file.as_ref().expect("records are flushed to a file");
            read_at(file, &mut out[..in_file], (i * N) as u64)?;
        }
        if in_file < out.len() {
            let from = i * N + in_file - self.flushed * N;
            let rest = &mut out[in_file..];
            rest.copy_from_slice(&self.pending[from..from + rest.len()]);
        }
        Ok(())
    }
}

/// Sorts records of `N` bytes by their bytes with a few of them in memory at a time:
/// runs of [`SORT_RUN`] sorted in memory and written to a scratch file, then merged.
pub(crate) struct SortedRecords<const N: usize> {
    runs: Records<N>,
    run: Vec<[u8; N]>,
    /// The scratch folder, to name it in errors.
    dir: PathBuf,
}

/// Records sorted in memory at once by [`SortedRecords`].
const SORT_RUN: usize = 1 << 16;
/// Records read back at once from each run while merging.
const MERGE_BLOCK: usize = 1 << 10;

impl<const N: usize> SortedRecords<N> {
    /// Records sorted with a scratch file in `dir`.
    pub(crate) fn new_in(dir: &Path) -> Result<SortedRecords<N>> {
        Ok(SortedRecords {
            runs: Records::new_in(Some(dir)).map_err(|e| Error::io(dir, e))?,
            run: Vec::new(),
            dir: dir.to_path_buf(),
        })
    }

    pub(crate) fn push(&mut self, record: [u8; N]) -> Result<()> {
        self.run.push(record);
        match self.run.len() == SORT_RUN {
            true => self.end_run().map_err(|e| Error::io(&self.dir, e)),
            false => Ok(()),
        }
    }

    fn end_run(&mut self) -> std::io::Result<()> {
        self.run.sort_unstable();
        self.run.iter().try_for_each(|r| self.runs.push(r))?;
        self.run.clear();
        Ok(())
    }

    /// Calls `f` with every record, in order, until it fails.
    pub(crate) fn try_for_each(mut self, mut f: impl FnMut([u8; N]) -> Result<()>) -> Result<()> {
        self.end_run().map_err(|e| Error::io(&self.dir, e))?;
        let io = |e| Error::io(&self.dir, e);
        let len = self.runs.len();
        // Each run's next records, read a block at a time, and where the run goes on.
        let mut cursors: Vec<(std::vec::IntoIter<[u8; N]>, usize, usize)> = (0..len)
            .step_by(SORT_RUN)
            .map(|start| (Vec::new().into_iter(), start, (start + SORT_RUN).min(len)))
            .collect();
        let runs = &self.runs;
        let mut next = |k: usize| -> std::io::Result<Option<[u8; N]>> {
            let (block, at, end) = &mut cursors[k];
            if block.len() == 0 && at < end {
                let n = (*end - *at).min(MERGE_BLOCK);
                *block = runs.block(*at, n)?.into_iter();
                *at += n;
            }
            Ok(block.next())
        };
        let mut heap = std::collections::BinaryHeap::new();
        for k in 0..len.div_ceil(SORT_RUN) {
            if let Some(record) = next(k).map_err(io)? {
                heap.push(std::cmp::Reverse((record, k)));
            }
        }
        while let Some(std::cmp::Reverse((record, k))) = heap.pop() {
            f(record)?;
            if let Some(record) = next(k).map_err(io)? {
                heap.push(std::cmp::Reverse((record, k)));
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut bytes: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        (bytes, offset) = (&bytes[n..], offset + n as u64);
    }
    Ok(())
}

#[cfg(windows)]
fn read_at(file: &File, mut bytes: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, bytes, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        bytes = &mut std::mem::take(&mut bytes)[n..];
        offset += n as u64;
    }
    Ok(())
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Card ordinals: their count, then each.
fn put_ords(out: &mut Vec<u8>, ords: &[u16]) {
    put_u32(out, ords.len() as u32);
    for ord in ords {
        out.extend_from_slice(&ord.to_le_bytes());
    }
}

fn put_strings(out: &mut Vec<u8>, items: &[String]) {
    put_u32(out, items.len() as u32);
    for item in items {
        put_u32(out, item.len() as u32);
        out.extend_from_slice(item.as_bytes());
    }
}

fn take_u32(bytes: &mut &[u8]) -> u32 {
    let value = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    *bytes = &bytes[4..];
    value
}

fn take_u16(bytes: &mut &[u8]) -> u16 {
    let value = u16::from_le_bytes([bytes[0], bytes[1]]);
    *bytes = &bytes[2..];
    value
}

fn take_ords(bytes: &mut &[u8]) -> Vec<u16> {
    (0..take_u32(bytes)).map(|_| take_u16(bytes)).collect()
}

fn take_str<'a>(bytes: &mut &'a [u8]) -> &'a str {
    let len = take_u32(bytes) as usize;
    // Read back many times over: the fast check, as the text is mostly not ASCII.
    let text = simdutf8::basic::from_utf8(&bytes[..len]).expect("written as UTF-8");
    *bytes = &bytes[len..];
    text
}

fn take_strs<'a>(bytes: &mut &'a [u8]) -> Vec<&'a str> {
    (0..take_u32(bytes)).map(|_| take_str(bytes)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_is_numbered_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = NoteStore::new_in(dir.path()).unwrap();
        let arc = |name: &str| -> Arc<Path> { Arc::from(Path::new(name)) };
        let (a, b) = (arc("a.md"), arc("b.md"));
        let numbers: Vec<u32> = [&a, &a, &b, &a, &arc("b.md"), &arc("c.md"), &b]
            .into_iter()
            .map(|file| store.file_index(file))
            .collect();
        assert_eq!(numbers, [0, 0, 1, 0, 1, 2, 1]);
        assert_eq!(store.files.len(), 3);
        assert_eq!(&*store.files[2], Path::new("c.md"));
    }

    #[test]
    fn notes_come_back_as_they_went_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = NoteStore::new_in(dir.path()).unwrap();
        let basic = Arc::new(crate::Stock::Basic.notetype());
        let cloze = Arc::new(crate::Stock::Cloze.notetype());
        let file: Arc<Path> = Arc::from(Path::new("a.md"));
        let mut notes = Vec::new();
        for i in 0..3000u16 {
            let nt = if i % 3 == 0 { &cloze } else { &basic };
            let mut note = Note::new(nt, [format!("q{i} ünï"), "b".repeat(i as usize)])
                .deck(format!("D{}", i % 7))
                .tags([format!("t{}", i % 5)])
                .guid(match i % 10 {
                    // Guids whose first 8 bytes are the same, to sort whole.
                    0 => format!("the same start {i}"),
                    _ => format!("g{i}"),
                })
                .modified(i64::from(i));
            if i % 100 == 1 {
                note = note.card_in_deck(0, "Other");
            }
            if i % 50 == 7 {
                note = note.empty_card(1).empty_card(3).skip_card(2);
            }
            notes.push(SourceNote {
                note,
                notetype: Arc::clone(nt),
                ords: vec![0, i % 4],
                file: Arc::clone(&file),
                line: usize::from(i) + 1,
                legacy: (i % 2 == 0).then_some(i),
            });
        }
        for note in &notes {
            store.push(note.clone()).unwrap();
        }
        store.seal().unwrap();
        // Read back while some are pending and after all are written.
        let check = |store: &NoteStore| {
            for (i, note) in notes.iter().enumerate() {
                let back = store.load(i).unwrap();
                assert_eq!(back.note, note.note);
                assert_eq!(back.ords, note.ords);
                assert_eq!((back.line, back.legacy), (note.line, note.legacy));
                assert_eq!(&*back.file, &*note.file);
            }
            let guids = store.guids(0..notes.len()).unwrap();
            for (guid, note) in guids.iter().zip(&notes) {
                assert_eq!(*guid, note.note.guid);
            }
            // Read back many at once, in any order: all of them backwards (read in runs
            // cut at READ_RUN), every seventh scrambled (gaps), one twice.
            let backwards: Vec<usize> = (0..notes.len()).rev().collect();
            let mut scattered: Vec<usize> = (0..notes.len()).step_by(7).collect();
            scattered.sort_by_key(|&i| (i * 7919) % notes.len());
            scattered.push(scattered[3]);
            for indexes in [backwards, scattered] {
                let many = store.load_many(&indexes).unwrap();
                assert_eq!(many.len(), indexes.len());
                for (back, &i) in many.iter().zip(&indexes) {
                    assert_eq!(back.note, notes[i].note);
                    assert_eq!(back.ords, notes[i].ords);
                }
            }
        };
        check(&store);
        store.flush().unwrap();
        check(&store);
        store.set_modified(5, 99);
        assert_eq!(store.load(5).unwrap().note.modified, 99);
        store.set_modified(6, -3);
        store.set_modified(7, 1 << 40);
        assert_eq!((store.modified(6), store.modified(7)), (-3, 1 << 40));
        store.set_modified(6, 4);
        assert_eq!(store.modified(6), 4);
        assert_eq!(store.card_count(), 2 * notes.len());
        let order = store.guid_order().unwrap();
        let mut expected: Vec<u32> = (0..notes.len() as u32).collect();
        expected.sort_by_key(|&i| notes[i as usize].note.guid.clone());
        assert_eq!(order, expected);
        assert!(store.note_decks().contains("D3") && !store.note_decks().contains("Other"));
        assert_eq!(store.tags().count(), 5);
    }

    #[test]
    fn records_come_back_sorted_from_many_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorted = SortedRecords::<12>::new_in(dir.path()).unwrap();
        let mut seed = 11u64;
        let mut all = Vec::new();
        for n in 0..(3 * SORT_RUN + 123) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut record = [0; 12];
            // A few values only in the first bytes: many records alike there.
            record[..8].copy_from_slice(&(seed % 1000).to_be_bytes());
            record[8..].copy_from_slice(&(n as u32).to_be_bytes());
            all.push(record);
            sorted.push(record).unwrap();
        }
        all.sort_unstable();
        let mut back = Vec::new();
        sorted
            .try_for_each(|r| {
                back.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(back, all);
    }
}
