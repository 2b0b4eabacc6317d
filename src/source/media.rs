//! The media index: a reference in a note (relative to its file) becomes the name the
//! file has in the package. Each file is hashed once; identical contents share a name.

use super::walk::has_extension;
use crate::error::Problem;
use crate::ids;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Extensions of files that only make sense as card media; one that no note uses is
/// probably a forgotten reference.
const MEDIA_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp", "mp3", "m4a", "ogg", "oga", "opus",
    "wav", "flac", "mp4", "webm",
];

/// Media above this size get a warning: phones sync them slowly.
const LARGE_MEDIA_BYTES: u64 = 20 * 1024 * 1024;

#[derive(Default)]
pub(super) struct MediaIndex {
    /// Canonical path → packaged name.
    by_path: HashMap<PathBuf, String>,
    /// Content hash → packaged name.
    by_hash: HashMap<String, String>,
    /// (packaged name, file), each distinct content once, in the order first met.
    files: Vec<(String, PathBuf)>,
    /// Large files met since the last [`MediaIndex::take_warnings`].
    large: Vec<PathBuf>,
    /// A folder (canonical) where references the source does not hold are looked up
    /// too, such as Anki's own `collection.media` (`--media-dir`).
    pub media_dir: Option<PathBuf>,
    /// `SOURCE/_media` (canonical), if there is one: its files are packaged under their
    /// own names, as `ankideck unpack` leaves them.
    pub own_names: Option<PathBuf>,
    /// Files of `own_names` packaged so far (canonical).
    own_packaged: std::collections::HashSet<PathBuf>,
    /// References found nowhere in a folder with `_media/`, since the last
    /// [`MediaIndex::take_warnings`].
    not_unpacked: Vec<String>,
}

/// The folder directly in SOURCE whose files keep their names in the package.
pub const OWN_NAMES_FOLDER: &str = "_media";

impl MediaIndex {
    /// An index whose `_media/` folder (canonical) is `own_names`.
    pub fn with_own_names(own_names: Option<PathBuf>) -> MediaIndex {
        MediaIndex {
            own_names,
            ..MediaIndex::default()
        }
    }

    /// The packaged name of the file `reference` (relative to `dir`) points at; it must
    /// be inside `root` (canonical).
    pub fn resolve(&mut self, root: &Path, dir: &Path, reference: &str) -> Result<String, Problem> {
        if find_file(dir, reference).is_none() {
            if let Some(name) = self.resolve_own_name(reference) {
                return Ok(name);
            }
        }
        // The file as written, else as spelt in another normalisation, else in the media
        // folder; what none of them holds is reported for the path as written.
        let in_media_dir = || {
            let media_dir = self.media_dir.as_deref()?;
            Some((find_file(media_dir, reference)?, media_dir))
        };
        let (path, root) = find_file(dir, reference)
            .map(|path| (path, root))
            .or_else(in_media_dir)
            .unwrap_or_else(|| (dir.join(reference), root));
        let unreadable = |e: std::io::Error| Problem::UnreadableMedia {
            reference: reference.to_string(),
            message: e.to_string(),
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(meta) => {
                return Err(Problem::MediaNotAFile {
                    reference: reference.to_string(),
                    kind: super::walk::file_kind(&meta.file_type()).to_string(),
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                if self.own_names.is_some() && !reference.contains(['/', '\\']) {
                    // Unpacked from a package that did not have it either: kept.
                    self.not_unpacked.push(reference.to_string());
                    return Ok(reference.to_string());
                }
                let nearest = nearest_file(reference, &path);
                return Err(Problem::MissingMedia {
                    reference: reference.to_string(),
                    path,
                    nearest,
                });
            }
            Err(e) => return Err(unreadable(e)),
        }
        let canonical = path.canonicalize().map_err(unreadable)?;
        if !canonical.starts_with(root) {
            return Err(Problem::MediaOutsideSource(reference.to_string()));
        }
        if let Some(name) = self.by_path.get(&canonical) {
            return Ok(name.clone());
        }
        let (hash, size) = sha1_file(&canonical).map_err(unreadable)?;
        if size > LARGE_MEDIA_BYTES {
            self.large.push(canonical.clone());
        }
        let name = match self.by_hash.get(&hash) {
            Some(name) => name.clone(),
            None => {
                let file_name = canonical
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let name = crate::media::packaged_name(&file_name, &hash);
                self.by_hash.insert(hash, name.clone());
                self.files.push((name.clone(), canonical.clone()));
                name
            }
        };
        self.by_path.insert(canonical, name.clone());
        Ok(name)
    }

    /// A reference to a file of `_media/`: packaged under its own name (once), and named
    /// as written when that is its name in another Unicode normalisation, so that the
    /// field keeps its spelling.
    fn resolve_own_name(&mut self, reference: &str) -> Option<String> {
        if reference.contains(['/', '\\']) || reference.starts_with('.') {
            return None;
        }
        let path = find_file(self.own_names.as_deref()?, reference)?;
        let stored = path.file_name()?.to_str()?.to_string();
        let canonical = path.canonicalize().ok()?;
        if self.own_packaged.insert(canonical) {
            self.files.push((stored.clone(), path));
        }
        let same = stored.nfc().eq(reference.nfc());
        Some(if same { reference.to_string() } else { stored })
    }

    /// The files of `_media/` that no note referred to, by name: packaged too, as Anki
    /// keeps them (template files, LaTeX images, `_` files).
    pub fn add_unreferenced_own_names(&mut self) {
        let Some(dir) = self.own_names.clone() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut names: Vec<(std::ffi::OsString, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .map(|e| (e.file_name(), e.path()))
            .filter(|(name, path)| !name.to_string_lossy().starts_with('.') && path.is_file())
            .collect();
        names.sort();
        for (name, path) in names {
            let (Some(name), Ok(canonical)) = (name.to_str(), path.canonicalize()) else {
                continue;
            };
            if self.own_packaged.insert(canonical) {
                self.files.push((name.to_string(), path));
            }
        }
    }

    /// Warnings for the large files met since the last call (each file is read once, so
    /// each is reported once), and for references kept because `_media/` lacks them.
    pub fn take_warnings(&mut self) -> Vec<Problem> {
        let not_unpacked = self.not_unpacked.drain(..).map(Problem::MediaNotUnpacked);
        let not_unpacked: Vec<Problem> = not_unpacked.collect();
        self.large
            .drain(..)
            .map(|path| {
                let megabytes = std::fs::metadata(&path).map_or(0, |m| m.len() / (1024 * 1024));
                let reference = path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                Problem::LargeMedia {
                    reference,
                    megabytes,
                }
            })
            .chain(not_unpacked)
            .collect()
    }

    /// Whether `file` has a media extension but no note refers to it.
    pub fn is_unused(&self, file: &Path) -> bool {
        let used = file
            .canonicalize()
            .is_ok_and(|c| self.by_path.contains_key(&c));
        has_extension(file, MEDIA_EXTENSIONS) && !used
    }

    /// (packaged name, file) for every distinct file referred to.
    pub fn into_files(self) -> Vec<(String, PathBuf)> {
        self.files
    }
}

/// The file `reference` names under `dir`, each part of the path matched regardless of
/// Unicode normalisation: macOS stores `café` decomposed (NFD), while people type it
/// composed (NFC), or the other way round. A name spelled exactly as written wins; else
/// the entry whose NFC form is the same (the first by name if several are).
fn find_file(dir: &Path, reference: &str) -> Option<PathBuf> {
    let exact = dir.join(reference);
    if exact.is_file() {
        return Some(exact);
    }
    let mut path = dir.to_path_buf();
    for part in Path::new(reference).components() {
        let Component::Normal(name) = part else {
            path.push(part);
            continue;
        };
        if path.join(name).exists() {
            path.push(name);
            continue;
        }
        let wanted: String = name.to_str()?.nfc().collect();
        let same =
            |entry: &std::ffi::OsString| entry.to_str().is_some_and(|e| e.nfc().eq(wanted.chars()));
        let found = std::fs::read_dir(&path)
            .ok()?
            .filter_map(|entry| Some(entry.ok()?.file_name()))
            .filter(same)
            .min()?;
        path.push(found);
    }
    path.is_file().then_some(path)
}

/// Hex SHA-1 and size of a file, read in chunks.
fn sha1_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha1::new();
    let mut file = crate::cancel::Cancellable(std::fs::File::open(path)?);
    let size = std::io::copy(&mut file, &mut hasher)?;
    Ok((ids::hex(&hasher.finalize()), size))
}

/// `reference` to the file beside the missing `path` whose name is nearest to its name
/// (`img/大象.PNG` for `img/大象.png`, `elephant.png` for `elefant.png`), if any.
fn nearest_file(reference: &str, path: &Path) -> Option<String> {
    let (dir, name) = (path.parent()?, path.file_name()?.to_str()?);
    let entries: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let found = crate::suggest::nearest(name, entries.iter().map(String::as_str))?;
    let folder = reference
        .rfind(['/', '\\'])
        .map_or("", |i| &reference[..=i]);
    Some(format!("{folder}{found}"))
}

/// For a problem about a media reference, how many lines into `text` the reference is.
pub(super) fn line_offset_of(text: &str, problem: &Problem) -> usize {
    let reference = match problem {
        Problem::MissingMedia { reference, .. }
        | Problem::MediaOutsideSource(reference)
        | Problem::UnreadableMedia { reference, .. }
        | Problem::MediaNotAFile { reference, .. } => reference,
        _ => return 0,
    };
    text.lines()
        .position(|l| l.contains(reference.as_str()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_problem_points_at_the_line_of_its_reference() {
        let missing = Problem::MediaOutsideSource("../x.png".into());
        assert_eq!(line_offset_of("a\nb ![](../x.png)\n", &missing), 1);
        assert_eq!(line_offset_of("a\nb\n", &missing), 0);
        assert_eq!(line_offset_of("a\n../x.png", &Problem::EmptyId), 0);
    }

    /// References find their files whichever Unicode normalisation each side uses.
    #[test]
    fn references_find_files_regardless_of_normalisation() {
        let dir = tempfile::tempdir().unwrap();
        let (nfc, nfd) = ("caf\u{e9}", "cafe\u{301}");
        std::fs::create_dir(dir.path().join(format!("{nfd} dir"))).unwrap();
        std::fs::write(dir.path().join(format!("{nfd} dir/{nfd}.png")), "d").unwrap();
        std::fs::write(dir.path().join(format!("{nfc}.png")), "c").unwrap();
        let found = |reference: &str| {
            let path = find_file(dir.path(), reference)?;
            Some(path.strip_prefix(dir.path()).unwrap().to_str()?.to_string())
        };
        let stored_nfd = format!("{nfd} dir/{nfd}.png");
        assert_eq!(
            found(&format!("{nfc} dir/{nfc}.png")),
            Some(stored_nfd.clone())
        );
        assert_eq!(
            found(&format!("{nfd} dir/{nfc}.png")),
            Some(stored_nfd.clone())
        );
        assert_eq!(found(&stored_nfd), Some(stored_nfd));
        assert_eq!(found(&format!("{nfd}.png")), Some(format!("{nfc}.png")));
        assert_eq!(found(&format!("./{nfd}.png")), Some(format!("{nfc}.png")));
        assert_eq!(found("cafe.png"), None);
        assert_eq!(found(&format!("{nfc} dir")), None, "a folder is no file");
    }

    #[test]
    fn a_missing_file_names_the_file_beside_it_with_a_near_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        std::fs::write(dir.path().join("img/大象.PNG"), "p").unwrap();
        std::fs::write(dir.path().join("img/elephant.png"), "p").unwrap();
        let nearest = |reference: &str| nearest_file(reference, &dir.path().join(reference));
        assert_eq!(nearest("img/大象.png"), Some("img/大象.PNG".into()));
        assert_eq!(nearest("img/elefant.png"), Some("img/elephant.png".into()));
        assert_eq!(nearest("img/giraffe.png"), None);
        assert_eq!(nearest("nowhere/大象.png"), None);
        let mut resolver = MediaIndex::default();
        let missing = resolver.resolve(dir.path(), dir.path(), "img/大象.png");
        assert!(
            matches!(&missing, Err(Problem::MissingMedia { nearest: Some(n), .. }) if n == "img/大象.PNG"),
            "{missing:?}"
        );
    }

    #[test]
    fn only_media_extensions_count_as_unused_media() {
        let index = MediaIndex::default();
        assert!(index.is_unused(Path::new("missing/photo.PNG")));
        assert!(!index.is_unused(Path::new("missing/notes.pdf")));
    }
}
