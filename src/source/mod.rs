//! Reading a folder of card sources into notes and media.

pub mod markdown;
pub mod parse;

use crate::error::{Diagnostic, Error, Problem, Result};
use crate::note::{check_tag, merge_tags, normalize_deck_name, Note};
use crate::notetype::{Kind, NoteType, Stock};
use crate::package::{media_name, MediaSource, Package};
use crate::{ids, template};
use parse::{RawNote, SETTINGS};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File extensions read as Markdown card files.
const MARKDOWN_EXTENSIONS: &[&str] = &["md", "markdown"];

/// A note read from the sources, with where it was written.
#[derive(Debug, Clone)]
pub struct SourceNote {
    pub note: Note,
    /// Shared by every note of the type.
    pub notetype: Arc<NoteType>,
    pub file: PathBuf,
    pub line: usize,
}

/// Everything read from a source folder.
#[derive(Debug, Default)]
pub struct Sources {
    pub notes: Vec<SourceNote>,
    /// (packaged name, file on disk), each distinct file once.
    pub media: Vec<(String, PathBuf)>,
    /// Files read, for the summary.
    pub files: usize,
}

impl Sources {
    /// Reads every Markdown file below `root`. All problems are collected and returned
    /// together as [`Error::Input`]; nothing is returned half-read.
    pub fn read(root: &Path, modified: i64) -> Result<Sources> {
        let mut reader = Reader::new(root, modified)?;
        for file in markdown_files(root, &mut reader.diagnostics) {
            reader.read_file(&file);
        }
        reader.finish()
    }

    /// Puts the notes and media into a package.
    pub fn into_package(self, timestamp: i64) -> Result<Package> {
        let mut package = Package::new(timestamp);
        let mut diagnostics = Vec::new();
        for source in self.notes {
            if let Err(e) = package.add_note(source.note, &source.notetype) {
                let problem = match e {
                    Error::Note { problem, .. } => problem,
                    other => return Err(other),
                };
                diagnostics.push(Diagnostic {
                    file: source.file,
                    line: source.line,
                    problem,
                });
            }
        }
        if !diagnostics.is_empty() {
            return Err(Error::Input(diagnostics));
        }
        for (name, path) in self.media {
            package.add_media(&name, MediaSource::File(path))?;
        }
        Ok(package)
    }
}

fn markdown_files(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    let mut files = Vec::new();
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let ext = e.path().extension().and_then(|x| x.to_str()).unwrap_or("");
                if MARKDOWN_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
                    files.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => diagnostics.push(Diagnostic {
                file: e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
                line: 0,
                problem: Problem::Unreadable(e.to_string()),
            }),
        }
    }
    files
}

struct Reader<'a> {
    root: &'a Path,
    canonical_root: PathBuf,
    modified: i64,
    notes: Vec<SourceNote>,
    diagnostics: Vec<Diagnostic>,
    media: MediaIndex,
    files: usize,
    /// guid → where the note with that guid was written.
    seen: HashMap<String, (PathBuf, usize)>,
    /// The stock note types made so far, one of each.
    stock: Vec<(Stock, Arc<NoteType>)>,
}

#[derive(Default)]
struct MediaIndex {
    by_path: HashMap<PathBuf, String>,
    by_hash: HashMap<String, String>,
    files: Vec<(String, PathBuf)>,
}

impl<'a> Reader<'a> {
    fn new(root: &'a Path, modified: i64) -> Result<Reader<'a>> {
        let canonical_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
        if !canonical_root.is_dir() {
            return Err(Error::io(
                root,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
            ));
        }
        Ok(Reader {
            root,
            canonical_root,
            modified,
            notes: Vec::new(),
            diagnostics: Vec::new(),
            media: MediaIndex::default(),
            files: 0,
            seen: HashMap::new(),
            stock: Vec::new(),
        })
    }

    fn finish(self) -> Result<Sources> {
        if !self.diagnostics.is_empty() {
            return Err(Error::Input(self.diagnostics));
        }
        Ok(Sources {
            notes: self.notes,
            media: self.media.files,
            files: self.files,
        })
    }

    fn problem(&mut self, file: &Path, line: usize, problem: Problem) {
        self.diagnostics.push(Diagnostic {
            file: file.to_path_buf(),
            line,
            problem,
        });
    }

    fn read_file(&mut self, path: &Path) {
        self.files += 1;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return self.problem(path, 0, Problem::Unreadable(e.to_string())),
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                return self.problem(path, 0, Problem::InvalidUtf8(e.utf8_error().valid_up_to()))
            }
        };
        let text = text
            .strip_prefix('\u{feff}')
            .unwrap_or(&text)
            .replace("\r\n", "\n");
        let (parsed, problems) = parse::parse(&text);
        for (line, problem) in problems {
            self.problem(path, line, problem);
        }
        let fm = &parsed.front_matter;
        let mut file_tags = Vec::new();
        for tag in fm.tags.iter().flat_map(|t| t.iter()) {
            match check_tag(tag) {
                Ok(tag) => merge_tags(&mut file_tags, [tag]),
                Err(e) => self.problem(path, 1, e.into()),
            }
        }
        let file_deck = match &fm.deck {
            Some(deck) => deck.clone(),
            None => self.deck_from_path(path),
        };
        let defaults = FileDefaults {
            deck: file_deck,
            tags: file_tags,
            notetype: fm.notetype.clone(),
            format: fm.format.clone(),
        };
        for raw in &parsed.notes {
            match self.note(path, raw, &defaults) {
                Ok(source) => {
                    let first = (source.file.clone(), source.line);
                    if let Some((file, line)) = self.seen.get(&source.note.guid) {
                        let other = format!("{}:{}", file.display(), line);
                        self.problem(path, raw.heading.line, Problem::DuplicateNote { other });
                    } else {
                        self.seen.insert(source.note.guid.clone(), first);
                        self.notes.push(source);
                    }
                }
                Err(problems) => {
                    for (line, problem) in problems {
                        self.problem(path, line, problem);
                    }
                }
            }
        }
    }

    fn stock_notetype(&mut self, stock: Stock) -> Arc<NoteType> {
        if let Some((_, notetype)) = self.stock.iter().find(|(s, _)| *s == stock) {
            return notetype.clone();
        }
        let notetype = Arc::new(stock.notetype());
        self.stock.push((stock, notetype.clone()));
        notetype
    }

    /// `nlp/basics.md` → `nlp::basics`.
    fn deck_from_path(&self, path: &Path) -> String {
        let relative = path
            .strip_prefix(self.root)
            .unwrap_or(path)
            .with_extension("");
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("::")
    }

    fn note(
        &mut self,
        path: &Path,
        raw: &RawNote,
        defaults: &FileDefaults,
    ) -> Result<SourceNote, Vec<(usize, Problem)>> {
        let mut problems = Vec::new();
        let setting = |key: &str| raw.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        debug_assert!(raw
            .settings
            .iter()
            .all(|(k, _)| SETTINGS.contains(&k.as_str())));

        // Note type: explicit on the note, else cloze when the heading has deletions,
        // else the file's default, else basic.
        let heading_has_cloze = template::has_cloze(&raw.heading.text);
        let (type_name, type_line) = match setting("type") {
            Some(v) => (Some(v.text.as_str()), v.line),
            None if heading_has_cloze => (Some("cloze"), raw.heading.line),
            None => (defaults.notetype.as_deref(), 1),
        };
        let notetype = match type_name {
            None => self.stock_notetype(Stock::Basic),
            Some(name) => match Stock::find(name) {
                Some(stock) => self.stock_notetype(stock),
                None => {
                    return Err(vec![(
                        type_line,
                        Problem::UnknownNoteType(name.to_string()),
                    )])
                }
            },
        };
        if notetype.kind != Kind::Cloze {
            let texts = std::iter::once(&raw.heading)
                .chain(std::iter::once(&raw.body))
                .chain(raw.sections.iter().map(|(_, t)| t));
            if let Some(t) = texts.into_iter().find(|t| template::has_cloze(&t.text)) {
                problems.push((t.line, Problem::ClozeInNonCloze(notetype.name.clone())));
            }
        }

        let html = match setting("format")
            .map(|v| (v.text.as_str(), v.line))
            .or(defaults.format.as_deref().map(|f| (f, 1)))
        {
            None | Some(("markdown", _)) => false,
            Some(("html", _)) => true,
            Some((other, line)) => {
                return Err(vec![(line, Problem::UnknownFormat(other.to_string()))])
            }
        };

        // Which source text fills which field.
        let mut sources: Vec<Option<&parse::Located>> = vec![None; notetype.fields.len()];
        sources[0] = Some(&raw.heading);
        if !raw.body.text.is_empty() {
            match sources.get_mut(1) {
                Some(slot) => *slot = Some(&raw.body),
                None => problems.push((
                    raw.body.line,
                    Problem::UnknownField {
                        notetype: notetype.name.clone(),
                        field: "(answer text)".into(),
                        fields: notetype.field_names().join(", "),
                    },
                )),
            }
        }
        for (name, content) in &raw.sections {
            match notetype.field_index(&name.text) {
                None => problems.push((
                    name.line,
                    Problem::UnknownField {
                        notetype: notetype.name.clone(),
                        field: name.text.clone(),
                        fields: notetype.field_names().join(", "),
                    },
                )),
                Some(i) if sources[i].is_some() => {
                    problems.push((name.line, Problem::DuplicateField(name.text.clone())))
                }
                Some(i) => sources[i] = Some(content),
            }
        }

        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut fields = Vec::with_capacity(sources.len());
        for (index, source) in sources.iter().enumerate() {
            let Some(source) = source else {
                fields.push(String::new());
                continue;
            };
            let mut resolve =
                |reference: &str| self.media.resolve(&self.canonical_root, &dir, reference);
            let rendered = if html {
                markdown::rewrite_html_media(&source.text, &mut resolve)
            } else if index == 0 {
                markdown::render_inline(&source.text, &mut resolve)
            } else {
                markdown::render_block(&source.text, &mut resolve)
            };
            match rendered {
                Ok(field) => {
                    // Rendering leaves spare capacity; every note is held until the end.
                    let mut field = strip_forbidden_controls(field);
                    field.shrink_to_fit();
                    fields.push(field)
                }
                Err(problem) => {
                    problems.push((
                        source.line + line_offset_of(&source.text, &problem),
                        problem,
                    ));
                    fields.push(String::new());
                }
            }
        }

        let mut tags = defaults.tags.clone();
        if let Some(v) = setting("tags") {
            for tag in v.text.split_whitespace() {
                match check_tag(tag) {
                    Ok(tag) => merge_tags(&mut tags, [tag]),
                    Err(e) => problems.push((v.line, e.into())),
                }
            }
        }
        let (deck, deck_line) = match setting("deck") {
            Some(v) => (v.text.clone(), v.line),
            None => (defaults.deck.clone(), 1),
        };
        let deck = match normalize_deck_name(&deck) {
            Ok(d) => d,
            Err(e) => {
                problems.push((deck_line, e.into()));
                deck
            }
        };
        if raw.heading.text.is_empty() {
            // Reported by the parser already.
            return Err(problems);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let guid = match setting("id") {
            Some(id) => ids::guid_for_id(&id.text),
            None => ids::guid_for_first_field(&raw.heading.text),
        };
        let note = Note {
            guid,
            notetype_id: notetype.id,
            fields,
            tags,
            deck,
            modified: self.modified,
        };
        Ok(SourceNote {
            note,
            notetype,
            file: path.to_path_buf(),
            line: raw.heading.line,
        })
    }
}

/// For a problem about a media reference, how many lines into `text` the reference is.
fn line_offset_of(text: &str, problem: &Problem) -> usize {
    let reference = match problem {
        Problem::MissingMedia { reference, .. }
        | Problem::MediaOutsideSource(reference)
        | Problem::UnreadableMedia { reference, .. } => reference,
        _ => return 0,
    };
    text.lines()
        .position(|l| l.contains(reference.as_str()))
        .unwrap_or(0)
}

struct FileDefaults {
    deck: String,
    tags: Vec<String>,
    notetype: Option<String>,
    format: Option<String>,
}

/// Anki removes ASCII control characters other than newline and tab from fields.
fn strip_forbidden_controls(field: String) -> String {
    if field
        .chars()
        .any(|c| c.is_ascii_control() && c != '\n' && c != '\t')
    {
        field
            .chars()
            .filter(|&c| !c.is_ascii_control() || c == '\n' || c == '\t')
            .collect()
    } else {
        field
    }
}

impl MediaIndex {
    /// The packaged name of the file `reference` (relative to `dir`) points at.
    fn resolve(&mut self, root: &Path, dir: &Path, reference: &str) -> Result<String, Problem> {
        let path = dir.join(reference);
        if !path.is_file() {
            return Err(Problem::MissingMedia {
                reference: reference.to_string(),
                path,
            });
        }
        let canonical = path.canonicalize().map_err(|e| Problem::UnreadableMedia {
            reference: reference.to_string(),
            message: e.to_string(),
        })?;
        if !canonical.starts_with(root) {
            return Err(Problem::MediaOutsideSource(reference.to_string()));
        }
        if let Some(name) = self.by_path.get(&canonical) {
            return Ok(name.clone());
        }
        let hash = sha1_file(&canonical).map_err(|e| Problem::UnreadableMedia {
            reference: reference.to_string(),
            message: e.to_string(),
        })?;
        let name = match self.by_hash.get(&hash) {
            Some(name) => name.clone(),
            None => {
                let file_name = canonical
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let name = media_name(&file_name, &hash);
                self.by_hash.insert(hash, name.clone());
                self.files.push((name.clone(), canonical.clone()));
                name
            }
        };
        self.by_path.insert(canonical, name.clone());
        Ok(name)
    }
}

/// Hex SHA-1 of a file, read in chunks.
fn sha1_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha1::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
