//! Text rules Anki applies to field content: stripping HTML for the sort field and the
//! duplicate checksum, and deciding when a field counts as empty.

use regex::Regex;
use sha1::{Digest, Sha1};
use std::sync::LazyLock;

static HTML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?si)<!--.*?-->|<style.*?>.*?</style>|<script.*?>.*?</script>|<.*?>").unwrap()
});
/// Tags whose `src` (or `data`) names a media file, as Anki looks for them.
pub(crate) static MEDIA_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<(?:img|audio|video|object|source)\b[^>]*?\b(?:src|data)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^ >]+))[^>]*>"#,
    )
    .unwrap()
});
static EMPTY_HTML: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:\s|</?(?:br|div) ?/?>)*$").unwrap());

/// Escapes text for HTML element content.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes text for a double-quoted HTML attribute.
pub(crate) fn escape_attr(s: &str) -> String {
    escape_html(s).replace('"', "&quot;")
}

/// Removes comments, scripts, styles and tags, then decodes entities, as Anki does.
pub fn strip_html(html: &str) -> String {
    decode_entities(&HTML.replace_all(html, ""))
}

/// Like [`strip_html`], but an `<img>` leaves its file name behind, as Anki does for
/// the sort field and checksum.
pub fn strip_html_preserving_media_filenames(html: &str) -> String {
    let with_names = MEDIA_TAG.replace_all(html, |c: &regex::Captures| {
        let src = c
            .get(1)
            .or(c.get(2))
            .or(c.get(3))
            .map_or("", |m| m.as_str());
        format!(" {src} ")
    });
    strip_html(&with_names)
}

/// First 32 bits of the SHA-1 of the stripped first field: Anki's duplicate checksum.
pub fn field_checksum(first_field: &str) -> i64 {
    let stripped = strip_html_preserving_media_filenames(first_field);
    let digest = Sha1::digest(stripped.as_bytes());
    u32::from_be_bytes(digest[..4].try_into().expect("sha1 has 20 bytes")) as i64
}

/// A field Anki treats as empty when deciding which cards exist.
pub fn field_is_empty(html: &str) -> bool {
    EMPTY_HTML.is_match(html)
}

/// Decodes entities; like Anki, leaves the text untouched if any `&` is not a known entity.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut failed = false;
    static ENTITY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);").unwrap());
    let decoded = ENTITY
        .replace_all(s, |c: &regex::Captures| {
            let body = &c[1];
            let decoded = if let Some(hex) = body.strip_prefix("#x").or(body.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = body.strip_prefix('#') {
                dec.parse().ok().and_then(char::from_u32)
            } else {
                match body {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    _ => None,
                }
            };
            decoded.map_or_else(
                || {
                    failed = true;
                    String::new()
                },
                String::from,
            )
        })
        .into_owned();
    let bare_ampersand = s.matches('&').count() != ENTITY.find_iter(s).count();
    if failed || bare_ampersand {
        return s.to_string();
    }
    decoded.replace('\u{a0}', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_anki() {
        // Value from Anki's own documentation of the notes table.
        assert_eq!(field_checksum("hello"), 2868168221);
        assert_eq!(field_checksum("<b>hello</b>"), 2868168221);
    }

    #[test]
    fn stripping_keeps_media_names() {
        assert_eq!(
            strip_html_preserving_media_filenames(r#"a<img src="x.png">b &amp; <!-- c -->"#),
            "a x.png b & "
        );
        assert_eq!(strip_html("<p>1 &lt; 2</p>"), "1 < 2");
        // Like Anki: one undecodable `&` leaves every entity as it is.
        assert_eq!(strip_html("a &amp; b & c"), "a &amp; b & c");
        assert_eq!(strip_html("<style>x</style>a&nbsp;b"), "a b");
    }

    #[test]
    fn emptiness() {
        for empty in [
            "",
            "  ",
            "<br>",
            "<div></div>",
            "<br/> <br />",
            "<DIV>\n</div>",
        ] {
            assert!(field_is_empty(empty), "{empty:?}");
        }
        for full in ["a", "<img src=x>", "<b>x</b>", "&nbsp;", "<p></p>"] {
            assert!(!field_is_empty(full), "{full:?}");
        }
    }
}
