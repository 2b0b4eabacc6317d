//! The command line around the build: what it says (counts, summaries), output paths,
//! a missing source folder, `init`, the embedded format reference, completions and the
//! man page.

use crate::common::files::{temp_dir, write_files};
use crate::common::run::ankideck_in;
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
