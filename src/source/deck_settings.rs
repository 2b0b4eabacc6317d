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

/// Every `_deck.toml` below `root`, by deck name. A file with a problem is left out
/// (one problem each); so is one that clashes with a file before it.
pub(super) fn load(
    root: &Path,
    files: Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, DeckSettings)> {
    let mut merged = Merged::default();
    for path in files {
        let read = read_file(root, &path)
            .and_then(|(deck, settings)| merged.add(&path, deck, settings).map_err(|p| (1, p)));
        if let Err((line, problem)) = read {
            diagnostics.push(Diagnostic::at_line_start(path, line, problem));
        }
    }
    merged.decks.into_iter().collect()
}

/// A problem and its line.
type Located = (usize, Problem);

fn settings_problem(message: impl Into<String>) -> Problem {
    RichProblem::DeckSettings(message.into()).into()
}

/// One file's deck and settings.
fn read_file(root: &Path, path: &Path) -> Result<(String, DeckSettings), Located> {
    let text =
        std::fs::read_to_string(path).map_err(|e| (0, Problem::Unreadable(e.to_string())))?;
    let file: File = parse_toml(&text).map_err(|(line, p)| (line, p.into()))?;
    let line_of = |key: &str| {
        text.find(key)
            .map_or(1, |at| text[..at].matches('\n').count() + 1)
    };
    let deck = deck_name(
        file.deck.as_deref(),
        &folder_levels(root, path),
        line_of("deck"),
    )?;
    let description = match &file.description {
        None => String::new(),
        Some(md) => description(md).map_err(|p| (line_of("description"), p))?,
    };
    let options = match file.options {
        None => None,
        Some(o) => Some(options(o, &deck).map_err(|(key, p)| (line_of(key), p))?),
    };
    let settings = DeckSettings {
        description,
        options,
    };
    Ok((deck, settings))
}

/// The folders from `root` down to the file's, one deck level each.
fn folder_levels(root: &Path, path: &Path) -> Vec<String> {
    path.parent()
        .and_then(|p| p.strip_prefix(root).ok())
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The deck a file describes: the one it names, else its folder's. The source folder's
/// own file has no folder deck, so it must name one (a problem of the whole file, line 1);
/// a bad name is a problem of `deck_line`.
fn deck_name(named: Option<&str>, folder: &[String], deck_line: usize) -> Result<String, Located> {
    let deck = match named {
        Some(d) => d.to_string(),
        None if folder.is_empty() => {
            let message = "the source folder's own _deck.toml must say which deck it describes: `deck = \"Name\"`";
            return Err((1, settings_problem(message)));
        }
        None => folder.join("::"),
    };
    deck::normalize_name(&deck).map_err(|e| (deck_line, e.into()))
}

/// The description as HTML; it may show no media, which Anki does not import for decks.
fn description(markdown: &str) -> Result<String, Problem> {
    let mut no_media = |reference: &str| -> Result<String, Problem> {
        Err(settings_problem(format!(
            "deck descriptions cannot show media files (`{reference}`): Anki does not import media for them"
        )))
    };
    markdown::render_block(markdown, &mut no_media)
}

/// The options group, named after the deck unless it has a name; on a problem, the key
/// whose line it is on.
fn options(o: Options, deck: &str) -> Result<DeckOptions, (&'static str, Problem)> {
    let learning_steps = match &o.learning_steps {
        None => None,
        Some(list) => {
            Some(learning_steps(list).map_err(|m| ("learning_steps", settings_problem(m)))?)
        }
    };
    if o.maximum_interval == Some(0) {
        let problem = settings_problem("maximum_interval is at least 1 day");
        return Err(("maximum_interval", problem));
    }
    Ok(DeckOptions {
        name: o.name.unwrap_or_else(|| deck.to_string()),
        new_per_day: o.new_per_day,
        reviews_per_day: o.reviews_per_day,
        learning_steps,
        maximum_interval: o.maximum_interval,
    })
}

/// Learning steps in minutes: at least one, each a duration.
fn learning_steps(list: &[Step]) -> Result<Vec<f64>, String> {
    let steps = list
        .iter()
        .map(minutes)
        .collect::<Result<Vec<f64>, String>>()?;
    if steps.is_empty() {
        return Err("learning_steps needs at least one step".into());
    }
    Ok(steps)
}

/// The settings of every file so far. Deck names match ignoring case, as in Anki, so a
/// deck has one file; an options group is one set of values, wherever it is given.
#[derive(Default)]
struct Merged {
    decks: BTreeMap<String, DeckSettings>,
    /// Deck key → the file that has its settings.
    files: HashMap<String, PathBuf>,
    /// Group name → its values and the file that first gave them.
    groups: HashMap<String, (DeckOptions, PathBuf)>,
}

impl Merged {
    /// Adds one file's settings, unless its deck has some already or its options group
    /// has other values.
    fn add(&mut self, path: &Path, deck: String, settings: DeckSettings) -> Result<(), Problem> {
        if let Some(other) = self.files.get(&deck::key(&deck)) {
            let message = format!("deck `{deck}` already has settings in {}", other.display());
            return Err(settings_problem(message));
        }
        if let Some(options) = &settings.options {
            match self.groups.get(&options.name) {
                Some((other, file)) if other != options => {
                    let message = format!(
                        "options group `{}` is given other values in {}",
                        options.name,
                        file.display()
                    );
                    return Err(settings_problem(message));
                }
                Some(_) => {}
                None => {
                    let group = (options.clone(), path.to_path_buf());
                    self.groups.insert(options.name.clone(), group);
                }
            }
        }
        self.files.insert(deck::key(&deck), path.to_path_buf());
        self.decks.insert(deck, settings);
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Step {
        Step::Text(s.into())
    }

    #[test]
    fn steps_take_units_or_minutes() {
        assert_eq!(minutes(&text("1m")), Ok(1.0));
        assert_eq!(minutes(&text("10m")), Ok(10.0));
        assert_eq!(minutes(&text("1h")), Ok(60.0));
        assert_eq!(minutes(&text("1d")), Ok(1440.0));
        assert_eq!(minutes(&text("30s")), Ok(0.5));
        assert_eq!(minutes(&text(" 15 ")), Ok(15.0));
        assert_eq!(minutes(&text("1.5 h")), Ok(90.0));
        assert_eq!(minutes(&Step::Minutes(2.5)), Ok(2.5));
    }

    #[test]
    fn steps_must_be_positive_durations() {
        for bad in ["0m", "-1m", "1w", "m", "", "10 mins", "inf", "NaN"] {
            let message = minutes(&text(bad)).unwrap_err();
            assert_eq!(
                message,
                format!(
                    "learning step \"{bad}\" is not a duration such as \"10m\", \"1h\" or \"1d\""
                )
            );
        }
        assert!(minutes(&Step::Minutes(0.0))
            .unwrap_err()
            .contains("step 0 is"));
        assert!(minutes(&Step::Minutes(f64::INFINITY)).is_err());
    }

    #[test]
    fn learning_steps_need_one_step() {
        assert_eq!(
            learning_steps(&[text("1m"), text("1h")]),
            Ok(vec![1.0, 60.0])
        );
        assert_eq!(
            learning_steps(&[]).unwrap_err(),
            "learning_steps needs at least one step"
        );
        assert!(learning_steps(&[text("1m"), text("x")]).is_err());
    }

    fn options_toml(toml: &str) -> Options {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn options_are_named_after_the_deck_by_default() {
        let o = options(
            options_toml("new_per_day = 5\nlearning_steps = [1, \"10m\"]"),
            "A::B",
        )
        .unwrap();
        assert_eq!(o.name, "A::B");
        assert_eq!(o.new_per_day, Some(5));
        assert_eq!(o.learning_steps, Some(vec![1.0, 10.0]));
        let o = options(options_toml("name = \"Pace\""), "A").unwrap();
        assert_eq!((o.name.as_str(), o.learning_steps), ("Pace", None));
    }

    #[test]
    fn option_limits_name_their_key() {
        let (key, _) = options(options_toml("maximum_interval = 0"), "A").unwrap_err();
        assert_eq!(key, "maximum_interval");
        let (key, _) = options(options_toml("learning_steps = []"), "A").unwrap_err();
        assert_eq!(key, "learning_steps");
        assert!(options(options_toml("maximum_interval = 1"), "A").is_ok());
        assert!(toml::from_str::<Options>("new_per_day = -1").is_err());
        assert!(toml::from_str::<Options>("new_per_dya = 1").is_err());
    }

    #[test]
    fn the_deck_is_named_or_the_folders() {
        let folder = ["Languages".to_string(), "French".to_string()];
        assert_eq!(
            deck_name(None, &folder, 9),
            Ok("Languages::French".to_string())
        );
        assert_eq!(deck_name(Some("X"), &folder, 9), Ok("X".to_string()));
        let (line, problem) = deck_name(None, &[], 9).unwrap_err();
        assert_eq!(line, 1);
        assert!(problem.to_string().contains("must say which deck"));
        let (line, _) = deck_name(Some("a\u{1}b"), &[], 9).unwrap_err();
        assert_eq!(line, 9);
        let root = Path::new("/src");
        assert_eq!(
            folder_levels(root, Path::new("/src/a/b/_deck.toml")),
            ["a", "b"]
        );
        assert!(folder_levels(root, Path::new("/src/_deck.toml")).is_empty());
    }

    fn with_group(name: &str, new_per_day: u32) -> DeckSettings {
        DeckSettings {
            description: String::new(),
            options: Some(DeckOptions {
                name: name.into(),
                new_per_day: Some(new_per_day),
                ..DeckOptions::default()
            }),
        }
    }

    #[test]
    fn a_deck_has_one_settings_file_whatever_the_case() {
        let mut merged = Merged::default();
        let plain = DeckSettings::default();
        merged
            .add(Path::new("a.toml"), "French".into(), plain.clone())
            .unwrap();
        let problem = merged
            .add(Path::new("b.toml"), "FRENCH".into(), plain)
            .unwrap_err();
        assert!(problem
            .to_string()
            .contains("deck `FRENCH` already has settings in a.toml"));
        assert_eq!(merged.decks.len(), 1);
    }

    #[test]
    fn an_options_group_has_one_set_of_values() {
        let mut merged = Merged::default();
        merged
            .add(Path::new("a.toml"), "A".into(), with_group("Pace", 5))
            .unwrap();
        merged
            .add(Path::new("b.toml"), "B".into(), with_group("Pace", 5))
            .unwrap();
        let problem = merged
            .add(Path::new("c.toml"), "C".into(), with_group("Pace", 6))
            .unwrap_err();
        assert!(problem
            .to_string()
            .contains("options group `Pace` is given other values in a.toml"));
        let decks: Vec<&String> = merged.decks.keys().collect();
        assert_eq!(decks, ["A", "B"]);
    }
}
