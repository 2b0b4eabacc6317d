//! The pages of a preview: `index.html` and one page per source file, each card side in
//! a frame of its own (its note type's CSS applies to it alone, as in Anki's reviewer).

use super::{math, relative, write, CardData, Options};
use crate::error::{Diagnostic, Result};
use crate::note::SourceNote;
use crate::render::Play;
use crate::text::{escape_attr, escape_html};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The page's own look: header, notes, the frames; night mode and phone width.
const SITE_CSS: &str = include_str!("site.css");
/// Fits each frame to its card, and the night-mode and phone-width switches.
const SITE_JS: &str = include_str!("site.js");
/// What Anki's reviewer adds around a card: its night-mode colours, the type-in box.
const REVIEWER_CSS: &str = include_str!("reviewer.css");

/// The notes of one source file, with their cards.
struct FilePage<'a> {
    file: String,
    page: String,
    notes: Vec<(&'a SourceNote, &'a [CardData])>,
}

/// Writes a page per source file and `index.html`; returns their names, the index last.
pub(super) fn write_pages(
    out_dir: &Path,
    notes: &[SourceNote],
    cards: &[CardData],
    options: &Options,
) -> Result<Vec<String>> {
    let pages = group(notes, cards, &options.root);
    let mut written = Vec::new();
    for page in &pages {
        let html = file_page(page, &options.diagnostics, &options.root);
        write(&out_dir.join(&page.page), &html)?;
        written.push(page.page.clone());
    }
    let index = index(&pages, notes, cards, options);
    write(&out_dir.join("index.html"), &index)?;
    written.push("index.html".to_string());
    Ok(written)
}

/// The notes by source file, in the order they were read, and each note's cards.
fn group<'a>(notes: &'a [SourceNote], cards: &'a [CardData], root: &Path) -> Vec<FilePage<'a>> {
    let mut pages: Vec<FilePage> = Vec::new();
    let mut used = std::collections::HashSet::new();
    let mut at = 0;
    for note in notes {
        let own = &cards[at..at + note.ords.len()];
        at += note.ords.len();
        let file = relative(&note.file, root);
        if pages.last().is_none_or(|p| p.file != file) {
            let mut page = page_name(&file);
            while !used.insert(page.clone()) {
                page.insert(0, '_');
            }
            pages.push(FilePage {
                file,
                page,
                notes: Vec::new(),
            });
        }
        pages.last_mut().expect("pushed").notes.push((note, own));
    }
    pages
}

/// `nlp/basics.md` → `nlp_basics.md.html`.
fn page_name(file: &str) -> String {
    let safe: String = file
        .chars()
        .map(
            |c| match c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                true => c,
                false => '_',
            },
        )
        .collect();
    format!("{safe}.html")
}

/// The anchor of a note: `file:line`, as editors and compilers name a place.
fn anchor(file: &str, line: usize) -> String {
    format!("{file}:{line}")
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · ankideck preview</title>\n<style>{SITE_CSS}</style>\n</head>\n",
        escape_html(title)
    )
}

const SWITCHES: &str = "<div class=\"switches\"><label><input type=\"checkbox\" id=\"night\"> Night mode</label> <label><input type=\"checkbox\" id=\"phone\"> Phone width</label></div>";

/// Problems as `check` prints them, one block each.
fn problems(diagnostics: &[&Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let human = crate::report::Human::new(false);
    let mut html = format!(
        "<section class=\"problems\"><h2>{}</h2>\n",
        crate::report::count(diagnostics.len(), "problem")
    );
    for d in diagnostics {
        let severity = format!("{:?}", d.problem.severity()).to_lowercase();
        let text = human.diagnostics(std::slice::from_ref(*d));
        let _ = writeln!(
            html,
            "<pre class=\"{severity}\">{}</pre>",
            escape_html(&text)
        );
    }
    html + "</section>\n"
}

fn index(
    pages: &[FilePage],
    notes: &[SourceNote],
    cards: &[CardData],
    options: &Options,
) -> String {
    let mut decks: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for note in notes {
        let counts = decks.entry(note.note.deck.as_str()).or_default();
        counts.0 += 1;
        counts.1 += note.ords.len();
    }
    let folder = options
        .root
        .canonicalize()
        .unwrap_or_else(|_| options.root.clone());
    let name = folder
        .file_name()
        .map_or("cards".into(), |n| n.to_string_lossy());
    let mut html = head(&name);
    let _ = write!(
        html,
        "<body class=\"index\">\n<header><h1>{}</h1>",
        escape_html(&name)
    );
    let _ = write!(
        html,
        "<p>{} and {} in {}</p></header>\n<main>\n",
        crate::report::count(notes.len(), "note"),
        crate::report::count(cards.len(), "card"),
        crate::report::count(decks.len(), "deck")
    );
    html += &problems(&options.diagnostics.iter().collect::<Vec<_>>());
    html += "<section><h2>Decks</h2>\n<table class=\"decks\"><thead><tr><th>Deck</th><th>Notes</th><th>Cards</th></tr></thead><tbody>\n";
    for (deck, (note_count, card_count)) in &decks {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{note_count}</td><td>{card_count}</td></tr>",
            escape_html(deck)
        );
    }
    html += "</tbody></table></section>\n<section><h2>Source files</h2>\n<ul class=\"files\">\n";
    let mut map = serde_json::Map::new();
    for page in pages {
        let decks: std::collections::BTreeSet<&str> = page
            .notes
            .iter()
            .map(|(n, _)| n.note.deck.as_str())
            .collect();
        let deck_names: Vec<&str> = decks.into_iter().collect();
        let _ = writeln!(
            html,
            "<li><a href=\"{}\">{}</a>: {} in {}</li>",
            escape_attr(&page.page),
            escape_html(&page.file),
            crate::report::count(page.notes.len(), "note"),
            escape_html(&deck_names.join(", "))
        );
        map.insert(page.file.clone(), page.page.clone().into());
    }
    html += "</ul></section>\n</main>\n";
    // `index.html#FILE:LINE` opens the note's page at the note.
    let _ = write!(
        html,
        "<script>const pages = {};\n{SITE_JS}</script>\n</body>\n</html>\n",
        serde_json::Value::Object(map)
            .to_string()
            .replace("</", "<\\/")
    );
    html
}

fn file_page(page: &FilePage, diagnostics: &[Diagnostic], root: &Path) -> String {
    let mut html = head(&page.file);
    let _ = write!(
        html,
        "<body>\n<header><a href=\"index.html\">All decks</a><h1>{}</h1>{SWITCHES}</header>\n<main>\n",
        escape_html(&page.file)
    );
    let own: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| relative(&d.file, root) == page.file)
        .collect();
    html += &problems(&own);
    html += "<nav class=\"toc\"><h2>Notes</h2><ul>\n";
    for (note, _) in &page.notes {
        let id = anchor(&page.file, note.line);
        let first = note.note.fields.first().map_or("", String::as_str);
        let mut title: String = crate::text::strip_html(first).chars().take(80).collect();
        if title.trim().is_empty() {
            title = "(empty)".into();
        }
        let _ = writeln!(
            html,
            "<li><a href=\"#{}\">{}</a> {}</li>",
            escape_attr(&id),
            escape_html(&id),
            escape_html(&title)
        );
    }
    html += "</ul></nav>\n";
    for (note, cards) in &page.notes {
        html += &note_section(&page.file, note, cards);
    }
    let _ = write!(
        html,
        "</main>\n<script>const pages = null;\n{SITE_JS}</script>\n</body>\n</html>\n"
    );
    html
}

fn note_section(file: &str, note: &SourceNote, cards: &[CardData]) -> String {
    let id = anchor(file, note.line);
    let tags = match note.note.tags.is_empty() {
        true => String::new(),
        false => format!(" · tags: {}", note.note.tags.join(" ")),
    };
    let mut html = format!(
        "<article class=\"note\" id=\"{}\">\n<h2><a href=\"#{}\">{}</a></h2>\n<p class=\"meta\">{} · {}{}</p>\n",
        escape_attr(&id),
        escape_attr(&id),
        escape_html(&id),
        escape_html(&note.notetype.name),
        escape_html(&note.note.deck),
        escape_html(&tags)
    );
    for card in cards {
        let _ = write!(
            html,
            "<div class=\"card-pair\">\n<h3>{}</h3>\n<div class=\"sides\">\n{}{}</div>\n</div>\n",
            escape_html(&card.template),
            side("Front", &shown(note, card, true), card.ord),
            side("Back", &shown(note, card, false), card.ord),
        );
    }
    html + "</article>\n"
}

/// One side in its frame, as the reviewer shows it: `<body class="card cardN">`.
fn side(label: &str, html: &str, ord: u16) -> String {
    let document = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{REVIEWER_CSS}</style></head><body class=\"card card{}\"><div id=\"qa\">{html}</div></body></html>",
        ord + 1
    );
    format!(
        "<figure><figcaption>{label}</figcaption><iframe class=\"side\" title=\"{label}\" srcdoc=\"{}\"></iframe></figure>\n",
        escape_attr(&document)
    )
}

/// A side's HTML as the reviewer shows it: the type-in box or the answer compared, a
/// player for each sound, the math typeset.
fn shown(note: &SourceNote, card: &CardData, question: bool) -> String {
    let html = if question {
        &card.question
    } else {
        &card.answer
    };
    static PLAY: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\[anki:play:(q|a):(\d+)\]").unwrap());
    let typed = type_in(note, card, html, question);
    let played = PLAY.replace_all(&typed, |c: &regex::Captures| {
        let play = if &c[1] == "q" {
            &card.question_play
        } else {
            &card.answer_play
        };
        match play.get(c[2].parse::<usize>().unwrap_or(usize::MAX)) {
            Some(Play::Sound(name)) => format!(
                "<audio class=\"sound\" controls preload=\"none\" src=\"{}\"></audio>",
                escape_attr(name)
            ),
            Some(Play::Tts { options, text }) => format!(
                "<span class=\"tts\" title=\"Anki reads this aloud ({})\">🔊 {}</span>",
                escape_attr(options),
                escape_html(&crate::text::strip_html(text))
            ),
            None => String::new(),
        }
    });
    math::typeset(&played)
}

/// `[[type:…]]` as Anki's reviewer replaces it: on the front a box to type in, on the
/// back the answer compared (here with nothing typed), after the `<hr id=answer>`; gone
/// when the field is empty.
fn type_in(note: &SourceNote, card: &CardData, html: &str, question: bool) -> String {
    static TYPE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\[\[type:(.+?)\]\]").unwrap());
    let Some(spec) = TYPE.captures(html).map(|c| c[1].to_string()) else {
        return html.to_string();
    };
    let Some(box_) = crate::render::type_in(&note.notetype, &note.note, card.ord, &spec) else {
        let message = format!(
            "(the note type has no field `{}` to type in)",
            escape_html(&spec)
        );
        return TYPE.replace_all(html, message.as_str()).into_owned();
    };
    if box_.expected.is_empty() {
        return TYPE.replace_all(html, "").into_owned();
    }
    let font = escape_attr(&box_.font);
    if question {
        let input = format!(
            "\n<center>\n<input type=text id=typeans\n   style=\"font-family: '{font}'; font-size: {}px;\">\n</center>\n",
            box_.size
        );
        return TYPE.replace_all(html, input.as_str()).into_owned();
    }
    let compared = format!(
        "\n<div style=\"font-family: '{font}'; font-size: {}px\"><code id=typeans>{}</code></div>",
        box_.size,
        escape_attr(&box_.expected).replace('\'', "&#x27;")
    );
    let without_rule = html.replace("<hr id=answer>", "");
    if without_rule.len() == html.len() {
        return TYPE.replace_all(html, compared.as_str()).into_owned();
    }
    if !TYPE.is_match(&without_rule) {
        return html.to_string();
    }
    let compared = format!("<hr id=answer>{compared}");
    TYPE.replace_all(&without_rule, compared.as_str())
        .into_owned()
}
