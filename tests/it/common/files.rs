//! Files for tests: scratch directories under `target/test-tmp/`, writing, copying and
//! listing files, and the zip entries of a package.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A fresh, empty directory `target/test-tmp/<name>-<pid>-<counter>`.
///
/// The first call in a process removes the directories of earlier test runs
/// whose process is gone, so the files of the last run stay for inspection.
/// The directories of running processes are never touched, so a test may leave
/// work in its directory to a child process (tests/it/interrupt.rs) or keep using it
/// until it ends.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    static CLEANED: OnceLock<()> = OnceLock::new();
    let root = super::target_dir().join("test-tmp");
    CLEANED.get_or_init(|| remove_dead_temp_dirs(&root));
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = root.join(format!("{name}-{}-{n}", std::process::id()));
    fresh_dir(&dir);
    dir
}

/// Makes `dir` an empty directory: removes it with its contents if it exists, then
/// creates it (and its parents). Panics with the reason if either fails.
pub fn fresh_dir(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("cannot clear {}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

/// Remove `<name>-<pid>-<n>` directories of processes that no longer run
/// (only where /proc shows which processes run).
fn remove_dead_temp_dirs(root: &Path) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let mut parts = name.rsplitn(3, '-');
        let (Some(_n), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !proc_root.join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes `bytes` to `path`, creating its folder first. Panics with the reason.
pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Writes each `(relative path, contents)` below `dir` (see [`write_file`]).
pub fn write_files<C: AsRef<[u8]>>(dir: &Path, files: &[(&str, C)]) {
    for (name, contents) in files {
        write_file(&dir.join(name), contents.as_ref());
    }
}

/// Copies the folder `from` to `to`, recursively (for tests that edit a deck).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The entries of a zip file (a package) in their order: name, compression method, and
/// the bytes (decompressed).
pub fn zip_entries(package: &Path) -> Vec<(String, zip::CompressionMethod, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(fs::File::open(package).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            (file.name().to_string(), file.compression(), bytes)
        })
        .collect()
}
