//! Note identities across the change from 40-bit to 64-bit derived ids: notes a lock
//! knows keep their guids, new notes get the new rule, and two headings whose legacy
//! ids collide both build. The fixture `tests/fixtures/legacy-ids` holds a version 1 lock
//! written by the last release before the change, and a note added after it whose
//! legacy id is that of another note (`he1913fe7ed`, found by brute force).

use crate::common;

use common::files::{copy_dir, temp_dir, zip_entries};
use common::run::{ankideck, ankideck_command, assert_success};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/legacy-ids";

/// The two headings whose legacy (40-bit) ids are the same.
const COLLIDING: [&str; 2] = ["What is fact number 140214?", "What is fact number 820632?"];

/// First field → (guid, mod) of each note of a package.
fn notes(package: &Path) -> BTreeMap<String, (String, i64)> {
    let collection = zip_entries(package)
        .into_iter()
        .find(|(name, _, _)| name == "collection.anki2")
        .unwrap()
        .2;
    let db_path = temp_dir("identity-db").join("collection.anki2");
    fs::write(&db_path, collection).unwrap();
    let db = Connection::open(db_path).unwrap();
    let mut query = db.prepare("SELECT flds, guid, mod FROM notes").unwrap();
    let rows = query.query_map([], |r| {
        let fields: String = r.get(0)?;
        let first = fields.split('\x1f').next().unwrap().to_string();
        Ok((first, (r.get(1)?, r.get(2)?)))
    });
    rows.unwrap().map(Result::unwrap).collect()
}

/// Builds `source` at time `now`; returns the notes and what the build printed.
fn build_at(source: &Path, now: &str, extra: &[&str]) -> (BTreeMap<String, (String, i64)>, String) {
    let out = temp_dir("identity-out").join("deck.apkg");
    let output = ankideck_command()
        .args([
            "build",
            common::path_str(source),
            "-o",
            common::path_str(&out),
        ])
        .args(extra)
        .env("SOURCE_DATE_EPOCH", now)
        .output()
        .unwrap();
    assert_success(&output);
    (notes(&out), String::from_utf8(output.stdout).unwrap())
}

/// Label → guid of the version 1 lock's note lines.
fn version_1_guids(lock: &str) -> BTreeMap<String, String> {
    lock.lines()
        .filter_map(|line| line.strip_prefix("note\t"))
        .map(|rest| {
            let columns: Vec<&str> = rest.split('\t').collect();
            (columns[7].to_string(), columns[0].to_string())
        })
        .collect()
}

#[test]
fn a_version_1_lock_keeps_every_guid_and_becomes_version_2() {
    let dir = temp_dir("identity-v1");
    let src = dir.join("src");
    copy_dir(&common::workspace().join(FIXTURE), &src);
    let old_lock = fs::read_to_string(src.join("ankideck.lock")).unwrap();
    assert!(old_lock.contains("\nversion\t1\n"));
    let old = version_1_guids(&old_lock);
    assert_eq!(old.len(), 4);

    let (built, printed) = build_at(&src, "1800000000", &[]);
    assert!(
        printed.contains("; updated ankideck.lock from version 1 to 2"),
        "{printed}"
    );
    // Every note the lock knew keeps its guid and, unchanged, its mod.
    for (label, guid) in &old {
        let first_field = built
            .keys()
            .find(|f| f.contains(label.trim_end_matches('.')) || label.starts_with(f.as_str()))
            .unwrap_or_else(|| panic!("{label} not built"));
        assert_eq!(&built[first_field].0, guid, "{label}");
        assert_eq!(built[first_field].1, 1_700_000_000, "{label}");
    }
    // The note added since, whose legacy id collides, gets the new rule.
    let [kept, added] = COLLIDING;
    assert_eq!(built[added].0, ankideck::ids::guid_for_heading(added));
    assert_ne!(built[added].0, built[kept].0);
    assert_eq!(built[added].1, 1_800_000_000);
    assert_eq!(built.len(), 5);

    // The version 2 lock says which heading the legacy guid is for: reordered, the
    // notes keep their guids, and the lock stays as it was.
    let new_lock = fs::read_to_string(src.join("ankideck.lock")).unwrap();
    assert!(new_lock.contains("\nversion\t2\n"), "{new_lock}");
    let facts = src.join("facts.md");
    let text = fs::read_to_string(&facts).unwrap();
    let (before, added_note) = text.split_at(text.find("## What is fact number 820632?").unwrap());
    let (title, rest) = before.split_at(before.find("## ").unwrap());
    let reordered = format!("{title}{}\n\n{rest}", added_note.trim_end());
    fs::write(&facts, reordered).unwrap();
    let (reordered, _) = build_at(&src, "1900000000", &["--locked"]);
    assert_eq!(reordered, built);

    // `ankideck ids` writes the id each guid comes from: the legacy id where the lock
    // keeps it, the 64-bit one elsewhere. The guids stay.
    assert_success(&ankideck(&["ids", common::path_str(&src)]));
    let with_ids = fs::read_to_string(&facts).unwrap();
    let heading = |q: &str| {
        with_ids
            .split(&format!("## {q}\n"))
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(heading(kept), "id: he1913fe7ed");
    assert_eq!(
        heading(added),
        format!("id: {}", ankideck::ids::derived_id(added))
    );
    assert!(
        heading(added).starts_with("id: he1913fe7ed"),
        "the same first digits"
    );
    assert_eq!(
        heading("Which gas do plants take in?"),
        "id: plants-take-in"
    );
    let (after_ids, _) = build_at(&src, "2000000000", &[]);
    assert_eq!(after_ids, built);
}

#[test]
fn headings_whose_legacy_ids_collide_both_build() {
    let dir = temp_dir("identity-collide");
    let src = dir.join("src");
    copy_dir(&common::workspace().join(FIXTURE), &src);
    fs::remove_file(src.join("ankideck.lock")).unwrap();
    let (built, _) = build_at(&src, "1800000000", &[]);
    assert_eq!(built.len(), 5);
    let [one, two] = COLLIDING.map(|q| built[q].0.clone());
    assert_ne!(one, two);
    assert_eq!(one, ankideck::ids::guid_for_heading(COLLIDING[0]));
    // Their legacy ids are the same: what made a build with 40-bit ids fail.
    assert_eq!(
        ankideck::ids::guid_for_first_field(COLLIDING[0]),
        ankideck::ids::guid_for_first_field(COLLIDING[1])
    );
}
