//! Running the `ankideck` binary that cargo built for the tests, and running a test in a
//! process of its own.

use super::files::temp_dir;
use super::{path_str, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A `Command` for the `ankideck` binary, run in the crate root. Add arguments and
/// settings, then spawn or run it.
pub fn ankideck_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ankideck"));
    command.current_dir(workspace());
    command
}

/// Runs `ankideck` with `args` in the crate root; returns its output whatever the exit
/// status.
pub fn ankideck(args: &[&str]) -> Output {
    ankideck_command().args(args).output().unwrap()
}

/// Runs `ankideck` with `args` in `cwd`; returns its output whatever the exit status.
pub fn ankideck_in(cwd: &Path, args: &[&str]) -> Output {
    ankideck_command()
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Panics with the command's stderr unless it exited successfully.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `ankideck build SOURCE -o OUT`, whatever the exit status.
pub fn build(source: &Path, out: &Path) -> Output {
    ankideck(&["build", path_str(source), "-o", path_str(out)])
}

/// Builds a deck kept in the repository (`cards`, `tests/decks/*`, relative to the crate
/// root) with `--locked`: its committed lock must be up to date, so the build does not
/// touch the working tree. `extra` arguments follow (e.g. `["--format", "latest"]`).
/// Returns the output whatever the exit status.
pub fn build_repo_deck(source: &str, out: &Path, extra: &[&str]) -> Output {
    let source = workspace().join(source);
    let mut args = vec!["build", path_str(&source), "-o", path_str(out), "--locked"];
    args.extend_from_slice(extra);
    ankideck(&args)
}

/// [`build_repo_deck`] into a fresh temp dir; panics with stderr if the build fails.
/// Returns the package.
#[track_caller]
pub fn repo_package(source: &str, extra: &[&str]) -> PathBuf {
    let out = temp_dir("repo-build").join("deck.apkg");
    assert_success(&build_repo_deck(source, &out, extra));
    out
}

/// Set in the child process of [`alone_in_process`] to the name of the test it runs.
const ALONE: &str = "ANKIDECK_TEST_ALONE";

/// Whether the calling test should run its body here, for a test that changes
/// process-wide state for good (such as cancelling every build). `name` is the test as
/// libtest names it (`module::function`). In the test binary this runs the binary again
/// with that test alone, panics with its output unless it passed, and returns false; in
/// that child it returns true.
#[track_caller]
pub fn alone_in_process(name: &str) -> bool {
    if std::env::var(ALONE).is_ok_and(|alone| alone == name) {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&exe)
        .args([name, "--exact", "--test-threads=1"])
        .env(ALONE, name)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `--exact` with a name that matches nothing runs nothing and succeeds.
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in a process of its own: {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
