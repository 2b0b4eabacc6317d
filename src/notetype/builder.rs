//! Note types defined in code, and the checks every note type must pass.
//!
//! Ids come from keys, as for a `_notetypes/` folder: the note type's from its key (its
//! name unless [`NoteTypeBuilder::id`] gives one), each field's and template's from its
//! own key (its name unless given). Keep a key when renaming and Anki sees the renamed
//! note type, field or template as the same one.

use super::template::{self, TemplateError};
use super::{field_name_allowed, CardTemplate, Field, Kind, Latex, NoteType};
use crate::ids;
use std::collections::{BTreeSet, HashSet};

/// What is wrong with a note type; [`NoteType::check`] and
/// [`NoteTypeBuilder::build`] find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteTypeError {
    /// No field or no template.
    #[error("note type `{0}` needs at least one field and one template")]
    Empty(String),
    /// A field name Anki refuses.
    #[error("note type `{notetype}`: field name `{field}` is not allowed by Anki (it must not be blank, contain `:`, `{{`, `}}` or `\"`, or start with `#`, `/` or `^`)")]
    BadFieldName {
        /// The note type's name.
        notetype: String,
        /// The field's name.
        field: String,
    },
    /// Two fields or two templates with the same name or id.
    #[error("note type `{notetype}`: {part} `{name}` (or its id) is given twice")]
    Duplicate {
        /// The note type's name.
        notetype: String,
        /// `field` or `template`.
        part: &'static str,
        /// The second field's or template's name.
        name: String,
    },
    /// A cloze note type with other than one template.
    #[error("note type `{0}` is a cloze type, which has exactly one template")]
    ClozeTemplates(String),
    /// A template Anki's template language cannot parse.
    #[error("template `{template}` of note type `{notetype}`: {error}")]
    Template {
        /// The note type's name.
        notetype: String,
        /// The template's name.
        template: String,
        /// What is wrong.
        error: TemplateError,
    },
    /// A template naming a field the note type does not have.
    #[error("template `{template}` of note type `{notetype}` uses field `{field}`, which the note type does not have (its fields: {fields})")]
    UnknownField {
        /// The note type's name.
        notetype: String,
        /// The template's name.
        template: String,
        /// The unknown field.
        field: String,
        /// The note type's fields, comma-separated.
        fields: String,
    },
    /// A template whose front shows no field, so that it never makes a card.
    #[error("template `{template}` of note type `{notetype}`: {}", if *.cloze {
        "the front of a cloze template must show a field with `{{cloze:Field}}`"
    } else {
        "the front shows no field, so it can never make a card"
    })]
    NeverShown {
        /// The note type's name.
        notetype: String,
        /// The template's name.
        template: String,
        /// Whether the note type is a cloze type.
        cloze: bool,
    },
    /// A sort field that is not one of the fields.
    #[error("note type `{notetype}`: sort field `{field}` is not one of its fields")]
    UnknownSortField {
        /// The note type's name.
        notetype: String,
        /// The sort field asked for.
        field: String,
    },
}

/// Builds a [`NoteType`] with stable ids, checking its templates; made by
/// [`NoteType::builder`].
///
/// ```
/// use ankideck::NoteType;
/// let vocab = NoteType::builder("Vocab")
///     .field("Word")
///     .field("Meaning")
///     .template("Recognize", "{{Word}}", "{{FrontSide}}<hr id=answer>{{Meaning}}")
///     .template("Recall", "{{Meaning}}", "{{FrontSide}}<hr id=answer>{{Word}}")
///     .css(".card { font-size: 24px; }")
///     .build()?;
/// assert_eq!(vocab.field_names(), ["Word", "Meaning"]);
/// # Ok::<(), ankideck::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct NoteTypeBuilder {
    name: String,
    key: Option<String>,
    kind: Kind,
    /// Name and id key of each field.
    fields: Vec<(String, Option<String>)>,
    /// Name, id key, front and back of each template.
    templates: Vec<(String, Option<String>, String, String)>,
    css: String,
    sort_field: Option<String>,
}

impl NoteType {
    /// Starts a note type named `name`: a standard type (one card per template) with no
    /// fields, templates or CSS yet.
    pub fn builder(name: impl Into<String>) -> NoteTypeBuilder {
        NoteTypeBuilder {
            name: name.into(),
            key: None,
            kind: Kind::Standard,
            fields: Vec::new(),
            templates: Vec::new(),
            css: String::new(),
            sort_field: None,
        }
    }

    /// Checks what Anki needs of a note type: fields and templates, allowed and distinct
    /// field names, templates that parse, name only existing fields and show one on
    /// their front. [`crate::Package::add_notetype`] checks with this.
    pub fn check(&self) -> Result<(), NoteTypeError> {
        let notetype = || self.name.clone();
        if self.fields.is_empty() || self.templates.is_empty() {
            return Err(NoteTypeError::Empty(notetype()));
        }
        let mut seen = HashSet::new();
        for f in &self.fields {
            if !field_name_allowed(&f.name) {
                let field = f.name.clone();
                return Err(NoteTypeError::BadFieldName {
                    notetype: notetype(),
                    field,
                });
            }
            if !seen.insert(("field", f.name.as_str())) {
                return Err(duplicate(self, "field", &f.name));
            }
        }
        if self.kind == Kind::Cloze && self.templates.len() != 1 {
            return Err(NoteTypeError::ClozeTemplates(notetype()));
        }
        distinct_ids(self)?;
        let names: BTreeSet<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        for t in &self.templates {
            if !seen.insert(("template", t.name.as_str())) {
                return Err(duplicate(self, "template", &t.name));
            }
            check_template(self, t, &names)?;
        }
        if self.sort_field >= self.fields.len() {
            return Err(NoteTypeError::UnknownSortField {
                notetype: notetype(),
                field: format!("#{}", self.sort_field),
            });
        }
        Ok(())
    }
}

impl NoteTypeBuilder {
    /// The key the note type's id derives from, instead of its name: keep it when
    /// renaming the note type, and Anki sees the same note type.
    pub fn id(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Makes it a cloze type: one card per cloze number, from its one template.
    pub fn cloze(mut self) -> Self {
        self.kind = Kind::Cloze;
        self
    }

    /// Adds a field, whose id derives from its name.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.fields.push((name.into(), None));
        self
    }

    /// Adds a field whose id derives from `key`: give a renamed field its old name as
    /// key, and Anki keeps its content in place.
    pub fn field_with_id(mut self, name: impl Into<String>, key: impl Into<String>) -> Self {
        self.fields.push((name.into(), Some(key.into())));
        self
    }

    /// Adds a card template (Anki's template language), whose id derives from its name.
    pub fn template(
        mut self,
        name: impl Into<String>,
        front: impl Into<String>,
        back: impl Into<String>,
    ) -> Self {
        let side = (front.into(), back.into());
        self.templates.push((name.into(), None, side.0, side.1));
        self
    }

    /// Adds a card template whose id derives from `key`: give a renamed template its old
    /// name as key, and Anki keeps its cards' progress.
    pub fn template_with_id(
        mut self,
        name: impl Into<String>,
        key: impl Into<String>,
        front: impl Into<String>,
        back: impl Into<String>,
    ) -> Self {
        let side = (front.into(), back.into());
        self.templates
            .push((name.into(), Some(key.into()), side.0, side.1));
        self
    }

    /// Sets the CSS shared by the note type's cards (none by default).
    pub fn css(mut self, css: impl Into<String>) -> Self {
        self.css = css.into();
        self
    }

    /// The field Anki's browser sorts by and searches first (default: the first).
    pub fn sort_field(mut self, name: impl Into<String>) -> Self {
        self.sort_field = Some(name.into());
        self
    }

    /// The note type, after [`NoteType::check`]. Fields are Arial 20, as Anki's own.
    pub fn build(self) -> Result<NoteType, NoteTypeError> {
        let key = ids::custom_notetype_key(self.key.as_deref().unwrap_or(&self.name));
        let sort_field = match &self.sort_field {
            None => 0,
            Some(name) => self
                .fields
                .iter()
                .position(|(f, _)| f == name)
                .ok_or_else(|| NoteTypeError::UnknownSortField {
                    notetype: self.name.clone(),
                    field: name.clone(),
                })?,
        };
        let fields = self.fields.into_iter().map(|(name, field_key)| {
            let id = ids::field_id(&key, field_key.as_deref().unwrap_or(&name));
            Field::new(name, id)
        });
        let templates = self
            .templates
            .into_iter()
            .map(|(name, t_key, front, back)| {
                let id = ids::template_id(&key, t_key.as_deref().unwrap_or(&name));
                CardTemplate::new(name, id, front, back)
            });
        let notetype = NoteType {
            id: ids::notetype_id(&key),
            name: self.name,
            kind: self.kind,
            fields: fields.collect(),
            templates: templates.collect(),
            css: self.css,
            sort_field,
            original_stock_kind: 0,
            latex: Latex::default(),
            modified: 0,
        };
        notetype.check()?;
        Ok(notetype)
    }
}

fn duplicate(notetype: &NoteType, part: &'static str, name: &str) -> NoteTypeError {
    NoteTypeError::Duplicate {
        notetype: notetype.name.clone(),
        part,
        name: name.to_string(),
    }
}

/// Fields, and templates, have distinct ids: Anki matches them by id.
fn distinct_ids(notetype: &NoteType) -> Result<(), NoteTypeError> {
    let mut ids = HashSet::new();
    for f in &notetype.fields {
        if !ids.insert(f.id) {
            return Err(duplicate(notetype, "field", &f.name));
        }
    }
    ids.clear();
    for t in &notetype.templates {
        if !ids.insert(t.id) {
            return Err(duplicate(notetype, "template", &t.name));
        }
    }
    Ok(())
}

/// Both sides parse and name only the note type's fields; the front can show one.
fn check_template(
    notetype: &NoteType,
    t: &CardTemplate,
    fields: &BTreeSet<&str>,
) -> Result<(), NoteTypeError> {
    for side in [&t.front, &t.back] {
        let nodes = template::parse(side).map_err(|error| NoteTypeError::Template {
            notetype: notetype.name.clone(),
            template: t.name.clone(),
            error,
        })?;
        if let Some(field) = template::unknown_fields(&nodes, fields).into_iter().next() {
            return Err(NoteTypeError::UnknownField {
                notetype: notetype.name.clone(),
                template: t.name.clone(),
                field,
                fields: notetype.field_names().join(", "),
            });
        }
    }
    if !notetype.can_show(t) {
        return Err(NoteTypeError::NeverShown {
            notetype: notetype.name.clone(),
            template: t.name.clone(),
            cloze: notetype.kind == Kind::Cloze,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stock;

    fn basic() -> NoteTypeBuilder {
        NoteType::builder("Vocab")
            .field("Word")
            .field("Meaning")
            .template("Recognize", "{{Word}}", "{{FrontSide}}<hr>{{Meaning}}")
    }

    #[test]
    fn stock_types_pass() {
        for stock in Stock::ALL {
            stock.notetype().check().unwrap();
        }
    }

    #[test]
    fn ids_follow_keys() {
        let a = basic().build().unwrap();
        assert_eq!(a.id, ids::notetype_id("custom:Vocab"));
        let renamed = NoteType::builder("Vocabulary")
            .id("Vocab")
            .field_with_id("Term", "Word")
            .field("Meaning")
            .template_with_id("Read", "Recognize", "{{Term}}", "{{Meaning}}")
            .build()
            .unwrap();
        assert_eq!(renamed.id, a.id);
        assert_eq!(renamed.fields[0].id, a.fields[0].id);
        assert_eq!(renamed.templates[0].id, a.templates[0].id);
        assert_ne!(a.fields[0].id, a.fields[1].id);
    }

    #[test]
    fn mistakes_are_named() {
        let err = basic()
            .template("Bad", "{{Wrod}}", "{{Meaning}}")
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template `Bad` of note type `Vocab` uses field `Wrod`, which the note type does not have (its fields: Word, Meaning)"
        );
        let err = basic().field("Word").build().unwrap_err();
        assert!(matches!(
            err,
            NoteTypeError::Duplicate { part: "field", .. }
        ));
        let err = basic().field("a:b").build().unwrap_err();
        assert!(matches!(err, NoteTypeError::BadFieldName { .. }));
        let err = basic().template("Empty", "hi", "").build().unwrap_err();
        assert!(matches!(err, NoteTypeError::NeverShown { .. }));
        let err = basic()
            .template("Open", "{{#Word}}", "")
            .build()
            .unwrap_err();
        assert!(matches!(err, NoteTypeError::Template { .. }));
        let err = basic().sort_field("Nope").build().unwrap_err();
        assert!(matches!(err, NoteTypeError::UnknownSortField { .. }));
        assert!(matches!(
            NoteType::builder("x").build(),
            Err(NoteTypeError::Empty(_))
        ));
        let cloze = NoteType::builder("C").cloze().field("Text").template(
            "Cloze",
            "{{cloze:Text}}",
            "{{cloze:Text}}",
        );
        assert_eq!(cloze.clone().build().unwrap().kind, Kind::Cloze);
        let err = cloze.template("Two", "{{cloze:Text}}", "").build();
        assert!(matches!(err, Err(NoteTypeError::ClozeTemplates(_))));
    }
}
