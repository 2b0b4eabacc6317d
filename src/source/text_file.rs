//! Anki's text import format as a source: `.csv`, `.tsv` and `.txt` files read the way
//! Anki's own importer reads them (its header lines, separator detection, quoting and
//! column mapping), so a file that imports into Anki builds here into the same notes.
//!
//! Where Anki would ask the user (which note type, which deck), the defaults are those
//! of Markdown card files: the `Basic` note type and the deck named after the file's path.

use super::Reader;
use crate::deck;
use crate::error::Problem;
use crate::error::RichProblem;
use crate::note::SourceNote;
use crate::note::{add_tag, Note};
use crate::source::markdown;
use crate::{ids, Stock};
use regex::Regex;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// Extensions read as Anki text files.
pub const EXTENSIONS: &[&str] = &["csv", "tsv", "txt"];

/// Anki's HTML detector, used when the file does not say `#html:`.
static HTML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?si)(<!--.*?-->)|(<style.*?>.*?</style>)|(<script.*?>.*?</script>)|(<.*?>)")
        .unwrap()
});

/// Separators in the order Anki tries them when the file names none.
const SEPARATORS: &[(&str, u8)] = &[
    ("tab", b'\t'),
    ("pipe", b'|'),
    ("semicolon", b';'),
    ("colon", b':'),
    ("comma", b','),
    ("space", b' '),
];

/// Anki reads this many rows to guess whether fields are HTML.
const PREVIEW_ROWS: usize = 5;

#[derive(Debug, Default)]
struct Header {
    separator: Option<u8>,
    html: Option<bool>,
    tags: Vec<(String, usize)>,
    columns: Vec<String>,
    notetype: Option<(String, usize)>,
    deck: Option<(String, usize)>,
    notetype_column: Option<usize>,
    deck_column: Option<usize>,
    tags_column: Option<usize>,
    guid_column: Option<usize>,
}

fn csv_problem(message: String) -> Problem {
    RichProblem::Csv(message).into()
}

/// Reads one text file's notes into `reader`.
pub(super) fn read(reader: &mut Reader, path: &Path) {
    reader.files += 1;
    reader.current_file = Arc::from(path);
    let text = match super::read_text(path) {
        Ok(text) => text,
        Err(diagnostic) => return reader.diagnostics.push(*diagnostic),
    };
    let first_new = reader.diagnostics.len();
    // Anki allows no control characters in fields, whatever file they come from.
    reader.check_characters(path, &text);
    let text = text.as_str();
    let mut problems: Vec<(usize, Problem)> = Vec::new();

    // Header: an old-style `tags:` first line, then `#key:value` lines.
    let mut header = Header::default();
    let mut body_start = 0;
    let mut skip_first_line = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if index == 0 {
            if let Some(tags) = bare.strip_prefix("tags:") {
                header.tags = tags
                    .split_whitespace()
                    .map(|t| (t.to_string(), 1))
                    .collect();
                skip_first_line = true;
                body_start += line.len();
                continue;
            }
        }
        let Some(meta) = bare.strip_prefix('#') else {
            break;
        };
        body_start += line.len();
        if let Some((key, value)) = meta.split_once(':') {
            if let Err(message) = header.set(key, value, number) {
                problems.push((number, csv_problem(message)));
            }
        }
    }

    let body = &text[body_start..];
    let separator = header.separator.unwrap_or_else(|| {
        let sample = &body.as_bytes()[..body.len().min(8 * 1024)];
        SEPARATORS
            .iter()
            .find(|(_, b)| sample.contains(b))
            .map_or(b' ', |(_, b)| *b)
    });
    // The header's `#columns:` line is split with the separator in force when it was read,
    // as Anki does; re-split it now in case `#separator:` came later.
    if let Some(raw) = header
        .columns
        .first()
        .cloned()
        .filter(|_| header.columns.len() == 1)
    {
        header.columns = split_record(&raw, separator);
    }

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
    // A record's position is where the reader started looking for it, before the comment
    // and blank lines it skipped: step over those first.
    let line_at = |byte: Option<u64>| {
        let bytes = fed.as_bytes();
        let mut at = (byte.unwrap_or(0) as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'#' | b'\n' | b'\r') {
            at = bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| at + i + 1);
        }
        bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1 + line_offset
    };
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    for record in csv.records() {
        match record {
            Ok(r) => rows.push((line_at(r.position().map(|p| p.byte())), r)),
            Err(e) => {
                let line = line_at(e.position().map(|p| p.byte()));
                problems.push((line, csv_problem(format!("not valid CSV: {e}"))));
                break;
            }
        }
    }
    let html = header.html.unwrap_or_else(|| {
        rows.iter()
            .take(PREVIEW_ROWS)
            .any(|(_, r)| r.iter().any(|f| HTML.is_match(f)))
    });

    // The note type for the whole file, if any.
    let global = match &header.notetype {
        Some((name, line)) => match reader.find_notetype(name) {
            Some(nt) => Some(nt),
            None => {
                problems.push((*line, Problem::UnknownNoteType(name.clone())));
                None
            }
        },
        None if header.notetype_column.is_none() => {
            Some(Arc::clone(&reader.stock[Stock::Basic as usize]))
        }
        None => None,
    };
    let meta_columns: HashSet<usize> = [
        header.notetype_column,
        header.deck_column,
        header.tags_column,
        header.guid_column,
    ]
    .into_iter()
    .flatten()
    .collect();
    let column_count = if header.columns.is_empty() {
        rows.first().map_or(0, |(_, r)| r.len())
    } else {
        header.columns.len()
    };
    // Field → column (1-based), as Anki maps them for a file-wide note type.
    let mut tags_column = header.tags_column;
    let field_columns: Option<Vec<Option<usize>>> = global.as_ref().map(|nt| {
        let mut columns = vec![None; nt.fields.len()];
        if header.columns.iter().all(String::is_empty) {
            let mut free = (1..=column_count).filter(|c| !meta_columns.contains(c));
            for slot in columns.iter_mut() {
                *slot = free.next();
            }
        } else {
            for (slot, field) in columns.iter_mut().zip(&nt.fields) {
                *slot = header
                    .columns
                    .iter()
                    .position(|label| label == &field.name)
                    .map(|i| i + 1)
                    .filter(|c| !meta_columns.contains(c));
            }
        }
        if columns[0].is_none() {
            columns[0] = (1..=column_count).find(|c| !meta_columns.contains(c));
        }
        if tags_column.is_none() {
            let max = columns.iter().flatten().max().copied().unwrap_or(0);
            tags_column = (max + 1..=column_count).find(|c| !meta_columns.contains(c));
        }
        columns
    });

    let file_deck = match &header.deck {
        Some((deck, _)) => deck.clone(),
        None => reader.deck_from_path(path),
    };
    let mut file_tags = Vec::new();
    for (tag, line) in &header.tags {
        if let Err(e) = add_tag(&mut file_tags, tag) {
            problems.push((*line, e.into()));
        }
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();

    for (line, record) in &rows {
        let line = *line;
        let cell = |column: Option<usize>| column.and_then(|c| record.get(c - 1)).unwrap_or("");
        let notetype = match &global {
            Some(nt) => Arc::clone(nt),
            None if header.notetype.is_some() => continue, // reported above
            None => match reader.find_notetype(cell(header.notetype_column)) {
                Some(nt) => nt,
                None => {
                    let name = cell(header.notetype_column).to_string();
                    problems.push((line, Problem::UnknownNoteType(name)));
                    continue;
                }
            },
        };
        let raw: Vec<&str> = match &field_columns {
            Some(columns) => columns.iter().map(|&c| cell(c)).collect(),
            None => (1..=record.len())
                .filter(|c| !meta_columns.contains(c))
                .map(|c| cell(Some(c)))
                .collect(),
        };
        // Nothing the user wrote may vanish: a value in a column no field takes is an error.
        if let Some(columns) = &field_columns {
            let used = |c: usize| {
                columns.contains(&Some(c)) || meta_columns.contains(&c) || tags_column == Some(c)
            };
            if let Some(c) = (1..=record.len()).find(|&c| !used(c) && !cell(Some(c)).is_empty()) {
                let message = format!(
                    "the row has a value in column {c}, but no field takes that column (the file has {column_count} columns)"
                );
                problems.push((line, csv_problem(message)));
                continue;
            }
        }
        if raw.len() > notetype.fields.len()
            && raw[notetype.fields.len()..].iter().any(|v| !v.is_empty())
        {
            problems.push((
                line,
                csv_problem(format!(
                    "the row has {} field values, but note type `{}` has {} fields",
                    raw.len(),
                    notetype.name,
                    notetype.fields.len()
                )),
            ));
            continue;
        }
        if raw.first().is_none_or(|f| f.is_empty()) {
            problems.push((
                line,
                csv_problem("the first field is empty (Anki skips such rows)".into()),
            ));
            continue;
        }
        let mut fields = Vec::with_capacity(notetype.fields.len());
        let mut failed = false;
        for index in 0..notetype.fields.len() {
            let value = raw.get(index).copied().unwrap_or("");
            let mut resolve = |reference: &str| {
                reader
                    .media
                    .resolve(&reader.canonical_root, &dir, reference)
            };
            let rendered = if html {
                markdown::rewrite_html_media(value, &mut resolve)
            } else {
                markdown::rewrite_html_media(&escape_text(value), &mut resolve)
            };
            match rendered {
                Ok(f) => fields.push(f),
                Err(p) => {
                    problems.push((line, p));
                    failed = true;
                }
            }
        }
        let mut tags = file_tags.clone();
        for tag in cell(tags_column).split_whitespace() {
            if let Err(e) = add_tag(&mut tags, tag) {
                problems.push((line, e.into()));
                failed = true;
            }
        }
        let deck = match header.deck_column.map(|c| cell(Some(c))) {
            Some(deck) if !deck.is_empty() => deck.to_string(),
            _ => file_deck.clone(),
        };
        let deck = match deck::normalize_name(&deck) {
            Ok(d) => d,
            Err(e) => {
                problems.push((line, e.into()));
                continue;
            }
        };
        if failed {
            continue;
        }
        if let Some(p) = reader.custom.missing_required(&notetype, &fields) {
            problems.push((line, p));
            continue;
        }
        let guid = match cell(header.guid_column) {
            "" => ids::guid(&format!("text:{}\u{1f}{}", notetype.id, raw[0])),
            given => given.to_string(),
        };
        let ords = match notetype.card_ordinals(&fields, !tags.is_empty()) {
            Ok(ords) => ords,
            Err(e) => {
                problems.push((line, e.into()));
                continue;
            }
        };
        let source = SourceNote {
            ords,
            note: Note {
                guid,
                notetype_id: notetype.id,
                fields,
                tags,
                deck,
                modified: 0,
            },
            notetype,
            file: Arc::clone(&reader.current_file),
            line,
        };
        if let Err(problem) = reader.keep_note(source) {
            problems.push((line, problem));
        }
    }
    for (line, problem) in problems {
        reader.problem(path, line, problem);
    }
    for d in &mut reader.diagnostics[first_new..] {
        d.locate(text);
    }
}

impl Header {
    fn set(&mut self, key: &str, value: &str, line: usize) -> Result<(), String> {
        let column = |value: &str| -> Result<Option<usize>, String> {
            match value.trim().parse::<usize>() {
                Ok(0) | Err(_) => Err(format!(
                    "`#{key}:` takes a column number (1 is the first), not `{value}`"
                )),
                Ok(n) => Ok(Some(n)),
            }
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "separator" => {
                let lower = value.to_ascii_lowercase();
                let found = SEPARATORS
                    .iter()
                    .find(|(name, byte)| lower.trim() == *name || lower.as_bytes() == [*byte]);
                match found {
                    Some((_, byte)) => self.separator = Some(*byte),
                    None => return Err(format!("unknown separator `{value}` (use tab, pipe, semicolon, colon, comma, space or the character itself)")),
                }
            }
            "html" => match value.trim().to_ascii_lowercase().as_str() {
                "true" => self.html = Some(true),
                "false" => self.html = Some(false),
                _ => return Err(format!("`#html:` takes true or false, not `{value}`")),
            },
            "tags" => {
                self.tags = value
                    .split_whitespace()
                    .map(|t| (t.to_string(), line))
                    .collect()
            }
            // Kept whole; split once the separator is known.
            "columns" => self.columns = vec![value.to_string()],
            "notetype" => self.notetype = Some((value.trim().to_string(), line)),
            "deck" => self.deck = Some((value.trim().to_string(), line)),
            "notetype column" => self.notetype_column = column(value)?,
            "deck column" => self.deck_column = column(value)?,
            "tags column" => self.tags_column = column(value)?,
            "guid column" => self.guid_column = column(value)?,
            // Options of Anki's import dialog; they do not change the notes.
            "match scope" | "if matches" => {}
            _ => {}
        }
        Ok(())
    }
}

fn split_record(line: &str, separator: u8) -> Vec<String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator)
        .from_reader(line.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Plain text as Anki stores it: HTML-escaped, line breaks as `<br>`.
fn escape_text(s: &str) -> String {
    crate::text::escape_attr(s)
        .replace('\'', "&#x27;")
        .replace('\n', "<br>")
}
