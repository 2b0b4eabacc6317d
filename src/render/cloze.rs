//! The `cloze:` and `cloze-only:` filters: a card's deletions hidden on the front and
//! highlighted on the back, in the markup Anki's renderer writes.

use crate::notetype::cloze::{self, Piece, Tree};
use regex::Regex;
use std::fmt::Write;
use std::sync::LazyLock;

/// `\(…\)` or `\[…\]` (either closer), as Anki finds MathJax in a revealed field.
static MATHJAX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?si)(\\[(\[])(.*?)(\\[\])])").unwrap());

/// `cloze:`: the field with deletion `ord` (1-based) hidden (`question`) or revealed,
/// the others shown; empty when the field holds no deletion `ord`.
pub(crate) fn cloze(text: &str, ord: u16, question: bool) -> String {
    let mut out = String::new();
    let mut found = false;
    for piece in &cloze::tree(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Deletion(d) => reveal(d, ord, question, &mut found, &mut out),
        }
    }
    if !found {
        return String::new();
    }
    // MathJax would not typeset a formula with tags inside: Anki strips them.
    MATHJAX
        .replace_all(&out, |c: &regex::Captures| {
            let inside = crate::text::strip_html_preserving_entities(&c[2]);
            format!("{}{inside}{}", &c[1], &c[3])
        })
        .into_owned()
}

/// `cloze-only:`: only the text (or on the front the hint) of deletion `ord`, joined by
/// `, `.
pub(crate) fn cloze_only(text: &str, ord: u16, question: bool) -> String {
    texts(text, ord, question).join(", ")
}

/// What a typed answer to deletion `ord` is compared with: its text, once when every
/// deletion `ord` holds the same.
pub(crate) fn for_typing(text: &str, ord: u16) -> String {
    let mut found = texts(text, ord, false);
    if found.iter().all(|t| *t == found[0]) {
        found.truncate(1);
    }
    found.join(", ")
}

fn texts(text: &str, ord: u16, question: bool) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(piece: &Piece, ord: u16, question: bool, found: &mut Vec<String>) {
        if let Piece::Deletion(d) = piece {
            if d.numbers.contains(&ord) {
                found.push(match question {
                    true => hint(d).to_string(),
                    false => plain(d),
                });
            }
            for child in &d.children {
                walk(child, ord, question, found);
            }
        }
    }
    for piece in &cloze::tree(text) {
        walk(piece, ord, question, &mut found);
    }
    found
}

fn hint<'t>(d: &Tree<'t>) -> &'t str {
    d.hint.unwrap_or("...")
}

/// A deletion's text with the markers of those inside it removed.
fn plain(d: &Tree) -> String {
    let mut out = String::new();
    for child in &d.children {
        match child {
            Piece::Text(t) => out.push_str(t),
            Piece::Deletion(inner) => out.push_str(&plain(inner)),
        }
    }
    out
}

fn numbers(d: &Tree) -> String {
    let numbers: Vec<String> = d.numbers.iter().map(u16::to_string).collect();
    numbers.join(",")
}

fn reveal_children(d: &Tree, ord: u16, question: bool, found: &mut bool, out: &mut String) {
    for child in &d.children {
        match child {
            Piece::Text(t) => out.push_str(t),
            Piece::Deletion(inner) => reveal(inner, ord, question, found, out),
        }
    }
}

fn reveal(d: &Tree, ord: u16, question: bool, found: &mut bool, out: &mut String) {
    let active = d.numbers.contains(&ord);
    *found |= active;
    let numbers = numbers(d);
    if let Some(Piece::Text(first)) = d.children.first() {
        if let Some(shape) = first.strip_prefix("image-occlusion:") {
            // A mask of an image occlusion note: an element for Anki's script to draw.
            let class = match (question, active) {
                (true, true) => "cloze",
                _ if d.numbers.contains(&0) => "cloze",
                (_, false) => "cloze-inactive",
                (false, true) => "cloze-highlight",
            };
            let data = occlusion_data(shape);
            let _ = write!(
                out,
                r#"<div class="{class}" data-ordinal="{numbers}" {data}></div>"#
            );
            return;
        }
    }
    match (question, active) {
        (true, true) => {
            let mut inside = String::new();
            reveal_children(d, ord, question, found, &mut inside);
            let _ = write!(
                out,
                r#"<span class="cloze" data-cloze="{}" data-ordinal="{numbers}">[{}]</span>"#,
                encode_attribute(&inside),
                hint(d)
            );
        }
        (false, true) => {
            let _ = write!(out, r#"<span class="cloze" data-ordinal="{numbers}">"#);
            reveal_children(d, ord, question, found, out);
            out.push_str("</span>");
        }
        (_, false) => {
            let _ = write!(
                out,
                r#"<span class="cloze-inactive" data-ordinal="{numbers}">"#
            );
            reveal_children(d, ord, question, found, out);
            out.push_str("</span>");
        }
    }
}

/// The attributes Anki writes for an occlusion `SHAPE:name=value:…`, each followed by a
/// space: the shape when it is one Anki draws, then the properties it knows, in the
/// order written, those that are empty (or for sizes `0`) left out.
fn occlusion_data(text: &str) -> String {
    let mut out = String::new();
    let Some(colon) = text.find(':') else {
        return out;
    };
    let shape = &text[..colon];
    if matches!(shape, "rect" | "ellipse" | "polygon" | "text") {
        let _ = write!(out, "data-shape=\"{shape}\" ");
    }
    let mut rest = &text[colon..];
    while let Some((name, value, after)) = occlusion_property(rest) {
        rest = after;
        let size = !value.is_empty() && value != "0";
        let attribute = match name {
            "left" | "top" | "angle" | "fill" if !value.is_empty() => name.to_string(),
            "width" | "height" | "rx" | "ry" | "scale" if size => name.to_string(),
            "oi" if !value.is_empty() => "occludeInactive".to_string(),
            "fs" if !value.is_empty() => "font-size".to_string(),
            "text" if !value.is_empty() => {
                let _ = write!(out, "data-text=\"{}\" ", encode_attribute(&value));
                continue;
            }
            "points" => {
                let points: Vec<&str> = value.split(' ').filter(|p| p.contains(',')).collect();
                if !points.is_empty() {
                    let _ = write!(out, "data-points=\"{}\" ", points.join(" "));
                }
                continue;
            }
            _ => continue,
        };
        let _ = write!(out, "data-{attribute}=\"{value}\" ");
    }
    out
}

/// `:name=value` at the start of `text` (`\:` and `\\` escape a colon and a backslash in
/// the value): the name, the value and the text after it; `None` where none starts.
fn occlusion_property(text: &str) -> Option<(&str, String, &str)> {
    let text = text.strip_prefix(':')?;
    let equals = text.find('=').filter(|&at| at > 0)?;
    let body = &text[equals + 1..];
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    let mut end = body.len();
    while let Some((at, c)) = chars.next() {
        match c {
            ':' => {
                end = at;
                break;
            }
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | ':'))) => value.push(escaped),
                _ => return None,
            },
            c => value.push(c),
        }
    }
    Some((&text[..equals], value, &body[end..]))
}

/// An attribute value encoded as Anki encodes `data-cloze`: `& < > " '` by name or
/// number, every other character below 256 but ASCII letters and digits as `&#xHH;`.
fn encode_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#x27;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if (c as u32) < 256 && !c.is_ascii_alphanumeric() => {
                let _ = write!(out, "&#x{:02X};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fronts_hide_and_backs_highlight() {
        let text = "{{c1::one}} {{c2::two::hint}}";
        assert_eq!(
            cloze(text, 1, true),
            r#"<span class="cloze" data-cloze="one" data-ordinal="1">[...]</span> <span class="cloze-inactive" data-ordinal="2">two</span>"#
        );
        assert!(cloze(text, 2, true).contains(">[hint]</span>"));
        assert_eq!(
            cloze(text, 2, false),
            r#"<span class="cloze-inactive" data-ordinal="1">one</span> <span class="cloze" data-ordinal="2">two</span>"#
        );
        assert_eq!(cloze(text, 3, true), "");
        assert_eq!(cloze_only(text, 2, true), "hint");
        assert_eq!(cloze_only("{{c1::a}} {{c1::b}}", 1, false), "a, b");
    }

    #[test]
    fn image_occlusions_are_masks_for_ankis_script() {
        let text = r"{{c1::image-occlusion:rect:left=.1:top=0:width=.3:height=0:oi=1}}{{c2::image-occlusion:text:text=a\:b <c>:fs=0:points=1,2 x 3,4:bad}}";
        assert_eq!(
            cloze(text, 1, true),
            r#"<div class="cloze" data-ordinal="1" data-shape="rect" data-left=".1" data-top="0" data-width=".3" data-occludeInactive="1" ></div><div class="cloze-inactive" data-ordinal="2" data-shape="text" data-text="a&#x3A;b&#x20;&lt;c&gt;" data-font-size="0" data-points="1,2 3,4" ></div>"#
        );
        assert!(cloze(text, 1, false)
            .starts_with(r#"<div class="cloze-highlight" data-ordinal="1" data-shape="rect""#));
        assert!(cloze("{{c1::image-occlusion:star}}", 1, true)
            .starts_with(r#"<div class="cloze" data-ordinal="1" ></div>"#));
    }

    #[test]
    fn math_and_attributes_as_anki_writes_them() {
        assert_eq!(
            cloze(r"\(x^{<b>{{c1::2}}</b>}\)", 1, false),
            r#"\(x^{<span class="cloze" data-ordinal="1">2</span>}\)"#
                .replace(r#"<span class="cloze" data-ordinal="1">2</span>"#, "2")
        );
        assert_eq!(
            encode_attribute("a.b <c> é 中"),
            "a&#x2E;b&#x20;&lt;c&gt;&#x20;&#xE9;&#x20;中"
        );
    }
}
