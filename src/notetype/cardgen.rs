//! Which cards a note has, decided as Anki decides it.

use super::template::{self, Node, TemplateError};
use super::{cloze, Kind, NoteType};
use std::collections::{BTreeSet, HashSet};

/// Anki's `req` entry for one template: `(ord, "any" | "all" | "none", field ords)`.
pub(crate) type Requirement = (u16, &'static str, Vec<usize>);

/// See [`NoteType::cloze_display`]: field indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClozeDisplay {
    /// Fields whose deletions a card's front shows through `{{cloze:…}}`.
    pub on_front: BTreeSet<usize>,
    /// Fields a template shows as plain text, deletions and all.
    pub as_written: BTreeSet<usize>,
}

/// Why a note has no cards or a note type is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// A card front that Anki's template language cannot parse.
    #[error("template `{template}` of note type `{notetype}`: {error}")]
    Template {
        /// The note type's name.
        notetype: String,
        /// The template's name.
        template: String,
        /// What is wrong with it.
        error: TemplateError,
    },
    /// Every card front would be empty, so Anki would make no card.
    #[error("the note would have no cards: every field its card fronts show is empty")]
    NoCards,
    /// A note of a cloze type without a cloze deletion.
    #[error("a cloze note needs at least one deletion such as `{{{{c1::answer}}}}`")]
    NoClozes,
    /// An empty card (`empty-cards:`) beyond the note type's templates.
    #[error("card {number} cannot be kept: the note type has {}", card_types(*count))]
    NoTemplate {
        /// The card's number, from 1.
        number: u16,
        /// How many templates the note type has.
        count: usize,
    },
    /// A card the note lacks (`skip-cards:`) beyond the note type's templates.
    #[error("card {number} cannot be skipped: the note type has {}", card_types(*count))]
    CannotSkip {
        /// The card's number, from 1.
        number: u16,
        /// How many templates the note type has.
        count: usize,
    },
    /// A card named both by `empty-cards:` and by `skip-cards:`.
    #[error("card {number} is both kept (`empty-cards:`) and skipped (`skip-cards:`)")]
    KeptAndSkipped {
        /// The card's number, from 1.
        number: u16,
    },
    /// `skip-cards:` names every card the note has: Anki keeps no note without cards.
    #[error("`skip-cards:` skips every card of the note ({cards}), but Anki has no note without cards: deleting a note's last card deletes the note, and Check Database gives a note without cards its cards again")]
    EverySkipped {
        /// The note's cards without `skip-cards:`, numbered from 1.
        cards: String,
    },
}

/// `count` card types, in words.
fn card_types(count: usize) -> String {
    match count {
        1 => "1 card type".into(),
        n => format!("{n} card types"),
    }
}

/// The highest card number a cloze note can have, as Anki caps it.
pub const MAX_CLOZE: u16 = 500;

impl NoteType {
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
                let nonempty: HashSet<&str> = self
                    .fields
                    .iter()
                    .zip(fields)
                    .filter(|(_, value)| !crate::text::field_is_empty(value))
                    .map(|(f, _)| f.name.as_str())
                    .collect();
                let is_field = |name: &str| self.field_index(name).is_some();
                let filled = |name: &str| {
                    nonempty.contains(name) || template::is_filled_special(name, is_field, has_tags)
                };
                let ords: Vec<u16> = fronts
                    .iter()
                    .enumerate()
                    .filter(|(_, nodes)| template::renders_with(nodes, &filled))
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
                    .flat_map(|value| cloze::cloze_numbers(value))
                    .collect();
                if numbers.is_empty() {
                    return Err(CardError::NoClozes);
                }
                Ok(numbers
                    .into_iter()
                    .map(|n| n.min(MAX_CLOZE) - 1)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect())
            }
        }
    }

    /// Where a cloze note type's cards show each field: the fields a front shows through
    /// `{{cloze:…}}`, which hides the card's deletions, and the fields a template shows
    /// without that filter, where Anki shows a deletion as written, braces and all.
    pub fn cloze_display(&self) -> ClozeDisplay {
        fn walk(nodes: &[Node], cloze: &mut BTreeSet<String>, plain: &mut BTreeSet<String>) {
            for node in nodes {
                match node {
                    Node::Text(_) | Node::Comment(_) => {}
                    Node::Replacement { field, filters } => {
                        match filters.iter().any(|f| f == "cloze") {
                            true => cloze.insert(field.clone()),
                            false => plain.insert(field.clone()),
                        };
                    }
                    Node::Section { children, .. } => walk(children, cloze, plain),
                }
            }
        }
        let (mut on_front, mut as_written) = (BTreeSet::new(), BTreeSet::new());
        let mut on_back = BTreeSet::new();
        for t in &self.templates {
            if let Ok(front) = template::parse_cached(&t.front) {
                walk(&front, &mut on_front, &mut as_written);
            }
            if let Ok(back) = template::parse_cached(&t.back) {
                walk(&back, &mut on_back, &mut as_written);
            }
        }
        let indexes = |names: BTreeSet<String>| {
            names
                .iter()
                .filter_map(|name| self.field_index(name))
                .collect()
        };
        ClozeDisplay {
            on_front: indexes(on_front),
            as_written: indexes(as_written),
        }
    }

    /// The ordinals of a note's cards: those its fields make ([`Self::card_ordinals`])
    /// and `empty`, cards it keeps although their fronts are empty (as Anki keeps them
    /// until Tools › Empty Cards deletes them, and gives a note whose fronts are all empty
    /// its first card), but not `skipped`, cards it lacks although its fields make them
    /// (a package made by Anki 2.0's rules or another tool, a card deleted in Anki). With
    /// `empty` cards, fields that make none are no error; a number beyond the templates,
    /// a card both kept and skipped and a note left without cards are.
    pub fn note_ordinals(
        &self,
        fields: &[String],
        has_tags: bool,
        empty: &[u16],
        skipped: &[u16],
    ) -> Result<Vec<u16>, CardError> {
        let made = self.card_ordinals(fields, has_tags);
        if empty.is_empty() && skipped.is_empty() {
            return made;
        }
        let count = self.max_cards();
        let beyond = |ords: &[u16]| ords.iter().find(|&&o| usize::from(o) >= count).copied();
        if let Some(ord) = beyond(empty) {
            return Err(CardError::NoTemplate {
                number: ord + 1,
                count,
            });
        }
        if let Some(ord) = beyond(skipped) {
            return Err(CardError::CannotSkip {
                number: ord + 1,
                count,
            });
        }
        if let Some(&ord) = skipped.iter().find(|o| empty.contains(o)) {
            return Err(CardError::KeptAndSkipped { number: ord + 1 });
        }
        let mut ords = match made {
            Ok(ords) => ords,
            Err(CardError::NoCards | CardError::NoClozes) if !empty.is_empty() => Vec::new(),
            Err(e) => return Err(e),
        };
        ords.extend_from_slice(empty);
        ords.sort_unstable();
        ords.dedup();
        let all = ords.clone();
        ords.retain(|o| !skipped.contains(o));
        if ords.is_empty() {
            let cards: Vec<String> = all.iter().map(|o| (o + 1).to_string()).collect();
            return Err(CardError::EverySkipped {
                cards: cards.join(", "),
            });
        }
        Ok(ords)
    }

    /// The special fields Anki counts as non-empty for a note of this type
    /// ([`template::filled_specials`]).
    pub(crate) fn filled_specials(
        &self,
        has_tags: bool,
    ) -> impl Iterator<Item = &'static str> + '_ {
        template::filled_specials(|name| self.field_index(name).is_some(), has_tags)
    }

    /// How many cards a note of this type can have: one per template, or a cloze
    /// note's [`MAX_CLOZE`].
    pub(crate) fn max_cards(&self) -> usize {
        match self.kind {
            Kind::Standard => self.templates.len(),
            Kind::Cloze => usize::from(MAX_CLOZE),
        }
    }

    /// Anki's `req` for old clients: per template, which fields make it non-empty.
    pub(crate) fn requirements(&self) -> Result<Vec<Requirement>, CardError> {
        let fronts = self.parsed_fronts()?;
        if self.kind == Kind::Cloze {
            return Ok(vec![(0, "any", vec![0])]);
        }
        let names = self.field_names();
        // The special fields count as always filled here (not `Tags`).
        let specials: Vec<&str> = self.filled_specials(false).collect();
        Ok(fronts
            .iter()
            .enumerate()
            .map(|(ord, nodes)| {
                let all: HashSet<&str> = names.iter().chain(&specials).copied().collect();
                if !template::renders_with_fields(nodes, &all) {
                    return (ord as u16, "none", vec![]);
                }
                // As current Anki computes it: "any" when some field alone shows the card,
                // otherwise "all" with the fields the card cannot do without.
                let any: Vec<usize> = (0..names.len())
                    .filter(|&i| {
                        let one = std::iter::once(names[i]).chain(specials.iter().copied());
                        template::renders_with_fields(nodes, &one.collect())
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
