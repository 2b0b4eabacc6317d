//! Waiting for a source folder to change, for `build --watch` and `preview --watch`.
//!
//! The system tells of every file an editor touches while saving: a test file (Vim's
//! `4913`), a backup (`notes.md~`), a swap file (`.notes.md.swp`), a temporary file
//! renamed over the real one. Those are not sources ([`is_source`] says which are, by
//! the rules of `source::walk`), and one save is a burst of events, so [`Watcher::wait`]
//! returns once the sources have been quiet for [`QUIET`]: one rebuild per save, after
//! the editor is done with the file.

use crate::error::{Error, Result};
use notify::{EventKind, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long the sources must be still before a change is reported: an editor's save
/// takes a few milliseconds; a person's next save, seconds.
pub const QUIET: Duration = Duration::from_millis(200);

/// A burst of changes that never goes quiet (a script rewriting a file in a loop) is
/// reported after this long anyway, so that the result is never far behind.
const AT_MOST: Duration = Duration::from_secs(2);

/// How often waiting looks at [`crate::cancel::is_cancelled`].
const TICK: Duration = Duration::from_millis(50);

/// Watches a source folder, and the `--media-dir` beside it, for changes to sources.
pub struct Watcher {
    roots: Vec<PathBuf>,
    /// Paths whose changes are not changes of the sources: outputs inside the source.
    ignored: Vec<PathBuf>,
    events: Receiver<notify::Result<notify::Event>>,
    _watcher: notify::RecommendedWatcher,
}

impl Watcher {
    /// Starts watching each of `roots` and all below it, except the paths in `ignored`
    /// (a package or preview written inside the source folder).
    pub fn new(roots: &[&Path], ignored: &[&Path]) -> Result<Watcher> {
        let (sender, events) = channel();
        let mut watcher = notify::recommended_watcher(sender).map_err(|e| io(roots[0], e))?;
        let mut absolute = Vec::new();
        for root in roots {
            // By its real path, which the changes are then reported under.
            let real = canonical(root);
            watcher
                .watch(&real, RecursiveMode::Recursive)
                .map_err(|e| io(root, e))?;
            absolute.push(real);
        }
        Ok(Watcher {
            roots: absolute,
            ignored: ignored.iter().map(|p| canonical(p)).collect(),
            events,
            _watcher: watcher,
        })
    }

    /// Waits until some source changed and then was quiet for [`QUIET`]; returns the
    /// sources that changed (empty if the system lost count, after which everything
    /// may have). Stops with [`Error::Cancelled`] once [`crate::cancel::cancel`] is
    /// called.
    pub fn wait(&self) -> Result<Vec<PathBuf>> {
        let mut changed = Vec::new();
        // Until the first change, then until the sources are quiet.
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        loop {
            crate::cancel::check()?;
            if let Some(first) = first {
                let now = Instant::now();
                if now - last >= QUIET || now - first >= AT_MOST {
                    changed.sort();
                    changed.dedup();
                    return Ok(changed);
                }
            }
            let event = match self.events.recv_timeout(TICK) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Cancelled),
            };
            if self.take(event, &mut changed) {
                last = Instant::now();
                first.get_or_insert(last);
            }
        }
    }

    /// Adds what `event` changed among the sources to `changed`; whether it changed any.
    fn take(&self, event: notify::Result<notify::Event>, changed: &mut Vec<PathBuf>) -> bool {
        let event = match event {
            Ok(event) => event,
            // The system lost events (its queue overflowed): anything may have changed.
            Err(_) => return true,
        };
        if event.need_rescan() {
            return true;
        }
        if matches!(event.kind, EventKind::Access(_)) {
            return false;
        }
        let before = changed.len();
        for path in event.paths {
            if self.is_source(&path) {
                changed.push(path);
            }
        }
        changed.len() > before
    }

    /// Whether a change to `path` is a change of the sources.
    fn is_source(&self, path: &Path) -> bool {
        let ignored = self.ignored.iter().any(|i| path.starts_with(i));
        let Some(root) = self.roots.iter().find(|r| path.starts_with(r)) else {
            return false;
        };
        let below = path.strip_prefix(root).unwrap_or(path);
        !ignored && is_source(below)
    }
}

/// Whether a file at `path` below a source folder can be a source: not hidden (nor
/// below a hidden folder: the build skips them, and there are its own scratch files
/// and staged lock), not the lock it writes, not an editor's scratch file.
pub fn is_source(path: &Path) -> bool {
    let hidden = path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    !hidden && path != Path::new(crate::lock::FILE_NAME) && !name.is_some_and(|n| is_scratch(&n))
}

/// Names editors give their scratch files beside the file being saved.
fn is_scratch(name: &str) -> bool {
    let vim_swap = [".swp", ".swo", ".swx", ".swpx"]
        .iter()
        .any(|ext| name.ends_with(ext));
    // Vim's test of whether it may create files: "4913", or 123 more until free.
    let vim_test = name
        .parse::<u64>()
        .is_ok_and(|n| n >= 4913 && (n - 4913) % 123 == 0 && name.len() < 8);
    let emacs_autosave = name.len() > 1 && name.starts_with('#') && name.ends_with('#');
    let jetbrains = name.ends_with("___jb_tmp___") || name.ends_with("___jb_old___");
    name.ends_with('~') || vim_swap || vim_test || emacs_autosave || jetbrains
}

/// `path` made absolute with links resolved, as the system reports changed paths (a
/// package not written yet: its folder's).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(path) = path.canonicalize() {
        return path;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(parent), Some(name)) => parent.join(name),
        _ => path.to_path_buf(),
    }
}

fn io(path: &Path, error: notify::Error) -> Error {
    let error = match error.kind {
        notify::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    };
    Error::io(path, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_scratch_files_are_not_sources() {
        for name in [
            "4913",
            "5036",
            "notes.md~",
            ".notes.md.swp",
            "sub/.notes.md.swx",
            "notes.md.swp",
            "#notes.md#",
            ".#notes.md",
            "notes.md___jb_tmp___",
            ".ankideck-tmp-12-abc/collection.anki2",
            ".ankideck.lock.12.abc",
            "ankideck.lock",
            ".git/index",
        ] {
            assert!(!is_source(Path::new(name)), "{name}");
        }
        for name in [
            "notes.md",
            "sub/notes.md",
            "_notetypes/Vocab.toml",
            "_deck.toml",
            "_media/chart.png",
            "4914",
            "2024",
            "words.txt",
            "sub/ankideck.lock",
        ] {
            assert!(is_source(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn a_save_is_one_change_after_the_editor_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("notes.md"), "## a\n").unwrap();
        let watcher = Watcher::new(&[root], &[]).unwrap();
        // Vim's save, with `backupcopy=no`: test file, backup, new file, no backup.
        std::fs::write(root.join("4913"), "").unwrap();
        std::fs::remove_file(root.join("4913")).unwrap();
        std::fs::rename(root.join("notes.md"), root.join("notes.md~")).unwrap();
        std::fs::write(root.join("notes.md"), "## b\n").unwrap();
        std::fs::remove_file(root.join("notes.md~")).unwrap();
        std::fs::write(root.join(".notes.md.swp"), "x").unwrap();
        let changed = watcher.wait().unwrap();
        let notes = canonical(&root.join("notes.md"));
        assert_eq!(changed, vec![notes]);
        // Nothing more is reported: the scratch files were one change.
        let end = Instant::now() + QUIET * 2;
        while let Ok(event) = watcher.events.recv_timeout(end - Instant::now()) {
            assert!(!watcher.take(event, &mut Vec::new()));
        }
    }
}
