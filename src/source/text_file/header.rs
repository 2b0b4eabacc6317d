//! The header of an Anki text file: an old-style `tags:` first line, then `#key:value`
//! lines (`#separator:`, `#html:`, `#columns:`, `#notetype:`, `#deck:`, `#tags:`,
//! `#notetype column:`, `#deck column:`, `#tags column:`, `#guid column:`).

use super::separator;

/// What the header lines say; `None` where the file leaves a choice to Anki's defaults.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Header {
    pub separator: Option<u8>,
    pub html: Option<bool>,
    /// Tags for every note, each with the line that gave it.
    pub tags: Vec<(String, usize)>,
    /// Column labels; one unsplit value until [`Header::split_columns`].
    pub columns: Vec<String>,
    pub notetype: Option<(String, usize)>,
    pub deck: Option<(String, usize)>,
    pub notetype_column: Option<usize>,
    pub deck_column: Option<usize>,
    pub tags_column: Option<usize>,
    pub guid_column: Option<usize>,
}

/// A file's header and where its rows start.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Parsed {
    pub header: Header,
    /// Byte offset of the first line after the header.
    pub body_start: usize,
    /// The first line is an old-style `tags:` line, which the CSV reader must not see.
    pub skip_first_line: bool,
    /// Lines whose value is not understood: (line, message).
    pub problems: Vec<(usize, String)>,
}

/// Reads the header lines at the start of `text`.
pub(super) fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if index == 0 {
            if let Some(tags) = bare.strip_prefix("tags:") {
                parsed.header.tags = tags
                    .split_whitespace()
                    .map(|t| (t.to_string(), 1))
                    .collect();
                parsed.skip_first_line = true;
                parsed.body_start += line.len();
                continue;
            }
        }
        let Some(meta) = bare.strip_prefix('#') else {
            break;
        };
        parsed.body_start += line.len();
        if let Some((key, value)) = meta.split_once(':') {
            if let Err(message) = parsed.header.set(key, value, number) {
                parsed.problems.push((number, message));
            }
        }
    }
    parsed
}

impl Header {
    /// Takes one `#key:value` line; unknown keys are Anki's import options, ignored. A
    /// value Anki does not understand is ignored as Anki ignores it, and reported.
    fn set(&mut self, key: &str, value: &str, line: usize) -> Result<(), String> {
        // Anki reads a column number from the value or, failing that, from its token.
        let column = |value: &str| -> Result<Option<usize>, String> {
            match (value.trim().parse::<usize>()).or_else(|_| token(value).parse::<usize>()) {
                Ok(0) | Err(_) => Err(format!(
                    "`#{key}:` takes a column number (1 is the first), not `{value}`; Anki ignores the line"
                )),
                Ok(n) => Ok(Some(n)),
            }
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "separator" => match separator::named(value).or_else(|| separator::named(token(value))) {
                Some(byte) => self.separator = Some(byte),
                None => return Err(format!("unknown separator `{value}` (use tab, pipe, semicolon, colon, comma, space or the character itself); Anki ignores the line and guesses the separator from the rows")),
            },
            "html" => match parse_bool(value).or_else(|| parse_bool(token(value))) {
                Some(html) => self.html = Some(html),
                None => return Err(format!("`#html:` takes true or false, not `{value}`; Anki ignores the line and guesses from the rows")),
            },
            "tags" => {
                self.tags = value
                    .split_whitespace()
                    .map(|t| (t.to_string(), line))
                    .collect()
            }
            // Kept whole; split once the separator is known.
            "columns" => self.columns = vec![value.to_string()],
            // Empty, Anki finds no note type or deck: the line is as good as absent.
            "notetype" | "deck" if value.trim().is_empty() => {}
            // A note type (deck) for the file and a column of them are one choice to
            // Anki: the later line wins.
            "notetype" => {
                self.notetype = Some((value.trim().to_string(), line));
                self.notetype_column = None;
            }
            "deck" => {
                self.deck = Some((value.trim().to_string(), line));
                self.deck_column = None;
            }
            "notetype column" => {
                self.notetype_column = column(value)?;
                self.notetype = None;
            }
            "deck column" => {
                self.deck_column = column(value)?;
                self.deck = None;
            }
            "tags column" => self.tags_column = column(value)?,
            "guid column" => self.guid_column = column(value)?,
            // Options of Anki's import dialog; they do not change the notes.
            "match scope" | "if matches" => {}
            _ => {}
        }
        Ok(())
    }

    /// Splits the `#columns:` line with the separator in force for the whole file, which
    /// may come from a `#separator:` line after it. Anki splits it with the separator
    /// known when it reads the line (tab before any `#separator:`), which merges labels;
    /// ankideck deliberately does not (see docs/FORMAT.md).
    pub fn split_columns(&mut self, separator: u8) {
        if let Some(raw) = self
            .columns
            .first()
            .cloned()
            .filter(|_| self.columns.len() == 1)
        {
            self.columns = split_record(&raw, separator);
        }
    }
}

/// What Anki reads of a header value that is not understood whole, so that the
/// separators a spreadsheet leaves after it (`#separator:Pipe,,,,`, `#html:true|||`) do
/// not count: its first character and the ASCII letters and digits right after it.
fn token(value: &str) -> &str {
    let Some(first) = value.chars().next() else {
        return value;
    };
    let start = first.len_utf8();
    let end = (value[start..].find(|c: char| !c.is_ascii_alphanumeric()))
        .map_or(value.len(), |i| start + i);
    &value[..end]
}

/// `true` or `false`, in any case, as Anki reads them: with no spaces around.
fn parse_bool(value: &str) -> Option<bool> {
    value.to_lowercase().parse().ok()
}

/// One CSV record's values, quoting as in the body.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_end_at_the_first_other_line() {
        let text =
            "#separator:Comma\n#html:true\r\n#deck:Languages::French\nbonjour,hello\n#deck:No\n";
        let parsed = parse(text);
        assert_eq!(parsed.body_start, text.find("bonjour").unwrap());
        assert!(!parsed.skip_first_line);
        assert!(parsed.problems.is_empty());
        let header = parsed.header;
        assert_eq!(header.separator, Some(b','));
        assert_eq!(header.html, Some(true));
        assert_eq!(header.deck, Some(("Languages::French".into(), 3)));
    }

    #[test]
    fn old_style_tags_line_is_only_the_first() {
        let parsed = parse("tags: a  b\n#tags:c\nx\ty\n");
        assert!(parsed.skip_first_line);
        assert_eq!(parsed.body_start, "tags: a  b\n#tags:c\n".len());
        // `#tags:` replaces the first line's tags, and remembers its own line.
        assert_eq!(parsed.header.tags, vec![("c".to_string(), 2)]);
        let parsed = parse("tags: a  b\nx\ty\n");
        assert_eq!(
            parsed.header.tags,
            vec![("a".to_string(), 1), ("b".to_string(), 1)]
        );
        let parsed = parse("x\ty\ntags: a\n");
        assert!(!parsed.skip_first_line && parsed.header.tags.is_empty());
    }

    #[test]
    fn keys_ignore_case_and_spaces_values_are_trimmed() {
        let parsed = parse("# Deck Column : 2\n#NOTETYPE: Basic \n#GUID column:4\n");
        let header = parsed.header;
        assert_eq!(header.deck_column, Some(2));
        assert_eq!(header.notetype, Some(("Basic".into(), 2)));
        assert_eq!(header.guid_column, Some(4));
    }

    #[test]
    fn bad_values_are_reported_with_their_line() {
        let parsed = parse("#separator:dash\n#html:yes\n#deck column:0\n#tags column:x\n");
        let lines: Vec<usize> = parsed.problems.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert!(parsed.problems[0].1.contains("unknown separator `dash`"));
        assert!(parsed.problems[1]
            .1
            .contains("`#html:` takes true or false"));
        assert!(parsed.problems[2]
            .1
            .contains("`#deck column:` takes a column number"));
        assert_eq!(parsed.header, Header::default());
    }

    #[test]
    fn separators_a_spreadsheet_adds_after_a_value_are_ignored_as_anki_ignores_them() {
        let parsed = parse("#separator:Pipe,,,,,,\n#html:true|||||\n#tags column:4;;\n");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.header.separator, Some(b'|'));
        assert_eq!(parsed.header.html, Some(true));
        assert_eq!(parsed.header.tags_column, Some(4));
        let sep = |line: &str| parse(line).header.separator;
        assert_eq!(sep("#separator:\t|,:\n"), Some(b'\t'));
        assert_eq!(sep("#separator:,;;;\n"), Some(b','));
        assert_eq!(sep("#separator:  Pipe,,\n"), Some(b' '));
        assert_eq!(sep("#separator: Pipe\n"), Some(b'|'));
        assert_eq!(sep("#separator:Comma;x\n"), Some(b','));
        assert_eq!(sep("#separator:Pipeline\n"), None);
        let html = |line: &str| parse(line).header.html;
        assert_eq!(html("#html:FALSE,,\n"), Some(false));
        assert_eq!(html("#html:true x\n"), Some(true));
        assert_eq!(html("#html:truex\n"), None);
        assert_eq!(html("#html: true\n"), None, "Anki reads no space before");
        assert_eq!(parse("#guid column:4x\n").header.guid_column, None);
        assert_eq!(parse("#guid column:4 ,\n").header.guid_column, Some(4));
    }

    #[test]
    fn empty_deck_and_notetype_lines_are_absent() {
        let parsed = parse("#deck:\n#notetype: \nx\n");
        assert!(parsed.problems.is_empty());
        assert_eq!(parsed.header, Header::default());
        assert_eq!(
            parse("#deck:A\n#deck:\n").header.deck,
            Some(("A".into(), 1))
        );
    }

    #[test]
    fn a_value_and_a_column_for_the_same_thing_the_later_line_wins() {
        let header =
            parse("#deck column:1\n#deck:Foo\n#notetype:Cloze\n#notetype column:2\n").header;
        assert_eq!(header.deck, Some(("Foo".into(), 2)));
        assert_eq!(header.deck_column, None);
        assert_eq!(header.notetype, None);
        assert_eq!(header.notetype_column, Some(2));
    }

    #[test]
    fn token_is_the_first_character_and_the_letters_and_digits_after_it() {
        assert_eq!(token("Pipe,,,"), "Pipe");
        assert_eq!(token("\t|,:"), "\t");
        assert_eq!(token("  x"), " ");
        assert_eq!(token("Pipeé"), "Pipe");
        assert_eq!(token("é1,"), "é1");
        assert_eq!(token(""), "");
    }

    #[test]
    fn lines_without_a_colon_and_import_options_are_ignored() {
        let text = "#just a comment\n#match scope:deck\n#if matches:update\nq\n";
        let parsed = parse(text);
        assert_eq!(parsed.header, Header::default());
        assert!(parsed.problems.is_empty());
        assert_eq!(parsed.body_start, text.find('q').unwrap());
    }

    #[test]
    fn columns_are_split_with_the_final_separator() {
        let mut header = parse("#columns:Front;\"Ba;ck\";Tags\n#separator:semicolon\n").header;
        assert_eq!(header.columns, vec!["Front;\"Ba;ck\";Tags".to_string()]);
        header.split_columns(header.separator.unwrap());
        assert_eq!(header.columns, ["Front", "Ba;ck", "Tags"]);
        let mut none = Header::default();
        none.split_columns(b',');
        assert!(none.columns.is_empty());
    }
}
