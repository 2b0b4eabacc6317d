//! The identities (guids) the notes read so far claimed, and where each note is: held
//! compactly (a hash, the guid's text in one buffer, a file number and a line), since a
//! build keeps one for every note until all files are read.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

#[derive(Default)]
pub(super) struct Identities {
    /// A hash of each guid → its entry; guids whose hash an earlier guid has are in
    /// `collided` instead (rare).
    by_hash: HashMap<u64, u32>,
    collided: HashMap<String, u32>,
    entries: Vec<Entry>,
    /// Every guid's text, one after the other.
    guids: String,
    files: Vec<Arc<Path>>,
}

/// A guid claimed: where its text starts in `guids` (it ends where the next starts), and
/// the file and line of its note.
struct Entry {
    guid: u32,
    file: u32,
    line: u32,
}

fn hash(guid: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    guid.hash(&mut hasher);
    hasher.finish()
}

impl Identities {
    fn guid(&self, entry: u32) -> &str {
        let start = self.entries[entry as usize].guid as usize;
        let end =
            (self.entries.get(entry as usize + 1)).map_or(self.guids.len(), |e| e.guid as usize);
        &self.guids[start..end]
    }

    fn entry(&self, guid: &str) -> Option<u32> {
        match self.by_hash.get(&hash(guid)) {
            Some(&entry) if self.guid(entry) == guid => Some(entry),
            Some(_) => self.collided.get(guid).copied(),
            None => None,
        }
    }

    /// Where the note that claimed `guid` is.
    pub(super) fn get(&self, guid: &str) -> Option<(&Path, usize)> {
        let entry = &self.entries[self.entry(guid)? as usize];
        Some((&self.files[entry.file as usize], entry.line as usize))
    }

    /// Records that the note at `file:line` claimed `guid` (not claimed before).
    pub(super) fn insert(&mut self, guid: &str, file: &Arc<Path>, line: usize) {
        let index = self.entries.len() as u32;
        match self.by_hash.entry(hash(guid)) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(guid.to_string(), index);
            }
        }
        if !self.files.last().is_some_and(|f| Arc::ptr_eq(f, file)) {
            self.files.push(Arc::clone(file));
        }
        self.entries.push(Entry {
            guid: self.guids.len() as u32,
            file: (self.files.len() - 1) as u32,
            line: line as u32,
        });
        self.guids.push_str(guid);
    }
}
