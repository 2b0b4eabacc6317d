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

use crate::error::{Diagnostic, Error, Problem, Result};
use crate::ids::{short_hash, short_hash_of};
use crate::note::SourceNote;
use crate::notetype::cloze;
use crate::notetype::{Kind, NoteType};
use crate::{ids, text};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The lock's file name, in the root of the source folder.
pub const FILE_NAME: &str = "ankideck.lock";

const HEADER: &str =
    "# ankideck.lock: what the last build put into its package, so that the next build can tell
# Anki exactly which notes changed. Commit it with your cards; do not edit it by hand.
version\t1
";

/// What the lock remembers of a note: one line of the lock, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteRecord<'a> {
    pub guid: &'a str,
    pub nid: i64,
    pub modified: i64,
    /// Hash of note type, fields and tags.
    pub hash: &'a str,
    pub notetype_id: i64,
    pub deck: &'a str,
    /// For cloze notes: each cloze number with a hash of its deletions' text, as written
    /// (`1:hash,2:hash`, or `-`).
    clozes: &'a str,
    /// The start of the first field, to name the note if it disappears.
    pub label: &'a str,
}

impl<'a> NoteRecord<'a> {
    /// The fields of a `note` line, or what is wrong with them.
    fn parse(cols: &[&'a str]) -> std::result::Result<NoteRecord<'a>, String> {
        let int = |i: usize| {
            cols[i]
                .parse()
                .map_err(|_| format!("column {} is not a number", i + 1))
        };
        let record = NoteRecord {
            guid: cols[1],
            nid: int(2)?,
            modified: int(3)?,
            hash: cols[4],
            notetype_id: int(5)?,
            deck: cols[6],
            clozes: cols[7],
            label: cols[8],
        };
        parse_clozes(record.clozes).ok_or("bad cloze list")?;
        Ok(record)
    }

    /// Each cloze number with the hash of its text.
    pub fn clozes(&self) -> Vec<(u16, &'a str)> {
        parse_clozes(self.clozes).unwrap_or_default()
    }
}

/// What the lock remembers of a note type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteTypeRecord {
    pub modified: i64,
    pub content: String,
    pub schema: String,
    pub name: String,
}

/// A lock as read: its note types, and where to read its note lines in guid order.
/// A lock file in guid order (as builds write it) is read again as it is needed, a
/// line at a time, rather than held: for 100,000 notes it is some 18 MB.
#[derive(Debug, Default)]
pub struct Lock {
    notetypes: BTreeMap<i64, NoteTypeRecord>,
    notes: NoteSource,
}

#[derive(Debug, Default)]
enum NoteSource {
    /// No lock yet.
    #[default]
    None,
    /// A lock file whose note lines are in guid order.
    File(PathBuf),
    /// A lock's text held, with where its note lines are, in guid order: a lock merged
    /// or edited out of order, or one given as text.
    Text {
        text: String,
        index: Vec<Range<usize>>,
    },
}

/// How a note line starts; its guid follows.
const NOTE_PREFIX: &str = "note\t";

/// One line of a lock, checked.
enum Line<'a> {
    /// A comment, a blank line or the version.
    Other,
    NoteType(i64, NoteTypeRecord),
    /// A note line, and its guid.
    Note(&'a str),
}

impl<'a> Line<'a> {
    /// Checks one line (without its line end); errors are messages for [`Problem::BadLock`].
    fn parse(line: &'a str) -> std::result::Result<Line<'a>, String> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(Line::Other);
        }
        let (cols, count) = columns(line);
        let cols = &cols[..count.min(cols.len())];
        match (cols[0], count) {
            ("version", 2) if cols[1] == "1" => Ok(Line::Other),
            ("version", _) => Err(format!("unknown version `{}`", cols[1..].join(" "))),
            ("notetype", 6) => {
                let int = |i: usize| {
                    cols[i]
                        .parse::<i64>()
                        .map_err(|_| format!("column {} is not a number", i + 1))
                };
                let record = NoteTypeRecord {
                    modified: int(2)?,
                    content: cols[3].to_string(),
                    schema: cols[4].to_string(),
                    name: cols[5].to_string(),
                };
                Ok(Line::NoteType(int(1)?, record))
            }
            ("note", 9) => Ok(Line::Note(NoteRecord::parse(cols)?.guid)),
            _ => Err("unrecognised line".to_string()),
        }
    }
}

/// The error for a lock that cannot be read: `message` about its line `line`.
fn bad_lock(path: &Path, line: usize, message: String) -> Error {
    Error::Input(vec![Diagnostic::new(
        path.to_path_buf(),
        line,
        Problem::BadLock(message),
    )])
}

/// Reads `reader` a line at a time into `line`, without its line end (a checkout may
/// have made it CRLF); false at the end.
fn next_line(reader: &mut impl BufRead, line: &mut String) -> std::io::Result<bool> {
    line.clear();
    if reader.read_line(line)? == 0 {
        return Ok(false);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(true)
}

/// A note the last build had and this one does not; Anki keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedNote {
    pub guid: String,
    pub nid: i64,
    pub label: String,
}

/// The outcome of comparing this build with the lock.
#[derive(Debug, Default)]
pub struct Reconciled {
    pub warnings: Vec<Diagnostic>,
    pub removed: Vec<RemovedNote>,
    /// The newest `mod` of anything in the package: the package's own timestamp.
    pub timestamp: i64,
}

impl Lock {
    /// Reads the lock at `path`, checking every line; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Lock> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lock::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let bad = |line, message| bad_lock(path, line, message);
        let mut reader = BufReader::new(file);
        let (mut line, mut last_guid) = (String::new(), None::<String>);
        let (mut number, mut in_order) = (0, true);
        let mut notetypes = BTreeMap::new();
        while next_line(&mut reader, &mut line).map_err(|e| Error::io(path, e))? {
            number += 1;
            match Line::parse(&line).map_err(|message| bad(number, message))? {
                Line::Other => {}
                Line::NoteType(id, record) => {
                    notetypes.insert(id, record);
                }
                Line::Note(guid) => {
                    in_order &= last_guid.as_deref().is_none_or(|last| guid > last);
                    let last = last_guid.get_or_insert_with(String::new);
                    last.replace_range(.., guid);
                }
            }
        }
        if !in_order {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            return Lock::parse(text).map_err(|(line, message)| bad(line, message));
        }
        Ok(Lock {
            notetypes,
            notes: NoteSource::File(path.to_path_buf()),
        })
    }

    /// Checks every line of a lock's text and indexes its notes.
    pub fn parse(text: String) -> std::result::Result<Lock, (usize, String)> {
        // A checkout may have turned the line ends into CRLF.
        let text = if text.contains('\r') {
            text.replace("\r\n", "\n")
        } else {
            text
        };
        let mut notetypes = BTreeMap::new();
        let mut index = Vec::new();
        let mut start = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let line_start = start;
            start += line.len();
            let line = line.trim_end_matches('\n');
            match Line::parse(line).map_err(|message| (number + 1, message))? {
                Line::Other => {}
                Line::NoteType(id, record) => {
                    notetypes.insert(id, record);
                }
                Line::Note(_) => index.push(line_start..line_start + line.len()),
            }
        }
        index.sort_by(|a, b| line_guid(&text[a.clone()]).cmp(line_guid(&text[b.clone()])));
        Ok(Lock {
            notetypes,
            notes: NoteSource::Text { text, index },
        })
    }

    /// The lock's text, from the start, to compare the new one with; `None` when the
    /// new lock differs anyway (this one is out of guid order).
    pub fn text(&self) -> Result<Option<Box<dyn BufRead + Send + '_>>> {
        Ok(match &self.notes {
            NoteSource::None => Some(Box::new(std::io::empty())),
            NoteSource::File(path) => Some(Box::new(BufReader::new(
                File::open(path).map_err(|e| Error::io(path, e))?,
            ))),
            NoteSource::Text { text, index } => {
                let sorted = index.windows(2).all(|w| w[0].start < w[1].start);
                sorted.then(|| Box::new(text.as_bytes()) as Box<dyn BufRead + Send>)
            }
        })
    }

    /// The lock's note lines, in guid order.
    fn note_lines(&self) -> Result<NoteLines<'_>> {
        Ok(match &self.notes {
            NoteSource::None => NoteLines::Held(&[], ""),
            NoteSource::File(path) => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                let mut lines = NoteLines::File {
                    path,
                    reader: BufReader::new(file),
                    line: Some(String::new()),
                };
                lines.advance()?;
                lines
            }
            NoteSource::Text { text, index } => NoteLines::Held(index, text),
        })
    }

    /// The note lines, in guid order, for tests.
    #[cfg(test)]
    fn note_line_texts(&self) -> Vec<String> {
        let mut lines = self.note_lines().unwrap();
        let mut texts = Vec::new();
        while let Some(line) = lines.current() {
            texts.push(line.to_string());
            lines.advance().unwrap();
        }
        texts
    }
}

/// A lock's note lines, read forward in guid order: one line at a time.
enum NoteLines<'a> {
    File {
        path: &'a Path,
        reader: BufReader<File>,
        /// The current line; `None` at the end.
        line: Option<String>,
    },
    Held(&'a [Range<usize>], &'a str),
}

impl NoteLines<'_> {
    /// The current note line, or `None` at the end.
    fn current(&self) -> Option<&str> {
        match self {
            NoteLines::File { line, .. } => line.as_deref(),
            NoteLines::Held(index, text) => index.first().map(|line| &text[line.clone()]),
        }
    }

    /// Moves on to the next note line.
    fn advance(&mut self) -> Result<()> {
        match self {
            NoteLines::File { path, reader, line } => {
                while let Some(text) = line {
                    if !next_line(reader, text).map_err(|e| Error::io(*path, e))? {
                        *line = None;
                    } else if text.starts_with(NOTE_PREFIX) {
                        break;
                    }
                }
            }
            NoteLines::Held(index, _) => *index = index.get(1..).unwrap_or_default(),
        }
        Ok(())
    }
}

/// The guid of a note line.
fn line_guid(line: &str) -> &str {
    let rest = &line[NOTE_PREFIX.len()..];
    &rest[..rest.find('\t').unwrap_or(rest.len())]
}

/// Takes the new lock's text piece by piece, in order, so that it is never held whole:
/// tells whether it differs from the old lock (read alongside, also a piece at a time)
/// and, when staging, writes it to a hidden file beside the lock (which card reading
/// skips).
pub struct LockWriter<'a> {
    /// The old lock's text not compared yet; `None` once it differs.
    old: Option<OldText<'a>>,
    sink: Sink,
}

/// The old lock's text as it is read: the rest of the file, and what was read of it
/// beyond what has been compared (with LF line ends).
struct OldText<'a> {
    reader: Box<dyn BufRead + Send + 'a>,
    pending: String,
}

impl OldText<'_> {
    /// Whether the old text goes on with `piece`; if so, consumes it.
    fn take(&mut self, piece: &str) -> bool {
        while self.pending.len() < piece.len() {
            match self.reader.read_line(&mut self.pending) {
                Ok(0) | Err(_) => break,
                Ok(_) if self.pending.ends_with("\r\n") => {
                    self.pending.truncate(self.pending.len() - 2);
                    self.pending.push('\n');
                }
                Ok(_) => {}
            }
        }
        let same = self.pending.starts_with(piece);
        if same {
            self.pending.drain(..piece.len());
        }
        same
    }

    /// Whether all of the old text was compared.
    fn is_done(&mut self) -> bool {
        self.pending.is_empty() && self.reader.fill_buf().is_ok_and(|rest| rest.is_empty())
    }
}

enum Sink {
    Nowhere,
    File(std::io::BufWriter<tempfile::NamedTempFile>, PathBuf),
    /// The first write error, reported by [`LockWriter::finish`].
    Failed(Error),
    #[cfg(test)]
    Text(String),
}

impl<'a> LockWriter<'a> {
    /// Only compares with `old` (see [`Lock::text`]).
    pub fn comparing(old: Option<Box<dyn BufRead + Send + 'a>>) -> LockWriter<'a> {
        LockWriter {
            old: old.map(|reader| OldText {
                reader,
                pending: String::new(),
            }),
            sink: Sink::Nowhere,
        }
    }

    /// Compares with `old` and stages the text beside `path` for [`StagedLock::persist`].
    pub fn staging(
        old: Option<Box<dyn BufRead + Send + 'a>>,
        path: &Path,
    ) -> Result<LockWriter<'a>> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let file = tempfile::Builder::new()
            .prefix(".ankideck.lock.")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let mut writer = LockWriter::comparing(old);
        writer.sink = Sink::File(std::io::BufWriter::new(file), path.to_path_buf());
        Ok(writer)
    }

    fn push(&mut self, piece: &str) {
        if self.old.as_mut().is_some_and(|old| !old.take(piece)) {
            self.old = None;
        }
        match &mut self.sink {
            Sink::File(out, path) => {
                if let Err(e) = std::io::Write::write_all(out, piece.as_bytes()) {
                    self.sink = Sink::Failed(Error::io(path.as_path(), e));
                }
            }
            #[cfg(test)]
            Sink::Text(text) => text.push_str(piece),
            Sink::Nowhere | Sink::Failed(_) => {}
        }
    }

    /// Whether the lock changed, and the staged lock if staging.
    /// A failure to write the staged copy matters only when the lock changed.
    pub fn finish(self) -> Result<(bool, Option<StagedLock>)> {
        let changed = !self.old.is_some_and(|mut old| old.is_done());
        match self.sink {
            Sink::File(out, path) => match out.into_inner() {
                Ok(file) => Ok((changed, Some(StagedLock(file)))),
                Err(e) if changed => Err(Error::io(&path, e.into_error())),
                Err(_) => Ok((changed, None)),
            },
            Sink::Failed(e) if changed => Err(e),
            Sink::Failed(_) => Ok((changed, None)),
            #[cfg(test)]
            Sink::Text(_) => Ok((changed, None)),
            Sink::Nowhere => Ok((changed, None)),
        }
    }

    /// Collects the text, for tests.
    #[cfg(test)]
    fn collecting(old: Option<Box<dyn BufRead + Send + 'a>>) -> LockWriter<'a> {
        let mut writer = LockWriter::comparing(old);
        writer.sink = Sink::Text(String::new());
        writer
    }

    #[cfg(test)]
    fn text(&self) -> &str {
        match &self.sink {
            Sink::Text(text) => text,
            _ => unreachable!("only collecting writers have text"),
        }
    }
}

/// The first nine tab-separated columns of a line (`""` where there are fewer), and how
/// many columns it has.
fn columns(line: &str) -> ([&str; 9], usize) {
    let mut cols = [""; 9];
    let mut count = 0;
    for (i, col) in line.split('\t').enumerate() {
        if let Some(slot) = cols.get_mut(i) {
            *slot = col;
        }
        count = i + 1;
    }
    (cols, count)
}

/// A lock written beside the one it replaces; removed if dropped before
/// [`StagedLock::persist`].
pub struct StagedLock(tempfile::NamedTempFile);

impl StagedLock {
    /// Replaces the lock at `path` with this one, atomically.
    pub fn persist(self, path: &Path) -> Result<()> {
        self.0.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

fn parse_clozes(col: &str) -> Option<Vec<(u16, &str)>> {
    if col == "-" {
        return Some(Vec::new());
    }
    col.split(',')
        .map(|pair| {
            let (n, h) = pair.split_once(':')?;
            Some((n.parse().ok()?, h))
        })
        .collect()
}

/// Sets every note's and note type's `modified` from `previous` and `now`, and says what
/// Anki will not follow; the new lock goes to `lock`. `lock_path` names the lock in
/// warnings about note types.
pub fn reconcile(
    previous: &Lock,
    notes: &mut [SourceNote],
    now: i64,
    lock_path: &Path,
    lock: &mut LockWriter<'_>,
) -> Result<Reconciled> {
    let mut out = Reconciled {
        timestamp: i64::MIN,
        ..Reconciled::default()
    };

    // Note types first: notes share them, so each is updated once and shared again.
    let mut notetypes = BTreeMap::new();
    let mut updated: HashMap<i64, Arc<NoteType>> = HashMap::new();
    for source in notes.iter_mut() {
        let id = source.notetype.id;
        if let Some(nt) = updated.get(&id) {
            source.notetype = Arc::clone(nt);
            continue;
        }
        let mut nt = (*source.notetype).clone();
        let (content, schema) = nt.fingerprints();
        nt.modified = match previous.notetypes.get(&id) {
            Some(r) if r.content == content => r.modified,
            Some(r) => {
                if r.schema != schema {
                    out.warnings.push(warning(
                        lock_path,
                        0,
                        Problem::NoteTypeSchemaChanged(nt.name.clone()),
                    ));
                }
                next_mod(r.modified, now)
            }
            None => now,
        };
        notetypes.insert(
            id,
            NoteTypeRecord {
                modified: nt.modified,
                content,
                schema,
                name: nt.name.clone(),
            },
        );
        out.timestamp = out.timestamp.max(nt.modified);
        let nt = Arc::new(nt);
        source.notetype = Arc::clone(&nt);
        updated.insert(id, nt);
    }

    let mut head = String::from(HEADER);
    for (id, t) in &notetypes {
        let _ = writeln!(
            head,
            "notetype\t{id}\t{}\t{}\t{}\t{}",
            t.modified, t.content, t.schema, t.name
        );
    }
    lock.push(&head);

    // Each note on its own, in parallel and in guid order (the lock's order): hashing the
    // content is most of the work. A window of batches at a time, so that only its lock
    // lines, old and new, are held.
    const BATCH: usize = 1024;
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_unstable_by(|&a, &b| notes[a].note.guid.cmp(&notes[b].note.guid));
    let mut warnings = Vec::new();
    let mut old_lines = previous.note_lines()?;
    // A lock line that no longer parses: the file changed since it was read.
    let changed_while_read =
        |message: String| bad_lock(lock_path, 0, format!("changed while read: {message}"));
    let removed = |line: &str| {
        let (cols, _) = columns(line);
        NoteRecord::parse(&cols).map(|r| RemovedNote {
            guid: r.guid.to_string(),
            nid: r.nid,
            label: r.label.to_string(),
        })
    };
    // The old lines of the notes of a window, and where each note's is.
    let mut old_text = String::new();
    let mut olds: Vec<Option<Range<usize>>> = Vec::new();
    for window in order.chunks(BATCH * 16) {
        // Both sides are in guid order: each note's old line, if any, and the old lines
        // of notes no longer built.
        old_text.clear();
        olds.clear();
        for &i in window {
            let guid = notes[i].note.guid.as_str();
            let mut old = None;
            while let Some(line) = old_lines.current() {
                let old_guid = line_guid(line);
                if old_guid > guid {
                    break;
                }
                if old_guid < guid {
                    out.removed.push(removed(line).map_err(changed_while_read)?);
                } else if old.is_none() {
                    let start = old_text.len();
                    old_text.push_str(line);
                    old = Some(start..old_text.len());
                }
                old_lines.advance()?;
            }
            olds.push(old);
        }
        // Per batch: its lock lines, each note's mod, and warnings by note index.
        type Batch = (String, Vec<i64>, Vec<(usize, Diagnostic)>);
        let batches = window
            .par_chunks(BATCH)
            .zip(olds.par_chunks(BATCH))
            .map(|(batch, olds)| {
                let mut text = String::new();
                let mut mods = Vec::with_capacity(batch.len());
                let mut found = Vec::new();
                for (&i, old) in batch.iter().zip(olds) {
                    let old = match old {
                        Some(range) => {
                            let (cols, _) = columns(&old_text[range.clone()]);
                            Some(NoteRecord::parse(&cols)?)
                        }
                        None => None,
                    };
                    let (modified, w) = reconcile_note(previous, old, &notes[i], now, &mut text);
                    mods.push(modified);
                    found.extend(w.into_iter().map(|w| (i, w)));
                }
                Ok((text, mods, found))
            })
            .collect::<std::result::Result<Vec<Batch>, String>>()
            .map_err(changed_while_read)?;
        for (batch, (text, mods, found)) in window.chunks(BATCH).zip(batches) {
            for (&i, modified) in batch.iter().zip(mods) {
                notes[i].note.modified = modified;
                out.timestamp = out.timestamp.max(modified);
            }
            lock.push(&text);
            warnings.extend(found);
        }
    }
    while let Some(line) = old_lines.current() {
        out.removed.push(removed(line).map_err(changed_while_read)?);
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

/// Sets one note's `modified`; returns its lock line and what Anki will not follow.
fn reconcile_note(
    previous: &Lock,
    old: Option<NoteRecord<'_>>,
    source: &SourceNote,
    now: i64,
    lock: &mut String,
) -> (i64, Vec<Diagnostic>) {
    let note = &source.note;
    let notetype_id = note.notetype_id.to_string();
    let hash = short_hash_of(
        [notetype_id.as_str(), "\u{1e}"]
            .into_iter()
            .chain(joined(&note.fields, "\u{1f}"))
            .chain(["\u{1e}"])
            .chain(joined(&note.tags, " ")),
    );
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
    let mut warnings = Vec::new();
    if let Some(r) = old {
        let place = |problem| warning(&source.file, source.line, problem);
        if !r.deck.eq_ignore_ascii_case(&note.deck)
            && r.deck.to_lowercase() != note.deck.to_lowercase()
        {
            let (from, to) = (r.deck.to_string(), note.deck.clone());
            warnings.push(place(Problem::MovedDeck {
                from,
                to,
                nid: r.nid,
            }));
        }
        if r.notetype_id != note.notetype_id {
            let name = |id: i64| {
                previous
                    .notetypes
                    .get(&id)
                    .map_or_else(|| id.to_string(), |t| t.name.clone())
            };
            let to = source.notetype.name.clone();
            warnings.push(place(Problem::NoteTypeChanged {
                from: name(r.notetype_id),
                to,
            }));
        } else if r.hash != hash {
            let new = parse_clozes(&clozes).unwrap_or_default();
            warnings.extend(cloze_changes(&r.clozes(), &new).into_iter().map(place));
        }
    }
    let label = unchanged.map_or_else(|| label(&note.fields[0]), |r| r.label.to_string());
    let nid = old.map_or_else(|| ids::note_id(&note.guid), |r| r.nid);
    let _ = writeln!(
        lock,
        "note\t{}\t{nid}\t{modified}\t{hash}\t{notetype_id}\t{}\t{clozes}\t{label}",
        note.guid, note.deck
    );
    (modified, warnings)
}

/// `items` with `separator` between them, as parts to hash.
fn joined<'a>(items: &'a [String], separator: &'a str) -> impl Iterator<Item = &'a str> {
    items
        .iter()
        .enumerate()
        .flat_map(move |(i, item)| [if i > 0 { separator } else { "" }, item.as_str()])
}

/// The lock's cloze column: `1:hash,2:hash`, or `-` for none.
fn cloze_column(clozes: &[(u16, String)]) -> String {
    if clozes.is_empty() {
        return "-".to_string();
    }
    clozes
        .iter()
        .map(|(k, h)| format!("{k}:{h}"))
        .collect::<Vec<_>>()
        .join(",")
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

/// The first field as plain text, short, on one line, without tabs.
fn label(first_field: &str) -> String {
    let plain = text::strip_html(first_field);
    let words: Vec<&str> = plain.split_whitespace().collect();
    words.join(" ").chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All of what [`Lock::text`] gives, if anything.
    fn text_of(lock: &Lock) -> Option<String> {
        let mut text = String::new();
        lock.text().unwrap()?.read_to_string(&mut text).unwrap();
        Some(text)
    }

    #[test]
    fn locks_read_from_text_and_files() {
        let mut notetypes = BTreeMap::new();
        notetypes.insert(
            5,
            NoteTypeRecord {
                modified: 9,
                content: "ab".into(),
                schema: "cd".into(),
                name: "Basic".into(),
            },
        );
        let (first, last) = (
            "note\tg#1\t1\t2\th\t5\tA::B 中\t1:x,3:y\tWhat is it?\n",
            "note\tz\t3\t4\th2\t5\tD\t-\tLast\n",
        );
        let head = format!("{HEADER}notetype\t5\t9\tab\tcd\tBasic\n");
        let sorted = format!("{head}{first}{last}");
        let unsorted = format!("{head}{last}{first}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let from_file = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Lock::read(&path)
        };
        for (lock, streamed, text) in [
            (Lock::parse(sorted.clone()).unwrap(), false, Some(&sorted)),
            (Lock::parse(unsorted.clone()).unwrap(), false, None),
            (from_file(&sorted).unwrap(), true, Some(&sorted)),
            (from_file(&unsorted).unwrap(), false, None),
            // Line ends a checkout may have changed read the same.
            (
                from_file(&sorted.replace('\n', "\r\n")).unwrap(),
                true,
                None,
            ),
            (
                Lock::parse(sorted.replace('\n', "\r\n")).unwrap(),
                false,
                Some(&sorted),
            ),
        ] {
            assert_eq!(lock.notetypes, notetypes);
            assert_eq!(lock.note_line_texts(), [first, last].map(|l| l.trim_end()));
            assert_eq!(matches!(lock.notes, NoteSource::File(_)), streamed);
            if !streamed {
                // Out of order, the new lock differs anyway: nothing to compare with.
                assert_eq!(text_of(&lock).as_ref(), text);
            }
        }
        let (cols, _) = columns(first.trim_end());
        let note = NoteRecord::parse(&cols).unwrap();
        assert_eq!(
            (note.nid, note.modified, note.hash, note.deck, note.label),
            (1, 2, "h", "A::B 中", "What is it?")
        );
        assert_eq!(note.clozes(), [(1, "x"), (3, "y")]);

        assert!(Lock::parse("version\t2\n".into()).is_err());
        assert_eq!(
            Lock::parse("version\t1\nnote\tx\n".into()).unwrap_err().0,
            2
        );
        let bad_cloze = "note\tg\t1\t2\th\t5\tD\t1x\tL\n";
        assert_eq!(Lock::parse(bad_cloze.into()).unwrap_err().0, 1);
        match from_file(&format!("{sorted}note\tx\n")) {
            Err(Error::Input(d)) => assert_eq!((d[0].line, d.len()), (7, 1)),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&path).unwrap();
        assert!(Lock::read(&path).unwrap().note_line_texts().is_empty());
    }

    #[test]
    fn the_writer_tells_whether_the_lock_changed() {
        let changed = |old: Option<&str>, pieces: &[&str]| {
            let old = old.map(|old| Box::new(old.as_bytes()) as Box<dyn BufRead + Send>);
            let mut writer = LockWriter::comparing(old);
            for piece in pieces {
                writer.push(piece);
            }
            writer.finish().unwrap().0
        };
        assert!(!changed(Some("ab\ncd\n"), &["ab\n", "cd\n"]));
        assert!(!changed(Some("ab\ncd\n"), &["a", "b\nc", "d\n"]));
        assert!(!changed(Some("ab\r\ncd\r\n"), &["ab\n", "cd\n"]), "CRLF");
        assert!(!changed(Some(""), &[]));
        assert!(changed(None, &[]), "nothing to compare with");
        assert!(changed(Some("ab\ncd\n"), &["ab\n"]), "shorter");
        assert!(changed(Some("ab\n"), &["ab\n", "cd\n"]), "longer");
        assert!(changed(Some("ab\ncd"), &["ab\ncd\n"]), "no line end");
        assert!(changed(Some("ab\ncd\n"), &["ab\n", "cx\n"]));
        assert!(changed(Some("ab\ncd\n"), &["x", "ab\ncd\n"]));
        assert!(
            changed(Some("中\n"), &["a", "中\n"]),
            "a piece ending inside a character"
        );
        // Staging writes the same text to a hidden file beside the lock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = LockWriter::staging(Some(Box::new(&b"old"[..])), &path).unwrap();
        writer.push("new ");
        writer.push("text");
        let (changed, staged) = writer.finish().unwrap();
        assert!(changed);
        assert!(!path.exists(), "staged, not in place");
        staged.unwrap().persist(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new text");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Reconciles, returning the new lock's text too.
    fn run(previous: &Lock, notes: &mut [SourceNote], now: i64) -> (Reconciled, String) {
        let mut writer = LockWriter::collecting(previous.text().unwrap());
        let out = reconcile(previous, notes, now, Path::new("lock"), &mut writer).unwrap();
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
            modified: 0,
        };
        SourceNote {
            note,
            notetype: Arc::new(notetype),
            ords: vec![0],
            file: Arc::from(Path::new("a.md")),
            line: 1,
        }
    }

    #[test]
    fn mods_rise_exactly_when_content_changes() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic.clone(), &["q", "a"])];
        let (first, first_text) = run(&Lock::default(), &mut notes, 100);
        let first_lock = Lock::parse(first_text.clone()).unwrap();
        assert_eq!(
            (
                notes[0].note.modified,
                notes[0].notetype.modified,
                first.timestamp
            ),
            (100, 100, 100)
        );

        // Unchanged: the recorded mods, even at a later time.
        let mut same = vec![source_note(basic.clone(), &["q", "a"])];
        let (again, again_text) = run(&first_lock, &mut same, 500);
        assert_eq!((same[0].note.modified, again.timestamp), (100, 100));
        assert_eq!(again_text, first_text);

        // An edited field: the build time, or one past the old mod if the clock is behind.
        let mut edited = vec![source_note(basic.clone(), &["q", "b"])];
        run(&first_lock, &mut edited, 50);
        assert_eq!(edited[0].note.modified, 101);

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
            warned.warnings[..],
            [Diagnostic {
                problem: Problem::NoteTypeSchemaChanged(_),
                ..
            }]
        ));
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
    fn a_lock_changed_while_read_is_an_error() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic, &["q", "a"])];
        let (_, text) = run(&Lock::default(), &mut notes, 100);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &text).unwrap();
        let lock = Lock::read(&path).unwrap();
        // Another program rewrites it between reading and reconciling.
        std::fs::write(
            &path,
            text.replace("\tq\n", "\tq\textra\n")
                .replace("\t100\t", "\tx\t"),
        )
        .unwrap();
        let mut writer = LockWriter::comparing(lock.text().unwrap());
        match reconcile(&lock, &mut notes, 200, &path, &mut writer) {
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
}
