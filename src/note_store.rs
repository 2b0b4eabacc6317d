//! A build's notes held on disk between its stages, so that memory does not grow with the
//! deck.
//!
//! Every stage needs the notes in its own order (the reader in file order, the lock merge
//! in guid order, SQLite in note-id order), so the notes cannot simply flow through a
//! channel. Instead each note read is appended to an unnamed scratch file, and only a
//! small record stays in memory: where its text is, its guid, cards, deck and note type
//! as small integers, and its `mod`. A stage reads back the notes it works on, a batch
//! at a time (from the system's page cache, not the build's memory).

use crate::error::{Error, Result};
use crate::note::{Note, SourceNote};
use crate::notetype::NoteType;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes appended in memory before they go to the file.
const PENDING: usize = 1 << 20;

/// Notes in file order, their text on disk.
pub(crate) struct NoteStore {
    file: File,
    /// The folder of the file, to name it in errors.
    dir: PathBuf,
    /// Encoded notes not yet written, after the `flushed` bytes of the file.
    pending: Vec<u8>,
    flushed: u64,
    records: Vec<Record>,
    /// Every note's guid, one after the other (a record has where its guid starts).
    guids: String,
    /// Every note's card ordinals, one after the other.
    ords: Vec<u16>,
    /// The note types of the notes, in the order first met, shared by their notes.
    pub notetypes: Vec<Arc<NoteType>>,
    notetype_index: HashMap<i64, u16>,
    /// Every deck name a note or card names, in the order first met.
    decks: Vec<String>,
    deck_index: HashMap<String, u32>,
    /// Which decks are a note's deck (not only a card's).
    note_decks: Vec<bool>,
    files: Vec<Arc<Path>>,
    /// Every tag of a note, for the collection's tag list.
    tags: BTreeSet<String>,
    /// Cards in decks of their own: (note, ord) → deck.
    card_decks: HashMap<(u32, u16), u32>,
}

/// What stays in memory of a note.
#[derive(Clone, Copy)]
struct Record {
    /// Where the note's encoded text starts in the file; it ends where the next starts.
    offset: u64,
    /// Where its guid starts in `guids` and its ordinals in `ords`.
    guid: u32,
    ords: u32,
    deck: u32,
    notetype: u16,
    modified: i64,
}

impl std::fmt::Debug for NoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteStore({} notes)", self.records.len())
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
            records: Vec::new(),
            guids: String::new(),
            ords: Vec::new(),
            notetypes: Vec::new(),
            notetype_index: HashMap::new(),
            decks: Vec::new(),
            deck_index: HashMap::new(),
            note_decks: Vec::new(),
            files: Vec::new(),
            tags: BTreeSet::new(),
            card_decks: HashMap::new(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn deck(&mut self, name: &str, of_note: bool) -> u32 {
        let index = match self.deck_index.get(name) {
            Some(&i) => i,
            None => {
                let i = self.decks.len() as u32;
                self.decks.push(name.to_string());
                self.deck_index.insert(name.to_string(), i);
                self.note_decks.push(false);
                i
            }
        };
        self.note_decks[index as usize] |= of_note;
        index
    }

    fn file_index(&mut self, file: &Arc<Path>) -> u32 {
        match self
            .files
            .iter()
            .rposition(|f| Arc::ptr_eq(f, file) || f == file)
        {
            Some(i) => i as u32,
            None => {
                self.files.push(Arc::clone(file));
                (self.files.len() - 1) as u32
            }
        }
    }

    /// Appends a note read, after the notes before it.
    pub(crate) fn push(&mut self, source: SourceNote) -> Result<()> {
        let index = self.records.len() as u32;
        let note = &source.note;
        let notetype = match self.notetype_index.get(&note.notetype_id) {
            Some(&i) => i,
            None => {
                let i = self.notetypes.len() as u16;
                self.notetypes.push(Arc::clone(&source.notetype));
                self.notetype_index.insert(note.notetype_id, i);
                i
            }
        };
        let deck = self.deck(&note.deck, true);
        let mut card_decks = Vec::with_capacity(note.card_decks.len());
        for (ord, name) in &note.card_decks {
            let deck = self.deck(name, false);
            self.card_decks.insert((index, *ord), deck);
            card_decks.push((*ord, deck));
        }
        for tag in &note.tags {
            if !self.tags.contains(tag) {
                self.tags.insert(tag.clone());
            }
        }
        let file = self.file_index(&source.file);
        self.records.push(Record {
            offset: self.flushed + self.pending.len() as u64,
            guid: self.guids.len() as u32,
            ords: self.ords.len() as u32,
            deck,
            notetype,
            modified: note.modified,
        });
        self.guids.push_str(&note.guid);
        self.ords.extend_from_slice(&source.ords);
        let out = &mut self.pending;
        put_strings(out, &note.fields);
        put_strings(out, &note.tags);
        put_u32(out, card_decks.len() as u32);
        for (ord, deck) in card_decks {
            out.extend_from_slice(&ord.to_le_bytes());
            put_u32(out, deck);
        }
        put_u32(out, note.empty_cards.len() as u32);
        for ord in &note.empty_cards {
            out.extend_from_slice(&ord.to_le_bytes());
        }
        put_u32(out, note.skipped_cards.len() as u32);
        for ord in &note.skipped_cards {
            out.extend_from_slice(&ord.to_le_bytes());
        }
        put_u32(out, file);
        put_u32(out, source.line as u32);
        out.extend_from_slice(&source.legacy.map_or(u32::MAX, u32::from).to_le_bytes());
        if self.pending.len() >= PENDING {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is pending to the file.
    pub(crate) fn flush(&mut self) -> Result<()> {
        write_at(&self.file, &self.pending, self.flushed).map_err(|e| Error::io(&self.dir, e))?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// The guid of note `i`.
    pub(crate) fn guid(&self, i: usize) -> &str {
        let end = self
            .records
            .get(i + 1)
            .map_or(self.guids.len(), |r| r.guid as usize);
        &self.guids[self.records[i].guid as usize..end]
    }

    /// The card ordinals of note `i`.
    pub(crate) fn ords(&self, i: usize) -> &[u16] {
        let end = self
            .records
            .get(i + 1)
            .map_or(self.ords.len(), |r| r.ords as usize);
        &self.ords[self.records[i].ords as usize..end]
    }

    pub(crate) fn modified(&self, i: usize) -> i64 {
        self.records[i].modified
    }

    pub(crate) fn set_modified(&mut self, i: usize, modified: i64) {
        self.records[i].modified = modified;
    }

    /// The deck of note `i`'s card `ord`.
    pub(crate) fn card_deck(&self, i: usize, ord: u16) -> &str {
        let deck = match self.card_decks.is_empty() {
            true => None,
            false => self.card_decks.get(&(i as u32, ord)).copied(),
        };
        &self.decks[deck.unwrap_or(self.records[i].deck) as usize]
    }

    /// Every deck name notes and cards give, in the order first met.
    pub(crate) fn deck_names(&self) -> impl Iterator<Item = &str> {
        self.decks.iter().map(String::as_str)
    }

    /// The decks notes are in (not those only cards are in).
    pub(crate) fn note_decks(&self) -> HashSet<&str> {
        let decks = self.decks.iter().zip(&self.note_decks);
        decks
            .filter(|(_, n)| **n)
            .map(|(d, _)| d.as_str())
            .collect()
    }

    pub(crate) fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(String::as_str)
    }

    /// Note `i` as it was pushed, with its `mod` now.
    pub(crate) fn load(&self, i: usize) -> Result<SourceNote> {
        let record = &self.records[i];
        let end = match self.records.get(i + 1) {
            Some(next) => next.offset,
            None => self.flushed + self.pending.len() as u64,
        };
        if record.offset >= self.flushed {
            let start = (record.offset - self.flushed) as usize;
            let bytes = &self.pending[start..(end - self.flushed) as usize];
            return Ok(self.decode(i, bytes));
        }
        // Notes are flushed whole: this one is all in the file.
        let mut bytes = vec![0; (end - record.offset) as usize];
        read_at(&self.file, &mut bytes, record.offset).map_err(|e| Error::io(&self.dir, e))?;
        Ok(self.decode(i, &bytes))
    }

    /// Notes `indexes`, read back in parallel.
    pub(crate) fn load_many(&self, indexes: &[usize]) -> Result<Vec<SourceNote>> {
        use rayon::prelude::*;
        indexes.par_iter().map(|&i| self.load(i)).collect()
    }

    fn decode(&self, i: usize, mut bytes: &[u8]) -> SourceNote {
        let record = &self.records[i];
        let fields = take_strings(&mut bytes);
        let tags = take_strings(&mut bytes);
        let count = take_u32(&mut bytes);
        let card_decks = (0..count)
            .map(|_| {
                let ord = u16::from_le_bytes([bytes[0], bytes[1]]);
                bytes = &bytes[2..];
                (ord, self.decks[take_u32(&mut bytes) as usize].clone())
            })
            .collect();
        let take_ords = |bytes: &mut &[u8]| -> Vec<u16> {
            (0..take_u32(bytes))
                .map(|_| {
                    let ord = u16::from_le_bytes([bytes[0], bytes[1]]);
                    *bytes = &bytes[2..];
                    ord
                })
                .collect()
        };
        let empty_cards = take_ords(&mut bytes);
        let skipped_cards = take_ords(&mut bytes);
        let file = Arc::clone(&self.files[take_u32(&mut bytes) as usize]);
        let line = take_u32(&mut bytes) as usize;
        let legacy = u16::try_from(take_u32(&mut bytes)).ok();
        let notetype = Arc::clone(&self.notetypes[record.notetype as usize]);
        SourceNote {
            note: Note {
                guid: self.guid(i).to_string(),
                notetype_id: notetype.id,
                fields,
                tags,
                deck: self.decks[record.deck as usize].clone(),
                card_decks,
                empty_cards,
                skipped_cards,
                modified: record.modified,
            },
            notetype,
            ords: self.ords(i).to_vec(),
            file,
            line,
            legacy,
        }
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

fn take_strings(bytes: &mut &[u8]) -> Vec<String> {
    let count = take_u32(bytes);
    (0..count)
        .map(|_| {
            let len = take_u32(bytes) as usize;
            let text = std::str::from_utf8(&bytes[..len]).expect("written as UTF-8");
            *bytes = &bytes[len..];
            text.to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .guid(format!("g{i}"))
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
        // Read back while some are pending and after all are written.
        let check = |store: &NoteStore| {
            for (i, note) in notes.iter().enumerate() {
                let back = store.load(i).unwrap();
                assert_eq!(back.note, note.note);
                assert_eq!(back.ords, note.ords);
                assert_eq!((back.line, back.legacy), (note.line, note.legacy));
                assert_eq!(&*back.file, &*note.file);
                assert_eq!(store.guid(i), note.note.guid);
                assert_eq!(store.card_deck(i, 0), note.note.card_deck(0));
            }
        };
        check(&store);
        store.flush().unwrap();
        check(&store);
        store.set_modified(5, 99);
        assert_eq!(store.load(5).unwrap().note.modified, 99);
        assert!(store.note_decks().contains("D3") && !store.note_decks().contains("Other"));
        assert_eq!(store.tags().count(), 5);
    }
}
