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
use crate::notetype::{Kind, NoteType};
use crate::source::SourceNote;
use crate::{ids, template, text};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
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

/// A lock as read: its text, and the note lines in it by guid. The notes stay text
/// until looked up: a lock of 100,000 notes then costs little more memory than its file.
#[derive(Debug, Default)]
pub struct Lock {
    text: String,
    notetypes: BTreeMap<i64, NoteTypeRecord>,
    /// The note lines in `text`, sorted by guid.
    notes: Vec<LineIndex>,
}

/// How a note line starts; its guid follows.
const NOTE_PREFIX: &str = "note\t";

/// Where a note line is in a lock's text: `start..end`, its guid ending at `guid_end`.
#[derive(Debug, Clone, Copy)]
struct LineIndex {
    start: usize,
    guid_end: usize,
    end: usize,
}

impl LineIndex {
    fn guid<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start + NOTE_PREFIX.len()..self.guid_end]
    }
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
    /// Reads the lock at `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Lock> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(text).map_err(|(line, message)| {
                Error::Input(vec![Diagnostic::new(
                    path.to_path_buf(),
                    line,
                    Problem::BadLock(message),
                )])
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            Err(e) => Err(Error::io(path, e)),
        }
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
        let mut notes = Vec::new();
        let mut start = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let line_start = start;
            start += line.len();
            let line = line.trim_end_matches('\n');
            let number = index + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (cols, count) = columns(line);
            let cols = &cols[..count.min(cols.len())];
            match (cols[0], count) {
                ("version", 2) if cols[1] == "1" => {}
                ("version", _) => {
                    return Err((number, format!("unknown version `{}`", cols[1..].join(" "))))
                }
                ("notetype", 6) => {
                    let int = |i: usize| {
                        cols[i]
                            .parse::<i64>()
                            .map_err(|_| (number, format!("column {} is not a number", i + 1)))
                    };
                    let record = NoteTypeRecord {
                        modified: int(2)?,
                        content: cols[3].to_string(),
                        schema: cols[4].to_string(),
                        name: cols[5].to_string(),
                    };
                    notetypes.insert(int(1)?, record);
                }
                ("note", 9) => {
                    NoteRecord::parse(cols).map_err(|message| (number, message))?;
                    notes.push(LineIndex {
                        start: line_start,
                        guid_end: line_start + NOTE_PREFIX.len() + cols[1].len(),
                        end: line_start + line.len(),
                    });
                }
                _ => return Err((number, "unrecognised line".to_string())),
            }
        }
        notes.sort_by(|a, b| a.guid(&text).cmp(b.guid(&text)));
        Ok(Lock {
            text,
            notetypes,
            notes,
        })
    }

    /// The lock's text as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the lock says of the note with `guid`.
    pub fn note(&self, guid: &str) -> Option<NoteRecord<'_>> {
        let index = self
            .notes
            .binary_search_by(|i| i.guid(&self.text).cmp(guid))
            .ok()?;
        self.record(self.notes[index])
    }

    /// Every note of the lock, by guid.
    pub fn notes(&self) -> impl Iterator<Item = NoteRecord<'_>> {
        self.notes.iter().filter_map(|&index| self.record(index))
    }

    fn record(&self, index: LineIndex) -> Option<NoteRecord<'_>> {
        let (cols, _) = columns(&self.text[index.start..index.end]);
        NoteRecord::parse(&cols).ok()
    }
}

/// Takes the new lock's text piece by piece, in order, so that it is never held whole:
/// tells whether it differs from the old lock and, when staging, writes it to a hidden
/// file beside the lock (which card reading skips).
pub struct LockWriter<'a> {
    /// What is left of the old lock's text to compare with.
    old: &'a str,
    same: bool,
    sink: Sink,
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
    /// Only compares with `old`.
    pub fn comparing(old: &'a str) -> LockWriter<'a> {
        LockWriter {
            old,
            same: true,
            sink: Sink::Nowhere,
        }
    }

    /// Compares with `old` and stages the text beside `path` for [`StagedLock::persist`].
    pub fn staging(old: &'a str, path: &Path) -> Result<LockWriter<'a>> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let file = tempfile::Builder::new()
            .prefix(".ankideck.lock.")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let sink = Sink::File(std::io::BufWriter::new(file), path.to_path_buf());
        Ok(LockWriter {
            old,
            same: true,
            sink,
        })
    }

    fn push(&mut self, piece: &str) {
        match self.old.strip_prefix(piece) {
            Some(rest) if self.same => self.old = rest,
            _ => self.same = false,
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
        let changed = !(self.same && self.old.is_empty());
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
    fn collecting(old: &'a str) -> LockWriter<'a> {
        LockWriter {
            old,
            same: true,
            sink: Sink::Text(String::new()),
        }
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
) -> Reconciled {
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
    // lines are held.
    const BATCH: usize = 1024;
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_unstable_by(|&a, &b| notes[a].note.guid.cmp(&notes[b].note.guid));
    let mut warnings = Vec::new();
    for window in order.chunks(BATCH * 16) {
        // Per batch: its lock lines, each note's mod, and warnings by note index.
        type Batch = (String, Vec<i64>, Vec<(usize, Diagnostic)>);
        let batches: Vec<Batch> = window
            .par_chunks(BATCH)
            .map(|batch| {
                let mut text = String::new();
                let mut mods = Vec::with_capacity(batch.len());
                let mut found = Vec::new();
                for &i in batch {
                    let (modified, w) = reconcile_note(previous, &notes[i], now, &mut text);
                    mods.push(modified);
                    found.extend(w.into_iter().map(|w| (i, w)));
                }
                (text, mods, found)
            })
            .collect();
        for (batch, (text, mods, found)) in window.chunks(BATCH).zip(batches) {
            for (&i, modified) in batch.iter().zip(mods) {
                notes[i].note.modified = modified;
                out.timestamp = out.timestamp.max(modified);
            }
            lock.push(&text);
            warnings.extend(found);
        }
    }
    // Warnings in the order of the sources.
    warnings.sort_by_key(|(i, _)| *i);
    out.warnings.extend(warnings.into_iter().map(|(_, w)| w));

    // Both sides are in guid order.
    let mut current = order
        .iter()
        .map(|&i| notes[i].note.guid.as_str())
        .peekable();
    for r in previous.notes() {
        while current.next_if(|guid| *guid < r.guid).is_some() {}
        if current.peek() != Some(&r.guid) {
            out.removed.push(RemovedNote {
                guid: r.guid.to_string(),
                nid: r.nid,
                label: r.label.to_string(),
            });
        }
    }
    if out.timestamp == i64::MIN {
        out.timestamp = now;
    }
    out
}

/// Sets one note's `modified`; returns its lock line and what Anki will not follow.
fn reconcile_note(
    previous: &Lock,
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
    let old = previous.note(&note.guid);
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
        for (n, text) in template::cloze_texts(field) {
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

    #[test]
    fn lock_text_round_trips() {
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
        // Lines out of guid order read as well.
        let lines = [
            "note\tz\t3\t4\th2\t5\tD\t-\tLast\n",
            "note\tg#1\t1\t2\th\t5\tA::B 中\t1:x,3:y\tWhat is it?\n",
        ];
        let text = format!("{HEADER}notetype\t5\t9\tab\tcd\tBasic\n{}", lines.concat());
        let lock = Lock::parse(text.clone()).unwrap();
        assert_eq!(lock.text(), text);
        assert_eq!(lock.notetypes, notetypes);
        let note = lock.note("g#1").unwrap();
        assert_eq!(
            (note.nid, note.modified, note.hash, note.deck, note.label),
            (1, 2, "h", "A::B 中", "What is it?")
        );
        assert_eq!(note.clozes(), [(1, "x"), (3, "y")]);
        assert!(lock.note("g#2").is_none());
        let guids: Vec<&str> = lock.notes().map(|n| n.guid).collect();
        assert_eq!(guids, ["g#1", "z"], "sorted by guid");
        // Line ends a checkout may have changed read the same.
        let crlf = Lock::parse(text.replace('\n', "\r\n")).unwrap();
        assert_eq!(crlf.text(), text);
        assert!(Lock::parse("version\t2\n".into()).is_err());
        assert_eq!(
            Lock::parse("version\t1\nnote\tx\n".into()).unwrap_err().0,
            2
        );
        let bad_cloze = "note\tg\t1\t2\th\t5\tD\t1x\tL\n";
        assert_eq!(Lock::parse(bad_cloze.into()).unwrap_err().0, 1);
    }

    #[test]
    fn the_writer_tells_whether_the_lock_changed() {
        let changed = |old: &str, pieces: &[&str]| {
            let mut writer = LockWriter::comparing(old);
            for piece in pieces {
                writer.push(piece);
            }
            writer.finish().unwrap().0
        };
        assert!(!changed("ab\ncd\n", &["ab\n", "cd\n"]));
        assert!(!changed("", &[]));
        assert!(changed("ab\ncd\n", &["ab\n"]), "shorter");
        assert!(changed("ab\n", &["ab\n", "cd\n"]), "longer");
        assert!(changed("ab\ncd\n", &["ab\n", "cx\n"]));
        assert!(changed("ab\ncd\n", &["x", "ab\ncd\n"]));
        // Staging writes the same text to a hidden file beside the lock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = LockWriter::staging("old", &path).unwrap();
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
        let mut writer = LockWriter::collecting(previous.text());
        let out = reconcile(previous, notes, now, Path::new("lock"), &mut writer);
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
        let lock = Lock::parse(text).unwrap();
        let mut after = notes_with(&["f", "c", "b"]);
        let (second, _) = run(&lock, &mut after, 200);
        let removed: Vec<(&str, &str)> = second
            .removed
            .iter()
            .map(|r| (r.guid.as_str(), r.label.as_str()))
            .collect();
        assert_eq!(removed, [("a", "a"), ("e", "e"), ("g", "g")]);
        assert_eq!(second.removed[0].nid, ids::note_id("a"));
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
