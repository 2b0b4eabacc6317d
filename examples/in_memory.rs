//! Building a package from notes made in code, as one would with genanki.
//!
//! Run with `cargo run --example in_memory -- out.apkg`.

use ankideck::{ids, MediaSource, Note, Package, Stock};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "in-memory.apkg".into());
    let basic = Stock::Basic.notetype();
    let cloze = Stock::Cloze.notetype();
    // The time written into the package; a fixed value keeps builds reproducible.
    let now = 1_700_000_000;
    let mut package = Package::new(now);

    package.add_note(
        Note {
            // Stable identity: rebuilding updates this note in Anki instead of duplicating it.
            guid: ids::guid_for_id("capital-of-france"),
            notetype_id: basic.id,
            fields: vec![
                "Capital of France?".into(),
                r#"Paris <img src="paris.svg">"#.into(),
            ],
            tags: vec!["geography".into()],
            deck: "Examples::Geography".into(),
            modified: now,
        },
        &basic,
    )?;
    package.add_note(
        Note {
            guid: ids::guid_for_id("speed-of-light"),
            notetype_id: cloze.id,
            fields: vec![
                "Light travels about {{c1::300 000}} km per {{c2::second}}.".into(),
                String::new(),
            ],
            tags: vec!["physics".into()],
            deck: "Examples::Physics".into(),
            modified: now,
        },
        &cloze,
    )?;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    package.add_media("paris.svg", MediaSource::Bytes(svg.to_vec()))?;

    let summary = package.write(&out)?;
    println!(
        "wrote {out}: {} notes, {} cards",
        summary.notes, summary.cards
    );
    Ok(())
}
