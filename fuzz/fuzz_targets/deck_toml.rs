//! Feeds arbitrary bytes to the deck settings reader, as the `_deck.toml` of a folder
//! that holds a note and as the top folder's.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::pieces(data, 2);
    common::check(&[
        ("french/_deck.toml", p[0]),
        ("_deck.toml", p[1]),
        ("french/basic.md", common::BASIC_NOTE.as_bytes()),
    ]);
});
