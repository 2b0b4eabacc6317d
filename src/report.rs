//! What the command-line tool prints, rendered by the library so that other front ends
//! print the same: diagnostics for people (like rustc, with `annotate-snippets`) and for
//! tools (one JSON object a line), and the summaries around them.

use crate::build::Outcome;
use crate::{Diagnostic, Severity};
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet, Title};
use std::ffi::OsString;
use std::fmt::Display;
use std::path::Path;

/// When to colour what people read (`--color`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Color {
    /// On a terminal, unless the `NO_COLOR` environment variable is set and not empty.
    #[default]
    Auto,
    /// Also when piped (say, to a pager that shows colours).
    Always,
    /// Never, for logs and tools.
    Never,
}

impl Color {
    /// Every choice, in the order `--color` lists them.
    pub const ALL: [Color; 3] = [Color::Auto, Color::Always, Color::Never];

    /// The choice's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Color::Auto => "auto",
            Color::Always => "always",
            Color::Never => "never",
        }
    }

    /// Whether to colour a stream that `is_terminal` or not; reads `NO_COLOR`
    /// (<https://no-color.org>).
    pub fn enabled(self, is_terminal: bool) -> bool {
        self.enabled_with(is_terminal, std::env::var_os("NO_COLOR"))
    }

    fn enabled_with(self, is_terminal: bool, no_color: Option<OsString>) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

impl std::fmt::Display for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How many warnings of one code `build` shows in full before counting the rest.
pub const SHOWN_PER_CODE: usize = 3;

/// Renders for people: each diagnostic as rustc would, with its source line and a
/// marker under the offending text, coloured or not.
#[derive(Debug, Clone, Copy)]
pub struct Human {
    color: bool,
}

impl Human {
    /// With `color`, messages carry ANSI colour codes; see [`Color::enabled`].
    pub fn new(color: bool) -> Human {
        Human { color }
    }

    fn renderer(&self) -> Renderer {
        if self.color {
            Renderer::styled()
        } else {
            Renderer::plain()
        }
    }

    /// Each diagnostic followed by a blank line, reading the lines they point at from
    /// their files (each file once for a run of diagnostics in it).
    pub fn diagnostics(&self, diagnostics: &[Diagnostic]) -> String {
        let mut out = String::new();
        let mut file: Option<(&Path, Option<String>)> = None;
        for d in diagnostics {
            if d.line > 0 && file.as_ref().is_none_or(|(path, _)| *path != d.file) {
                file = Some((&d.file, std::fs::read_to_string(&d.file).ok()));
            }
            let text = file
                .as_ref()
                .filter(|(path, _)| *path == d.file)
                .and_then(|(_, text)| text.as_deref());
            out.push_str(&self.diagnostic_in(d, text));
            out.push('\n');
        }
        out
    }

    /// Like [`Human::diagnostics`], but after [`SHOWN_PER_CODE`] warnings of one code the
    /// rest of that code are counted in one line: a deck from Anki repeats what Anki
    /// accepted (empty fields its cards show, duplicate first fields) hundreds of times,
    /// and errors, which stop the build, must stay in full. `ankideck check` lists all.
    pub fn diagnostics_folded(&self, diagnostics: &[Diagnostic]) -> String {
        let mut seen: std::collections::BTreeMap<&'static str, usize> = Default::default();
        let shown: Vec<Diagnostic> = (diagnostics.iter())
            .filter(|d| {
                let count = seen.entry(d.problem.code()).or_default();
                *count += 1;
                d.problem.severity() != Severity::Warning || *count <= SHOWN_PER_CODE
            })
            .cloned()
            .collect();
        let mut out = self.diagnostics(&shown);
        for (code, count) in seen.into_iter().filter(|(_, n)| *n > SHOWN_PER_CODE) {
            let more = count - SHOWN_PER_CODE;
            let message = format!(
                "{more} more `{code}` warning{} not shown; `ankideck check` lists them all",
                if more == 1 { "" } else { "s" }
            );
            out += &self.title(level(Severity::Warning).primary_title(message));
            out.push('\n');
        }
        out
    }

    /// One diagnostic; `file_text` is the text of its file, if it could be read.
    pub fn diagnostic_in(&self, d: &Diagnostic, file_text: Option<&str>) -> String {
        let line = (d.line > 0)
            .then_some(file_text)
            .flatten()
            .and_then(|text| text.lines().nth(d.line - 1))
            .map(|line| line.strip_prefix('\u{feff}').unwrap_or(line));
        let message = d.problem.to_string();
        let place = shortened(&d.file.display().to_string());
        let title = level(d.problem.severity()).primary_title(&message);
        let mut group = match line {
            Some(line) => title.element(
                Snippet::source(line)
                    .line_start(d.line)
                    .path(&place)
                    .annotation(AnnotationKind::Primary.span(span(line, d.column, d.len))),
            ),
            None => title.element(origin(d, &place)),
        };
        let hint = d.problem.hint();
        if let Some(hint) = &hint {
            group = group.element(Level::HELP.message(&**hint));
        }
        self.renderer().render(&[group]) + "\n"
    }

    /// `error: MESSAGE`, for failures that are not about the sources.
    pub fn error(&self, message: &dyn Display) -> String {
        self.title(Level::ERROR.primary_title(message.to_string()))
    }

    /// `error: MESSAGE` and, where the error has one, `= help: HINT`.
    pub fn failure(&self, error: &crate::Error) -> String {
        let message = error.to_string();
        let mut group = Group::with_title(Level::ERROR.primary_title(&message));
        let hint = error.hint();
        if let Some(hint) = &hint {
            group = group.element(Level::HELP.message(hint));
        }
        self.renderer().render(&[group]) + "\n"
    }

    /// The last line when the sources have errors (or, with `--deny-warnings`, warnings).
    /// `writes` says whether the command would have written something (`build`, `ids`),
    /// so that `check`, which never writes, does not say that nothing was written.
    pub fn refused(&self, diagnostics: &[Diagnostic], writes: bool) -> String {
        let errors = diagnostics
            .iter()
            .filter(|d| d.problem.severity() == Severity::Error)
            .count();
        // With --deny-warnings there may be no errors, only refused warnings.
        let (n, what) = if errors > 0 {
            (errors, "problem")
        } else {
            (diagnostics.len(), "denied warning")
        };
        let nothing_written = if writes { "; nothing was written" } else { "" };
        self.error(&format!(
            "{} in the card sources{nothing_written}",
            count(n, what)
        ))
    }

    /// The notes a build no longer has, and how to find them in Anki; empty if none.
    pub fn removed(&self, outcome: &Outcome) -> String {
        if outcome.removed.is_empty() {
            return String::new();
        }
        let n = outcome.removed.len();
        let (is, them) = if n == 1 {
            ("is", "it")
        } else {
            ("are", "them")
        };
        let mut out = self.title(Level::NOTE.primary_title(format!(
            "{} {is} gone from the sources since the last build; Anki keeps {them}:",
            count(n, "note")
        )));
        for removed in &outcome.removed {
            out.push_str(&format!("  - {}\n", removed.label));
        }
        let nids: Vec<String> = outcome.removed.iter().map(|r| r.nid.to_string()).collect();
        out.push_str(&format!(
            "  to find them in Anki's browser, search for: nid:{}\n",
            nids.join(",")
        ));
        out
    }

    fn title(&self, title: Title<'_>) -> String {
        self.renderer().render(&[Group::with_title(title)]) + "\n"
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    }
}

/// `--> FILE`, `FILE:LINE` or `FILE:LINE:COLUMN` when the line cannot be shown.
fn origin<'a>(d: &Diagnostic, place: &'a str) -> Origin<'a> {
    let origin = Origin::path(place);
    match (d.line, d.column) {
        (0, _) => origin,
        (line, 0) => origin.line(line),
        (line, column) => origin.line(line).char_column(column),
    }
}

/// The bytes of `line` from character `column` (1-based), `len` characters long; one
/// character when the length is unknown.
/// A path of more than [`LONGEST_PATH`] characters with its middle left out: its start
/// and its end (the file) say where it is. JSON output keeps paths whole.
fn shortened(path: &str) -> String {
    let chars = path.chars().count();
    if chars <= LONGEST_PATH {
        return path.to_string();
    }
    let (head, tail) = (LONGEST_PATH / 3, LONGEST_PATH - LONGEST_PATH / 3);
    let start: String = path.chars().take(head).collect();
    let end: String = path.chars().skip(chars - tail).collect();
    format!("{start}…{end}")
}

/// The longest path that messages for people print whole.
const LONGEST_PATH: usize = 160;

fn span(line: &str, column: usize, len: usize) -> std::ops::Range<usize> {
    let byte = |chars: usize| {
        line.char_indices()
            .nth(chars)
            .map_or(line.len(), |(byte, _)| byte)
    };
    let start = column.saturating_sub(1);
    byte(start)..byte(start + len.max(1))
}

/// The line `check --format json` prints for a diagnostic. `end_column` is the column
/// just after the offending text (the same as `column` when its length is unknown).
pub fn json(d: &Diagnostic) -> String {
    serde_json::json!({
        "severity": severity_name(d.problem.severity()),
        "code": d.problem.code(),
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "end_column": d.column + d.len,
        "message": d.problem.to_string(),
        "hint": d.problem.hint(),
    })
    .to_string()
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// `wrote OUTPUT: N notes, …`, the line a successful build ends with.
pub fn built(output: &Path, outcome: &Outcome) -> String {
    let s = &outcome.summary;
    format!(
        "wrote {}: {}, {}, {}, {}{}{}",
        output.display(),
        count(s.notes, "note"),
        count(s.cards, "card"),
        count(s.decks, "deck"),
        count(s.media, "media file"),
        warnings(outcome.warnings.len()),
        match (outcome.lock_updated, outcome.lock_upgraded) {
            (true, true) => "; updated ankideck.lock from version 1 to 2",
            (true, false) => "; updated ankideck.lock",
            (false, _) => "",
        }
    )
}

/// What `unpack` wrote, the review history it leaves in Anki, and how to build it.
pub fn unpacked(package: &Path, dir: &Path, s: &crate::unpack::Summary) -> String {
    let mut out = format!(
        "unpacked {} into {}: {}, {}, {}{}, {}, {}{}",
        package.display(),
        dir.display(),
        count(s.notes, "note"),
        count(s.cards, "card"),
        count(s.decks, "deck"),
        match s.filtered_decks {
            0 => String::new(),
            n => format!(
                " (and {} left out: their cards are in their home decks)",
                count(n, "filtered deck")
            ),
        },
        count(s.notetypes, "note type"),
        count(s.media, "media file"),
        warnings(s.warnings.len()),
    );
    if !s.unused_presets.is_empty() {
        let names: Vec<String> = s.unused_presets.iter().map(|n| format!("`{n}`")).collect();
        out += &format!(
            "\n{} that no deck uses left out ({}): Anki imports only the presets of the decks in a package",
            count(s.unused_presets.len(), "deck options preset"),
            names.join(", ")
        );
    }
    if s.cards_with_history > 0 {
        let have = if s.cards_with_history == 1 {
            "has"
        } else {
            "have"
        };
        out += &format!(
            "\n{} {have} review history; it stays in your collection and is not touched by re-import",
            count(s.cards_with_history, "card")
        );
    }
    out += &format!("\nbuild it with `ankideck build {}`", dir.display());
    out
}

/// `no errors`, and how many warnings: what `check` ends with.
pub fn checked(warning_count: usize) -> String {
    format!("no errors{}", warnings(warning_count))
}

pub use crate::error::count;

/// What `ankideck preview` says when the site at `index` is written.
pub fn previewed(index: &Path, notes: usize, cards: usize, problems: usize) -> String {
    let problems = match problems {
        0 => String::new(),
        n => format!(", {} listed", count(n, "problem")),
    };
    format!(
        "wrote {}: {}, {}{problems}",
        index.display(),
        count(notes, "note"),
        count(cards, "card"),
    )
}

fn warnings(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {}", count(n, "warning"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Problem;

    #[test]
    fn auto_colours_only_terminals_without_no_color() {
        assert!(Color::Auto.enabled_with(true, None));
        assert!(Color::Auto.enabled_with(true, Some("".into())));
        assert!(!Color::Auto.enabled_with(true, Some("1".into())));
        assert!(!Color::Auto.enabled_with(false, None));
        assert!(Color::Always.enabled_with(false, Some("1".into())));
        assert!(!Color::Never.enabled_with(true, None));
    }

    #[test]
    fn counts_are_singular_only_for_one() {
        assert_eq!(count(0, "note"), "0 notes");
        assert_eq!(count(1, "media file"), "1 media file");
        assert_eq!(count(2, "id line"), "2 id lines");
        assert_eq!(checked(1), "no errors, 1 warning");
        assert_eq!(checked(0), "no errors");
    }

    #[test]
    fn only_commands_that_write_say_nothing_was_written() {
        let d = Diagnostic::new(
            "a.md",
            0,
            Problem::UnknownNoteType {
                name: "x".into(),
                meant: None,
            },
        );
        let human = Human::new(false);
        let refused = |writes| human.refused(std::slice::from_ref(&d), writes);
        assert_eq!(
            refused(true),
            "error: 1 problem in the card sources; nothing was written\n"
        );
        assert_eq!(refused(false), "error: 1 problem in the card sources\n");
    }

    #[test]
    fn long_paths_lose_their_middle() {
        assert_eq!(shortened("src/a.md"), "src/a.md");
        let long = format!("src/{}deep.md", "dé/".repeat(2000));
        let short = shortened(&long);
        assert_eq!(short.chars().count(), LONGEST_PATH + 1);
        assert!(short.starts_with("src/dé/"), "{short}");
        assert!(short.ends_with("/dé/deep.md"), "{short}");
        assert!(short.contains('…'));
    }

    #[test]
    fn spans_count_characters() {
        assert_eq!(span("type: flashcard", 7, 9), 6..15);
        assert_eq!(span("中文 x", 2, 0), 3..6);
        assert_eq!(span("", 1, 0), 0..0);
        assert_eq!(span("ab", 9, 3), 2..2);
    }

    #[test]
    fn the_marker_spans_the_offending_text() {
        let unknown = Problem::UnknownNoteType {
            name: "flashcard".into(),
            meant: None,
        };
        let mut d = Diagnostic::new("a.md", 2, unknown);
        let text = "## Q\ntype: flashcard\n";
        d.locate(text);
        let out = Human::new(false).diagnostic_in(&d, Some(text));
        assert_eq!(
            out,
            "error: unknown note type `flashcard`\n --> a.md:2:7\n  |\n2 | type: flashcard\n  |       ^^^^^^^^^\n  |\n  = help: use one of basic, reversed, optional-reversed, type-in, cloze, or a note type defined in _notetypes/\n"
        );
        assert!(!out.contains('\u{1b}'));
        assert!(Human::new(true)
            .diagnostic_in(&d, Some(text))
            .contains('\u{1b}'));
    }
}
