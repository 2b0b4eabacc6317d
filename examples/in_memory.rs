//! Building a package from notes made in code, as one would with genanki.
//!
//! Run with `cargo run --example in_memory -- out.apkg`. A second run after editing an
//! answer updates that note in Anki: the lock `in-memory.lock` beside the package
//! remembers each note's content and modification time.

use ankideck::{build, ids, Format, Note, Package, Stock};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "in-memory.apkg".into()),
    );
    let basic = Stock::Basic.notetype();
    let cloze = Stock::Cloze.notetype();
    // The build time (or SOURCE_DATE_EPOCH): what changed notes are stamped with.
    let mut package = Package::new(build::build_time()?);

    package.add_note(
        Note::new(
            &basic,
            ["Capital of France?", r#"Paris <img src="paris.svg">"#],
        )
        .deck("Examples::Geography")
        .tags(["geography"])
        // Stable identity: rebuilding updates this note in Anki instead of duplicating
        // it, even after the question is reworded.
        .guid(ids::guid_for(&["capital-of-france"])),
    )?;
    package.add_note(
        Note::new(
            &cloze,
            [
                "Light travels about {{c1::300 000}} km per {{c2::second}}.",
                "",
            ],
        )
        .deck("Examples::Physics")
        .tags(["physics"]),
    )?;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    package.add_media("paris.svg", ankideck::MediaSource::Bytes(svg.to_vec()))?;

    // Unchanged notes keep the time the lock recorded: the same notes give the same
    // bytes, and Anki updates exactly the notes that changed.
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
