//! Where a package may be written: checked before any work, so that a wrong `-o` is
//! reported at once, naming the path and what to do, and nothing is written.

use crate::error::{Error, OutputProblem, Result};
use std::path::Path;

/// Checks that a package can be written at `path`: a file name ending in `.apkg`
/// (any case) in a folder that exists. Whether the folder is writable shows when
/// writing.
pub fn check_output(path: &Path) -> Result<()> {
    problem(path).map_or(Ok(()), |problem| {
        Err(Error::Output {
            path: path.to_path_buf(),
            problem,
        })
    })
}

fn problem(path: &Path) -> Option<OutputProblem> {
    let text = path.as_os_str().to_string_lossy();
    if text.ends_with(std::path::is_separator) || path.is_dir() || path.file_name().is_none() {
        return Some(OutputProblem::Folder);
    }
    let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    match extension.as_deref() {
        Some("apkg") => {}
        Some("colpkg") => return Some(OutputProblem::CollectionPackage),
        _ => return Some(OutputProblem::NotApkg),
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(OutputProblem::NotAFolder(folder.to_path_buf())),
        // A path through a file (`file/sub/deck.apkg`) fails with "not a directory".
        Err(_) if folder.ancestors().skip(1).any(Path::is_file) => {
            let file = folder.ancestors().find(|a| a.is_file()).unwrap_or(folder);
            Some(OutputProblem::NotAFolder(file.to_path_buf()))
        }
        Err(_) => Some(OutputProblem::MissingFolder(folder.to_path_buf())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_apkg_files_in_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("file"), "").unwrap();
        let at = |p: &str| problem(&d.join(p));
        assert_eq!(at("deck.apkg"), None);
        assert_eq!(at("Deck.APKG"), None);
        assert_eq!(problem(Path::new("deck.apkg")), None);
        assert_eq!(problem(Path::new(".")), Some(OutputProblem::Folder));
        assert_eq!(problem(Path::new("..")), Some(OutputProblem::Folder));
        assert_eq!(at(""), Some(OutputProblem::Folder));
        assert_eq!(at("new/"), Some(OutputProblem::Folder));
        assert_eq!(at("deck.zip"), Some(OutputProblem::NotApkg));
        assert_eq!(at("deck"), Some(OutputProblem::NotApkg));
        assert_eq!(at("deck.colpkg"), Some(OutputProblem::CollectionPackage));
        let missing = d.join("out");
        assert_eq!(
            at("out/deck.apkg"),
            Some(OutputProblem::MissingFolder(missing.clone()))
        );
        assert_eq!(
            at("file/deck.apkg"),
            Some(OutputProblem::NotAFolder(d.join("file")))
        );
        assert_eq!(
            at("file/sub/deck.apkg"),
            Some(OutputProblem::NotAFolder(d.join("file")))
        );
    }

    #[test]
    fn hints_name_a_path_that_works() {
        let hint = |p: &str, problem: OutputProblem| problem.hint(Path::new(p));
        assert_eq!(
            hint("out/deck.zip", OutputProblem::NotApkg),
            "name the package `out/deck.apkg`"
        );
        assert_eq!(
            hint("d.colpkg", OutputProblem::CollectionPackage),
            "name the package `d.apkg`"
        );
        assert_eq!(
            hint("out", OutputProblem::Folder),
            "name the package file, such as `out/deck.apkg`"
        );
    }
}
