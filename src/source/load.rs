//! Loading a card file: its text (UTF-8, no byte order mark, `\n` line ends), its
//! notes as parsed, and their Markdown rendered ahead, before anything that needs
//! other files.

use super::{markdown, parse};
use crate::error::{Diagnostic, Problem};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A card file read and its Markdown rendered, before anything that depends on other
/// files: made in parallel, then taken in order by [`super::Reader::read_file`].
pub(super) struct Loaded {
    pub path: PathBuf,
    /// The text, its notes and its problems (control characters, then what parsing
    /// found); or why it could not be read.
    pub content: Result<Content, Box<Diagnostic>>,
    pub rendered: Prerendered,
    /// The file's line the text starts on: 1, unless it is a part of the file after
    /// the first ([`parse::parts`]), which goes on with the notes of the part before.
    pub first_line: usize,
}

/// A card file's text, its notes, and its problems: control characters, then what
/// parsing found.
pub(super) type Content = (String, parse::ParsedFile, Vec<(usize, Problem)>);

/// Markdown rendered ahead of time, by (line of the text, inline?).
pub(super) type Prerendered = HashMap<(usize, bool), markdown::Rendered>;

impl Loaded {
    /// The card file at `path` whose text is `text` (as [`read_text`] gives it), its
    /// Markdown rendered (or taken from `known`).
    pub fn from_text(
        path: PathBuf,
        text: Result<String, Box<Diagnostic>>,
        known: Option<&markdown::KnownRenderings>,
    ) -> Loaded {
        let content = text.map(|text| {
            // Checked here, off the thread that reads the files in order.
            let mut problems = control_characters(&text);
            let (parsed, parse_problems) = parse::parse(&text);
            problems.extend(parse_problems);
            (text, parsed, problems)
        });
        let rendered = match &content {
            Ok((_, parsed, _)) => prerender(parsed, known),
            Err(_) => HashMap::new(),
        };
        Loaded {
            path,
            content,
            rendered,
            first_line: 1,
        }
    }

    /// The part of the card file at `path` whose text is `text` that `part` cuts
    /// ([`parse::parts`]), its Markdown rendered (or taken from `known`).
    pub fn part(
        path: &Path,
        text: &str,
        (range, first_line): (std::ops::Range<usize>, usize),
        known: Option<&markdown::KnownRenderings>,
    ) -> Loaded {
        let text = &text[range];
        if first_line == 1 {
            return Loaded::from_text(path.to_path_buf(), Ok(text.to_string()), known);
        }
        let mut problems = control_characters(text);
        for (line, _) in &mut problems {
            *line += first_line - 1;
        }
        let (notes, more) = parse::parse_part(text, first_line);
        problems.extend(more);
        let parsed = parse::ParsedFile {
            notes,
            ..Default::default()
        };
        let rendered = prerender(&parsed, known);
        Loaded {
            path: path.to_path_buf(),
            content: Ok((text.to_string(), parsed, problems)),
            rendered,
            first_line,
        }
    }
}

/// Every heading rendered inline and every non-empty block rendered as blocks. The
/// notes need nothing from each other: rendered on all cores, as one file (or part of
/// one) can hold thousands; but taken from `known` on one, as a lookup costs less than
/// two threads waiting for its table (the parts of a file are on other threads).
fn prerender(parsed: &parse::ParsedFile, known: Option<&markdown::KnownRenderings>) -> Prerendered {
    use rayon::prelude::*;
    let render = |text: &str, inline| markdown::Rendered::known_or_rendered(text, inline, known);
    let of_note = |note: &parse::RawNote| {
        let blocks = std::iter::once(&note.body).chain(note.sections.iter().map(|(_, t)| t));
        let heading = ((note.heading.line, true), render(&note.heading.text, true));
        let blocks = (blocks.filter(|b| !b.text.is_empty()))
            .map(|b| ((b.line, false), render(&b.text, false)));
        std::iter::once(heading).chain(blocks).collect::<Vec<_>>()
    };
    match known {
        None => parsed.notes.par_iter().flat_map_iter(of_note).collect(),
        Some(_) => parsed.notes.iter().flat_map(of_note).collect(),
    }
}

/// A card file's text: UTF-8, without a byte order mark, with `\n` line ends.
pub(super) fn read_text(path: &Path) -> Result<String, Box<Diagnostic>> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
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
    Ok(without_bom_and_crs(text))
}

/// `text` without a byte order mark, with `\n` line ends.
pub(super) fn without_bom_and_crs(mut text: String) -> String {
    // In place: most files have neither, and are not copied.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    if text.contains('\r') {
        text = text.replace("\r\n", "\n");
    }
    text
}

/// Why the card file at `path` could not be read.
pub(super) fn unreadable(path: &Path, e: std::io::Error) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(path, 0, Problem::Unreadable(e.to_string())))
}

/// The first control character other than tab on each line that has one, by 1-based
/// line: Anki allows none in fields.
pub(super) fn control_characters(text: &str) -> Vec<(usize, Problem)> {
    if !crate::text::may_hold_control(text) {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let c = line.chars().find(|&c| c.is_control() && c != '\t')?;
            Some((index + 1, Problem::ControlCharacter(c)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_per_line() {
        assert!(control_characters("tab\tis fine\né too\n").is_empty());
        assert_eq!(
            control_characters("ok\nbell\u{7}\u{1}\nnbsp-free \u{85}\n"),
            vec![
                (2, Problem::ControlCharacter('\u{7}')),
                (3, Problem::ControlCharacter('\u{85}'))
            ]
        );
    }

    #[test]
    fn text_loses_its_byte_order_mark_and_carriage_returns() {
        let dir = std::env::temp_dir().join(format!("ankideck-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.md");
        std::fs::write(&file, "\u{feff}## Q\r\nA\r\n").unwrap();
        assert_eq!(read_text(&file).unwrap(), "## Q\nA\n");
        std::fs::write(&file, b"## Q\nA \xff\n").unwrap();
        let d = read_text(&file).unwrap_err();
        assert_eq!((d.line, d.column), (2, 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
