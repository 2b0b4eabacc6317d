//! Code in fields: syntax highlighting of fenced code blocks, and keeping cloze deletions
//! intact around and inside code.
//!
//! Highlighting happens at build time with bat's Sublime Text grammars (the `two-face`
//! crate) and writes inline styles, so a card needs no JavaScript, no stylesheet and no
//! network, and the code looks the same in every note type, on every client. The code box
//! sets its own dark background, border and text colours, so it reads the same on a white
//! card and in night mode (inline styles cannot follow `.nightMode`, so the box does not
//! depend on the card's colours at all): its background is darker than Anki's night-mode
//! page and its border lighter, and every colour is lifted to a readable contrast against
//! it. Code in an unknown language, or with none (indented blocks), gets the same box
//! without colours.
//!
//! Cloze deletions in code work as in the rest of a field: `{{c1::…}}` written inside
//! code is a deletion (with an optional `::hint`). A `}}` or `::` in code that does not
//! belong to a deletion written in the same code is written as `}&#125;` / `:&#58;` in
//! notes that have deletions, so code inside `{{c1::`…`}}` can never end the deletion
//! early or start a hint: the browser shows the same characters, Anki's cloze parser
//! sees none.

use crate::notetype::cloze;
use crate::text::{escape_attr, escape_html};
use std::sync::LazyLock;
use syntect::highlighting::{
    Color, FontStyle, HighlightState, Highlighter, RangedHighlightIterator, Style, Theme, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// The theme every code block uses: dark background, light text.
const THEME: &str = "base16-ocean.dark";
/// The box's background: the theme's own (`#2b303b`) is nearly the colour of Anki's
/// night-mode page (`#2c2c2c`), so the box is a shade darker than both.
const BACKGROUND: Color = Color {
    r: 0x1f,
    g: 0x23,
    b: 0x2b,
    a: 0xff,
};
/// The box's edge, visible against a dark page.
const BORDER: &str = "#4f5b66";
/// WCAG's minimum contrast for body text; the theme's comments (`#65737e`) have 2.9.
const MIN_CONTRAST: f32 = 4.5;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(two_face::syntax::extra_newlines);
static THEME_SET: LazyLock<Theme> = LazyLock::new(|| {
    ThemeSet::load_defaults()
        .themes
        .remove(THEME)
        .expect("syntect ships the theme")
});
/// The theme's scope selectors, worked out once rather than for every block.
static HIGHLIGHTER: LazyLock<Highlighter<'static>> = LazyLock::new(|| Highlighter::new(&THEME_SET));

/// A cloze marker cut out of code: inserted again, unescaped, at byte `at` of the code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    at: usize,
    text: String,
}

/// Whether a code block's language is one we can highlight.
#[cfg(test)]
pub fn knows_language(lang: &str) -> bool {
    syntax_for(lang).is_some()
}

fn syntax_for(lang: &str) -> Option<&'static syntect::parsing::SyntaxReference> {
    let lang = lang.trim();
    if lang.is_empty() {
        return None;
    }
    let ss = &*SYNTAXES;
    let lower = lang.to_ascii_lowercase();
    ss.find_syntax_by_token(lang)
        .or_else(|| ss.find_syntax_by_token(&lower))
        .or_else(|| ss.find_syntax_by_name(lang))
        .or_else(|| {
            let name = match lower.as_str() {
                "shell" | "console" | "zsh" | "bash" => "Bourne Again Shell (bash)",
                "c++" => "C++",
                "c#" | "csharp" => "C#",
                "js" | "jsx" => "JavaScript",
                "typescript" => "TypeScript",
                "kotlin" => "Kotlin",
                "dockerfile" | "docker" => "Dockerfile",
                _ => return None,
            };
            ss.find_syntax_by_name(name)
        })
}

/// A code block as a styled `<pre>`: highlighted when `lang` is known or the first line
/// says (`#!/bin/sh`), else the same box with the code in one colour. `cloze_note` says
/// whether the field has deletions (see the module docs).
pub fn highlighted_block(lang: &str, code: &str, cloze_note: bool) -> String {
    let (plain, markers) = split_clozes(code);
    let syntax = syntax_for(lang)
        .or_else(|| SYNTAXES.find_syntax_by_first_line(&plain))
        .unwrap_or_else(|| SYNTAXES.find_syntax_plain_text());
    let theme = &*THEME_SET;
    let background = BACKGROUND;
    let foreground = readable(
        theme.settings.foreground.unwrap_or(Color::WHITE),
        background,
    );

    // (start, end, css) regions over `plain`, same-looking neighbours merged; the css is
    // an index into `csses`, which holds each distinct one once.
    let mut csses: Vec<Option<String>> = Vec::new();
    let mut seen: Vec<(Style, usize)> = Vec::new();
    let mut css_of = |style: Style| {
        if let Some(&(_, i)) = seen.iter().find(|(s, _)| *s == style) {
            return i;
        }
        let color = readable(style.foreground, background);
        let css = span_style(color, style.font_style, foreground);
        let i = csses.iter().position(|c| *c == css).unwrap_or_else(|| {
            csses.push(css);
            csses.len() - 1
        });
        seen.push((style, i));
        i
    };
    let mut regions: Vec<(usize, usize, usize)> = Vec::new();
    let mut parse = ParseState::new(syntax);
    let mut state = HighlightState::new(&HIGHLIGHTER, ScopeStack::new());
    let mut offset = 0;
    for line in LinesWithEndings::from(&plain) {
        // A grammar that fails on a line leaves the rest of the block uncoloured.
        let ops = parse.parse_line(line, &SYNTAXES).unwrap_or_default();
        for (style, text, _) in RangedHighlightIterator::new(&mut state, &ops, line, &HIGHLIGHTER) {
            let end = offset + text.len();
            // Whitespace looks the same in any colour: fold it into its neighbour.
            let css = match regions.last() {
                Some(last) if text.trim().is_empty() => last.2,
                _ => css_of(style),
            };
            match regions.last_mut() {
                Some(last) if last.2 == css => last.1 = end,
                _ => regions.push((offset, end, css)),
            }
            offset = end;
        }
    }

    let class = match lang.trim() {
        "" => String::new(),
        lang => format!(" class=\"language-{}\"", escape_attr(lang)),
    };
    let mut html = format!(
        "<pre style=\"background-color:{};color:{};border:1px solid {BORDER};text-align:left;padding:0.6em 0.8em;border-radius:6px;overflow-x:auto;line-height:1.4\"><code{class}>",
        hex(background),
        hex(foreground),
    );
    let mut markers = markers.into_iter().peekable();
    for (start, end, css) in regions {
        let css = &csses[css];
        let mut at = start;
        while at < end || markers.peek().is_some_and(|m| m.at == at && at == end) {
            let cut = markers
                .peek()
                .filter(|m| m.at < end || (m.at == end && at == end))
                .map_or(end, |m| m.at.max(at));
            if cut > at {
                let text = escape_code(&plain[at..cut], cloze_note);
                match &css {
                    Some(css) => html.push_str(&format!("<span style=\"{css}\">{text}</span>")),
                    None => html.push_str(&text),
                }
                at = cut;
            }
            while let Some(m) = markers.next_if(|m| m.at == at) {
                html.push_str(&m.text);
            }
            if at == end {
                break;
            }
        }
    }
    for m in markers {
        html.push_str(&m.text);
    }
    html.push_str("</code></pre>\n");
    html
}

/// Inline code: escaped text with the deletions written in it kept, and stray `}}` /
/// `::` neutralised in cloze notes.
pub fn plain_code(code: &str, cloze_note: bool) -> String {
    let (plain, markers) = split_clozes(code);
    let mut out = String::with_capacity(code.len() + 16);
    let mut at = 0;
    for m in markers {
        out.push_str(&escape_code(&plain[at..m.at], cloze_note));
        out.push_str(&m.text);
        at = m.at;
    }
    out.push_str(&escape_code(&plain[at..], cloze_note));
    out
}

fn span_style(color: Color, font: FontStyle, default: Color) -> Option<String> {
    let mut css = Vec::new();
    if color != default {
        css.push(format!("color:{}", hex(color)));
    }
    if font.contains(FontStyle::BOLD) {
        css.push("font-weight:bold".to_string());
    }
    if font.contains(FontStyle::ITALIC) {
        css.push("font-style:italic".to_string());
    }
    (!css.is_empty()).then(|| css.join(";"))
}

/// `color`, mixed towards white just enough to reach [`MIN_CONTRAST`] on `background`.
fn readable(color: Color, background: Color) -> Color {
    let mix = |t: f32| {
        let channel = |c: u8| (c as f32 + (255.0 - c as f32) * t).round() as u8;
        Color {
            r: channel(color.r),
            g: channel(color.g),
            b: channel(color.b),
            a: color.a,
        }
    };
    (0..=20)
        .map(|step| mix(step as f32 / 20.0))
        .find(|c| contrast(*c, background) >= MIN_CONTRAST)
        .unwrap_or(Color::WHITE)
}

/// WCAG's contrast ratio of two colours (1 to 21).
fn contrast(a: Color, b: Color) -> f32 {
    let luminance = |c: Color| {
        let linear = |v: u8| {
            let v = v as f32 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn hex(c: Color) -> String {
    format!("#{}", crate::ids::hex(&[c.r, c.g, c.b]))
}

/// HTML-escapes code text; in cloze notes also hides `}}` and `::` from Anki's cloze
/// parser with a character reference that the browser shows as the same character.
fn escape_code(s: &str, cloze_note: bool) -> String {
    let escaped = escape_html(s);
    if !cloze_note {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len());
    let mut previous = None;
    for c in escaped.chars() {
        match (previous, c) {
            (Some('}'), '}') => {
                out.push_str("&#125;");
                previous = None;
                continue;
            }
            (Some(':'), ':') => {
                out.push_str("&#58;");
                previous = None;
                continue;
            }
            _ => out.push(c),
        }
        previous = Some(c);
    }
    out
}

/// Cuts the deletions written inside `code` out of it: returns the code without them
/// and the markers (`{{c1::`, `::hint}}`, `}}`) with where they go back. Like Anki, a
/// deletion's first `::` starts its hint, and a deletion never closed stays as text.
fn split_clozes(code: &str) -> (String, Vec<Marker>) {
    let mut plain = String::with_capacity(code.len());
    let mut markers: Vec<Marker> = Vec::new();
    // Open deletions: index of their opening marker, and whether a hint is still possible.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = cloze::opener_len(rest) {
            open.push((markers.len(), plain.len()));
            markers.push(Marker {
                at: plain.len(),
                text: rest[..len].to_string(),
            });
            rest = &rest[len..];
        } else if !open.is_empty() && rest.starts_with("}}") {
            open.pop();
            markers.push(Marker {
                at: plain.len(),
                text: "}}".into(),
            });
            rest = &rest[2..];
        } else if !open.is_empty()
            && rest.starts_with("::")
            && rest[2..]
                .find("}}")
                .is_some_and(|end| !rest[2..2 + end].contains("{{"))
        {
            let end = 2 + rest[2..].find("}}").expect("checked");
            open.pop();
            markers.push(Marker {
                at: plain.len(),
                text: format!("::{}}}}}", escape_code(&rest[2..end], false)),
            });
            rest = &rest[end + 2..];
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    // Deletions never closed are text, as Anki shows them.
    for (index, at) in open.into_iter().rev() {
        let text = markers.remove(index).text;
        plain.insert_str(at, &text);
        for m in &mut markers[index..] {
            m.at += text.len();
        }
    }
    (plain, markers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_are_cut_out_and_kept() {
        let (plain, markers) = split_clozes("let x = {{c1::42::number}};\n{{c2::f({{c3::y}})}}");
        assert_eq!(plain, "let x = 42;\nf(y)");
        let texts: Vec<(usize, &str)> = markers.iter().map(|m| (m.at, m.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (8, "{{c1::"),
                (10, "::number}}"),
                (12, "{{c2::"),
                (14, "{{c3::"),
                (15, "}}"),
                (16, "}}")
            ]
        );
        // A `}}` with no deletion open is code; an unclosed deletion is text.
        assert_eq!(split_clozes("a}}b").0, "a}}b");
        assert_eq!(split_clozes("{{c1::open").0, "{{c1::open");
    }

    #[test]
    fn plain_code_hides_braces_only_in_cloze_notes() {
        assert_eq!(plain_code("a}}b<", false), "a}}b&lt;");
        assert_eq!(plain_code("a}}b::c", true), "a}&#125;b:&#58;c");
        assert_eq!(plain_code("x={{c1::std::fmt}}", true), "x={{c1::std::fmt}}");
        assert_eq!(plain_code("{{c1::a}}}", true), "{{c1::a}}}");
    }

    #[test]
    fn highlights_known_languages_and_boxes_the_rest() {
        let html = highlighted_block("rust", "fn main() {}\n", false);
        assert!(
            html.starts_with(
                "<pre style=\"background-color:#1f232b;color:#c0c5ce;border:1px solid #4f5b66;"
            ),
            "{html}"
        );
        assert!(
            html.contains("<span style=\"color:#b48ead\">fn </span>"),
            "{html}"
        );
        assert!(html.ends_with("{}\n</code></pre>\n"), "{html}");
        let cloze = highlighted_block("python", "x = {{c1::42}}\n", true);
        assert!(
            cloze.contains("{{c1::<span style=\"color:#d08770\">42</span>}}"),
            "{cloze}"
        );
        assert!(knows_language("Python") && knows_language("js") && knows_language("sh"));
        // Unknown or no language: the same box, one colour, no class.
        for lang in ["klingon", ""] {
            let html = highlighted_block(lang, "a < b}}\n", true);
            assert!(
                html.starts_with("<pre style=\"background-color:#1f232b;"),
                "{html}"
            );
            assert!(!html.contains("<span"), "{html}");
            assert!(html.contains("a &lt; b}&#125;\n</code>"), "{html}");
        }
        assert!(highlighted_block("", "x\n", false).contains("<code>x\n</code>"));
        // A shebang names the language of a block that does not.
        assert!(highlighted_block("", "#!/bin/sh\necho hi\n", false).contains("<span"));
    }

    #[test]
    fn the_larger_syntax_set_colours_common_languages() {
        let samples = [
            ("typescript", "const answer: number = 42;\n"),
            ("ts", "interface A { b: string }\n"),
            ("tsx", "const a = <b>{c}</b>;\n"),
            ("toml", "[package]\nname = \"x\"\n"),
            ("kotlin", "fun main() = println(\"hi\")\n"),
            ("kt", "val x: Int = 1\n"),
            ("swift", "let sides: Int = 6\n"),
            ("dockerfile", "FROM debian:12\nRUN apt-get update\n"),
            ("Dockerfile", "FROM debian:12\n"),
        ];
        for (lang, code) in samples {
            assert!(knows_language(lang), "{lang}");
            let html = highlighted_block(lang, code, false);
            // Keywords at least (the default colour is the box's, on no span).
            assert!(html.contains("<span style=\"color:#"), "{lang}: {html}");
        }
    }

    #[test]
    fn every_colour_is_readable_on_the_box() {
        let code = "// a comment\nfn f() -> u8 { let s = \"x\"; 1 }\n";
        let html = highlighted_block("rust", code, false);
        let colours: Vec<&str> = html.split("color:#").skip(1).map(|s| &s[..6]).collect();
        assert!(colours.len() > 3, "{html}");
        let parse = |h: &str| {
            let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap();
            Color {
                r: byte(0),
                g: byte(2),
                b: byte(4),
                a: 255,
            }
        };
        for c in &colours[1..] {
            let ratio = contrast(parse(c), BACKGROUND);
            assert!(ratio >= MIN_CONTRAST, "#{c}: {ratio}");
        }
        // The theme's comment colour alone would not be.
        assert!(contrast(parse("65737e"), BACKGROUND) < MIN_CONTRAST);
        assert!(
            contrast(
                BACKGROUND,
                Color {
                    r: 0x2c,
                    g: 0x2c,
                    b: 0x2c,
                    a: 255
                }
            ) > 1.1
        );
    }
}
