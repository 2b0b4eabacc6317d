//! The one owner of the lock's text: its header, its lines and their columns, read and
//! written here and nowhere else.
//!
//! A lock is lines of tab-separated columns: comments (`#`), `version 1`, one `notetype`
//! line per note type and one `note` line per note, in guid order. A note line has nine
//! columns, and one more for each card in a deck of its own (`2:Deck`, the card's number
//! from 1 and its deck); locks written before cards had decks of their own read as
//! they are. There is no escaping:
//! no column can hold a tab or a line end (derived guids are base91, a `guid:` setting
//! refuses tabs, deck names and tags refuse control characters, hashes are hex, and a note's label is made one line by [`label`]).

use crate::text;
use std::fmt::Write as _;

/// How every lock starts, byte for byte.
pub(super) const HEADER: &str =
    "# ankideck.lock: what the last build put into its package, so that the next build can tell
# Anki exactly which notes changed. Commit it with your cards; do not edit it by hand.
version\t1
";

/// How a note line starts; its guid follows.
const NOTE_PREFIX: &str = "note\t";

/// What the lock remembers of a note: one `note` line, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoteRecord<'a> {
    pub guid: &'a str,
    pub nid: i64,
    pub modified: i64,
    /// Hash of note type, fields and tags.
    pub hash: &'a str,
    pub notetype_id: i64,
    pub deck: &'a str,
    /// For cloze notes: each cloze number with a hash of its deletions' text, as written
    /// (`1:hash,2:hash`, or `-`); see [`cloze_column`].
    pub clozes: &'a str,
    /// The start of the first field, to name the note if it disappears; see [`label`].
    pub label: &'a str,
    /// The cards in decks of their own, as columns after the label (`1:A\t3:B`), or
    /// empty; see [`card_decks_column`].
    pub card_decks: &'a str,
}

impl<'a> NoteRecord<'a> {
    /// Reads a note line (without its line end), or says what is wrong with it.
    pub fn parse(line: &'a str) -> Result<NoteRecord<'a>, String> {
        let (line, card_decks) = after_nine_columns(line);
        NoteRecord::from_columns(&columns(line).0, card_decks)
    }

    /// The record of a note line's first nine columns (missing ones are empty) and the
    /// columns after them.
    fn from_columns(cols: &[&'a str; 9], card_decks: &'a str) -> Result<NoteRecord<'a>, String> {
        let record = NoteRecord {
            guid: cols[1],
            nid: number(cols, 2)?,
            modified: number(cols, 3)?,
            hash: cols[4],
            notetype_id: number(cols, 5)?,
            deck: cols[6],
            clozes: cols[7],
            label: cols[8],
            card_decks,
        };
        parse_clozes(record.clozes).ok_or("bad cloze list")?;
        parse_card_decks(card_decks).ok_or("bad card deck column")?;
        Ok(record)
    }

    /// Appends this record's line, with its line end.
    pub fn write(&self, out: &mut String) {
        let NoteRecord {
            guid,
            nid,
            modified,
            hash,
            notetype_id,
            deck,
            clozes,
            label,
            card_decks,
        } = self;
        let _ = write!(
            out,
            "{NOTE_PREFIX}{guid}\t{nid}\t{modified}\t{hash}\t{notetype_id}\t{deck}\t{clozes}\t{label}"
        );
        match card_decks.is_empty() {
            true => out.push('\n'),
            false => {
                let _ = writeln!(out, "\t{card_decks}");
            }
        }
    }

    /// Each cloze number with the hash of its text.
    pub fn clozes(&self) -> Vec<(u16, &'a str)> {
        parse_clozes(self.clozes).unwrap_or_default()
    }

    /// The deck of the card with ordinal `ord`: its own, else the note's.
    pub fn card_deck(&self, ord: u16) -> &'a str {
        let own = parse_card_decks(self.card_decks).unwrap_or_default();
        own.into_iter()
            .find(|(o, _)| *o == ord)
            .map_or(self.deck, |(_, deck)| deck)
    }

    /// The ordinals of the cards in decks of their own.
    pub fn card_deck_ords(&self) -> Vec<u16> {
        let own = parse_card_decks(self.card_decks).unwrap_or_default();
        own.into_iter().map(|(ord, _)| ord).collect()
    }
}

/// What the lock remembers of a note type: one `notetype` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoteTypeRecord {
    pub id: i64,
    pub modified: i64,
    /// [`crate::NoteType::fingerprints`]: all of it, and its fields and templates by id.
    pub content: String,
    pub schema: String,
    pub name: String,
}

impl NoteTypeRecord {
    /// The record of a note type line's columns.
    fn from_columns(cols: &[&str; 9]) -> Result<NoteTypeRecord, String> {
        Ok(NoteTypeRecord {
            id: number(cols, 1)?,
            modified: number(cols, 2)?,
            content: cols[3].to_string(),
            schema: cols[4].to_string(),
            name: cols[5].to_string(),
        })
    }

    /// Appends this record's line, with its line end.
    pub fn write(&self, out: &mut String) {
        let NoteTypeRecord {
            id,
            modified,
            content,
            schema,
            name,
        } = self;
        let _ = writeln!(
            out,
            "notetype\t{id}\t{modified}\t{content}\t{schema}\t{name}"
        );
    }
}

/// One line of a lock, checked.
pub(super) enum Line<'a> {
    /// A comment, a blank line or the version.
    Other,
    NoteType(NoteTypeRecord),
    Note(NoteRecord<'a>),
}

impl<'a> Line<'a> {
    /// Checks one line (without its line end); errors are messages for
    /// [`crate::Problem::BadLock`].
    pub fn parse(line: &'a str) -> Result<Line<'a>, String> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(Line::Other);
        }
        let (cols, count) = columns(line);
        match (cols[0], count) {
            ("version", 2) if cols[1] == "1" => Ok(Line::Other),
            ("version", _) => {
                let version = &cols[1..count.min(cols.len())];
                Err(format!("unknown version `{}`", version.join(" ")))
            }
            ("notetype", 6) => Ok(Line::NoteType(NoteTypeRecord::from_columns(&cols)?)),
            ("note", 9..) => Ok(Line::Note(NoteRecord::parse(line)?)),
            _ => Err("unrecognised line".to_string()),
        }
    }
}

/// Whether `line` is a note line.
pub(super) fn is_note_line(line: &str) -> bool {
    line.starts_with(NOTE_PREFIX)
}

/// The guid of a note line, without reading the rest of it.
pub(super) fn note_line_guid(line: &str) -> &str {
    let rest = &line[NOTE_PREFIX.len()..];
    &rest[..rest.find('\t').unwrap_or(rest.len())]
}

/// The first nine tab-separated columns of a line (`""` where there are fewer), and how
/// many columns it has.
fn columns(line: &str) -> ([&str; 9], usize) {
    let mut cols = [""; 9];
    let mut count = 0;
    for (i, col) in line.split('\t').enumerate() {
        if let Some(slot) = cols.get_mut(i) {
            *slot = col;
        }
        count = i + 1;
    }
    (cols, count)
}

/// Column `i` as a number.
fn number(cols: &[&str; 9], i: usize) -> Result<i64, String> {
    cols[i]
        .parse()
        .map_err(|_| format!("column {} is not a number", i + 1))
}

/// A note line's first nine columns, and the columns after them (without the tab
/// between), empty if there are none.
fn after_nine_columns(line: &str) -> (&str, &str) {
    match line.match_indices('\t').nth(8) {
        Some((at, _)) => (&line[..at], &line[at + 1..]),
        None => (line, ""),
    }
}

/// The card deck columns of a note's cards in decks of their own, `(ordinal, deck)`:
/// `1:A\t3:B` (numbered from 1, as `card-deck:` numbers them), or empty.
pub(super) fn card_decks_column(card_decks: &[(u16, String)]) -> String {
    let columns: Vec<String> = card_decks
        .iter()
        .map(|(ord, deck)| format!("{}:{deck}", ord + 1))
        .collect();
    columns.join("\t")
}

/// Reads card deck columns into `(ordinal, deck)`; `None` if they are not such columns.
fn parse_card_decks(columns: &str) -> Option<Vec<(u16, &str)>> {
    if columns.is_empty() {
        return Some(Vec::new());
    }
    columns
        .split('\t')
        .map(|column| {
            let (number, deck) = column.split_once(':')?;
            let ord = number.parse::<u16>().ok()?.checked_sub(1)?;
            (!deck.is_empty()).then_some((ord, deck))
        })
        .collect()
}

/// The cloze column: `1:hash,2:hash`, or `-` for none.
pub(super) fn cloze_column(clozes: &[(u16, String)]) -> String {
    if clozes.is_empty() {
        return "-".to_string();
    }
    clozes
        .iter()
        .map(|(k, h)| format!("{k}:{h}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a cloze column; `None` if it is not one.
pub(super) fn parse_clozes(col: &str) -> Option<Vec<(u16, &str)>> {
    if col == "-" {
        return Some(Vec::new());
    }
    col.split(',')
        .map(|pair| {
            let (n, h) = pair.split_once(':')?;
            Some((n.parse().ok()?, h))
        })
        .collect()
}

/// A note's label column: its first field as plain text, short, on one line, without
/// tabs.
pub(super) fn label(first_field: &str) -> String {
    let plain = text::strip_html(first_field);
    let words: Vec<&str> = plain.split_whitespace().collect();
    words.join(" ").chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "note\tg#1\t1\t2\th\t5\tA::B 中\t1:x,3:y\tWhat is it?\n";
    const NOTETYPE: &str = "notetype\t5\t9\tab\tcd\tBasic\n";

    fn note_record() -> NoteRecord<'static> {
        NoteRecord {
            guid: "g#1",
            nid: 1,
            modified: 2,
            hash: "h",
            notetype_id: 5,
            deck: "A::B 中",
            clozes: "1:x,3:y",
            label: "What is it?",
            card_decks: "",
        }
    }

    /// Cards in decks of their own are columns after the label; a line without them
    /// (as every lock before them wrote) reads as before.
    #[test]
    fn card_deck_columns_follow_the_label() {
        let own = [(1, "X::Y z".to_string()), (3, "Ü".to_string())];
        let column = card_decks_column(&own);
        assert_eq!(column, "2:X::Y z\t4:Ü");
        let record = NoteRecord {
            card_decks: &column,
            ..note_record()
        };
        let mut text = String::new();
        record.write(&mut text);
        assert_eq!(text, NOTE.replace('\n', "\t2:X::Y z\t4:Ü\n"));
        let line = text.trim_end();
        assert_eq!(NoteRecord::parse(line), Ok(record));
        assert!(matches!(Line::parse(line), Ok(Line::Note(r)) if r == record));
        assert_eq!(record.card_deck(1), "X::Y z");
        assert_eq!(record.card_deck(3), "Ü");
        assert_eq!(record.card_deck(0), "A::B 中", "the note's deck");
        assert_eq!(record.card_deck_ords(), [1, 3]);
        let old = NoteRecord::parse(NOTE.trim_end()).unwrap();
        assert_eq!((old.card_decks, old.card_deck(1)), ("", "A::B 中"));
        for bad in ["0:A", "x:A", "2:", "2"] {
            let line = format!("{}\t{bad}", NOTE.trim_end());
            assert_eq!(
                Line::parse(&line).err().unwrap(),
                "bad card deck column",
                "{bad}"
            );
        }
    }

    #[test]
    fn note_lines_read_what_they_wrote() {
        let record = note_record();
        let mut text = String::new();
        record.write(&mut text);
        assert_eq!(text, NOTE, "the exact text");
        let line = text.trim_end();
        assert_eq!(NoteRecord::parse(line), Ok(record));
        assert!(matches!(Line::parse(line), Ok(Line::Note(r)) if r == record));
        assert_eq!(record.clozes(), [(1, "x"), (3, "y")]);
        assert!((is_note_line(line), note_line_guid(line)) == (true, "g#1"));

        let none = NoteRecord {
            clozes: "-",
            ..record
        };
        let mut text = String::new();
        none.write(&mut text);
        assert_eq!(NoteRecord::parse(text.trim_end()), Ok(none));
        assert!(none.clozes().is_empty());
    }

    #[test]
    fn notetype_lines_read_what_they_wrote() {
        let record = NoteTypeRecord {
            id: 5,
            modified: 9,
            content: "ab".into(),
            schema: "cd".into(),
            name: "Basic".into(),
        };
        let mut text = String::new();
        record.write(&mut text);
        assert_eq!(text, NOTETYPE, "the exact text");
        assert!(matches!(Line::parse(text.trim_end()), Ok(Line::NoteType(r)) if r == record));
        assert!(!is_note_line(&text));
    }

    #[test]
    fn the_header_and_bad_lines() {
        for line in HEADER.lines().chain([""]) {
            assert!(matches!(Line::parse(line), Ok(Line::Other)), "{line}");
        }
        let error = |line| Line::parse(line).err();
        assert_eq!(error("version\t2").unwrap(), "unknown version `2`");
        assert_eq!(error("version\t1\tx").unwrap(), "unknown version `1 x`");
        assert_eq!(error("note\tx").unwrap(), "unrecognised line");
        assert_eq!(
            error("notetype\t5\tx\ta\tb\tc").unwrap(),
            "column 3 is not a number"
        );
        let bad_cloze = "note\tg\t1\t2\th\t5\tD\t1x\tL";
        assert_eq!(error(bad_cloze).unwrap(), "bad cloze list");
        assert_eq!(NoteRecord::parse(bad_cloze).unwrap_err(), "bad cloze list");
    }

    #[test]
    fn cloze_columns_and_labels() {
        let clozes = [(1, "ab".to_string()), (12, "cd".to_string())];
        let column = cloze_column(&clozes);
        assert_eq!(column, "1:ab,12:cd");
        assert_eq!(parse_clozes(&column), Some(vec![(1, "ab"), (12, "cd")]));
        assert_eq!(cloze_column(&[]), "-");
        assert_eq!(parse_clozes("-"), Some(vec![]));
        assert_eq!(parse_clozes("1:a,b"), None);
        assert_eq!(label("<b>What</b>\tis\n it?"), "What is it?");
        assert_eq!(label(&"x".repeat(100)).len(), 60);
    }
}
