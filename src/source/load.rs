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

    /// A part of the card file at `path` ([`parse::Cuts`]), whose text is `text` and
    /// whose first line is the file's `first_line`, its Markdown rendered (or taken
    /// from `known`).
    pub fn part(
        path: &Path,
        text: String,
        first_line: usize,
        known: Option<&markdown::KnownRenderings>,
    ) -> Loaded {
        if first_line == 1 {
            return Loaded::from_text(path.to_path_buf(), Ok(text), known);
        }
        let mut problems = control_characters(&text);
        for (line, _) in &mut problems {
            *line += first_line - 1;
        }
        let (notes, more) = parse::parse_part(&text, first_line);
        problems.extend(more);
        let parsed = parse::ParsedFile {
            notes,
            ..Default::default()
        };
        let rendered = prerender(&parsed, known);
        Loaded {
            path: path.to_path_buf(),
            content: Ok((text, parsed, problems)),
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
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let rest = &e.as_bytes()[before.len()..];
        not_utf8(path, line, before.len(), &before[line_start..], rest)
    })?;
    Ok(without_bom_and_crs(text))
}

/// The file at `path` is not UTF-8 from byte `offset` on, on line `line` after the
/// bytes `on_line`; `rest` are the bytes from there on (at least the first two).
fn not_utf8(
    path: &Path,
    line: usize,
    offset: usize,
    on_line: &[u8],
    rest: &[u8],
) -> Box<Diagnostic> {
    // Spreadsheets' "Unicode text" and Notepad's "Unicode" are UTF-16.
    let utf16 = offset == 0 && (rest.starts_with(&[0xFF, 0xFE]) || rest.starts_with(&[0xFE, 0xFF]));
    let problem = match utf16 {
        true => Problem::Utf16,
        false => Problem::InvalidUtf8(offset, legacy_guess(rest)),
    };
    let mut d = Diagnostic::new(path, line, problem);
    d.column = String::from_utf8_lossy(on_line).chars().count() + 1;
    Box::new(d)
}

/// What the first bytes that are not UTF-8 (`rest`, at least one) may be. A byte among
/// ASCII is most likely Windows-1252, what Excel's "CSV" and Notepad's "ANSI" write in
/// Western Europe and the Americas; two such bytes together, a double-byte encoding of
/// East Asia (Excel's CSV in China, Taiwan or Japan).
fn legacy_guess(rest: &[u8]) -> String {
    let byte = rest[0];
    let alone = rest.get(1).is_none_or(u8::is_ascii);
    match windows_1252(byte).filter(|_| alone) {
        Some(c) => format!("0x{byte:02X}, which is `{c}` in Windows-1252, the encoding of Excel's “CSV” and Notepad's “ANSI”"),
        None => format!("0x{byte:02X}; the file may be in an older encoding such as Windows-1252, GBK, Big5 or Shift-JIS"),
    }
}

/// The printable character `byte` stands for in Windows-1252.
fn windows_1252(byte: u8) -> Option<char> {
    const HIGH: &str = "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8d}Ž\u{8f}\u{90}‘’“”•–—˜™š›œ\u{9d}žŸ";
    match byte {
        0x80..=0x9F => HIGH
            .chars()
            .nth(usize::from(byte - 0x80))
            .filter(|c| !c.is_control()),
        0xA1..=0xFF => Some(char::from(byte)),
        _ => None,
    }
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

/// Whether the file at `path` is UTF-8 throughout, read a block at a time.
pub(super) fn is_utf8(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut block = vec![0; 1 << 20];
    // The bytes of a character cut by the end of the block before.
    let mut carried = 0;
    loop {
        let read = match file.read(&mut block[carried..]) {
            Ok(0) => return carried == 0,
            Ok(read) => read,
            Err(_) => return false,
        };
        let filled = carried + read;
        carried = match simdutf8::compat::from_utf8(&block[..filled]) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => filled - e.valid_up_to(),
            Err(_) => return false,
        };
        block.copy_within(filled - carried..filled, 0);
    }
}

/// The card file at `path` (`total` bytes of UTF-8) read a part at a time, as
/// [`parse::Cuts`] cuts it into parts of `size` bytes or more, so that a large file is
/// never held whole: each part's text as [`read_text`] gives it (no byte order mark,
/// `\n` line ends), and its first line. An error reading it ends it.
pub(super) fn read_parts(
    path: &Path,
    total: usize,
    size: usize,
) -> impl Iterator<Item = (Result<String, Box<Diagnostic>>, usize)> + '_ {
    let mut lines = Lines::open(path);
    let mut cuts = parse::Cuts::new(total, size);
    let (mut part, mut part_line, mut done) = (String::new(), 1, false);
    std::iter::from_fn(move || loop {
        let (text, ended) = match lines.next() {
            _ if done => return None,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                done = true;
                return Some((Err(e), part_line));
            }
            None => {
                done = true;
                return Some((Ok(std::mem::take(&mut part)), part_line));
            }
        };
        let cut = cuts.before(text).map(|(_, number)| {
            // The line break before the heading ends the part before it.
            part.pop();
            let first_line = std::mem::replace(&mut part_line, number);
            (std::mem::take(&mut part), first_line)
        });
        part.push_str(text);
        if ended {
            part.push('\n');
        }
        if let Some((text, first_line)) = cut {
            return Some((Ok(text), first_line));
        }
    })
}

/// A card file's lines, read one at a time as [`read_text`] gives them.
struct Lines<'p> {
    path: &'p Path,
    file: std::io::Result<std::io::BufReader<std::fs::File>>,
    line: Vec<u8>,
    /// The file's bytes read, and its lines.
    read: usize,
    number: usize,
}

impl<'p> Lines<'p> {
    fn open(path: &'p Path) -> Lines<'p> {
        let file = std::fs::File::open(path).map(std::io::BufReader::new);
        let (line, read, number) = (Vec::new(), 0, 0);
        Lines {
            path,
            file,
            line,
            read,
            number,
        }
    }

    /// The next line, without its line break (nor a `\r` before it, nor on the first
    /// line a byte order mark), and whether a line break ended it; `None` at the end.
    fn next(&mut self) -> Option<Result<(&str, bool), Box<Diagnostic>>> {
        use std::io::BufRead;
        let reader = match &mut self.file {
            Ok(reader) => reader,
            Err(e) => {
                return Some(Err(unreadable(
                    self.path,
                    std::io::Error::new(e.kind(), e.to_string()),
                )))
            }
        };
        let line = &mut self.line;
        line.clear();
        let start = self.read;
        match reader.read_until(b'\n', line) {
            Ok(0) => return None,
            Ok(bytes) => (self.read, self.number) = (start + bytes, self.number + 1),
            Err(e) => return Some(Err(unreadable(self.path, e))),
        }
        let ended = line.last() == Some(&b'\n');
        if ended {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if self.number == 1 && line.starts_with("\u{feff}".as_bytes()) {
            line.drain(.."\u{feff}".len());
        }
        // Checked before, but the file may have changed since.
        match std::str::from_utf8(line) {
            Ok(text) => Some(Ok((text, ended))),
            Err(e) => {
                let on_line = &line[..e.valid_up_to()];
                let offset = start + on_line.len();
                let rest = &line[e.valid_up_to()..];
                Some(Err(not_utf8(self.path, self.number, offset, on_line, rest)))
            }
        }
    }
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

    /// Read in parts, a file keeps its lines (Windows line ends and a byte order mark
    /// go, as reading it whole); one that turns out not to be UTF-8 after its check
    /// (changed meanwhile) ends in an error on the line and column.
    #[test]
    fn parts_read_from_disk_keep_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.md");
        let note = |i| format!("## Q{i}\r\n\r\nA {i}\r\n");
        let text: String = (0..40).map(note).collect();
        std::fs::write(&file, format!("\u{feff}{text}")).unwrap();
        let parts: Vec<_> = read_parts(&file, text.len(), 100).collect();
        assert!(parts.len() > 3);
        let joined: Vec<String> = parts.into_iter().map(|(t, _)| t.unwrap()).collect();
        assert_eq!(joined.join("\n"), text.replace("\r\n", "\n"));
        std::fs::write(&file, [text.as_bytes(), b"## Q\n\nA \xff\n"].concat()).unwrap();
        let (last, _) = read_parts(&file, text.len(), 100).last().unwrap();
        let d = last.unwrap_err();
        assert_eq!((d.line, d.column), (40 * 3 + 3, 3));
        assert_eq!(
            d.problem,
            Problem::InvalidUtf8(text.len() + 8, legacy_guess(&[0xff]))
        );
    }

    /// Spreadsheets and Notepad save "Unicode" text as UTF-16: said so by name.
    #[test]
    fn utf16_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.md");
        for bom in [[0xFF, 0xFE], [0xFE, 0xFF]] {
            let utf16: Vec<u8> = "## Q\nA\n".bytes().flat_map(|b| [b, 0]).collect();
            std::fs::write(&file, [&bom[..], &utf16].concat()).unwrap();
            let read = read_text(&file).unwrap_err();
            assert_eq!(
                (read.line, read.column, &read.problem),
                (1, 1, &Problem::Utf16)
            );
            let (part, _) = read_parts(&file, 20, 100).next().unwrap();
            assert_eq!(part.unwrap_err().problem, Problem::Utf16);
        }
        // Not at the start: only a bad byte.
        std::fs::write(&file, b"## Q\n\xFF\xFE\n").unwrap();
        assert_eq!(
            read_text(&file).unwrap_err().problem,
            Problem::InvalidUtf8(5, legacy_guess(b"\xFF\xFE"))
        );
    }

    /// Excel's "CSV" on a Western Windows is Windows-1252: the byte is shown as the
    /// letter it stands for there. Bytes in pairs (GBK's 你 is C4 E3) and bytes that are
    /// no letter in Windows-1252 get the general word.
    #[test]
    fn bytes_that_are_not_utf8_are_guessed_at() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("words.csv");
        std::fs::write(&file, b"caf\xE9,coffee\r\nStra\x9Fe\n").unwrap();
        let d = read_text(&file).unwrap_err();
        let message = d.problem.to_string();
        assert!(
            message.contains("offset 3: 0xE9, which is `\u{e9}` in Windows-1252"),
            "{message}"
        );
        assert_eq!(
            legacy_guess(b"\x9Fe").split(',').nth(1),
            Some(" which is `\u{178}` in Windows-1252")
        );
        for unknown in [&b"\xC4\xE3\xBA\xC3"[..], b"\x81a", b"\xA0", b"\x7F"] {
            let said = legacy_guess(unknown);
            assert!(
                said.ends_with("such as Windows-1252, GBK, Big5 or Shift-JIS"),
                "{said}"
            );
        }
    }

    /// A character cut by the end of a block of the check is still whole.
    #[test]
    fn utf8_is_checked_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.md");
        for (cut, tail, utf8) in [(1, "😀 ok", true), (3, "😀", true), (2, "\u{e9}", true)] {
            let mut text = "a".repeat((1 << 20) - cut).into_bytes();
            text.extend_from_slice(tail.as_bytes());
            std::fs::write(&file, &text).unwrap();
            assert_eq!(is_utf8(&file), utf8, "{cut}");
            text.push(0xf0);
            std::fs::write(&file, &text).unwrap();
            assert!(!is_utf8(&file), "{cut}, cut short");
        }
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
