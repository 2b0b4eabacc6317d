//! Markdown card files into [`SourceNote`]s: the front matter gives each file's
//! defaults, and each note's rules (its note type, which text fills which field, its
//! identity, tags and deck) are functions of their own below.

use super::load::{Loaded, Prerendered};
use super::media::line_offset_of;
use super::parse::{self, Located, RawNote};
use super::{markdown, Reader};
use crate::deck;
use crate::error::{Problem, Severity, Spot};
use crate::ids;
use crate::note::{add_tag, split_tag_list, Note, SourceNote};
use crate::notetype::{cloze, CardError, Kind, NoteType, Stock, MAX_CLOZE};
use crate::suggest;
use std::path::Path;
use std::sync::Arc;

/// A problem and the 1-based line it is on.
type LineProblem = (usize, Problem);

/// What a file's front matter sets for its notes.
pub(super) struct FileDefaults {
    deck: String,
    tags: Vec<String>,
    notetype: Option<Arc<NoteType>>,
    /// The front matter names a note type that does not exist (reported once, for the
    /// file): its notes without a type of their own get only the checks that need none.
    unknown_type: bool,
    html: bool,
}

impl Reader<'_> {
    /// Takes one loaded card file's notes and problems, in file order; or a part of
    /// one, which goes on with the file of the part before.
    pub(super) fn read_file(&mut self, mut loaded: Loaded) {
        let path = loaded.path.as_path();
        let first_part = loaded.first_line == 1;
        if first_part {
            self.files += 1;
            self.current_file = Arc::from(path);
        }
        let (text, parsed, problems) = match loaded.content {
            Ok(content) => content,
            Err(diagnostic) => {
                self.media_uses_unknown = true;
                return self.diagnostics.push(*diagnostic);
            }
        };
        if problems
            .iter()
            .any(|(_, p)| *p == Problem::UnclosedFrontMatter)
        {
            self.media_uses_unknown = true; // the whole file was taken for front matter
        }
        let first_new = self.diagnostics.len();
        for (line, problem) in problems {
            self.problem(path, line, problem);
        }
        let defaults = match (first_part, self.current_defaults.take()) {
            (false, Some(defaults)) => defaults,
            _ => self.file_defaults(path, &parsed.front_matter),
        };
        for raw in &parsed.notes {
            self.add_note(path, raw, &defaults, &mut loaded.rendered);
        }
        self.current_defaults = Some(defaults);
        // Columns come from the text, which only this function has at hand.
        for d in &mut self.diagnostics[first_new..] {
            d.locate_from(&text, loaded.first_line);
        }
    }

    /// The file's defaults. A value the front matter gets wrong is reported here, once,
    /// and left out: its notes are still checked, against the rest.
    fn file_defaults(&mut self, path: &Path, fm: &parse::FrontMatter) -> FileDefaults {
        let mut problems = Vec::new();
        let mut tags = Vec::new();
        for tag in fm
            .tags
            .as_ref()
            .map(parse::Tags::to_vec)
            .unwrap_or_default()
        {
            if let Err(e) = add_tag(&mut tags, &tag) {
                problems.push((fm.line_of("tags"), e.into()));
            }
        }
        let deck = match &fm.deck {
            Some(deck) => deck.text(),
            None => self.deck_from_path(path),
        };
        let deck = deck::normalize_name(&deck).unwrap_or_else(|e| {
            problems.push((fm.line_of("deck"), e.into()));
            deck
        });
        let notetype = fm.notetype.as_deref().and_then(|name| {
            let found = self.find_notetype(name);
            if found.is_none() {
                let problem = self.unknown_notetype(name);
                problems.push((fm.line_of("type"), problem));
            }
            found
        });
        let html = fm.format.as_deref().map_or(Ok(false), format_is_html);
        let html = html.unwrap_or_else(|problem| {
            problems.push((fm.line_of("format"), problem));
            false
        });
        let unknown_type = fm.notetype.is_some() && notetype.is_none();
        for (line, problem) in problems {
            self.problem(path, line, problem);
        }
        FileDefaults {
            deck,
            tags,
            notetype,
            unknown_type,
            html,
        }
    }

    /// The note's guid: its `guid:` as written, else from its `id:`, else from its
    /// heading's text, with the heading's check when the note keeps the legacy guid the lock knows it by
    /// (and no earlier note took it: a version 1 lock does not say which heading had it).
    fn identity(&self, raw: &RawNote) -> Result<(String, Option<u16>), LineProblem> {
        match (raw.setting("id"), raw.setting("guid")) {
            (Some(_), Some(guid)) => Err((guid.line, Problem::IdAndGuid)),
            (None, Some(guid)) if guid.text.is_empty() || guid.text.contains('\t') => {
                Err((guid.line, Problem::BadGuid))
            }
            (None, Some(guid)) => Ok((guid.text.clone(), None)),
            (Some(id), None) if id.text.is_empty() => Err((id.line, Problem::EmptyId)),
            (Some(id), None) => Ok((ids::guid_for_id(&id.text), None)),
            (None, None) => {
                let heading = ids::HeadingId::of(&raw.heading.text);
                let legacy = self.legacy.of(&heading);
                match legacy.filter(|guid| !self.identity_taken(guid)) {
                    Some(guid) => Ok((guid, Some(heading.check()))),
                    None => Ok((heading.guid(), None)),
                }
            }
        }
    }

    /// Keeps the note `raw` if it is good: its fields complete for its note type and its
    /// identity unused. Otherwise its problems become diagnostics. Its identity counts
    /// either way, so that its errors do not hide a duplicate.
    fn add_note(
        &mut self,
        path: &Path,
        raw: &RawNote,
        defaults: &FileDefaults,
        rendered: &mut Prerendered,
    ) {
        let line = raw.heading.line;
        let identity = self.identity(raw);
        let file = Arc::clone(&self.current_file);
        let duplicate = (identity.as_ref().ok())
            .filter(|_| !raw.heading.text.is_empty())
            .and_then(|(guid, _)| self.claim_identity(guid, &file, line).err());
        let mut problems = duplicate
            .map(|p| at_id_line(raw, p))
            .into_iter()
            .collect::<Vec<_>>();
        match self.note(path, raw, defaults, rendered, identity) {
            Ok(source) => {
                let missing = (self.custom).missing_required(&source.notetype, &source.note.fields);
                problems.extend(missing.map(|p| (line, p)));
                if problems.is_empty() {
                    self.notes.push(source);
                }
            }
            Err(errors) => problems.extend(errors),
        }
        for (line, problem) in problems {
            self.problem(path, line, problem);
        }
    }

    /// The note `raw` stands for, or every problem with it when one is an error. Its
    /// warnings become diagnostics when it is good.
    fn note(
        &mut self,
        path: &Path,
        raw: &RawNote,
        defaults: &FileDefaults,
        prerendered: &mut Prerendered,
        identity: Result<(String, Option<u16>), LineProblem>,
    ) -> Result<SourceNote, Vec<LineProblem>> {
        if raw.heading.text.is_empty() {
            // Reported by the parser; the texts still count for their media.
            let mut problems = Vec::new();
            self.render_fields(
                path,
                defaults.html,
                &every_text(raw),
                prerendered,
                &mut problems,
            );
            return Err(problems);
        }
        let mut problems: Vec<LineProblem> = Vec::new();
        let notetype = (self.note_type(raw, defaults))
            .map_err(|problem| problems.extend(problem))
            .ok();
        let html = match raw.setting("format") {
            None => defaults.html,
            Some(v) => format_is_html(&v.text).unwrap_or_else(|problem| {
                problems.push((v.line, problem));
                defaults.html
            }),
        };
        let (sources, below_heading) = match &notetype {
            Some(notetype) => {
                problems.extend(cloze_outside_cloze(notetype, raw));
                field_sources(notetype, raw, &mut problems)
            }
            // Without a note type the texts are still rendered, for their media.
            None => (every_text(raw), None),
        };
        let mut fields = self.render_fields(path, html, &sources, prerendered, &mut problems);
        if let Some(more) = below_heading.filter(|more| !more.text.is_empty()) {
            // Blocks, as the second place of `render_fields` renders them; a verbatim
            // block is the whole field, the heading only its label.
            let blocks =
                self.render_fields(path, html, &[None, Some(more)], prerendered, &mut problems);
            fields[0] = match parse::verbatim(&more.text) {
                Some(_) => blocks[1].clone(),
                None => format!("{}\n{}", fields[0], blocks[1]),
            };
        }
        let empty_cards = card_numbers(raw, "empty-cards", Problem::BadEmptyCards, &mut problems);
        let skipped_cards = card_numbers(raw, "skip-cards", Problem::BadSkipCards, &mut problems);
        if let Some(notetype) = &notetype {
            // A deletion whose card the note keeps empty, or lacks, is no mistake.
            let named: Vec<u16> = empty_cards.iter().chain(&skipped_cards).copied().collect();
            problems.extend(deletion_problems(notetype, &sources, &fields, &named));
        }
        for large in self.media.take_warnings() {
            problems.push((raw.heading.line, large));
        }
        let tags = note_tags(&defaults.tags, raw.setting("tags"), &mut problems);
        let deck = note_deck(raw.setting("deck"), &defaults.deck).unwrap_or_else(|problem| {
            problems.push(problem);
            String::new()
        });
        let (guid, legacy) = identity.unwrap_or_else(|problem| {
            problems.push(problem);
            (String::new(), None)
        });
        let cards = CardLines {
            decks: card_decks(raw, &mut problems),
            empty: raw.setting("empty-cards"),
            skip: raw.setting("skip-cards"),
        };
        let Some(notetype) = notetype else {
            return Err(problems);
        };
        let note = Note {
            guid,
            notetype_id: notetype.id,
            fields,
            tags,
            deck,
            card_decks: Vec::new(),
            empty_cards,
            skipped_cards,
            modified: 0,
        };
        let at = (path, raw.heading.line);
        let mut source = self.accept(at, note, notetype, cards, problems)?;
        source.legacy = legacy;
        Ok(source)
    }

    /// Warnings ride along with a good note; errors reject it. A note with no errors
    /// must still make at least one card, from templates that work, and each card its
    /// `card-deck:` lines name.
    fn accept(
        &mut self,
        (path, line): (&Path, usize),
        mut note: Note,
        notetype: Arc<NoteType>,
        cards: CardLines<'_>,
        problems: Vec<LineProblem>,
    ) -> Result<SourceNote, Vec<LineProblem>> {
        let (mut errors, warnings): (Vec<_>, Vec<_>) = problems
            .into_iter()
            .partition(|(_, p)| p.severity() == Severity::Error);
        if errors.is_empty() {
            let has_tags = !note.tags.is_empty();
            let ords = notetype.note_ordinals(
                &note.fields,
                has_tags,
                &note.empty_cards,
                &note.skipped_cards,
            );
            let ords = ords
                .map_err(|e| vec![cards.problem(line, e)])
                .and_then(|ords| {
                    note.card_decks = cards_in_decks(cards.decks, &ords)?;
                    Ok(ords)
                });
            match ords {
                Ok(ords) => {
                    for (line, warning) in warnings {
                        self.problem(path, line, warning);
                    }
                    return Ok(SourceNote {
                        note,
                        notetype,
                        ords,
                        file: Arc::clone(&self.current_file),
                        line,
                        legacy: None,
                    });
                }
                Err(e) => errors.extend(e),
            }
        }
        Err(errors.into_iter().chain(warnings).collect())
    }

    /// The note's type: named on the note, else cloze when the heading has deletions,
    /// else the file's default, else basic. `Err(None)` when the file's default is
    /// unknown, which the file reports.
    fn note_type(
        &self,
        raw: &RawNote,
        defaults: &FileDefaults,
    ) -> Result<Arc<NoteType>, Option<LineProblem>> {
        match raw.setting("type") {
            Some(v) => self
                .find_notetype(&v.text)
                .ok_or_else(|| Some((v.line, self.unknown_notetype(&v.text)))),
            None if cloze::has_cloze(&raw.heading.text) => Ok(self.stock(Stock::Cloze)),
            None if defaults.unknown_type => Err(None),
            None => Ok(defaults
                .notetype
                .clone()
                .unwrap_or_else(|| self.stock(Stock::Basic))),
        }
    }

    /// Each field's text rendered (Markdown, or HTML as written) with its media
    /// references resolved; a field that fails is left empty and its problem noted.
    fn render_fields(
        &mut self,
        path: &Path,
        html: bool,
        sources: &[Option<&Located>],
        prerendered: &mut Prerendered,
        problems: &mut Vec<LineProblem>,
    ) -> Vec<String> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut fields = Vec::with_capacity(sources.len());
        for (index, source) in sources.iter().enumerate() {
            let Some(source) = source else {
                fields.push(String::new());
                continue;
            };
            // Every media problem of the field is noted, not just the first.
            let mut media_problems = Vec::new();
            let mut resolve = |reference: &str| {
                let resolved = self.media.resolve(&self.canonical_root, &dir, reference);
                Ok(resolved.unwrap_or_else(|problem| {
                    media_problems.push(problem);
                    String::new()
                }))
            };
            let inline = index == 0;
            let verbatim = (!inline).then(|| parse::verbatim(&source.text)).flatten();
            let rendered = match (html, prerendered.remove(&(source.line, inline))) {
                _ if verbatim.is_some() => {
                    let text = verbatim.as_deref().unwrap_or_default();
                    markdown::rewrite_html_media(text, &mut resolve)
                }
                (true, _) => markdown::rewrite_html_media(&source.text, &mut resolve),
                (false, Some(done)) => done.resolve(&mut resolve),
                (false, None) if inline => markdown::render_inline(&source.text, &mut resolve),
                (false, None) => markdown::render_block(&source.text, &mut resolve),
            };
            if !html && verbatim.is_none() {
                let slips = markdown::media_slips(&source.text).into_iter();
                let markup = super::slips::markup_slips(&source.text, inline);
                for (at, slip) in slips.chain(markup) {
                    let line = source.line + source.text[..at].matches('\n').count();
                    problems.push((line, slip));
                }
            }
            media_problems.extend(rendered.as_ref().err().cloned());
            match rendered {
                // Every note is held until the end: copied to its exact size, on this
                // thread, rather than kept where rendering left it.
                Ok(field) if media_problems.is_empty() => fields.push(field.as_str().to_owned()),
                _ => fields.push(String::new()),
            }
            for problem in media_problems {
                let line = source.line + line_offset_of(&source.text, &problem);
                if !problems.contains(&(line, problem.clone())) {
                    problems.push((line, problem));
                }
            }
        }
        fields
    }
}

/// A non-cloze note with a (closed) cloze deletion anywhere but in a `~~~ verbatim`
/// block: the line of the first one. One never closed is reported by
/// [`deletion_problems`].
fn cloze_outside_cloze(notetype: &NoteType, raw: &RawNote) -> Option<LineProblem> {
    if notetype.kind == Kind::Cloze {
        return None;
    }
    let closed = |text: &str| cloze::deletions(text).iter().any(|d| d.close.is_some());
    let texts = std::iter::once(&raw.heading)
        .chain(std::iter::once(&raw.body))
        .chain(raw.sections.iter().map(|(_, t)| t));
    // A verbatim block is the field as Anki stores it: its braces are text.
    let t = (texts.into_iter()).find(|t| closed(&t.text) && parse::verbatim(&t.text).is_none())?;
    let first = cloze::deletions(&t.text)
        .into_iter()
        .find(|d| d.close.is_some())?;
    let line = t.line + t.text[..first.start].matches('\n').count();
    Some((line, Problem::ClozeInNonCloze(notetype.name.clone())))
}

/// Deletions Anki would not show as the author meant, each at its `{{` in the source:
/// one never closed (in a note of any type), `{{c1:` with one colon or another
/// miswritten opener (`{{C1::`, `{c1::`; neither in a
/// `~~~ verbatim` block, the field as Anki stores it), and, in a cloze note, deletions
/// in a field whose deletions the cards do not hide.
fn deletion_problems(
    notetype: &NoteType,
    sources: &[Option<&Located>],
    fields: &[String],
    empty_cards: &[u16],
) -> Vec<LineProblem> {
    let mut problems = Vec::new();
    for (source, field) in sources.iter().zip(fields) {
        let Some(source) = source else { continue };
        if parse::verbatim(&source.text).is_some() {
            continue;
        }
        for (start, len) in unclosed(source, field) {
            let (line, at) = spot(source, start..start + len);
            problems.push((line, Problem::UnclosedCloze(at)));
        }
        for range in cloze::single_colon_openers(&source.text) {
            let (line, at) = spot(source, range);
            problems.push((line, Problem::SingleColonCloze(at)));
        }
        for (range, corrected) in cloze::miswritten_openers(&source.text) {
            let (line, at) = spot(source, range);
            problems.push((line, Problem::MiswrittenCloze { at, corrected }));
        }
    }
    // A deletion left open already explains what is wrong with the cards.
    if notetype.kind == Kind::Cloze
        && !problems
            .iter()
            .any(|(_, p)| p.severity() == Severity::Error)
    {
        problems.extend(misplaced_deletions(notetype, sources, fields, empty_cards));
    }
    problems
}

/// The deletions Anki would find never closed in the field rendered from `source`, as
/// `(byte offset, length)` of their openers in the source. Rendering keeps openers as
/// written but may change what closes them (a `}}` in math or code); when it changed
/// their number, the source alone decides.
fn unclosed(source: &Located, rendered: &str) -> Vec<(usize, usize)> {
    let written = cloze::deletions(&source.text);
    if written.is_empty() {
        return Vec::new();
    }
    let stored = cloze::deletions(rendered);
    let open = |d: &cloze::Deletion| d.close.is_none();
    match stored.len() == written.len() {
        true => written
            .iter()
            .zip(&stored)
            .filter(|(_, s)| open(s))
            .map(|(w, _)| (w.start, w.opener_len))
            .collect(),
        false => written
            .iter()
            .filter(|w| open(w))
            .map(|w| (w.start, w.opener_len))
            .collect(),
    }
}

/// In a cloze note: a deletion whose number no field on the card's front has (its card
/// would show an empty front) is an error, unless `empty-cards:` keeps that card
/// (`empty_cards`); one in a field the card shows as written, a warning. One problem per
/// field, at its first such deletion.
fn misplaced_deletions(
    notetype: &NoteType,
    sources: &[Option<&Located>],
    fields: &[String],
    empty_cards: &[u16],
) -> Vec<LineProblem> {
    let display = notetype.cloze_display();
    let on_front: std::collections::BTreeSet<u16> = display
        .on_front
        .iter()
        .filter_map(|&i| fields.get(i))
        .flat_map(|f| cloze::cloze_numbers(f))
        .collect();
    let mut problems = Vec::new();
    for (i, (source, field)) in sources.iter().zip(fields).enumerate() {
        let (Some(source), false) = (source, display.on_front.contains(&i)) else {
            continue;
        };
        let numbers = cloze::cloze_numbers(field);
        let kept = |n: u16| empty_cards.contains(&(n.min(MAX_CLOZE) - 1));
        let missing = (numbers.iter())
            .find(|&&n| !on_front.contains(&n) && !kept(n))
            .copied();
        let written = cloze::deletions(&source.text);
        let first = match missing {
            Some(n) => written.iter().find(|d| d.numbers.contains(&n)),
            None => written.first(),
        };
        let Some(first) = first.or(written.first()) else {
            continue;
        };
        let (line, at) = spot(source, first.start..first.start + first.opener_len);
        let field = notetype.fields[i].name.clone();
        match missing {
            Some(number) => problems.push((line, Problem::ClozeNotOnFront { number, field, at })),
            None if !numbers.is_empty() && display.as_written.contains(&i) => {
                problems.push((line, Problem::ClozeShownAsWritten { field, at }))
            }
            None => {}
        }
    }
    problems
}

/// The file line of `range` in `source`, and where on that line its text stands.
fn spot(source: &Located, range: std::ops::Range<usize>) -> (usize, Spot) {
    let before = &source.text[..range.start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let text = source.text[range].to_string();
    let nth = before[line_start..].matches(text.as_str()).count();
    let line = source.line + before.matches('\n').count();
    (line, Spot { text, nth })
}

/// Every text of a note, the heading first, as fields of a note type not known.
fn every_text(raw: &RawNote) -> Vec<Option<&Located>> {
    let sections = raw.sections.iter().map(|(_, text)| text);
    let texts = std::iter::once(&raw.heading).chain(std::iter::once(&raw.body));
    texts.chain(sections).map(Some).collect()
}

/// Which source text fills which field: the heading the first, the text under it the
/// second, and each `### Name` section the field of that name. A section named after
/// the first field continues it below the heading (the second value).
fn field_sources<'r>(
    notetype: &NoteType,
    raw: &'r RawNote,
    problems: &mut Vec<LineProblem>,
) -> (Vec<Option<&'r Located>>, Option<&'r Located>) {
    let mut sources: Vec<Option<&Located>> = vec![None; notetype.fields.len()];
    sources[0] = Some(&raw.heading);
    if !raw.body.text.is_empty() {
        match sources.get_mut(1) {
            Some(slot) => *slot = Some(&raw.body),
            None => problems.push((raw.body.line, unknown_field(notetype, "(answer text)"))),
        }
    }
    let mut below_heading = None;
    for (name, content) in &raw.sections {
        match notetype.field_index(&name.text) {
            None => problems.push((name.line, unknown_field(notetype, &name.text))),
            Some(0) if below_heading.is_none() => below_heading = Some(content),
            Some(i) if i == 0 || sources[i].is_some() => {
                problems.push((name.line, Problem::DuplicateField(name.text.clone())))
            }
            Some(i) => sources[i] = Some(content),
        }
    }
    (sources, below_heading)
}

/// The file's tags and those of the note's `tags:` setting.
fn note_tags(
    defaults: &[String],
    setting: Option<&Located>,
    problems: &mut Vec<LineProblem>,
) -> Vec<String> {
    let mut tags = defaults.to_vec();
    if let Some(v) = setting {
        for tag in split_tag_list(&v.text) {
            if let Err(e) = add_tag(&mut tags, &tag) {
                problems.push((v.line, e.into()));
            }
        }
    }
    tags
}

/// The note's `deck:` setting, else the file's deck.
fn note_deck(setting: Option<&Located>, default: &str) -> Result<String, LineProblem> {
    match setting {
        Some(v) => deck::normalize_name(&v.text).map_err(|e| (v.line, e.into())),
        None => Ok(default.to_string()),
    }
}

/// A `card-deck:` line: its line, the card's number (from 1) and the deck.
type CardDeck = (usize, u16, String);

/// The note's `card-deck: N DECK` lines, each checked but for whether the note has card
/// N, which only its cards tell ([`cards_in_decks`]).
fn card_decks(raw: &RawNote, problems: &mut Vec<LineProblem>) -> Vec<CardDeck> {
    let mut out: Vec<CardDeck> = Vec::new();
    for v in raw.settings_named("card-deck") {
        let (number, deck) = v
            .text
            .split_once(char::is_whitespace)
            .unwrap_or((&v.text, ""));
        let number = number.parse::<u16>().ok().filter(|&n| n > 0);
        let (Some(number), false) = (number, deck.trim().is_empty()) else {
            problems.push((v.line, Problem::BadCardDeck));
            continue;
        };
        let deck = match deck::normalize_name(deck) {
            Ok(deck) => deck,
            Err(e) => {
                problems.push((v.line, e.into()));
                continue;
            }
        };
        if out.iter().any(|(_, n, _)| *n == number) {
            let again = Problem::DuplicateSetting(format!("card-deck: {number}"));
            problems.push((v.line, again));
            continue;
        }
        out.push((v.line, number, deck));
    }
    out
}

/// The ordinals of the cards the note's `empty-cards:` line keeps, or its `skip-cards:`
/// line (`key`) leaves out, in order; `bad` is the problem of a line that lists none.
fn card_numbers(
    raw: &RawNote,
    key: &str,
    bad: Problem,
    problems: &mut Vec<LineProblem>,
) -> Vec<u16> {
    let Some(v) = raw.setting(key) else {
        return Vec::new();
    };
    let numbers: Option<Vec<u16>> = number_tokens(&v.text)
        .map(|n| {
            n.parse::<u16>()
                .ok()
                .filter(|n| (1..=MAX_CLOZE).contains(n))
        })
        .collect();
    match numbers.filter(|n| !n.is_empty()) {
        Some(numbers) => {
            let mut ords: Vec<u16> = numbers.into_iter().map(|n| n - 1).collect();
            ords.sort_unstable();
            ords.dedup();
            ords
        }
        None => {
            problems.push((v.line, bad));
            Vec::new()
        }
    }
}

/// The card numbers of a setting's value, as written: separated by spaces or commas.
fn number_tokens(value: &str) -> impl Iterator<Item = &str> {
    (value.split(|c: char| c.is_whitespace() || c == ',')).filter(|n| !n.is_empty())
}

/// What a note says of its cards beside its fields: its `card-deck:` lines, checked
/// once its cards are known, and its `empty-cards:` and `skip-cards:` lines, where a
/// problem with their numbers is reported.
struct CardLines<'r> {
    decks: Vec<CardDeck>,
    empty: Option<&'r Located>,
    skip: Option<&'r Located>,
}

impl CardLines<'_> {
    /// Why the note's cards cannot be made, at the number of `empty-cards:` or
    /// `skip-cards:` at fault, or else at the heading (`heading`).
    fn problem(&self, heading: usize, error: CardError) -> LineProblem {
        let (setting, key, number) = match &error {
            CardError::NoTemplate { number, .. } => (self.empty, "empty-cards", Some(*number)),
            CardError::CannotSkip { number, .. } | CardError::KeptAndSkipped { number } => {
                (self.skip, "skip-cards", Some(*number))
            }
            CardError::EverySkipped { .. } => (self.skip, "skip-cards", None),
            _ => (None, "", None),
        };
        let Some(v) = setting else {
            return (heading, error.into());
        };
        let at = number.and_then(|n| number_spot(&v.text, n));
        let at = at.unwrap_or_else(|| Spot {
            text: key.into(),
            nth: 0,
        });
        let error = Box::new(error);
        (v.line, Problem::CardSetting { error, at })
    }
}

/// Where `number` stands in a setting's list of card numbers (`value`, which follows a
/// key without digits on its line).
fn number_spot(value: &str, number: u16) -> Option<Spot> {
    let token = number_tokens(value).find(|token| token.parse::<u16>() == Ok(number))?;
    // The token is a slice of `value`: its offset is where it starts in memory.
    let offset = token.as_ptr() as usize - value.as_ptr() as usize;
    Some(Spot {
        text: token.to_string(),
        nth: value[..offset].matches(token).count(),
    })
}

/// The note's cards in decks of their own, by ordinal, once each card is known to be
/// one of the note's cards (`ords`).
fn cards_in_decks(
    card_decks: Vec<CardDeck>,
    ords: &[u16],
) -> Result<Vec<(u16, String)>, Vec<LineProblem>> {
    let mut errors = Vec::new();
    let mut decks = Vec::new();
    for (line, number, deck) in card_decks {
        match ords.contains(&(number - 1)) {
            true => decks.push((number - 1, deck)),
            false => errors.push((line, crate::note::no_such_card(number - 1, ords))),
        }
    }
    decks.sort_by_key(|(ord, _)| *ord);
    match errors.is_empty() {
        true => Ok(decks),
        false => Err(errors),
    }
}

/// A note whose `id:` (or `guid:`) is taken is reported at that line, naming it; one
/// whose heading gives a taken identity at its heading.
fn at_id_line(raw: &RawNote, problem: Problem) -> LineProblem {
    let setting = [("id", raw.setting("id")), ("guid", raw.setting("guid"))]
        .into_iter()
        .find_map(|(key, value)| Some((key, value?)));
    match (problem, setting) {
        (Problem::DuplicateNote { other, .. }, Some((key, value))) => {
            let id_problem = Problem::DuplicateNote {
                other,
                id: Some(value.text.clone()),
                key,
            };
            (value.line, id_problem)
        }
        (problem, _) => (raw.heading.line, problem),
    }
}

/// `format: markdown` or `format: html`.
fn format_is_html(format: &str) -> Result<bool, Problem> {
    match format {
        "markdown" => Ok(false),
        "html" => Ok(true),
        other => Err(Problem::UnknownFormat(other.to_string())),
    }
}

fn unknown_field(notetype: &NoteType, field: &str) -> Problem {
    let names = notetype.field_names();
    Problem::UnknownField {
        notetype: notetype.name.clone(),
        field: field.to_string(),
        fields: names.join(", "),
        meant: suggest::nearest(field, names.iter().copied()).map(Box::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawNote {
        let (mut parsed, problems) = parse::parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        parsed.notes.remove(0)
    }

    fn located(text: &str, line: usize) -> Located {
        Located {
            text: text.to_string(),
            line,
        }
    }

    #[test]
    fn a_taken_guid_is_reported_at_its_line() {
        let taken = Problem::DuplicateNote {
            other: "a.md:1".into(),
            id: None,
            key: "id",
        };
        let (line, problem) = at_id_line(&raw("## Q\ntags: x\nguid: abc\n"), taken);
        assert_eq!(line, 3);
        assert_eq!(
            problem.to_string(),
            "guid `abc` is already the identity of the note at a.md:1"
        );
    }

    #[test]
    fn identity_comes_from_the_guid_else_the_id_else_the_heading() {
        let mut reader = Reader::new(Path::new(".")).unwrap();
        let new = Ok((ids::guid_for_heading("Q?"), None));
        {
            let identity = |text: &str| reader.identity(&raw(text));
            assert_eq!(
                identity("## Q?\nid: q1\n"),
                Ok((ids::guid_for_id("q1"), None))
            );
            assert_eq!(identity("## Q?\n"), new);
            assert_ne!(identity("## Q?\n"), identity("## Q!\n"));
            assert_eq!(identity("## Q?\nid:\n"), Err((2, Problem::EmptyId)));
            assert_eq!(
                identity("## Q?\nguid:  a,B;c~ \n"),
                Ok(("a,B;c~".into(), None))
            );
            assert_eq!(identity("## Q?\nguid:\n"), Err((2, Problem::BadGuid)));
            assert_eq!(identity("## Q?\nguid: a\tb\n"), Err((2, Problem::BadGuid)));
            assert_eq!(
                identity("## Q?\nid: q1\nguid: abc\n"),
                Err((3, Problem::IdAndGuid))
            );
        }
        let q = raw("## Q?\n");
        assert_eq!(reader.identity(&q), new);
        // A heading the lock knows by its legacy guid keeps it, while no note took it.
        let heading = ids::HeadingId::of("Q?");
        let (legacy, check) = (heading.legacy_guid(), heading.check());
        let key = ids::LegacyGuids::key(&legacy, Some(check));
        reader.legacy = ids::LegacyGuids::new(false, vec![key]);
        assert_eq!(reader.identity(&q), Ok((legacy.clone(), Some(check))));
        // Another heading with the same legacy id but another check does not.
        let other = ids::LegacyGuids::key(&legacy, Some(check ^ 1));
        reader.legacy = ids::LegacyGuids::new(false, vec![other]);
        assert_eq!(reader.identity(&q), new);
        // A version 1 lock records no checks: the first heading takes the guid.
        reader.legacy = ids::LegacyGuids::new(true, vec![ids::LegacyGuids::key(&legacy, None)]);
        assert_eq!(reader.identity(&q), Ok((legacy.clone(), Some(check))));
        let file: Arc<Path> = Arc::from(Path::new("a.md"));
        reader.claim_identity(&legacy, &file, 1).unwrap();
        assert_eq!(reader.identity(&q), new);
    }

    #[test]
    fn format_is_markdown_or_html() {
        assert_eq!(format_is_html("markdown"), Ok(false));
        assert_eq!(format_is_html("html"), Ok(true));
        assert_eq!(
            format_is_html("HTML"),
            Err(Problem::UnknownFormat("HTML".into()))
        );
    }

    #[test]
    fn the_deck_setting_overrides_the_file_deck() {
        assert_eq!(note_deck(None, "File::Deck"), Ok("File::Deck".into()));
        let setting = located("Other", 3);
        assert_eq!(note_deck(Some(&setting), "File::Deck"), Ok("Other".into()));
        let bad = located("Bad\u{1}", 4);
        assert!(matches!(note_deck(Some(&bad), "D"), Err((4, _))));
    }

    #[test]
    fn note_tags_add_to_the_file_tags_once() {
        let mut problems = Vec::new();
        let setting = located("b a c", 2);
        let tags = note_tags(&["a".into()], Some(&setting), &mut problems);
        assert_eq!(tags, ["a", "b", "c"]);
        assert!(problems.is_empty());
    }

    #[test]
    fn sections_fill_fields_by_name_and_unknown_ones_are_problems() {
        let basic = Stock::Basic.notetype();
        let note = raw("## Q\n\nA\n### Nope\nx\n### Back\ny\n");
        let mut problems = Vec::new();
        let (sources, _) = field_sources(&basic, &note, &mut problems);
        assert_eq!(sources[0].map(|s| s.text.as_str()), Some("Q"));
        assert_eq!(sources[1].map(|s| s.text.as_str()), Some("A"));
        assert!(
            matches!(&problems[..], [
                (4, Problem::UnknownField { field, .. }),
                (6, Problem::DuplicateField(back)),
            ] if field == "Nope" && back == "Back"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_section_named_after_the_first_field_continues_it() {
        let basic = Stock::Basic.notetype();
        let note = raw("## Q\n### Front\n- a\n### Back\nA\n### Front\nagain\n");
        let mut problems = Vec::new();
        let (sources, below) = field_sources(&basic, &note, &mut problems);
        assert_eq!(sources[0].map(|s| s.text.as_str()), Some("Q"));
        assert_eq!(below.map(|s| (s.text.as_str(), s.line)), Some(("- a", 3)));
        assert_eq!(sources[1].map(|s| s.text.as_str()), Some("A"));
        assert!(
            matches!(&problems[..], [(6, Problem::DuplicateField(front))] if front == "Front"),
            "{problems:?}"
        );
    }

    #[test]
    fn answer_text_needs_a_second_field() {
        let mut one_field = Stock::Basic.notetype();
        one_field.fields.truncate(1);
        let mut problems = Vec::new();
        field_sources(&one_field, &raw("## Q\n\nA\n"), &mut problems);
        assert!(
            matches!(&problems[..], [(3, Problem::UnknownField { field, .. })] if field == "(answer text)"),
            "{problems:?}"
        );
    }

    #[test]
    fn cloze_deletions_need_a_cloze_note_type() {
        let note = raw("## Q\n\nA\n\nsee {{c1::this}}\n");
        let problem = cloze_outside_cloze(&Stock::Basic.notetype(), &note);
        assert!(
            matches!(problem, Some((5, Problem::ClozeInNonCloze(_)))),
            "{problem:?}"
        );
        assert_eq!(cloze_outside_cloze(&Stock::Cloze.notetype(), &note), None);
    }

    #[test]
    fn the_note_type_is_named_else_cloze_else_the_file_default() {
        let reader = Reader::new(Path::new(".")).unwrap();
        let defaults = FileDefaults {
            deck: "D".into(),
            tags: Vec::new(),
            notetype: None,
            unknown_type: false,
            html: false,
        };
        let name = |text: &str| reader.note_type(&raw(text), &defaults).map(|nt| nt.id);
        let id = |stock: Stock| reader.stock(stock).id;
        assert_eq!(name("## Q\n"), Ok(id(Stock::Basic)));
        assert_eq!(name("## {{c1::Q}}\n"), Ok(id(Stock::Cloze)));
        assert_eq!(name("## {{c1::Q}}\ntype: basic\n"), Ok(id(Stock::Basic)));
        assert_eq!(
            name("## Q\ntype: nope\n"),
            Err(Some((
                2,
                Problem::UnknownNoteType {
                    name: "nope".into(),
                    meant: None
                }
            )))
        );
        let reversed = FileDefaults {
            notetype: Some(reader.stock(Stock::Reversed)),
            ..defaults
        };
        let nt = reader.note_type(&raw("## Q\n"), &reversed).unwrap();
        assert_eq!(nt.id, id(Stock::Reversed));
    }
}
