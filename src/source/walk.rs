//! Which files below a source folder are read, and in which order: sorted by name,
//! hidden and `_special` folders skipped, symbolic links followed, each file once.

use crate::error::{Diagnostic, Problem};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// File extensions read as Markdown card files.
const MARKDOWN_EXTENSIONS: &[&str] = &["md", "markdown"];

/// The files below a source folder: card files, and the rest (text files, deck
/// settings, media).
#[derive(Default)]
pub(super) struct SourceFiles {
    pub cards: Vec<PathBuf>,
    pub others: Vec<PathBuf>,
}

/// `.hidden` entries, and `_folders` (note types, assets), hold no card files.
fn is_hidden_or_special(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    name.starts_with('.') || (name.starts_with('_') && entry.file_type().is_dir())
}

/// Whether `path`'s extension, in any case, is one of `extensions`.
pub(super) fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    let ext = path
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    extensions.contains(&ext.as_str())
}

/// Every file below `root`, in build order; folders that cannot be read become
/// diagnostics.
pub(super) fn source_files(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> SourceFiles {
    // Symbolic links are followed; walkdir reports a link that loops back as an error.
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden_or_special(e));
    let mut files = SourceFiles::default();
    let mut seen = HashSet::new();
    for entry in walker {
        match entry {
            // A file reached twice through links is read once.
            Ok(e)
                if e.file_type().is_file()
                    && seen.insert(
                        e.path()
                            .canonicalize()
                            .unwrap_or_else(|_| e.path().to_path_buf()),
                    ) =>
            {
                if has_extension(e.path(), MARKDOWN_EXTENSIONS) {
                    files.cards.push(e.into_path());
                } else if let Some(name) = saved_as_text(e.path()) {
                    let problem = Problem::CardFileSavedAsText(name);
                    diagnostics.push(Diagnostic::new(e.into_path(), 0, problem));
                } else {
                    files.others.push(e.into_path());
                }
            }
            // A FIFO, a device (`zero.md` → /dev/zero)…: reading it could block forever.
            Ok(e) if !e.file_type().is_file() && !e.file_type().is_dir() => {
                let kind = file_kind(&e.file_type()).to_string();
                diagnostics.push(Diagnostic::new(e.into_path(), 0, Problem::NotAFile(kind)));
            }
            Ok(_) => {}
            Err(e) => {
                let file = e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
                diagnostics.push(Diagnostic::new(file, 0, unreadable(&e)));
            }
        }
    }
    files
}

/// The name a card file saved as `NAME.md.txt` (as Notepad does) should have.
fn saved_as_text(path: &Path) -> Option<String> {
    let stem = Path::new(path.file_stem()?);
    let ok = has_extension(path, &["txt"]) && has_extension(stem, MARKDOWN_EXTENSIONS);
    ok.then(|| stem.file_name()?.to_str().map(str::to_string))?
}

/// The problem of an entry that cannot be read.
fn unreadable(error: &walkdir::Error) -> Problem {
    let kind = error.io_error().map(std::io::Error::kind);
    match (kind, error.path()) {
        (Some(std::io::ErrorKind::InvalidFilename), Some(path)) => {
            Problem::PathTooLong(path.as_os_str().len())
        }
        _ => Problem::Unreadable(error.to_string()),
    }
}

/// What a file that is not a regular file is, in words.
pub(super) fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO (named pipe)";
        } else if file_type.is_socket() {
            return "socket";
        } else if file_type.is_char_device() {
            return "character device";
        } else if file_type.is_block_device() {
            return "block device";
        }
    }
    if file_type.is_dir() {
        "folder"
    } else if file_type.is_file() {
        "file"
    } else {
        "special file"
    }
}

/// Markdown card files below `root`, in build order.
pub(crate) fn markdown_files(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    source_files(root, diagnostics).cards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_files_saved_as_text_are_named() {
        assert_eq!(
            saved_as_text(Path::new("a/语法.md.txt")),
            Some("语法.md".into())
        );
        assert_eq!(
            saved_as_text(Path::new("b.Markdown.TXT")),
            Some("b.Markdown".into())
        );
        for other in ["b.txt", "b.md", "md.txt", "b.csv.txt"] {
            assert_eq!(saved_as_text(Path::new(other)), None, "{other}");
        }
    }

    #[test]
    fn extensions_match_in_any_case() {
        assert!(has_extension(Path::new("a/b.MD"), MARKDOWN_EXTENSIONS));
        assert!(has_extension(Path::new("b.markdown"), MARKDOWN_EXTENSIONS));
        assert!(!has_extension(Path::new("b.md.txt"), MARKDOWN_EXTENSIONS));
        assert!(!has_extension(Path::new("md"), MARKDOWN_EXTENSIONS));
    }

    #[test]
    fn hidden_and_special_folders_are_skipped_and_files_come_sorted() {
        let root = std::env::temp_dir().join(format!("ankideck-walk-{}", std::process::id()));
        for file in [
            "b/c.md",
            "a.md",
            "_underscore.md",
            "_notetypes/t.md",
            ".git/x.md",
            ".hidden.md",
            "b/pic.png",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        // A file reached again through a link is read once, where it is met first.
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.md"), root.join("b/link.md")).unwrap();
        let mut diagnostics = Vec::new();
        let files = source_files(&root, &mut diagnostics);
        let relative = |paths: &[PathBuf]| -> Vec<String> {
            let names = paths.iter().map(|p| p.strip_prefix(&root).unwrap());
            names.map(|p| p.display().to_string()).collect()
        };
        assert_eq!(relative(&files.cards), ["_underscore.md", "a.md", "b/c.md"]);
        assert_eq!(relative(&files.others), ["b/pic.png"]);
        assert!(diagnostics.is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
