//! Reading a folder of card sources into notes and media.
//!
//! The pipeline: `walk` lists the files; each card file is loaded (`load`: read, parsed,
//! its Markdown rendered) in parallel, a large one in parts; then, in file order (and
//! a large file's parts in order), the `Reader` turns notes
//! into [`SourceNote`]s (`card_file`, `text_file`), naming media through the `media`
//! index, and collects the diagnostics.

mod card_file;
mod deck_settings;
mod emphasis;
pub(crate) mod highlight;
mod identities;
mod load;
pub(crate) mod markdown;
mod media;
pub(crate) mod notetypes;
pub(crate) mod parse;
mod reader;
mod slips;
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
        let load = |path: &PathBuf| Load::read(path);
        read_cards(&mut reader, files.cards.iter(), load, sink)?;
        read_the_rest(reader, &files.others, scratch, sink)
    }

    /// Reads back the card files of `root` as they are written: each of `jobs` (its
    /// file's path and what `write` makes its text from) is written by `write` on the
    /// pool's threads and read as it comes, while later files are still being written,
    /// the Markdown whose HTML `write` gives with the text taken instead of rendered;
    /// then the rest of the folder (note types and deck settings, already there).
    /// `unpack` proves so that what it writes reads back, without a second pass over
    /// the folder. A card file written but not found, or found but not written, is an
    /// error of the sources read.
    pub(crate) fn read_as_written<J: Send>(
        root: &Path,
        jobs: impl Iterator<Item = (PathBuf, J)> + Send,
        write: impl Fn(&Path, J) -> std::io::Result<(String, markdown::KnownRenderings)> + Sync,
        sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
    ) -> Result<Sources> {
        let mut reader = Reader::new(root)?;
        reader.custom = notetypes::CustomTypes::load(root, &mut reader.diagnostics);
        let mut written = Vec::new();
        let jobs = jobs.inspect(|(path, _)| written.push(path.clone()));
        let load = |(path, job): (PathBuf, J)| match write(&path, job) {
            Ok((text, known)) => Load::in_parts(path, load::without_bom_and_crs(text), Some(known)),
            Err(e) => {
                let unreadable = Err(load::unreadable(&path, e));
                Load::File(Loaded::from_text(path, unreadable, None))
            }
        };
        read_cards(&mut reader, jobs, load, sink)?;
        let files = source_files(root, &mut reader.diagnostics);
        let mut found = files.cards;
        written.sort();
        found.sort();
        let missing = |of: &[PathBuf], p: &&PathBuf| of.binary_search(p).is_err();
        for path in written.iter().filter(|p| missing(&found, p)) {
            reader.problem(
                path,
                0,
                Problem::Unreadable("written, then not found".into()),
            );
        }
        for path in found.iter().filter(|p| missing(&written, p)) {
            reader.problem(
                path,
                0,
                Problem::Unreadable("found, but not written".into()),
            );
        }
        read_the_rest(reader, &files.others, None, sink)
    }
}

/// Reads the card files in `jobs`' order, each made by `load` on the pool's threads,
/// handing their notes to `sink` a file's (or a part's) at a time.
fn read_cards<J: Send>(
    reader: &mut Reader,
    jobs: impl Iterator<Item = J> + Send,
    load: impl Fn(J) -> Load + Sync,
    sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
) -> Result<()> {
    // Loading and rendering Markdown is most of the work and needs nothing from other
    // files, so each file is a job of its own on the pool's threads, while this
    // closure, in the pool too, takes the files in order and does what must be in
    // order (media names, identities, diagnostics). At most `AHEAD` files wait, which
    // bounds memory: rendered notes take some 1 KB each, and files can hold thousands.
    crate::pipeline::in_order(jobs, AHEAD, load, |loaded| {
        for file in loaded {
            crate::cancel::check()?;
            match file {
                Load::File(file) => {
                    reader.read_file(file);
                    hand_out(reader, sink)?;
                }
                Load::Parts(file) => {
                    let known = file.known.as_ref();
                    let parts = parse::parts(&file.text, PART)
                        .map(|(range, first_line)| (Ok(file.text[range].to_string()), first_line));
                    read_parts(reader, &file.path, parts, known, sink)?
                }
                Load::Stream(path, total) => {
                    let parts = load::read_parts(&path, total, PART);
                    read_parts(reader, &path, parts, None, sink)?
                }
            }
        }
        Ok::<_, Error>(())
    })
}

/// Reads a card file's `parts` (their texts and first lines) as they are ready, in
/// order, while later ones are made; each part's notes go to `sink` while the reader
/// takes the next, in a task that another thread takes up when it has nothing else to
/// do, which the parts of one file leave it. (Between whole files it costs more than
/// it saves: threads wait on each other's tasks.)
fn read_parts(
    reader: &mut Reader,
    path: &Path,
    parts: impl Iterator<Item = (std::result::Result<String, Box<Diagnostic>>, usize)> + Send,
    known: Option<&markdown::KnownRenderings>,
    sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
) -> Result<()> {
    let load = |(text, first_line): (std::result::Result<String, _>, usize)| match text {
        Ok(text) => Loaded::part(path, text, first_line, known),
        Err(unreadable) => Loaded::from_text(path.into(), Err(unreadable), None),
    };
    let mut read = Vec::new();
    crate::pipeline::in_order(parts, AHEAD, load, |parts| {
        for part in parts {
            crate::cancel::check()?;
            let before = std::mem::take(&mut read);
            let ((), handed) = rayon::join(|| reader.read_file(part), || hand(before, sink));
            handed?;
            read = reader.take_notes();
        }
        hand(read, sink)
    })
}

/// A card file loaded, or to be loaded in parts: from its text, or from the file
/// (its path and size) as it is read.
enum Load {
    File(Loaded),
    Parts(InParts),
    Stream(PathBuf, usize),
}

/// A card file whose text came whole, to be parsed and rendered in parts
/// ([`parse::parts`]), each read as it is ready while the next are still made: one
/// large file need not be parsed on one core, nor wait whole for the reader.
struct InParts {
    path: PathBuf,
    text: String,
    known: Option<markdown::KnownRenderings>,
}

/// Parts of about this many bytes (a thousand short notes).
const PART: usize = 256 * 1024;

impl Load {
    /// The card file at `path`, read; a large one as it is read, in parts.
    fn read(path: &Path) -> Load {
        let size = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
        // A file that is not UTF-8 throughout is read whole, for the error.
        if size >= 2 * PART && load::is_utf8(path) {
            return Load::Stream(path.to_path_buf(), size);
        }
        match read_text(path) {
            Ok(text) => Load::in_parts(path.to_path_buf(), text, None),
            Err(unreadable) => Load::File(Loaded::from_text(path.into(), Err(unreadable), None)),
        }
    }

    /// The card file at `path` whose text is `text`, in parts if it is large, its
    /// Markdown whose HTML is `known` taken instead of rendered.
    fn in_parts(path: PathBuf, text: String, known: Option<markdown::KnownRenderings>) -> Load {
        let large = parse::parts(&text, PART).nth(1).is_some();
        match large {
            false => Load::File(Loaded::from_text(path, Ok(text), known.as_ref())),
            true => Load::Parts(InParts { path, text, known }),
        }
    }
}

/// Hands `notes` to `sink`, if there are any.
fn hand(
    notes: Vec<SourceNote>,
    sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
) -> Result<()> {
    match notes.is_empty() {
        true => Ok(()),
        false => sink(notes),
    }
}

/// Hands the notes read so far to `sink`.
fn hand_out(
    reader: &mut Reader,
    sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
) -> Result<()> {
    hand(reader.take_notes(), sink)
}

/// What follows the card files: the text files among `others` (their notes handed to
/// `sink` too), the deck settings, and the checks that need every file read.
fn read_the_rest(
    mut reader: Reader,
    others: &[PathBuf],
    scratch: Option<&Path>,
    sink: &mut (dyn FnMut(Vec<SourceNote>) -> Result<()> + Send),
) -> Result<Sources> {
    let texts = others
        .iter()
        .filter(|f| has_extension(f, text_file::EXTENSIONS));
    for file in texts {
        crate::cancel::check()?;
        text_file::read(&mut reader, file);
        hand_out(&mut reader, sink)?;
    }
    let settings = others
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == deck_settings::FILE));
    let root = reader.root;
    reader.decks = deck_settings::load(root, settings.cloned().collect(), &mut reader.diagnostics);
    // A media file's hashing stopped by a cancel shows up as unreadable media.
    crate::cancel::check()?;
    if let Some(e) = reader.seen.failure() {
        return Err(Error::io(scratch.unwrap_or(root), e));
    }
    Ok(reader.finish(others))
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

/// Whether `text`, parsed in parts of `size` bytes or more ([`parse::parts`]), gives
/// the notes and problems it gives parsed whole: for the property tests and the fuzz
/// target, which feed it arbitrary text with small parts.
pub fn parts_parse_as_whole(text: &str, size: usize) -> bool {
    let mut parts = parse::parts(text, size);
    let Some((first, _)) = parts.next() else {
        return false;
    };
    let (mut parsed, mut problems) = parse::parse(&text[first]);
    for (range, line) in parts {
        let part = &text[range];
        let starts_note = part.starts_with("## ") || part == "##" || part.starts_with("##\n");
        let (notes, more) = parse::parse_part(part, line);
        if !starts_note || notes.is_empty() {
            return false;
        }
        parsed.notes.extend(notes);
        problems.extend(more);
    }
    (parsed, problems) == parse::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card file large enough to be read in parts reads as it would whole: the front
    /// matter's deck and tags reach the notes of every part, and a problem in a later
    /// part is placed on its line and column in the file.
    #[test]
    fn a_large_card_file_reads_in_parts_as_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("---\ndeck: Big::One\ntags: [big]\n---\n");
        let notes = 4 * PART / 30;
        for i in 0..notes {
            text.push_str(&format!("\n## Question {i}\n\nAnswer *{i}*.\n"));
        }
        text.push_str("\n## Odd one\ntpye: Basic\n\nAnswer.\n");
        assert!(parse::parts(&text, PART).count() > 2);
        std::fs::write(dir.path().join("big.md"), &text).unwrap();
        let sources = Sources::read_lenient(dir.path()).unwrap();
        assert_eq!(sources.notes.len(), notes + 1);
        let last = &sources.notes[notes - 1].note;
        assert_eq!(
            last.fields[1],
            format!("<p>Answer <em>{}</em>.</p>", notes - 1)
        );
        assert_eq!(
            (last.deck.as_str(), &last.tags[..]),
            ("Big::One", &["big".into()][..])
        );
        let [typo] = &sources.warnings[..] else {
            panic!("{:?}", sources.warnings)
        };
        assert_eq!(
            (typo.line, typo.column, typo.len),
            (text.lines().count() - 2, 1, 5)
        );
        assert!(
            matches!(typo.problem, Problem::UnknownSetting { .. }),
            "{typo:?}"
        );
        // With a byte order mark and Windows line ends, the same notes.
        let windows = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        std::fs::write(dir.path().join("big.md"), &windows).unwrap();
        let again = Sources::read_lenient(dir.path()).unwrap();
        let fields = |s: &Sources| {
            s.notes
                .iter()
                .map(|n| n.note.fields.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&again), fields(&sources));
        assert_eq!(again.warnings, sources.warnings);
        // A byte that is no UTF-8 near the end: the file is refused whole, as a small one.
        let mut bytes = text.clone().into_bytes();
        let at = text.rfind("Answer.").unwrap();
        bytes[at] = 0xff;
        std::fs::write(dir.path().join("big.md"), &bytes).unwrap();
        let broken = Sources::read_lenient(dir.path()).unwrap();
        assert!(broken.notes.is_empty());
        let [utf8] = &broken.warnings[..] else {
            panic!("{:?}", broken.warnings)
        };
        assert_eq!(utf8.line, text.lines().count());
        assert!(matches!(utf8.problem, Problem::InvalidUtf8(..)), "{utf8:?}");
    }

    /// What is read back as written is what a reader of the folder would read: the
    /// notes of each file as it is written, in order; and a card file in the folder
    /// that was not written is an error, as is one written and then gone.
    #[test]
    fn card_files_are_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("stray.md"), "## Stray\n\nNot written here.\n").unwrap();
        let jobs = ["a", "b", "gone"].map(|name| (root.join(format!("{name}.md")), name));
        let write = |path: &Path, name: &str| {
            let text = format!("## Q {name}\n\nA *{name}*\n");
            std::fs::write(path, &text)?;
            if name == "gone" {
                std::fs::remove_file(path)?;
            }
            Ok((text, markdown::KnownRenderings::default()))
        };
        let mut read = Vec::new();
        let sources = Sources::read_as_written(root, jobs.into_iter(), write, &mut |n| {
            read.extend(n.into_iter().map(|n| n.note.fields));
            Ok(())
        })
        .unwrap();
        let fields = |name: &str| vec![format!("Q {name}"), format!("<p>A <em>{name}</em></p>")];
        assert_eq!(read, [fields("a"), fields("b"), fields("gone")]);
        let unread: Vec<(String, &Problem)> = (sources.warnings.iter())
            .map(|d| {
                (
                    d.file.file_name().unwrap().to_string_lossy().into(),
                    &d.problem,
                )
            })
            .collect();
        assert_eq!(
            unread,
            [
                (
                    "gone.md".into(),
                    &Problem::Unreadable("written, then not found".into())
                ),
                (
                    "stray.md".into(),
                    &Problem::Unreadable("found, but not written".into())
                ),
            ]
        );
    }

    /// A note's `deck:`, `tags:`, `type:` and `format:` mean what the same values mean in
    /// front matter: quotes around the whole value are YAML's (escapes read); curly
    /// quotes stay text, with a warning; an empty `deck:`, `type:` or `format:` counts as
    /// absent.
    #[test]
    fn note_settings_read_values_as_front_matter_does() {
        let values = [
            ("deck", "\"Physics :: Waves\""),
            ("deck", "'Physics'"),
            ("deck", "\"Caf\\u00e9\""),
            ("deck", "'it''s'"),
            ("tags", "\"物理\""),
            ("tags", "'a b'"),
            ("tags", "'[x, y]'"),
            ("type", "\"reversed\""),
            ("format", "'html'"),
        ];
        let read = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.md"), text).unwrap();
            let sources = Sources::read_lenient(dir.path()).unwrap();
            let [source] = &sources.notes[..] else {
                panic!("{text:?}: {:?}", sources.notes.len())
            };
            let note = &source.note;
            let quoted = |t: &String| t.starts_with(['"', '\'']);
            assert!(
                !quoted(&note.deck) && !note.tags.iter().any(quoted),
                "{text:?}"
            );
            let read = (&note.deck, &note.tags, &source.notetype.name, &note.fields);
            let read = format!("{read:?}");
            (read, sources.warnings.len())
        };
        for (key, value) in values {
            let front = read(&format!("---\n{key}: {value}\n---\n## Q\n*A*\n"));
            let note = read(&format!("---\n---\n## Q\n{key}: {value}\n\n*A*\n"));
            assert_eq!(note, front, "{key}: {value}");
        }
        for key in ["deck", "type", "format"] {
            let empty = read(&format!("## Q\n{key}:\n\n*A*\n"));
            assert_eq!(empty, read("## Q\n\n*A*\n"), "{key}:");
        }
        // Not one quoted scalar: the text as written.
        for value in ["\"a\" \"b\"", "\"a", "“P”"] {
            let dir = tempfile::tempdir().unwrap();
            let text = format!("## Q\ndeck: {value}\n\n*A*\n");
            std::fs::write(dir.path().join("a.md"), text).unwrap();
            let sources = Sources::read_lenient(dir.path()).unwrap();
            assert_eq!(sources.notes[0].note.deck, value);
        }
    }
}
