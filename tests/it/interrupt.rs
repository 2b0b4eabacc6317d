//! A build that is killed, interrupted or cannot write leaves the previous package as it
//! was.

#![cfg(unix)]

use crate::common;

use common::files::temp_dir;
use common::path_str;
use common::run::{ankideck_command, build};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Held by the tests that stop a build midway, so that they run one at a time. They
/// depend on timing: each polls every 5 ms until its build is writing the 300 MB file,
/// then stops it while it writes; the two large builds should not also slow each other
/// down on top of the rest of the suite running beside them.
static MIDWAY: Mutex<()> = Mutex::new(());

/// Takes [`MIDWAY`] for the rest of the calling test (also after another one failed).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    MIDWAY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh scratch directory with an empty `src` folder for the deck.
fn scratch(name: &str) -> PathBuf {
    let dir = temp_dir(&format!("interrupt-{name}"));
    fs::create_dir_all(dir.join("src")).unwrap();
    dir
}

/// A deck whose build spends a while copying a large (sparse, so quick to make) file.
fn slow_deck(dir: &Path) {
    fs::write(dir.join("src/a.md"), "## Big\n\n![x](big.png)\n").unwrap();
    let big = fs::File::create(dir.join("src/big.png")).unwrap();
    big.set_len(300 << 20).unwrap();
}

/// The build's scratch folders beside its output, where it writes the package.
fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ankideck-tmp-"))
        .collect()
}

/// The bytes written in the scratch folders beside `dir`'s output.
fn written(dir: &Path) -> u64 {
    let files = temp_files(dir).into_iter().flat_map(|n| {
        fs::read_dir(dir.join(n))
            .into_iter()
            .flatten()
            .map(|e| e.and_then(|e| e.metadata()).map_or(0, |m| m.len()))
    });
    files.sum()
}

/// Starts a build and waits until it is writing the package (its temporary file exists).
fn start_build(dir: &Path) -> Child {
    let out = dir.join("deck.apkg");
    let child = ankideck_command()
        .args(["build", path_str(&dir.join("src")), "-o", path_str(&out)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while written(dir) < 2 << 20 {
        assert!(Instant::now() < deadline, "the build never started writing");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

#[test]
fn killed_build_leaves_the_old_package_intact() {
    let _midway = one_at_a_time();
    let dir = scratch("kill");
    slow_deck(&dir);
    fs::write(dir.join("deck.apkg"), b"the previous package").unwrap();
    let mut child = start_build(&dir);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(
        fs::read(dir.join("deck.apkg")).unwrap(),
        b"the previous package"
    );
}

#[test]
fn ctrl_c_stops_cleanly_without_leftovers() {
    let _midway = one_at_a_time();
    let dir = scratch("sigint");
    slow_deck(&dir);
    fs::write(dir.join("deck.apkg"), b"the previous package").unwrap();
    let child = start_build(&dir);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted; nothing was written"));
    assert_eq!(
        fs::read(dir.join("deck.apkg")).unwrap(),
        b"the previous package"
    );
    assert_eq!(
        temp_files(&dir),
        Vec::<String>::new(),
        "temporary files left behind"
    );
    assert!(
        !dir.join("src/ankideck.lock").exists(),
        "the lock was written for a package that was not"
    );
    let staged_locks: Vec<_> = fs::read_dir(dir.join("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ankideck.lock"))
        .collect();
    assert!(staged_locks.is_empty(), "left behind: {staged_locks:?}");
}

#[test]
fn unwritable_output_is_an_io_error() {
    let dir = scratch("unwritable");
    fs::write(dir.join("src/a.md"), "## Q\n\nA\n").unwrap();
    fs::write(dir.join("not-a-folder"), b"").unwrap();
    let out = dir.join("not-a-folder/deck.apkg");
    let result = build(&dir.join("src"), &out);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("not-a-folder"));
    assert!(!dir.join("src/ankideck.lock").exists());
}
