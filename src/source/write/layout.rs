//! Where things go in an unpacked source folder, and the small spellings they need
//! (YAML and TOML strings, tag lists, `_deck.toml`).

use crate::deck::DeckSettings;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The folder directly in SOURCE whose files are packaged under their own names.
pub const MEDIA_FOLDER: &str = crate::source::media::OWN_NAMES_FOLDER;

/// Paths handed out so far, so that no two decks share one (compared as a
/// case-insensitive file system would).
#[derive(Default)]
pub(super) struct Paths {
    taken: HashSet<String>,
}

impl Paths {
    /// The card file of `deck`: one folder per parent level, `LEVEL.md` for the last.
    pub fn card_file(&mut self, deck: &str) -> PathBuf {
        let base = deck_path(deck);
        self.unique(|n| match n {
            0 => named_card_file(deck),
            n => PathBuf::from(format!("{} ({n}).md", base.display())),
        })
    }

    /// The card file of the `index`th of `count` runs of notes, in deck `deck`, when
    /// the decks' own names would not be read in the notes' order: one folder, the
    /// files numbered.
    pub fn numbered_card_file(&mut self, index: usize, count: usize, deck: &str) -> PathBuf {
        let width = count.to_string().len();
        let name = deck
            .split("::")
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" - ");
        let base = format!("{index:0width$} {}", safe_name(&name));
        self.unique(|n| match n {
            0 => PathBuf::from(format!("{base}.md")),
            n => PathBuf::from(format!("{base} ({n}).md")),
        })
    }

    /// The `_deck.toml` of `deck`: in the folder named after it.
    pub fn deck_settings(&mut self, deck: &str) -> PathBuf {
        let base = deck_path(deck);
        self.unique(|n| match n {
            0 => base.join(crate::source::deck_settings::FILE),
            n => PathBuf::from(format!("{} ({n})", base.display()))
                .join(crate::source::deck_settings::FILE),
        })
    }

    fn unique(&mut self, candidate: impl Fn(usize) -> PathBuf) -> PathBuf {
        (0..)
            .map(candidate)
            .find(|p| self.taken.insert(p.to_string_lossy().to_lowercase()))
            .expect("some candidate is free")
    }
}

/// Whether card files named after `decks` (in this order, each once) are read in this
/// order: the source walk reads paths sorted.
pub(super) fn read_in_order<'a>(decks: impl Iterator<Item = &'a str>) -> bool {
    let mut paths = Paths::default();
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for deck in decks {
        if !seen.insert(crate::deck::key(deck)) {
            return false;
        }
        files.push(paths.card_file(deck));
    }
    files.windows(2).all(|w| w[0] < w[1])
}

/// The path of `deck`'s card file when the files are named after their decks (before
/// any ` (N)` that keeps it apart from another deck's): the source walk reads the
/// files in the order of these paths.
pub fn named_card_file(deck: &str) -> PathBuf {
    PathBuf::from(format!("{}.md", deck_path(deck).display()))
}

/// A deck name as a relative path: each level one file-name-safe part.
fn deck_path(deck: &str) -> PathBuf {
    deck.split("::")
        .map(|level| safe_name(level.trim()))
        .collect()
}

/// A name a file system takes and the source walk reads: no separators or characters
/// Windows refuses, no leading `.` or `_` (hidden, skipped), at most 80 bytes.
pub(super) fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if out.starts_with(['.', '_']) {
        out.insert(0, '-');
    }
    let mut end = out.len().min(80);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    let out = out.trim_end_matches(['.', ' ']).to_string();
    if out.is_empty() {
        "-".into()
    } else {
        out
    }
}

/// A string as YAML (and TOML) reads it back exactly: JSON's double-quoted form.
pub(super) fn yaml_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('\u{7f}', "\\u007f")
}

/// A note's tags as its `tags:` setting: space-separated, or a quoted list when a tag
/// holds a comma, quote or bracket.
pub(super) fn tag_list(tags: &[String]) -> String {
    let plain = |t: &String| !t.contains([',', '"', '\'', '[', ']']);
    if tags.iter().all(plain) && !tags.first().is_some_and(|t| t.starts_with('[')) {
        return tags.join(" ");
    }
    let quoted: Vec<String> = tags
        .iter()
        .map(|t| match t.contains('"') {
            true => format!("'{t}'"),
            false => format!("\"{t}\""),
        })
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// A deck's `_deck.toml`: its name, description (as HTML, byte for byte) and options,
/// every key of Anki's included.
pub(super) fn deck_toml(deck: &str, settings: &DeckSettings) -> String {
    let mut out = format!("deck = {}\n", yaml_string(deck));
    if !settings.description.is_empty() {
        let _ = writeln!(
            out,
            "description_html = {}",
            toml_text(&settings.description)
        );
    }
    if settings.anki_markdown {
        out.push_str("anki_markdown = true\n");
    }
    let Some(options) = &settings.options else {
        return out;
    };
    let _ = writeln!(out, "\n[options]\nname = {}", yaml_string(&options.name));
    if let Some(id) = options.id {
        let _ = writeln!(out, "id = {id}");
    }
    if let Some(n) = options.new_per_day {
        let _ = writeln!(out, "new_per_day = {n}");
    }
    if let Some(n) = options.reviews_per_day {
        let _ = writeln!(out, "reviews_per_day = {n}");
    }
    if let Some(steps) = &options.learning_steps {
        let steps: Vec<String> = steps.iter().map(|s| format!("{s:?}")).collect();
        let _ = writeln!(out, "learning_steps = [{}]", steps.join(", "));
    }
    if let Some(n) = options.maximum_interval {
        let _ = writeln!(out, "maximum_interval = {n}");
    }
    let (anki, other) = split_anki_keys(&options.anki_keys);
    write_table(&mut out, "options.anki", &anki);
    write_table(&mut out, "options.other", &other);
    out
}

type JsonMap = serde_json::Map<String, serde_json::Value>;

/// An options group's Anki keys: those Anki knows (`[options.anki]`), and the others
/// it keeps (`[options.other]`), `new`, `rev` and `lapse` split key by key.
fn split_anki_keys(keys: &JsonMap) -> (JsonMap, JsonMap) {
    let known = |path: &str| crate::deck::ANKI_KEYS.iter().any(|(k, _)| *k == path);
    let (mut anki, mut other) = (JsonMap::new(), JsonMap::new());
    for (key, value) in keys {
        match value {
            serde_json::Value::Object(part) if crate::deck::PARTS.contains(&key.as_str()) => {
                let (mut a, mut o) = (JsonMap::new(), JsonMap::new());
                for (sub, value) in part {
                    let to = if known(&format!("{key}.{sub}")) {
                        &mut a
                    } else {
                        &mut o
                    };
                    to.insert(sub.clone(), value.clone());
                }
                for (map, part) in [(&mut anki, a), (&mut other, o)] {
                    if !part.is_empty() {
                        map.insert(key.clone(), part.into());
                    }
                }
            }
            _ if known(key) => {
                anki.insert(key.clone(), value.clone());
            }
            _ => {
                other.insert(key.clone(), value.clone());
            }
        }
    }
    (anki, other)
}

/// `[name]` with the keys of `map`, its objects as tables below it. TOML has no null:
/// a null value is left out, as Anki reads a missing key as it reads null.
fn write_table(out: &mut String, name: &str, map: &JsonMap) {
    if map.is_empty() {
        return;
    }
    let _ = write!(out, "\n[{name}]\n");
    let mut tables = Vec::new();
    for (key, value) in map {
        match value {
            serde_json::Value::Object(table) => tables.push((key, table)),
            value => {
                if let Some(value) = toml_value(value) {
                    let _ = writeln!(out, "{} = {value}", toml_key(key));
                }
            }
        }
    }
    for (key, table) in tables {
        write_table(out, &format!("{name}.{}", toml_key(key)), table);
    }
}

fn toml_key(key: &str) -> String {
    let bare =
        !key.is_empty() && (key.chars()).all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match bare {
        true => key.to_string(),
        false => yaml_string(key),
    }
}

/// A JSON value as TOML reads it back to the same JSON; `None` for what TOML cannot
/// say (null).
fn toml_value(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Array(items) => {
            let items: Option<Vec<String>> = items.iter().map(toml_value).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Object(map) => {
            let pairs: Vec<String> = (map.iter())
                .filter_map(|(k, v)| Some(format!("{} = {}", toml_key(k), toml_value(v)?)))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
    })
}

/// A string as TOML reads it back exactly: a multi-line literal string when that
/// keeps it (lines of text without `'''`), else a one-line basic string.
fn toml_text(s: &str) -> String {
    let plain = !s.contains("'''")
        && !s.ends_with('\'')
        && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    match plain && s.contains('\n') {
        true => format!("'''\n{s}'''"),
        false => yaml_string(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deck_paths_are_safe_and_distinct() {
        let mut paths = Paths::default();
        assert_eq!(paths.card_file("A::B"), PathBuf::from("A/B.md"));
        assert_eq!(paths.card_file("a::b"), PathBuf::from("a/b (1).md"));
        assert_eq!(paths.card_file("_x::.y"), PathBuf::from("-_x/-.y.md"));
        assert_eq!(paths.card_file("a/b: c?"), PathBuf::from("a_b_ c_.md"));
        assert_eq!(safe_name("..."), "-");
    }

    #[test]
    fn toml_strings_read_back() {
        for s in [
            "<b>x</b>",
            "<p>a</p>\n\n",
            "\nlead",
            "a\r\nb",
            "end'",
            "has ''' quotes\n",
            "tab\there\n\\ back",
            "\u{7f}\n",
        ] {
            let text = format!("v = {}", toml_text(s));
            let table: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(table["v"].as_str(), Some(s), "{text}");
        }
        assert!(toml_text("a\nb").starts_with("'''"));
    }

    #[test]
    fn tag_lists_read_back() {
        for tags in [vec!["a", "b::c"], vec!["a,b", "c"], vec!["x\"y", "[z"]] {
            let tags: Vec<String> = tags.into_iter().map(String::from).collect();
            assert_eq!(crate::note::split_tag_list(&tag_list(&tags)), tags);
        }
    }
}
