//! `ankideck init`: a small starter deck that builds as it is, and whose comments and
//! cards teach the format (basic, reversed and cloze notes, tags, a subdeck, `id:`).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The starter deck's files, by path below its folder.
pub const FILES: [(&str, &str); 2] = [
    ("basics.md", include_str!("init/basics.md")),
    ("french.md", include_str!("init/french.md")),
];

/// Writes the starter deck into `dir`, creating it (and its parents) if missing. A
/// folder that already holds anything is refused, so nothing is ever overwritten.
/// Returns the files written.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::InitNotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Err(_) if dir.exists() => return Err(Error::SourceNotAFolder(dir.to_path_buf())),
        Err(e) => return Err(Error::io(dir, e)),
    }
    FILES
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_folder_that_holds_anything() {
        let dir = tempfile::tempdir().unwrap();
        let deck = dir.path().join("a/b");
        assert_eq!(init(&deck).unwrap().len(), FILES.len());
        assert!(matches!(init(&deck), Err(Error::InitNotEmpty(d)) if d == deck));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(init(&empty).unwrap().len(), FILES.len());
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(init(&file), Err(Error::SourceNotAFolder(_))));
    }
}
