//! The library's errors. Problems in what the user wrote are [`Diagnostic`]s that name the
//! file and line; everything else is an I/O or package-writing failure.

use crate::notetype::CardError;
use crate::suggest::did_you_mean;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a [`Problem`] is: errors stop the build, warnings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The build stops; nothing is written.
    Error,
    /// Reported; the build goes on (unless warnings are denied).
    Warning,
}

/// A problem in the card sources, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file the problem is in (the source folder or a lock for some).
    pub file: PathBuf,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column (in characters); 0 when unknown.
    pub column: usize,
    /// How many characters from `column` the offending text spans; 0 when unknown, so
    /// that a renderer marks the one column.
    pub len: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl Diagnostic {
    /// A problem at `line` of `file` (0 for the whole file), column unknown until
    /// [`Diagnostic::locate`].
    pub fn new(file: impl Into<PathBuf>, line: usize, problem: Problem) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            column: 0,
            len: 0,
            problem,
        }
    }

    /// A problem about a whole line, such as a note's heading: column 1.
    pub fn at_line_start(file: impl Into<PathBuf>, line: usize, problem: Problem) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            column: usize::from(line > 0),
            len: 0,
            problem,
        }
    }

    /// Fills in the column and span from the text of the file the problem is in: where
    /// the problem's subject (a key, a reference, a character) stands on its line.
    pub fn locate(&mut self, file_text: &str) {
        self.locate_from(file_text, 1);
    }

    /// [`Diagnostic::locate`] in a part of the file, `text`, whose first line is the
    /// file's line `first_line`.
    pub fn locate_from(&mut self, text: &str, first_line: usize) {
        if self.line < first_line.max(1) || self.column > 0 {
            return;
        }
        let Some(line) = text.lines().nth(self.line - first_line) else {
            return;
        };
        if let Problem::FrontMatter {
            column: column @ 1..,
            ..
        } = self.problem
        {
            // The YAML parser's column: front matter lines are the file's lines.
            self.column = column;
            return;
        }
        let (needle, nth) = match self.problem.spot() {
            Some(spot) => (Some(spot.text.clone()), spot.nth),
            None => (self.problem.needle(), 0),
        };
        let at = |n: &str| line.match_indices(n).nth(nth).map(|(byte, _)| byte);
        (self.column, self.len) = match needle.as_deref().and_then(|n| Some((n, at(n)?))) {
            Some((needle, byte)) => (line[..byte].chars().count() + 1, needle.chars().count()),
            None => (1, 0),
        };
    }

    /// `file:line:column`, leaving out what is unknown.
    pub fn place(&self) -> String {
        match (self.line, self.column) {
            (0, _) => self.file.display().to_string(),
            (line, 0) => format!("{}:{line}", self.file.display()),
            (line, column) => format!("{}:{line}:{column}", self.file.display()),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.problem)
    }
}

/// Orders diagnostics by file, line and column, keeping the order of those at one place.
pub(crate) fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

/// Where on its line a problem's subject stands: the `nth` (from 0) occurrence of `text`
/// on the line, for text that may stand there more than once (`{{c1::` say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    /// The text as it stands on the line.
    pub text: String,
    /// Which of its occurrences on the line, from 0.
    pub nth: usize,
}

/// What is wrong in the sources. Each variant's [`Problem::hint`] says what to do.
///
/// A variant's message (its `Display`) says what it means, and docs/FORMAT.md lists each
/// by its [`Problem::code`] with its hint; so the variants carry no doc comments of
/// their own, and new ones are added without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Problem {
    /// The offset of the first byte that is not UTF-8, and what those bytes may be.
    #[error("file is not valid UTF-8 (first bad byte at offset {0}: {1})")]
    InvalidUtf8(usize, String),
    #[error("file is UTF-16, not UTF-8: it starts with a UTF-16 byte order mark")]
    Utf16,
    #[error("this is a card file saved with `.txt` after `.md`: it is not read; name it `{0}`")]
    CardFileSavedAsText(String),
    #[error("control character {} is not allowed in Anki fields", char_name(*.0))]
    ControlCharacter(char),
    /// `column` is 1-based on the problem's line, 0 when the parser gave none.
    #[error("front matter is not valid: {message}")]
    FrontMatter { message: String, column: usize },
    #[error("front matter starts with `---` but is never closed")]
    UnclosedFrontMatter,
    #[error("text before the first `## ` heading belongs to no note")]
    TextOutsideNote,
    #[error("the heading is empty")]
    EmptyHeading,
    /// `meant` is the line with the setting it most likely stands for (`type: cloze`).
    #[error("unknown setting `{key}` under the heading; the line is kept as answer text{}", did_you_mean(.meant.as_deref()))]
    UnknownSetting { key: String, meant: Option<String> },
    /// A line under the heading shaped almost like a setting (`type:reversed`,
    /// `Tags: x`): `key` as written, `meant` the setting it most likely stands for.
    #[error("this line looks like a setting but is not one, so it is kept as answer text; did you mean `{meant}`?")]
    MisspelledSetting { key: String, meant: String },
    /// A front-matter value cut short by YAML: ` #` starts a comment there, so the value
    /// of `key` leaves out `comment` (the text from the `#`).
    #[error("` #` starts a comment in front matter, so `{key}` leaves out `{comment}`")]
    FrontMatterComment { key: String, comment: String },
    /// A line meant as a heading that Markdown reads as text of the note above: hashes
    /// run into the text (`##Question`), or `odd`, a character that looks like a space
    /// or a `#` or is invisible, where a heading's marks or their space should be. `at` is
    /// the text to point at (the hashes and the next character, or `odd`), `meant` the
    /// line as a heading.
    #[error("{}", heading_without_space(.at, *.odd, .meant))]
    HeadingWithoutSpace {
        at: String,
        odd: Option<char>,
        meant: String,
    },
    #[error("setting `{0}` is given twice")]
    DuplicateSetting(String),
    #[error("unknown note type `{name}`{}", did_you_mean(.meant.as_deref()))]
    UnknownNoteType { name: String, meant: Option<String> },
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
    #[error("note type `{notetype}` has no field `{field}` (its fields: {fields}){}", did_you_mean(.meant.as_deref()))]
    UnknownField {
        notetype: String,
        field: String,
        fields: String,
        /// Boxed to keep `Problem` (and `Error`) small.
        meant: Option<Box<str>>,
    },
    #[error("field `{0}` is given twice")]
    DuplicateField(String),
    #[error("cloze deletion `{{{{c…::}}}}` in a note of type `{0}`, which is not a cloze type")]
    ClozeInNonCloze(String),
    #[error("unclosed cloze deletion: `{}` has no `}}}}`, so Anki would drop it and the text after it", .0.text)]
    UnclosedCloze(Spot),
    #[error("`{}` is not a cloze deletion (it has one colon after the number); Anki shows it as written", .0.text)]
    SingleColonCloze(Spot),
    #[error("cloze deletion c{number} is only in field `{field}`, which the card's front does not show: Anki would make card {number} with an empty front")]
    ClozeNotOnFront {
        number: u16,
        field: String,
        at: Spot,
    },
    #[error("cloze deletion in field `{field}`, which the card shows as written: Anki would show its `{{{{c…::` and `}}}}`")]
    ClozeShownAsWritten { field: String, at: Spot },
    #[error("{0}")]
    Cards(#[from] crate::notetype::CardError),
    #[error("{0}")]
    Name(#[from] crate::deck::NameError),
    #[error("media file `{reference}` not found (looked for {path}){}", crate::suggest::did_you_mean(nearest.as_deref()))]
    MissingMedia {
        reference: String,
        path: PathBuf,
        nearest: Option<String>,
    },
    #[error("media file `{0}` lies outside the source folder")]
    MediaOutsideSource(String),
    #[error("cannot read media file `{reference}`: {message}")]
    UnreadableMedia { reference: String, message: String },
    #[error("media file `{reference}` is a {kind}, not a file")]
    MediaNotAFile { reference: String, kind: String },
    /// `id` is the note's `id:` (or, when `key` says so, `guid:`) setting, when its
    /// identity comes from one.
    #[error("{}", duplicate_note(.key, .id.as_deref(), .other))]
    DuplicateNote {
        other: String,
        id: Option<String>,
        key: &'static str,
    },
    #[error("cannot read file: {0}")]
    Unreadable(String),
    #[error("the path is too long for the system ({0} bytes), so it cannot be read")]
    PathTooLong(usize),
    #[error("no notes found (no `## ` heading in a .md file and no row in a .csv, .tsv or .txt file below this folder)")]
    NoNotes,
    #[error("`id:` is empty")]
    EmptyId,
    #[error("`guid:` is empty or holds a tab")]
    BadGuid,
    #[error("a note has either `id:` or `guid:`, not both")]
    IdAndGuid,
    #[error("`card-deck:` takes a card number and a deck, as in `card-deck: 2 French::Verbs`")]
    BadCardDeck,
    #[error("`empty-cards:` takes card numbers from 1 to 500, as in `empty-cards: 2 3`")]
    BadEmptyCards,
    #[error("`skip-cards:` takes card numbers from 1 to 500, as in `skip-cards: 2 3`")]
    BadSkipCards,
    /// A card number of `empty-cards:` or `skip-cards:` that the note cannot have as
    /// written: `at` is the number (or the setting, for one about the whole line).
    #[error("{error}")]
    CardSetting {
        /// Boxed to keep `Problem` (and `Error`) small.
        error: Box<CardError>,
        at: Spot,
    },
    #[error("card {number} is not a card of this note (its cards: {cards})")]
    NoSuchCard { number: u16, cards: String },
    #[error("the lock file is damaged: {0}")]
    BadLock(String),
    #[error("the lock file is out of date (--locked)")]
    LockOutdated,
    /// Custom note types, CSV files and deck settings (see `source::notetypes`).
    #[error("{0}")]
    Rich(Box<RichProblem>),
    // Warnings: things Anki will not do on re-import. A `nid` is the note's id in the
    // user's collection as the lock knows it (see `lock::RemovedNote::nid`).
    #[error("note moved from deck `{from}` to `{to}`; Anki keeps its existing cards in `{from}` (find them with `nid:{nid}`)")]
    MovedDeck { from: String, to: String, nid: i64 },
    #[error("card {card} moved from deck `{from}` to `{to}`; Anki keeps it in `{from}` (find it with `nid:{nid} card:{card}`)")]
    MovedCard {
        card: u16,
        from: String,
        to: String,
        nid: i64,
    },
    #[error("cloze deletions were renumbered ({moves}); Anki keeps review progress with the number, so it now belongs to another deletion")]
    ClozeRenumbered { moves: String },
    #[error("cloze deletion {numbers} was removed; its card stays in Anki, now empty")]
    ClozeRemoved { numbers: String },
    #[error("the note's type changed from `{from}` to `{to}`; Anki will not update the note it has (it reports it as conflicting)")]
    NoteTypeChanged { from: String, to: String },
    #[error("the first field duplicates the note at {other} (same note type and deck); Anki will flag it as a duplicate")]
    DuplicateFirstField { other: String },
    #[error("field `{0}` is empty, but the card shows it")]
    EmptyField(String),
    #[error("unbalanced HTML in field `{field}`: {detail}")]
    UnbalancedHtml { field: String, detail: String },
    #[error("media file `{0}` is not used by any note")]
    UnusedMedia(String),
    #[error("this is a {0}, not a regular file; it is not read")]
    NotAFile(String),
    #[error("media file `{reference}` is large ({megabytes} MB); phones sync it slowly")]
    LargeMedia { reference: String, megabytes: u64 },
    #[error("media file `{0}` is in neither the card file's folder nor `_media/`; the reference stays as written, and Anki shows it as a missing file")]
    MediaNotUnpacked(String),
    #[error("note type `{0}` gained, lost or renamed fields or templates; Anki adds it as a copy and skips the existing notes unless you import with \"Merge note types\"")]
    NoteTypeSchemaChanged(String),
    /// A code fence opened in a note and never closed: `fence` is its run of backticks
    /// or tildes; `swallowed` the line of the first `## ` heading it takes for code.
    #[error("{}", unclosed_fence(.fence, *.swallowed))]
    UnclosedFence {
        fence: String,
        swallowed: Option<usize>,
    },
    /// A `deck`, `tags`, `type` or `format` value in curly quotes (`quote` the first),
    /// which stay part of the text; `meant` is the line with straight quotes.
    #[error("the value is in curly quotes ({quote}…), which are part of the text, not quotes; did you mean `{meant}`?")]
    CurlyQuotes { quote: char, meant: String },
    /// A tag holding a full-width comma or `、` (`separator`), which separate no tags:
    /// `meant` is the `tags:` line with the tags separated.
    #[error("tag `{tag}` holds {}, which does not separate tags, so it is one tag; did you mean `{meant}`?", char_description(*.separator))]
    TagSeparator {
        tag: String,
        separator: char,
        meant: String,
    },
    #[error("`{}` is not a cloze deletion: Anki reads only `{corrected}`, so it shows the braces as written", .at.text)]
    MiswrittenCloze { at: Spot, corrected: String },
    #[error("`{0}` is a sound or video file written as an image (`![…](…)`): the card would show a broken image")]
    SoundAsImage(String),
    #[error("`{written}` is not an image: Markdown ends a path at a space, so the card shows the text as written")]
    SpaceInImagePath { written: String, corrected: String },
    #[error("`{0}` names a file on this computer: Anki keeps it as a link that other devices, phones among them, cannot open")]
    FileUrl(String),
    /// A front matter key that is not ankideck's, nor near one: another app's.
    #[error("front matter key `{0}` is not one of ankideck's (`deck`, `tags`, `type`, `format`), so it is ignored")]
    FrontMatterIgnored(String),
    /// Obsidian's inline tags (`#cardio #exam`, as `written`), which stay text on the
    /// card; `meant` is the `tags:` line for them.
    #[error("`{written}` is text on the card, not tags: a note's tags come from its `tags:` line; did you mean `{meant}`?")]
    InlineTags { written: String, meant: String },
    /// Markup of another Markdown dialect (`what`), which the card shows as written;
    /// `corrected` is the HTML to write.
    #[error("`{written}` is {what}, which this Markdown does not have: the card shows it as written; did you mean `{corrected}`?")]
    ForeignMarkup {
        written: String,
        what: String,
        corrected: String,
    },
    /// A card written for another flashcard tool (`what`), which stays text on the card;
    /// `meant` says what to write instead.
    #[error("`{written}` is {what}, which ankideck does not read: the card shows it as written; did you mean {meant}?")]
    ForeignCard {
        written: String,
        what: String,
        meant: String,
    },
    /// A table row with more cells than its header: Markdown drops the rest (`dropped`,
    /// the cells as written, joined by ` | `).
    #[error("this table row has {cells} cells, but the table has {columns} columns: the card leaves out `{dropped}`")]
    TableCellsDropped {
        cells: usize,
        columns: usize,
        dropped: String,
    },
    /// A line of text underlined with `---` or `===` (`underline`), which makes it a
    /// heading; `text` is the heading's text (its start).
    #[error("`{underline}` under a line of text makes that text a heading (`{text}`), shown large on the card; it does not separate notes")]
    UnderlinedHeading { underline: String, text: String },
    /// A horizontal rule (`---`, as written) that ends a field.
    #[error("`{0}` at the end of the field draws a line at the end of the card; it does not separate notes")]
    TrailingRule(String),
    /// An Obsidian embed `![[…]]`, which Markdown shows as text; `corrected` is the
    /// Markdown (or sound tag) for a media file.
    #[error("`{written}` is an Obsidian embed, not Markdown: the card shows it as text")]
    WikiEmbed {
        written: String,
        corrected: Option<String>,
    },
}

impl Problem {
    /// Whether the problem stops the build.
    pub fn severity(&self) -> Severity {
        match self {
            Problem::UnknownSetting { .. }
            | Problem::MisspelledSetting { .. }
            | Problem::FrontMatterComment { .. }
            | Problem::HeadingWithoutSpace { .. }
            | Problem::SingleColonCloze(_)
            | Problem::ClozeShownAsWritten { .. }
            | Problem::DuplicateFirstField { .. }
            | Problem::EmptyField(_)
            | Problem::UnbalancedHtml { .. }
            | Problem::UnusedMedia(_)
            | Problem::NotAFile(_)
            | Problem::LargeMedia { .. }
            | Problem::MediaNotUnpacked(_)
            | Problem::MovedDeck { .. }
            | Problem::MovedCard { .. }
            | Problem::ClozeRenumbered { .. }
            | Problem::ClozeRemoved { .. }
            | Problem::NoteTypeChanged { .. }
            | Problem::CurlyQuotes { .. }
            | Problem::TagSeparator { .. }
            | Problem::NoteTypeSchemaChanged(_)
            | Problem::MiswrittenCloze { .. }
            | Problem::SoundAsImage(_)
            | Problem::SpaceInImagePath { .. }
            | Problem::FileUrl(_)
            | Problem::FrontMatterIgnored(_)
            | Problem::InlineTags { .. }
            | Problem::ForeignMarkup { .. }
            | Problem::ForeignCard { .. }
            | Problem::TableCellsDropped { .. }
            | Problem::UnderlinedHeading { .. }
            | Problem::TrailingRule(_)
            | Problem::WikiEmbed { .. } => Severity::Warning,
            Problem::UnclosedFence {
                swallowed: None, ..
            } => Severity::Warning,
            Problem::Rich(rich)
                if matches!(
                    **rich,
                    RichProblem::CsvIgnored(_)
                        | RichProblem::FileIgnored(_)
                        | RichProblem::CsvHeaderRow(_)
                        | RichProblem::CsvSeparatorGuess { .. }
                ) =>
            {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }

    /// A stable kebab-case name for tools (`check --format json` prints it), spelled out
    /// for each variant so that renaming one does not change it.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::InvalidUtf8(..) => "invalid-utf8",
            Problem::Utf16 => "utf16",
            Problem::CardFileSavedAsText(_) => "card-file-saved-as-text",
            Problem::ControlCharacter(_) => "control-character",
            Problem::FrontMatter { .. } => "front-matter",
            Problem::UnclosedFrontMatter => "unclosed-front-matter",
            Problem::TextOutsideNote => "text-outside-note",
            Problem::EmptyHeading => "empty-heading",
            Problem::UnknownSetting { .. } => "unknown-setting",
            Problem::MisspelledSetting { .. } => "misspelled-setting",
            Problem::FrontMatterComment { .. } => "front-matter-comment",
            Problem::HeadingWithoutSpace { .. } => "heading-without-space",
            Problem::DuplicateSetting(_) => "duplicate-setting",
            Problem::UnknownNoteType { .. } => "unknown-note-type",
            Problem::UnknownFormat(_) => "unknown-format",
            Problem::UnknownField { .. } => "unknown-field",
            Problem::DuplicateField(_) => "duplicate-field",
            Problem::ClozeInNonCloze(_) => "cloze-in-non-cloze",
            Problem::UnclosedCloze(_) => "unclosed-cloze",
            Problem::SingleColonCloze(_) => "single-colon-cloze",
            Problem::ClozeNotOnFront { .. } => "cloze-not-on-front",
            Problem::ClozeShownAsWritten { .. } => "cloze-shown-as-written",
            Problem::Cards(_) => "cards",
            Problem::Name(_) => "name",
            Problem::MissingMedia { .. } => "missing-media",
            Problem::MediaOutsideSource(_) => "media-outside-source",
            Problem::UnreadableMedia { .. } => "unreadable-media",
            Problem::MediaNotAFile { .. } => "media-not-a-file",
            Problem::DuplicateNote { .. } => "duplicate-note",
            Problem::Unreadable(_) => "unreadable",
            Problem::PathTooLong(_) => "path-too-long",
            Problem::NoNotes => "no-notes",
            Problem::EmptyId => "empty-id",
            Problem::BadGuid => "bad-guid",
            Problem::IdAndGuid => "id-and-guid",
            Problem::BadCardDeck => "bad-card-deck",
            Problem::BadEmptyCards => "bad-empty-cards",
            Problem::BadSkipCards => "bad-skip-cards",
            Problem::CardSetting { .. } => "card-setting",
            Problem::NoSuchCard { .. } => "no-such-card",
            Problem::BadLock(_) => "bad-lock",
            Problem::LockOutdated => "lock-outdated",
            Problem::Rich(rich) => rich_code(rich),
            Problem::MovedDeck { .. } => "moved-deck",
            Problem::MovedCard { .. } => "moved-card",
            Problem::ClozeRenumbered { .. } => "cloze-renumbered",
            Problem::ClozeRemoved { .. } => "cloze-removed",
            Problem::NoteTypeChanged { .. } => "note-type-changed",
            Problem::DuplicateFirstField { .. } => "duplicate-first-field",
            Problem::EmptyField(_) => "empty-field",
            Problem::UnbalancedHtml { .. } => "unbalanced-html",
            Problem::UnusedMedia(_) => "unused-media",
            Problem::NotAFile(_) => "not-a-file",
            Problem::LargeMedia { .. } => "large-media",
            Problem::MediaNotUnpacked(_) => "media-not-unpacked",
            Problem::NoteTypeSchemaChanged(_) => "note-type-schema-changed",
            Problem::UnclosedFence { .. } => "unclosed-fence",
            Problem::CurlyQuotes { .. } => "curly-quotes",
            Problem::TagSeparator { .. } => "tag-separator",
            Problem::MiswrittenCloze { .. } => "miswritten-cloze",
            Problem::SoundAsImage(_) => "sound-as-image",
            Problem::SpaceInImagePath { .. } => "space-in-image-path",
            Problem::FileUrl(_) => "file-url",
            Problem::FrontMatterIgnored(_) => "front-matter-ignored",
            Problem::InlineTags { .. } => "inline-tags",
            Problem::ForeignMarkup { .. } => "foreign-markup",
            Problem::ForeignCard { .. } => "foreign-card",
            Problem::TableCellsDropped { .. } => "table-cells-dropped",
            Problem::UnderlinedHeading { .. } => "underlined-heading",
            Problem::TrailingRule(_) => "trailing-rule",
            Problem::WikiEmbed { .. } => "wiki-embed",
        }
    }

    /// The place of a subject that may stand more than once on its line.
    fn spot(&self) -> Option<&Spot> {
        match self {
            Problem::UnclosedCloze(at)
            | Problem::SingleColonCloze(at)
            | Problem::ClozeNotOnFront { at, .. }
            | Problem::ClozeShownAsWritten { at, .. }
            | Problem::CardSetting { at, .. }
            | Problem::MiswrittenCloze { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The text on the problem's line that the column should point at.
    fn needle(&self) -> Option<String> {
        Some(match self {
            Problem::ControlCharacter(c) => c.to_string(),
            Problem::UnknownSetting { key, .. } => format!("{key}:"),
            Problem::MisspelledSetting { key, .. } => key.clone(),
            Problem::FrontMatterComment { comment, .. } => comment.clone(),
            Problem::HeadingWithoutSpace { at, .. } => at.clone(),
            Problem::UnclosedFence { fence, .. } => fence.clone(),
            Problem::CurlyQuotes { quote, .. } => quote.to_string(),
            Problem::TagSeparator { tag, .. } => tag.clone(),
            Problem::Rich(rich) => match &**rich {
                RichProblem::CsvSeparatorGuess { guessed, .. } => guessed.clone(),
                _ => return None,
            },
            Problem::UnknownNoteType { name, .. } | Problem::UnknownFormat(name) => name.clone(),
            Problem::UnknownField { field, .. } => field.clone(),
            Problem::DuplicateField(field) => field.clone(),
            Problem::ClozeInNonCloze(_) => "{{c".into(),
            Problem::MissingMedia { reference, .. }
            | Problem::MediaOutsideSource(reference)
            | Problem::UnreadableMedia { reference, .. }
            | Problem::MediaNotAFile { reference, .. }
            | Problem::LargeMedia { reference, .. }
            | Problem::MediaNotUnpacked(reference)
            | Problem::SoundAsImage(reference)
            | Problem::FileUrl(reference) => reference.clone(),
            Problem::SpaceInImagePath { written, .. } | Problem::WikiEmbed { written, .. } => {
                written.clone()
            }
            Problem::TableCellsDropped { dropped, .. } => {
                dropped.split(" | ").next().unwrap_or(dropped).to_string()
            }
            Problem::UnderlinedHeading { underline, .. } | Problem::TrailingRule(underline) => {
                underline.clone()
            }
            Problem::FrontMatterIgnored(key) => format!("{key}:"),
            Problem::InlineTags { written, .. }
            | Problem::ForeignMarkup { written, .. }
            | Problem::ForeignCard { written, .. } => written.clone(),
            Problem::Name(crate::deck::NameError::BadTag(tag)) => tag.clone(),
            _ => return None,
        })
    }

    /// What the user can do about it: for some, the user's text corrected.
    pub fn hint(&self) -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(match self {
            Problem::InvalidUtf8(..) | Problem::Utf16 => "save the file as UTF-8 (Excel: Save As › CSV UTF-8; Notepad: Save As › Encoding: UTF-8)",
            Problem::CardFileSavedAsText(_) => "rename the file (Windows hides the `.txt` Notepad adds unless “Save as type” is “All files”)",
            Problem::ControlCharacter(_) => "delete the invisible character (your editor may show it as a box or `^@`)",
            Problem::DuplicateFirstField { .. } => "merge the two notes, or make their first fields differ; in a text file, a guid column (`#guid column:`) gives each row an identity of its own",
            Problem::EmptyField(_) => "fill in the field, or remove the template part that shows it",
            Problem::UnbalancedHtml { .. } => "close every HTML tag you open in the field; to show text in angle brackets, such as `Vec<String>`, put it in backticks or write `\\<`",
            Problem::UnusedMedia(_) => "reference the file from a note, or delete it",
            Problem::LargeMedia { .. } => "shrink the file (lower resolution or bitrate) if you can",
            Problem::MediaNotUnpacked(_) => "the package this folder was unpacked from did not have the file either; add it to `_media/`, or remove the reference",
            Problem::FrontMatter { .. } => "front matter takes `deck: Name`, `tags: [a, b]`, `type: basic` and `format: markdown|html`; put a value that holds `: ` in quotes (`deck: \"A :: B\"`)",
            Problem::UnclosedFrontMatter => "end the front matter with a line `---`",
            Problem::TextOutsideNote => "move the text under a `## ` heading, make it a `# ` title, or delete it",
            Problem::EmptyHeading => "write the question (the first field) after `## `",
            Problem::MisspelledSetting { .. } => "a setting is a lowercase key, a colon and a space (`tags: x`) right under the heading; to start the answer with such a line, leave a blank line before it",
            Problem::FrontMatterComment { .. } => "to keep the `#`, put the value in quotes, as in `deck: \"Lang #1\"`",
            Problem::HeadingWithoutSpace { .. } => "write the line as shown: `#`s, then a space (`## Question`); to keep the hashes as text, write `\\#`",
            Problem::UnknownSetting { .. } => "settings under a heading are `id`, `guid`, `type`, `tags`, `deck`, `card-deck`, `empty-cards`, `skip-cards` and `format`; to start the answer with such a line, leave a blank line before it",
            Problem::DuplicateSetting(_) | Problem::DuplicateField(_) => "keep one of them",
            Problem::UnknownNoteType { .. } => "use one of basic, reversed, optional-reversed, type-in, cloze, or a note type defined in _notetypes/",
            Problem::UnknownFormat(_) => "use `format: markdown` or `format: html`",
            Problem::UnknownField { .. } => "rename the `### ` section to one of the fields, or use `####` for a heading inside the answer",
            Problem::ClozeInNonCloze(_) => "use `type: cloze` (a heading with `{{c1::…}}` is a cloze note by itself), or write the braces as `&#123;&#123;` to show them literally",
            Problem::UnclosedCloze(_) => "close the deletion with `}}`; to show the braces as text, write them as `&#123;&#123;`",
            Problem::SingleColonCloze(_) => "write two colons after the number, as in `{{c1::answer}}`",
            Problem::ClozeNotOnFront { .. } => "put the deletion in the field the card's front shows: for the Cloze type, the heading (the body is `Back Extra`, shown on the back as written)",
            Problem::ClozeShownAsWritten { .. } => "put deletions only in the heading (for the Cloze type, the one field whose deletions Anki hides), or write the braces as `&#123;&#123;` to show them as text",
            Problem::Cards(_) => "fill in the field the card's front shows, or add a cloze deletion",
            Problem::Name(_) => "rename it",
            Problem::MissingMedia { .. } => "check the path; it is relative to the card file (for files in Anki's media folder, as in Anki's own text exports, build with `--media-dir PATH/TO/collection.media`)",
            Problem::MediaOutsideSource(_) => "copy the file into the source folder",
            Problem::UnreadableMedia { .. } | Problem::Unreadable(_) => "check the file's permissions, or for a link loop",
            Problem::MediaNotAFile { .. } => "refer to a regular file (a link to one is fine)",
            Problem::PathTooLong(_) => "shorten the names of its folders, or nest them less deeply",
            Problem::NotAFile(_) => "replace it with a regular file, or move it out of the source folder",
            Problem::NoNotes => "check the folder name; every `## ` heading in a .md file is a note",
            Problem::EmptyId => "write an id after `id:`, or delete the line",
            Problem::BadGuid => "write the note's Anki guid after `guid:` as Anki shows it, on one line without tabs, or delete the line",
            Problem::IdAndGuid => "keep `guid:` to match a note Anki already has, or `id:` for an identity of your own",
            Problem::BadCardDeck => "write the card's number (from 1), a space and the deck",
            Problem::BadEmptyCards => "write the numbers (from 1) of the cards to keep, separated by spaces",
            Problem::BadSkipCards => "write the numbers (from 1) of the cards the note lacks, separated by spaces",
            Problem::CardSetting { error, .. } => match **error {
                CardError::KeptAndSkipped { .. } => "a card is either kept (`empty-cards:`) or skipped (`skip-cards:`): remove its number from one of the two lines",
                CardError::EverySkipped { .. } => "leave at least one card out of `skip-cards:`, or delete the note",
                _ => "number the cards from 1 up to the number of the note type's card types (its templates, in order; a cloze note's cards are its deletions' numbers)",
            },
            Problem::NoSuchCard { .. } => "number the cards from 1: a template's place in the note type, or a cloze deletion's number",
            Problem::DuplicateNote { .. } => "give one of the notes a distinct `id:` line, or delete the duplicate",
            Problem::BadLock(_) => "restore it from git, or delete it (the next import then updates every note)",
            Problem::LockOutdated => "build without --locked and commit the updated ankideck.lock",
            Problem::Rich(p) => p.hint(),
            Problem::MovedDeck { .. } => "in Anki's browser, search for the note and use Change Deck",
            Problem::MovedCard { .. } => "in Anki's browser, search for the card and use Change Deck",
            Problem::ClozeRenumbered { .. } => "keep each deletion's old number to keep its progress",
            Problem::ClozeRemoved { .. } => "remove the empty card in Anki with Tools › Empty Cards",
            Problem::NoteTypeChanged { .. } => "change the type back, or give the note a new `id:` to import it as a new note",
            Problem::NoteTypeSchemaChanged(_) => "tick \"Merge note types\" in Anki's import dialog",
            Problem::TagSeparator { .. } => "separate tags with spaces (`tags: a b`), or with ASCII commas in a list (`tags: [a, b]`): Anki splits tags only at spaces",
            Problem::CurlyQuotes { .. } => "write straight quotes (`\"` or `'`) around the value, as in front matter, or none",
            Problem::UnclosedFence { .. } => "close the block with a line of the same backticks or tildes as open it (at least as many), after its last line of code",
            Problem::MiswrittenCloze { corrected, .. } => return Some(format!("write `{corrected}`").into()),
            Problem::SoundAsImage(reference) => return Some(format!("write `[sound:{reference}]`").into()),
            Problem::SpaceInImagePath { corrected, .. } => return Some(format!("write `{corrected}`").into()),
            Problem::FileUrl(_) => "copy the file into the deck's folder and write its path relative to the card file, as in `![d](img/a.png)`",
            Problem::FrontMatterIgnored(_) => "keep it for the app that reads it (Obsidian, a site generator), or delete it",
            Problem::InlineTags { .. } => "write the tags on a `tags:` line right under the heading (or in the front matter), and delete them here",
            Problem::ForeignMarkup { .. } => "write the HTML the message shows: Anki shows `<mark>`, `<sub>` and `<sup>`, and hides `<!-- … -->`; to keep the characters as text, escape the first one with `\\`",
            Problem::ForeignCard { written, .. } if written.starts_with("{{") => "write Anki's cloze deletion, numbered from 1, in a note of a cloze type (`type: cloze` under its heading)",
            Problem::ForeignCard { .. } => "a note is a `## ` heading, the card's front, and the text below it, its back: start a note for each card (`type: reversed` under the heading for a card each way)",
            Problem::TableCellsDropped { .. } => "a `|` in a cell ends the cell, in code too: write it as `\\|`; or add the column to the header row and the line below it",
            Problem::UnderlinedHeading { .. } => "notes are separated by `## ` headings alone: delete the line; for a horizontal rule, leave a blank line above it",
            Problem::TrailingRule(_) => "notes are separated by `## ` headings alone: delete the line",
            Problem::WikiEmbed { corrected: Some(corrected), .. } => return Some(format!("write `{corrected}`, with the path relative to the card file").into()),
            Problem::WikiEmbed { corrected: None, .. } => "a card cannot show another note: copy the text you mean into the card",
        }))
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Problems in the sources (errors, with the warnings found beside them), in file
    /// order.
    #[error("{} in the card sources", count(.0.len(), "problem"))]
    Input(Vec<Diagnostic>),
    /// A note given to [`crate::Package::add_note`] that Anki could not use: a bad deck
    /// name or tag, or no cards.
    #[error("note `{guid}`: {problem}")]
    Note {
        /// The note's guid.
        guid: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A media name Anki would refuse.
    #[error("media name `{0}` is not allowed by Anki (no path separators, control characters or any of \\ / : * ? \" < > | [ ] ^, no Windows device name like CON, no trailing dot or space, at most 120 bytes)")]
    MediaName(String),
    /// `cancel::cancel` stopped the work; nothing was left half-written.
    #[error("interrupted")]
    Cancelled,
    /// `SOURCE_DATE_EPOCH` set to something other than whole seconds.
    #[error("SOURCE_DATE_EPOCH is `{0}`, not a number of seconds")]
    BadSourceDateEpoch(String),
    /// A note of a note type the package does not know.
    #[error("the note type with id {0} was not added to the package (add it with `Package::add_notetype` before its notes)")]
    MissingNoteType(i64),
    /// A note with more or fewer values than its note type has fields.
    #[error("note `{guid}` has {given} field values, but note type `{notetype}` has {} fields ({})", .fields.len(), .fields.join(", "))]
    FieldCount {
        /// The note's guid.
        guid: String,
        /// The note type's name.
        notetype: String,
        /// The note type's field names.
        fields: Vec<String>,
        /// How many values the note has.
        given: usize,
    },
    /// Two notes with one guid, which Anki would import as one.
    #[error("two notes have guid `{0}`; give each note its own guid")]
    DuplicateGuid(String),
    /// A note type that cannot work in Anki.
    #[error("{0}")]
    NoteType(#[from] crate::notetype::NoteTypeError),
    /// Two different note types with one id, which Anki would take for one.
    #[error("note type `{name}` has id {id}, already used by a different note type `{other}` (give one of them another id key)")]
    NoteTypeIdTaken {
        /// The id.
        id: i64,
        /// The note type added second.
        name: String,
        /// The note type added first.
        other: String,
    },
    /// A deck's options group whose Anki keys Anki could not use.
    #[error("deck `{deck}`: options group `{group}`: {problem}")]
    DeckOptions {
        /// The deck.
        deck: String,
        /// The group's name.
        group: String,
        /// What is wrong with its keys.
        problem: crate::deck::KeysError,
    },
    /// The source folder does not exist.
    #[error("there is no folder `{}` to read cards from", .0.display())]
    NoSourceFolder(PathBuf),
    /// The source is a file.
    #[error("`{}` is a file; cards are read from a folder", .0.display())]
    SourceNotAFolder(PathBuf),
    /// `ankideck init` into a folder that already holds something.
    #[error("`{}` is not empty; `init` writes a starter deck only into a new or empty folder", .0.display())]
    InitNotEmpty(PathBuf),
    /// `ankideck preview` into a folder that holds something other than a preview.
    #[error("`{}` holds files that are not a preview; `preview` writes into a new or empty folder, or over an earlier preview", .0.display())]
    PreviewNotEmpty(PathBuf),
    /// `preview --watch` could not listen on its address (the port is taken).
    #[error("cannot serve the preview on {address}: {source}")]
    Serve {
        /// The address, `127.0.0.1:PORT`.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// A package cannot be written at `path` (checked before any work).
    #[error("cannot write the package to `{}`: {problem}", .path.display())]
    Output {
        /// The path given for the package.
        path: PathBuf,
        /// What is wrong with it.
        problem: OutputProblem,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The package at `path` could not be written (a full disk, a folder that cannot be
    /// written to…); the file at `path`, if any, was left as it was.
    #[error("cannot write {}: {source}; nothing was written: {}", .path.display(), write_advice(.source))]
    Write {
        /// The package being written.
        path: PathBuf,
        /// Why it could not be.
        source: std::io::Error,
    },
    /// SQLite failed while writing the collection.
    #[error("writing the collection database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Writing the zip archive failed.
    #[error("writing the zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// What to do when an output cannot be written.
fn write_advice(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "free some space on its disk, or write it elsewhere"
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            "check that its folder can be written to, or write it elsewhere"
        }
        _ => "write it elsewhere",
    }
}

impl Error {
    /// [`Error::Io`]: `source` happened on `path` (or on what `path` names).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// What to do about the error, where there is more to say than its message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Output { path, problem } => Some(problem.hint(path)),
            Error::NoSourceFolder(path) if path == Path::new("cards") => Some(
                "start a deck with `ankideck init` (it writes a starter deck to `cards/`), or name the folder your cards are in, as in `ankideck build notes`".into(),
            ),
            Error::NoSourceFolder(path) => Some(format!(
                "check the folder's name, or start a deck there with `ankideck init {}`",
                path.display()
            )),
            Error::Serve { .. } => Some(
                "choose another port with `--port N`, or `--port 0` for any free one".into(),
            ),
            Error::InitNotEmpty(_) => {
                Some("name a new folder, as in `ankideck init my-deck`".into())
            }
            Error::SourceNotAFolder(path) => Some(match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => {
                    format!("name the folder that holds it: `{}`", parent.display())
                }
                _ => "name the folder that holds it, such as `.`".into(),
            }),
            _ => None,
        }
    }

    /// The diagnostics back when none is an error, else all of them as [`Error::Input`].
    pub(crate) fn unless_errors(diagnostics: Vec<Diagnostic>) -> Result<Vec<Diagnostic>> {
        match diagnostics
            .iter()
            .any(|d| d.problem.severity() == Severity::Error)
        {
            true => Err(Error::Input(diagnostics)),
            false => Ok(diagnostics),
        }
    }
}

/// Why a package cannot be written at a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputProblem {
    /// The path is a folder, or ends with a path separator.
    #[error("it is a folder, not a file name")]
    Folder,
    /// The folder the package would go in does not exist.
    #[error("the folder `{}` does not exist", .0.display())]
    MissingFolder(PathBuf),
    /// What would be the package's folder is a file.
    #[error("`{}` is a file, not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// `.colpkg`: Anki's whole-collection backup, which replaces a profile on import.
    #[error("a `.colpkg` is a whole Anki collection, which replaces everything in the profile that imports it")]
    CollectionPackage,
    /// Any name but `NAME.apkg`, which Anki and AnkiDroid would not offer to import.
    #[error("Anki imports deck packages only from files named `.apkg`")]
    NotApkg,
}

impl OutputProblem {
    /// What to do instead, for a package that was to be written at `path`.
    pub fn hint(&self, path: &Path) -> String {
        let apkg = || {
            let stem = path.file_stem().map(|s| s.to_string_lossy());
            path.with_file_name(format!("{}.apkg", stem.as_deref().unwrap_or("deck")))
        };
        match self {
            OutputProblem::Folder => format!(
                "name the package file, such as `{}`",
                path.join("deck.apkg").display()
            ),
            OutputProblem::MissingFolder(folder) => format!(
                "create it first (`mkdir -p {}`), or write the package to an existing folder",
                folder.display()
            ),
            OutputProblem::NotAFolder(_) => "write the package to a folder".into(),
            OutputProblem::CollectionPackage | OutputProblem::NotApkg => {
                format!("name the package `{}`", apkg().display())
            }
        }
    }
}

/// `1 note`, `2 notes`: a count in English, for every message that counts.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The library's result: [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The codes of the problems in custom note types, CSV files and deck settings:
/// `rich-` and the variant's name.
fn rich_code(problem: &RichProblem) -> &'static str {
    use RichProblem as R;
    match problem {
        R::Toml(_) => "rich-toml",
        R::BadNoteType { .. } => "rich-bad-note-type",
        R::UnknownTemplateField { .. } => "rich-unknown-template-field",
        R::MissingField { .. } => "rich-missing-field",
        R::AssetName(_) => "rich-asset-name",
        R::AssetClash { .. } => "rich-asset-clash",
        R::DuplicateNoteType(_) => "rich-duplicate-note-type",
        R::SameId { .. } => "rich-same-id",
        R::Csv(_) => "rich-csv",
        R::CsvIgnored(_) => "rich-csv-ignored",
        R::FileIgnored(_) => "rich-file-ignored",
        R::DeckSettings(_) => "rich-deck-settings",
        R::CsvHeaderRow(_) => "rich-csv-header-row",
        R::CsvSeparatorGuess { .. } => "rich-csv-separator-guess",
    }
}

fn duplicate_note(key: &str, id: Option<&str>, other: &str) -> String {
    match id {
        Some(id) => format!("{key} `{id}` is already the identity of the note at {other}"),
        None => format!("this note has the same identity as the note at {other}"),
    }
}

fn unclosed_fence(fence: &str, swallowed: Option<usize>) -> String {
    let never = format!(
        "the code block opened with {fence} is never closed, so it runs to the end of the file"
    );
    match swallowed {
        Some(line) => format!(
            "{never}: the `## ` heading at line {line} and every note after it are taken for code"
        ),
        None => never,
    }
}

fn heading_without_space(at: &str, odd: Option<char>, meant: &str) -> String {
    let why = match odd {
        None => return format!("`{at}…` is not a heading: Markdown needs a space after the `#`s, so the line is text of the note above; did you mean `{meant}`?"),
        Some(c @ '＃') => format!("Markdown takes only `#` for a heading's marks, not {}", char_description(c)),
        Some(c) if c.is_whitespace() => format!("Markdown needs a space after the `#`s, and {} is not one", char_description(c)),
        Some(c) => format!("{}, an invisible character, stands before the `#`s", char_description(c)),
    };
    format!("this line is text, not a heading: {why}; did you mean `{meant}`?")
}

/// `U+3000 IDEOGRAPHIC SPACE`: a character's code point, and its Unicode name for the
/// characters that an author could not tell from another by looking.
pub(crate) fn char_description(c: char) -> String {
    let name = match c {
        '\u{A0}' => "NO-BREAK SPACE",
        '\u{2002}' => "EN SPACE",
        '\u{2003}' => "EM SPACE",
        '\u{2009}' => "THIN SPACE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{2060}' => "WORD JOINER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
        '＃' => "FULLWIDTH NUMBER SIGN",
        '，' => "FULLWIDTH COMMA",
        '、' => "IDEOGRAPHIC COMMA",
        '；' => "FULLWIDTH SEMICOLON",
        '：' => "FULLWIDTH COLON",
        _ => return char_name(c),
    };
    format!("{} {name}", char_name(c))
}

fn char_name(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// Problems that only custom note types, CSV files and deck settings have. Like
/// [`Problem`]'s, the variants are documented by their messages and by docs/FORMAT.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum RichProblem {
    #[error("{0}")]
    Toml(String),
    #[error("note type `{notetype}`: {message}")]
    BadNoteType { notetype: String, message: String },
    #[error("template `{template}` of note type `{notetype}` uses field `{field}`, which the note type does not have (its fields: {fields})")]
    UnknownTemplateField {
        notetype: String,
        template: String,
        field: String,
        fields: String,
    },
    #[error("note type `{notetype}` requires field `{field}`, which this note leaves empty")]
    MissingField { notetype: String, field: String },
    #[error(
        "asset `{0}` in a note type folder must be named with a leading `_`, so that Anki keeps it"
    )]
    AssetName(String),
    #[error("asset `{name}` differs from the file of the same name in {other}")]
    AssetClash { name: String, other: String },
    #[error("note type `{0}` is defined twice")]
    DuplicateNoteType(String),
    #[error("note type `{name}` has the same `id` as note type `{other}`")]
    SameId { name: String, other: String },
    #[error("{0}")]
    Csv(String),
    /// A warning: something in a text file that Anki's importer ignores or drops, and
    /// so does the build.
    #[error("{0}")]
    CsvIgnored(String),
    #[error("{0}")]
    DeckSettings(String),
    /// A warning: a separator guessed that the file's extension does not suggest.
    #[error("the file names no separator, so it is guessed as Anki guesses it (the first of tab, `|`, `;`, `:`, `,` and space in the file): `{guessed}` here, though a `.{extension}` file is separated by {expected}")]
    CsvSeparatorGuess {
        guessed: String,
        extension: String,
        expected: String,
    },
    /// A warning: a first row that names the fields, imported as a note.
    #[error("the first row looks like column names ({0}): Anki imports it as a note, and so does the build")]
    CsvHeaderRow(String),
    /// A warning: a file in a note type folder that is neither its description, its
    /// style sheet, a template side nor an asset, so nothing packages it.
    #[error(
        "file `{0}` in a note type folder is not its style sheet, a template side or an asset (no leading `_`), so it is not packaged"
    )]
    FileIgnored(String),
}

impl RichProblem {
    /// What to do about it; [`Problem::hint`] gives it for [`Problem::Rich`].
    pub fn hint(&self) -> &'static str {
        match self {
            RichProblem::Toml(_) => {
                "see the custom note types and deck settings sections of the format reference (`ankideck help format`) for the keys notetype.toml and _deck.toml take"
            }
            RichProblem::BadNoteType { .. } => "fix notetype.toml or the template files beside it",
            RichProblem::UnknownTemplateField { .. } => {
                "add the field to notetype.toml or fix the name in the template"
            }
            RichProblem::MissingField { .. } => {
                "add a `### ` section for the field, or drop `required = true` from notetype.toml"
            }
            RichProblem::AssetName(_) => {
                "rename the file with a leading `_` and refer to it by that name"
            }
            RichProblem::AssetClash { .. } => "give one of the files another name",
            RichProblem::DuplicateNoteType(_) => "give one of the note types another `name`, or an `alias` for card files to keep both names",
            RichProblem::SameId { .. } => "give one of the note types another `id` (the id is the note type's identity in Anki)",
            RichProblem::Csv(_) => "see the Anki text files section of the format reference (`ankideck help format`)",
            RichProblem::CsvIgnored(_) => "this is what Anki's importer does too; fix the file to keep what is lost (see the Anki text files section of the format reference, `ankideck help format`)",
            RichProblem::DeckSettings(_) => "see the deck settings section of the format reference (`ankideck help format`)",
            RichProblem::CsvHeaderRow(_) => "delete the row, or make it a header line: `#columns:` and the names, with the file's separator",
            RichProblem::CsvSeparatorGuess { .. } => "name the separator in the file's first line: `#separator:comma` (or tab, semicolon, …)",
            RichProblem::FileIgnored(_) => "to package it, rename it with a leading `_`; otherwise move it out of the note type folder",
        }
    }
}

impl From<RichProblem> for Problem {
    fn from(p: RichProblem) -> Problem {
        Problem::Rich(Box::new(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deck::NameError;
    use crate::notetype::CardError;
    use RichProblem as R;

    /// Every problem with the code tools see. The codes are a public contract: a change
    /// here must be deliberate (and mentioned in docs/FORMAT.md).
    #[test]
    #[expect(clippy::too_many_lines, reason = "a table, one row per problem")]
    fn every_problem_has_its_code() {
        let s = String::new;
        let spot = || Spot { text: s(), nth: 0 };
        let all: Vec<(Problem, &str)> = vec![
            (Problem::InvalidUtf8(0, s()), "invalid-utf8"),
            (Problem::Utf16, "utf16"),
            (Problem::CardFileSavedAsText(s()), "card-file-saved-as-text"),
            (Problem::ControlCharacter('\0'), "control-character"),
            (
                Problem::FrontMatter {
                    message: s(),
                    column: 1,
                },
                "front-matter",
            ),
            (Problem::UnclosedFrontMatter, "unclosed-front-matter"),
            (Problem::TextOutsideNote, "text-outside-note"),
            (Problem::EmptyHeading, "empty-heading"),
            (
                Problem::UnknownSetting {
                    key: s(),
                    meant: None,
                },
                "unknown-setting",
            ),
            (
                Problem::MisspelledSetting {
                    key: s(),
                    meant: s(),
                },
                "misspelled-setting",
            ),
            (
                Problem::FrontMatterComment {
                    key: s(),
                    comment: s(),
                },
                "front-matter-comment",
            ),
            (
                Problem::HeadingWithoutSpace {
                    at: s(),
                    odd: None,
                    meant: s(),
                },
                "heading-without-space",
            ),
            (Problem::DuplicateSetting(s()), "duplicate-setting"),
            (
                Problem::UnknownNoteType {
                    name: s(),
                    meant: None,
                },
                "unknown-note-type",
            ),
            (Problem::UnknownFormat(s()), "unknown-format"),
            (
                Problem::UnknownField {
                    notetype: s(),
                    field: s(),
                    fields: s(),
                    meant: None,
                },
                "unknown-field",
            ),
            (Problem::DuplicateField(s()), "duplicate-field"),
            (Problem::ClozeInNonCloze(s()), "cloze-in-non-cloze"),
            (Problem::UnclosedCloze(spot()), "unclosed-cloze"),
            (Problem::SingleColonCloze(spot()), "single-colon-cloze"),
            (
                Problem::ClozeNotOnFront {
                    number: 1,
                    field: s(),
                    at: spot(),
                },
                "cloze-not-on-front",
            ),
            (
                Problem::ClozeShownAsWritten {
                    field: s(),
                    at: spot(),
                },
                "cloze-shown-as-written",
            ),
            (Problem::Cards(CardError::NoCards), "cards"),
            (Problem::Name(NameError::BadTag(s())), "name"),
            (
                Problem::MissingMedia {
                    reference: s(),
                    path: PathBuf::new(),
                    nearest: None,
                },
                "missing-media",
            ),
            (Problem::MediaOutsideSource(s()), "media-outside-source"),
            (
                Problem::UnreadableMedia {
                    reference: s(),
                    message: s(),
                },
                "unreadable-media",
            ),
            (
                Problem::MediaNotAFile {
                    reference: s(),
                    kind: s(),
                },
                "media-not-a-file",
            ),
            (
                Problem::DuplicateNote {
                    other: s(),
                    id: None,
                    key: "id",
                },
                "duplicate-note",
            ),
            (Problem::Unreadable(s()), "unreadable"),
            (Problem::PathTooLong(0), "path-too-long"),
            (Problem::NotAFile(s()), "not-a-file"),
            (Problem::NoNotes, "no-notes"),
            (Problem::EmptyId, "empty-id"),
            (Problem::BadGuid, "bad-guid"),
            (Problem::IdAndGuid, "id-and-guid"),
            (Problem::BadCardDeck, "bad-card-deck"),
            (Problem::BadEmptyCards, "bad-empty-cards"),
            (Problem::BadSkipCards, "bad-skip-cards"),
            (
                Problem::CardSetting {
                    error: Box::new(CardError::KeptAndSkipped { number: 1 }),
                    at: spot(),
                },
                "card-setting",
            ),
            (
                Problem::NoSuchCard {
                    number: 1,
                    cards: s(),
                },
                "no-such-card",
            ),
            (
                Problem::MovedCard {
                    card: 1,
                    from: s(),
                    to: s(),
                    nid: 1,
                },
                "moved-card",
            ),
            (Problem::BadLock(s()), "bad-lock"),
            (Problem::LockOutdated, "lock-outdated"),
            (R::Toml(s()).into(), "rich-toml"),
            (
                R::BadNoteType {
                    notetype: s(),
                    message: s(),
                }
                .into(),
                "rich-bad-note-type",
            ),
            (
                R::UnknownTemplateField {
                    notetype: s(),
                    template: s(),
                    field: s(),
                    fields: s(),
                }
                .into(),
                "rich-unknown-template-field",
            ),
            (
                R::MissingField {
                    notetype: s(),
                    field: s(),
                }
                .into(),
                "rich-missing-field",
            ),
            (R::AssetName(s()).into(), "rich-asset-name"),
            (
                R::AssetClash {
                    name: s(),
                    other: s(),
                }
                .into(),
                "rich-asset-clash",
            ),
            (R::DuplicateNoteType(s()).into(), "rich-duplicate-note-type"),
            (
                R::SameId {
                    name: s(),
                    other: s(),
                }
                .into(),
                "rich-same-id",
            ),
            (R::Csv(s()).into(), "rich-csv"),
            (R::CsvIgnored(s()).into(), "rich-csv-ignored"),
            (R::CsvHeaderRow(s()).into(), "rich-csv-header-row"),
            (
                R::CsvSeparatorGuess {
                    guessed: s(),
                    extension: s(),
                    expected: s(),
                }
                .into(),
                "rich-csv-separator-guess",
            ),
            (R::FileIgnored(s()).into(), "rich-file-ignored"),
            (R::DeckSettings(s()).into(), "rich-deck-settings"),
            (
                Problem::MovedDeck {
                    from: s(),
                    to: s(),
                    nid: 0,
                },
                "moved-deck",
            ),
            (Problem::ClozeRenumbered { moves: s() }, "cloze-renumbered"),
            (Problem::ClozeRemoved { numbers: s() }, "cloze-removed"),
            (
                Problem::NoteTypeChanged { from: s(), to: s() },
                "note-type-changed",
            ),
            (
                Problem::DuplicateFirstField { other: s() },
                "duplicate-first-field",
            ),
            (Problem::EmptyField(s()), "empty-field"),
            (
                Problem::UnbalancedHtml {
                    field: s(),
                    detail: s(),
                },
                "unbalanced-html",
            ),
            (Problem::UnusedMedia(s()), "unused-media"),
            (
                Problem::LargeMedia {
                    reference: s(),
                    megabytes: 0,
                },
                "large-media",
            ),
            (Problem::MediaNotUnpacked(s()), "media-not-unpacked"),
            (
                Problem::NoteTypeSchemaChanged(s()),
                "note-type-schema-changed",
            ),
            (
                Problem::UnclosedFence {
                    fence: s(),
                    swallowed: None,
                },
                "unclosed-fence",
            ),
            (
                Problem::CurlyQuotes {
                    quote: '“',
                    meant: s(),
                },
                "curly-quotes",
            ),
            (
                Problem::TagSeparator {
                    tag: s(),
                    separator: '，',
                    meant: s(),
                },
                "tag-separator",
            ),
            (
                Problem::MiswrittenCloze {
                    at: spot(),
                    corrected: s(),
                },
                "miswritten-cloze",
            ),
            (Problem::SoundAsImage(s()), "sound-as-image"),
            (
                Problem::SpaceInImagePath {
                    written: s(),
                    corrected: s(),
                },
                "space-in-image-path",
            ),
            (Problem::FileUrl(s()), "file-url"),
            (Problem::FrontMatterIgnored(s()), "front-matter-ignored"),
            (
                Problem::ForeignMarkup {
                    written: s(),
                    what: s(),
                    corrected: s(),
                },
                "foreign-markup",
            ),
            (
                Problem::ForeignCard {
                    written: s(),
                    what: s(),
                    meant: s(),
                },
                "foreign-card",
            ),
            (
                Problem::InlineTags {
                    written: s(),
                    meant: s(),
                },
                "inline-tags",
            ),
            (
                Problem::TableCellsDropped {
                    cells: 3,
                    columns: 2,
                    dropped: s(),
                },
                "table-cells-dropped",
            ),
            (
                Problem::UnderlinedHeading {
                    underline: s(),
                    text: s(),
                },
                "underlined-heading",
            ),
            (
                Problem::WikiEmbed {
                    written: s(),
                    corrected: None,
                },
                "wiki-embed",
            ),
            (Problem::TrailingRule(s()), "trailing-rule"),
        ];
        for (problem, code) in &all {
            assert_eq!(problem.code(), *code, "{problem:?}");
        }
        let mut codes: Vec<&str> = all.iter().map(|(_, code)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "two problems share a code");
    }

    #[test]
    fn locating_finds_the_column_and_span() {
        let text = "## Q\ntype: flashcard\n";
        let unknown = Problem::UnknownNoteType {
            name: "flashcard".into(),
            meant: None,
        };
        let mut d = Diagnostic::new("a.md", 2, unknown);
        d.locate(text);
        assert_eq!((d.column, d.len), (7, 9));
        let mut d = Diagnostic::new("a.md", 1, Problem::EmptyHeading);
        d.locate(text);
        assert_eq!((d.column, d.len), (1, 0));
        // The second `{{c1::` on the line.
        let text = "## {{c1::a}} é {{c1::b\n";
        let spot = Spot {
            text: "{{c1::".into(),
            nth: 1,
        };
        let mut d = Diagnostic::new("a.md", 1, Problem::UnclosedCloze(spot));
        d.locate(text);
        assert_eq!((d.column, d.len), (16, 6));
    }
}
