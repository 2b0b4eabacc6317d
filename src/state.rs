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
use crate::ids::short_hash;
use crate::notetype::{Kind, NoteType};
use crate::source::SourceNote;
use crate::{ids, template, text};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The lock's file name, in the root of the source folder.
pub const FILE_NAME: &str = "ankideck.lock";

const HEADER: &str =
    "# ankideck.lock: what the last build put into its package, so that the next build can tell
# Anki exactly which notes changed. Commit it with your cards; do not edit it by hand.
";

/// What the lock remembers of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub nid: i64,
    pub modified: i64,
    /// Hash of note type, fields and tags.
    pub hash: String,
    pub notetype_id: i64,
    pub deck: String,
    /// For cloze notes: each cloze number with a hash of its deletions' text.
    pub clozes: Vec<(u16, String)>,
    /// The start of the first field, to name the note if it disappears.
    pub label: String,
}

/// What the lock remembers of a note type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteTypeRecord {
    pub modified: i64,
    pub content: String,
    pub schema: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pub notetypes: BTreeMap<i64, NoteTypeRecord>,
    /// By guid.
    pub notes: BTreeMap<String, NoteRecord>,
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
    pub lock: Lock,
    pub warnings: Vec<Diagnostic>,
    pub removed: Vec<RemovedNote>,
    /// The newest `mod` of anything in the package: the package's own timestamp.
    pub timestamp: i64,
}

impl Lock {
    /// Reads the lock at `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Lock> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(&text).map_err(|(line, message)| {
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

    pub fn parse(text: &str) -> std::result::Result<Lock, (usize, String)> {
        let mut lock = Lock::default();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let int = |i: usize| -> std::result::Result<i64, (usize, String)> {
                cols.get(i)
                    .and_then(|c| c.parse().ok())
                    .ok_or((number, format!("column {} is not a number", i + 1)))
            };
            match (cols[0], cols.len()) {
                ("version", 2) if cols[1] == "1" => {}
                ("version", _) => {
                    return Err((number, format!("unknown version `{}`", cols[1..].join(" "))))
                }
                ("notetype", 6) => {
                    let record = NoteTypeRecord {
                        modified: int(2)?,
                        content: cols[3].to_string(),
                        schema: cols[4].to_string(),
                        name: cols[5].to_string(),
                    };
                    lock.notetypes.insert(int(1)?, record);
                }
                ("note", 9) => {
                    let clozes =
                        parse_clozes(cols[7]).ok_or((number, "bad cloze list".to_string()))?;
                    let record = NoteRecord {
                        nid: int(2)?,
                        modified: int(3)?,
                        hash: cols[4].to_string(),
                        notetype_id: int(5)?,
                        deck: cols[6].to_string(),
                        clozes,
                        label: cols[8].to_string(),
                    };
                    lock.notes.insert(cols[1].to_string(), record);
                }
                _ => return Err((number, "unrecognised line".to_string())),
            }
        }
        Ok(lock)
    }

    /// The file's text: one line a note, sorted by guid, so that diffs stay small.
    pub fn to_text(&self) -> String {
        let mut out = String::from(HEADER);
        out.push_str("version\t1\n");
        for (id, t) in &self.notetypes {
            let _ = writeln!(
                out,
                "notetype\t{id}\t{}\t{}\t{}\t{}",
                t.modified, t.content, t.schema, t.name
            );
        }
        for (guid, n) in &self.notes {
            let clozes = if n.clozes.is_empty() {
                "-".to_string()
            } else {
                n.clozes
                    .iter()
                    .map(|(k, h)| format!("{k}:{h}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let _ = writeln!(
                out,
                "note\t{guid}\t{}\t{}\t{}\t{}\t{}\t{clozes}\t{}",
                n.nid, n.modified, n.hash, n.notetype_id, n.deck, n.label
            );
        }
        out
    }

    /// Writes the lock atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        std::io::Write::write_all(&mut file, self.to_text().as_bytes())
            .map_err(|e| Error::io(path, e))?;
        file.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

fn parse_clozes(col: &str) -> Option<Vec<(u16, String)>> {
    if col == "-" {
        return Some(Vec::new());
    }
    col.split(',')
        .map(|pair| {
            let (n, h) = pair.split_once(':')?;
            Some((n.parse().ok()?, h.to_string()))
        })
        .collect()
}

/// Sets every note's and note type's `modified` from `previous` and `now`, and says what
/// Anki will not follow. `lock_path` names the lock in warnings about note types.
pub fn reconcile(
    previous: &Lock,
    notes: &mut [SourceNote],
    now: i64,
    lock_path: &Path,
) -> Reconciled {
    let mut out = Reconciled {
        timestamp: i64::MIN,
        ..Reconciled::default()
    };
    let next_mod = |old: i64| now.max(old + 1);

    // Note types first: notes share them, so each is updated once and shared again.
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
                next_mod(r.modified)
            }
            None => now,
        };
        out.lock.notetypes.insert(
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

    for source in notes.iter_mut() {
        let note = &mut source.note;
        let hash = short_hash(&format!(
            "{}\u{1e}{}\u{1e}{}",
            note.notetype_id,
            note.fields.join("\u{1f}"),
            note.tags.join(" ")
        ));
        let old = previous.notes.get(&note.guid);
        // An unchanged note keeps what the lock knows of it; only changes are worked out.
        let unchanged = old.filter(|r| r.hash == hash);
        let clozes = match unchanged {
            Some(r) => r.clozes.clone(),
            None if source.notetype.kind == Kind::Cloze => cloze_hashes(&note.fields),
            None => Vec::new(),
        };
        note.modified = match old {
            Some(r) if r.hash == hash => r.modified,
            Some(r) => next_mod(r.modified),
            None => now,
        };
        if let Some(r) = old {
            let place = |problem| warning(&source.file, source.line, problem);
            if !r.deck.eq_ignore_ascii_case(&note.deck)
                && r.deck.to_lowercase() != note.deck.to_lowercase()
            {
                let (from, to) = (r.deck.clone(), note.deck.clone());
                out.warnings.push(place(Problem::MovedDeck {
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
                out.warnings.push(place(Problem::NoteTypeChanged {
                    from: name(r.notetype_id),
                    to,
                }));
            } else if r.hash != hash {
                out.warnings
                    .extend(cloze_changes(&r.clozes, &clozes).into_iter().map(place));
            }
        }
        out.timestamp = out.timestamp.max(note.modified);
        let label = unchanged.map_or_else(|| label(&note.fields[0]), |r| r.label.clone());
        let nid = old.map_or_else(|| ids::note_id(&note.guid), |r| r.nid);
        let record = NoteRecord {
            nid,
            modified: note.modified,
            hash,
            notetype_id: note.notetype_id,
            deck: note.deck.clone(),
            clozes,
            label,
        };
        out.lock.notes.insert(note.guid.clone(), record);
    }

    out.removed = previous
        .notes
        .iter()
        .filter(|(guid, _)| !out.lock.notes.contains_key(*guid))
        .map(|(guid, r)| RemovedNote {
            guid: guid.clone(),
            nid: r.nid,
            label: r.label.clone(),
        })
        .collect();
    if out.timestamp == i64::MIN {
        out.timestamp = now;
    }
    out
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
fn cloze_changes(old: &[(u16, String)], new: &[(u16, String)]) -> Vec<Problem> {
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
        let mut lock = Lock::default();
        lock.notetypes.insert(
            5,
            NoteTypeRecord {
                modified: 9,
                content: "ab".into(),
                schema: "cd".into(),
                name: "Basic".into(),
            },
        );
        lock.notes.insert(
            "g#1".into(),
            NoteRecord {
                nid: 1,
                modified: 2,
                hash: "h".into(),
                notetype_id: 5,
                deck: "A::B 中".into(),
                clozes: vec![(1, "x".into()), (3, "y".into())],
                label: "What is it?".into(),
            },
        );
        let text = lock.to_text();
        assert_eq!(Lock::parse(&text).unwrap(), lock);
        assert!(Lock::parse("version\t2\n").is_err());
        assert_eq!(Lock::parse("version\t1\nnote\tx\n").unwrap_err().0, 2);
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
            file: Arc::from(Path::new("a.md")),
            line: 1,
        }
    }

    #[test]
    fn mods_rise_exactly_when_content_changes() {
        let basic = crate::Stock::Basic.notetype();
        let mut notes = vec![source_note(basic.clone(), &["q", "a"])];
        let first = reconcile(&Lock::default(), &mut notes, 100, Path::new("lock"));
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
        let again = reconcile(&first.lock, &mut same, 500, Path::new("lock"));
        assert_eq!((same[0].note.modified, again.timestamp), (100, 100));
        assert_eq!(again.lock, first.lock);

        // An edited field: the build time, or one past the old mod if the clock is behind.
        let mut edited = vec![source_note(basic.clone(), &["q", "b"])];
        reconcile(&first.lock, &mut edited, 50, Path::new("lock"));
        assert_eq!(edited[0].note.modified, 101);

        // Note type: new CSS updates it; a renamed field also warns.
        let mut styled = basic.clone();
        styled.css.push_str(".x {}");
        let mut notes = vec![source_note(styled, &["q", "a"])];
        let restyled = reconcile(&first.lock, &mut notes, 300, Path::new("lock"));
        assert_eq!(notes[0].notetype.modified, 300);
        assert!(restyled.warnings.is_empty());
        // A rename that keeps the field's id is what Anki updates in place: no warning.
        let mut renamed = basic.clone();
        renamed.fields[1].name = "Answer".into();
        let mut notes = vec![source_note(renamed, &["q", "a"])];
        let quiet = reconcile(&first.lock, &mut notes, 300, Path::new("lock"));
        assert!(quiet.warnings.is_empty());
        assert_eq!(
            notes[0].notetype.modified, 300,
            "but the new name reaches Anki"
        );
        // A field with a new id is a new schema.
        let mut reshaped = basic;
        reshaped.fields[1].id += 1;
        let mut notes = vec![source_note(reshaped, &["q", "a"])];
        let warned = reconcile(&first.lock, &mut notes, 300, Path::new("lock"));
        assert!(matches!(
            warned.warnings[..],
            [Diagnostic {
                problem: Problem::NoteTypeSchemaChanged(_),
                ..
            }]
        ));
    }

    #[test]
    fn cloze_changes_are_named() {
        let old = vec![
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string()),
        ];
        let new = vec![(1, "b".to_string()), (2, "a".to_string())];
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
        assert!(cloze_changes(&old[..1], &[(1, "z".to_string())]).is_empty());
    }
}
