//! The whole pipeline: a source folder in, a package file (and an updated lock) out.

use crate::error::{self, Diagnostic, Error, Problem, Result, Severity};
use crate::lock::{self, Lock, NewLock, Reconciled, RemovedNote};
use crate::note_store::NoteStore;
use crate::package::{Format, MediaSource, Package, Progress, Summary};
use crate::source::Sources;
use std::path::{Path, PathBuf};

/// How to build.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The build time in seconds: the `mod` of notes that changed since the last build.
    pub now: i64,
    /// Refuse to build when `ankideck.lock` would change (for CI).
    pub locked: bool,
    /// Treat warnings as errors.
    pub deny_warnings: bool,
    /// Which package format to write.
    pub format: Format,
    /// A folder where media references the source does not hold are looked up too,
    /// such as Anki's own `collection.media` (`--media-dir`).
    pub media_dir: Option<PathBuf>,
}

impl Options {
    /// A build at `now` (seconds): the lock may change, warnings do not stop it, and the
    /// package has the default format. Set the fields to change that.
    pub fn new(now: i64) -> Options {
        Options {
            now,
            locked: false,
            deny_warnings: false,
            format: Format::default(),
            media_dir: None,
        }
    }

    /// [`Options::new`] at `SOURCE_DATE_EPOCH` if set (the reproducible-builds
    /// convention), else at the clock's time.
    pub fn from_env() -> Result<Options> {
        let now = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(value) => value
                .trim()
                .parse()
                .map_err(|_| Error::BadSourceDateEpoch(value))?,
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        };
        Ok(Options::new(now))
    }
}

/// What a build did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// What the package holds.
    pub summary: Summary,
    /// Problems that did not stop the build, such as things Anki will not do on re-import.
    pub warnings: Vec<Diagnostic>,
    /// Notes the last build had and this one does not.
    pub removed: Vec<RemovedNote>,
    /// Whether `ankideck.lock` was written.
    pub lock_updated: bool,
    /// Whether the lock written replaced a version 1 lock (as version 2).
    pub lock_upgraded: bool,
}

/// Everything known before anything is written.
struct Plan {
    /// The sources but their notes, which are in `notes`.
    sources: Sources,
    notes: NoteStore,
    reconciled: Reconciled,
    /// The new lock, written beside the old one when staging and changed.
    lock: NewLock,
    warnings: Vec<Diagnostic>,
}

/// Reads and checks everything; with `stage`, also writes the new lock beside the old.
/// The notes are held in a file in `scratch`.
fn plan(source: &Path, options: &Options, stage: bool, scratch: &Path) -> Result<Plan> {
    crate::source::source_folder(source)?;
    let lock_path = source.join(lock::FILE_NAME);
    // Notes the lock knows by legacy guids keep them: read first. Checking the rest of
    // the lock's lines needs nothing from the sources: done alongside.
    let legacy = lock::legacy_guids(&lock_path)?;
    let (sources, previous) = std::thread::scope(|scope| {
        let previous = scope.spawn(|| Lock::read(&lock_path));
        let sources = read_and_lint(source, options.media_dir.as_deref(), legacy, scratch);
        let previous = previous
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (sources, previous)
    });
    let ((mut sources, mut notes), previous) = (sources?, previous?);
    let mut update = lock::Update::begin(&lock_path, &previous, stage && !options.locked)?;
    let reconciled = update.reconcile_store(&mut notes, &mut sources.notetypes, options.now)?;
    let new_lock = update.finish()?;
    let mut warnings = std::mem::take(&mut sources.warnings);
    warnings.extend(reconciled.warnings.iter().cloned());
    let mut errors = Vec::new();
    if options.locked && new_lock.changed() {
        errors.push(Diagnostic::new(&lock_path, 0, Problem::LockOutdated));
    }
    if options.deny_warnings && !warnings.is_empty() {
        errors.append(&mut warnings);
    }
    if !errors.is_empty() {
        errors.append(&mut warnings);
        return Err(Error::Input(errors));
    }
    Ok(Plan {
        sources,
        notes,
        reconciled,
        lock: new_lock,
        warnings,
    })
}

/// Reads the sources into a [`NoteStore`] in `scratch`, linting them as they come, and
/// adds the lint's warnings: every problem of the sources, errors and warnings
/// together, in file order.
fn read_and_lint(
    source: &Path,
    media_dir: Option<&Path>,
    legacy: crate::ids::LegacyGuids,
    scratch: &Path,
) -> Result<(Sources, NoteStore)> {
    let mut notes = NoteStore::new_in(scratch)?;
    let mut lint = crate::lint::Lint::new_in(scratch)?;
    let mut sources =
        Sources::read_streaming(source, media_dir, legacy, Some(scratch), &mut |batch| {
            lint.check(&batch, notes.len())?;
            batch.into_iter().try_for_each(|note| notes.push(note))
        })?;
    notes.flush()?;
    notes.seal()?;
    sources
        .warnings
        .append(&mut lint.finish(|i| notes.load(i))?);
    error::sort_diagnostics(&mut sources.warnings);
    sources.warnings = Error::unless_errors(std::mem::take(&mut sources.warnings))?;
    Ok((sources, notes))
}

/// Puts the notes, media and deck settings read from the sources into a package.
pub fn assemble(mut sources: Sources, timestamp: i64) -> Result<Package> {
    let mut package = Package::new(timestamp);
    for source in &sources.notes {
        package.add_checked_notetype(&source.notetype);
    }
    // Checked as they were read, cards included. Collected in place: the notes are most
    // of a build's memory, and are never held twice.
    let notes = std::mem::take(&mut sources.notes)
        .into_iter()
        .map(|s| (s.note, s.ords))
        .collect();
    package.add_checked_notes(notes);
    add_the_rest(&mut package, sources)?;
    Ok(package)
}

/// [`assemble`] for the notes of a build, held on disk.
fn assemble_stored(sources: Sources, notes: NoteStore, timestamp: i64) -> Result<Package> {
    let mut package = Package::new(timestamp);
    for notetype in &notes.notetypes {
        package.add_checked_notetype(notetype);
    }
    package.add_stored_notes(notes);
    add_the_rest(&mut package, sources)?;
    Ok(package)
}

/// What a package takes from the sources besides the notes.
fn add_the_rest(package: &mut Package, sources: Sources) -> Result<()> {
    // Note types no note uses go into the package too.
    for notetype in &sources.notetypes {
        package.add_checked_notetype(notetype);
    }
    for (name, path) in sources.media {
        package.add_media(&name, MediaSource::File(path))?;
    }
    for (deck, settings) in sources.decks {
        package.set_deck_settings(&deck, settings);
    }
    Ok(())
}

/// Every problem in the sources, without writing anything: the warnings when there is no
/// error, else [`Error::Input`] with all of them.
pub fn check(source: &Path, options: Options) -> Result<Vec<Diagnostic>> {
    let plan = plan(source, &options, false, &std::env::temp_dir())?;
    debug_assert!(plan
        .warnings
        .iter()
        .all(|w| w.problem.severity() == Severity::Warning));
    // Assembling the package checks what only the package knows (media names).
    assemble_stored(plan.sources, plan.notes, plan.reconciled.timestamp)?;
    Ok(plan.warnings)
}

/// Reads the cards below `source`, writes them to `output` and updates the lock. On any
/// problem nothing is written: `output` and the lock stay as they were.
pub fn build(source: &Path, output: &Path, options: Options) -> Result<Outcome> {
    build_with(source, output, options, &mut |_| {})
}

/// [`build`], telling `progress` how far it has got.
pub fn build_with(
    source: &Path,
    output: &Path,
    options: Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome> {
    crate::package::check_output(output)?;
    crate::source::source_folder(source)?;
    // Two builds of one folder would race for its package and lock: one waits.
    let _source_lock = crate::temp::SourceLock::take(source, || progress(Progress::Waiting))?;
    progress(Progress::Reading);
    // The new lock is written beside the old one while it is worked out, so that its
    // text is never held; it replaces the old one only after the package.
    // The notes wait on disk between the stages, in a scratch folder beside the output.
    let scratch = crate::temp::Scratch::beside(crate::package::output_dir(output))?;
    let plan = plan(source, &options, true, scratch.path())?;
    crate::temp::pause_at("staged")?;
    let package = assemble_stored(plan.sources, plan.notes, plan.reconciled.timestamp)?;
    let summary = package.write_reporting(output, options.format, progress)?;
    drop((package, scratch));
    let (lock_updated, lock_upgraded) = (plan.lock.changed(), plan.lock.upgraded());
    crate::temp::pause_at("lock")?;
    plan.lock.put_in_place()?;
    Ok(Outcome {
        summary,
        warnings: plan.warnings,
        removed: plan.reconciled.removed,
        lock_updated,
        lock_upgraded: lock_updated && lock_upgraded,
    })
}

/// Every note below `source` that can be read, with the guid a build gives it (a note
/// the lock knows by its legacy guid keeps it), and every problem in `warnings`, errors
/// included: what a preview shows. [`Sources::read_lenient`] alone gives notes the guids
/// of a first build.
pub fn read_lenient(source: &Path) -> Result<Sources> {
    crate::source::source_folder(source)?;
    let legacy = lock::legacy_guids(&source.join(lock::FILE_NAME))?;
    Sources::read_keeping(source, None, legacy)
}

/// `ankideck ids`: writes the id each note's guid comes from under every heading without
/// `id:` (the legacy id of a note the lock knows by it, else the derived id), so that
/// its identity stays when the heading is edited. Returns each changed file with the
/// number of ids added; refuses when the sources have errors.
pub fn write_ids(source: &Path) -> Result<Vec<(PathBuf, usize)>> {
    crate::source::source_folder(source)?;
    let legacy = lock::legacy_guids(&source.join(lock::FILE_NAME))?;
    crate::source::write_ids(source, legacy)
}

/// The build time in seconds: `SOURCE_DATE_EPOCH` if set, else the clock. Give it to
/// [`Package::new`] so that Anki updates edited notes on re-import.
pub fn build_time() -> Result<i64> {
    Options::from_env().map(|options| options.now)
}

/// Writes a package made in code as `ankideck build` writes its packages: the lock at
/// `lock_path` (an `ankideck.lock`, created if missing) keeps each note's modification
/// time, which rises to the package's timestamp only when the note changed. So Anki
/// updates edited notes on re-import, while rebuilding unchanged notes gives the same
/// bytes. Commit the lock beside the code that makes the notes.
///
/// Sets every note's and used note type's `modified`, and the package's timestamp to the
/// newest of them. The warnings say what Anki will not follow (a note moved to another
/// deck, renumbered clozes…), each naming its note by guid; the lock is updated only
/// after the package is written.
pub fn write_locked(
    package: &mut Package,
    output: &Path,
    lock_path: &Path,
    format: Format,
) -> Result<Outcome> {
    crate::package::check_output(output)?;
    let previous = Lock::read(lock_path)?;
    let mut update = lock::Update::begin(lock_path, &previous, true)?;
    let mut notes = package.take_notes();
    let reconciled = update.reconcile(&mut notes, package.timestamp());
    package.restore_notes(notes);
    let reconciled = reconciled?;
    let new_lock = update.finish()?;
    package.set_timestamp(reconciled.timestamp);
    let summary = package.write_with(output, format)?;
    let (lock_changed, lock_upgraded) = (new_lock.changed(), new_lock.upgraded());
    new_lock.put_in_place()?;
    Ok(Outcome {
        summary,
        warnings: reconciled.warnings,
        removed: reconciled.removed,
        lock_updated: lock_changed,
        lock_upgraded: lock_changed && lock_upgraded,
    })
}
