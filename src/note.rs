//! Notes as Anki stores them (and as read from the sources, with their place), and the
//! rules for their tags.

use crate::deck::NameError;
use crate::notetype::NoteType;
use std::path::Path;
use std::sync::Arc;

/// One note: field values (HTML), tags, deck, identity. Made with [`Note::new`].
///
/// ```
/// use ankideck::{ids, Note, Stock};
/// let basic = Stock::Basic.notetype();
/// let note = Note::new(&basic, ["Capital of France?", "Paris"])
///     .deck("Geography::Europe")
///     .tags(["geography"])
///     .guid(ids::guid_for(&["capital-of-france"]));
/// assert_eq!(note.fields[1], "Paris");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// Matches the note across imports; see [`crate::ids`].
    pub guid: String,
    /// Id of the note's [`crate::NoteType`].
    pub notetype_id: i64,
    /// Field values in the note type's field order, as HTML.
    pub fields: Vec<String>,
    /// Tags, without spaces; `::` separates levels.
    pub tags: Vec<String>,
    /// Full deck name, levels separated by `::`.
    pub deck: String,
    /// Cards that go to another deck than [`Note::deck`]: (ordinal, deck name), in
    /// ordinal order. Usually empty.
    pub card_decks: Vec<(u16, String)>,
    /// Cards the note keeps although their fronts are empty (ordinals, in order): Anki
    /// keeps such cards until Tools › Empty Cards deletes them. Usually empty.
    pub empty_cards: Vec<u16>,
    /// Cards the note lacks although its fields make them (ordinals, in order): a
    /// package made by Anki 2.0's rules or by another tool, or a note one of whose
    /// cards was deleted, lacks them until Anki makes them (Check Database, an edit).
    /// Usually empty.
    pub skipped_cards: Vec<u16>,
    /// Last modification, in seconds. Anki updates a note on import only when this is
    /// newer than its copy. 0 (as [`Note::new`] makes it) stands for the package's
    /// timestamp; `build::write_locked` sets it from a lock.
    pub modified: i64,
}

impl Note {
    /// A note of `notetype` with these field values (HTML, in the note type's field
    /// order), in deck `Default`, without tags.
    ///
    /// Its guid follows the first field, by the 40-bit rule card files used before
    /// ([`crate::ids::guid_for_first_field`], kept so that notes made in code keep
    /// their identity): editing the other fields updates the note in Anki, editing the
    /// first one makes a new note. Give it a [`Note::guid`] of its own (see
    /// [`crate::ids::guid_for`]) to keep the note through such edits, or for decks of
    /// hundreds of thousands of notes, where two first fields may share a 40-bit guid.
    pub fn new<S: Into<String>>(
        notetype: &crate::NoteType,
        fields: impl IntoIterator<Item = S>,
    ) -> Note {
        let fields: Vec<String> = fields.into_iter().map(Into::into).collect();
        let guid = crate::ids::guid_for_first_field(fields.first().map_or("", String::as_str));
        Note {
            guid,
            notetype_id: notetype.id,
            fields,
            tags: Vec::new(),
            deck: "Default".to_string(),
            card_decks: Vec::new(),
            empty_cards: Vec::new(),
            skipped_cards: Vec::new(),
            modified: 0,
        }
    }

    /// The deck of the card with ordinal `ord` (a template's index, or a cloze number
    /// minus one): its own, else the note's.
    pub fn card_deck(&self, ord: u16) -> &str {
        self.card_decks
            .iter()
            .find(|(o, _)| *o == ord)
            .map_or(&self.deck, |(_, deck)| deck)
    }

    /// Puts the note into deck `name` (levels separated by `::`).
    #[must_use]
    pub fn deck(mut self, name: impl Into<String>) -> Note {
        self.deck = name.into();
        self
    }

    /// Puts the card with ordinal `ord` (a template's index, or a cloze number minus
    /// one) into deck `name` instead of the note's deck.
    #[must_use]
    pub fn card_in_deck(mut self, ord: u16, name: impl Into<String>) -> Note {
        let name = name.into();
        match self.card_decks.iter_mut().find(|(o, _)| *o == ord) {
            Some((_, deck)) => *deck = name,
            None => {
                self.card_decks.push((ord, name));
                self.card_decks.sort_by_key(|(o, _)| *o);
            }
        }
        self
    }

    /// Keeps the card with ordinal `ord` even when its front is empty, as Anki keeps
    /// a card until Tools › Empty Cards deletes it.
    #[must_use]
    pub fn empty_card(mut self, ord: u16) -> Note {
        if let Err(at) = self.empty_cards.binary_search(&ord) {
            self.empty_cards.insert(at, ord);
        }
        self
    }

    /// Leaves out the card with ordinal `ord` even when the note's fields make it, as
    /// a package may lack such a card (see [`Note::skipped_cards`]).
    #[must_use]
    pub fn skip_card(mut self, ord: u16) -> Note {
        if let Err(at) = self.skipped_cards.binary_search(&ord) {
            self.skipped_cards.insert(at, ord);
        }
        self
    }

    /// Sets the note's tags.
    #[must_use]
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Note {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// The tags in the order Anki keeps them once the note is imported: its importer
    /// sorts every note's tags without regard to case (with `unicase`, as Anki does).
    pub fn tags_as_imported(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        tags.sort_by(|a, b| unicase::UniCase::new(a).cmp(&unicase::UniCase::new(b)));
        tags
    }

    /// Sets the note's guid, its identity across imports.
    #[must_use]
    pub fn guid(mut self, guid: impl Into<String>) -> Note {
        self.guid = guid.into();
        self
    }

    /// Sets the note's modification time in seconds (see [`Note::modified`]).
    #[must_use]
    pub fn modified(mut self, seconds: i64) -> Note {
        self.modified = seconds;
        self
    }
}

/// A note read from the sources, with where it was written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SourceNote {
    /// The note as it goes into the package.
    pub note: Note,
    /// Its note type.
    pub notetype: Arc<NoteType>,
    /// The ordinals of the cards the note makes, checked when it was read.
    pub ords: Vec<u16>,
    /// Shared by the notes of a file.
    pub file: Arc<Path>,
    /// 1-based line of the note's heading or row.
    pub line: usize,
    /// For a note without `id:` that keeps the legacy guid the lock knows it by: the check
    /// of its heading, which the lock records ([`crate::ids::HeadingId`]).
    pub(crate) legacy: Option<u16>,
}

/// The problem of a card in a deck of its own (`card-deck:`) that the note does not
/// have: `ord` is not among its cards' `ords`. Cards are numbered from 1 for people.
pub(crate) fn no_such_card(ord: u16, ords: &[u16]) -> crate::Problem {
    let cards: Vec<String> = ords.iter().map(|o| (o + 1).to_string()).collect();
    crate::Problem::NoSuchCard {
        number: ord + 1,
        cards: cards.join(", "),
    }
}

/// Checks a tag as Anki would accept it; returns it unchanged.
pub(crate) fn check_tag(tag: &str) -> Result<&str, NameError> {
    if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NameError::BadTag(tag.to_string()));
    }
    if tag.split("::").any(str::is_empty) {
        return Err(NameError::BadTag(tag.to_string()));
    }
    Ok(tag)
}

/// Splits a tag list written as text, the one grammar of a note's `tags:` setting and of
/// the front matter's `tags:` when it is not a YAML list. `[a, b]` is a list as in YAML:
/// one tag per comma-separated item, quotes around an item dropped (so `[a b]` is the one
/// tag `a b`, which [`check_tag`] refuses, as in front matter). Without brackets, white
/// space and commas both separate tags: `a b`, `a, b` and `a,b` are the tags `a` and `b`.
pub fn split_tag_list(text: &str) -> Vec<String> {
    let text = text.trim();
    let Some(list) = text.strip_prefix('[') else {
        return text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
    };
    let list = list.strip_suffix(']').unwrap_or(list);
    // Items end at commas outside quotes.
    let mut items = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in list.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, ',') => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items
        .into_iter()
        .map(|item| {
            let item = item.trim();
            ['"', '\'']
                .iter()
                .find_map(|&q| item.strip_prefix(q)?.strip_suffix(q))
                .unwrap_or(item)
        })
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Adds a tag after [`check_tag`], unless it is already present (Anki compares tags
/// case-insensitively).
pub(crate) fn add_tag(tags: &mut Vec<String>, tag: &str) -> Result<(), NameError> {
    let tag = check_tag(tag)?;
    if !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
        tags.push(tag.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert!(check_tag("面试题").is_ok());
        assert!(check_tag("a::b").is_ok());
        assert!(check_tag("a b").is_err());
        assert!(check_tag("a::").is_err());
        let mut tags = vec!["Nlp".to_string()];
        for tag in ["nlp", "公式", "公式", "Émile", "émile"] {
            add_tag(&mut tags, tag).unwrap();
        }
        assert_eq!(tags, ["Nlp", "公式", "Émile"]);
        assert!(add_tag(&mut tags, "a b").is_err());
        assert_eq!(tags, ["Nlp", "公式", "Émile"], "a bad tag is not added");
        let note = Note::new(&crate::Stock::Basic.notetype(), ["q", "a"]).tags([
            "zeta", "中文", "Beta", "alpha", "a::b", "x_y", "Émile", "eve",
        ]);
        assert_eq!(
            note.tags_as_imported(),
            ["a::b", "alpha", "Beta", "eve", "x_y", "zeta", "Émile", "中文"]
        );
    }

    #[test]
    fn tag_lists_split_as_written_in_either_place() {
        for (text, tags) in [
            ("verb irregular", &["verb", "irregular"][..]),
            ("verb, irregular", &["verb", "irregular"]),
            ("verb,irregular ,x", &["verb", "irregular", "x"]),
            ("[verb, irregular]", &["verb", "irregular"]),
            ("[verb,irregular,]", &["verb", "irregular"]),
            (
                "[ml, \"machine learning\", 'x']",
                &["ml", "machine learning", "x"],
            ),
            ("[a b]", &["a b"]),
            ("[\"a,b\", c]", &["a,b", "c"]),
            ("[]", &[]),
            ("  ", &[]),
            ("c++ c# a::b", &["c++", "c#", "a::b"]),
        ] {
            assert_eq!(split_tag_list(text), tags, "{text:?}");
        }
    }
}
