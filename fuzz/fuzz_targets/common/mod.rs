//! A source folder the targets write their input into, checked as `ankideck check` does.
//! The folder lives in memory (`/dev/shm` when there is one) and is reused: each run
//! rewrites the files it is given and removes the others.

// Each target uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A note of the stock Basic type, so that every folder has a card to read.
pub const BASIC_NOTE: &str = "## What is fuzzing?\n\nFeeding a program input it does not expect.\n";

fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a scratch folder")
    })
    .path()
}

/// Writes `files` (path below the folder, bytes) into a fresh source folder and checks it:
/// whatever the bytes, the check must return diagnostics or success, never panic.
pub fn check(files: &[(&str, &[u8])]) {
    let dir: PathBuf = root().join("src");
    let _ = std::fs::remove_dir_all(&dir);
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
        std::fs::write(&path, bytes).expect("a file");
    }
    let _ = ankideck::build::check(&dir, ankideck::build::Options::new(1_700_000_000));
}

/// `data` cut at NUL bytes into at most `n` pieces; missing pieces are empty.
pub fn pieces(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == 0).collect();
    out.resize(n, &[]);
    out
}
