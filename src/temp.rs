//! What a build owns on disk while it runs, so that a build that died leaves nothing a
//! later one cannot recognise and remove.
//!
//! A build writes its scratch data (the collection, then the package) into one hidden
//! folder beside the output, `.ankideck-tmp-<pid>-XXXXXX`, and stages the new lock in the
//! source folder as `.ankideck.lock.<pid>.XXXXXX`. Each holds an advisory lock while its
//! build runs; the system releases it when the build ends, however it ends. A later
//! build removes the ones whose lock it can take: their build is gone (`kill -9`, a
//! power cut). It never touches a name it did not make, nor one a running build holds.
//!
//! The source folder itself is locked for a whole build (see [`SourceLock`]), so two
//! builds of one folder never race for its package and lock.

use crate::error::{Error, Result};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The name of a build's scratch folder beside its output starts with this.
pub const SCRATCH_PREFIX: &str = ".ankideck-tmp-";
/// The name of a staged lock in the source folder starts with this.
pub const STAGED_LOCK_PREFIX: &str = ".ankideck.lock.";

/// The advisory lock on a source folder that a build holds until it is dropped.
pub struct SourceLock {
    _held: Option<File>,
}

impl SourceLock {
    /// Locks the folder `source`. Another build holding it: `waiting` is called once,
    /// then this waits for it, or until [`crate::cancel::cancel`]. Folders that cannot be
    /// locked (not on Unix) are not.
    pub fn take(source: &Path, waiting: impl FnOnce()) -> Result<SourceLock> {
        if !cfg!(unix) {
            return Ok(SourceLock { _held: None });
        }
        let folder = File::open(source).map_err(|e| Error::io(source, e))?;
        let mut waiting = Some(waiting);
        loop {
            match folder.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if let Some(waiting) = waiting.take() {
                        waiting();
                    }
                    crate::cancel::check()?;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(source, e)),
            }
        }
        Ok(SourceLock {
            _held: Some(folder),
        })
    }
}

/// A scratch folder beside an output, locked while it exists and removed when dropped.
pub struct Scratch {
    dir: tempfile::TempDir,
    _lock: Option<File>,
}

impl Scratch {
    /// Makes a scratch folder in `dir`, after removing those that dead builds left there.
    pub fn beside(dir: &Path) -> Result<Scratch> {
        remove_stale(dir, SCRATCH_PREFIX);
        let made = tempfile::Builder::new()
            .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
            .tempdir_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let lock = if cfg!(unix) {
            let folder = File::open(made.path()).map_err(|e| Error::io(made.path(), e))?;
            folder.lock().map_err(|e| Error::io(made.path(), e))?;
            Some(folder)
        } else {
            None
        };
        Ok(Scratch {
            dir: made,
            _lock: lock,
        })
    }

    /// The scratch folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A hidden file in `dir` to stage a new lock in, locked while it exists, after removing
/// those that dead builds left there.
pub fn staged_lock_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    remove_stale(dir, STAGED_LOCK_PREFIX);
    let prefix = format!("{STAGED_LOCK_PREFIX}{}.", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666, which the umask reduces as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let file = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    file.as_file()
        .lock()
        .map_err(|e| Error::io(file.path(), e))?;
    Ok(file)
}

/// Removes what builds that are gone left in `dir` under names starting with `prefix`:
/// those whose advisory lock can be taken. Best effort: whatever cannot be read or
/// removed stays, for a later build.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let stale = entries.filter_map(|entry| {
        let entry = entry.ok()?;
        // Only what a build makes: opening anything else (a FIFO) could block.
        let kind = entry.file_type().ok()?;
        let ours = entry.file_name().to_str()?.starts_with(prefix);
        (ours && (kind.is_file() || kind.is_dir())).then(|| entry.path())
    });
    for path in stale.collect::<Vec<PathBuf>>() {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let _ = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// For tests of faults: stops the build at `phase` when `ANKIDECK_TEST_PAUSE_AT` names
/// it, saying so on stderr, until the process is killed or the build cancelled.
pub(crate) fn pause_at(phase: &str) -> Result<()> {
    if std::env::var_os("ANKIDECK_TEST_PAUSE_AT").is_some_and(|p| p == phase) {
        eprintln!("paused at {phase}");
        while !crate::cancel::is_cancelled() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        return Err(Error::Cancelled);
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_what_no_one_holds_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let held = Scratch::beside(dir.path()).unwrap();
        let staged = staged_lock_in(dir.path()).unwrap();
        // Left by a dead build: nothing holds them.
        std::fs::create_dir(dir.path().join(".ankideck-tmp-1-dead")).unwrap();
        std::fs::write(dir.path().join(".ankideck-tmp-1-dead/x"), b"").unwrap();
        std::fs::write(dir.path().join(".ankideck.lock.1.dead"), b"").unwrap();
        // Not ours.
        std::fs::write(dir.path().join(".tmp-other"), b"").unwrap();
        let again = Scratch::beside(dir.path()).unwrap();
        let again_staged = staged_lock_in(dir.path()).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut expected = vec![
            held.path().to_path_buf(),
            staged.path().to_path_buf(),
            again.path().to_path_buf(),
            again_staged.path().to_path_buf(),
            dir.path().join(".tmp-other"),
        ];
        expected.sort();
        assert_eq!(names, expected);
    }
}
