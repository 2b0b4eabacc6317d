//! The note types Anki ships, as ankideck writes them.

use super::{CardTemplate, Field, Kind, Latex, NoteType};
use crate::ids;

/// The note types Anki ships, under the names users write in `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stock {
    /// `basic`: Front and Back, one card.
    Basic,
    /// `reversed`: Basic (and reversed card), a card each way.
    Reversed,
    /// `optional-reversed`: a reverse card only when `Add Reverse` is filled.
    OptionalReversed,
    /// `type-in`: the answer is typed in and compared.
    TypeIn,
    /// `cloze`: a card per cloze number in `Text`.
    Cloze,
}

const CSS: &str = ".card {\n    font-family: arial;\n    font-size: 20px;\n    line-height: 1.5;\n    text-align: center;\n    color: black;\n    background-color: white;\n}\n";
const CLOZE_CSS: &str =
    "\n.cloze {\n    font-weight: bold;\n    color: blue;\n}\n.nightMode .cloze {\n    color: lightblue;\n}\n";
/// A template's name, front and back.
type TemplateText = (&'static str, String, String);

const ANSWER_SEP: &str = "{{FrontSide}}\n\n<hr id=answer>\n\n";

impl Stock {
    /// Every stock type, Basic first.
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

    /// The name the package gives the note type: Anki's name marked as ours
    /// (`Basic (ankideck)`), so that it never clashes with the collection's own types,
    /// which have other ids (Anki would show ours as `Basic+`).
    pub fn name(self) -> &'static str {
        match self {
            Stock::Basic => "Basic (ankideck)",
            Stock::Reversed => "Basic (and reversed card) (ankideck)",
            Stock::OptionalReversed => "Basic (optional reversed card) (ankideck)",
            Stock::TypeIn => "Basic (type in the answer) (ankideck)",
            Stock::Cloze => "Cloze (ankideck)",
        }
    }

    /// Looks a stock type up by its source key, Anki's name or the packaged name.
    pub fn find(name: &str) -> Option<Stock> {
        Stock::ALL
            .into_iter()
            .find(|s| s.key() == name || s.anki_name() == name || s.name() == name)
    }

    /// The note type as Anki ships it, with ids that stay the same in every package.
    pub fn notetype(self) -> NoteType {
        let key = ids::stock_notetype_key(self.key());
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
            name: self.name().to_string(),
            kind,
            fields: fields
                .iter()
                .enumerate()
                .map(|(ord, name)| Field {
                    tag: (kind == Kind::Cloze).then_some(ord as u32),
                    prevent_deletion: kind == Kind::Cloze && ord == 0,
                    ..Field::new(*name, ids::field_id(&key, name))
                })
                .collect(),
            templates: templates
                .into_iter()
                .map(|(name, front, back)| {
                    CardTemplate::new(name, ids::template_id(&key, name), front, back)
                })
                .collect(),
            css,
            sort_field: 0,
            original_stock_kind: self as u8 + 1,
            latex: Latex::default(),
            modified: 0,
        }
    }
}
