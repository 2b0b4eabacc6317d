//! The command line around the build: what it says (counts, summaries), output paths,
//! a missing source folder, `init`, the embedded format reference, completions and the
//! man page.

use crate::common::anki::{assert_clean_first_import, cards, import, note};
use crate::common::files::{files_under, temp_dir, write_files};
use crate::common::run::{ankideck, ankideck_in, assert_success};
use crate::common::{workspace, Backend};
use std::process::Output;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

type Files = [(&'static str, &'static str)];

/// Counts of one are singular, and `check`, which never writes, never says that nothing
/// was written: (arguments, sources, exit code, stdout, the last `error` line on stderr).
#[test]
fn counts_and_summaries_read_as_english() {
    let one_note = [("cards/a.md", "## Q\n\nA\n")];
    let one_error = [("cards/a.md", "## Q\ntype: flashcard\n\nA\n")];
    let one_warning = [("cards/a.md", "## Q\n")];
    #[rustfmt::skip]
    let cases: [(&[&str], &Files, i32, &str, &str); 6] = [
        (&["build"], &one_note, 0, "wrote cards.apkg: 1 note, 1 card, 2 decks, 0 media files; updated ankideck.lock\n", ""),
        (&["ids"], &one_note, 0, "cards/a.md: added 1 id line\n", ""),
        (&["check"], &one_warning, 0, "no errors, 1 warning\n", ""),
        (&["check"], &one_error, 1, "", "error: 1 problem in the card sources"),
        (&["build"], &one_error, 1, "", "error: 1 problem in the card sources; nothing was written"),
        (&["build", "--deny-warnings"], &one_warning, 1, "", "error: 1 denied warning in the card sources; nothing was written"),
    ];
    for (args, files, code, out, err) in cases {
        let dir = temp_dir("cli-counts");
        write_files(&dir, files);
        let output = ankideck_in(&dir, args);
        let case = format!("{args:?} {files:?}: {}", stderr(&output));
        assert_eq!(output.status.code(), Some(code), "{case}");
        assert_eq!(stdout(&output), out, "{case}");
        let last = stderr(&output);
        let last = last.trim_end().lines().rfind(|l| l.starts_with("error"));
        assert_eq!(last.unwrap_or(""), err, "{case}");
    }
}

/// A package path that cannot work is refused before any work, naming the path and what
/// to do, and nothing is written (no package, no temporary file, no lock):
/// (`-o` argument, the error and its help).
#[test]
fn output_paths_that_cannot_work_are_refused_at_once() {
    #[rustfmt::skip]
    let cases = [
        ("out/deck.apkg", "cannot write the package to `out/deck.apkg`: the folder `out` does not exist", "create it first (`mkdir -p out`), or write the package to an existing folder"),
        (".", "cannot write the package to `.`: it is a folder, not a file name", "name the package file, such as `./deck.apkg`"),
        ("dir/", "cannot write the package to `dir/`: it is a folder, not a file name", "name the package file, such as `dir/deck.apkg`"),
        ("dir", "cannot write the package to `dir`: it is a folder, not a file name", "name the package file, such as `dir/deck.apkg`"),
        ("new/", "cannot write the package to `new/`: it is a folder, not a file name", "name the package file, such as `new/deck.apkg`"),
        ("deck.zip", "cannot write the package to `deck.zip`: Anki imports deck packages only from files named `.apkg`", "name the package `deck.apkg`"),
        ("deck", "cannot write the package to `deck`: Anki imports deck packages only from files named `.apkg`", "name the package `deck.apkg`"),
        ("deck.colpkg", "cannot write the package to `deck.colpkg`: a `.colpkg` is a whole Anki collection, which replaces everything in the profile that imports it", "name the package `deck.apkg`"),
        ("file/deck.apkg", "cannot write the package to `file/deck.apkg`: `file` is a file, not a folder", "write the package to a folder"),
    ];
    for (output, message, help) in cases {
        let dir = temp_dir("cli-output");
        write_files(
            &dir,
            &[
                ("cards/a.md", "## Q\n\nA\n"),
                ("file", ""),
                ("dir/keep", ""),
            ],
        );
        let before = files_under(&dir);
        let result = ankideck_in(&dir, &["build", "-o", output]);
        assert_eq!(result.status.code(), Some(2), "{output}");
        assert_eq!(
            stderr(&result),
            format!("error: {message}\n |\n = help: {help}\n"),
            "{output}"
        );
        assert_eq!(files_under(&dir), before, "{output}: nothing is written");
    }
}

/// A source folder that is missing or a file: what to do instead of a bare "No such
/// file or directory", for every command that reads one: (arguments, error, help).
#[test]
fn a_missing_source_folder_says_what_to_do() {
    let init = "start a deck with `ankideck init` (it writes a starter deck to `cards/`), or name the folder your cards are in, as in `ankideck build notes`";
    #[rustfmt::skip]
    let cases: [(&[&str], &str, &str); 6] = [
        (&["build"], "there is no folder `cards` to read cards from", init),
        (&["check"], "there is no folder `cards` to read cards from", init),
        (&["ids"], "there is no folder `cards` to read cards from", init),
        (&["build", "notes"], "there is no folder `notes` to read cards from", "check the folder's name, or start a deck there with `ankideck init notes`"),
        (&["check", "deck/a.md"], "`deck/a.md` is a file; cards are read from a folder", "name the folder that holds it: `deck`"),
        (&["build", "a.md", "-o", "a.apkg"], "`a.md` is a file; cards are read from a folder", "name the folder that holds it, such as `.`"),
    ];
    for (args, message, help) in cases {
        let dir = temp_dir("cli-no-source");
        write_files(
            &dir,
            &[("deck/a.md", "## Q\n\nA\n"), ("a.md", "## Q\n\nA\n")],
        );
        let before = files_under(&dir);
        let result = ankideck_in(&dir, args);
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&result),
            format!("error: {message}\n |\n = help: {help}\n"),
            "{args:?}"
        );
        assert_eq!(files_under(&dir), before, "{args:?}: nothing is written");
    }
}

/// `ankideck init` writes a starter deck that builds as it is, without a warning, and
/// that Anki imports clean: basic, reversed and cloze notes, a tag, a subdeck.
#[test]
fn the_starter_deck_builds_and_anki_imports_it_clean() {
    let dir = temp_dir("cli-init");
    let init = ankideck_in(&dir, &["init"]);
    assert_success(&init);
    assert_eq!(
        stdout(&init),
        "wrote a starter deck to cards:\n  cards/basics.md\n  cards/french.md\nbuild it with `ankideck build`; `ankideck help format` describes the format\n"
    );
    let built = ankideck_in(&dir, &["build"]);
    assert_success(&built);
    assert_eq!(stderr(&built), "", "no warning");
    let report = import(
        Backend::Current,
        &temp_dir("cli-init-anki"),
        &dir.join("cards.apkg"),
    );
    assert_clean_first_import(&report, 6);
    assert_eq!(cards(&report).count(), 9);
    let decks: Vec<&str> = report["decks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        decks.contains(&"Starter") && decks.contains(&"Starter::French"),
        "{decks:?}"
    );
    assert_eq!(
        note(&report, "How do you give a note an extra tag?")["tags"],
        serde_json::json!(["starter", "tags-example"])
    );
    let cloze = note(&report, "A heading with");
    assert_eq!(cloze["cards"].as_array().unwrap().len(), 2, "{cloze}");
    let reversed = note(&report, "le chat");
    assert_eq!(reversed["cards"].as_array().unwrap().len(), 2, "{reversed}");
}

/// `init` never writes into a folder that holds anything: (folder, error, help).
#[test]
fn init_refuses_a_folder_that_is_not_empty() {
    #[rustfmt::skip]
    let cases = [
        ("deck", "`deck` is not empty; `init` writes a starter deck only into a new or empty folder", "name a new folder, as in `ankideck init my-deck`"),
        ("a.md", "`a.md` is a file; cards are read from a folder", "name the folder that holds it, such as `.`"),
    ];
    for (folder, message, help) in cases {
        let dir = temp_dir("cli-init-refused");
        write_files(&dir, &[("deck/notes.md", "## Q\n\nA\n"), ("a.md", "")]);
        let before = files_under(&dir);
        let result = ankideck_in(&dir, &["init", folder]);
        assert_eq!(result.status.code(), Some(2), "{folder}");
        assert_eq!(
            stderr(&result),
            format!("error: {message}\n |\n = help: {help}\n"),
            "{folder}"
        );
        assert_eq!(files_under(&dir), before, "{folder}: nothing is written");
    }
}

/// The reference is in the binary, as installed users have no docs/ folder; `--help`
/// points at it; completions and the man page come from the command-line definition.
#[test]
fn the_format_reference_completions_and_man_page_come_from_the_binary() {
    let reference = std::fs::read_to_string(workspace().join("docs/FORMAT.md")).unwrap();
    for args in [&["help", "format"][..], &["format"]] {
        let output = ankideck(args);
        assert_success(&output);
        assert_eq!(stdout(&output), reference, "{args:?}");
    }
    for args in [
        &["--help"][..],
        &["help"],
        &["build", "--help"],
        &["help", "build"],
    ] {
        let output = ankideck(args);
        assert_success(&output);
        let help = stdout(&output);
        assert!(
            !help.contains("docs/"),
            "{args:?} names a path users lack: {help}"
        );
        assert!(help.contains("ankideck help format"), "{args:?}: {help}");
    }
    let build_help = stdout(&ankideck(&["help", "build"]));
    assert!(
        build_help.contains("Usage: ankideck build [OPTIONS] [SOURCE]"),
        "{build_help}"
    );
    let unknown = ankideck(&["help", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no help on `nope`: name a command (build, check, preview, ids, unpack, init, format, help, completions, man) or `format`"), "{}", stderr(&unknown));
    for (shell, marker) in [
        ("bash", "complete -F _ankideck"),
        ("zsh", "#compdef ankideck"),
        ("fish", "complete -c ankideck"),
    ] {
        let output = ankideck(&["completions", shell]);
        assert_success(&output);
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("deny-warnings") && script.contains("init"),
            "{shell}"
        );
    }
    let man = ankideck(&["man"]);
    assert_success(&man);
    let man = stdout(&man);
    assert!(man.contains(".TH ankideck 1"), "{man}");
    assert!(man.contains("ankideck\\-build(1)"), "{man}");
    let build_page = stdout(&ankideck(&["man", "build"]));
    assert!(
        build_page.contains(".TH ankideck-build 1") && build_page.contains("deny\\-warnings"),
        "{build_page}"
    );
}
