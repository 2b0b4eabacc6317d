//! Custom note types written as plain files: `_notetypes/<Folder>/notetype.toml`, one
//! HTML file per card side, an optional `style.css`, and assets named with a leading `_`.
//!
//! ```text
//! cards/_notetypes/Vocab/
//!   notetype.toml           fields, templates, kind, stable ids
//!   Recognize.front.html    template `Recognize`, front side
//!   Recognize.back.html     … and back side
//!   style.css               the note type's CSS (optional)
//!   _NotoSans.woff2         an asset: packaged under this very name
//! ```
//!
//! Identity: the note type's id comes from its `id` key (default: the folder name), each
//! field's and template's from their own `id` (default: their name). Give a field an `id`
//! before renaming it and Anki sees the renamed field as the same field.

use crate::error::{Diagnostic, Problem, RichProblem};
use crate::notetype::template;
use crate::notetype::{field_name_allowed, BrowserAppearance, CardTemplate, Field};
use crate::notetype::{FieldOptions, Kind, Latex, NoteType, Stock};
use crate::{ids, suggest, text};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder below the source root that holds custom note types.
pub const FOLDER: &str = "_notetypes";
/// The description file in each note type folder.
pub const FILE: &str = "notetype.toml";
const CSS_FILE: &str = "style.css";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Description {
    name: Option<String>,
    alias: Option<String>,
    id: Option<IdKey>,
    kind: Option<String>,
    sort_field: Option<String>,
    css: Option<String>,
    latex_pre: Option<String>,
    latex_post: Option<String>,
    #[serde(default)]
    latex_svg: bool,
    #[serde(default)]
    stock_kind: u8,
    fields: Vec<FieldDescription>,
    templates: Vec<TemplateDescription>,
}

/// An `id` key: text that ids are derived from, or an integer taken as the id itself
/// (Anki's own id, for a note type that came from Anki).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "an `id` that is text, or an integer (Anki's own id)"
)]
enum IdKey {
    Verbatim(i64),
    Key(String),
}

impl IdKey {
    /// The text ids derive from: the key, or the integer's digits.
    fn key(&self) -> String {
        match self {
            IdKey::Verbatim(n) => n.to_string(),
            IdKey::Key(key) => key.clone(),
        }
    }

    /// The id: the integer, or `derive` of the key (`default` when there is no `id`).
    fn id(id: Option<&IdKey>, default: &str, derive: impl Fn(&str) -> i64) -> i64 {
        match id {
            Some(IdKey::Verbatim(n)) => *n,
            Some(IdKey::Key(key)) => derive(key),
            None => derive(default),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDescription {
    name: String,
    id: Option<IdKey>,
    font: Option<String>,
    size: Option<u32>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    rtl: bool,
    #[serde(default)]
    sticky: bool,
    #[serde(default)]
    plain_text: bool,
    #[serde(default)]
    collapsed: bool,
    #[serde(default)]
    exclude_from_search: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateDescription {
    name: String,
    id: Option<IdKey>,
    front: Option<String>,
    back: Option<String>,
    #[serde(default)]
    browser_front: String,
    #[serde(default)]
    browser_back: String,
    #[serde(default)]
    browser_font: String,
    #[serde(default)]
    browser_size: u32,
}

/// The custom note types of a source folder.
#[derive(Debug, Default)]
pub struct CustomTypes {
    by_name: HashMap<String, Arc<NoteType>>,
    /// Note type id → indexes of its required fields.
    required: HashMap<i64, Vec<usize>>,
    /// Assets: (packaged name, file).
    pub media: Vec<(String, PathBuf)>,
}

impl CustomTypes {
    /// The note type named `name` (as in `type: Vocab`).
    pub fn find(&self, name: &str) -> Option<Arc<NoteType>> {
        self.by_name.get(name).cloned()
    }

    /// The names of the note types, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every note type, by id.
    pub fn all(&self) -> Vec<Arc<NoteType>> {
        let mut all: Vec<Arc<NoteType>> = self.by_name.values().cloned().collect();
        all.sort_by_key(|nt| nt.id);
        all
    }

    /// The note type with this id.
    pub fn find_id(&self, id: i64) -> Option<Arc<NoteType>> {
        self.by_name.values().find(|nt| nt.id == id).cloned()
    }

    /// The first required field these values leave empty.
    pub fn missing_required(&self, notetype: &NoteType, fields: &[String]) -> Option<Problem> {
        let required = self.required.get(&notetype.id)?;
        required
            .iter()
            .find(|&&i| fields.get(i).is_none_or(|f| text::field_is_empty(f)))
            .map(|&i| {
                RichProblem::MissingField {
                    notetype: notetype.name.clone(),
                    field: notetype.fields[i].name.clone(),
                }
                .into()
            })
    }

    /// Why `notetype`, which card files call `alias`, cannot join these: that name is
    /// taken here, or its id is. A stock type's name is not taken: a custom type of that
    /// exact name is the one that name finds (decks from Anki have their own `Basic`).
    /// Two types may share a `name` (Anki allows it) when their aliases differ.
    fn clash(&self, alias: &str, notetype: &NoteType) -> Option<RichProblem> {
        let name = notetype.name.clone();
        if self.by_name.contains_key(alias) {
            Some(RichProblem::DuplicateNoteType(alias.to_string()))
        } else {
            let same_id = self.by_name.values().find(|t| t.id == notetype.id);
            same_id.map(|t| RichProblem::SameId {
                name,
                other: t.name.clone(),
            })
        }
    }

    /// Reads every `_notetypes/*/notetype.toml` below `root`.
    pub fn load(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> CustomTypes {
        let mut types = CustomTypes::default();
        let dir = root.join(FOLDER);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return types;
        };
        let mut folders: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        let mut assets: HashMap<String, PathBuf> = HashMap::new();
        for folder in folders {
            let mut problem = |file: &Path, line: usize, p: RichProblem| {
                diagnostics.push(Diagnostic::at_line_start(
                    file.to_path_buf(),
                    line,
                    p.into(),
                ))
            };
            let Some((notetype, required, alias)) = read_one(&folder, &mut problem) else {
                continue;
            };
            for asset in folder_assets(&folder, &mut problem) {
                let name = asset
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match assets.get(&name) {
                    Some(other) if std::fs::read(other).ok() != std::fs::read(&asset).ok() => {
                        let other = other.display().to_string();
                        problem(&asset, 0, RichProblem::AssetClash { name, other });
                    }
                    Some(_) => {}
                    None => {
                        assets.insert(name.clone(), asset.clone());
                        types.media.push((name, asset));
                    }
                }
            }
            if let Some(clash) = types.clash(&alias, &notetype) {
                problem(&folder.join(FILE), 1, clash);
                continue;
            }
            types.required.insert(notetype.id, required);
            types.by_name.insert(alias, Arc::new(notetype));
        }
        types
    }
}

/// The assets of a note type folder: every file named with a leading `_` that is not
/// its description, style sheet or a template side, whatever its extension (Anki
/// keeps `_` files as they are). Other files are refused, or, for `.html` and `.css`
/// files that are not the type's own, ignored with a warning.
fn folder_assets(
    folder: &Path,
    problem: &mut impl FnMut(&Path, usize, RichProblem),
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    let style_sheet = style_sheet_name(folder);
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_file()
            || name == FILE
            || name == style_sheet
            || name.ends_with(".front.html")
            || name.ends_with(".back.html")
            || name.starts_with('.')
        {
            continue;
        }
        if name.starts_with('_') {
            out.push(path);
        } else if name.ends_with(".html") || name.ends_with(".css") {
            problem(&path, 0, RichProblem::FileIgnored(name));
        } else {
            problem(&path, 0, RichProblem::AssetName(name));
        }
    }
    out
}

/// The file a folder's `notetype.toml` names as its CSS (`css = …`), else `style.css`.
fn style_sheet_name(folder: &Path) -> String {
    #[derive(Deserialize)]
    struct Css {
        css: Option<String>,
    }
    let text = std::fs::read_to_string(folder.join(FILE)).unwrap_or_default();
    let named = toml::from_str::<Css>(&text).ok().and_then(|c| c.css);
    named.unwrap_or_else(|| CSS_FILE.to_string())
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses TOML, reporting errors with their line; an unknown key with the known one
/// it most likely stands for.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, (usize, RichProblem)> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        let mut message = e.message().to_string();
        if let Some((_, meant @ Some(_))) = suggest::unknown_field(&message) {
            message += &suggest::did_you_mean(meant);
        }
        let on_line = text.lines().nth(line - 1).unwrap_or("");
        (line, RichProblem::Toml(plainer(&message, on_line)))
    })
}

/// The TOML parser's `message` about `line` in words a person writing the file uses:
/// which key, "a whole number" for `u32`, and that text needs quotes.
fn plainer(message: &str, line: &str) -> String {
    let mut out = message.to_string();
    for (rust, words) in [
        ("u32", "a whole number"),
        ("u64", "a whole number"),
        ("f32", "a number"),
    ] {
        out = out.replace(&format!("expected {rust}"), &format!("expected {words}"));
    }
    let Some((key, value)) = line.split_once('=') else {
        return out;
    };
    let (key, value) = (key.trim(), value.trim());
    if out.starts_with("invalid type: string") && value.trim_matches('"').parse::<f64>().is_ok() {
        out += &format!(
            "; write the number without quotes: `{key} = {}`",
            value.trim_matches('"')
        );
    } else if out.starts_with("invalid ") && value.contains(|c: char| c.is_alphabetic()) {
        let quoted = |v: &str| format!("\"{}\"", v.trim().trim_matches(['"', '\'']));
        let items: Vec<String> = (value.trim_matches(['[', ']']).split(','))
            .map(quoted)
            .collect();
        let fixed = match value.starts_with('[') {
            true => format!("[{}]", items.join(", ")),
            false => items.join(", "),
        };
        out += &format!("; text needs quotes: `{key} = {fixed}`");
    }
    if !key.is_empty() && !key.starts_with('[') && !out.contains(&format!("`{key}`")) {
        out = format!("`{key}`: {out}");
    }
    out
}

/// A note type read from its folder: the type, the indexes of its required fields, and
/// the name card files give it in `type:` (its `alias`, else its name).
type ReadType = (NoteType, Vec<usize>, String);

fn read_one(folder: &Path, report: &mut impl FnMut(&Path, usize, RichProblem)) -> Option<ReadType> {
    let found = std::cell::RefCell::new(Vec::new());
    let result = read_one_inner(folder, &|file: &Path, line, p| {
        found.borrow_mut().push((file.to_path_buf(), line, p))
    });
    for (file, line, p) in found.into_inner() {
        report(&file, line, p);
    }
    result
}

/// One note type folder being read: its description and where its problems go.
struct FolderReader<'a> {
    folder: &'a Path,
    toml_path: PathBuf,
    /// The description file's text, to find the line a key is on.
    text: String,
    /// The note type's name, for messages.
    name: String,
    /// What its ids derive from.
    key: String,
    /// Its id: given as an integer, else derived from `key`.
    id: i64,
    problem: &'a dyn Fn(&Path, usize, RichProblem),
}

/// The note type in `folder` and the indexes of its required fields, or `None` with its
/// problems reported. Steps report in a fixed order: description, kind, fields,
/// templates, CSS, sort field, then whether each template can make a card.
fn read_one_inner(folder: &Path, problem: &dyn Fn(&Path, usize, RichProblem)) -> Option<ReadType> {
    let (reader, description) = FolderReader::open(folder, problem)?;
    let kind = match kind(description.kind.as_deref()) {
        Ok(kind) => kind,
        Err(message) => return reader.bad(reader.line_with("kind"), message),
    };
    if description.fields.is_empty() || description.templates.is_empty() {
        let message = "needs at least one `[[fields]]` and one `[[templates]]`";
        return reader.bad(1, message.into());
    }
    let (fields, required, mut ok) = reader.fields(&description.fields);
    if kind == Kind::Cloze && description.templates.len() != 1 {
        let message = "a cloze note type has exactly one template".into();
        reader.report(reader.line_with("[[templates]]"), message);
        ok = false;
    }
    let templates = reader.templates(&description.templates, &fields);
    let (true, Some(templates)) = (ok, templates) else {
        return None;
    };
    let css = reader.css(description.css.as_deref(), kind)?;
    let sort_field = reader.sort_field(description.sort_field.as_deref(), &fields)?;
    let defaults = Latex::default();
    let latex = Latex {
        pre: description.latex_pre.unwrap_or(defaults.pre),
        post: description.latex_post.unwrap_or(defaults.post),
        svg: description.latex_svg,
    };
    let notetype = NoteType {
        id: reader.id,
        name: reader.name.clone(),
        kind,
        fields,
        templates,
        css,
        sort_field,
        original_stock_kind: description.stock_kind,
        latex,
        modified: 0,
    };
    // Templates Anki could never show a card for.
    if let Some((template, what)) = unshowable_template(&notetype) {
        let file = folder.join(format!("{template}.front.html"));
        return reader.bad_in(&file, 1, format!("template `{template}`: {what}"));
    }
    let alias = description.alias.unwrap_or_else(|| notetype.name.clone());
    Some((notetype, required, alias))
}

impl<'a> FolderReader<'a> {
    /// Reads and parses the folder's description.
    fn open(
        folder: &'a Path,
        problem: &'a dyn Fn(&Path, usize, RichProblem),
    ) -> Option<(FolderReader<'a>, Description)> {
        let toml_path = folder.join(FILE);
        let folder_name = folder.file_name()?.to_string_lossy().into_owned();
        let text = match std::fs::read_to_string(&toml_path) {
            Ok(t) => t,
            Err(e) => {
                let message = format!("cannot read {FILE}: {e}");
                let p = RichProblem::BadNoteType {
                    notetype: folder_name,
                    message,
                };
                problem(&toml_path, 0, p);
                return None;
            }
        };
        let description: Description = match parse_toml(&text) {
            Ok(d) => d,
            Err((line, p)) => {
                problem(&toml_path, line, p);
                return None;
            }
        };
        let name = description.name.clone().unwrap_or(folder_name.clone());
        let own_key = description.id.as_ref().map_or(folder_name, IdKey::key);
        let key = ids::custom_notetype_key(&own_key);
        let id = match description.id {
            Some(IdKey::Verbatim(id)) => id,
            _ => ids::notetype_id(&key),
        };
        let reader = FolderReader {
            folder,
            toml_path,
            text,
            name,
            key,
            id,
            problem,
        };
        Some((reader, description))
    }

    /// The line of the description where `needle` first occurs (1 if nowhere).
    fn line_with(&self, needle: &str) -> usize {
        self.text
            .find(needle)
            .map_or(1, |at| line_of(&self.text, at))
    }

    /// Reports a problem with the description.
    fn report(&self, line: usize, message: String) {
        self.report_in(&self.toml_path, line, message);
    }

    /// Reports a problem with one of the folder's files.
    fn report_in(&self, file: &Path, line: usize, message: String) {
        let notetype = self.name.clone();
        (self.problem)(file, line, RichProblem::BadNoteType { notetype, message });
    }

    /// Reports a problem with the description; `None`, to return it.
    fn bad<T>(&self, line: usize, message: String) -> Option<T> {
        self.report(line, message);
        None
    }

    /// Reports a problem with one of the folder's files; `None`, to return it.
    fn bad_in<T>(&self, file: &Path, line: usize, message: String) -> Option<T> {
        self.report_in(file, line, message);
        None
    }

    /// The fields, the indexes of the required ones, and whether all are fine.
    fn fields(&self, described: &[FieldDescription]) -> (Vec<Field>, Vec<usize>, bool) {
        let mut ok = true;
        let mut seen = HashSet::new();
        let mut fields = Vec::new();
        let mut required = Vec::new();
        for (ord, f) in described.iter().enumerate() {
            let id = IdKey::id(f.id.as_ref(), &f.name, |k| ids::field_id(&self.key, k));
            if !field_name_allowed(&f.name) {
                let message = format!("field name `{}` is not allowed by Anki", f.name);
                self.report(self.line_with(&f.name), message);
                ok = false;
            }
            if !seen.insert(("field", id.to_string())) || !seen.insert(("fname", f.name.clone())) {
                let message = format!("field `{}` (or its id) is given twice", f.name);
                self.report(self.line_with(&f.name), message);
                ok = false;
            }
            if f.required {
                required.push(ord);
            }
            let defaults = Field::new(f.name.clone(), id);
            fields.push(Field {
                font: f.font.clone().unwrap_or(defaults.font.clone()),
                size: f.size.unwrap_or(defaults.size),
                options: FieldOptions {
                    description: f.description.clone(),
                    rtl: f.rtl,
                    sticky: f.sticky,
                    plain_text: f.plain_text,
                    collapsed: f.collapsed,
                    exclude_from_search: f.exclude_from_search,
                },
                ..defaults
            });
        }
        (fields, required, ok)
    }

    /// The templates, each side read and checked against `fields`; `None` if any has a
    /// problem (all are reported).
    fn templates(
        &self,
        described: &[TemplateDescription],
        fields: &[Field],
    ) -> Option<Vec<CardTemplate>> {
        let field_names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let mut ok = true;
        let mut seen = HashSet::new();
        let mut templates = Vec::new();
        for t in described {
            let id = IdKey::id(t.id.as_ref(), &t.name, |k| ids::template_id(&self.key, k));
            if !seen.insert(("template", id.to_string())) || !seen.insert(("tname", t.name.clone()))
            {
                let message = format!("template `{}` (or its id) is given twice", t.name);
                self.report(self.line_with(&t.name), message);
                ok = false;
            }
            let front = self.side(t, t.front.as_ref(), "front", &field_names);
            let back = self.side(t, t.back.as_ref(), "back", &field_names);
            let (Some(front), Some(back)) = (front, back) else {
                ok = false;
                continue;
            };
            let browser = BrowserAppearance {
                front: t.browser_front.clone(),
                back: t.browser_back.clone(),
                font: t.browser_font.clone(),
                size: t.browser_size,
            };
            templates.push(CardTemplate {
                browser,
                ..CardTemplate::new(t.name.clone(), id, front, back)
            });
        }
        ok.then_some(templates)
    }

    /// One side of a template: its file (by default `<Template>.<suffix>.html`), read
    /// and checked.
    fn side(
        &self,
        t: &TemplateDescription,
        file: Option<&String>,
        suffix: &str,
        fields: &BTreeSet<&str>,
    ) -> Option<String> {
        let default = || format!("{}.{suffix}.html", t.name);
        let file = self.folder.join(file.cloned().unwrap_or_else(default));
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let text = template_text(&text);
                check_template(&text, &file, &self.name, &t.name, fields, self.problem)
                    .then_some(text)
            }
            Err(e) => {
                let message = format!("cannot read the {suffix} of template `{}`: {e}", t.name);
                self.bad_in(&file, 0, message)
            }
        }
    }

    /// The CSS: the file the description names, else `style.css` if there is one, else
    /// the stock types' (Anki would show the type's `.cloze` and Markdown's blocks
    /// unstyled).
    fn css(&self, named: Option<&str>, kind: Kind) -> Option<String> {
        let css_file = self.folder.join(named.unwrap_or(CSS_FILE));
        match std::fs::read_to_string(&css_file) {
            Ok(css) => Some(css.replace("\r\n", "\n")),
            Err(_) if named.is_none() => Some(Stock::css(kind)),
            Err(e) => self.bad_in(&css_file, 0, format!("cannot read the CSS: {e}")),
        }
    }

    /// The index of the sort field (the first if none is named).
    fn sort_field(&self, named: Option<&str>, fields: &[Field]) -> Option<usize> {
        let Some(s) = named else {
            return Some(0);
        };
        match fields.iter().position(|f| f.name == s) {
            Some(i) => Some(i),
            None => {
                let message = format!("sort_field `{s}` is not one of its fields");
                self.bad(self.line_with("sort_field"), message)
            }
        }
    }
}

/// The `kind` key's note type kind.
fn kind(value: Option<&str>) -> Result<Kind, String> {
    match value {
        None | Some("standard") => Ok(Kind::Standard),
        Some("cloze") => Ok(Kind::Cloze),
        Some(other) => Err(format!("kind `{other}` is neither `standard` nor `cloze`")),
    }
}

/// A template file's text as stored: no byte order mark, `\n` line ends, and no final
/// line end (editors add one that the template never meant).
fn template_text(file: &str) -> String {
    let text = file
        .strip_prefix('\u{feff}')
        .unwrap_or(file)
        .replace("\r\n", "\n");
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// The first template whose front can never make a card, and why.
fn unshowable_template(notetype: &NoteType) -> Option<(&str, &'static str)> {
    let what = match notetype.kind {
        Kind::Cloze => "the front of a cloze template must show a field with `{{cloze:Field}}`",
        Kind::Standard => "the front of the template shows no field, so it can never make a card",
    };
    notetype.never_shown().map(|t| (t.name.as_str(), what))
}
/// The fields a template names that the note type lacks, each with the line it is
/// first on (`Tags` is Anki's own); an error if the template does not parse.
fn unknown_fields(text: &str, fields: &BTreeSet<&str>) -> Result<Vec<(usize, String)>, String> {
    let nodes = template::parse(text).map_err(|e| e.to_string())?;
    let unknown = template::unknown_fields(&nodes, fields)
        .into_iter()
        .map(|field| {
            let line = text.find(&field).map_or(0, |at| line_of(text, at));
            (line, field)
        });
    Ok(unknown.collect())
}

/// Parses a template side and checks that every field it names exists.
fn check_template(
    text: &str,
    file: &Path,
    notetype: &str,
    template_name: &str,
    fields: &BTreeSet<&str>,
    problem: &dyn Fn(&Path, usize, RichProblem),
) -> bool {
    let unknown = match unknown_fields(text, fields) {
        Ok(unknown) => unknown,
        Err(error) => {
            problem(
                file,
                0,
                RichProblem::BadNoteType {
                    notetype: notetype.to_string(),
                    message: format!("template `{template_name}`: {error}"),
                },
            );
            return false;
        }
    };
    for (line, field) in &unknown {
        problem(
            file,
            *line,
            RichProblem::UnknownTemplateField {
                notetype: notetype.to_string(),
                template: template_name.to_string(),
                field: field.clone(),
                fields: fields.iter().copied().collect::<Vec<_>>().join(", "),
            },
        );
    }
    unknown.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A note type folder under the system's temporary folder, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str, files: &[(&str, &str)]) -> Scratch {
            let root = std::env::temp_dir()
                .join(format!("ankideck-notetypes-{}-{test}", std::process::id()));
            let folder = root.join("Vocab");
            std::fs::create_dir_all(&folder).unwrap();
            for (name, text) in files {
                std::fs::write(folder.join(name), text).unwrap();
            }
            Scratch(root)
        }

        fn folder(&self) -> PathBuf {
            self.0.join("Vocab")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Reads the folder: the note type, or the problems' messages.
    fn read(scratch: &Scratch) -> Result<(NoteType, Vec<usize>), Vec<String>> {
        let found = RefCell::new(Vec::new());
        let result = read_one_inner(&scratch.folder(), &|_: &Path, line, p| {
            found.borrow_mut().push(format!("{line}: {p}"))
        });
        result
            .map(|(nt, required, _)| (nt, required))
            .ok_or(found.into_inner())
    }

    const VOCAB: &str = r#"
fields = [{ name = "Word", id = "w" }, { name = "Meaning", required = true }]
templates = [{ name = "Recognize" }]
"#;

    #[test]
    fn ids_derive_from_the_given_ids_else_the_names() {
        let scratch = Scratch::new(
            "ids",
            &[
                (FILE, VOCAB),
                ("Recognize.front.html", "{{Word}}\n"),
                ("Recognize.back.html", "\u{feff}{{Meaning}}\r\n"),
            ],
        );
        let (nt, required) = read(&scratch).unwrap();
        assert_eq!(nt.name, "Vocab");
        assert_eq!(nt.id, ids::notetype_id("custom:Vocab"));
        assert_eq!(nt.fields[0].id, ids::field_id("custom:Vocab", "w"));
        assert_eq!(nt.fields[1].id, ids::field_id("custom:Vocab", "Meaning"));
        let template_id = ids::template_id("custom:Vocab", "Recognize");
        assert_eq!(nt.templates[0].id, template_id);
        assert_eq!(nt.templates[0].front, "{{Word}}");
        assert_eq!(nt.templates[0].back, "{{Meaning}}");
        assert_eq!(required, [1]);
        assert_eq!((nt.css, nt.sort_field), (Stock::css(Kind::Standard), 0));
    }

    /// Integer ids are Anki's own, taken as they are; every setting Anki's dialogs have
    /// is read.
    #[test]
    fn integer_ids_are_verbatim_and_anki_settings_are_read() {
        let description = r#"
id = 1670000000123
latex_pre = "\\documentclass{article}"
latex_post = "END"
latex_svg = true
stock_kind = 1

[[fields]]
name = "Word"
id = -4242
description = "the word"
rtl = true
sticky = true
plain_text = true
collapsed = true
exclude_from_search = true

[[fields]]
name = "Meaning"
id = "m"

[[templates]]
name = "Recognize"
id = 77
browser_front = "{{Word}}!"
browser_back = "{{Meaning}}?"
browser_font = "Noto"
browser_size = 14
"#;
        let scratch = Scratch::new(
            "integer-ids",
            &[
                (FILE, description),
                ("Recognize.front.html", "{{Word}}"),
                ("Recognize.back.html", "{{Meaning}}"),
            ],
        );
        let (nt, _) = read(&scratch).unwrap();
        assert_eq!(nt.id, 1_670_000_000_123);
        assert_eq!(nt.fields[0].id, -4242);
        assert_eq!(nt.fields[1].id, ids::field_id("custom:1670000000123", "m"));
        assert_eq!(nt.templates[0].id, 77);
        assert_eq!(nt.latex.pre, "\\documentclass{article}");
        assert_eq!((nt.latex.post.as_str(), nt.latex.svg), ("END", true));
        assert_eq!(nt.original_stock_kind, 1);
        let o = &nt.fields[0].options;
        assert_eq!(o.description, "the word");
        assert!(o.rtl && o.sticky && o.plain_text && o.collapsed && o.exclude_from_search);
        assert_eq!(nt.fields[1].options, FieldOptions::default());
        let b = &nt.templates[0].browser;
        assert_eq!(
            (b.front.as_str(), b.back.as_str()),
            ("{{Word}}!", "{{Meaning}}?")
        );
        assert_eq!((b.font.as_str(), b.size), ("Noto", 14));

        // Each setting counts as a change of the note type, so its `mod` rises.
        let (content, schema) = nt.fingerprints();
        let mut plain = nt.clone();
        plain.fields[0].options = FieldOptions::default();
        assert_ne!(plain.fingerprints().0, content);
        plain.templates[0].browser = BrowserAppearance::default();
        plain.latex = Latex::default();
        assert_eq!(plain.fingerprints().1, schema);
        let mut svg = plain.clone();
        svg.latex.svg = true;
        assert_ne!(svg.fingerprints().0, plain.fingerprints().0);
    }

    #[test]
    fn toml_messages_name_the_key_and_the_fix() {
        let message = |toml: &str| {
            parse_toml::<crate::source::deck_settings::File>(toml)
                .unwrap_err()
                .1
                .to_string()
        };
        assert_eq!(
            message("[options]\nnew_per_day = \"20\"\n"),
            "`new_per_day`: invalid type: string \"20\", expected a whole number; write the number without quotes: `new_per_day = 20`"
        );
        assert_eq!(
            message("[options]\nlearning_steps = [1m, 10m]\n"),
            "`learning_steps`: invalid array\nexpected `]`; text needs quotes: `learning_steps = [\"1m\", \"10m\"]`"
        );
    }

    #[test]
    fn an_id_is_text_or_an_integer() {
        let error = parse_toml::<Description>("id = 1.5\nfields = []\ntemplates = []\n");
        let (line, problem) = error.unwrap_err();
        assert_eq!(line, 1);
        assert_eq!(
            problem.to_string(),
            "an `id` that is text, or an integer (Anki's own id)"
        );
    }

    #[test]
    fn the_same_integer_id_twice_is_refused() {
        let description = "fields = [{ name = \"A\", id = 5 }, { name = \"B\", id = 5 }]\ntemplates = [{ name = \"Recognize\" }]\n";
        let scratch = Scratch::new(
            "same-integer-ids",
            &[
                (FILE, description),
                ("Recognize.front.html", "{{A}}"),
                ("Recognize.back.html", "{{B}}"),
            ],
        );
        let problems = read(&scratch).unwrap_err();
        assert!(
            problems[0].contains("field `B` (or its id) is given twice"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_renamed_field_with_an_id_keeps_it() {
        let renamed = VOCAB
            .replace("\"Word\"", "\"Term\"")
            .replace("fields", "id = \"v\"\nfields");
        let scratch = Scratch::new(
            "rename",
            &[
                (FILE, &renamed),
                ("Recognize.front.html", "{{Term}}"),
                ("Recognize.back.html", "{{Meaning}}"),
            ],
        );
        let (nt, _) = read(&scratch).unwrap();
        assert_eq!(nt.id, ids::notetype_id("custom:v"));
        assert_eq!(nt.fields[0].id, ids::field_id("custom:v", "w"));
    }

    #[test]
    fn problems_are_reported_in_step_order() {
        let description = r#"
sort_field = "Nope"
fields = [{ name = "Word" }, { name = "Wo:rd" }, { name = "Word" }]
templates = [{ name = "Recognize" }, { name = "Recognize" }]
"#;
        let scratch = Scratch::new(
            "order",
            &[
                (FILE, description),
                ("Recognize.front.html", "{{Missing}}"),
                ("Recognize.back.html", "{{Word}}"),
            ],
        );
        let problems = read(&scratch).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].contains("field name `Wo:rd` is not allowed"));
        assert!(problems[1].contains("field `Word` (or its id) is given twice"));
        assert!(problems[2].contains("uses field `Missing`"));
        assert!(problems[3].contains("template `Recognize` (or its id) is given twice"));
        assert!(problems[4].contains("uses field `Missing`"));
        // The sort field is only checked once fields and templates are fine.
        assert!(problems.iter().all(|p| !p.contains("sort_field")));
    }

    #[test]
    fn kinds_are_standard_or_cloze() {
        assert_eq!(kind(None), Ok(Kind::Standard));
        assert_eq!(kind(Some("standard")), Ok(Kind::Standard));
        assert_eq!(kind(Some("cloze")), Ok(Kind::Cloze));
        assert!(kind(Some("Cloze")).unwrap_err().contains("kind `Cloze`"));
    }

    #[test]
    fn template_files_lose_bom_crlf_and_one_final_newline() {
        assert_eq!(template_text("\u{feff}a\r\nb\r\n"), "a\nb");
        assert_eq!(template_text("a\n\n"), "a\n");
        assert_eq!(template_text("a"), "a");
    }

    #[test]
    fn templates_may_name_only_their_fields_and_tags() {
        let fields: BTreeSet<&str> = ["Front", "Back"].into();
        let text = "{{Front}}\n{{#Tags}}{{Tags}}{{/Tags}}\n{{type:Back}}\n{{hint:Extra}}";
        assert_eq!(unknown_fields(text, &fields), Ok(vec![(4, "Extra".into())]));
        assert_eq!(unknown_fields("{{Front}}", &fields), Ok(vec![]));
        assert!(unknown_fields("{{#Front}}", &fields).is_err());
    }

    fn notetype(kind: Kind, fronts: &[&str]) -> NoteType {
        let mut nt = crate::Stock::Basic.notetype();
        nt.kind = kind;
        nt.templates = fronts
            .iter()
            .enumerate()
            .map(|(i, front)| {
                CardTemplate::new(format!("T{i}"), 0, front.to_string(), String::new())
            })
            .collect();
        nt
    }

    #[test]
    fn a_template_must_be_able_to_make_a_card() {
        let shown = notetype(Kind::Standard, &["{{Front}}", "{{#Back}}{{Back}}{{/Back}}"]);
        assert_eq!(unshowable_template(&shown), None);
        let blank = notetype(Kind::Standard, &["{{Front}}", "text"]);
        let (name, what) = unshowable_template(&blank).unwrap();
        assert_eq!(name, "T1");
        assert!(what.contains("shows no field"));
        let cloze = notetype(Kind::Cloze, &["{{Front}}"]);
        let (_, what) = unshowable_template(&cloze).unwrap();
        assert!(what.contains("{{cloze:Field}}"));
        assert_eq!(
            unshowable_template(&notetype(Kind::Cloze, &["{{cloze:Front}}"])),
            None
        );
    }

    #[test]
    fn names_and_ids_may_not_clash() {
        let mut types = CustomTypes::default();
        let mut vocab = crate::Stock::Basic.notetype();
        vocab.name = "Vocab".into();
        vocab.id = 7;
        assert_eq!(types.clash(&vocab.name, &vocab), None);
        types
            .by_name
            .insert("Vocab".into(), Arc::new(vocab.clone()));
        assert_eq!(
            types.clash(&vocab.name, &vocab),
            Some(RichProblem::DuplicateNoteType("Vocab".into()))
        );
        vocab.name = "Words".into();
        let same_id = RichProblem::SameId {
            name: "Words".into(),
            other: "Vocab".into(),
        };
        assert_eq!(types.clash(&vocab.name, &vocab), Some(same_id));
        vocab.id = 8;
        assert_eq!(types.clash(&vocab.name, &vocab), None);
        for stock in ["Basic", "basic", "Cloze", "Cloze (ankideck)"] {
            vocab.name = stock.into();
            assert_eq!(
                types.clash(&vocab.name, &vocab),
                None,
                "stock names are free"
            );
        }
        // A second `Vocab` under another id, with an alias for card files.
        vocab.name = "Vocab".into();
        assert_eq!(types.clash("Vocab+", &vocab), None);
        assert_eq!(
            types.clash("vocab", &vocab),
            None,
            "aliases match exactly, as `type:` does"
        );
    }

    /// Every `_` file is an asset, `.css` files included (template CSS and JS libraries
    /// come that way from Anki); the style sheet and template sides are not; a `.css` or
    /// `.html` file without `_` is ignored with a warning, never silently.
    #[test]
    fn underscore_files_are_assets_whatever_their_extension() {
        let description = format!("css = \"_main.css\"\n{VOCAB}");
        let scratch = Scratch::new(
            "assets",
            &[
                (FILE, &description),
                ("Recognize.front.html", "{{Word}}"),
                ("Recognize.back.html", "{{Meaning}}"),
                ("_main.css", "b {}"),
                ("_github-markdown-css@5.8.1.min.css", "i {}"),
                ("_highlight.min.js", "x"),
                ("_page.html", "<p>"),
                ("style.css", "unused"),
                ("notes.html", "mine"),
                ("font.woff2", "f"),
            ],
        );
        let mut problems = Vec::new();
        let assets = folder_assets(&scratch.folder(), &mut |_: &Path, _, p: RichProblem| {
            problems.push((Problem::from(p.clone()).code(), p.to_string()))
        });
        let names: Vec<_> = (assets.iter())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "_github-markdown-css@5.8.1.min.css",
                "_highlight.min.js",
                "_page.html"
            ]
        );
        let codes: Vec<_> = problems.iter().map(|(c, m)| (*c, &m[..12])).collect();
        assert_eq!(
            codes,
            [
                ("rich-asset-name", "asset `font."),
                ("rich-file-ignored", "file `notes."),
                ("rich-file-ignored", "file `style."),
            ]
        );
        assert_eq!(read(&scratch).unwrap().0.css, "b {}");
    }
}
