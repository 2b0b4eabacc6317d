//! Feeds arbitrary bytes to the card-file reader and the Markdown renderer: whatever
//! the input, they must return (notes or problems), never panic.
#![no_main]

use ankideck::source::{markdown, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (parsed, _problems) = parse::parse(text);
    let mut resolve = |reference: &str| Ok(format!("m-{}", reference.len()));
    for note in &parsed.notes {
        let _ = markdown::render_inline(&note.heading.text, &mut resolve);
        let _ = markdown::render_block(&note.body.text, &mut resolve);
        for (_, section) in &note.sections {
            let _ = markdown::render_block(&section.text, &mut resolve);
        }
    }
});
