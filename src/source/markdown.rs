//! Markdown to the HTML Anki stores in fields.
//!
//! Math (`$…$`, `$$…$$`, and Anki's own `\(…\)`, `\[…\]`) is cut out before Markdown
//! sees it, so `_`, `*` and `\` inside a formula stay as written, and comes back as
//! MathJax `\(…\)` / `\[…\]`. Media
//! references are handed to a callback that returns the name the file has in the package.

use crate::error::Problem;
use crate::notetype::cloze;
use crate::source::{emphasis, highlight};
use crate::text::{
    escape_attr, escape_html, is_sound_or_video, media_attr_value, MEDIA_ATTR, MEDIA_TAG, SOUND_TAG,
};
use pulldown_cmark::{
    html, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream,
};
use regex::Regex;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

/// Private-use characters that mark where a formula was cut out (the last two code points
/// of Unicode, which no font or text uses).
const MATH_START: char = '\u{10FFFD}';
const MATH_END: char = '\u{10FFFC}';

static MATH_MARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("\u{10FFFD}([0-9]+)\u{10FFFC}").unwrap());

/// Resolves a media reference as written to the name it has in the package.
pub type MediaResolver<'a> = dyn FnMut(&str) -> Result<String, Problem> + 'a;

/// Marks where a media reference's packaged name goes in Markdown rendered ahead of time.
const MEDIA_MARK: char = '\u{10FFFA}';

/// Markdown rendered before its media references are resolved: each reference is a
/// numbered marker in `html`, filled in by [`Rendered::resolve`]. This lets rendering run
/// in parallel while media names are still given out in order.
#[derive(Debug, Clone)]
pub struct Rendered {
    html: String,
    references: Vec<String>,
}

impl Rendered {
    pub fn inline(source: &str) -> Rendered {
        Rendered::with(|media| render_inline(source, media))
    }

    pub fn block(source: &str) -> Rendered {
        Rendered::with(|media| render_block(source, media))
    }

    fn with(render: impl FnOnce(&mut MediaResolver) -> Result<String, Problem>) -> Rendered {
        let mut references = Vec::new();
        let mut mark = |reference: &str| {
            references.push(reference.to_string());
            Ok(format!("{MEDIA_MARK}{}{MEDIA_MARK}", references.len() - 1))
        };
        let html = render(&mut mark).expect("marking media references cannot fail");
        Rendered { html, references }
    }

    /// The HTML with each reference replaced by what `media` names it, in order.
    pub fn resolve(self, media: &mut MediaResolver) -> Result<String, Problem> {
        if self.references.is_empty() && !self.html.contains(MEDIA_MARK) {
            return Ok(self.html); // most fields: nothing to replace
        }
        let names = self
            .references
            .iter()
            .map(|r| media(r))
            .collect::<Result<Vec<String>, Problem>>()?;
        let mut out = String::with_capacity(self.html.len());
        let mut parts = self.html.split(MEDIA_MARK);
        out.push_str(parts.next().unwrap_or_default());
        while let (Some(index), Some(text)) = (parts.next(), parts.next()) {
            match index.parse::<usize>().ok().and_then(|i| names.get(i)) {
                Some(name) => out.push_str(name),
                None => {
                    // Not one of our markers: the user's own text, kept as it was.
                    out.push(MEDIA_MARK);
                    out.push_str(index);
                    out.push(MEDIA_MARK);
                }
            }
            out.push_str(text);
        }
        Ok(out)
    }
}

/// Markdown whose HTML is already known, by a 128-bit digest of its text (under keys
/// random to the process) and whether it is inline: `unpack` proves each Markdown
/// spelling renders to its field before writing it, so reading the written folder back
/// takes the field instead of rendering the text again. Only texts without media
/// references go in (their HTML does not depend on the media folder). Each HTML is
/// given out as many times as it was put in, then dropped.
#[derive(Debug)]
pub struct KnownRenderings {
    keys: [std::hash::RandomState; 2],
    /// In tables by the key's low bits, so that the threads that put texts in, and
    /// those that take them out for the parts of one file, seldom wait for each other.
    html: Box<[std::sync::Mutex<KnownTable>]>,
}

/// HTML by key, with how many more times it is given out.
type KnownTable = std::collections::HashMap<u128, (String, usize)>;

impl Default for KnownRenderings {
    fn default() -> KnownRenderings {
        KnownRenderings {
            keys: Default::default(),
            html: (0..16).map(|_| Default::default()).collect(),
        }
    }
}

impl KnownRenderings {
    /// The digest `text` (inline or not) is known by.
    pub fn key(&self, text: &str, inline: bool) -> u128 {
        use std::hash::BuildHasher;
        let [a, b] = &self.keys;
        (u128::from(a.hash_one((text, inline))) << 64) | u128::from(b.hash_one((text, inline)))
    }

    /// Records that the text with `key` renders to `html`, with no media references.
    pub fn insert(&self, key: u128, html: String) {
        self.table(key).entry(key).or_insert((html, 0)).1 += 1;
    }

    /// The table `key` is in.
    fn table(&self, key: u128) -> std::sync::MutexGuard<'_, KnownTable> {
        let table = &self.html[key as usize % self.html.len()];
        table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `text` rendered, if known: the last use takes the HTML out.
    fn take(&self, text: &str, inline: bool) -> Option<String> {
        let key = self.key(text, inline);
        let mut map = self.table(key);
        let entry = map.get_mut(&key)?;
        entry.1 -= 1;
        if entry.1 > 0 {
            return Some(entry.0.clone());
        }
        let html = map.remove(&key).map(|(html, _)| html);
        // The table shrinks as it empties (what is taken is held by the notes now).
        let len = map.len();
        if map.capacity() > 1024 && len * 2 < map.capacity() {
            map.shrink_to(len);
        }
        html
    }

    /// How many texts are known (distinct ones).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let len = |table: &std::sync::Mutex<KnownTable>| {
            table.lock().unwrap_or_else(|e| e.into_inner()).len()
        };
        self.html.iter().map(len).sum()
    }
}

impl Rendered {
    /// `source` rendered (inline or as blocks), from `known` when it has it.
    pub fn known_or_rendered(
        source: &str,
        inline: bool,
        known: Option<&KnownRenderings>,
    ) -> Rendered {
        if let Some(html) = known.and_then(|k| k.take(source, inline)) {
            return Rendered {
                html,
                references: Vec::new(),
            };
        }
        match inline {
            true => Rendered::inline(source),
            false => Rendered::block(source),
        }
    }
}

/// Renders a block of Markdown (a note body or section).
pub fn render_block(source: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    let mut html = render(source, media)?;
    html.truncate(html.trim_end().len());
    Ok(html)
}

/// Renders a heading: inline Markdown only, so `1. Why…` stays a sentence, not a list.
pub fn render_inline(source: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    let html = render(&escape_block_start(source.trim()), media)?;
    let html = html.trim_end();
    Ok(
        match html
            .strip_prefix("<p>")
            .and_then(|h| h.strip_suffix("</p>"))
        {
            Some(inner) if !inner.contains("<p>") => inner.to_string(),
            _ => html.to_string(),
        },
    )
}

/// Rewrites the media references of raw HTML (for notes written as `format: html`).
pub fn rewrite_html_media(html: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    let html = rewrite_src_attributes(html, media)?;
    rewrite_sounds(&html, media)
}

/// The Markdown the fields are written in: CommonMark with GitHub's tables,
/// strikethrough, footnotes and task lists.
pub(super) fn markdown_options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_TASKLISTS);
    options
}

fn render(source: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    match is_plain_line(source) {
        true => Ok(format!("<p>{source}</p>\n")),
        false => render_parsed(source, media),
    }
}

fn render_parsed(source: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    let (protected, formulas) = protect_math(source);
    let marked = emphasis::mark(&protected);
    let parsed = Parser::new_ext(marked.as_deref().unwrap_or(&protected), markdown_options());
    let events = TextMergeStream::new(parsed).map(|event| match marked {
        Some(_) => emphasis::unmark(event),
        None => event,
    });

    let mut out_events: Vec<Event> = Vec::new();
    // Inside an image we collect its alt text, then emit our own <img> tag.
    let mut image: Option<(String, String)> = None;
    // A code block being collected: its opening tag and its text.
    let mut code_block: Option<(Tag, String)> = None;
    let cloze_note = crate::notetype::cloze::has_cloze(source);
    for event in events {
        if let Some((_, code)) = code_block.as_mut() {
            match event {
                Event::Text(t) => code.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (start, code) = code_block.take().expect("inside a code block");
                    out_events.push(code_block_events(start, code, cloze_note));
                }
                other => out_events.push(other),
            }
            continue;
        }
        if let Some((_, alt)) = image.as_mut() {
            match event {
                Event::End(TagEnd::Image) => {
                    let (src, alt) = image.take().expect("inside an image");
                    let name = if is_external(&src) {
                        src
                    } else {
                        media(&percent_decode(&src))?
                    };
                    out_events.push(Event::InlineHtml(CowStr::from(format!(
                        r#"<img src="{}" alt="{}">"#,
                        escape_attr(&name),
                        escape_attr(&alt)
                    ))));
                }
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::Image { dest_url, .. }) => {
                image = Some((dest_url.to_string(), String::new()))
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                code_block = Some((Tag::CodeBlock(kind), String::new()));
            }
            Event::FootnoteReference(label) => out_events.push(Event::FootnoteReference(
                crate::ids::footnote_id(source, &label).into(),
            )),
            Event::Start(Tag::FootnoteDefinition(label)) => out_events.push(Event::Start(
                Tag::FootnoteDefinition(crate::ids::footnote_id(source, &label).into()),
            )),
            Event::Code(code) if cloze_note => out_events.push(Event::InlineHtml(CowStr::from(
                format!("<code>{}</code>", highlight::plain_code(&code, true)),
            ))),
            Event::Text(text) if text.contains("[sound:") && SOUND_TAG.is_match(&text) => {
                // Escape the text ourselves, then let the [sound:…] tags through as HTML.
                let escaped = escape_html(&text);
                out_events.push(Event::InlineHtml(CowStr::from(rewrite_sounds(
                    &escaped, media,
                )?)));
            }
            Event::Html(h) => {
                out_events.push(Event::Html(CowStr::from(rewrite_html_media(&h, media)?)))
            }
            Event::InlineHtml(h) => out_events.push(Event::InlineHtml(CowStr::from(
                rewrite_html_media(&h, media)?,
            ))),
            other => out_events.push(other),
        }
    }
    let mut html_out = String::with_capacity(source.len() * 2);
    html::push_html(&mut html_out, out_events.into_iter());
    Ok(restore_math(html_out, &formulas))
}

/// Whether `source` is one line of text in which Markdown sees nothing: no character
/// that can start a block, mark up text, escape or hide a formula, a cloze, a sound or
/// HTML, and nothing HTML escapes. Such a line renders as itself in a paragraph without
/// being parsed, and most fields of a deck of short notes are such a line.
/// (`a_plain_line_renders_as_markdown_does` holds this to the parser.)
fn is_plain_line(source: &str) -> bool {
    let bytes = source.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let starts_block = first.is_ascii_digit() || b" -+=#".contains(&first);
    !starts_block && last != b' ' && !bytes.iter().any(|&b| NOT_PLAIN[usize::from(b)])
}

/// The bytes [`is_plain_line`] refuses anywhere: control characters (line ends and tabs
/// among them) and the ASCII punctuation that Markdown, our math, clozes and sound tags,
/// or HTML escaping give a meaning wherever it stands.
static NOT_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[0x7f] = true;
    let marks = b"\\`*_[]<>&~|${}";
    let mut i = 0;
    while i < marks.len() {
        table[marks[i] as usize] = true;
        i += 1;
    }
    table
};

/// A finished code block, fenced or indented, in the highlighted box (see
/// [`highlight::highlighted_block`]).
fn code_block_events(start: Tag, code: String, cloze_note: bool) -> Event<'static> {
    let lang = match &start {
        Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
            info.split_whitespace().next().unwrap_or("").to_string()
        }
        _ => String::new(),
    };
    Event::Html(CowStr::from(highlight::highlighted_block(
        &lang, &code, cloze_note,
    )))
}

fn rewrite_src_attributes(html: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    replace_fallible(&MEDIA_TAG, html, |tag| {
        replace_fallible(&MEDIA_ATTR, &tag[0], |attr| {
            let (value, quote) = media_attr_value(attr);
            // Like Anki: entities are decoded, percent escapes are not.
            let reference = value.replace("&amp;", "&");
            let new = if is_external(&reference) {
                value.to_string()
            } else {
                let name = media(&reference)?;
                if name == reference {
                    // Packaged under the name as written (`_media/`): kept as written.
                    return Ok(attr[0].to_string());
                }
                escape_attr(&name)
            };
            let quote = if quote.is_empty() { "\"" } else { quote };
            Ok(format!("{}{quote}{new}{quote}", &attr[1]))
        })
    })
}

fn rewrite_sounds(text: &str, media: &mut MediaResolver) -> Result<String, Problem> {
    replace_fallible(&SOUND_TAG, text, |c| {
        let reference = c[1].replace("&amp;", "&");
        if is_external(&reference) {
            return Ok(c[0].to_string());
        }
        let name = media(&reference)?;
        if name == reference {
            return Ok(c[0].to_string());
        }
        Ok(format!("[sound:{name}]"))
    })
}

fn replace_fallible(
    re: &Regex,
    text: &str,
    mut f: impl FnMut(&regex::Captures) -> Result<String, Problem>,
) -> Result<String, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in re.captures_iter(text) {
        let m = c.get(0).expect("group 0");
        out.push_str(&text[last..m.start()]);
        out.push_str(&f(&c)?);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

fn is_external(reference: &str) -> bool {
    reference.contains("://") || reference.starts_with("data:") || reference.starts_with("//")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Media written in a way that quietly breaks, as `(byte offset, problem)` in `source`:
/// a sound or video written as an image, an image whose path has a space (then it is
/// no image at all, and shows as text), an image named by a `file:` URL (kept as
/// external, so it shows only on this computer). Code is left alone.
pub fn media_slips(source: &str) -> Vec<(usize, Problem)> {
    // A quick pass over most fields, which have no `!`.
    if !source.contains('!') || !source.contains("![") {
        return Vec::new();
    }
    let mut slips = Vec::new();
    let mut images = Vec::new();
    let mut code: Vec<Range<usize>> = Vec::new();
    for (event, range) in Parser::new_ext(source, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Image { dest_url, .. }) => {
                images.push(range.start);
                let reference = dest_url.to_string();
                if reference
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("file:"))
                {
                    slips.push((range.start, Problem::FileUrl(reference)));
                } else if !is_external(&reference) && is_sound_or_video(&reference) {
                    slips.push((range.start, Problem::SoundAsImage(reference)));
                }
            }
            Event::Code(_) | Event::Start(Tag::CodeBlock(_)) => code.push(range),
            _ => {}
        }
    }
    for m in SPACED_IMAGE.captures_iter(source) {
        let start = m.get(0).expect("group 0").start();
        let path = m[2].trim();
        if path.contains(char::is_whitespace)
            && !images.contains(&start)
            && !code.iter().any(|r| r.contains(&start))
        {
            let written = m[0].to_string();
            let corrected = format!("![{}](<{path}>)", &m[1]);
            slips.push((start, Problem::SpaceInImagePath { written, corrected }));
        }
    }
    slips.sort_by_key(|(at, _)| *at);
    slips
}

/// `![alt](path)` on one line, the path without brackets: group 1 the alt text, group 2
/// the path.
static SPACED_IMAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!\[([^\[\]\n]*)\]\(([^()<>\n]*)\)").unwrap());

/// Keeps a heading from being read as a list, quote or heading: `1. x` → `1\. x`.
fn escape_block_start(text: &str) -> String {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 9 {
        let rest = &text[digits..];
        if (rest.starts_with(". ") || rest.starts_with(") ")) || rest == "." || rest == ")" {
            return format!("{}\\{}", &text[..digits], rest);
        }
    }
    // A thematic break: three or more of one of `-*_`, spaces aside. Not collected into
    // a string: this runs for every heading.
    let bare = || text.chars().filter(|c| !c.is_whitespace());
    if let Some(mark @ ('-' | '*' | '_')) = bare().next() {
        if bare().all(|c| c == mark) && bare().nth(2).is_some() {
            return format!("\\{text}");
        }
    }
    if text.starts_with("- ")
        || text.starts_with("+ ")
        || text.starts_with("* ")
        || text.starts_with(['>', '#', '='])
    {
        return format!("\\{text}");
    }
    text.to_string()
}

/// One formula cut out of the source.
#[derive(Debug)]
pub(super) struct Formula {
    display: bool,
    tex: String,
    /// Where it stands in the source, delimiters included.
    span: Range<usize>,
}

/// Replaces `$…$`, `$$…$$`, `\(…\)` and `\[…\]` outside code with markers. `\$` is
/// left for Markdown, which turns it into a literal dollar.
pub(super) fn protect_math(source: &str) -> (Cow<'_, str>, Vec<Formula>) {
    // Without a `$` or `\(`, `\[` there is no formula, and no need to parse the Markdown
    // to find where one would not be one: most fields.
    if !may_hold_math(source) {
        return (Cow::Borrowed(source), Vec::new());
    }
    let mut out = String::with_capacity(source.len());
    let mut formulas = Vec::new();
    let (code_blocks, literal) = not_math(source);
    let mut at = 0;
    for range in code_blocks {
        protect_inline(source, at..range.start, &literal, &mut out, &mut formulas);
        out.push_str(&source[range.clone()]);
        at = range.end;
    }
    protect_inline(source, at..source.len(), &literal, &mut out, &mut formulas);
    (Cow::Owned(out), formulas)
}

/// Where a `$` is not math, as Markdown itself parses the source (byte ranges).
#[derive(Default)]
struct Literal {
    /// Kept as written: what follows a link's or image's text (its destination and
    /// title, or reference), autolinks, HTML tags, link reference definitions and
    /// `[sound:…]` tags.
    kept: Vec<Range<usize>>,
    /// Each link's or image's text, which may hold math: a formula that starts inside
    /// it must end inside it.
    link_texts: Vec<Range<usize>>,
}

/// The code blocks (fenced or indented) and the [`Literal`] parts of `source`.
fn not_math(source: &str) -> (Vec<Range<usize>>, Literal) {
    let mut code_blocks: Vec<Range<usize>> = Vec::new();
    let mut literal = Literal::default();
    // Open links and images: where each starts and where its text ends so far (none
    // for an autolink, which is kept whole).
    let mut open: Vec<(usize, Option<usize>)> = Vec::new();
    let mut events = Parser::new_ext(source, markdown_options()).into_offset_iter();
    for (event, range) in events.by_ref() {
        let mut inside_text = !matches!(event, Event::End(_));
        match event {
            Event::Start(Tag::Link {
                link_type: LinkType::Autolink | LinkType::Email,
                ..
            }) => {
                literal.kept.push(range.clone());
                open.push((range.start, None));
                inside_text = false;
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                let marks = if source[range.start..].starts_with('!') {
                    2
                } else {
                    1
                };
                open.push((range.start, Some(range.start + marks)));
                inside_text = false;
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                if let Some((start, Some(text_end))) = open.pop() {
                    literal.link_texts.push(start..text_end);
                    literal.kept.push(text_end..range.end);
                }
                inside_text = true;
            }
            Event::Start(Tag::CodeBlock(_))
                if code_blocks
                    .last()
                    .is_none_or(|last| range.start >= last.end) =>
            {
                code_blocks.push(range.clone());
            }
            Event::InlineHtml(_) => literal.kept.push(range.clone()),
            Event::Start(Tag::HtmlBlock) => literal.kept.extend(
                HTML_TAG
                    .find_iter(&source[range.clone()])
                    .map(|m| range.start + m.start()..range.start + m.end()),
            ),
            _ => {}
        }
        if let Some((_, Some(text_end))) = open.last_mut().filter(|_| inside_text) {
            *text_end = (*text_end).max(range.end);
        }
    }
    let definitions = events.reference_definitions().iter();
    literal
        .kept
        .extend(definitions.map(|(_, def)| def.span.clone()));
    literal
        .kept
        .extend(SOUND_TAG.find_iter(source).map(|m| m.range()));
    literal.kept.sort_by_key(|r| r.start);
    (code_blocks, literal)
}

/// An HTML start or end tag as CommonMark reads one, attributes included.
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"</?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*/?>"#,
    )
    .unwrap()
});

/// Math in `source[range]`, which holds no code block: skips `code spans`, `\` escapes
/// and the [`Literal`] parts.
fn protect_inline(
    source: &str,
    range: Range<usize>,
    literal: &Literal,
    out: &mut String,
    formulas: &mut Vec<Formula>,
) {
    let text = &source[range.clone()];
    // Without a formula's opening the text comes out as it went in.
    if !may_hold_math(text) {
        out.push_str(text);
        return;
    }
    let (chars, bytes): (Vec<char>, Vec<usize>) = text
        .char_indices()
        .map(|(b, c)| (c, range.start + b))
        .unzip();
    let index_of = |byte: usize| bytes.partition_point(|&b| b < byte);
    let mut kept = literal
        .kept
        .iter()
        .filter(|r| r.end > range.start)
        .peekable();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        while kept.next_if(|r| r.end <= bytes[i]).is_some() {}
        if let Some(r) = kept.peek().filter(|r| r.start <= bytes[i]) {
            let end = index_of(r.end);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '\\' && matches!(chars.get(i + 1), Some('(' | '[')) {
            // Anki's own delimiters: a formula, or (never closed) an escaped bracket.
            let bound = link_text_end(literal, &bytes, i);
            match find_delimited_math(&chars[..bound], i) {
                Some(found) => i = push_formula(&chars, &bytes, (i, found), out, formulas),
                None => {
                    out.extend(&chars[i..i + 2]);
                    i += 2;
                }
            }
        } else if c == '\\' && i + 1 < chars.len() {
            out.push(c);
            out.push(chars[i + 1]);
            i += 2;
        } else if c == '`' {
            let run = chars[i..].iter().take_while(|&&x| x == '`').count();
            let close = find_backtick_run(&chars, i + run, run);
            let end = close.map_or(i + run, |j| j + run);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '$' {
            let bound = link_text_end(literal, &bytes, i);
            match find_math(&chars[..bound], i) {
                Some(found) => i = push_formula(&chars, &bytes, (i, found), out, formulas),
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
}

/// Whether `text` may hold a formula: it has a `$`, `\(` or `\[`.
fn may_hold_math(text: &str) -> bool {
    // One quick pass over most texts, which have no backslash.
    text.contains('$') || (text.contains('\\') && (text.contains("\\(") || text.contains("\\[")))
}

/// Where a formula starting at char `i` must end: a formula begun in a link's text ends
/// with the text. `bytes` holds each char's byte offset in the source.
fn link_text_end(literal: &Literal, bytes: &[usize], i: usize) -> usize {
    (literal.link_texts.iter())
        .filter(|t| t.start < bytes[i] && bytes[i] < t.end)
        .map(|t| bytes.partition_point(|&b| b < t.end))
        .fold(bytes.len(), usize::min)
}

/// Cuts out the formula `found` (as [`find_math`] gives it) that opens at char `at`,
/// leaving its marker in `out`: the index after it. `bytes` holds each char's byte
/// offset in the source.
fn push_formula(
    chars: &[char],
    bytes: &[usize],
    (at, (display, start, end, after)): (usize, (bool, usize, usize, usize)),
    out: &mut String,
    formulas: &mut Vec<Formula>,
) -> usize {
    let tex: String = chars[start..end].iter().collect();
    out.push(MATH_START);
    out.push_str(&formulas.len().to_string());
    out.push(MATH_END);
    let span_end = match bytes.get(after) {
        Some(&b) => b,
        None => bytes[after - 1] + chars[after - 1].len_utf8(),
    };
    formulas.push(Formula {
        display,
        tex,
        span: bytes[at]..span_end,
    });
    after
}

/// The text of `protected[range]` (as [`protect_math`] made it from `source`) with each
/// formula's marker back as written in `source`, and where `range` starts in `source`.
pub(super) fn unprotect(
    source: &str,
    protected: &str,
    formulas: &[Formula],
    range: Range<usize>,
) -> (String, usize) {
    let mut text = String::with_capacity(range.len());
    let mut start = range.start;
    // The next byte of `protected` to copy.
    let mut p = range.start;
    for c in MATH_MARK.captures_iter(protected) {
        let mark = c.get(0).expect("group 0");
        let Some(f) = c[1].parse::<usize>().ok().and_then(|i| formulas.get(i)) else {
            continue;
        };
        if mark.end() <= range.start {
            // Past this formula, the source runs on as `protected` does.
            start = range.start - mark.end() + f.span.end;
        } else if mark.start() < range.end {
            text.push_str(&protected[p..mark.start().max(p)]);
            text.push_str(&source[f.span.clone()]);
            p = mark.end();
        } else {
            break;
        }
    }
    if p < range.end {
        text.push_str(&protected[p..range.end]);
    }
    (text, start)
}

fn find_backtick_run(chars: &[char], from: usize, len: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let run = chars[j..].iter().take_while(|&&x| x == '`').count();
            if run == len {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// At a `$`: the formula's (display?, content start, content end, index after it).
/// Inline math follows pandoc's rule: no space just inside the dollars, no digit right
/// after the closing one, no blank line inside.
fn find_math(chars: &[char], at: usize) -> Option<(bool, usize, usize, usize)> {
    if chars.get(at + 1) == Some(&'$') {
        let start = at + 2;
        let mut j = start;
        while j + 1 < chars.len() {
            if chars[j] == '\\' {
                j += 2;
                continue;
            }
            if chars[j] == '$' && chars[j + 1] == '$' {
                return (j > start).then_some((true, start, j, j + 2));
            }
            j += 1;
        }
        return None;
    }
    let start = at + 1;
    if chars.get(start).is_none_or(|c| c.is_whitespace()) {
        return None;
    }
    let mut j = start;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '\n' if chars.get(j + 1) == Some(&'\n') => return None,
            '$' => {
                if chars[j - 1].is_whitespace()
                    || chars.get(j + 1).is_some_and(char::is_ascii_digit)
                {
                    return None;
                }
                return Some((false, start, j, j + 1));
            }
            _ => j += 1,
        }
    }
    None
}

/// At a `\(` or `\[`, Anki's own delimiters: the formula up to the `\)` or `\]` that
/// closes it, as [`find_math`] gives one. A `\` inside escapes the next character, as
/// in TeX; `\(…\)`, inline, holds no blank line. `None` when nothing closes it: then
/// Markdown reads the `\` as escaping the bracket.
fn find_delimited_math(chars: &[char], at: usize) -> Option<(bool, usize, usize, usize)> {
    let display = chars.get(at + 1) == Some(&'[');
    let close = if display { ']' } else { ')' };
    let start = at + 2;
    let mut j = start;
    while j + 1 < chars.len() {
        match chars[j] {
            '\\' if chars[j + 1] == close => return Some((display, start, j, j + 2)),
            '\\' => j += 2,
            '\n' if !display && chars[j + 1] == '\n' => return None,
            _ => j += 1,
        }
    }
    None
}

fn restore_math(html: String, formulas: &[Formula]) -> String {
    if formulas.is_empty() {
        // Any marker in it is the user's own text, kept as it is. Held in a batch until
        // the reader takes it: no larger than it needs.
        let mut html = html;
        html.shrink_to_fit();
        return html;
    }
    MATH_MARK
        .replace_all(&html, |c: &regex::Captures| {
            // A marker the user typed (not one of ours) is left as it is.
            let Some(formula) = c[1].parse::<usize>().ok().and_then(|i| formulas.get(i)) else {
                return c[0].to_string();
            };
            let tex = keep_clozes_closed(&escape_html(&formula.tex));
            if formula.display {
                format!("\\[{tex}\\]")
            } else {
                format!("\\({tex}\\)")
            }
        })
        .into_owned()
}

/// A `}}` in TeX would end a cloze deletion around the formula: split it into `} }`,
/// which MathJax reads the same. Deletions opened inside the formula still close.
fn keep_clozes_closed(tex: &str) -> String {
    let mut out = String::with_capacity(tex.len() + 8);
    let mut depth = 0usize;
    let mut rest = tex;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = cloze::opener_len(rest) {
            depth += 1;
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        } else if rest.starts_with("}}") && depth > 0 {
            depth -= 1;
            out.push_str("}}");
            rest = &rest[2..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            if c == '}' && rest.starts_with('}') {
                out.push(' ');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_media(r: &str) -> Result<String, Problem> {
        Ok(format!("M({r})"))
    }

    fn block(s: &str) -> String {
        render_block(s, &mut no_media).unwrap()
    }

    fn inline(s: &str) -> String {
        render_inline(s, &mut no_media).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn a_plain_line_renders_as_markdown_does(
            line in "[a-zA-Z0-9 .,:;!?()/%@#=+^~'\"*_<>&|$\\\\\\{}\\[\\]`中文é\u{3000}\u{a0}\t\n-]{0,12}"
        ) {
            if is_plain_line(&line) {
                proptest::prop_assert_eq!(
                    render(&line, &mut no_media).unwrap(),
                    render_parsed(&line, &mut no_media).unwrap()
                );
            }
        }
    }

    /// `text` rendered, and rendered by plain CommonMark, without emphasis markup or
    /// the characters that make it (a run of `*` that now pairs can leave a `_`
    /// unpaired, and the other way round); `None` for code blocks, which are
    /// highlighted (compared in the test below).
    fn without_emphasis(text: &str) -> Option<(String, String)> {
        let html = block(text);
        assert!(!html.contains(emphasis::MARK), "{text:?}: {html}");
        let mut commonmark = String::new();
        html::push_html(&mut commonmark, Parser::new_ext(text, markdown_options()));
        let tags = Regex::new("</?(strong|em|del)>|[*~_]").unwrap();
        let plain = |html: &str| tags.replace_all(html.trim_end(), "").into_owned();
        (!commonmark.contains("<pre>")).then(|| (plain(&html), plain(&commonmark)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The marks for emphasis beside CJK text change nothing but which `*`, `~`
        /// and `_` become tags, and never show.
        #[test]
        fn cjk_emphasis_changes_only_which_runs_are_tags(
            text in "[ab中文、。：（）“”!.* ~_`\\\n]{0,14}"
        ) {
            if let Some((ours, commonmark)) = without_emphasis(&text) {
                proptest::prop_assert_eq!(ours, commonmark);
            }
        }
    }

    #[test]
    fn cjk_emphasis_can_pair_runs_differently() {
        // Shrunk cases of the property above: a `_` pairs with another delimiter.
        for text in ["*_*文_", "文*_*_"] {
            let (ours, commonmark) = without_emphasis(text).unwrap();
            assert_eq!(ours, commonmark, "{text}");
        }
    }

    #[test]
    fn emphasis_works_beside_cjk_punctuation() {
        let cases = [
            ("**注意：**这是重点。", "<strong>注意：</strong>这是重点。"),
            (
                "这是**“引号”**里的内容。",
                "这是<strong>“引号”</strong>里的内容。",
            ),
            (
                "これは**「重要」**です。",
                "これは<strong>「重要」</strong>です。",
            ),
            (
                "**마크다운(Markdown)**을 쓰세요",
                "<strong>마크다운(Markdown)</strong>을 쓰세요",
            ),
            ("*斜体。*继续", "<em>斜体。</em>继续"),
            ("~~删除。~~继续", "<del>删除。</del>继续"),
            // Unchanged: CommonMark's own rules, and `_`.
            ("**bold.**x", "**bold.**x"),
            ("__注意：__这是", "__注意：__这是"),
            ("`**注意：**这是`", "<code>**注意：**这是</code>"),
        ];
        for (markdown, html) in cases {
            assert_eq!(block(markdown), format!("<p>{html}</p>"), "{markdown}");
        }
        // In a link, a code block and an image, the text is kept as written.
        assert_eq!(
            block("[**注意：**这](https://x.org/中**。**是)"),
            "<p><a href=\"https://x.org/%E4%B8%AD**%E3%80%82**%E6%98%AF\"><strong>注意：</strong>这</a></p>"
        );
        assert!(block("```\n**注意：**这是\n```").contains("**注意：**这是"));
        assert_eq!(
            block("![**图：**这](a**：**b.png)"),
            "<p><img src=\"M(a**：**b.png)\" alt=\"图：这\"></p>"
        );
    }

    #[test]
    fn plain_lines_are_most_short_fields() {
        let plain = [
            "What does attention let a model do?",
            "注意力机制让模型按相关程度加权各个 token。",
            "Layer norm: it keeps activations at scale 1, e.g. after 12 layers.",
        ];
        assert!(plain.into_iter().all(is_plain_line));
        let marked = [
            "1. first",
            "- item",
            "**bold**",
            "a $x$",
            "{{c1::x}}",
            " indented",
            "a\nb",
        ];
        assert!(!marked.into_iter().any(is_plain_line));
    }

    /// A code block with no language, as the field holds it: `code` in the box.
    fn boxed(code: &str) -> String {
        let empty = highlight::highlighted_block("", "", false);
        let open = empty.strip_suffix("</code></pre>\n").unwrap();
        format!("{open}{code}</code></pre>")
    }

    #[test]
    fn footnotes_task_lists_quotes_and_tables() {
        let source = "A claim.[^src]\n\n[^src]: Its source.";
        let id = crate::ids::footnote_id(source, "src");
        assert!(id.starts_with("fn-") && id.ends_with("-src"), "{id}");
        assert_eq!(
            block(source),
            format!("<p>A claim.<sup class=\"footnote-reference\"><a href=\"#{id}\">1</a></sup></p>\n<div class=\"footnote-definition\" id=\"{id}\"><sup class=\"footnote-definition-label\">1</sup>\n<p>Its source.</p>\n</div>")
        );
        // Another field's footnote `src` has an id of its own.
        let other = block("Another claim.[^src]\n\n[^src]: Another source.");
        assert!(!other.contains(&format!("\"#{id}\"")), "{other}");
        assert_eq!(
            block("- [x] done\n- [ ] to do"),
            "<ul>\n<li><input disabled=\"\" type=\"checkbox\" checked=\"\"/>\ndone</li>\n<li><input disabled=\"\" type=\"checkbox\"/>\nto do</li>\n</ul>"
        );
        assert_eq!(block("> q"), "<blockquote>\n<p>q</p>\n</blockquote>");
        // A footnote's text may hold math.
        assert!(block("x[^1]\n\n[^1]: $a_1$").contains("<p>\\(a_1\\)</p>"));
    }

    #[test]
    fn markdown_basics() {
        assert_eq!(inline("梯度**震荡**"), "梯度<strong>震荡</strong>");
        assert_eq!(inline("1. Why?"), "1. Why?");
        assert_eq!(inline("---"), "---");
        assert_eq!(inline("* * *"), "* * *");
        assert_eq!(block("a\n\n| x | y |\n|---|---|\n| 1 | 2 |"), "<p>a</p>\n<table><thead><tr><th>x</th><th>y</th></tr></thead><tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody></table>");
        assert_eq!(
            block("~~old~~ <b>raw</b>"),
            "<p><del>old</del> <b>raw</b></p>"
        );
    }

    #[test]
    fn math_is_untouched_by_markdown() {
        assert_eq!(inline(r"$a_1 * b_2$ and $x$"), r"\(a_1 * b_2\) and \(x\)");
        assert_eq!(
            block("$$\\lceil N / b \\rceil$$"),
            "<p>\\[\\lceil N / b \\rceil\\]</p>"
        );
        assert_eq!(inline(r"costs \$5 and \$6"), "costs $5 and $6");
        assert_eq!(inline("$5 and $6"), "$5 and $6");
        assert_eq!(inline("`$x$` $a<b$"), "<code>$x$</code> \\(a&lt;b\\)");
        assert_eq!(block("```\n$x$\n```"), boxed("$x$\n"));
    }

    /// Anki's own delimiters are formulas as dollars are, and come out as written.
    #[test]
    fn anki_delimiters_are_math() {
        assert_eq!(
            inline(r"已知 \(a_1*b_1\) 和 \[c_1*d_1\]"),
            r"已知 \(a_1*b_1\) 和 \[c_1*d_1\]"
        );
        assert_eq!(
            block("\\[\n\\sum_{i=1}^n a_i * b_i\n\\]"),
            "<p>\\[\n\\sum_{i=1}^n a_i * b_i\n\\]</p>"
        );
        assert_eq!(
            inline(r"\( a<b \) and \(x\\)y\)"),
            r"\( a&lt;b \) and \(x\\)y\)"
        );
        assert_eq!(inline(r"{{c1::\(x^{2^{3}}\)}}"), r"{{c1::\(x^{2^{3} }\)}}");
        // Left alone where a `$` would be: code, link destinations, HTML.
        assert_eq!(inline(r"`\(x_1*y\)`"), r"<code>\(x_1*y\)</code>");
        assert_eq!(block("```\n\\[a_1*b\\]\n```"), boxed("\\[a_1*b\\]\n"));
        assert_eq!(
            inline(r"[\(x\)](https://e.org/\(a\))"),
            r#"<a href="https://e.org/(a)">\(x\)</a>"#
        );
        assert_eq!(
            inline(r#"<span title="\(a_1*b\)">t</span>"#),
            r#"<span title="\(a_1*b\)">t</span>"#
        );
        // Never closed, a blank line in `\(…\)`, or `\\(`: Markdown's escapes.
        assert_eq!(inline(r"\[1] and \(2"), "[1] and (2");
        assert_eq!(block("\\(a\n\nb\\)"), "<p>(a</p>\n<p>b)</p>");
        assert_eq!(inline(r"\\(x\\)"), r"\(x\)");
    }

    #[test]
    fn media_written_the_wrong_way_is_found() {
        let slips = |s: &str| media_slips(s);
        assert_eq!(
            slips("说 ![发音](audio/ni.mp3)"),
            vec![(4, Problem::SoundAsImage("audio/ni.mp3".into()))]
        );
        assert_eq!(
            slips("a\n![cat](img/my cat.png)"),
            vec![(
                2,
                Problem::SpaceInImagePath {
                    written: "![cat](img/my cat.png)".into(),
                    corrected: "![cat](<img/my cat.png>)".into(),
                }
            )]
        );
        assert_eq!(
            slips("![d](file:///home/u/a.png)"),
            vec![(0, Problem::FileUrl("file:///home/u/a.png".into()))]
        );
        for fine in [
            "![cat](<img/my cat.png>)",
            "![cat](img/cat.png \"a title\")",
            "![v](https://e.org/a.mp4)",
            "`![发音](audio/ni.mp3)`",
            "```\n![cat](img/my cat.png)\n```",
            "[sound:audio/ni.mp3] ![c](c.PNG)",
        ] {
            assert_eq!(slips(fine), vec![], "{fine}");
        }
        assert_eq!(
            slips("![a](A.MP3?x=1)")[0].1,
            Problem::SoundAsImage("A.MP3?x=1".into())
        );
    }

    #[test]
    fn dollars_in_urls_paths_and_attributes_are_not_math() {
        let cases = [
            (
                "[q](https://example.org/P?$filter=x&$top=2)",
                r#"<a href="https://example.org/P?$filter=x&amp;$top=2">q</a>"#,
            ),
            (
                "<https://example.org/?$a=1&$b=2>",
                r#"<a href="https://example.org/?$a=1&amp;$b=2">https://example.org/?$a=1&amp;$b=2</a>"#,
            ),
            ("![c](p$1$.png)", r#"<img src="M(p$1$.png)" alt="c">"#),
            (
                r#"<img src="a$x$.png" title="$y$">"#,
                r#"<img src="M(a$x$.png)" title="$y$">"#,
            ),
            (
                r#"<a href="?$x=1&$y=2">$z$</a>"#,
                r#"<a href="?$x=1&$y=2">\(z\)</a>"#,
            ),
            // Math in a link's text still counts, but ends with the text.
            (
                "[the $x$ rule](https://e.org/?$a=1$)",
                r#"<a href="https://e.org/?$a=1$">the \(x\) rule</a>"#,
            ),
            ("[cost $5](?$a=b)", r#"<a href="?$a=b">cost $5</a>"#),
            (
                r#"[t](u "$title$")"#,
                r#"<a href="u" title="$title$">t</a>"#,
            ),
            (
                "![a $x$](i$1$.png)",
                r#"<img src="M(i$1$.png)" alt="a \(x\)">"#,
            ),
            // A formula that starts before a link swallows it, as before.
            ("$[0,1](x)$", r"\([0,1](x)\)"),
            ("[sound:p$1$.mp3] $x$", r"[sound:M(p$1$.mp3)] \(x\)"),
        ];
        for (source, html) in cases {
            assert_eq!(inline(source), html, "{source}");
        }
        assert_eq!(
            block("[r][1] $x$\n\n[1]: https://e.org/?$a=1&$b=2"),
            r#"<p><a href="https://e.org/?$a=1&amp;$b=2">r</a> \(x\)</p>"#
        );
        assert_eq!(
            block("<div title=\"$a$\">\n$x$ <img src='$b$.png'>\n</div>"),
            "<div title=\"$a$\">\n\\(x\\) <img src='M($b$.png)'>\n</div>"
        );
    }

    #[test]
    fn rendering_ahead_gives_the_same_html() {
        for source in [
            "![a](x.png) and [sound:y.mp3] $z$",
            "<img src=\"w.png\"> plain",
            "no media",
        ] {
            let ahead = Rendered::block(source).resolve(&mut no_media).unwrap();
            assert_eq!(ahead, block(source));
            assert_eq!(
                Rendered::inline(source).resolve(&mut no_media).unwrap(),
                inline(source)
            );
        }
        let missing = |_: &str| Err(Problem::EmptyId);
        assert!(Rendered::block("![a](x.png)")
            .resolve(&mut { missing })
            .is_err());
    }

    #[test]
    fn markers_in_the_text_are_harmless() {
        assert_eq!(
            inline("\u{10FFFD}7\u{10FFFC} $x$"),
            "\u{10FFFD}7\u{10FFFC} \\(x\\)"
        );
    }

    #[test]
    fn math_cannot_end_a_cloze() {
        assert_eq!(inline("{{c1::$x^{2^{3}}$}}"), r"{{c1::\(x^{2^{3} }\)}}");
        assert_eq!(
            inline("{{c1::$a_{b_{c_{d}}}$}}"),
            r"{{c1::\(a_{b_{c_{d} } }\)}}"
        );
        assert_eq!(inline("$x = {{c1::y}}$"), r"\(x = {{c1::y}}\)");
    }

    #[test]
    fn code_keeps_cloze_deletions_intact() {
        assert_eq!(
            inline("{{c1::`fn main()`}}"),
            "{{c1::<code>fn main()</code>}}"
        );
        // A `}}` inside the code cannot end the deletion, nor `::` start a hint.
        assert_eq!(
            inline("{{c1::`a}}b`}} and {{c2::`std::fmt`}}"),
            "{{c1::<code>a}&#125;b</code>}} and {{c2::<code>std:&#58;fmt</code>}}"
        );
        // Outside cloze notes code is left exactly as Markdown writes it.
        assert_eq!(inline("`a}}b`"), "<code>a}}b</code>");
        assert_eq!(block("    indented $x$\n"), boxed("indented $x$\n"));
        let fenced = block("{{c1::x}}\n\n```\ny = {{c2::1}}}}\n```");
        assert!(
            fenced.ends_with(&boxed("y = {{c2::1}}}&#125;\n")),
            "{fenced}"
        );
        let highlighted = block("```python\nprice = \"$5\"  # {{c1::not}} math\n```\n{{c2::z}}");
        assert!(
            highlighted.contains("{{c1::<span style=\"color:#848f98\">not</span>}}"),
            "{highlighted}"
        );
        assert!(highlighted.contains("$5"), "{highlighted}");
    }

    #[test]
    fn media_references_are_resolved() {
        assert_eq!(
            inline("![a *b*](img/x%20y.png)"),
            r#"<img src="M(img/x y.png)" alt="a b">"#
        );
        assert_eq!(
            inline(r#"<img src="a.png"> [sound:b.mp3]"#),
            r#"<img src="M(a.png)"> [sound:M(b.mp3)]"#
        );
        assert_eq!(
            inline("![x](https://e.com/a.png)"),
            r#"<img src="https://e.com/a.png" alt="x">"#
        );
        assert_eq!(block("```\n[sound:a.mp3]\n```"), boxed("[sound:a.mp3]\n"));
        // Only media tags count, and `data-src` is not `src`; unquoted values work.
        assert_eq!(
            inline(r#"<img data-src="x.png" src=y.png> <script src="z.js"></script>"#),
            r#"<img data-src="x.png" src="M(y.png)"> <script src="z.js"></script>"#
        );
        assert_eq!(
            block("<div>\n[sound:a.mp3]\n</div>"),
            "<div>\n[sound:M(a.mp3)]\n</div>"
        );
        assert_eq!(
            rewrite_html_media(r#"<img src='x.png'>[sound:y.ogg]"#, &mut no_media).unwrap(),
            r#"<img src='M(x.png)'>[sound:M(y.ogg)]"#
        );
    }
}
