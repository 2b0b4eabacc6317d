//! Bold, italics and strikethrough beside Chinese, Japanese and Korean text.
//!
//! CommonMark decides whether a run of `*` or `~` opens or closes from the characters on
//! either side, and a run between punctuation and a letter does neither: `**注意：**这是`
//! and `这是**“引号”**里` keep their asterisks, although nobody writing Chinese puts a
//! space there. The CJK-friendly amendments to CommonMark (Markdown's issue 650, which
//! markdown-it and remark plugins follow) count a CJK character beside a run like
//! punctuation, and CJK punctuation inside it like a letter. Until the parser has that
//! option, [`mark`] puts [`MARK`], punctuation to the parser, between such a run and its
//! neighbour, which makes the parser flank the run exactly as the amendments do; the
//! rendering takes the marks out again ([`unmark`]).
//!
//! `_` keeps CommonMark's rule: its own rule about letters on both sides differs in the
//! amendments, and a mark cannot say that.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Tag};
use regex::Regex;
use std::sync::LazyLock;
use unicode_width::UnicodeWidthChar;

/// Punctuation to the parser (a symbol no card writes: `⸮`, the irony mark). A source
/// that has one is rendered without marks, as plain CommonMark.
pub(super) const MARK: char = '\u{2E2E}';

/// CommonMark's Unicode punctuation: the punctuation and symbol categories.
static PUNCTUATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\p{P}\p{S}]$").unwrap());
/// Characters the amendments do not count as CJK although they are wide.
static EMOJI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\p{Emoji_Presentation}$").unwrap());
static HANGUL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\p{Hangul}$").unwrap());

/// `source` with a [`MARK`] wherever the amendments flank a run of `*` or `~` that
/// CommonMark does not, or `None` when there is no such run (almost always).
pub(super) fn mark(source: &str) -> Option<String> {
    if !source.contains(['*', '~']) || source.contains(MARK) {
        return None;
    }
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::new();
    let (mut i, mut marked) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(char::is_ascii_punctuation) {
            out.extend(&chars[i..i + 2]);
            i += 2;
            continue;
        }
        if c != '*' && c != '~' {
            out.push(c);
            i += 1;
            continue;
        }
        let end = i + chars[i..].iter().take_while(|&&d| d == c).count();
        let (before, after) = (i.checked_sub(1).map(|b| chars[b]), chars.get(end).copied());
        let (open, close) = (
            opens_only_here(before, after),
            closes_only_here(before, after),
        );
        marked |= open || close;
        if open {
            out.push(MARK);
        }
        out.extend(&chars[i..end]);
        if close {
            out.push(MARK);
        }
        i = end;
    }
    marked.then_some(out)
}

/// `event` without the marks [`mark`] put in: they did their work in the parser, and
/// no text, code, URL or HTML keeps one.
pub(super) fn unmark(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Start(tag) => Event::Start(unmark_tag(tag)),
        Event::Text(t) => Event::Text(unmark_str(t)),
        Event::Code(t) => Event::Code(unmark_str(t)),
        Event::Html(t) => Event::Html(unmark_str(t)),
        Event::InlineHtml(t) => Event::InlineHtml(unmark_str(t)),
        Event::InlineMath(t) => Event::InlineMath(unmark_str(t)),
        Event::DisplayMath(t) => Event::DisplayMath(unmark_str(t)),
        Event::FootnoteReference(t) => Event::FootnoteReference(unmark_str(t)),
        other => other,
    }
}

fn unmark_tag(tag: Tag<'_>) -> Tag<'_> {
    match tag {
        Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
            Tag::CodeBlock(CodeBlockKind::Fenced(unmark_str(info)))
        }
        Tag::FootnoteDefinition(label) => Tag::FootnoteDefinition(unmark_str(label)),
        Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        } => Tag::Link {
            link_type,
            dest_url: unmark_str(dest_url),
            title: unmark_str(title),
            id: unmark_str(id),
        },
        Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        } => Tag::Image {
            link_type,
            dest_url: unmark_str(dest_url),
            title: unmark_str(title),
            id: unmark_str(id),
        },
        other => other,
    }
}

fn unmark_str(text: CowStr<'_>) -> CowStr<'_> {
    match text.contains(MARK) {
        true => CowStr::from(text.replace(MARK, "")),
        false => text,
    }
}

/// Whether a run between `before` and `after` is left-flanking under the amendments
/// but not under CommonMark. A mark before it then makes it so, and changes nothing
/// else: the run stays right-flanking, as both rules have it.
fn opens_only_here(before: Option<char>, after: Option<char>) -> bool {
    let (Some(b), Some(a)) = (before, after) else {
        return false;
    };
    !is_space(a)
        && is_punctuation(a)
        && !is_space(b)
        && !is_punctuation(b)
        && (is_cjk(a) || is_cjk(b))
}

/// [`opens_only_here`] for right-flanking: a mark after the run.
fn closes_only_here(before: Option<char>, after: Option<char>) -> bool {
    opens_only_here(after, before)
}

/// CommonMark's Unicode whitespace.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{c}' | '\r')
        || (!c.is_ascii() && c.is_whitespace() && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
}

fn is_punctuation(c: char) -> bool {
    match c.is_ascii() {
        true => c.is_ascii_punctuation(),
        false => PUNCTUATION.is_match(c.encode_utf8(&mut [0; 4])),
    }
}

/// A CJK character as the amendments define one: East Asian Width wide, fullwidth or
/// halfwidth, but not an emoji; or Hangul.
fn is_cjk(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut bytes = [0; 4];
    let text = &*c.encode_utf8(&mut bytes);
    let halfwidth = matches!(c, '\u{20A9}' | '\u{FF61}'..='\u{FFDC}' | '\u{FFE8}'..='\u{FFEE}');
    ((c.width() == Some(2) || halfwidth) && !EMOJI.is_match(text)) || HANGUL.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_beside_cjk_punctuation_are_marked_where_they_open_or_close() {
        let marked = |s: &str| mark(s).map(|m| m.replace(MARK, "|"));
        assert_eq!(marked("**注意：**这是"), Some("**注意：**|这是".into()));
        assert_eq!(
            marked("这是**“引号”**里"),
            Some("这是|**“引号”**|里".into())
        );
        assert_eq!(marked("a**（中）**b"), Some("a|**（中）**|b".into()));
        assert_eq!(marked("~~删除。~~继续"), Some("~~删除。~~|继续".into()));
        // CommonMark flanks these already, or the amendments do not either.
        for same in [
            "**粗体**继续",
            "**bold.**x",
            "a**“b”**c",
            "**注意：** 这是",
            "中 ** 文",
        ] {
            assert_eq!(mark(same), None, "{same}");
        }
        // Escaped: no run. After `\*`, a run of one `*` with punctuation before it.
        assert_eq!(mark("\\*\\*注意：\\*\\*这是"), None);
        assert_eq!(
            marked("\\**注意：\\**这"),
            Some("\\**|注意：\\**|这".into())
        );
        // A source that holds a mark of its own.
        assert_eq!(mark("⸮ **注意：**这是"), None);
    }

    #[test]
    fn cjk_characters_are_those_of_the_amendments() {
        for c in ['中', 'あ', 'カ', 'ｶ', '한', '，', '。', '（', 'Ａ'] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['a', 'é', '“', '😀', ' ', 'α'] {
            assert!(!is_cjk(c), "{c}");
        }
        for c in ['：', '“', '。', '€', '+'] {
            assert!(is_punctuation(c), "{c}");
        }
        assert!(is_space('\u{3000}') && !is_space('\u{2028}'));
    }
}
