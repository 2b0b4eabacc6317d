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
use crate::deck::{ANKI_KEYS, OWN_KEYS, PARTS};
type JsonMap = serde_json::Map<String, serde_json::Value>;
use crate::error::RichProblem;
use crate::error::{Diagnostic, Problem};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The settings file's name.
pub const FILE: &str = "_deck.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    deck: Option<String>,
    description: Option<String>,
    description_html: Option<String>,
    anki_markdown: Option<bool>,
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
    id: Option<i64>,
    anki: Option<toml::Table>,
    other: Option<toml::Table>,
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
    let description = match (&file.description, file.description_html) {
        (Some(_), Some(_)) => {
            let message = "give `description` (Markdown) or `description_html`, not both";
            return Err((line_of("description_html"), settings_problem(message)));
        }
        (Some(md), None) => description(md).map_err(|p| (line_of("description"), p))?,
        (None, html) => html.unwrap_or_default(),
    };
    let options = match file.options {
        None => None,
        Some(o) => Some(options(o, &deck).map_err(|(key, p)| (line_of(key), p))?),
    };
    let settings = DeckSettings {
        description,
        anki_markdown: file.anki_markdown.unwrap_or(false),
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
    let anki = json_table(o.anki.unwrap_or_default());
    check_anki_keys(&anki).map_err(|m| ("[options.anki", settings_problem(m)))?;
    let other = json_table(o.other.unwrap_or_default());
    let anki_keys =
        merge_other(anki, other).map_err(|m| ("[options.other", settings_problem(m)))?;
    Ok(DeckOptions {
        name: o.name.unwrap_or_else(|| deck.to_string()),
        new_per_day: o.new_per_day,
        reviews_per_day: o.reviews_per_day,
        learning_steps,
        maximum_interval: o.maximum_interval,
        id: o.id,
        anki_keys,
    })
}

fn json_table(table: toml::Table) -> JsonMap {
    match serde_json::to_value(table) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => JsonMap::new(),
    }
}

/// Every key of `[options.anki]` is one of Anki's ([`ANKI_KEYS`]), with a value of its
/// kind; `new`, `rev` and `lapse` are tables of theirs. A key `[options]` names is
/// refused with that name.
fn check_anki_keys(anki: &JsonMap) -> Result<(), String> {
    for (key, value) in anki {
        match (key.as_str(), value) {
            (part, serde_json::Value::Object(table)) if PARTS.contains(&part) => {
                for (sub, value) in table {
                    check_anki_key(&format!("{part}.{sub}"), Some(part), value)?;
                }
            }
            (part, _) if PARTS.contains(&part) => {
                return Err(format!(
                    "`{part}` in [options.anki] is a table of Anki's keys"
                ));
            }
            _ => check_anki_key(key, None, value)?,
        }
    }
    Ok(())
}

/// One key of `[options.anki]`: `path` is `new.bury` for `bury` in `level` `new`.
fn check_anki_key(
    path: &str,
    level: Option<&str>,
    value: &serde_json::Value,
) -> Result<(), String> {
    let named = [
        "new_per_day",
        "learning_steps",
        "reviews_per_day",
        "maximum_interval",
    ];
    if let Some(at) = OWN_KEYS.iter().position(|k| *k == path) {
        return Err(match at.checked_sub(OWN_KEYS.len() - named.len()) {
            Some(i) => format!("`{path}` in [options.anki] is `{}` in [options]", named[i]),
            None => format!("`{path}` is not an option: ankideck sets it (`name` and `id` in [options] name the group)"),
        });
    }
    if let Some((_, kind)) = ANKI_KEYS.iter().find(|(k, _)| *k == path) {
        return match deck::anki_value_fits(*kind, value) {
            true => Ok(()),
            false => Err(format!(
                "`{path}` in [options.anki] takes {}, not {value}",
                kind_name(*kind)
            )),
        };
    }
    let same_level = ANKI_KEYS
        .iter()
        .filter_map(|(k, _)| match (level, k.split_once('.')) {
            (None, None) => Some(*k),
            (Some(part), Some((p, sub))) if p == part => Some(sub),
            _ => None,
        });
    let parts = PARTS.into_iter().filter(|_| level.is_none());
    let key = path.rsplit('.').next().unwrap_or(path);
    let meant = crate::suggest::nearest(key, same_level.chain(parts));
    Err(format!(
        "`{path}` is not one of Anki's deck options keys{} (keys Anki keeps without knowing them go in [options.other])",
        crate::suggest::did_you_mean(meant)
    ))
}

fn kind_name(kind: deck::KeyKind) -> &'static str {
    match kind {
        deck::KeyKind::Bool => "true or false",
        deck::KeyKind::Integer => "a whole number",
        deck::KeyKind::Number => "a number",
        deck::KeyKind::Integers => "a list of whole numbers",
        deck::KeyKind::Numbers => "a list of numbers",
        deck::KeyKind::Text => "a string",
    }
}

/// `[options.anki]` with `[options.other]` added: keys Anki keeps but does not know, not
/// checked, but neither one of Anki's nor ankideck's own.
fn merge_other(anki: JsonMap, other: JsonMap) -> Result<JsonMap, String> {
    let mut keys = anki;
    let taken = |path: &str| {
        let known = ANKI_KEYS.iter().any(|(k, _)| *k == path) || OWN_KEYS.contains(&path);
        match known {
            true => Err(format!("`{path}` in [options.other] is one of Anki's deck options keys: it goes in [options.anki] (or is named in [options])")),
            false => Ok(()),
        }
    };
    for (key, value) in other {
        match (keys.get_mut(&key), value) {
            (None, serde_json::Value::Object(more)) if PARTS.contains(&key.as_str()) => {
                for sub in more.keys() {
                    taken(&format!("{key}.{sub}"))?;
                }
                keys.insert(key, serde_json::Value::Object(more));
            }
            (None, value) => {
                taken(&key)?;
                keys.insert(key, value);
            }
            (Some(serde_json::Value::Object(part)), serde_json::Value::Object(more)) => {
                for (sub, value) in more {
                    taken(&format!("{key}.{sub}"))?;
                    part.insert(sub, value);
                }
            }
            (Some(_), _) => {
                return Err(format!(
                    "`{key}` in [options.other] is in [options.anki] too"
                ))
            }
        }
    }
    Ok(keys)
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
    /// Group id → its values and the file that first gave them.
    groups: HashMap<i64, (DeckOptions, PathBuf)>,
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
            let id = (options.id).unwrap_or_else(|| crate::ids::deck_options_id(&options.name));
            match self.groups.get(&id) {
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
                    self.groups.insert(id, group);
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
            ..DeckSettings::default()
        }
    }

    #[test]
    fn anki_keys_are_checked() {
        let ok = options_toml(
            "[anki]\nautoplay = false\nnew = { bury = true }\n[other]\nnew = { separate = true }\naddon = 1",
        );
        let o = options(ok, "A").unwrap();
        assert_eq!(o.anki_keys["new"]["bury"], true);
        assert_eq!(o.anki_keys["new"]["separate"], true);
        assert_eq!(o.anki_keys["addon"], 1);
        let problem = |toml: &str| {
            let (key, p) = options(options_toml(toml), "A").unwrap_err();
            (key, p.to_string())
        };
        let (key, message) = problem("[anki]\nautoplya = true");
        assert_eq!(key, "[options.anki");
        assert!(message.contains("`autoplay`"), "{message}");
        let (_, message) = problem("[anki]\nnew = { bruy = true }");
        assert!(
            message.contains("`new.bruy`") && message.contains("`bury`"),
            "{message}"
        );
        let (_, message) = problem("[anki]\nnew = { perDay = 3 }");
        assert!(message.contains("`new_per_day` in [options]"), "{message}");
        let (_, message) = problem("[anki]\nid = 3");
        assert!(message.contains("ankideck sets it"), "{message}");
        let (_, message) = problem("[anki]\nautoplay = 1");
        assert!(message.contains("takes true or false"), "{message}");
        let (key, message) = problem("[other]\nautoplay = true");
        assert_eq!(key, "[options.other");
        assert!(message.contains("goes in [options.anki]"), "{message}");
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
