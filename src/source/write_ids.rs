//! `ankideck ids`: writes each note's derived id into its source as an `id:` line, so
//! that later edits of the first field keep the note's identity.

use super::{markdown_files, parse, Sources};
use crate::error::{Error, Result};
use crate::ids;
use std::path::{Path, PathBuf};

/// Adds `id:` lines to notes that have none; returns each changed file with the number of
/// ids added. Refuses (with the diagnostics) when the sources have problems, such as two
/// notes with the same identity. Nothing else in a file changes, byte for byte.
pub fn write_ids(root: &Path) -> Result<Vec<(PathBuf, usize)>> {
    Sources::read(root)?;
    let mut diagnostics = Vec::new();
    let mut changed = Vec::new();
    for path in markdown_files(root, &mut diagnostics) {
        let original = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let (new, added) = with_ids(&original);
        if added > 0 {
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
            std::io::Write::write_all(&mut file, new.as_bytes())
                .map_err(|e| Error::io(&path, e))?;
            if let Ok(meta) = std::fs::metadata(&path) {
                let _ = file.as_file().set_permissions(meta.permissions());
            }
            file.persist(&path).map_err(|e| Error::io(&path, e.error))?;
            changed.push((path, added));
        }
    }
    Ok(changed)
}

/// The file's text with an `id:` line under every heading that lacks one.
fn with_ids(original: &str) -> (String, usize) {
    let body = original.strip_prefix('\u{feff}').unwrap_or(original);
    let (parsed, _) = parse::parse(&body.replace("\r\n", "\n"));
    let missing: Vec<(usize, String)> = parsed
        .notes
        .iter()
        .filter(|n| !n.settings.iter().any(|(k, _)| k == "id" || k == "guid"))
        .filter(|n| !n.heading.text.is_empty())
        .map(|n| (n.heading.line, ids::derived_id(&n.heading.text)))
        .collect();
    if missing.is_empty() {
        return (original.to_string(), 0);
    }
    let mut out = String::with_capacity(original.len() + missing.len() * 20);
    let added = missing.len();
    let mut missing = missing.into_iter().peekable();
    for (index, line) in original.split_inclusive('\n').enumerate() {
        out.push_str(line);
        if let Some((_, id)) = missing.next_if(|(at, _)| *at == index + 1) {
            let ending = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
            if !line.ends_with('\n') {
                out.push_str(ending);
            }
            out.push_str(&format!("id: {id}{ending}"));
        }
    }
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_ids_under_headings_and_nothing_else() {
        let text = "\u{feff}# T\r\n\r\n## Q1\r\ntype: reversed\r\n\r\nA\r\n\r\n## Q2\r\nid: keep\r\n\r\n## Last";
        let (new, added) = with_ids(text);
        assert_eq!(added, 2);
        let q1 = ids::derived_id("Q1");
        let last = ids::derived_id("Last");
        assert_eq!(
            new,
            format!("\u{feff}# T\r\n\r\n## Q1\r\nid: {q1}\r\ntype: reversed\r\n\r\nA\r\n\r\n## Q2\r\nid: keep\r\n\r\n## Last\nid: {last}\n")
        );
        assert_eq!(with_ids(&new), (new.clone(), 0), "idempotent");
    }
}
