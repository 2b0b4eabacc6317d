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
use crate::notetype::{CardTemplate, Field, Kind, NoteType};
use crate::{ids, text};
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
    id: Option<String>,
    kind: Option<String>,
    sort_field: Option<String>,
    css: Option<String>,
    fields: Vec<FieldDescription>,
    templates: Vec<TemplateDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDescription {
    name: String,
    id: Option<String>,
    font: Option<String>,
    size: Option<u32>,
    #[serde(default)]
    required: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateDescription {
    name: String,
    id: Option<String>,
    front: Option<String>,
    back: Option<String>,
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
            let Some((notetype, required)) = read_one(&folder, &mut problem) else {
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
            let name = notetype.name.clone();
            let clash = if types.by_name.contains_key(&name) {
                Some(RichProblem::DuplicateNoteType(name))
            } else if crate::Stock::find(&name).is_some() {
                Some(RichProblem::StockName(name))
            } else {
                let same_id = types.by_name.values().find(|t| t.id == notetype.id);
                same_id.map(|t| RichProblem::SameId {
                    name,
                    other: t.name.clone(),
                })
            };
            if let Some(clash) = clash {
                problem(&folder.join(FILE), 1, clash);
                continue;
            }
            types.required.insert(notetype.id, required);
            types
                .by_name
                .insert(notetype.name.clone(), Arc::new(notetype));
        }
        types
    }
}

/// Files in a note type folder other than its description, templates and CSS.
fn folder_assets(
    folder: &Path,
    problem: &mut impl FnMut(&Path, usize, RichProblem),
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_file()
            || name == FILE
            || name == CSS_FILE
            || name.ends_with(".html")
            || name.ends_with(".css")
            || name.starts_with('.')
        {
            continue;
        }
        if name.starts_with('_') {
            out.push(path);
        } else {
            problem(&path, 0, RichProblem::AssetName(name));
        }
    }
    out
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses TOML, reporting errors with their line.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, (usize, RichProblem)> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        (line, RichProblem::Toml(e.message().to_string()))
    })
}

fn read_one(
    folder: &Path,
    report: &mut impl FnMut(&Path, usize, RichProblem),
) -> Option<(NoteType, Vec<usize>)> {
    let found = std::cell::RefCell::new(Vec::new());
    let result = read_one_inner(folder, &|file: &Path, line, p| {
        found.borrow_mut().push((file.to_path_buf(), line, p))
    });
    for (file, line, p) in found.into_inner() {
        report(&file, line, p);
    }
    result
}

fn read_one_inner(
    folder: &Path,
    problem: &dyn Fn(&Path, usize, RichProblem),
) -> Option<(NoteType, Vec<usize>)> {
    let toml_path = folder.join(FILE);
    let folder_name = folder.file_name()?.to_string_lossy().into_owned();
    let text = match std::fs::read_to_string(&toml_path) {
        Ok(t) => t,
        Err(e) => {
            problem(
                &toml_path,
                0,
                RichProblem::BadNoteType {
                    notetype: folder_name,
                    message: format!("cannot read {FILE}: {e}"),
                },
            );
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
    let key = format!(
        "custom:{}",
        description.id.as_deref().unwrap_or(&folder_name)
    );
    let line_with = |needle: &str| text.find(needle).map_or(1, |at| line_of(&text, at));
    let bad = |line: usize, message: String| {
        problem(
            &toml_path,
            line,
            RichProblem::BadNoteType {
                notetype: name.clone(),
                message,
            },
        )
    };
    let kind = match description.kind.as_deref() {
        None | Some("standard") => Kind::Standard,
        Some("cloze") => Kind::Cloze,
        Some(other) => {
            bad(
                line_with("kind"),
                format!("kind `{other}` is neither `standard` nor `cloze`"),
            );
            return None;
        }
    };
    if description.fields.is_empty() || description.templates.is_empty() {
        bad(
            1,
            "needs at least one `[[fields]]` and one `[[templates]]`".into(),
        );
        return None;
    }
    let mut ok = true;
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    let mut required = Vec::new();
    for (ord, f) in description.fields.iter().enumerate() {
        let id_key = f.id.as_deref().unwrap_or(&f.name);
        if f.name.trim().is_empty()
            || f.name.contains([':', '{', '}', '"'])
            || f.name.starts_with(['#', '/', '^'])
        {
            bad(
                line_with(&f.name),
                format!("field name `{}` is not allowed by Anki", f.name),
            );
            ok = false;
        }
        if !seen.insert(("field", id_key.to_string())) || !seen.insert(("fname", f.name.clone())) {
            bad(
                line_with(&f.name),
                format!("field `{}` (or its id) is given twice", f.name),
            );
            ok = false;
        }
        if f.required {
            required.push(ord);
        }
        fields.push(Field {
            name: f.name.clone(),
            id: ids::part_id(&key, &format!("field:{id_key}")),
            font: f.font.clone().unwrap_or_else(|| "Arial".into()),
            size: f.size.unwrap_or(20),
            tag: None,
            prevent_deletion: false,
        });
    }
    if kind == Kind::Cloze && description.templates.len() != 1 {
        bad(
            line_with("[[templates]]"),
            "a cloze note type has exactly one template".into(),
        );
        ok = false;
    }
    let field_names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let mut templates = Vec::new();
    for t in &description.templates {
        let id_key = t.id.as_deref().unwrap_or(&t.name);
        if !seen.insert(("template", id_key.to_string())) || !seen.insert(("tname", t.name.clone()))
        {
            bad(
                line_with(&t.name),
                format!("template `{}` (or its id) is given twice", t.name),
            );
            ok = false;
        }
        let side = |file: Option<&String>, suffix: &str| -> Option<String> {
            let file = folder.join(file.cloned().unwrap_or(format!("{}.{suffix}.html", t.name)));
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    let text = text
                        .strip_prefix('\u{feff}')
                        .unwrap_or(&text)
                        .replace("\r\n", "\n");
                    let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
                    check_template(&text, &file, &name, &t.name, &field_names, problem)
                        .then_some(text)
                }
                Err(e) => {
                    problem(
                        &file,
                        0,
                        RichProblem::BadNoteType {
                            notetype: name.clone(),
                            message: format!(
                                "cannot read the {suffix} of template `{}`: {e}",
                                t.name
                            ),
                        },
                    );
                    None
                }
            }
        };
        let front = side(t.front.as_ref(), "front");
        let back = side(t.back.as_ref(), "back");
        let (Some(front), Some(back)) = (front, back) else {
            ok = false;
            continue;
        };
        templates.push(CardTemplate {
            name: t.name.clone(),
            id: ids::part_id(&key, &format!("template:{id_key}")),
            front,
            back,
        });
    }
    if !ok {
        return None;
    }
    let css_file = folder.join(description.css.as_deref().unwrap_or(CSS_FILE));
    let css = match std::fs::read_to_string(&css_file) {
        Ok(css) => css.replace("\r\n", "\n"),
        Err(_) if description.css.is_none() => String::new(),
        Err(e) => {
            problem(
                &css_file,
                0,
                RichProblem::BadNoteType {
                    notetype: name.clone(),
                    message: format!("cannot read the CSS: {e}"),
                },
            );
            return None;
        }
    };
    let sort_field = match &description.sort_field {
        None => 0,
        Some(s) => match fields.iter().position(|f| &f.name == s) {
            Some(i) => i,
            None => {
                problem(
                    &toml_path,
                    line_with("sort_field"),
                    RichProblem::BadNoteType {
                        notetype: name.clone(),
                        message: format!("sort_field `{s}` is not one of its fields"),
                    },
                );
                return None;
            }
        },
    };
    let notetype = NoteType {
        id: ids::notetype_id(&key),
        name: name.clone(),
        kind,
        fields,
        templates,
        css,
        sort_field,
        original_stock_kind: 0,
        modified: 0,
    };
    // Templates Anki could never show a card for.
    let all: HashSet<&str> = notetype.fields.iter().map(|f| f.name.as_str()).collect();
    for t in &notetype.templates {
        let nodes = template::parse(&t.front).unwrap_or_default();
        let shows_field = match kind {
            Kind::Standard => template::renders_with_fields(&nodes, &all),
            Kind::Cloze => t.front.contains("{{cloze:"),
        };
        if !shows_field {
            let what = if kind == Kind::Cloze {
                "the front of a cloze template must show a field with `{{cloze:Field}}`"
            } else {
                "the front of the template shows no field, so it can never make a card"
            };
            problem(
                &folder.join(format!("{}.front.html", t.name)),
                1,
                RichProblem::BadNoteType {
                    notetype: name.clone(),
                    message: format!("template `{}`: {what}", t.name),
                },
            );
            return None;
        }
    }
    Some((notetype, required))
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
    let nodes = match template::parse(text) {
        Ok(n) => n,
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
    let mut used = BTreeSet::new();
    template::referenced_fields(&nodes, &mut used);
    let mut ok = true;
    for field in used {
        if fields.contains(field.as_str()) || field == "Tags" {
            continue;
        }
        let line = text.find(&field).map_or(0, |at| line_of(text, at));
        problem(
            file,
            line,
            RichProblem::UnknownTemplateField {
                notetype: notetype.to_string(),
                template: template_name.to_string(),
                field,
                fields: fields.iter().copied().collect::<Vec<_>>().join(", "),
            },
        );
        ok = false;
    }
    ok
}
