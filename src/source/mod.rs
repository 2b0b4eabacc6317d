//! Reading a folder of card sources into notes and media.
//!
//! The pipeline: `walk` lists the files; each card file is loaded (`load`: read, parsed,
//! its Markdown rendered) in parallel; then, in file order, the `Reader` turns notes
//! into [`SourceNote`]s (`card_file`, `text_file`), naming media through the `media`
//! index, and collects the diagnostics.

mod card_file;
mod deck_settings;
pub(crate) mod highlight;
mod identities;
mod load;
pub(crate) mod markdown;
mod media;
pub(crate) mod notetypes;
pub(crate) mod parse;
mod reader;
mod text_file;
mod walk;
pub mod write;
mod write_ids;

/// How card files tell fenced code blocks (CommonMark's rule), for tools that scan card
/// files line by line for the `## ` headings that start notes, outside code.
pub use parse::{closes_fence, opens_fence};
pub(crate) use walk::markdown_files;
pub(crate) use write_ids::write_ids;

use crate::error::{Diagnostic, Error, Problem, Result};
use crate::ids::LegacyGuids;
use crate::note::SourceNote;
use load::{read_text, Loaded};
use reader::Reader;
use std::path::{Path, PathBuf};
use walk::{has_extension, source_files};

/// Card files loaded and rendered ahead of the one being read, at most.
const AHEAD: usize = 8;

/// Everything read from a source folder.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Sources {
    /// The notes, in file order, with where each was written.
    pub notes: Vec<SourceNote>,
    /// (packaged name, file on disk), each distinct file once.
    pub media: Vec<(String, PathBuf)>,
    /// Card files read.
    pub files: usize,
    /// Problems that do not stop a build.
    pub warnings: Vec<Diagnostic>,
    /// Deck descriptions and options from `_deck.toml` files, by deck name.
    pub decks: Vec<(String, crate::deck::DeckSettings)>,
    /// Every custom note type, used by a note or not, by id.
    pub notetypes: Vec<std::sync::Arc<crate::NoteType>>,
}

/// The source folder `root`, canonical: an error that says what to do when it is
/// missing or a file.
pub fn source_folder(root: &Path) -> Result<PathBuf> {
    let canonical = root.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoSourceFolder(root.to_path_buf()),
        _ => Error::io(root, e),
    })?;
    if !canonical.is_dir() {
        return Err(Error::SourceNotAFolder(root.to_path_buf()));
    }
    Ok(canonical)
}

impl Sources {
    /// Reads every card source below `root`. Problems are collected: with any error they
    /// all come back as [`Error::Input`] (warnings included); otherwise the warnings
    /// travel with the sources. Notes come with `modified` 0; the lock sets it. The lint
    /// (warnings about fields) is a stage of its own: [`crate::build`] runs it after this.
    pub fn read(root: &Path) -> Result<Sources> {
        let mut sources = Sources::read_lenient(root)?;
        sources.warnings = Error::unless_errors(std::mem::take(&mut sources.warnings))?;
        Ok(sources)
    }

    /// Like [`Sources::read`], but returns the notes that could be read even when others
    /// have errors; `warnings` then holds every problem, errors included. For editors and
    /// for checking that nothing is dropped silently.
    pub fn read_lenient(root: &Path) -> Result<Sources> {
        Sources::read_lenient_with_media_dir(root, None)
    }

    /// [`Sources::read_lenient`], also looking up the media references that the source
    /// does not hold in `media_dir` (such as Anki's own `collection.media` folder).
    /// Notes without `id:` get the guids of a first build; [`crate::build`] reads the
    /// lock first, so that notes it knows by legacy guids keep them.
    pub fn read_lenient_with_media_dir(root: &Path, media_dir: Option<&Path>) -> Result<Sources> {
        Sources::read_keeping(root, media_dir, LegacyGuids::default())
    }

    /// [`Sources::read_lenient_with_media_dir`], where notes without `id:` that the lock
    /// knows by their heading's legacy guid (`legacy`) keep it.
    pub(crate) fn read_keeping(
        root: &Path,
        media_dir: Option<&Path>,
        legacy: LegacyGuids,
    ) -> Result<Sources> {
        let mut notes = Vec::new();
        let mut sources = Sources::read_streaming(root, media_dir, legacy, None, &mut |batch| {
            notes.extend(batch);
            Ok(())
        })?;
        sources.notes = notes;
        Ok(sources)
    }

    /// [`Sources::read_keeping`], handing the notes to `sink` in file order as they are
    /// read, a file's at a time, instead of holding them: `notes` comes back empty. With
    /// a `scratch` folder, what the reader keeps of every note waits there.
    pub(crate) fn read_streaming(
        root: &Path,
        media_dir: Option<&Path>,
        legacy: LegacyGuids,
        scratch: Option<&Path>,
        sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
    ) -> Result<Sources> {
        Sources::read_streaming_known(root, media_dir, legacy, scratch, None, sink)
    }

    /// [`Sources::read_lenient`], taking the HTML of the Markdown `known` has instead
    /// of rendering it (`unpack`'s read-back of what it just proved renders so), and
    /// handing the notes to `sink` as [`Sources::read_streaming`] does.
    pub(crate) fn read_lenient_known(
        root: &Path,
        known: &markdown::KnownRenderings,
        sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
    ) -> Result<Sources> {
        let legacy = LegacyGuids::default();
        Sources::read_streaming_known(root, None, legacy, None, Some(known), sink)
    }

    /// [`Sources::read_streaming`], with Markdown renderings `known` ahead.
    fn read_streaming_known(
        root: &Path,
        media_dir: Option<&Path>,
        legacy: LegacyGuids,
        scratch: Option<&Path>,
        known: Option<&markdown::KnownRenderings>,
        sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
    ) -> Result<Sources> {
        let mut reader = Reader::new(root)?;
        reader.legacy = legacy;
        reader.seen = identities::Identities::new_in(scratch);
        if let Some(dir) = media_dir {
            let canonical = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
            if !canonical.is_dir() {
                let not_a_folder =
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder");
                return Err(Error::io(dir, not_a_folder));
            }
            reader.media.media_dir = Some(canonical);
        }
        reader.custom = notetypes::CustomTypes::load(root, &mut reader.diagnostics);
        let files = source_files(root, &mut reader.diagnostics);
        let mut hand_out = |reader: &mut Reader| {
            let notes = std::mem::take(&mut reader.notes);
            reader.handed_out += notes.len();
            match notes.is_empty() {
                true => Ok(()),
                false => sink(notes),
            }
        };
        // Loading and rendering Markdown is most of the work and needs nothing from other
        // files, so each file is a job of its own on the pool's threads, while this
        // closure, in the pool too, takes the files in order and does what must be in
        // order (media names, identities, diagnostics). At most `AHEAD` files wait, which
        // bounds memory: rendered notes take some 1 KB each, and files can hold thousands.
        let render = |path: &PathBuf| Loaded::new(path, known);
        crate::pipeline::in_order(files.cards.iter(), AHEAD, render, |loaded| {
            for file in loaded {
                crate::cancel::check()?;
                reader.read_file(file);
                hand_out(&mut reader)?;
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
            hand_out(&mut reader)?;
        }
        let settings = files
            .others
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == deck_settings::FILE));
        reader.decks =
            deck_settings::load(root, settings.cloned().collect(), &mut reader.diagnostics);
        // A media file's hashing stopped by a cancel shows up as unreadable media.
        crate::cancel::check()?;
        if let Some(e) = reader.seen.failure() {
            return Err(Error::io(scratch.unwrap_or(root), e));
        }
        Ok(reader.finish(&files.others))
    }
}

/// Parses the text of one card file and renders each note's Markdown, `media` naming the
/// media it refers to, and drops the result: all of a card file's parsing and rendering,
/// without a folder. For the fuzz target and the property tests, which feed it arbitrary
/// text to show that it never panics. Returns how many notes the text holds.
pub fn parse_and_render(
    text: &str,
    media: &mut dyn FnMut(&str) -> Result<String, Problem>,
) -> usize {
    let (parsed, _problems) = parse::parse(text);
    for note in &parsed.notes {
        let _ = markdown::render_inline(&note.heading.text, media);
        let _ = markdown::render_block(&note.body.text, media);
        for (_, section) in &note.sections {
            let _ = markdown::render_block(&section.text, media);
        }
    }
    parsed.notes.len()
}
