//! Note types in an unpacked folder: ankideck's stock types by their source names, every
//! other one as `_notetypes/NAME/` (notetype.toml, a front and back file per template,
//! style.css), with Anki's ids as integers so that the build keeps them.

use super::layout::{safe_name, yaml_string};
use super::{create, WriteError};
use crate::notetype::{Kind, NoteType, Stock};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The name `type:` uses for each note type.
pub struct TypeNames {
    by_id: HashMap<i64, String>,
    /// The stock types among them, by id (found once: [`stock_of`] builds every one).
    stock: HashMap<i64, Stock>,
}

impl TypeNames {
    /// Stock types (exactly ankideck's, ids included) by their keys, others by name;
    /// in id order, a custom type named like an earlier one, ignoring case, by its name
    /// with `+` appended until it is free (2.0-era collections have two `Basic`; Anki
    /// allows it, and so does the build, by the `alias` card files use).
    pub fn new(notetypes: &[NoteType]) -> TypeNames {
        let mut taken = HashSet::new();
        let mut by_id = HashMap::new();
        let mut stock = HashMap::new();
        for nt in notetypes {
            let found = stock_of(nt);
            stock.extend(found.map(|s| (nt.id, s)));
            let mut name = found.map_or_else(|| nt.name.clone(), |s| s.key().into());
            while !taken.insert(name.to_lowercase()) {
                name.push('+');
            }
            by_id.insert(nt.id, name);
        }
        TypeNames { by_id, stock }
    }

    /// The stock type `nt` is, if it is one.
    pub(super) fn stock(&self, nt: &NoteType) -> Option<Stock> {
        self.stock.get(&nt.id).copied()
    }

    /// The name card files give `nt`.
    pub fn name<'a>(&'a self, nt: &'a NoteType) -> &'a str {
        self.by_id
            .get(&nt.id)
            .map_or(nt.name.as_str(), String::as_str)
    }

    /// One message per custom type whose name another has, with its alias.
    pub fn aliased(&self, notetypes: &[NoteType]) -> Vec<String> {
        let aliased = notetypes.iter().filter(|nt| stock_of(nt).is_none());
        aliased
            .filter(|nt| self.name(nt) != nt.name)
            .map(|nt| {
                format!(
                    "note type {} is named `{}` like another one; it keeps its name, and \
                     card files call it `{}` (its `alias` in notetype.toml)",
                    nt.id,
                    nt.name,
                    self.name(nt)
                )
            })
            .collect()
    }
}

/// The stock type `nt` is, when it equals one in everything but its modification time.
pub(super) fn stock_of(nt: &NoteType) -> Option<Stock> {
    Stock::ALL.into_iter().find(|s| {
        let mut stock = s.notetype();
        stock.modified = nt.modified;
        stock == *nt
    })
}

/// Writes every custom note type; returns, for each `_` media file its templates or
/// CSS use, the folder (below the root) it belongs in.
pub(super) fn write_all(
    root: &Path,
    notetypes: &[NoteType],
    names: &TypeNames,
    media: &[String],
) -> Result<HashMap<String, PathBuf>, WriteError> {
    let mut folders = HashSet::new();
    let mut assets = HashMap::new();
    for nt in notetypes.iter().filter(|nt| stock_of(nt).is_none()) {
        let base = safe_name(&nt.name);
        let folder = (0..)
            .map(|n| match n {
                0 => base.clone(),
                n => format!("{base} ({n})"),
            })
            .find(|f| folders.insert(f.to_lowercase()))
            .expect("a free folder name");
        let folder = Path::new(crate::source::notetypes::FOLDER).join(folder);
        write_one(&root.join(&folder), nt, names.name(nt))?;
        let text: String = nt
            .templates
            .iter()
            .flat_map(|t| [t.front.as_str(), t.back.as_str()])
            .chain([nt.css.as_str()])
            .collect();
        for name in media
            .iter()
            .filter(|m| m.starts_with('_') && text.contains(m.as_str()))
        {
            assets.entry(name.clone()).or_insert_with(|| folder.clone());
        }
    }
    Ok(assets)
}

/// One note type's folder.
fn write_one(folder: &Path, nt: &NoteType, alias: &str) -> Result<(), WriteError> {
    let mut toml = format!("name = {}\nid = {}\n", yaml_string(&nt.name), nt.id);
    if alias != nt.name {
        let _ = writeln!(toml, "alias = {}", yaml_string(alias));
    }
    if nt.kind == Kind::Cloze {
        toml.push_str("kind = \"cloze\"\n");
    }
    if let Some(field) = nt.fields.get(nt.sort_field) {
        let _ = writeln!(toml, "sort_field = {}", yaml_string(&field.name));
    }
    let latex = crate::notetype::Latex::default();
    if nt.latex.pre != latex.pre {
        let _ = writeln!(toml, "latex_pre = {}", yaml_string(&nt.latex.pre));
    }
    if nt.latex.post != latex.post {
        let _ = writeln!(toml, "latex_post = {}", yaml_string(&nt.latex.post));
    }
    if nt.latex.svg {
        toml.push_str("latex_svg = true\n");
    }
    if nt.original_stock_kind != 0 {
        let _ = writeln!(toml, "stock_kind = {}", nt.original_stock_kind);
    }
    for f in &nt.fields {
        let _ = write!(toml, "\n[[fields]]\nname = {}\n", yaml_string(&f.name));
        // Anki before 2.1.50 gave fields and templates no ids (0 here): one from the
        // name then, as the reader makes it.
        if f.id != 0 {
            let _ = writeln!(toml, "id = {}", f.id);
        }
        let _ = write!(toml, "font = {}\nsize = {}\n", yaml_string(&f.font), f.size);
        let o = &f.options;
        if !o.description.is_empty() {
            let _ = writeln!(toml, "description = {}", yaml_string(&o.description));
        }
        for (key, on) in [
            ("rtl", o.rtl),
            ("sticky", o.sticky),
            ("plain_text", o.plain_text),
            ("collapsed", o.collapsed),
            ("exclude_from_search", o.exclude_from_search),
        ] {
            if on {
                let _ = writeln!(toml, "{key} = true");
            }
        }
    }
    let mut files = HashSet::new();
    for t in &nt.templates {
        let base = safe_name(&t.name);
        let stem = (0..)
            .map(|n| match n {
                0 => base.clone(),
                n => format!("{base} ({n})"),
            })
            .find(|s| files.insert(s.to_lowercase()))
            .expect("a free file name");
        let (front, back) = (format!("{stem}.front.html"), format!("{stem}.back.html"));
        let _ = write!(toml, "\n[[templates]]\nname = {}\n", yaml_string(&t.name));
        if t.id != 0 {
            let _ = writeln!(toml, "id = {}", t.id);
        }
        let _ = write!(
            toml,
            "front = {}\nback = {}\n",
            yaml_string(&front),
            yaml_string(&back)
        );
        let b = &t.browser;
        for (key, value) in [("browser_front", &b.front), ("browser_back", &b.back)] {
            if !value.is_empty() {
                let _ = writeln!(toml, "{key} = {}", yaml_string(value));
            }
        }
        if !b.font.is_empty() {
            let _ = writeln!(toml, "browser_font = {}", yaml_string(&b.font));
        }
        if b.size != 0 {
            let _ = writeln!(toml, "browser_size = {}", b.size);
        }
        create(&folder.join(front), template_file(&t.front).as_bytes())?;
        create(&folder.join(back), template_file(&t.back).as_bytes())?;
    }
    create(
        &folder.join(crate::source::notetypes::FILE),
        toml.as_bytes(),
    )?;
    create(&folder.join("style.css"), nt.css.as_bytes())
}

/// A template's file: the text and one line end, which the reader drops as an editor's
/// (so a template ending in a line end keeps it).
fn template_file(template: &str) -> String {
    format!("{template}\n")
}
