//! Running the `ankideck` binary that cargo built for the tests.

use super::files::temp_dir;
use super::{path_str, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
