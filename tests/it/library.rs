//! The library as a genanki user meets it: `examples/custom_notetype.rs` run and its
//! package judged by the official Anki backend, then rebuilt through a lock with one
//! edited note, which Anki updates in place.

use crate::common;

#[allow(dead_code)]
#[path = "../../examples/custom_notetype.rs"]
mod custom_notetype;

use ankideck::{build, Format};
use common::anki::{assert_clean_first_import, card, import, note, notes, text};
use common::files::temp_dir;
use common::Backend;
use custom_notetype::{vocabulary, WORDS};
use std::fs;
use std::path::{Path, PathBuf};

/// Writes the example's package for `words` at `now` through the lock in `dir`.
fn write(dir: &Path, name: &str, now: i64, words: &[(&str, &str, &str)]) -> PathBuf {
    let picture = dir.join("cat.svg");
    fs::write(&picture, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    let mut package = vocabulary(now, words, &picture).unwrap();
    let out = dir.join(name);
    let lock = dir.join("vocab.lock");
    let outcome = build::write_locked(&mut package, &out, &lock, Format::default()).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    out
}

#[test]
fn custom_notetype_example_imports_and_updates_through_its_lock() {
    let dir = temp_dir("library-example");
    let collection = dir.join("collection");
    let first = write(&dir, "v1.apkg", 1_700_000_000, WORDS);
    let report = import(Backend::Current, &collection, &first);
    assert_clean_first_import(&report, 6);
    let notetypes = report["notetypes"].to_string();
    assert!(notetypes.contains("French vocabulary") && notetypes.contains("Recall"));
    let recall = card(&report, "le chat", 1);
    assert!(text(recall, "question_text").contains("the cat"));
    assert_eq!(recall["deck"], "French::Words");
    let cloze = card(&report, "{{c1::Le chat}}", 0);
    assert!(text(cloze, "answer_text").contains("Le chat"));
    assert_eq!(report["media_files"], serde_json::json!(["cat.svg"]));

    // Unchanged notes keep their time from the lock: the same bytes, however late.
    let again = write(&dir, "v2.apkg", 1_800_000_000, WORDS);
    assert_eq!(fs::read(&first).unwrap(), fs::read(&again).unwrap());

    // One meaning edited: Anki updates that note and no other.
    let mut edited = WORDS.to_vec();
    edited[1].1 = "the dog (a good one)";
    let third = write(&dir, "v3.apkg", 1_800_000_000, &edited);
    let report = import(Backend::Current, &collection, &third);
    let counts = &report["imports"][0]["counts"];
    assert_eq!(
        (counts["updated"].as_u64(), counts["duplicate"].as_u64()),
        (Some(1), Some(5)),
        "{counts}"
    );
    assert_eq!(notes(&report).len(), 6);
    let dog = note(&report, "le chien");
    assert_eq!(dog["fields"]["English"], "the dog (a good one)");
}
