//! Text rules Anki applies to field content: stripping HTML for the sort field and the
//! duplicate checksum, and deciding when a field counts as empty.

use regex::Regex;
use sha1::{Digest, Sha1};
use std::sync::LazyLock;

/// Comments, style and script elements, and tags: what Anki strips from HTML.
static HTML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?si)<!--.*?-->|<style.*?>.*?</style>|<script.*?>.*?</script>|<.*?>").unwrap()
});
/// The media references in a field, one grammar for every reader: a media tag …
pub(crate) static MEDIA_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<(?:img|audio|video|object|source)\b[^>]*>").unwrap());
/// … and in it, each `src` or `data` attribute (group 1: up to the value), whose value
/// (see [`media_attr_value`]) names a file. `data-src` and the like are not one.
pub(crate) static MEDIA_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(\s(?:src|data)\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#).unwrap()
});
/// … and `[sound:name]` (group 1: the name).
pub(crate) static SOUND_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[sound:([^\]]+)\]").unwrap());

/// Extensions of the files Anki plays as sound or video (`[sound:…]`), not shows as
/// images: those of its editor's file picker.
const SOUND_EXTENSIONS: &[&str] = &[
    "3gp", "aac", "avi", "flac", "flv", "m4a", "mkv", "mov", "mp3", "mp4", "mpeg", "mpg", "oga",
    "ogg", "ogv", "ogx", "opus", "spx", "swf", "wav", "webm",
];

/// Whether the file `reference` names is one Anki plays (by its extension).
pub(crate) fn is_sound_or_video(reference: &str) -> bool {
    let name = reference.split(['?', '#']).next().unwrap_or_default();
    name.rsplit_once('.').is_some_and(|(_, ext)| {
        SOUND_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    })
}

/// In a [`MEDIA_ATTR`] match, the value as written and its quote (`""` when unquoted).
pub(crate) fn media_attr_value<'t>(attr: &regex::Captures<'t>) -> (&'t str, &'static str) {
    match (attr.get(2), attr.get(3), attr.get(4)) {
        (Some(value), _, _) => (value.as_str(), "\""),
        (_, Some(value), _) => (value.as_str(), "'"),
        (_, _, value) => (value.map_or("", |v| v.as_str()), ""),
    }
}

/// Whether `text` may hold a control character other than tab and line feed (Anki
/// allows none in fields): U+0000–U+001F and U+007F–U+009F are, in UTF-8, a byte below
/// 0x20, 0x7F, or a sequence starting 0xC2. Most texts have none of these bytes and
/// are cleared in one quick pass; a `true` needs a look at the characters.
pub(crate) fn may_hold_control(text: &str) -> bool {
    let suspect = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f || b == 0xc2;
    text.bytes().any(suspect)
}

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

/// Whether `text` holds anything [`strip_html`] would remove: Anki's test for a text
/// file whose header does not say `#html:`.
pub fn contains_html(text: &str) -> bool {
    text.contains('<') && HTML.is_match(text)
}

/// Removes comments, scripts, styles and tags, then decodes entities, as Anki does.
pub fn strip_html(html: &str) -> String {
    decode_entities(&strip_html_preserving_entities(html))
}

/// Removes comments, scripts, styles and tags, leaving entities as they are.
pub(crate) fn strip_html_preserving_entities(html: &str) -> std::borrow::Cow<'_, str> {
    // Every pattern starts with `<`: most first fields have none, and skip the regex
    // (shared by the threads that lint, so each search takes a cache from its pool).
    if !html.contains('<') {
        return std::borrow::Cow::Borrowed(html);
    }
    HTML.replace_all(html, "")
}

/// Like [`strip_html`], but an `<img>` leaves its file name behind, as Anki does for
/// the sort field and checksum.
pub fn strip_html_preserving_media_filenames(html: &str) -> String {
    if !html.contains('<') {
        return decode_entities(html); // no tag: nothing for the regexes to do
    }
    let with_names = MEDIA_TAG.replace_all(html, |tag: &regex::Captures| {
        match MEDIA_ATTR.captures(&tag[0]) {
            Some(attr) => format!(" {} ", media_attr_value(&attr).0),
            None => tag[0].to_string(),
        }
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
/// Anki's rule is the regex `(?i)^(?:\s|</?(?:br|div) ?/?>)*$`; this is it as a scan,
/// as it runs for every field of every note.
pub fn field_is_empty(html: &str) -> bool {
    let mut rest = html;
    loop {
        rest = rest.trim_start(); // `char::is_whitespace` is Unicode's White_Space, as `\s`
        if rest.is_empty() {
            return true;
        }
        match empty_tag_len(rest.as_bytes()) {
            Some(len) => rest = &rest[len..],
            None => return false,
        }
    }
}

/// The length of `</?(?:br|div) ?/?>` (any case) at the start of `b`, if it is there.
fn empty_tag_len(b: &[u8]) -> Option<usize> {
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let name_at = |i: usize, name: &[u8]| {
        b.get(i..i + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    };
    if !at(0, b'<') {
        return None;
    }
    let mut i = 1 + usize::from(at(1, b'/'));
    i += match () {
        _ if name_at(i, b"br") => 2,
        _ if name_at(i, b"div") => 3,
        _ => return None,
    };
    i += usize::from(at(i, b' '));
    i += usize::from(at(i, b'/'));
    at(i, b'>').then_some(i + 1)
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
        // The same grammar as the renderer's: `data-src` is no reference, unquoted is.
        assert_eq!(
            strip_html_preserving_media_filenames(r#"<img data-src="x.png" src=y.png><audio>"#),
            " y.png "
        );
        assert!(contains_html("a<br>b") && !contains_html("a < b"));
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

    /// The scan says what Anki's regex says, on every string of a few pieces.
    #[test]
    fn emptiness_is_anki_regex() {
        let anki = Regex::new(r"(?i)^(?:\s|</?(?:br|div) ?/?>)*$").unwrap();
        let pieces = [
            "", " ", "\u{a0}", "\u{3000}", "\n", "<", ">", "/", "<br>", "<BR/>", "<br />",
            "</Div>", "<div/ >", "<br/ >", "<br  >", "<dIv >", "<bra>", "x", "<b>", "<", "br",
            "</", "<di", "\u{212a}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(field_is_empty(&text), anki.is_match(&text), "{text:?}");
                }
            }
        }
    }
}
