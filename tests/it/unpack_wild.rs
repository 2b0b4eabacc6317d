//! The round trip of a deck like those shared in the wild, made with Anki's own API
//! (tests/anki/round_trip.py `wild`): image occlusion, a note type with 150 fields and
//! 40 templates, a LaTeX preamble, a script and an `_` file in a template, two note types
//! Anki named alike, cards Anki keeps after their fields stopped making them, a note with
//! an empty first field, an HTML deck description and its own options group, notes that
//! lack cards their fields make (deleted in Anki). `unpack` then `build` must give a
//! package that a fresh collection imports as it imports the original, and that imports
//! over the original as duplicates only, adding no card the original lacks.

use crate::common::{self, files::temp_dir, path_str, run::assert_success, Backend};
use std::path::Path;
use std::process::Command;

/// Runs tests/anki/round_trip.py with the current backend's Python; its JSON answer.
fn round_trip(args: &[&str]) -> serde_json::Value {
    let out = Command::new(common::python(Backend::Current))
        .arg(common::anki_dir().join("round_trip.py"))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "round_trip.py {args:?} failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn a_deck_from_the_wild_comes_back_as_it_was() {
    let dir = temp_dir("unpack-wild");
    let made = round_trip(&["wild", path_str(&dir)]);
    for name in ["wild.apkg", "wild-legacy.apkg"] {
        let original = made["packages"][name].as_str().unwrap();
        let judged = unpack_build_compare(&dir, Path::new(original));
        let stem = name.trim_end_matches(".apkg");
        let lacking = card_text(&dir.join(format!("{stem}-sources")));
        assert!(lacking.contains("\nskip-cards: 2\n"), "{name}: {lacking}");
        assert!(lacking.contains("\nskip-cards: 1 3\n"), "{name}: {lacking}");
        let notes = made["notes"].as_u64().unwrap();
        assert_eq!(
            judged["differ"],
            serde_json::json!({}),
            "{name}: {judged:#}"
        );
        assert_eq!(
            judged["imported"],
            serde_json::json!({"new": notes}),
            "{name}"
        );
        let duplicates = serde_json::json!({"duplicate": notes});
        assert_eq!(judged["reimport"], duplicates, "{name}: {judged:#}");
        let nothing = serde_json::json!({});
        assert_eq!(judged["reimport_changed"], nothing, "{name}: {judged:#}");
        // Check Database makes the cards a note lacks, in both collections alike.
        assert_eq!(judged["differ_after_check"], nothing, "{name}: {judged:#}");
        let clean = "Database rebuilt and optimized.";
        assert_eq!(judged["check_rebuilt"], clean, "{name}");
        assert_eq!(judged["check_original"], clean, "{name}");
    }
}

/// The text of every card file below `dir`.
fn card_text(dir: &Path) -> String {
    let files = common::files::files_under(dir).into_iter();
    let md = files.filter(|p| p.extension().is_some_and(|e| e == "md"));
    md.map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// `unpack` and `build` of `original`, judged by round_trip.py `compare`.
fn unpack_build_compare(dir: &Path, original: &Path) -> serde_json::Value {
    let stem = original.file_stem().unwrap().to_str().unwrap();
    let sources = dir.join(format!("{stem}-sources"));
    let rebuilt = dir.join(format!("{stem}-rebuilt.apkg"));
    let unpack = ["unpack", path_str(original), "-o", path_str(&sources)];
    assert_success(&common::run::ankideck(&unpack));
    let build = ["build", path_str(&sources), "-o", path_str(&rebuilt)];
    assert_success(&common::run::ankideck(&build));
    let work = dir.join(format!("{stem}-judge"));
    round_trip(&[
        "compare",
        path_str(original),
        path_str(&rebuilt),
        path_str(&work),
        "--verbose",
    ])
}
