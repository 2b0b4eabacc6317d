//! Faults leave nothing behind: builds killed at each phase, SIGTERM and SIGHUP, two
//! builds of one folder at once.

#![cfg(unix)]

use crate::common;

use common::files::temp_dir;
use common::path_str;
use common::run::{ankideck_command, assert_success, build};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Stdio};

/// A scratch directory with a small deck with one media file in `src`.
fn deck(name: &str) -> PathBuf {
    let dir = temp_dir(&format!("faults-{name}"));
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/a.md"), "## Q\n\n![x](p.png)\n").unwrap();
    fs::write(dir.join("src/p.png"), b"not really a picture").unwrap();
    dir
}

/// Starts a build of `dir/src` into `dir/deck.apkg`, paused at `phase` if given.
fn start(dir: &Path, pause_at: Option<&str>) -> (Child, BufReader<ChildStderr>) {
    let mut command = ankideck_command();
    command
        .args(["build", path_str(&dir.join("src")), "-o"])
        .arg(dir.join("deck.apkg"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(phase) = pause_at {
        command.env("ANKIDECK_TEST_PAUSE_AT", phase);
    }
    let mut child = command.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, stderr)
}

/// Reads `stderr` up to a line containing `expected`; panics if it ends first.
fn wait_for(stderr: &mut BufReader<ChildStderr>, expected: &str) {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "no `{expected}` in {seen}"
        );
        if line.contains(expected) {
            return;
        }
        seen.push_str(&line);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Only the deck, its lock and the package are there.
fn assert_no_debris(dir: &Path) {
    assert_eq!(names(dir), ["deck.apkg", "src"]);
    assert_eq!(names(&dir.join("src")), ["a.md", "ankideck.lock", "p.png"]);
}

#[test]
fn the_build_after_a_kill_at_any_phase_leaves_no_debris() {
    // What each phase leaves: the staged lock in the source folder, scratch folders
    // beside the package: the notes' from reading on, and the package's.
    for (phase, left_in_src, left_beside) in [
        ("staged", 1, 1),
        ("collection", 1, 2),
        ("package", 1, 2),
        ("lock", 1, 0),
    ] {
        let dir = deck(&format!("kill-{phase}"));
        let (mut child, mut stderr) = start(&dir, Some(phase));
        wait_for(&mut stderr, &format!("paused at {phase}"));
        child.kill().unwrap();
        child.wait().unwrap();
        let hidden = |dir: &Path, prefix: &str| {
            let names = names(dir);
            names.iter().filter(|n| n.starts_with(prefix)).count()
        };
        assert_eq!(hidden(&dir.join("src"), ".ankideck.lock."), left_in_src);
        assert_eq!(hidden(&dir, ".ankideck-tmp-"), left_beside, "{phase}");
        assert_success(&build(&dir.join("src"), &dir.join("deck.apkg")));
        assert_no_debris(&dir);
    }
}

/// SIGTERM and SIGHUP stop a build as Ctrl-C does: nothing written, nothing left.
#[test]
fn sigterm_and_sighup_stop_a_build_like_ctrl_c() {
    for signal in ["TERM", "HUP", "INT"] {
        let dir = deck(&format!("signal-{signal}"));
        fs::write(dir.join("deck.apkg"), b"the previous package").unwrap();
        let (child, mut stderr) = start(&dir, Some("package"));
        wait_for(&mut stderr, "paused at package");
        let (code, rest) = stop(child, stderr, signal);
        assert_eq!(code, Some(130), "{signal}: {rest}");
        assert_eq!(rest, "interrupted; nothing was written\n", "{signal}");
        let previous = fs::read(dir.join("deck.apkg")).unwrap();
        assert_eq!(previous, b"the previous package", "{signal}");
        assert_eq!(names(&dir), ["deck.apkg", "src"], "{signal}");
        assert_eq!(names(&dir.join("src")), ["a.md", "p.png"], "{signal}");
    }
}

/// Ctrl-C while `unpack` writes the sources and reads them back stops it as it stops a
/// build: exit status 130, no folder, nothing left beside it.
#[test]
fn ctrl_c_stops_an_unpack_that_is_writing_the_sources() {
    let dir = deck("unpack-int");
    assert_success(&build(&dir.join("src"), &dir.join("deck.apkg")));
    let mut child = ankideck_command()
        .args(["unpack", path_str(&dir.join("deck.apkg")), "-o"])
        .arg(dir.join("out"))
        .env("ANKIDECK_TEST_PAUSE_AT", "read back")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    wait_for(&mut stderr, "paused at read back");
    let (code, rest) = stop(child, stderr, "INT");
    assert_eq!(code, Some(130), "{rest}");
    assert_eq!(rest, "interrupted; nothing was written\n");
    assert_no_debris(&dir);
}

/// Sends `signal` to `child`: its exit status and the rest of its `stderr`.
fn stop(
    mut child: Child,
    mut stderr: BufReader<ChildStderr>,
    signal: &str,
) -> (Option<i32>, String) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

/// A second build of a folder being built waits for the first, saying so.
#[test]
fn a_second_build_of_one_folder_waits_for_the_first() {
    let dir = deck("concurrent");
    let (mut first, mut first_err) = start(&dir, Some("lock"));
    wait_for(&mut first_err, "paused at lock");
    let (mut second, mut second_err) = start(&dir, None);
    wait_for(
        &mut second_err,
        "waiting for another build of this folder to finish",
    );
    assert_eq!(second.try_wait().unwrap(), None, "the second build waits");
    // One waiting can be stopped.
    let (third, mut third_err) = start(&dir, None);
    wait_for(
        &mut third_err,
        "waiting for another build of this folder to finish",
    );
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &third.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let third = third.wait_with_output().unwrap();
    assert_eq!(third.status.code(), Some(130));
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(second.wait().unwrap().success());
    assert_no_debris(&dir);
}

/// `check` takes no lock: it runs while a build of the same folder is stopped.
#[test]
fn check_runs_beside_a_build() {
    let dir = deck("check-beside");
    let (mut first, mut first_err) = start(&dir, Some("lock"));
    wait_for(&mut first_err, "paused at lock");
    let check = ankideck_command()
        .args(["check", path_str(&dir.join("src"))])
        .output()
        .unwrap();
    assert_success(&check);
    first.kill().unwrap();
    first.wait().unwrap();
}

/// A small tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` when this process may not mount (not root).
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full output disk is blamed on the package being written, with what to do, and
/// nothing else is printed or left.
#[test]
fn a_full_disk_names_the_output() {
    let dir = deck("full-disk");
    // Noise, which no compression shrinks.
    let mut seed = 1u64;
    let big: Vec<u8> = (0..3_000_000)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 56) as u8
        })
        .collect();
    fs::write(dir.join("src/p.png"), big).unwrap();
    let Some(disk) = Tmpfs::mount(&dir.join("disk"), "1m") else {
        eprintln!("skipped: cannot mount a tmpfs (not root)");
        return;
    };
    let out = disk.0.join("deck.apkg");
    // The media file does not fit, in either format; then the collection does not.
    for (format, fill, reason) in [
        ("legacy", 0, "No space left on device (os error 28)"),
        ("latest", 0, "No space left on device (os error 28)"),
        ("legacy", 1_040_000, "database or disk is full"),
    ] {
        fs::write(&out, b"old").unwrap();
        fs::write(disk.0.join("fill"), vec![0; fill]).unwrap();
        let result = ankideck_command()
            .args(["build", path_str(&dir.join("src")), "-o", path_str(&out)])
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(2), "{format} {fill}");
        assert_eq!(
            String::from_utf8_lossy(&result.stderr),
            format!(
                "error: cannot write {}: {reason}; nothing was written: \
                 free some space on its disk, or write it elsewhere\n",
                out.display()
            ),
            "{format} {fill}"
        );
        assert_eq!(fs::read(&out).unwrap(), b"old");
        assert_eq!(names(&disk.0), ["deck.apkg", "fill"], "{format} {fill}");
        assert_eq!(
            names(&dir.join("src")),
            ["a.md", "p.png"],
            "{format} {fill}"
        );
    }
}
