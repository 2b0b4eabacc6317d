//! A note type defined in code, notes in subdecks, a cloze type and a media file, kept
//! up to date in Anki by a lock: what a genanki user writes, with ankideck.
//!
//! Run with `cargo run --example custom_notetype -- vocab.apkg`. Run it again after
//! editing a meaning below and import both packages: Anki updates that one note.
//! (The tests run this example's [`vocabulary`] and judge the package with Anki.)

use ankideck::{build, ids, Format, Note, NoteType, Package};
use std::path::{Path, PathBuf};

/// Word, meaning and example sentence (its cloze deletion marks the word).
pub const WORDS: &[(&str, &str, &str)] = &[
    ("le chat", "the cat", "{{c1::Le chat}} dort sur le canapé."),
    ("le chien", "the dog", "{{c1::Le chien}} aboie."),
    ("manger", "to eat", "Nous allons {{c1::manger}} à midi."),
];

/// The vocabulary note type: two cards per word, one each way. Its ids come from its
/// name and those of its fields and templates, so rebuilding (on any machine) gives the
/// same note type, and Anki updates it rather than adding a copy.
pub fn vocab_type() -> Result<NoteType, ankideck::Error> {
    Ok(NoteType::builder("French vocabulary")
        .field("French")
        .field("English")
        .field("Picture")
        .template(
            "Recognize",
            "{{French}}",
            "{{FrontSide}}<hr id=answer>{{English}}<div>{{Picture}}</div>",
        )
        .template(
            "Recall",
            "{{English}}",
            "{{FrontSide}}<hr id=answer>{{French}}",
        )
        .css(".card { font-family: sans-serif; font-size: 24px; text-align: center; }")
        .build()?)
}

/// A cloze type of its own, with the source of the sentence on the back.
pub fn sentence_type() -> Result<NoteType, ankideck::Error> {
    Ok(NoteType::builder("French sentence")
        .cloze()
        .field("Text")
        .field("Word")
        .template("Cloze", "{{cloze:Text}}", "{{cloze:Text}}<br>({{Word}})")
        .build()?)
}

/// The package for `words`, stamped `now`, with the picture `picture` (a file whose
/// name the first note's `<img>` names).
pub fn vocabulary(
    now: i64,
    words: &[(&str, &str, &str)],
    picture: &Path,
) -> Result<Package, ankideck::Error> {
    let (vocab, sentence) = (vocab_type()?, sentence_type()?);
    let mut package = Package::new(now);
    package.add_notetype(&vocab)?;
    package.add_notetype(&sentence)?;
    let img = format!(
        r#"<img src="{}">"#,
        picture.file_name().unwrap_or_default().to_string_lossy()
    );
    for (i, &(french, english, example)) in words.iter().enumerate() {
        let picture = if i == 0 { img.as_str() } else { "" };
        // The French word is the note's identity: editing the meaning updates the note.
        let note = Note::new(&vocab, [french, english, picture])
            .deck("French::Words")
            .tags(["french", "vocabulary"])
            .guid(ids::guid_for(&["vocab", french]));
        package.add_note(note)?;
        let note = Note::new(&sentence, [example, french])
            .deck("French::Sentences")
            .guid(ids::guid_for(&["sentence", french]));
        package.add_note(note)?;
    }
    package.add_media_file(picture)?;
    Ok(package)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or("vocab.apkg".into()));
    let picture = std::env::temp_dir().join("ankideck-example-cat.svg");
    std::fs::write(
        &picture,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="5" cx="5" cy="5"/></svg>"#,
    )?;
    let mut package = vocabulary(build::build_time()?, WORDS, &picture)?;
    // The lock beside the package keeps each note's modification time: unchanged notes
    // keep theirs (the same bytes on every build), changed ones get the build time.
    let lock = out.with_extension("lock");
    let outcome = build::write_locked(&mut package, &out, &lock, Format::default())?;
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "wrote {}: {} notes, {} cards",
        out.display(),
        outcome.summary.notes,
        outcome.summary.cards
    );
    Ok(())
}
