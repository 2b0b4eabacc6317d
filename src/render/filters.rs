//! The filters of Anki's template language (`{{text:Field}}`, `{{hint:Field}}`, …),
//! applied as Anki's renderer applies them.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Applies `filters` (as written, outermost first) to a field's `text`. Anki applies
/// them innermost first and stops at a filter it does not know, leaving the text as it
/// is then (add-ons could handle the rest).
pub(crate) fn apply(
    text: &str,
    filters: &[String],
    field: &str,
    ord: u16,
    question: bool,
) -> String {
    let typed = match filters {
        [first, second] if first == "type" && second == "cloze" => Some("cloze:"),
        [first, second] if first == "type" && second == "nc" => Some("nc:"),
        [first, ..] if first == "type" => Some(""),
        _ => None,
    };
    if let Some(prefix) = typed {
        // The reviewer replaces this with the box to type in (or the comparison).
        return format!("[[type:{prefix}{field}]]");
    }
    let mut text = text.to_string();
    for filter in filters.iter().rev() {
        text = match filter.as_str() {
            "" => text,
            "text" => crate::text::strip_html(&text),
            "furigana" => furigana(&text, |base, reading| {
                format!("<ruby><rb>{base}</rb><rt>{reading}</rt></ruby>")
            }),
            "kanji" => furigana(&text, |base, _| base.to_string()),
            "kana" => furigana(&text, |_, reading| reading.to_string()),
            "hint" => hint(&text, field),
            // Only where another filter is written before it (`{{text:type:F}}`).
            "type" => format!("[[type:{field}]]"),
            "cloze" => super::cloze::cloze(&text, ord + 1, question),
            "cloze-only" => super::cloze::cloze_only(&text, ord + 1, question),
            other => match other.strip_prefix("tts ") {
                Some(options) => format!("[anki:tts lang={options}]{text}[/anki:tts]"),
                None => return text,
            },
        };
    }
    text
}

/// `base[reading]`, with an optional space before it.
static FURIGANA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" ?([^ >]+?)\[(.+?)\]").unwrap());

/// Rewrites each `base[reading]` (but `[sound:…]`) with `write`.
fn furigana(text: &str, write: impl Fn(&str, &str) -> String) -> String {
    FURIGANA
        .replace_all(&text.replace("&nbsp;", " "), |c: &Captures| {
            match c[2].starts_with("sound:") {
                true => c[0].to_string(),
                false => write(&c[1], &c[2]),
            }
        })
        .into_owned()
}

/// A link that reveals the field, with Anki's id for it (BLAKE3 of text and field name).
fn hint(text: &str, field: &str) -> String {
    if text.trim().is_empty() {
        return text.to_string();
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(text.as_bytes());
    hasher.update(field.as_bytes());
    let id = crate::ids::hex(&hasher.finalize().as_bytes()[..8]);
    format!(
        "\n<a class=hint href=\"#\"\nonclick=\"this.style.display='none';\ndocument.getElementById('hint{id}').style.display='block';\nreturn false;\" draggable=false>\n{field}</a>\n<div id=\"hint{id}\" class=hint style=\"display: none\">{text}</div>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn filters_as_anki_applies_them() {
        let ruby = "test first[second] third[fourth]";
        assert_eq!(
            apply(ruby, &filters(&["kana"]), "F", 0, true),
            "testsecondfourth"
        );
        assert_eq!(
            apply(ruby, &filters(&["kanji"]), "F", 0, true),
            "testfirstthird"
        );
        assert_eq!(
            apply("first[second]", &filters(&["furigana"]), "F", 0, true),
            "<ruby><rb>first</rb><rt>second</rt></ruby>"
        );
        // Anki's own test of the hint's id.
        assert!(
            apply("foo", &filters(&["hint"]), "field", 0, true).contains(
                "<div id=\"hint83fe48607f0f3a66\" class=hint style=\"display: none\">foo</div>"
            )
        );
        assert_eq!(
            apply("x", &filters(&["type", "cloze"]), "Text", 0, true),
            "[[type:cloze:Text]]"
        );
        assert_eq!(
            apply("x", &filters(&["type", "a", "b"]), "Text", 0, true),
            "[[type:Text]]"
        );
        assert_eq!(apply("<b>a</b>", &filters(&["text"]), "F", 0, true), "a");
        assert_eq!(
            apply("<b>a</b>", &filters(&["text", "type"]), "F", 0, true),
            "[[type:F]]"
        );
        // An unknown filter stops the ones written before it (applied after it).
        assert_eq!(
            apply("<b>a</b>", &filters(&["text", "mine"]), "F", 0, true),
            "<b>a</b>"
        );
        assert_eq!(
            apply("<b>a</b>", &filters(&["mine", "text"]), "F", 0, true),
            "a"
        );
        assert_eq!(
            apply("hi", &filters(&["tts en_US"]), "F", 0, true),
            "[anki:tts lang=en_US]hi[/anki:tts]"
        );
    }
}
