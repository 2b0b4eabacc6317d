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
/// The names Anki fills in itself; a field of the note type of the same name wins.
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
        // As Anki reads a tag: extra `{` before it and spaces around it go, but not
        // the spaces around its `:` (`{{text: Back}}` names the field ` Back`).
        let tag = after[..end].trim_start_matches('{').trim();
        rest = &after[end + 2..];
        if tag.len() < 2 {
            current.push(replacement(tag));
        } else if let Some(name) = tag.strip_prefix('#').or(tag.strip_prefix('^')) {
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
        } else {
            // Anki has no `{{! comment}}`: it is a field named `! comment`.
            current.push(replacement(tag));
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

/// `filter:…:Field`, each part as written.
fn replacement(tag: &str) -> Node {
    let mut parts: Vec<&str> = tag.split(':').collect();
    let field = parts.pop().unwrap_or_default().to_string();
    let filters = parts.into_iter().map(str::to_string).collect();
    Node::Replacement { field, filters }
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

/// The special fields Anki counts as non-empty when it decides which cards a note has:
/// those of [`ALWAYS_FILLED`] and `Tags` when the note has tags, but none that the note
/// type has a field of the same name for (that field is the note's own, empty or not).
pub fn filled_specials(
    is_field: impl Fn(&str) -> bool,
    has_tags: bool,
) -> impl Iterator<Item = &'static str> {
    (ALWAYS_FILLED.iter().copied())
        .chain(["Tags"])
        .filter(move |name| is_filled_special(name, &is_field, has_tags))
}

/// Whether `name` is one of [`filled_specials`].
pub fn is_filled_special(name: &str, is_field: impl Fn(&str) -> bool, has_tags: bool) -> bool {
    (ALWAYS_FILLED.contains(&name) || (has_tags && name == "Tags")) && !is_field(name)
}

/// Anki's card-generation rule for standard note types: a card exists when its front
/// template would show at least one non-empty field. `nonempty` holds the note's
/// non-empty fields and the special fields Anki counts (see [`filled_specials`]).
pub fn renders_with_fields(nodes: &[Node], nonempty: &HashSet<&str>) -> bool {
    renders_with(nodes, &|field| nonempty.contains(field))
}

/// [`renders_with_fields`], with `filled` saying which names are non-empty.
pub fn renders_with(nodes: &[Node], filled: &dyn Fn(&str) -> bool) -> bool {
    nodes.iter().any(|node| match node {
        Node::Text(_) | Node::Comment(_) => false,
        Node::Replacement { field, .. } => filled(field) && field != "FrontSide",
        Node::Section {
            field,
            negated,
            children,
        } => filled(field) != *negated && renders_with(children, filled),
    })
}

/// Whether some choice of empty and non-empty fields makes `nodes`, a card's front,
/// show a non-empty field ([`renders_with_fields`]): whether the template can make a
/// card at all. `is_field` says which names are the note type's fields; `FrontSide`
/// and the card numbers `c1` … are empty when Anki makes cards.
pub fn can_render(nodes: &[Node], is_field: &dyn Fn(&str) -> bool) -> bool {
    // (field, non-empty) along the sections around a node.
    fn walk<'a>(
        nodes: &'a [Node],
        is_field: &dyn Fn(&str) -> bool,
        path: &mut Vec<(&'a str, bool)>,
    ) -> bool {
        nodes.iter().any(|node| match node {
            Node::Text(_) | Node::Comment(_) => false,
            Node::Replacement { field, .. } => possible(field, true, is_field, path),
            Node::Section {
                field,
                negated,
                children,
            } => {
                if !possible(field, !negated, is_field, path) {
                    return false;
                }
                path.push((field, !negated));
                let shows = walk(children, is_field, path);
                path.pop();
                shows
            }
        })
    }
    /// Whether `field` can be (non-)empty, given what the sections around require.
    fn possible(
        field: &str,
        nonempty: bool,
        is_field: &dyn Fn(&str) -> bool,
        path: &[(&str, bool)],
    ) -> bool {
        let (can_fill, can_empty) = if is_field(field) || field == "Tags" {
            (true, true)
        } else if ALWAYS_FILLED.contains(&field) {
            (true, false)
        } else {
            (false, true)
        };
        let allowed = if nonempty { can_fill } else { can_empty };
        allowed && !path.iter().any(|&(f, v)| f == field && v != nonempty)
    }
    walk(nodes, is_field, &mut Vec::new())
}

/// Every field name a template refers to (special fields excluded, and the empty name
/// that a filter such as `{{tts-voices:}}` takes, which Anki leaves to that filter).
pub fn referenced_fields(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            Node::Text(_) | Node::Comment(_) => {}
            Node::Replacement { field, filters } => {
                let filter_only = field.is_empty() && !filters.is_empty();
                if !SPECIAL_FIELDS.contains(&field.as_str()) && !filter_only {
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

/// The fields `nodes` name that are not among `fields` (nor special fields other than
/// `FrontSide`, which Anki fills in, nor a section on the card's cloze number, `{{#c1}}`,
/// which Anki renders).
pub fn unknown_fields(nodes: &[Node], fields: &BTreeSet<&str>) -> Vec<String> {
    let mut used = BTreeSet::new();
    referenced_fields(nodes, &mut used);
    let mut numbers = BTreeSet::new();
    card_number_sections(nodes, &mut numbers);
    used.into_iter()
        .filter(|field| !fields.contains(field.as_str()))
        .filter(|field| field == "FrontSide" || !SPECIAL_FIELDS.contains(&field.as_str()))
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
    fn tags_are_read_as_anki_reads_them() {
        let replacement = |field: &str, filters: &[&str]| Node::Replacement {
            field: field.into(),
            filters: filters.iter().map(|f| f.to_string()).collect(),
        };
        // Spaces around the tag go, spaces around a `:` stay part of the names.
        assert_eq!(parse("{{ Back }}").unwrap(), [replacement("Back", &[])]);
        assert_eq!(
            parse("{{text : Back}}").unwrap(),
            [replacement(" Back", &["text "])]
        );
        // `{{! …}}` is no comment in Anki, and extra `{` before a tag are dropped.
        assert_eq!(parse("{{!note}}").unwrap(), [replacement("!note", &[])]);
        assert_eq!(
            parse("{{{Back}}}").unwrap(),
            [replacement("Back", &[]), Node::Text("}".into())]
        );
        assert_eq!(parse("{{#}}").unwrap(), [replacement("#", &[])]);
        let fields = BTreeSet::from(["Back"]);
        assert_eq!(
            unknown_fields(&parse("{{text: Back}}{{!x}}").unwrap(), &fields),
            [" Back", "!x"]
        );
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
        // Anki's special fields count unless the note type has a field of that name.
        let deck = parse("{{Deck}}").unwrap();
        let specials = |is_field: fn(&str) -> bool, tags| -> HashSet<&str> {
            filled_specials(is_field, tags).collect()
        };
        assert!(renders_with_fields(&deck, &specials(|_| false, false)));
        assert!(!renders_with_fields(
            &deck,
            &specials(|f| f == "Deck", true)
        ));
        assert!(specials(|_| false, true).contains("Tags"));
        assert!(!specials(|_| false, false).contains("Tags"));
        let in_deck = parse("{{#Deck}}{{Front}}{{/Deck}}{{^Type}}x{{/Type}}").unwrap();
        let mut nonempty = specials(|_| false, false);
        assert!(!renders_with_fields(&in_deck, &nonempty));
        nonempty.insert("Front");
        assert!(renders_with_fields(&in_deck, &nonempty));
    }

    #[test]
    fn a_front_can_render_when_some_fields_make_it_show_one() {
        let is_field = |name: &str| ["Front", "Back", "Extra"].contains(&name);
        let can = |text: &str| can_render(&parse(text).unwrap(), &is_field);
        for front in [
            "{{Front}}",
            "{{^Back}}{{Front}}{{/Back}}",
            "{{^Back}}{{Back}}{{/Back}}{{#Extra}}{{Front}}{{/Extra}}",
            "{{Tags}}",
            "{{#Deck}}{{Front}}{{/Deck}}",
            "{{^Front}}{{Deck}}{{/Front}}",
        ] {
            assert!(can(front), "{front}");
        }
        for front in [
            "text",
            "{{FrontSide}}",
            "{{^Back}}{{Back}}{{/Back}}",
            "{{#Back}}{{^Back}}{{Front}}{{/Back}}{{/Back}}",
            "{{^Deck}}{{Front}}{{/Deck}}",
            "{{#c1}}{{Front}}{{/c1}}",
            "{{^Front}}text{{/Front}}",
        ] {
            assert!(!can(front), "{front}");
        }
    }

    #[test]
    fn special_fields_and_filter_only_tags_are_known() {
        let fields = BTreeSet::from(["Front"]);
        let nodes =
            parse("{{#Deck}}{{Type}}{{/Deck}}{{^Tags}}{{Card}}{{/Tags}}{{tts-voices:}}").unwrap();
        assert!(unknown_fields(&nodes, &fields).is_empty());
        let nodes = parse("{{#FrontSide}}x{{/FrontSide}}{{}}").unwrap();
        assert_eq!(unknown_fields(&nodes, &fields), ["", "FrontSide"]);
    }
}
