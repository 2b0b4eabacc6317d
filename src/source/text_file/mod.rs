//! Anki's text import format as a source: `.csv`, `.tsv` and `.txt` files read the way
//! Anki's own importer reads them (its header lines, separator detection, quoting and
//! column mapping), so a file that imports into Anki builds here into the same notes.
//!
//! Where Anki would ask the user (which note type, which deck), the defaults are those
//! of Markdown card files: the `Basic` note type and the deck named after the file's path.
//!
//! The rules live in one file each: [`header`] lines, the [`separator`], [`columns`]
//! and [`rows`]; this file applies them to make notes.

mod columns;
mod header;
mod rows;
mod separator;

use super::Reader;
use crate::deck;
use crate::error::Problem;
use crate::error::RichProblem;
use crate::note::SourceNote;
use crate::note::{add_tag, Note};
use crate::notetype::{CardError, NoteType};
use crate::source::markdown;
use crate::Stock;
use columns::{cell, Layout};
use csv::StringRecord;
use header::Header;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Extensions read as Anki text files.
pub const EXTENSIONS: &[&str] = &["csv", "tsv", "txt"];

/// Problems found in a file, with their lines, reported once it is read.
type Problems = Vec<(usize, Problem)>;

fn csv_problem(message: String) -> Problem {
    RichProblem::Csv(message).into()
}

/// Columns whose values no field takes, with the lines of the rows that have one.
type Dropped = BTreeMap<usize, Vec<usize>>;

/// What the rows of one file have shown so far.
#[derive(Default)]
struct Seen {
    dropped: Dropped,
    /// How many rows so far had each note type and first field.
    first_fields: HashMap<(i64, String), usize>,
}

/// How many lines a warning about dropped values names.
const LINES_NAMED: usize = 3;

/// One warning per column whose values are dropped, at the first row that has one.
fn dropped_problems(dropped: Dropped) -> Problems {
    let warning = |column: usize, lines: Vec<usize>| {
        let mut named: Vec<String> = lines
            .iter()
            .take(LINES_NAMED)
            .map(usize::to_string)
            .collect();
        if lines.len() > LINES_NAMED {
            named.push(format!("{} more", lines.len() - LINES_NAMED));
        }
        let rows = if lines.len() == 1 {
            "row at line"
        } else {
            "rows at lines"
        };
        let message = format!(
            "column {column} has values that no field takes (the {rows} {}): Anki drops them, and so does the build",
            named.join(", ")
        );
        (lines[0], RichProblem::CsvIgnored(message).into())
    };
    (dropped.into_iter())
        .map(|(column, lines)| warning(column, lines))
        .collect()
}

/// What holds for every row of one file.
struct FileRules {
    header: Header,
    layout: Layout,
    /// The note type for the whole file, if any.
    notetype: Option<Arc<NoteType>>,
    html: bool,
    deck: String,
    tags: Vec<String>,
    /// The folder media references are relative to.
    dir: PathBuf,
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

    let parsed = header::parse(text);
    let mut problems: Problems = (parsed.problems.into_iter())
        .map(|(line, message)| (line, RichProblem::CsvIgnored(message).into()))
        .collect();
    let mut header = parsed.header;
    let body = &text[parsed.body_start..];
    let separator = match header.separator {
        Some(separator) => separator,
        None => {
            let guessed = separator::detect(body);
            problems.extend(surprising_guess(path, text, parsed.body_start, guessed));
            guessed
        }
    };
    header.split_columns(separator);
    let (rows, error) = rows::read(text, parsed.skip_first_line, separator);
    if let Some((line, message)) = error {
        problems.push((line, csv_problem(message)));
    }
    let rules = FileRules::new(reader, path, header, &rows, &mut problems);
    problems.extend(header_row(&rules, &rows));
    let mut seen = Seen::default();
    for (line, record) in &rows {
        read_row(reader, &rules, *line, record, &mut problems, &mut seen);
    }
    problems.extend(dropped_problems(seen.dropped));
    for (line, problem) in problems {
        reader.problem(path, line, problem);
    }
    for d in &mut reader.diagnostics[first_new..] {
        d.locate(text);
    }
}

/// A warning when the separator guessed for `text` (its body from `body_start`) is not
/// the one the file's extension stands for, which the body has: at the line of the
/// guessed separator's first use.
fn surprising_guess(
    path: &Path,
    text: &str,
    body_start: usize,
    guessed: u8,
) -> Option<(usize, Problem)> {
    let extension = path.extension()?.to_str()?;
    let (_, expected) = separator::surprising(extension, &text[body_start..], guessed)?;
    let at = body_start + text[body_start..].find(char::from(guessed))?;
    let line = text[..at].matches('\n').count() + 1;
    let problem = RichProblem::CsvSeparatorGuess {
        guessed: separator::shown(guessed),
        extension: extension.to_string(),
        expected: expected.to_string(),
    };
    Some((line, problem.into()))
}

/// A warning when the first row, in a file without `#columns:`, is the names of the
/// note type's fields (`Front,Back`): a spreadsheet's header row, which Anki imports as
/// a note.
fn header_row(rules: &FileRules, rows: &[rows::Row]) -> Option<(usize, Problem)> {
    let (notetype, (line, first)) = (rules.notetype.as_ref()?, rows.first()?);
    let names: Vec<&str> = notetype.fields.iter().map(|f| f.name.as_str()).collect();
    let values = rules.layout.values(first);
    let named = rules.header.columns.is_empty()
        && values.len() == names.len()
        && (values.iter().zip(&names)).all(|(v, n)| v.trim().eq_ignore_ascii_case(n));
    let names = names.join(", ");
    named.then(|| (*line, RichProblem::CsvHeaderRow(names).into()))
}

impl FileRules {
    fn new(
        reader: &Reader,
        path: &Path,
        header: Header,
        rows: &[rows::Row],
        problems: &mut Problems,
    ) -> FileRules {
        let html = header.html.unwrap_or_else(|| rows::looks_like_html(rows));
        let notetype = match &header.notetype {
            Some((name, line)) => match reader.find_notetype(name) {
                Some(nt) => Some(nt),
                None => {
                    let message = format!("unknown note type `{name}` in `#notetype:`; Anki's importer would ignore the line and use its default note type (usually Basic): to get that, remove the line");
                    problems.push((*line, csv_problem(message)));
                    None
                }
            },
            None if header.notetype_column.is_none() => {
                Some(Arc::clone(&reader.stock[Stock::Basic as usize]))
            }
            None => None,
        };
        let field_names: Option<Vec<&str>> =
            (notetype.as_ref()).map(|nt| nt.fields.iter().map(|f| f.name.as_str()).collect());
        let first_row_len = rows.first().map(|(_, r)| r.len());
        let layout = Layout::new(&header, first_row_len, field_names.as_deref());
        let deck = match &header.deck {
            Some((deck, _)) => deck.clone(),
            None => reader.deck_from_path(path),
        };
        let mut tags = Vec::new();
        for (tag, line) in &header.tags {
            if let Err(e) = add_tag(&mut tags, tag) {
                problems.push((*line, e.into()));
            }
        }
        FileRules {
            header,
            layout,
            notetype,
            html,
            deck,
            tags,
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        }
    }

    /// The row's note type: the file's, or the one its note type column names. `None`
    /// when there is none to use (the problem, if new, is in `problems`).
    fn notetype(
        &self,
        reader: &Reader,
        line: usize,
        record: &StringRecord,
        problems: &mut Problems,
    ) -> Option<Arc<NoteType>> {
        if let Some(nt) = &self.notetype {
            return Some(Arc::clone(nt));
        }
        if self.header.notetype.is_some() {
            return None; // unknown, and reported once for the file
        }
        let name = cell(record, self.header.notetype_column);
        let found = reader.find_notetype(name);
        if found.is_none() {
            let message = format!("unknown note type `{name}` in the note type column; Anki's importer would skip the row: to get that, delete the row");
            problems.push((line, csv_problem(message)));
        }
        found
    }

    /// The row's tags: the file's and its tags column's.
    fn tags(
        &self,
        line: usize,
        record: &StringRecord,
        problems: &mut Problems,
    ) -> Option<Vec<String>> {
        let mut tags = self.tags.clone();
        let mut ok = true;
        for tag in cell(record, self.layout.tags).split_whitespace() {
            if let Err(e) = add_tag(&mut tags, tag) {
                problems.push((line, e.into()));
                ok = false;
            }
        }
        ok.then_some(tags)
    }

    /// The row's deck: its deck column's, else the file's.
    fn deck(&self, line: usize, record: &StringRecord, problems: &mut Problems) -> Option<String> {
        let deck = match self.header.deck_column.map(|c| cell(record, Some(c))) {
            Some(deck) if !deck.is_empty() => deck.to_string(),
            _ => self.deck.clone(),
        };
        deck::normalize_name(&deck)
            .map_err(|e| problems.push((line, e.into())))
            .ok()
    }
}

/// Makes a note of one row and keeps it in `reader`, or adds why not to `problems`.
fn read_row(
    reader: &mut Reader,
    rules: &FileRules,
    line: usize,
    record: &StringRecord,
    problems: &mut Problems,
    seen: &mut Seen,
) {
    let Some(notetype) = rules.notetype(reader, line, record, problems) else {
        return;
    };
    let raw = rules.layout.values(record);
    let field_count = notetype.fields.len();
    for column in rules.layout.dropped(record, field_count) {
        seen.dropped.entry(column).or_default().push(line);
    }
    if raw.first().is_none_or(|f| f.is_empty()) {
        let message = "the first field is empty: Anki skips the row, and so does the build";
        return problems.push((line, RichProblem::CsvIgnored(message.into()).into()));
    }
    // Every field, tag and deck problem of the row is reported, not just the first, and
    // its identity counts even when it has one, so that they do not hide a duplicate.
    let given = cell(record, rules.header.guid_column);
    let occurrence = match given {
        "" => {
            let count = (seen.first_fields)
                .entry((notetype.id, raw[0].to_string()))
                .or_default();
            *count += 1;
            *count
        }
        _ => 1,
    };
    let guid = rows::guid(notetype.id, raw[0], occurrence, given);
    let file = Arc::clone(&reader.current_file);
    let duplicate = reader.claim_identity(&guid, &file, line).err();
    let duplicate_found = duplicate.is_some();
    problems.extend(duplicate.map(|p| (line, p)));
    let fields = render_fields(reader, rules, &raw, field_count, line, problems);
    let tags = rules.tags(line, record, problems);
    let deck = rules.deck(line, record, problems);
    let (Some(fields), Some(tags), Some(deck)) = (fields, tags, deck) else {
        return;
    };
    if let Some(p) = reader.custom.missing_required(&notetype, &fields) {
        return problems.push((line, p));
    }
    if duplicate_found {
        return;
    }
    let ords = match notetype.card_ordinals(&fields, !tags.is_empty()) {
        Ok(ords) => ords,
        // Anki's text importer makes the note all the same, with its first card.
        Err(e @ (CardError::NoCards | CardError::NoClozes)) => {
            let message = format!("{e}; Anki's importer makes the note with its first card, which shows nothing to learn, and so does the build");
            problems.push((line, RichProblem::CsvIgnored(message).into()));
            vec![0]
        }
        Err(e) => return problems.push((line, e.into())),
    };
    let source = SourceNote {
        ords,
        note: Note {
            guid,
            notetype_id: notetype.id,
            fields,
            tags,
            deck,
            card_decks: Vec::new(),
            empty_cards: Vec::new(),
            skipped_cards: Vec::new(),
            modified: 0,
        },
        notetype,
        file,
        line,
        legacy: None,
    };
    reader.notes.push(source);
}

/// The row's fields as stored: plain text escaped, media references resolved. `None`
/// if any field has a problem.
fn render_fields(
    reader: &mut Reader,
    rules: &FileRules,
    raw: &[&str],
    field_count: usize,
    line: usize,
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let mut fields = Vec::with_capacity(field_count);
    let mut ok = true;
    for index in 0..field_count {
        let value = raw.get(index).copied().unwrap_or("");
        // Every media problem of the field is reported, not just the first.
        let mut media_problems = Vec::new();
        let mut resolve = |reference: &str| {
            let resolved = (reader.media).resolve(&reader.canonical_root, &rules.dir, reference);
            Ok(resolved.unwrap_or_else(|problem| {
                media_problems.push(problem);
                String::new()
            }))
        };
        let rendered = if rules.html {
            markdown::rewrite_html_media(value, &mut resolve)
        } else {
            markdown::rewrite_html_media(&rows::escape_text(value), &mut resolve)
        };
        media_problems.extend(rendered.as_ref().err().cloned());
        ok &= media_problems.is_empty();
        fields.extend(rendered.ok());
        for problem in media_problems {
            if !problems.contains(&(line, problem.clone())) {
                problems.push((line, problem));
            }
        }
    }
    ok.then_some(fields)
}
