//! Reading and writing a lock too large to hold: the old lock is read a line at a time,
//! and the new one is compared with it and staged beside it as it is written.

use super::bad_lock;
use super::format::{Header, Line, NoteRecord, NoteTypeRecord};
use crate::error::{Error, Result};
use crate::ids::LegacyGuids;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A lock as read: its note types, and where to read its note lines in guid order.
/// A lock file in guid order (as builds write it) is read again as it is needed, a
/// line at a time, rather than held: for 100,000 notes it is some 18 MB.
#[derive(Debug, Default)]
pub struct Lock {
    header: Header,
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
        let (mut header, mut notetypes) = (Header::default(), BTreeMap::new());
        while next_line(&mut reader, &mut line).map_err(|e| Error::io(path, e))? {
            number += 1;
            match header.line(&line).map_err(|message| bad(number, message))? {
                Line::Other => {}
                Line::NoteType(record) => {
                    notetypes.insert(record.id, record);
                }
                Line::Note => {
                    let record = NoteRecord::parse(&line, &header);
                    let guid = record.map_err(|message| bad(number, message))?.guid;
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
            header,
            notetypes,
            notes: NoteSource::File(path.to_path_buf()),
        })
    }

    /// Checks every line of a lock's text and indexes its notes; an error is the line
    /// number and what is wrong with it.
    pub fn parse(text: String) -> std::result::Result<Lock, (usize, String)> {
        // A checkout may have turned the line ends into CRLF.
        let text = if text.contains('\r') {
            text.replace("\r\n", "\n")
        } else {
            text
        };
        let (mut header, mut notetypes) = (Header::default(), BTreeMap::new());
        let mut index = Vec::new();
        let mut start = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let line_start = start;
            start += line.len();
            let line = line.trim_end_matches('\n');
            let bad = |message| (number + 1, message);
            match header.line(line).map_err(bad)? {
                Line::Other => {}
                Line::NoteType(record) => {
                    notetypes.insert(record.id, record);
                }
                Line::Note => {
                    NoteRecord::parse(line, &header).map_err(bad)?;
                    index.push(line_start..line_start + line.len());
                }
            }
        }
        let guid = |line: &Range<usize>| header.note_line_guid(&text[line.clone()]);
        index.sort_by(|a, b| guid(a).cmp(guid(b)));
        Ok(Lock {
            header,
            notetypes,
            notes: NoteSource::Text { text, index },
        })
    }

    /// The lock's version and aliases, to read its note lines with.
    pub(super) fn header(&self) -> &Header {
        &self.header
    }

    /// What the lock remembers of note type `id`.
    pub(super) fn notetype(&self, id: i64) -> Option<&NoteTypeRecord> {
        self.notetypes.get(&id)
    }

    /// The lock's text, from the start, to compare the new one with; `None` when the
    /// new lock differs anyway (this one is out of guid order).
    pub(super) fn text(&self) -> Result<Option<Box<dyn BufRead + Send + '_>>> {
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
    pub(super) fn note_lines(&self) -> Result<NoteLines<'_>> {
        Ok(match &self.notes {
            NoteSource::None => NoteLines::Held(&[], ""),
            NoteSource::File(path) => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                let mut lines = NoteLines::File {
                    path,
                    header: &self.header,
                    reader: BufReader::new(file),
                    line: Some(String::new()),
                };
                lines.advance()?;
                lines
            }
            NoteSource::Text { text, index } => NoteLines::Held(index, text),
        })
    }
}

/// The guids the lock at `path` knows notes by under the legacy rule (none if there is
/// no lock), read before the sources so that those notes keep them.
pub(crate) fn legacy_guids(path: &Path) -> Result<LegacyGuids> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LegacyGuids::default()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut reader = BufReader::new(file);
    let (mut line, mut number, mut header) = (String::new(), 0, Header::default());
    let mut guids = Vec::new();
    while next_line(&mut reader, &mut line).map_err(|e| Error::io(path, e))? {
        number += 1;
        let bad = |message| bad_lock(path, number, message);
        if let Line::Note = header.line(&line).map_err(bad)? {
            // Most lines say at once that they have no legacy guid; the lock's reader,
            // which runs alongside the sources, checks them whole.
            if NoteRecord::lacks_legacy(&line, &header) {
                continue;
            }
            let record = NoteRecord::parse(&line, &header).map_err(bad)?;
            // Version 1 did not say which notes had legacy guids: each guid counts.
            if header.version == 1 || record.legacy.is_some() {
                guids.push(LegacyGuids::key(record.guid, record.legacy));
            }
        }
    }
    Ok(LegacyGuids::new(header.version == 1, guids))
}

/// A lock's note lines, read forward in guid order: one line at a time.
pub(super) enum NoteLines<'a> {
    File {
        path: &'a Path,
        header: &'a Header,
        reader: BufReader<File>,
        /// The current line; `None` at the end.
        line: Option<String>,
    },
    Held(&'a [Range<usize>], &'a str),
}

impl NoteLines<'_> {
    /// The current note line, or `None` at the end.
    pub fn current(&self) -> Option<&str> {
        match self {
            NoteLines::File { line, .. } => line.as_deref(),
            NoteLines::Held(index, text) => index.first().map(|line| &text[line.clone()]),
        }
    }

    /// Moves on to the next note line.
    pub fn advance(&mut self) -> Result<()> {
        match self {
            NoteLines::File {
                path,
                header,
                reader,
                line,
            } => {
                while let Some(text) = line {
                    if !next_line(reader, text).map_err(|e| Error::io(*path, e))? {
                        *line = None;
                    } else if header.is_note_line(text) {
                        break;
                    }
                }
            }
            NoteLines::Held(index, _) => *index = index.get(1..).unwrap_or_default(),
        }
        Ok(())
    }
}

/// Takes the new lock's text piece by piece, in order, so that it is never held whole:
/// tells whether it differs from the old lock (read alongside, also a piece at a time)
/// and, when staging, writes it to a hidden file beside the lock (which card reading
/// skips).
pub(super) struct LockWriter<'a> {
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

/// A hidden file beside the lock at `path`, to stage the new lock in. It gets the
/// existing lock's permissions, or for a new lock those of any new file (the umask's
/// default), not the private mode of a temporary file.
pub(super) fn stage_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = crate::temp::staged_lock_in(dir)?;
    if let Ok(existing) = std::fs::metadata(path) {
        file.as_file()
            .set_permissions(existing.permissions())
            .map_err(|e| Error::io(file.path(), e))?;
    }
    Ok(file)
}

impl<'a> LockWriter<'a> {
    /// Compares with `old` (see [`Lock::text`]) and, given a `stage` file (see
    /// [`stage_beside`]), writes the text to it for [`StagedLock::persist`].
    pub fn new(
        old: Option<Box<dyn BufRead + Send + 'a>>,
        stage: Option<(tempfile::NamedTempFile, &Path)>,
    ) -> LockWriter<'a> {
        LockWriter {
            old: old.map(|reader| OldText {
                reader,
                pending: String::new(),
            }),
            sink: match stage {
                Some((file, path)) => Sink::File(std::io::BufWriter::new(file), path.to_path_buf()),
                None => Sink::Nowhere,
            },
        }
    }

    /// Writes the next piece of the new lock.
    pub fn push(&mut self, piece: &str) {
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
    pub fn collecting(old: Option<Box<dyn BufRead + Send + 'a>>) -> LockWriter<'a> {
        let mut writer = LockWriter::new(old, None);
        writer.sink = Sink::Text(String::new());
        writer
    }

    /// The text collected, for tests.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        match &self.sink {
            Sink::Text(text) => text,
            _ => unreachable!("only collecting writers have text"),
        }
    }
}

/// A lock written beside the one it replaces; removed if dropped before
/// [`StagedLock::persist`].
pub(super) struct StagedLock(tempfile::NamedTempFile);

impl StagedLock {
    /// Replaces the lock at `path` with this one, atomically.
    pub fn persist(self, path: &Path) -> Result<()> {
        self.0.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::FILE_NAME;
    use super::*;
    use std::io::Read as _;

    /// All of what [`Lock::text`] gives, if anything.
    fn text_of(lock: &Lock) -> Option<String> {
        let mut text = String::new();
        lock.text().unwrap()?.read_to_string(&mut text).unwrap();
        Some(text)
    }

    /// The note lines, in guid order.
    fn note_line_texts(lock: &Lock) -> Vec<String> {
        let mut lines = lock.note_lines().unwrap();
        let mut texts = Vec::new();
        while let Some(line) = lines.current() {
            texts.push(line.to_string());
            lines.advance().unwrap();
        }
        texts
    }

    #[test]
    fn locks_read_from_text_and_files() {
        let record = NoteTypeRecord {
            id: 5,
            modified: 9,
            content: "ab".into(),
            schema: "cd".into(),
            name: "Basic".into(),
        };
        let notetypes = BTreeMap::from([(5, record)]);
        let (first, last) = (
            "note\tg#1\t1\t2\th\t5\tA::B 中\t1:x,3:y\tWhat is it?\n",
            "note\tz\t3\t4\th2\t5\tD\t-\tLast\n",
        );
        // A version 1 lock, as builds wrote them before.
        let head = "# a comment\nversion\t1\nnotetype\t5\t9\tab\tcd\tBasic\n";
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
            assert_eq!(note_line_texts(&lock), [first, last].map(|l| l.trim_end()));
            assert_eq!(matches!(lock.notes, NoteSource::File(_)), streamed);
            if !streamed {
                // Out of order, the new lock differs anyway: nothing to compare with.
                assert_eq!(text_of(&lock).as_ref(), text);
            }
        }

        assert!(Lock::parse("version\t3\n".into()).is_err());
        assert_eq!(
            Lock::parse("version\t1\nnote\tx\n".into()).unwrap_err().0,
            2
        );
        let bad_cloze = "version\t1\nnote\tg\t1\t2\th\t5\tD\t1x\tL\n";
        assert_eq!(Lock::parse(bad_cloze.into()).unwrap_err().0, 2);
        match from_file(&format!("{sorted}note\tx\n")) {
            Err(Error::Input(d)) => assert_eq!((d[0].line, d.len()), (6, 1)),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&path).unwrap();
        assert!(note_line_texts(&Lock::read(&path).unwrap()).is_empty());
    }

    #[test]
    fn the_writer_tells_whether_the_lock_changed() {
        let changed = |old: Option<&str>, pieces: &[&str]| {
            let old = old.map(|old| Box::new(old.as_bytes()) as Box<dyn BufRead + Send>);
            let mut writer = LockWriter::new(old, None);
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
        let stage = stage_beside(&path).unwrap();
        let mut writer = LockWriter::new(Some(Box::new(&b"old"[..])), Some((stage, &path)));
        writer.push("new ");
        writer.push("text");
        let (changed, staged) = writer.finish().unwrap();
        assert!(changed);
        assert!(!path.exists(), "staged, not in place");
        staged.unwrap().persist(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new text");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The lock keeps the existing file's permissions; a new one gets the umask's
    /// default, not a temporary file's private 0600.
    #[cfg(unix)]
    #[test]
    fn the_staged_lock_keeps_the_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let mode_after = |existing: Option<u32>| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            if let Some(mode) = existing {
                std::fs::write(&path, "old").unwrap();
                let permissions = std::fs::Permissions::from_mode(mode);
                std::fs::set_permissions(&path, permissions).unwrap();
            }
            let staged = LockWriter::new(None, Some((stage_beside(&path).unwrap(), &path)));
            staged.finish().unwrap().1.unwrap().persist(&path).unwrap();
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777
        };
        assert_eq!(mode_after(Some(0o644)), 0o644);
        assert_eq!(mode_after(Some(0o664)), 0o664);
        assert_eq!(mode_after(Some(0o600)), 0o600);
        // A new lock: what the umask leaves of 0666, like any file the user creates.
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("probe");
        std::fs::File::create(&probe).unwrap();
        let default = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode_after(None), default);
        assert_ne!(
            default, 0o600,
            "this test needs a umask that leaves more than 0600"
        );
    }
}
