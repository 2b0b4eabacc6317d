//! The cloze-deletion grammar (`{{c1::text::hint}}`), read as Anki reads it.

use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// A deletion's opening marker (`{{c1::`, `{{c1,2::`) or a closing `}}`.
static CLOZE_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{c([0-9,]*)::|\}\}").unwrap());
static OPENER_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\{\{c([0-9,]*)::").unwrap());

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
    let mut open: Vec<(Vec<u16>, usize)> = Vec::new();
    let mut found = Vec::new();
    for token in CLOZE_TOKEN.captures_iter(text) {
        let whole = token.get(0).expect("group 0");
        match token.get(1) {
            Some(numbers) => {
                let numbers = opener_numbers(numbers.as_str());
                if !numbers.is_empty() && open.len() < 10 {
                    open.push((numbers, whole.end()));
                }
            }
            None => {
                if let Some((numbers, start)) = open.pop() {
                    for n in numbers.into_iter().filter(|&n| n > 0) {
                        found.push((n, text[start..whole.start()].to_string()));
                    }
                }
            }
        }
    }
    found
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
    fn openers_are_the_markers_that_open_a_deletion() {
        assert_eq!(opener_len("{{c1::x}}"), Some(6));
        assert_eq!(opener_len("{{c1,12::x}}"), Some(9));
        for not_one in ["{{c::x}}", "{{c,::x}}", "x{{c1::", "{{c1:x", "{{C1::x"] {
            assert_eq!(opener_len(not_one), None, "{not_one}");
        }
    }
}
