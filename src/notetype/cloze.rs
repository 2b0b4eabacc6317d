//! The cloze-deletion grammar (`{{c1::text::hint}}`), read as Anki reads it.

use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// A deletion's opening marker (`{{c1::`, `{{c1,2::`) or a closing `}}`.
static CLOZE_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{c([0-9,]*)::|\}\}").unwrap());
static OPENER_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\{\{c([0-9,]*)::").unwrap());

static SINGLE_COLON: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{c[0-9][0-9,]*:").unwrap());

/// Something shaped like a deletion's opener: one or two `{`, a `c` of either case, the
/// numbers and one or two colons, ASCII or full-width, with spaces or tabs between.
static OPENER_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\{\{?[ \t\u{3000}]*[cC][ \t\u{3000}]*([0-9][0-9, ]*?)[ \t\u{3000}]*([:：])([:：]?)",
    )
    .unwrap()
});

/// The cloze numbers an opener's `1,2` names. A marker naming none (`{{c::`, `{{c,::`)
/// opens no deletion.
fn opener_numbers(numbers: &str) -> Vec<u16> {
    numbers.split(',').filter_map(|n| n.parse().ok()).collect()
}

/// The length in bytes of the deletion opener `text` starts with, if it starts with one.
/// Renderers use it to keep deletions whole around math and code.
pub fn opener_len(text: &str) -> Option<usize> {
    if !text.starts_with("{{c") {
        return None;
    }
    let m = OPENER_AT_START.captures(text)?;
    (!opener_numbers(&m[1]).is_empty()).then(|| m[0].len())
}

/// The cloze numbers of the deletions in `text` (`{{c3::…}}` → 3, `{{c1,2::…}}` → 1 and 2),
/// read as Anki reads them: deletions may nest, one never closed does not count, `c0`
/// is ignored.
pub fn cloze_numbers(text: &str) -> BTreeSet<u16> {
    cloze_texts(text).into_iter().map(|(n, _)| n).collect()
}

/// The text inside each cloze number's deletions, in order (nested deletions included in
/// their parent's text).
pub fn cloze_texts(text: &str) -> Vec<(u16, String)> {
    let mut found = Vec::new();
    for d in deletions(text) {
        if let Some(end) = d.close {
            for &n in d.numbers.iter().filter(|&&n| n > 0) {
                found.push((end, n, text[d.start + d.opener_len..end].to_string()));
            }
        }
    }
    // In the order the deletions close, an inner one before the one around it.
    found.sort_by_key(|&(end, _, _)| end);
    found.into_iter().map(|(_, n, t)| (n, t)).collect()
}

/// A deletion's opener as Anki's parser meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Byte offset of its `{{`.
    pub start: usize,
    /// The length of `{{c1::`.
    pub opener_len: usize,
    pub numbers: Vec<u16>,
    /// Byte offset of the `}}` that closes it; `None` when nothing does, and then Anki
    /// drops the deletion and its text on both sides of the card.
    pub close: Option<usize>,
}

/// The deletions opened in `text`, in the order their openers stand, each with the `}}`
/// that closes it if one does. Deletions may nest (up to 10 deep, as Anki reads them).
pub fn deletions(text: &str) -> Vec<Deletion> {
    if !text.contains("{{c") {
        return Vec::new();
    }
    let mut all: Vec<Deletion> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for token in CLOZE_TOKEN.captures_iter(text) {
        let whole = token.get(0).expect("group 0");
        match token.get(1) {
            Some(numbers) => {
                let numbers = opener_numbers(numbers.as_str());
                if !numbers.is_empty() && open.len() < 10 {
                    open.push(all.len());
                    all.push(Deletion {
                        start: whole.start(),
                        opener_len: whole.len(),
                        numbers,
                        close: None,
                    });
                }
            }
            None => {
                if let Some(index) = open.pop() {
                    all[index].close = Some(whole.start());
                }
            }
        }
    }
    all
}

/// A piece of a field as Anki's cloze renderer reads it: text, or a closed deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'t> {
    Text(&'t str),
    Deletion(Tree<'t>),
}

/// A closed deletion with what it holds (nested deletions included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree<'t> {
    /// Its cloze numbers, sorted, each once (`{{c2,1,1::` → 1, 2).
    pub numbers: Vec<u16>,
    pub children: Vec<Piece<'t>>,
    /// The text after `::` in the last of its own text pieces that has one.
    pub hint: Option<&'t str>,
}

/// `text` as a tree of deletions, read as Anki's renderer reads it: an opener naming no
/// number is text, a `}}` closing nothing is text, a deletion never closed is dropped
/// with all it holds, and at most 10 are open at once (a deeper opener is dropped).
pub fn tree(text: &str) -> Vec<Piece<'_>> {
    let mut open: Vec<Tree> = Vec::new();
    let mut out: Vec<Piece> = Vec::new();
    let mut at = 0;
    for token in CLOZE_TOKEN.captures_iter(text) {
        let whole = token.get(0).expect("group 0");
        let numbers = token.get(1).map(|n| opener_numbers(n.as_str()));
        if numbers.as_ref().is_some_and(Vec::is_empty) {
            continue; // stays text
        }
        if whole.start() > at {
            push_text(&mut open, &mut out, &text[at..whole.start()]);
        }
        at = whole.end();
        match numbers {
            Some(mut numbers) => {
                numbers.sort_unstable();
                numbers.dedup();
                if open.len() < 10 {
                    open.push(Tree {
                        numbers,
                        children: Vec::new(),
                        hint: None,
                    });
                }
            }
            None => match open.pop() {
                Some(closed) => match open.last_mut() {
                    Some(parent) => parent.children.push(Piece::Deletion(closed)),
                    None => out.push(Piece::Deletion(closed)),
                },
                None => out.push(Piece::Text("}}")),
            },
        }
    }
    if at < text.len() {
        push_text(&mut open, &mut out, &text[at..]);
    }
    out
}

/// Text inside the innermost open deletion (its `::` starts the hint), or outside all.
fn push_text<'t>(open: &mut [Tree<'t>], out: &mut Vec<Piece<'t>>, piece: &'t str) {
    let Some(deletion) = open.last_mut() else {
        return out.push(Piece::Text(piece));
    };
    let mut piece = piece;
    if !piece.starts_with("image-occlusion:") {
        if let Some((head, tail)) = piece.split_once("::") {
            piece = head;
            deletion.hint = Some(tail);
        }
    }
    deletion.children.push(Piece::Text(piece));
}

/// `{{c1:` followed by anything but a second `:`: a deletion written with one colon,
/// which Anki shows as written. The byte ranges of those `{{c1:`.
pub fn single_colon_openers(text: &str) -> Vec<std::ops::Range<usize>> {
    if !text.contains("{{c") {
        return Vec::new();
    }
    SINGLE_COLON
        .find_iter(text)
        .filter(|m| !text[m.end()..].starts_with(':'))
        .map(|m| m.range())
        .collect()
}

/// Openers written the way a hurried author types them, which Anki does not read as
/// deletions and shows as written: `{{C1::`, `{{ c1::`, `{{c1：：` (full-width colons),
/// `{c1::`. Each as its byte range and the opener Anki reads (`{{c1::`). `{{c1:` alone
/// is [`single_colon_openers`]'s; `{c1:` (one brace, one colon) and an opener right after
/// a letter or digit (`v{c1::x}`) are more likely code than a deletion.
pub fn miswritten_openers(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    // Quick passes: every one has a brace and a colon.
    if !text.contains('{') || !(text.contains(':') || text.contains('：')) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for whole in OPENER_LIKE.find_iter(text) {
        // Most are deletions written right: passed over without reading their parts.
        let numbers = (whole.as_str().strip_prefix("{{c")).and_then(|r| r.strip_suffix("::"));
        if numbers.is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit() || b == b',')) {
            continue;
        }
        let m = OPENER_LIKE
            .captures_at(text, whole.start())
            .expect("the match found");
        let numbers: String = m[1].chars().filter(|c| *c != ' ').collect();
        if opener_numbers(&numbers).is_empty() {
            continue;
        }
        let corrected = format!("{{{{c{numbers}::");
        let one_brace = !whole.as_str().starts_with("{{");
        let one_colon = m[3].is_empty();
        let before = text[..whole.start()].chars().next_back();
        let after_word = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '{');
        let single_colon = whole.as_str() == &corrected[..corrected.len() - 1];
        let skip =
            whole.as_str() == corrected || single_colon || (one_brace && (one_colon || after_word));
        if !skip {
            found.push((whole.range(), corrected));
        }
    }
    found
}

/// Whether the card-file reader questions the deletions of `text` in a note of a cloze
/// type (`in_cloze`) or of another: one never closed, one with a single colon or
/// otherwise miswritten, or, outside a cloze type, any. It takes them as written in a `~~~ verbatim` block, the
/// field exactly as Anki stores it, which is how `ankideck unpack` writes such a field.
pub fn questioned(text: &str, in_cloze: bool) -> bool {
    if !miswritten_openers(text).is_empty() {
        return true;
    }
    if !text.contains("{{c") {
        return false;
    }
    let deletions = deletions(text);
    deletions.iter().any(|d| !in_cloze || d.close.is_none())
        || !single_colon_openers(text).is_empty()
}

/// Whether `text` contains the start of a cloze deletion.
pub fn has_cloze(text: &str) -> bool {
    if !text.contains("{{c") {
        return false;
    }
    CLOZE_TOKEN.captures_iter(text).any(|c| {
        c.get(1)
            .is_some_and(|n| !opener_numbers(n.as_str()).is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloze_numbers_are_collected() {
        assert_eq!(
            cloze_numbers("{{c2::a}} {{c1::b::h}} {{c2::c}} {{c0::z}}"),
            BTreeSet::from([1, 2])
        );
        assert_eq!(
            cloze_numbers("{{c1::a {{c3::nested}} }} {{c4,5::both}}"),
            BTreeSet::from([1, 3, 4, 5])
        );
        assert_eq!(cloze_numbers("{{c1::never closed"), BTreeSet::new());
        assert_eq!(
            cloze_texts("{{c1::a {{c2::b}}}} {{c1::c::hint}}"),
            vec![
                (2, "b".to_string()),
                (1, "a {{c2::b}}".to_string()),
                (1, "c::hint".to_string())
            ]
        );
        assert!(has_cloze("x {{c10::y}}"));
        assert!(!has_cloze("{{c::y}} {c1::y}"));
    }

    #[test]
    fn deletions_know_whether_they_close() {
        let text = "{{c1::Paris}} is the capital of {{c2::France";
        let found = deletions(text);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].start, found[0].close), (0, Some(11)));
        assert_eq!((found[1].start, found[1].numbers.clone()), (32, vec![2]));
        assert_eq!(found[1].close, None);
        // The inner one closes; the outer one is left open.
        let nested = deletions("{{c1::a {{c2::b}} c");
        assert_eq!(nested[0].close, None);
        assert_eq!(nested[1].close, Some(15));
        assert!(deletions("{{c::x {{c0::y}}")
            .iter()
            .all(|d| d.numbers == [0]));
        assert!(deletions("no braces }}").is_empty());
    }

    #[test]
    fn trees_follow_ankis_renderer() {
        let text = "a {{c2,1::b {{c3::c::hint}}::outer}} }} {{c::x}} {{c4::lost";
        let pieces = tree(text);
        let Piece::Deletion(outer) = &pieces[1] else {
            panic!("{pieces:?}")
        };
        assert_eq!(outer.numbers, [1, 2]);
        assert_eq!(outer.hint, Some("outer"));
        let Piece::Deletion(inner) = &outer.children[1] else {
            panic!("{outer:?}")
        };
        assert_eq!((inner.numbers.clone(), inner.hint), (vec![3], Some("hint")));
        assert_eq!(pieces[0], Piece::Text("a "));
        // A stray `}}` and a numberless opener are text; an unclosed deletion is gone.
        let rest: Vec<&Piece> = pieces[2..].iter().collect();
        assert_eq!(
            rest,
            [
                &Piece::Text(" "),
                &Piece::Text("}}"),
                &Piece::Text(" {{c::x"),
                &Piece::Text("}}"),
                &Piece::Text(" ")
            ]
        );
    }

    #[test]
    fn single_colons_are_found() {
        assert_eq!(single_colon_openers("x {{c1:Germany}}"), vec![2..7]);
        assert_eq!(single_colon_openers("{{c1,2:a}} {{c3:"), vec![0..7, 11..16]);
        for fine in ["{{c1::x}}", "{{c1:::x}}", "{{c:x}}", "{{cx:y}}", "{c1:x}"] {
            assert!(single_colon_openers(fine).is_empty(), "{fine}");
        }
    }

    #[test]
    fn miswritten_openers_are_found_with_their_correction() {
        let found = |text: &str| miswritten_openers(text);
        let c1 = || "{{c1::".to_string();
        assert_eq!(found("a {{C1::x}}"), vec![(2..8, c1())]);
        assert_eq!(found("{{ c1::x }}"), vec![(0..7, c1())]);
        assert_eq!(found("{{c1：：x}}"), vec![(0..10, c1())]);
        assert_eq!(found("{{c1:：x}}"), vec![(0..8, c1())]);
        assert_eq!(found("{c1::x}}"), vec![(0..5, c1())]);
        assert_eq!(found("x {c2,3::y}"), vec![(2..9, "{{c2,3::".to_string())]);
        assert_eq!(found("{{C1:x}}"), vec![(0..5, c1())]);
        assert_eq!(found("{{c 1 ::x}}"), vec![(0..8, c1())]);
        for fine in [
            "{{c1::x}}",
            "{{c1:x}}",
            "{{c1,2::x}}",
            "{{{c1::x}}}",
            "{c1: 1}",
            "v{c1::x}",
            "{{c::x}}",
            "{{C::x}}",
            "{{c1:::x}}",
            "plain",
        ] {
            assert_eq!(found(fine), vec![], "{fine}");
        }
        assert!(questioned("{{C1::x}}", true));
    }

    #[test]
    fn openers_are_the_markers_that_open_a_deletion() {
        assert_eq!(opener_len("{{c1::x}}"), Some(6));
        assert_eq!(opener_len("{{c1,12::x}}"), Some(9));
        for not_one in ["{{c::x}}", "{{c,::x}}", "x{{c1::", "{{c1:x", "{{C1::x"] {
            assert_eq!(opener_len(not_one), None, "{not_one}");
        }
    }
}
