//! The everyday loop judged by the official Anki backend: edit the text, rebuild,
//! import into the same collection. Edited notes update in place, progress is kept,
//! nothing is duplicated, and what Anki will not follow is reported by the build.

use crate::common;

use common::anki::{first_field, import, notes};
use common::files::{copy_dir, files_under, temp_dir};
use common::run::{ankideck, ankideck_command, assert_success, build};
use common::{judge, path_str, workspace, Backend};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

struct Deck {
    src: PathBuf,
    dir: PathBuf,
    collection: PathBuf,
    builds: usize,
}

impl Deck {
    fn new(name: &str) -> Deck {
        let dir = temp_dir(name);
        let src = dir.join("src");
        fs::create_dir_all(&src).unwrap();
        Deck {
            collection: dir.join("collection"),
            src,
            dir,
            builds: 0,
        }
    }

    fn write(&self, file: &str, text: &str) {
        fs::write(self.src.join(file), text).unwrap();
    }

    /// Builds the sources; returns the package and what the build printed on stderr.
    fn build(&mut self) -> (PathBuf, String) {
        self.builds += 1;
        let out = self.dir.join(format!("v{}.apkg", self.builds));
        // Builds a minute apart and in the past, as a person makes them: a build in the
        // same second as the last one would give its changed notes a `mod` in the
        // future, which Anki would take as newer again on the next import.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let epoch = (now - 3600 + 60 * self.builds as u64).to_string();
        let result = ankideck_command()
            .args(["build", path_str(&self.src), "-o", path_str(&out)])
            .env("SOURCE_DATE_EPOCH", epoch)
            .output()
            .unwrap();
        assert_success(&result);
        (out, String::from_utf8_lossy(&result.stderr).into_owned())
    }

    fn import(&self, package: &Path) -> Value {
        import(Backend::Current, &self.collection, package)
    }
}

fn counts(report: &Value) -> (u64, u64, u64, u64) {
    let c = &report["imports"][0]["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    (n("new"), n("updated"), n("duplicate"), n("conflicting"))
}

/// Notes by their first field's first word (the tests' notes start with `Q1`, `Q2`, …).
fn by_key(report: &Value) -> BTreeMap<String, &Value> {
    notes(report)
        .iter()
        .map(|n| {
            let key = first_field(n)
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            (key, n)
        })
        .collect()
}

fn card_state(card: &Value) -> Vec<Value> {
    ["id", "type", "queue", "due", "ivl", "reps", "deck"]
        .iter()
        .map(|k| card[*k].clone())
        .collect()
}

/// The scheduling state of every card, by card id.
fn card_states(report: &Value) -> BTreeMap<i64, Vec<Value>> {
    notes(report)
        .iter()
        .flat_map(|n| n["cards"].as_array().unwrap().iter())
        .map(|c| (c["id"].as_i64().unwrap(), card_state(c)))
        .collect()
}

const V1_A: &str = "---\ndeck: Reimport\n---\n\n## Q1 first\nid: q1\n\nA1\n\n## Q2 second\nid: q2\n\nA2\n\n## Q3 has {{c1::one}} and {{c2::two}}\nid: q3\n\n## Q4 fourth\nid: q4\n\nA4\n";
const V1_B: &str = "---\ndeck: Reimport::B\n---\n\n## Q5 in another file\n\nA5\n";

#[test]
fn edits_update_in_place_and_keep_review_history() {
    let mut deck = Deck::new("reimport");
    deck.write("a.md", V1_A);
    deck.write("b.md", V1_B);
    let (v1, _) = deck.build();
    let first = deck.import(&v1);
    assert_eq!(counts(&first), (5, 0, 0, 0));

    // Study: answer the first three new cards, so they have review history.
    let review = judge(
        Backend::Current,
        &[
            "review",
            "--collection",
            path_str(&deck.collection),
            "--answer",
            "3",
        ],
    );
    assert_eq!(review["answered"].as_array().unwrap().len(), 3);
    let studied = deck.import(&v1); // a dump of the collection as it is now
    assert_eq!(
        counts(&studied),
        (0, 0, 5, 0),
        "re-import without edits changes nothing"
    );
    let before = card_states(&studied);
    assert_eq!(
        before.values().filter(|s| s[5] != 0).count(),
        3,
        "three cards have reps"
    );

    // Version 2: change one field, add a note, swap Q1 and Q4, add a tag to Q1.
    let v2_a = "---\ndeck: Reimport\n---\n\n## Q4 fourth\nid: q4\n\nA4\n\n## Q2 second\nid: q2\n\nA2 edited\n\n## Q3 has {{c1::one}} and {{c2::two}}\nid: q3\n\n## Q1 first\nid: q1\ntags: added-tag\n\nA1\n\n## Q6 brand new\n\nA6\n";
    deck.write("a.md", v2_a);
    let (v2, _) = deck.build();
    let second = deck.import(&v2);
    assert_eq!(
        counts(&second),
        (1, 2, 3, 0),
        "{}",
        second["imports"][0]["counts"]
    );
    let notes = by_key(&second);
    assert_eq!(notes.len(), 6, "no note was duplicated");
    assert_eq!(notes["Q2"]["fields"]["Back"], "<p>A2 edited</p>");
    assert_eq!(notes["Q1"]["tags"], serde_json::json!(["added-tag"]));
    let after = card_states(&second);
    for (id, state) in &before {
        assert_eq!(
            after.get(id),
            Some(state),
            "card {id} lost its schedule or moved"
        );
    }
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(second["check"]["problems"], serde_json::json!([]));

    // Rebuilding without edits: the same bytes, and Anki sees nothing new or updated.
    let lock_before = fs::read(deck.src.join("ankideck.lock")).unwrap();
    let (v3, _) = deck.build();
    assert_eq!(
        fs::read(&v3).unwrap(),
        fs::read(&v2).unwrap(),
        "rebuild is not reproducible"
    );
    assert_eq!(
        fs::read(deck.src.join("ankideck.lock")).unwrap(),
        lock_before
    );
    assert_eq!(counts(&deck.import(&v3)), (0, 0, 6, 0));
}

#[test]
fn what_anki_will_not_follow_is_reported() {
    let mut deck = Deck::new("reimport-warnings");
    deck.write("a.md", V1_A);
    deck.write("b.md", V1_B);
    let (v1, _) = deck.build();
    let first = deck.import(&v1);
    let q5_nid = by_key(&first)["Q5"]["id"].as_i64().unwrap();

    // Remove Q5, move Q4 to another deck, swap Q3's cloze numbers, make Q1 reversed.
    let v2_a = V1_A
        .replace(
            "## Q4 fourth\nid: q4\n",
            "## Q4 fourth\nid: q4\ndeck: Elsewhere\n",
        )
        .replace("{{c1::one}} and {{c2::two}}", "{{c2::one}} and {{c1::two}}")
        .replace(
            "## Q1 first\nid: q1\n",
            "## Q1 first\nid: q1\ntype: reversed\n",
        );
    deck.write("a.md", &v2_a);
    fs::remove_file(deck.src.join("b.md")).unwrap();
    let (v2, stderr) = deck.build();
    assert!(
        stderr.contains("warning: note moved from deck `Reimport` to `Elsewhere`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a.md:19"),
        "the moved note's place: {stderr}"
    );
    assert!(
        stderr.contains("cloze deletions were renumbered (c1 → c2, c2 → c1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "type changed from `Basic (ankideck)` to `Basic (and reversed card) (ankideck)`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 note is gone from the sources since the last build; Anki keeps it:"),
        "{stderr}"
    );
    assert!(stderr.contains("Q5 in another file"), "{stderr}");
    assert!(
        stderr.contains(&format!("nid:{q5_nid}")),
        "the search finds the note Anki has: {stderr}"
    );

    // And Anki indeed does what the warnings say.
    let second = deck.import(&v2);
    let (_, _, _, conflicting) = counts(&second);
    assert_eq!(conflicting, 1, "the note whose type changed");
    let notes = by_key(&second);
    assert_eq!(
        notes["Q4"]["cards"][0]["deck"], "Reimport",
        "existing cards stay in their deck"
    );
    assert!(notes.contains_key("Q5"), "a package cannot delete notes");
}

#[test]
fn ids_pins_identity_without_changing_anything_else() {
    let deck = Deck::new("ids");
    let sample = workspace().join("cards");
    copy_dir(&sample, &deck.src);
    // The sample deck has ids everywhere; take them out to start from derived identity.
    let mut originals = BTreeMap::new();
    for file in files_under(&deck.src)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let text = fs::read_to_string(&file).unwrap();
        let stripped: String = text
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("id: "))
            .collect();
        fs::write(&file, &stripped).unwrap();
        originals.insert(file, stripped);
    }
    fs::remove_file(deck.src.join("ankideck.lock")).unwrap();
    let guids = |package: &Path| -> Vec<String> {
        let report = import(Backend::Current, &temp_dir("ids-col"), package);
        let mut g: Vec<String> = notes(&report)
            .iter()
            .map(|n| n["guid"].as_str().unwrap().to_string())
            .collect();
        g.sort();
        g
    };
    let out = |n: u8| deck.dir.join(format!("ids{n}.apkg"));
    assert!(build(&deck.src, &out(1)).status.success());

    let first = ankideck(&["ids", path_str(&deck.src)]);
    assert_success(&first);
    for (file, before) in &originals {
        let after = fs::read_to_string(file).unwrap();
        let added: Vec<&str> = after
            .split_inclusive('\n')
            .filter(|l| !before.contains(*l))
            .collect();
        assert!(added.iter().all(|l| l.starts_with("id: h")), "{added:?}");
        let without: String = after
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("id: "))
            .collect();
        assert_eq!(
            &without,
            before,
            "ids changed more than id lines in {}",
            file.display()
        );
    }
    let snapshot: Vec<String> = originals
        .keys()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    let second = ankideck(&["ids", path_str(&deck.src)]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("every note already has an id"));
    let again: Vec<String> = originals
        .keys()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    assert_eq!(snapshot, again, "a second run changed files");

    assert!(build(&deck.src, &out(2)).status.success());
    assert_eq!(
        guids(&out(1)),
        guids(&out(2)),
        "ids changed the notes' identity"
    );

    // Duplicate ids are refused.
    let file = originals.keys().next().unwrap();
    let text = fs::read_to_string(file).unwrap();
    fs::write(
        file,
        format!("{text}\n## Twin\nid: twin\n\n## Twin again\nid: twin\n"),
    )
    .unwrap();
    let refused = ankideck(&["ids", path_str(&deck.src)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("id `twin` is already the identity"));
}

/// A note with `guid:` is the note Anki already has under that guid: a note made by a
/// text file's guid column (as Anki exports them, punctuation and all) is updated in
/// place by a card file's note that names its guid.
#[test]
fn a_guid_setting_updates_the_note_anki_has() {
    let mut deck = Deck::new("reimport-guid");
    let guid = "f!P<y]0^Kz";
    deck.write(
        "words.tsv",
        &format!("#separator:tab\n#html:true\n#notetype:Basic\n#deck:Words\n#columns:Guid\tFront\tBack\n#guid column:1\n{guid}\tQ1 le chat\tthe cat\n"),
    );
    let (v1, _) = deck.build();
    let first = deck.import(&v1);
    assert_eq!(counts(&first), (1, 0, 0, 0));
    let nid = by_key(&first)["Q1"]["id"].clone();

    fs::remove_file(deck.src.join("words.tsv")).unwrap();
    deck.write(
        "words.md",
        &format!("---\ndeck: Words\n---\n\n## Q1 le chat\nguid:  {guid} \n\nthe cat, edited\n"),
    );
    let (v2, stderr) = deck.build();
    assert!(!stderr.contains("gone from the sources"), "{stderr}");
    let second = deck.import(&v2);
    assert_eq!(counts(&second), (0, 1, 0, 0), "{}", second["imports"][0]);
    let notes = by_key(&second);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes["Q1"]["id"], nid, "the same note");
    assert_eq!(notes["Q1"]["guid"], guid);
    assert_eq!(notes["Q1"]["fields"]["Back"], "<p>the cat, edited</p>");

    // `ankideck ids` leaves a note with a guid as it is.
    let before = fs::read_to_string(deck.src.join("words.md")).unwrap();
    assert_success(&ankideck(&["ids", path_str(&deck.src)]));
    assert_eq!(
        fs::read_to_string(deck.src.join("words.md")).unwrap(),
        before
    );
    let lock = fs::read_to_string(deck.src.join("ankideck.lock")).unwrap();
    assert!(lock.contains(&format!("\nnote\t{guid}\t")), "{lock}");
}

/// `card-deck:` puts a card of a note into a deck of its own, in Anki too; moving it to
/// another deck later is reported, as Anki keeps the card where it is.
#[test]
fn cards_of_one_note_land_in_their_own_decks() {
    let mut deck = Deck::new("reimport-card-deck");
    let v1 = "---\ndeck: Words\n---\n\n## Q1 le chat\ntype: reversed\ncard-deck: 2 Words::Reverse\n\nthe cat\n\n## Q2 {{c1::Paris}} and {{c2::Rome}}\ncard-deck: 2 Capitals::Italy\n";
    deck.write("words.md", v1);
    let (package, _) = deck.build();
    let report = deck.import(&package);
    assert_eq!(counts(&report), (2, 0, 0, 0));
    let decks = |report: &Value, key: &str| -> Vec<String> {
        by_key(report)[key]["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["deck"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(decks(&report, "Q1"), ["Words", "Words::Reverse"]);
    assert_eq!(decks(&report, "Q2"), ["Words", "Capitals::Italy"]);
    assert_eq!(report["check"]["problems"], serde_json::json!([]));
    let lock = fs::read_to_string(deck.src.join("ankideck.lock")).unwrap();
    assert!(lock.contains("\t2:Words::Reverse\n"), "{lock}");

    deck.write(
        "words.md",
        &v1.replace("2 Words::Reverse", "2 Words::Backwards"),
    );
    let (_, stderr) = deck.build();
    assert!(
        stderr.contains("card 2 moved from deck `Words::Reverse` to `Words::Backwards`"),
        "{stderr}"
    );
}
