//! Note types: the stock ones Anki ships, and the data every note type carries.

use crate::ids;
use crate::template::{self, Node, TemplateError};
use std::collections::{BTreeSet, HashSet};

/// Standard note types make one card per template; cloze types one card per cloze number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Standard,
    Cloze,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Stable id, so Anki sees a renamed field as the same field.
    pub id: i64,
    pub font: String,
    pub size: u32,
    /// Anki's marker for the cloze type's fields (`Text` 0, `Back Extra` 1).
    pub tag: Option<u32>,
    /// Set on a cloze type's `Text`, which Anki will not let the user delete.
    pub prevent_deletion: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardTemplate {
    pub name: String,
    pub id: i64,
    pub front: String,
    pub back: String,
}

/// A note type as Anki stores it: fields, card templates and styling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteType {
    pub id: i64,
    pub name: String,
    pub kind: Kind,
    pub fields: Vec<Field>,
    pub templates: Vec<CardTemplate>,
    pub css: String,
    /// Index of the field Anki sorts the browser by and strips into `sfld`.
    pub sort_field: usize,
    /// Which stock type this one started as (Anki's `originalStockKind`; 0 for none).
    pub original_stock_kind: u8,
    /// Last change, in seconds; Anki updates its copy on import only when this is newer.
    pub modified: i64,
}

/// The note types Anki ships, under the names users write in `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    Basic,
    Reversed,
    OptionalReversed,
    TypeIn,
    Cloze,
}

const CSS: &str = ".card {\n    font-family: arial;\n    font-size: 20px;\n    line-height: 1.5;\n    text-align: center;\n    color: black;\n    background-color: white;\n}\n";
const CLOZE_CSS: &str =
    "\n.cloze {\n    font-weight: bold;\n    color: blue;\n}\n.nightMode .cloze {\n    color: lightblue;\n}\n";
/// A template's name, front and back.
type TemplateText = (&'static str, String, String);

/// Anki's `req` entry for one template: `(ord, "any" | "all" | "none", field ords)`.
pub type Requirement = (u16, &'static str, Vec<usize>);

const ANSWER_SEP: &str = "{{FrontSide}}\n\n<hr id=answer>\n\n";

impl Stock {
    pub const ALL: [Stock; 5] = [
        Stock::Basic,
        Stock::Reversed,
        Stock::OptionalReversed,
        Stock::TypeIn,
        Stock::Cloze,
    ];

    /// The name used in sources (`type: reversed`).
    pub fn key(self) -> &'static str {
        match self {
            Stock::Basic => "basic",
            Stock::Reversed => "reversed",
            Stock::OptionalReversed => "optional-reversed",
            Stock::TypeIn => "type-in",
            Stock::Cloze => "cloze",
        }
    }

    /// Anki's English name for the note type.
    pub fn anki_name(self) -> &'static str {
        match self {
            Stock::Basic => "Basic",
            Stock::Reversed => "Basic (and reversed card)",
            Stock::OptionalReversed => "Basic (optional reversed card)",
            Stock::TypeIn => "Basic (type in the answer)",
            Stock::Cloze => "Cloze",
        }
    }

    /// Looks a stock type up by its source key or its Anki name.
    pub fn find(name: &str) -> Option<Stock> {
        Stock::ALL
            .into_iter()
            .find(|s| s.key() == name || s.anki_name() == name)
    }

    pub fn notetype(self) -> NoteType {
        let key = format!("stock:{}", self.key());
        let (fields, templates, kind): (&[&str], Vec<TemplateText>, Kind) = match self {
            Stock::Basic => (
                &["Front", "Back"],
                vec![(
                    "Card 1",
                    "{{Front}}".into(),
                    format!("{ANSWER_SEP}{{{{Back}}}}"),
                )],
                Kind::Standard,
            ),
            Stock::Reversed => (
                &["Front", "Back"],
                vec![
                    (
                        "Card 1",
                        "{{Front}}".into(),
                        format!("{ANSWER_SEP}{{{{Back}}}}"),
                    ),
                    (
                        "Card 2",
                        "{{Back}}".into(),
                        format!("{ANSWER_SEP}{{{{Front}}}}"),
                    ),
                ],
                Kind::Standard,
            ),
            Stock::OptionalReversed => (
                &["Front", "Back", "Add Reverse"],
                vec![
                    (
                        "Card 1",
                        "{{Front}}".into(),
                        format!("{ANSWER_SEP}{{{{Back}}}}"),
                    ),
                    (
                        "Card 2",
                        "{{#Add Reverse}}{{Back}}{{/Add Reverse}}".into(),
                        format!("{ANSWER_SEP}{{{{Front}}}}"),
                    ),
                ],
                Kind::Standard,
            ),
            Stock::TypeIn => (
                &["Front", "Back"],
                vec![(
                    "Card 1",
                    "{{Front}}\n\n{{type:Back}}".into(),
                    "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}".into(),
                )],
                Kind::Standard,
            ),
            Stock::Cloze => (
                &["Text", "Back Extra"],
                vec![(
                    "Cloze",
                    "{{cloze:Text}}".into(),
                    "{{cloze:Text}}<br>\n{{Back Extra}}".into(),
                )],
                Kind::Cloze,
            ),
        };
        let css = if kind == Kind::Cloze {
            format!("{CSS}{CLOZE_CSS}")
        } else {
            CSS.to_string()
        };
        NoteType {
            id: ids::notetype_id(&key),
            name: self.anki_name().to_string(),
            kind,
            fields: fields
                .iter()
                .enumerate()
                .map(|(ord, name)| Field {
                    name: name.to_string(),
                    id: ids::part_id(&key, &format!("field:{name}")),
                    font: "Arial".into(),
                    size: 20,
                    tag: (kind == Kind::Cloze).then_some(ord as u32),
                    prevent_deletion: kind == Kind::Cloze && ord == 0,
                })
                .collect(),
            templates: templates
                .into_iter()
                .map(|(name, front, back)| CardTemplate {
                    id: ids::part_id(&key, &format!("template:{name}")),
                    name: name.to_string(),
                    front,
                    back,
                })
                .collect(),
            css,
            sort_field: 0,
            original_stock_kind: self as u8 + 1,
            modified: 0,
        }
    }
}

/// Why a note has no cards or a note type is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("template `{template}` of note type `{notetype}`: {error}")]
    Template {
        notetype: String,
        template: String,
        error: TemplateError,
    },
    #[error("the note would have no cards: every field its card fronts show is empty")]
    NoCards,
    #[error("a cloze note needs at least one deletion such as `{{{{c1::answer}}}}`")]
    NoClozes,
}

impl NoteType {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Hashes of what Anki compares on import: everything (`content`), and the
    /// fields and templates by id and name (`schema`), whose change makes Anki add a copy.
    pub fn fingerprints(&self) -> (String, String) {
        let mut schema = String::new();
        for f in &self.fields {
            // Anki matches fields and templates by id: a rename that keeps the id is no
            // change of schema.
            schema.push_str(&format!("f{}\u{1f}", f.id));
        }
        for t in &self.templates {
            schema.push_str(&format!("t{}\u{1f}", t.id));
        }
        let names: Vec<&str> = self
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .chain(self.templates.iter().map(|t| t.name.as_str()))
            .collect();
        let mut content = format!("{}\u{1f}", names.join("\u{1f}"));
        content += &format!(
            "{}\u{1f}{:?}\u{1f}{}\u{1f}{}\u{1f}{schema}",
            self.name, self.kind, self.css, self.sort_field
        );
        for f in &self.fields {
            content.push_str(&format!("{}:{}\u{1f}", f.font, f.size));
        }
        for t in &self.templates {
            content.push_str(&format!("{}\u{1f}{}\u{1f}", t.front, t.back));
        }
        (
            crate::ids::short_hash(&content),
            crate::ids::short_hash(&schema),
        )
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    fn parsed_fronts(&self) -> Result<Vec<std::rc::Rc<Vec<Node>>>, CardError> {
        self.templates
            .iter()
            .map(|t| {
                template::parse_cached(&t.front).map_err(|error| CardError::Template {
                    notetype: self.name.clone(),
                    template: t.name.clone(),
                    error,
                })
            })
            .collect()
    }

    /// The ordinals of the cards Anki would generate for these field values.
    pub fn card_ordinals(&self, fields: &[String], has_tags: bool) -> Result<Vec<u16>, CardError> {
        let fronts = self.parsed_fronts()?;
        match self.kind {
            Kind::Standard => {
                let mut nonempty: HashSet<&str> = self
                    .fields
                    .iter()
                    .zip(fields)
                    .filter(|(_, value)| !crate::text::field_is_empty(value))
                    .map(|(f, _)| f.name.as_str())
                    .collect();
                if has_tags {
                    nonempty.insert("Tags");
                }
                let ords: Vec<u16> = fronts
                    .iter()
                    .enumerate()
                    .filter(|(_, nodes)| template::renders_with_fields(nodes, &nonempty))
                    .map(|(i, _)| i as u16)
                    .collect();
                if ords.is_empty() {
                    return Err(CardError::NoCards);
                }
                Ok(ords)
            }
            Kind::Cloze => {
                // Anki counts deletions in every field, not only those the template shows.
                let numbers: BTreeSet<u16> = fields
                    .iter()
                    .flat_map(|value| template::cloze_numbers(value))
                    .collect();
                if numbers.is_empty() {
                    return Err(CardError::NoClozes);
                }
                Ok(numbers
                    .into_iter()
                    .map(|n| n.min(500) - 1)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect())
            }
        }
    }

    /// Anki's `req` for old clients: per template, which fields make it non-empty.
    pub fn requirements(&self) -> Result<Vec<Requirement>, CardError> {
        let fronts = self.parsed_fronts()?;
        if self.kind == Kind::Cloze {
            return Ok(vec![(0, "any", vec![0])]);
        }
        let names = self.field_names();
        Ok(fronts
            .iter()
            .enumerate()
            .map(|(ord, nodes)| {
                let all: HashSet<&str> = names.iter().copied().collect();
                if !template::renders_with_fields(nodes, &all) {
                    return (ord as u16, "none", vec![]);
                }
                // As current Anki computes it: "any" when some field alone shows the card,
                // otherwise "all" with the fields the card cannot do without.
                let any: Vec<usize> = (0..names.len())
                    .filter(|&i| {
                        template::renders_with_fields(nodes, &std::iter::once(names[i]).collect())
                    })
                    .collect();
                if !any.is_empty() {
                    return (ord as u16, "any", any);
                }
                let all_needed: Vec<usize> = (0..names.len())
                    .filter(|&i| {
                        let mut without = all.clone();
                        without.remove(names[i]);
                        !template::renders_with_fields(nodes, &without)
                    })
                    .collect();
                (ord as u16, "all", all_needed)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn stock_cards() {
        let rev = Stock::Reversed.notetype();
        assert_eq!(
            rev.card_ordinals(&fields(&["q", "a"]), false).unwrap(),
            vec![0, 1]
        );
        assert_eq!(
            rev.card_ordinals(&fields(&["q", ""]), false).unwrap(),
            vec![0]
        );
        let opt = Stock::OptionalReversed.notetype();
        assert_eq!(
            opt.card_ordinals(&fields(&["q", "a", ""]), false).unwrap(),
            vec![0]
        );
        assert_eq!(
            opt.card_ordinals(&fields(&["q", "a", "y"]), false).unwrap(),
            vec![0, 1]
        );
        let basic = Stock::Basic.notetype();
        assert_eq!(
            basic.card_ordinals(&fields(&["<br>", "a"]), false),
            Err(CardError::NoCards)
        );
        let cloze = Stock::Cloze.notetype();
        assert_eq!(
            cloze
                .card_ordinals(&fields(&["{{c3::a}} {{c1::b}}", ""]), false)
                .unwrap(),
            vec![0, 2]
        );
        // Like Anki, deletions count in any field.
        assert_eq!(
            cloze
                .card_ordinals(&fields(&["none", "{{c1::x}}"]), false)
                .unwrap(),
            vec![0]
        );
        assert_eq!(
            cloze.card_ordinals(&fields(&["none", ""]), false),
            Err(CardError::NoClozes)
        );
    }

    #[test]
    fn requirements_match_anki() {
        let opt = Stock::OptionalReversed.notetype();
        assert_eq!(
            opt.requirements().unwrap(),
            vec![(0, "any", vec![0]), (1, "all", vec![1, 2])]
        );
        let type_in = Stock::TypeIn.notetype();
        assert_eq!(
            type_in.requirements().unwrap(),
            vec![(0, "any", vec![0, 1])]
        );
    }

    #[test]
    fn stock_ids_are_distinct() {
        let ids: BTreeSet<i64> = Stock::ALL.iter().map(|s| s.notetype().id).collect();
        assert_eq!(ids.len(), Stock::ALL.len());
    }
}
