//! `ankideck preview`: the notes of a source folder as a static site, every card's front
//! and back rendered as Anki renders them (`render`), with the note type's CSS, the
//! media beside the pages, and the problems `check` reports.
//!
//! [`write_site`] makes the site from sources already read (`watch` calls it on each
//! change); [`preview`] reads and writes in one go.

mod math;
mod page;
pub mod serve;

use crate::error::{Diagnostic, Error, Result};
use crate::note::SourceNote;
use crate::source::Sources;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The data file the site is made from, for tools and tests: every card's HTML as
/// Anki's `card.question()` and `card.answer()` return it.
pub const DATA_FILE: &str = "cards.json";

/// What goes into a site besides the notes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// The source folder, as given to [`read`]: file names on the pages are relative
    /// to it.
    pub root: PathBuf,
    /// The problems to list, as `check` reports them (errors included).
    pub diagnostics: Vec<Diagnostic>,
}

impl Options {
    /// Options for the sources read from `root`, with these problems.
    pub fn new(root: impl Into<PathBuf>, diagnostics: Vec<Diagnostic>) -> Options {
        Options {
            root: root.into(),
            diagnostics,
        }
    }
}

/// What a site holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteSummary {
    /// Pages written besides `index.html`: one per source file with notes.
    pub pages: usize,
    /// Notes shown.
    pub notes: usize,
    /// Cards shown (front and back each).
    pub cards: usize,
    /// Media files copied beside the pages.
    pub media: usize,
    /// Problems listed, errors and warnings.
    pub problems: usize,
    /// The page to open first.
    pub index: PathBuf,
}

/// Reads `source` for a preview: the notes that can be read, even when others have
/// errors, and every problem `check` would report.
/// Files are named as `source` is given, as `check` names them.
pub fn read(source: &Path) -> Result<(Sources, Vec<Diagnostic>)> {
    crate::source::source_folder(source)?;
    let diagnostics = match crate::build::check(source, crate::build::Options::from_env()?) {
        Ok(warnings) => warnings,
        Err(Error::Input(all)) => all,
        Err(other) => return Err(other),
    };
    let sources = crate::build::read_lenient(source)?;
    Ok((sources, diagnostics))
}

/// Reads `source` and writes its preview into `out_dir` (see [`write_site`]).
pub fn preview(source: &Path, out_dir: &Path) -> Result<SiteSummary> {
    let (sources, diagnostics) = read(source)?;
    write_site(&sources, out_dir, &Options::new(source, diagnostics))
}

/// One card of the data file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CardData {
    /// The source file, relative to the source folder, `/`-separated.
    file: String,
    line: usize,
    guid: String,
    notetype: String,
    deck: String,
    ord: u16,
    /// The card template's name.
    template: String,
    question: String,
    answer: String,
    /// What `[anki:play:q:N]` plays, by N.
    question_play: Vec<crate::render::Play>,
    answer_play: Vec<crate::render::Play>,
}

/// The data file's contents.
#[derive(Debug, Serialize)]
struct Data<'a> {
    cards: &'a [CardData],
    /// The problems, each as `check --format json` prints it.
    diagnostics: Vec<serde_json::Value>,
    /// The files the site is made of besides this one (pages, media), so that the next
    /// preview into the folder removes those it no longer writes.
    files: Vec<String>,
}

/// Writes the preview of `sources` into `out_dir` (made if missing): `index.html` (the
/// decks with their counts, the source files, the problems), a page per source file with
/// each note's cards, the media, and [`DATA_FILE`]. Refuses a folder holding files that
/// are not an earlier preview; removes the files of an earlier preview that this one
/// does not write. Each file is replaced whole, so a browser never reads half of one.
pub fn write_site(sources: &Sources, out_dir: &Path, options: &Options) -> Result<SiteSummary> {
    let earlier = prepare(out_dir)?;
    let cards = render_all(&sources.notes, &options.root);
    let mut files = Vec::new();
    for (name, path) in &sources.media {
        copy_media(path, &out_dir.join(name))?;
        files.push(name.clone());
    }
    let pages = page::write_pages(out_dir, &sources.notes, &cards, options)?;
    let page_count = pages.len() - 1;
    files.extend(pages);
    let diagnostics = options
        .diagnostics
        .iter()
        .map(|d| serde_json::from_str(&crate::report::json(d)).unwrap_or_default())
        .collect();
    let data = Data {
        cards: &cards,
        diagnostics,
        files,
    };
    let json = serde_json::to_string(&data).expect("serialisable");
    write(&out_dir.join(DATA_FILE), &json)?;
    for stale in earlier.iter().filter(|f| !data.files.contains(f)) {
        // Only names the site gave, never a path out of the folder.
        if !stale.contains(['/', '\\']) && !stale.starts_with('.') {
            let _ = std::fs::remove_file(out_dir.join(stale));
        }
    }
    Ok(SiteSummary {
        pages: page_count,
        notes: sources.notes.len(),
        cards: cards.len(),
        media: sources.media.len(),
        problems: options.diagnostics.len(),
        index: out_dir.join("index.html"),
    })
}

/// Makes `out_dir`, or checks that it is empty or an earlier preview, whose files it
/// returns.
fn prepare(out_dir: &Path) -> Result<Vec<String>> {
    match std::fs::read_dir(out_dir) {
        Ok(mut entries) => {
            let data = out_dir.join(DATA_FILE);
            if !data.is_file() {
                return match entries.next() {
                    Some(_) => Err(Error::PreviewNotEmpty(out_dir.to_path_buf())),
                    None => Ok(Vec::new()),
                };
            }
            let text = std::fs::read_to_string(&data).unwrap_or_default();
            let earlier: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let files = earlier["files"].as_array().map_or(&[][..], Vec::as_slice);
            Ok(files
                .iter()
                .filter_map(|f| Some(f.as_str()?.to_string()))
                .collect())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
            Ok(Vec::new())
        }
        Err(e) => Err(Error::io(out_dir, e)),
    }
}

/// Copies a media file, unless an earlier preview copied it and it has not changed.
fn copy_media(from: &Path, to: &Path) -> Result<()> {
    let source = std::fs::metadata(from).map_err(|e| Error::io(from, e))?;
    if let Ok(copied) = std::fs::metadata(to) {
        let newer = match (copied.modified(), source.modified()) {
            (Ok(copied), Ok(source)) => copied >= source,
            _ => false,
        };
        if copied.len() == source.len() && newer {
            return Ok(());
        }
    }
    let partial = to.with_file_name(format!(
        ".{}.partial",
        to.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(from, &partial).map_err(|e| Error::io(from, e))?;
    std::fs::rename(&partial, to).map_err(|e| Error::io(to, e))
}

/// Writes a file of the site whole: to a hidden file beside it, then renamed over it.
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    let partial = path.with_file_name(format!(
        ".{}.partial",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&partial, text).map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
}

/// A source file's name relative to the source folder, `/`-separated.
pub(crate) fn relative(file: &Path, root: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Every card of every note, rendered, in note order.
fn render_all(notes: &[SourceNote], root: &Path) -> Vec<CardData> {
    use rayon::prelude::*;
    notes
        .par_iter()
        .flat_map_iter(|source| {
            source.ords.iter().map(move |&ord| {
                let rendered = crate::render::render(&source.notetype, &source.note, ord);
                let template = match source.notetype.kind {
                    crate::Kind::Cloze => format!("Cloze {}", ord + 1),
                    crate::Kind::Standard => {
                        source.notetype.templates[usize::from(ord)].name.clone()
                    }
                };
                CardData {
                    file: relative(&source.file, root),
                    line: source.line,
                    guid: source.note.guid.clone(),
                    notetype: source.notetype.name.clone(),
                    deck: source.note.card_deck(ord).to_string(),
                    ord,
                    template,
                    question: rendered.question,
                    answer: rendered.answer,
                    question_play: rendered.question_play,
                    answer_play: rendered.answer_play,
                }
            })
        })
        .collect()
}
