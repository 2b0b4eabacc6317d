//! "Did you mean …?": the name a typo most likely stood for. Every suggestion the tool
//! makes (settings, note types, fields, keys of front matter, `notetype.toml` and
//! `_deck.toml`) comes from [`nearest`].

/// The candidate closest to `word`, when it is close enough to be what was meant: at
/// most one edit (a letter added, dropped, changed, or two swapped) per three letters of
/// the candidate, and at least one, ignoring case. Ties go to the candidate whose case
/// is closer, then to the first. `None` when `word` is itself a candidate.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .filter_map(|c| {
            let folded = strsim::osa_distance(&lower, &c.to_lowercase());
            let allowed = (c.chars().count() / 3).max(1);
            (folded <= allowed).then(|| ((folded, strsim::osa_distance(word, c)), c))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `; did you mean `NAME`?` for the end of a message, or nothing.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// serde's message for a key a struct does not take (``unknown field `colour`, expected
/// one of `a`, `b` ``): the key, and the one it most likely stands for.
pub fn unknown_field(message: &str) -> Option<(&str, Option<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let known = expected.split('`').skip(1).step_by(2);
    Some((key, nearest(key, known)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_name_it_stood_for() {
        let settings = ["id", "type", "tags", "deck", "format"];
        let cases = [
            ("tpye", Some("type")),
            ("Tags", Some("tags")),
            ("tag", Some("tags")),
            ("idd", Some("id")),
            ("TYPE", Some("type")),
            ("fromat", Some("format")),
            ("dekc", Some("deck")),
            ("type", None),
            ("note", None),
            ("answer", None),
            ("http", None),
            ("date", None),
            ("x", None),
        ];
        for (word, meant) in cases {
            assert_eq!(nearest(word, settings), meant, "{word}");
        }
        let types = ["basic", "reversed", "optional-reversed", "Basic", "Cloze"];
        assert_eq!(nearest("reversd", types), Some("reversed"));
        assert_eq!(
            nearest("optional-reverse", types),
            Some("optional-reversed")
        );
        assert_eq!(nearest("BASIC", types), Some("Basic"), "the closer case");
        assert_eq!(nearest("bASIC", types), Some("basic"), "the closer case");
        assert_eq!(nearest("cloze", types), Some("Cloze"));
        assert_eq!(nearest("flashcard", types), None);
        assert_eq!(nearest("Bakc", ["Front", "Back"]), Some("Back"));
        assert_eq!(nearest("back", ["Front", "Back"]), Some("Back"));
        assert_eq!(nearest("Extra", ["Front", "Back"]), None);
    }

    #[test]
    fn serdes_unknown_field_message_gives_key_and_suggestion() {
        let message = "unknown field `dek`, expected one of `deck`, `tags`, `type`, `format`";
        assert_eq!(unknown_field(message), Some(("dek", Some("deck"))));
        let message = "unknown field `colour`, expected `name`";
        assert_eq!(unknown_field(message), Some(("colour", None)));
        assert_eq!(unknown_field("missing field `name`"), None);
        assert_eq!(did_you_mean(Some("deck")), "; did you mean `deck`?");
        assert_eq!(did_you_mean(None), "");
    }
}
