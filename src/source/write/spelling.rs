//! The Markdown that renders to a field's HTML, where there is one: the shapes the
//! renderer writes (paragraphs, bold, italics, strikethrough, code, math, images, links,
//! tight lists) spelled back as Markdown, each candidate kept only if rendering it gives
//! the field byte for byte. Unpacking a deck ankideck built gives back Markdown, not its
//! `<p>…</p>`.

use crate::source::markdown;

/// The most readable Markdown that renders exactly to `html` (inline, as a note's first
/// field is rendered, when `first`), or `None` when no candidate does.
#[cfg(test)]
pub(super) fn markdown_for(html: &str, first: bool) -> Option<String> {
    spell(html, first).map(|s| s.markdown)
}

/// A field's Markdown spelling.
pub(super) struct Spelling {
    pub markdown: String,
    /// Rendering `markdown` gave the field, and it has no media references: its HTML
    /// does not depend on the media folder, so reading it back need not render it.
    pub rendered: bool,
}

/// [`markdown_for`], saying whether the spelling was rendered.
pub(super) fn spell(html: &str, first: bool) -> Option<Spelling> {
    if !first && html.is_empty() {
        let markdown = String::new();
        let rendered = false;
        return Some(Spelling { markdown, rendered });
    }
    if !first && refused(html) {
        return None;
    }
    let convert = |escape: bool| match first {
        true => inline(html, escape),
        false => blocks(html, escape),
    };
    // Each candidate is made only if those before it fail: the first does, mostly.
    let candidates = [0, 1, 2].map(|i| {
        move || match i {
            0 => convert(false),
            1 => convert(true),
            _ => Some(html.to_string()),
        }
    });
    let mut tried: Vec<String> = Vec::with_capacity(3);
    for candidate in candidates {
        let Some(candidate) = candidate().filter(|c| !tried.contains(c)) else {
            continue;
        };
        if let Some(references) = renders_to(&candidate, html, first) {
            let rendered = references == 0;
            return Some(Spelling {
                markdown: candidate,
                rendered,
            });
        }
        tried.push(candidate);
    }
    None
}

/// Whether a field other than the first has no Markdown spelling at a glance: rendered
/// blocks start with a tag (`<p>`, `<ul>`, an HTML block) and end without white space,
/// so most of Anki's fields (`Paris`) need no rendering to be refused.
pub(super) fn refused(html: &str) -> bool {
    !html.is_empty() && (!html.starts_with('<') || html.ends_with(char::is_whitespace))
}

/// Whether Markdown `source` renders to `html`, media references kept as written: if
/// so, how many it has.
fn renders_to(source: &str, html: &str, first: bool) -> Option<usize> {
    let mut references = 0;
    let mut same = |reference: &str| {
        references += 1;
        Ok(reference.to_string())
    };
    let rendered = match first {
        true => markdown::render_inline(source, &mut same),
        false => markdown::render_block(source, &mut same),
    };
    rendered.is_ok_and(|r| r == html).then_some(references)
}

/// Block HTML as Markdown blocks: `<p>` paragraphs and one-line list items converted,
/// anything else kept as an HTML block.
fn blocks(html: &str, escape: bool) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut lines = html.split('\n').peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("<p>") {
            let mut paragraph = rest.to_string();
            while !paragraph.ends_with("</p>") {
                paragraph.push('\n');
                paragraph.push_str(lines.next()?);
            }
            let inner = paragraph.strip_suffix("</p>")?;
            if inner.contains("<p>") {
                return None;
            }
            out.push(inline(inner, escape)?);
            continue;
        }
        let mut block = line.to_string();
        while let Some(next) = lines.next_if(|l| !l.starts_with("<p>")) {
            block.push('\n');
            block.push_str(next);
        }
        out.push(list(&block, escape).unwrap_or(block));
    }
    Some(out.join("\n\n"))
}

/// A tight list whose items are one line each (`<ul>`, `<ol>`) as `- ` / `1. ` lines.
fn list(block: &str, escape: bool) -> Option<String> {
    let lines: Vec<&str> = block.split('\n').collect();
    let (open, items, close) = match lines.as_slice() {
        [open, items @ .., close] => (*open, items, *close),
        _ => return None,
    };
    let start: Option<u64> = match (open, close) {
        ("<ul>", "</ul>") => None,
        ("<ol>", "</ol>") => Some(1),
        _ => {
            let n = open.strip_prefix("<ol start=\"")?.strip_suffix("\">")?;
            (close == "</ol>").then_some(())?;
            Some(n.parse().ok()?)
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = item.strip_prefix("<li>")?.strip_suffix("</li>")?;
        let text = inline(text, escape)?;
        match start {
            None => out.push(format!("- {text}")),
            Some(n) => out.push(format!("{}. {text}", n + i as u64)),
        }
    }
    Some(out.join("\n"))
}

/// Inline HTML as Markdown: the renderer's own tags as Markdown, other tags kept, text
/// unescaped (and, with `escape`, Markdown's punctuation escaped).
fn inline(html: &str, escape: bool) -> Option<String> {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut links: Vec<String> = Vec::new();
    while let Some(c) = rest.chars().next() {
        // Text up to the next character that may be more is copied as it is.
        let plain = rest.bytes().position(|b| special(b, escape));
        let plain = plain.unwrap_or(rest.len());
        if plain > 0 {
            out.push_str(&rest[..plain]);
            rest = &rest[plain..];
            continue;
        }
        // Tags start with `<`, formulas with `\`, entities with `&`.
        let markdown = match c {
            '<' => tag(rest, &mut links),
            '\\' => math(rest),
            _ => None,
        };
        if let Some((markdown, len)) = markdown {
            out.push_str(&markdown);
            rest = &rest[len..];
            continue;
        }
        if let Some((text, len)) = (c == '&').then(|| entity(rest)).flatten() {
            push_text(&mut out, text, escape);
            rest = &rest[len..];
            continue;
        }
        push_text(&mut out, c, escape);
        rest = &rest[c.len_utf8()..];
    }
    links.is_empty().then_some(out)
}

/// Markdown punctuation, escaped in text when escaping.
fn punctuation(c: char) -> bool {
    matches!(
        c,
        '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '$' | '~' | '&' | '#'
    )
}

/// Whether the byte `b` may start something [`inline`] does not copy as it is: a tag,
/// a formula, an entity, or (with `escape`) punctuation to escape. All are ASCII.
fn special(b: u8, escape: bool) -> bool {
    matches!(b, b'<' | b'\\' | b'&') || (escape && b.is_ascii() && punctuation(char::from(b)))
}

/// Pushes a text character, escaped if it is Markdown punctuation and `escape`.
fn push_text(out: &mut String, c: char, escape: bool) {
    if escape && punctuation(c) {
        out.push('\\');
    }
    out.push(c);
}

/// The entities the renderer writes, as the character each stands for.
fn entity(s: &str) -> Option<(char, usize)> {
    [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
    ]
    .into_iter()
    .find(|(e, _)| s.starts_with(e))
    .map(|(e, c)| (c, e.len()))
}

/// `s` with the renderer's entities decoded.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A tag at the start of `s` that Markdown spells: its Markdown and its length. `links`
/// holds the targets of links opened and not yet closed.
fn tag(s: &str, links: &mut Vec<String>) -> Option<(String, usize)> {
    for (html, markdown) in [
        ("<strong>", "**"),
        ("</strong>", "**"),
        ("<em>", "*"),
        ("</em>", "*"),
        ("<del>", "~~"),
        ("</del>", "~~"),
        ("<br />\n", "\\\n"),
    ] {
        if s.starts_with(html) {
            return Some((markdown.to_string(), html.len()));
        }
    }
    if let Some(rest) = s.strip_prefix("<code>") {
        let end = rest.find("</code>")?;
        let code = unescape(&rest[..end]);
        let ticks = if code.contains('`') { "``" } else { "`" };
        let pad = if code.starts_with('`') || code.ends_with('`') {
            " "
        } else {
            ""
        };
        let len = "<code>".len() + end + "</code>".len();
        return Some((format!("{ticks}{pad}{code}{pad}{ticks}"), len));
    }
    if let Some(rest) = s.strip_prefix("<img src=\"") {
        let (src, rest) = rest.split_once("\" alt=\"")?;
        let (alt, _) = rest.split_once("\">")?;
        if src.contains(['<', '>', ' ', '(', ')']) || alt.contains(['[', ']', '<', '>']) {
            return None;
        }
        let len = format!("<img src=\"{src}\" alt=\"{alt}\">").len();
        return Some((format!("![{}]({})", unescape(alt), unescape(src)), len));
    }
    if let Some(rest) = s.strip_prefix("<a href=\"") {
        let (href, _) = rest.split_once("\">")?;
        if href.contains(['<', '>', ' ', '(', ')', '"']) {
            return None;
        }
        links.push(unescape(href));
        return Some(("[".into(), "<a href=\"".len() + href.len() + 2));
    }
    if s.starts_with("</a>") {
        return Some((format!("]({})", links.pop()?), 4));
    }
    None
}

/// A formula as the renderer writes it (`\(…\)`, `\[…\]`) at the start of `s`, as
/// `$…$` / `$$…$$`, or as written where dollars would not read as one (`\( x \)`).
fn math(s: &str) -> Option<(String, usize)> {
    let (open, close, dollars) = match s.get(..2)? {
        "\\(" => ("\\(", "\\)", "$"),
        "\\[" => ("\\[", "\\]", "$$"),
        _ => return None,
    };
    let tex = &s[open.len()..];
    let end = tex.find(close)?;
    let len = open.len() + end + close.len();
    let tex = unescape(&tex[..end]);
    let dollars_read = !tex.is_empty()
        && !tex.starts_with(char::is_whitespace)
        && !tex.ends_with(char::is_whitespace)
        && !tex.contains('$');
    Some(match dollars_read {
        true => (format!("{dollars}{tex}{dollars}"), len),
        false => (format!("{open}{tex}{close}"), len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a deck ankideck built holds comes back as Markdown.
    #[test]
    fn rendered_markdown_is_spelled_back() {
        for (html, first, markdown) in [
            ("<p>Paris</p>", false, "Paris"),
            (
                "<p>a <strong>b</strong> <em>c</em> <code>x &lt; y</code></p>\n<p>two</p>",
                false,
                "a **b** *c* `x < y`\n\ntwo",
            ),
            (
                "<p>\\(N\\) and \\(a &lt; b\\)</p>",
                false,
                "$N$ and $a < b$",
            ),
            (
                "<p><img src=\"a.png\" alt=\"loss\"></p>",
                false,
                "![loss](a.png)",
            ),
            (
                "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
                false,
                "- one\n- two",
            ),
            (
                "<p><a href=\"https://x.org\">x</a></p>",
                false,
                "[x](https://x.org)",
            ),
            ("a <strong>b</strong>", true, "a **b**"),
            // Anki's own spacing inside its delimiters, which dollars would not take.
            (
                "<p><em>x</em> \\( a &lt; b \\) \\[\\]</p>",
                false,
                "*x* \\( a < b \\) \\[\\]",
            ),
            ("\\(x\\) and \\( y \\)", true, "$x$ and \\( y \\)"),
            ("2*3*4 = 24", true, "2\\*3\\*4 = 24"),
        ] {
            assert_eq!(
                markdown_for(html, first).as_deref(),
                Some(markdown),
                "{html}"
            );
        }
    }

    /// Fields Markdown cannot give (Anki's own, mostly) have no Markdown spelling, and
    /// HTML that renders to itself keeps its spelling.
    #[test]
    fn only_what_renders_back_exactly() {
        for html in ["Paris", "a<br>b", "x&nbsp;y", "<b>x</b> y"] {
            assert_eq!(markdown_for(html, false), None, "{html}");
        }
        for html in ["<div>a</div>", "<p>a</p><p>b</p>"] {
            assert_eq!(markdown_for(html, false).as_deref(), Some(html));
        }
        assert_eq!(markdown_for("Paris", true).as_deref(), Some("Paris"));
        assert_eq!(markdown_for("", false).as_deref(), Some(""));
    }
}
