//! The whole pipeline: a source folder in, a package file (and an updated lock) out.

use crate::error::{Diagnostic, Error, Problem, Result};
use crate::package::Summary;
use crate::source::Sources;
use crate::state::{self, Lock, RemovedNote};
use std::path::Path;

/// How to build.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The build time in seconds: the `mod` of notes that changed since the last build.
    pub now: i64,
    /// Refuse to build when `ankideck.lock` would change (for CI).
    pub locked: bool,
}

impl Options {
    /// `SOURCE_DATE_EPOCH` if set (the reproducible-builds convention), else the clock.
    pub fn from_env() -> Options {
        let now = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            });
        Options { now, locked: false }
    }
}

/// What a build did.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// Things Anki will not do on re-import, for the user to handle.
    pub warnings: Vec<Diagnostic>,
    /// Notes the last build had and this one does not.
    pub removed: Vec<RemovedNote>,
    /// Whether `ankideck.lock` was written.
    pub lock_updated: bool,
}

/// Reads the cards below `source`, writes them to `output` and updates the lock. On any
/// problem nothing is written: `output` and the lock stay as they were.
pub fn build(source: &Path, output: &Path, options: Options) -> Result<Outcome> {
    let mut sources = Sources::read(source)?;
    let lock_path = source.join(state::FILE_NAME);
    let previous = Lock::read(&lock_path)?;
    let reconciled = state::reconcile(&previous, &mut sources.notes, options.now, &lock_path);
    let lock_changed = reconciled.lock != previous;
    if options.locked && lock_changed {
        let problem = Problem::LockOutdated;
        return Err(Error::Input(vec![Diagnostic {
            file: lock_path,
            line: 0,
            problem,
        }]));
    }
    let package = sources.into_package(reconciled.timestamp)?;
    let summary = package.write(output)?;
    if lock_changed {
        reconciled.lock.write(&lock_path)?;
    }
    Ok(Outcome {
        summary,
        warnings: reconciled.warnings,
        removed: reconciled.removed,
        lock_updated: lock_changed,
    })
}
