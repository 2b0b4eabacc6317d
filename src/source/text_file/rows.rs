//! The rows of an Anki text file: CSV records with their line numbers, whether their
//! fields are HTML, and the identity of the note a row makes.

use crate::{ids, text};

/// A record and the line it starts on.
pub(super) type Row = (usize, csv::StringRecord);

/// Anki reads this many rows to guess whether fields are HTML.
const PREVIEW_ROWS: usize = 5;

/// The records of `text` (header lines are comments to the CSV reader, an old-style
/// `tags:` first line is skipped), up to the first that is not valid CSV: then also that
/// error's line and message.
pub(super) fn read(
    text: &str,
    skip_first_line: bool,
    separator: u8,
) -> (Vec<Row>, Option<(usize, String)>) {
    let fed = if skip_first_line {
        &text[text.find('\n').map_or(text.len(), |i| i + 1)..]
    } else {
        text
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .delimiter(separator)
        .from_reader(fed.as_bytes());
    let line_offset = usize::from(skip_first_line);
    let mut lines = LineCounter::new(fed.as_bytes());
    let mut line_at = |byte: Option<u64>| lines.line_at(byte) + line_offset;
    let mut rows: Vec<Row> = Vec::new();
    for record in csv.records() {
        match record {
            Ok(r) => rows.push((line_at(r.position().map(|p| p.byte())), r)),
            Err(e) => {
                let line = line_at(e.position().map(|p| p.byte()));
                return (rows, Some((line, format!("not valid CSV: {e}"))));
            }
        }
    }
    (rows, None)
}

/// Finds the lines of positions in a text; positions come in order, so the text is
/// counted through once rather than from its start for every row.
struct LineCounter<'t> {
    bytes: &'t [u8],
    /// A position counted up to, and its 1-based line.
    at: usize,
    line: usize,
}

impl<'t> LineCounter<'t> {
    fn new(bytes: &'t [u8]) -> LineCounter<'t> {
        LineCounter {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line of a record that the reader started looking for at `byte`: its
    /// position comes before the comment and blank lines it skipped, so step over those.
    fn line_at(&mut self, byte: Option<u64>) -> usize {
        let bytes = self.bytes;
        let mut at = (byte.unwrap_or(0) as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'#' | b'\n' | b'\r') {
            at = bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| at + i + 1);
        }
        if at < self.at {
            (self.at, self.line) = (0, 1);
        }
        self.line += bytes[self.at..at].iter().filter(|&&b| b == b'\n').count();
        self.at = at;
        self.line
    }
}

/// Whether fields hold HTML, as Anki guesses it when the file does not say: any tag
/// or comment in the first rows.
pub(super) fn looks_like_html(rows: &[Row]) -> bool {
    rows.iter()
        .take(PREVIEW_ROWS)
        .any(|(_, r)| r.iter().any(text::contains_html))
}

/// Plain text as Anki stores it: HTML-escaped, line breaks as `<br>`.
pub(super) fn escape_text(s: &str) -> String {
    crate::text::escape_attr(s)
        .replace('\'', "&#x27;")
        .replace('\n', "<br>")
}

/// A row's note identity: the guid column's value, or one derived from the note type
/// and the first field, so that editing other fields keeps the note. Anki makes a note
/// of every row, so rows of one file with the same note type and first field are told
/// apart by `occurrence`, their place (1, 2, …) among those rows: the first keeps the
/// identity it has alone, and adding or moving other rows changes none of them.
pub(super) fn guid(notetype_id: i64, first_field: &str, occurrence: usize, given: &str) -> String {
    match given {
        "" => ids::text_row_guid(notetype_id, first_field, occurrence),
        given => given.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(rows: &[Row]) -> Vec<(usize, Vec<&str>)> {
        rows.iter().map(|(l, r)| (*l, r.iter().collect())).collect()
    }

    #[test]
    fn rows_know_their_lines_past_comments_and_blanks() {
        let text = "#separator:comma\n#html:false\na,b\n\n# note\nc,\"d\ne\"\nf,g\n";
        let (rows, error) = read(text, false, b',');
        assert!(error.is_none());
        let expected = vec![
            (3, vec!["a", "b"]),
            (6, vec!["c", "d\ne"]),
            (8, vec!["f", "g"]),
        ];
        assert_eq!(lines(&rows), expected);
    }

    #[test]
    fn an_old_style_tags_line_is_skipped_but_counted() {
        let (rows, _) = read("tags:x y\na\tb\n", true, b'\t');
        assert_eq!(lines(&rows), vec![(2, vec!["a", "b"])]);
        let (rows, _) = read("tags:x y", true, b'\t');
        assert!(rows.is_empty());
    }

    #[test]
    fn crlf_lines_count_once() {
        let (rows, _) = read("#deck:D\r\na;b\r\n\r\nc;d\r\n", false, b';');
        assert_eq!(lines(&rows), vec![(2, vec!["a", "b"]), (4, vec!["c", "d"])]);
    }

    #[test]
    fn a_position_steps_over_skipped_lines() {
        let line_at = |bytes: &[u8], byte| LineCounter::new(bytes).line_at(byte);
        assert_eq!(line_at(b"a\n#b\n\nc", Some(2)), 4);
        assert_eq!(line_at(b"a\n", None), 1);
        assert_eq!(line_at(b"a\n#", Some(2)), 2);
    }

    #[test]
    fn lines_are_counted_on_from_the_last_position_or_afresh() {
        let mut lines = LineCounter::new(b"a\nb\n#c\nd\ne");
        assert_eq!(lines.line_at(Some(2)), 2);
        assert_eq!(lines.line_at(Some(4)), 4);
        assert_eq!(lines.line_at(Some(4)), 4);
        assert_eq!(lines.line_at(Some(9)), 5);
        assert_eq!(lines.line_at(Some(0)), 1);
        assert_eq!(lines.line_at(Some(99)), 5);
    }

    #[test]
    fn html_is_guessed_from_the_first_five_rows() {
        let rows = |cells: &[&str]| -> Vec<Row> {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| (i + 1, csv::StringRecord::from(vec![*c, "x"])))
                .collect()
        };
        assert!(looks_like_html(&rows(&["a", "<b>bold</b>"])));
        assert!(looks_like_html(&rows(&["<!-- c -->"])));
        assert!(looks_like_html(&rows(&["a < b > c"])));
        assert!(!looks_like_html(&rows(&["a < b", "1 > 0"])));
        assert!(!looks_like_html(&rows(&[
            "1", "2", "3", "4", "5", "<i>6</i>"
        ])));
    }

    #[test]
    fn plain_text_is_escaped_as_anki_stores_it() {
        assert_eq!(
            escape_text("a<b> & 'c' \"d\"\ne"),
            "a&lt;b&gt; &amp; &#x27;c&#x27; &quot;d&quot;<br>e"
        );
    }

    #[test]
    fn a_row_is_identified_by_note_type_and_first_field() {
        let a = guid(1, "bonjour", 1, "");
        assert_eq!(a, guid(1, "bonjour", 1, ""));
        assert_ne!(a, guid(2, "bonjour", 1, ""));
        assert_ne!(a, guid(1, "bonsoir", 1, ""));
        assert_eq!(a, ids::guid("text:1\u{1f}bonjour"));
        assert_eq!(guid(1, "bonjour", 1, "given"), "given");
        assert_eq!(guid(1, "bonjour", 2, "given"), "given");
    }

    #[test]
    fn rows_with_the_same_first_field_are_told_apart_by_their_place_among_them() {
        let second = guid(1, "bonjour", 2, "");
        assert_ne!(second, guid(1, "bonjour", 1, ""));
        assert_ne!(second, guid(1, "bonjour", 3, ""));
        assert_eq!(second, ids::guid("text:1\u{1f}bonjour\u{1f}2"));
    }
}
