//! The library's errors. Problems in what the user wrote are [`Diagnostic`]s that name the
//! file and line; everything else is an I/O or package-writing failure.

use std::fmt;
use std::path::PathBuf;

/// A problem in the card sources, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.problem)
        } else {
            write!(f, "{}: {}", self.file.display(), self.problem)
        }
    }
}

/// What is wrong in the sources. Each variant's [`Problem::hint`] says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("file is not valid UTF-8 (first bad byte at offset {0})")]
    InvalidUtf8(usize),
    #[error("front matter is not valid: {0}")]
    FrontMatter(String),
    #[error("front matter starts with `---` but is never closed")]
    UnclosedFrontMatter,
    #[error("text before the first `## ` heading belongs to no note")]
    TextOutsideNote,
    #[error("the heading is empty")]
    EmptyHeading,
    #[error("unknown setting `{0}`")]
    UnknownSetting(String),
    #[error("setting `{0}` is given twice")]
    DuplicateSetting(String),
    #[error("unknown note type `{0}`")]
    UnknownNoteType(String),
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
    #[error("note type `{notetype}` has no field `{field}` (its fields: {fields})")]
    UnknownField {
        notetype: String,
        field: String,
        fields: String,
    },
    #[error("field `{0}` is given twice")]
    DuplicateField(String),
    #[error("cloze deletion `{{{{c…::}}}}` in a note of type `{0}`, which is not a cloze type")]
    ClozeInNonCloze(String),
    #[error("{0}")]
    Cards(#[from] crate::notetype::CardError),
    #[error("{0}")]
    Name(#[from] crate::note::NameError),
    #[error("media file `{reference}` not found (looked for {path})")]
    MissingMedia { reference: String, path: PathBuf },
    #[error("media file `{0}` lies outside the source folder")]
    MediaOutsideSource(String),
    #[error("cannot read media file `{reference}`: {message}")]
    UnreadableMedia { reference: String, message: String },
    #[error("this note has the same identity as the note at {other}")]
    DuplicateNote { other: String },
    #[error("cannot read file: {0}")]
    Unreadable(String),
}

impl Problem {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Problem::InvalidUtf8(_) => "save the file as UTF-8",
            Problem::FrontMatter(_) => "front matter takes `deck: Name`, `tags: [a, b]`, `type: basic` and `format: markdown|html`",
            Problem::UnclosedFrontMatter => "end the front matter with a line `---`",
            Problem::TextOutsideNote => "move the text under a `## ` heading, make it a `# ` title, or delete it",
            Problem::EmptyHeading => "write the question (the first field) after `## `",
            Problem::UnknownSetting(_) => "settings under a heading are `id`, `type`, `tags`, `deck` and `format`; leave a blank line before the answer",
            Problem::DuplicateSetting(_) | Problem::DuplicateField(_) => "keep one of them",
            Problem::UnknownNoteType(_) => "use one of basic, reversed, optional-reversed, type-in, cloze",
            Problem::UnknownFormat(_) => "use `format: markdown` or `format: html`",
            Problem::UnknownField { .. } => "rename the `### ` section to one of the fields, or use `####` for a heading inside the answer",
            Problem::ClozeInNonCloze(_) => "remove the `type:` setting (a heading with `{{c1::…}}` is a cloze note by itself) or use `type: cloze`",
            Problem::Cards(_) => "fill in the field the card's front shows, or add a cloze deletion",
            Problem::Name(_) => "rename it",
            Problem::MissingMedia { .. } => "check the path; it is relative to the card file",
            Problem::MediaOutsideSource(_) => "copy the file into the source folder",
            Problem::UnreadableMedia { .. } | Problem::Unreadable(_) => "check the file's permissions",
            Problem::DuplicateNote { .. } => "give one of the notes a distinct `id:` line, or delete the duplicate",
        })
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} problem{} in the card sources", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Input(Vec<Diagnostic>),
    #[error("note `{guid}`: {problem}")]
    Note { guid: String, problem: Problem },
    #[error("media name `{0}` is not allowed by Anki (no path separators, control characters or any of \\ / : * ? \" < > | [ ] ^, no Windows device name like CON, no trailing dot or space, at most 120 bytes)")]
    MediaName(String),
    #[error("note type `{0}` was not added to the package")]
    MissingNoteType(i64),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the collection database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("writing the zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
