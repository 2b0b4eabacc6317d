//! Notes as Anki stores them (and as read from the sources, with their place), and the
//! rules for their tags.

use crate::deck::NameError;
use crate::notetype::NoteType;
use std::path::Path;
use std::sync::Arc;

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

/// A note read from the sources, with where it was written.
#[derive(Debug, Clone)]
pub struct SourceNote {
    pub note: Note,
    pub notetype: Arc<NoteType>,
    /// The ordinals of the cards the note makes, checked when it was read.
    pub ords: Vec<u16>,
    /// Shared by the notes of a file.
    pub file: Arc<Path>,
    pub line: usize,
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
}
