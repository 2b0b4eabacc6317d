//! Note types: the data every note type carries, the stock ones Anki ships, and the
//! rules that decide a note's cards.
//!
//! - `template`: Anki's template language, parsed once;
//! - `cloze`: the cloze-deletion grammar;
//! - `cardgen`: which cards a note has (and Anki's `req` for old clients);
//! - `stock`: Basic, reversed, type-in and Cloze as Anki ships them;
//! - `builder`: note types defined in code, and the checks every note type passes.

mod builder;
mod cardgen;
pub(crate) mod cloze;
mod stock;
pub(crate) mod template;

pub use builder::{NoteTypeBuilder, NoteTypeError};
pub use cardgen::{CardError, ClozeDisplay, MAX_CLOZE};
pub use stock::Stock;
pub use template::TemplateError;

/// Standard note types make one card per template; cloze types one card per cloze number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One card per template whose front shows a non-empty field.
    Standard,
    /// One card per cloze number, from the one template.
    Cloze,
}

/// A field of a note type; [`NoteType::builder`] makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Field {
    /// What templates call it, as `{{Name}}`.
    pub name: String,
    /// Stable id, so Anki sees a renamed field as the same field.
    pub id: i64,
    /// The editor's font for the field.
    pub font: String,
    /// The editor's font size for the field.
    pub size: u32,
    /// Anki's marker for the cloze type's fields (`Text` 0, `Back Extra` 1).
    pub tag: Option<u32>,
    /// Set on a cloze type's `Text`, which Anki will not let the user delete.
    pub prevent_deletion: bool,
    /// How Anki's editor shows the field and whether search sees it.
    pub options: FieldOptions,
}

impl Field {
    /// A field in Arial 20, as Anki makes them, with nothing else set.
    pub fn new(name: impl Into<String>, id: i64) -> Field {
        Field {
            name: name.into(),
            id,
            font: "Arial".into(),
            size: 20,
            tag: None,
            prevent_deletion: false,
            options: FieldOptions::default(),
        }
    }
}

/// A field's settings in Anki's Fields dialog beyond its font; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldOptions {
    /// The editor's placeholder text.
    pub description: String,
    /// Right-to-left text.
    pub rtl: bool,
    /// The editor keeps the value for the next note.
    pub sticky: bool,
    /// The editor shows the HTML source.
    pub plain_text: bool,
    /// The editor starts with the field collapsed.
    pub collapsed: bool,
    /// Anki's search skips the field.
    pub exclude_from_search: bool,
}

/// A card template of a note type; [`NoteType::builder`] makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CardTemplate {
    /// Shown in Anki's card list.
    pub name: String,
    /// Stable id, so Anki sees a renamed template as the same template.
    pub id: i64,
    /// The question side, in Anki's template language.
    pub front: String,
    /// The answer side; `{{FrontSide}}` shows the question.
    pub back: String,
    /// How Anki's browser shows the card; empty by default.
    pub browser: BrowserAppearance,
}

impl CardTemplate {
    /// A template with these sides and the browser's default appearance.
    pub fn new(name: impl Into<String>, id: i64, front: String, back: String) -> CardTemplate {
        CardTemplate {
            name: name.into(),
            id,
            front,
            back,
            browser: BrowserAppearance::default(),
        }
    }
}

/// A template's Browser Appearance in Anki: the browser's own question and answer
/// templates (empty: the card's) and font.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrowserAppearance {
    /// The question column's template.
    pub front: String,
    /// The answer column's template.
    pub back: String,
    /// The font name.
    pub font: String,
    /// The font size (0 for the default).
    pub size: u32,
}

/// How Anki renders the note type's LaTeX: the document around each expression, and
/// whether as SVG. By default, Anki's own preamble and PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Latex {
    /// The document up to the expression.
    pub pre: String,
    /// The document after it.
    pub post: String,
    /// SVG images instead of PNG.
    pub svg: bool,
}

impl Default for Latex {
    fn default() -> Latex {
        Latex {
            pre: "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n".into(),
            post: "\\end{document}".into(),
            svg: false,
        }
    }
}

/// A note type as Anki stores it: fields, card templates and styling. Get one from
/// [`Stock::notetype`] or [`NoteType::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoteType {
    /// Anki's identity of the note type: notes of a note type with the same id import
    /// into the same note type.
    pub id: i64,
    /// The name Anki shows.
    pub name: String,
    /// Standard or cloze.
    pub kind: Kind,
    /// The fields, in the order of a note's values.
    pub fields: Vec<Field>,
    /// The card templates, in card order.
    pub templates: Vec<CardTemplate>,
    /// The styling shared by its cards.
    pub css: String,
    /// Index of the field Anki sorts the browser by and strips into `sfld`.
    pub sort_field: usize,
    /// Which stock type this one started as (Anki's `originalStockKind`; 0 for none).
    pub original_stock_kind: u8,
    /// LaTeX rendering.
    pub latex: Latex,
    /// Last change, in seconds; Anki updates its copy on import only when this is newer.
    /// 0 (as built) stands for the package's timestamp.
    pub modified: i64,
}

impl NoteType {
    /// The index of the field named `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Hashes of what Anki compares on import: everything (`content`), and the
    /// fields and templates by id and name (`schema`), whose change makes Anki add a copy.
    pub(crate) fn fingerprints(&self) -> (String, String) {
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
        content.push_str(&self.settings_fingerprint());
        (
            crate::ids::short_hash(&content),
            crate::ids::short_hash(&schema),
        )
    }

    /// What Anki's dialogs set beyond fields, templates and CSS, as text for
    /// [`NoteType::fingerprints`]; empty when all is default, so that the fingerprints
    /// of note types that set none stay what they were before these settings existed.
    fn settings_fingerprint(&self) -> String {
        let mut out = String::new();
        if self.latex != Latex::default() {
            let Latex { pre, post, svg } = &self.latex;
            out += &format!("latex\u{1f}{pre}\u{1f}{post}\u{1f}{svg}\u{1f}");
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.options != FieldOptions::default() {
                out += &format!("field{i}\u{1f}{:?}\u{1f}", f.options);
            }
        }
        for (i, t) in self.templates.iter().enumerate() {
            if t.browser != BrowserAppearance::default() {
                out += &format!("template{i}\u{1f}{:?}\u{1f}", t.browser);
            }
        }
        out
    }

    /// The names of the fields, in order.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// Whether `template`'s front can make a card at all: a standard front must show a
    /// non-empty field for some note ([`template::can_render`]), a cloze front needs
    /// `{{cloze:…}}`.
    pub fn can_show(&self, template: &CardTemplate) -> bool {
        match self.kind {
            Kind::Standard => {
                let nodes = template::parse(&template.front).unwrap_or_default();
                template::can_render(&nodes, &|name| self.field_index(name).is_some())
            }
            Kind::Cloze => template.front.contains("{{cloze:"),
        }
    }

    /// The first template whose front can never make a card (see [`NoteType::can_show`]).
    pub fn never_shown(&self) -> Option<&CardTemplate> {
        self.templates.iter().find(|t| !self.can_show(t))
    }
}

/// Anki's rule for field names: it would mistake these for template syntax.
pub fn field_name_allowed(name: &str) -> bool {
    !(name.trim().is_empty()
        || name.contains([':', '{', '}', '"'])
        || name.starts_with(['#', '/', '^']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

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

    /// `empty-cards:` adds cards to those the fields make, and saves a note whose
    /// fields make none; a card beyond the templates it cannot add.
    #[test]
    fn kept_empty_cards() {
        let rev = Stock::Reversed.notetype();
        let stale = fields(&["q", ""]);
        assert_eq!(rev.note_ordinals(&stale, false, &[1], &[]).unwrap(), [0, 1]);
        assert_eq!(rev.note_ordinals(&stale, false, &[0], &[]).unwrap(), [0]);
        assert_eq!(
            rev.note_ordinals(&fields(&["", ""]), false, &[0], &[])
                .unwrap(),
            [0]
        );
        assert_eq!(
            rev.note_ordinals(&stale, false, &[2], &[]),
            Err(CardError::NoTemplate {
                number: 3,
                count: 2
            })
        );
        assert_eq!(
            rev.note_ordinals(&fields(&["", ""]), false, &[], &[]),
            Err(CardError::NoCards)
        );
        let cloze = Stock::Cloze.notetype();
        let none = fields(&["none", ""]);
        assert_eq!(
            cloze.note_ordinals(&none, false, &[4, 0], &[]).unwrap(),
            [0, 4]
        );
        let one = fields(&["{{c2::x}}", ""]);
        assert_eq!(
            cloze.note_ordinals(&one, false, &[499], &[]).unwrap(),
            [1, 499]
        );
        assert!(cloze.note_ordinals(&one, false, &[500], &[]).is_err());
    }

    /// `skip-cards:` takes cards away from those the fields make (and those
    /// `empty-cards:` keeps); it cannot name a card beyond the templates or one
    /// `empty-cards:` keeps, nor leave the note without cards.
    #[test]
    fn skipped_cards() {
        let rev = Stock::Reversed.notetype();
        let both = fields(&["q", "a"]);
        assert_eq!(rev.note_ordinals(&both, false, &[], &[1]).unwrap(), [0]);
        assert_eq!(rev.note_ordinals(&both, false, &[], &[0]).unwrap(), [1]);
        let stale = fields(&["q", ""]);
        assert_eq!(
            rev.note_ordinals(&stale, false, &[], &[1]).unwrap(),
            [0],
            "a card the fields do not make: nothing to skip"
        );
        assert_eq!(
            rev.note_ordinals(&both, false, &[], &[2]),
            Err(CardError::CannotSkip {
                number: 3,
                count: 2
            })
        );
        let basic = Stock::Basic.notetype();
        let error = basic.note_ordinals(&fields(&["q", "a"]), false, &[], &[1]);
        assert_eq!(
            error.unwrap_err().to_string(),
            "card 2 cannot be skipped: the note type has 1 card type"
        );
        assert_eq!(
            rev.note_ordinals(&stale, false, &[1], &[1]),
            Err(CardError::KeptAndSkipped { number: 2 })
        );
        assert_eq!(
            rev.note_ordinals(&both, false, &[], &[0, 1]),
            Err(CardError::EverySkipped {
                cards: "1, 2".into()
            })
        );
        assert_eq!(
            rev.note_ordinals(&fields(&["", ""]), false, &[], &[1]),
            Err(CardError::NoCards),
            "skipping does not save a note whose fields make no card"
        );
        let cloze = Stock::Cloze.notetype();
        let three = fields(&["{{c1::a}} {{c2::b}} {{c3::c}}", ""]);
        assert_eq!(
            cloze.note_ordinals(&three, false, &[], &[1]).unwrap(),
            [0, 2]
        );
        assert_eq!(
            cloze.note_ordinals(&three, false, &[4], &[0, 2]).unwrap(),
            [1, 4]
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

    /// Note types that set none of Anki's other settings keep the fingerprints they had
    /// before those settings existed (pinned: the lock of `cards/` has them), so existing
    /// locks see no change.
    #[test]
    fn default_settings_leave_fingerprints_as_they_were() {
        let basic = Stock::Basic.notetype();
        assert_eq!(
            basic.fingerprints(),
            (
                "c8146f302be67ba4".to_string(),
                "783d606d7d82a73a".to_string()
            )
        );
    }

    #[test]
    fn field_names_follow_ankis_rules() {
        for name in ["Word", "Front side", "a#b", "ü"] {
            assert!(field_name_allowed(name), "{name}");
        }
        for name in ["", "  ", "a:b", "a{b", "a}b", "a\"b", "#a", "/a", "^a"] {
            assert!(!field_name_allowed(name), "{name}");
        }
    }
}
