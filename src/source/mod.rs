//! Reading a folder of card sources into notes and media.

mod deck_settings;
pub mod highlight;
pub mod markdown;
pub mod notetypes;
pub mod parse;
mod text_file;
mod write_ids;

pub use write_ids::write_ids;

use crate::error::{Diagnostic, Error, Problem, Result, Severity};
use crate::note::{add_tag, normalize_deck_name, Note};
use crate::notetype::{Kind, NoteType, Stock};
use crate::package::{media_name, MediaSource, Package};
use crate::{ids, template};
use parse::{Located, RawNote};
use sha1::{Digest, Sha1};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File extensions read as Markdown card files.
const MARKDOWN_EXTENSIONS: &[&str] = &["md", "markdown"];

/// Extensions of files that only make sense as card media; one that no note uses is
/// probably a forgotten reference.
const MEDIA_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp", "mp3", "m4a", "ogg", "oga", "opus",
    "wav", "flac", "mp4", "webm",
];

/// Media above this size get a warning: phones sync them slowly.
const LARGE_MEDIA_BYTES: u64 = 20 * 1024 * 1024;

/// A note read from the sources, with where it was written.
#[derive(Debug, Clone)]
pub struct SourceNote {
    pub note: Note,
    pub notetype: Arc<NoteType>,
    /// The ordinals of the cards the note makes, checked when it was read.
    pub ords: Vec<u16>,
    /// Shared by the notes of a file.
    pub file: Arc<Path>,
    pub line: usize,
}

/// Everything read from a source folder.
#[derive(Debug, Default)]
pub struct Sources {
    pub notes: Vec<SourceNote>,
    /// (packaged name, file on disk), each distinct file once.
    pub media: Vec<(String, PathBuf)>,
    /// Card files read.
    pub files: usize,
    /// Problems that do not stop a build.
    pub warnings: Vec<Diagnostic>,
    /// Deck descriptions and options from `_deck.toml` files, by deck name.
    pub decks: Vec<(String, crate::package::DeckSettings)>,
}

impl Sources {
    /// Reads every Markdown file below `root`. Problems are collected: with any error they
    /// all come back as [`Error::Input`] (warnings included); otherwise the warnings
    /// travel with the sources. Notes come with `modified` 0;
    /// [`crate::lock::Update::reconcile`] sets it.
    pub fn read(root: &Path) -> Result<Sources> {
        let sources = Sources::read_lenient(root)?;
        if sources
            .warnings
            .iter()
            .any(|d| d.problem.severity() == Severity::Error)
        {
            return Err(Error::Input(sources.warnings));
        }
        Ok(sources)
    }

    /// Like [`Sources::read`], but returns the notes that could be read even when others
    /// have errors; `warnings` then holds every problem, errors included. For editors and
    /// for checking that nothing is dropped silently.
    pub fn read_lenient(root: &Path) -> Result<Sources> {
        let mut reader = Reader::new(root)?;
        reader.custom = notetypes::CustomTypes::load(root, &mut reader.diagnostics);
        let files = source_files(root, &mut reader.diagnostics);
        // Loading and rendering Markdown is most of the work and needs nothing from other
        // files, so it runs in parallel, a batch of files at a time, while this thread
        // takes the batches before in order and does what must be in order (media names,
        // identities, diagnostics). At most two batches wait, which bounds memory.
        let render = |batch: &[PathBuf]| -> Vec<Loaded> {
            use rayon::prelude::*;
            batch.par_iter().map(|path| Loaded::new(path)).collect()
        };
        crate::pipeline::ahead(files.cards.chunks(32), 2, render, |batches| {
            for file in batches.flatten() {
                crate::cancel::check()?;
                reader.read_file(file);
            }
            Ok::<_, Error>(())
        })?;
        for file in files
            .others
            .iter()
            .filter(|f| has_extension(f, text_file::EXTENSIONS))
        {
            crate::cancel::check()?;
            text_file::read(&mut reader, file);
        }
        let settings = files
            .others
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == deck_settings::FILE));
        reader.decks =
            deck_settings::load(root, settings.cloned().collect(), &mut reader.diagnostics);
        // A media file's hashing stopped by a cancel shows up as unreadable media.
        crate::cancel::check()?;
        Ok(reader.finish(&files.others))
    }

    /// Puts the notes and media into a package.
    pub fn into_package(self, timestamp: i64) -> Result<Package> {
        let mut package = Package::new(timestamp);
        for source in &self.notes {
            package.add_notetype(&source.notetype);
        }
        // Checked as they were read, cards included. Collected in place: the notes are
        // most of a build's memory, and are never held twice.
        package.add_checked_notes(self.notes.into_iter().map(|s| (s.note, s.ords)).collect());
        for (name, path) in self.media {
            package.add_media(&name, MediaSource::File(path))?;
        }
        for (deck, settings) in self.decks {
            package.set_deck_settings(&deck, settings);
        }
        Ok(package)
    }
}

/// The files below a source folder: card files, and the rest (for unused media).
#[derive(Default)]
struct SourceFiles {
    cards: Vec<PathBuf>,
    others: Vec<PathBuf>,
}

/// `.hidden` entries, and `_folders` (note types, assets), hold no card files.
fn is_hidden_or_special(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    name.starts_with('.') || (name.starts_with('_') && entry.file_type().is_dir())
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    let ext = path
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    extensions.contains(&ext.as_str())
}

fn source_files(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> SourceFiles {
    // Symbolic links are followed; walkdir reports a link that loops back as an error.
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden_or_special(e));
    let mut files = SourceFiles::default();
    let mut seen = HashSet::new();
    for entry in walker {
        match entry {
            // A file reached twice through links is read once.
            Ok(e)
                if e.file_type().is_file()
                    && seen.insert(
                        e.path()
                            .canonicalize()
                            .unwrap_or_else(|_| e.path().to_path_buf()),
                    ) =>
            {
                if has_extension(e.path(), MARKDOWN_EXTENSIONS) {
                    files.cards.push(e.into_path());
                } else {
                    files.others.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => {
                let file = e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
                diagnostics.push(Diagnostic::new(file, 0, Problem::Unreadable(e.to_string())));
            }
        }
    }
    files
}

/// Markdown card files below `root`, in build order.
pub(crate) fn markdown_files(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    source_files(root, diagnostics).cards
}

struct Reader<'a> {
    root: &'a Path,
    canonical_root: PathBuf,
    notes: Vec<SourceNote>,
    diagnostics: Vec<Diagnostic>,
    media: MediaIndex,
    files: usize,
    /// guid → where the note with that guid was written.
    seen: HashMap<String, (Arc<Path>, usize)>,
    /// The file being read.
    current_file: Arc<Path>,
    /// The stock note types, indexed by [`Stock`], shared by the notes that use them.
    stock: Vec<Arc<NoteType>>,
    /// Note types from `_notetypes/`.
    custom: notetypes::CustomTypes,
    decks: Vec<(String, crate::package::DeckSettings)>,
}

#[derive(Default)]
struct MediaIndex {
    by_path: HashMap<PathBuf, String>,
    by_hash: HashMap<String, String>,
    files: Vec<(String, PathBuf)>,
    /// Large files met since the last [`MediaIndex::take_large_warning`].
    large: Vec<PathBuf>,
}

/// What a file's front matter sets for its notes.
struct FileDefaults {
    deck: String,
    tags: Vec<String>,
    notetype: Option<Arc<NoteType>>,
    html: bool,
}

impl<'a> Reader<'a> {
    fn new(root: &'a Path) -> Result<Reader<'a>> {
        let canonical_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
        if !canonical_root.is_dir() {
            let not_a_folder =
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder");
            return Err(Error::io(root, not_a_folder));
        }
        Ok(Reader {
            root,
            canonical_root,
            notes: Vec::new(),
            diagnostics: Vec::new(),
            media: MediaIndex::default(),
            files: 0,
            seen: HashMap::new(),
            current_file: Arc::from(root),
            stock: Stock::ALL.iter().map(|s| Arc::new(s.notetype())).collect(),
            custom: notetypes::CustomTypes::default(),
            decks: Vec::new(),
        })
    }

    fn finish(mut self, other_files: &[PathBuf]) -> Sources {
        if self.notes.is_empty() && self.diagnostics.is_empty() {
            self.problem(self.root, 0, Problem::NoNotes);
        }
        for file in other_files {
            let ext = file
                .extension()
                .and_then(|x| x.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let used = file
                .canonicalize()
                .is_ok_and(|c| self.media.by_path.contains_key(&c));
            if MEDIA_EXTENSIONS.contains(&ext.as_str()) && !used {
                let name = file
                    .strip_prefix(self.root)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                self.problem(file, 0, Problem::UnusedMedia(name));
            }
        }
        self.diagnostics.extend(crate::check::lint(&self.notes));
        self.diagnostics
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        let mut media = self.media.files;
        media.extend(self.custom.media);
        Sources {
            notes: self.notes,
            media,
            files: self.files,
            warnings: self.diagnostics,
            decks: self.decks,
        }
    }

    fn problem(&mut self, file: &Path, line: usize, problem: Problem) {
        self.diagnostics.push(Diagnostic::new(file, line, problem));
    }

    fn read_file(&mut self, mut loaded: Loaded) {
        let path = loaded.path.as_path();
        self.files += 1;
        self.current_file = Arc::from(path);
        let (text, parsed, problems) = match loaded.content {
            Ok(content) => content,
            Err(diagnostic) => return self.diagnostics.push(*diagnostic),
        };
        let first_new = self.diagnostics.len();
        self.check_characters(path, &text);
        for (line, problem) in problems {
            self.problem(path, line, problem);
        }
        if let Some(defaults) = self.file_defaults(path, &parsed.front_matter) {
            for raw in &parsed.notes {
                self.add_note(path, raw, &defaults, &mut loaded.rendered);
            }
        }
        // Columns come from the text, which only this function has at hand.
        for d in &mut self.diagnostics[first_new..] {
            d.locate(&text);
        }
    }

    /// Control characters other than tab and newline are not allowed in Anki fields.
    fn check_characters(&mut self, path: &Path, text: &str) {
        // Control characters are U+0000–U+001F and U+007F–U+009F: in UTF-8 a byte below
        // 0x20, 0x7F, or a sequence starting 0xC2. Most files have none of these bytes
        // and are cleared in one quick pass.
        let suspect = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f || b == 0xc2;
        if !text.bytes().any(suspect) {
            return;
        }
        for (index, line) in text.lines().enumerate() {
            if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
                self.problem(path, index + 1, Problem::ControlCharacter(c));
            }
        }
    }

    /// The file's defaults, or `None` (with diagnostics) when the front matter is unusable.
    fn file_defaults(&mut self, path: &Path, fm: &parse::FrontMatter) -> Option<FileDefaults> {
        let mut ok = true;
        let mut tags = Vec::new();
        for tag in fm
            .tags
            .as_ref()
            .map(parse::Tags::to_vec)
            .unwrap_or_default()
        {
            if let Err(e) = add_tag(&mut tags, &tag) {
                self.problem(path, fm.line_of("tags"), e.into());
                ok = false;
            }
        }
        let deck = match &fm.deck {
            Some(deck) => deck.text(),
            None => self.deck_from_path(path),
        };
        let deck = match normalize_deck_name(&deck) {
            Ok(deck) => deck,
            Err(e) => {
                self.problem(path, fm.line_of("deck"), e.into());
                ok = false;
                deck
            }
        };
        let notetype = match fm
            .notetype
            .as_deref()
            .map(|name| (name, self.find_notetype(name)))
        {
            None => None,
            Some((_, Some(notetype))) => Some(notetype),
            Some((name, None)) => {
                self.problem(
                    path,
                    fm.line_of("type"),
                    Problem::UnknownNoteType(name.to_string()),
                );
                ok = false;
                None
            }
        };
        let html = match fm.format.as_deref().map(format_is_html) {
            None => false,
            Some(Ok(html)) => html,
            Some(Err(problem)) => {
                self.problem(path, fm.line_of("format"), problem);
                ok = false;
                false
            }
        };
        ok.then_some(FileDefaults {
            deck,
            tags,
            notetype,
            html,
        })
    }

    /// A note type by name: one from `_notetypes/` first, then a stock one (by our key or
    /// Anki's name), then, as Anki's text files may give it, by id.
    pub(super) fn find_notetype(&self, name: &str) -> Option<Arc<NoteType>> {
        let name = name.trim();
        if let Some(custom) = self.custom.find(name) {
            return Some(custom);
        }
        if let Some(stock) = Stock::find(name) {
            return Some(Arc::clone(&self.stock[stock as usize]));
        }
        let id: i64 = name.parse().ok()?;
        self.stock
            .iter()
            .find(|nt| nt.id == id)
            .cloned()
            .or_else(|| self.custom.find_id(id))
    }

    /// Keeps a note read from a file of any kind, unless an earlier note has its
    /// identity: then the problem, naming where that one is.
    fn keep_note(&mut self, source: SourceNote) -> Result<(), Problem> {
        if let Some((file, line)) = self.seen.get(&source.note.guid) {
            let other = format!("{}:{}", file.display(), line);
            return Err(Problem::DuplicateNote { other });
        }
        self.seen
            .insert(source.note.guid.clone(), (source.file.clone(), source.line));
        self.notes.push(source);
        Ok(())
    }

    fn add_note(
        &mut self,
        path: &Path,
        raw: &RawNote,
        defaults: &FileDefaults,
        rendered: &mut Prerendered,
    ) {
        match self.note(path, raw, defaults, rendered) {
            Ok(source) => {
                if let Some(problem) = self
                    .custom
                    .missing_required(&source.notetype, &source.note.fields)
                {
                    return self.problem(path, raw.heading.line, problem);
                }
                if let Err(problem) = self.keep_note(source) {
                    self.problem(path, raw.heading.line, problem);
                }
            }
            Err(problems) => {
                for (line, problem) in problems {
                    self.problem(path, line, problem);
                }
            }
        }
    }

    /// `nlp/basics.md` → `nlp::basics`.
    fn deck_from_path(&self, path: &Path) -> String {
        let relative = path
            .strip_prefix(self.root)
            .unwrap_or(path)
            .with_extension("");
        let levels: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        levels.join("::")
    }

    fn note(
        &mut self,
        path: &Path,
        raw: &RawNote,
        defaults: &FileDefaults,
        prerendered: &mut Prerendered,
    ) -> Result<SourceNote, Vec<(usize, Problem)>> {
        let mut problems = Vec::new();
        let setting = |key: &str| raw.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if raw.heading.text.is_empty() {
            return Err(problems); // reported by the parser
        }

        // Note type: explicit on the note, else cloze when the heading has deletions,
        // else the file's default, else basic.
        let notetype = match setting("type") {
            Some(v) => match self.find_notetype(&v.text) {
                Some(notetype) => notetype,
                None => return Err(vec![(v.line, Problem::UnknownNoteType(v.text.clone()))]),
            },
            None if template::has_cloze(&raw.heading.text) => {
                Arc::clone(&self.stock[Stock::Cloze as usize])
            }
            None => defaults
                .notetype
                .clone()
                .unwrap_or_else(|| Arc::clone(&self.stock[Stock::Basic as usize])),
        };
        if notetype.kind != Kind::Cloze {
            let texts = std::iter::once(&raw.heading)
                .chain(std::iter::once(&raw.body))
                .chain(raw.sections.iter().map(|(_, t)| t));
            if let Some(t) = texts.into_iter().find(|t| template::has_cloze(&t.text)) {
                let line = t.line + t.text.lines().position(template::has_cloze).unwrap_or(0);
                problems.push((line, Problem::ClozeInNonCloze(notetype.name.clone())));
            }
        }
        let html = match setting("format") {
            None => defaults.html,
            Some(v) => match format_is_html(&v.text) {
                Ok(html) => html,
                Err(problem) => return Err(vec![(v.line, problem)]),
            },
        };

        // Which source text fills which field.
        let mut sources: Vec<Option<&Located>> = vec![None; notetype.fields.len()];
        sources[0] = Some(&raw.heading);
        if !raw.body.text.is_empty() {
            match sources.get_mut(1) {
                Some(slot) => *slot = Some(&raw.body),
                None => problems.push((raw.body.line, unknown_field(&notetype, "(answer text)"))),
            }
        }
        for (name, content) in &raw.sections {
            match notetype.field_index(&name.text) {
                None => problems.push((name.line, unknown_field(&notetype, &name.text))),
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
            let inline = index == 0;
            let rendered = match (html, prerendered.remove(&(source.line, inline))) {
                (true, _) => markdown::rewrite_html_media(&source.text, &mut resolve),
                (false, Some(done)) => done.resolve(&mut resolve),
                (false, None) if inline => markdown::render_inline(&source.text, &mut resolve),
                (false, None) => markdown::render_block(&source.text, &mut resolve),
            };
            match rendered {
                Ok(field) => {
                    // Every note is held until the end: copied to its exact size, on this
                    // thread, rather than kept where rendering left it.
                    fields.push(field.as_str().to_owned())
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
        for large in self.media.take_large_warnings() {
            problems.push((raw.heading.line, large));
        }

        let mut tags = defaults.tags.clone();
        if let Some(v) = setting("tags") {
            for tag in v.text.split_whitespace() {
                if let Err(e) = add_tag(&mut tags, tag) {
                    problems.push((v.line, e.into()));
                }
            }
        }
        let deck = match setting("deck") {
            Some(v) => normalize_deck_name(&v.text).unwrap_or_else(|e| {
                problems.push((v.line, e.into()));
                String::new()
            }),
            None => defaults.deck.clone(),
        };
        let guid = match setting("id") {
            Some(id) if id.text.is_empty() => {
                problems.push((id.line, Problem::EmptyId));
                String::new()
            }
            Some(id) => ids::guid_for_id(&id.text),
            None => ids::guid_for_first_field(&raw.heading.text),
        };
        // Warnings ride along with a good note; errors reject it.
        let (mut errors, warnings): (Vec<_>, Vec<_>) = problems
            .into_iter()
            .partition(|(_, p)| p.severity() == Severity::Error);
        let ords = match errors.is_empty() {
            true => notetype.card_ordinals(&fields, !tags.is_empty()),
            false => Ok(Vec::new()),
        };
        let ords = ords.unwrap_or_else(|e| {
            errors.push((raw.heading.line, e.into()));
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(errors.into_iter().chain(warnings).collect());
        }
        for (line, warning) in warnings {
            self.problem(path, line, warning);
        }
        let note = Note {
            guid,
            notetype_id: notetype.id,
            fields,
            tags,
            deck,
            modified: 0,
        };
        Ok(SourceNote {
            note,
            notetype,
            ords,
            file: Arc::clone(&self.current_file),
            line: raw.heading.line,
        })
    }
}

fn format_is_html(format: &str) -> Result<bool, Problem> {
    match format {
        "markdown" => Ok(false),
        "html" => Ok(true),
        other => Err(Problem::UnknownFormat(other.to_string())),
    }
}

fn unknown_field(notetype: &NoteType, field: &str) -> Problem {
    Problem::UnknownField {
        notetype: notetype.name.clone(),
        field: field.to_string(),
        fields: notetype.field_names().join(", "),
    }
}

/// A card file read and its Markdown rendered, before anything that depends on other
/// files: made in parallel, then taken in order by [`Reader::read_file`].
struct Loaded {
    path: PathBuf,
    /// The text, its notes and the problems parsing found; or why it could not be read.
    content: Result<Content, Box<Diagnostic>>,
    rendered: Prerendered,
}

/// A card file's text, its notes, and the problems parsing found.
type Content = (String, parse::ParsedFile, Vec<(usize, Problem)>);

/// Markdown rendered ahead of time, by (line of the text, inline?).
type Prerendered = HashMap<(usize, bool), markdown::Rendered>;

impl Loaded {
    fn new(path: &Path) -> Loaded {
        let content = read_text(path).map(|text| {
            let (parsed, problems) = parse::parse(&text);
            (text, parsed, problems)
        });
        let mut rendered = HashMap::new();
        if let Ok((_, parsed, _)) = &content {
            for note in &parsed.notes {
                let blocks =
                    std::iter::once(&note.body).chain(note.sections.iter().map(|(_, t)| t));
                rendered.insert(
                    (note.heading.line, true),
                    markdown::Rendered::inline(&note.heading.text),
                );
                for block in blocks.filter(|b| !b.text.is_empty()) {
                    rendered.insert((block.line, false), markdown::Rendered::block(&block.text));
                }
            }
        }
        Loaded {
            path: path.to_path_buf(),
            content,
            rendered,
        }
    }
}

/// A card file's text: UTF-8, without a byte order mark, with `\n` line ends.
fn read_text(path: &Path) -> Result<String, Box<Diagnostic>> {
    let unreadable =
        |e: std::io::Error| Box::new(Diagnostic::new(path, 0, Problem::Unreadable(e.to_string())));
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let mut d = Diagnostic::new(path, line, Problem::InvalidUtf8(offset));
        d.column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Box::new(d)
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .unwrap_or(&text)
        .replace("\r\n", "\n"))
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
        let unreadable = |e: std::io::Error| Problem::UnreadableMedia {
            reference: reference.to_string(),
            message: e.to_string(),
        };
        let canonical = path.canonicalize().map_err(unreadable)?;
        if !canonical.starts_with(root) {
            return Err(Problem::MediaOutsideSource(reference.to_string()));
        }
        if let Some(name) = self.by_path.get(&canonical) {
            return Ok(name.clone());
        }
        let (hash, size) = sha1_file(&canonical).map_err(unreadable)?;
        if size > LARGE_MEDIA_BYTES {
            self.large.push(canonical.clone());
        }
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

    /// Warnings for the large files met since the last call (each file is read once, so
    /// each is reported once).
    fn take_large_warnings(&mut self) -> Vec<Problem> {
        self.large
            .drain(..)
            .map(|path| {
                let megabytes = std::fs::metadata(&path).map_or(0, |m| m.len() / (1024 * 1024));
                let reference = path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                Problem::LargeMedia {
                    reference,
                    megabytes,
                }
            })
            .collect()
    }
}

/// Hex SHA-1 and size of a file, read in chunks.
fn sha1_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha1::new();
    let mut file = crate::cancel::Cancellable(std::fs::File::open(path)?);
    let size = std::io::copy(&mut file, &mut hasher)?;
    Ok((ids::hex(&hasher.finalize()), size))
}
