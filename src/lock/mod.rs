//! `ankideck.lock`: what the last build put into its package, kept beside the sources and
//! committed with them, like a lock file.
//!
//! Anki updates a note on re-import only when the package's `mod` for it is newer than
//! its own copy, and never moves cards or renumbers them. So each build needs to know,
//! for every note, whether its content changed since the last build (then its `mod`
//! rises to the build time) and what Anki will not follow (a deck move, renumbered
//! clozes, a changed note type), and which notes disappeared. Unchanged notes keep their
//! recorded `mod`, which keeps builds reproducible: the same sources and lock give the
//! same package on any machine.
//!
//! `format.rs` owns the file's text, `stream.rs` reads and writes it without holding it,
//! `reconcile.rs` holds the update rules. A build reads the old lock with `Lock::read`,
//! then `Update::begin`, `Update::reconcile`, `Update::finish`, and after the package
//! `NewLock::put_in_place`. Library users reach these rules through
//! `build::build` and `build::write_locked`.

mod format;
mod reconcile;
mod stream;

pub use reconcile::{Original, Seeding};
pub(crate) use stream::{legacy_guids, Lock};

use crate::error::{Diagnostic, Error, Problem, Result};
use crate::note::SourceNote;
use crate::notetype::NoteType;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stream::{LockWriter, StagedLock};

/// The lock's file name, in the root of the source folder.
pub const FILE_NAME: &str = "ankideck.lock";

/// The error for a lock that cannot be read: `message` about its line `line`.
fn bad_lock(path: &Path, line: usize, message: String) -> Error {
    Error::Input(vec![Diagnostic::new(
        path.to_path_buf(),
        line,
        Problem::BadLock(message),
    )])
}

/// A note the last build had and this one does not; Anki keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemovedNote {
    /// Its guid.
    pub guid: String,
    /// Its note id in the user's collection, to find it in Anki's browser with `nid:`:
    /// the one the lock remembers (Anki keeps its own id for a guid it has), else the
    /// one a build derives from the guid.
    pub nid: i64,
    /// The start of its first field as the lock recorded it, to tell people which note.
    pub label: String,
}

/// The outcome of comparing this build with the lock.
#[derive(Debug, Default)]
pub(crate) struct Reconciled {
    pub warnings: Vec<Diagnostic>,
    pub removed: Vec<RemovedNote>,
    /// The newest `mod` of anything in the package: the package's own timestamp.
    pub timestamp: i64,
}

/// A new lock being worked out from the old one: compared with it as it is written and,
/// when staging, written to a hidden file beside it, so that it is never held whole.
pub(crate) struct Update<'a> {
    previous: &'a Lock,
    path: PathBuf,
    writer: LockWriter<'a>,
    /// Why the new lock could not be staged: only an error if the lock changes, since a
    /// source folder that cannot be written to is fine as long as the lock stays.
    cannot_stage: Option<Error>,
}

impl<'a> Update<'a> {
    /// Starts the lock that replaces `previous`, read from `path`; with `stage`, the new
    /// text is kept for [`NewLock::put_in_place`], else it is only compared.
    pub(crate) fn begin(path: &Path, previous: &'a Lock, stage: bool) -> Result<Update<'a>> {
        let (file, cannot_stage) = match stage.then(|| stream::stage_beside(path)) {
            Some(Ok(file)) => (Some(file), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        Ok(Update {
            previous,
            path: path.to_path_buf(),
            writer: LockWriter::new(previous.text()?, file.map(|file| (file, path))),
            cannot_stage,
        })
    }

    /// Sets every note's and note type's `modified` from the old lock and `now`, says
    /// what Anki will not follow, and writes the new lock's lines.
    pub(crate) fn reconcile(&mut self, notes: &mut [SourceNote], now: i64) -> Result<Reconciled> {
        self.reconcile_with(notes, &mut [], now)
    }

    /// [`Update::reconcile`], and the same for `notetypes`, note types that go into the
    /// package whether notes use them or not.
    pub(crate) fn reconcile_with(
        &mut self,
        notes: &mut [SourceNote],
        notetypes: &mut [Arc<NoteType>],
        now: i64,
    ) -> Result<Reconciled> {
        let (path, writer) = (&self.path, &mut self.writer);
        reconcile::reconcile(self.previous, notes, notetypes, now, path, writer)
    }

    /// [`Update::reconcile_with`] for notes a build holds on disk.
    pub(crate) fn reconcile_store(
        &mut self,
        notes: &mut crate::note_store::NoteStore,
        notetypes: &mut [Arc<NoteType>],
        now: i64,
    ) -> Result<Reconciled> {
        let (path, writer) = (&self.path, &mut self.writer);
        reconcile::reconcile_set(self.previous, notes, notetypes, now, path, writer)
    }

    /// Whether the lock changed, with the new one staged if asked for and changed.
    pub(crate) fn finish(self) -> Result<NewLock> {
        let (changed, staged) = self.writer.finish()?;
        if let Some(e) = self.cannot_stage.filter(|_| changed) {
            return Err(e);
        }
        Ok(NewLock {
            changed,
            staged: staged.filter(|_| changed),
            path: self.path,
            upgraded: self.previous.header().version == 1,
        })
    }
}

/// The outcome of an [`Update`]: whether the lock changed, and the new one if staged.
pub(crate) struct NewLock {
    changed: bool,
    staged: Option<StagedLock>,
    path: PathBuf,
    /// The old lock was version 1 (which the new one, version 2, replaces).
    upgraded: bool,
}

impl NewLock {
    /// Whether the new lock differs from the old one.
    pub(crate) fn changed(&self) -> bool {
        self.changed
    }

    /// Whether the old lock was version 1, which the new lock replaces with version 2.
    pub(crate) fn upgraded(&self) -> bool {
        self.upgraded
    }

    /// Replaces the old lock with the new one, atomically, if it changed and was staged;
    /// dropped instead, the staged file is removed.
    pub(crate) fn put_in_place(self) -> Result<()> {
        match self.staged {
            Some(staged) => staged.persist(&self.path),
            None => Ok(()),
        }
    }
}

/// Writes the lock for sources just written from a package (`ankideck unpack`), so
/// that their first build gives every note its `mod` in `originals` (by guid), the lock
/// remembers the package's note ids a build would not give, and every
/// note type its `mod` in `notetype_mods` (by id): importing that build over the
/// package it came from changes nothing, as Anki matches notes by guid.
pub fn write_seeded(
    path: &Path,
    notes: &[SourceNote],
    notetypes: &[Arc<NoteType>],
    originals: &HashMap<String, Original>,
    notetype_mods: &HashMap<i64, i64>,
) -> Result<()> {
    let mut seeding = Seeding::new(originals);
    seeding.add(notes);
    seeding.write(path, notetypes, notetype_mods)
}

impl Seeding<'_> {
    /// Writes the lock of the notes added (see [`write_seeded`]) to `path`, with the
    /// note types `unused` by them.
    pub fn write(
        self,
        path: &Path,
        unused: &[Arc<NoteType>],
        notetype_mods: &HashMap<i64, i64>,
    ) -> Result<()> {
        let text = self.text(unused, notetype_mods);
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_that_cannot_be_staged_matters_only_if_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join(FILE_NAME);
        let update = |previous: &Lock, stage| {
            let mut update = Update::begin(&path, previous, stage).unwrap();
            update.reconcile(&mut [], 100).unwrap();
            update.finish()
        };
        let unchanged = Lock::parse(format::HEADER.to_string()).unwrap();
        assert!(!update(&unchanged, true).unwrap().changed());
        assert!(matches!(
            update(&Lock::default(), true),
            Err(Error::Io { .. })
        ));
        // Only compared, it needs no folder.
        let compared = update(&Lock::default(), false).unwrap();
        assert!(compared.changed());
        compared.put_in_place().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_staged_lock_is_put_in_place_only_if_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for expected in [true, false] {
            let previous = Lock::read(&path).unwrap();
            let mut update = Update::begin(&path, &previous, true).unwrap();
            update.reconcile(&mut [], 100).unwrap();
            let new_lock = update.finish().unwrap();
            assert_eq!(new_lock.changed(), expected);
            new_lock.put_in_place().unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), format::HEADER);
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "no staged file left"
            );
        }
    }

    /// A seeded lock is what a build of the same notes writes: the build changes nothing.
    #[test]
    fn a_seeded_lock_is_kept_by_the_first_build() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let basic = std::sync::Arc::new(crate::Stock::Basic.notetype());
        let cloze = std::sync::Arc::new(crate::Stock::Cloze.notetype());
        let note = |nt: &std::sync::Arc<crate::NoteType>, first: &str, guid: &str| SourceNote {
            note: crate::Note::new(nt, [first, "b"]).guid(guid).deck("D"),
            notetype: std::sync::Arc::clone(nt),
            ords: vec![0],
            file: std::sync::Arc::from(Path::new("x.md")),
            line: 1,
            legacy: None,
        };
        let mut notes = vec![
            note(&basic, "q", "zz"),
            note(&cloze, "{{c1::a}} {{c2::b}}", "aa"),
        ];
        let original = |modified| Original {
            modified,
            nid: None,
        };
        let originals = HashMap::from([
            ("zz".to_string(), original(99)),
            ("aa".to_string(), original(7)),
        ]);
        let mods = HashMap::from([(basic.id, 11), (cloze.id, 12)]);
        write_seeded(&path, &notes, &[], &originals, &mods).unwrap();
        let previous = Lock::read(&path).unwrap();
        let mut update = Update::begin(&path, &previous, false).unwrap();
        update.reconcile(&mut notes, 10_000).unwrap();
        assert!(
            !update.finish().unwrap().changed(),
            "the build keeps the lock"
        );
        assert_eq!(notes[0].note.modified, 99);
        assert_eq!(notes[1].note.modified, 7);
        assert_eq!(notes[0].notetype.modified, 11);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\nzz\t-\t99\t"), "{text}");
        // Notes given a batch at a time, in another order, give the same lock: the
        // lines are in guid order, the decks and note types each once.
        let mut seeding = Seeding::new(&originals);
        seeding.add(&notes[1..]);
        seeding.add(&notes[..1]);
        let other = dir.path().join("batches.lock");
        seeding.write(&other, &[], &mods).unwrap();
        assert_eq!(std::fs::read_to_string(&other).unwrap(), text);
    }
}
