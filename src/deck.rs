//! Decks: the rules for their names, and what a deck carries besides its cards.

/// Why a tag or deck name is not acceptable to Anki.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// A tag with whitespace, a control character or an empty `::` level.
    #[error("tag `{0}` is not allowed: tags are single words without control characters or empty `::` levels")]
    BadTag(String),
    /// A deck name with an empty level.
    #[error("deck name `{0}` has an empty level (check for a leading, trailing or doubled `::`)")]
    EmptyDeckLevel(String),
    /// A deck name with a control character.
    #[error("deck name `{0}` contains a control character")]
    BadDeckName(String),
}

/// Trims each level of a deck name, as Anki does, and rejects empty levels.
pub(crate) fn normalize_name(name: &str) -> Result<String, NameError> {
    if name.chars().any(char::is_control) {
        return Err(NameError::BadDeckName(name.to_string()));
    }
    let levels: Vec<&str> = name.split("::").map(str::trim).collect();
    if levels.iter().any(|l| l.is_empty()) {
        return Err(NameError::EmptyDeckLevel(name.to_string()));
    }
    Ok(levels.join("::"))
}

/// A deck and all its parents, outermost first: `a::b::c` → `a`, `a::b`, `a::b::c`.
pub(crate) fn with_parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices("::")
        .map(|(i, _)| &name[..i])
        .chain(std::iter::once(name))
}

/// The key under which Anki considers two deck names the same deck. Anki compares deck
/// names with full Unicode case folding (its `unicase` collation), so `Straße`,
/// `STRASSE` and `strasse` are one deck, as are `ΟΔΟΣ` and `οδοσ`; and it stores them
/// in NFC, so `café` typed either way is one deck too. Every comparison of deck names
/// goes through this.
pub(crate) fn key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = name.nfc().collect();
    unicase::UniCase::new(nfc).to_folded_case()
}

/// What a deck carries besides its cards.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DeckSettings {
    /// HTML shown on the deck's overview screen.
    pub description: String,
    /// Its options group, if not Anki's default one.
    pub options: Option<DeckOptions>,
}

/// A deck options group; unset values keep Anki's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DeckOptions {
    /// The group's name in Anki; decks naming the same group share it.
    pub name: String,
    /// New cards shown a day at most.
    pub new_per_day: Option<u32>,
    /// Reviews shown a day at most.
    pub reviews_per_day: Option<u32>,
    /// Learning steps in minutes.
    pub learning_steps: Option<Vec<f64>>,
    /// Maximum interval in days.
    pub maximum_interval: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deck_names() {
        assert_eq!(normalize_name(" a :: b ").unwrap(), "a::b");
        assert!(normalize_name("a::::b").is_err());
        assert_eq!(
            with_parents("a::b::c").collect::<Vec<_>>(),
            ["a", "a::b", "a::b::c"]
        );
    }

    /// What the real Anki treats as one deck (checked with its `col.decks.id_for_name`).
    #[test]
    fn keys_fold_as_anki_does() {
        let same = [
            ("Straße::K1", "STRASSE::K1"),
            ("ΟΔΟΣ", "οδοσ"),
            ("ΟΔΟΣ", "οδος"),
            ("Physics", "physics"),
            ("ﬁ", "FI"),
            ("K", "\u{212a}"),
            ("café", "cafe\u{301}"),
        ];
        for (a, b) in same {
            assert_eq!(key(a), key(b), "{a} {b}");
        }
        assert_ne!(key("Straße"), key("Strase"));
        assert_eq!(key("ASCII::Only"), "ascii::only");
    }
}
