//! Notes as Anki stores them, and the rules for their tags and deck names.

/// One note: field values (HTML), tags, deck, identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Matches the note across imports; see [`crate::ids`].
    pub guid: String,
    /// Id of the note's [`crate::NoteType`].
    pub notetype_id: i64,
    /// Field values in the note type's field order, as HTML.
    pub fields: Vec<String>,
    pub tags: Vec<String>,
    /// Full deck name, levels separated by `::`.
    pub deck: String,
    /// Last modification, in seconds. Anki updates a note on import only when this is newer.
    pub modified: i64,
}

/// Why a tag or deck name is not acceptable to Anki.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("tag `{0}` is not allowed: tags are single words without control characters or empty `::` levels")]
    BadTag(String),
    #[error("deck name `{0}` has an empty level (check for a leading, trailing or doubled `::`)")]
    EmptyDeckLevel(String),
    #[error("deck name `{0}` contains a control character")]
    BadDeckName(String),
}

/// Checks a tag as Anki would accept it; returns it unchanged.
pub fn check_tag(tag: &str) -> Result<&str, NameError> {
    if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NameError::BadTag(tag.to_string()));
    }
    if tag.split("::").any(str::is_empty) {
        return Err(NameError::BadTag(tag.to_string()));
    }
    Ok(tag)
}

/// Trims each level of a deck name, as Anki does, and rejects empty levels.
pub fn normalize_deck_name(name: &str) -> Result<String, NameError> {
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
pub fn deck_and_parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices("::")
        .map(|(i, _)| &name[..i])
        .chain(std::iter::once(name))
}

/// Adds a tag after [`check_tag`], unless it is already present (Anki compares tags
/// case-insensitively).
pub fn add_tag(tags: &mut Vec<String>, tag: &str) -> Result<(), NameError> {
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
    }

    #[test]
    fn deck_names() {
        assert_eq!(normalize_deck_name(" a :: b ").unwrap(), "a::b");
        assert!(normalize_deck_name("a::::b").is_err());
        assert_eq!(
            deck_and_parents("a::b::c").collect::<Vec<_>>(),
            ["a", "a::b", "a::b::c"]
        );
    }
}
