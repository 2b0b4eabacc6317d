//! The cloze-deletion grammar (`{{c1::text::hint}}`), read as Anki reads it.

use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static CLOZE_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{c([0-9,]*)::|\}\}").unwrap());

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
                let numbers: Vec<u16> = numbers
                    .as_str()
                    .split(',')
                    .filter_map(|n| n.parse().ok())
                    .collect();
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
            .is_some_and(|n| n.as_str().split(',').any(|n| n.parse::<u16>().is_ok()))
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
}
