//! Cards rendered as Anki renders them: the question and answer HTML that Anki's
//! `card.question()` and `card.answer()` return for a note's card, from the note type's
//! templates (`notetype::template` parses them, `notetype::cloze` reads deletions).
//!
//! What the reviewer does after that (the type-in box, sound buttons, MathJax) is not
//! rendering: `preview` does it for its pages.

mod cloze;
mod filters;

use crate::note::Note;
use crate::notetype::template::{self, Node};
use crate::notetype::{Kind, NoteType};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// One card, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rendered {
    /// What `card.question()` returns: `<style>CSS</style>` and the front.
    pub question: String,
    /// What `card.answer()` returns: `<style>CSS</style>` and the back.
    pub answer: String,
    /// What the front plays, in order: `[anki:play:q:N]` in the question plays the N-th.
    pub question_play: Vec<Play>,
    /// The same for the back (`[anki:play:a:N]`).
    pub answer_play: Vec<Play>,
}

/// What a `[anki:play:…]` tag plays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Play {
    /// `[sound:NAME]`: a media file.
    Sound(String),
    /// `[anki:tts lang=…]TEXT[/anki:tts]`: text Anki reads aloud.
    Tts {
        /// The tag's options as written (`lang=en_US voices=…`).
        options: String,
        /// The text, as in the field.
        text: String,
    },
}

/// A template that cannot be rendered: Anki shows the reason instead of the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Template(#[from] template::TemplateError),
    #[error("found '{{{{{0}}}}}', but there is no field called '{1}'")]
    NoSuchField(String, String),
    #[error("the note type has no card template {0}")]
    NoTemplate(u16),
}

/// Renders card `ord` of `note` (a note of `notetype`), in its deck
/// ([`Note::card_deck`]).
pub fn render(notetype: &NoteType, note: &Note, ord: u16) -> Rendered {
    let card_number = format!("c{}", ord + 1);
    let fields = field_map(notetype, note, ord, &card_number);
    let css = &notetype.css;
    let (question, answer, question_play, answer_play) = match render_sides(notetype, &fields, ord)
    {
        Ok(sides) => sides,
        Err(failure) => {
            let text = format!(
                "<div>{}</div>",
                crate::text::escape_html(&failure.to_string())
            );
            (text.clone(), text, Vec::new(), Vec::new())
        }
    };
    Rendered {
        question: format!("<style>{css}</style>{question}"),
        answer: format!("<style>{css}</style>{answer}"),
        question_play,
        answer_play,
    }
}

type Sides = (String, String, Vec<Play>, Vec<Play>);

fn render_sides(
    notetype: &NoteType,
    fields: &HashMap<&str, Cow<str>>,
    ord: u16,
) -> Result<Sides, Failure> {
    let index = match notetype.kind {
        Kind::Cloze => 0,
        Kind::Standard => usize::from(ord),
    };
    let card = notetype
        .templates
        .get(index)
        .ok_or(Failure::NoTemplate(ord))?;
    let nonempty: HashSet<&str> = fields
        .iter()
        .filter(|(_, value)| !crate::text::field_is_empty(value))
        .map(|(name, _)| *name)
        .collect();
    let front = template::parse(&card.front)?;
    let side = Side {
        fields,
        nonempty: &nonempty,
        ord,
        front_side: None,
    };
    let question = side.render(&front)?;
    if let Some(message) = empty_front(notetype, fields, &front, &nonempty, ord) {
        let question = question + &message;
        return Ok((question, message, Vec::new(), Vec::new()));
    }
    let (question, question_sounds) = extract_sounds(&question, 'q');
    let back = template::parse(&card.back)?;
    let side = Side {
        front_side: Some(&question),
        ..side
    };
    let (answer, answer_sounds) = extract_sounds(&side.render(&back)?, 'a');
    Ok((question, answer, question_sounds, answer_sounds))
}

/// Anki's message for a card that would show nothing (ankideck makes no such card).
fn empty_front(
    notetype: &NoteType,
    fields: &HashMap<&str, Cow<str>>,
    front: &[Node],
    nonempty: &HashSet<&str>,
    ord: u16,
) -> Option<String> {
    let empty = match notetype.kind {
        Kind::Cloze => !fields
            .values()
            .any(|v| crate::notetype::cloze::cloze_numbers(v).contains(&(ord + 1))),
        Kind::Standard => !template::renders_with_fields(front, nonempty),
    };
    // Anki's English messages, the number between Unicode isolation marks as its
    // translations put it, and the section of its manual each links to.
    let (message, section) = match notetype.kind {
        Kind::Cloze => (
            format!("No cloze \u{2068}{}\u{2069} found on card.\nPlease either add a cloze deletion, or use the Empty Cards tool.", ord + 1),
            "no-cloze-filter-on-cloze-note-type",
        ),
        Kind::Standard => (
            "The front of this card is blank.".to_string(),
            "front-of-card-is-blank",
        ),
    };
    empty.then(|| format!("<div>{message}<br><a href='https://docs.ankiweb.net/templates/errors.html#{section}'>More information</a></div>"))
}

/// The note's fields by name, the special fields Anki adds and the card's number as
/// `c1`, `c2` … with the value `1` (a field of the note wins over a special one of the
/// same name).
fn field_map<'a>(
    notetype: &'a NoteType,
    note: &'a Note,
    ord: u16,
    card_number: &'a str,
) -> HashMap<&'a str, Cow<'a, str>> {
    let mut map: HashMap<&str, Cow<str>> = notetype
        .fields
        .iter()
        .zip(&note.fields)
        .map(|(f, value)| (f.name.as_str(), Cow::Borrowed(value.as_str())))
        .collect();
    let template = match notetype.kind {
        Kind::Cloze => notetype.templates.first(),
        Kind::Standard => notetype.templates.get(usize::from(ord)),
    };
    // The card's deck, which `card-deck:` may set apart from the note's.
    let deck = note.card_deck(ord);
    let subdeck = deck.rsplit("::").next().unwrap_or_default();
    let specials: [(&str, Cow<str>); 8] = [
        ("Tags", note.tags_as_imported().join(" ").into()),
        ("Type", notetype.name.as_str().into()),
        ("Subdeck", subdeck.into()),
        ("Deck", deck.into()),
        ("CardFlag", "flag0".into()),
        ("Card", template.map_or("", |t| t.name.as_str()).into()),
        (
            "CardID",
            crate::ids::card_id(&note.guid, ord).to_string().into(),
        ),
        (card_number, "1".into()),
    ];
    for (name, value) in specials {
        map.entry(name).or_insert(value);
    }
    map
}

/// Rendering one side of a card.
struct Side<'a> {
    fields: &'a HashMap<&'a str, Cow<'a, str>>,
    nonempty: &'a HashSet<&'a str>,
    ord: u16,
    /// The question (its sounds numbered), when rendering the answer.
    front_side: Option<&'a str>,
}

impl Side<'_> {
    fn render(&self, nodes: &[Node]) -> Result<String, Failure> {
        let mut out = String::new();
        self.render_into(nodes, &mut out)?;
        Ok(out)
    }

    fn render_into(&self, nodes: &[Node], out: &mut String) -> Result<(), Failure> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Comment(text) => {
                    out.push_str("<!--");
                    out.push_str(text);
                    out.push_str("-->");
                }
                Node::Replacement { field, .. } if field == "FrontSide" => {
                    out.push_str(self.front_side.unwrap_or_default());
                }
                Node::Replacement { field, filters } if field.is_empty() && !filters.is_empty() => {
                }
                Node::Replacement { field, filters } => {
                    out.push_str(&self.replace(field, filters)?)
                }
                Node::Section {
                    field,
                    negated,
                    children,
                } => {
                    // Anki renders a hidden section too: its errors count.
                    let shown = self.condition(field)? != *negated;
                    match shown {
                        true => self.render_into(children, out)?,
                        false => self.render_into(children, &mut String::new())?,
                    }
                }
            }
        }
        Ok(())
    }

    fn replace(&self, field: &str, filters: &[String]) -> Result<String, Failure> {
        let value = match self.fields.get(field) {
            Some(value) => value.as_ref(),
            None => {
                let written: String = filters.iter().map(|f| format!("{f}:")).collect();
                return Err(Failure::NoSuchField(
                    format!("{written}{field}"),
                    field.to_string(),
                ));
            }
        };
        let question = self.front_side.is_none();
        Ok(filters::apply(value, filters, field, self.ord, question))
    }

    /// Whether `{{#field}}` shows its content: Anki's `c1` … other than the card's
    /// number are empty.
    fn condition(&self, field: &str) -> Result<bool, Failure> {
        if self.nonempty.contains(field) {
            return Ok(true);
        }
        match self.fields.contains_key(field) || template::is_card_number(field) {
            true => Ok(false),
            false => Err(Failure::NoSuchField(format!("#{field}"), field.to_string())),
        }
    }
}

/// What the reviewer needs for a card's `[[type:SPEC]]` (`SPEC`: `Field`, `cloze:Field`
/// or `nc:Field`): the answer it compares the typed one with, and the field's font.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeIn {
    /// The field's text (for `cloze:` the card's deletions, once when all are the
    /// same), without sounds, tags or line breaks, as the reviewer compares it.
    pub expected: String,
    /// The field's editor font and size, which the box and the comparison use.
    pub font: String,
    /// In pixels.
    pub size: u32,
}

/// The type-in box of card `ord` for `spec`; `None` for a field the note type lacks.
pub fn type_in(notetype: &NoteType, note: &Note, ord: u16, spec: &str) -> Option<TypeIn> {
    let (field, cloze) = match spec.split_once(':') {
        Some(("cloze", field)) => (field.split(':').next().unwrap_or(field), true),
        Some(("nc", field)) => (field, false),
        _ => (spec, false),
    };
    let index = notetype.field_index(field)?;
    let value = note.fields.get(index)?;
    let value = match cloze {
        true => cloze::for_typing(value, ord + 1),
        false => value.clone(),
    };
    static LINE_BREAKS: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?si)(\n|<br\s?/?>|</?div>)+").unwrap());
    let without_sounds = PLAYABLE.replace_all(&value, "");
    let one_line = LINE_BREAKS.replace_all(&without_sounds, " ");
    Some(TypeIn {
        expected: crate::text::strip_html(&one_line).trim().to_string(),
        font: notetype.fields[index].font.clone(),
        size: notetype.fields[index].size,
    })
}

/// A sound tag, or a text-to-speech one (group 2: its options, 3: its text).
static PLAYABLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?s)\[sound:([^\]]+)\]|\[anki:tts\b([^\]]*)\](.*?)\[/anki:tts\]").unwrap()
});

/// `[sound:…]` and `[anki:tts …]…[/anki:tts]` replaced by `[anki:play:SIDE:N]` as Anki
/// does, with what each plays in order.
fn extract_sounds(text: &str, side: char) -> (String, Vec<Play>) {
    let mut play = Vec::new();
    let replaced = PLAYABLE.replace_all(text, |c: &regex::Captures| {
        play.push(match c.get(1) {
            Some(name) => Play::Sound(name.as_str().to_string()),
            None => Play::Tts {
                options: c[2].trim().to_string(),
                text: c[3].to_string(),
            },
        });
        format!("[anki:play:{side}:{}]", play.len() - 1)
    });
    (replaced.into_owned(), play)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stock;

    fn note(notetype: &NoteType, fields: &[&str]) -> Note {
        Note::new(notetype, fields.iter().copied())
            .deck("Lang::French")
            .tags(["verb", "a::b"])
    }

    #[test]
    fn sides_carry_the_css_the_front_and_numbered_sounds() {
        let basic = Stock::Basic.notetype();
        let card = render(
            &basic,
            &note(&basic, &["Q [sound:q.mp3]", "A [sound:a.mp3]"]),
            0,
        );
        let style = format!("<style>{}</style>", basic.css);
        assert_eq!(card.question, format!("{style}Q [anki:play:q:0]"));
        assert_eq!(
            card.answer,
            format!("{style}Q [anki:play:q:0]\n\n<hr id=answer>\n\nA [anki:play:a:0]")
        );
        assert_eq!(card.question_play, [Play::Sound("q.mp3".into())]);
        assert_eq!(card.answer_play, [Play::Sound("a.mp3".into())]);
    }

    #[test]
    fn special_fields_sections_and_errors() {
        let mut custom = Stock::Basic.notetype();
        custom.templates[0].front = "{{Tags}}|{{Deck}}|{{Subdeck}}|{{Card}}|{{Type}}|{{#c1}}one{{/c1}}{{^Back}}no back{{/Back}}<!--{{Front}}-->".into();
        let card = render(&custom, &note(&custom, &["q", ""]), 0);
        assert!(
            card.question.ends_with(&format!(
                "a::b verb|Lang::French|French|Card 1|{}|oneno back<!--{{{{Front}}}}-->",
                custom.name
            )),
            "{}",
            card.question
        );
        custom.templates[0].front = "{{Front}}{{#Nope}}x{{/Nope}}".into();
        let card = render(&custom, &note(&custom, &["q", "a"]), 0);
        assert!(
            card.question
                .ends_with("there is no field called 'Nope'</div>"),
            "{}",
            card.question
        );
        custom.templates[0].front = "{{text:Nope}}".into();
        assert!(render(&custom, &note(&custom, &["q", "a"]), 0)
            .answer
            .contains("found '{{text:Nope}}'"));
    }

    #[test]
    fn a_cloze_card_without_its_deletion_says_so() {
        let cloze = Stock::Cloze.notetype();
        let card = render(&cloze, &note(&cloze, &["{{c1::a}}", ""]), 1);
        assert!(
            card.question
                .contains("No cloze \u{2068}2\u{2069} found on card.\n"),
            "{}",
            card.question
        );
        assert_eq!(card.question_play, []);
    }

    #[test]
    fn typed_answers_are_the_field_or_the_deletions() {
        let type_in_type = Stock::TypeIn.notetype();
        let n = note(
            &type_in_type,
            &["q", "<b>Paris</b><br>France [sound:p.mp3]\n"],
        );
        let back = type_in(&type_in_type, &n, 0, "Back").unwrap();
        assert_eq!(back.expected, "Paris France");
        assert_eq!((back.font.as_str(), back.size), ("Arial", 20));
        assert_eq!(type_in(&type_in_type, &n, 0, "Nope"), None);
        let cloze = Stock::Cloze.notetype();
        // As Anki: one text when all are the same, else all of them.
        let n = note(
            &cloze,
            &["{{c1::a}} {{c2::b}} {{c2::b}} {{c1::a}} {{c1::c}}", ""],
        );
        let expected = |ord| type_in(&cloze, &n, ord, "cloze:Text").unwrap().expected;
        assert_eq!(expected(0), "a, a, c");
        assert_eq!(expected(1), "b");
    }
}
