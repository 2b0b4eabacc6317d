//! Card templates: just enough of Anki's template language to decide, as Anki does,
//! which cards a note has.

use std::collections::{BTreeSet, HashSet};

/// A parsed card template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Text(String),
    /// `<!--...-->`: Anki reads no tags inside, and shows the comment as written.
    Comment(String),
    /// `{{filter:...:Field}}`
    Replacement {
        field: String,
        filters: Vec<String>,
    },
    /// `{{#Field}}...{{/Field}}` (or `{{^Field}}` when `negated`)
    Section {
        field: String,
        negated: bool,
        children: Vec<Node>,
    },
}

/// What went wrong parsing a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A section `{{#Field}}` (or `{{^Field}}`) without its `{{/Field}}`.
    #[error("`{{{{{0}}}}}` is never closed")]
    Unclosed(String),
    /// `{{/Field}}` closing another section than the innermost open one.
    #[error(
        "`{{{{/{found}}}}}` closes a section that is not open (expected `{{{{/{expected}}}}}`)"
    )]
    Mismatched {
        /// The field the tag closes.
        found: String,
        /// The field of the innermost open section.
        expected: String,
    },
    /// `{{` with no `}}` after it.
    #[error("`{{{{` without a matching `}}}}`")]
    UnterminatedTag,
    /// `{{/Field}}` with no section open.
    #[error("`{{{{/{0}}}}}` closes a section that was never opened")]
    Unopened(String),
}

/// Fields Anki fills in itself that always have a value, so a template showing one is
/// never empty. (`FrontSide` never counts, `Tags` counts when the note has tags.)
const ALWAYS_FILLED: &[&str] = &["Card", "CardFlag", "Deck", "Subdeck", "Type", "CardID"];
const SPECIAL_FIELDS: &[&str] = &[
    "FrontSide",
    "Card",
    "CardFlag",
    "Deck",
    "Subdeck",
    "Tags",
    "Type",
    "CardID",
];

pub fn parse(template: &str) -> Result<Vec<Node>, TemplateError> {
    let mut stack: Vec<(String, bool, Vec<Node>)> = Vec::new();
    let mut current: Vec<Node> = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if let Some((before, comment, after)) = comment_before(rest, start) {
            if !before.is_empty() {
                current.push(Node::Text(before.to_string()));
            }
            current.push(Node::Comment(comment.to_string()));
            rest = after;
            continue;
        }
        if start > 0 {
            current.push(Node::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::UnterminatedTag)?;
        let tag = after[..end].trim();
        rest = &after[end + 2..];
        if let Some(name) = tag.strip_prefix('#').or(tag.strip_prefix('^')) {
            let negated = tag.starts_with('^');
            stack.push((
                name.trim().to_string(),
                negated,
                std::mem::take(&mut current),
            ));
        } else if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            let (open, negated, parent) = stack
                .pop()
                .ok_or_else(|| TemplateError::Unopened(name.to_string()))?;
            if open != name {
                return Err(TemplateError::Mismatched {
                    found: name.to_string(),
                    expected: open,
                });
            }
            let children = std::mem::replace(&mut current, parent);
            current.push(Node::Section {
                field: open,
                negated,
                children,
            });
        } else if !tag.starts_with('!') {
            let mut parts: Vec<&str> = tag.split(':').collect();
            let field = parts.pop().unwrap_or_default().trim().to_string();
            let filters = parts.into_iter().map(|f| f.trim().to_string()).collect();
            current.push(Node::Replacement { field, filters });
        }
    }
    while let Some((before, comment, after)) = comment_before(rest, rest.len()) {
        if !before.is_empty() {
            current.push(Node::Text(before.to_string()));
        }
        current.push(Node::Comment(comment.to_string()));
        rest = after;
    }
    if !rest.is_empty() {
        current.push(Node::Text(rest.to_string()));
    }
    if let Some((open, _, _)) = stack.pop() {
        return Err(TemplateError::Unclosed(format!("#{open}")));
    }
    Ok(current)
}

/// A whole `<!--...-->` starting before byte `limit` of `text`: (the text before it, its
/// inside, the text after it). Anki takes a comment as one piece, tags and all.
fn comment_before(text: &str, limit: usize) -> Option<(&str, &str, &str)> {
    let start = text[..limit].find("<!--")?;
    let inside = &text[start + 4..];
    let end = inside.find("-->")?;
    Some((&text[..start], &inside[..end], &inside[end + 3..]))
}

type Parsed = Result<std::rc::Rc<Vec<Node>>, TemplateError>;

thread_local! {
    static PARSED: std::cell::RefCell<std::collections::HashMap<String, Parsed>> = Default::default();
}

/// [`parse`], remembered: every note of a type asks for the same few templates.
pub fn parse_cached(template: &str) -> Parsed {
    PARSED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(parsed) = cache.get(template) {
            return parsed.clone();
        }
        let parsed = parse(template).map(std::rc::Rc::new);
        cache.insert(template.to_string(), parsed.clone());
        parsed
    })
}

/// Anki's card-generation rule for standard note types: a card exists when its front
/// template would show at least one non-empty field. Put `Tags` in `nonempty` when the
/// note has tags.
pub fn renders_with_fields(nodes: &[Node], nonempty: &HashSet<&str>) -> bool {
    nodes.iter().any(|node| match node {
        Node::Text(_) | Node::Comment(_) => false,
        Node::Replacement { field, .. } => {
            nonempty.contains(field.as_str()) && field != "FrontSide"
                || ALWAYS_FILLED.contains(&field.as_str())
        }
        Node::Section {
            field,
            negated,
            children,
        } => {
            nonempty.contains(field.as_str()) != *negated && renders_with_fields(children, nonempty)
        }
    })
}

/// Every field name a template refers to (special fields excluded).
pub fn referenced_fields(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            Node::Text(_) | Node::Comment(_) => {}
            Node::Replacement { field, .. } => {
                if !SPECIAL_FIELDS.contains(&field.as_str()) {
                    out.insert(field.clone());
                }
            }
            Node::Section {
                field, children, ..
            } => {
                out.insert(field.clone());
                referenced_fields(children, out);
            }
        }
    }
}

/// The fields `nodes` name that are not among `fields` (nor `Tags`, which every note has,
/// nor a section on the card's cloze number, `{{#c1}}`, which Anki renders).
pub fn unknown_fields(nodes: &[Node], fields: &BTreeSet<&str>) -> Vec<String> {
    let mut used = BTreeSet::new();
    referenced_fields(nodes, &mut used);
    let mut numbers = BTreeSet::new();
    card_number_sections(nodes, &mut numbers);
    used.into_iter()
        .filter(|field| !fields.contains(field.as_str()) && field != "Tags")
        .filter(|field| !numbers.contains(field))
        .collect()
}

/// Whether `name` is one Anki gives the card's number in sections: `c1`, `c2`, ….
pub fn is_card_number(name: &str) -> bool {
    name.len() > 1 && name.starts_with('c') && name[1..].chars().all(|c| c.is_ascii_digit())
}

/// The sections named like [`is_card_number`].
fn card_number_sections(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        if let Node::Section {
            field, children, ..
        } = node
        {
            if is_card_number(field) {
                out.insert(field.clone());
            }
            card_number_sections(children, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(names: &[&'a str]) -> HashSet<&'a str> {
        names.iter().copied().collect()
    }

    #[test]
    fn parses_sections_and_filters() {
        let nodes = parse("{{#Add Reverse}}{{text:Back}}{{/Add Reverse}}x").unwrap();
        assert_eq!(
            nodes,
            vec![
                Node::Section {
                    field: "Add Reverse".into(),
                    negated: false,
                    children: vec![Node::Replacement {
                        field: "Back".into(),
                        filters: vec!["text".into()]
                    }],
                },
                Node::Text("x".into()),
            ]
        );
        assert!(parse("{{#A}}").is_err());
        assert!(parse("{{#A}}{{/B}}").is_err());
        assert!(parse("{{A").is_err());
    }

    #[test]
    fn comments_are_read_whole_as_anki_reads_them() {
        let nodes = parse("a<!-- {{Hidden}} -->{{B}}<!-- c").unwrap();
        assert_eq!(
            nodes,
            vec![
                Node::Text("a".into()),
                Node::Comment(" {{Hidden}} ".into()),
                Node::Replacement {
                    field: "B".into(),
                    filters: vec![]
                },
                Node::Text("<!-- c".into()),
            ]
        );
        let fields = BTreeSet::from(["B"]);
        assert!(unknown_fields(&nodes, &fields).is_empty());
        let numbered = parse("{{#c2}}x{{/c2}}{{#c}}{{/c}}").unwrap();
        assert_eq!(unknown_fields(&numbered, &fields), ["c"]);
    }

    #[test]
    fn card_generation_follows_nonempty_fields() {
        let t = parse("{{#Add Reverse}}{{Back}}{{/Add Reverse}}").unwrap();
        assert!(!renders_with_fields(&t, &set(&["Back"])));
        assert!(renders_with_fields(&t, &set(&["Back", "Add Reverse"])));
        let neg = parse("{{^Extra}}{{Front}}{{/Extra}}").unwrap();
        assert!(renders_with_fields(&neg, &set(&["Front"])));
        assert!(!renders_with_fields(&neg, &set(&["Front", "Extra"])));
        let special = parse("{{FrontSide}} {{Tags}}").unwrap();
        assert!(!renders_with_fields(&special, &set(&["FrontSide"])));
        assert!(renders_with_fields(&special, &set(&["Tags"])));
        assert!(renders_with_fields(&parse("{{Deck}}").unwrap(), &set(&[])));
    }
}
