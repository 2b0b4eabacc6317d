//! `_deck.toml`: a deck's description (Markdown) and options, kept beside its cards.
//!
//! ```toml
//! deck = "Languages::French"   # default: the deck named after this file's folder
//! description = "Words from **Le Petit Prince**."
//!
//! [options]                    # Anki's deck options group ("preset")
//! name = "French pace"         # default: the deck's name; decks naming one group share it
//! new_per_day = 15
//! reviews_per_day = 150
//! learning_steps = ["1m", "10m", "1h"]
//! maximum_interval = 365       # days
//! ```

use super::markdown;
use super::notetypes::parse_toml;
use crate::deck;
use crate::deck::{DeckOptions, DeckSettings};
use crate::error::RichProblem;
use crate::error::{Diagnostic, Problem};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The settings file's name.
pub const FILE: &str = "_deck.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    deck: Option<String>,
    description: Option<String>,
    options: Option<Options>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    name: Option<String>,
    new_per_day: Option<u32>,
    reviews_per_day: Option<u32>,
    learning_steps: Option<Vec<Step>>,
    maximum_interval: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Step {
    Minutes(f64),
    Text(String),
}

/// Every `_deck.toml` below `root`, by deck name.
pub(super) fn load(
    root: &Path,
    files: Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, DeckSettings)> {
    let mut out: BTreeMap<String, (DeckSettings, PathBuf)> = BTreeMap::new();
    // Deck names match ignoring case, as in Anki; an options group is one set of values.
    let mut decks_seen: HashMap<String, PathBuf> = HashMap::new();
    let mut groups: HashMap<String, (DeckOptions, PathBuf)> = HashMap::new();
    for path in files {
        let mut problem = |line: usize, p: Problem| {
            diagnostics.push(Diagnostic::at_line_start(path.clone(), line, p))
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problem(0, Problem::Unreadable(e.to_string()));
                continue;
            }
        };
        let file: File = match parse_toml(&text) {
            Ok(f) => f,
            Err((line, p)) => {
                problem(line, p.into());
                continue;
            }
        };
        let line_of = |key: &str| {
            text.find(key)
                .map_or(1, |at| text[..at].matches('\n').count() + 1)
        };
        let folder_deck: Vec<String> = path
            .parent()
            .and_then(|p| p.strip_prefix(root).ok())
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let deck = match file.deck.clone() {
            Some(d) => d,
            None if folder_deck.is_empty() => {
                let message = "the source folder's own _deck.toml must say which deck it describes: `deck = \"Name\"`";
                problem(1, RichProblem::DeckSettings(message.into()).into());
                continue;
            }
            None => folder_deck.join("::"),
        };
        let deck = match deck::normalize_name(&deck) {
            Ok(d) => d,
            Err(e) => {
                problem(line_of("deck"), e.into());
                continue;
            }
        };
        let description = match &file.description {
            None => String::new(),
            Some(md) => {
                let mut no_media = |reference: &str| -> Result<String, Problem> {
                    Err(RichProblem::DeckSettings(format!(
                        "deck descriptions cannot show media files (`{reference}`): Anki does not import media for them"
                    ))
                    .into())
                };
                match markdown::render_block(md, &mut no_media) {
                    Ok(html) => html,
                    Err(p) => {
                        problem(line_of("description"), p);
                        continue;
                    }
                }
            }
        };
        let options = match file.options {
            None => None,
            Some(o) => {
                let mut steps = None;
                if let Some(list) = &o.learning_steps {
                    match list
                        .iter()
                        .map(minutes)
                        .collect::<Result<Vec<f64>, String>>()
                    {
                        Ok(s) if !s.is_empty() => steps = Some(s),
                        Ok(_) => {
                            problem(
                                line_of("learning_steps"),
                                RichProblem::DeckSettings(
                                    "learning_steps needs at least one step".into(),
                                )
                                .into(),
                            );
                            continue;
                        }
                        Err(message) => {
                            problem(
                                line_of("learning_steps"),
                                RichProblem::DeckSettings(message).into(),
                            );
                            continue;
                        }
                    }
                }
                if o.maximum_interval == Some(0) {
                    problem(
                        line_of("maximum_interval"),
                        RichProblem::DeckSettings("maximum_interval is at least 1 day".into())
                            .into(),
                    );
                    continue;
                }
                Some(DeckOptions {
                    name: o.name.unwrap_or_else(|| deck.clone()),
                    new_per_day: o.new_per_day,
                    reviews_per_day: o.reviews_per_day,
                    learning_steps: steps,
                    maximum_interval: o.maximum_interval,
                })
            }
        };
        if let Some(other) = decks_seen.get(&deck::key(&deck)) {
            let message = format!("deck `{deck}` already has settings in {}", other.display());
            problem(1, RichProblem::DeckSettings(message).into());
            continue;
        }
        if let Some(options) = &options {
            match groups.get(&options.name) {
                Some((other, file)) if other != options => {
                    let message = format!(
                        "options group `{}` is given other values in {}",
                        options.name,
                        file.display()
                    );
                    problem(1, RichProblem::DeckSettings(message).into());
                    continue;
                }
                Some(_) => {}
                None => {
                    groups.insert(options.name.clone(), (options.clone(), path.clone()));
                }
            }
        }
        decks_seen.insert(deck::key(&deck), path.clone());
        out.insert(
            deck,
            (
                DeckSettings {
                    description,
                    options,
                },
                path.clone(),
            ),
        );
    }
    out.into_iter().map(|(deck, (s, _))| (deck, s)).collect()
}

/// `"10m"`, `"1h"`, `"2d"`, `"30s"` or a number of minutes.
fn minutes(step: &Step) -> Result<f64, String> {
    let shown = match step {
        Step::Minutes(m) => m.to_string(),
        Step::Text(t) => format!("\"{t}\""),
    };
    let bad =
        || format!("learning step {shown} is not a duration such as \"10m\", \"1h\" or \"1d\"");
    let value = match step {
        Step::Minutes(m) => *m,
        Step::Text(t) => {
            let t = t.trim();
            let (number, unit) = t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
            let number: f64 = number.trim().parse().map_err(|_| bad())?;
            number
                * match unit {
                    "s" => 1.0 / 60.0,
                    "" | "m" => 1.0,
                    "h" => 60.0,
                    "d" => 1440.0,
                    _ => return Err(bad()),
                }
        }
    };
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(bad())
    }
}
