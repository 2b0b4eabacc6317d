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

/// Deck names, each once, in the order first met: what holds many notes names its
/// deck by index into it.
#[derive(Debug, Default)]
pub(crate) struct DeckNames {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl DeckNames {
    /// The index of `name`, added if it is new (then `true`).
    pub fn index(&mut self, name: &str) -> (u32, bool) {
        if let Some(&i) = self.index.get(name) {
            return (i, false);
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        (i, true)
    }

    /// The name with index `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    /// Every name, in the order first met.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// What a deck carries besides its cards.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DeckSettings {
    /// HTML shown on the deck's overview screen.
    pub description: String,
    /// Anki's "markdown" switch of the description: Anki renders `description` as
    /// Markdown when it shows it (its `md` key).
    pub anki_markdown: bool,
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
    /// The group's id in Anki, when not the one its name gives (an unpacked preset's).
    pub id: Option<i64>,
    /// Anki's own keys of the group, as it stores them (its schema 11 JSON, `new`,
    /// `rev` and `lapse` as objects), set over Anki's defaults: everything an unpacked
    /// preset has besides the values above, so that none is lost.
    pub anki_keys: serde_json::Map<String, serde_json::Value>,
}

/// What a value of one of Anki's deck options keys is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Bool,
    Integer,
    Number,
    Integers,
    Numbers,
    Text,
}

/// Anki's keys of an options group that a [`DeckOptions`] may set (`new.bury` is `bury`
/// in `new`): those of the JSON Anki writes (its schema 11), but [`OWN_KEYS`].
pub(crate) const ANKI_KEYS: &[(&str, KeyKind)] = {
    use KeyKind::*;
    &[
        ("autoplay", Bool),
        ("maxTaken", Integer),
        ("replayq", Bool),
        ("timer", Integer),
        ("newMix", Integer),
        ("newPerDayMinimum", Integer),
        ("interdayLearningMix", Integer),
        ("reviewOrder", Integer),
        ("newSortOrder", Integer),
        ("newGatherPriority", Integer),
        ("buryInterdayLearning", Bool),
        ("fsrsWeights", Numbers),
        ("fsrsParams5", Numbers),
        ("fsrsParams6", Numbers),
        ("desiredRetention", Number),
        ("ignoreRevlogsBeforeDate", Text),
        ("easyDaysPercentages", Numbers),
        ("stopTimerOnAnswer", Bool),
        ("secondsToShowQuestion", Number),
        ("secondsToShowAnswer", Number),
        ("questionAction", Integer),
        ("answerAction", Integer),
        ("waitForAudio", Bool),
        ("sm2Retention", Number),
        ("weightSearch", Text),
        ("new.bury", Bool),
        ("new.initialFactor", Integer),
        ("new.ints", Integers),
        ("new.order", Integer),
        ("rev.bury", Bool),
        ("rev.ease4", Number),
        ("rev.hardFactor", Number),
        ("rev.ivlFct", Number),
        ("lapse.delays", Numbers),
        ("lapse.leechAction", Integer),
        ("lapse.leechFails", Integer),
        ("lapse.minInt", Integer),
        ("lapse.mult", Number),
    ]
};

/// The keys of an options group that are not Anki keys of a [`DeckOptions`]: its
/// identity and times, and the options it names (`new_per_day`, `learning_steps`,
/// `reviews_per_day`, `maximum_interval`, in this order).
pub(crate) const OWN_KEYS: &[&str] = &[
    "id",
    "mod",
    "usn",
    "name",
    "dyn",
    "new.perDay",
    "new.delays",
    "rev.perDay",
    "rev.maxIvl",
];

/// The parts of an options group that are objects of their own.
pub(crate) const PARTS: [&str; 3] = ["new", "rev", "lapse"];

/// Whether `value` is what Anki's key `path` (one of [`ANKI_KEYS`]) takes.
pub(crate) fn anki_value_fits(kind: KeyKind, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    let integer = |v: &Value| v.is_i64() || v.is_u64();
    let all = |v: &Value, each: &dyn Fn(&Value) -> bool| {
        v.as_array().is_some_and(|items| items.iter().all(each))
    };
    match kind {
        KeyKind::Bool => value.is_boolean(),
        KeyKind::Integer => integer(value),
        KeyKind::Number => value.is_number(),
        KeyKind::Integers => all(value, &integer),
        KeyKind::Numbers => all(value, &Value::is_number),
        KeyKind::Text => value.is_string(),
    }
}

/// Why an options group's Anki keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeysError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deck_names_are_indexed_in_the_order_first_met() {
        let mut names = DeckNames::default();
        assert_eq!(names.index("B"), (0, true));
        assert_eq!(names.index("A::B"), (1, true));
        assert_eq!(names.index("B"), (0, false));
        assert_eq!(names.name(1), "A::B");
        assert_eq!(names.iter().collect::<Vec<_>>(), ["B", "A::B"]);
    }

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
