//! Splitting a Markdown card file into front matter and notes: `## ` headings start
//! notes, `key: value` lines under them are settings, `### ` headings name fields.
//! Code fences are respected, so a `## ` inside code is just code.

use crate::error::Problem;
use crate::suggest;
use serde::Deserialize;
use std::ops::Range;

/// The YAML block at the top of a card file.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub deck: Option<Scalar>,
    pub tags: Option<Tags>,
    #[serde(rename = "type")]
    pub notetype: Option<String>,
    pub format: Option<String>,
    /// Line of each key in the file, for diagnostics.
    #[serde(skip)]
    pub lines: Vec<(String, usize)>,
}

impl FrontMatter {
    /// The line `key:` stands on (1 when unknown).
    pub fn line_of(&self, key: &str) -> usize {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map_or(1, |(_, l)| *l)
    }
}

/// A YAML scalar taken as text: `deck: 2024` is the deck "2024".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Eq for Scalar {}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::Integer(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// Tags in front matter: a YAML list (one tag an item), or a string read as a note's
/// `tags:` setting is ([`crate::note::split_tag_list`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Tags {
    List(Vec<Scalar>),
    Words(Scalar),
}

impl Tags {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Tags::List(list) => list.iter().map(Scalar::text).collect(),
            Tags::Words(words) => crate::note::split_tag_list(&words.text()),
        }
    }
}

/// A piece of text and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub text: String,
    pub line: usize,
}

/// A note as written, before it is interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNote {
    /// The heading text: the first field.
    pub heading: Located,
    /// `key: value` lines directly under the heading; `text` is the value.
    pub settings: Vec<(String, Located)>,
    /// Text between the settings and the first `### ` section: the second field.
    pub body: Located,
    /// `### Name` sections: (name, content).
    pub sections: Vec<(Located, Located)>,
}

impl RawNote {
    /// The value of the setting `key` under the heading, if there is one.
    pub fn setting(&self, key: &str) -> Option<&Located> {
        self.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value of a setting that may be given more than once (`card-deck`).
    pub fn settings_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Located> {
        self.settings
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A parsed card file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedFile {
    pub front_matter: FrontMatter,
    pub notes: Vec<RawNote>,
}

/// Settings a note may carry under its heading.
pub const SETTINGS: &[&str] = &[
    "id",
    "guid",
    "type",
    "tags",
    "deck",
    "card-deck",
    "empty-cards",
    "skip-cards",
    "format",
];

/// Settings a note may give more than once, each time for another thing.
const REPEATABLE: &[&str] = &["card-deck"];

/// Parses a file's text. Problems come back with their 1-based line numbers; parsing goes
/// on after a problem so that one run reports them all.
pub fn parse(text: &str) -> (ParsedFile, Vec<(usize, Problem)>) {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut parsed = ParsedFile::default();
    let Some(start) = front_matter_end(&lines, &mut parsed, &mut problems) else {
        problems.push((1, Problem::UnclosedFrontMatter));
        return (parsed, problems);
    };
    let (notes, more) = notes_of(lines[start..].iter().copied(), start + 1);
    parsed.notes = notes;
    problems.extend(more);
    (parsed, problems)
}

/// The notes of a part of a card file that [`parts`] cut, after the first: those and
/// the problems that [`parse`] finds in its lines, the first being line `first_line`.
pub fn parse_part(text: &str, first_line: usize) -> (Vec<RawNote>, Vec<(usize, Problem)>) {
    notes_of(text.split('\n'), first_line)
}

/// A card file's text cut into parts of `size` bytes or more to parse on their own:
/// (byte range, line of its first line), cut as they are asked for, where [`Cuts`]
/// says. A text under twice `size` is one part.
pub fn parts(text: &str, size: usize) -> impl Iterator<Item = (Range<usize>, usize)> + '_ {
    let mut cuts = Cuts::new(text.len(), size);
    let mut lines = text
        .split('\n')
        .take_while(move |_| text.len() >= size.saturating_mul(2));
    let (mut part, mut part_line) = (0, 1);
    let mut done = false;
    std::iter::from_fn(move || {
        for line in lines.by_ref() {
            if let Some((at, number)) = cuts.before(line) {
                // The line break before the heading ends the part before it.
                let cut = (part..at - 1, part_line);
                (part, part_line) = (at, number);
                return Some(cut);
            }
        }
        (!std::mem::replace(&mut done, true)).then_some((part..text.len(), part_line))
    })
}

/// Where to cut a card file of `total` bytes into parts of `size` bytes or more,
/// taking its lines one by one (without their line breaks). Each part after the first
/// starts at a line that [`parse`] takes as a note's heading, where nothing of the
/// lines before carries over, so [`parse_part`] gives its notes as [`parse`] would;
/// the first holds the front matter.
pub struct Cuts {
    size: usize,
    total: usize,
    /// Where the next line starts, and how many lines came before it.
    at: usize,
    lines: usize,
    /// Where the part being cut starts.
    part: usize,
    front: Front,
    fence: Fence,
}

/// How far a card file's front matter has been read: the one rule for where it ends.
enum Front {
    /// No line read yet.
    Start,
    /// In the front matter.
    Open,
    /// Past it, or there is none.
    Done,
}

impl Front {
    /// Takes the file's next line: whether it is past the front matter. A first line
    /// `---` opens one, and the next `---` or `...` closes it.
    fn take(&mut self, line: &str) -> bool {
        match self {
            Front::Start if line.trim_end() == "---" => {
                *self = Front::Open;
                false
            }
            Front::Open => {
                if matches!(line.trim_end(), "---" | "...") {
                    *self = Front::Done;
                }
                false
            }
            Front::Start | Front::Done => {
                *self = Front::Done;
                true
            }
        }
    }
}

impl Cuts {
    pub fn new(total: usize, size: usize) -> Cuts {
        Cuts {
            size,
            total,
            at: 0,
            lines: 0,
            part: 0,
            front: Front::Start,
            fence: Fence::default(),
        }
    }

    /// Takes the next line: if a part ends before it, where the line starts (its byte
    /// and its 1-based number), which starts the next part.
    pub fn before(&mut self, line: &str) -> Option<(usize, usize)> {
        let at = self.at;
        self.at += line.len() + 1;
        self.lines += 1;
        let starts_note = self.front.take(line)
            && matches!(self.fence.take(line), Code::Outside)
            && heading_text(line, "##").is_some();
        let cut = starts_note
            && at - self.part >= self.size
            && self.total.saturating_sub(at) >= self.size;
        if cut {
            self.part = at;
        }
        cut.then_some((at, self.lines))
    }
}

/// The notes in `lines`, the first being line `first_line` of the file, and their
/// problems.
fn notes_of<'t>(
    lines: impl Iterator<Item = &'t str>,
    first_line: usize,
) -> (Vec<RawNote>, Vec<(usize, Problem)>) {
    let mut notes = NotesReader::default();
    for (index, line) in lines.enumerate() {
        notes.line(line, first_line + index);
    }
    notes.unclosed_fence();
    if let Some(done) = notes.current {
        notes.notes.push(done.finish());
    }
    (notes.notes, notes.problems)
}

/// File line of the front matter's first line (the one after `---`).
const FIRST_LINE: usize = 2;

/// Reads the front matter, if the file starts with one, into `parsed`: the index of the
/// line after it (0 without one), or `None` when it is never closed.
fn front_matter_end(
    lines: &[&str],
    parsed: &mut ParsedFile,
    problems: &mut Vec<(usize, Problem)>,
) -> Option<usize> {
    let after = front_matter_close(lines.iter().copied())?;
    if after == 0 {
        return Some(0);
    }
    let (block, ignored) = without_foreign_keys(&lines[1..after - 1]);
    problems.extend(ignored);
    let block = &block;
    if !block.iter().all(|l| l.trim().is_empty()) {
        match front_matter(block) {
            Ok(fm) => parsed.front_matter = fm,
            Err(problem) => problems.push(problem),
        }
        problems.extend(comments_in_values(block));
        problems.extend(front_matter_values(block));
    }
    Some(after)
}

/// The front matter's lines with every key that is not ankideck's, nor a slip for one
/// (`dek`), blanked out with its value, and a warning for each: other apps that read
/// Markdown files (Obsidian's `aliases` and `cssclasses`, a site generator's `title`)
/// keep their own keys there. A top-level key is a line that starts with it; its value
/// runs on over the lines below that are indented or list items (`- a`).
fn without_foreign_keys<'t>(block: &[&'t str]) -> (Vec<&'t str>, Vec<(usize, Problem)>) {
    let mut kept = block.to_vec();
    let mut ignored = Vec::new();
    let mut in_foreign = false;
    for (i, line) in block.iter().enumerate() {
        let continues = line.starts_with([' ', '\t', '-']) || line.trim().is_empty();
        if in_foreign && continues && *line != "---" {
            kept[i] = "";
            continue;
        }
        in_foreign = false;
        let Some((key, _)) = line.split_once(':') else {
            continue;
        };
        let known = FRONT_MATTER_KEYS.iter().copied();
        let plain = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_-".contains(c));
        if plain && !FRONT_MATTER_KEYS.contains(&key) && suggest::nearest(key, known).is_none() {
            kept[i] = "";
            in_foreign = true;
            ignored.push((i + FIRST_LINE, Problem::FrontMatterIgnored(key.to_string())));
        }
    }
    (kept, ignored)
}

/// The index of the line after the front matter (0 without one), or `None` when it is
/// never closed.
fn front_matter_close<'t>(lines: impl Iterator<Item = &'t str>) -> Option<usize> {
    let mut front = Front::Start;
    let mut count = 0;
    for line in lines {
        if front.take(line) {
            return Some(count);
        }
        count += 1;
    }
    (!matches!(front, Front::Open)).then_some(count)
}

/// Reads the front matter's lines (those between the `---` lines).
fn front_matter(block: &[&str]) -> Result<FrontMatter, (usize, Problem)> {
    match yaml_serde::from_str::<FrontMatter>(&block.join("\n")) {
        Ok(mut fm) => {
            fm.lines = block
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    l.split_once(':')
                        .map(|(k, _)| (k.trim().to_string(), i + FIRST_LINE))
                })
                .collect();
            Ok(fm)
        }
        Err(e) => Err(front_matter_problem(&e, block)),
    }
}

/// Values YAML cut short at ` #`, which starts a comment there: `deck: Lang #1` is the
/// deck `Lang`. Quoted values and whole comment lines are as meant.
fn comments_in_values(block: &[&str]) -> Vec<(usize, Problem)> {
    let cut = |(i, line): (usize, &&str)| {
        let (key, value) = line.split_once(':')?;
        let key = key.trim();
        if key.is_empty() || key.starts_with('#') || key.starts_with('-') {
            return None;
        }
        let value = value.trim_start();
        if value.starts_with(['"', '\'']) {
            return None;
        }
        let at = if value.starts_with('#') {
            0
        } else {
            value.find(" #")? + 1
        };
        let comment = value[at..].trim_end().to_string();
        let key = key.to_string();
        Some((i + FIRST_LINE, Problem::FrontMatterComment { key, comment }))
    };
    block.iter().enumerate().filter_map(cut).collect()
}

/// The value of a note's setting that front matter also takes (`key`), as front matter
/// reads it: a YAML scalar in matching quotes (`"Physics :: Waves"`, `'x'`) is its text,
/// with YAML's escapes; any other value is its text as written. Curly quotes around it
/// stay text, with a warning (at line `number`).
fn front_matter_value(
    key: &str,
    value: &str,
    number: usize,
    problems: &mut Vec<(usize, Problem)>,
) -> String {
    problems.extend(value_problems(key, value).into_iter().map(|p| (number, p)));
    quoted_scalar(value).unwrap_or_else(|| value.to_string())
}

/// The text of `value` when it is one YAML scalar in matching quotes.
pub(crate) fn quoted_scalar(value: &str) -> Option<String> {
    let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    if value.len() < 2 || !value.ends_with(quote) {
        return None;
    }
    match yaml_serde::from_str::<Scalar>(value).ok()? {
        Scalar::Text(text) => Some(text),
        _ => None,
    }
}

/// A value in curly quotes (`“Physics”`, `‘x’`), which YAML and settings keep as text:
/// the warning, with the value in straight quotes.
fn curly_quoted(key: &str, value: &str) -> Option<Problem> {
    let open = value.chars().next()?;
    let close = match open {
        '“' | '”' | '„' => ['”', '“'],
        '‘' | '’' | '‚' => ['’', '‘'],
        _ => return None,
    };
    let inner = value[open.len_utf8()..].strip_suffix(close)?;
    let quoted = if inner.contains('"') {
        format!("'{}'", inner.replace('\'', "''"))
    } else {
        format!("\"{}\"", inner.replace('\\', "\\\\"))
    };
    Some(Problem::CurlyQuotes {
        quote: open,
        meant: format!("{key}: {quoted}"),
    })
}

/// The warnings of [`value_problems`] for the front matter's one-line values.
fn front_matter_values(block: &[&str]) -> Vec<(usize, Problem)> {
    let mut problems = Vec::new();
    for (i, line) in block.iter().enumerate() {
        if let Some((key, value)) = line.split_once(':') {
            if FRONT_MATTER_KEYS.contains(&key) {
                let found = value_problems(key, value.trim());
                problems.extend(found.into_iter().map(|p| (i + FIRST_LINE, p)));
            }
        }
    }
    problems
}

/// Warnings about the value of `key`, a key that front matter and notes share, as
/// written: curly quotes around it, and tags joined by a full-width comma or `、`.
fn value_problems(key: &str, value: &str) -> Vec<Problem> {
    let mut problems: Vec<Problem> = curly_quoted(key, value).into_iter().collect();
    if key == "tags" {
        problems.extend(tag_separator(value));
    }
    problems
}

/// Separators of a Chinese or Japanese input method that Anki does not split tags at.
const TAG_SEPARATORS: [char; 2] = ['，', '、'];

/// A tag list whose tag holds a [`TAG_SEPARATORS`] character: the warning, with the
/// tags separated as meant (in a `[…]` list if the value is one).
fn tag_separator(value: &str) -> Option<Problem> {
    let tags = crate::note::split_tag_list(&quoted_scalar(value).unwrap_or(value.to_string()));
    let tag = tags.iter().find(|t| t.contains(TAG_SEPARATORS))?.clone();
    let separator = tag.chars().find(|c| TAG_SEPARATORS.contains(c))?;
    let split = tags.iter().flat_map(|t| t.split(TAG_SEPARATORS));
    let split: Vec<&str> = split.map(str::trim).filter(|t| !t.is_empty()).collect();
    let meant = match value.starts_with('[') {
        true => format!("tags: [{}]", split.join(", ")),
        false => format!("tags: {}", split.join(" ")),
    };
    Some(Problem::TagSeparator {
        tag,
        separator,
        meant,
    })
}

/// The problem for a YAML error, at the file line (and column) to look at.
fn front_matter_problem(e: &yaml_serde::Error, block: &[&str]) -> (usize, Problem) {
    let full = e.to_string();
    // The parser appends " at line L column C": where it stopped.
    let message = full.split(" at line ").next().unwrap_or(&full);
    let mut place = e.location().map(|l| (l.line(), l.column()));
    // ", while parsing a flow sequence at line L column C": where the construct it was
    // in opened. An unclosed `[` or quote is only noticed lines later (often at the end
    // of the block), so the line where it opened is the one to fix.
    if let Some(opened) = context_mark(&full) {
        if message.ends_with("end of stream") || place.is_none_or(|(line, _)| opened.0 < line) {
            place = Some(opened);
        }
    }
    // Errors about a key's value as a whole come with the place of the whole block.
    if let Some(found) =
        key_error(message).and_then(|(key, nth, at)| key_place(block, key, nth, at))
    {
        place = Some(found);
    }
    // Past the last line with text (often at the closing `---`): the text ran out at
    // the end of that line.
    let last = block.iter().rposition(|l| !l.trim().is_empty());
    if let (Some((line, _)), Some(last)) = (place, last) {
        if line > last + 1 {
            place = Some((last + 1, block[last].trim_end().chars().count() + 1));
        }
    }
    let here = place.and_then(|p| char_at(block, p)).unwrap_or(("", ' '));
    let message = in_user_words(message, here);
    let (line, column) = match place {
        Some((line, column)) => (line + FIRST_LINE - 1, column),
        None => (1, 0),
    };
    (line, Problem::FrontMatter { message, column })
}

/// The keys front matter takes.
const FRONT_MATTER_KEYS: [&str; 4] = ["deck", "tags", "type", "format"];

/// The YAML parser's or serde's `message` in the terms of the card file, knowing the
/// text at the error's place (its line, and the character there).
fn in_user_words(message: &str, (line, at): (&str, char)) -> String {
    let keys = FRONT_MATTER_KEYS.iter().copied();
    if let Some((key, meant)) = suggest::unknown_field(message) {
        return format!("unknown key `{key}`{}", suggest::did_you_mean(meant));
    }
    if let Some(key) = message
        .strip_prefix("duplicate field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return format!("key `{key}` is given twice");
    }
    if let Some(found) = message
        .strip_prefix("invalid type: ")
        .and_then(|m| m.strip_suffix(", expected struct FrontMatter"))
    {
        return not_key_value_lines(found, keys);
    }
    if let Some((key, found)) = message
        .split_once(": invalid type: ")
        .and_then(|(key, rest)| Some((key, rest.strip_suffix(", expected a string")?)))
    {
        return format!("`{key}` takes a single value, not {}", kind_of(found));
    }
    if message.ends_with("untagged enum Scalar") {
        return "`deck` takes a single value, not a list or a mapping".into();
    }
    if message.ends_with("untagged enum Tags") {
        return "`tags` takes a list (`[a, b]`) or space-separated tags (`a b`), one word per tag"
            .into();
    }
    if message.starts_with("mapping values are not allowed") {
        return match line.split_once(':') {
            Some((key, value)) if keys.clone().any(|k| k == key.trim()) => format!(
                "`: ` in a value starts a new key in YAML; put the value in quotes: `{}: {:?}`",
                key.trim(),
                value.trim()
            ),
            _ => "`: ` in a value starts a new key in YAML; put the value in quotes".into(),
        };
    }
    // The parser noticed only at the end that a list or quote was never closed; the
    // place is where it opened.
    match (at, message) {
        ('[', "did not find expected ',' or ']'") => "this `[` is never closed with `]`".into(),
        ('{', "did not find expected ',' or '}'") => "this `{` is never closed with `}`".into(),
        ('\'' | '"', "found unexpected end of stream") => {
            format!("this quote `{at}` is never closed")
        }
        _ => message.to_string(),
    }
}

/// Front matter that is not `key: value` lines: `found` is serde's word for what it is.
fn not_key_value_lines<'a>(found: &str, keys: impl Iterator<Item = &'a str> + Clone) -> String {
    let Some(text) = found
        .strip_prefix("string \"")
        .and_then(|t| t.strip_suffix('"'))
    else {
        return format!("expected `key: value` lines, found {}", kind_of(found));
    };
    // `deck Test`: most likely a forgotten colon.
    let meant = text.split_once(' ').and_then(|(word, rest)| {
        let key = keys.clone().find(|k| *k == word);
        key.or_else(|| suggest::nearest(word, keys))
            .map(|k| format!("{k}: {rest}"))
    });
    format!(
        "expected `key: value` lines, found the text `{text}`{}",
        suggest::did_you_mean(meant.as_deref())
    )
}

/// serde's name for a kind of value (`sequence`, `integer `5``) in the card file's terms.
fn kind_of(found: &str) -> String {
    match found.split_once(' ') {
        _ if found == "sequence" => "a list".into(),
        _ if found == "map" => "a mapping".into(),
        Some((_, value)) => format!("the value {value}"),
        None => found.to_string(),
    }
}

/// The block's line at a 1-based `(line, column)`, and the character there (a space
/// past its end).
fn char_at<'a>(block: &[&'a str], (line, column): (usize, usize)) -> Option<(&'a str, char)> {
    let text = block.get(line.checked_sub(1)?)?;
    let at = text.chars().nth(column.saturating_sub(1)).unwrap_or(' ');
    Some((text, at))
}

/// `(line, column)` of the last " at line L column C" in a ", while …" context.
fn context_mark(message: &str) -> Option<(usize, usize)> {
    let context = &message[message.find(", while ")?..];
    let (_, mark) = context.rsplit_once(" at line ")?;
    let (line, column) = mark.split_once(" column ")?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// For an error about one key: the key, which of its occurrences (0-based), and
/// whether to point at its value rather than the key itself.
fn key_error(message: &str) -> Option<(&str, usize, bool)> {
    if message.ends_with("untagged enum Scalar") {
        Some(("deck", 0, true))
    } else if message.ends_with("untagged enum Tags") {
        Some(("tags", 0, true))
    } else {
        let key = message
            .strip_prefix("duplicate field `")?
            .strip_suffix('`')?;
        Some((key, 1, false))
    }
}

/// `(line, column)` in the block of the `nth` line `key:`, at the key or at its value.
fn key_place(block: &[&str], key: &str, nth: usize, at_value: bool) -> Option<(usize, usize)> {
    let (index, line) = block
        .iter()
        .enumerate()
        .filter(|(_, l)| l.split_once(':').is_some_and(|(k, _)| k.trim() == key))
        .nth(nth)?;
    let key_start = line.len() - line.trim_start().len();
    let value =
        line[key_start + key.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == ':');
    let byte = if at_value && !value.trim().is_empty() {
        line.len() - value.len()
    } else {
        key_start
    };
    Some((index + 1, line[..byte].chars().count() + 1))
}

/// The notes after the front matter, read line by line.
#[derive(Default)]
struct NotesReader<'t> {
    notes: Vec<RawNote>,
    problems: Vec<(usize, Problem)>,
    /// The note being read.
    current: Option<NoteBuilder<'t>>,
    fence: Fence,
    /// The code fence open in a note, if any: its line, its run of backticks or
    /// tildes, and the first line in it that would start a note outside code.
    open_code: Option<(usize, &'t str, Option<usize>)>,
    /// Text outside a note is reported once a file.
    reported_outside: bool,
    /// Inside an HTML comment that spans lines, before the first note.
    in_comment: bool,
}

impl<'t> NotesReader<'t> {
    /// Takes line `number`: code, a note's heading, a section heading, a setting or text.
    fn line(&mut self, line: &'t str, number: usize) {
        match self.fence.take(line) {
            Code::Inside => {
                self.in_code(line, number);
                return push_line(&mut self.current, line, number);
            }
            Code::Opens => {
                match self.current {
                    None => self.outside_note(number),
                    Some(_) => self.open_code = Some((number, fence_run(line), None)),
                }
                return push_line(&mut self.current, line, number);
            }
            Code::Outside => {}
        }
        if let Some(heading) = heading_text(line, "##") {
            return self.start_note(heading, number);
        }
        if let Some(problem) = heading_without_space(line) {
            // Outside a note this explains the line; "text outside a note" would not.
            self.problems.push((number, problem));
        } else if let Some(note) = self.current.as_mut() {
            if note.take_header_line(line, number, &mut self.problems) {
                return;
            }
        } else if !line.trim().is_empty()
            && heading_text(line, "#").is_none()
            && !self.comment_outside(line)
        {
            self.outside_note(number);
        }
        push_line(&mut self.current, line, number);
    }

    fn start_note(&mut self, heading: &str, number: usize) {
        if let Some(done) = self.current.take() {
            self.notes.push(done.finish());
        }
        if heading.is_empty() {
            self.problems.push((number, Problem::EmptyHeading));
        }
        self.current = Some(NoteBuilder::new(heading, number));
    }

    /// Notes where a line in code (`line`, number `number`) would start one outside it.
    fn in_code(&mut self, line: &str, number: usize) {
        if !self.fence.is_open() {
            self.open_code = None;
        } else if let Some((_, _, swallowed @ None)) = &mut self.open_code {
            if heading_text(line, "##").is_some() {
                *swallowed = Some(number);
            }
        }
    }

    /// At the end of the text: a fence opened in a note and never closed, which makes
    /// code of the rest of the file (an error when that holds notes).
    fn unclosed_fence(&mut self) {
        if let Some((line, fence, swallowed)) = self.open_code.take() {
            let fence = fence.to_string();
            (self.problems).push((line, Problem::UnclosedFence { fence, swallowed }));
        }
    }

    /// Whether `line`, before the first note, is (part of) an HTML comment: one on a
    /// line of its own, or one over several lines, which ends with a line ending in
    /// `-->` (text after it on that line is text).
    fn comment_outside(&mut self, line: &str) -> bool {
        let t = line.trim();
        if self.in_comment {
            self.in_comment = !t.contains("-->");
            return self.in_comment || t.ends_with("-->");
        }
        self.in_comment = t.starts_with("<!--") && !t.contains("-->");
        self.in_comment || is_comment(line)
    }

    /// Text before the first note: a problem, reported for the first such line only.
    fn outside_note(&mut self, number: usize) {
        if !self.reported_outside {
            self.problems.push((number, Problem::TextOutsideNote));
            self.reported_outside = true;
        }
    }
}

/// The code fence open while lines are read in order, if any: its character and
/// length.
#[derive(Default)]
struct Fence(Option<(char, usize)>);

/// Where a line stands to code fences.
enum Code {
    /// In a fence, closing it included.
    Inside,
    Opens,
    Outside,
}

impl Fence {
    fn is_open(&self) -> bool {
        self.0.is_some()
    }

    /// Takes the next line.
    fn take(&mut self, line: &str) -> Code {
        if let Some(open) = self.0 {
            if closes_fence(line, open) {
                self.0 = None;
            }
            return Code::Inside;
        }
        match opens_fence(line) {
            Some((marker, len, _)) => {
                self.0 = Some((marker, len));
                Code::Opens
            }
            None => Code::Outside,
        }
    }
}

/// A note being read; its lines borrow the file's text until [`NoteBuilder::finish`]
/// joins them, so that each line is not copied twice.
struct NoteBuilder<'t> {
    heading: Located,
    settings: Vec<(String, Located)>,
    in_settings: bool,
    body: Vec<&'t str>,
    body_line: usize,
    sections: Vec<(Located, Vec<&'t str>, usize)>,
}

impl<'t> NoteBuilder<'t> {
    fn new(heading: &str, line: usize) -> NoteBuilder<'t> {
        NoteBuilder {
            heading: Located {
                text: heading.to_string(),
                line,
            },
            settings: Vec::new(),
            in_settings: true,
            body: Vec::new(),
            body_line: line + 1,
            sections: Vec::new(),
        }
    }

    fn finish(self) -> RawNote {
        RawNote {
            heading: self.heading,
            settings: self.settings,
            body: block(self.body, self.body_line),
            sections: self
                .sections
                .into_iter()
                .map(|(name, lines, line)| (name, block(lines, line)))
                .collect(),
        }
    }
}

impl<'t> NoteBuilder<'t> {
    /// Takes `line` when it starts a `### ` section or, right under the heading, is a
    /// `key: value` setting; `false` leaves it to be text.
    fn take_header_line(
        &mut self,
        line: &'t str,
        number: usize,
        problems: &mut Vec<(usize, Problem)>,
    ) -> bool {
        if let Some(name) = heading_text(line, "###") {
            let name = Located {
                text: name.to_string(),
                line: number,
            };
            self.sections.push((name, Vec::new(), number + 1));
            self.in_settings = false;
            return true;
        }
        if !self.in_settings {
            return false;
        }
        let Some((key, value)) = setting(line) else {
            let Some(problem) = misspelled_setting(line) else {
                self.in_settings = false;
                return false;
            };
            self.keep_typo(line, number, problem, problems);
            return true;
        };
        if !SETTINGS.contains(&key) {
            let meant = suggest::nearest(key, SETTINGS.iter().copied());
            let meant = meant.map(|meant| written_setting(meant, value));
            let key = key.to_string();
            self.keep_typo(
                line,
                number,
                Problem::UnknownSetting { key, meant },
                problems,
            );
        } else if !REPEATABLE.contains(&key) && self.settings.iter().any(|(k, _)| k == key) {
            problems.push((number, Problem::DuplicateSetting(key.to_string())));
        } else if value.is_empty() && FRONT_MATTER_KEYS.contains(&key) {
            // As in front matter, an empty key counts as absent.
        } else {
            let text = match FRONT_MATTER_KEYS.contains(&key) {
                true => front_matter_value(key, value, number, problems),
                false => value.to_string(),
            };
            let value = Located { text, line: number };
            self.settings.push((key.to_string(), value));
        }
        true
    }
}

impl<'t> NoteBuilder<'t> {
    /// A line that is probably a mistyped setting: kept as answer text, reported, and
    /// the settings go on (so a later `id:` still counts).
    fn keep_typo(
        &mut self,
        line: &'t str,
        number: usize,
        problem: Problem,
        problems: &mut Vec<(usize, Problem)>,
    ) {
        problems.push((number, problem));
        if self.body.is_empty() {
            self.body_line = number;
        }
        self.body.push(line);
    }
}

fn push_line<'t>(current: &mut Option<NoteBuilder<'t>>, line: &'t str, number: usize) {
    if let Some(note) = current.as_mut() {
        note.in_settings = false;
        match note.sections.last_mut() {
            Some((_, lines, _)) => lines.push(line),
            None => {
                if note.body.is_empty() {
                    note.body_line = number;
                }
                note.body.push(line);
            }
        }
    }
}

/// Joins lines, dropping blank lines at both ends; `line` follows the first kept line.
fn block(lines: Vec<&str>, first_line: usize) -> Located {
    let lead = lines.iter().take_while(|l| l.trim().is_empty()).count();
    let trail = lines
        .iter()
        .rev()
        .take_while(|l| l.trim().is_empty())
        .count();
    let kept = if lead == lines.len() {
        &[][..]
    } else {
        &lines[lead..lines.len() - trail]
    };
    Located {
        text: kept.join("\n"),
        line: first_line + lead,
    }
}

/// Characters an editor does not show, which a line may start with: a byte order mark
/// that `cat a.md b.md` leaves mid-file, zero-width spaces and joiners.
const INVISIBLE: [char; 5] = ['\u{FEFF}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}'];

/// A line meant as a `## ` or `### ` heading that Markdown (CommonMark) reads as text:
/// hashes run into the text (`##Question`), a space that is not one after them
/// (U+3000, U+00A0), full-width `＃＃`, or an invisible character before them. The
/// problem, naming the character and the line as meant.
fn heading_without_space(line: &str) -> Option<Problem> {
    let problem = |at: String, odd, meant| Problem::HeadingWithoutSpace { at, odd, meant };
    let visible = line.trim_start_matches(INVISIBLE);
    if visible.len() < line.len() {
        let odd = line.chars().next()?;
        let meant = match heading_without_space(visible) {
            Some(Problem::HeadingWithoutSpace { meant, .. }) => meant,
            _ => (heading_text(visible, "##").or(heading_text(visible, "###")))
                .map(|_| visible.to_string())?,
        };
        return Some(problem(odd.to_string(), Some(odd), meant));
    }
    let mark = if line.starts_with("＃＃") {
        '＃'
    } else {
        '#'
    };
    let hashes = line.chars().take_while(|&c| c == mark).count();
    let rest = &line[hashes * mark.len_utf8()..];
    if !(2..=3).contains(&hashes) {
        return None;
    }
    let next = rest.chars().next()?;
    let odd = if mark == '＃' {
        Some(mark).filter(|_| next.is_whitespace())?;
        Some(mark)
    } else if next == '#' || next.is_ascii_whitespace() {
        return None;
    } else {
        Some(next).filter(|c| c.is_whitespace())
    };
    let meant = format!("{} {}", "#".repeat(hashes), rest.trim_start());
    let at = match odd {
        Some(odd) => odd.to_string(),
        None => format!("{}{next}", "#".repeat(hashes)),
    };
    Some(problem(at, odd, meant))
}

/// `## text` → `text` (for `marker` = `##`); a bare `##` gives an empty heading.
fn heading_text<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    if rest.is_empty() {
        return Some("");
    }
    if rest.starts_with([' ', '\t']) {
        // An ATX heading may close with a run of `#`s after a space: `## C# ##` is `C#`.
        let text = rest.trim();
        let stripped = text.trim_end_matches('#');
        return Some(if stripped.is_empty() || stripped.ends_with([' ', '\t']) {
            stripped.trim_end()
        } else {
            text
        });
    }
    None
}

fn setting(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let valid_key = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    (valid_key && (value.is_empty() || value.starts_with(' '))).then(|| (key, value.trim()))
}

/// A line shaped almost like a setting (`type:reversed`, `Tags: x`, `type : x`, the
/// full-width colon of a Chinese input method `tags：x`, or indented by up to three
/// spaces, which a deeper indent would make code) whose key is, or is near, a
/// setting's: the problem, naming the setting meant.
fn misspelled_setting(line: &str) -> Option<Problem> {
    let colon = line.find([':', '：'])?;
    let (written, value) = (&line[..colon], &line[colon..]);
    let value = value.trim_start_matches([':', '：']);
    let key = written.trim_end().trim_start_matches(' ');
    if written.len() - written.trim_start_matches(' ').len() > 3
        || key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
    {
        return None;
    }
    let known = SETTINGS.iter().copied();
    let meant = SETTINGS
        .iter()
        .copied()
        .find(|s| *s == key)
        .or_else(|| suggest::nearest(key, known))?;
    Some(Problem::MisspelledSetting {
        key: key.to_string(),
        meant: written_setting(meant, value.trim()),
    })
}

/// `key: value` as a setting is written (`key:` without a value).
fn written_setting(key: &str, value: &str) -> String {
    match value {
        "" => format!("{key}:"),
        value => format!("{key}: {value}"),
    }
}

fn is_comment(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("<!--") && t.ends_with("-->")
}

/// The info string of a fenced block that holds a field verbatim (see [`verbatim`]).
pub const VERBATIM: &str = "verbatim";
/// … and of one whose text also has backslash escapes (`\\`, `\u{D}`), for the
/// characters a card file cannot hold.
pub const VERBATIM_ESCAPED: &str = "verbatim escaped";

/// A field's text that is exactly one `~~~ verbatim` fenced block: the field, byte for
/// byte (the lines between the fences). How `ankideck unpack` writes a field that no
/// other spelling keeps exactly: leading blank lines, `## ` lines, control characters.
pub fn verbatim(text: &str) -> Option<String> {
    let (first, rest) = text.split_once('\n')?;
    let (c, len, info) = opens_fence(first)?;
    let escaped = match info {
        VERBATIM => false,
        VERBATIM_ESCAPED => true,
        _ => return None,
    };
    if c != '~' || first.starts_with(' ') {
        return None;
    }
    let lines: Vec<&str> = rest.split('\n').collect();
    let close = lines.iter().position(|l| closes_fence(l, (c, len)))?;
    if close + 1 != lines.len() {
        return None;
    }
    let inner = lines[..close].join("\n");
    if escaped {
        unescape(&inner)
    } else {
        Some(inner)
    }
}

/// `\\` → `\`, `\u{HEX}` → that character; any other backslash is not an escape.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(more) = after.strip_prefix('\\') {
            out.push('\\');
            rest = more;
        } else if let Some(hex) = after.strip_prefix("u{") {
            let end = hex.find('}')?;
            let c = char::from_u32(u32::from_str_radix(&hex[..end], 16).ok()?)?;
            out.push(c);
            rest = &hex[end + 1..];
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// A code fence opener, as CommonMark has it: up to three spaces, then three or more
/// backticks or tildes, then the info string (which may not hold a backtick after
/// backticks). Returns the fence character, its count and the trimmed info string.
pub fn opens_fence(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|&x| x == c).count();
    if len < 3 || (c == '`' && rest[len..].contains('`')) {
        return None;
    }
    Some((c, len, rest[len..].trim()))
}

/// The run of backticks or tildes of a line that [`opens_fence`].
fn fence_run(line: &str) -> &str {
    let code = line.trim_start_matches(' ');
    let c = code.chars().next().unwrap_or('`');
    &code[..code.len() - code.trim_start_matches(c).len()]
}

/// Whether `line` closes a fence opened with `len` of `c`.
pub fn closes_fence(line: &str, (c, len): (char, usize)) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let run = rest.chars().take_while(|&x| x == c).count();
    indent <= 3 && run >= len && rest[run * c.len_utf8()..].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_notes_settings_and_sections() {
        let text = "---\ndeck: A::B\ntags: [x, 中文]\n---\n# Title\n\n## Q1?\nid: q1\ntags: t\n\nAnswer\n\n```\n## not a note\n```\n\n## Q2\n### Back Extra\nmore\n";
        let (parsed, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            parsed
                .front_matter
                .deck
                .as_ref()
                .map(Scalar::text)
                .as_deref(),
            Some("A::B")
        );
        assert_eq!(parsed.front_matter.line_of("tags"), 3);
        assert_eq!(parsed.notes.len(), 2);
        let q1 = &parsed.notes[0];
        assert_eq!(
            q1.heading,
            Located {
                text: "Q1?".into(),
                line: 7
            }
        );
        assert_eq!(q1.settings[0].0, "id");
        assert_eq!(q1.settings[1].1.text, "t");
        assert_eq!(
            q1.body,
            Located {
                text: "Answer\n\n```\n## not a note\n```".into(),
                line: 11
            }
        );
        let q2 = &parsed.notes[1];
        assert_eq!(q2.body.text, "");
        assert_eq!(q2.sections[0].0.text, "Back Extra");
        assert_eq!(
            q2.sections[0].1,
            Located {
                text: "more".into(),
                line: 19
            }
        );
    }

    #[test]
    fn reports_problems_with_lines() {
        let (_, problems) = parse("---\ndeck: [unclosed\n---\n");
        assert!(
            matches!(problems[..], [(2, Problem::FrontMatter { column: 7, .. })]),
            "{problems:?}"
        );
        let (parsed, _) = parse("## Q\nidd: x\nid: kept\n\nA\n");
        assert_eq!(
            parsed.notes[0].settings[0].1.text, "kept",
            "settings go on after an unknown one"
        );
        assert_eq!(parsed.notes[0].body.text, "idd: x\n\nA");
        let (parsed, problems) = parse("stray text\n## Q\nidd: x\n");
        assert_eq!(
            problems,
            vec![
                (1, Problem::TextOutsideNote),
                (
                    3,
                    Problem::UnknownSetting {
                        key: "idd".into(),
                        meant: Some("id: x".into())
                    }
                )
            ]
        );
        assert_eq!(
            parsed.notes[0].body.text, "idd: x",
            "an unknown setting stays as text"
        );
        let (_, problems) = parse("```\ncode\n```\n## Q\n");
        assert_eq!(problems, vec![(1, Problem::TextOutsideNote)]);
        let (parsed, problems) = parse("<!--\ndrafts: later\n-->\n# T\n<!-- one -->\n## Q\n");
        assert_eq!(
            (problems, parsed.notes.len()),
            (vec![], 1),
            "comments over lines"
        );
        let (_, problems) = parse("<!--\na\n--> stray\n## Q\n");
        assert_eq!(problems, vec![(3, Problem::TextOutsideNote)]);
        let (_, problems) = parse("---\ndeck: x\n");
        assert_eq!(problems, vec![(1, Problem::UnclosedFrontMatter)]);
        let (_, problems) = parse("---\ncolour: red\n---\n");
        assert_eq!(
            problems,
            [(2, Problem::FrontMatterIgnored("colour".into()))]
        );
    }

    #[test]
    fn other_apps_keys_in_front_matter_are_ignored_with_a_warning() {
        let text = "---\naliases:\n  - cardio\n- x\ncssclasses: [wide]\ndeck: Med\ntags: [a]\ntitle: Heart\n---\n## Q\nA\n";
        let (parsed, problems) = parse(text);
        let ignored = |key: &str| Problem::FrontMatterIgnored(key.into());
        let expected = [
            (2, ignored("aliases")),
            (5, ignored("cssclasses")),
            (8, ignored("title")),
        ];
        assert_eq!(problems, expected);
        let fm = &parsed.front_matter;
        assert_eq!(fm.deck.as_ref().map(Scalar::text).as_deref(), Some("Med"));
        assert_eq!((fm.line_of("deck"), fm.line_of("tags")), (6, 7));
        assert_eq!(parsed.notes.len(), 1);
        // A slip for one of ankideck's keys is still an error.
        let (_, problems) = parse("---\ndecks: Med\n---\n## Q\nA\n");
        assert!(
            matches!(&problems[..], [(2, Problem::FrontMatter { .. })]),
            "{problems:?}"
        );
    }

    #[test]
    fn settings_stand_right_under_the_heading() {
        let (parsed, problems) = parse("## Q\nid: a\nid: b\n\ntags: late\n### Back\ntype: x\n");
        assert_eq!(problems, vec![(3, Problem::DuplicateSetting("id".into()))]);
        let q = &parsed.notes[0];
        assert_eq!(q.setting("id").map(|v| v.text.as_str()), Some("a"));
        assert_eq!(q.setting("tags"), None, "a blank line ends the settings");
        assert_eq!(q.body.text, "tags: late");
        assert_eq!(q.sections[0].1.text, "type: x", "a section has no settings");
    }

    #[test]
    fn headings_and_fences_outside_notes() {
        let (parsed, problems) =
            parse("# Title\n<!-- note -->\n## C# ##\n##\n~~~~\n## code\n~~~\n~~~~\n");
        assert_eq!(problems, vec![(4, Problem::EmptyHeading)]);
        assert_eq!(parsed.notes.len(), 2);
        assert_eq!(parsed.notes[0].heading.text, "C#");
        assert_eq!(parsed.notes[1].body.text, "~~~~\n## code\n~~~\n~~~~");
    }

    /// Parsed part by part, a card file gives the notes and problems it gives whole,
    /// whatever the size of the parts: a `## ` line in code or in the front matter
    /// cuts nothing, and an unclosed front matter is one part.
    #[test]
    fn parts_parse_as_the_whole() {
        let text = "---\ndeck: D\n## not a note\n---\nstray\n## One\nid: 1\n\nA\n\n## Two\n```\n## in code\n```\n##Three\n### Back\nB\n\n## \n\n~~~~\n## still code\n~~~\n## Four\n~~~~\n\n## Five\nlast\n```\n## Six\n\n## Seven";
        let whole = parse(text);
        for size in 1..text.len() {
            let parts: Vec<_> = parts(text, size).collect();
            let (first, first_line) = parts[0].clone();
            assert_eq!(first_line, 1);
            let (mut parsed, mut problems) = parse(&text[first]);
            for (range, line) in &parts[1..] {
                assert!(text[range.clone()].starts_with("## "), "size {size}");
                let (notes, more) = parse_part(&text[range.clone()], *line);
                parsed.notes.extend(notes);
                problems.extend(more);
            }
            assert_eq!((parsed, problems), whole, "size {size}: {parts:?}");
        }
        assert!(parts(text, 4).count() > 3);
        assert_eq!(parts("---\n## a\n\n## b\n\n## c\n", 1).count(), 1);
    }

    /// Lines under the heading that are almost settings are kept as answer text, with
    /// a warning naming the setting meant; the settings after them still count.
    fn without_space(at: &str, odd: Option<char>, meant: &str) -> Problem {
        Problem::HeadingWithoutSpace {
            at: at.into(),
            odd,
            meant: meant.into(),
        }
    }

    /// Headings that are not, for a character that looks like a space or a `#` or is
    /// invisible: each named at its line, with the line as meant; the note above keeps
    /// the line as text, as CommonMark reads it.
    #[test]
    fn headings_with_odd_characters_are_named() {
        let cases = [
            ("##\u{3000}问题", '\u{3000}', "## 问题"),
            ("##\u{A0}Question", '\u{A0}', "## Question"),
            ("###\u{3000}Back", '\u{3000}', "### Back"),
            ("\u{FEFF}## Next", '\u{FEFF}', "## Next"),
            ("\u{200B}## Next", '\u{200B}', "## Next"),
            ("\u{FEFF}##Next", '\u{FEFF}', "## Next"),
            ("\u{2060}### Back", '\u{2060}', "### Back"),
            ("＃＃ 问题", '＃', "## 问题"),
            ("＃＃\u{3000}问题", '＃', "## 问题"),
        ];
        for (line, odd, meant) in cases {
            let (parsed, problems) = parse(&format!("## Q\nA\n{line}\nmore\n"));
            assert_eq!(
                problems,
                [(3, without_space(&odd.to_string(), Some(odd), meant))],
                "{line:?}"
            );
            assert_eq!(parsed.notes.len(), 1, "{line:?}");
            assert_eq!(parsed.notes[0].body.text, format!("A\n{line}\nmore"));
        }
        for text in [
            "＃＃问题",
            "＃ 问题",
            "####\u{3000}x",
            "\u{FEFF}text",
            "##\r",
            "#\u{3000}x",
        ] {
            let (_, problems) = parse(&format!("## Q\nA\n{text}\n"));
            assert_eq!(problems, [], "{text:?}");
        }
        // Before the first note, the line is explained, not "text outside a note".
        let (_, problems) = parse("\u{FEFF}## Q\n");
        let expected = without_space("\u{FEFF}", Some('\u{FEFF}'), "## Q");
        assert_eq!(problems, [(1, expected)]);
    }

    #[test]
    fn hashes_run_into_the_text_are_named() {
        let (parsed, problems) = parse("## Q\nA\n##Next\n###Back\n#hashtag\n```\n##x\n```\n");
        assert_eq!(parsed.notes.len(), 1);
        assert_eq!(
            problems,
            vec![
                (3, without_space("##N", None, "## Next")),
                (4, without_space("###B", None, "### Back")),
            ]
        );
    }

    /// A fence opened in a note and never closed makes code of the rest of the file:
    /// an error at the fence when that swallows a heading (named), else a warning.
    #[test]
    fn a_fence_never_closed_is_named() {
        let unclosed = |fence: &str, swallowed| Problem::UnclosedFence {
            fence: fence.into(),
            swallowed,
        };
        let text = "## Q\n```python\nprint(1)\n## Next question\nAnswer two.\n## Third\n";
        let (parsed, problems) = parse(text);
        assert_eq!(parsed.notes.len(), 1);
        assert_eq!(problems, [(2, unclosed("```", Some(4)))]);
        assert_eq!(problems[0].1.severity(), crate::error::Severity::Error);
        let (_, problems) = parse("## Q\nA\n\n  ~~~~ text\ncode\n### Back\n");
        assert_eq!(problems, [(4, unclosed("~~~~", None))]);
        assert_eq!(problems[0].1.severity(), crate::error::Severity::Warning);
        for closed in [
            "## Q\n```\n## in code\n```\n## R\n",
            "## Q\n````\n```\n## in code\n````\n```\nx\n```\n",
            "```\n## outside a note\n",
        ] {
            let (_, problems) = parse(closed);
            let fences = problems
                .iter()
                .filter(|(_, p)| p.code() == "unclosed-fence");
            assert_eq!(fences.count(), 0, "{closed:?}: {problems:?}");
        }
    }

    /// Curly quotes around a value stay text, with a warning that shows the line with
    /// straight quotes; in front matter too.
    #[test]
    fn curly_quotes_are_named() {
        let curly = |quote, meant: &str| Problem::CurlyQuotes {
            quote,
            meant: meant.into(),
        };
        let (parsed, problems) = parse("## Q\ndeck: “Physics”\ntags: ‘a b’\nid: “x”\n");
        assert_eq!(
            problems,
            [
                (2, curly('“', "deck: \"Physics\"")),
                (3, curly('‘', "tags: \"a b\"")),
            ]
        );
        assert_eq!(parsed.notes[0].settings[0].1.text, "“Physics”");
        let (_, problems) = parse("---\ntype: “my \"type\"”\n---\n## Q\n");
        assert_eq!(problems, [(2, curly('“', "type: 'my \"type\"'"))]);
    }

    /// Tags joined by a full-width comma or `、` are one tag, as Anki has it, with a
    /// warning at the tag that shows the tags separated; in front matter too.
    #[test]
    fn tags_joined_by_cjk_punctuation_are_named() {
        let joined = |tag: &str, separator, meant: &str| Problem::TagSeparator {
            tag: tag.into(),
            separator,
            meant: meant.into(),
        };
        let cases = [
            (
                "[语法，基础]",
                joined("语法，基础", '，', "tags: [语法, 基础]"),
            ),
            ("语法、基础", joined("语法、基础", '、', "tags: 语法 基础")),
            (
                "x 语法， 基础、",
                joined("语法，", '，', "tags: x 语法 基础"),
            ),
            ("\"a，b\"", joined("a，b", '，', "tags: a b")),
            ("['a，b']", joined("a，b", '，', "tags: [a, b]")),
        ];
        for (value, problem) in cases {
            let (parsed, problems) = parse(&format!("## Q\ntags: {value}\n"));
            assert_eq!(problems, [(2, problem.clone())], "{value}");
            let tags = parsed.notes[0].setting("tags").map(|t| t.text.clone());
            let (_, front) = parse(&format!("---\ntags: {value}\n---\n## Q\n"));
            assert_eq!(front, [(2, problem)], "{value}");
            let split = crate::note::split_tag_list(&tags.unwrap());
            assert!(
                split.iter().any(|t| t.contains(TAG_SEPARATORS)),
                "{split:?}"
            );
        }
        let (_, problems) = parse("## Q\ntags: 语法 基础, x\n\n语法，基础\n");
        assert_eq!(problems, []);
    }

    #[test]
    fn values_cut_by_a_comment_are_named() {
        let (parsed, problems) = parse("---\ndeck: Lang #1\ntags: \"a #b\"\n# note\n---\n## Q\n");
        assert_eq!(
            parsed.front_matter.deck.map(|d| d.text()),
            Some("Lang".into())
        );
        assert_eq!(
            problems,
            vec![(
                2,
                Problem::FrontMatterComment {
                    key: "deck".into(),
                    comment: "#1".into()
                }
            )]
        );
        let (_, problems) = parse("---\ndeck: #1\n---\n## Q\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn near_miss_settings_say_what_was_meant() {
        let misspelled = |key: &str, meant: &str| Problem::MisspelledSetting {
            key: key.into(),
            meant: meant.into(),
        };
        let unknown = |key: &str, meant: Option<&str>| Problem::UnknownSetting {
            key: key.into(),
            meant: meant.map(str::to_string),
        };
        let cases = [
            ("type:reversed", misspelled("type", "type: reversed")),
            ("Tags: x y", misspelled("Tags", "tags: x y")),
            ("ID: q1", misspelled("ID", "id: q1")),
            ("type : cloze", misspelled("type", "type: cloze")),
            ("Tag:", misspelled("Tag", "tags:")),
            ("tpye: cloze", unknown("tpye", Some("type: cloze"))),
            ("tag: x", unknown("tag", Some("tags: x"))),
            ("id：newton-1", misspelled("id", "id: newton-1")),
            ("tags：语法", misspelled("tags", "tags: 语法")),
            ("Tags： 语法 基础", misspelled("Tags", "tags: 语法 基础")),
            ("  type: reversed", misspelled("type", "type: reversed")),
            ("   deck: A::B", misspelled("deck", "deck: A::B")),
            (" tpye:cloze", misspelled("tpye", "type: cloze")),
            ("answer: 42", unknown("answer", None)),
        ];
        for (line, problem) in cases {
            let (parsed, problems) = parse(&format!("## Q\n{line}\nid: kept\n\nA\n"));
            assert_eq!(problems, [(2, problem)], "{line}");
            let note = &parsed.notes[0];
            assert_eq!(note.body.text, format!("{line}\n\nA"), "{line}");
            assert_eq!(note.setting("id").map(|v| v.text.as_str()), Some("kept"));
        }
        for text in [
            "Note: capitalised is body text",
            "http://example.com",
            "Answer:42",
            "See: x",
            "- tags: x",
            "    type: code, not a setting",
            "\ttype: code",
            "注意：这是答案",
        ] {
            let (parsed, problems) = parse(&format!("## Q\n{text}\nid: body\n"));
            assert_eq!(problems, [], "{text}");
            assert_eq!(parsed.notes[0].body.text, format!("{text}\nid: body"));
        }
        let (_, problems) = parse("## Q\n\nTags: x\n");
        assert_eq!(problems, [], "after a blank line it is answer text");
    }

    #[test]
    fn a_setting_needs_a_known_shape() {
        assert_eq!(setting("id: x"), Some(("id", "x")));
        assert_eq!(setting("see http://x"), None);
        assert_eq!(setting("Note: capitalised is body text"), None);
        assert_eq!(setting("http://example.com"), None);
    }

    /// The front matter of `yaml`'s lines, or the problem.
    fn front(yaml: &str) -> Result<FrontMatter, (usize, Problem)> {
        let (parsed, mut problems) = parse(&format!("---\n{yaml}\n---\n"));
        match problems.pop() {
            None => Ok(parsed.front_matter),
            Some(problem) => Err(problem),
        }
    }

    fn deck(yaml: &str) -> String {
        front(yaml)
            .unwrap()
            .deck
            .map(|d| d.text())
            .unwrap_or_default()
    }

    fn tags(yaml: &str) -> Vec<String> {
        front(yaml)
            .unwrap()
            .tags
            .map(|t| t.to_vec())
            .unwrap_or_default()
    }

    /// YAML 1.1 booleans, octals, dates and the like stay the text written (YAML 1.2
    /// core schema); numbers and booleans it does resolve are read back as their value.
    #[test]
    fn front_matter_scalars_keep_their_meaning() {
        for text in [
            "no",
            "yes",
            "on",
            "off",
            "y",
            "n",
            "Yes",
            "NO",
            "017",
            "00",
            "08",
            "1_000",
            "0x",
            "2024-01-01",
            "12:30",
            "+",
            "A::B",
        ] {
            assert_eq!(deck(&format!("deck: {text}")), text);
            assert_eq!(tags(&format!("tags: [{text}]")), [text]);
        }
        for (written, read) in [
            ("1.10", "1.1"),
            ("1.0", "1"),
            ("2024", "2024"),
            ("0o17", "15"),
            ("0x1F", "31"),
            ("+1", "1"),
            ("1e3", "1000"),
            (".5", "0.5"),
            ("true", "true"),
            ("True", "true"),
            ("FALSE", "false"),
            (".inf", "inf"),
            ("-.inf", "-inf"),
            ("'1.10'", "1.10"),
            ("\"no\"", "no"),
            ("!!str 1.10", "1.10"),
            ("|\n  block", "block"),
            ("", ""),
            ("~", ""),
            ("null", ""),
        ] {
            assert_eq!(deck(&format!("deck: {written}")), read, "deck: {written}");
        }
        assert_eq!(deck("deck: 1,000"), "1,000");
        assert_eq!(tags("tags: [1,000]"), ["1", "000"]);
        assert_eq!(tags("tags: no 1.10 yes"), ["no", "1.10", "yes"]);
        assert_eq!(tags("tags: 1.10"), ["1.1"]);
        assert_eq!(
            tags("tags:\n  - a\n  - 1.10\n  - no\n  - true"),
            ["a", "1.1", "no", "true"]
        );
        assert_eq!(tags("tags: [-, x]"), ["-", "x"]);
        assert_eq!(tags("tags: verb, irregular"), ["verb", "irregular"]);
        assert_eq!(tags("tags: '[verb, irregular]'"), ["verb", "irregular"]);
        let fm = front("type: 1.10\nformat: no").unwrap();
        assert_eq!(fm.notetype.as_deref(), Some("1.10"));
        assert_eq!(fm.format.as_deref(), Some("no"));
        assert_eq!(deck("deck: &a x\ntags: *a"), "x");
    }

    const TAGS: &str =
        "`tags` takes a list (`[a, b]`) or space-separated tags (`a b`), one word per tag";

    /// Errors point at the line (and column) to fix, in the file's coordinates, and say
    /// what is wrong in the card file's terms (not serde's); the parser's own messages
    /// about YAML syntax are kept where there is nothing better to say.
    #[test]
    fn front_matter_errors_have_places() {
        let place = |yaml: &str| match front(yaml) {
            Err((line, Problem::FrontMatter { message, column })) => (line, column, message),
            other => panic!("{yaml:?}: {other:?}"),
        };
        let cases: &[(&str, (usize, usize), &str)] = &[
            // An unclosed bracket or quote: where it opened, not at the closing `---`.
            (
                "deck: x\ntags: [chinese",
                (3, 7),
                "this `[` is never closed with `]`",
            ),
            (
                "tags: [chinese\ndeck: x",
                (2, 7),
                "this `[` is never closed with `]`",
            ),
            ("deck: 'unclosed", (2, 7), "this quote `'` is never closed"),
            ("deck: {a: 1", (2, 7), "this `{` is never closed with `}`"),
            // On one line the parser's own place is the more precise.
            ("deck: \"\\x\"", (2, 10), "did not find expected hex"),
            (
                "deck: x\n  bad: indent",
                (3, 6),
                "`: ` in a value starts a new key in YAML; put the value in quotes",
            ),
            (
                "deck: A :: B",
                (2, 10),
                "`: ` in a value starts a new key in YAML; put the value in quotes: `deck: \"A :: B\"`",
            ),
            ("deck: @x", (2, 7), "found character that"),
            ("dek: a", (2, 1), "unknown key `dek`; did you mean `deck`?"),
            ("Tags: a", (2, 1), "unknown key `Tags`; did you mean `tags`?"),
            ("type: [a]", (2, 7), "`type` takes a single value, not a list"),
            ("format: {a: b}", (2, 9), "`format` takes a single value, not a mapping"),
            // Not `key: value` lines at all.
            (
                "deck Test",
                (2, 1),
                "expected `key: value` lines, found the text `deck Test`; did you mean `deck: Test`?",
            ),
            ("- deck: x", (2, 1), "expected `key: value` lines, found a list"),
            ("2024", (2, 1), "expected `key: value` lines, found the value `2024`"),
            // Text that ends too soon: at its end, not at the closing `---`.
            ("deck: {\n", (2, 8), "did not find expected node"),
            ("tags: [#x, x]", (2, 14), "did not find expected node"),
            // Columns count characters.
            ("deck: \"中\\x\"", (2, 11), "did not find expected hex"),
            ("tags: [中文, {\n", (2, 13), "did not find expected node"),
            // Values of the wrong kind are at the key's value, a repeated key at its repeat.
            (
                "tags: a\ndeck: [a]",
                (3, 7),
                "`deck` takes a single value, not a list or a mapping",
            ),
            ("deck: a\ntags: [[a]]", (3, 7), TAGS),
            ("deck: a\ntags:\n  - [a]", (3, 1), TAGS),
            ("deck: a\ntags: b\ndeck: c", (4, 1), "key `deck` is given twice"),
        ];
        for &(yaml, (line, column), expected) in cases {
            let (l, c, message) = place(yaml);
            assert_eq!((l, c), (line, column), "{yaml:?}: {message}");
            let exact = expected.contains('`') || expected.ends_with("never closed");
            match exact {
                true => assert_eq!(message, expected, "{yaml:?}"),
                false => assert!(message.starts_with(expected), "{yaml:?}: {message}"),
            }
            assert!(!message.contains(" at line "), "{message}");
        }
    }
}
