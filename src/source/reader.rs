//! What reading the files of a source folder accumulates, in file order: notes and their
//! identities, media, diagnostics, and the note types notes can use. Card files
//! ([`super::card_file`]) and text files ([`super::text_file`]) add to it.

use super::load::control_characters;
use super::media::MediaIndex;
use super::notetypes;
use super::Sources;
use crate::deck::DeckSettings;
use crate::error::{Diagnostic, Problem, Result};
use crate::note::SourceNote;
use crate::notetype::{NoteType, Stock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) struct Reader<'a> {
    pub root: &'a Path,
    pub canonical_root: PathBuf,
    pub notes: Vec<SourceNote>,
    /// Notes already handed out of `notes` (a build streams them).
    pub handed_out: usize,
    pub diagnostics: Vec<Diagnostic>,
    pub media: MediaIndex,
    pub files: usize,
    /// A card file could not be read as notes, so which media it uses is not known: no
    /// media file is reported as unused.
    pub media_uses_unknown: bool,
    /// guid → where the note with that guid was written.
    pub seen: super::identities::Identities,
    /// The legacy guids the lock knows notes by, which they keep.
    pub legacy: crate::ids::LegacyGuids,
    /// The file being read.
    pub current_file: Arc<Path>,
    /// What its front matter sets, for its parts after the first.
    pub current_defaults: Option<super::card_file::FileDefaults>,
    /// The stock note types, indexed by [`Stock`], shared by the notes that use them.
    pub stock: Vec<Arc<NoteType>>,
    /// Note types from `_notetypes/`.
    pub custom: notetypes::CustomTypes,
    pub decks: Vec<(String, DeckSettings)>,
}

impl<'a> Reader<'a> {
    pub fn new(root: &'a Path) -> Result<Reader<'a>> {
        let canonical_root = super::source_folder(root)?;
        let own_names =
            Some(canonical_root.join(super::media::OWN_NAMES_FOLDER)).filter(|dir| dir.is_dir());
        Ok(Reader {
            root,
            canonical_root,
            notes: Vec::new(),
            handed_out: 0,
            diagnostics: Vec::new(),
            media: MediaIndex::with_own_names(own_names),
            files: 0,
            media_uses_unknown: false,
            seen: Default::default(),
            legacy: crate::ids::LegacyGuids::default(),
            current_file: Arc::from(root),
            current_defaults: None,
            stock: Stock::ALL.iter().map(|s| Arc::new(s.notetype())).collect(),
            custom: notetypes::CustomTypes::default(),
            decks: Vec::new(),
        })
    }

    /// The notes read since the last call, counted as handed out.
    pub fn take_notes(&mut self) -> Vec<SourceNote> {
        let notes = std::mem::take(&mut self.notes);
        self.handed_out += notes.len();
        notes
    }

    /// The sources read, after the checks that need every file read: nothing at all to
    /// package (no notes, no custom note types, no decks with settings), media files no
    /// note uses.
    pub fn finish(mut self, other_files: &[PathBuf]) -> Sources {
        let notetypes = self.custom.all();
        let nothing = self.notes.is_empty()
            && self.handed_out == 0
            && notetypes.is_empty()
            && self.decks.is_empty();
        if nothing && self.diagnostics.is_empty() {
            self.problem(self.root, 0, Problem::NoNotes);
        }
        let checked = if self.media_uses_unknown {
            &[][..]
        } else {
            other_files
        };
        for file in checked {
            if self.media.is_unused(file) {
                let name = file
                    .strip_prefix(self.root)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                self.problem(file, 0, Problem::UnusedMedia(name));
            }
        }
        crate::error::sort_diagnostics(&mut self.diagnostics);
        self.media.add_unreferenced_own_names();
        let mut media = self.media.into_files();
        media.extend(self.custom.media);
        Sources {
            notes: self.notes,
            media,
            files: self.files,
            warnings: self.diagnostics,
            decks: self.decks,
            notetypes,
        }
    }

    pub fn problem(&mut self, file: &Path, line: usize, problem: Problem) {
        self.diagnostics.push(Diagnostic::new(file, line, problem));
    }

    /// A stock note type, shared.
    pub fn stock(&self, stock: Stock) -> Arc<NoteType> {
        Arc::clone(&self.stock[stock as usize])
    }

    /// Control characters other than tab and newline are not allowed in Anki fields.
    pub fn check_characters(&mut self, path: &Path, text: &str) {
        for (line, problem) in control_characters(text) {
            self.problem(path, line, problem);
        }
    }

    /// A note type by name: one from `_notetypes/` first, then a stock one (by our key or
    /// Anki's name), then, as Anki's text files may give it, by id.
    pub fn find_notetype(&self, name: &str) -> Option<Arc<NoteType>> {
        let name = name.trim();
        if let Some(custom) = self.custom.find(name) {
            return Some(custom);
        }
        if let Some(stock) = Stock::find(name) {
            return Some(self.stock(stock));
        }
        let id: i64 = name.parse().ok()?;
        self.stock
            .iter()
            .find(|nt| nt.id == id)
            .cloned()
            .or_else(|| self.custom.find_id(id))
    }

    /// The problem for a note type `name` that [`Reader::find_notetype`] does not know,
    /// suggesting the known name nearest to it: stock ones (our names first, then Anki's)
    /// and custom ones.
    pub fn unknown_notetype(&self, name: &str) -> Problem {
        let name = name.trim();
        let stock = Stock::ALL.iter().map(|s| s.key());
        let anki = Stock::ALL.iter().map(|s| s.anki_name());
        let mut custom: Vec<&str> = self.custom.names().collect();
        custom.sort_unstable(); // the first of equally near names, whatever the hash order
        let known = stock.chain(anki).chain(custom);
        Problem::UnknownNoteType {
            name: name.to_string(),
            meant: crate::suggest::nearest(name, known).map(str::to_string),
        }
    }

    /// Records that the note at `file:line` (of a file of any kind) has the identity
    /// `guid`, unless an earlier note has it: then the problem, naming where that one
    /// is. A note with other errors claims its identity too, so that they do not hide a
    /// duplicate.
    pub fn claim_identity(
        &mut self,
        guid: &str,
        file: &Arc<Path>,
        line: usize,
    ) -> Result<(), Problem> {
        if let Some((file, line)) = self.seen.get(guid) {
            let other = format!("{}:{}", file.display(), line);
            return Err(Problem::DuplicateNote {
                other,
                id: None,
                key: "id",
            });
        }
        self.seen.insert(guid, file, line);
        Ok(())
    }

    /// Whether a note read before has the identity `guid`.
    pub fn identity_taken(&self, guid: &str) -> bool {
        self.seen.get(guid).is_some()
    }

    /// `nlp/basics.md` → `nlp::basics`.
    pub fn deck_from_path(&self, path: &Path) -> String {
        deck_from_path(self.root, path)
    }
}

/// The deck a file's notes go to when nothing names one: its path below `root`, without
/// the extension, folders as deck levels.
fn deck_from_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path).with_extension("");
    let levels: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    levels.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deck_follows_the_path_below_the_root() {
        let root = Path::new("/cards");
        assert_eq!(
            deck_from_path(root, Path::new("/cards/nlp/basics.md")),
            "nlp::basics"
        );
        assert_eq!(deck_from_path(root, Path::new("/cards/top.md")), "top");
        assert_eq!(
            deck_from_path(root, Path::new("/cards/a/b.c/v1.2.md")),
            "a::b.c::v1.2",
            "only the file's last extension goes"
        );
    }

    #[test]
    fn a_second_note_with_one_identity_names_the_first() {
        let mut reader = Reader::new(Path::new(".")).unwrap();
        let file: Arc<Path> = Arc::from(Path::new("a.md"));
        assert_eq!(reader.claim_identity("g", &file, 3), Ok(()));
        assert_eq!(reader.claim_identity("h", &file, 5), Ok(()));
        assert_eq!(
            reader.claim_identity("g", &file, 9),
            Err(Problem::DuplicateNote {
                other: "a.md:3".into(),
                id: None,
                key: "id",
            })
        );
    }

    #[test]
    fn note_types_are_found_by_key_name_or_id() {
        let reader = Reader::new(Path::new(".")).unwrap();
        let basic = reader.stock(Stock::Basic);
        let by_id = reader.find_notetype(&format!(" {} ", basic.id)).unwrap();
        assert_eq!(by_id.name, basic.name);
        assert_eq!(reader.find_notetype(&basic.name).unwrap().id, basic.id);
        assert!(reader.find_notetype("no such type").is_none());
    }
}
