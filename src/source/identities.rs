//! The identities (guids) the notes read so far claimed, and where each note is. A build
//! keeps one for every note until all files are read, so what stays in memory is a
//! 32-bit hash of each guid and its claim's number, 8 bytes a note in sorted blocks
//! (a hash map of the latest claims is merged in now and then); the guid's text, file
//! and line go to a scratch file as a fixed-size record, read back only when hashes
//! meet, to compare the guids or to name the note.

use crate::note_store::Records;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// A claim's record: the guid's length (or [`LONG`]), its bytes (or the index of a
/// long guid), the file number and the line.
const RECORD: usize = 32;
const GUID_ROOM: usize = RECORD - 9;
/// The length byte of a guid longer than [`GUID_ROOM`], held in `long` instead.
const LONG: u8 = u8::MAX;

pub(super) struct Identities {
    /// The first claim of each 32-bit hash of a guid, but the latest ones: (hash << 32 |
    /// claim), sorted, in blocks of [`BLOCK`] (so that merging needs no second copy).
    sorted: Vec<Vec<u64>>,
    /// The latest first claims by hash, merged into `sorted` when there are many.
    recent: HashMap<u32, u32, BuildHasherDefault<Spread>>,
    /// Later claims with a hash met before (a few in a million notes).
    more: HashMap<u32, Vec<u32>>,
    claims: Records<RECORD>,
    /// Guids too long for a record (rare: only `guid:` can make one).
    long: Vec<String>,
    files: Vec<Arc<Path>>,
    /// The first error of the scratch file: the claims since are not all known.
    failed: Option<std::io::Error>,
}

/// Spreads a hash that is already a hash over the bits the map's table uses.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.0 = u64::from(value);
    }
}

/// Entries of a block of `sorted`.
const BLOCK: usize = 1 << 16;

fn hash(guid: &str) -> u32 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    guid.hash(&mut hasher);
    hasher.finish() as u32
}

impl Default for Identities {
    fn default() -> Identities {
        Identities::new_in(None)
    }
}

impl Identities {
    /// Claims kept in a scratch file in `dir`, or in memory without one.
    pub(super) fn new_in(dir: Option<&Path>) -> Identities {
        let (claims, failed) = match Records::new_in(dir) {
            Ok(claims) => (claims, None),
            Err(e) => (Records::new_in(None).expect("no file to make"), Some(e)),
        };
        Identities {
            sorted: Vec::new(),
            recent: HashMap::default(),
            more: HashMap::new(),
            claims,
            long: Vec::new(),
            files: Vec::new(),
            failed,
        }
    }

    /// The error the scratch file met, if any: then not every duplicate was found.
    pub(super) fn failure(&mut self) -> Option<std::io::Error> {
        self.failed.take()
    }

    /// Claim `claim`'s guid, file and line, if its record can be read.
    fn claim(&self, claim: u32) -> Option<(String, u32, u32)> {
        let record = self.claims.get(claim as usize).ok()?;
        let number = |at: usize| u32::from_le_bytes(record[at..at + 4].try_into().expect("4"));
        let guid = match record[0] {
            LONG => self.long[number(1) as usize].clone(),
            len => String::from_utf8_lossy(&record[1..1 + len as usize]).into_owned(),
        };
        Some((guid, number(RECORD - 8), number(RECORD - 4)))
    }

    /// The first claim whose guid has the hash `h`.
    fn first(&self, h: u32) -> Option<u32> {
        if let Some(&claim) = self.recent.get(&h) {
            return Some(claim);
        }
        let key = u64::from(h) << 32;
        let block = self
            .sorted
            .partition_point(|b| b.last().is_some_and(|&l| l < key));
        let block = self.sorted.get(block)?;
        let found = block[block.partition_point(|&e| e < key)];
        (found >> 32 == key >> 32).then_some(found as u32)
    }

    /// Moves `recent` into `sorted`, block by block: each old block is freed as it is
    /// merged.
    fn merge(&mut self) {
        let recent = std::mem::take(&mut self.recent);
        let mut new: Vec<u64> = (recent.into_iter())
            .map(|(h, claim)| u64::from(h) << 32 | u64::from(claim))
            .collect();
        new.sort_unstable();
        let old = std::mem::take(&mut self.sorted).into_iter().flatten();
        let mut block = Vec::with_capacity(BLOCK);
        let (mut old, mut new) = (old.peekable(), new.into_iter().peekable());
        loop {
            let next = match (old.peek(), new.peek()) {
                (Some(a), Some(b)) if a < b => old.next(),
                (Some(_), None) => old.next(),
                (_, Some(_)) => new.next(),
                (None, None) => break,
            };
            block.push(next.expect("peeked"));
            if block.len() == BLOCK {
                self.sorted
                    .push(std::mem::replace(&mut block, Vec::with_capacity(BLOCK)));
            }
        }
        if !block.is_empty() {
            self.sorted.push(block);
        }
    }

    /// Where the note that claimed `guid` is.
    pub(super) fn get(&self, guid: &str) -> Option<(&Path, usize)> {
        let h = hash(guid);
        let first = self.first(h)?;
        let more = self.more.get(&h).into_iter().flatten().copied();
        std::iter::once(first).chain(more).find_map(|claim| {
            let (claimed, file, line) = self.claim(claim)?;
            (claimed == guid).then(|| (&*self.files[file as usize], line as usize))
        })
    }

    /// Records that the note at `file:line` claimed `guid` (not claimed before).
    pub(super) fn insert(&mut self, guid: &str, file: &Arc<Path>, line: usize) {
        let claim = self.claims.len() as u32;
        let h = hash(guid);
        match self.first(h) {
            Some(_) => self.more.entry(h).or_default().push(claim),
            None => {
                self.recent.insert(h, claim);
                let merged: usize = self.sorted.iter().map(Vec::len).sum();
                if self.recent.len() >= BLOCK.max(merged / 16) {
                    self.merge();
                }
            }
        }
        if !self.files.last().is_some_and(|f| Arc::ptr_eq(f, file)) {
            self.files.push(Arc::clone(file));
        }
        let mut record = [0; RECORD];
        if guid.len() <= GUID_ROOM {
            record[0] = guid.len() as u8;
            record[1..1 + guid.len()].copy_from_slice(guid.as_bytes());
        } else {
            record[0] = LONG;
            record[1..5].copy_from_slice(&(self.long.len() as u32).to_le_bytes());
            self.long.push(guid.to_string());
        }
        let file = (self.files.len() - 1) as u32;
        record[RECORD - 8..RECORD - 4].copy_from_slice(&file.to_le_bytes());
        record[RECORD - 4..].copy_from_slice(&(line as u32).to_le_bytes());
        if let Err(e) = self.claims.push(&record) {
            self.failed.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_by_guid_from_memory_and_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for folder in [None, Some(dir.path())] {
            let mut ids = Identities::new_in(folder);
            let (a, b): (Arc<Path>, Arc<Path>) =
                (Arc::from(Path::new("a")), Arc::from(Path::new("b")));
            let long = "x".repeat(40);
            let count = 300_000;
            for i in 0..count {
                let file = if i % 2 == 0 { &a } else { &b };
                ids.insert(&format!("g{i}"), file, i + 1);
            }
            ids.insert(&long, &a, 7);
            for i in (0..count).step_by(97) {
                let (file, line) = ids.get(&format!("g{i}")).unwrap();
                assert_eq!((file, line), (if i % 2 == 0 { &*a } else { &*b }, i + 1));
            }
            assert_eq!(ids.get(&long), Some((&*a, 7)));
            assert_eq!(ids.get("g-1"), None);
            assert_eq!(ids.get(&format!("g{count}")), None);
            assert!(ids.sorted.len() > 1, "merged into several blocks");
            assert_eq!(ids.get(&"x".repeat(41)), None);
            assert!(ids.failure().is_none());
        }
    }

    #[test]
    fn guids_whose_hashes_meet_are_told_apart() {
        // Guids with the same 32-bit hash: found by trying, as a deck may hold them.
        let mut seen: HashMap<u32, String> = HashMap::new();
        let pair = (0..)
            .map(|i| format!("n{i}"))
            .find_map(|guid| {
                seen.insert(hash(&guid), guid.clone())
                    .map(|other| (other, guid))
            })
            .unwrap();
        let mut ids = Identities::default();
        let file: Arc<Path> = Arc::from(Path::new("f"));
        ids.insert(&pair.0, &file, 1);
        assert_eq!(ids.get(&pair.1), None);
        ids.insert(&pair.1, &file, 2);
        assert_eq!(ids.get(&pair.0).map(|f| f.1), Some(1));
        assert_eq!(ids.get(&pair.1).map(|f| f.1), Some(2));
    }
}
