//! The one owner of the lock's text: its header, its lines and their columns, read and
//! written here and nowhere else.
//!
//! A lock is lines of tab-separated columns. Version 2, which builds write: comments (`#`)
//! and `version 2`, then a `notetype` line per note type and a `deck` line per deck, each
//! giving it a short alias, then one line per note, in guid order, whose first column is
//! its guid, and after them, for a note whose id in the user's collection is not the one
//! a build derives from its guid, that id (`nid:…`), and one more column for each card in
//! a deck of its own (`2:Deck`, the card's number from 1 and its deck's full name). Version 1 (read, and rewritten as version 2 by the next build) had a
//! `note` line per note with the note id, the full deck name, the note type's id, a 16-digit
//! hash and a 60-character label. There is no escaping: no column can hold a tab or a
//! line end (derived guids are base91, a `guid:` setting refuses tabs, deck names and tags refuse control characters, hashes are
//! hex, and a note's label is made one line by [`label`]).
//!
//! Each byte of a version 2 note line is there for a reason: the guid finds the note,
//! the legacy check keeps an old heading-derived guid ([`crate::ids::HeadingId`]), the
//! `mod` is what Anki compares, the hash tells a change, the note type and deck aliases
//! name what Anki will not follow, the clozes tell renumbered deletions, the label
//! names a note that is gone, the collection's note id is what Anki's browser finds it
//! by (Anki keeps its own id for a guid it has), and a card's own deck is what Anki will
//! not follow either.

use crate::text;
use std::collections::HashMap;
use std::fmt::Write as _;

/// How every lock starts, byte for byte.
pub(super) const HEADER: &str =
    "# ankideck.lock: what the last build put into its package, so that the next build can tell
# Anki exactly which notes changed. Commit it with your cards; do not edit it by hand.
# Notes: guid, legacy check, modified, hash, note type, deck, clozes, label.
version\t2
";

/// Hex digits of a note's content hash that the lock keeps: a change goes unnoticed with
/// a chance of 1 in 2^48.
pub(super) const HASH_LEN: usize = 12;

/// Bytes of a note's first field that its label keeps (cut at a character boundary).
const LABEL_BYTES: usize = 32;

/// How a version 1 note line starts; its guid follows.
const V1_NOTE_PREFIX: &str = "note\t";

/// Columns of a version 2 note line before its card decks; no other line has as many.
const NOTE_COLUMNS: usize = 8;

/// How the column of a note's id in the user's collection starts: as Anki's browser
/// searches for it. No card deck column starts so (those start with a number).
const NID_PREFIX: &str = "nid:";

/// The lock's version and the aliases its header gives decks and note types.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// 0 until the `version` line.
    pub version: u8,
    /// Alias → deck name; `None` when two lines give the alias (a merge).
    decks: HashMap<String, Option<String>>,
    /// Alias → note type id; `None` as for decks.
    notetypes: HashMap<String, Option<i64>>,
}

/// What the lock remembers of a note: one note line, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoteRecord<'a> {
    pub guid: &'a str,
    /// For a note known by its heading's legacy guid: the check that tells that heading
    /// (see [`crate::ids::HeadingId::check`]). Version 1 did not record it.
    pub legacy: Option<u16>,
    pub modified: i64,
    /// Hash of note type, fields and tags: [`HASH_LEN`] hex digits.
    pub hash: &'a str,
    /// `None` when the lock's aliases do not tell.
    pub notetype_id: Option<i64>,
    /// `None` when the lock's aliases do not tell.
    pub deck: Option<&'a str>,
    /// For cloze notes: each cloze number with a hash of its deletions' text, as written
    /// (`1:hash,2:hash`, or `-`); see [`cloze_column`].
    pub clozes: &'a str,
    /// The start of the first field, to name the note if it disappears; see [`label`].
    pub label: &'a str,
    /// The note's id in the user's collection when it is not the one derived from its
    /// guid (a note unpacked from Anki): Anki keeps its own id for a guid it has.
    pub nid: Option<i64>,
    /// The columns of its cards in decks of their own (`2:Deck\t4:Other`), or empty; see
    /// [`card_decks_column`].
    pub card_decks: &'a str,
}

impl<'a> NoteRecord<'a> {
    /// Reads a note line (without its line end) of a lock with `header`, or says what is
    /// wrong with it.
    pub fn parse(line: &'a str, header: &'a Header) -> Result<NoteRecord<'a>, String> {
        let (line, rest) = match header.version {
            1 => (line, ""),
            _ => after_columns(line, NOTE_COLUMNS),
        };
        let (nid, card_decks) = match rest.strip_prefix(NID_PREFIX) {
            Some(rest) => {
                let (nid, card_decks) = rest.split_once('\t').unwrap_or((rest, ""));
                (Some(nid.parse().map_err(|_| "bad note id")?), card_decks)
            }
            None => (None, rest),
        };
        let (cols, count) = columns(line);
        let record = match header.version {
            1 if count == 9 => NoteRecord {
                guid: cols[1],
                legacy: None,
                modified: number(&cols, 3)?,
                hash: cols[4].get(..HASH_LEN).unwrap_or(cols[4]),
                notetype_id: Some(number(&cols, 5)?),
                deck: Some(cols[6]),
                clozes: cols[7],
                label: cut(cols[8], LABEL_BYTES),
                nid,
                card_decks,
            },
            2 if count == NOTE_COLUMNS => NoteRecord {
                guid: cols[0],
                legacy: match cols[1] {
                    "-" => None,
                    check => Some(u16::from_str_radix(check, 16).map_err(|_| "bad legacy check")?),
                },
                modified: number(&cols, 2)?,
                hash: cols[3],
                notetype_id: header
                    .alias(&header.notetypes, cols[4], "note type")?
                    .copied(),
                deck: header
                    .alias(&header.decks, cols[5], "deck")?
                    .map(String::as_str),
                clozes: cols[6],
                label: cols[7],
                nid,
                card_decks,
            },
            _ => return Err("unrecognised line".to_string()),
        };
        parse_clozes(record.clozes).ok_or("bad cloze list")?;
        parse_card_decks(card_decks).ok_or("bad card deck column")?;
        Ok(record)
    }

    /// Whether the note line `line` of a lock with `header` says by its legacy column
    /// alone that its note has no legacy guid: a look much cheaper than [`Self::parse`],
    /// which does not check the rest of the line.
    pub fn lacks_legacy(line: &str, header: &Header) -> bool {
        header.version > 1 && line.split('\t').nth(1) == Some("-")
    }

    /// Appends this record's line, with its line end, naming its deck and note type by
    /// the new lock's `aliases`.
    pub fn write(&self, out: &mut String, aliases: &Aliases) {
        let NoteRecord {
            guid,
            legacy,
            modified,
            hash,
            notetype_id,
            deck,
            clozes,
            label,
            nid,
            card_decks,
        } = self;
        let notetype = notetype_id.map_or("", |id| aliases.notetype(id));
        let deck = deck.map_or("", |name| aliases.deck(name));
        let _ = match legacy {
            Some(check) => write!(out, "{guid}\t{check:04x}"),
            None => write!(out, "{guid}\t-"),
        };
        let hash = hash.get(..HASH_LEN).unwrap_or(hash);
        let label = cut(label, LABEL_BYTES);
        let _ = write!(
            out,
            "\t{modified}\t{hash}\t{notetype}\t{deck}\t{clozes}\t{label}"
        );
        if let Some(nid) = nid {
            let _ = write!(out, "\t{NID_PREFIX}{nid}");
        }
        if !card_decks.is_empty() {
            let _ = write!(out, "\t{card_decks}");
        }
        out.push('\n');
    }

    /// The id to find the note by in the user's collection (`nid:`): the one the lock
    /// remembers, else the one a build derives from its guid.
    pub fn anki_nid(&self) -> i64 {
        self.nid.unwrap_or_else(|| crate::ids::note_id(self.guid))
    }

    /// Each cloze number with the hash of its text.
    pub fn clozes(&self) -> Vec<(u16, &'a str)> {
        parse_clozes(self.clozes).unwrap_or_default()
    }

    /// The deck of the card with ordinal `ord`: its own, else the note's.
    pub fn card_deck(&self, ord: u16) -> Option<&'a str> {
        let own = parse_card_decks(self.card_decks).unwrap_or_default();
        own.into_iter()
            .find(|(o, _)| *o == ord)
            .map_or(self.deck, |(_, deck)| Some(deck))
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
    /// The record of `nt` at `modified`, given its [`crate::NoteType::fingerprints`].
    pub(crate) fn new(
        nt: &crate::NoteType,
        modified: i64,
        (content, schema): (String, String),
    ) -> NoteTypeRecord {
        NoteTypeRecord {
            id: nt.id,
            modified,
            content,
            schema,
            name: nt.name.clone(),
        }
    }

    /// The record of a note type line's columns (version 2 has the alias first).
    fn from_columns(cols: &[&str]) -> Result<NoteTypeRecord, String> {
        Ok(NoteTypeRecord {
            id: number(cols, 1)?,
            modified: number(cols, 2)?,
            content: cols[3].to_string(),
            schema: cols[4].to_string(),
            name: cols[5].to_string(),
        })
    }

    /// Appends this record's line, with its line end.
    pub fn write(&self, out: &mut String, aliases: &Aliases) {
        let NoteTypeRecord {
            id,
            modified,
            content,
            schema,
            name,
        } = self;
        let alias = aliases.notetype(*id);
        let _ = writeln!(
            out,
            "notetype\t{alias}\t{id}\t{modified}\t{content}\t{schema}\t{name}"
        );
    }
}

/// One line of a lock, checked (a note line's columns are checked by
/// [`NoteRecord::parse`]).
pub(super) enum Line {
    /// A comment, a blank line, the version or a deck.
    Other,
    NoteType(NoteTypeRecord),
    Note,
}

impl Header {
    /// Checks one line (without its line end) of the header or a note line, taking in
    /// the version and aliases; errors are messages for [`crate::Problem::BadLock`].
    pub fn line(&mut self, line: &str) -> Result<Line, String> {
        if line.is_empty() || (self.version < 2 && line.starts_with('#')) {
            return Ok(Line::Other);
        }
        if self.version == 2 && has_columns(line, NOTE_COLUMNS) {
            return Ok(Line::Note); // most lines: as the match below says, without its split
        }
        let (cols, count) = columns(line);
        match (self.version, cols[0], count) {
            (0, "version", 2) if cols[1] == "1" || cols[1] == "2" => {
                self.version = if cols[1] == "1" { 1 } else { 2 };
                Ok(Line::Other)
            }
            (0, "version", _) => {
                let version = &cols[1..count.min(cols.len())];
                Err(format!("unknown version `{}`", version.join(" ")))
            }
            (1, "notetype", 6) => Ok(Line::NoteType(NoteTypeRecord::from_columns(&cols)?)),
            (1, "note", 9) => Ok(Line::Note),
            (2, _, n) if n >= NOTE_COLUMNS => Ok(Line::Note),
            (2, "notetype", 7) => {
                let record = NoteTypeRecord::from_columns(&cols[1..])?;
                define(&mut self.notetypes, cols[1], record.id);
                Ok(Line::NoteType(record))
            }
            (2, "deck", 3) => {
                define(&mut self.decks, cols[1], cols[2].to_string());
                Ok(Line::Other)
            }
            _ => Err("unrecognised line".to_string()),
        }
    }

    /// What `alias` stands for in `table`: `None` when the lock gives it twice, an error
    /// when it gives it nowhere.
    fn alias<'t, T>(
        &self,
        table: &'t HashMap<String, Option<T>>,
        alias: &str,
        what: &str,
    ) -> Result<Option<&'t T>, String> {
        match table.get(alias) {
            Some(value) => Ok(value.as_ref()),
            None => Err(format!("unknown {what} `{alias}`")),
        }
    }

    /// Whether `line` is a note line.
    pub fn is_note_line(&self, line: &str) -> bool {
        match self.version {
            1 => line.starts_with(V1_NOTE_PREFIX),
            _ => has_columns(line, NOTE_COLUMNS),
        }
    }

    /// The guid of a note line, without reading the rest of it.
    pub fn note_line_guid<'l>(&self, line: &'l str) -> &'l str {
        let rest = match self.version {
            1 => &line[V1_NOTE_PREFIX.len().min(line.len())..],
            _ => line,
        };
        &rest[..rest.find('\t').unwrap_or(rest.len())]
    }
}

/// Records that a lock line gives `alias` to `value`; given twice differently, it stands
/// for nothing.
fn define<T: PartialEq>(table: &mut HashMap<String, Option<T>>, alias: &str, value: T) {
    match table.get_mut(alias) {
        None => {
            table.insert(alias.to_string(), Some(value));
        }
        Some(known) if known.as_ref() != Some(&value) => *known = None,
        Some(_) => {}
    }
}

/// The aliases a new lock gives its decks and note types: the shortest start, at least
/// [`ALIAS_MIN`] hex digits, of a hash of each that no other deck (or note type) of the
/// lock shares. So an alias depends only on which others start alike: a new deck leaves
/// the other aliases as they were unless their hashes start as its does.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    decks: HashMap<String, String>,
    notetypes: HashMap<i64, String>,
}

/// Hex digits of the shortest alias.
const ALIAS_MIN: usize = 2;

impl Aliases {
    /// The aliases of these decks (by name) and note types (by id).
    pub fn new<'d>(
        decks: impl IntoIterator<Item = &'d str>,
        notetypes: impl IntoIterator<Item = i64>,
    ) -> Aliases {
        Aliases {
            decks: short_names(decks.into_iter().map(|d| (d.to_string(), d.to_string()))),
            notetypes: short_names(notetypes.into_iter().map(|id| (id, id.to_string()))),
        }
    }

    fn deck(&self, name: &str) -> &str {
        self.decks.get(name).map_or("", String::as_str)
    }

    fn notetype(&self, id: i64) -> &str {
        self.notetypes.get(&id).map_or("", String::as_str)
    }

    /// Appends a `deck` line for each deck, in name order.
    pub fn write_decks(&self, out: &mut String) {
        let mut decks: Vec<_> = self.decks.iter().collect();
        decks.sort();
        for (name, alias) in decks {
            let _ = writeln!(out, "deck\t{alias}\t{name}");
        }
    }
}

/// Each key's alias: the shortest start of the hash of its text that no other key's hash
/// starts with (all 16 digits if two hashes are equal).
fn short_names<K: Eq + std::hash::Hash>(
    keys: impl Iterator<Item = (K, String)>,
) -> HashMap<K, String> {
    let mut hashed: Vec<(String, K)> = keys
        .map(|(key, text)| (crate::ids::short_hash(&text), key))
        .collect();
    hashed.sort_by(|a, b| a.0.cmp(&b.0));
    let common = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let shared: Vec<usize> = (0..hashed.len())
        .map(|i| {
            let before = i
                .checked_sub(1)
                .map_or(0, |j| common(&hashed[j].0, &hashed[i].0));
            let after = hashed
                .get(i + 1)
                .map_or(0, |next| common(&next.0, &hashed[i].0));
            before.max(after)
        })
        .collect();
    hashed
        .into_iter()
        .zip(shared)
        .map(|((hash, key), shared)| {
            let len = (shared + 1).clamp(ALIAS_MIN, hash.len());
            (key, hash[..len].to_string())
        })
        .collect()
}

/// The first nine tab-separated columns of a line (`""` where there are fewer), and how
/// many columns it has.
fn columns(line: &str) -> ([&str; 9], usize) {
    // A byte loop: lines are short, and a lock has a line per note.
    let mut cols = [""; 9];
    let (mut tabs, mut start) = (0, 0);
    for (at, _) in line.bytes().enumerate().filter(|&(_, b)| b == b'\t') {
        if let Some(slot) = cols.get_mut(tabs) {
            *slot = &line[start..at];
        }
        tabs += 1;
        start = at + 1;
    }
    if let Some(slot) = cols.get_mut(tabs) {
        *slot = &line[start..];
    }
    (cols, tabs + 1)
}

/// Whether `line` has at least `n` tab-separated columns.
fn has_columns(line: &str, n: usize) -> bool {
    n <= 1 || line.bytes().filter(|&b| b == b'\t').nth(n - 2).is_some()
}

/// A line cut after its first `n` columns: those, and the columns after them (or `""`).
fn after_columns(line: &str, n: usize) -> (&str, &str) {
    match line
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\t')
        .nth(n - 1)
    {
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

/// Column `i` as a number.
fn number(cols: &[&str], i: usize) -> Result<i64, String> {
    cols[i]
        .parse()
        .map_err(|_| format!("column {} is not a number", i + 1))
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

/// A note's label column: the start of its first field as plain text, on one line,
/// without tabs.
pub(super) fn label(first_field: &str) -> String {
    let plain = text::strip_html(first_field);
    let mut words = String::new();
    // Only the start is kept: the words after it are not looked at.
    for word in plain.split_whitespace() {
        if words.len() >= LABEL_BYTES {
            break;
        }
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(word);
    }
    cut(&words, LABEL_BYTES).to_string()
}

/// The longest start of `text` of at most `bytes` bytes that ends at a character.
fn cut(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header that has read `lines`.
    fn header(lines: &[&str]) -> Header {
        let mut header = Header::default();
        for line in lines {
            header.line(line).unwrap();
        }
        header
    }

    #[test]
    fn note_lines_read_what_they_wrote() {
        let aliases = Aliases::new(["A::B 中"], [5]);
        let mut head = String::from(HEADER);
        let notetype = NoteTypeRecord {
            id: 5,
            modified: 9,
            content: "ab".into(),
            schema: "cd".into(),
            name: "Basic".into(),
        };
        notetype.write(&mut head, &aliases);
        aliases.write_decks(&mut head);
        let (nt, deck) = (aliases.notetype(5), aliases.deck("A::B 中"));
        assert_eq!((nt.len(), deck.len()), (ALIAS_MIN, ALIAS_MIN));
        let expected_head =
            format!("{HEADER}notetype\t{nt}\t5\t9\tab\tcd\tBasic\ndeck\t{deck}\tA::B 中\n");
        assert_eq!(head, expected_head, "the exact text");
        let header = header(&head.lines().collect::<Vec<_>>());
        assert_eq!(header.version, 2);

        let record = NoteRecord {
            guid: "#g1",
            legacy: Some(0xab),
            modified: 2,
            hash: "0123456789ab",
            notetype_id: Some(5),
            deck: Some("A::B 中"),
            clozes: "1:x,3:y",
            label: "What is it?",
            nid: None,
            card_decks: "",
        };
        let mut text = String::new();
        record.write(&mut text, &aliases);
        let expected = format!("#g1\t00ab\t2\t0123456789ab\t{nt}\t{deck}\t1:x,3:y\tWhat is it?\n");
        assert_eq!(text, expected, "the exact text");
        let line = text.trim_end();
        assert_eq!(NoteRecord::parse(line, &header), Ok(record));
        assert!(matches!(header.clone().line(line), Ok(Line::Note)));
        assert_eq!(record.clozes(), [(1, "x"), (3, "y")]);
        assert!(header.is_note_line(line));
        assert_eq!(header.note_line_guid(line), "#g1");

        let plain = NoteRecord {
            legacy: None,
            clozes: "-",
            ..record
        };
        let mut text = String::new();
        plain.write(&mut text, &aliases);
        assert!(text.starts_with("#g1\t-\t2\t"));
        assert_eq!(NoteRecord::parse(text.trim_end(), &header), Ok(plain));
        assert!(plain.clozes().is_empty());
    }

    /// Cards in decks of their own are columns after the label, by full deck name.
    #[test]
    fn card_deck_columns_follow_the_label() {
        let aliases = Aliases::new(["A"], [5]);
        let mut head = String::from(HEADER);
        aliases.write_decks(&mut head);
        head.push_str(&format!(
            "notetype\t{}\t5\t9\tab\tcd\tB\n",
            aliases.notetype(5)
        ));
        let header = header(&head.lines().collect::<Vec<_>>());
        let column = card_decks_column(&[(1, "X::Y z".to_string()), (3, "Ü".to_string())]);
        assert_eq!(column, "2:X::Y z\t4:Ü");
        let record = NoteRecord {
            guid: "g",
            legacy: None,
            modified: 2,
            hash: "0123456789ab",
            notetype_id: Some(5),
            deck: Some("A"),
            clozes: "-",
            label: "L",
            nid: None,
            card_decks: &column,
        };
        let mut text = String::new();
        record.write(&mut text, &aliases);
        assert!(text.ends_with("\tL\t2:X::Y z\t4:Ü\n"), "{text}");
        let line = text.trim_end();
        assert_eq!(NoteRecord::parse(line, &header), Ok(record));
        assert!(header.is_note_line(line));
        assert!(matches!(header.clone().line(line), Ok(Line::Note)));
        assert_eq!(record.card_deck(1), Some("X::Y z"));
        assert_eq!(record.card_deck(3), Some("Ü"));
        assert_eq!(record.card_deck(0), Some("A"), "the note's deck");
        assert_eq!(record.card_deck_ords(), [1, 3]);
        for bad in ["0:A", "x:A", "2:", "2"] {
            let line = format!("{}\t{bad}", line.split("\t2:").next().unwrap());
            assert_eq!(
                NoteRecord::parse(&line, &header).unwrap_err(),
                "bad card deck column",
                "{bad}"
            );
        }
    }

    /// A note's id in the user's collection is a `nid:` column after the label, before
    /// its card decks; a line without it reads as before, its id the derived one.
    #[test]
    fn the_collections_note_id_follows_the_label() {
        let aliases = Aliases::new(["A"], [5]);
        let mut head = String::from(HEADER);
        aliases.write_decks(&mut head);
        NoteTypeRecord {
            id: 5,
            modified: 9,
            content: "ab".into(),
            schema: "cd".into(),
            name: "B".into(),
        }
        .write(&mut head, &aliases);
        let header = header(&head.lines().collect::<Vec<_>>());
        let (nt, deck) = (aliases.notetype(5), aliases.deck("A"));
        let plain = format!("g\t-\t2\t0123456789ab\t{nt}\t{deck}\t-\tL");
        let record = NoteRecord::parse(&plain, &header).unwrap();
        assert_eq!(record.nid, None, "an older line");
        assert_eq!(record.anki_nid(), crate::ids::note_id("g"));
        for card_decks in ["", "2:X::Y z\t4:Ü"] {
            let with = NoteRecord {
                nid: Some(1_700_000_000_123),
                card_decks,
                ..record
            };
            let mut text = String::new();
            with.write(&mut text, &aliases);
            let tail = match card_decks {
                "" => String::new(),
                decks => format!("\t{decks}"),
            };
            assert_eq!(text, format!("{plain}\tnid:1700000000123{tail}\n"));
            let line = text.trim_end();
            assert_eq!(NoteRecord::parse(line, &header), Ok(with));
            assert!(header.is_note_line(line));
            assert!(matches!(header.clone().line(line), Ok(Line::Note)));
            assert_eq!(with.anki_nid(), 1_700_000_000_123);
            let ords: &[u16] = if card_decks.is_empty() { &[] } else { &[1, 3] };
            assert_eq!(with.card_deck_ords(), ords);
        }
        for bad in ["nid:", "nid:x", "nid:1x\t2:D"] {
            let line = format!("{plain}\t{bad}");
            assert_eq!(
                NoteRecord::parse(&line, &header).unwrap_err(),
                "bad note id",
                "{bad}"
            );
        }
        let v1 = header_v1();
        let line = "note\tg\t1\t2\t0123456789abcdef\t5\tA\t-\tL";
        assert_eq!(NoteRecord::parse(line, &v1).unwrap().nid, None);
    }

    fn header_v1() -> Header {
        header(&["version\t1", "notetype\t5\t9\tab\tcd\tB"])
    }

    /// Version 1 lines read as version 2 would have written them: the hash and label
    /// shortened; the note id (always the one the guid gives) left out.
    #[test]
    fn version_1_lines_are_read() {
        let header = header(&[
            "# comment",
            "version\t1",
            "# another",
            "notetype\t5\t9\tab\tcd\tB",
        ]);
        assert_eq!(header.version, 1);
        let label = "长".repeat(20);
        let line = format!("note\tg\t1\t2\t0123456789abcdef\t5\tA::B\t-\t{label}");
        let record = NoteRecord::parse(&line, &header).unwrap();
        assert_eq!(record.hash, "0123456789ab");
        assert_eq!(
            record.label,
            "长".repeat(10),
            "32 bytes at most, whole characters"
        );
        assert_eq!((record.guid, record.legacy), ("g", None));
        assert_eq!((record.notetype_id, record.deck), (Some(5), Some("A::B")));
        assert!(header.is_note_line(&line));
        assert_eq!(header.note_line_guid(&line), "g");
        assert!(!header.is_note_line("notetype\t5\t9\tab\tcd\tB"));
    }

    #[test]
    fn the_header_and_bad_lines() {
        let mut fresh = Header::default();
        for line in HEADER.lines().chain([""]) {
            assert!(matches!(fresh.line(line), Ok(Line::Other)), "{line}");
        }
        let error = |line| Header::default().line(line).err();
        assert_eq!(error("version\t3").unwrap(), "unknown version `3`");
        assert_eq!(error("version\t1\tx").unwrap(), "unknown version `1 x`");
        assert_eq!(error("note\tx").unwrap(), "unrecognised line", "no version");
        let v2 = header(&[
            "version\t2",
            "notetype\taa\t5\t9\tab\tcd\tBasic",
            "deck\tbb\tD",
        ]);
        let error = |line| v2.clone().line(line).err();
        assert_eq!(error("note\tx").unwrap(), "unrecognised line");
        assert_eq!(error("version\t2").unwrap(), "unrecognised line");
        assert_eq!(
            error("notetype\taa\t5\tx\ta\tb\tc").unwrap(),
            "column 3 is not a number"
        );
        let record_error = |line| NoteRecord::parse(line, &v2).unwrap_err();
        assert_eq!(record_error("g\t-\t1\th\taa\tbb\t1x\tL"), "bad cloze list");
        assert_eq!(
            record_error("g\t-\t1\th\tzz\tbb\t-\tL"),
            "unknown note type `zz`"
        );
        assert_eq!(
            record_error("g\t-\t1\th\taa\tzz\t-\tL"),
            "unknown deck `zz`"
        );
        assert_eq!(record_error("g\tx\t1\th\taa\tbb\t-\tL"), "bad legacy check");
        // An alias given twice (a merge of two locks) stands for nothing; given twice
        // alike, for what it was given.
        let merged = header(&[
            "version\t2",
            "deck\tbb\tD",
            "deck\tbb\tE",
            "deck\tcc\tF",
            "deck\tcc\tF",
            "notetype\taa\t5\t9\tab\tcd\tBasic",
        ]);
        let record = NoteRecord::parse("g\t-\t1\th\taa\tbb\t-\tL", &merged).unwrap();
        assert_eq!((record.deck, record.notetype_id), (None, Some(5)));
        let record = NoteRecord::parse("g\t-\t1\th\taa\tcc\t-\tL", &merged).unwrap();
        assert_eq!(record.deck, Some("F"));
    }

    #[test]
    fn aliases_are_the_shortest_unshared_start() {
        let names: Vec<String> = (0..300).map(|i| format!("deck {i}")).collect();
        let aliases = Aliases::new(names.iter().map(String::as_str), []);
        let mut seen = std::collections::HashSet::new();
        for name in &names {
            let alias = aliases.deck(name);
            assert!(alias.len() >= ALIAS_MIN);
            assert!(crate::ids::short_hash(name).starts_with(alias));
            assert!(seen.insert(alias.to_string()), "unique");
            // One digit fewer, another deck shares it.
            if alias.len() > ALIAS_MIN {
                let shorter = &alias[..alias.len() - 1];
                let shared = names
                    .iter()
                    .filter(|n| crate::ids::short_hash(n).starts_with(shorter))
                    .count();
                assert!(shared > 1, "{name}: {alias}");
            }
        }
        // A deck more changes only the aliases of decks whose hashes start as its does.
        let more = Aliases::new(names.iter().map(String::as_str).chain(["new"]), []);
        let new_hash = crate::ids::short_hash("new");
        for name in &names {
            if aliases.deck(name) != more.deck(name) {
                assert!(new_hash.starts_with(aliases.deck(name)));
            }
        }
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
        assert_eq!(label(&"x".repeat(100)).len(), LABEL_BYTES);
        assert_eq!(label(&"é".repeat(100)).len(), LABEL_BYTES);
        assert_eq!(label(&"中".repeat(100)).len(), 30);
        // Words past the label's end are not looked at: the same as joining them all.
        let words = "ab  cde\tfghij 中文 x".repeat(20);
        for end in 0..words.len() {
            let Some(text) = words.get(..end) else {
                continue;
            };
            let all: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(label(text), cut(&all.join(" "), LABEL_BYTES), "{text:?}");
        }
    }
}
