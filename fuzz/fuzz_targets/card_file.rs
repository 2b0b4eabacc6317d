//! Feeds arbitrary bytes to the card-file reader and the Markdown renderer: whatever
//! the input, they must return (notes or problems), never panic; and read in parts,
//! the text must give what it gives whole.
#![no_main]

use ankideck::source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    source::parse_and_render(text, &mut |reference: &str| Ok(format!("m-{}", reference.len())));
    assert!(source::parts_parse_as_whole(text, 1 + data.len() % 64));
});
