//! Markdown that quietly gives another card than the one its writer meant, found so
//! that a warning can say what to write instead: a table row with more cells than its
//! header (Markdown drops the rest, often split off by a `|` in code), a line
//! underlined with `---` or `===` (a heading, where a separator between notes was
//! meant), a `---` that ends a field (a line at the end of the card, likewise), an Obsidian embed `![[…]]` (text, where a picture was meant), Obsidian's
//! inline tags `#cardio` (text, where tags were meant), and other dialects' highlight,
//! comments, subscripts and superscripts (`==x==`, `%%x%%`, `H~2~O`, `x^2^`: shown as
//! written), and cards written for other flashcard tools (`Q::A`, `START` … `END`,
//! `{{cloze x}}`: text on the card).

use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Parser, Tag};
use regex::Regex;

use super::markdown::{markdown_options, protect_math, unprotect};
use crate::error::Problem;
use crate::text::is_sound_or_video;

/// The bytes some slip below needs (a table's `|`, a line end, `#`, `=`, `%`, `[`, `~`,
/// `^`, `:`, `{`), each its own bit, so that one pass over a field tells which it has:
/// most fields have none, and are looked at no further.
const MARKS: &[u8] = b"|\n#=%[~^:{";
static MARK_BIT: [u16; 256] = {
    let mut bits = [0; 256];
    let mut i = 0;
    while i < MARKS.len() {
        bits[MARKS[i] as usize] = 1 << i;
        i += 1;
    }
    bits
};

/// The slips in a Markdown field, as `(byte offset, problem)` in `source`; `heading`
/// says the field is a note's heading. Code is left alone, and so is math (a `|` in a
/// formula splits no cell).
pub fn markup_slips(source: &str, heading: bool) -> Vec<(usize, Problem)> {
    let mut slips: Vec<(usize, Problem)> = match heading {
        true => heading_tags(source).into_iter().collect(),
        false => Vec::new(),
    };
    let marks = source.bytes().fold(0, |m, b| m | MARK_BIT[usize::from(b)]);
    if marks == 0 {
        return slips;
    }
    let has = |mark: u8| marks & MARK_BIT[usize::from(mark)] != 0;
    // A sub- or superscript takes two marks (`x^2^`); a formula's `x^2` one.
    let twice = |mark: u8| has(mark) && source.bytes().filter(|&b| b == mark).nth(1).is_some();
    let embeds = has(b'[') && source.contains("![[");
    let tags = !heading && has(b'#') && source.lines().any(is_tag_line);
    let foreign = (has(b'=') && source.contains("=="))
        || (has(b'%') && source.contains("%%"))
        || (has(b'[') && (source.contains("[[") || source.contains("[!")))
        || ((twice(b'~') || twice(b'^'))
            && FOREIGN[2..4].iter().any(|(_, re, _)| re.is_match(source)));
    let cards = may_hold_cards(source, &has);
    let table = has(b'|') && may_be_table(source);
    let underline = has(b'\n') && may_underline(source);
    // Most fields have none of these, and are not parsed again.
    if !table && !underline && !embeds && !tags && !foreign && !cards {
        return slips;
    }
    let (protected, formulas) = protect_math(source);
    let back = |range: Range<usize>| unprotect(source, &protected, &formulas, range);
    let mut code: Vec<Range<usize>> = Vec::new();
    let mut columns = 0;
    for (event, range) in Parser::new_ext(&protected, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(alignments)) => columns = alignments.len(),
            Event::Start(Tag::TableRow) => {
                let row = &protected[range.clone()];
                if let Some((cells, from)) = extra_cells(row, columns) {
                    let at = back(range.clone()).1;
                    let (dropped, _) = back(range.start + from..range.end);
                    slips.push((at, dropped_cells(&dropped, cells, columns)));
                }
            }
            Event::Start(Tag::Heading { .. }) => {
                let (heading, at) = back(range);
                if let Some((offset, slip)) = underlined(&heading) {
                    slips.push((at + offset, slip));
                }
            }
            // A rule that ends the field: a `---` written to separate notes.
            Event::Rule if protected[range.end..].trim().is_empty() && range.start > 0 => {
                let (rule, at) = back(range);
                let rule = rule.trim().to_string();
                slips.push((at, Problem::TrailingRule(rule)));
            }
            Event::Start(Tag::Paragraph) if tags => {
                let (text, at) = back(range);
                slips.extend(tag_lines(&text).map(|(offset, slip)| (at + offset, slip)));
            }
            // A link's destination is a URL, where `^`, `~` or `==` are its characters.
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                let link = &protected[range.clone()];
                match link.rfind("](") {
                    Some(i) if link.ends_with(')') => code.push(range.start + i..range.end),
                    _ if link.starts_with('<') => code.push(range),
                    _ => {}
                }
            }
            Event::Code(_)
            | Event::Start(Tag::CodeBlock(_))
            | Event::Html(_)
            | Event::InlineHtml(_) => code.push(range),
            _ => {}
        }
    }
    let outside_code = |m: &regex::Match| !code.iter().any(|r| r.contains(&m.start()));
    if embeds {
        for m in EMBED.find_iter(&protected).filter(outside_code) {
            let (written, at) = back(m.range());
            slips.push((at, embed(written)));
        }
    }
    if foreign {
        slips.extend(foreign_markups(&protected, &outside_code, &back));
    }
    if cards {
        slips.extend(foreign_cards(&protected, &code, &back));
    }
    slips.sort_by_key(|(at, _)| *at);
    slips
}

/// Other dialects' markup ([`FOREIGN`]) in `protected` (the field, its math protected),
/// where `outside_code` says it is not code, as `(byte offset, problem)` in the source.
fn foreign_markups(
    protected: &str,
    outside_code: &dyn Fn(&regex::Match) -> bool,
    back: &Back,
) -> Vec<(usize, Problem)> {
    let mut found = Vec::new();
    for (what, pattern, tags) in FOREIGN.iter() {
        for c in pattern.captures_iter(protected) {
            let m = c.get(1).expect("group 1");
            let before = &protected[..m.start()];
            // `\==` is escaped, and meant as written; `![[` is an embed.
            let embed = m.as_str().starts_with("[[") && before.ends_with(['!', '[']);
            if outside_code(&m)
                && !before.ends_with('\\')
                && !embed
                && !in_url(protected, m.start())
            {
                let (written, at) = back(m.range());
                let inner = c.get(2).expect("group 2").as_str();
                found.push((at, foreign_markup(what, written, inner, tags)));
            }
        }
    }
    found
}

/// Whether `source` may hold a card written for another flashcard tool.
/// `has` says which of [`MARKS`] it holds: a block of lines needs a line end.
fn may_hold_cards(source: &str, has: &dyn Fn(u8) -> bool) -> bool {
    (has(b':') && source.contains("::"))
        || (has(b'{') && source.contains("{{cloze"))
        || (has(b'\n')
            && (source.contains("START")
                || (source.contains('?')
                    && source.lines().any(|l| matches!(l.trim(), "?" | "??")))))
}

/// Turns a range of the field with its math protected into the text as written and
/// where it starts in the source.
type Back<'a> = dyn Fn(Range<usize>) -> (String, usize) + 'a;

/// Cards written for other flashcard tools in `text` (the field, its math protected),
/// outside `code`, which stay text on the card: the one-line `Q::A` (`Q:::A` a card each
/// way) of Obsidian's Spaced Repetition plugin and its line `?` (`??`) between a
/// question's lines and an answer's, Obsidian_to_Anki's `START` … `END` blocks and
/// Logseq's `{{cloze text}}`.
fn foreign_cards(text: &str, code: &[Range<usize>], back: &Back) -> Vec<(usize, Problem)> {
    let in_code = |at: usize| code.iter().any(|r| r.contains(&at));
    let lines: Vec<(usize, &str)> = (text.split_inclusive('\n'))
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line.trim_end_matches(['\n', '\r'])))
        })
        .collect();
    let filled = |i: usize| lines.get(i).is_some_and(|(_, l)| !l.trim().is_empty());
    let mut found = Vec::new();
    for (i, &(at, line)) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if in_code(at + indent) {
            continue;
        }
        let card = match line.trim() {
            "?" | "??" if i > 0 && filled(i - 1) && filled(i + 1) => {
                let (front, _) = back(lines[i - 1].0..lines[i - 1].0 + lines[i - 1].1.len());
                Some(separator_card(line.trim(), &front))
            }
            "START" if lines[i + 1..].iter().any(|(_, l)| l.trim() == "END") => {
                let end = lines[i + 1..].iter().position(|(_, l)| l.trim() == "END");
                let block = &lines[i + 1..i + 1 + end.unwrap_or(0)];
                let field = |key: &str| {
                    let (at, line) = block.iter().find(|(_, l)| l.starts_with(key))?;
                    let value = back(at + key.len()..at + line.len()).0;
                    Some(value.trim().to_string()).filter(|v| !v.is_empty())
                };
                Some(block_card(field("Front:"), field("Back:")))
            }
            _ => one_line_card(line, |i| in_code(at + i)).map(|(i, colons)| {
                let front = back(at + indent..at + i).0;
                let answer = back(at + i + colons..at + line.len()).0;
                let written = back(at + indent..at + line.len()).0;
                one_line(written, &front, &answer, colons == 3)
            }),
        };
        found.extend(card.map(|card| (back(at + indent..at + line.len()).1, card)));
    }
    for m in LOGSEQ_CLOZE.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        if !in_code(whole.start()) {
            let (written, at) = back(whole.range());
            let inner = back(m.get(1).expect("group 1").range()).0;
            let meant = format!("`{{{{c1::{inner}}}}}`");
            let what = "Logseq's cloze".to_string();
            found.push((
                at,
                Problem::ForeignCard {
                    written,
                    what,
                    meant,
                },
            ));
        }
    }
    found
}

/// Logseq's cloze deletion, `{{cloze text}}` (group 1 its text).
static LOGSEQ_CLOZE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{cloze\s+([^{}\n]*[^{}\s])\s*\}\}").unwrap());

/// Where the separator `::` (or `:::`) of a one-line card is in `line`, and its number of
/// colons. A `::` between two words (`std::vector`, a deck `French::Verbs`, `fe80::1`) is
/// no separator, nor one in code, in braces (`{{c1::x::hint}}`), in a URL or on a
/// `deck:`, `card-deck:` or `tags:` line.
fn one_line_card(line: &str, in_code: impl Fn(usize) -> bool) -> Option<(usize, usize)> {
    if SETTING_LINE.is_match(line) {
        return None;
    }
    let mut from = 0;
    while let Some(i) = line[from..].find("::").map(|i| from + i) {
        let colons = line[i..].len() - line[i..].trim_start_matches(':').len();
        from = i + colons;
        let braced = line[..i].rfind("{{") > line[..i].rfind("}}");
        if colons > 3 || in_code(i) || braced || in_url(line, i) {
            continue;
        }
        let (Some(l), Some(r)) = (line[..i].chars().next_back(), line[from..].chars().next())
        else {
            continue;
        };
        let marked = l.is_whitespace() || r.is_whitespace() || "?.!)\"'*_`”’。？！）".contains(l);
        if (colons == 3 || marked)
            && !line[..i].trim().is_empty()
            && !line[from..].trim().is_empty()
        {
            return Some((i, colons));
        }
    }
    None
}

/// A line of settings whose values may hold `::` (a deck's parent and child).
static SETTING_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:deck|card-deck|tags)\s*:").unwrap());

/// The warning for the one-line card `written`, `front` and `answer` around its
/// separator (`:::` for a card each way).
fn one_line(written: String, front: &str, answer: &str, both_ways: bool) -> Problem {
    // A list item's marker is no part of the front.
    let front = front.trim().trim_start_matches(['-', '*', '+']).trim();
    let (what, reversed) = match both_ways {
        true => ("a one-line card both ways", " (`type: reversed`)"),
        false => ("a one-line card", ""),
    };
    Problem::ForeignCard {
        written,
        what: format!("{what} of Obsidian's Spaced Repetition plugin"),
        meant: format!(
            "a note `## {front}`{reversed} with `{}` below it",
            answer.trim()
        ),
    }
}

/// The warning for the line `?` (or `??`, a card each way) after the line `front`.
fn separator_card(separator: &str, front: &str) -> Problem {
    let reversed = match separator {
        "??" => " (`type: reversed`)",
        _ => "",
    };
    Problem::ForeignCard {
        written: separator.to_string(),
        what: "the line between a card's front and back in Obsidian's Spaced Repetition plugin"
            .to_string(),
        meant: format!(
            "a note `## {}`{reversed} with the lines after `{separator}` below it",
            front.trim()
        ),
    }
}

/// The warning for an Obsidian_to_Anki block, with the values of its `Front:` and
/// `Back:` lines.
fn block_card(front: Option<String>, answer: Option<String>) -> Problem {
    let meant = match (front, answer) {
        (Some(front), Some(answer)) => format!("a note `## {front}` with `{answer}` below it"),
        _ => "a note for each card: its front as a `## ` heading, its back below it".into(),
    };
    Problem::ForeignCard {
        written: "START".into(),
        what: "the start of a card of the Obsidian_to_Anki plugin".into(),
        meant,
    }
}

/// Whether `at` in `text` is inside a URL written out (`https://…`, `www.…`), such as a
/// bare one or a link reference's: its characters are no markup.
fn in_url(text: &str, at: usize) -> bool {
    let start = text[..at]
        .rfind(|c: char| c.is_whitespace() || "(<[".contains(c))
        .map_or(0, |i| i + 1);
    let word = &text[start..at];
    word.contains("://") || word.starts_with("www.") || word.starts_with("mailto:")
}

/// Whether a line may be a table's delimiter row (`|---|:-:|`, `--- | ---`, in a quote
/// too).
fn may_be_table(source: &str) -> bool {
    source.contains('|')
        && source.lines().any(|line| {
            line.contains('|')
                && line.contains('-')
                && line
                    .chars()
                    .all(|c| matches!(c, '|' | '-' | ':' | '>' | ' ' | '\t'))
        })
}

/// Whether a line after the first is made of one of `-`, `=`, `*` and `_` (spaces
/// between): a possible underline of a heading, or a rule.
fn may_underline(source: &str) -> bool {
    source.lines().skip(1).any(|line| {
        let mut marks = line.chars().filter(|c| !c.is_whitespace());
        marks
            .next()
            .is_some_and(|first| "-=*_".contains(first) && marks.all(|c| c == first))
    })
}

/// A table row with more cells than the table's `columns`, as GitHub's tables split
/// it (a `|` splits cells anywhere in the row, in code too, unless it is escaped as
/// `\|`): its number of cells, and where in `row` the first cell Markdown drops starts.
fn extra_cells(row: &str, columns: usize) -> Option<(usize, usize)> {
    let mut cells = 0;
    let mut from = None;
    let mut cell_start = None;
    let mut escaped = false;
    // The leading `|` opens the first cell; a trailing one closes the last.
    let start = row.len() - row.trim_start().len();
    let row_text = row.trim_end();
    let skip = usize::from(row_text[start..].starts_with('|'));
    for (i, c) in row_text
        .char_indices()
        .skip_while(|&(i, _)| i < start + skip)
    {
        if cells == columns && from.is_none() && cell_start.is_none() {
            from = Some(i);
        }
        cell_start.get_or_insert(i);
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '|' => {
                cells += 1;
                cell_start = None;
            }
            _ => {}
        }
    }
    if cell_start.is_some_and(|s| !row_text[s..].trim().is_empty()) {
        cells += 1;
    }
    (columns > 0 && cells > columns).then(|| (cells, from.unwrap_or(row_text.len())))
}

/// The warning for a row of `cells` cells in a table of `columns`, whose dropped cells
/// are written `dropped` (up to the end of the row).
fn dropped_cells(dropped: &str, cells: usize, columns: usize) -> Problem {
    let dropped = dropped.trim();
    let dropped = match dropped.strip_suffix('|') {
        Some(d) if !d.ends_with('\\') => d.trim_end(),
        _ => dropped,
    };
    Problem::TableCellsDropped {
        cells,
        columns,
        dropped: dropped.to_string(),
    }
}

/// A heading underlined with `-` or `=` (as written, its text then its underline):
/// where its underline starts in it, and the warning.
fn underlined(heading: &str) -> Option<(usize, Problem)> {
    let heading = heading.trim_end();
    if heading.trim_start().starts_with('#') {
        return None;
    }
    let (text, underline) = heading.rsplit_once('\n')?;
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = text.char_indices().nth(40) {
        text.truncate(cut);
        text.push('…');
    }
    let offset = heading.len() - underline.len() + (underline.len() - underline.trim_start().len());
    Some((
        offset,
        Problem::UnderlinedHeading {
            underline: underline.trim().to_string(),
            text,
        },
    ))
}

/// Whether `word` is an inline tag as Obsidian and Logseq write them: `#` and a name
/// of letters, digits, `_`, `-` and `/`, not all digits (`#42` is no tag), nor a C
/// preprocessor directive (`#include`, `#define`: code, in a card about C).
fn is_inline_tag(word: &str) -> bool {
    const DIRECTIVES: [&str; 13] = [
        "include", "define", "undef", "if", "ifdef", "ifndef", "elif", "else", "endif", "pragma",
        "error", "warning", "import",
    ];
    word.strip_prefix('#').is_some_and(|name| {
        !name.is_empty()
            && !DIRECTIVES.contains(&name)
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "_-/".contains(c))
            && !name.chars().all(|c| c.is_ascii_digit())
    })
}

/// The warning for inline tags `written` (words with their `#`); Obsidian's nested tag
/// `#a/b` is Anki's hierarchy `a::b`.
fn inline_tags(written: &[&str]) -> Problem {
    let names: Vec<String> = written.iter().map(|w| w[1..].replace('/', "::")).collect();
    Problem::InlineTags {
        written: written.join(" "),
        meant: format!("tags: {}", names.join(" ")),
    }
}

/// Inline tags ending a heading (`## What pumps blood? #cardio`), which stay its text.
fn heading_tags(heading: &str) -> Option<(usize, Problem)> {
    // Most headings end in no tag, and only their last word is looked at.
    if !is_inline_tag(heading.split_whitespace().next_back()?) {
        return None;
    }
    let words: Vec<&str> = heading.split_whitespace().collect();
    let count = words.iter().rev().take_while(|w| is_inline_tag(w)).count();
    if count == 0 || count == words.len() {
        return None;
    }
    let written = &words[words.len() - count..];
    let at = heading.rfind(written[0]).unwrap_or(0);
    Some((at, inline_tags(written)))
}

/// Whether `line` holds inline tags and nothing else.
fn is_tag_line(line: &str) -> bool {
    let mut words = line.split_whitespace().peekable();
    words.peek().is_some() && words.all(is_inline_tag)
}

/// Lines of a paragraph (as written) that hold nothing but inline tags.
fn tag_lines(paragraph: &str) -> impl Iterator<Item = (usize, Problem)> + '_ {
    paragraph
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            let words: Vec<&str> = line.split_whitespace().collect();
            let found = is_tag_line(line)
                .then(|| (start + line.find('#').unwrap_or(0), inline_tags(&words)));
            Some(found)
        })
        .flatten()
}

/// Markup of other Markdown dialects that this one shows as written: what it is, its
/// pattern (group 1 the markup, group 2 its text) and the HTML tags to write instead.
static FOREIGN: LazyLock<[(&str, Regex, [&str; 2]); 6]> = LazyLock::new(|| {
    let re = |pattern: &str| Regex::new(pattern).unwrap();
    [
        (
            "Obsidian's highlight",
            re(r"(==([^=\s](?:[^=\n]*[^=\s])?)==)"),
            ["<mark>", "</mark>"],
        ),
        (
            "an Obsidian comment",
            re(r"(?s)(%%(.+?)%%)"),
            ["<!--", "-->"],
        ),
        (
            "a subscript in Pandoc's Markdown",
            re(r"[\p{L}\p{N}](~([^~\s]{1,12})~)"),
            ["<sub>", "</sub>"],
        ),
        (
            "a superscript in Pandoc's Markdown",
            re(r"[\p{L}\p{N})](\^([^\^\s]{1,12})\^)"),
            ["<sup>", "</sup>"],
        ),
        (
            "an Obsidian wikilink",
            re(r"(\[\[(?:[^\[\]\n|]*\|)?([^\[\]\n|]+)\]\])"),
            ["", ""],
        ),
        (
            "an Obsidian callout",
            re(r"(?m)^[ \t]*>[ \t]*(\[!([A-Za-z]+)\][-+]?)"),
            ["<b>", "</b>"],
        ),
    ]
});

/// The warning for `written`, markup of another dialect (`what`) around `inner`, with the
/// HTML `tags` to write instead (only its first line for a comment over several).
fn foreign_markup(what: &str, written: String, inner: &str, tags: &[&str; 2]) -> Problem {
    let written = written.lines().next().unwrap_or_default().to_string();
    let inner = match inner.contains('\n') {
        true => " … ",
        false => inner,
    };
    Problem::ForeignMarkup {
        written,
        what: what.to_string(),
        corrected: format!("{}{inner}{}", tags[0], tags[1]),
    }
}

/// `![[name]]`, `![[name|300]]` or `![[note#heading]]` on one line.
static EMBED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!\[\[[^\[\]\n]+\]\]").unwrap());

/// The warning for the Obsidian embed `written`, with the Markdown for a media file.
fn embed(written: String) -> Problem {
    let inner = &written[3..written.len() - 2];
    let name = inner.split(['|', '#']).next().unwrap_or(inner).trim();
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    const IMAGES: [&str; 8] = ["png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp"];
    let corrected = if is_sound_or_video(name) {
        Some(format!("[sound:{name}]"))
    } else if ext.is_some_and(|e| IMAGES.contains(&e.as_str())) {
        Some(match name.contains(' ') {
            true => format!("![](<{name}>)"),
            false => format!("![]({name})"),
        })
    } else {
        None
    };
    Problem::WikiEmbed { written, corrected }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(source: &str) -> Vec<(usize, String)> {
        markup_slips(source, false)
            .into_iter()
            .map(|(at, p)| (at, p.to_string()))
            .collect()
    }

    #[test]
    fn rows_with_more_cells_than_the_header_are_found() {
        let table = "| a | b |\n|---|---|\n| `x|y` | z |\n| $|x|$ | w |\n| 1 \\| 2 | 3 |\n";
        let found = codes(table);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, table.find("| `x").unwrap());
        assert!(found[0].1.contains("has 3 cells"), "{found:?}");
        assert!(found[0].1.contains("leaves out `z`"), "{found:?}");
        // Math before the table moves it in the source, not in the parsed text.
        let math = format!("$$\na|b\n$$\n\n{table}");
        assert_eq!(codes(&math)[0].0, math.find("| `x").unwrap());
        assert!(codes("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |\n").is_empty());
        // Without outer pipes, and in a quote.
        assert_eq!(codes("a | b\n--- | ---\n1 | 2 | 3\n").len(), 1);
        assert_eq!(codes("> | a |\n> |---|\n> | 1 | 2 |\n").len(), 1);
    }

    #[test]
    fn underlined_headings_and_rules_ending_a_field_are_found() {
        let text = "The answer\n---\n\n## not here\n\nmore\n===\n\n---\n";
        let found = codes(text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[2].0, text.rfind("---").unwrap());
        assert!(found[2].1.contains("draws a line"), "{found:?}");
        assert_eq!(found[0].0, text.find("---").unwrap());
        assert!(found[0].1.contains("`The answer`"), "{found:?}");
        assert_eq!(found[1].0, text.find("===").unwrap());
        assert!(codes("a\n\n---\n\n- x\n- y\n").is_empty());
        assert!(codes("a\n\n***\n\nb\n").is_empty());
        assert_eq!(codes("a\n* * *\n").len(), 1);
        assert!(codes("```\na\n---\n```\n").is_empty());
    }

    #[test]
    fn embeds_are_found_outside_code() {
        let text = "![[heart.png|300]] `![[x.png]]` ![[a b.mp3]] ![[Other note]]";
        let found = markup_slips(text, false);
        let written: Vec<_> = found
            .iter()
            .map(|(at, p)| match p {
                Problem::WikiEmbed { written, corrected } => {
                    (*at, written.as_str(), corrected.clone())
                }
                _ => panic!("{p:?}"),
            })
            .collect();
        assert_eq!(
            written,
            [
                (0, "![[heart.png|300]]", Some("![](heart.png)".into())),
                (32, "![[a b.mp3]]", Some("[sound:a b.mp3]".into())),
                (45, "![[Other note]]", None),
            ]
        );
    }

    /// The foreign-markup slips of `text`: where, as written, and the correction.
    fn foreign_markup_in(text: &str) -> Vec<(usize, String, String)> {
        (markup_slips(text, false).into_iter())
            .map(|(at, p)| match p {
                Problem::ForeignMarkup {
                    written, corrected, ..
                } => (at, written, corrected),
                _ => panic!("{p:?}"),
            })
            .collect()
    }

    #[test]
    fn other_dialects_markup_is_found_outside_code_and_math() {
        let text = "==key idea== H~2~O x^2^ Ca^2+^ %% note %%\n\n`==a==` $x^2^y$ a == b == c ~~gone~~ <span title=\"==x==\">y</span> \\==kept== H\\~2~O\n";
        let found = foreign_markup_in(text);
        let expected = [
            (0, "==key idea==", "<mark>key idea</mark>"),
            (14, "~2~", "<sub>2</sub>"),
            (20, "^2^", "<sup>2</sup>"),
            (26, "^2+^", "<sup>2+</sup>"),
            (31, "%% note %%", "<!-- note -->"),
        ];
        let expected: Vec<_> = (expected.iter())
            .map(|(at, w, c)| (*at, w.to_string(), c.to_string()))
            .collect();
        assert_eq!(found, expected);
        // In a URL, written out or a link's destination, the characters are the URL's.
        for text in [
            "[plot](https://example.com/a^2^b) and [t](a~1~b.html)",
            "see https://example.com/x^2^ or www.example.com/==a==",
            "[r]: https://example.com/x^2^\n\n[r]",
        ] {
            assert!(markup_slips(text, false).is_empty(), "{text}");
        }
        assert_eq!(markup_slips("[x^2^](https://example.com)", false).len(), 1);
    }

    #[test]
    fn wikilinks_and_callouts_are_found() {
        let text = "See [[Heart]] and [[Heart#Top|the top]].\n\n> [!note]- Title\n> text\n";
        let found = foreign_markup_in(text);
        let at = |s: &str| text.find(s).unwrap();
        let expected = [
            (at("[[Heart]]"), "[[Heart]]", "Heart"),
            (at("[[Heart#"), "[[Heart#Top|the top]]", "the top"),
            (at("[!note]"), "[!note]-", "<b>note</b>"),
        ];
        let expected: Vec<_> = (expected.iter())
            .map(|(at, w, c)| (*at, w.to_string(), c.to_string()))
            .collect();
        assert_eq!(found, expected);
        // Each of two links side by side.
        assert_eq!(markup_slips("[[a]][[b]] and [[c]]", false).len(), 3);
        // An embed is an embed, and `\[[x]]` text.
        assert_eq!(markup_slips("![[x.png]] \\[[x]]", false).len(), 1);
    }

    #[test]
    fn inline_tags_are_found_at_a_headings_end_and_on_lines_of_their_own() {
        let found = markup_slips("What pumps blood? #cardio #anatomy/heart", true);
        assert!(
            matches!(&found[..], [(18, Problem::InlineTags { written, meant })]
                if written == "#cardio #anatomy/heart" && meant == "tags: cardio anatomy::heart"),
            "{found:?}"
        );
        for text in [
            "What is C#?",
            "Issue #42",
            "#cardio",
            "Explain #include here",
            "How do you include a header? #include",
            "Which guard opens a header? #ifndef #define",
        ] {
            assert!(markup_slips(text, true).is_empty(), "{text}");
        }
        assert_eq!(markup_slips("See ![[a.png]] #x", true).len(), 2);
        let body =
            "The heart.\n\nsee\n#cardio #exam\n\n```sh\n#comment\n```\n\nIssue #42 and #this\n\n#endif\n";
        let found = codes(body);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, body.find("#cardio").unwrap());
    }

    /// Each card for another tool found, as `(offset, written, meant)`.
    fn cards(source: &str) -> Vec<(usize, String, String)> {
        markup_slips(source, false)
            .into_iter()
            .map(|(at, p)| match p {
                Problem::ForeignCard { written, meant, .. } => (at, written, meant),
                _ => panic!("{p:?}"),
            })
            .collect()
    }

    #[test]
    fn other_flashcard_tools_cards_are_found() {
        let text = "What is 2+2?::4\n\n- Capital of France :: Paris\n\nbonjour:::hello\n\nWhat pumps blood?\n?\nThe heart.\n\nSTART\nBasic\nFront: Q $x::y$\nBack: A\nEND\n\nThe {{cloze Rhine}} flows north.\n";
        let at = |s: &str| text.find(s).unwrap();
        let expected = [
            (
                0,
                "What is 2+2?::4",
                "a note `## What is 2+2?` with `4` below it",
            ),
            (
                at("- Capital"),
                "- Capital of France :: Paris",
                "a note `## Capital of France` with `Paris` below it",
            ),
            (
                at("bonjour"),
                "bonjour:::hello",
                "a note `## bonjour` (`type: reversed`) with `hello` below it",
            ),
            (
                at("?\nThe"),
                "?",
                "a note `## What pumps blood?` with the lines after `?` below it",
            ),
            (
                at("START"),
                "START",
                "a note `## Q $x::y$` with `A` below it",
            ),
            (at("{{cloze"), "{{cloze Rhine}}", "`{{c1::Rhine}}`"),
        ];
        let expected: Vec<_> = (expected.iter())
            .map(|(at, w, m)| (*at, w.to_string(), m.to_string()))
            .collect();
        assert_eq!(cards(text), expected);
    }

    #[test]
    fn double_colons_of_code_decks_clozes_and_urls_are_no_cards() {
        for text in [
            "Use `a :: b` or std::vector<int> and Foo::Bar.",
            "```cpp\nint x = a ? b :: c;\n?\nx\n```",
            "The deck French::Verbs, and fe80::1 or [::1].",
            "{{c1::Paris::capital}} is in France, {{c2::a :: b}}",
            "deck: Languages :: French\ncard-deck: 2 A :: B",
            "See http://example.com/a?::b and <https://x.org/:: y>.",
            "::: note\ntext\n:::",
            "Why?\n\n?\n\nA lone mark.",
            "START the engine, then END it.",
            "$$\na :: b\n$$",
        ] {
            assert_eq!(cards(text), [], "{text}");
        }
    }
}
